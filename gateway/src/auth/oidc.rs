//! OpenID Connect discovery over HTTPS (or plain HTTP in-cluster): the
//! provider's JWKS, fetched at start and again on an unknown `kid`.

use super::keys::{Key, parse_jwks};
use super::{AuthError, HTTP_MAX_BODY, HTTP_TIMEOUT, key_err};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The system's CA bundle (Debian and distroless images).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A TLS client trusting the PEM bundle at `path` (default the system's).
pub(super) fn tls_client(path: Option<&Path>) -> Result<tokio_rustls::TlsConnector, AuthError> {
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
pub(super) async fn http_get_json(
    url: &str,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<Value, AuthError> {
    match tokio::time::timeout(HTTP_TIMEOUT, http_get_json_inner(url, tls)).await {
        Ok(result) => result,
        Err(_) => Err(key_err(format!("GET {}: timed out", redact_userinfo(url)))),
    }
}

/// `url` with any `user:password@` replaced, for error messages.
pub(super) fn redact_userinfo(url: &str) -> String {
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

pub(super) async fn http_get_json_inner(
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
pub(super) async fn get_body<IO>(
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

pub(super) fn discovery_document_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/.well-known/openid-configuration") {
        base.to_string()
    } else {
        format!("{base}/.well-known/openid-configuration")
    }
}

/// Keys from an OpenID provider, refetched on unknown `kid`.
pub(super) struct Oidc {
    pub(super) discovery_url: String,
    pub(super) issuer: String,
    pub(super) tls: Option<tokio_rustls::TlsConnector>,
    pub(super) keys: RwLock<Arc<Vec<Key>>>,
    /// When keys were last fetched (successfully or not); held while fetching.
    pub(super) last_fetch: tokio::sync::Mutex<Instant>,
    pub(super) interval: Duration,
}

impl Oidc {
    pub(super) async fn fetch(
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

    pub(super) fn snapshot(&self) -> Arc<Vec<Key>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Fetch the keys again unless that was done less than `interval` ago
    /// (or is being done: then wait for it).
    pub(super) async fn refresh_if_due(&self) {
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
    pub(super) fn refresh_due_now(&self) -> bool {
        self.last_fetch
            .try_lock()
            .is_ok_and(|last| last.elapsed() >= self.interval)
    }
}
