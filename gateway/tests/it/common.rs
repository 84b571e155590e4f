//! The gateway test harness: real registries (one per region, each with its
//! own store, on the production server builder on its own local port), the
//! real gateway in front of them, dev tokens from the same data dir, and the
//! test kit's HTTP/1.1 client, so every test goes through TCP the way a
//! municipality's system does.
//!
//! Backends (the test kit's): SQLite and in-process limits always; a second
//! run on PostgreSQL (`SAMLING_TEST_DATABASE_URL`) and/or Redis
//! (`SAMLING_TEST_REDIS_URL`) when either is set.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Datelike;
use samling_gateway::Gateway;
use samling_gateway::auth::{Authenticator, IssueClaims, TokenIssuer};
use samling_gateway::limits::{Limits, LimitsConfig};
use samling_gateway::regions::Directory;
use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::config::GatewayConfig;
use samling_kit::reference::{MunicipalityCode, RegionMap};
use samling_testkit::server::Served;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const STOCKHOLM: &str = "stockholm-gotland";
pub const NORR: &str = "norr";
/// Stockholm (region stockholm-gotland): "our" municipality in tests.
pub const OWN: &str = "0180";
/// Göteborg (region vast): someone else's.
pub const OTHER: &str = "1480";
/// Umeå (region norr).
pub const UMEA: &str = "2480";

pub use samling_testkit::http::{Client, Req, Resp};
pub use samling_testkit::people::{adult, personnummer};
pub use samling_testkit::{Backend, backends, for_each_backend};

// ------------------------------------------------------------ regions

/// One region's registry, recruitment and compensation, served over gRPC on
/// one local port.
pub struct RegionServer {
    pub id: String,
    pub addr: SocketAddr,
    pub registry: samling_registry::Registry,
    served: Served,
    /// Recruitment of the region beside the registry (its clock settable).
    pub recruitment: samling_recruitment::Recruitment,
    /// Compensation of the region (fee schedules, agreements, grants).
    pub compensation: samling_compensation::Compensation,
    /// The child's portfolio, following the region's registry (its feed
    /// in-process; protected children's placements asked of it directly).
    pub portfolio: samling_portfolio::Portfolios,
    portfolio_feed: samling_kit::consumer::ConsumerHandle,
    /// The child-rights ombud, following the region's registry (its feed
    /// in-process); its clock settable.
    pub ombud: samling_ombud::Ombuds,
    ombud_feed: samling_kit::consumer::ConsumerHandle,
}

/// The registry as portfolio asks it (in-process, as the service).
struct RegistryFacts(samling_registry::Registry);

impl samling_portfolio::service::RegistryLookup for RegistryFacts {
    fn placement(
        &self,
        id: String,
    ) -> samling_portfolio::service::lookup::LookupFuture<
        Option<samling_portfolio::service::PlacementFacts>,
    > {
        let r = self.0.clone();
        Box::pin(async move {
            let ctx = AuthContext::new("portfolio", Role::Service);
            let day = |d: Option<&samling_proto::common::v1::Date>| {
                d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                    .unwrap_or_default()
            };
            match r.get_placement(&ctx, &id).await {
                Ok(p) => Ok(Some(samling_portfolio::service::PlacementFacts {
                    child_id: p.child_id,
                    home_id: p.home_id,
                    placing_municipality_code: p.placing_municipality_code,
                    start_date: day(p.start_date.as_ref()),
                    end_date: day(p.end_date.as_ref()),
                })),
                Err(_) => Ok(None),
            }
        })
    }

    fn child(
        &self,
        id: String,
    ) -> samling_portfolio::service::lookup::LookupFuture<
        Option<samling_portfolio::service::ChildFacts>,
    > {
        let r = self.0.clone();
        Box::pin(async move {
            let ctx = AuthContext::new("portfolio", Role::Service);
            match r.get_child(&ctx, &id).await {
                Ok(c) => Ok(Some(samling_portfolio::service::ChildFacts {
                    birth_date: c
                        .birth_date
                        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                        .unwrap_or_default(),
                    protected_identity: c.protected_identity,
                    placing_municipality_code: c.placing_municipality_code,
                })),
                Err(_) => Ok(None),
            }
        })
    }
}

