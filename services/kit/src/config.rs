//! Typed configuration: defaults, then an optional TOML file, then `SAMLING_*`
//! environment variables (env wins). Every field has a working default, so a
//! bare `samling serve` runs on embedded SQLite under `./data`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Unknown keys are refused by name: the fixed sections' in the sections
/// themselves, top-level ones by [`Config::from_toml`] (a key that is not a
/// table) and [`Config::check_services`] (a table no service reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where SQLite files and dev keys live: `<data_dir>/<region>/<service>.db`.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub listen: ListenConfig,
    pub auth: AuthConfig,
    pub audit: AuditConfig,
    pub telemetry: TelemetryConfig,
    pub gateway: GatewayConfig,
    /// mTLS between services (distributed mode); off by default.
    pub tls: TlsConfig,
    /// Optional county → region map (CSV like shared/reference/regions.csv).
    pub region_map_file: Option<PathBuf>,
    /// Per-region endpoint overrides: region id → service name → URL, e.g.
    /// `[regions.norr]` `registry = "http://registry.norr.svc:7051"`.
    pub regions: BTreeMap<String, RegionEndpoints>,
    /// Each service's own section, keyed by the service's name (`[registry]`,
    /// …): every top-level table that is none of the above. A service reads
    /// its section with [`Config::section`].
    #[serde(flatten)]
    pub services: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Empty = embedded SQLite under `data_dir`. A `postgres://` URL puts each
    /// service of each region in its own schema `<schema_prefix><service>_<region>`.
    pub url: String,
    pub schema_prefix: String,
    /// Pool size for reads (SQLite) or everything (PostgreSQL).
    pub max_connections: Option<u32>,
    /// SQLite writer durability: `full` (default: a commit is on disk before
    /// it is acknowledged) or `normal` (WAL's `synchronous=NORMAL`: the last
    /// commits before a power loss or kernel crash may be lost, though never
    /// the database's consistency; a process crash loses nothing).
    pub sqlite_synchronous: SqliteSync,
    /// SQLite group commit: concurrent single writes share one transaction
    /// (each in a savepoint of its own) and one durable `COMMIT`, at most
    /// this many per commit (ADR 0020). 1 = off: every write commits (and
    /// fsyncs) alone. 1 to 4096; no effect on PostgreSQL.
    pub sqlite_group_commit: usize,
    /// Check the SQLite file's integrity (`PRAGMA quick_check`) when a store
    /// opens, and refuse to start on a damaged one.
    pub check_on_start: bool,
    /// How often the writer proves it can commit (a one-row write): a full
    /// disk, a read-only file or a lost PostgreSQL primary turns the
    /// service's health NOT_SERVING within one interval. 0 = never.
    pub probe_interval_secs: u64,
    /// How often a running service re-checks its SQLite file's integrity
    /// (`PRAGMA quick_check`, on a read connection). 0 = never.
    pub integrity_check_interval_secs: u64,
    /// How long a service keeps the first answer to a request id (its
    /// idempotency record); then a retry with that id runs afresh. Far longer
    /// than the gateway's records (24 h). 0 = forever.
    pub idempotency_retention_days: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            schema_prefix: String::new(),
            max_connections: None,
            sqlite_synchronous: SqliteSync::Full,
            sqlite_group_commit: crate::group::DEFAULT_GROUP_COMMIT,
            check_on_start: true,
            probe_interval_secs: 5,
            integrity_check_interval_secs: 6 * 3600,
            idempotency_retention_days: 30,
        }
    }
}

/// SQLite's `synchronous` setting for the writer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    Full,
    Normal,
}

