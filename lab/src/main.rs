//! palette-lab: serves the local Palette API until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

/// A local Palette API (and vcsim) for tests, demos and offline module development.
///
/// Starts vcsim (VMware's vCenter simulator, built by scripts/tools.sh vcsim;
/// VCSIM_BIN overrides) and a local Palette API on loopback, and prints how
/// to reach both:
///   PALETTE_ENDPOINT=http://127.0.0.1:PORT
///   PALETTE_API_KEY=...
///   VCENTER_SERVER=127.0.0.1:PORT   VCENTER_USER=...   VCENTER_PASSWORD=...
#[derive(Parser)]
#[command(
    name = "palette-lab",
    verbatim_doc_comment,
    // As the hand-written parser did: a repeated option's last value wins.
    args_override_self = true,
    after_help = ADMIN_HELP
)]
struct Args {
    /// Address to serve the Palette API on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Serves the Palette API alone (accounts then need a vCenter you name).
    #[arg(long)]
    no_vcsim: bool,

    /// Multiplies lifecycle delays: 0.01 makes a demo take seconds.
    ///
    /// Gateway registration 5 min and provisioning 8 min; cluster
    /// provisioning 10 min, scaling 3 min, deletion 5 min, force delete
    /// after 15 min.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = time_scale)]
    time_scale: f64,

    /// vcsim's datacenters DC0, DC1, ... (1 to 16).
    ///
    /// Each has compute clusters DCn_C0, DCn_C1, ..., datastore LocalDS_0
    /// and network "VM Network".
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    datacenters: u32,

    /// Compute clusters in each of vcsim's datacenters (1 to 16).
    // Two by default, so machine pools can spread over placements.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    clusters: u32,

    /// Keeps the lab's state in FILE, created if missing; in memory without it.
    ///
    /// The state is the tenant, API keys, gateways, pools, accounts, clusters
    /// and events: a restart on the same file keeps it, prints the same API
    /// key, and resumes what was in progress. vcsim's inventory is not kept:
    /// with vcsim, VMs made before a restart are gone (use --vcenter to keep
    /// them). FILE is created readable by its owner only (0600), and an
    /// existing file readable by others is restricted: it holds API keys and
    /// vCenter passwords.
    #[arg(long, value_name = "FILE", value_parser = data_file)]
    data: Option<PathBuf>,

    /// Attaches the lab to a vCenter of yours instead of starting vcsim.
    ///
    /// Gateway installers are watched and gateway/cluster VMs made there.
    /// Needs --vcenter-user; the password comes from the environment
    /// variable VCENTER_PASSWORD, never from the command line.
    #[arg(long, value_name = "HOST", requires = "vcenter_user")]
    vcenter: Option<String>,

    /// The user to log in to --vcenter as.
    #[arg(long, value_name = "USER", requires = "vcenter")]
    vcenter_user: Option<String>,

    /// Accepts --vcenter's certificate without checking it.
    #[arg(long)]
    vcenter_insecure: bool,
}

const ADMIN_HELP: &str = "\
Admin API (lab only): POST /lab/keys, GET /lab/projects, POST /lab/gateways, /lab/faults,
/lab/cluster-faults, /lab/calls, /lab/contract-violations, /lab/contract-deviations.
Every /lab call needs the PALETTE_API_KEY printed at start in the ApiKey header (401
otherwise; keys made through /lab/keys do not qualify), so a lab exposed with --listen does
not hand out keys or faults. Only the installer OVA (/lab/installer/...) is served without
a key, as Palette's OVA location is.";

fn time_scale(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(f) if f >= 0.0 && f.is_finite() => Ok(f),
        _ => Err("needs a factor such as 0.01".into()),
    }
}

fn data_file(v: &str) -> Result<PathBuf, String> {
    if v.is_empty() {
        return Err("needs a file such as lab.redb".into());
    }
    Ok(v.into())
}

/// A usage error past clap's own checks, worded and exiting as clap's do.
fn usage_error(message: &str) -> std::process::ExitCode {
    let mut cmd = Args::command();
    let _ = cmd
        .error(clap::error::ErrorKind::MissingRequiredArgument, message)
        .print();
    std::process::ExitCode::from(2)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let Args {
        listen,
        no_vcsim,
        time_scale,
        datacenters,
        clusters,
        data,
        vcenter: vc_server,
        vcenter_user: vc_user,
        vcenter_insecure: vc_insecure,
    } = Args::parse();
    let with_vcsim = !no_vcsim;
    // The login below runs before the lab would install it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A vCenter of the user's: no simulator. Checked now, so a typo fails at
    // start rather than at the first gateway.
    let attached = match (&vc_server, &vc_user) {
        (None, None) => None,
        (Some(server), Some(user)) => {
            let Ok(password) = std::env::var("VCENTER_PASSWORD") else {
                return usage_error("--vcenter needs the password in VCENTER_PASSWORD");
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
        // clap's `requires` lets only both or neither through.
        _ => unreachable!("--vcenter and --vcenter-user go together"),
    };
    // Started first: accounts are checked against it as soon as the API serves.
    let sim = if with_vcsim && attached.is_none() {
        let password = palette_lab::ids::new_api_key();
        let (dc, cl) = (datacenters.to_string(), clusters.to_string());
        // Hosts with NTP and a vCenter version the reference document
        // accepts, so a preflight of the lab passes as a real one would.
        let inventory = [
            "-dc",
            dc.as_str(),
            "-cluster",
            cl.as_str(),
            "-ntp",
            "pool.ntp.org",
            "-version",
            "7.0.3",
        ];
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
