//! The append-only, hash-chained audit log.
//!
//! Each entry's hash is an HMAC-SHA-256, under a key kept outside the
//! database ([`ChainKey`], a file or a Secret), over the previous hash and
//! the entry's fields (JSON-encoded, so no field can bleed into another).
//! Changing, removing or reordering any entry breaks every later hash, and
//! someone who can write the database but not read the key cannot compute
//! new ones; [`verify`] finds the first broken link. Signed checkpoints of
//! the chain head, written outside the database ([`spawn_checkpointer`]),
//! catch a cut tail with the head moved back. Writes audit inside their own
//! transaction ([`crate::tx`]); reads go through [`AuditWriter`], which
//! group-commits many read entries in one transaction so auditing every read
//! stays cheap.
//!
//! Entries written before the chain was keyed (`key_id` empty: SHA-256 over
//! the original fields) stay verifiable under one rule an attacker cannot use
//! to downgrade: unkeyed entries may only form a prefix of the chain, closed
//! by a keyed [`SEAL_ACTION`] entry that the service writes once, when it
//! first opens the store with a key and no checkpoint exists yet. An unkeyed
//! entry after a keyed one, or a keyed entry other than the seal right after
//! unkeyed ones, is tampering (docs/adr/0015).

use crate::db::Store;
use crate::error::KitError;
use crate::paging::Page;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use samling_proto::common::v1::AuditEntry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Executor, Row};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// What to record: who (subject, role, and the municipality and party they
/// act for), what (action), which record, why (the token's purpose, and a
/// reason the request stated, kept apart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditRecord {
    pub subject: String,
    pub role: String,
    pub municipality: String,
    pub party: String,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub purpose: String,
    /// Free text the caller stated for this request (`X-Purpose`); never
    /// replaces `purpose`.
    pub reason: String,
}

/// The action of the keyed entry that closes a prefix of unkeyed entries.
pub const SEAL_ACTION: &str = "audit.chain_keyed";
/// `key_id` of entries written before the chain was keyed.
const LEGACY: &str = "";
/// `key_id` of entries written by a store opened without a key (tests,
/// tools); never by a service, which always opens its store with the key.
const UNKEYED: &str = "sha256";

fn is_keyed(key_id: &str) -> bool {
    key_id != LEGACY && key_id != UNKEYED
}

/// The chain key: 32 secret bytes, kept outside the database.
#[derive(Clone)]
pub struct ChainKey {
    key: Arc<[u8; 32]>,
    id: String,
    /// HMAC's inner and outer hashes with the padded key already absorbed:
    /// each entry clones them instead of hashing the key blocks again.
    mac: Arc<(Sha256, Sha256)>,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKey({})", self.id)
    }
}

/// HMAC-SHA-256 (RFC 2104); built on `sha2` so no further crate is needed.
/// The one HMAC of the platform (the audit chain, recruitment's form tokens).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hmac_finish(&hmac_start(key), data)
}

/// The inner and outer hashes of HMAC-SHA-256 with the padded `key`
/// absorbed (a key longer than a block is hashed first).
fn hmac_start(key: &[u8]) -> (Sha256, Sha256) {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    (
        Sha256::new().chain_update(block.map(|b| b ^ 0x36)),
        Sha256::new().chain_update(block.map(|b| b ^ 0x5c)),
    )
}

fn hmac_finish((inner, outer): &(Sha256, Sha256), data: &[u8]) -> [u8; 32] {
    let inner = inner.clone().chain_update(data).finalize();
    outer.clone().chain_update(inner).finalize().into()
}

