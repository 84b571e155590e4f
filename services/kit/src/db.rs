//! Store pools for SQLite (embedded) and PostgreSQL, and per-service migrations.
//!
//! Both backends go through `sqlx::Any` with portable SQL: `$n` placeholders,
//! TEXT for ids, instants and dates, BIGINT for numbers and flags. SQLite gets
//! a single-connection write pool (one writer, no `SQLITE_BUSY` under load)
//! beside a read pool; PostgreSQL uses one pool for both. On PostgreSQL each
//! service of each region lives in its own schema (`search_path`).

use crate::error::KitError;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};
use std::path::Path;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One service's store: a read pool and a write pool (the same pool on PostgreSQL).
#[derive(Clone, Debug)]
pub struct Store {
    pub read: AnyPool,
    pub write: AnyPool,
    pub backend: Backend,
    /// Keys the audit chain ([`crate::audit::with_key`]); None: unkeyed.
    pub audit_key: Option<crate::audit::ChainKey>,
}

/// One migration: portable SQL run once, in a transaction, recorded by name.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Unique and ordered within its set, e.g. "registry/0001_init".
    pub name: &'static str,
    pub sql: &'static str,
}

/// Where a service's data lives.
#[derive(Debug, Clone)]
pub enum DbTarget {
    /// A SQLite file (created if missing).
    SqliteFile(std::path::PathBuf),
    /// A PostgreSQL URL and the schema to use (created if missing).
    Postgres { url: String, schema: String },
}

impl DbTarget {
    /// The conventional target for `service` in `region` under a config.
    pub fn for_service(cfg: &crate::config::Config, service: &str, region: &str) -> DbTarget {
        if cfg.database.url.is_empty() || cfg.database.url.starts_with("sqlite:") {
            DbTarget::SqliteFile(cfg.data_dir.join(region).join(format!("{service}.db")))
        } else {
            DbTarget::Postgres {
                url: cfg.database.url.clone(),
                schema: schema_name(&cfg.database.schema_prefix, service, region),
            }
        }
    }
}

/// A safe SQL identifier `<prefix><service>_<region>` (non-alphanumerics → `_`).
pub fn schema_name(prefix: &str, service: &str, region: &str) -> String {
    format!("{prefix}{service}_{region}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Bound parameters per multi-row INSERT statement: far under every
/// backend's limit (SQLite 32,766, PostgreSQL 65,535).
const INSERT_PARAMS: usize = 704;

/// A row's values bound onto a multi-row INSERT.
pub type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Insert `rows` with as few multi-row statements as the parameter budget
/// allows: `insert` is `INSERT INTO t (a, b, ...)` naming `columns`
/// columns, and `bind` binds one row's values in that order.
pub async fn insert_rows<T>(
    conn: &mut sqlx::AnyConnection,
    insert: &str,
    columns: usize,
    rows: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &T) -> AnyQuery<'q>,
) -> Result<(), sqlx::Error> {
    // SQLite: anonymous `?` parameters. sqlx looks each named one (`$7`) up
    // by number in SQLite's list of names, a linear scan per parameter, so a
    // 64-row batch of `$n` cost ~n²/2 steps on the one writer connection.
    let numbered = conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME;
    for chunk in rows.chunks((INSERT_PARAMS / columns.max(1)).max(1)) {
        let sql = format!(
            "{insert} VALUES {}",
            values_clause(chunk.len(), columns, numbered)
        );
        let mut q = sqlx::query(&sql);
        for row in chunk {
            q = bind(q, row);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `($1, $2), ($3, $4)`: the VALUES list of a multi-row insert of `rows`
/// rows of `columns` parameters each; `(?, ?), (?, ?)` unless `numbered`
/// (bound in the same order).
pub fn values_clause(rows: usize, columns: usize, numbered: bool) -> String {
    if !numbered {
        let row = format!("({})", vec!["?"; columns].join(", "));
        return vec![row; rows].join(", ");
    }
    let mut sql = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * columns + c + 1));
        }
        sql.push(')');
    }
    sql
}

static DRIVERS: Once = Once::new();

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32000; \
     PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;";

/// WAL checkpoints run here, off the write path, instead of inside whichever
/// commit crosses the threshold (which would stall that writer and every
/// read waiting for its audit entry).
fn spawn_checkpointer(pool: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(e) = pool.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
                tracing::debug!(error = %e, "WAL checkpoint skipped");
            }
        }
    });
}

