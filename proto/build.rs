//! Compiles `proto/samling/**.proto` with protox (pure Rust, no system `protoc`).
use prost::Message;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "samling/common/v1/common.proto",
    "samling/registry/v1/registry.proto",
    "samling/recruitment/v1/matching.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    for p in PROTOS {
        println!("cargo:rerun-if-changed={p}");
    }
    let mut compiler = protox::Compiler::new(["."])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(PROTOS)?;
    // Encoded by protox itself so that custom options (`samling.common.v1.rules`)
    // and comments stay in: the gateway makes its OpenAPI document from them.
    let descriptor = compiler.encode_file_descriptor_set();
    std::fs::write(out_dir.join("samling_descriptor.bin"), &descriptor)?;
    // Code for Samling's own files only (google/protobuf/descriptor.proto,
    // imported for the options, is prost-types').
    let mut fds = compiler.file_descriptor_set();
    fds.file.retain(|f| f.package() != "google.protobuf");
    // serde impls with the proto3 JSON mapping (snake_case names kept), for the REST gateway.
    pbjson_build::Builder::new()
        .register_descriptors(&fds.encode_to_vec())?
        .preserve_proto_field_names()
        .build(&[".samling"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