impl RegionServer {
    /// A fresh store for region `id` on `backend`, migrated, and the
    /// registry with health and reflection on 127.0.0.1:0.
    pub async fn start(backend: &Backend, id: &str, signer: &ContextSigner) -> Self {
        let map = Arc::new(RegionMap::default_map().clone());
        let region = map.parse_region(id).expect("a known region");
        let (store, _) = backend
            .store("registry", Some(4), &[samling_registry::MIGRATIONS])
            .await;
        let registry = samling_registry::Registry::new(
            store,
            samling_registry::domain::Rules::default(),
            map.clone(),
        )
        .for_region(region.clone());
        // The region's recruitment service (its MatchingService answers the
        // matching routes) on the same port, as one process serves a
        // region's services; its read model starts empty.
        let (rstore, _) = backend
            .store("recruitment", Some(4), &[samling_recruitment::MIGRATIONS])
            .await;
        let recruitment = samling_recruitment::Recruitment::new(
            rstore,
            samling_recruitment::domain::Rules::default(),
            map.clone(),
            samling_kit::dates::Clock::fixed(chrono::Utc::now()),
        )
        .for_region(region.clone());
        let matching = samling_recruitment::service::matching::Matching::new(
            recruitment.clone(),
            samling_recruitment::matching::MatchingConfig::default(),
            Arc::new(crate::matching::Homes(vec![])),
            samling_recruitment::service::matching::Peers::default(),
        );
        let (cstore, _) = backend
            .store("compensation", Some(4), &[samling_compensation::MIGRATIONS])
            .await;
        let compensation = samling_compensation::Compensation::new(
            cstore,
            samling_compensation::domain::Rules::default(),
            map.clone(),
            samling_kit::dates::Clock::fixed(chrono::Utc::now()),
        )
        .for_region(region.clone());
        let (pstore, _) = backend
            .store("portfolio", Some(4), &[samling_portfolio::MIGRATIONS])
            .await;
        let portfolio =
            samling_portfolio::Portfolios::new(pstore, 13, samling_kit::dates::Clock::system())
                .for_region(region.clone())
                .with_registry(Arc::new(RegistryFacts(registry.clone())));
        let portfolio_feed = samling_kit::consumer::Consumer::new(
            samling_portfolio::registry_feed::feed_name(id),
            samling_kit::consumer::FeedSource(registry.feed.clone()),
        )
        .with_options(samling_portfolio::registry_feed::options())
        .spawn_durable(
            portfolio.store.clone(),
            portfolio.feed.clone(),
            samling_portfolio::registry_feed::RegistryFeed(portfolio.clone()),
        )
        .expect("portfolio's consumer");
        let (ostore, _) = backend
            .store("ombud", Some(4), &[samling_ombud::MIGRATIONS])
            .await;
        let ombud = samling_ombud::Ombuds::new(
            ostore,
            samling_ombud::config::OmbudConfig::default(),
            samling_kit::dates::Clock::fixed(chrono::Utc::now()),
        )
        .for_region(region.clone());
        let ombud_feed = samling_kit::consumer::Consumer::new(
            samling_ombud::registry_feed::feed_name(id),
            samling_kit::consumer::FeedSource(registry.feed.clone()),
        )
        .with_options(samling_ombud::registry_feed::options())
        .spawn_durable(
            ombud.store.clone(),
            ombud.feed.clone(),
            samling_ombud::registry_feed::RegistryFeed(ombud.clone()),
        )
        .expect("ombud's consumer");
        let served = Served::start(
            &[
                samling_registry::SERVICE_NAME,
                samling_recruitment::SERVICE_NAME,
                samling_compensation::SERVICE_NAME,
                samling_portfolio::SERVICE_NAME,
                samling_ombud::SERVICE_NAME,
            ],
            |router| {
                router
                    .add_service(samling_registry::grpc::server(
                        registry.clone(),
                        signer.verifier(),
                    ))
                    .add_service(samling_recruitment::grpc::server(
                        recruitment.clone(),
                        signer.verifier(),
                    ))
                    .add_service(samling_recruitment::grpc::matching::server(
                        matching,
                        signer.verifier(),
                    ))
                    .add_service(samling_compensation::grpc::server(
                        compensation.clone(),
                        signer.verifier(),
                    ))
                    .add_service(samling_compensation::grpc::costs_server(
                        compensation.clone(),
                        signer.verifier(),
                    ))
                    .add_service(samling_portfolio::grpc::server(
                        portfolio.clone(),
                        signer.verifier(),
                    ))
                    .add_service(samling_ombud::grpc::server(
                        ombud.clone(),
                        signer.verifier(),
                    ))
            },
        )
        .await;
        RegionServer {
            id: id.to_string(),
            addr: served.addr,
            registry,
            served,
            recruitment,
            compensation,
            portfolio,
            portfolio_feed,
            ombud,
            ombud_feed,
        }
    }