impl Store {
    /// Open (creating if needed) and migrate.
    pub async fn open(
        target: &DbTarget,
        max_connections: Option<u32>,
        migrations: &[&[Migration]],
    ) -> Result<Store, KitError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let store = match target {
            DbTarget::SqliteFile(path) => Self::open_sqlite(path, max_connections).await?,
            DbTarget::Postgres { url, schema } => {
                Self::open_postgres(url, schema, max_connections).await?
            }
        };
        store.migrate(migrations).await?;
        Ok(store)
    }

    async fn open_sqlite(path: &Path, max: Option<u32>) -> Result<Store, KitError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| KitError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let opts = AnyConnectOptions::from_str(&url)?;
        let pool = |n: u32| {
            AnyPoolOptions::new()
                .max_connections(n)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                // An embedded file does not drop connections; a ping before
                // every acquire is a round trip to the connection's thread.
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_PRAGMAS).await?;
                        Ok(())
                    })
                })
                .connect_with(opts.clone())
        };
        // The writer first, so WAL mode is set before readers attach.
        let write = pool(1).await?;
        let read = pool(max.unwrap_or(8)).await?;
        spawn_checkpointer(read.clone());
        Ok(Store {
            read,
            write,
            backend: Backend::Sqlite,
            audit_key: None,
        })
    }

    async fn open_postgres(url: &str, schema: &str, max: Option<u32>) -> Result<Store, KitError> {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(KitError::invalid(
                "database.schema",
                "must be alphanumeric or _",
            ));
        }
        let opts = AnyConnectOptions::from_str(url)?;
        // Create the schema once, then pin every pooled connection to it.
        {
            let setup = AnyPoolOptions::new()
                .max_connections(1)
                .connect_with(opts.clone())
                .await?;
            setup
                .execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
                .await?;
            setup.close().await;
        }
        let set_path = format!("SET search_path TO \"{schema}\"");
        let pool = AnyPoolOptions::new()
            .max_connections(max.unwrap_or(16))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                let set_path = set_path.clone();
                Box::pin(async move {
                    conn.execute(set_path.as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        Ok(Store {
            read: pool.clone(),
            write: pool,
            backend: Backend::Postgres,
            audit_key: None,
        })
    }

    /// Apply kit's own tables, then each given set, in order. Already-applied
    /// migrations are checked against their checksum: an edited migration is
    /// an error, never silently skipped.
    pub async fn migrate(&self, sets: &[&[Migration]]) -> Result<(), KitError> {
        self.write
            .execute(
                "CREATE TABLE IF NOT EXISTS samling_migrations (\
                 name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .await?;
        let all = std::iter::once(KIT_MIGRATIONS).chain(sets.iter().copied());
        for set in all {
            for m in set {
                self.apply(m).await?;
            }
        }
        Ok(())
    }

    async fn apply(&self, m: &Migration) -> Result<(), KitError> {
        let checksum = hex::encode(Sha256::digest(m.sql.as_bytes()));
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            // Replicas starting together migrate one at a time.
            tx.execute("SELECT pg_advisory_xact_lock(727274)").await?;
        }
        let existing = sqlx::query("SELECT checksum FROM samling_migrations WHERE name = $1")
            .bind(m.name)
            .fetch_optional(&mut *tx)
            .await?;
        match existing {
            Some(row) => {
                let stored: String = row.try_get(0)?;
                if stored != checksum {
                    return Err(KitError::FailedPrecondition(format!(
                        "migration {} was changed after it was applied",
                        m.name
                    )));
                }
                tx.rollback().await?;
            }
            None => {
                sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO samling_migrations (name, checksum, applied_at) VALUES ($1, $2, $3)",
                )
                .bind(m.name)
                .bind(&checksum)
                .bind(crate::dates::now_text())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                tracing::info!(migration = m.name, "applied migration");
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Kit's tables, present in every service's store: audit chain, outbox,
/// idempotency records and event-consumer cursors.
pub const KIT_MIGRATIONS: &[Migration] = &[
    Migration {
        name: "kit/0001_init",
        sql: include_str!("../migrations/0001_kit.sql"),
    },
    Migration {
        name: "kit/0002_audit_index_head",
        sql: include_str!("../migrations/0002_audit_index_head.sql"),
    },
    Migration {
        name: "kit/0004_audit_keyed",
        sql: include_str!("../migrations/0004_audit_keyed.sql"),
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn a_values_clause_numbers_parameters_row_by_row() {
        assert_eq!(
            super::values_clause(2, 3, true),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(super::values_clause(2, 3, false), "(?, ?, ?), (?, ?, ?)");
    }
}

/// Store-test support: a fresh, migrated store on SQLite, and also on
/// PostgreSQL when `SAMLING_TEST_DATABASE_URL` is set (each test in its own
/// schema, dropped by nobody: names are unique per run).
pub mod testing {
    use super::*;

    /// The backends every store test must run on.
    pub fn test_targets(service: &str) -> Vec<(DbTarget, Option<tempfile_dir::TempDirGuard>)> {
        let mut out = Vec::new();
        let dir = tempfile_dir::TempDirGuard::new();
        out.push((
            DbTarget::SqliteFile(dir.path().join(format!("{service}.db"))),
            Some(dir),
        ));
        if let Ok(url) = std::env::var("SAMLING_TEST_DATABASE_URL")
            && !url.is_empty()
        {
            let schema = schema_name("t_", service, &crate::ids::new_id().simple().to_string());
            out.push((DbTarget::Postgres { url, schema }, None));
        }
        out
    }

    /// A tiny temp-dir guard so kit needs no `tempfile` at runtime.
    pub mod tempfile_dir {
        use std::path::{Path, PathBuf};

        #[derive(Debug)]
        pub struct TempDirGuard(PathBuf);

        impl TempDirGuard {
            pub fn new() -> Self {
                let p = std::env::temp_dir()
                    .join(format!("samling-test-{}", crate::ids::new_id().simple()));
                let _ = std::fs::create_dir_all(&p);
                TempDirGuard(p)
            }
            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Default for TempDirGuard {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Drop for TempDirGuard {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