impl ChainKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        // A public name for the key (which key an entry was made with); it
        // reveals nothing of the key.
        let id = format!(
            "hmac-sha256:{}",
            &hex::encode(hmac_sha256(&key, b"samling audit chain key id"))[..16]
        );
        ChainKey {
            mac: Arc::new(hmac_start(&key)),
            key: Arc::new(key),
            id,
        }
    }

    pub fn generate() -> Result<Self, KitError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| KitError::Internal(format!("randomness: {e}")))?;
        Ok(Self::from_bytes(key))
    }

    pub fn from_hex(text: &str) -> Result<Self, KitError> {
        let key = hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                KitError::invalid("audit.chain_key_file", "must hold 32 bytes of hex")
            })?;
        Ok(Self::from_bytes(key))
    }

    pub fn load(path: &Path) -> Result<Self, KitError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            KitError::Internal(format!(
                "cannot read the audit chain key {} (audit.chain_key_file): {e}",
                path.display()
            ))
        })?;
        Self::from_hex(&text)
    }

    /// Load the hex key from `path`, creating it (mode 0600) if missing.
    pub fn load_or_create(path: &Path) -> Result<Self, KitError> {
        if path.exists() {
            return Self::load(path);
        }
        let key = Self::generate()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| KitError::Internal(format!("create {}: {e}", dir.display())))?;
        }
        match crate::auth::write_private(path, &hex::encode(*key.key)) {
            Ok(()) => Ok(key),
            // Another process created it first: use theirs.
            Err(_) if path.exists() => Self::load(path),
            Err(e) => Err(e),
        }
    }

    /// The key's public name, stored with each entry it hashed.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac_hex(&self, data: &[u8]) -> String {
        hex::encode(hmac_finish(&self.mac, data))
    }

    /// The Ed25519 key that signs checkpoints, derived from the chain key so
    /// one Secret serves both; its public half may be handed to auditors.
    fn checkpoint_signer(&self) -> SigningKey {
        SigningKey::from_bytes(&hmac_sha256(
            &*self.key,
            b"samling audit checkpoint signing key v1",
        ))
    }

    pub fn checkpoint_public_key_hex(&self) -> String {
        hex::encode(self.checkpoint_signer().verifying_key().to_bytes())
    }
}

/// The hash of an entry written before the chain was keyed (original
/// fields, plain SHA-256). Anyone can compute it: see the module docs for
/// where such entries are still accepted.
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

/// Every field of an entry, `key_id` included (so an entry cannot be
/// passed off as made under another key or none).
fn fields(prev_hash: &str, seq: i64, id: &str, at: &str, r: &AuditRecord, key_id: &str) -> Vec<u8> {
    // A tuple serializes to the same compact JSON array as `json!([..])`,
    // without building a `Value` tree of copies first.
    serde_json::to_vec(&(
        prev_hash,
        seq,
        id,
        at,
        &r.subject,
        &r.role,
        &r.municipality,
        &r.party,
        &r.action,
        &r.record_type,
        &r.record_id,
        &r.purpose,
        &r.reason,
        key_id,
    ))
    .unwrap_or_default()
}

/// The hash of an entry made with `key` (or, for a store opened without a
/// key, plain SHA-256), and the `key_id` to store with it.
pub fn keyed_hash(
    key: Option<&ChainKey>,
    prev_hash: &str,
    seq: i64,
    id: &str,
    at: &str,
    r: &AuditRecord,
) -> (String, String) {
    match key {
        Some(k) => (
            k.id.clone(),
            k.mac_hex(&fields(prev_hash, seq, id, at, r, &k.id)),
        ),
        None => (
            UNKEYED.to_string(),
            hex::encode(Sha256::digest(fields(prev_hash, seq, id, at, r, UNKEYED))),
        ),
    }
}

/// An entry with its place in the chain computed, ready to insert.
#[derive(Debug, Clone)]
pub struct ChainedEntry {
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
    pub key_id: String,
}

/// Link `record` after (`seq`, `prev_hash`), hashed with `key`.
pub fn chain(
    key: Option<&ChainKey>,
    seq: i64,
    prev_hash: &str,
    at: &str,
    record: AuditRecord,
) -> ChainedEntry {
    let id = crate::ids::new_id_string();
    let (key_id, hash) = keyed_hash(key, prev_hash, seq, &id, at, &record);
    ChainedEntry {
        seq,
        id,
        at: at.to_string(),
        record,
        prev_hash: prev_hash.to_string(),
        hash,
        key_id,
    }
}

