//! Generated protobuf and gRPC types for every Samling service.
//!
//! The `.proto` files under `proto/samling/` are the contract; this crate only
//! compiles them (see `build.rs`), one module per package: a new service's
//! `.proto` under `proto/samling/<service>/<version>/` needs no edit here.
#![forbid(unsafe_code)]
#![allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]

// `pub mod <service> { pub mod <version> { … } }` for every package under
// `proto/samling/` (`common::v1`, `registry::v1`, …), made by build.rs.
include!(concat!(env!("OUT_DIR"), "/samling_packages.rs"));

// `Date` in JSON is an ISO 8601 string: its serde impl (pbjson's is excluded).
mod date_json;

/// Encoded `FileDescriptorSet` of every Samling proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/samling_descriptor.bin"));
