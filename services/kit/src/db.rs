//! Store pools for SQLite (embedded) and PostgreSQL, and per-service migrations.
//!
//! Both backends go through `sqlx::Any` with portable SQL: `$n` placeholders,
//! TEXT for ids, instants and dates, BIGINT for numbers and flags. SQLite gets
//! a single-connection write pool (one writer, no `SQLITE_BUSY` under load)
//! beside a read pool; PostgreSQL uses one pool for both. On PostgreSQL each
//! service of each region lives in its own schema (`search_path`).

use crate::config::SqliteSync;
use crate::error::{KitError, describe_db_error};
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
    /// SQLite's group commit on the writer (ADR 0020); None: off, or
    /// PostgreSQL.
    pub(crate) group: Option<std::sync::Arc<crate::group::GroupCommit>>,
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
    /// For messages: the SQLite file, or the PostgreSQL schema (never the
    /// URL, which may carry a password).
    pub fn describe(&self) -> String {
        match self {
            DbTarget::SqliteFile(path) => format!("SQLite file {}", path.display()),
            DbTarget::Postgres { schema, .. } => format!("PostgreSQL schema {schema}"),
        }
    }

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

/// Every SQLite connection's settings; `synchronous` is added per pool.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32000; \
     PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;";

/// How a store is opened; [`Default`] is the durable, checked setting.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Pool size for reads (SQLite) or everything (PostgreSQL).
    pub max_connections: Option<u32>,
    /// The SQLite writer's `synchronous` (readers never write).
    pub sqlite_synchronous: SqliteSync,
    /// `PRAGMA quick_check` before the pools open; a damaged file is refused.
    pub check_on_start: bool,
    /// A WAL larger than this is checkpointed and emptied on the writer.
    pub wal_truncate_bytes: u64,
    /// SQLite: writes per group commit at most (ADR 0020); 1 = off.
    pub sqlite_group_commit: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: None,
            sqlite_synchronous: SqliteSync::Full,
            check_on_start: true,
            wal_truncate_bytes: 64 * 1024 * 1024,
            sqlite_group_commit: crate::group::DEFAULT_GROUP_COMMIT,
        }
    }
}

impl From<&crate::config::DatabaseConfig> for StoreOptions {
    fn from(cfg: &crate::config::DatabaseConfig) -> Self {
        StoreOptions {
            max_connections: cfg.max_connections,
            sqlite_synchronous: cfg.sqlite_synchronous,
            check_on_start: cfg.check_on_start,
            sqlite_group_commit: cfg.sqlite_group_commit,
            ..StoreOptions::default()
        }
    }
}

