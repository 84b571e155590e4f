//! Idempotent mutations: a retry with the same client request id returns the
//! first answer; the same id with a different request is refused.
//!
//! Keys are scoped by the whole caller (subject, role, municipality, party)
//! and the method, so two callers, or one subject under two tokens, never
//! see each other's answers. Answers are stored as base64 protobuf in the
//! same transaction as the change they describe; a service checks the
//! caller's access before it replays one.

use crate::error::KitError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    key: String,
    method: &'static str,
    request_hash: String,
}

impl IdempotencyKey {
    /// The key of `ctx`'s request: the subject alone is not the caller (the
    /// same `sub` under another municipality's token must not get the first
    /// answer). `None` when the client sent no request id.
    pub fn for_caller<M: prost::Message>(
        ctx: &crate::auth::AuthContext,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Option<Self>, KitError> {
        Self::build(method, request_id, request, |id| {
            ctx.caller_digest(&[method, id])
        })
    }

    /// `None` when the client sent no request id (the call is then not deduplicated).
    pub fn new<M: prost::Message>(
        subject: &str,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Option<Self>, KitError> {
        Self::build(method, request_id, request, |id| {
            hex::encode(Sha256::digest(
                format!("{subject}\u{1f}{method}\u{1f}{id}").as_bytes(),
            ))
        })
    }

    fn build<M: prost::Message>(
        method: &'static str,
        request_id: &str,
        request: &M,
        key: impl FnOnce(&str) -> String,
    ) -> Result<Option<Self>, KitError> {
        let request_id = request_id.trim();
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.len() > 128 {
            return Err(KitError::invalid("request_id", "must be at most 128 bytes"));
        }
        let request_hash = hex::encode(Sha256::digest(request.encode_to_vec()));
        Ok(Some(IdempotencyKey {
            key: key(request_id),
            method,
            request_hash,
        }))
    }

    pub(crate) async fn replay<R: prost::Message + Default>(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<Option<R>, KitError> {
        let row = sqlx::query("SELECT request_hash, response FROM idempotency WHERE key = $1")
            .bind(&self.key)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: String = row.try_get(0)?;
        if hash != self.request_hash {
            return Err(crate::error::FieldError::new(
                "request_id",
                "was already used for a different request",
            )
            .because(crate::error::Reason::IdempotencyKeyReused)
            .into());
        }
        let body: String = row.try_get(1)?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|e| KitError::Internal(format!("stored response: {e}")))?;
        R::decode(bytes.as_slice())
            .map(Some)
            .map_err(|e| KitError::Internal(format!("stored response: {e}")))
    }

    pub(crate) async fn remember<R: prost::Message>(
        &self,
        conn: &mut AnyConnection,
        response: &R,
    ) -> Result<(), KitError> {
        sqlx::query(
            "INSERT INTO idempotency (key, method, request_hash, response, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&self.key)
        .bind(self.method)
        .bind(&self.request_hash)
        .bind(STANDARD.encode(response.encode_to_vec()))
        .bind(crate::dates::now_text())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Rows one sweep deletes per transaction: short, so the writer is never
/// held long.
const SWEEP_BATCH: i64 = 500;

/// Delete stored answers created before `before` (RFC 3339), in small
/// transactions; returns how many. A retry of an expired request runs
/// afresh (retention is far longer than any client retries).
pub async fn sweep(store: &crate::db::Store, before: &str) -> Result<u64, KitError> {
    let mut total = 0;
    loop {
        let mut tx = store.begin_tx().await?;
        let done = sqlx::query(
            "DELETE FROM idempotency WHERE key IN \
             (SELECT key FROM idempotency WHERE created_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(SWEEP_BATCH)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        total += done;
        if done < SWEEP_BATCH as u64 {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Sweep answers older than `retention` every hour (and once at start)
/// until `stop` turns true. 0 = keep them forever.
pub fn spawn_sweeper(
    store: crate::db::Store,
    retention: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(retention) = chrono::Duration::from_std(retention) else {
            return;
        };
        if retention.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let before = crate::dates::instant_text(crate::dates::now() - retention);
            match sweep(&store, &before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired idempotency records swept"),
                Err(e) => {
                    tracing::warn!(error = %e, "idempotency sweep failed; retrying in an hour")
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthContext, Role};
    use crate::reference::MunicipalityCode;

    fn key(ctx: &AuthContext) -> String {
        IdempotencyKey::for_caller(ctx, "M", "r1", &0u32)
            .unwrap()
            .unwrap()
            .key
    }

    #[test]
    fn the_same_subject_under_another_token_has_another_key() {
        let m = |c| MunicipalityCode::parse(c).unwrap();
        let a = AuthContext::new("u", Role::MunicipalityCaseworker).with_municipality(m("0180"));
        let other_municipality =
            AuthContext::new("u", Role::MunicipalityCaseworker).with_municipality(m("1480"));
        let other_role =
            AuthContext::new("u", Role::MunicipalityManager).with_municipality(m("0180"));
        let with_party = a.clone().with_party("p");
        let keys = [
            key(&a),
            key(&other_municipality),
            key(&other_role),
            key(&with_party),
        ];
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(keys.iter().filter(|x| *x == k).count(), 1, "key {i}");
        }
        assert_eq!(key(&a), key(&a.clone()), "stable for the same caller");
    }
}
