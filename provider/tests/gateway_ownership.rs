//! What a gateway owns in vCenter, through the real terraform CLI against
//! palette-lab and vcsim: two gateways whose names share a prefix (`pcg`,
//! `pcg-dr`), an unrelated VM named like a node of one of them, and a
//! look-alike installer. Refresh, import and destroy each keep to the VMs
//! there is evidence for (Palette's report of the gateway's machines, or the
//! provider's installer marker); everything else is left untouched.

mod common;

use std::collections::BTreeMap;

use acceptance_tests::{for_each_terraform, Workdir};
use common::{palette, Lab};
use serde_json::Value;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Own-Vc-Pa55word";
const MARKER: &str = "guestinfo.terraform-provider-palette.gateway";

/// A gateway in the provider's vCenter, which is where an import reads the
/// installation back from; no `timeouts`, which no import can read.
fn gateway(name: &str, label: &str) -> String {
    format!(
        r#"
resource "palette_private_cloud_gateway" "{label}" {{
  name       = "{name}"
  node_count = 1
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
}}
"#
    )
}

fn config(lab: &Lab, sim: &Vcsim, which: &[(&str, &str)]) -> String {
    let mut s = format!(
        r#"
provider "palette" {{
  endpoint = "{endpoint}"
  vcenter {{
    server   = "{server}"
    username = "{user}"
    password = "{PASSWORD}"
    insecure = true
  }}
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
    );
    for (name, label) in which {
        s.push_str(&gateway(name, label));
    }
    s
}

fn session<T>(lab: &Lab, sim: &Vcsim, f: impl AsyncFnOnce(&vsphere::Session) -> T) -> T {
    lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .unwrap();
        let out = f(&s).await;
        let _ = s.logout().await;
        out
    })
}

fn vm_names(lab: &Lab, sim: &Vcsim) -> Vec<String> {
    let mut v: Vec<String> = session(lab, sim, async |s| s.list_vms().await.unwrap())
        .into_iter()
        .map(|v| v.name)
        .collect();
    v.sort();
    v
}