/// Data at rest is the authority's and nobody else's on the machine: the
/// directories that hold stores, keys and checkpoints are 0700, the files
/// 0600.
pub fn create_private_dir(dir: &Path) -> Result<(), KitError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| KitError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    restrict(dir, 0o700)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), KitError> {
    use std::os::unix::fs::PermissionsExt;
    // Only when needed: a read-only volume must fail on the store's own
    // check, with its code, not here.
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o777 == mode
    {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| KitError::Internal(format!("cannot restrict {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<(), KitError> {
    Ok(())
}

/// `<path><suffix>`: a SQLite file's companions (`-wal`, `-shm`).
fn companion(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// The SQLite file and its WAL companions, where they exist, made 0600.
fn restrict_sqlite_files(path: &Path) -> Result<(), KitError> {
    for file in ["", "-wal", "-shm"].map(|suffix| companion(path, suffix)) {
        if file.exists() {
            restrict(&file, 0o600)?;
        }
    }
    Ok(())
}

/// Before any pool opens: one direct connection proves the file is a
/// database and is not damaged (that it can be written, the probe write after
/// the migrations proves: see [`Store::open_with`]). A bad file is refused now,
/// with the file and the cause named, instead of after the pool's 30 s of
/// connect retries ending in "pool timed out".
async fn check_sqlite_file(
    path: &Path,
    connect: &AnyConnectOptions,
    integrity: bool,
) -> Result<(), KitError> {
    use sqlx::ConnectOptions;
    let fail = |what: &str, cause: String| {
        KitError::Internal(format!("SQLite file {}: {what}: {cause}", path.display()))
    };
    let mut conn = tokio::time::timeout(Duration::from_secs(10), connect.connect())
        .await
        .map_err(|_| fail("cannot be opened", "timed out after 10 s".into()))?
        .map_err(|e| fail("cannot be opened", describe_db_error(&e)))?;
    let result = async {
        conn.execute(SQLITE_PRAGMAS)
            .await
            .map_err(|e| fail("is not a usable database", describe_db_error(&e)))?;
        if integrity {
            let problems = quick_check(&mut conn)
                .await
                .map_err(|e| fail("integrity check could not run", describe_db_error(&e)))?;
            if !problems.is_empty() {
                return Err(fail(
                    "failed its integrity check (restore it from a backup; see docs/operations.md)",
                    problems.join("; "),
                ));
            }
        }
        Ok(())
    }
    .await;
    let _ = sqlx::Connection::close(conn).await;
    result
}

/// `PRAGMA quick_check`: the problems it lists (none when the file is sound).
async fn quick_check(conn: &mut sqlx::AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    check_pragma(conn, "PRAGMA quick_check(20)").await
}

/// `quick_check` or `integrity_check`: the first 20 problems, each cut to 200 characters.
async fn check_pragma(
    conn: &mut sqlx::AnyConnection,
    pragma: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(pragma).fetch_all(&mut *conn).await?;
    let lines = rows
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lines
        .into_iter()
        .filter(|l| l != "ok")
        .map(|l| l.chars().take(200).collect())
        .collect())
}

/// WAL checkpoints run here, off the write path, instead of inside whichever
/// commit crosses the threshold (which would stall that writer and every
/// read waiting for its audit entry): a PASSIVE one on a reader every
/// 500 ms. Under a steady stream of writes a PASSIVE checkpoint never
/// catches up with the writer (frames are appended while it copies), so the
/// WAL is never restarted and grows without bound: `bench registry` grew it
/// to 1.2 GB in 20 s beside a 43 MB database. So when the WAL passes
/// `truncate_at` bytes, a TRUNCATE checkpoint runs on the *writer*
/// connection, between two writes: it copies what is left, waits for
/// readers on older snapshots, and empties the file (a pause of the writer
/// of a few milliseconds per MiB copied).
fn spawn_checkpointer(read: AnyPool, write: AnyPool, wal: std::path::PathBuf, truncate_at: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if read.is_closed() || write.is_closed() {
                return;
            }
            let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            let (pool, pragma) = if size > truncate_at {
                (&write, "PRAGMA wal_checkpoint(TRUNCATE)")
            } else {
                (&read, "PRAGMA wal_checkpoint(PASSIVE)")
            };
            if let Err(e) = pool.execute(pragma).await {
                tracing::debug!(error = %e, pragma, "WAL checkpoint skipped");
            }
        }
    });
}

impl Store {
    /// Open (creating if needed) and migrate, with the default (durable,
    /// checked) options and `max_connections`.
    pub async fn open(
        target: &DbTarget,
        max_connections: Option<u32>,
        migrations: &[&[Migration]],
    ) -> Result<Store, KitError> {
        let options = StoreOptions {
            max_connections,
            ..StoreOptions::default()
        };
        Self::open_with(target, &options, migrations).await
    }

