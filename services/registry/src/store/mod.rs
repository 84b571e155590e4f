//! SQL for the register (portable across SQLite and PostgreSQL via
//! `sqlx::Any`), one module per aggregate: every query the service runs is a
//! named function here.
//!
//! Each record is kept whole as `doc` (base64 protobuf, kit's
//! [`samling_kit::docstore`]) next to the columns queries filter on.
//! Functions take any executor: the read pool, or the connection of a
//! [`samling_kit::tx::WriteTx`]. Filters in SQL only narrow what the
//! domain's rules then decide (see `domain/`); the registry's tests check
//! that both agree.

use crate::domain::RegistryError;
use samling_kit::error::KitError;

pub mod agencies;
pub mod cache;
pub mod children;
pub mod decisions;
pub mod flags;
pub mod homes;
pub mod notices;
pub mod ombud;
pub mod placements;
pub mod regions;
pub mod requests;
pub mod statistics;
pub mod units;

pub use samling_kit::docstore::{Docs, Filter, Value, like_escape};

/// Store faults reach the caller as kit's database error (the one mapping
/// to gRPC codes); the domain knows nothing of sqlx.
impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        RegistryError::Kit(KitError::Database(e))
    }
}

/// `page.after` for an `id > $n` bound ("" on the first page).
pub(crate) fn after(page: &samling_kit::paging::Page) -> String {
    page.after.clone().unwrap_or_default()
}

/// Store-test support: the registry's migrated store on every test backend.
#[cfg(test)]
pub(crate) mod testing {
    use samling_kit::db::Store;
    use samling_testkit::backend::{Backend, store_backends};

    /// One migrated registry store per backend (SQLite, and PostgreSQL when
    /// `SAMLING_TEST_DATABASE_URL` is set), named for failures; keep the
    /// backend alive while the store is used.
    pub async fn stores() -> Vec<(String, Store, Backend)> {
        let mut out = Vec::new();
        for b in store_backends() {
            let (store, _) = b
                .store("registry_store", Some(2), &[crate::MIGRATIONS])
                .await;
            out.push((b.name.clone(), store, b));
        }
        out
    }

    /// Ids of records, sorted (the stores list in id order; the domain's
    /// sets are compared the same way).
    pub fn ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        let mut v: Vec<String> = ids.into_iter().cloned().collect();
        v.sort();
        v
    }
}
