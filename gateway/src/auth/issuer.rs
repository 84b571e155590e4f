//! Issuing dev tokens (`samling token issue`), signed with the dev key.

use super::dev_keys::{load_or_create_signing_key, signing_key_path};
use super::jws::context_from_claims;
use super::keys::ed25519_thumbprint;
use super::{AuthError, MAX_ISSUE_TTL, bad_claim};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey};
use samling_kit::auth::Role;
use samling_kit::config::JwtConfig;
use samling_kit::reference::MunicipalityCode;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::time::Duration;

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
    pub(super) key: SigningKey,
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
