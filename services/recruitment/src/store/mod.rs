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
pub mod form_nonces;

pub use samling_kit::docstore::{Docs, Filter, Value, like_escape};

/// Store faults reach the caller as kit's database error; the domain knows
/// nothing of sqlx.
impl From<sqlx::Error> for RecruitmentError {
    fn from(e: sqlx::Error) -> Self {
        RecruitmentError::Kit(KitError::Database(e))
    }
}
