//! The other regions' registers, as this one calls them (ADR 0021): to
//! reserve and release a place in another region's home for a placement
//! this register owns, and to ask whether a child or adult it registers is
//! known there (by a keyed hash of the personnummer, never the number).
//!
//! Calls go as the `service` role with this register's region in the
//! signed context (kit's [`ServiceClient`](samling_kit::client::ServiceClient):
//! signed context, deadline, mTLS when configured). The directory is filled
//! after construction ([`Peers::add`]): in one process the regions' ports
//! are known only once every region is bound.

use crate::client::RegistryClient;
use crate::domain::RegistryError;
use samling_kit::auth::{AuthContext, ContextSigner, Role};
use samling_kit::error::Reason;
use samling_kit::tls::Tls;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tonic::transport::Channel;

type R<T> = Result<T, RegistryError>;

/// How long one call to another region's register may take.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a register that could not be reached is not tried again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The national identity key: HMAC-SHA-256 of a canonical personnummer
/// under it is what registers compare across regions. The same key in
/// every region; never sent, never logged.
#[derive(Clone)]
pub struct IdentityKey(Arc<[u8; 32]>);

impl IdentityKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        IdentityKey(Arc::new(key))
    }

    /// 64 hex characters (the key file's content).
    pub fn from_hex(text: &str) -> Result<Self, RegistryError> {
        hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Self::from_bytes)
            .ok_or_else(|| {
                RegistryError::invalid("registry.identity_key_file", "must hold 32 bytes of hex")
            })
    }

    /// The keyed hash (hex) of a canonical personnummer.
    pub fn hash(&self, canonical_pnr: &str) -> String {
        hex::encode(samling_kit::audit::hmac_sha256(
            &self.0[..],
            format!("samling identity v1:{canonical_pnr}").as_bytes(),
        ))
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKey(..)")
    }
}

#[derive(Default)]
struct Inner {
    endpoints: BTreeMap<String, String>,
    channels: BTreeMap<String, Channel>,
    /// Regions whose register could not be reached, not tried again before
    /// the instant: a region that is down costs the others' writes nothing.
    down_until: BTreeMap<String, std::time::Instant>,
    signer: Option<ContextSigner>,
    tls: Option<Tls>,
    key: Option<IdentityKey>,
    timeout: Option<Duration>,
}

/// The directory of the other regions' registers, shared by every clone of
/// a [`crate::Registry`].
#[derive(Clone, Default)]
pub struct Peers(Arc<RwLock<Inner>>);

impl Peers {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Sign calls to the other registers with `signer` (their verifiers
    /// must accept its key: the same key file, or `auth.context_public_keys`).
    pub fn set_signer(&self, signer: ContextSigner) {
        self.write().signer = Some(signer);
    }

    pub fn set_tls(&self, tls: Option<Tls>) {
        self.write().tls = tls;
    }

    pub fn set_identity_key(&self, key: IdentityKey) {
        self.write().key = Some(key);
    }

    pub fn set_timeout(&self, timeout: Duration) {
        self.write().timeout = Some(timeout);
    }

    /// `region`'s register is at `endpoint`.
    pub fn add(&self, region: &str, endpoint: &str) {
        let mut w = self.write();
        w.channels.remove(region);
        w.down_until.remove(region);
        w.endpoints.insert(region.to_string(), endpoint.to_string());
    }

    /// `region`'s register did not answer properly: not asked again for
    /// [`RETRY_AFTER`].
    pub fn mark_down(&self, region: &str) {
        self.write()
            .down_until
            .insert(region.to_string(), std::time::Instant::now() + RETRY_AFTER);
    }

    /// The other regions known, in order.
    pub fn regions(&self) -> Vec<String> {
        self.read().endpoints.keys().cloned().collect()
    }

    pub fn knows(&self, region: &str) -> bool {
        self.read().endpoints.contains_key(region)
    }

    /// The keyed hash of a canonical personnummer, when a national identity
    /// key is configured.
    pub fn identity_hash(&self, canonical_pnr: &str) -> Option<String> {
        self.read().key.as_ref().map(|k| k.hash(canonical_pnr))
    }

    /// A client of `region`'s register acting as register `own_region`.
    pub async fn client(&self, region: &str, own_region: &str) -> R<RegistryClient> {
        let (endpoint, channel, signer, tls, timeout) = {
            let r = self.read();
            if r.down_until
                .get(region)
                .is_some_and(|t| *t > std::time::Instant::now())
            {
                return Err(unavailable(region));
            }
            let endpoint = r.endpoints.get(region).cloned().ok_or_else(|| {
                RegistryError::invalid(
                    "home_region",
                    format!("no register of region {region} is configured"),
                )
            })?;
            let signer = r.signer.clone().ok_or_else(|| {
                RegistryError::refused(
                    Reason::Unavailable,
                    "this register has no key to call other regions' registers with",
                )
            })?;
            (
                endpoint,
                r.channels.get(region).cloned(),
                signer,
                r.tls.clone(),
                r.timeout.unwrap_or(PEER_TIMEOUT),
            )
        };
        let channel = match channel {
            Some(c) => c,
            None => {
                let c = match samling_kit::client::channel("registry", &endpoint, tls.as_ref())
                    .await
                {
                    Ok(c) => c,
                    Err(_) => {
                        self.write()
                            .down_until
                            .insert(region.to_string(), std::time::Instant::now() + RETRY_AFTER);
                        return Err(unavailable(region));
                    }
                };
                let mut w = self.write();
                w.down_until.remove(region);
                w.channels.insert(region.to_string(), c.clone());
                c
            }
        };
        let ctx = AuthContext::new(format!("registry-{own_region}"), Role::Service)
            .with_region(own_region);
        Ok(RegistryClient::from_channel(channel, signer, ctx).with_timeout(timeout))
    }
}

fn unavailable(region: &str) -> RegistryError {
    RegistryError::refused(
        Reason::RegionUnavailable,
        format!("the register of region {region} did not answer; nothing was changed, try again"),
    )
}

/// Another register's refusal as this register's error (its reason kept).
pub fn from_peer(region: &str, s: tonic::Status) -> RegistryError {
    use tonic::Code;
    match s.code() {
        Code::NotFound => RegistryError::NotFound(format!("in region {region}: {}", s.message())),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            unavailable(region)
        }
        Code::InvalidArgument => {
            let field = s
                .metadata()
                .get(samling_kit::error::FIELD_METADATA_KEY)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("home_id")
                .to_string();
            RegistryError::invalid(field, format!("region {region}: {}", s.message()))
        }
        _ => RegistryError::refused(
            Reason::of_status(&s),
            format!("the register of region {region}: {}", s.message()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_hash_is_keyed_and_never_the_number() {
        let a = IdentityKey::from_bytes([7; 32]);
        let b = IdentityKey::from_bytes([8; 32]);
        let pnr = "201501012384";
        let h = a.hash(pnr);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(pnr));
        assert_eq!(h, a.hash(pnr), "the same number, the same hash");
        assert_ne!(h, b.hash(pnr), "another key, another hash");
        assert_ne!(h, a.hash("201501012392"));
        assert!(IdentityKey::from_hex("zz").is_err());
        assert_eq!(
            IdentityKey::from_hex(&"07".repeat(32)).unwrap().hash(pnr),
            h
        );
    }
}
