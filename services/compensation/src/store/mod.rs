//! SQL for compensation (portable across SQLite and PostgreSQL via
//! `sqlx::Any`), one module per aggregate: every query the service runs is a
//! named function here. Each record is kept whole as `doc` (kit's
//! [`samling_kit::docstore`]) next to the columns queries filter on.
//! Functions take any executor: the read pool, or a write transaction's
//! connection.

use crate::domain::CompensationError;
use samling_kit::error::KitError;

pub mod agreements;
pub mod claims;
pub mod costs;
pub mod ledger;
pub mod payments;
pub mod placements;
pub mod schedules;

pub use samling_kit::docstore::{Docs, Filter, Value};

/// Store faults reach the caller as kit's database error; the domain knows
/// nothing of sqlx.
impl From<sqlx::Error> for CompensationError {
    fn from(e: sqlx::Error) -> Self {
        CompensationError::Kit(KitError::Database(e))
    }
}

/// The last key of the previous page ("" for the first page).
pub(crate) fn after(page: &samling_kit::paging::Page) -> String {
    page.after.clone().unwrap_or_default()
}

/// A date column's text (`YYYY-MM-DD`, "" when unset).
pub(crate) fn day_text(d: Option<&samling_proto::common::v1::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}
