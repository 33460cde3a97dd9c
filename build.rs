//! Generates the gRPC code and the reflection descriptor set from `proto/` with the pure-Rust
//! `protox` compiler, so building needs no system `protoc`.

use std::{env, fs, path::PathBuf};

const PROTO: &str = "proto/proposal/v1/proposal.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_file(PROTO)?;
    fs::write(
        out_dir.join("proposal_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