impl SqliteSync {
    pub fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Full => "FULL",
            SqliteSync::Normal => "NORMAL",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenConfig {
    pub host: String,
    /// Region number i (in region-map order) serves gRPC on `grpc_base_port + i`
    /// (0: an ephemeral port for every region, as the benches use).
    pub grpc_base_port: u16,
    /// The gateway's HTTP address.
    pub http_addr: String,
    /// Optional plaintext listener serving only grpc.health.v1, for probes
    /// that cannot present a client certificate (the kubelet's) when `tls`
    /// is on. Unset = none.
    pub health_addr: Option<String>,
    /// After SIGTERM, in-flight calls get this long to finish; then the
    /// remaining connections are closed (keep it under the pod's
    /// terminationGracePeriodSeconds). Event-feed streams end at once.
    pub drain_secs: u64,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            host: "127.0.0.1".into(),
            // Below Linux's ephemeral range (32768–60999): a client socket
            // of any other program can never hold one of these ports.
            grpc_base_port: 7051,
            http_addr: "127.0.0.1:8080".into(),
            health_addr: None,
            drain_secs: 20,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Ed25519 seed (hex) that signs the auth context forwarded to services.
    /// Default `<data_dir>/keys/context-signing.key`, created by `serve` if missing.
    pub context_key_file: Option<PathBuf>,
    /// Extra public keys (hex) accepted when verifying, for key rotation.
    pub context_public_keys: Vec<String>,
}

/// The keyed audit chain and its checkpoints (ADR 0015).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// 32 bytes of hex keying every service's audit chain; kept outside the
    /// database (a Secret in the chart). Default
    /// `<data_dir>/keys/audit-chain.key`, created by `serve` if missing.
    pub chain_key_file: Option<PathBuf>,
    /// Where signed checkpoints of each chain head are written, one file per
    /// service and region; outside the database (a volume in the chart).
    /// Default `<data_dir>/checkpoints`.
    pub checkpoint_dir: Option<PathBuf>,
    /// Seconds between checkpoints (one more is written at shutdown).
    pub checkpoint_interval_secs: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            chain_key_file: None,
            checkpoint_dir: None,
            checkpoint_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// `tracing` env-filter directive.
    pub log: String,
    /// "text" or "json".
    pub log_format: String,
    /// OTLP/gRPC endpoint; unset = no export. Also read from `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            log: "info".into(),
            log_format: "text".into(),
            otlp_endpoint: None,
        }
    }
}

/// The public gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    pub jwt: JwtConfig,
    /// Redis for rate limits and idempotency records; empty = in-process.
    /// Also read from `SAMLING_REDIS_URL`.
    pub redis_url: String,
    /// Requests per minute per token.
    pub token_rate_per_minute: u32,
    /// An answer costs one more request per this many bytes (a long page
    /// of records reads and audits as much as many small requests).
    pub rate_cost_bytes: usize,
    /// Requests per minute per client address on public routes and for
    /// requests that do not authenticate (IPv6 per /64).
    pub ip_rate_per_minute: u32,
    /// The strict budget of the public forms (routes without login that
    /// write, e.g. recruitment's inquiry form): requests per minute per
    /// client address and form operation, besides `ip_rate_per_minute`.
    pub public_form_rate_per_minute: u32,
    /// Proxies (addresses or CIDRs, e.g. the ingress controllers' pod
    /// network) whose `X-Forwarded-For` names the client. Empty: the TCP
    /// peer is the client.
    pub trusted_proxies: Vec<String>,
    /// How long an Idempotency-Key's first answer is kept.
    pub idempotency_ttl_secs: u64,
    /// How long an Idempotency-Key is reserved while its request runs: a
    /// gateway that loses track of the request (crash, Redis stall) leaves
    /// the key blocked (409) no longer than this. Never less than
    /// `call_timeout_ms` + 1 s, so a reservation outlives its call.
    pub idempotency_reservation_ms: u64,
    pub body_limit_bytes: usize,
    /// CORS is off unless origins are listed.
    pub cors_allowed_origins: Vec<String>,
    /// National fan-out answers with what arrived within this deadline.
    pub fanout_deadline_ms: u64,
    /// Deadline of one call to one region.
    pub call_timeout_ms: u64,
    /// Consecutive failures that open a region's circuit, and for how long.
    pub breaker_failures: u32,
    pub breaker_open_secs: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            jwt: JwtConfig::default(),
            redis_url: String::new(),
            token_rate_per_minute: 6000,
            rate_cost_bytes: 16 * 1024,
            ip_rate_per_minute: 60,
            public_form_rate_per_minute: 5,
            trusted_proxies: Vec::new(),
            idempotency_ttl_secs: 86_400,
            idempotency_reservation_ms: 10_000,
            body_limit_bytes: 4 * 1024 * 1024,
            cors_allowed_origins: Vec::new(),
            fanout_deadline_ms: 2000,
            call_timeout_ms: 5000,
            breaker_failures: 5,
            breaker_open_secs: 10,
        }
    }
}

