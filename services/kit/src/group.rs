//! Group commit on the SQLite writer (ADR 0020).
//!
//! SQLite has one writer connection, and with `synchronous = FULL` every
//! `COMMIT` waits for an fsync of the WAL: single writes were bounded by the
//! disk's flush rate (~300/s on the reference machine), not by the CPU. Here
//! concurrent writes share one transaction:
//!
//! * The first write of a batch opens it (`BEGIN IMMEDIATE`); each write runs
//!   inside a `SAVEPOINT` of its own, one after another in arrival order (the
//!   batch's lock is a FIFO mutex), so audit chain and outbox order are the
//!   order of the queue.
//! * A write that fails is rolled back to its savepoint: its neighbours keep
//!   their work and it alone gets its error.
//! * A write that succeeds releases its savepoint and waits for the batch's
//!   one `COMMIT` (one fsync); nobody is acknowledged before it is durable.
//!   The `COMMIT` is issued by the first waiting member that gets the lock
//!   again after the writes queued behind it, or at once when the batch holds
//!   `max` writes. A failed `COMMIT` fails every member.
//! * A write that waits longer than [`DEFAULT_WRITER_WAIT`] for the writer
//!   gets `UNAVAILABLE` (`STORE_UNAVAILABLE`), not a hang.
//!
//! With `max` = 1 the store does not use this module at all (each write is
//! its own transaction, as before); PostgreSQL never does (its writers run
//! in parallel and commit on their own connections).

use crate::db::Store;
use crate::error::{ErrorCode, KitError, Reason, ServiceError};
use crate::tx::StoreTx;
use sqlx::{AnyConnection, Executor};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// How long a write may wait for the writer before it is refused.
pub const DEFAULT_WRITER_WAIT: Duration = Duration::from_secs(30);

/// The default batch size: 64 writes per commit at most (ADR 0020). It was
/// off (1) until a cancelled `BEGIN` was found to leave the file locked
/// (ADR 0020, "Status"); `database.sqlite_group_commit = 1` turns it off.
pub const DEFAULT_GROUP_COMMIT: usize = 64;

/// The batch size measured and suggested once group commit is on.
pub const SUGGESTED_GROUP_COMMIT: usize = 64;

/// A batch's outcome as its members see it: the committing member gets the
/// store's own error, the others its code and message.
type Outcome = Option<Result<(), (ErrorCode, String)>>;

struct Batch {
    /// Told apart from the next batch by a waiting member.
    id: u64,
    tx: StoreTx,
    /// Writes released into this batch, waiting for its commit.
    members: usize,
    done: watch::Sender<Outcome>,
}

#[derive(Default)]
struct State {
    batch: Option<Batch>,
    next_id: u64,
    /// Savepoint names are unique: a `ROLLBACK TO` can only ever reach its
    /// own write's savepoint, never one a cancelled `begin` left behind.
    next_savepoint: u64,
    stats: GroupStats,
}

/// What the group commit has done since the store opened.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// Batches committed.
    pub commits: u64,
    /// Writes acknowledged by those commits.
    pub writes: u64,
}

/// The SQLite writer's group commit; shared by a store's clones.
pub struct GroupCommit {
    state: Arc<Mutex<State>>,
    max: usize,
    wait_ms: AtomicU64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("max", &self.max)
            .field("wait_ms", &self.wait_ms.load(Ordering::Relaxed))
            .finish()
    }
}

impl GroupCommit {
    /// Group up to `max` writes per commit (`max` ≥ 2).
    pub fn new(max: usize) -> GroupCommit {
        GroupCommit {
            state: Arc::new(Mutex::new(State::default())),
            max: max.max(2),
            wait_ms: AtomicU64::new(DEFAULT_WRITER_WAIT.as_millis() as u64),
        }
    }

    /// Writes per commit at most.
    pub fn max(&self) -> usize {
        self.max
    }

