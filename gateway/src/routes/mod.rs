//! The REST routes. One file per service (`registry.rs`, …) holds that
//! service's route table, the glue to its gRPC calls and its national
//! (fan-out) answers; this module holds what they share and the one list of
//! services, [`SERVICES`]. The router, the OpenAPI document and the
//! authorization tests are all made from the tables. Each region-scoped
//! route is one gRPC call to one service of one region; national routes
//! fan out (see `crate::national`).
//!
//! A new service's API: its file here (a `route_table!` and, if it has
//! national questions, their answers) and one line in [`SERVICES`].

use crate::national::NationalRoute;
use samling_kit::auth::Role;
use std::sync::Arc;

/// Declares a service's region-scoped routes: for each, its [`RouteSpec`]
/// and the typed step that decodes its request and makes its gRPC call
/// (`dispatch::prepare` with the client's method), as `REGION_ROUTES`.
/// The request and response types and the client must be in scope.
macro_rules! route_table {
    (service = $service:expr, package = $package:literal, client = $client:ident;
     $( $method:ident $path:literal $op:literal => $rpc:ident($req:ident) -> $resp:ident,
        $carry:ident, $roles:expr, own = [$($own:literal),*], party = $party:expr, $summary:literal; )*) => {
        /// Every region-scoped route of the service, with its gRPC call.
        pub const REGION_ROUTES: &[$crate::routes::Route] = &[
            $( $crate::routes::Route {
                spec: $crate::routes::RouteSpec {
                    method: stringify!($method),
                    path: $path,
                    operation_id: $op,
                    summary: $summary,
                    request: concat!($package, ".", stringify!($req)),
                    response: concat!($package, ".", stringify!($resp)),
                    carry: $crate::routes::Carry::$carry,
                    roles: $roles,
                    own_municipality: &[$($own),*],
                    party_param: $party,
                    national: false,
                    service: $service,
                },
                prepare: {
                    fn prepare(
                        schema: &$crate::schema::Schema,
                        message: &'static str,
                        obj: serde_json::Map<String, serde_json::Value>,
                    ) -> Result<$crate::dispatch::Prepared, $crate::problem::Problem> {
                        $crate::dispatch::prepare::<$req, $resp, _, _>(
                            schema,
                            message,
                            obj,
                            |channel, request| async move { $client::new(channel).$rpc(request).await },
                        )
                    }
                    prepare
                },
            }, )*
        ];
    };
}

pub mod compensation;
pub mod matching;
pub mod ombud;
pub mod portfolio;
pub mod recruitment;
pub mod registry;

/// Every service's part of the REST API.
pub const SERVICES: &[&ServiceRoutes] = &[
    &registry::SERVICE,
    &recruitment::SERVICE,
    &matching::SERVICE,
    &compensation::SERVICE,
    &compensation::costs::SERVICE,
    &portfolio::SERVICE,
    &ombud::SERVICE,
];

/// How a route's request is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// JSON body (mutations).
    Body,
    /// Query string (reads).
    Query,
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub request: &'static str,
    pub response: &'static str,
    pub carry: Carry,
    pub roles: &'static [Role],
    /// Request fields a municipal caller may only set to their own municipality.
    pub own_municipality: &'static [&'static str],
    /// Path parameter a `family_home` or `child` caller must be (their party).
    pub party_param: Option<&'static str>,
    /// National: answered by fanning out to every region.
    pub national: bool,
    /// The service answering it (its name in the module list and the
    /// region directory).
    pub service: &'static str,
}

impl RouteSpec {
    pub fn mutating(&self) -> bool {
        self.method != "GET"
    }

    /// A mutation whose answer is kept for `Idempotency-Key` replays (all
    /// but its service's [`ServiceRoutes::never_stored`]).
    pub fn keeps_answers(&self) -> bool {
        self.mutating()
            && !services()
                .any(|s| s.service == self.service && s.never_stored.contains(&self.operation_id))
    }

    /// A public route (its service's [`ServiceRoutes::public`]): called
    /// without a token, as the fixed low-privilege caller
    /// [`samling_kit::auth::PUBLIC_SUBJECT`], and charged against the strict
    /// per-address budget `public_form_rate_per_minute` (ADR 0009, 0023).
    /// Its `roles` are empty: no role is needed, and none gives more.
    pub fn is_public(&self) -> bool {
        services().any(|s| s.service == self.service && s.public.contains(&self.operation_id))
    }

    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }

    pub fn allows(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A region-scoped route: its spec and its typed step.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub spec: RouteSpec,
    pub prepare: crate::dispatch::Prepare,
}

