//! Moving in from the official Spectro Cloud provider (Terraform 1.8+):
//! state written in the official provider's shape (state format 4, its
//! address, its attribute names and schema versions) moves to this
//! provider's types with `moved` blocks, and the plan after the move changes
//! nothing. The official provider itself is not needed: a test-only
//! stand-in under its address lets Terraform load the state, and the move
//! runs through this provider's MoveResourceState alone.

mod common;

use acceptance_tests::{
    for_each_terraform_where, workspace_binary, ProviderUnderTest, TerraformBin, Workdir, MOVES,
};
use common::{gateway_hcl, palette, provider_with_vcenter, Lab};
use serde_json::{json, Value};
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Move-Vc-Pa55";

fn standin() -> ProviderUnderTest {
    ProviderUnderTest {
        binary: workspace_binary("terraform-provider-spectrocloud-standin"),
        source: "spectrocloud/spectrocloud".into(),
        version: "0.29.9".into(),
    }
}

/// The estate: a gateway, its pool and account, and a static-IP cluster
/// with a pack override, tags and a custom force-delete delay.
fn estate(lab: &Lab, sim: &Vcsim) -> String {
    format!(
        r#"{provider}
{gateway}
resource "palette_ip_pool" "workloads" {{
  gateway_id     = palette_private_cloud_gateway.dc1.id
  name           = "move-nodes"
  start          = "10.10.190.50"
  end            = "10.10.190.60"
  prefix         = 24
  gateway        = "10.10.190.1"
  nameservers    = ["10.10.190.2"]
  search_domains = ["dc1.example.com"]
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "vsphere-move"
  gateway_id     = palette_private_cloud_gateway.dc1.id
  vcenter_server = "{server}"
  username       = "{user}"
  password       = "{PASSWORD}"
  insecure       = true
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

resource "palette_cluster_vsphere" "apps" {{
  name               = "apps-move"
  cloud_account_id   = palette_cloud_account_vsphere.dc1.id
  tags               = ["env:prod", "team:platform"]
  force_delete_delay = "30m"

  cluster_profile {{
    id = data.palette_cluster_profile.infra.id
    pack {{
      name   = "kubernetes"
      values = <<-EOT
        pack:
          podCIDR: 192.168.0.0/16
      EOT
    }}
  }}

  cloud_config {{
    datacenter  = "DC0"
    folder      = "palette/clusters/apps-move"
    ssh_keys    = ["ssh-ed25519 AAAAC3Nza ops@example.com"]
    static_ip   = true
    ntp_servers = ["ntp.example.com"]
  }}

  machine_pool {{
    name          = "cp"
    control_plane = true
    count         = 1
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.workloads.id
    }}
  }}

  machine_pool {{
    name      = "workers"
    count     = 1
    cpu       = 2
    memory_mb = 4096
    labels    = {{ tier = "web" }}
    taint {{
      key    = "dedicated"
      value  = "web"
      effect = "NoSchedule"
    }}
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.workloads.id
    }}
  }}
}}
"#,
        provider = provider_with_vcenter(lab, sim),
        gateway = gateway_hcl("dc1", "pcg-move", "DC0_C0"),
        server = sim.server,
        user = sim.user,
    )
}

fn text(v: &Value) -> Value {
    // SDKv2 stores an unset string as "".
    v.as_str().map(|s| json!(s)).unwrap_or(json!(""))
}

fn or_empty(v: &Value) -> Value {
    if v.is_null() {
        json!([])
    } else {
        v.clone()
    }
}

/// An IP pool as the official provider (schema version 2) stores it.
fn official_pool(ours: &Value) -> Value {
    json!({
        "id": ours["id"], "name": ours["name"],
        "private_cloud_gateway_id": ours["gateway_id"],
        "network_type": "range",
        "ip_start_range": ours["start"], "ip_end_range": ours["end"], "subnet_cidr": "",
        "prefix": ours["prefix"], "gateway": ours["gateway"],
        "nameserver_addresses": or_empty(&ours["nameservers"]),
        "nameserver_search_suffix": or_empty(&ours["search_domains"]),
        "restrict_to_single_cluster": ours["restrict_to_single_cluster"],
        "timeouts": null
    })
}

