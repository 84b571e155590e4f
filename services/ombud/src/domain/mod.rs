//! Ombud's pure rules: the case state machine and valid input ([`cases`]),
//! the balancing of assignments ([`assign`]), working days ([`calendar`])
//! and the one error type. No I/O.

pub mod assign;
pub mod calendar;
pub mod cases;
mod error;
pub mod follow_up;

pub use error::OmbudError;
