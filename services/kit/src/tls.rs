//! Mutual TLS between Samling processes (the distributed deployment).
//!
//! With `[tls] enabled` every gRPC server requires a client certificate
//! signed by the configured CA, and every client (the gateway's region
//! channels, `RegistryClient`, the CLI) presents its own certificate and
//! checks the server's against the same CA. rustls with the ring provider,
//! through tonic's `tls-ring` feature. Off by default: the all-in-one
//! `samling serve` stays plaintext on loopback.
//!
//! [`dev_certs`] makes a throwaway CA and certificates for local testing
//! (`samling certs dev`).

use crate::config::TlsConfig;
use crate::error::KitError;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};

/// How long a TLS handshake may take, on either side.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Loaded TLS material: the CA, this process's identity, and the name to
/// check in servers' certificates (default: each endpoint's host).
#[derive(Clone)]
pub struct Tls {
    ca: Certificate,
    identity: Identity,
    server_name: Option<String>,
}

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
        let ca = read_pem(cfg.ca_file.as_deref(), "tls.ca_file", "SAMLING_TLS_CA_FILE")?;
        let cert = read_pem(
            cfg.cert_file.as_deref(),
            "tls.cert_file",
            "SAMLING_TLS_CERT_FILE",
        )?;
        let key = read_pem(
            cfg.key_file.as_deref(),
            "tls.key_file",
            "SAMLING_TLS_KEY_FILE",
        )?;
        let mut tls = Tls::from_pem(ca, cert, key);
        if let Some(name) = cfg.server_name.as_ref().filter(|n| !n.is_empty()) {
            tls = tls.with_server_name(name.clone());
        }
        tls.check()?;
        Ok(Some(tls))
    }

    /// From PEM bytes: CA certificate(s), certificate chain, private key.
    pub fn from_pem(ca: impl AsRef<[u8]>, cert: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Tls {
        Tls {
            ca: Certificate::from_pem(ca),
            identity: Identity::from_pem(cert, key),
            server_name: None,
        }
    }

    /// Check servers' certificates for `name` instead of each endpoint's host.
    pub fn with_server_name(mut self, name: impl Into<String>) -> Tls {
        self.server_name = Some(name.into());
        self
    }

    /// Parse everything once, so bad material fails at start-up, not at the
    /// first connection.
    fn check(&self) -> Result<(), KitError> {
        Server::builder()
            .tls_config(self.server_config())
            .map_err(|e| KitError::Internal(format!("tls: {}", error_chain(&e))))?;
        // Any valid URL will do: this only builds the client configuration.
        Endpoint::from_static("https://samling.invalid")
            .tls_config(self.client_config())
            .map_err(|e| KitError::Internal(format!("tls: {}", error_chain(&e))))?;
        Ok(())
    }

    /// Server side: present our identity, require a client certificate
    /// signed by the CA (no certificate, or another CA's, fails the handshake).
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity.clone())
            .client_ca_root(self.ca.clone())
            .client_auth_optional(false)
            .timeout(HANDSHAKE_TIMEOUT)
    }

    /// Client side: trust only the CA, present our identity.
    pub fn client_config(&self) -> ClientTlsConfig {
        let cfg = ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .identity(self.identity.clone())
            .timeout(HANDSHAKE_TIMEOUT);
        match &self.server_name {
            Some(name) => cfg.domain_name(name.clone()),
            None => cfg,
        }
    }
}

/// Apply TLS (when on) to a server builder. tonic runs the handshake inside
/// `serve_with_incoming*` too, so `grpc::serve` on our own listener is covered.
pub fn server<L>(builder: Server<L>, tls: Option<&Tls>) -> Result<Server<L>, KitError> {
    match tls {
        None => Ok(builder),
        Some(tls) => builder
            .tls_config(tls.server_config())
            .map_err(|e| KitError::Internal(format!("tls: {}", error_chain(&e)))),
    }
}

/// A client endpoint for `url`. With TLS on, an `http://` URL is upgraded to
/// `https://` (tonic only runs TLS for https URLs; the configured endpoints
/// stay `http://…` so the same config works either way) and the client
/// configuration is applied.
pub fn endpoint(url: &str, tls: Option<&Tls>) -> Result<Endpoint, KitError> {
    let invalid = |e: tonic::transport::Error| KitError::invalid("endpoint", format!("{url}: {e}"));
    match tls {
        None => Endpoint::from_shared(url.to_string()).map_err(invalid),
        Some(tls) => {
            let url = match url.strip_prefix("http://") {
                Some(rest) => format!("https://{rest}"),
                None => url.to_string(),
            };
            Endpoint::from_shared(url)
                .map_err(invalid)?
                .tls_config(tls.client_config())
                .map_err(|e| KitError::invalid("endpoint", format!("tls: {}", error_chain(&e))))
        }
    }
}

