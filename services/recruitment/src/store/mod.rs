//! SQL for recruitment (portable across SQLite and PostgreSQL via
//! `sqlx::Any`), one module per aggregate: every query the service runs is a
//! named function here. Each record is kept whole as `doc` (kit's
//! [`samling_kit::docstore`]) next to the columns queries filter on.
//! Functions take any executor: the read pool, or a write transaction's
//! connection.

use crate::domain::RecruitmentError;
use samling_kit::error::KitError;

pub mod campaigns;
pub mod cases;
pub mod closing;
pub mod courses;
pub mod form_nonces;
pub mod funnel;
pub mod matching;
pub mod meetings;
pub mod mentors;
pub mod needs;
pub mod support;

pub use samling_kit::docstore::{Docs, Filter, Value, like_escape};

/// Store faults reach the caller as kit's database error; the domain knows
/// nothing of sqlx.
impl From<sqlx::Error> for RecruitmentError {
    fn from(e: sqlx::Error) -> Self {
        RecruitmentError::Kit(KitError::Database(e))
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
