//! Other tools read what this provider and the lab leave in vCenter:
//! HashiCorp's vsphere provider (2.0.2, the peer `scripts/tools.sh
//! vsphere-provider` fetches) reads every VM of a gateway and a cluster
//! through its `vsphere_virtual_machine` data source, the installer the
//! provider deployed from the OVA included. Before the NICs carried the
//! resource allocation vCenter always fills in, that read crashed the peer
//! (a nil pointer in ReadNetworkInterfaces). And what the lab made for a
//! cluster goes with it: the VM folder it created for the nodes.

mod common;

use std::path::PathBuf;

use acceptance_tests::{for_each_terraform, repo_root, ProviderUnderTest, Workdir};
use common::{estate, palette, Estate, Lab};
use serde_json::Value;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Peer-Vc-Pa55";

/// The peer's binary: `VSPHERE_PROVIDER_BIN` (scripts/test.sh sets it), else
/// where `scripts/tools.sh vsphere-provider` puts it. Missing, the test
/// fails and says how to fetch it, rather than pass unrun.
fn vsphere_provider() -> ProviderUnderTest {
    let binary = std::env::var_os("VSPHERE_PROVIDER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools/vsphere-2.0.2/terraform-provider-vsphere"));
    assert!(
        binary.exists(),
        "{} is missing: run scripts/tools.sh vsphere-provider (or set VSPHERE_PROVIDER_BIN)",
        binary.display()
    );
    ProviderUnderTest {
        binary,
        source: "hashicorp/vsphere".into(),
        version: "2.0.2".into(),
    }
}

fn values(w: &Workdir, address: &str) -> Value {
    w.state_resource(address)
        .unwrap_or_else(|| panic!("{address} is not in state"))["values"]
        .clone()
}

/// Every VM of the estate, as inventory paths under the datacenter: the
/// gateway's nodes (found by their managed object ids), its installer, and
/// the cluster's nodes.
fn vm_paths(w: &Workdir, lab: &Lab, sim: &Vcsim) -> Vec<String> {
    let gateway = values(w, "palette_private_cloud_gateway.dc1");
    let cluster = values(w, "palette_cluster_vsphere.apps");
    let ids: Vec<String> = gateway["nodes"]
        .as_array()
        .expect("gateway nodes")
        .iter()
        .filter_map(|n| n["vm_id"].as_str().map(str::to_string))
        .collect();
    assert!(
        !ids.is_empty(),
        "the gateway records its node VMs: {gateway}"
    );
    let mut paths: Vec<String> = lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .unwrap();
        let mut out = Vec::new();
        for id in &ids {
            out.push(s.vm_location(id).await.unwrap().path);
        }
        let _ = s.logout().await;
        out
    });
    if let Some(installer) = gateway["installer_vm_path"]
        .as_str()
        .filter(|p| !p.is_empty())
    {
        paths.push(installer.to_string());
    }
    let nodes = cluster["nodes"].as_array().expect("cluster nodes");
    assert!(
        !nodes.is_empty(),
        "the cluster records its nodes: {cluster}"
    );
    paths.extend(
        nodes
            .iter()
            .filter_map(|n| n["vm_path"].as_str().map(str::to_string)),
    );
    paths
}

/// The peer's provider block and one data source per VM, each read by its
/// absolute inventory path, with the NICs' allocation as outputs.
fn readers(sim: &Vcsim, paths: &[String]) -> String {
    let mut hcl = format!(
        r#"
provider "vsphere" {{
  vsphere_server       = "{server}"
  user                 = "{user}"
  password             = "{PASSWORD}"
  allow_unverified_ssl = true
}}

data "vsphere_datacenter" "dc0" {{
  name = "DC0"
}}
"#,
        server = sim.server,
        user = sim.user,
    );
    for (i, p) in paths.iter().enumerate() {
        hcl.push_str(&format!(
            r#"
data "vsphere_virtual_machine" "vm{i}" {{
  name          = "/{p}"
  datacenter_id = data.vsphere_datacenter.dc0.id
}}

output "nics_{i}" {{
  value = data.vsphere_virtual_machine.vm{i}.network_interfaces
}}
"#
        ));
    }
    hcl
}

#[test]
fn hashicorp_vsphere_provider_reads_every_vm_of_a_gateway_and_a_cluster() {
    let sim = Vcsim::start("peer@vsphere.local", PASSWORD, &[]).expect("vcsim");
    let peer = vsphere_provider();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.add_provider(&peer);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let ours = estate(&lab, &sim, "peer", PASSWORD, &Estate::default());
        w.config(&ours);
        w.init();
        w.apply();
        let paths = vm_paths(w, &lab, &sim);
        // Gateway nodes, the installer, the cluster's node.
        assert!(paths.len() >= 3, "{paths:?}");

        w.config(&format!("{ours}{}", readers(&sim, &paths)));
        w.init();
        w.apply();
        let outputs = w.show_json()["values"]["outputs"].clone();
        for (i, p) in paths.iter().enumerate() {
            let nics = outputs[format!("nics_{i}")]["value"]
                .as_array()
                .unwrap_or_else(|| panic!("no NICs read for {p}: {outputs}"))
                .clone();
            assert!(!nics.is_empty(), "{p} has a NIC");
            for nic in &nics {
                // vCenter's defaults: no limit, no reservation, normal shares.
                assert_eq!(nic["bandwidth_limit"], -1, "{p}: {nic}");
                assert_eq!(nic["bandwidth_reservation"], 0, "{p}: {nic}");
                assert_eq!(nic["bandwidth_share_level"], "normal", "{p}: {nic}");
            }
        }
        // The readers go first; then everything ours is destroyed.
        w.config(&ours);
        w.apply();
        let cluster_folder = "DC0/vm/palette/clusters/apps-peer";
        assert!(folder_exists(&lab, &sim, cluster_folder));
        w.destroy();
        // The cluster's folder, made for it, goes with it, so that a
        // `vsphere_folder` around it can be destroyed too.
        assert!(!folder_exists(&lab, &sim, cluster_folder));
    });
}

fn folder_exists(lab: &Lab, sim: &Vcsim, path: &str) -> bool {
    lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .unwrap();
        let found = match s.find("VM folder", path).await {
            Ok(_) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => panic!("{e}"),
        };
        let _ = s.logout().await;
        found
    })
}