fn read_pem(path: Option<&Path>, key: &str, env: &str) -> Result<Vec<u8>, KitError> {
    let path = path.ok_or_else(|| {
        KitError::invalid(
            key,
            format!("tls is enabled but {key} (or {env}) is not set"),
        )
    })?;
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

/// The files [`dev_certs`] wrote.
#[derive(Debug, Clone)]
pub struct DevCerts {
    /// The dev CA's certificate (`ca.crt`) and key (`ca.key`).
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    /// One certificate for every service (`tls.crt`, `tls.key`): every name
    /// as a subject alternative name, usable as server and as client.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// A client-only certificate for the CLI (`client.crt`, `client.key`).
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl DevCerts {
    pub fn files(&self) -> [&Path; 6] {
        [
            &self.ca_cert,
            &self.ca_key,
            &self.cert,
            &self.key,
            &self.client_cert,
            &self.client_key,
        ]
    }
}

/// Names `samling certs dev` puts in the service certificate by default.
pub const DEV_NAMES: &[&str] = &["registry", "gateway", "localhost", "127.0.0.1"];

/// Days the dev certificates are valid.
const DEV_VALID_DAYS: i64 = 365;

/// Make a fresh dev CA under `dir` and, signed by it, one service certificate
/// carrying every name in `names` (DNS names, or IP addresses) for both
/// server and client use, plus a client-only certificate for the CLI. The
/// file names are a Kubernetes TLS Secret's keys (`ca.crt`, `tls.crt`,
/// `tls.key`). ECDSA P-256 keys (PKCS#8 PEM, mode 0600). Existing files are
/// overwritten. For development and tests only: the CA key sits beside the
/// certificates.
pub fn dev_certs(dir: &Path, names: &[String]) -> Result<DevCerts, KitError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let err = |what: &str, e: rcgen::Error| KitError::Internal(format!("dev certs: {what}: {e}"));
    let names: Vec<String> = names
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Err(KitError::invalid(
            "names",
            "name at least one host name or IP address",
        ));
    }
    let ca_key = KeyPair::generate().map_err(|e| err("CA key", e))?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = rcgen::DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Samling dev CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_dev_validity(&mut ca_params);
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| err("CA certificate", e))?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf = |cn: &str, sans: Vec<String>, ekus: Vec<ExtendedKeyUsagePurpose>| {
        let key = KeyPair::generate().map_err(|e| err("key", e))?;
        let mut params = CertificateParams::new(sans).map_err(|e| err("names", e))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = ekus;
        params.use_authority_key_identifier_extension = true;
        set_dev_validity(&mut params);
        let cert = params.signed_by(&key, &issuer).map_err(|e| err(cn, e))?;
        Ok::<_, KitError>((cert, key))
    };
    let (svc_cert, svc_key) = leaf(
        "samling",
        names.clone(),
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    )?;
    let (cli_cert, cli_key) = leaf(
        "samling-cli",
        Vec::new(),
        vec![ExtendedKeyUsagePurpose::ClientAuth],
    )?;

    std::fs::create_dir_all(dir)
        .map_err(|e| KitError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    let out = DevCerts {
        ca_cert: dir.join("ca.crt"),
        ca_key: dir.join("ca.key"),
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    };
    write_file(&out.ca_cert, &pem("CERTIFICATE", ca_cert.der()), false)?;
    write_file(
        &out.ca_key,
        &pem("PRIVATE KEY", &ca_key.serialize_der()),
        true,
    )?;
    write_file(&out.cert, &pem("CERTIFICATE", svc_cert.der()), false)?;
    write_file(
        &out.key,
        &pem("PRIVATE KEY", &svc_key.serialize_der()),
        true,
    )?;
    write_file(&out.client_cert, &pem("CERTIFICATE", cli_cert.der()), false)?;
    write_file(
        &out.client_key,
        &pem("PRIVATE KEY", &cli_key.serialize_der()),
        true,
    )?;
    Ok(out)
}

/// Valid from yesterday (clock skew) to a year from now.
fn set_dev_validity(params: &mut rcgen::CertificateParams) {
    use chrono::Datelike;
    let day = |d: chrono::NaiveDate| {
        // chrono's month (1-12) and day (1-31) always fit rcgen's u8s.
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    let today = chrono::Utc::now().date_naive();
    params.not_before = day(today - chrono::Duration::days(1));
    params.not_after = day(today + chrono::Duration::days(DEV_VALID_DAYS));
}

/// PEM armour (RFC 7468): base64 in 64-column lines.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn write_file(path: &Path, text: &str, secret: bool) -> Result<(), KitError> {
    use std::io::Write;
    let fail =
        |e: std::io::Error| KitError::Internal(format!("cannot write {}: {e}", path.display()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts.open(path).map_err(fail)?;
    // `mode` applies only on creation: tighten a key file that existed.
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    f.write_all(text.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_certs_load_as_tls_config() {
        let dir = tempfile::tempdir().unwrap();
        let certs = dev_certs(dir.path(), &["registry".into(), "127.0.0.1".into()]).unwrap();
        for f in certs.files() {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(text.starts_with("-----BEGIN "), "{}", f.display());
        }
        let cfg = TlsConfig {
            enabled: true,
            ca_file: Some(certs.ca_cert.clone()),
            cert_file: Some(certs.cert.clone()),
            key_file: Some(certs.key.clone()),
            server_name: None,
        };
        assert!(Tls::from_config(&cfg).unwrap().is_some());
        let client = TlsConfig {
            cert_file: Some(certs.client_cert.clone()),
            key_file: Some(certs.client_key.clone()),
            ..cfg.clone()
        };
        assert!(Tls::from_config(&client).unwrap().is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&certs.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "keys are private");
        }
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
            server_name: None,
        })
        .unwrap_err();
        assert!(e.to_string().contains("no PEM block"), "{e}");
    }

    #[test]
    fn with_tls_http_endpoints_are_upgraded_to_https() {
        let dir = tempfile::tempdir().unwrap();
        let c = dev_certs(dir.path(), &["localhost".into()]).unwrap();
        let tls = Tls::from_pem(
            std::fs::read(&c.ca_cert).unwrap(),
            std::fs::read(&c.cert).unwrap(),
            std::fs::read(&c.key).unwrap(),
        );
        let ep = endpoint("http://localhost:50051", Some(&tls)).unwrap();
        assert_eq!(ep.uri().scheme_str(), Some("https"));
        let ep = endpoint("http://localhost:50051", None).unwrap();
        assert_eq!(ep.uri().scheme_str(), Some("http"));
        assert!(endpoint("not a url", None).is_err());
    }
}
