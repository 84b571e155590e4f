//! The append-only, hash-chained audit log.
//!
//! Each entry's hash is SHA-256 over the previous hash and the entry's fields
//! (JSON-encoded, so no field can bleed into another). Changing, removing or
//! reordering any entry breaks every later hash; [`verify`] finds the first
//! broken link. Writes audit inside their own transaction ([`crate::tx`]);
//! reads go through [`AuditWriter`], which group-commits many read entries in
//! one transaction so auditing every read stays cheap.

use crate::db::Store;
use crate::error::KitError;
use crate::paging::Page;
use samling_proto::common::v1::AuditEntry;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Executor, Row};
use tokio::sync::{mpsc, oneshot};

/// What to record: who (subject, role), what (action), which record, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub subject: String,
    pub role: String,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub purpose: String,
}

pub fn entry_hash(prev_hash: &str, seq: i64, id: &str, at: &str, r: &AuditRecord) -> String {
    let fields = serde_json::json!([
        prev_hash,
        seq,
        id,
        at,
        r.subject,
        r.role,
        r.action,
        r.record_type,
        r.record_id,
        r.purpose
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

/// Append one entry inside the caller's transaction.
pub async fn append(conn: &mut AnyConnection, r: &AuditRecord) -> Result<(), KitError> {
    append_many(conn, std::slice::from_ref(r)).await
}

/// Append entries inside the caller's transaction, taking the chain head once.
pub async fn append_many(conn: &mut AnyConnection, records: &[AuditRecord]) -> Result<(), KitError> {
    if records.is_empty() {
        return Ok(());
    }
    let n = records.len() as i64;
    let row = sqlx::query(
        "UPDATE chain_head SET audit_seq = audit_seq + $1 WHERE id = 1 RETURNING audit_seq, audit_hash",
    )
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let last_seq: i64 = row.try_get(0)?;
    let mut prev: String = row.try_get(1)?;
    let at = crate::dates::now_text();
    // Multi-row inserts in chunks (11 parameters a row, well under every backend's limit).
    for (chunk_no, chunk) in records.chunks(64).enumerate() {
        let mut sql = String::from(
            "INSERT INTO audit_log (seq, id, at, subject, role, action, record_type, record_id, purpose, prev_hash, hash) VALUES ",
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, r) in chunk.iter().enumerate() {
            let seq = last_seq - n + 1 + (chunk_no * 64 + i) as i64;
            let id = crate::ids::new_id_string();
            let hash = entry_hash(&prev, seq, &id, &at, r);
            let b = i * 11;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11
            ));
            rows.push((seq, id, r, std::mem::replace(&mut prev, hash.clone()), hash));
        }
        let mut q = sqlx::query(&sql);
        for (seq, id, r, prev_hash, hash) in rows {
            q = q
                .bind(seq)
                .bind(id)
                .bind(at.clone())
                .bind(r.subject.clone())
                .bind(r.role.clone())
                .bind(r.action.clone())
                .bind(r.record_type.clone())
                .bind(r.record_id.clone())
                .bind(r.purpose.clone())
                .bind(prev_hash)
                .bind(hash);
        }
        q.execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE chain_head SET audit_hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

type Pending = (Vec<AuditRecord>, oneshot::Sender<Result<(), String>>);

/// Group-committing writer for read audits. `record` returns once the entry
/// is durable, so a read is never answered unaudited.
#[derive(Clone, Debug)]
pub struct AuditWriter {
    tx: mpsc::Sender<Pending>,
}

impl AuditWriter {
    pub fn spawn(store: Store) -> AuditWriter {
        let (tx, mut rx) = mpsc::channel::<Pending>(4096);
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(256);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                while batch.len() < 256 {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                let result = write_batch(&store, &batch).await.map_err(|e| e.to_string());
                if let Err(e) = &result {
                    tracing::error!(error = %e, "audit batch failed");
                }
                for (_, done) in batch.drain(..) {
                    let _ = done.send(result.clone());
                }
            }
        });
        AuditWriter { tx }
    }

    pub async fn record(&self, entries: Vec<AuditRecord>) -> Result<(), KitError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send((entries, done))
            .await
            .map_err(|_| KitError::Internal("audit writer stopped".into()))?;
        wait.await
            .map_err(|_| KitError::Internal("audit writer stopped".into()))?
            .map_err(KitError::Internal)
    }
}