    /// Wait until ombud has applied the registry's placement events so far.
    pub async fn ombud_caught_up(&self) {
        let head = self
            .registry
            .feed
            .read_after(0, 100_000)
            .await
            .expect("feed")
            .iter()
            .rev()
            .find(|e| samling_ombud::registry_feed::EVENT_TYPES.contains(&e.event_type.as_str()))
            .map(|e| e.seq)
            .unwrap_or(0);
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            self.ombud_feed.wait_for(|s| s.cursor >= head),
        )
        .await
        .expect("ombud caught up with the registry");
    }

    /// Wait until portfolio has applied the registry's events so far.
    pub async fn portfolio_caught_up(&self) {
        let head = self
            .registry
            .feed
            .read_after(0, 100_000)
            .await
            .expect("feed")
            .iter()
            .rev()
            .find(|e| {
                samling_portfolio::registry_feed::EVENT_TYPES.contains(&e.event_type.as_str())
            })
            .map(|e| e.seq)
            .unwrap_or(0);
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            self.portfolio_feed.wait_for(|s| s.cursor >= head),
        )
        .await
        .expect("portfolio caught up with the registry");
    }

    pub fn endpoint(&self) -> String {
        self.served.endpoint()
    }

    /// gRPC requests this region has received so far.
    pub fn reached(&self) -> usize {
        self.served.reached()
    }

    /// Stop the server: connections are closed and the port refuses new
    /// ones (the listener is dropped).
    pub async fn kill(&mut self) {
        self.served.kill().await
    }
}

