//! The gateway test harness: real registries (one per region, each with its
//! own store on its own local port), the real gateway in front of them, dev
//! tokens from the same data dir, and a tiny HTTP/1.1 client, so every test
//! goes through TCP the way a municipality's system does.
//!
//! Backends: SQLite and in-process limits always; a second run on
//! PostgreSQL (`SAMLING_TEST_DATABASE_URL`) and/or Redis
//! (`SAMLING_TEST_REDIS_URL`) when either is set.
//!
//! Each integration-test binary uses a different part of this module.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Datelike;
use samling_gateway::Gateway;
use samling_gateway::auth::{Authenticator, IssueClaims, TokenIssuer};
use samling_gateway::limits::{Limits, LimitsConfig};
use samling_gateway::regions::Directory;
use samling_kit::auth::{ContextSigner, Role};
use samling_kit::config::GatewayConfig;
use samling_kit::db::{DbTarget, Store};
use samling_kit::reference::{MunicipalityCode, RegionMap};
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

// ------------------------------------------------------------ backends

/// Where the registries' stores and the gateway's limits live in one run.
#[derive(Clone, Debug)]
pub struct Backend {
    /// e.g. "sqlite+memory", "postgres+redis"; named in failures.
    pub name: String,
    pub postgres: Option<String>,
    pub redis: Option<String>,
    /// PostgreSQL schemas to drop once the test has passed.
    schemas: Arc<Mutex<Vec<(Store, String)>>>,
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|u| !u.trim().is_empty())
}

/// SQLite with in-process limits, and, when configured, a second run on
/// PostgreSQL and/or Redis.
pub fn backends() -> Vec<Backend> {
    let plain = Backend {
        name: "sqlite+memory".into(),
        postgres: None,
        redis: None,
        schemas: Arc::default(),
    };
    let postgres = env_url("SAMLING_TEST_DATABASE_URL");
    let redis = env_url("SAMLING_TEST_REDIS_URL");
    let mut out = vec![plain];
    if postgres.is_some() || redis.is_some() {
        out.push(Backend {
            name: format!(
                "{}+{}",
                if postgres.is_some() {
                    "postgres"
                } else {
                    "sqlite"
                },
                if redis.is_some() { "redis" } else { "memory" }
            ),
            postgres,
            redis,
            schemas: Arc::default(),
        });
    }
    out
}

/// Run `test` once per backend. A failure names the backend; a passing run
/// leaves nothing behind on the shared PostgreSQL.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    use futures::FutureExt;
    for backend in backends() {
        // Not spawned: sqlx's store futures cannot be proven `Send` there.
        let outcome = std::panic::AssertUnwindSafe(test(backend.clone()))
            .catch_unwind()
            .await;
        if let Err(p) = outcome {
            let message = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-text panic)".into());
            panic!("[{}] {message}", backend.name);
        }
        let schemas = std::mem::take(&mut *backend.schemas.lock().expect("schemas"));
        for (store, schema) in schemas {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&store.write)
                .await;
            store.close().await;
        }
    }
}

// ------------------------------------------------------------ regions

