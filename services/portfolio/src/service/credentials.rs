//! The prescription collection credential (seed 003 ≈7003–7102: family
//! homes cannot prove to a pharmacy that they may collect the child's
//! prescriptions). The current home (or the placing caseworker for it)
//! gets a credential signed with the region's portfolio key (Ed25519):
//! `base64url(claims).base64url(signature)`, shown as a QR code. The claims
//! hold its id, type, the holder's role, the issuer and the expiry — never
//! the child or the home, so it works for a protected child. The public
//! verification reveals only validity, the holder's role and the expiry; a
//! credential is revoked when its placement ends (the registry's feed).

use super::access::refused;
use super::{Portfolios, R};
use crate::domain::PortfolioError;
use crate::domain::access::Relation;
use crate::store;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use samling_kit::auth::AuthContext;
use samling_kit::error::{KitError, Reason};
use samling_kit::ids::{new_id_string, parse_id};
use samling_kit::service::Service;
use samling_proto::portfolio::v1::*;
use serde_json::json;
use sqlx::Row;

/// How long a credential lasts (a new one is issued after).
pub const VALID_DAYS: i64 = 90;
pub const HOLDER_ROLE: &str = "family_home";
pub const CREDENTIAL_TYPE: &str = "samling.prescription_collection.v1";

/// A key of this process only (tests, and `Portfolios::new` until `open`
/// sets the region's key from its file).
pub fn generate_key() -> SigningKey {
    let mut seed = [0u8; 32];
    // The OS's randomness. Should it fail, never a fixed seed (anyone could
    // forge with it): one mixed from the clock, the process and an address.
    if getrandom::fill(&mut seed).is_err() {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(format!("{:?}", std::time::SystemTime::now()));
        h.update(std::process::id().to_be_bytes());
        h.update(format!("{:p}", &seed));
        seed = h.finalize().into();
    }
    SigningKey::from_bytes(&seed)
}