/// Insert already-chained entries (multi-row, in chunks well under every
/// backend's parameter limit). The caller moves the chain head.
pub async fn insert_chained(
    conn: &mut AnyConnection,
    entries: &[ChainedEntry],
) -> Result<(), KitError> {
    crate::db::insert_rows(
        conn,
        "INSERT INTO audit_log (seq, id, at, subject, role, municipality, party, action, \
         record_type, record_id, purpose, reason, prev_hash, hash, key_id)",
        15,
        entries,
        |q, e| {
            q.bind(e.seq)
                .bind(e.id.clone())
                .bind(e.at.clone())
                .bind(e.record.subject.clone())
                .bind(e.record.role.clone())
                .bind(e.record.municipality.clone())
                .bind(e.record.party.clone())
                .bind(e.record.action.clone())
                .bind(e.record.record_type.clone())
                .bind(e.record.record_id.clone())
                .bind(e.record.purpose.clone())
                .bind(e.record.reason.clone())
                .bind(e.prev_hash.clone())
                .bind(e.hash.clone())
                .bind(e.key_id.clone())
        },
    )
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

/// One transaction for the whole batch: the chain head is taken once, the
/// entries go in a few multi-row statements, the head moves once.
async fn write_batch(store: &Store, batch: &[Pending]) -> Result<(), KitError> {
    let mut tx = store.begin_write().await?;
    for record in batch.iter().flat_map(|(entries, _)| entries) {
        tx.audit(record).await?;
    }
    tx.commit_audits().await
}

/// Give `store` the chain key: every entry it writes from now on is keyed.
///
/// A chain that ends in unkeyed entries (written before the chain was
/// keyed) is sealed with one keyed [`SEAL_ACTION`] entry, which vouches for
/// them; but only while no checkpoint exists at `checkpoint`: once a
/// checkpoint was written the chain was keyed already, so unkeyed entries at
/// its end are a downgrade, left for `audit verify` to report, never sealed.
pub async fn with_key(
    mut store: Store,
    key: ChainKey,
    checkpoint: Option<&Path>,
) -> Result<Store, KitError> {
    store.audit_key = Some(key);
    const HEAD_KEY: &str =
        "SELECT l.key_id FROM audit_log l JOIN chain_head h ON l.seq = h.audit_seq WHERE h.id = 1";
    // Every start after the first finds the head keyed: a read, not the
    // writer's lock. (A keyed head does not become unkeyed but by tampering,
    // which `audit verify` reports.)
    let head: Option<String> = sqlx::query_scalar(HEAD_KEY)
        .fetch_optional(&store.read)
        .await?;
    if head.as_deref().is_none_or(is_keyed) {
        return Ok(store);
    }
    let mut tx = store.begin_write().await?;
    // This transaction holds the head row, so a replica starting at the
    // same time sees our seal and does not seal again.
    let head = sqlx::query(HEAD_KEY).fetch_optional(tx.conn()).await?;
    let Some(head) = head else {
        return Ok(store);
    };
    let key_id: String = head.try_get(0)?;
    if is_keyed(&key_id) {
        return Ok(store);
    }
    if checkpoint.is_some_and(Path::exists) {
        tracing::error!(
            "the audit chain ends in unkeyed entries although a checkpoint exists: \
             not sealing them; `samling audit verify` reports where"
        );
        return Ok(store);
    }
    tx.audit(&AuditRecord {
        subject: "samling".into(),
        role: "service".into(),
        action: SEAL_ACTION.into(),
        record_type: "audit_chain".into(),
        purpose: "the chain is keyed from here; earlier entries are vouched for by this one".into(),
        ..AuditRecord::default()
    })
    .await?;
    tx.commit_audits().await?;
    tracing::info!("audit chain keyed: earlier unkeyed entries sealed");
    Ok(store)
}

/// Key the store of `service` in `region` as configured, sealing unless
/// that service's checkpoint exists (see [`with_key`]). The chain key is
/// `audit.chain_key_file`, which must exist when it is set (a Secret: a
/// missing one must not be replaced by a new key that would seal the chain
/// under a key nobody keeps); the default under `data_dir` is created if
/// missing, as for the context signing key.
pub async fn key_store(
    store: Store,
    cfg: &crate::config::Config,
    service: &str,
    region: &str,
) -> Result<Store, KitError> {
    let path = cfg.audit_chain_key_file();
    let key = if cfg.audit.chain_key_file.is_some() {
        ChainKey::load(&path)?
    } else {
        ChainKey::load_or_create(&path)?
    };
    let file = CheckpointFile::for_service(cfg, service, region);
    with_key(store, key, Some(&file.path)).await
}

/// Outcome of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    /// The first entry whose hash or link does not match, or where the chain
    /// was cut, or the first entry the record index misses, if any.
    pub first_broken_seq: Option<u64>,
    /// What is wrong there (no personal data: seqs and rule names only).
    pub problem: Option<String>,
    /// The checkpoint the chain was checked against, if one was given.
    pub checkpoint_seq: Option<u64>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.first_broken_seq.is_none()
    }

    fn broken(entries: u64, seq: i64, problem: impl Into<String>) -> Self {
        VerifyReport {
            entries,
            first_broken_seq: Some(seq.max(1) as u64),
            problem: Some(problem.into()),
            checkpoint_seq: None,
        }
    }
}

