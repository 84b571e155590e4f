//! SQL for portfolio (portable across SQLite and PostgreSQL via
//! `sqlx::Any`): the portfolios kept whole as `doc` (kit's
//! [`samling_kit::docstore`]) and the placements that give homes access.
//! Functions take any executor: the read pool, or a write transaction's
//! connection.

use crate::domain::PortfolioError;
use samling_kit::error::KitError;

pub mod credentials;
pub mod deadlines;
pub mod home_access;
pub mod ombud_access;
pub mod portfolios;

pub use samling_kit::docstore::{Docs, Value};

/// Store faults reach the caller as kit's database error; the domain knows
/// nothing of sqlx.
impl From<sqlx::Error> for PortfolioError {
    fn from(e: sqlx::Error) -> Self {
        PortfolioError::Kit(KitError::Database(e))
    }
}