/// A vSphere cloud account as the official provider (version 0) stores it:
/// the password in state, as that provider keeps it.
fn official_account(ours: &Value) -> Value {
    json!({
        "id": ours["id"], "name": ours["name"], "context": ours["context"],
        "private_cloud_gateway_id": ours["gateway_id"],
        "vsphere_vcenter": ours["vcenter_server"], "vsphere_username": ours["username"],
        "vsphere_password": PASSWORD, "vsphere_ignore_insecure_error": ours["insecure"]
    })
}

/// A vSphere cluster as the official provider (version 1) stores it: every
/// attribute of its schema, the day-2 blocks empty, sizes in
/// `instance_type`, the force-delete delay in minutes, and the single
/// `ssh_key` of older configurations.
fn official_cluster(ours: &Value) -> Value {
    let cc = &ours["cloud_config"][0];
    let pools: Vec<Value> = ours["machine_pool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let placements: Vec<Value> = p["placement"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pl| {
                    json!({
                        "id": "", "cluster": pl["compute_cluster"], "resource_pool": "",
                        "datastore": pl["datastore"], "network": pl["network"],
                        "static_ip_pool_id": text(&pl["ip_pool_id"])
                    })
                })
                .collect();
            let taints: Vec<Value> = p["taint"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| json!({"key": t["key"], "value": t["value"], "effect": t["effect"]}))
                .collect();
            json!({
                "name": p["name"], "control_plane": p["control_plane"],
                "control_plane_as_worker": p["control_plane_as_worker"], "count": p["count"],
                "min": 0, "max": 0, "node_repave_interval": 0, "skip_k8s_upgrade": "disabled",
                "update_strategy": p["update_strategy"], "override_scaling": [],
                "additional_labels": if p["labels"].is_null() { json!({}) } else { p["labels"].clone() },
                "additional_annotations": {}, "taints": taints, "node": [],
                "override_kubeadm_configuration": "", "override_cluster_api_config": "",
                "override_health_check_configuration": "",
                "instance_type": [{"cpu": p["cpu"], "memory_mb": p["memory_mb"], "disk_size_gb": p["disk_gb"]}],
                "placement": placements
            })
        })
        .collect();
    let profiles: Vec<Value> = ours["cluster_profile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let packs: Vec<Value> = p["pack"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| {
                    json!({"uid": "", "type": "spectro", "name": k["name"], "registry_uid": "",
                           "registry_name": "", "tag": "", "values": k["values"], "manifest": []})
                })
                .collect();
            json!({"id": p["id"], "variables": p["variables"], "pack": packs})
        })
        .collect();
    let delay_minutes: i64 = ours["force_delete_delay"]
        .as_str()
        .unwrap()
        .trim_end_matches('m')
        .parse()
        .unwrap();
    json!({
        "id": ours["id"], "name": ours["name"], "context": "project", "description": "",
        "tags": ours["tags"], "cloud_account_id": ours["cloud_account_id"],
        "cloud_config_id": ours["cloud_config_id"], "cluster_meta_attribute": "",
        "apply_setting": "DownloadAndInstall", "review_repave_state": "",
        "pause_agent_upgrades": "unlock", "os_patch_on_boot": false, "os_patch_schedule": "",
        "os_patch_after": "", "cluster_timezone": "", "renew_k8s_certificates_now": "",
        "update_worker_pools_in_parallel": false,
        "kubeconfig": text(&ours["kubeconfig"]), "admin_kube_config": "",
        "skip_completion": false, "force_delete": false, "force_delete_delay": delay_minutes,
        "cluster_profile": profiles, "cluster_template": [],
        "cloud_config": [{
            "datacenter": cc["datacenter"], "folder": cc["folder"], "image_template_folder": "",
            "ssh_key": cc["ssh_keys"][0], "ssh_keys": [], "static_ip": cc["static_ip"],
            "network_type": "", "host_endpoint": "", "network_search_domain": "",
            "ntp_servers": cc["ntp_servers"], "override_cluster_api_config": ""
        }],
        "machine_pool": pools,
        "backup_policy": [], "scan_policy": [], "cluster_rbac_binding": [], "namespaces": [],
        "host_config": [], "location_config": [], "timeouts": null
    })
}