/// One stored entry as verify reads it.
struct StoredEntry {
    seq: i64,
    id: String,
    at: String,
    record: AuditRecord,
    prev_hash: String,
    hash: String,
    key_id: String,
}

/// Why `e` (following `prev`) does not hold, if it does not.
fn check_entry(key: Option<&ChainKey>, prev: &str, e: &StoredEntry) -> Option<&'static str> {
    if e.prev_hash != prev {
        return Some("its link to the previous entry does not match");
    }
    let r = &e.record;
    let expected = match e.key_id.as_str() {
        LEGACY => {
            // The original hash does not cover these: a legacy entry must not have them.
            if !(r.municipality.is_empty() && r.party.is_empty() && r.reason.is_empty()) {
                return Some("an unkeyed entry carries fields its hash does not cover");
            }
            entry_hash(prev, e.seq, &e.id, &e.at, r)
        }
        UNKEYED => keyed_hash(None, prev, e.seq, &e.id, &e.at, r).1,
        id => match key {
            Some(k) if k.id == id => keyed_hash(Some(k), prev, e.seq, &e.id, &e.at, r).1,
            Some(_) => return Some("it is keyed with another key than the configured one"),
            None => return Some("it is keyed, and the chain key was not given"),
        },
    };
    (expected != e.hash).then_some("its hash does not match its fields")
}

/// [`verify_against`] without a checkpoint.
pub async fn verify(store: &Store) -> Result<VerifyReport, KitError> {
    verify_against(store, None).await
}

