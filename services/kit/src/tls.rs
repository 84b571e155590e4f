//! Mutual TLS between Samling processes (the distributed deployment).
//!
//! With `[tls] enabled` every gRPC server requires a client certificate
//! signed by the configured CA, and every client (the gateway's region
//! channels, `RegistryClient`, the CLI) presents its own certificate and
//! checks the server's against the same CA. rustls with the ring provider
//! (the stack tonic links). Off by default: the all-in-one `samling serve`
//! stays plaintext on loopback.
//!
//! The material is re-read while running ([`Tls::watch`]): cert-manager
//! renews a Secret's files in place, and every handshake after the reload
//! (new connections, on either side) uses the new certificate, key and CA.
//! Connections already open keep the session they have. A reload that
//! fails (a half-written file, a key that does not fit) keeps the old
//! material and says so in the log.
//!
//! Dev certificates (`samling certs dev`) are made by the tools crate
//! (`samling_tools::certs`), not here.

use crate::config::TlsConfig;
use crate::error::KitError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tonic::transport::{Channel, Endpoint};

/// How long a TLS handshake may take, on either side.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// gRPC is HTTP/2: both sides offer only `h2`.
const ALPN_H2: &[u8] = b"h2";

/// TLS material in use, shared by every clone of a [`Tls`]: swapped whole
/// on reload, so a handshake sees one consistent set.
#[derive(Clone)]
pub struct Tls {
    shared: Arc<Shared>,
    server_name: Option<String>,
}

struct Shared {
    /// Where the material came from, when from files (then it can reload).
    files: Option<Files>,
    current: RwLock<Arc<Material>>,
}

#[derive(Clone)]
struct Files {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

struct Material {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    /// SHA-256 over the three files' bytes: a reload that reads the same
    /// bytes changes nothing (and keeps no copy of the key around).
    digest: [u8; 32],
    /// When our certificate (the chain's first) stops being valid.
    not_after: Option<chrono::DateTime<chrono::Utc>>,
}

/// How long before our certificate expires the watcher starts warning.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);
/// How often it repeats a warning about the same certificate.
const WARN_EVERY: Duration = Duration::from_secs(3600);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// `None` when TLS is off; an error naming the setting or file when it is
    /// on but incomplete, unreadable or not usable PEM.
    pub fn from_config(cfg: &TlsConfig) -> Result<Option<Tls>, KitError> {
        if !cfg.enabled {
            return Ok(None);
        }
        let files = Files {
            ca: setting(cfg.ca_file.as_deref(), "tls.ca_file", "SAMLING_TLS_CA_FILE")?,
            cert: setting(
                cfg.cert_file.as_deref(),
                "tls.cert_file",
                "SAMLING_TLS_CERT_FILE",
            )?,
            key: setting(
                cfg.key_file.as_deref(),
                "tls.key_file",
                "SAMLING_TLS_KEY_FILE",
            )?,
        };
        let material = files.load()?;
        let mut tls = Tls::new(Some(files), material);
        if let Some(name) = cfg.server_name.as_ref().filter(|n| !n.is_empty()) {
            tls = tls.with_server_name(name.clone());
        }
        Ok(Some(tls))
    }

    /// From PEM bytes: CA certificate(s), certificate chain, private key.
    /// Fixed material: [`watch`](Self::watch) and [`reload`](Self::reload)
    /// have nothing to re-read.
    pub fn from_pem(
        ca: impl AsRef<[u8]>,
        cert: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
    ) -> Result<Tls, KitError> {
        let material = Material::build(ca.as_ref(), cert.as_ref(), key.as_ref())?;
        Ok(Tls::new(None, material))
    }

    fn new(files: Option<Files>, material: Material) -> Tls {
        Tls {
            shared: Arc::new(Shared {
                files,
                current: RwLock::new(Arc::new(material)),
            }),
            server_name: None,
        }
    }

