//! "Only a genuine not-found removes a resource from state", through the
//! real terraform CLI: after an apply, a persistent 403 or 500 on a
//! resource's read makes plan, `apply -refresh-only` and `refresh` fail
//! with a diagnostic that says why and that the resource stays in state;
//! the state is untouched afterwards, and once the fault is gone the plan
//! is empty again. One apply per test and Terraform, then every fault
//! against that state.
//!
//! A genuine 404 removing the resource (the plan shows a create) is covered
//! for pools, accounts and clusters by the "Deleted out of band" steps of
//! ip_pool.rs, cloud_account.rs and cluster.rs; the gateway's is here.

mod common;

use acceptance_tests::{flat, for_each_terraform, planned_actions, Workdir};
use common::{palette, Lab};
use serde_json::{json, Value};
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Vc-Pa55-for-read-errors";
const GATEWAY: &str = "palette_private_cloud_gateway.dc1";
const POOL: &str = "palette_ip_pool.nodes";
const ACCOUNT: &str = "palette_cloud_account_vsphere.dc1";
const CLUSTER: &str = "palette_cluster_vsphere.apps";

fn state_list(w: &Workdir) -> Vec<String> {
    let r = w.must(&["state", "list"]);
    r.stdout.lines().map(str::to_string).collect()
}

/// What a fault on a read must make the diagnostic say, besides that the
/// resource stays in state.
fn expected_words(status: u16) -> &'static [&'static str] {
    match status {
        403 => &["HTTP 403", "check the API key's permissions"],
        500 => &["HTTP 500", "Palette server error 500"],
        _ => unreachable!(),
    }
}

/// With a persistent `status` on GETs under `path`, every command that
/// refreshes fails with `summary`, says why and that `address` stays; the
/// state is then exactly as before; without the fault the plan is empty.
fn read_fault_keeps_state(
    w: &Workdir,
    lab: &Lab,
    address: &str,
    path: &str,
    status: u16,
    summary: &str,
) {
    let before_list = state_list(w);
    assert!(before_list.iter().any(|a| a == address), "{before_list:?}");
    let before = w.state_resources();
    lab.fault(json!({"method": "GET", "path_prefix": path, "kind": "status", "status": status}));
    let commands: [&[&str]; 3] = [
        &["plan", "-input=false", "-no-color", "-detailed-exitcode"],
        &[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ],
        &["refresh", "-input=false", "-no-color"],
    ];
    for args in commands {
        let r = w.run(args);
        let tag = format!(
            "[terraform {}] {address}, {status}, {}",
            w.tf.version, args[0]
        );
        assert_eq!(r.status, Some(1), "{tag}: {r}");
        if args[0] == "plan" {
            // The wording reviewers judge, in the test log.
            eprintln!("[read_errors] {tag}: {}", flat(&r.stderr));
        }
        let out = flat(&r.combined());
        for want in [format!("Error: {summary}"), format!("with {address},")] {
            assert!(out.contains(&want), "{tag}: no {want:?} in: {r}");
        }
        for want in expected_words(status) {
            assert!(out.contains(want), "{tag}: no {want:?} in: {r}");
        }
        assert!(
            out.contains("remains in Terraform state unchanged"),
            "{tag}: the error does not say the resource stays: {r}"
        );
    }
    assert_eq!(state_list(w), before_list, "{address} after a {status}");
    assert_eq!(
        w.state_resources(),
        before,
        "{address}: the state changed after a {status}"
    );
    lab.admin(reqwest::Method::DELETE, "/lab/faults", None);
    w.assert_plan_empty();
}

fn id_of(w: &Workdir, address: &str) -> String {
    w.state_resource(address).expect("in state")["values"]["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

fn gateway_config(lab: &Lab, sim: &Vcsim, vcenter_server: &str, vcenter_password: &str) -> String {
    // The gateway takes the provider's vCenter: its refresh then logs in
    // with what the provider block says, which a test can change without
    // changing the gateway's own configuration.
    format!(
        r#"
provider "palette" {{
  endpoint       = "{endpoint}"
  max_retries    = 2
  retry_max_wait = "1s"
  vcenter {{
    server   = "{vcenter_server}"
    username = "{user}"
    password = "{vcenter_password}"
    insecure = true
  }}
}}

resource "palette_private_cloud_gateway" "dc1" {{
  name = "pcg-read-errors"
  installer {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
  }}
  placement {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C1"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
  }}
  ssh_keys    = ["ssh-ed25519 AAAA test"]
  ntp_servers = ["0.pool.ntp.org"]
  timeouts {{
    create = "2m"
    delete = "2m"
  }}
}}
"#,
        endpoint = lab.endpoint(),
        user = sim.user,
    )
}