/// Recompute the whole chain, in seq order, in batches, with the store's
/// key; check that the chain reaches `checkpoint` (a signed, earlier head:
/// a cut tail with the head moved back is reported where the cut starts);
/// and check the record index against the chain (`ListAudit` by record
/// reads through it).
///
/// Entries, head and index are read in one snapshot: otherwise an entry
/// committed between the last batch and the head read makes a live chain
/// look truncated.
pub async fn verify_against(
    store: &Store,
    checkpoint: Option<&Checkpoint>,
) -> Result<VerifyReport, KitError> {
    let key = store.audit_key.as_ref();
    let mut tx = store.read.begin().await?;
    if store.backend == crate::db::Backend::Postgres {
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
    }
    let mut prev = "0".repeat(64);
    let mut expected_seq: i64 = 1;
    let mut count = 0u64;
    // Unkeyed entries seen so far, and whether a keyed one followed them.
    let mut unkeyed_prefix = 0i64;
    let mut keyed_seen = false;
    let mut at_checkpoint: Option<String> = None;
    loop {
        let rows = sqlx::query(
            "SELECT seq, id, at, subject, role, municipality, party, action, record_type, \
             record_id, purpose, reason, prev_hash, hash, key_id \
             FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 5000",
        )
        .bind(expected_seq)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let e = stored_entry(&row)?;
            if e.seq != expected_seq {
                return Ok(VerifyReport::broken(
                    count,
                    expected_seq,
                    "the entry is missing",
                ));
            }
            if let Some(why) = check_entry(key, &prev, &e) {
                return Ok(VerifyReport::broken(count, e.seq, why));
            }
            if is_keyed(&e.key_id) {
                if unkeyed_prefix > 0 && !keyed_seen && e.record.action != SEAL_ACTION {
                    return Ok(VerifyReport::broken(
                        count,
                        e.seq,
                        "a keyed entry follows unkeyed ones without sealing them",
                    ));
                }
                keyed_seen = true;
            } else if keyed_seen && key.is_some() {
                return Ok(VerifyReport::broken(
                    count,
                    e.seq,
                    "an unkeyed entry follows keyed ones (a downgrade)",
                ));
            } else {
                unkeyed_prefix += 1;
            }
            if checkpoint.is_some_and(|c| c.seq as i64 == e.seq) {
                at_checkpoint = Some(e.hash.clone());
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
    let head_seq: i64 = head.try_get(0)?;
    let head_hash: String = head.try_get(1)?;
    if head_seq != expected_seq - 1 || head_hash != prev {
        return Ok(VerifyReport::broken(
            count,
            expected_seq,
            "the chain head does not name the last entry",
        ));
    }
    if key.is_some() && unkeyed_prefix > 0 && !keyed_seen {
        // Anyone can recompute an unkeyed chain: with nothing keyed after
        // it, it vouches for nothing.
        return Ok(VerifyReport::broken(
            count,
            1,
            "no entry is keyed: the chain was never sealed with the key",
        ));
    }
    let mut report = VerifyReport {
        entries: count,
        first_broken_seq: None,
        problem: None,
        checkpoint_seq: checkpoint.map(|c| c.seq),
    };
    if let Some(cp) = checkpoint {
        let cp_seq = cp.seq as i64;
        match at_checkpoint {
            None if cp_seq > 0 => {
                return Ok(VerifyReport {
                    checkpoint_seq: Some(cp.seq),
                    ..VerifyReport::broken(
                        count,
                        expected_seq,
                        format!(
                            "the chain ends at {} but a checkpoint names entry {cp_seq}: its tail was cut",
                            expected_seq - 1
                        ),
                    )
                });
            }
            Some(h) if h != cp.hash => {
                return Ok(VerifyReport {
                    checkpoint_seq: Some(cp.seq),
                    ..VerifyReport::broken(
                        count,
                        cp_seq,
                        "the entry differs from the checkpoint of it",
                    )
                });
            }
            _ => {}
        }
    }
    if let Some((seq, why)) = check_index(&mut tx, head_seq).await? {
        report.first_broken_seq = Some(seq.max(1) as u64);
        report.problem = Some(why.into());
    }
    tx.rollback().await?;
    Ok(report)
}

/// The record index must hold exactly one row per entry up to its head,
/// each naming the entry's own record: a deleted row hides an entry from
/// `ListAudit`, a changed one shows it under another record.
async fn check_index(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    head_seq: i64,
) -> Result<Option<(i64, &'static str)>, KitError> {
    let indexed: i64 = sqlx::query("SELECT indexed_seq FROM audit_index_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    if indexed > head_seq {
        return Ok(Some((
            head_seq + 1,
            "the record index claims entries past the chain head",
        )));
    }
    let missing: Option<i64> = sqlx::query(
        "SELECT MIN(l.seq) FROM audit_log l WHERE l.seq <= $1 AND NOT EXISTS \
         (SELECT 1 FROM audit_index i WHERE i.record_id = l.record_id AND i.seq = l.seq)",
    )
    .bind(indexed)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    let stray: Option<i64> = sqlx::query(
        "SELECT MIN(i.seq) FROM audit_index i WHERE NOT EXISTS \
         (SELECT 1 FROM audit_log l WHERE l.seq = i.seq AND l.record_id = i.record_id)",
    )
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    Ok(match (missing, stray) {
        (Some(m), s) if s.is_none_or(|s| m <= s) => Some((
            m,
            "the record index lacks this entry (ListAudit would not show it)",
        )),
        (_, Some(s)) => Some((
            s,
            "the record index files this entry under another record or names no entry",
        )),
        _ => None,
    })
}

fn stored_entry(row: &sqlx::any::AnyRow) -> Result<StoredEntry, KitError> {
    Ok(StoredEntry {
        seq: row.try_get(0)?,
        id: row.try_get(1)?,
        at: row.try_get(2)?,
        record: AuditRecord {
            subject: row.try_get(3)?,
            role: row.try_get(4)?,
            municipality: row.try_get(5)?,
            party: row.try_get(6)?,
            action: row.try_get(7)?,
            record_type: row.try_get(8)?,
            record_id: row.try_get(9)?,
            purpose: row.try_get(10)?,
            reason: row.try_get(11)?,
        },
        prev_hash: row.try_get(12)?,
        hash: row.try_get(13)?,
        key_id: row.try_get(14)?,
    })
}

// ---------------------------------------------------------------------------
// Checkpoints

/// A signed statement "the chain of `service` in `region` had entry `seq`
/// with hash `hash`", kept outside the database. `audit verify` checks the
/// chain still reaches it, so cutting the tail and moving the head back is
/// seen even though every remaining link holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub service: String,
    pub region: String,
    pub seq: u64,
    pub hash: String,
    pub key_id: String,
    /// When it was written (RFC 3339).
    pub at: String,
    /// Ed25519 over [`Checkpoint::message`], hex.
    pub signature: String,
}

impl Checkpoint {
    /// What is signed; the prefix keeps it from ever being valid as any
    /// other signed message (auth contexts sign base64url text).
    fn message(&self) -> Vec<u8> {
        let body = serde_json::json!([
            self.service,
            self.region,
            self.seq,
            self.hash,
            self.key_id,
            self.at
        ]);
        format!("samling audit checkpoint v1\n{body}").into_bytes()
    }

    fn signed(mut self, key: &ChainKey) -> Self {
        self.signature = hex::encode(key.checkpoint_signer().sign(&self.message()).to_bytes());
        self
    }

    fn verify_signature(&self, key: &ChainKey) -> bool {
        let public: VerifyingKey = key.checkpoint_signer().verifying_key();
        hex::decode(&self.signature)
            .ok()
            .and_then(|s| Signature::from_slice(&s).ok())
            .is_some_and(|sig| public.verify(&self.message(), &sig).is_ok())
    }
}

/// Where one service's checkpoint of one region lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFile {
    pub path: PathBuf,
    pub service: String,
    pub region: String,
}