/// A port that accepts TCP connections and never says a word: a region that
/// hangs rather than refuses.
pub struct BlackHole {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl BlackHole {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        BlackHole { addr, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ------------------------------------------------------------ gateway

/// The configuration every test starts from (the brief's test values).
pub fn test_config(backend: &Backend) -> GatewayConfig {
    GatewayConfig {
        redis_url: backend.redis.clone().unwrap_or_default(),
        fanout_deadline_ms: 500,
        call_timeout_ms: 2000,
        breaker_failures: 2,
        breaker_open_secs: 30,
        // Test records in a shared Redis expire soon.
        idempotency_ttl_secs: 600,
        body_limit_bytes: 64 * 1024,
        // The public forms' strict budget is tested on its own
        // (recruitment::); the route matrix sends each public route one
        // request per role from one address.
        public_form_rate_per_minute: 1000,
        ..GatewayConfig::default()
    }
}

/// A namespace no other gateway, test or run shares (for Redis).
fn namespace() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!(
        "samling-gw-test:{}-{}-{}:",
        std::process::id(),
        uuid::Uuid::now_v7().simple(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// One running gateway.
pub struct GatewayServer {
    pub addr: SocketAddr,
    pub gw: Arc<Gateway>,
    pub http: Client,
    stop: Option<oneshot::Sender<()>>,
}

impl GatewayServer {
    /// Assemble a gateway like `samling serve` does (src/serve.rs
    /// `build_gateway`), with fresh limits, and serve it on 127.0.0.1:0.
    pub async fn start(
        backend: &Backend,
        data_dir: &Path,
        signer: &ContextSigner,
        endpoints: &[(String, String)],
        cfg: GatewayConfig,
    ) -> Self {
        let limits = match &backend.redis {
            None => Limits::in_process(LimitsConfig::default()),
            Some(url) => {
                let ns = namespace();
                let limits = samling_gateway::limits::connect_with(
                    url,
                    LimitsConfig {
                        rate_namespace: format!("{ns}rl:"),
                        idempotency_namespace: format!("{ns}idem:"),
                        ..LimitsConfig::default()
                    },
                )
                .await
                .expect("SAMLING_TEST_REDIS_URL is set but Redis is not reachable");
                assert_eq!(limits.backend_name(), "redis");
                limits
            }
        };
        Self::start_with_limits(data_dir, signer, endpoints, cfg, limits).await
    }

    /// Like [`Self::start`], on the given limits store (e.g. one another
    /// gateway uses too, as replicas share Redis).
    pub async fn start_with_limits(
        data_dir: &Path,
        signer: &ContextSigner,
        endpoints: &[(String, String)],
        cfg: GatewayConfig,
        limits: Limits,
    ) -> Self {
        let directory = Directory::new(
            endpoints,
            cfg.breaker_failures,
            Duration::from_secs(cfg.breaker_open_secs),
        )
        .expect("region directory");
        let auth = Authenticator::from_config(&cfg.jwt, data_dir)
            .await
            .expect("authenticator");
        let gw = Gateway::new(cfg, directory, auth, limits, signer.clone()).expect("gateway");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the gateway port");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = gw.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = samling_gateway::serve(served, listener, shutdown).await;
        });
        GatewayServer {
            addr,
            gw,
            http: Client { addr },
            stop: Some(stop),
        }
    }
}

impl Drop for GatewayServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ------------------------------------------------------------ environment

/// Regions, a gateway in front of them and a token issuer, on one backend.
pub struct Env {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub signer: ContextSigner,
    pub regions: Vec<RegionServer>,
    pub gateway: GatewayServer,
    pub issuer: TokenIssuer,
}

impl Env {
    /// The office registers a home in `region`; the answer's document.
    pub async fn create_home(&self, region: &str, draft: Value) -> Value {
        self.http()
            .post(
                &format!("/v1/regions/{region}/homes"),
                &self.officer_in(region),
                &json!({ "draft": draft }),
            )
            .await
            .ok()
    }

    /// The office registers a home in `region`; its id.
    pub async fn create_home_id(&self, region: &str, draft: Value) -> String {
        self.create_home(region, draft).await["home"]["id"]
            .as_str()
            .expect("a home id")
            .to_string()
    }

    /// Stockholm-Gotland and Norr behind a gateway with the test config.
    pub async fn start(backend: &Backend) -> Env {
        Env::start_with(backend, &[STOCKHOLM, NORR], |_| {}).await
    }

    pub async fn start_with(
        backend: &Backend,
        regions: &[&str],
        tweak: impl FnOnce(&mut GatewayConfig),
    ) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let signer = ContextSigner::generate().expect("context signer");
        let mut servers = Vec::new();
        for id in regions {
            servers.push(RegionServer::start(backend, id, &signer).await);
        }
        let mut cfg = test_config(backend);
        tweak(&mut cfg);
        let endpoints: Vec<(String, String)> = servers
            .iter()
            .map(|r| (r.id.clone(), r.endpoint()))
            .collect();
        let gateway =
            GatewayServer::start(backend, dir.path(), &signer, &endpoints, cfg.clone()).await;
        let issuer = TokenIssuer::load_or_create(&cfg.jwt, dir.path()).expect("token issuer");
        Env {
            backend: backend.clone(),
            dir,
            signer,
            regions: servers,
            gateway,
            issuer,
        }
    }

