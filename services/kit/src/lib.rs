//! Shared plumbing for every Samling service.
//!
//! Each module owns one cross-cutting concern (DESIGN.md §4): configuration,
//! telemetry, stores and migrations, the document store (ADR 0003), the
//! error → `tonic::Status` mapping, the signed auth context, the
//! hash-chained audit log, the transactional outbox and its event feed, gRPC
//! health/reflection, paging, ids, money, personnummer and the reference
//! data (municipalities, counties, regions).
#![forbid(unsafe_code)]

pub mod accesslog;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod client;
pub mod config;
pub mod consumer;
pub mod dates;
pub mod db;
pub mod disclosure;
pub mod docstore;
pub mod error;
pub mod group;
pub mod grpc;
pub mod health;
pub mod idempotency;
pub mod ids;
pub mod logwriter;
pub mod metrics;
pub mod module;
pub mod money;
pub mod outbox;
pub mod paging;
pub mod personnummer;
pub mod reference;
pub mod service;
pub mod statistics;
pub mod telemetry;
pub mod tls;
pub mod tx;
pub mod x509;

pub use error::{ErrorCode, ServiceError};
