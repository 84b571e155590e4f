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
//!
//! The module's parts: `jws` (the compact JWS and its claims), `keys` (key
//! sets: JWKS, PEM), `oidc` (discovery and refresh), `dev_keys` (the dev
//! key pair on disk) and `issuer` (dev tokens).

mod dev_keys;
mod issuer;
mod jws;
mod keys;
mod oidc;

pub use dev_keys::signing_key_path;
pub use issuer::{IssueClaims, TokenIssuer};
pub use oidc::SYSTEM_CA_BUNDLE;

use dev_keys::load_or_create_signing_key;
use keys::{Key, PublicKey, ed25519_thumbprint, parse_jwks, read_text};
use oidc::{Oidc, discovery_document_url, tls_client};
use samling_kit::auth::AuthContext;
use samling_kit::config::JwtConfig;
use serde_json::Value;
use std::path::Path;
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
}

#[cfg(test)]
mod tests;
