//! kit's integration tests, one binary (one link on a 2-core machine):
//! stores on every backend, the event consumer, OTLP export, TLS reload.

mod common;
mod consumer;
mod docstore;
mod otlp;
mod service;
mod store;
mod tls_reload;
