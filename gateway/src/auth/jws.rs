//! Compact JWS verification: the header, the signature against the key
//! sets, the time and audience claims, and the Samling claims → context.

use super::keys::Alg;
use super::oidc::Oidc;
use super::{
    AuthError, Authenticator, MAX_ID_LEN, MAX_PURPOSE_LEN, MAX_REGION_LEN, MAX_TOKEN_LEN, bad_claim,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::reference::MunicipalityCode;
use serde_json::{Map, Value};

/// The parts of a compact JWS.
pub(super) struct Parsed<'a> {
    alg: Alg,
    kid: Option<String>,
    signing_input: &'a str,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

pub(super) fn parse_compact(token: &str) -> Result<Parsed<'_>, AuthError> {
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
pub(super) fn numeric_date(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    (f.is_finite() && f.abs() < 1e15).then(|| f.floor() as i64)
}

pub(super) fn text_claim(
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
pub(super) fn context_from_claims(
    claims: &Map<String, Value>,
    exp: i64,
) -> Result<AuthContext, AuthError> {
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
    if party.is_none() && role.needs_party() {
        return Err(bad_claim(
            "party",
            "is required for the family_home, child, guardian, health_staff, school_staff and unit_staff roles",
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
    pub(super) fn check_signature(&self, parsed: &Parsed<'_>) -> Result<(), AuthError> {
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

    pub(super) fn verify_at(&self, token: &str, now: i64) -> Result<AuthContext, AuthError> {
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