/// How the gateway checks users' JWTs (asymmetric keys only).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: String,
    /// A JWKS file with the accepted public keys.
    pub jwks_file: Option<PathBuf>,
    /// PEM public keys (Ed25519 or P-256) accepted in addition.
    pub public_key_files: Vec<PathBuf>,
    /// An OpenID Connect issuer URL whose discovery document names the JWKS.
    pub oidc_discovery_url: Option<String>,
    /// PEM CA bundle trusted for the OIDC issuer's `https://` URLs; default
    /// the system bundle (/etc/ssl/certs/ca-certificates.crt).
    pub oidc_ca_file: Option<PathBuf>,
    /// Clock skew allowed on exp, nbf and iat.
    pub leeway_secs: u64,
    /// Longest lifetime (`exp - iat`) of an accepted token; a token without
    /// `iat` is refused.
    pub max_token_lifetime_secs: u64,
    /// The dev signing key (`samling token issue`); default `<data_dir>/keys/jwt-signing.pem`.
    pub signing_key_file: Option<PathBuf>,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            issuer: "samling-dev".into(),
            audience: "samling".into(),
            jwks_file: None,
            public_key_files: Vec::new(),
            oidc_discovery_url: None,
            oidc_ca_file: None,
            leeway_secs: 30,
            max_token_lifetime_secs: 12 * 3600,
            signing_key_file: None,
        }
    }
}

/// Mutual TLS on every gRPC connection between Samling processes: each
/// server requires a client certificate signed by `ca_file`, and each client
/// presents `cert_file`/`key_file` and checks the server against `ca_file`.
/// PEM files, e.g. a Kubernetes TLS Secret's `ca.crt`, `tls.crt`, `tls.key`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    pub enabled: bool,
    /// CA certificate(s) that sign servers' and clients' certificates.
    pub ca_file: Option<PathBuf>,
    /// This process's certificate (chain), used as server and as client.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Name checked in servers' certificates; default: the endpoint's host.
    pub server_name: Option<String>,
    /// How often a running server re-reads the three files (renewed
    /// certificates are used without a restart); 0: never.
    pub reload_interval_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            enabled: false,
            ca_file: None,
            cert_file: None,
            key_file: None,
            server_name: None,
            reload_interval_secs: 60,
        }
    }
}

/// One region's endpoints: service name → URL.
pub type RegionEndpoints = BTreeMap<String, String>;

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            database: DatabaseConfig::default(),
            listen: ListenConfig::default(),
            auth: AuthConfig::default(),
            audit: AuditConfig::default(),
            telemetry: TelemetryConfig::default(),
            gateway: GatewayConfig::default(),
            tls: TlsConfig::default(),
            region_map_file: None,
            regions: BTreeMap::new(),
            services: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("config section [{section}]: {message}")]
    Section { section: String, message: String },
}

/// `database.sqlite_group_commit`'s allowed values.
const GROUP_COMMIT_RANGE: std::ops::RangeInclusive<usize> = 1..=4096;
const GROUP_COMMIT_HINT: &str = "must be a number of writes per commit from 1 (off) to 4096";

