//! The shipped examples applied as they are, with the real terraform CLI
//! against palette-lab and vcsim: examples/two-datacenters uses
//! examples/modules/datacenter twice, against one vcsim with two datacenters.

mod common;

use acceptance_tests::{for_each_terraform, planned_actions, repo_root};
use common::{copy_dir, palette, Lab};
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Vc-Pa55-for-examples";

#[test]
fn two_datacenters_from_one_module() {
    let sim = Vcsim::start(
        "administrator@vsphere.local",
        PASSWORD,
        &["-dc", "2", "-cluster", "2"],
    )
    .expect("vcsim");
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        let examples = repo_root().join("examples");
        // The module sits beside the configuration, as in the repository.
        copy_dir(
            &examples.join("modules/datacenter"),
            &w.work().join("modules/datacenter"),
        );
        let main = std::fs::read_to_string(examples.join("two-datacenters/main.tf"))
            .unwrap()
            .replace("\"../modules/datacenter\"", "\"./modules/datacenter\"");
        std::fs::write(w.work().join("main.tf"), main).unwrap();
        for (k, v) in [
            ("TF_VAR_palette_endpoint", lab.endpoint()),
            ("TF_VAR_palette_api_key", lab.lab.api_key.clone()),
            ("TF_VAR_vcenter_server_dc1", sim.server.clone()),
            ("TF_VAR_vcenter_server_dc2", sim.server.clone()),
            ("TF_VAR_vcenter_password_dc1", PASSWORD.to_string()),
            ("TF_VAR_vcenter_password_dc2", PASSWORD.to_string()),
            ("TF_VAR_vcenter_insecure", "true".to_string()),
        ] {
            w.set_env(k, &v);
        }
        w.init();
        // Readable per data center: every address is under its module.
        let plan = w.plan_json();
        let actions = planned_actions(&plan);
        for dc in ["module.dc1.", "module.dc2."] {
            let mine: Vec<_> = actions.iter().filter(|(a, _)| a.starts_with(dc)).collect();
            assert_eq!(mine.len(), 4, "{dc}: {actions:?}");
            assert!(mine.iter().all(|(_, a)| a == &["create".to_string()]));
        }
        w.apply();
        let out = w.must(&["output", "-json", "clusters"]).stdout;
        let clusters: serde_json::Value = serde_json::from_str(&out).unwrap();
        for dc in ["dc1", "dc2"] {
            let s = clusters[dc].as_str().unwrap();
            assert!(s.starts_with("Running: "), "{dc}: {s}");
        }
        // Each cluster's VMs are in its own datacenter.
        let show = w.show_json();
        let resources: Vec<serde_json::Value> = show["values"]["root_module"]["child_modules"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["resources"].as_array().unwrap().clone())
            .collect();
        let nodes = |dc: &str| -> Vec<String> {
            let r = resources
                .iter()
                .find(|r| r["address"] == format!("module.{dc}.palette_cluster_vsphere.apps"))
                .unwrap();
            r["values"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["vm_path"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(nodes("dc1")
            .iter()
            .all(|p| p.starts_with("/DC0/vm/palette/clusters/apps-dc1/")));
        assert!(nodes("dc2")
            .iter()
            .all(|p| p.starts_with("/DC1/vm/palette/clusters/apps-dc2/")));
        assert_eq!(nodes("dc1").len(), 3);
        w.assert_plan_empty();
        w.destroy();
        assert!(w.show_json()["values"]["root_module"]["child_modules"].is_null());
    });
}
