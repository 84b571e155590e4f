//! The national matching standard (issue 20; DESIGN.md §5 "recruitment";
//! docs/matching.md, docs/adr/0019-matching-standard.md).
//!
//! * [`profile`] — a child's or a sibling group's needs profile, validated;
//! * [`model`] — the in-memory read model of the registry's homes, fed by
//!   its event feed (upsert by version, cursors, snapshot, memory report);
//! * [`constraints`] — the hard constraints, one function each;
//! * [`score`] — the weighted score per criterion and its explanation;
//! * [`rank`] — ranking, kinship first, five homes of different kinds,
//!   exclusion counts, night mode, the merge of regional answers;
//! * [`config`] — weights and tag maps, versioned (`default.toml`);
//! * [`followup`] — proposals, choices, outcomes, outcome by rank;
//! * [`packages`] — the child's "CV" and the home's presentation;
//! * [`convert`] — domain values to `samling.recruitment.v1` messages;
//! * [`bench`] — the `samling bench matching` micro-benchmark.
//!
//! Pure: no I/O, no clock (the day is passed in).

pub mod bench;
pub mod bits;
pub mod config;
pub mod constraints;
pub mod convert;
pub mod error;
pub mod followup;
pub mod geo;
pub mod model;
pub mod packages;
pub mod profile;
pub mod rank;
pub mod score;

#[cfg(test)]
mod tests;

pub use config::MatchingConfig;
pub use error::MatchingError;
pub use model::ReadModel;
pub use profile::Profile;
pub use rank::{RankOptions, Ranking};

/// The most children a home can be approved for (as the registry).
pub const MAX_CAPACITY: i32 = 10;