    /// Every region's register knows the others' (ADR 0021): where they
    /// are, the context key (one here) and one national identity key.
    pub fn connect_regions(&self) {
        let key = samling_registry::peers::IdentityKey::from_bytes([9; 32]);
        for r in &self.regions {
            let peers = r.registry.peers();
            peers.set_signer(self.signer.clone());
            peers.set_identity_key(key.clone());
            for o in self.regions.iter().filter(|o| o.id != r.id) {
                peers.add(&o.id, &o.endpoint());
            }
        }
    }

    /// The HTTP client of the main gateway.
    pub fn http(&self) -> &Client {
        &self.gateway.http
    }

    /// The regions' endpoints as the gateway is given them.
    pub fn endpoints(&self) -> Vec<(String, String)> {
        self.regions
            .iter()
            .map(|r| (r.id.clone(), r.endpoint()))
            .collect()
    }

    /// Another gateway in front of `endpoints`, with the test config changed by `tweak`.
    pub async fn gateway_for(
        &self,
        endpoints: &[(String, String)],
        tweak: impl FnOnce(&mut GatewayConfig),
    ) -> GatewayServer {
        let mut cfg = test_config(&self.backend);
        tweak(&mut cfg);
        GatewayServer::start(&self.backend, self.dir.path(), &self.signer, endpoints, cfg).await
    }

    /// Another gateway in front of the same regions.
    pub async fn gateway_with(&self, tweak: impl FnOnce(&mut GatewayConfig)) -> GatewayServer {
        self.gateway_for(&self.endpoints(), tweak).await
    }

    /// Another gateway in front of `endpoints` on the given limits store.
    pub async fn gateway_with_limits(
        &self,
        endpoints: &[(String, String)],
        limits: Limits,
        tweak: impl FnOnce(&mut GatewayConfig),
    ) -> GatewayServer {
        let mut cfg = test_config(&self.backend);
        tweak(&mut cfg);
        GatewayServer::start_with_limits(self.dir.path(), &self.signer, endpoints, cfg, limits)
            .await
    }

    pub fn region(&self, id: &str) -> &RegionServer {
        self.regions
            .iter()
            .find(|r| r.id == id)
            .expect("a started region")
    }

    pub fn region_mut(&mut self, id: &str) -> &mut RegionServer {
        self.regions
            .iter_mut()
            .find(|r| r.id == id)
            .expect("a started region")
    }

    /// gRPC requests that reached any region so far.
    pub fn reached(&self) -> usize {
        self.regions.iter().map(RegionServer::reached).sum()
    }

    // -------------------------------------------------------- tokens

    /// A dev token for `role`, optionally of a municipality and for a party.
    pub fn token(&self, role: Role, municipality: Option<&str>, party: Option<&str>) -> String {
        let sub = format!(
            "{}-{}-{}",
            role.as_str(),
            municipality.unwrap_or("x"),
            party.unwrap_or("x")
        );
        self.issuer
            .issue(IssueClaims {
                sub,
                role,
                municipality: municipality
                    .map(|m| MunicipalityCode::parse(m).expect("municipality")),
                party: party.map(str::to_string),
                // An officer works in one region (Stockholm-Gotland unless
                // `officer_in` says otherwise); the other roles are national.
                region: (role == Role::RegionalOfficer).then(|| STOCKHOLM.to_string()),
                ttl: Duration::from_secs(3600),
            })
            .expect("issue a token")
    }

    /// The office of Stockholm-Gotland.
    pub fn officer(&self) -> String {
        self.token(Role::RegionalOfficer, None, None)
    }

