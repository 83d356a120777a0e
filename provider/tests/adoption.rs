//! Adopting a whole Palette project (Terraform 1.14+): a lab holding objects
//! no Terraform state knows (two gateways, each with a pool and an account,
//! and five clusters with tags, made through Palette's API as the console
//! makes them) is found by `terraform query` over list blocks shaped like
//! ../shared/ux/adoption.tfquery.hcl, and `-generate-config-out` writes
//! configuration that plans nothing but the imports and applies clean.
//!
//! The gateways are installed by a Terraform run whose state is then
//! dropped: installing one by hand means deploying the installer OVA in
//! vCenter and waiting for it to pair, which is what that run does; what
//! matters here is that no state knows them afterwards.

mod common;

use acceptance_tests::{for_each_terraform_where, TerraformBin, Workdir, QUERY};
use common::{gateway_hcl, palette, provider_with_vcenter, wait_until, Lab};
use serde_json::{json, Value};
use std::time::Duration;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Adopt-Vc-Pa55";

fn gateways(lab: &Lab, sim: &Vcsim) -> String {
    format!(
        r#"{provider}{one}{two}
data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

output "profile" {{
  value = data.palette_cluster_profile.infra.id
}}
"#,
        provider = provider_with_vcenter(lab, sim),
        one = gateway_hcl("dc1", "pcg-adopt-1", "DC0_C0"),
        two = gateway_hcl("dc2", "pcg-adopt-2", "DC0_C1"),
    )
}

/// A vSphere cluster as the console sends it: DHCP, one control-plane node.
fn cluster_body(
    name: &str,
    account: &str,
    profile: &str,
    labels: Value,
    kubernetes_values: Option<&str>,
) -> Value {
    let packs = match kubernetes_values {
        Some(v) => json!([{"name": "kubernetes", "values": v}]),
        None => json!([]),
    };
    json!({
        "metadata": {"name": name, "labels": labels, "annotations": {}},
        "spec": {
            "cloudAccountUid": account,
            "cloudConfig": {
                "controlPlaneEndpoint": {"type": "VIP"},
                "sshKeys": ["ssh-ed25519 AAAAC3Nza ops@example.com"],
                "ntpServers": [],
                "staticIp": false,
                "placement": {"datacenter": "DC0", "folder": format!("palette/clusters/{name}")}
            },
            "machinepoolconfig": [{
                "poolConfig": {
                    "name": "cp", "isControlPlane": true, "useControlPlaneAsWorker": false,
                    "size": 1, "labels": ["control-plane"], "additionalLabels": {}, "taints": [],
                    "updateStrategy": {"type": "RollingUpdateScaleOut"}
                },
                "cloudConfig": {
                    "instanceType": {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60},
                    "placements": [{
                        "cluster": "DC0_C0", "datastore": "LocalDS_0", "resourcePool": "Resources",
                        "network": {"networkName": "VM Network", "staticIp": false}
                    }]
                }
            }],
            "profiles": [{"uid": profile, "packValues": packs}]
        }
    })
}

/// The generated block of `resource "TYPE" "NAME"`, up to the next block.
fn block_of<'a>(generated: &'a str, ty: &str) -> Vec<&'a str> {
    generated
        .split("\nresource ")
        .filter(|b| b.starts_with(&format!("\"{ty}\"")))
        .collect()
}

const VALUES: &str = "pack:\n  podCIDR: \"172.16.0.0/16\"\n  serviceClusterIpRange: \"10.96.0.0/12\"\ncluster:\n  config: |\n    clusterName: \"{{ .spectro.system.cluster.name }}\"\n";