impl Config {
    /// Defaults ← file (if given) ← environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut cfg = match file {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn from_toml(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        // A top-level key that is no table is no service's section: a typo.
        if let Some((key, _)) = cfg.services.iter().find(|(_, v)| !v.is_table()) {
            return Err(format!("unknown key `{key}`"));
        }
        if !GROUP_COMMIT_RANGE.contains(&cfg.database.sqlite_group_commit) {
            return Err(format!(
                "database.sqlite_group_commit: {GROUP_COMMIT_HINT}, not {}",
                cfg.database.sqlite_group_commit
            ));
        }
        Ok(cfg)
    }

    /// The section `[<service>]` as the service's type `T` (its defaults
    /// when the section is absent). Unknown or malformed keys are an error
    /// naming the section and the key, when `T` denies unknown fields.
    pub fn section<T: DeserializeOwned + Default>(&self, service: &str) -> Result<T, ConfigError> {
        match self.services.get(service) {
            None => Ok(T::default()),
            Some(value) => {
                value
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| ConfigError::Section {
                        section: service.to_string(),
                        message: e.message().to_string(),
                    })
            }
        }
    }

    /// Refuse sections and endpoints of services not in `known` (the
    /// binary's module list): `[registy]` or `[regions.norr] registy = …`
    /// would otherwise be ignored without a word.
    pub fn check_services(&self, known: &[&str]) -> Result<(), ConfigError> {
        let unknown = |what: &str, name: &str| ConfigError::Section {
            section: what.to_string(),
            message: format!(
                "no service is called {name:?}; the services: {}",
                known.join(", ")
            ),
        };
        if let Some(name) = self.services.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(unknown(name, name));
        }
        for (region, endpoints) in &self.regions {
            if let Some(name) = endpoints.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(unknown(&format!("regions.{region}"), name));
            }
        }
        Ok(())
    }

    /// Apply `SAMLING_*` overrides; `get` is the environment (injectable for tests).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("SAMLING_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("SAMLING_DATABASE_URL") {
            self.database.url = v;
        }
        if let Some(v) = get("SAMLING_SQLITE_SYNCHRONOUS") {
            self.database.sqlite_synchronous = match v.to_ascii_lowercase().as_str() {
                "full" => SqliteSync::Full,
                "normal" => SqliteSync::Normal,
                _ => {
                    return Err(ConfigError::Env {
                        name: "SAMLING_SQLITE_SYNCHRONOUS".into(),
                        message: "must be full or normal".into(),
                    });
                }
            };
        }
        if let Some(v) = get("SAMLING_SQLITE_GROUP_COMMIT") {
            self.database.sqlite_group_commit = v
                .trim()
                .parse()
                .ok()
                .filter(|n| GROUP_COMMIT_RANGE.contains(n))
                .ok_or_else(|| ConfigError::Env {
                    name: "SAMLING_SQLITE_GROUP_COMMIT".into(),
                    message: GROUP_COMMIT_HINT.into(),
                })?;
        }
        if let Some(v) = get("SAMLING_DATABASE_SCHEMA_PREFIX") {
            self.database.schema_prefix = v;
        }
        if let Some(v) = get("SAMLING_GRPC_BASE_PORT") {
            self.listen.grpc_base_port = v.parse().map_err(|_| ConfigError::Env {
                name: "SAMLING_GRPC_BASE_PORT".into(),
                message: "must be a port number".into(),
            })?;
        }
        if let Some(v) = get("SAMLING_LISTEN_HOST") {
            self.listen.host = v;
        }
        if let Some(v) = get("SAMLING_HTTP_ADDR") {
            self.listen.http_addr = v;
        }
        if let Some(v) = get("SAMLING_LOG") {
            self.telemetry.log = v;
        }
        if let Some(v) = get("SAMLING_LOG_FORMAT") {
            if v != "text" && v != "json" {
                return Err(ConfigError::Env {
                    name: "SAMLING_LOG_FORMAT".into(),
                    message: "must be text or json".into(),
                });
            }
            self.telemetry.log_format = v;
        }
        if let Some(v) = get("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.is_empty()) {
            self.telemetry.otlp_endpoint = Some(v);
        }
        if let Some(v) = get("SAMLING_REDIS_URL") {
            self.gateway.redis_url = v;
        }
        if let Some(v) = get("SAMLING_AUTH_CONTEXT_KEY_FILE") {
            self.auth.context_key_file = Some(PathBuf::from(v));
        }
        let file = |name: &str| get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(v) = file("SAMLING_AUDIT_CHAIN_KEY_FILE") {
            self.audit.chain_key_file = Some(v);
        }
        if let Some(v) = file("SAMLING_AUDIT_CHECKPOINT_DIR") {
            self.audit.checkpoint_dir = Some(v);
        }
        self.apply_tls_env(&get, file);
        Ok(())
    }

    /// `SAMLING_TLS_{CA,CERT,KEY}_FILE` set the files; all three together
    /// switch TLS on. `SAMLING_TLS_SERVER_NAME` sets `tls.server_name`.
    fn apply_tls_env(
        &mut self,
        get: &impl Fn(&str) -> Option<String>,
        file: impl Fn(&str) -> Option<PathBuf>,
    ) {
        let ca = file("SAMLING_TLS_CA_FILE");
        let cert = file("SAMLING_TLS_CERT_FILE");
        let key = file("SAMLING_TLS_KEY_FILE");
        if ca.is_some() && cert.is_some() && key.is_some() {
            self.tls.enabled = true;
        }
        if ca.is_some() {
            self.tls.ca_file = ca;
        }
        if cert.is_some() {
            self.tls.cert_file = cert;
        }
        if key.is_some() {
            self.tls.key_file = key;
        }
        if let Some(v) = get("SAMLING_TLS_SERVER_NAME").filter(|v| !v.is_empty()) {
            self.tls.server_name = Some(v);
        }
    }

    pub fn context_key_file(&self) -> PathBuf {
        self.auth
            .context_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys").join("context-signing.key"))
    }

    pub fn audit_chain_key_file(&self) -> PathBuf {
        self.audit
            .chain_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys").join("audit-chain.key"))
    }

    pub fn audit_checkpoint_dir(&self) -> PathBuf {
        self.audit
            .checkpoint_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("checkpoints"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_commit_is_on_by_default_and_set_by_file_or_environment() {
        assert_eq!(Config::default().database.sqlite_group_commit, 64);
        let cfg = Config::from_toml("[database]\nsqlite_group_commit = 1\n").unwrap();
        assert_eq!(cfg.database.sqlite_group_commit, 1, "1 = off");
        let err = Config::from_toml("[database]\nsqlite_group_commit = 0\n").unwrap_err();
        assert!(err.contains("database.sqlite_group_commit"), "{err}");
        let mut cfg = Config::default();
        cfg.apply_env(|k| (k == "SAMLING_SQLITE_GROUP_COMMIT").then(|| "16".into()))
            .unwrap();
        assert_eq!(cfg.database.sqlite_group_commit, 16);
        for bad in ["0", "many", "5000", "-1"] {
            let err = Config::default()
                .apply_env(|k| (k == "SAMLING_SQLITE_GROUP_COMMIT").then(|| bad.into()))
                .unwrap_err();
            assert!(
                err.to_string().contains("SAMLING_SQLITE_GROUP_COMMIT"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut cfg =
            Config::from_toml("data_dir = \"/srv/x\"\n[listen]\ngrpc_base_port = 6000\n").unwrap();
        assert_eq!(cfg.listen.grpc_base_port, 6000);
        cfg.apply_env(|k| (k == "SAMLING_GRPC_BASE_PORT").then(|| "7000".to_string()))
            .unwrap();
        assert_eq!(cfg.listen.grpc_base_port, 7000);
        assert_eq!(cfg.data_dir, PathBuf::from("/srv/x"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_rejected_by_name() {
        let e = Config::from_toml("dta_dir = \"x\"").unwrap_err();
        assert!(e.contains("dta_dir"), "{e}");
        let mut cfg = Config::default();
        let e = cfg
            .apply_env(|k| (k == "SAMLING_GRPC_BASE_PORT").then(|| "port".to_string()))
            .unwrap_err();
        assert!(e.to_string().contains("SAMLING_GRPC_BASE_PORT"));
    }

    #[test]
    fn the_audit_key_and_checkpoints_default_under_the_data_dir_and_can_be_moved() {
        let mut cfg = Config::from_toml("data_dir = \"/srv/x\"\n").unwrap();
        assert_eq!(
            cfg.audit_chain_key_file(),
            PathBuf::from("/srv/x/keys/audit-chain.key")
        );
        assert_eq!(
            cfg.audit_checkpoint_dir(),
            PathBuf::from("/srv/x/checkpoints")
        );
        assert_eq!(cfg.audit.checkpoint_interval_secs, 60);
        assert_eq!(cfg.gateway.jwt.max_token_lifetime_secs, 12 * 3600);
        cfg.apply_env(|k| match k {
            "SAMLING_AUDIT_CHAIN_KEY_FILE" => Some("/secrets/audit/key".into()),
            "SAMLING_AUDIT_CHECKPOINT_DIR" => Some("/checkpoints".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            cfg.audit_chain_key_file(),
            PathBuf::from("/secrets/audit/key")
        );
        assert_eq!(cfg.audit_checkpoint_dir(), PathBuf::from("/checkpoints"));
        let cfg = Config::from_toml("[audit]\ncheckpoint_interval_secs = 5\n").unwrap();
        assert_eq!(cfg.audit.checkpoint_interval_secs, 5);
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Rules {
        capacity: u32,
        months: u32,
    }

    #[test]
    fn a_service_reads_its_own_section_and_unknown_services_are_refused() {
        let cfg = Config::from_toml(
            "[listen]\nhost = \"0.0.0.0\"\n[registry]\ncapacity = 4\n\n[regions.norr]\nregistry = \"http://r:1\"\nombud = \"http://o:2\"\n",
        )
        .unwrap();
        assert_eq!(
            cfg.section::<Rules>("registry").unwrap(),
            Rules {
                capacity: 4,
                months: 0
            }
        );
        assert_eq!(cfg.section::<Rules>("ombud").unwrap(), Rules::default());
        assert_eq!(cfg.regions["norr"]["registry"], "http://r:1");
        cfg.check_services(&["registry", "ombud"]).unwrap();
        let e = cfg.check_services(&["registry"]).unwrap_err().to_string();
        assert!(e.contains("regions.norr") && e.contains("\"ombud\""), "{e}");
        let typo = Config::from_toml("[registy]\ncapacity = 4\n").unwrap();
        let e = typo.check_services(&["registry"]).unwrap_err().to_string();
        assert!(e.contains("[registy]") && e.contains("registry"), "{e}");
        let bad = Config::from_toml("[registry]\ncapacty = 4\n").unwrap();
        let e = bad.section::<Rules>("registry").unwrap_err().to_string();
        assert!(e.contains("[registry]") && e.contains("capacty"), "{e}");
        let bad = Config::from_toml("[registry]\ncapacity = \"four\"\n").unwrap();
        let e = bad.section::<Rules>("registry").unwrap_err().to_string();
        assert!(e.contains("[registry]"), "{e}");
        // The fixed sections still refuse unknown keys by name.
        let e = Config::from_toml("[listen]\nhots = \"x\"\n").unwrap_err();
        assert!(e.contains("hots"), "{e}");
    }

    #[test]
    fn tls_is_off_by_default_and_on_when_all_three_files_are_set() {
        let mut cfg = Config::default();
        cfg.apply_env(|k| (k == "SAMLING_TLS_CA_FILE").then(|| "/t/ca.crt".to_string()))
            .unwrap();
        assert!(!cfg.tls.enabled, "one file alone does not switch TLS on");
        assert_eq!(cfg.tls.ca_file, Some(PathBuf::from("/t/ca.crt")));
        cfg.apply_env(|k| match k {
            "SAMLING_TLS_CA_FILE" => Some("/t/ca.crt".into()),
            "SAMLING_TLS_CERT_FILE" => Some("/t/tls.crt".into()),
            "SAMLING_TLS_KEY_FILE" => Some("/t/tls.key".into()),
            _ => None,
        })
        .unwrap();
        assert!(cfg.tls.enabled);
        assert_eq!(cfg.tls.key_file, Some(PathBuf::from("/t/tls.key")));
        let cfg = Config::from_toml(
            "[tls]\nenabled = true\nca_file = \"a\"\ncert_file = \"b\"\nkey_file = \"c\"\nserver_name = \"registry\"\n",
        )
        .unwrap();
        assert!(cfg.tls.enabled);
        assert_eq!(cfg.tls.server_name.as_deref(), Some("registry"));
    }
}