/// A state file (format 4) holding `resources` of the official provider,
/// as (type, name, schema version, attributes).
fn official_state(resources: &[(&str, &str, i64, Value)]) -> Value {
    let resources: Vec<Value> = resources
        .iter()
        .map(|(ty, name, version, attrs)| {
            json!({
                "mode": "managed", "type": ty, "name": name,
                "provider": "provider[\"registry.terraform.io/spectrocloud/spectrocloud\"]",
                "instances": [{
                    "schema_version": version, "attributes": attrs,
                    "sensitive_attributes": [], "dependencies": []
                }]
            })
        })
        .collect();
    json!({
        "version": 4, "terraform_version": "1.5.7", "serial": 7,
        "lineage": "9c1f7a52-6d1e-4f8a-9e43-0b5cbbd1a0f1", "outputs": {},
        "resources": resources, "check_results": null
    })
}

#[test]
fn official_state_moves_to_palette_types_and_plans_empty() {
    let sim = Vcsim::start("svc@vsphere.local", PASSWORD, &[]).expect("vcsim");
    for_each_terraform_where(
        &palette(),
        MOVES,
        TerraformBin::supports_cross_type_moves,
        |w| {
            let lab = Lab::with_vcsim(&sim);
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            w.config(&estate(&lab, &sim));
            w.init();
            w.apply();
            let values = |a: &str| w.state_resource(a).unwrap()["values"].clone();
            let gateway = values("palette_private_cloud_gateway.dc1");
            let pool = values("palette_ip_pool.workloads");
            let account = values("palette_cloud_account_vsphere.dc1");
            let cluster = values("palette_cluster_vsphere.apps");
            // From here on the objects are known only to the official
            // provider's state in another directory.
            for a in [
                "palette_cluster_vsphere.apps",
                "palette_cloud_account_vsphere.dc1",
                "palette_ip_pool.workloads",
                "palette_private_cloud_gateway.dc1",
            ] {
                w.state_rm(a);
            }

            let mut m = Workdir::new(&w.tf, &w.provider);
            m.add_provider(&standin());
            m.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            std::fs::write(
                m.work().join("terraform.tfstate"),
                serde_json::to_string_pretty(&official_state(&[
                    (
                        "spectrocloud_privatecloudgateway_ippool",
                        "workloads",
                        2,
                        official_pool(&pool),
                    ),
                    (
                        "spectrocloud_cloudaccount_vsphere",
                        "dc1",
                        0,
                        official_account(&account),
                    ),
                    (
                        "spectrocloud_cluster_vsphere",
                        "apps",
                        1,
                        official_cluster(&cluster),
                    ),
                ]))
                .unwrap(),
            )
            .unwrap();
            m.config(&format!(
                r#"{estate}
moved {{
  from = spectrocloud_privatecloudgateway_ippool.workloads
  to   = palette_ip_pool.workloads
}}

moved {{
  from = spectrocloud_cloudaccount_vsphere.dc1
  to   = palette_cloud_account_vsphere.dc1
}}

moved {{
  from = spectrocloud_cluster_vsphere.apps
  to   = palette_cluster_vsphere.apps
}}

# The official provider has no gateway resource: it is imported.
import {{
  to = palette_private_cloud_gateway.dc1
  id = "{gw}"
}}
"#,
                estate = estate(&lab, &sim),
                gw = gateway["id"].as_str().unwrap(),
            ));
            m.init();

            let plan = m.plan_json();
            let changes: Vec<(String, Value, Value)> = plan["resource_changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["address"].as_str().unwrap().to_string(),
                        c["previous_address"].clone(),
                        c["change"]["actions"].clone(),
                    )
                })
                .collect();
            let expect = [
                (
                    "palette_cloud_account_vsphere.dc1",
                    json!("spectrocloud_cloudaccount_vsphere.dc1"),
                ),
                (
                    "palette_cluster_vsphere.apps",
                    json!("spectrocloud_cluster_vsphere.apps"),
                ),
                (
                    "palette_ip_pool.workloads",
                    json!("spectrocloud_privatecloudgateway_ippool.workloads"),
                ),
                ("palette_private_cloud_gateway.dc1", Value::Null),
            ];
            assert_eq!(changes.len(), expect.len(), "{changes:#?}");
            for (address, previous) in expect {
                let (_, prev, actions) = changes
                    .iter()
                    .find(|(a, _, _)| a == address)
                    .unwrap_or_else(|| panic!("no change for {address}: {changes:#?}"));
                assert_eq!(*prev, previous, "{address}: {changes:#?}");
                assert_eq!(*actions, json!(["no-op"]), "{address}: {changes:#?}");
            }
            // What a reviewer reads: moves and an import, nothing else.
            let human = m.must(&["plan", "-no-color", "-input=false"]).stdout;
            assert!(
                human.contains(
                    "# spectrocloud_cluster_vsphere.apps has moved to palette_cluster_vsphere.apps"
                ),
                "{human}"
            );
            assert!(
                human.contains("0 to add, 0 to change, 0 to destroy"),
                "{human}"
            );
            assert!(
                !human.contains(PASSWORD),
                "the password stays out of the plan"
            );

            m.apply();
            let moved = m
                .state_resource("palette_cluster_vsphere.apps")
                .expect("the cluster is in state under its new address");
            assert_eq!(moved["values"]["id"], cluster["id"]);
            assert_eq!(moved["values"]["force_delete_delay"], json!("30m"));
            assert_eq!(
                moved["values"]["nodes"], cluster["nodes"],
                "read back on refresh"
            );
            assert!(
                m.state_resources()
                    .iter()
                    .all(|r| !r["type"].as_str().unwrap().starts_with("spectrocloud_")),
                "nothing of the official provider is left in state"
            );
            m.assert_plan_empty();
            m.destroy();
        },
    );
}

