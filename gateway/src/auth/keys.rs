//! Public keys: JWKS documents (RFC 7517), PEM files, and the algorithm
//! each key verifies.

use super::{AuthError, MAX_JWKS_KEYS, key_err};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::DecodePublicKey;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alg {
    EdDsa,
    Es256,
}

impl Alg {
    pub(super) fn from_header(alg: &str) -> Result<Alg, AuthError> {
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
pub(super) enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    pub(super) fn alg(&self) -> Alg {
        match self {
            PublicKey::Ed25519(_) => Alg::EdDsa,
            PublicKey::P256(_) => Alg::Es256,
        }
    }

    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
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

    pub(super) fn from_pem(pem: &str) -> Result<PublicKey, AuthError> {
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
pub(super) struct Key {
    pub(super) kid: Option<String>,
    pub(super) key: PublicKey,
}

/// RFC 7638 thumbprint of an Ed25519 public key (used as the dev key's `kid`).
pub(super) fn ed25519_thumbprint(key: &ed25519_dalek::VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

pub(super) fn b64_field(
    jwk: &Map<String, Value>,
    name: &str,
    len: usize,
) -> Result<Vec<u8>, String> {
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
pub(super) fn parse_jwk(jwk: &Value) -> Result<Option<Key>, String> {
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
pub(super) fn parse_jwks(doc: &Value, source: &str) -> Result<Vec<Key>, AuthError> {
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

pub(super) fn read_text(path: &Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|e| key_err(format!("read {}: {e}", path.display())))
}