async fn write_batch(store: &Store, batch: &[Pending]) -> Result<(), KitError> {
    let all: Vec<AuditRecord> = batch.iter().flat_map(|(e, _)| e.iter().cloned()).collect();
    let mut tx = store.write.begin().await?;
    append_many(&mut tx, &all).await?;
    tx.commit().await?;
    Ok(())
}

/// Outcome of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    /// The first entry whose hash or link does not match, if any.
    pub first_broken_seq: Option<u64>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.first_broken_seq.is_none()
    }
}

/// Recompute the whole chain, in seq order, in batches.
///
/// Entries and head are read in one snapshot: otherwise an entry committed
/// between the last batch and the head read makes a live chain look truncated.
pub async fn verify(store: &Store) -> Result<VerifyReport, KitError> {
    let mut tx = store.read.begin().await?;
    if store.backend == crate::db::Backend::Postgres {
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
    }
    let mut prev = "0".repeat(64);
    let mut expected_seq: i64 = 1;
    let mut count = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, id, at, subject, role, action, record_type, record_id, purpose, prev_hash, hash \
             FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 5000",
        )
        .bind(expected_seq)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let e = row_to_entry(&row)?;
            let seq = e.seq as i64;
            let rec = AuditRecord {
                subject: e.subject,
                role: e.role,
                action: e.action,
                record_type: e.record_type,
                record_id: e.record_id,
                purpose: e.purpose,
            };
            let ok = seq == expected_seq
                && e.prev_hash == prev
                && entry_hash(&prev, seq, &e.id, &e.at, &rec) == e.hash;
            if !ok {
                return Ok(VerifyReport {
                    entries: count,
                    first_broken_seq: Some(expected_seq as u64),
                });
            }
            prev = e.hash;
            expected_seq += 1;
            count += 1;
        }
    }
    // The head must point at the last entry: a truncated tail is also tampering.
    let head = sqlx::query("SELECT audit_seq, audit_hash FROM chain_head WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    tx.rollback().await?;
    let head_seq: i64 = head.try_get(0)?;
    let head_hash: String = head.try_get(1)?;
    if head_seq != expected_seq - 1 || head_hash != prev {
        return Ok(VerifyReport {
            entries: count,
            first_broken_seq: Some(expected_seq as u64),
        });
    }
    Ok(VerifyReport {
        entries: count,
        first_broken_seq: None,
    })
}

fn row_to_entry(row: &sqlx::any::AnyRow) -> Result<AuditEntry, KitError> {
    let seq: i64 = row.try_get(0)?;
    Ok(AuditEntry {
        seq: seq as u64,
        id: row.try_get(1)?,
        at: row.try_get(2)?,
        subject: row.try_get(3)?,
        role: row.try_get(4)?,
        action: row.try_get(5)?,
        record_type: row.try_get(6)?,
        record_id: row.try_get(7)?,
        purpose: row.try_get(8)?,
        prev_hash: row.try_get(9)?,
        hash: row.try_get(10)?,
    })
}

/// Entries about one record (or all, when `record_id` is empty), oldest first.
pub async fn list(
    store: &Store,
    record_id: &str,
    page: &Page,
) -> Result<(Vec<AuditEntry>, samling_proto::common::v1::PageResponse), KitError> {
    let after: i64 = match &page.after {
        Some(a) => a
            .parse()
            .map_err(|_| KitError::invalid("page.page_token", "is not a valid page token"))?,
        None => 0,
    };
    let rows = sqlx::query(
        "SELECT seq, id, at, subject, role, action, record_type, record_id, purpose, prev_hash, hash \
         FROM audit_log WHERE seq > $1 AND ($2 = '' OR record_id = $2) ORDER BY seq LIMIT $3",
    )
    .bind(after)
    .bind(record_id)
    .bind(page.limit())
    .fetch_all(&store.read)
    .await?;
    let entries = rows.iter().map(row_to_entry).collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(entries, |e| e.seq.to_string()))
}
