//! The dev key pair: an Ed25519 PKCS#8 PEM under the data dir, created
//! private (0600 in a 0700 directory) when missing.

use super::keys::read_text;
use super::{AuthError, key_err};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use samling_kit::config::JwtConfig;
use std::path::{Path, PathBuf};

/// Where the dev signing key lives.
pub fn signing_key_path(cfg: &JwtConfig, data_dir: &Path) -> PathBuf {
    cfg.signing_key_file
        .clone()
        .unwrap_or_else(|| data_dir.join("keys").join("jwt-signing.pem"))
}

/// Load the Ed25519 PKCS#8 PEM at `path`, creating it (mode 0600) if missing.
pub(super) fn load_or_create_signing_key(path: &Path) -> Result<SigningKey, AuthError> {
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

pub(super) fn create_signing_key(path: &Path) -> Result<SigningKey, AuthError> {
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
pub(super) fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| key_err(format!("create {}: {e}", dir.display())))
}

#[cfg(not(unix))]
pub(super) fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    std::fs::create_dir_all(dir).map_err(|e| key_err(format!("create {}: {e}", dir.display())))
}

#[cfg(unix)]
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(unix)]
pub(super) fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the JWT signing key is readable by group or others");
    }
}

#[cfg(not(unix))]
pub(super) fn warn_if_readable_by_others(_path: &Path) {}
