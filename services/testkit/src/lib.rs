//! Test support for Samling's crates; a dev-dependency only, never linked
//! into a service or the binary.
//!
//! * [`backend`] — the one loop over backends: SQLite (and in-process
//!   limits) always, PostgreSQL and Redis when `SAMLING_TEST_DATABASE_URL`
//!   and `SAMLING_TEST_REDIS_URL` are set; fresh stores per test;
//! * [`server`] — a service spawned on kit's production server builder;
//! * [`people`] — synthetic personnummer (valid, made up);
//! * [`callers`] — the auth context of each role;
//! * [`http`] — an HTTP/1.1 client that shows what went over the wire;
//! * [`otlp`] — an in-process OTLP collector;
//! * [`in_own_process`] — for a test that installs per-process globals.
#![forbid(unsafe_code)]

pub mod backend;
pub mod callers;
pub mod http;
pub mod otlp;
pub mod people;
mod process;
pub mod python;
pub mod server;

pub use backend::{Backend, backends, for_each_backend, for_each_store_backend, store_backends};
pub use process::in_own_process;