    /// How long a write waits for the writer before `UNAVAILABLE`.
    pub fn set_writer_wait(&self, wait: Duration) {
        self.wait_ms
            .store(wait.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    /// Commits and the writes they acknowledged, so far.
    pub async fn stats(&self) -> GroupStats {
        self.state.lock().await.stats
    }

    fn writer_wait(&self) -> Duration {
        Duration::from_millis(self.wait_ms.load(Ordering::Relaxed))
    }

    /// Join (or open) the current batch: the returned member holds the
    /// writer, inside a savepoint of its own, until it commits or is dropped.
    pub(crate) async fn begin(self: &Arc<Self>, store: &Store) -> Result<Member, KitError> {
        let wait = self.writer_wait();
        let mut guard = tokio::time::timeout(wait, self.state.clone().lock_owned())
            .await
            .map_err(|_| {
                KitError::refused(
                    Reason::StoreUnavailable,
                    format!(
                        "the store's writer is busy: no turn within {} ms; retry later",
                        wait.as_millis()
                    ),
                )
            })?;
        if guard.batch.is_none() {
            let tx = store.begin_tx().await?;
            guard.next_id += 1;
            let (done, _) = watch::channel(None);
            guard.batch = Some(Batch {
                id: guard.next_id,
                tx,
                members: 0,
                done,
            });
        }
        guard.next_savepoint += 1;
        let name = format!("samling_write_{}", guard.next_savepoint);
        // A member from here on: dropped (cancelled) before its savepoint is
        // known to exist, it ends the batch only if nobody was released
        // into it.
        let mut member = Member {
            guard: Some(guard),
            group: self.clone(),
            savepoint: None,
        };
        let sql = format!("SAVEPOINT {name}");
        if let Err(e) = member.tx_mut().execute(sql.as_str()).await {
            crate::error::log_db_error("SAVEPOINT", &e);
            // The transaction's state is unknown: end the batch, failing
            // whoever waits for it.
            if let Some(mut guard) = member.guard.take() {
                poison(&mut guard, &e);
            }
            return Err(e.into());
        }
        member.savepoint = Some(name);
        Ok(member)
    }

    /// Commit batch `id` if it is still open (a waiting member whose future
    /// was dropped leaves this behind, so the batch is not left open).
    async fn finish_if_open(self: Arc<Self>, id: u64) {
        let mut guard = self.state.clone().lock_owned().await;
        if guard.batch.as_ref().is_some_and(|b| b.id == id) {
            let _ = commit_batch(&mut guard).await;
        }
    }
}

/// Commit the open batch and tell its members.
async fn commit_batch(guard: &mut OwnedMutexGuard<State>) -> Result<(), KitError> {
    let Some(batch) = guard.batch.take() else {
        return Err(KitError::Internal("no batch to commit".into()));
    };
    let Batch {
        tx, done, members, ..
    } = batch;
    let result = tx.commit().await;
    if result.is_ok() {
        guard.stats.commits += 1;
        guard.stats.writes += members as u64;
    }
    let _ = done.send(Some(match &result {
        Ok(()) => Ok(()),
        Err(e) => Err(shared(e)),
    }));
    result
}

/// A batch whose transaction is in doubt: its connection is closed (which
/// rolls back whatever it held) and its waiting members fail.
fn poison(guard: &mut OwnedMutexGuard<State>, e: &sqlx::Error) {
    if let Some(batch) = guard.batch.take() {
        let _ = batch.done.send(Some(Err((
            crate::error::db_error_code(e),
            format!(
                "database error: {}; this write was not committed",
                crate::error::describe_db_error(e)
            ),
        ))));
        batch.tx.discard();
    }
}

fn shared(e: &KitError) -> (ErrorCode, String) {
    (
        e.code(),
        format!("{e}; this write was not committed (its batch's commit failed)"),
    )
}

fn from_shared((code, message): (ErrorCode, String)) -> KitError {
    match code {
        ErrorCode::Unavailable => KitError::refused(Reason::StoreUnavailable, message),
        _ => KitError::Internal(message),
    }
}

/// One write inside a batch; see the module documentation.
pub(crate) struct Member {
    /// Held from `begin` until the savepoint is released or rolled back.
    guard: Option<OwnedMutexGuard<State>>,
    group: Arc<GroupCommit>,
    /// This write's savepoint, once made.
    savepoint: Option<String>,
}

impl Member {
    fn tx(&self) -> &StoreTx {
        &self
            .guard
            .as_ref()
            .and_then(|g| g.batch.as_ref())
            .expect("a member holds an open batch until it ends")
            .tx
    }

    fn tx_mut(&mut self) -> &mut StoreTx {
        &mut self
            .guard
            .as_mut()
            .and_then(|g| g.batch.as_mut())
            .expect("a member holds an open batch until it ends")
            .tx
    }

    /// Release this write into its batch and wait until the batch is
    /// committed (or failed). Ok means durable.
    pub(crate) async fn commit(mut self) -> Result<(), KitError> {
        let release = format!(
            "RELEASE SAVEPOINT {}",
            self.savepoint.as_deref().unwrap_or_default()
        );
        if let Err(e) = self.tx_mut().execute(release.as_str()).await {
            crate::error::log_db_error("RELEASE SAVEPOINT", &e);
            // Dropping `self` rolls the savepoint back (or ends the batch).
            return Err(e.into());
        }
        let mut guard = self.guard.take().expect("an unfinished member");
        let batch = guard.batch.as_mut().expect("an open batch");
        batch.members += 1;
        let (id, full) = (batch.id, batch.members >= self.group.max);
        let mut outcome = batch.done.subscribe();
        let peek = outcome.clone();
        if full {
            return run_to_end(async move { commit_batch(&mut guard).await }).await;
        }
        // Let the writes queued behind this one into the batch; the lock
        // comes back to this member after them (the mutex is FIFO) unless
        // another member committed the batch first.
        drop(guard);
        let mut pending = Pending {
            group: Some(self.group.clone()),
            id,
        };
        let ended = |r: Option<&Result<(), (ErrorCode, String)>>| match r {
            Some(r) => r.clone().map_err(from_shared),
            None => Err(KitError::Internal(
                "the batch ended without an outcome; this write was not committed".into(),
            )),
        };
        let result = tokio::select! {
            biased;
            told = async {
                // The guard is not held across an await (it is not Send).
                outcome.wait_for(Option::is_some).await.ok().and_then(|r| r.clone())
            } => ended(told.as_ref()),
            mut guard = self.group.state.clone().lock_owned() => {
                if guard.batch.as_ref().is_some_and(|b| b.id == id) {
                    run_to_end(async move { commit_batch(&mut guard).await }).await
                } else {
                    // Ended already: its outcome was sent (or its sender
                    // dropped with the batch).
                    drop(guard);
                    let r = peek.borrow().clone();
                    ended(r.as_ref())
                }
            }
        };
        pending.group = None;
        result
    }
}

/// Run `f` to its end even when the caller's future is dropped (a cancelled
/// request): a commit half-done would leave the batch's members in doubt.
async fn run_to_end(
    f: impl std::future::Future<Output = Result<(), KitError>> + Send + 'static,
) -> Result<(), KitError> {
    match tokio::spawn(f).await {
        Ok(r) => r,
        Err(e) => Err(KitError::Internal(format!("commit task failed: {e}"))),
    }
}

/// A member waiting for its batch's commit; dropped while waiting, it
/// leaves a task that commits the batch if nobody else has.
struct Pending {
    group: Option<Arc<GroupCommit>>,
    id: u64,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(group) = self.group.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(group.finish_if_open(self.id));
        }
    }
}