/// A refresh that reads the gateway from Palette but cannot reach into
/// vCenter: a warning that keeps the gateway and its recorded nodes, and a
/// plan that still works (so a rotated password can be applied).
fn vcenter_failure_warns_and_keeps_state(w: &Workdir, cfg: &str, why: &[&str]) {
    let before = w.state_resources();
    w.config(cfg);
    for args in [
        &["plan", "-input=false", "-no-color", "-detailed-exitcode"][..],
        &[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ],
    ] {
        let r = w.run(args);
        let tag = format!("[terraform {}] vCenter {why:?}, {}", w.tf.version, args[0]);
        assert_eq!(r.status, Some(0), "{tag}: {r}");
        let out = flat(&r.combined());
        if args[0] == "plan" {
            let from = out.find("Warning:").unwrap_or(0);
            eprintln!("[read_errors] {tag}: {}", &out[from..]);
        }
        let always = [
            "Warning: Cannot read the gateway's VMs",
            "The gateway remains in Terraform state",
        ];
        for want in always.iter().chain(why) {
            assert!(out.contains(want), "{tag}: no {want:?} in: {r}");
        }
    }
    assert_eq!(
        w.state_resources(),
        before,
        "the state changed when vCenter could not be read ({why:?})"
    );
}

#[test]
fn gateway_read_errors_keep_it_in_state_and_only_not_found_removes_it() {
    for_each_terraform(&palette(), |w| {
        // One vCenter per Terraform: the 404 step leaves the installer VM,
        // whose name the next run would take.
        let sim = Vcsim::start("svc-palette@vsphere.local", PASSWORD, &[]).expect("vcsim");
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let cfg = gateway_config(&lab, &sim, &sim.server, PASSWORD);
        w.config(&cfg);
        w.init();
        w.apply();
        let uid = id_of(w, GATEWAY);
        let nodes = &w.state_resource(GATEWAY).unwrap()["values"]["nodes"];
        assert_eq!(nodes.as_array().map(Vec::len), Some(1), "{nodes}");
        w.assert_plan_empty();

        let path = format!("/v1/overlords/{uid}");
        for status in [403, 500] {
            read_fault_keeps_state(w, &lab, GATEWAY, &path, status, "Cannot read the gateway");
        }

        // vCenter refusing the login, then unreachable (nothing listens on
        // port 1): warned about, the nodes kept as recorded.
        vcenter_failure_warns_and_keeps_state(
            w,
            &gateway_config(&lab, &sim, &sim.server, "not-the-password"),
            &["rejected the user name or password"],
        );
        vcenter_failure_warns_and_keeps_state(
            w,
            &gateway_config(&lab, &sim, "127.0.0.1:1", PASSWORD),
            &["cannot reach vCenter", "127.0.0.1:1"],
        );
        w.config(&cfg);
        let r = w.plan();
        assert_eq!(r.status, Some(0), "{r}");
        assert!(!r.combined().contains("Warning"), "{r}");

        // Deleted in Palette: gone from state, planned for creation.
        lab.delete(None, &path);
        assert!(lab.get::<Value>(None, &path).unwrap_err().is_not_found());
        assert_eq!(
            planned_actions(&w.plan_json()),
            vec![(GATEWAY.to_string(), vec!["create".to_string()])]
        );
        w.must(&[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        assert!(state_list(w).is_empty(), "{:?}", state_list(w));
    });
}

fn chain_config(lab: &Lab, sim: &Vcsim, gw: &str) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint        = "{endpoint}"
  project         = "Default"
  request_timeout = "3s"
  max_retries     = 2
  retry_max_wait  = "1s"
}}

