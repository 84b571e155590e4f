//! The recruitment service: from a public inquiry to an approved home, with
//! training, the standard investigation, the network-home track, support
//! after approval, and the national matching standard (DESIGN.md §5
//! "recruitment", docs/recruitment.md, docs/matching.md).
//!
//! * `domain/` — the pipeline's pure rules;
//! * `matching/` — the matching core: needs profiles, hard constraints, the
//!   weighted and explained score, the in-memory read model of the
//!   registry's homes, night mode, follow-up and information packages.
//!
//! Both are pure (no I/O); the store, the gRPC service and the gateway
//! routes are built on the platform skeleton.
#![forbid(unsafe_code)]

pub mod domain;
pub mod matching;
