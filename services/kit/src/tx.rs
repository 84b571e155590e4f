//! A write transaction that carries its audit entries and domain events.
//!
//! Every state change in every service goes through [`WriteTx`]: the change,
//! its audit entry (hash-chained) and its outbox events commit together or not
//! at all. The chain head row is updated first, which serialises writers, so
//! audit order and event order equal commit order on SQLite and PostgreSQL.
//!
//! Underneath is [`StoreTx`], a transaction whose `BEGIN`, `COMMIT` and
//! `ROLLBACK` are our own statements and which ends explicitly on every path:
//! committed, rolled back, or — when its outcome is in doubt (a failed
//! `COMMIT` or `ROLLBACK`, a future dropped mid-statement) — its connection is
//! discarded so the pool opens a fresh one. sqlx's `Transaction` keeps a
//! depth counter of its own; after a failed `COMMIT` on SQLite that counter
//! and SQLite disagreed, the single writer connection went back to the pool
//! still inside a transaction, and every later write was acknowledged and
//! lost (issue 26, finding 1).

use crate::audit::{self, AuditRecord};
use crate::db::{Backend, Store};
use crate::error::KitError;
use crate::idempotency::IdempotencyKey;
use crate::outbox::{EventFeed, NewEvent};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor, Row};

/// A transaction on a store's write pool, ended explicitly on every path.
///
/// * SQLite starts it with `BEGIN IMMEDIATE`: the write lock is taken at the
///   start, so a write can never fail half-way for another writer's sake.
/// * [`StoreTx::commit`] or [`StoreTx::rollback`] end it; when either fails
///   the connection's state is unknown and it is closed, never reused.
/// * Dropped unfinished (an early `?` return, a cancelled request), it is
///   rolled back on a spawned task that holds the connection until then;
///   if that rollback fails, the connection is closed.
pub struct StoreTx {
    conn: Option<PoolConnection<Any>>,
}

impl Store {
    /// Begin a transaction on the writer. A connection that cannot begin
    /// (one left inside a transaction by an earlier fault, a broken file
    /// handle) is discarded and the begin tried once more on a fresh one.
    ///
    /// The begin runs in a task of its own, to its end: a request cancelled
    /// while its `BEGIN` is in flight must not drop the writer's connection
    /// half-begun. With SQLite's group commit (ADR 0020) that left the
    /// file's write lock held after the store was closed (kit's test
    /// `a_consumer_killed_midway_…`, about 1 run in 4); a transaction whose
    /// caller is gone is dropped whole here and rolled back.
    pub async fn begin_tx(&self) -> Result<StoreTx, KitError> {
        let store = self.clone();
        tokio::spawn(async move { store.begin_tx_here().await })
            .await
            .map_err(|e| KitError::Internal(format!("the begin task failed: {e}")))?
    }

    async fn begin_tx_here(&self) -> Result<StoreTx, KitError> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let mut last = None;
        for _ in 0..2 {
            let mut conn = self.write.acquire().await?;
            match conn.execute(begin).await {
                Ok(_) => return Ok(StoreTx { conn: Some(conn) }),
                Err(e) => {
                    crate::error::log_db_error("begin", &e);
                    conn.close_on_drop();
                    last = Some(e);
                }
            }
        }
        Err(last
            .map(KitError::from)
            .unwrap_or_else(|| KitError::Internal("could not begin a transaction".into())))
    }
}

impl StoreTx {
    fn open(&mut self) -> &mut PoolConnection<Any> {
        // Only `commit`, `rollback` and `drop` take the connection, and the
        // first two consume `self`.
        self.conn
            .as_mut()
            .expect("a StoreTx holds its connection until it ends")
    }

    /// Commit. On failure the connection is discarded (closing it rolls
    /// back whatever SQLite or PostgreSQL still holds open) and the error
    /// returned: nothing of this transaction is acknowledged.
    pub async fn commit(mut self) -> Result<(), KitError> {
        self.end("COMMIT").await
    }

    /// Roll back. On failure the connection is discarded.
    pub async fn rollback(mut self) -> Result<(), KitError> {
        self.end("ROLLBACK").await
    }

    /// End it by closing its connection (which rolls back whatever it
    /// holds): for a transaction whose state is in doubt.
    pub fn discard(mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }

    async fn end(&mut self, statement: &'static str) -> Result<(), KitError> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| KitError::Internal("transaction already ended".into()))?;
        match conn.execute(statement).await {
            Ok(_) => Ok(()),
            Err(e) => {
                crate::error::log_db_error(statement, &e);
                conn.close_on_drop();
                Err(e.into())
            }
        }
    }
}

impl std::ops::Deref for StoreTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn
            .as_ref()
            .expect("a StoreTx holds its connection until it ends")
    }
}

impl std::ops::DerefMut for StoreTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.open()
    }
}

impl Drop for StoreTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = conn.execute("ROLLBACK").await {
                        crate::error::log_db_error("ROLLBACK (dropped transaction)", &e);
                        conn.close_on_drop();
                    }
                });
            }
            // No runtime to roll back on: closing the connection does it.
            Err(_) => conn.close_on_drop(),
        }
    }
}

/// A write's connection: a transaction of its own, or (SQLite with group
/// commit) a savepoint in the writer's current batch.
enum WriteConn {
    Own(StoreTx),
    Group(crate::group::Member),
}

impl WriteConn {
    async fn commit(self) -> Result<(), KitError> {
        match self {
            WriteConn::Own(tx) => tx.commit().await,
            WriteConn::Group(member) => member.commit().await,
        }
    }
}

impl std::ops::Deref for WriteConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConn::Own(tx) => tx,
            WriteConn::Group(member) => member,
        }
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConn::Own(tx) => tx,
            WriteConn::Group(member) => member,
        }
    }
}

pub struct WriteTx {
    tx: WriteConn,
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
    ///
    /// On SQLite with group commit (ADR 0020) the write joins the writer's
    /// current batch in a savepoint of its own; its commit returns once the
    /// batch's one `COMMIT` is durable.
    pub async fn begin_write(&self) -> Result<WriteTx, KitError> {
        let mut tx = match &self.group {
            Some(group) => WriteConn::Group(group.begin(self).await?),
            None => WriteConn::Own(self.begin_tx().await?),
        };
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