/// One service's part of the REST API.
#[derive(Debug)]
pub struct ServiceRoutes {
    /// The service's name (`registry`): the region directory's key.
    pub service: &'static str,
    pub routes: &'static [Route],
    /// Its national routes, answered by fanning out to every region.
    pub national: &'static [NationalRoute],
    /// Operations whose answer the gateway never stores for
    /// `Idempotency-Key` replays (the key is ignored).
    pub never_stored: &'static [&'static str],
    /// Operations anyone may call without a token (see
    /// [`RouteSpec::is_public`]); their routes name no roles.
    pub public: &'static [&'static str],
    /// Operations whose answer always names a record others take in their
    /// path: (operation, JSON pointer into its answer, the path parameter it
    /// fills). The OpenAPI document links them, so clients (and
    /// Schemathesis' stateful tests) can follow a new record to what can be
    /// done with it.
    pub creates: &'static [(&'static str, &'static str, &'static str)],
    /// Schemas of the gateway's own answers (its national ones), by
    /// component name, for the OpenAPI document.
    pub components: fn() -> Vec<(&'static str, serde_json::Value)>,
}

/// Every service's routes.
pub fn services() -> impl Iterator<Item = &'static ServiceRoutes> {
    SERVICES.iter().copied()
}

/// Every route, region-scoped and national.
pub fn all() -> impl Iterator<Item = &'static RouteSpec> {
    services()
        .flat_map(|s| s.routes.iter().map(|r| &r.spec))
        .chain(services().flat_map(|s| s.national.iter().map(|r| &r.spec)))
}

/// The route of an operation id.
pub fn find(operation_id: &str) -> Option<&'static RouteSpec> {
    all().find(|r| r.operation_id == operation_id)
}

/// Every service's [`ServiceRoutes::creates`].
pub fn creates() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    services().flat_map(|s| s.creates.iter())
}

/// The router of every service's region-scoped routes: one handler (the
/// same closure for every route) running [`crate::dispatch::unary`].
pub fn region_router(gw: Arc<crate::Gateway>) -> axum::Router {
    type PathParams =
        Result<axum::extract::Path<Vec<(String, String)>>, axum::extract::rejection::PathRejection>;
    let mut router = axum::Router::new();
    for route in services().flat_map(|s| s.routes.iter()) {
        let gw = gw.clone();
        let handler = move |path: PathParams, req: axum::extract::Request| {
            let path = path.map(|p| p.0).map_err(|_| {
                crate::problem::Problem::invalid(
                    "path",
                    "a path parameter is not valid UTF-8 after percent-decoding",
                )
            });
            crate::dispatch::unary(gw.clone(), route, path, req)
        };
        router = router.route(
            route.spec.path,
            axum::routing::on(crate::dispatch::method_filter(route.spec.method), handler),
        );
    }
    router.route_layer(crate::envelope::EnvelopeLayer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_names_a_listed_service_and_operation_ids_are_unique() {
        let names: Vec<&str> = services().map(|s| s.service).collect();
        let mut ops = std::collections::BTreeSet::new();
        for spec in all() {
            assert!(names.contains(&spec.service), "{}", spec.operation_id);
            assert!(ops.insert(spec.operation_id), "{} twice", spec.operation_id);
            assert_eq!(find(spec.operation_id).map(|s| s.path), Some(spec.path));
        }
        for s in services() {
            assert!(
                s.national
                    .iter()
                    .all(|r| r.spec.national && r.spec.service == s.service)
            );
            assert!(
                s.routes
                    .iter()
                    .all(|r| !r.spec.national && r.spec.service == s.service)
            );
            for op in s.public {
                let spec = find(op).expect("a public operation is a route");
                assert!(spec.roles.is_empty() && spec.is_public(), "{op}");
            }
            for op in s.never_stored {
                let spec = find(op).expect("a never-stored operation is a route");
                assert!(spec.mutating() && !spec.keeps_answers(), "{op}");
            }
        }
        assert!(find("noSuchOperation").is_none());
    }
}
