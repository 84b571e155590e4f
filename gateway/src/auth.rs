//! Users' JWTs → [`AuthContext`].
//!
//! The gateway accepts compact JWS tokens signed with asymmetric keys only:
//! `EdDSA` (Ed25519) and `ES256` (ECDSA P-256 with SHA-256). Every other `alg`
//! — `none`, `HS*` (which would let anyone holding a public key forge
//! tokens), `RS*`/`PS*` (not configured here) — is refused before any key is
//! looked at.
//!
//! Keys come from, in any combination ([`JwtConfig`]):
//! - `jwks_file`: an RFC 7517 JWKS with `OKP`/`Ed25519` and `EC`/`P-256` keys
//!   (other key types, e.g. RSA, are skipped with a warning);
//! - `public_key_files`: PEM SubjectPublicKeyInfo files (one Ed25519 or
//!   P-256 key each). They have no `kid`, so they are tried for any token;
//! - `oidc_discovery_url`: `<url>/.well-known/openid-configuration`, then its
//!   `jwks_uri`. Fetched at start; fetched again when a token names a `kid`
//!   no key has, at most once per [`REFRESH_INTERVAL`].
//!
//! With none of these configured, the dev key pair is used: the Ed25519 PKCS#8
//! PEM at `signing_key_file` (default `<data_dir>/keys/jwt-signing.pem`,
//! created with mode 0600 when missing), whose private half [`TokenIssuer`]
//! (`samling token issue`) signs with.
//!
//! Limits:
//! - The discovery/JWKS client is a minimal HTTP/1.1 GET over `https://`
//!   (rustls; server certificates checked against `oidc_ca_file`, default
//!   the system bundle) or plain `http://` (an in-cluster endpoint); no
//!   redirects, no proxy, 1 MiB body, 10 s deadline.
//! - Keys are refetched only on an unknown `kid` (not on a schedule), so a key
//!   the IdP withdraws stays accepted until the next refresh or restart.
//! - [`Authenticator::verify`] is synchronous: on an unknown `kid` it starts
//!   the refresh in the background and refuses that one token;
//!   [`Authenticator::authenticate`] awaits the refresh and retries.
//!
//! Errors never contain the token (nor claim values taken from it).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{Signer as _, SigningKey};
use samling_kit::auth::{AuthContext, Role};
use samling_kit::config::JwtConfig;
use samling_kit::reference::MunicipalityCode;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Longest token accepted (bytes); longer input is refused before decoding.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Longest `sub` / `party` (characters).
pub const MAX_ID_LEN: usize = 200;
const MAX_REGION_LEN: usize = 100;
const MAX_PURPOSE_LEN: usize = 500;
/// At most this many keys are taken from one JWKS.
const MAX_JWKS_KEYS: usize = 100;
/// Minimum time between two fetches of the OIDC keys.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP_MAX_BODY: usize = 1024 * 1024;
/// Longest lifetime [`TokenIssuer::issue`] signs.
pub const MAX_ISSUE_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Why a token was refused (or keys could not be loaded). The messages name
/// the reason, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    MissingToken,
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The `alg` of the header (sanitized, at most 16 characters).
    #[error("unsupported token algorithm {0:?} (accepted: EdDSA, ES256)")]
    UnsupportedAlgorithm(String),
    #[error("no configured key matches the token's key id and algorithm")]
    UnknownKey,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong token issuer")]
    WrongIssuer,
    #[error("wrong token audience")]
    WrongAudience,
    #[error("invalid claim `{claim}`: {reason}")]
    BadClaim {
        claim: &'static str,
        reason: &'static str,
    },
    #[error("JWT key loading: {0}")]
    KeyLoading(String),
}

impl AuthError {
    /// A stable machine-readable name for logs and problem details.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::Malformed(_) => "malformed_token",
            AuthError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            AuthError::UnknownKey => "unknown_key",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::BadClaim { .. } => "bad_claim",
            AuthError::KeyLoading(_) => "key_loading",
        }
    }

    /// True for configuration/infrastructure failures (not the caller's fault).
    pub fn is_server_error(&self) -> bool {
        matches!(self, AuthError::KeyLoading(_))
    }
}

fn bad_claim(claim: &'static str, reason: &'static str) -> AuthError {
    AuthError::BadClaim { claim, reason }
}

fn key_err(msg: impl Into<String>) -> AuthError {
    AuthError::KeyLoading(msg.into())
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(AuthError::MissingToken)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed("authorization scheme must be Bearer"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token)
}

// ---------------------------------------------------------------------------
// Keys

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    EdDsa,
    Es256,
}

impl Alg {
    fn from_header(alg: &str) -> Result<Alg, AuthError> {
        match alg {
            "EdDSA" => Ok(Alg::EdDsa),
            "ES256" => Ok(Alg::Es256),
            other => Err(AuthError::UnsupportedAlgorithm(
                other
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
                    .take(16)
                    .collect(),
            )),
        }
    }
}

#[derive(Debug, Clone)]
enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    fn alg(&self) -> Alg {
        match self {
            PublicKey::Ed25519(_) => Alg::EdDsa,
            PublicKey::P256(_) => Alg::Es256,
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| k.verify_strict(message, &sig).is_ok()),
            PublicKey::P256(k) => {
                use p256::ecdsa::signature::Verifier as _;
                p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|sig| k.verify(message, &sig).is_ok())
            }
        }
    }

    fn from_pem(pem: &str) -> Result<PublicKey, AuthError> {
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::Ed25519(k));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::P256(k));
        }
        Err(key_err(
            "not a PEM Ed25519 or P-256 public key (SubjectPublicKeyInfo)",
        ))
    }
}

#[derive(Debug, Clone)]
struct Key {
    kid: Option<String>,
    key: PublicKey,
}