/// A powered-off VM made behind the provider's back, in `folder`.
fn stranger(lab: &Lab, sim: &Vcsim, name: &str, folder: &str, extra: &[(&str, &str)]) -> String {
    session(lab, sim, async |s| {
        let at = s
            .resolve(&vsphere::vm::Placement {
                datacenter: "DC0".into(),
                compute_cluster: "DC0_C1".into(),
                datastore: "LocalDS_0".into(),
                network: "VM Network".into(),
                resource_pool: String::new(),
                folder: folder.into(),
            })
            .await
            .unwrap();
        s.create_vm(
            &vsphere::vm::VmSpec {
                name: name.into(),
                cpus: 1,
                memory_mb: 512,
                annotation: None,
                extra_config: extra
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            &at,
        )
        .await
        .unwrap()
    })
}

fn node_names(w: &Workdir, addr: &str) -> Vec<String> {
    w.state_resource(addr).unwrap()["values"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

fn values(w: &Workdir, addr: &str) -> Value {
    w.state_resource(addr).unwrap()["values"].clone()
}

#[test]
fn gateways_sharing_a_prefix_own_only_their_own_vms() {
    let sim = Vcsim::start("svc-palette@vsphere.local", PASSWORD, &[]).expect("vcsim");
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let both = config(&lab, &sim, &[("pcg", "pcg"), ("pcg-dr", "dr")]);
        w.config(&both);
        w.init();
        w.apply();

        // Strangers named like the gateways' VMs, where theirs live: a
        // node-like VM beside the nodes and an installer look-alike that
        // claims to install pcg-dr.
        let db = stranger(&lab, &sim, "pcg-db-01", "palette/gateways", &[]);
        let copy = stranger(
            &lab,
            &sim,
            "pcg-dr-installer-copy",
            "palette/installers",
            &[
                ("installer.name", "pcg-dr"),
                ("installer.pairing_code", "NOTREAL1"),
                ("installer.console_endpoint", "https://elsewhere.invalid"),
            ],
        );

        // A refresh records each gateway's own node and nothing else.
        w.must(&["apply", "-refresh-only", "-auto-approve"]);
        assert_eq!(
            node_names(w, "palette_private_cloud_gateway.pcg"),
            ["pcg-node-0"]
        );
        assert_eq!(
            node_names(w, "palette_private_cloud_gateway.dr"),
            ["pcg-dr-node-0"]
        );
        assert_eq!(
            values(w, "palette_private_cloud_gateway.pcg")["node_count"],
            1
        );
        w.assert_plan_empty();

        // Import by name with a look-alike present: the installer the
        // provider marked is the one adopted, and the plan is empty.
        let dr = values(w, "palette_private_cloud_gateway.dr");
        w.state_rm("palette_private_cloud_gateway.dr");
        w.import("palette_private_cloud_gateway.dr", "pcg-dr");
        let got = values(w, "palette_private_cloud_gateway.dr");
        assert_eq!(got["installer_vm_id"], dr["installer_vm_id"]);
        assert_ne!(got["installer_vm_id"].as_str(), Some(copy.as_str()));
        assert_eq!(
            node_names(w, "palette_private_cloud_gateway.dr"),
            ["pcg-dr-node-0"]
        );
        w.assert_plan_empty();

        // Destroying pcg removes its installer and node, nothing of
        // pcg-dr's, and not the stranger that shares its prefix.
        w.must(&[
            "destroy",
            "-auto-approve",
            "-target",
            "palette_private_cloud_gateway.pcg",
        ]);
        let left = vm_names(&lab, &sim);
        for gone in ["pcg-installer", "pcg-node-0"] {
            assert!(!left.iter().any(|n| n == gone), "{gone} still in {left:?}");
        }
        for kept in [
            "pcg-db-01",
            "pcg-dr-installer",
            "pcg-dr-installer-copy",
            "pcg-dr-node-0",
        ] {
            assert!(left.iter().any(|n| n == kept), "{kept} deleted: {left:?}");
        }

        // pcg-dr as if installed from the console: its installer carries no
        // marker, so with a look-alike beside it nothing proves which VM is
        // the installer. The import owns neither, and destroy deletes the
        // node Palette reports but neither installer claimant.
        let installer = dr["installer_vm_id"].as_str().unwrap().to_string();
        session(&lab, &sim, async |s| {
            s.set_extra_config(
                &installer,
                &BTreeMap::from([(MARKER.to_string(), String::new())]),
            )
            .await
            .unwrap()
        });
        w.state_rm("palette_private_cloud_gateway.dr");
        w.config(&config(&lab, &sim, &[("pcg-dr", "dr")]));
        w.import("palette_private_cloud_gateway.dr", "pcg-dr");
        let got = values(w, "palette_private_cloud_gateway.dr");
        assert!(got["installer_vm_id"].is_null(), "{got}");
        assert_eq!(
            node_names(w, "palette_private_cloud_gateway.dr"),
            ["pcg-dr-node-0"]
        );
        w.destroy();
        let left = vm_names(&lab, &sim);
        assert!(!left.iter().any(|n| n == "pcg-dr-node-0"), "{left:?}");
        for kept in ["pcg-db-01", "pcg-dr-installer", "pcg-dr-installer-copy"] {
            assert!(left.iter().any(|n| n == kept), "{kept} deleted: {left:?}");
        }

        // Clean up what this test made by hand, for the next Terraform.
        session(&lab, &sim, async |s| {
            for vm in [db.as_str(), copy.as_str(), installer.as_str()] {
                s.destroy_vm(vm).await.unwrap();
            }
        });
    });
}

/// The uids of the gateways Palette lists under `name`.
fn gateways_named(lab: &Lab, name: &str) -> Vec<String> {
    let list: Value = lab
        .get(None, &format!("/v1/overlords?name={name}"))
        .unwrap();
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["metadata"]["name"] == name)
        .map(|g| g["metadata"]["uid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_runner_lost_while_its_gateway_registers_is_carried_on_and_a_stranger_at_the_installer_path_is_left_alone(
) {
    use std::time::Duration;
    const ADDR: &str = "palette_private_cloud_gateway.dc1";
    const NAME: &str = "pcg-lost-run";
    let installer = format!("{NAME}-installer");
    let sim = Vcsim::start("svc-palette@vsphere.local", PASSWORD, &[]).expect("vcsim");
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&config(&lab, &sim, &[(NAME, "dc1")]));
        w.init();
        // The installer cannot reach Palette for now: the run waits for the
        // registration when the runner dies.
        lab.admin(
            reqwest::Method::POST,
            "/lab/cluster-faults",
            Some(serde_json::json!({"kind": "registration_hangs", "cluster_name": NAME})),
        );
        let out = w.kill_apply(Duration::from_secs(120), || {
            session(&lab, &sim, async |s| s.list_vms().await.unwrap())
                .iter()
                .any(|v| v.name == installer && v.powered_on && v.extra_config.contains_key(MARKER))
        });
        assert!(
            w.state_resource(ADDR).is_none(),
            "a killed run saves no state: {out}"
        );
        // Network back: the orphaned installer registers a gateway that no
        // state knows, as it would while nobody watches.
        lab.admin(reqwest::Method::DELETE, "/lab/cluster-faults", None);
        common::wait_until(
            "the orphaned installer registers its gateway",
            Duration::from_secs(60),
            || gateways_named(&lab, NAME).len() == 1,
        );
        let orphan = gateways_named(&lab, NAME).remove(0);

        // The next apply carries on: one installer, one gateway, in state.
        w.apply();
        assert_eq!(
            gateways_named(&lab, NAME),
            std::slice::from_ref(&orphan),
            "the gateway the lost run's installer registered, and no second one"
        );
        let v = values(w, ADDR);
        assert_eq!(v["id"], orphan.as_str(), "{v}");
        assert_eq!(v["state"], "Running", "{v}");
        assert_eq!(
            vm_names(&lab, &sim)
                .iter()
                .filter(|n| **n == installer)
                .count(),
            1,
            "the lost run's installer, powered off, and no second one"
        );
        w.assert_plan_empty();
        w.destroy();
        assert!(gateways_named(&lab, NAME).is_empty());
        assert!(!vm_names(&lab, &sim).iter().any(|n| n.starts_with(NAME)));

        // A VM at the installer's path that carries no mark of this
        // provider: neither deployed over, nor adopted, nor deleted.
        let vm = stranger(&lab, &sim, &installer, "palette/installers", &[]);
        let r = w.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(r.status, Some(1), "{r}");
        let text = r.flat();
        for needle in [
            "DC0/vm/palette/installers/pcg-lost-run-installer already exists",
            &vm,
            MARKER,
            "govc vm.destroy",
            "terraform import",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from: {text}");
        }
        assert!(w.state_resource(ADDR).is_none());
        assert!(gateways_named(&lab, NAME).is_empty());
        assert!(
            vm_names(&lab, &sim).contains(&installer),
            "the stranger is kept"
        );
        // The next Terraform version starts from a clean vCenter.
        session(&lab, &sim, async |s| s.destroy_vm(&vm).await.unwrap());
    });
}
