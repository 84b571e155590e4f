//! The public gateway: REST/JSON under `/v1` over the regions' gRPC services,
//! with a generated OpenAPI 3.1 document and an offline docs page, JWT
//! authentication, authorization, rate limits, idempotency, routing to
//! regions and national fan-out with a deadline.
//!
//! * `routes` — the route tables, one file per service (router, OpenAPI and
//!   tests all come from them);
//! * `dispatch` — one REST call → one gRPC call;
//! * `envelope` — the tower layer around every API route: request id,
//!   `X-Request-Id`, access log, request-duration metric;
//! * `national` — fan-out to every region;
//! * `regions` — the (region, service) directory: channels, deadlines,
//!   circuit breakers;
//! * `auth` — JWT verification and dev token issuing;
//! * `limits` — rate limits and idempotency records (Redis or in-process);
//! * `problem` — RFC 9457 errors; `schema`/`openapi` — the contract as JSON.
#![forbid(unsafe_code)]

pub mod auth;
pub mod client_ip;
pub mod dashboard;
pub mod dispatch;
pub mod envelope;
pub mod limits;
pub mod national;
pub mod openapi;
pub mod problem;
pub mod regions;
pub mod routes;
pub mod schema;
pub mod statistics;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use samling_kit::auth::{AuthContext, CachedToken, ContextSigner};
use samling_kit::config::GatewayConfig;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Signed auth contexts for the services, re-used per caller for their lifetime.
#[derive(Debug)]
pub struct TokenCache {
    signer: ContextSigner,
    tokens: Mutex<HashMap<String, CachedToken>>,
}

impl TokenCache {
    pub fn new(signer: ContextSigner) -> Self {
        TokenCache {
            signer,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The (lazily signed) context for the services of this caller.
    pub fn cached(&self, ctx: &AuthContext) -> CachedToken {
        let key = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            ctx.sub,
            ctx.role.as_str(),
            ctx.municipality.map(|m| m.as_str()).unwrap_or(""),
            ctx.region.as_deref().unwrap_or(""),
            ctx.party.as_deref().unwrap_or(""),
            ctx.purpose,
            ctx.reason
        );
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 50_000 {
            map.clear();
        }
        map.entry(key)
            .or_insert_with(|| {
                let mut key_ctx = ctx.clone();
                key_ctx.exp = 0;
                CachedToken::new(self.signer.clone(), key_ctx)
            })
            .clone()
    }
}

/// An authenticated caller, with what each of their requests needs made
/// once per token: the key under which they are limited, and the signed
/// context the services receive.
#[derive(Debug)]
pub struct Caller {
    pub ctx: AuthContext,
    /// `tok:` + a digest of the token subject: the per-token rate limit's
    /// key (the subject itself never leaves the gateway; idempotency records
    /// are keyed on the whole caller, see [`Caller::idempotency_key`]).
    pub limit_key: String,
    service_token: CachedToken,
}

impl Caller {
    fn new(ctx: AuthContext, service_token: CachedToken) -> Self {
        use sha2::{Digest, Sha256};
        let mut subject_key = hex::encode(Sha256::digest(ctx.sub.as_bytes()));
        subject_key.truncate(24);
        Caller {
            limit_key: format!("tok:{subject_key}"),
            service_token,
            ctx,
        }
    }

    /// The idempotency store's key of this caller's `Idempotency-Key` on a
    /// route of `region`: a digest of the whole caller (subject, role,
    /// municipality, party, the token's region) and the route's region, so
    /// a token of another municipality, role or party with the same `sub`
    /// never meets this caller's stored answers.
    pub fn idempotency_key(&self, region: &str, key: &str) -> String {
        format!("idem:{}", self.ctx.caller_digest(&[region, key]))
    }

