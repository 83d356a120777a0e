//! palette-lab: serves the local Palette API until Ctrl-C.

use std::net::SocketAddr;

const USAGE: &str = "usage: palette-lab [--listen 127.0.0.1:0]\n\n\
Starts a local Palette API on loopback and prints its endpoint and an API key:\n\
  PALETTE_ENDPOINT=http://127.0.0.1:PORT\n\
  PALETTE_API_KEY=...\n\
Admin API (lab only): POST /lab/keys, GET /lab/projects, /lab/faults, /lab/calls.";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("default address");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => match args.next().and_then(|v| v.parse().ok()) {
                Some(addr) => listen = addr,
                None => {
                    eprintln!("--listen needs an address such as 127.0.0.1:8080\n\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return std::process::ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}\n\n{USAGE}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let lab = match palette_lab::start(listen).await {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("palette-lab: cannot listen on {listen}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("PALETTE_ENDPOINT={}", lab.endpoint());
    println!("PALETTE_API_KEY={}", lab.api_key);
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
