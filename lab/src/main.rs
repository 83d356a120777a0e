//! palette-lab: serves the local Palette API until Ctrl-C.

use std::net::SocketAddr;

const USAGE: &str = "usage: palette-lab [--listen 127.0.0.1:0] [--no-vcsim] [--time-scale 1.0]\n\
                   [--datacenters 1] [--clusters 2] [--data FILE]\n\
                   [--vcenter HOST --vcenter-user USER [--vcenter-insecure]]\n\n\
Starts vcsim (VMware's vCenter simulator, built by scripts/tools.sh vcsim; VCSIM_BIN\n\
overrides) and a local Palette API on loopback, and prints how to reach both:\n\
  PALETTE_ENDPOINT=http://127.0.0.1:PORT\n\
  PALETTE_API_KEY=...\n\
  VCENTER_SERVER=127.0.0.1:PORT   VCENTER_USER=...   VCENTER_PASSWORD=...\n\
--no-vcsim serves the Palette API alone (accounts then need a vCenter you name).\n\
--vcenter attaches the lab to a vCenter of yours instead of starting vcsim (gateway\n\
installers are watched and gateway/cluster VMs made there); its password comes from the\n\
environment variable VCENTER_PASSWORD, never from the command line.\n\
--time-scale multiplies lifecycle delays (gateway registration 5 min and provisioning\n\
8 min; cluster provisioning 10 min, scaling 3 min, deletion 5 min, force delete after\n\
15 min): 0.01 makes a demo take seconds.\n\
--datacenters and --clusters shape vcsim's inventory: datacenters DC0, DC1, ... each with\n\
compute clusters DCn_C0, DCn_C1, ..., datastore LocalDS_0 and network \"VM Network\".\n\
--data keeps the lab's state (tenant, API keys, gateways, pools, accounts, clusters, events)\n\
in FILE, created if missing: a restart on the same file keeps it, prints the same API key,\n\
and resumes what was in progress. Without it the state lives in memory. vcsim's inventory\n\
is not kept: with vcsim, VMs made before a restart are gone (use --vcenter to keep them).\n\
Admin API (lab only): POST /lab/keys, GET /lab/projects, POST /lab/gateways, /lab/faults,\n\
/lab/cluster-faults, /lab/calls, /lab/contract-violations, /lab/contract-deviations.\n\
Every /lab call needs the\n\
PALETTE_API_KEY printed at start in the ApiKey header (401 otherwise; keys made through\n\
/lab/keys do not qualify), so a lab exposed with --listen does not hand out keys or\n\
faults. Only the installer OVA (/lab/installer/...) is served without a key, as Palette's\n\
OVA location is.\n\
--data FILE is created readable by its owner only (0600), and an existing file readable\n\
by others is restricted: it holds API keys and vCenter passwords.";