/// The region's credential key: a hex seed in `path`, made (0600) at first use.
pub fn load_or_create_key(path: &std::path::Path) -> Result<SigningKey, KitError> {
    let from_hex = |t: &str| {
        hex::decode(t.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(|b| SigningKey::from_bytes(&b))
            .ok_or_else(|| {
                KitError::invalid("portfolio.credential_key_file", "must hold 32 bytes of hex")
            })
    };
    match std::fs::read_to_string(path) {
        Ok(t) => from_hex(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| KitError::Internal(format!("randomness: {e}")))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| KitError::Internal(format!("create {}: {e}", dir.display())))?;
            }
            write_private(path, &hex::encode(seed))?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(KitError::Internal(format!("read {}: {e}", path.display()))),
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> Result<(), KitError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| KitError::Internal(format!("write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| KitError::Internal(format!("write {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> Result<(), KitError> {
    std::fs::write(path, text)
        .map_err(|e| KitError::Internal(format!("write {}: {e}", path.display())))
}

fn verification(status: &str, claims: Option<&serde_json::Value>) -> CredentialVerification {
    let text = |k: &str| {
        claims
            .and_then(|c| c.get(k))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    CredentialVerification {
        valid: status == "valid",
        status: status.to_string(),
        holder_role: text("holder_role"),
        expires_at: text("exp"),
    }
}

impl Portfolios {
    pub async fn issue_prescription_credential(
        &self,
        ctx: &AuthContext,
        req: IssuePrescriptionCredentialRequest,
    ) -> R<PrescriptionCredential> {
        self.enter(ctx)?;
        let child_id = parse_id("child_id", &req.child_id)?.to_string();
        let p = store::portfolios::get(&self.store.read, &child_id)
            .await?
            .ok_or_else(|| super::access::hidden(&child_id))?;
        let access = self.admitted(ctx, &p).await?;
        let rel = access.rel;
        if !matches!(
            rel,
            Relation::CurrentHome | Relation::PlacingCaseworker | Relation::Office
        ) {
            return Err(refused(
                Reason::ForbiddenRole,
                format!(
                    "a {} may not get the home's prescription credential",
                    ctx.role.as_str()
                ),
            ));
        }
        access.unless_archived("no credential is issued")?;
        let today = self.today_text();
        let placement = store::home_access::of_child(&self.store.read, &child_id)
            .await?
            .into_iter()
            .rev()
            .find(|r| r.active_on(&today))
            .ok_or_else(|| {
                PortfolioError::Kit(KitError::FailedPrecondition(
                    "the child lives in no family home today".into(),
                ))
            })?;
        let w = self
            .core()
            .begin(ctx, "IssuePrescriptionCredential", &req.request_id, &req)
            .await?;
        let mut w = samling_kit::replay!(w, self, ctx);
        let id = new_id_string();
        let expires = self.clock.now() + chrono::Duration::days(VALID_DAYS);
        let expires_at = samling_kit::dates::instant_text(expires);
        let issuer = format!(
            "samling/portfolio/{}",
            self.region.as_ref().map(|r| r.as_str()).unwrap_or("all")
        );
        let claims = json!({"id": id, "type": CREDENTIAL_TYPE, "holder_role": HOLDER_ROLE,
                            "iss": issuer, "exp": expires_at});
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig = self.credential_key.sign(body.as_bytes());
        let token = format!("{body}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()));
        sqlx::query(
            "INSERT INTO credentials (id, child_id, placement_id, home_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, '')",
        )
        .bind(&id)
        .bind(&child_id)
        .bind(&placement.placement_id)
        .bind(&placement.home_id)
        .bind(&expires_at)
        .execute(w.conn())
        .await?;
        w.audit(&ctx.audit("credential_issued", "portfolio.credential", &child_id))
            .await?;
        w.event(samling_kit::outbox::NewEvent::new(
            "portfolio.credential_issued",
            "credential",
            id.clone(),
            json!({"credential_id": id, "expires_at": expires_at}),
        ))
        .await?;
        let c = PrescriptionCredential {
            id,
            token,
            holder_role: HOLDER_ROLE.into(),
            expires_at,
            issuer_public_key: hex::encode(self.credential_key.verifying_key().to_bytes()),
        };
        w.finish(self, ctx, c).await
    }

    /// PUBLIC: the validity, the holder's role and the expiry, nothing else.
    pub async fn verify_prescription_credential(
        &self,
        _ctx: &AuthContext,
        req: VerifyPrescriptionCredentialRequest,
    ) -> R<CredentialVerification> {
        let token = req.token.trim();
        if token.is_empty() || token.len() > 2048 {
            return Err(PortfolioError::invalid(
                "token",
                "must be a credential of at most 2048 characters",
            ));
        }
        let Some((body, sig)) = token.split_once('.') else {
            return Ok(verification("invalid", None));
        };
        let good = URL_SAFE_NO_PAD
            .decode(sig)
            .ok()
            .and_then(|s| Signature::from_slice(&s).ok())
            .is_some_and(|s| {
                self.credential_key
                    .verifying_key()
                    .verify(body.as_bytes(), &s)
                    .is_ok()
            });
        let claims: Option<serde_json::Value> = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let (true, Some(claims)) = (good, claims) else {
            return Ok(verification("invalid", None));
        };
        let id = claims
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let row = sqlx::query(
            "SELECT child_id, placement_id, expires_at, revoked_at FROM credentials WHERE id = $1",
        )
        .bind(&id)
        .fetch_optional(&self.store.read)
        .await?;
        let Some(row) = row else {
            return Ok(verification("invalid", None));
        };
        let (child_id, placement_id, expires_at, revoked_at): (String, String, String, String) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        let today = self.today_text();
        let placement_active = store::home_access::get(&self.store.read, &placement_id)
            .await?
            .is_some_and(|p| p.active_on(&today));
        let status = if !revoked_at.is_empty() || !placement_active {
            "revoked"
        } else if expires_at <= self.now_text() {
            "expired"
        } else {
            "valid"
        };
        // The pharmacy's check is logged on the child's record (no caller).
        self.core()
            .audit(vec![
                AuthContext::new("pharmacy-verification", samling_kit::auth::Role::Service).audit(
                    "credential_verified",
                    "portfolio.credential",
                    &child_id,
                ),
            ])
            .await?;
        Ok(verification(status, Some(&claims)))
    }

    /// Revoke the credentials of an ended placement (in the feed's transaction).
    pub(crate) async fn revoke_credentials(
        &self,
        conn: &mut sqlx::AnyConnection,
        placement_id: &str,
    ) -> R<u64> {
        let done = sqlx::query(
            "UPDATE credentials SET revoked_at = $2 WHERE placement_id = $1 AND revoked_at = ''",
        )
        .bind(placement_id)
        .bind(self.now_text())
        .execute(conn)
        .await?;
        Ok(done.rows_affected())
    }
}

samling_kit::plain_answer!(Portfolios;
    PrescriptionCredential => "credential", |c| c.id.clone();
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regions_key_is_made_once_private_and_the_same_at_every_start() {
        let dir = std::env::temp_dir().join(format!(
            "samling-portfolio-key-{}-{}",
            std::process::id(),
            samling_kit::ids::new_id_string()
        ));
        let path = dir.join("keys").join("portfolio-credential-norr.key");
        let first = load_or_create_key(&path).unwrap();
        let again = load_or_create_key(&path).unwrap();
        assert_eq!(
            first.verifying_key(),
            again.verifying_key(),
            "a restart keeps the key"
        );
        assert_ne!(first.verifying_key(), generate_key().verifying_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the service reads it");
        }
        std::fs::write(&path, "not hex").unwrap();
        let err = load_or_create_key(&path).unwrap_err();
        assert!(
            err.to_string().contains("portfolio.credential_key_file"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
