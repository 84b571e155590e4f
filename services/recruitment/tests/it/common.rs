//! The recruitment test harness: a fresh store on every backend of the test
//! kit (SQLite always, PostgreSQL too when `SAMLING_TEST_DATABASE_URL` is
//! set), the service on the production server builder on a free local port,
//! a settable clock, and typed clients acting as any caller.
#![allow(dead_code, unused_macros)]

use chrono::{DateTime, Utc};
use samling_kit::auth::{AuthContext, ContextSigner};
use samling_kit::client::ServiceClient;
use samling_kit::dates::Clock;
use samling_kit::db::Store;
use samling_kit::reference::RegionMap;
use samling_proto::recruitment::v1::recruitment_service_client::RecruitmentServiceClient;
use samling_proto::registry::v1::registry_service_client::RegistryServiceClient;
use samling_recruitment::Recruitment;
use samling_testkit::Backend;
use samling_testkit::server::Served;
use std::sync::Arc;
use tonic::transport::Channel;

pub use samling_testkit::callers::*;

pub type Client = ServiceClient<RecruitmentServiceClient<Channel>>;

pub type RegistryClient = ServiceClient<RegistryServiceClient<Channel>>;

const REGISTRY_STUB: samling_kit::client::Stub<RegistryServiceClient<Channel>> =
    samling_kit::stub!("registry", RegistryServiceClient);

/// Call one RPC with the client's signed context:
/// `rpc!(client, get_case, GetCaseRequest { .. })` → `Result<Case, Status>`.
macro_rules! rpc {
    ($client:expr, $method:ident, $msg:expr) => {{
        let client = &mut $client;
        let request = client.request($msg);
        client
            .raw()
            .$method(request)
            .await
            .map(tonic::Response::into_inner)
    }};
}

/// 2026-12-01 09:00 UTC, a Tuesday: the tests' "now" unless they move it.
pub fn start_time() -> DateTime<Utc> {
    "2026-12-01T09:00:00Z".parse().expect("an instant")
}

/// One running recruitment service on one backend.
#[derive(Clone)]
pub struct Harness {
    /// "sqlite" or "postgres", named in failures.
    pub backend: &'static str,
    pub service: Recruitment,
    pub clock: Clock,
    pub signer: ContextSigner,
    pub endpoint: String,
    served: Arc<Served>,
    /// The registry beside recruitment (`start_with_registry`), on its own
    /// store of the same backend, signed by the same key.
    pub registry: Option<RegistryBeside>,
}

/// A registry served beside the recruitment service.
#[derive(Clone)]
pub struct RegistryBeside {
    pub registry: samling_registry::Registry,
    pub endpoint: String,
    served: Arc<Served>,
}

impl Harness {
    /// A fresh store on `backend` and the service serving it (one
    /// `region`'s municipalities and officers only, when given).
    pub async fn start(backend: &Backend, region: Option<&str>) -> Harness {
        Self::start_inner(backend, region, false).await
    }

    /// As [`Harness::start`], with the region's registry served beside it
    /// and recruitment's registry link pointing at it.
    pub async fn start_with_registry(backend: &Backend, region: Option<&str>) -> Harness {
        Self::start_inner(backend, region, true).await
    }

    async fn start_inner(backend: &Backend, region: Option<&str>, with_registry: bool) -> Harness {
        let (store, _) = backend
            .store("recruitment", None, &[samling_recruitment::MIGRATIONS])
            .await;
        let map = Arc::new(RegionMap::default_map().clone());
        let clock = Clock::fixed(start_time());
        let mut service = Recruitment::new(
            store,
            samling_recruitment::domain::Rules::default(),
            map.clone(),
            clock.clone(),
        );
        if let Some(r) = region {
            service = service.for_region(map.parse_region(r).expect("known region"));
        }
        let signer = ContextSigner::generate().expect("signer");
        let registry = if with_registry {
            let (rstore, _) = backend
                .store("registry", None, &[samling_registry::MIGRATIONS])
                .await;
            let mut registry = samling_registry::Registry::new(
                rstore,
                samling_registry::domain::Rules::default(),
                map.clone(),
            );
            if let Some(r) = region {
                registry = registry.for_region(map.parse_region(r).expect("known region"));
            }
            let rserved = Served::start(&[samling_registry::SERVICE_NAME], |router| {
                router.add_service(samling_registry::grpc::server(
                    registry.clone(),
                    signer.verifier(),
                ))
            })
            .await;
            let endpoint = rserved.endpoint();
            service = service.with_registry(
                samling_recruitment::service::registry_link::RegistryLink::new(
                    endpoint.clone(),
                    None,
                    signer.clone(),
                ),
            );
            Some(RegistryBeside {
                registry,
                endpoint,
                served: Arc::new(rserved),
            })
        } else {
            None
        };
        let served = Served::start(&[samling_recruitment::SERVICE_NAME], |router| {
            router.add_service(samling_recruitment::grpc::server(
                service.clone(),
                signer.verifier(),
            ))
        })
        .await;
        Harness {
            backend: backend.database(),
            service,
            clock,
            signer,
            endpoint: served.endpoint(),
            served: Arc::new(served),
            registry,
        }
    }

    /// A registry client acting as `ctx` (needs `start_with_registry`).
    pub async fn registry_client(&self, ctx: AuthContext) -> RegistryClient {
        let r = self.registry.as_ref().expect("started with a registry");
        ServiceClient::connect(REGISTRY_STUB, &r.endpoint, None, self.signer.clone(), ctx)
            .await
            .unwrap_or_else(|e| panic!("[{}] connect registry: {e}", self.backend))
    }

    pub fn store(&self) -> &Store {
        &self.service.store
    }

    /// A client acting as `ctx`.
    pub async fn client(&self, ctx: AuthContext) -> Client {
        ServiceClient::connect(
            samling_recruitment::client::STUB,
            &self.endpoint,
            None,
            self.signer.clone(),
            ctx,
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] connect: {e}", self.backend))
    }
}

/// A harness with a registry beside it on every test backend.
pub async fn harnesses_with_registry(region: Option<&str>) -> Vec<(Harness, Backend)> {
    let mut out = Vec::new();
    for b in samling_testkit::backend::store_backends() {
        let h = Harness::start_with_registry(&b, region).await;
        out.push((h, b));
    }
    out
}

/// A harness on every test backend, for `for h in harnesses(None).await`.
pub async fn harnesses(region: Option<&str>) -> Vec<(Harness, Backend)> {
    let mut out = Vec::new();
    for b in samling_testkit::backend::store_backends() {
        let h = Harness::start(&b, region).await;
        out.push((h, b));
    }
    out
}