/// RFC 7638 thumbprint of an Ed25519 public key (used as the dev key's `kid`).
fn ed25519_thumbprint(key: &ed25519_dalek::VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn b64_field(jwk: &Map<String, Value>, name: &str, len: usize) -> Result<Vec<u8>, String> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` is missing"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| format!("`{name}` is not base64url"))?;
    if bytes.len() != len {
        return Err(format!("`{name}` must be {len} bytes"));
    }
    Ok(bytes)
}

/// One JWK: `Ok(None)` = a key type or use this gateway does not verify with.
fn parse_jwk(jwk: &Value) -> Result<Option<Key>, String> {
    let jwk = jwk.as_object().ok_or("a key is not a JSON object")?;
    if jwk.contains_key("d") {
        return Err("a key contains private key material (`d`)".into());
    }
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    let kid = match jwk.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err("`kid` must be a string".into()),
    };
    let key = match (text("kty"), text("crv")) {
        (Some("OKP"), Some("Ed25519")) => {
            let x = b64_field(jwk, "x", 32)?;
            let x: [u8; 32] = x.try_into().map_err(|_| "`x` must be 32 bytes")?;
            PublicKey::Ed25519(
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| "`x` is not an Ed25519 public key")?,
            )
        }
        (Some("EC"), Some("P-256")) => {
            let mut sec1 = Vec::with_capacity(65);
            sec1.push(0x04);
            sec1.extend(b64_field(jwk, "x", 32)?);
            sec1.extend(b64_field(jwk, "y", 32)?);
            PublicKey::P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map_err(|_| "`x`/`y` is not a P-256 point")?,
            )
        }
        _ => return Ok(None),
    };
    let expected = match key.alg() {
        Alg::EdDsa => "EdDSA",
        Alg::Es256 => "ES256",
    };
    if text("alg").is_some_and(|a| a != expected) {
        return Ok(None);
    }
    Ok(Some(Key { kid, key }))
}

/// The usable keys of a JWKS document; `source` names it in errors.
fn parse_jwks(doc: &Value, source: &str) -> Result<Vec<Key>, AuthError> {
    let list = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| key_err(format!("{source}: not a JWKS (no `keys` array)")))?;
    let mut keys = Vec::new();
    let mut skipped = 0usize;
    for (i, jwk) in list.iter().enumerate() {
        match parse_jwk(jwk).map_err(|e| key_err(format!("{source}: key {i}: {e}")))? {
            Some(k) if keys.len() < MAX_JWKS_KEYS => keys.push(k),
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::warn!(
            source,
            skipped,
            "JWKS keys skipped (only signing keys OKP/Ed25519 and EC/P-256 are used, at most {MAX_JWKS_KEYS})"
        );
    }
    if keys.is_empty() {
        return Err(key_err(format!(
            "{source}: no usable key (OKP/Ed25519 or EC/P-256)"
        )));
    }
    Ok(keys)
}

fn read_text(path: &Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|e| key_err(format!("read {}: {e}", path.display())))
}

// ---------------------------------------------------------------------------
// The dev key pair

/// Where the dev signing key lives.
pub fn signing_key_path(cfg: &JwtConfig, data_dir: &Path) -> PathBuf {
    cfg.signing_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("keys").join("jwt-signing.pem"))
}

/// Load the Ed25519 PKCS#8 PEM at `path`, creating it (mode 0600) if missing.
fn load_or_create_signing_key(path: &Path) -> Result<SigningKey, AuthError> {
    match std::fs::read_to_string(path) {
        Ok(pem) => {
            warn_if_readable_by_others(path);
            SigningKey::from_pkcs8_pem(pem.trim()).map_err(|_| {
                key_err(format!(
                    "{}: not an Ed25519 PKCS#8 PEM private key",
                    path.display()
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_signing_key(path),
        Err(e) => Err(key_err(format!("read {}: {e}", path.display()))),
    }
}

fn create_signing_key(path: &Path) -> Result<SigningKey, AuthError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| key_err(format!("randomness: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| key_err("cannot encode the dev signing key"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    match write_private(path, pem.as_bytes()) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created the dev JWT signing key");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let pem = read_text(path)?;
            SigningKey::from_pkcs8_pem(pem.trim()).map_err(|_| {
                key_err(format!(
                    "{}: not an Ed25519 PKCS#8 PEM private key",
                    path.display()
                ))
            })
        }
        Err(e) => Err(key_err(format!("write {}: {e}", path.display()))),
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| key_err(format!("create {}: {e}", dir.display())))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    std::fs::create_dir_all(dir).map_err(|e| key_err(format!("create {}: {e}", dir.display())))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the JWT signing key is readable by group or others");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

// ---------------------------------------------------------------------------
// OIDC discovery over HTTPS (or plain HTTP in-cluster)

/// The system's CA bundle (Debian and distroless images).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A TLS client trusting the PEM bundle at `path` (default the system's).
fn tls_client(path: Option<&Path>) -> Result<tokio_rustls::TlsConnector, AuthError> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let path = path.unwrap_or(Path::new(SYSTEM_CA_BUNDLE));
    let fail = |m: &dyn std::fmt::Display| {
        key_err(format!("gateway.jwt.oidc_ca_file {}: {m}", path.display()))
    };
    let pem = std::fs::read(path).map_err(|e| fail(&e))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| fail(&e))?;
        roots.add(cert).map_err(|e| fail(&e))?;
    }
    if roots.is_empty() {
        return Err(fail(&"no CA certificates in the file"));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| fail(&e))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// GET `url` (https://, or http://) and parse the body as JSON.
async fn http_get_json(
    url: &str,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Value, AuthError> {
    match tokio::time::timeout(HTTP_TIMEOUT, http_get_json_inner(url, tls)).await {
        Ok(result) => result,
        Err(_) => Err(key_err(format!("GET {}: timed out", redact_userinfo(url)))),
    }
}

/// `url` with any `user:password@` replaced, for error messages.
fn redact_userinfo(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = url.get(start..).unwrap_or("");
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => format!(
            "{}***@{}",
            url.get(..start).unwrap_or(""),
            rest.get(at + 1..).unwrap_or("")
        ),
        None => url.to_string(),
    }
}

async fn http_get_json_inner(
    url: &str,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Value, AuthError> {
    let shown = redact_userinfo(url);
    let fail = |msg: &dyn std::fmt::Display| key_err(format!("GET {shown}: {msg}"));
    let uri: hyper::Uri = url.parse().map_err(|_| fail(&"not a valid URL"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(fail(&"only https:// and http:// URLs are supported")),
    };
    let authority = uri.authority().ok_or_else(|| fail(&"no host"))?.clone();
    if authority.as_str().contains('@') {
        return Err(fail(&"credentials in the URL are not supported"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = authority
        .port_u16()
        .unwrap_or(if secure { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, "samling-gateway")
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .map_err(|e| fail(&e))?;

    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| fail(&e))?;
    let body = if secure {
        let connector =
            tls.ok_or_else(|| fail(&"no CA bundle for https (set gateway.jwt.oidc_ca_file)"))?;
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| fail(&e))?;
        let stream = connector
            .connect(name, stream)
            .await
            .map_err(|e| fail(&format!("TLS: {e}")))?;
        get_body(stream, req).await
    } else {
        get_body(stream, req).await
    }
    .map_err(|m| fail(&m))?;
    serde_json::from_slice::<Value>(&body).map_err(|_| fail(&"body is not JSON"))
}

/// One HTTP/1.1 exchange over `io`: the 200 body (at most 1 MiB).
async fn get_body<IO>(
    io: IO,
    req: hyper::Request<http_body_util::Empty<hyper::body::Bytes>>,
) -> Result<hyper::body::Bytes, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use http_body_util::BodyExt as _;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let result = async {
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        if res.status() != hyper::StatusCode::OK {
            return Err(format!("HTTP status {}", res.status().as_u16()));
        }
        http_body_util::Limited::new(res.into_body(), HTTP_MAX_BODY)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|_| "body unreadable or larger than 1 MiB".to_string())
    }
    .await;
    driver.abort();
    result
}

fn discovery_document_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/.well-known/openid-configuration") {
        base.to_string()
    } else {
        format!("{base}/.well-known/openid-configuration")
    }
}

/// Keys from an OpenID provider, refetched on unknown `kid`.
struct Oidc {
    discovery_url: String,
    issuer: String,
    tls: Option<tokio_rustls::TlsConnector>,
    keys: RwLock<Arc<Vec<Key>>>,
    /// When keys were last fetched (successfully or not); held while fetching.
    last_fetch: tokio::sync::Mutex<Instant>,
    interval: Duration,
}

impl Oidc {
    async fn fetch(
        discovery_url: &str,
        issuer: &str,
        tls: Option<&tokio_rustls::TlsConnector>,
    ) -> Result<Vec<Key>, AuthError> {
        let doc = http_get_json(discovery_url, tls).await?;
        if let Some(advertised) = doc.get("issuer").and_then(Value::as_str)
            && advertised != issuer
        {
            tracing::warn!(
                advertised,
                configured = issuer,
                "the OIDC discovery document names another issuer than gateway.jwt.issuer"
            );
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| key_err(format!("{discovery_url}: no `jwks_uri`")))?;
        let jwks = http_get_json(jwks_uri, tls).await?;
        parse_jwks(&jwks, jwks_uri)
    }

    fn snapshot(&self) -> Arc<Vec<Key>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Fetch the keys again unless that was done less than `interval` ago
    /// (or is being done: then wait for it).
    async fn refresh_if_due(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.elapsed() < self.interval {
            return;
        }
        *last = Instant::now();
        match Self::fetch(&self.discovery_url, &self.issuer, self.tls.as_ref()).await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "OIDC signing keys refreshed");
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
            }
            Err(e) => {
                tracing::warn!(error = %e, "OIDC signing key refresh failed; keeping the old keys")
            }
        }
    }

    /// Without waiting: is a refresh allowed now and not already running?
    fn refresh_due_now(&self) -> bool {
        self.last_fetch
            .try_lock()
            .is_ok_and(|last| last.elapsed() >= self.interval)
    }
}

// ---------------------------------------------------------------------------
// The authenticator

/// Verifies users' JWTs. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    leeway: i64,
    /// Longest accepted `exp - iat` (`gateway.jwt.max_token_lifetime_secs`).
    max_lifetime: i64,
    keys: Vec<Key>,
    oidc: Option<Oidc>,
    dev_key: bool,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("static_keys", &self.inner.keys.len())
            .field(
                "oidc",
                &self.inner.oidc.as_ref().map(|o| o.discovery_url.as_str()),
            )
            .field("dev_key", &self.inner.dev_key)
            .finish()
    }
}

/// The parts of a compact JWS.
struct Parsed<'a> {
    alg: Alg,
    kid: Option<String>,
    signing_input: &'a str,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

fn parse_compact(token: &str) -> Result<Parsed<'_>, AuthError> {
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload_b64), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed("not a compact JWS (3 parts)"));
    };
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::Malformed("header is not base64url"))?;
    let header_json: Map<String, Value> = serde_json::from_slice(&header_json)
        .map_err(|_| AuthError::Malformed("header is not a JSON object"))?;
    let alg = header_json
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(AuthError::Malformed("header has no `alg`"))?;
    let alg = Alg::from_header(alg)?;
    if header_json.contains_key("crit") {
        return Err(AuthError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    let kid = match header_json.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(AuthError::Malformed("`kid` is not a string")),
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| AuthError::Malformed("signature is not base64url"))?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| AuthError::Malformed("payload is not base64url"))?;
    let signing_input = token
        .get(..header.len() + 1 + payload_b64.len())
        .ok_or(AuthError::Malformed("not a compact JWS (3 parts)"))?;
    Ok(Parsed {
        alg,
        kid,
        signing_input,
        signature,
        payload,
    })
}

/// A JSON NumericDate (seconds; fractions are floored).
fn numeric_date(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    (f.is_finite() && f.abs() < 1e15).then(|| f.floor() as i64)
}

fn text_claim(
    claims: &Map<String, Value>,
    name: &'static str,
    max_chars: usize,
) -> Result<Option<String>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.is_empty() {
                return Err(bad_claim(name, "must not be empty"));
            }
            if s.chars().count() > max_chars {
                return Err(bad_claim(name, "is too long"));
            }
            if s.chars().any(char::is_control) {
                return Err(bad_claim(name, "must not contain control characters"));
            }
            Ok(Some(s.clone()))
        }
        Some(_) => Err(bad_claim(name, "must be a string")),
    }
}

/// The Samling claims of a verified token (signature, time, iss and aud
/// already checked).
fn context_from_claims(claims: &Map<String, Value>, exp: i64) -> Result<AuthContext, AuthError> {
    let sub = text_claim(claims, "sub", MAX_ID_LEN)?.ok_or(bad_claim("sub", "is required"))?;
    let role = match claims.get("role") {
        None | Some(Value::Null) => return Err(bad_claim("role", "is required")),
        Some(Value::String(s)) => {
            Role::parse(s).map_err(|_| bad_claim("role", "is not a Samling role"))?
        }
        Some(_) => return Err(bad_claim("role", "must be a string")),
    };
    let municipality = match text_claim(claims, "municipality", 16)? {
        Some(code) => Some(
            MunicipalityCode::parse(&code)
                .map_err(|_| bad_claim("municipality", "is not a municipality code"))?,
        ),
        None if role.is_municipal() => {
            return Err(bad_claim("municipality", "is required for municipal roles"));
        }
        None => None,
    };
    let party = text_claim(claims, "party", MAX_ID_LEN)?;
    if party.is_none() && matches!(role, Role::FamilyHome | Role::Child) {
        return Err(bad_claim(
            "party",
            "is required for the family_home and child roles",
        ));
    }
    let region = text_claim(claims, "region", MAX_REGION_LEN)?;
    // An officer works in one region's register (ADR 0017): a token without
    // its region would otherwise be bound to none.
    if region.is_none() && role == Role::RegionalOfficer {
        return Err(bad_claim(
            "region",
            "is required for the regional_officer role",
        ));
    }
    let purpose = text_claim(claims, "purpose", MAX_PURPOSE_LEN)?.unwrap_or_default();
    Ok(AuthContext {
        sub,
        role,
        municipality,
        region,
        party,
        purpose,
        reason: String::new(),
        exp,
    })
}

impl Authenticator {
    /// Seconds a token is still accepted after its `exp` (and before its `nbf`).
    pub fn leeway_secs(&self) -> i64 {
        self.inner.leeway
    }

    /// Load the configured keys (see the module docs); with none configured,
    /// the dev key pair under `data_dir` (created if missing).
    pub async fn from_config(cfg: &JwtConfig, data_dir: &Path) -> Result<Authenticator, AuthError> {
        Self::build(cfg, data_dir, REFRESH_INTERVAL).await
    }

    async fn build(
        cfg: &JwtConfig,
        data_dir: &Path,
        interval: Duration,
    ) -> Result<Authenticator, AuthError> {
        if cfg.issuer.is_empty() || cfg.audience.is_empty() {
            return Err(key_err("gateway.jwt.issuer and audience must be set"));
        }
        let mut keys = Vec::new();
        if let Some(path) = &cfg.jwks_file {
            let text = read_text(path)?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|_| key_err(format!("{}: not JSON", path.display())))?;
            keys.extend(parse_jwks(&doc, &path.display().to_string())?);
        }
        for path in &cfg.public_key_files {
            let key = PublicKey::from_pem(read_text(path)?.trim())
                .map_err(|e| key_err(format!("{}: {e}", path.display())))?;
            keys.push(Key { kid: None, key });
        }
        let oidc = match &cfg.oidc_discovery_url {
            Some(url) => {
                let discovery_url = discovery_document_url(url);
                // The CA bundle is required for an https issuer; for an
                // http one it is loaded if present (its jwks_uri may be https).
                let tls = match tls_client(cfg.oidc_ca_file.as_deref()) {
                    Ok(t) => Some(t),
                    Err(e) if discovery_url.starts_with("https:") => return Err(e),
                    Err(_) => None,
                };
                let fetched = Oidc::fetch(&discovery_url, &cfg.issuer, tls.as_ref()).await?;
                Some(Oidc {
                    discovery_url,
                    issuer: cfg.issuer.clone(),
                    tls,
                    keys: RwLock::new(Arc::new(fetched)),
                    last_fetch: tokio::sync::Mutex::new(Instant::now()),
                    interval,
                })
            }
            None => None,
        };
        let dev_key = keys.is_empty() && oidc.is_none();
        if dev_key {
            let path = signing_key_path(cfg, data_dir);
            let public = load_or_create_signing_key(&path)?.verifying_key();
            tracing::warn!(
                path = %path.display(),
                "no JWT keys configured: accepting tokens signed by the dev key (`samling token issue`)"
            );
            keys.push(Key {
                kid: Some(ed25519_thumbprint(&public)),
                key: PublicKey::Ed25519(public),
            });
        }
        Ok(Authenticator {
            inner: Arc::new(Inner {
                issuer: cfg.issuer.clone(),
                audience: cfg.audience.clone(),
                leeway: i64::try_from(cfg.leeway_secs).unwrap_or(i64::MAX),
                max_lifetime: i64::try_from(cfg.max_token_lifetime_secs).unwrap_or(i64::MAX),
                keys,
                oidc,
                dev_key,
            }),
        })
    }

    /// True when no keys were configured and the dev key pair is trusted.
    pub fn uses_dev_key(&self) -> bool {
        self.inner.dev_key
    }

    /// Verify `token` (the bare JWT, without `Bearer `) and map its claims.
    ///
    /// On an unknown `kid` with OIDC configured this starts a key refresh in
    /// the background (at most once per [`REFRESH_INTERVAL`]) and refuses the
    /// token; use [`Authenticator::authenticate`] to wait for the refresh.
    pub fn verify(&self, token: &str) -> Result<AuthContext, AuthError> {
        let result = self.verify_at(token, chrono::Utc::now().timestamp());
        if matches!(result, Err(AuthError::UnknownKey))
            && let Some(oidc) = &self.inner.oidc
            && oidc.refresh_due_now()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let this = self.clone();
            handle.spawn(async move {
                if let Some(oidc) = &this.inner.oidc {
                    oidc.refresh_if_due().await;
                }
            });
        }
        result
    }

    /// Like [`Authenticator::verify`], but on an unknown `kid` refetches the
    /// OIDC keys (at most once per [`REFRESH_INTERVAL`]) and tries again.
    pub async fn authenticate(&self, token: &str) -> Result<AuthContext, AuthError> {
        match self.verify_at(token, chrono::Utc::now().timestamp()) {
            Err(AuthError::UnknownKey) if self.inner.oidc.is_some() => {
                if let Some(oidc) = &self.inner.oidc {
                    oidc.refresh_if_due().await;
                }
                self.verify_at(token, chrono::Utc::now().timestamp())
            }
            other => other,
        }
    }

    fn check_signature(&self, parsed: &Parsed<'_>) -> Result<(), AuthError> {
        let oidc_keys = self.inner.oidc.as_ref().map(Oidc::snapshot);
        let all = || {
            self.inner
                .keys
                .iter()
                .chain(oidc_keys.iter().flat_map(|k| k.iter()))
        };
        let kid = parsed.kid.as_deref();
        let mut tried = false;
        for key in all().filter(|k| {
            k.key.alg() == parsed.alg
                && (kid.is_none() || k.kid.is_none() || k.kid.as_deref() == kid)
        }) {
            tried = true;
            if key
                .key
                .verify(parsed.signing_input.as_bytes(), &parsed.signature)
            {
                return Ok(());
            }
        }
        let kid_unknown = kid.is_some_and(|kid| !all().any(|k| k.kid.as_deref() == Some(kid)));
        if !tried || kid_unknown {
            Err(AuthError::UnknownKey)
        } else {
            Err(AuthError::BadSignature)
        }
    }

    fn verify_at(&self, token: &str, now: i64) -> Result<AuthContext, AuthError> {
        let parsed = parse_compact(token)?;
        self.check_signature(&parsed)?;
        let claims: Map<String, Value> = serde_json::from_slice(&parsed.payload)
            .map_err(|_| AuthError::Malformed("payload is not a JSON object"))?;
        let leeway = self.inner.leeway;
        let exp = match claims.get("exp") {
            None | Some(Value::Null) => return Err(bad_claim("exp", "is required")),
            Some(v) => numeric_date(v).ok_or(bad_claim("exp", "must be a NumericDate"))?,
        };
        if now > exp.saturating_add(leeway) {
            return Err(AuthError::Expired);
        }
        // A stolen token must not live for years: `iat` is required, not in
        // the future, and `exp` at most the configured lifetime after it.
        let iat = match claims.get("iat") {
            None | Some(Value::Null) => return Err(bad_claim("iat", "is required")),
            Some(v) => numeric_date(v).ok_or(bad_claim("iat", "must be a NumericDate"))?,
        };
        if iat > now.saturating_add(leeway) {
            return Err(bad_claim("iat", "is in the future"));
        }
        if exp.saturating_sub(iat) > self.inner.max_lifetime {
            return Err(bad_claim(
                "exp",
                "is further after iat than the longest token lifetime",
            ));
        }
        match claims.get("nbf") {
            None | Some(Value::Null) => {}
            Some(v) => {
                let nbf = numeric_date(v).ok_or(bad_claim("nbf", "must be a NumericDate"))?;
                if nbf > now.saturating_add(leeway) {
                    return Err(AuthError::NotYetValid);
                }
            }
        }
        if claims.get("iss").and_then(Value::as_str) != Some(self.inner.issuer.as_str()) {
            return Err(AuthError::WrongIssuer);
        }
        let audience = self.inner.audience.as_str();
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !aud_ok {
            return Err(AuthError::WrongAudience);
        }
        context_from_claims(&claims, exp)
    }
}

// ---------------------------------------------------------------------------
// Issuing dev tokens

/// What [`TokenIssuer::issue`] puts in a token.
#[derive(Debug, Clone)]
pub struct IssueClaims {
    pub sub: String,
    pub role: Role,
    pub municipality: Option<MunicipalityCode>,
    pub party: Option<String>,
    pub region: Option<String>,
    pub ttl: Duration,
}

/// Signs dev tokens (EdDSA) with the dev key pair.
pub struct TokenIssuer {
    key: SigningKey,
    kid: String,
    issuer: String,
    audience: String,
    /// The gateway's `max_token_lifetime_secs`: a longer token would be refused.
    max_ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// Load the dev signing key ([`signing_key_path`]), creating it (mode
    /// 0600) if missing.
    pub fn load_or_create(cfg: &JwtConfig, data_dir: &Path) -> Result<TokenIssuer, AuthError> {
        let key = load_or_create_signing_key(&signing_key_path(cfg, data_dir))?;
        Ok(TokenIssuer {
            kid: ed25519_thumbprint(&key.verifying_key()),
            key,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            max_ttl: Duration::from_secs(cfg.max_token_lifetime_secs).min(MAX_ISSUE_TTL),
        })
    }

    /// The `kid` of the dev key (its RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWKS (for a gateway's `jwks_file` elsewhere).
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    }

    /// A signed JWT for `claims`, valid from now for `claims.ttl`. Refuses
    /// claims the gateway would refuse.
    pub fn issue(&self, claims: IssueClaims) -> Result<String, AuthError> {
        if claims.ttl.is_zero() || claims.ttl > self.max_ttl {
            return Err(bad_claim(
                "exp",
                "ttl must be between 1 second and gateway.jwt.max_token_lifetime_secs",
            ));
        }
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(claims.ttl.as_secs()).unwrap_or(i64::MAX);
        let exp = now.saturating_add(ttl.max(1));
        let mut body = Map::new();
        body.insert("iss".into(), json!(self.issuer));
        body.insert("aud".into(), json!(self.audience));
        body.insert("sub".into(), json!(claims.sub));
        body.insert("role".into(), json!(claims.role.as_str()));
        if let Some(m) = claims.municipality {
            body.insert("municipality".into(), json!(m.as_str()));
        }
        if let Some(p) = claims.party {
            body.insert("party".into(), json!(p));
        }
        if let Some(r) = claims.region {
            body.insert("region".into(), json!(r));
        }
        body.insert("iat".into(), json!(now));
        body.insert("nbf".into(), json!(now));
        body.insert("exp".into(), json!(exp));
        body.insert("jti".into(), json!(uuid::Uuid::now_v7().to_string()));
        context_from_claims(&body, exp)?;
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(body).to_string())
        );
        let sig = self.key.sign(input.as_bytes());
        Ok(format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "samling-dev";
    const AUD: &str = "samling";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn cfg(dir: &Path) -> JwtConfig {
        JwtConfig {
            issuer: ISS.into(),
            audience: AUD.into(),
            signing_key_file: Some(dir.join("keys").join("jwt.pem")),
            ..JwtConfig::default()
        }
    }

    fn caseworker_claims() -> Value {
        json!({
            "iss": ISS, "aud": AUD, "sub": "user-1",
            "role": "municipality_caseworker", "municipality": "0180",
            "iat": now(), "nbf": now(), "exp": now() + 600,
        })
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn header(alg: &str, kid: Option<&str>) -> Value {
        match kid {
            Some(kid) => json!({"alg": alg, "typ": "JWT", "kid": kid}),
            None => json!({"alg": alg, "typ": "JWT"}),
        }
    }

    fn sign_ed(key: &SigningKey, kid: Option<&str>, claims: &Value) -> String {
        let input = format!("{}.{}", b64(&header("EdDSA", kid)), b64(claims));
        let sig = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    fn sign_es(key: &p256::ecdsa::SigningKey, kid: Option<&str>, claims: &Value) -> String {
        let input = format!("{}.{}", b64(&header("ES256", kid)), b64(claims));
        let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    fn ed_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn es_key(seed: u8) -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    fn ed_jwk(key: &SigningKey, kid: &str) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig",
               "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())})
    }

    fn es_jwk(key: &p256::ecdsa::SigningKey, kid: &str) -> Value {
        let point = key.verifying_key().to_encoded_point(false);
        json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
               "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
               "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())})
    }

    /// An authenticator trusting exactly the keys of `jwks`.
    async fn with_jwks(dir: &Path, jwks: Value) -> Authenticator {
        let path = dir.join("jwks.json");
        std::fs::write(&path, jwks.to_string()).unwrap();
        let cfg = JwtConfig {
            jwks_file: Some(path),
            ..cfg(dir)
        };
        Authenticator::from_config(&cfg, dir).await.unwrap()
    }

    /// The dev authenticator and an issuer for the same key.
    async fn dev() -> (tempfile::TempDir, Authenticator, TokenIssuer) {
        let dir = tempfile::tempdir().unwrap();
        let auth = Authenticator::from_config(&cfg(dir.path()), dir.path())
            .await
            .unwrap();
        let issuer = TokenIssuer::load_or_create(&cfg(dir.path()), dir.path()).unwrap();
        (dir, auth, issuer)
    }

    fn dev_sign(dir: &Path, claims: &Value) -> String {
        let pem = std::fs::read_to_string(dir.join("keys").join("jwt.pem")).unwrap();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
        sign_ed(
            &key,
            Some(&ed25519_thumbprint(&key.verifying_key())),
            claims,
        )
    }

    fn caseworker_issue() -> IssueClaims {
        IssueClaims {
            sub: "user-1".into(),
            role: Role::MunicipalityCaseworker,
            municipality: Some(MunicipalityCode::parse("0180").unwrap()),
            party: None,
            region: Some("stockholm".into()),
            ttl: Duration::from_secs(3600),
        }
    }

    #[tokio::test]
    async fn an_issued_eddsa_token_verifies_into_the_context() {
        let (_dir, auth, issuer) = dev().await;
        assert!(auth.uses_dev_key());
        let token = issuer.issue(caseworker_issue()).unwrap();
        let ctx = auth.verify(&token).unwrap();
        assert_eq!(ctx.sub, "user-1");
        assert_eq!(ctx.role, Role::MunicipalityCaseworker);
        assert_eq!(ctx.municipality.unwrap().as_str(), "0180");
        assert_eq!(ctx.region.as_deref(), Some("stockholm"));
        assert_eq!(ctx.party, None);
        assert!((ctx.exp - now() - 3600).abs() <= 2, "exp {}", ctx.exp);
        // The header names the key.
        let (h, _) = token.split_once('.').unwrap();
        let h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
        assert_eq!(h["kid"], issuer.kid());
        assert_eq!(h["alg"], "EdDSA");
        assert_eq!(auth.authenticate(&token).await.unwrap(), ctx);
    }

    #[tokio::test]
    async fn an_es256_token_verifies_with_a_jwks_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = es_key(7);
        let auth = with_jwks(dir.path(), json!({"keys": [es_jwk(&key, "ec-1")]})).await;
        assert!(!auth.uses_dev_key());
        let mut claims = caseworker_claims();
        claims["purpose"] = json!("uppföljning");
        let ctx = auth.verify(&sign_es(&key, Some("ec-1"), &claims)).unwrap();
        assert_eq!(ctx.role, Role::MunicipalityCaseworker);
        assert_eq!(ctx.purpose, "uppföljning");
        assert_eq!(ctx.exp, claims["exp"].as_i64().unwrap());
        // Without kid the key is still found.
        assert!(auth.verify(&sign_es(&key, None, &claims)).is_ok());
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let (_dir, auth, _) = dev().await;
        for alg in ["none", "None", "NONE"] {
            let token = format!("{}.{}.", b64(&header(alg, None)), b64(&caseworker_claims()));
            let e = auth.verify(&token).unwrap_err();
            assert!(matches!(e, AuthError::UnsupportedAlgorithm(_)), "{e}");
        }
        let token = format!(
            "{}.{}",
            b64(&header("none", None)),
            b64(&caseworker_claims())
        );
        assert!(matches!(
            auth.verify(&token).unwrap_err(),
            AuthError::Malformed(_)
        ));
    }

    fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let ih = Sha256::new()
            .chain_update(&inner)
            .chain_update(msg)
            .finalize();
        Sha256::new()
            .chain_update(&outer)
            .chain_update(ih)
            .finalize()
            .to_vec()
    }

    #[tokio::test]
    async fn an_hs256_token_keyed_with_the_public_key_is_refused() {
        let (_dir, auth, issuer) = dev().await;
        // The classic confusion attack: HMAC keyed with the public key.
        let public = issuer.key.verifying_key().to_bytes();
        let input = format!(
            "{}.{}",
            b64(&header("HS256", Some(issuer.kid()))),
            b64(&caseworker_claims())
        );
        let token = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(hmac_sha256(&public, input.as_bytes()))
        );
        let e = auth.verify(&token).unwrap_err();
        assert_eq!(e, AuthError::UnsupportedAlgorithm("HS256".into()));
        for alg in ["RS256", "PS256", "ES384", "HS512", "Ed25519"] {
            let token = format!(
                "{}.{}.AAAA",
                b64(&header(alg, None)),
                b64(&caseworker_claims())
            );
            assert!(matches!(
                auth.verify(&token).unwrap_err(),
                AuthError::UnsupportedAlgorithm(_)
            ));
        }
    }

    /// Issue 17 §2: a token with `exp` in year 9999 was accepted and `iat`
    /// never checked.
    #[tokio::test]
    async fn tokens_living_too_long_or_without_a_sane_iat_are_refused() {
        let (dir, auth, _) = dev().await;
        let year_9999 = 253_402_300_799i64;
        let mut claims = caseworker_claims();
        claims["exp"] = json!(year_9999);
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(bad_claim(
                "exp",
                "is further after iat than the longest token lifetime"
            ))
        );
        // Just within the default 12 h, and just past it.
        claims["iat"] = json!(now());
        claims["exp"] = json!(now() + 12 * 3600);
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());
        claims["exp"] = json!(now() + 12 * 3600 + 60);
        assert!(matches!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::BadClaim { claim: "exp", .. })
        ));
        // No iat at all.
        let mut claims = caseworker_claims();
        claims.as_object_mut().unwrap().remove("iat");
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(bad_claim("iat", "is required"))
        );
        // iat in the future beyond the leeway (a far-future iat would
        // otherwise make any exp look short-lived), and within it.
        let mut claims = caseworker_claims();
        claims["iat"] = json!(now() + 3600);
        claims["exp"] = json!(now() + 3700);
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(bad_claim("iat", "is in the future"))
        );
        claims["iat"] = json!(now() + 10);
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());
        claims["iat"] = json!("yesterday");
        assert!(matches!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::BadClaim { claim: "iat", .. })
        ));
    }

    #[tokio::test]
    async fn a_regional_officer_token_must_name_its_region() {
        let (dir, auth, issuer) = dev().await;
        let mut claims = caseworker_claims();
        claims["role"] = json!("regional_officer");
        claims.as_object_mut().unwrap().remove("municipality");
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(bad_claim(
                "region",
                "is required for the regional_officer role"
            ))
        );
        claims["region"] = json!("norr");
        let ctx = auth.verify(&dev_sign(dir.path(), &claims)).unwrap();
        assert_eq!(ctx.region.as_deref(), Some("norr"));
        // The dev issuer refuses to sign what the gateway would refuse.
        let officer = IssueClaims {
            sub: "officer".into(),
            role: Role::RegionalOfficer,
            municipality: None,
            party: None,
            region: None,
            ttl: Duration::from_secs(60),
        };
        assert!(matches!(
            issuer.issue(officer),
            Err(AuthError::BadClaim {
                claim: "region",
                ..
            })
        ));
        // National roles stay national: no region needed.
        claims["role"] = json!("national_analyst");
        claims.as_object_mut().unwrap().remove("region");
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());
    }

    #[tokio::test]
    async fn the_dev_issuer_refuses_a_lifetime_the_gateway_would_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = TokenIssuer::load_or_create(&cfg(dir.path()), dir.path()).unwrap();
        let claims = |ttl| IssueClaims {
            sub: "u".into(),
            role: Role::RegionalOfficer,
            municipality: None,
            party: None,
            region: Some("norr".into()),
            ttl: Duration::from_secs(ttl),
        };
        assert!(issuer.issue(claims(12 * 3600)).is_ok());
        assert!(matches!(
            issuer.issue(claims(12 * 3600 + 1)),
            Err(AuthError::BadClaim { claim: "exp", .. })
        ));
    }

    #[tokio::test]
    async fn expired_and_not_yet_valid_tokens_are_refused_with_leeway() {
        let (dir, auth, _) = dev().await;
        let mut claims = caseworker_claims();
        claims["exp"] = json!(now() - 31);
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::Expired)
        );
        claims["exp"] = json!(now() - 10); // within the 30 s leeway
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());

        let mut claims = caseworker_claims();
        claims["nbf"] = json!(now() + 120);
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::NotYetValid)
        );
        claims["nbf"] = json!(now() + 10);
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());

        let mut claims = caseworker_claims();
        claims.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(bad_claim("exp", "is required"))
        );
        claims["exp"] = json!("tomorrow");
        assert!(matches!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::BadClaim { claim: "exp", .. })
        ));
    }

    #[tokio::test]
    async fn wrong_issuer_and_audience_are_refused() {
        let (dir, auth, _) = dev().await;
        let mut claims = caseworker_claims();
        claims["iss"] = json!("someone-else");
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::WrongIssuer)
        );
        claims.as_object_mut().unwrap().remove("iss");
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::WrongIssuer)
        );

        let mut claims = caseworker_claims();
        claims["aud"] = json!("another-api");
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::WrongAudience)
        );
        claims["aud"] = json!(["another-api", "samling-x"]);
        assert_eq!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::WrongAudience)
        );
        claims["aud"] = json!(["another-api", AUD]);
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());
    }

    #[tokio::test]
    async fn a_tampered_payload_is_refused() {
        let (_dir, auth, issuer) = dev().await;
        let token = issuer.issue(caseworker_issue()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = json!("regional_officer");
        let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(auth.verify(&forged), Err(AuthError::BadSignature));
        // A flipped signature bit too.
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let forged = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(auth.verify(&forged), Err(AuthError::BadSignature));
    }

    #[tokio::test]
    async fn a_token_signed_by_another_key_is_refused() {
        let (_dir, auth, issuer) = dev().await;
        let forger = ed_key(9);
        // Claiming the dev key's kid: bad signature.
        let token = sign_ed(&forger, Some(issuer.kid()), &caseworker_claims());
        assert_eq!(auth.verify(&token), Err(AuthError::BadSignature));
        // Without kid: bad signature too.
        let token = sign_ed(&forger, None, &caseworker_claims());
        assert_eq!(auth.verify(&token), Err(AuthError::BadSignature));
        // Another kid: unknown key.
        let token = sign_ed(&forger, Some("forger"), &caseworker_claims());
        assert_eq!(auth.verify(&token), Err(AuthError::UnknownKey));
        // ES256 while only an Ed25519 key is trusted.
        let token = sign_es(&es_key(3), None, &caseworker_claims());
        assert_eq!(auth.verify(&token), Err(AuthError::UnknownKey));
    }

    #[tokio::test]
    async fn role_claims_are_required_and_named() {
        let (dir, auth, _) = dev().await;
        let mut claims = caseworker_claims();
        claims.as_object_mut().unwrap().remove("municipality");
        let e = auth.verify(&dev_sign(dir.path(), &claims)).unwrap_err();
        assert!(
            matches!(
                e,
                AuthError::BadClaim {
                    claim: "municipality",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("municipality"), "{e}");

        claims["municipality"] = json!("9999");
        assert!(matches!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::BadClaim {
                claim: "municipality",
                ..
            })
        ));

        let mut claims = caseworker_claims();
        claims["role"] = json!("family_home");
        claims.as_object_mut().unwrap().remove("municipality");
        assert!(matches!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::BadClaim { claim: "party", .. })
        ));
        claims["party"] = json!("home-42");
        let ctx = auth.verify(&dev_sign(dir.path(), &claims)).unwrap();
        assert_eq!(
            (ctx.role, ctx.party.as_deref()),
            (Role::FamilyHome, Some("home-42"))
        );

        let mut claims = caseworker_claims();
        claims["role"] = json!("admin");
        assert!(matches!(
            auth.verify(&dev_sign(dir.path(), &claims)),
            Err(AuthError::BadClaim { claim: "role", .. })
        ));
        for sub in [json!(""), json!("x".repeat(201)), json!(42), json!("a\nb")] {
            let mut claims = caseworker_claims();
            claims["sub"] = sub;
            assert!(matches!(
                auth.verify(&dev_sign(dir.path(), &claims)),
                Err(AuthError::BadClaim { claim: "sub", .. })
            ));
        }
        let mut claims = caseworker_claims();
        claims["sub"] = json!("å".repeat(200));
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());
        claims["role"] = json!("national_analyst");
        claims.as_object_mut().unwrap().remove("municipality");
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());
    }

    #[tokio::test]
    async fn jwks_with_two_keys_selects_by_kid() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (ed_key(1), es_key(2));
        let auth = with_jwks(
            dir.path(),
            json!({"keys": [
                ed_jwk(&a, "key-a"),
                es_jwk(&b, "key-b"),
                {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
                {"kty": "OKP", "crv": "X25519", "kid": "x", "x": "AAAA"},
            ]}),
        )
        .await;
        let claims = caseworker_claims();
        assert!(auth.verify(&sign_ed(&a, Some("key-a"), &claims)).is_ok());
        assert!(auth.verify(&sign_es(&b, Some("key-b"), &claims)).is_ok());
        // Right key type, wrong kid: the named key does not verify it.
        let c = ed_key(5);
        let dir2 = tempfile::tempdir().unwrap();
        let auth2 = with_jwks(
            dir2.path(),
            json!({"keys": [ed_jwk(&a, "key-a"), ed_jwk(&c, "key-c")]}),
        )
        .await;
        assert!(auth2.verify(&sign_ed(&a, Some("key-a"), &claims)).is_ok());
        assert!(auth2.verify(&sign_ed(&c, Some("key-c"), &claims)).is_ok());
        assert_eq!(
            auth2.verify(&sign_ed(&a, Some("key-c"), &claims)),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            auth2.verify(&sign_ed(&a, Some("key-z"), &claims)),
            Err(AuthError::UnknownKey)
        );
        // No kid: any key of the algorithm is tried.
        assert!(auth2.verify(&sign_ed(&c, None, &claims)).is_ok());
    }

    #[tokio::test]
    async fn bad_jwks_files_are_refused_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let load = |doc: Value| {
            let path = dir.path().join("bad.json");
            std::fs::write(&path, doc.to_string()).unwrap();
            let cfg = JwtConfig {
                jwks_file: Some(path),
                ..cfg(dir.path())
            };
            async move { Authenticator::from_config(&cfg, Path::new("/nonexistent")).await }
        };
        let mut private = ed_jwk(&ed_key(1), "k");
        private["d"] = json!("AAAA");
        for doc in [
            json!({"keys": []}),
            json!({"nokeys": 1}),
            json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}),
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}),
            json!({"keys": [{"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])}]}),
            json!({"keys": [private]}),
        ] {
            let e = load(doc).await.unwrap_err();
            assert!(matches!(e, AuthError::KeyLoading(_)), "{e}");
        }
        // A missing file names the file.
        let cfg = JwtConfig {
            jwks_file: Some(dir.path().join("absent.json")),
            ..cfg(dir.path())
        };
        let e = Authenticator::from_config(&cfg, dir.path())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("absent.json"), "{e}");
    }

    #[tokio::test]
    async fn pem_public_key_files_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (ed_key(11), es_key(12));
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        let ed_pem = a.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        let es_pem = b.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        std::fs::write(dir.path().join("ed.pem"), ed_pem).unwrap();
        std::fs::write(dir.path().join("es.pem"), es_pem).unwrap();
        let cfg = JwtConfig {
            public_key_files: vec![dir.path().join("ed.pem"), dir.path().join("es.pem")],
            ..cfg(dir.path())
        };
        let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
        assert!(!auth.uses_dev_key());
        let claims = caseworker_claims();
        // PEM keys have no kid: any kid (or none) is tried against them.
        assert!(auth.verify(&sign_ed(&a, None, &claims)).is_ok());
        assert!(auth.verify(&sign_ed(&a, Some("whatever"), &claims)).is_ok());
        assert!(auth.verify(&sign_es(&b, None, &claims)).is_ok());
        assert_eq!(
            auth.verify(&sign_ed(&ed_key(13), None, &claims)),
            Err(AuthError::BadSignature)
        );
        // The dev key was not created: keys were configured.
        assert!(!dir.path().join("keys").exists());

        std::fs::write(
            dir.path().join("junk.pem"),
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .unwrap();
        let cfg = JwtConfig {
            public_key_files: vec![dir.path().join("junk.pem")],
            ..cfg.clone()
        };
        let e = Authenticator::from_config(&cfg, dir.path())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("junk.pem"), "{e}");
    }

    /// A local OpenID provider: discovery + JWKS, counting JWKS fetches.
    async fn oidc_server(
        jwks: Arc<std::sync::Mutex<Value>>,
        fetches: Arc<std::sync::atomic::AtomicUsize>,
    ) -> String {
        oidc_server_tls(jwks, fetches, None).await
    }

    /// [`oidc_server`], over TLS with the dev certificate when `certs` is given.
    async fn oidc_server_tls(
        jwks: Arc<std::sync::Mutex<Value>>,
        fetches: Arc<std::sync::atomic::AtomicUsize>,
        certs: Option<&samling_tools::certs::DevCerts>,
    ) -> String {
        use axum::routing::get;
        use tokio_rustls::rustls;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = match certs {
            Some(_) => format!("https://localhost:{port}"),
            None => format!("http://127.0.0.1:{port}"),
        };
        let discovery = json!({"issuer": ISS, "jwks_uri": format!("{base}/jwks")});
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let d = discovery.clone();
                    async move { axum::Json(d) }
                }),
            )
            .route(
                "/jwks",
                get(move || {
                    let doc = jwks.lock().unwrap().clone();
                    fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    async move { axum::Json(doc) }
                }),
            );
        let Some(certs) = certs else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            return base;
        };
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&certs.cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(&certs.key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(
                            hyper_util::rt::TokioIo::new(tls),
                            hyper_util::service::TowerToHyperService::new(app),
                        )
                        .await;
                });
            }
        });
        base
    }

    #[tokio::test]
    async fn oidc_discovery_over_https_checks_the_providers_certificate() {
        use std::sync::atomic::AtomicUsize;
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let certs = samling_tools::certs::dev_certs(&dir.path().join("idp"), &names).unwrap();
        let other = samling_tools::certs::dev_certs(&dir.path().join("other"), &names).unwrap();
        let a = ed_key(31);
        let jwks = Arc::new(std::sync::Mutex::new(json!({"keys": [ed_jwk(&a, "a")]})));
        let fetches = Arc::new(AtomicUsize::new(0));
        let base = oidc_server_tls(jwks, fetches.clone(), Some(&certs)).await;
        assert!(base.starts_with("https://"));
        let cfg = JwtConfig {
            oidc_discovery_url: Some(base.clone()),
            oidc_ca_file: Some(certs.ca_cert.clone()),
            ..cfg(dir.path())
        };
        let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(
            auth.verify(&sign_ed(&a, Some("a"), &caseworker_claims()))
                .is_ok()
        );

        // A provider whose certificate the configured CAs did not sign is refused.
        let wrong_ca = JwtConfig {
            oidc_ca_file: Some(other.ca_cert.clone()),
            ..cfg.clone()
        };
        let e = Authenticator::from_config(&wrong_ca, dir.path())
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::KeyLoading(_)), "{e}");
        assert!(e.to_string().contains("TLS"), "{e}");
        // An unreadable CA bundle is named.
        let missing = JwtConfig {
            oidc_ca_file: Some(dir.path().join("nope.pem")),
            ..cfg
        };
        let e = Authenticator::from_config(&missing, dir.path())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("oidc_ca_file"), "{e}");
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn oidc_discovery_loads_and_refreshes_keys() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (ed_key(21), es_key(22));
        let jwks = Arc::new(std::sync::Mutex::new(json!({"keys": [ed_jwk(&a, "a")]})));
        let fetches = Arc::new(AtomicUsize::new(0));
        let base = oidc_server(jwks.clone(), fetches.clone()).await;
        let cfg = JwtConfig {
            oidc_discovery_url: Some(format!("{base}/")),
            ..cfg(dir.path())
        };
        let auth = Authenticator::build(&cfg, dir.path(), Duration::ZERO)
            .await
            .unwrap();
        assert!(!auth.uses_dev_key());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        let claims = caseworker_claims();
        assert!(auth.verify(&sign_ed(&a, Some("a"), &claims)).is_ok());

        // The provider rotates in key b: an unknown kid triggers a refetch.
        *jwks.lock().unwrap() = json!({"keys": [ed_jwk(&a, "a"), es_jwk(&b, "b")]});
        let token_b = sign_es(&b, Some("b"), &claims);
        assert!(auth.authenticate(&token_b).await.is_ok());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        assert!(auth.verify(&token_b).is_ok());

        // The sync path refuses but refreshes in the background.
        let c = ed_key(23);
        *jwks.lock().unwrap() = json!({"keys": [ed_jwk(&c, "c")]});
        let token_c = sign_ed(&c, Some("c"), &claims);
        assert_eq!(auth.verify(&token_c), Err(AuthError::UnknownKey));
        for _ in 0..100 {
            if auth.verify(&token_c).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(auth.verify(&token_c).is_ok());
        // Key a was withdrawn by that refresh.
        assert_eq!(
            auth.verify(&sign_ed(&a, Some("a"), &claims)),
            Err(AuthError::UnknownKey)
        );

        // With the real interval, unknown kids do not hammer the provider.
        let throttled = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
        let before = fetches.load(Ordering::SeqCst);
        for kid in ["x", "y", "z"] {
            let t = sign_ed(&c, Some(kid), &claims);
            assert_eq!(throttled.authenticate(&t).await, Err(AuthError::UnknownKey));
            assert_eq!(throttled.verify(&t), Err(AuthError::UnknownKey));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(fetches.load(Ordering::SeqCst), before);
    }

    #[tokio::test]
    async fn oidc_urls_other_than_http_and_https_are_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = JwtConfig {
            oidc_discovery_url: Some("ftp://idp.example".into()),
            ..cfg(dir.path())
        };
        let e = Authenticator::from_config(&cfg, dir.path())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("only https:// and http://"), "{e}");
        let cfg = JwtConfig {
            oidc_discovery_url: Some("http://user:pw@127.0.0.1:1".into()),
            ..cfg
        };
        let e = Authenticator::from_config(&cfg, dir.path())
            .await
            .unwrap_err();
        assert!(matches!(e, AuthError::KeyLoading(_)), "{e}");
        assert!(!e.to_string().contains("pw"), "{e}");
        assert!(e.to_string().contains("http://***@127.0.0.1:1/"), "{e}");
        // Nothing listening: a key loading error, not a hang.
        let cfg = JwtConfig {
            oidc_discovery_url: Some("http://127.0.0.1:1".into()),
            ..cfg
        };
        assert!(matches!(
            Authenticator::from_config(&cfg, dir.path()).await,
            Err(AuthError::KeyLoading(_))
        ));
    }

    #[tokio::test]
    async fn the_dev_key_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = JwtConfig {
            signing_key_file: None,
            ..cfg(dir.path())
        };
        let first = TokenIssuer::load_or_create(&cfg, dir.path()).unwrap();
        let path = dir.path().join("keys").join("jwt-signing.pem");
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = TokenIssuer::load_or_create(&cfg, dir.path()).unwrap();
        assert_eq!(first.kid(), again.kid());
        let auth = Authenticator::from_config(&cfg, dir.path()).await.unwrap();
        assert!(
            auth.verify(&first.issue(caseworker_issue()).unwrap())
                .is_ok()
        );
        // The JWKS export works as a jwks_file elsewhere.
        let other = tempfile::tempdir().unwrap();
        let elsewhere = with_jwks(other.path(), first.jwks()).await;
        assert!(
            elsewhere
                .verify(&first.issue(caseworker_issue()).unwrap())
                .is_ok()
        );
        assert!(!format!("{first:?}").contains("PRIVATE"));

        std::fs::write(dir.path().join("junk.pem"), "junk").unwrap();
        let cfg = JwtConfig {
            signing_key_file: Some(dir.path().join("junk.pem")),
            ..cfg
        };
        assert!(matches!(
            TokenIssuer::load_or_create(&cfg, dir.path()),
            Err(AuthError::KeyLoading(_))
        ));
    }

    #[tokio::test]
    async fn the_issuer_refuses_claims_the_gateway_would_refuse() {
        let (_dir, _auth, issuer) = dev().await;
        let e = issuer
            .issue(IssueClaims {
                municipality: None,
                ..caseworker_issue()
            })
            .unwrap_err();
        assert!(matches!(
            e,
            AuthError::BadClaim {
                claim: "municipality",
                ..
            }
        ));
        let e = issuer
            .issue(IssueClaims {
                role: Role::Child,
                ..caseworker_issue()
            })
            .unwrap_err();
        assert!(matches!(e, AuthError::BadClaim { claim: "party", .. }));
        for ttl in [Duration::ZERO, Duration::from_secs(u64::MAX)] {
            assert!(
                issuer
                    .issue(IssueClaims {
                        ttl,
                        ..caseworker_issue()
                    })
                    .is_err()
            );
        }
        assert!(
            issuer
                .issue(IssueClaims {
                    sub: String::new(),
                    ..caseworker_issue()
                })
                .is_err()
        );
    }

    #[tokio::test]
    async fn garbage_never_panics_and_errors_never_echo_the_token() {
        let (dir, auth, issuer) = dev().await;
        let valid = issuer.issue(caseworker_issue()).unwrap();
        let (h, rest) = valid.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        let inputs = [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            "a.b.c".into(),
            "ä.ö.å".into(),
            format!("{h}.{p}"),
            format!("{h}.{p}.{s}.x"),
            format!("{h}=.{p}.{s}"),
            format!("{h}.{p}.{s}="),
            format!("{}.{p}.{s}", b64(&json!([1, 2]))),
            format!("{}.{p}.{s}", b64(&json!({"alg": 5}))),
            format!("{}.{p}.{s}", b64(&json!({"alg": "EdDSA", "kid": 5}))),
            format!("{}.{p}.{s}", b64(&json!({"alg": "EdDSA", "crit": ["x"]}))),
            format!("{h}.{}.{s}", b64(&json!("string"))),
            format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode([0u8; 63])),
            format!("{}.{p}.{s}", b64(&json!({"alg": "ES256"}))),
            format!("{}.{p}.{}", b64(&json!({"alg": "x".repeat(500)})), s),
            long.clone(),
            format!("{h}.{}.{s}", URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
        ];
        for token in &inputs {
            let e = auth.verify(token).unwrap_err();
            let msg = e.to_string();
            assert!(msg.len() < 200, "{msg}");
            for part in [h, p, s] {
                assert!(!msg.contains(part), "{msg}");
            }
        }
        // A validly signed but non-object payload.
        let pem = std::fs::read_to_string(dir.path().join("keys").join("jwt.pem")).unwrap();
        let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
        let input = format!("{}.{}", b64(&header("EdDSA", None)), b64(&json!([1])));
        let sig = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes());
        assert!(matches!(
            auth.verify(&format!("{input}.{sig}")),
            Err(AuthError::Malformed(_))
        ));
        // Huge and fractional dates.
        for exp in [
            json!(1e300),
            json!(-1e300),
            json!(u64::MAX),
            json!(f64::MAX),
        ] {
            let mut claims = caseworker_claims();
            claims["exp"] = exp;
            assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_err());
        }
        let mut claims = caseworker_claims();
        claims["exp"] = json!(now() as f64 + 100.5);
        assert!(auth.verify(&dev_sign(dir.path(), &claims)).is_ok());
    }

    #[test]
    fn futures_are_send_and_the_authenticator_is_shareable() {
        fn send<T: Send>(_: &T) {}
        fn shared<T: Send + Sync + Clone + 'static>() {}
        shared::<Authenticator>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let auth = rt
            .block_on(Authenticator::from_config(&cfg(dir.path()), dir.path()))
            .unwrap();
        let fut = auth.authenticate("x");
        send(&fut);
        assert_eq!(
            rt.block_on(fut),
            Err(AuthError::Malformed("not a compact JWS (3 parts)"))
        );
        send(&Authenticator::from_config(&cfg(dir.path()), dir.path()));
    }

    #[test]
    fn bearer_headers_are_parsed() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AuthError::MissingToken));
        assert_eq!(bearer_token(Some("  ")), Err(AuthError::MissingToken));
        assert_eq!(bearer_token(Some("Bearer ")), Err(AuthError::MissingToken));
        assert!(matches!(
            bearer_token(Some("Basic dXNlcjpwdw==")),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            bearer_token(Some("abc")),
            Err(AuthError::Malformed(_))
        ));
    }
}
