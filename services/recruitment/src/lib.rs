//! The recruitment service: from a public inquiry to an approved home, with
//! training, the standard investigation, the network-home track and support
//! after approval (DESIGN.md §5 "recruitment", docs/recruitment.md).
//!
//! So far the pure rules ([`domain`]); the store, the gRPC service and the
//! gateway routes are built on the platform skeleton.
#![forbid(unsafe_code)]

pub mod domain;
