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
    wrote_events: bool,
    touched: Vec<String>,
}

impl Store {
    /// Begin a write. Writers are serialised from their first statement (the
    /// chain head row lock), not only from their first audit entry: under
    /// PostgreSQL's READ COMMITTED two concurrent writes would otherwise both
    /// miss an idempotency record or both pass a capacity check. (SQLite has
    /// one writer connection already.)
    pub async fn begin_write(&self) -> Result<WriteTx, KitError> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE chain_head SET event_seq = event_seq WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(WriteTx {
            tx,
            wrote_events: false,
            touched: Vec::new(),
        })
    }
}

impl WriteTx {
    /// The connection, for the service's own statements.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Append an audit entry to the hash chain.
    pub async fn audit(&mut self, record: &AuditRecord) -> Result<(), KitError> {
        audit::append(&mut self.tx, record).await
    }

    /// Append a domain event to the outbox; returns its feed position.
    pub async fn event(&mut self, event: NewEvent) -> Result<u64, KitError> {
        let row = sqlx::query(
            "UPDATE chain_head SET event_seq = event_seq + 1 WHERE id = 1 RETURNING event_seq",
        )
        .fetch_one(&mut *self.tx)
        .await?;
        let seq: i64 = row.try_get(0)?;
        sqlx::query(
            "INSERT INTO outbox (seq, id, event_type, aggregate_type, aggregate_id, occurred_at, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(crate::ids::new_id_string())
        .bind(event.event_type)
        .bind(event.aggregate_type)
        .bind(event.aggregate_id)
        .bind(crate::dates::now_text())
        .bind(event.payload.to_string())
        .execute(&mut *self.tx)
        .await?;
        self.wrote_events = true;
        Ok(seq as u64)
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

    /// Commit, then wake `WatchEvents` followers if events were written.
    /// Returns the keys passed to [`WriteTx::touch`].
    pub async fn commit(self, feed: &EventFeed) -> Result<Vec<String>, KitError> {
        let wrote = self.wrote_events;
        self.tx.commit().await?;
        if wrote {
            feed.notify();
        }
        Ok(self.touched)
    }
}
