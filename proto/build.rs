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
    std::fs::write(out_dir.join("samling_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
