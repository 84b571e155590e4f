//! Compiles `proto/samling/**.proto` with protox (pure Rust, no system `protoc`).
use prost::Message;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "samling/common/v1/common.proto",
    "samling/registry/v1/registry.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    for p in PROTOS {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    let descriptor = fds.encode_to_vec();
    std::fs::write(out_dir.join("samling_descriptor.bin"), &descriptor)?;
    // serde impls with the proto3 JSON mapping (snake_case names kept), for the REST gateway.
    pbjson_build::Builder::new()
        .register_descriptors(&descriptor)?
        .preserve_proto_field_names()
        .build(&[".samling"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
