//! Idempotent mutations: a retry with the same client request id returns the
//! first answer; the same id with a different request is refused.
//!
//! Keys are scoped by caller and method, so two callers can never see each
//! other's answers. Answers are stored as base64 protobuf in the same
//! transaction as the change they describe.

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
    /// `None` when the client sent no request id (the call is then not deduplicated).
    pub fn new<M: prost::Message>(
        subject: &str,
        method: &'static str,
        request_id: &str,
        request: &M,
    ) -> Result<Option<Self>, KitError> {
        let request_id = request_id.trim();
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.len() > 128 {
            return Err(KitError::invalid("request_id", "must be at most 128 bytes"));
        }
        let key = hex::encode(Sha256::digest(
            format!("{subject}\u{1f}{method}\u{1f}{request_id}").as_bytes(),
        ));
        let request_hash = hex::encode(Sha256::digest(request.encode_to_vec()));
        Ok(Some(IdempotencyKey {
            key,
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
            return Err(KitError::invalid(
                "request_id",
                "was already used for a different request",
            ));
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