    /// Attach the signed context for the services to a call.
    pub fn attach<T>(
        &self,
        req: &mut tonic::Request<T>,
    ) -> Result<(), samling_kit::error::KitError> {
        self.service_token.attach(req)
    }
}

pub struct Gateway {
    pub cfg: GatewayConfig,
    pub regions: regions::Directory,
    pub auth: auth::Authenticator,
    pub limits: limits::Limits,
    /// Rate limits of this replica alone, used while the shared store (Redis)
    /// is unavailable: an outage must be neither a refusal nor a bypass.
    pub local_limits: limits::Limits,
    pub tokens: TokenCache,
    pub schema: schema::Schema,
    pub proxies: client_ip::TrustedProxies,
    openapi: Vec<u8>,
    verified: Mutex<HashMap<String, Arc<Caller>>>,
}

impl Gateway {
    pub fn new(
        cfg: GatewayConfig,
        regions: regions::Directory,
        auth: auth::Authenticator,
        limits: limits::Limits,
        signer: ContextSigner,
    ) -> anyhow::Result<Arc<Self>> {
        let proxies =
            client_ip::TrustedProxies::parse(&cfg.trusted_proxies).map_err(anyhow::Error::msg)?;
        let schema = schema::Schema::load()?;
        let openapi = serde_json::to_vec(&openapi::document(&schema, &regions.ids()))?;
        Ok(Arc::new(Gateway {
            cfg,
            regions,
            auth,
            limits,
            local_limits: limits::Limits::in_process(limits::LimitsConfig::default()),
            tokens: TokenCache::new(signer),
            schema,
            proxies,
            openapi,
            verified: Mutex::new(HashMap::new()),
        }))
    }

    /// Verify a bearer token, remembering verified tokens (bounded) until
    /// they expire so a client re-using its token costs one signature check.
    pub async fn verified_token(&self, token: &str) -> Result<Arc<Caller>, problem::Problem> {
        let now = chrono::Utc::now().timestamp();
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned();
        // Valid as long as the authenticator would accept it (exp + leeway).
        if let Some(caller) = cached
            && now <= caller.ctx.exp.saturating_add(self.auth.leeway_secs())
        {
            return Ok(caller);
        }
        let ctx = self
            .auth
            .authenticate(token)
            .await
            .map_err(|e| problem::Problem::new(tonic::Code::Unauthenticated, e.to_string()))?;
        let caller = Arc::new(self.caller(ctx));
        let mut map = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= 10_000 {
            let leeway = self.auth.leeway_secs();
            map.retain(|_, c| now <= c.ctx.exp.saturating_add(leeway));
            if map.len() >= 10_000 {
                map.clear();
            }
        }
        map.insert(token.to_string(), caller.clone());
        Ok(caller)
    }

    /// A caller acting with `ctx` (a verified token's, or one with the
    /// purpose the request states).
    pub fn caller(&self, ctx: AuthContext) -> Caller {
        let service_token = self.tokens.cached(&ctx);
        Caller::new(ctx, service_token)
    }

    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.cfg.call_timeout_ms.max(1))
    }

    pub fn fanout_deadline(&self) -> Duration {
        Duration::from_millis(self.cfg.fanout_deadline_ms.max(1))
    }

    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(self.cfg.idempotency_ttl_secs.max(1))
    }

    /// How long an Idempotency-Key stays reserved while its request runs:
    /// `idempotency_reservation_ms`, but at least the call timeout plus a
    /// second (a reservation must not lapse while its call may still run).
    pub fn reservation_ttl(&self) -> Duration {
        let floor = self.call_timeout() + Duration::from_secs(1);
        Duration::from_millis(self.cfg.idempotency_reservation_ms).max(floor)
    }
}