resource "palette_ip_pool" "nodes" {{
  gateway_id = "{gw}"
  name       = "apps-nodes"
  start      = "10.10.183.50"
  end        = "10.10.183.60"
  prefix     = 24
  gateway    = "10.10.183.1"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "vsphere-dc1"
  gateway_id     = "{gw}"
  vcenter_server = "{server}"
  username       = "{user}"
  password       = "{PASSWORD}"
  insecure       = true
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

resource "palette_cluster_vsphere" "apps" {{
  name             = "apps-dc1"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id
  cluster_profile {{
    id = data.palette_cluster_profile.infra.id
  }}
  cloud_config {{
    datacenter = "DC0"
    folder     = "palette/clusters/apps-dc1"
    ssh_keys   = ["ssh-ed25519 AAAAC3Nza ops@example.com"]
    static_ip  = true
  }}
  machine_pool {{
    name          = "cp"
    control_plane = true
    count         = 1
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.nodes.id
    }}
  }}
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
    )
}

#[test]
fn pool_account_and_cluster_read_errors_keep_them_in_state() {
    for_each_terraform(&palette(), |w| {
        // One vCenter per Terraform: nothing is destroyed at the end.
        let sim = Vcsim::start("svc-palette@vsphere.local", PASSWORD, &[]).expect("vcsim");
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let gw = lab.gateway("pcg-dc1");
        w.config(&chain_config(&lab, &sim, &gw));
        w.init();
        w.apply();
        w.assert_plan_empty();
        let cluster = id_of(w, CLUSTER);
        let cases = [
            (
                POOL,
                format!("/v1/overlords/vsphere/{gw}/pools"),
                "Cannot read IP pool".to_string(),
            ),
            (
                ACCOUNT,
                format!("/v1/cloudaccounts/vsphere/{}", id_of(w, ACCOUNT)),
                "Cannot read vSphere cloud account".to_string(),
            ),
            (
                CLUSTER,
                format!("/v1/spectroclusters/{cluster}"),
                format!("Cannot read cluster {cluster}"),
            ),
        ];
        for (address, path, summary) in &cases {
            for status in [403, 500] {
                read_fault_keeps_state(w, &lab, address, path, status, summary);
            }
        }
        viewer_key_reads_and_cannot_write(w, &lab, &chain_config(&lab, &sim, &gw));
    });
}

/// With a key whose role only reads: plan, a refresh and an import work
/// and write nothing; an apply stops at its first write, saying the key
/// lacks permission, and the state stays true to Palette.
fn viewer_key_reads_and_cannot_write(w: &mut Workdir, lab: &Lab, cfg: &str) {
    let admin = lab.lab.api_key.clone();
    w.set_env("PALETTE_API_KEY", &lab.viewer_key());
    lab.reset_calls();
    w.assert_plan_empty();
    w.must(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-input=false",
        "-no-color",
    ]);
    let pool = id_of(w, POOL);
    w.state_rm(POOL);
    w.import(POOL, &pool);
    w.assert_plan_empty();
    assert_eq!(
        lab.writes(),
        0,
        "plan, refresh and import with a viewer key wrote to Palette"
    );

    // A change the key may not make.
    let before = w.state_resources();
    w.config(&cfg.replace("\"10.10.183.60\"", "\"10.10.183.70\""));
    let r = w.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(r.status, Some(1), "{r}");
    let out = flat(&r.combined());
    eprintln!("[read_errors] viewer apply: {out}");
    for want in [
        "Error: Cannot update IP pool",
        "HTTP 403",
        "lacks permission",
        "Nothing was changed by this step",
    ] {
        assert!(out.contains(want), "no {want:?} in: {r}");
    }
    assert_eq!(lab.writes(), 1, "the apply went on after the refused write");
    // Values only: Terraform may write the dependencies in another order.
    // Addresses only in the message: the state holds a password.
    let values = |rs: Vec<Value>| -> Vec<(String, Value)> {
        rs.into_iter()
            .map(|r| {
                (
                    r["address"].as_str().unwrap().to_string(),
                    r["values"].clone(),
                )
            })
            .collect()
    };
    let (before, after) = (values(before), values(w.state_resources()));
    let changed: Vec<&String> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| &b.0)
        .collect();
    assert!(
        before.len() == after.len() && changed.is_empty(),
        "a refused write changed the state of {changed:?}"
    );
    // With a key that may write, the same change is still to be made.
    w.set_env("PALETTE_API_KEY", &admin);
    let changes: Vec<(String, Vec<String>)> = planned_actions(&w.plan_json())
        .into_iter()
        .filter(|(_, a)| a != &["no-op"])
        .collect();
    assert_eq!(
        changes,
        vec![(POOL.to_string(), vec!["update".to_string()])]
    );
    w.config(cfg);
}
