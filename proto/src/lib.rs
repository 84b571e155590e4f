//! Generated protobuf and gRPC types for every Samling service.
//!
//! The `.proto` files under `proto/samling/` are the contract; this crate only
//! compiles them (see `build.rs`).
#![forbid(unsafe_code)]
#![allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]

pub mod common {
    pub mod v1 {
        tonic::include_proto!("samling.common.v1");
        include!(concat!(env!("OUT_DIR"), "/samling.common.v1.serde.rs"));
    }
}

pub mod registry {
    pub mod v1 {
        tonic::include_proto!("samling.registry.v1");
        include!(concat!(env!("OUT_DIR"), "/samling.registry.v1.serde.rs"));
    }
}

pub mod recruitment {
    pub mod v1 {
        tonic::include_proto!("samling.recruitment.v1");
        include!(concat!(env!("OUT_DIR"), "/samling.recruitment.v1.serde.rs"));
    }
}

/// Encoded `FileDescriptorSet` of every Samling proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/samling_descriptor.bin"));