    /// The office of `region`.
    pub fn officer_in(&self, region: &str) -> String {
        self.issuer
            .issue(IssueClaims {
                sub: format!("regional_officer-{region}"),
                role: Role::RegionalOfficer,
                municipality: None,
                party: None,
                region: Some(region.to_string()),
                ttl: Duration::from_secs(3600),
            })
            .expect("issue a token")
    }

    pub fn caseworker(&self, municipality: &str) -> String {
        self.token(Role::MunicipalityCaseworker, Some(municipality), None)
    }

    /// Valid claims of a regional officer, to be spoiled by a test.
    pub fn claims(&self) -> serde_json::Map<String, Value> {
        let now = chrono::Utc::now().timestamp();
        let Value::Object(m) = json!({
            "iss": "samling-dev",
            "aud": "samling",
            "sub": "crafted-officer",
            "role": "regional_officer",
            "region": STOCKHOLM,
            "iat": now,
            "exp": now + 3600,
        }) else {
            unreachable!()
        };
        m
    }

    /// A compact JWS of `header` and `claims` signed with the dev key (EdDSA).
    pub fn sign_raw(&self, header: &Value, claims: &serde_json::Map<String, Value>) -> String {
        use ed25519_dalek::Signer as _;
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let pem = std::fs::read_to_string(self.dir.path().join("keys").join("jwt-signing.pem"))
            .expect("the dev signing key");
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).expect("an Ed25519 key");
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string())
        );
        let sig = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

// ------------------------------------------------------------ people and homes

/// A draft home as JSON: a public family home in `municipality` with one carer.
pub fn home_draft(municipality: &str, street: &str, carer: &str, competences: &[&str]) -> Value {
    json!({
        "home_type": "HOME_TYPE_FAMILY_HOME",
        "provider": "PROVIDER_KIND_PUBLIC",
        "municipality_code": municipality,
        "address": {"street": street, "postal_code": "11122", "city": "Staden"},
        "members": [{
            "given_name": "Anna",
            "family_name": "Berg",
            "personnummer": carer,
            "role": "MEMBER_ROLE_CARER",
        }],
        "languages": ["svenska"],
        "competences": competences,
        "willingness": ["WILLINGNESS_LONG_TERM"],
    })
}

/// A fresh UUIDv7 as text.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// This year (for quarterly reports).
pub fn this_year() -> i32 {
    chrono::Utc::now().year()
}

// ------------------------------------------------------------ problems

/// The gateway's refusals as a test reads them.
pub trait Problem {
    /// The answer is an RFC 9457 problem with `status` and `code`; returns it.
    fn problem(&self, status: u16, code: &str) -> Value;
    /// A problem refused for `reason` (its code follows from the reason).
    fn refusal(&self, status: u16, reason: &str) -> Value;
}

impl Problem for Resp {
    #[track_caller]
    fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "expected {status} {code}, got {}: {}",
            self.status,
            self.text()
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "body: {}",
            self.text()
        );
        let p = self.json();
        assert_eq!(p["code"], code, "problem: {p}");
        assert_eq!(p["status"], status, "problem: {p}");
        assert!(
            p["title"].is_string() && p["type"].is_string() && p["detail"].is_string(),
            "problem: {p}"
        );
        // Every refusal has a reason from the documented list, of its code.
        let reason = p["reason"]
            .as_str()
            .and_then(samling_kit::error::Reason::parse);
        let Some(reason) = reason else {
            panic!("problem without a known reason: {p}")
        };
        assert_eq!(
            samling_gateway::problem::code_name(reason.code()),
            code,
            "reason {reason} of another code: {p}"
        );
        p
    }

    /// [`Resp::problem`] for `reason`, which also gives the code.
    #[track_caller]
    fn refusal(&self, status: u16, reason: &str) -> Value {
        let code = samling_kit::error::Reason::parse(reason)
            .map(|r| samling_gateway::problem::code_name(r.code()))
            .unwrap_or_else(|| panic!("{reason} is not a reason"));
        let p = self.problem(status, code);
        assert_eq!(p["reason"], reason, "problem: {p}");
        p
    }
}
