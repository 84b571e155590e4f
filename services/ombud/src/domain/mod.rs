//! Ombud's pure rules: the case state machine and valid input ([`cases`]),
//! the balancing of assignments ([`assign`]), working days ([`calendar`]), the user surveys'
//! questionnaire and suppression ([`surveys`])
//! and the one error type. No I/O.

pub mod assign;
pub mod calendar;
pub mod cases;
mod error;
pub mod follow_up;
pub mod surveys;

pub use error::OmbudError;