impl CheckpointFile {
    /// The checkpoint of `service` in `region` where `cfg` keeps them
    /// (`audit.checkpoint_dir`), as `DbTarget::for_service` finds its store.
    pub fn for_service(cfg: &crate::config::Config, service: &str, region: &str) -> Self {
        Self::new(&cfg.audit_checkpoint_dir(), service, region)
    }

    /// `<dir>/<service>-<region>.json`.
    pub fn new(dir: &Path, service: &str, region: &str) -> Self {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        CheckpointFile {
            path: dir.join(format!("{}-{}.json", safe(service), safe(region))),
            service: service.into(),
            region: region.into(),
        }
    }

    /// The latest checkpoint, if one was written; an unsigned, mis-signed or
    /// foreign one is an error, never silently ignored.
    pub fn read(&self, key: &ChainKey) -> Result<Option<Checkpoint>, KitError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(KitError::Internal(format!(
                    "cannot read audit checkpoint {}: {e}",
                    self.path.display()
                )));
            }
        };
        let bad = |why: &str| {
            KitError::FailedPrecondition(format!("audit checkpoint {}: {why}", self.path.display()))
        };
        let cp: Checkpoint = serde_json::from_str(&text).map_err(|_| bad("is not a checkpoint"))?;
        if cp.key_id != key.id || !cp.verify_signature(key) {
            return Err(bad("its signature does not verify with the chain key"));
        }
        if cp.service != self.service || cp.region != self.region {
            return Err(bad("is the checkpoint of another service or region"));
        }
        Ok(Some(cp))
    }

    /// Checkpoint the current head. Refuses (and keeps the old checkpoint)
    /// when the chain no longer reaches the previous checkpoint, so a cut
    /// tail is never blessed by a new one. Returns the checkpoint in force.
    pub async fn write(
        &self,
        store: &Store,
        key: &ChainKey,
    ) -> Result<Option<Checkpoint>, KitError> {
        let previous = self.read(key)?;
        let head = sqlx::query(
            "SELECT h.audit_seq, h.audit_hash, l.key_id FROM chain_head h \
             LEFT JOIN audit_log l ON l.seq = h.audit_seq WHERE h.id = 1",
        )
        .fetch_one(&store.read)
        .await?;
        let seq: i64 = head.try_get(0)?;
        let hash: String = head.try_get(1)?;
        let key_id: Option<String> = head.try_get(2)?;
        if let Some(p) = &previous {
            let then: Option<String> = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
                .bind(p.seq as i64)
                .fetch_optional(&store.read)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            if seq < p.seq as i64 || then.as_deref() != Some(p.hash.as_str()) {
                return Err(KitError::FailedPrecondition(format!(
                    "the audit chain no longer reaches its checkpoint at entry {}: not overwriting it",
                    p.seq
                )));
            }
            if seq == p.seq as i64 {
                return Ok(previous);
            }
        }
        if seq == 0 {
            return Ok(None);
        }
        if key_id.as_deref() != Some(key.id()) {
            return Err(KitError::FailedPrecondition(
                "the audit chain head is not keyed with the chain key: not checkpointing it".into(),
            ));
        }
        let cp = Checkpoint {
            service: self.service.clone(),
            region: self.region.clone(),
            seq: seq as u64,
            hash,
            key_id: key.id.clone(),
            at: crate::dates::now_text(),
            signature: String::new(),
        }
        .signed(key);
        let text = serde_json::to_string_pretty(&cp)
            .map_err(|e| KitError::Internal(format!("checkpoint: {e}")))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| KitError::Internal(format!("create {}: {e}", dir.display())))?;
        }
        // Write beside it, then rename: a reader sees the old or the new
        // checkpoint, never half of one.
        // A name of its own: replicas of a service checkpoint the same file.
        let tmp = self
            .path
            .with_extension(format!("{}.tmp", crate::ids::new_id().simple()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| KitError::Internal(format!("write {}: {e}", self.path.display())))?;
        Ok(Some(cp))
    }
}

