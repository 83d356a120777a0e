//! `terraform query` (Terraform 1.14+) over list resources, with the real
//! CLI against palette-lab and vcsim: objects made in one configuration are
//! found from an empty one by the filters a user reaches for, and
//! `-generate-config-out` writes import blocks and resources that then
//! plan nothing but the imports (the account's password aside, which
//! Palette never returns and the user fills in).

mod common;

use acceptance_tests::{for_each_terraform_where, TerraformBin, Workdir, QUERY};
use common::{estate, palette, provider_with_vcenter, Estate, Lab};
use serde_json::{json, Value};
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Query-Vc-Pa55";

/// The `list_resource_found` results of `terraform query -json`, as
/// (list address, display name, identity).
fn found(w: &Workdir) -> Vec<(String, String, Value)> {
    let r = w.must(&["query", "-json", "-no-color"]);
    r.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == "list_resource_found")
        .map(|m| {
            let f = &m["list_resource_found"];
            (
                f["address"].as_str().unwrap_or_default().to_string(),
                f["display_name"].as_str().unwrap_or_default().to_string(),
                f["identity"].clone(),
            )
        })
        .collect()
}

#[test]
fn query_finds_by_filters_and_generated_configuration_plans_only_imports() {
    let sim = Vcsim::start("svc@vsphere.local", PASSWORD, &["-cluster", "2"]).expect("vcsim");
    for_each_terraform_where(&palette(), QUERY, TerraformBin::supports_query, |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&estate(&lab, &sim, "query", PASSWORD, &Estate::default()));
        w.init();
        w.apply();
        let uid = |a: &str| {
            w.state_resource(a).unwrap()["values"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let gw = uid("palette_private_cloud_gateway.dc1");
        let cluster = uid("palette_cluster_vsphere.apps");

        // An empty configuration in another directory: only the provider,
        // with a key that may only read (a reviewer's or an auditor's).
        let mut q = Workdir::new(&w.tf, &w.provider);
        q.set_env("PALETTE_API_KEY", &lab.viewer_key());
        lab.reset_calls();
        q.config(&provider_with_vcenter(&lab, &sim));
        std::fs::write(
            q.work().join("adoption.tfquery.hcl"),
            format!(
                r#"
list "palette_private_cloud_gateway" "all" {{
  provider = palette
  config {{
    name = "pcg-*"
  }}
}}

list "palette_ip_pool" "dc1" {{
  provider = palette
  config {{
    gateway_id = "{gw}"
  }}
}}

list "palette_cloud_account_vsphere" "all" {{
  provider = palette
}}

list "palette_cluster_vsphere" "prod" {{
  provider = palette
  config {{
    tags = ["env:prod"]
  }}
}}

list "palette_cluster_vsphere" "none" {{
  provider = palette
  config {{
    tags = ["env:nowhere"]
  }}
}}
"#
            ),
        )
        .unwrap();
        q.init();
        let mut results = found(&q);
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let names: Vec<(&str, &str)> = results
            .iter()
            .map(|(a, n, _)| (a.as_str(), n.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("list.palette_cloud_account_vsphere.all", "vsphere-query"),
                ("list.palette_cluster_vsphere.prod", "apps-query"),
                ("list.palette_ip_pool.dc1", "pcg-query/query-nodes"),
                ("list.palette_private_cloud_gateway.all", "pcg-query"),
            ],
            "{results:?}"
        );
        let cluster_found = &results[1].2;
        assert_eq!(
            *cluster_found,
            json!({"id": cluster, "name": "apps-query", "context": "project"})
        );

        // Generated configuration: import blocks and resources.
        let r = q.must(&["query", "-no-color", "-generate-config-out=adopted.tf"]);
        let generated = std::fs::read_to_string(q.work().join("adopted.tf"))
            .unwrap_or_else(|_| panic!("no adopted.tf: {r}"));
        for t in [
            "palette_private_cloud_gateway",
            "palette_ip_pool",
            "palette_cloud_account_vsphere",
            "palette_cluster_vsphere",
        ] {
            assert!(
                generated.contains(&format!("resource \"{t}\"")),
                "{t}: {generated}"
            );
        }
        assert!(generated.contains("identity = {"), "{generated}");
        // The secret Palette never returns, filled in by the user.
        let filled: String = generated
            .lines()
            .map(|l| {
                let t = l.trim();
                if t.starts_with("password ") && t.ends_with("= null # sensitive") {
                    format!("  password = \"{PASSWORD}\"\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(q.work().join("adopted.tf"), filled).unwrap();
        let plan = q.plan_json();
        let changes: Vec<(String, Value, bool)> = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["address"].as_str().unwrap().to_string(),
                    c["change"]["actions"].clone(),
                    c["change"]["importing"].is_object(),
                )
            })
            .collect();
        assert_eq!(changes.len(), 4, "{changes:?}\n{generated}");
        for (address, actions, importing) in &changes {
            assert!(importing, "{address} is not imported: {changes:?}");
            let expected = if address.starts_with("palette_cloud_account_vsphere") {
                json!(["update"])
            } else {
                json!(["no-op"])
            };
            assert_eq!(*actions, expected, "{address}: {changes:?}\n{generated}");
        }
        assert_eq!(
            lab.writes(),
            0,
            "query, generated configuration and import planning with a viewer key wrote to Palette"
        );
        w.destroy();
    });
}
