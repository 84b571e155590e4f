//! The recruitment service: recruitment, training, supervision and the
//! national matching standard (DESIGN.md §5).
//!
//! * `matching/` — the matching core: needs profiles, hard constraints, the
//!   weighted and explained score, the in-memory read model of the
//!   registry's homes, night mode, follow-up and information packages. Pure
//!   (no I/O); the gRPC service and store wrap it.
#![forbid(unsafe_code)]

pub mod matching;
