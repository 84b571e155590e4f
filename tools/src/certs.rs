//! Dev certificates (`samling certs dev`): a throwaway CA and mTLS
//! certificates for local testing of the distributed mode. Production
//! certificates come from the organisation's CA (or cert-manager) as
//! Kubernetes Secrets; services only read them (`samling_kit::tls`).

use samling_kit::error::KitError;
use std::path::{Path, PathBuf};

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
    use samling_kit::config::TlsConfig;
    use samling_kit::tls::Tls;

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
            ..TlsConfig::default()
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
    fn without_a_name_there_is_no_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let e = dev_certs(dir.path(), &[" ".into()]).unwrap_err();
        assert!(e.to_string().contains("names"), "{e}");
        assert!(!dir.path().join("ca.crt").exists());
    }
}