#[test]
fn a_project_made_outside_terraform_is_adopted_by_query_and_generated_configuration() {
    let sim = Vcsim::start("svc@vsphere.local", PASSWORD, &["-cluster", "2"]).expect("vcsim");
    for_each_terraform_where(&palette(), QUERY, TerraformBin::supports_query, |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&gateways(&lab, &sim));
        w.init();
        w.apply();
        let uid = |a: &str| {
            w.state_resource(a).unwrap()["values"]["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let gws = [
            uid("palette_private_cloud_gateway.dc1"),
            uid("palette_private_cloud_gateway.dc2"),
        ];
        let profile = w.show_json()["values"]["outputs"]["profile"]["value"]
            .as_str()
            .unwrap()
            .to_string();
        for a in [
            "palette_private_cloud_gateway.dc1",
            "palette_private_cloud_gateway.dc2",
        ] {
            w.state_rm(a);
        }

        // The console's work: a pool and an account per gateway, five
        // clusters over the two accounts, three of them tagged env:prod.
        let project = lab.project("Default");
        let mut accounts = Vec::new();
        for (i, gw) in gws.iter().enumerate() {
            let n = i + 1;
            lab.post(
                Some(&project),
                &format!("/v1/overlords/vsphere/{gw}/pools"),
                &json!({
                    "metadata": {"name": format!("nodes-dc{n}")},
                    "spec": {"pool": {"start": format!("10.20.{n}.10"), "end": format!("10.20.{n}.40"),
                                      "prefix": 24, "gateway": format!("10.20.{n}.1"),
                                      "nameserver": {"addresses": [format!("10.20.{n}.2")]}},
                             "restrictToSingleCluster": false}
                }),
            );
            let a = lab.post(
                Some(&project),
                "/v1/cloudaccounts/vsphere",
                &json!({
                    "metadata": {"name": format!("vsphere-dc{n}"), "annotations": {"overlordUid": gw}},
                    "spec": {"vcenterServer": sim.server, "username": sim.user,
                             "password": sim.password, "insecure": true}
                }),
            );
            accounts.push(a["uid"].as_str().unwrap().to_string());
        }
        let clusters = [
            (
                "web-prod",
                0,
                json!({"env": "prod", "team": "web"}),
                Some(VALUES),
            ),
            ("api-prod", 1, json!({"env": "prod", "team": "api"}), None),
            ("data-prod", 1, json!({"env": "prod"}), None),
            ("web-dev", 0, json!({"env": "dev"}), None),
            ("sandbox", 1, json!({"env": "dev", "owner": "ops"}), None),
        ];
        let mut uids = Vec::new();
        for (name, account, labels, values) in &clusters {
            let r = lab.post(
                Some(&project),
                "/v1/spectroclusters/vsphere",
                &cluster_body(name, &accounts[*account], &profile, labels.clone(), *values),
            );
            uids.push(r["uid"].as_str().unwrap().to_string());
        }
        for uid in &uids {
            wait_until(
                &format!("cluster {uid} Running"),
                Duration::from_secs(120),
                || {
                    lab.get::<Value>(Some(&project), &format!("/v1/spectroclusters/{uid}"))
                        .map(|c| c["status"]["state"] == "Running")
                        .unwrap_or(false)
                },
            );
        }

        // An empty configuration elsewhere, and the query of the UX shape.
        let mut q = Workdir::new(&w.tf, &w.provider);
        q.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        q.config(&provider_with_vcenter(&lab, &sim));
        std::fs::write(
            q.work().join("adoption.tfquery.hcl"),
            r#"
list "palette_private_cloud_gateway" "all" {
  provider = palette
}

list "palette_ip_pool" "dc1" {
  provider = palette
  config {
    gateway_id = "pcg-adopt-1"
  }
}

list "palette_ip_pool" "dc2" {
  provider = palette
  config {
    gateway_id = "pcg-adopt-2"
  }
}

list "palette_cloud_account_vsphere" "all" {
  provider = palette
}

list "palette_cluster_vsphere" "prod" {
  provider = palette
  config {
    tags = ["env:prod"]
  }
}
"#,
        )
        .unwrap();
        q.init();

        // Filters by gateway name, answered from the listings alone.
        let by_gateway = q.work().join("by-gateway.tfquery.hcl");
        std::fs::write(
            &by_gateway,
            r#"
list "palette_cluster_vsphere" "on_dc2" {
  provider = palette
  config {
    gateway_id = "pcg-adopt-2"
  }
}

list "palette_cloud_account_vsphere" "on_dc2" {
  provider = palette
  config {
    gateway_id = "pcg-adopt-2"
  }
}
"#,
        )
        .unwrap();
        lab.reset_calls();
        let listed = q.must(&["query", "-json", "-no-color"]).stdout;
        let mut on_dc2: Vec<(String, String)> = listed
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["type"] == "list_resource_found")
            .map(|m| {
                let f = &m["list_resource_found"];
                (
                    f["address"].as_str().unwrap_or_default().to_string(),
                    f["display_name"].as_str().unwrap_or_default().to_string(),
                )
            })
            .filter(|(a, _)| a.ends_with(".on_dc2"))
            .collect();
        on_dc2.sort();
        let want = |a: &str, n: &str| (a.to_string(), n.to_string());
        assert_eq!(
            on_dc2,
            vec![
                want("list.palette_cloud_account_vsphere.on_dc2", "vsphere-dc2"),
                want("list.palette_cluster_vsphere.on_dc2", "api-prod"),
                want("list.palette_cluster_vsphere.on_dc2", "data-prod"),
                want("list.palette_cluster_vsphere.on_dc2", "sandbox"),
            ],
            "{listed}"
        );
        // Identities only: no cluster was read in full.
        assert_eq!(lab.calls("GET /v1/spectroclusters/*"), 0);
        std::fs::remove_file(&by_gateway).unwrap();

        let r = q.must(&["query", "-no-color", "-generate-config-out=adopted.tf"]);
        let generated = std::fs::read_to_string(q.work().join("adopted.tf"))
            .unwrap_or_else(|_| panic!("no adopted.tf: {r}"));
        for (ty, n) in [
            ("palette_private_cloud_gateway", 2),
            ("palette_ip_pool", 2),
            ("palette_cloud_account_vsphere", 2),
            ("palette_cluster_vsphere", 3),
        ] {
            assert_eq!(block_of(&generated, ty).len(), n, "{ty}: {generated}");
        }
        assert!(!generated.contains("web-dev") && !generated.contains("sandbox"));
        // Readable: the pack values are HCL, not one escaped line of YAML,
        // and defaults are left out.
        let web = block_of(&generated, "palette_cluster_vsphere")
            .into_iter()
            .find(|b| b.contains("\"web-prod\""))
            .expect("web-prod generated");
        assert!(web.contains("values = jsonencode({"), "{web}");
        assert!(web.contains("podCIDR"), "{web}");
        assert!(!web.contains("podCIDR: "), "not YAML text: {web}");
        for cluster in block_of(&generated, "palette_cluster_vsphere") {
            for default in [
                "resource_pool",
                "update_strategy",
                "force_delete_delay",
                "store_kubeconfig",
                "control_plane_endpoint",
                "memory_mb",
                "static_ip",
            ] {
                assert!(
                    !cluster.contains(&format!("{default} ")),
                    "{default} is at its default and left out: {cluster}"
                );
            }
        }
        // Plans the imports and nothing else, applies, and plans empty.
        let plan = q.plan_json();
        let changes = plan["resource_changes"].as_array().unwrap();
        assert_eq!(changes.len(), 9, "{changes:#?}");
        for c in changes {
            assert!(c["change"]["importing"].is_object(), "{c}");
            assert_eq!(c["change"]["actions"], json!(["no-op"]), "{c}\n{generated}");
        }
        q.apply();
        q.assert_plan_empty();
        // A change to an adopted account needs its password, at plan time.
        let renamed = generated.replacen("\"vsphere-dc1\"", "\"vsphere-dc1-renamed\"", 1);
        std::fs::write(q.work().join("adopted.tf"), renamed).unwrap();
        let r = q.run(&["plan", "-no-color", "-input=false"]);
        assert!(!r.ok(), "{r}");
        assert!(r.flat().contains("No vCenter password"), "{r}");
        std::fs::write(q.work().join("adopted.tf"), &generated).unwrap();
        // The dev clusters were never adopted: they go through the API, as
        // they came, before Terraform can remove their accounts and gateways.
        for (i, (name, ..)) in clusters.iter().enumerate() {
            if name.ends_with("-prod") {
                continue;
            }
            let path = format!("/v1/spectroclusters/{}", uids[i]);
            lab.delete(Some(&project), &path);
            wait_until(&format!("{name} deleted"), Duration::from_secs(120), || {
                lab.get::<Value>(Some(&project), &path).is_err()
            });
        }
        // Generated configuration names other objects by literal uid, so
        // Terraform knows no order between them: clusters go first.
        let mut first = vec!["destroy", "-auto-approve", "-input=false", "-no-color"];
        let targets: Vec<String> = (0..3)
            .map(|i| format!("-target=palette_cluster_vsphere.prod_{i}"))
            .collect();
        first.extend(targets.iter().map(String::as_str));
        q.must(&first);
        q.destroy();
    });
}