fn with_type(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Liveness: the process answers.
async fn healthz() -> Response {
    with_type(br#"{"status":"ok"}"#.to_vec(), "application/json")
}

/// Readiness: which regions' services answer grpc.health.v1 now (a region
/// serves when every service of it answers). Ready while at least one
/// region serves (a national gateway answers partially).
/// `redis` says whether the shared limits store answers; `degraded` does not
/// make the gateway unready (it works without Redis, see `limits`).
async fn readyz(gw: Arc<Gateway>) -> Response {
    // A ping only while Redis is thought up (it trips the circuit if not);
    // while degraded the background probe is the one asking.
    let redis = async {
        if gw.limits.health() == limits::StoreHealth::Ok {
            let _ = gw.limits.ping().await;
        }
        gw.limits.health()
    };
    let checks = gw.regions.all().map(|r| {
        let channel = r.channel();
        let id = r.id.clone();
        async move {
            let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
            let mut req = tonic::Request::new(tonic_health::pb::HealthCheckRequest { service: String::new() });
            req.set_timeout(Duration::from_millis(800));
            let ok = matches!(
                tokio::time::timeout(Duration::from_secs(1), client.check(req)).await,
                Ok(Ok(resp)) if resp.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            );
            (id, ok)
        }
    });
    let (checks, redis) = futures::future::join(futures::future::join_all(checks), redis).await;
    let mut results: std::collections::BTreeMap<String, bool> = Default::default();
    for (id, ok) in checks {
        *results.entry(id).or_insert(true) &= ok;
    }
    let serving = results.values().filter(|ok| **ok).count();
    let body = serde_json::json!({
        "status": if serving > 0 { "ready" } else { "unavailable" },
        "regions": results.iter().map(|(id, ok)| (id.clone(), serde_json::json!(if *ok { "serving" } else { "down" }))).collect::<serde_json::Map<_, _>>(),
        "redis": redis.as_str(),
    });
    let status = if serving > 0 {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut r = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Routes anyone may call without a token (the contract and its docs, the
/// statistics dashboard's page and assets, which hold no data; the
/// recruitment service's public inquiry form joins them): each request is
/// charged to the client's address (`ip_rate_per_minute`).
fn public_router(gw: Arc<Gateway>, openapi: Vec<u8>) -> Router {
    Router::new()
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let body = openapi.clone();
                async move { with_type(body, "application/json") }
            }),
        )
        .route(
            "/docs",
            axum::routing::get(|| async {
                with_type(
                    include_bytes!("docs.html").to_vec(),
                    "text/html; charset=utf-8",
                )
            }),
        )
        .merge(dashboard::router())
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let gw = gw.clone();
                async move {
                    let peer = dispatch::peer_ip(req.extensions());
                    if let Err(p) = dispatch::limit_ip(&gw, peer, req.headers()).await {
                        return p.into_response();
                    }
                    next.run(req).await
                }
            },
        ))
}

/// The whole HTTP surface.
pub fn router(gw: Arc<Gateway>) -> Router {
    let openapi = gw.openapi.clone();
    let ready = gw.clone();
    let mut app = routes::region_router(gw.clone())
        .merge(national::router(gw.clone()))
        .merge(statistics::router(gw.clone()))
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(move || readyz(ready.clone())))
        .merge(public_router(gw.clone(), openapi))
        .fallback(|| async {
            problem::Problem::new(tonic::Code::NotFound, "no such route").into_response()
        });
    if !gw.cfg.cors_allowed_origins.is_empty() {
        let origins: Vec<HeaderValue> = gw
            .cfg
            .cors_allowed_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        app = app.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods(tower_http::cors::Any)
                .allow_headers(tower_http::cors::Any),
        );
    }
    app
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // TCP_NODELAY as the gRPC servers have: without it a response written
    // in more than one segment (HTTP/2 frames, large bodies) waits on Nagle
    // and the peer's delayed ACK (~40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        router(gw).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::auth::Role;
    use samling_kit::reference::MunicipalityCode;

    fn caller(change: impl FnOnce(&mut AuthContext)) -> Caller {
        let mut ctx = AuthContext::new("shared-sub", Role::MunicipalityCaseworker);
        ctx.municipality = MunicipalityCode::parse("0180").ok();
        change(&mut ctx);
        let signer = ContextSigner::generate().expect("a signer");
        Caller::new(ctx.clone(), CachedToken::new(signer, ctx))
    }

    #[test]
    fn an_idempotency_key_is_the_whole_callers_and_the_routes_region() {
        let key = |c: &Caller| c.idempotency_key("norr", "k-1");
        let base = key(&caller(|_| {}));
        assert_eq!(base, key(&caller(|_| {})), "stable");
        let others = [
            key(&caller(|c| c.sub = "other-sub".into())),
            key(&caller(|c| c.role = Role::MunicipalityManager)),
            key(&caller(|c| {
                c.municipality = MunicipalityCode::parse("1480").ok()
            })),
            key(&caller(|c| c.party = Some("p".into()))),
            key(&caller(|c| c.region = Some("norr".into()))),
            caller(|_| {}).idempotency_key("syd", "k-1"),
            caller(|_| {}).idempotency_key("norr", "k-2"),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(&base, other, "variant {i}");
        }
        // Adjacent fields cannot run into each other.
        assert_ne!(
            key(&caller(|c| c.party = Some("ab".into()))),
            key(&caller(|c| {
                c.party = Some("a".into());
                c.region = Some("b".into());
            }))
        );
        // The purpose is not the caller: the same key whatever it says.
        assert_eq!(base, key(&caller(|c| c.purpose = "another".into())));
    }
}
