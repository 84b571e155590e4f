use super::issuer::*;
use super::keys::*;
use super::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::{Signer as _, SigningKey};
use samling_kit::auth::Role;
use samling_kit::config::JwtConfig;
use samling_kit::reference::MunicipalityCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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