/// Checkpoint `store`'s chain head into `file` every `every` and once more
/// when `stop` turns true (then the task ends). Failures are logged (a
/// refusal because the chain no longer reaches the checkpoint as an error)
/// and retried at the next tick.
pub fn spawn_checkpointer(
    store: Store,
    key: ChainKey,
    file: CheckpointFile,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(std::time::Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let last = tokio::select! {
                _ = tick.tick() => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            if store.write.is_closed() {
                return;
            }
            if let Err(e) = file.write(&store, &key).await {
                match e {
                    KitError::FailedPrecondition(_) => {
                        tracing::error!(error = %e, "audit checkpoint refused")
                    }
                    _ => tracing::warn!(error = %e, "audit checkpoint failed; retrying"),
                }
            }
            if last {
                return;
            }
        }
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
        municipality: row.try_get(11)?,
        party: row.try_get(12)?,
        reason: row.try_get(13)?,
        key_id: row.try_get(14)?,
    })
}

/// Entries about one record (or all, when `record_id` is empty), oldest first.
/// Uses the record index up to `indexed_seq` and scans the (short) tail after it.
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
        "SELECT seq, id, at, subject, role, action, record_type, record_id, purpose, prev_hash, hash, \
         municipality, party, reason, key_id \
         FROM audit_log WHERE seq > $1 AND ($2 = '' \
           OR seq IN (SELECT seq FROM audit_index WHERE record_id = $2 AND seq > $1) \
           OR (record_id = $2 AND seq > (SELECT indexed_seq FROM audit_index_head WHERE id = 1))) \
         ORDER BY seq LIMIT $3",
    )
    .bind(after)
    .bind(record_id)
    .bind(page.limit())
    .fetch_all(&store.read)
    .await?;
    let entries = rows
        .iter()
        .map(row_to_entry)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.finish(entries, |e| e.seq.to_string()))
}