    /// Check servers' certificates for `name` instead of each endpoint's host.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Tls {
        self.server_name = Some(name.into());
        self
    }

    fn current(&self) -> Arc<Material> {
        self.shared
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// When the certificate in use stops being valid (`None`: unreadable).
    pub fn not_after(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.current().not_after
    }

    /// Server side, for the next handshake: present our identity, require a
    /// client certificate signed by the CA (none, or another CA's, fails).
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.current().server.clone()
    }

    /// Client side, for the next handshake: trust only the CA, present our
    /// identity.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        self.current().client.clone()
    }

    /// Re-read the files. `Ok(true)` when the material changed and is now
    /// in use, `Ok(false)` when the files hold what is in use (or the
    /// material did not come from files). On an error the material in use
    /// stays.
    pub fn reload(&self) -> Result<bool, KitError> {
        let Some(files) = &self.shared.files else {
            return Ok(false);
        };
        // One read: what is compared is what is built.
        let [ca, cert, key] = files.read()?;
        if digest(&ca, &cert, &key) == self.current().digest {
            return Ok(false);
        }
        let material = Material::build(&ca, &cert, &key)?;
        *self
            .shared
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(material);
        Ok(true)
    }

    /// Re-read the files every `every` (none when zero or when the material
    /// is not from files), logging what changed or why it could not; the
    /// task ends when the last clone of this `Tls` is dropped.
    pub fn watch(&self, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        if every.is_zero() || self.shared.files.is_none() {
            return None;
        }
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let server_name = self.server_name.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut warned: Option<(Option<chrono::DateTime<chrono::Utc>>, Instant)> = None;
            let mut first = true;
            loop {
                tick.tick().await;
                let Some(shared) = weak.upgrade() else { return };
                let tls = Tls {
                    shared,
                    server_name: server_name.clone(),
                };
                if !std::mem::take(&mut first) {
                    // Reading three small files: off the runtime's workers.
                    let t = tls.clone();
                    match tokio::task::spawn_blocking(move || t.reload()).await {
                        Ok(Ok(true)) => tracing::info!("TLS certificate, key and CA reloaded"),
                        Ok(Ok(false)) => {}
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "TLS files not reloaded; the material in use stays")
                        }
                        Err(e) => tracing::warn!(error = %e, "TLS reload task failed"),
                    }
                }
                let not_after = tls.not_after();
                crate::metrics::set_certificate_not_after(not_after);
                let due =
                    warned.is_none_or(|(seen, at)| seen != not_after || at.elapsed() >= WARN_EVERY);
                if due && expiry_warning(not_after, chrono::Utc::now()) {
                    warned = Some((not_after, Instant::now()));
                }
            }
        }))
    }

    /// The name to check in the certificate of the server at `host`.
    fn server_name_for(&self, host: &str) -> Result<ServerName<'static>, std::io::Error> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_string()).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("tls: {name:?} is not a server name: {e}"),
            )
        })
    }
}

impl Files {
    fn read(&self) -> Result<[Vec<u8>; 3], KitError> {
        Ok([
            read_pem(&self.ca, "tls.ca_file")?,
            read_pem(&self.cert, "tls.cert_file")?,
            read_pem(&self.key, "tls.key_file")?,
        ])
    }

    fn load(&self) -> Result<Material, KitError> {
        let [ca, cert, key] = self.read()?;
        Material::build(&ca, &cert, &key)
    }
}

/// Log our certificate's expiry when it is near or past (then `true`):
/// cert-manager renews well before, so this means a renewal did not arrive.
fn expiry_warning(
    not_after: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let Some(not_after) = not_after else {
        return false;
    };
    let left = not_after.signed_duration_since(now);
    if left <= chrono::TimeDelta::zero() {
        tracing::error!(%not_after, "our TLS certificate has expired: peers refuse it; renew tls.cert_file (it is re-read while running)");
        true
    } else if left.to_std().is_ok_and(|l| l < EXPIRY_WARNING) {
        tracing::warn!(%not_after, days_left = left.num_days(), "our TLS certificate expires soon and has not been renewed; renew tls.cert_file (it is re-read while running)");
        true
    } else {
        false
    }
}

fn digest(ca: &[u8], cert: &[u8], key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [ca, cert, key] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

impl Material {
    /// Parse everything, so bad material fails here (at start, or at a
    /// reload that then keeps the old), never at a handshake.
    fn build(ca: &[u8], cert: &[u8], key: &[u8]) -> Result<Material, KitError> {
        let bad = |field: &str, what: String| KitError::invalid(field, format!("tls: {what}"));
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca) {
            let c = c.map_err(|e| bad("tls.ca_file", format!("CA certificate: {e}")))?;
            roots
                .add(c)
                .map_err(|e| bad("tls.ca_file", format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(bad("tls.ca_file", "no CA certificate in the file".into()));
        }
        let roots = Arc::new(roots);
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("tls.cert_file", format!("certificate: {e}")))?;
        let Some(first) = chain.first().map(|c| c.to_vec()) else {
            return Err(bad("tls.cert_file", "no certificate in the file".into()));
        };
        let private_key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| bad("tls.key_file", format!("private key: {e}")))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions = |e: rustls::Error| KitError::Internal(format!("tls: {e}"));

        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.clone(),
            provider.clone(),
        )
        .build()
        .map_err(|e| bad("tls.ca_file", format!("client verifier: {e}")))?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(versions)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), private_key.clone_key())
            .map_err(|e| bad("tls.key_file", format!("certificate and key: {e}")))?;
        server.alpn_protocols = vec![ALPN_H2.to_vec()];

        let mut client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(versions)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, private_key)
            .map_err(|e| bad("tls.key_file", format!("certificate and key: {e}")))?;
        client.alpn_protocols = vec![ALPN_H2.to_vec()];

        Ok(Material {
            server: Arc::new(server),
            client: Arc::new(client),
            digest: digest(ca, cert, key),
            not_after: crate::x509::not_after(&first),
        })
    }
}