fn count_arg(args: &mut impl Iterator<Item = String>, flag: &str) -> Option<u32> {
    match args.next().and_then(|v| v.parse::<u32>().ok()) {
        Some(n) if (1..=16).contains(&n) => Some(n),
        _ => {
            eprintln!("{flag} needs a number from 1 to 16\n\n{USAGE}");
            None
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("default address");
    let mut with_vcsim = true;
    let (mut vc_server, mut vc_user, mut vc_insecure) = (None::<String>, None::<String>, false);
    let mut time_scale = 1.0f64;
    // Two compute clusters by default, so machine pools can spread over placements.
    let (mut datacenters, mut clusters) = (1u32, 2u32);
    let mut data: Option<std::path::PathBuf> = None;
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
            "--data" => match args.next() {
                Some(f) if !f.is_empty() => data = Some(f.into()),
                _ => {
                    eprintln!("--data needs a file such as lab.redb\n\n{USAGE}");
                    return std::process::ExitCode::from(2);
                }
            },
            "--vcenter" => vc_server = args.next(),
            "--vcenter-user" => vc_user = args.next(),
            "--vcenter-insecure" => vc_insecure = true,
            "--datacenters" => match count_arg(&mut args, "--datacenters") {
                Some(n) => datacenters = n,
                None => return std::process::ExitCode::from(2),
            },
            "--clusters" => match count_arg(&mut args, "--clusters") {
                Some(n) => clusters = n,
                None => return std::process::ExitCode::from(2),
            },
            "--time-scale" => match args.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(f) if f >= 0.0 && f.is_finite() => time_scale = f,
                _ => {
                    eprintln!("--time-scale needs a factor such as 0.01\n\n{USAGE}");
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
    // The login below runs before the lab would install it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A vCenter of the user's: no simulator. Checked now, so a typo fails at
    // start rather than at the first gateway.
    let attached = match (&vc_server, &vc_user) {
        (None, None) => None,
        (Some(server), Some(user)) => {
            let Ok(password) = std::env::var("VCENTER_PASSWORD") else {
                eprintln!("--vcenter needs the password in VCENTER_PASSWORD\n\n{USAGE}");
                return std::process::ExitCode::from(2);
            };
            let target = match vsphere::Target::parse(server, vc_insecure) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("palette-lab: --vcenter {server:?}: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            match vsphere::Session::login(&target, user, &password).await {
                Ok(s) => {
                    let _ = s.logout().await;
                }
                Err(e) => {
                    eprintln!("palette-lab: cannot log in to {server}: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            Some(palette_lab::state::VcenterAccess {
                target,
                user: user.clone(),
                password,
            })
        }
        _ => {
            eprintln!("--vcenter and --vcenter-user go together\n\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    // Started first: accounts are checked against it as soon as the API serves.
    let sim = if with_vcsim && attached.is_none() {
        let password = palette_lab::ids::new_api_key();
        let (dc, cl) = (datacenters.to_string(), clusters.to_string());
        let inventory = ["-dc", dc.as_str(), "-cluster", cl.as_str()];
        match vsphere::vcsim::Vcsim::start(
            "administrator@vsphere.local",
            &password[..20],
            &inventory,
        ) {
            Ok(sim) => Some(sim),
            Err(e) => {
                eprintln!("palette-lab: {e} (or pass --no-vcsim)");
                return std::process::ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let vcenter = attached.or_else(|| {
        sim.as_ref().map(|s| palette_lab::state::VcenterAccess {
            target: vsphere::Target::parse(&s.server, true).expect("vcsim's address"),
            user: s.user.clone(),
            password: s.password.clone(),
        })
    });
    let attached_server = vc_server.clone();
    if let (Some(file), Some(_)) = (&data, &sim) {
        eprintln!(
            "palette-lab: warning: the state is kept in {}, but vcsim's inventory is in memory: \
             VMs made before a restart are gone from vCenter and show as drift",
            file.display()
        );
    }
    let options = palette_lab::state::Options {
        vcenter,
        time_scale,
    };
    let lab = match palette_lab::start_with_data(listen, options, data.clone()).await {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("palette-lab: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let (Some(file), true) = (&data, lab.restored) {
        eprintln!("palette-lab: state restored from {}", file.display());
    }
    println!("PALETTE_ENDPOINT={}", lab.endpoint());
    println!("PALETTE_API_KEY={}", lab.api_key);
    if let Some(sim) = &sim {
        println!("VCENTER_SERVER={}", sim.server);
        println!("VCENTER_USER={}", sim.user);
        println!("VCENTER_PASSWORD={}", sim.password);
    } else if let (Some(server), Some(user)) = (&attached_server, &vc_user) {
        // The user's own password is theirs: not echoed.
        println!("VCENTER_SERVER={server}");
        println!("VCENTER_USER={user}");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    // The last state reaches the data file before the process ends.
    lab.stop().await;
    // Dropping the simulator stops it with the lab.
    drop(sim);
    std::process::ExitCode::SUCCESS
}