impl Drop for Member {
    /// Not committed (an error, an early return, a cancelled request): roll
    /// this write back to its savepoint, keeping its neighbours' work. When
    /// no neighbour waits, the empty batch ends. When the rollback fails the
    /// batch is in doubt and fails as a whole.
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            if let Some(batch) = guard.batch.take() {
                let _ = batch.done.send(Some(Err((
                    ErrorCode::Unavailable,
                    "the writer stopped; this write was not committed".into(),
                ))));
                batch.tx.discard();
            }
            return;
        };
        let savepoint = self.savepoint.take();
        rt.spawn(async move {
            let Some(batch) = guard.batch.as_mut() else {
                return;
            };
            let Some(name) = savepoint else {
                // Cancelled while making its savepoint: a batch nobody was
                // released into ends here; otherwise its waiting members
                // commit it (a savepoint left behind holds no changes).
                if batch.members == 0
                    && let Some(batch) = guard.batch.take()
                {
                    let _ = batch.tx.rollback().await;
                }
                return;
            };
            let undo = async {
                batch
                    .tx
                    .execute(format!("ROLLBACK TO SAVEPOINT {name}").as_str())
                    .await?;
                batch
                    .tx
                    .execute(format!("RELEASE SAVEPOINT {name}").as_str())
                    .await
            }
            .await;
            match undo {
                Err(e) => {
                    crate::error::log_db_error("ROLLBACK TO SAVEPOINT", &e);
                    poison(&mut guard, &e);
                }
                Ok(_) if batch.members == 0 => {
                    if let Some(batch) = guard.batch.take() {
                        let _ = batch.tx.rollback().await;
                    }
                }
                Ok(_) => {}
            }
        });
    }
}

impl std::ops::Deref for Member {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.tx()
    }
}

impl std::ops::DerefMut for Member {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.tx_mut()
    }
}