/// A client endpoint for `url` (`http://host:port`; `https://` is taken as
/// the same). Connect it with [`connect`] or [`connect_lazy`], which run
/// TLS when it is on.
pub fn endpoint(url: &str, tls: Option<&Tls>) -> Result<Endpoint, KitError> {
    let invalid = |e: tonic::transport::Error| KitError::invalid("endpoint", format!("{url}: {e}"));
    // With TLS on, the handshake is ours (the connector below), so tonic
    // sees plain http; configured endpoints stay `http://…` either way.
    let url = match (tls, url.strip_prefix("https://")) {
        (Some(_), Some(rest)) => format!("http://{rest}"),
        _ => url.to_string(),
    };
    Endpoint::from_shared(url).map_err(invalid)
}

/// Connect now (failing if the server cannot be reached or the handshake
/// fails).
pub async fn connect(ep: &Endpoint, tls: Option<&Tls>) -> Result<Channel, tonic::transport::Error> {
    match tls {
        None => ep.connect().await,
        Some(tls) => ep.connect_with_connector(Connector(tls.clone())).await,
    }
}

/// Connect at the first call (and reconnect as needed), each time with the
/// material in use then.
pub fn connect_lazy(ep: &Endpoint, tls: Option<&Tls>) -> Channel {
    match tls {
        None => ep.connect_lazy(),
        Some(tls) => ep.connect_with_connector_lazy(Connector(tls.clone())),
    }
}

/// TCP (TCP_NODELAY) and a TLS handshake with the current client material.
#[derive(Clone)]
struct Connector(Tls);

type TlsIo = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

impl tower::Service<tonic::codegen::http::Uri> for Connector {
    type Response = TlsIo;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<TlsIo, std::io::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: tonic::codegen::http::Uri) -> Self::Future {
        let tls = self.0.clone();
        Box::pin(async move {
            let invalid = |what: &str| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{uri}: {what}"))
            };
            let host = uri.host().ok_or_else(|| invalid("no host"))?;
            // An IPv6 literal comes bracketed.
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri.port_u16().ok_or_else(|| invalid("no port"))?;
            let name = tls.server_name_for(&host)?;
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let handshake =
                tokio_rustls::TlsConnector::from(tls.client_config()).connect(name, tcp);
            let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "tls: handshake timed out")
                })??;
            Ok(hyper_util::rt::TokioIo::new(stream))
        })
    }
}

/// Accepted connections on `listener` after a TLS handshake with the
/// server material in use when each arrived. Handshakes run concurrently
/// (a slow or silent client holds up no one) and failures are dropped with
/// a debug line; the accept loop ends when the stream is dropped.
pub fn incoming(
    listener: tokio::net::TcpListener,
    tls: Tls,
) -> impl tokio_stream::Stream<
    Item = Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>, std::io::Error>,
> + Send
+ 'static {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                _ = tx.closed() => return,
            };
            let (tcp, _) = match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: do not spin.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Accepted sockets do not inherit the listener's options.
            let _ = tcp.set_nodelay(true);
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

fn setting(path: Option<&Path>, key: &str, env: &str) -> Result<PathBuf, KitError> {
    path.map(Path::to_path_buf).ok_or_else(|| {
        KitError::invalid(
            key,
            format!("tls is enabled but {key} (or {env}) is not set"),
        )
    })
}

fn read_pem(path: &Path, key: &str) -> Result<Vec<u8>, KitError> {
    let bytes = std::fs::read(path)
        .map_err(|e| KitError::invalid(key, format!("cannot read {}: {e}", path.display())))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(KitError::invalid(
            key,
            format!("{} holds no PEM block", path.display()),
        ));
    }
    Ok(bytes)
}

