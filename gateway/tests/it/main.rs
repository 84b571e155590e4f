//! The gateway's integration tests, one binary (one link on a 2-core
//! machine): real registries behind the real gateway, over TCP.

mod common;
#[path = "../../../services/kit/tests/it/otlp/collector.rs"]
mod otlp;

mod http;
mod limits;
mod matrix;
mod regions;
mod trace;
