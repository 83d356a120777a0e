//! palette-lab: serves the local Palette API until Ctrl-C.

use std::net::SocketAddr;

const USAGE: &str = "usage: palette-lab [--listen 127.0.0.1:0] [--no-vcsim]\n\n\
Starts vcsim (VMware's vCenter simulator, built by scripts/tools.sh vcsim; VCSIM_BIN\n\
overrides) and a local Palette API on loopback, and prints how to reach both:\n\
  PALETTE_ENDPOINT=http://127.0.0.1:PORT\n\
  PALETTE_API_KEY=...\n\
  VCENTER_SERVER=127.0.0.1:PORT   VCENTER_USER=...   VCENTER_PASSWORD=...\n\
--no-vcsim serves the Palette API alone (accounts then need a vCenter you name).\n\
Admin API (lab only): POST /lab/keys, GET /lab/projects, /lab/faults, /lab/calls.";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("default address");
    let mut with_vcsim = true;
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
            "--no-vcsim" => with_vcsim = false,
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
    // Started first: accounts are checked against it as soon as the API serves.
    let sim = if with_vcsim {
        let password = palette_lab::ids::new_api_key();
        match vsphere::vcsim::Vcsim::start("administrator@vsphere.local", &password[..20], &[]) {
            Ok(sim) => Some(sim),
            Err(e) => {
                eprintln!("palette-lab: {e} (or pass --no-vcsim)");
                return std::process::ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let lab = match palette_lab::start(listen).await {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("palette-lab: cannot listen on {listen}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("PALETTE_ENDPOINT={}", lab.endpoint());
    println!("PALETTE_API_KEY={}", lab.api_key);
    if let Some(sim) = &sim {
        println!("VCENTER_SERVER={}", sim.server);
        println!("VCENTER_USER={}", sim.user);
        println!("VCENTER_PASSWORD={}", sim.password);
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    // Dropping the simulator stops it with the lab.
    drop(sim);
    std::process::ExitCode::SUCCESS
}