/// An error with its causes (tonic's transport errors hide the TLS reason
/// in their sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PEM armour (RFC 7468): base64 in 64-column lines.
    fn pem(label: &str, der: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    /// A self-signed certificate (its own CA) valid until `not_after`, as
    /// (certificate PEM, key PEM).
    fn self_signed_until(not_after: chrono::DateTime<chrono::Utc>) -> (String, String) {
        use chrono::Datelike;
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["samling".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        let d = not_after.date_naive();
        params.not_after = rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8);
        let cert = params.self_signed(&key).unwrap();
        (
            pem("CERTIFICATE", cert.der()),
            pem("PRIVATE KEY", &key.serialize_der()),
        )
    }

    #[tokio::test]
    async fn the_certificates_expiry_is_known_warned_of_and_published() {
        let now = chrono::Utc::now();
        let soon = now + chrono::TimeDelta::days(3);
        let dir = tempfile::tempdir().unwrap();
        let files = Files {
            ca: dir.path().join("ca.crt"),
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
        };
        // The certificate is its own CA.
        let install = |(cert, key): (String, String)| {
            std::fs::write(&files.ca, &cert).unwrap();
            std::fs::write(&files.cert, &cert).unwrap();
            std::fs::write(&files.key, &key).unwrap();
        };
        install(self_signed_until(soon));
        let tls = Tls::new(Some(files.clone()), files.load().unwrap());
        let not_after = tls.not_after().expect("read from the certificate");
        assert_eq!(not_after.date_naive(), soon.date_naive());

        // Three days left is a warning; a month earlier it was not; past it, an error.
        assert!(expiry_warning(Some(not_after), now));
        assert!(!expiry_warning(
            Some(not_after),
            now - chrono::TimeDelta::days(30)
        ));
        assert!(expiry_warning(
            Some(not_after),
            now + chrono::TimeDelta::days(5)
        ));
        assert!(!expiry_warning(None, now));

        // The watcher publishes it for the gauge at once, and a renewal's new
        // date after its next read.
        let watcher = tls.watch(Duration::from_millis(20)).unwrap();
        let left = |want: chrono::DateTime<chrono::Utc>| {
            crate::metrics::certificate_time_to_expiry(chrono::Utc::now())
                .is_some_and(|s| (s - (want - chrono::Utc::now()).num_seconds()).abs() < 5)
        };
        for _ in 0..100 {
            if left(not_after) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(left(not_after), "the gauge has the certificate's expiry");
        let later = now + chrono::TimeDelta::days(90);
        install(self_signed_until(later));
        for _ in 0..200 {
            if tls
                .not_after()
                .is_some_and(|t| t.date_naive() == later.date_naive())
                && left(tls.not_after().unwrap())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(tls.not_after().unwrap().date_naive(), later.date_naive());
        assert!(
            left(tls.not_after().unwrap()),
            "the gauge follows the renewal"
        );
        watcher.abort();
    }

    #[test]
    fn tls_off_is_none_and_incomplete_or_bad_material_is_an_error() {
        assert!(Tls::from_config(&TlsConfig::default()).unwrap().is_none());
        let e = Tls::from_config(&TlsConfig {
            enabled: true,
            ..TlsConfig::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("SAMLING_TLS_CA_FILE"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not pem").unwrap();
        let e = Tls::from_config(&TlsConfig {
            enabled: true,
            ca_file: Some(junk.clone()),
            cert_file: Some(junk.clone()),
            key_file: Some(junk),
            ..TlsConfig::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("no PEM block"), "{e}");
    }

    #[test]
    fn endpoints_stay_http_and_tls_runs_in_the_connector() {
        // A self-signed certificate is its own CA.
        let (cert, key) = self_signed_until(chrono::Utc::now() + chrono::TimeDelta::days(30));
        let tls = Tls::from_pem(&cert, &cert, &key).unwrap();
        for url in ["http://localhost:50051", "https://localhost:50051"] {
            let ep = endpoint(url, Some(&tls)).unwrap();
            assert_eq!(ep.uri().scheme_str(), Some("http"), "{url}");
        }
        let ep = endpoint("http://localhost:50051", None).unwrap();
        assert_eq!(ep.uri().scheme_str(), Some("http"));
        assert!(endpoint("not a url", None).is_err());
    }

    #[test]
    fn material_that_does_not_fit_together_names_the_file() {
        // Two self-signed certificates, each its own CA.
        let until = chrono::Utc::now() + chrono::TimeDelta::days(30);
        let ((a_cert, a_key), (_, b_key)) = (self_signed_until(until), self_signed_until(until));
        // A's certificate with B's key.
        let e = Tls::from_pem(&a_cert, &a_cert, &b_key).unwrap_err();
        assert!(e.to_string().contains("tls.key_file"), "{e}");
        // A key where the CA belongs.
        let e = Tls::from_pem(&a_key, &a_cert, &a_key).unwrap_err();
        assert!(e.to_string().contains("tls.ca_file"), "{e}");
    }
}
