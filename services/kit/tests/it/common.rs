//! Shared support for kit's store tests: one fresh, migrated store per
//! backend of the test kit (SQLite always, PostgreSQL when
//! `SAMLING_TEST_DATABASE_URL` is set), keyed as a service's store is.

#![allow(dead_code)]

use samling_kit::audit::{self, AuditRecord, ChainKey};
use samling_kit::db::{DbTarget, Migration, Store};
use samling_testkit::Backend;
use sqlx::Row;

/// A migrated store, its target (to reopen it) and the guard keeping its
/// SQLite directory alive.
pub struct TestStore {
    pub store: Store,
    pub target: DbTarget,
    /// The store's audit chain key (each test store has its own).
    pub key: ChainKey,
    /// Keeps the run's SQLite directory.
    _backend: Backend,
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
    for backend in samling_testkit::store_backends() {
        let (store, target) = backend.store("kit", None, sets).await;
        let key = ChainKey::generate().unwrap();
        let store = audit::with_key(store, key.clone(), None).await.unwrap();
        out.push(TestStore {
            store,
            target,
            key,
            _backend: backend,
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
