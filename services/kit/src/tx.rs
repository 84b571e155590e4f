//! A write transaction that carries its audit entries and domain events.
//!
//! Every state change in every service goes through [`WriteTx`]: the change,
//! its audit entry (hash-chained) and its outbox events commit together or not
//! at all. The chain head row is updated first, which serialises writers, so
//! audit order and event order equal commit order on SQLite and PostgreSQL.

use crate::audit::{self, AuditRecord};
use crate::db::Store;
use crate::error::KitError;
use crate::idempotency::IdempotencyKey;
use crate::outbox::{EventFeed, NewEvent};
use sqlx::{Any, AnyConnection, Row, Transaction};

pub struct WriteTx {
    tx: Transaction<'static, Any>,
    /// Chain heads as of this transaction (it holds the head row lock).
    audit_seq: i64,
    audit_hash: String,
    event_seq: i64,
    at: String,
    audits: Vec<audit::ChainedEntry>,
    events: Vec<(i64, NewEvent)>,
    touched: Vec<String>,
    audit_key: Option<audit::ChainKey>,
}

impl Store {
    /// Begin a write. Writers are serialised from their first statement (the
    /// chain head row lock), not only from their first audit entry: under
    /// PostgreSQL's READ COMMITTED two concurrent writes would otherwise both
    /// miss an idempotency record or both pass a capacity check. (SQLite has
    /// one writer connection already.) Audit entries and events are buffered
    /// and written at commit, in a few multi-row statements.
    pub async fn begin_write(&self) -> Result<WriteTx, KitError> {
        let mut tx = self.write.begin().await?;
        let head = sqlx::query(
            "UPDATE chain_head SET event_seq = event_seq WHERE id = 1 RETURNING audit_seq, audit_hash, event_seq",
        )
        .fetch_one(&mut *tx)
        .await?;
        Ok(WriteTx {
            audit_seq: head.try_get(0)?,
            audit_hash: head.try_get(1)?,
            event_seq: head.try_get(2)?,
            tx,
            at: crate::dates::now_text(),
            audits: Vec::new(),
            events: Vec::new(),
            touched: Vec::new(),
            audit_key: self.audit_key.clone(),
        })
    }
}

impl WriteTx {
    /// The connection, for the service's own statements.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Append an audit entry to the hash chain (written at commit).
    pub async fn audit(&mut self, record: &AuditRecord) -> Result<(), KitError> {
        self.audit_seq += 1;
        let e = audit::chain(
            self.audit_key.as_ref(),
            self.audit_seq,
            &self.audit_hash,
            &self.at,
            record.clone(),
        );
        self.audit_hash = e.hash.clone();
        self.audits.push(e);
        Ok(())
    }

    /// Append a domain event to the outbox (written at commit); returns its
    /// feed position, final because this transaction holds the head.
    pub async fn event(&mut self, event: NewEvent) -> Result<u64, KitError> {
        self.event_seq += 1;
        self.events.push((self.event_seq, event));
        Ok(self.event_seq as u64)
    }

    /// The first answer to this request, if it was already handled.
    pub async fn replay<R: prost::Message + Default>(
        &mut self,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<R>, KitError> {
        match key {
            Some(k) => k.replay(&mut self.tx).await,
            None => Ok(None),
        }
    }

    /// Remember this answer for retries with the same request id.
    pub async fn remember<R: prost::Message>(
        &mut self,
        key: Option<&IdempotencyKey>,
        response: &R,
    ) -> Result<(), KitError> {
        match key {
            Some(k) => k.remember(&mut self.tx, response).await,
            None => Ok(()),
        }
    }

    /// Note a record this transaction changed, for caches to drop after commit.
    pub fn touch(&mut self, key: impl Into<String>) {
        self.touched.push(key.into());
    }

    async fn flush(&mut self) -> Result<(), KitError> {
        if !self.audits.is_empty() {
            audit::insert_chained(&mut self.tx, &self.audits).await?;
        }
        if !self.events.is_empty() {
            let at = &self.at;
            crate::db::insert_rows(
                &mut self.tx,
                "INSERT INTO outbox (seq, id, event_type, aggregate_type, aggregate_id, occurred_at, payload)",
                7,
                &self.events,
                |q, (seq, e)| {
                    q.bind(*seq)
                        .bind(crate::ids::new_id_string())
                        .bind(e.event_type.clone())
                        .bind(e.aggregate_type.clone())
                        .bind(e.aggregate_id.clone())
                        .bind(at.clone())
                        .bind(e.payload.to_string())
                },
            )
            .await?;
        }
        if !self.audits.is_empty() || !self.events.is_empty() {
            // One statement moves both heads (this transaction holds the row).
            sqlx::query(
                "UPDATE chain_head SET audit_seq = $1, audit_hash = $2, event_seq = $3 WHERE id = 1",
            )
            .bind(self.audit_seq)
            .bind(&self.audit_hash)
            .bind(self.event_seq)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Write the buffered audit entries and events, commit, then wake
    /// `WatchEvents` followers if events were written. Returns the keys passed
    /// to [`WriteTx::touch`].
    pub async fn commit(mut self, feed: &EventFeed) -> Result<Vec<String>, KitError> {
        self.flush().await?;
        let wrote = !self.events.is_empty();
        self.tx.commit().await?;
        if wrote {
            feed.notify();
        }
        Ok(self.touched)
    }

    /// Commit a transaction that appended audit entries only (the read-audit
    /// writer's batches); refuses one that appended events, whose followers
    /// must be woken through [`WriteTx::commit`].
    pub async fn commit_audits(mut self) -> Result<(), KitError> {
        if !self.events.is_empty() {
            return Err(KitError::Internal(
                "events must be committed with the event feed".into(),
            ));
        }
        self.flush().await?;
        self.tx.commit().await?;
        Ok(())
    }
}
