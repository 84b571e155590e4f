//! Shared support for kit's store tests: one fresh, migrated store per
//! backend (SQLite always, PostgreSQL when `SAMLING_TEST_DATABASE_URL` is set).

#![allow(dead_code)]

use samling_kit::audit::{self, AuditRecord, ChainKey};
use samling_kit::db::testing::tempfile_dir::TempDirGuard;
use samling_kit::db::{DbTarget, Migration, Store, testing};
use sqlx::Row;

/// A migrated store, its target (to reopen it) and the guard keeping its
/// SQLite directory alive.
pub struct TestStore {
    pub store: Store,
    pub target: DbTarget,
    /// The store's audit chain key (each test store has its own).
    pub key: ChainKey,
    _dir: Option<TempDirGuard>,
}

impl TestStore {
    /// Which backend, for assertion messages.
    pub fn name(&self) -> &'static str {
        match self.store.backend {
            samling_kit::db::Backend::Sqlite => "sqlite",
            samling_kit::db::Backend::Postgres => "postgres",
        }
    }

    /// Open the same database again, with the same chain key, as a
    /// restarted service does.
    pub async fn reopen(&self, sets: &[&[Migration]]) -> Store {
        let store = Store::open(&self.target, None, sets).await.unwrap();
        audit::with_key(store, self.key.clone(), None)
            .await
            .unwrap()
    }
}

/// Fresh stores on every test backend, migrated with kit's tables and `sets`.
pub async fn stores(sets: &[&[Migration]]) -> Vec<TestStore> {
    let mut out = Vec::new();
    for (target, dir) in testing::test_targets("kit") {
        let store = Store::open(&target, None, sets)
            .await
            .unwrap_or_else(|e| panic!("open {target:?}: {e:?}"));
        let key = ChainKey::generate().unwrap();
        let store = audit::with_key(store, key.clone(), None).await.unwrap();
        out.push(TestStore {
            store,
            target,
            key,
            _dir: dir,
        });
    }
    out
}

/// A small service table, applied after kit's own migrations.
pub const WIDGETS: &[Migration] = &[Migration {
    name: "test/0001_widgets",
    sql: "CREATE TABLE widgets (id TEXT PRIMARY KEY, n BIGINT NOT NULL);",
}];

pub fn record(subject: &str, action: &str, record_id: &str) -> AuditRecord {
    AuditRecord {
        subject: subject.into(),
        role: "municipality_caseworker".into(),
        municipality: "0180".into(),
        action: action.into(),
        record_type: "widget".into(),
        record_id: record_id.into(),
        purpose: "test".into(),
        ..AuditRecord::default()
    }
}

/// One number from the store (`SELECT COUNT(*) ...`, a seq, ...).
pub async fn scalar(store: &Store, sql: &str) -> i64 {
    let row = sqlx::query(sql)
        .fetch_one(&store.read)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.try_get(0).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// `(audit_seq, event_seq)` of the chain head.
pub async fn heads(store: &Store) -> (i64, i64) {
    let row = sqlx::query("SELECT audit_seq, event_seq FROM chain_head WHERE id = 1")
        .fetch_one(&store.read)
        .await
        .unwrap();
    (row.try_get(0).unwrap(), row.try_get(1).unwrap())
}

// ------------------------------------------------------------ own process

/// Runs the calling test alone in a process of its own, for a test that
/// installs per-process globals (the tracing subscriber, the OpenTelemetry
/// tracer and meter providers) and counts what they collect: in a shared
/// test binary other tests would add their spans and metrics.
///
/// Returns `true` where the test's body is to run (the child process, or
/// every test under nextest, which already gives each test a process);
/// `false` in the parent once the child ran exactly that test and passed.
/// A failing child fails the test with the child's output.
pub fn in_own_process() -> bool {
    const CHILD: &str = "SAMLING_TEST_OWN_PROCESS";
    // libtest runs each test on a thread named after it.
    let name = std::thread::current()
        .name()
        .expect("called from a test's thread (libtest names it after the test)")
        .to_string();
    if std::env::var(CHILD).as_deref() == Ok(name.as_str())
        || std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test")
    {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([name.as_str(), "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, &name)
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name} in its own process: {}\n{stdout}\n{stderr}",
        out.status
    );
    false
}
