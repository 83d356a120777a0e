//! `data "palette_vsphere_preflight"` with the real terraform CLI against
//! the lab's vcsim, whose flags plant each failure the reference document
//! warns of: a vSphere too old, a privilege the account lacks, a host
//! without NTP, a datastore only one host mounts, a missing resource pool,
//! no zone tags. A good inventory (zone tags applied by
//! `palette_vsphere_zones` in the same configuration) passes every check.
//! On Terraform 1.5+ a `check` block shows each failure in the plan.

mod common;

use acceptance_tests::{for_each_terraform, Workdir};
use common::{palette, provider_with_vcenter, Lab};
use serde_json::Value;
use vsphere::vcsim::Vcsim;

const USER: &str = "svc-palette@vsphere.local";
const PASSWORD: &str = "Preflight-Pa55";

fn check_block(w: &Workdir) -> &'static str {
    if w.tf.minor_version() >= (1, 5) {
        r#"
check "vsphere_ready" {
  assert {
    condition     = data.palette_vsphere_preflight.dc.ready
    error_message = join("\n", data.palette_vsphere_preflight.dc.problems)
  }
}
"#
    } else {
        ""
    }
}

fn outputs(w: &Workdir) -> (bool, Vec<String>, Vec<Value>) {
    let r = w.must(&["output", "-json"]);
    let o: Value = serde_json::from_str(&r.stdout).expect("output JSON");
    let problems = o["problems"]["value"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    (
        o["ready"]["value"].as_bool().expect("ready"),
        problems,
        o["checks"]["value"].as_array().expect("checks").clone(),
    )
}

const OUTPUTS: &str = r#"
output "ready" {
  value = data.palette_vsphere_preflight.dc.ready
}
output "problems" {
  value = data.palette_vsphere_preflight.dc.problems
}
output "checks" {
  value = data.palette_vsphere_preflight.dc.checks
}
"#;

#[test]
fn a_good_inventory_passes_every_check() {
    for_each_terraform(&palette(), |w| {
        let sim = Vcsim::start(
            USER,
            PASSWORD,
            &[
                "-cluster",
                "2",
                "-ntp",
                "0.pool.ntp.org,1.pool.ntp.org",
                "-version",
                "7.0.3",
            ],
        )
        .expect("vcsim");
        let lab = Lab::start();
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&format!(
            r#"{provider}
resource "palette_vsphere_zones" "dc" {{
  datacenter = "DC0"
  region     = "region1"
  zones = {{
    "DC0_C0" = "az1"
    "DC0_C1" = "az2"
  }}
}}

data "palette_vsphere_preflight" "dc" {{
  datacenter       = "DC0"
  compute_clusters = ["DC0_C0", "DC0_C1"]
  datastore        = "LocalDS_0"
  network          = "VM Network"
  folder           = "palette/clusters"
  depends_on       = [palette_vsphere_zones.dc]
}}
{check}{OUTPUTS}"#,
            provider = provider_with_vcenter(&lab, &sim),
            check = check_block(w),
        ));
        w.init();
        w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        let (ready, problems, checks) = outputs(w);
        assert!(ready, "a good inventory is ready: {problems:?}");
        assert!(problems.is_empty());
        let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "version",
                "privileges",
                "ntp",
                "shared_datastore",
                "resource_pool",
                "zone_tags"
            ]
        );
        let detail = |n: &str| {
            checks
                .iter()
                .find(|c| c["name"] == n)
                .map(|c| c["detail"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert!(detail("version").contains("vCenter 7.0.3"), "{checks:?}");
        assert!(detail("ntp").contains("all 6 hosts"), "{checks:?}");
        // Datacenter, two clusters, datastore, network, and the VM root
        // folder where Palette creates palette/clusters.
        assert!(detail("privileges").contains("on 6 objects"), "{checks:?}");
        assert!(
            detail("zone_tags").contains("k8s-region \"region1\""),
            "{checks:?}"
        );
        w.assert_plan_empty();
        w.must(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    });
}

#[test]
fn each_planted_failure_is_named() {
    for_each_terraform(&palette(), |w| {
        let sim = Vcsim::start(
            USER,
            PASSWORD,
            &[
                "-cluster",
                "2",
                "-ntp",
                "pool.ntp.org",
                "-no-ntp",
                "DC0_C0_H1",
                "-deny-privilege",
                "Datastore.Browse,Folder.Create",
                "-version",
                "6.7.0",
                "-build",
                "13010631",
                "-lonely-datastore",
                "LonelyDS",
            ],
        )
        .expect("vcsim");
        let lab = Lab::start();
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&format!(
            r#"{provider}
data "palette_vsphere_preflight" "dc" {{
  datacenter       = "DC0"
  compute_clusters = ["DC0_C0", "DC0_C1"]
  datastore        = "LonelyDS"
  resource_pool    = "palette"
  network          = "VM Network"
  folder           = "palette/clusters"
}}
{check}{OUTPUTS}"#,
            provider = provider_with_vcenter(&lab, &sim),
            check = check_block(w),
        ));
        w.init();
        let expected = [
            "version: vCenter 6.7.0 (build 13010631) is older than the 6.7 Update 3",
            "Datastore.Browse (Datastore: Browse datastore)",
            "Folder.Create (Folder: Create folder)",
            "on datastore LonelyDS (Spectro role)",
            "on network VM Network (Spectro role)",
            "on VM folder DC0/vm (where Palette creates palette/clusters) (Spectro role)",
            "on the root folder (root-level role): Datastore.Browse",
            "ntp: host DC0_C0_H1 of DC0_C0 has no NTP server configured",
            "datastore LonelyDS is not shared across DC0_C0: 2 of its 3 hosts do not mount it (DC0_C0_H1, DC0_C0_H2)",
            "compute cluster DC0_C1 has no resource pool \"palette\"",
            "zone_tags: datacenter DC0 has no k8s-region tag",
            "compute cluster DC0_C0 has no k8s-zone tag",
        ];
        if w.tf.minor_version() >= (1, 5) {
            // The plan shows each failure, named, through the check block.
            let r = w.plan();
            let out = r.flat();
            assert!(out.contains("Check block assertion failed"), "{out}");
            for e in expected {
                assert!(out.contains(e), "the plan names {e:?}:\n{out}");
            }
        }
        w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        let (ready, problems, _) = outputs(w);
        assert!(!ready);
        assert_eq!(
            problems.len(),
            6,
            "one line per failed check: {problems:#?}"
        );
        let all = problems.join("\n");
        for e in expected {
            assert!(all.contains(e), "problems name {e:?}:\n{all}");
        }
        // A typo is an error at its attribute, not a failed prerequisite.
        w.config(&format!(
            r#"{provider}
data "palette_vsphere_preflight" "dc" {{
  datacenter       = "DC0"
  compute_clusters = ["DC0_C0", "DC0_C7"]
  datastore        = "LocalDS_0"
  network          = "VM Netwrok"
}}
"#,
            provider = provider_with_vcenter(&lab, &sim),
        ));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.flat();
        assert!(out.contains("Compute cluster not found"), "{out}");
        assert!(out.contains("DC0/host/DC0_C7"), "{out}");
        assert!(out.contains("Network not found"), "{out}");
        assert!(out.contains("DC0/network/VM Netwrok"), "{out}");
        assert!(!out.contains(PASSWORD), "no password in the output");
    });
}
