//! Compiles the protocol definitions with protox (pure Rust), so building
//! needs no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "tfplugin6.proto",
        "plugin/grpc_controller.proto",
        "plugin/grpc_stdio.proto",
    ];
    let fds = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // RPCs the provider does not offer (lists, actions, state stores)
        // answer Unimplemented, which Terraform reads as "not supported".
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