/// Index the entries written since the last run (at most `max`), sorted by
/// record so each index page is written once per run. Returns how many.
pub async fn index_pending(store: &Store, max: i64) -> Result<usize, KitError> {
    let mut tx = store.begin_tx().await?;
    // The index head's row lock makes concurrent indexers (replicas) take
    // turns without touching chain_head, which every writer locks. Writers
    // commit in seq order (they serialise on chain_head), so the committed
    // entries seen here are always a prefix of the log: no gaps to skip.
    let head = sqlx::query(
        "UPDATE audit_index_head SET indexed_seq = indexed_seq WHERE id = 1 RETURNING indexed_seq",
    )
    .fetch_one(&mut *tx)
    .await?;
    let indexed: i64 = head.try_get(0)?;
    let rows =
        sqlx::query("SELECT record_id, seq FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(indexed)
            .bind(max)
            .fetch_all(&mut *tx)
            .await?;
    let Some(last) = rows.last() else {
        // Nothing to index: end the transaction here, not at some later
        // use of the connection.
        tx.rollback().await?;
        return Ok(0);
    };
    let last_seq: i64 = last.try_get(1)?;
    let mut pairs = rows
        .iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    pairs.sort();
    crate::db::insert_rows(
        &mut tx,
        "INSERT INTO audit_index (record_id, seq)",
        2,
        &pairs,
        |q, (rid, seq)| q.bind(rid.clone()).bind(*seq),
    )
    .await?;
    sqlx::query("UPDATE audit_index_head SET indexed_seq = $1 WHERE id = 1")
        .bind(last_seq)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(pairs.len())
}

/// Small enough that indexing never holds the writer for long: every read
/// waits for its audit entry's commit, so a batch that holds the writer
/// stalls every read in flight (1,000 entries held it ~30 ms; p99 of reads
/// at 5,000/s went from ~4 ms to ~35 ms).
const INDEX_BATCH: i64 = 128;

/// Keep the record index a fraction of a second behind the log, in small
/// transactions, yielding between them so waiting writers go first.
pub fn spawn_indexer(store: Store) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if store.write.is_closed() {
                return;
            }
            loop {
                match index_pending(&store, INDEX_BATCH).await {
                    Ok(n) if n as i64 == INDEX_BATCH => {
                        tokio::task::yield_now().await;
                        continue;
                    }
                    Ok(_) => break,
                    Err(_) if store.write.is_closed() => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "audit indexing failed; retrying");
                        break;
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than a block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // A chain key's cached state gives the same MAC as computing it whole.
        let k = ChainKey::from_bytes([7; 32]);
        assert_eq!(
            k.mac_hex(b"entry"),
            hex::encode(hmac_sha256(&[7; 32], b"entry"))
        );
    }

    #[test]
    fn the_hashed_fields_are_the_compact_json_array_they_always_were() {
        let r = AuditRecord {
            subject: "s\"1".into(),
            role: "r".into(),
            municipality: "0180".into(),
            reason: "å ä".into(),
            ..AuditRecord::default()
        };
        let was = serde_json::json!([
            "p",
            7,
            "i",
            "t",
            r.subject,
            r.role,
            r.municipality,
            r.party,
            r.action,
            r.record_type,
            r.record_id,
            r.purpose,
            r.reason,
            "k"
        ])
        .to_string();
        assert_eq!(fields("p", 7, "i", "t", &r, "k"), was.into_bytes());
    }

    #[test]
    fn a_keyed_hash_depends_on_the_key_and_on_municipality_party_and_reason() {
        let k1 = ChainKey::from_bytes([1; 32]);
        let k2 = ChainKey::from_bytes([2; 32]);
        let r = AuditRecord {
            subject: "u".into(),
            municipality: "0180".into(),
            ..AuditRecord::default()
        };
        let h = |k: &ChainKey, r: &AuditRecord| keyed_hash(Some(k), "p", 1, "i", "t", r).1;
        assert_ne!(h(&k1, &r), h(&k2, &r));
        for change in [
            |r: &mut AuditRecord| r.municipality = "0181".into(),
            |r: &mut AuditRecord| r.party = "home-2".into(),
            |r: &mut AuditRecord| r.reason = "x".into(),
        ] {
            let mut other = r.clone();
            change(&mut other);
            assert_ne!(h(&k1, &r), h(&k1, &other));
        }
        assert_ne!(k1.id(), k2.id());
        assert!(
            !format!("{k1:?}").contains("0101"),
            "the key stays out of Debug"
        );
    }

    #[test]
    fn a_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("audit-chain.key");
        let k = ChainKey::load_or_create(&path).unwrap();
        assert_eq!(ChainKey::load(&path).unwrap().id(), k.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").unwrap();
        let e = ChainKey::load(&path).unwrap_err();
        assert!(e.to_string().contains("audit.chain_key_file"), "{e}");
    }
}
