//! Many workspaces on one shared backend, as data-center modules run in CI:
//! Terraform's `pg` backend on a real PostgreSQL, the data-center module once
//! per workspace (dc1, dc2), both applied at the same time against one lab;
//! then a second run of a workspace while the first holds its lock fails
//! fast with `-lock-timeout=0s` and waits with a longer one. Nothing is lost
//! or made twice in the lab.

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use acceptance_tests::{flat, for_each_terraform, repo_root, Postgres, Workdir};
use common::{copy_dir, palette, Lab};
use serde_json::Value;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Vc-Pa55-for-shared-state";

fn config(lab: &Lab, sim: &Vcsim) -> String {
    format!(
        r#"
terraform {{
  backend "pg" {{}}
}}

provider "palette" {{
  endpoint = "{endpoint}"
  project  = "Default"
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

locals {{
  datacenters = {{
    dc1 = {{ datacenter = "DC0", compute_clusters = ["DC0_C0", "DC0_C1"], nodes = "10.10.183.0/24", workloads = "10.10.184.0/24" }}
    dc2 = {{ datacenter = "DC1", compute_clusters = ["DC1_C0"], nodes = "10.20.183.0/24", workloads = "10.20.184.0/24" }}
  }}
  dc = local.datacenters[terraform.workspace]
}}

module "dc" {{
  source             = "./modules/datacenter"
  name               = terraform.workspace
  vcenter_server     = "{server}"
  vcenter_user       = "{user}"
  vcenter_password   = "{PASSWORD}"
  vcenter_insecure   = true
  datacenter         = local.dc.datacenter
  compute_clusters   = local.dc.compute_clusters
  node_subnet        = local.dc.nodes
  workload_subnet    = local.dc.workloads
  cluster_profile_id = data.palette_cluster_profile.infra.id
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
    )
}

/// A working directory on the shared backend, in `workspace`.
fn on_backend(
    w: &Workdir,
    lab: &Lab,
    cfg: &str,
    pg: &Postgres,
    workspace: &str,
    create: bool,
) -> Workdir {
    let mut d = Workdir::new(&w.tf, &w.provider);
    d.set_env("PALETTE_API_KEY", &lab.lab.api_key);
    copy_dir(
        &repo_root().join("examples/modules/datacenter"),
        &d.work().join("modules/datacenter"),
    );
    d.config(cfg);
    // One schema per Terraform version: the runs of one version share it.
    let schema = format!("tf_{}", w.tf.version.replace('.', "_"));
    d.must(&[
        "init",
        "-input=false",
        "-no-color",
        &format!("-backend-config=conn_str={}", pg.conn_str()),
        &format!("-backend-config=schema_name={schema}"),
    ]);
    let verb = if create { "new" } else { "select" };
    d.must(&["workspace", verb, "-no-color", workspace]);
    d
}

/// The gateways the provider's project sees.
fn gateway_names(lab: &Lab) -> Vec<String> {
    let project = lab.project("Default");
    let v: Value = lab.get(Some(&project), "/v1/overlords").unwrap();
    let mut n: Vec<String> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            g["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    n.sort();
    n
}

fn cluster_names(lab: &Lab) -> Vec<String> {
    let project = lab.project("Default");
    let v: Value = lab.post(
        Some(&project),
        "/v1/dashboard/spectroclusters/search",
        &serde_json::json!({}),
    );
    let mut n: Vec<String> = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            c["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    n.sort();
    n
}

#[test]
fn two_workspaces_apply_at_once_on_a_pg_backend_and_the_lock_holds() {
    let sim = Vcsim::start(
        "administrator@vsphere.local",
        PASSWORD,
        &["-dc", "2", "-cluster", "2"],
    )
    .expect("vcsim");
    let pg = Postgres::start();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        let cfg = config(&lab, &sim);
        let dc1 = on_backend(w, &lab, &cfg, &pg, "dc1", true);
        let dc2 = on_backend(w, &lab, &cfg, &pg, "dc2", true);

        // Both data centers at the same time. The pg backend takes one
        // database-wide advisory lock (its "workspace creation" lock) for an
        // instant inside every state lock, so two runs starting together can
        // collide on it; a lock timeout makes Terraform retry, as a pipeline
        // on a shared pg backend must. The workspace locks themselves are
        // still checked below with -lock-timeout=0s.
        let apply = [
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-lock-timeout=60s",
        ];
        let runs: Vec<_> = [&dc1, &dc2]
            .iter()
            .map(|d| {
                d.command(&apply)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (dc, run) in ["dc1", "dc2"].iter().zip(runs) {
            let out = run.wait_with_output().unwrap();
            eprintln!(
                "[shared_state] {dc}: {}",
                flat(&String::from_utf8_lossy(&out.stdout))
            );
            assert!(
                out.status.success(),
                "{dc}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(gateway_names(&lab), ["pcg-dc1", "pcg-dc2"]);
        assert_eq!(cluster_names(&lab), ["apps-dc1", "apps-dc2"]);
        for (d, dc) in [(&dc1, "dc1"), (&dc2, "dc2")] {
            let listed = d.must(&["state", "list"]).stdout;
            assert!(
                listed.contains("module.dc.palette_cluster_vsphere.apps"),
                "{dc}: {listed}"
            );
            d.assert_plan_empty();
        }

        // dc1's lock held by an apply waiting for its approval.
        dc1.config(&format!(
            "{cfg}\noutput \"reviewed\" {{\n  value = \"yes\"\n}}\n"
        ));
        let mut holder = dc1
            .command(&["apply", "-no-color"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = holder.stdout.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let reader = {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stdout.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while !seen.lock().unwrap().contains("Enter a value") {
            assert!(
                Instant::now() < deadline,
                "no approval prompt: {}",
                seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let other = on_backend(w, &lab, &cfg, &pg, "dc1", false);
        let r = other.run(&["plan", "-input=false", "-no-color", "-lock-timeout=0s"]);
        assert_eq!(r.status, Some(1), "{r}");
        assert!(
            flat(&r.combined()).contains("Error acquiring the state lock"),
            "{r}"
        );
        // A run that may wait gets the lock once the holder is done.
        let waiter = other
            .command(&["plan", "-input=false", "-no-color", "-lock-timeout=120s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs(2));
        holder.stdin.take().unwrap().write_all(b"yes\n").unwrap();
        let done = holder.wait().unwrap();
        reader.join().unwrap();
        assert!(done.success(), "{}", seen.lock().unwrap());
        let out = waiter.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the waiting plan: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        // Nothing lost or made twice.
        assert_eq!(gateway_names(&lab), ["pcg-dc1", "pcg-dc2"]);
        assert_eq!(cluster_names(&lab), ["apps-dc1", "apps-dc2"]);
        for d in [&dc1, &dc2] {
            d.destroy();
        }
        assert!(gateway_names(&lab).is_empty());
    });
}