/// One region's registry, served over gRPC on a local port.
pub struct RegionServer {
    pub id: String,
    pub addr: SocketAddr,
    pub registry: samling_registry::Registry,
    /// gRPC requests that reached this server (health checks included).
    reached: Arc<AtomicUsize>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RegionServer {
    /// A fresh store for region `id` on `backend`, migrated, and the
    /// registry with health and reflection on 127.0.0.1:0.
    pub async fn start(backend: &Backend, dir: &Path, id: &str, signer: &ContextSigner) -> Self {
        let map = Arc::new(RegionMap::default_map().clone());
        let region = map.parse_region(id).expect("a known region");
        let target = match &backend.postgres {
            None => DbTarget::SqliteFile(dir.join(id).join("registry.db")),
            Some(_) => samling_kit::db::testing::test_targets("registry")
                .into_iter()
                .map(|(t, _)| t)
                .find(|t| matches!(t, DbTarget::Postgres { .. }))
                .expect("a PostgreSQL target"),
        };
        let store = Store::open(&target, Some(4), &[samling_registry::MIGRATIONS])
            .await
            .unwrap_or_else(|e| panic!("[{}] open the {id} store: {e}", backend.name));
        if let DbTarget::Postgres { schema, .. } = &target {
            backend
                .schemas
                .lock()
                .expect("schemas")
                .push((store.clone(), schema.clone()));
        }
        let registry =
            samling_registry::Registry::new(store, samling_registry::domain::Rules::default(), map)
                .for_region(region);
        let (health, reflection) =
            samling_kit::grpc::health_and_reflection(&[samling_registry::SERVICE_NAME])
                .await
                .expect("health and reflection");
        let reached = Arc::new(AtomicUsize::new(0));
        let counter = reached.clone();
        // The production builder (metrics layer, request spans), counting calls.
        let router = samling_kit::grpc::server_builder()
            .trace_fn(move |req| {
                counter.fetch_add(1, Ordering::SeqCst);
                samling_kit::telemetry::grpc_server_span(req)
            })
            .add_service(health)
            .add_service(reflection)
            .add_service(samling_registry::grpc::server(
                registry.clone(),
                signer.verifier(),
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a region port");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = samling_kit::grpc::serve(router, listener, None, shutdown).await;
        });
        RegionServer {
            id: id.to_string(),
            addr,
            registry,
            reached,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// gRPC requests this region has received so far.
    pub fn reached(&self) -> usize {
        self.reached.load(Ordering::SeqCst)
    }

    /// Stop the server: connections are closed and the port refuses new
    /// ones (the listener is dropped).
    pub async fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        // Nothing may answer on the port any more.
        assert!(
            tokio::net::TcpStream::connect(self.addr).await.is_err(),
            "the killed region {} still accepts connections",
            self.id
        );
    }
}

impl Drop for RegionServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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
            servers.push(RegionServer::start(backend, dir.path(), id, &signer).await);
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

/// A valid personnummer `YYYYMMDD-NNNC` for someone born on `year-month-day`.
pub fn personnummer(year: i32, month: u32, day: u32, serial: u16) -> String {
    assert!(serial < 1000);
    let short = format!("{:02}{month:02}{day:02}{serial:03}", year % 100);
    let digits: Vec<u8> = short.bytes().map(|b| b - b'0').collect();
    let check = samling_kit::personnummer::luhn_check_digit(&digits);
    format!("{year}{month:02}{day:02}-{serial:03}{check}")
}

/// An adult born in 1980.
pub fn adult(serial: u16) -> String {
    personnummer(1980, 3, 14, serial)
}

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

// ------------------------------------------------------------ HTTP

/// A tiny HTTP/1.1 client: one request per connection, `Connection: close`,
/// read to the end.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub addr: SocketAddr,
}

/// A request to send.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Req {
    pub fn new(method: &str, path: &str) -> Req {
        Req {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(path: &str) -> Req {
        Req::new("GET", path)
    }

    pub fn post(path: &str) -> Req {
        Req::new("POST", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn bearer(self, token: &str) -> Req {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn json(self, body: &Value) -> Req {
        self.header("Content-Type", "application/json")
            .body(serde_json::to_vec(body).expect("JSON"))
    }

    pub fn body(mut self, body: Vec<u8>) -> Req {
        self.body = Some(body);
        self
    }
}

/// A response as received.
#[derive(Clone, Debug)]
pub struct Resp {
    pub status: u16,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// The answer is 200 JSON; returns the document.
    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(
            self.status,
            200,
            "expected 200, got {}: {}",
            self.status,
            self.text()
        );
        assert!(
            self.content_type().starts_with("application/json"),
            "content type {:?}",
            self.content_type()
        );
        self.json()
    }

    /// The answer is an RFC 9457 problem with `status` and `code`; returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
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
    pub fn refusal(&self, status: u16, reason: &str) -> Value {
        let code = samling_kit::error::Reason::parse(reason)
            .map(|r| samling_gateway::problem::code_name(r.code()))
            .unwrap_or_else(|| panic!("{reason} is not a reason"));
        let p = self.problem(status, code);
        assert_eq!(p["reason"], reason, "problem: {p}");
        p
    }
}

/// How long any one request may take before the test calls it a hang.
pub const HANG: Duration = Duration::from_secs(15);

impl Client {
    pub async fn send(&self, req: Req) -> Resp {
        let what = format!("{} {}", req.method, req.path);
        tokio::time::timeout(HANG, self.exchange(req))
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer within {HANG:?}"))
    }

    async fn exchange(&self, req: Req) -> Resp {
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect to the gateway");
        let _ = stream.set_nodelay(true);
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            req.method, req.path, self.addr
        );
        for (k, v) in &req.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        // A body the caller already chunk-encoded goes as it is.
        let chunked = req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"));
        let body = req.body.unwrap_or_default();
        if !chunked && (!body.is_empty() || req.method != "GET") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        // The server may answer (e.g. 413) and close before reading it all.
        let _ = stream.write_all(&bytes).await;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                // A reset after the answer arrived still leaves the answer.
                Err(e) if !buf.is_empty() => {
                    let _ = e;
                    break;
                }
                Err(e) => panic!("reading the answer: {e}"),
            }
        }
        parse_response(&buf)
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(Req::get(path).bearer(token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.send(Req::post(path).bearer(token).json(body)).await
    }
}

fn parse_response(buf: &[u8]) -> Resp {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(buf)));
    let head = std::str::from_utf8(&buf[..end]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    assert!(
        version.starts_with("HTTP/1."),
        "status line {status_line:?}"
    );
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let raw = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(raw)
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        assert!(
            raw.len() >= len,
            "body shorter ({}) than Content-Length {len}",
            raw.len()
        );
        raw[..len].to_vec()
    } else {
        raw.to_vec()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&raw[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .expect("a chunk size");
        raw = &raw[eol + 2..];
        if size == 0 || raw.len() < size {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or(&[]);
    }
}