/// A move from a type this provider does not take over is refused, naming
/// the types it does.
#[test]
fn a_move_from_an_unknown_type_names_the_supported_ones() {
    for_each_terraform_where(
        &palette(),
        MOVES,
        TerraformBin::supports_cross_type_moves,
        |w| {
            let lab = Lab::start();
            w.add_provider(&standin());
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            let gw = lab.gateway("pcg-dc1");
            std::fs::write(
                w.work().join("terraform.tfstate"),
                serde_json::to_string(&official_state(&[(
                    "spectrocloud_cloudaccount_vsphere",
                    "dc1",
                    0,
                    json!({
                        "id": "a-1", "name": "x", "context": "project",
                        "private_cloud_gateway_id": gw, "vsphere_vcenter": "vc.example.com",
                        "vsphere_username": "u", "vsphere_password": "p",
                        "vsphere_ignore_insecure_error": false
                    }),
                )]))
                .unwrap(),
            )
            .unwrap();
            w.config(&format!(
                r#"
provider "palette" {{
  endpoint = "{}"
  project  = "Default"
}}

resource "palette_ip_pool" "wrong" {{
  gateway_id = "{gw}"
  name       = "x"
  start      = "10.0.0.1"
  end        = "10.0.0.2"
  prefix     = 24
}}

moved {{
  from = spectrocloud_cloudaccount_vsphere.dc1
  to   = palette_ip_pool.wrong
}}
"#,
                lab.endpoint()
            ));
            w.init();
            let r = w.run(&["plan", "-no-color", "-input=false"]);
            assert!(!r.ok(), "{r}");
            let out = r.flat();
            assert!(out.contains("Move not supported"), "{out}");
            assert!(
                out.contains("spectrocloud_privatecloudgateway_ippool"),
                "names what it can move from: {out}"
            );
        },
    );
}