    /// Open (creating if needed), migrate, and prove the writer can commit.
    pub async fn open_with(
        target: &DbTarget,
        options: &StoreOptions,
        migrations: &[&[Migration]],
    ) -> Result<Store, KitError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let store = match target {
            DbTarget::SqliteFile(path) => Self::open_sqlite(path, options).await?,
            DbTarget::Postgres { url, schema } => {
                Self::open_postgres(url, schema, options.max_connections).await?
            }
        };
        store.migrate(migrations).await?;
        store.probe_write().await.map_err(|e| {
            KitError::Internal(format!("{} cannot commit a write: {e}", target.describe()))
        })?;
        Ok(store)
    }

    async fn open_sqlite(path: &Path, options: &StoreOptions) -> Result<Store, KitError> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let opts = AnyConnectOptions::from_str(&url)?;
        check_sqlite_file(path, &opts, options.check_on_start).await?;
        restrict_sqlite_files(path)?;
        let pool = |n: u32, synchronous: &'static str| {
            let pragmas: std::sync::Arc<str> =
                format!("{SQLITE_PRAGMAS} PRAGMA synchronous = {synchronous};").into();
            AnyPoolOptions::new()
                .max_connections(n)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                // An embedded file does not drop connections; a ping before
                // every acquire is a round trip to the connection's thread.
                .test_before_acquire(false)
                .after_connect(move |conn, _| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        conn.execute(&*pragmas).await?;
                        Ok(())
                    })
                })
                .connect_with(opts.clone())
        };
        // The writer first, so WAL mode is set before readers attach. Its
        // `synchronous` decides whether an acknowledged commit is on disk
        // (FULL) or may be lost to a power cut (NORMAL); readers never write
        // (checkpoints sync the WAL and the file whatever the setting).
        let write = pool(1, options.sqlite_synchronous.pragma()).await?;
        let read = pool(options.max_connections.unwrap_or(8), "NORMAL").await?;
        spawn_checkpointer(
            read.clone(),
            write.clone(),
            companion(path, "-wal"),
            options.wal_truncate_bytes,
        );
        let group = (options.sqlite_group_commit > 1).then(|| {
            std::sync::Arc::new(crate::group::GroupCommit::new(options.sqlite_group_commit))
        });
        Ok(Store {
            read,
            write,
            backend: Backend::Sqlite,
            audit_key: None,
            group,
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
            group: None,
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
        let mut tx = self.begin_tx().await?;
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

    /// The writer's group commit (SQLite with `sqlite_group_commit` > 1).
    pub fn group_commit(&self) -> Option<&crate::group::GroupCommit> {
        self.group.as_deref()
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Commit a one-row write through the writer: proves a commit reaches
    /// the store now (a full disk, a read-only file, a lost primary fail it).
    pub async fn probe_write(&self) -> Result<(), KitError> {
        let mut tx = self.begin_tx().await?;
        sqlx::query("UPDATE store_probe SET probed_at = $1 WHERE id = 1")
            .bind(crate::dates::now_text())
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The store's consistency problems (none when it is sound). Quick (the
    /// running service's schedule): SQLite's `PRAGMA quick_check`, every page
    /// and index; on PostgreSQL, which checks its pages itself, a round trip.
    /// Thorough (`samling store check`): SQLite's `PRAGMA integrity_check`
    /// (also compares every index with its table); on PostgreSQL whether data
    /// checksums are on (off, damaged pages would go unnoticed). On a read
    /// connection.
    pub async fn integrity(&self, thorough: bool) -> Result<Vec<String>, KitError> {
        let mut conn = self.read.acquire().await?;
        match (self.backend, thorough) {
            (Backend::Sqlite, false) => Ok(quick_check(&mut conn).await?),
            (Backend::Sqlite, true) => {
                Ok(check_pragma(&mut conn, "PRAGMA integrity_check(20)").await?)
            }
            (Backend::Postgres, false) => {
                conn.execute("SELECT 1").await?;
                Ok(Vec::new())
            }
            (Backend::Postgres, true) => {
                let on: String = sqlx::query("SHOW data_checksums")
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                Ok(if on == "on" {
                    Vec::new()
                } else {
                    vec![
                        "data_checksums is off: initialise the cluster with --data-checksums"
                            .into(),
                    ]
                })
            }
        }
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
        name: "kit/0003_store_probe",
        sql: include_str!("../migrations/0003_store_probe.sql"),
    },
    Migration {
        name: "kit/0004_audit_keyed",
        sql: include_str!("../migrations/0004_audit_keyed.sql"),
    },
    Migration {
        name: "kit/0005_idempotency_created",
        sql: include_str!("../migrations/0005_idempotency_created.sql"),
    },
    Migration {
        name: "kit/0006_consumer_dead_letters",
        sql: include_str!("../migrations/0006_consumer_dead_letters.sql"),
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
