//! The one loop over backends. Every store-using test runs on SQLite (and
//! the gateway's in-process limits) always, and once more on PostgreSQL
//! and/or Redis when `SAMLING_TEST_DATABASE_URL` / `SAMLING_TEST_REDIS_URL`
//! are set (CI sets both).
//!
//! Each store a test opens is its own: a new SQLite file in the run's
//! temporary directory, or a new PostgreSQL schema (`t_<service>_<uuid>`),
//! dropped once the run has passed (a failed run keeps it to look at; CI
//! drops leftovers before it starts).

use futures::FutureExt;
use samling_kit::db::{DbTarget, Migration, Store, schema_name};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The PostgreSQL server for tests (a URL; empty means none).
pub const DATABASE_URL_VAR: &str = "SAMLING_TEST_DATABASE_URL";
/// The Redis server for tests (a URL; empty means none).
pub const REDIS_URL_VAR: &str = "SAMLING_TEST_REDIS_URL";

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|u| !u.trim().is_empty())
}

/// `SAMLING_TEST_DATABASE_URL`, when set.
pub fn database_url() -> Option<String> {
    env_url(DATABASE_URL_VAR)
}

/// `SAMLING_TEST_REDIS_URL`, when set.
pub fn redis_url() -> Option<String> {
    env_url(REDIS_URL_VAR)
}

/// Where one run of a test keeps its stores and limits.
#[derive(Clone, Debug)]
pub struct Backend {
    /// e.g. "sqlite+memory", "postgres+redis"; named in failures.
    pub name: String,
    pub postgres: Option<String>,
    pub redis: Option<String>,
    /// SQLite files of this run.
    dir: Arc<tempfile::TempDir>,
    /// PostgreSQL schemas to drop once the run has passed.
    schemas: Arc<Mutex<Vec<(Store, String)>>>,
}

impl Backend {
    fn new(postgres: Option<String>, redis: Option<String>) -> Backend {
        Backend {
            name: format!(
                "{}+{}",
                if postgres.is_some() {
                    "postgres"
                } else {
                    "sqlite"
                },
                if redis.is_some() { "redis" } else { "memory" }
            ),
            postgres,
            redis,
            dir: Arc::new(tempfile::tempdir().expect("a temporary directory")),
            schemas: Arc::default(),
        }
    }

    /// The database of this run: "sqlite" or "postgres".
    pub fn database(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// A database for `service` that nothing else uses: a new SQLite file
    /// in this run's directory, or a new PostgreSQL schema.
    pub fn target(&self, service: &str) -> DbTarget {
        let id = uuid::Uuid::now_v7().simple().to_string();
        match &self.postgres {
            None => DbTarget::SqliteFile(self.dir.path().join(format!("{service}-{id}.db"))),
            Some(url) => DbTarget::Postgres {
                url: url.clone(),
                schema: schema_name("t_", service, &id),
            },
        }
    }

    /// Open and migrate (kit's tables, then `sets`) a fresh store for
    /// `service`; returns it and its target, to open it again as a
    /// restarted service does.
    pub async fn store(
        &self,
        service: &str,
        max_connections: Option<u32>,
        sets: &[&[Migration]],
    ) -> (Store, DbTarget) {
        let target = self.target(service);
        let store = Store::open(&target, max_connections, sets)
            .await
            .unwrap_or_else(|e| panic!("[{}] open {}: {e}", self.name, target.describe()));
        if let DbTarget::Postgres { schema, .. } = &target {
            self.schemas
                .lock()
                .expect("schemas")
                .push((store.clone(), schema.clone()));
        }
        (store, target)
    }

    /// Drop the PostgreSQL schemas this run made and close their stores.
    async fn clean_up(&self) {
        let schemas = std::mem::take(&mut *self.schemas.lock().expect("schemas"));
        for (store, schema) in schemas {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&store.write)
                .await;
            store.close().await;
        }
    }
}

/// SQLite with in-process limits, and, when configured, a second run on
/// PostgreSQL and/or Redis.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::new(None, None)];
    let (postgres, redis) = (database_url(), redis_url());
    if postgres.is_some() || redis.is_some() {
        out.push(Backend::new(postgres, redis));
    }
    out
}

/// The backends of tests of stores alone (Redis plays no part): SQLite,
/// and PostgreSQL when configured.
pub fn store_backends() -> Vec<Backend> {
    let mut out = backends();
    out.retain(|b| b.postgres.is_some() || b.redis.is_none());
    for b in &mut out {
        b.name = b.database().into();
    }
    out
}

/// Run `test` once per backend of [`backends`]. A failure names the
/// backend; a passing run leaves nothing behind on the shared PostgreSQL.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    run_on(backends(), test).await
}

/// [`for_each_backend`] over [`store_backends`].
pub async fn for_each_store_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    run_on(store_backends(), test).await
}

async fn run_on<F, Fut>(list: Vec<Backend>, test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in list {
        // Not spawned: sqlx's store futures cannot be proven `Send` there.
        let outcome = std::panic::AssertUnwindSafe(test(backend.clone()))
            .catch_unwind()
            .await;
        if let Err(p) = outcome {
            let message = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-text panic)".into());
            panic!("[{}] {message}", backend.name);
        }
        backend.clean_up().await;
    }
}
