//! `palette_cluster_vsphere` with the real terraform CLI against palette-lab
//! and vcsim: the whole chain (IP pool, cloud account checked against
//! vCenter, cluster profile data source, cluster), scaling with VMs
//! following in vCenter, pools added and removed, pack values, drift, import,
//! deleted out of band, faults, bad input, stuck deletion, pool exhaustion.

mod common;

use acceptance_tests::{
    assert_diagnostic_at, change_of, flat, for_each_terraform, for_each_terraform_where,
    planned_actions, TerraformBin, Workdir, IMPORT_BLOCKS,
};
use common::{palette, wait_until, Lab};
use palette_api::models::{
    V1PackValuesEntity, V1SpectroClusterProfileEntity, V1SpectroClusterProfiles,
    V1VsphereCloudConfig, V1VsphereMachinePoolConfigEntity,
};
use serde_json::{json, Value};
use std::time::Duration;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Vc-Pa55-for-cluster-tests";
const ADDR: &str = "palette_cluster_vsphere.apps";

fn sim() -> Vcsim {
    // Two compute clusters, for placements spread over both.
    Vcsim::start("svc-palette@vsphere.local", PASSWORD, &["-cluster", "2"]).expect("vcsim")
}

/// The parts of a test configuration that vary.
struct Spec<'a> {
    static_ip: bool,
    /// `machine_pool` blocks.
    pools: &'a str,
    /// Extra cluster attributes.
    extra: &'a str,
    /// Values of the kubernetes pack.
    values: &'a str,
    /// Last address of the IP pool.
    pool_end: &'a str,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Spec {
            static_ip: true,
            pools: "",
            extra: "",
            values: "apiServer:\n  extraArgs:\n    audit-log-maxage: \"30\"\n",
            pool_end: "10.10.183.60",
        }
    }
}

fn placement(cluster: &str, static_ip: bool) -> String {
    format!(
        r#"
    placement {{
      compute_cluster = "{cluster}"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      {pool}
    }}"#,
        pool = if static_ip {
            "ip_pool_id = palette_ip_pool.nodes.id"
        } else {
            ""
        }
    )
}

fn cp_pool(static_ip: bool) -> String {
    format!(
        r#"
  machine_pool {{
    name          = "cp"
    control_plane = true
    count         = 1
    {pl}
  }}"#,
        pl = placement("DC0_C0", static_ip)
    )
}

fn worker_pool(name: &str, count: u32, static_ip: bool) -> String {
    format!(
        r#"
  machine_pool {{
    name      = "{name}"
    count     = {count}
    cpu       = 2
    memory_mb = 4096
    labels    = {{ workload = "apps" }}
    {a}
    {b}
  }}"#,
        a = placement("DC0_C0", static_ip),
        b = placement("DC0_C1", static_ip),
    )
}

fn config(lab: &Lab, sim: &Vcsim, gw: &str, s: &Spec) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint        = "{endpoint}"
  project         = "Default"
  request_timeout = "3s"
  retry_max_wait  = "1s"
}}

resource "palette_ip_pool" "nodes" {{
  gateway_id = "{gw}"
  name       = "apps-nodes"
  start      = "10.10.183.50"
  end        = "{pool_end}"
  prefix     = 24
  gateway    = "10.10.183.1"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "vsphere-dc1"
  gateway_id     = "{gw}"
  vcenter_server = "{server}"
  username       = "{user}"
  password       = "{password}"
  insecure       = true
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

resource "palette_cluster_vsphere" "apps" {{
  name             = "apps-dc1"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id
  tags             = ["env:test", "pci"]

  cluster_profile {{
    id = data.palette_cluster_profile.infra.id
    pack {{
      name   = "kubernetes"
      values = <<-YAML
{values}
      YAML
    }}
  }}

  cloud_config {{
    datacenter  = "DC0"
    folder      = "palette/clusters/apps-dc1"
    ssh_keys    = ["ssh-ed25519 AAAAC3Nza ops@example.com"]
    static_ip   = {static_ip}
  }}
  {pools}
  {extra}
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
        password = PASSWORD,
        pool_end = s.pool_end,
        static_ip = s.static_ip,
        pools = s.pools,
        extra = s.extra,
        values = s.values,
    )
}

/// The planned actions other than no-op.
fn changes(plan: &Value) -> Vec<(String, Vec<String>)> {
    planned_actions(plan)
        .into_iter()
        .filter(|(_, a)| a != &["no-op".to_string()])
        .collect()
}

/// The output of a plan of `config` that must fail.
fn plan_fails(w: &Workdir, config: &str) -> String {
    w.config(config);
    let out = w.plan();
    assert!(!out.ok(), "plan should fail:\n{}", out.combined());
    out.combined()
}

fn setup(w: &mut Workdir, lab: &Lab) {
    w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
}

fn state_of(w: &Workdir) -> Value {
    w.state_resource(ADDR).expect("cluster in state")["values"].clone()
}

fn nodes(w: &Workdir) -> Vec<Value> {
    state_of(w)["nodes"].as_array().cloned().unwrap_or_default()
}

/// Which of these inventory paths hold a VM in vCenter, and whether it is on.
fn vcenter_vms(lab: &Lab, sim: &Vcsim, paths: &[String]) -> Vec<(String, Option<bool>)> {
    lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .unwrap();
        let mut out = Vec::new();
        for p in paths {
            let on = match s.find("vm", p).await {
                Ok(m) => Some(s.vm_info(&m.value).await.unwrap().powered_on),
                Err(e) if e.is_not_found() => None,
                Err(e) => panic!("{e}"),
            };
            out.push((p.clone(), on));
        }
        let _ = s.logout().await;
        out
    })
}

fn vm_paths(w: &Workdir, pool: Option<&str>) -> Vec<String> {
    nodes(w)
        .iter()
        .filter(|n| pool.is_none_or(|p| n["pool"] == p))
        .map(|n| n["vm_path"].as_str().unwrap().to_string())
        .collect()
}

fn assert_all_running_in_vcenter(lab: &Lab, sim: &Vcsim, w: &Workdir) {
    let paths = vm_paths(w, None);
    assert!(!paths.is_empty());
    for (p, on) in vcenter_vms(lab, sim, &paths) {
        assert_eq!(on, Some(true), "{p} should be a powered-on VM");
    }
}

fn cluster_path(uid: &str) -> String {
    format!("/v1/spectroclusters/{uid}")
}

fn cloud_config(lab: &Lab, project: &str, w: &Workdir) -> V1VsphereCloudConfig {
    let uid = state_of(w)["cloud_config_id"].as_str().unwrap().to_string();
    lab.get(Some(project), &format!("/v1/cloudconfigs/vsphere/{uid}"))
        .unwrap()
}

/// The `workers` pool scaled to `size` nodes behind Terraform's back, as
/// the console's scale button does.
fn scale_workers(lab: &Lab, project: &str, w: &Workdir, size: i32) {
    let cc = cloud_config(lab, project, w);
    let cc_uid = cc.metadata.as_ref().unwrap().uid.clone().unwrap();
    let workers = cc
        .spec
        .unwrap()
        .machine_pool_config
        .unwrap()
        .into_iter()
        .find(|m| m.name.as_deref() == Some("workers"))
        .unwrap();
    let body = V1VsphereMachinePoolConfigEntity {
        pool_config: Some(palette_api::models::V1MachinePoolConfigEntity {
            name: workers.name.clone(),
            is_control_plane: Some(false),
            size: Some(size),
            // Required by the spec, as the provider sends it.
            labels: Some(vec!["worker".into()]),
            additional_labels: workers.additional_labels.clone(),
            update_strategy: workers.update_strategy.clone(),
            ..Default::default()
        }),
        cloud_config: Some(palette_api::models::V1VsphereMachinePoolCloudConfigEntity {
            instance_type: workers.instance_type.clone(),
            placements: Some(
                workers
                    .placements
                    .clone()
                    .unwrap()
                    .into_iter()
                    .map(|p| {
                        let n = p.network.clone().unwrap();
                        palette_api::models::V1VspherePlacementConfigEntity {
                            cluster: p.cluster,
                            datastore: p.datastore,
                            resource_pool: p.resource_pool,
                            network: Some(palette_api::models::V1VsphereNetworkConfigEntity {
                                network_name: n.network_name,
                                static_ip: n.static_ip,
                                parent_pool_uid: n.parent_pool_ref.and_then(|r| r.uid),
                            }),
                            ..Default::default()
                        }
                    })
                    .collect(),
            ),
        }),
    };
    lab.put(
        Some(project),
        &format!("/v1/cloudconfigs/vsphere/{cc_uid}/machinePools/workers"),
        &body,
    );
}

#[test]
fn static_ip_cluster_create_scale_pools_values_drift_import_and_destroy() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        setup(w, &lab);
        let project = lab.project("Default");
        let gw = lab.gateway("pcg-dc1");
        let pools = |workers: u32, extra: &str| {
            format!(
                "{}{}{extra}",
                cp_pool(true),
                worker_pool("workers", workers, true)
            )
        };

        // Create: cp 1 + workers 2 over two placements.
        let p = pools(2, "");
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &p,
                ..Default::default()
            },
        ));
        w.init();
        w.apply();
        let s = state_of(w);
        assert_eq!(s["state"], "Running");
        assert_eq!(s["health"], "Healthy");
        assert_eq!(nodes(w).len(), 3);
        assert!(nodes(w)
            .iter()
            .all(|n| n["ip"].as_str().unwrap().starts_with("10.10.183.")));
        assert_all_running_in_vcenter(&lab, &sim, w);
        assert!(s["kubeconfig"]
            .as_str()
            .is_some_and(|k| k.contains("apps-dc1")));
        w.assert_plan_empty();
        let uid = s["id"].as_str().unwrap().to_string();

        // Pools in another order: still no change.
        let reordered = format!("{}{}", worker_pool("workers", 2, true), cp_pool(true));
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &reordered,
                ..Default::default()
            },
        ));
        w.assert_plan_empty();

        // A pool of another gateway is refused at plan time.
        let other_gw = lab.gateway("pcg-dc2");
        let other: Value = lab
            .rt
            .block_on(lab.client.post(
                &format!("/v1/overlords/vsphere/{other_gw}/pools"),
                &json!({"metadata": {"name": "dc2-nodes"},
                        "spec": {"pool": {"start": "10.20.0.10", "end": "10.20.0.20", "prefix": 24}}}),
                &Default::default(),
            ))
            .unwrap();
        let foreign = format!("{}{}", cp_pool(true), worker_pool("workers", 2, true)).replacen(
            "ip_pool_id = palette_ip_pool.nodes.id",
            &format!("ip_pool_id = \"{}\"", other["uid"].as_str().unwrap()),
            1,
        );
        let text = plan_fails(
            w,
            &config(
                &lab,
                &sim,
                &gw,
                &Spec {
                    pools: &foreign,
                    ..Default::default()
                },
            ),
        );
        assert!(flat(&text).contains("is not a pool of gateway"), "{text}");

        // Scale workers 2 -> 4 -> 1 in place; VMs follow in vCenter.
        for (n, total) in [(4u32, 5usize), (1, 2)] {
            let before = vm_paths(w, Some("workers"));
            let p = pools(n, "");
            w.config(&config(
                &lab,
                &sim,
                &gw,
                &Spec {
                    pools: &p,
                    ..Default::default()
                },
            ));
            let plan = w.plan_json();
            assert_eq!(
                changes(&plan),
                vec![(ADDR.to_string(), vec!["update".to_string()])]
            );
            w.apply();
            assert_eq!(state_of(w)["id"], uid.as_str(), "scaled in place");
            assert_eq!(nodes(w).len(), total);
            assert_all_running_in_vcenter(&lab, &sim, w);
            let after = vm_paths(w, Some("workers"));
            let gone: Vec<String> = before.into_iter().filter(|p| !after.contains(p)).collect();
            for (p, on) in vcenter_vms(&lab, &sim, &gone) {
                assert_eq!(on, None, "{p} should be gone from vCenter");
            }
            w.assert_plan_empty();
        }

        // Add, then remove, a worker pool.
        let p = pools(1, &worker_pool("batch", 1, true));
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &p,
                ..Default::default()
            },
        ));
        w.apply();
        assert_eq!(vm_paths(w, Some("batch")).len(), 1);
        let batch = vm_paths(w, Some("batch"));
        w.assert_plan_empty();
        let p = pools(1, "");
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &p,
                ..Default::default()
            },
        ));
        w.apply();
        assert!(vm_paths(w, Some("batch")).is_empty());
        assert_eq!(vcenter_vms(&lab, &sim, &batch)[0].1, None);
        w.assert_plan_empty();

        // Pack values and tags change in place.
        let values = "apiServer:\n  extraArgs:\n    audit-log-maxage: \"60\"\n";
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &p,
                values,
                extra: "description = \"apps\"",
                ..Default::default()
            },
        ));
        let plan = w.plan_json();
        assert_eq!(
            changes(&plan),
            vec![(ADDR.to_string(), vec!["update".to_string()])]
        );
        w.apply();
        let c: Value = lab.get(Some(&project), &cluster_path(&uid)).unwrap();
        let packs = c["spec"]["clusterProfileTemplates"][0]["packs"]
            .as_array()
            .unwrap()
            .clone();
        let k8s = packs.iter().find(|k| k["name"] == "kubernetes").unwrap();
        assert!(k8s["values"].as_str().unwrap().contains("\"60\""));
        assert_eq!(c["metadata"]["annotations"]["description"], "apps");
        w.assert_plan_empty();
        let cfg = config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &p,
                values,
                extra: "description = \"apps\"",
                ..Default::default()
            },
        );

        // A saved plan applied after the cluster was scaled in the console:
        // stopped, naming what changed, and nothing reverted.
        let reviewed = cfg.replace(
            "description = \"apps\"",
            "description = \"apps (reviewed)\"",
        );
        w.config(&reviewed);
        w.must(&["plan", "-out=reviewed.tfplan", "-input=false", "-no-color"]);
        scale_workers(&lab, &project, w, 3);
        let r = w.run(&["apply", "-input=false", "-no-color", "reviewed.tfplan"]);
        assert_eq!(r.status, Some(1), "{r}");
        let text = flat(&r.combined());
        for want in [
            "Error: The cluster changed since the plan",
            "its machine_pool changed",
            "nothing was applied",
            "Run `terraform plan` again",
        ] {
            assert!(text.contains(want), "no {want:?} in: {text}");
        }
        let size_of_workers = || {
            cloud_config(&lab, &project, w)
                .spec
                .unwrap()
                .machine_pool_config
                .unwrap()
                .into_iter()
                .find(|m| m.name.as_deref() == Some("workers"))
                .unwrap()
                .size
        };
        assert_eq!(
            size_of_workers(),
            Some(3),
            "the console's change was reverted"
        );
        let c: Value = lab.get(Some(&project), &cluster_path(&uid)).unwrap();
        assert_eq!(c["metadata"]["annotations"]["description"], "apps");
        // A saved plan of a cluster nobody changed since applies as planned.
        w.must(&["plan", "-out=again.tfplan", "-input=false", "-no-color"]);
        w.must(&["apply", "-input=false", "-no-color", "again.tfplan"]);
        assert_eq!(size_of_workers(), Some(1));
        let c: Value = lab.get(Some(&project), &cluster_path(&uid)).unwrap();
        assert_eq!(
            c["metadata"]["annotations"]["description"],
            "apps (reviewed)"
        );
        w.config(&cfg);
        w.apply();

        // Drift: worker count changed in Palette shows as exactly that.
        scale_workers(&lab, &project, w, 3);
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]));
        let count_of = |v: &Value| {
            v["machine_pool"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == "workers")
                .unwrap()["count"]
                .clone()
        };
        assert_eq!(
            (count_of(&change["before"]), count_of(&change["after"])),
            (json!(3), json!(1))
        );
        w.apply();
        w.assert_plan_empty();

        // Drift: pack values edited in Palette.
        let patch = V1SpectroClusterProfiles {
            profiles: Some(vec![V1SpectroClusterProfileEntity {
                uid: state_of(w)["cluster_profile"][0]["id"]
                    .as_str()
                    .map(str::to_string),
                pack_values: Some(vec![V1PackValuesEntity {
                    name: Some("kubernetes".into()),
                    values: Some("apiServer: {extraArgs: {audit-log-maxage: \"90\"}}".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
            spc_apply_settings: None,
        };
        lab.rt
            .block_on(lab.client.with_project(Some(project.clone())).patch(
                &format!("{}/profiles", cluster_path(&uid)),
                &patch,
                &Default::default(),
            ))
            .unwrap();
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]));
        assert!(change["before"]["cluster_profile"][0]["pack"][0]["values"]
            .as_str()
            .unwrap()
            .contains("90"));
        w.apply();
        w.assert_plan_empty();

        // Import by name and by uid, and by the official provider's
        // `<name>:<context>`: the next plan is empty.
        for id in [
            "apps-dc1".to_string(),
            uid.clone(),
            "apps-dc1:project".to_string(),
        ] {
            w.state_rm(ADDR);
            w.import(ADDR, &id);
            w.config(&cfg);
            w.assert_plan_empty();
        }

        // Deleted out of band: planned for creation, not an error.
        lab.delete(Some(&project), &cluster_path(&uid));
        wait_until(
            "the lab to finish deleting",
            Duration::from_secs(10),
            || {
                lab.get::<Value>(Some(&project), &cluster_path(&uid))
                    .is_err()
            },
        );
        let plan = w.plan_json();
        assert_eq!(
            changes(&plan),
            vec![(ADDR.to_string(), vec!["create".to_string()])]
        );
        w.apply();
        assert_all_running_in_vcenter(&lab, &sim, w);
        let paths = vm_paths(w, None);

        // Destroy: the cluster and its VMs are gone, the pool's IPs released.
        w.destroy();
        for (p, on) in vcenter_vms(&lab, &sim, &paths) {
            assert_eq!(on, None, "{p} should be gone");
        }
        let clusters: Value = lab
            .rt
            .block_on(
                lab.client
                    .with_project(Some(project.clone()))
                    .post::<_, Value>(
                        "/v1/dashboard/spectroclusters/search",
                        &json!({}),
                        &Default::default(),
                    ),
            )
            .unwrap();
        assert!(
            clusters["items"].as_array().is_none_or(|a| a.is_empty()),
            "{clusters}"
        );
    });
}

#[test]
fn bad_cluster_input_fails_at_plan_with_the_attribute() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &cp_pool(true),
                ..Default::default()
            },
        ));
        w.init();
        // Terraform cannot point into one element of a set of blocks, so
        // machine pool errors are shown at the resource and name the pool.
        let at_pool = "machine_pool";
        let cases: Vec<(String, &str, &str)> = vec![
            (
                cp_pool(true).replace("count         = 1", "count         = 2"),
                at_pool,
                "\"cp\" is the control plane with count = 2",
            ),
            (
                worker_pool("workers", 1, true),
                at_pool,
                "0 machine pools with `control_plane = true`",
            ),
            (
                format!("{}{}", cp_pool(true), worker_pool("cp", 1, true)),
                at_pool,
                "Two machine pools are named \"cp\"",
            ),
            (
                cp_pool(true).replace(
                    "count         = 1",
                    &format!("count = 1\n{}", placement("DC0_C1", true)),
                ),
                at_pool,
                "has 2 placement blocks",
            ),
            (
                cp_pool(false),
                at_pool,
                "placement of machine pool \"cp\" (compute cluster \"DC0_C0\") has no `ip_pool_id`",
            ),
            (
                format!("{}\nforce_delete_delay = \"5m\"", cp_pool(true)),
                "force_delete_delay",
                "shorter than 15 minutes",
            ),
        ];
        for (pools, attr, want) in cases {
            w.config(&config(
                &lab,
                &sim,
                &gw,
                &Spec {
                    pools: &pools,
                    ..Default::default()
                },
            ));
            let out = w.plan();
            assert!(!out.ok(), "plan should fail for {want}");
            let text = out.combined();
            assert!(flat(&text).contains(want), "want {want:?} in:\n{text}");
            if attr == at_pool {
                assert!(text.contains("with palette_cluster_vsphere.apps"), "{text}");
            } else {
                assert_diagnostic_at(w, &text, attr);
            }
        }
        // DHCP with a pool; a bad name.
        let dhcp = config(
            &lab,
            &sim,
            &gw,
            &Spec {
                static_ip: false,
                pools: &cp_pool(true),
                ..Default::default()
            },
        )
        // A known pool id: an unknown one (a pool not created yet) cannot be judged at plan.
        .replace(
            "ip_pool_id = palette_ip_pool.nodes.id",
            "ip_pool_id = \"0123456789abcdef01234567\"",
        );
        let text = plan_fails(w, &dhcp);
        assert!(flat(&text).contains("but the cluster uses DHCP"), "{text}");
        let bad_name = config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &cp_pool(true),
                ..Default::default()
            },
        )
        .replace(
            "name             = \"apps-dc1\"",
            "name             = \"Apps_DC1\"",
        );
        let text = plan_fails(w, &bad_name);
        assert!(flat(&text).contains("is not a valid name"), "{text}");
        assert_diagnostic_at(w, &text, "name");
        assert_eq!(lab.calls("POST /v1/spectroclusters/vsphere"), 0);
    });
}

/// The calls that change something in Palette which the lab got, by
/// pattern, with how many (patterns with none left out). The read-only
/// POSTs (searches, validations) are not among them.
fn palette_writes(lab: &Lab) -> Vec<(&'static str, u64)> {
    [
        "POST /v1/spectroclusters/vsphere",
        "POST /v1/cloudconfigs/**",
        "POST /v1/cloudaccounts/**",
        "PATCH /v1/**",
        "PUT /v1/**",
        "DELETE /v1/**",
    ]
    .into_iter()
    .map(|p| (p, lab.calls(p)))
    .filter(|(_, n)| *n > 0)
    .collect()
}

/// Clusters the lab lists in a project (the search without a filter).
fn listed(lab: &Lab, project: &str) -> Vec<Value> {
    let v: Value = lab
        .rt
        .block_on(
            lab.client
                .with_project(Some(project.to_string()))
                .post::<_, Value>(
                    "/v1/dashboard/spectroclusters/search",
                    &json!({}),
                    &Default::default(),
                ),
        )
        .unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn dhcp_cluster_stuck_in_deleting_is_force_deleted_only_when_asked() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        setup(w, &lab);
        let project = lab.project("Default");
        let gw = lab.gateway("pcg-dc1");
        let pools = format!("{}{}", cp_pool(false), worker_pool("workers", 1, false));
        let spec = |extra| Spec {
            static_ip: false,
            pools: &pools,
            extra,
            ..Default::default()
        };
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &spec("timeouts {\n delete = \"3s\"\n }"),
        ));
        w.init();
        w.apply();
        assert!(
            nodes(w).iter().all(|n| n["ip"] == ""),
            "DHCP nodes have no static IP"
        );
        assert_all_running_in_vcenter(&lab, &sim, w);
        w.assert_plan_empty();
        let paths = vm_paths(w, None);

        // SSH keys change in place through the cloud config.
        let cfg = config(&lab, &sim, &gw, &spec("timeouts {\n delete = \"3s\"\n }")).replace(
            "ssh-ed25519 AAAAC3Nza ops@example.com",
            "ssh-ed25519 AAAAnewkey ops@example.com",
        );
        w.config(&cfg);
        assert_eq!(
            changes(&w.plan_json()),
            vec![(ADDR.to_string(), vec!["update".to_string()])]
        );
        lab.reset_calls();
        w.apply();
        // The one write this change needs; it also shows that the patterns
        // asserted to count nothing below do count the provider's writes.
        assert_eq!(palette_writes(&lab), vec![("PUT /v1/**", 1)]);
        assert_eq!(lab.calls("PUT /v1/cloudconfigs/vsphere/*/clusterConfig"), 1);
        let cc = cloud_config(&lab, &project, w);
        let keys = cc.spec.unwrap().cluster_config.unwrap().ssh_keys.unwrap();
        assert_eq!(
            keys,
            vec!["ssh-ed25519 AAAAnewkey ops@example.com".to_string()]
        );
        w.assert_plan_empty();

        // A node VM powered off in vCenter shows in `nodes` on refresh, and
        // plans nothing (Palette, not Terraform, owns the nodes).
        lab.rt.block_on(async {
            let t = vsphere::Target::parse(&sim.server, true).unwrap();
            let s = vsphere::Session::login(&t, &sim.user, &sim.password)
                .await
                .unwrap();
            let vm = s.find("vm", &paths[0]).await.unwrap();
            s.power_off(&vm.value).await.unwrap();
            let _ = s.logout().await;
        });
        w.must(&[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        let off: Vec<Value> = nodes(w)
            .into_iter()
            .filter(|n| n["state"] == "PoweredOff")
            .collect();
        assert_eq!(off.len(), 1, "{:?}", nodes(w));
        assert_eq!(off[0]["vm_path"], paths[0].as_str());
        assert_eq!(state_of(w)["health"], "Unhealthy");
        w.config(&cfg);

        // Deletion hangs: without force_delete, destroy times out and keeps the cluster in state.
        lab.admin(
            reqwest::Method::POST,
            "/lab/cluster-faults",
            Some(json!({"kind": "deletion_hangs", "cluster_name": "apps-dc1"})),
        );
        let out = w.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        assert!(!out.ok());
        let text = out.combined();
        assert!(
            text.contains("Cluster deletion timed out") && text.contains("force_delete"),
            "{text}"
        );
        assert!(
            w.state_resource(ADDR).is_some(),
            "the cluster stays in state"
        );

        // Opt in (an in-place change that calls nothing), then destroy forces it after the delay.
        let forced =
            "force_delete = true\nforce_delete_delay = \"15m\"\ntimeouts {\n delete = \"30s\"\n }";
        w.config(&config(&lab, &sim, &gw, &spec(forced)).replace(
            "ssh-ed25519 AAAAC3Nza ops@example.com",
            "ssh-ed25519 AAAAnewkey ops@example.com",
        ));
        lab.reset_calls();
        w.apply();
        assert_eq!(
            palette_writes(&lab),
            vec![],
            "changing force_delete is the provider's own business: nothing is sent to Palette"
        );
        let out = w.must(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        let text = out.combined();
        assert!(text.contains("force-deleted"), "{text}");
        assert!(w.state_resource(ADDR).is_none());
        assert!(listed(&lab, &project).is_empty());
        for (p, on) in vcenter_vms(&lab, &sim, &paths) {
            assert_eq!(
                on, None,
                "{p}: a forced delete still removes the VMs in the lab"
            );
        }
    });
}

#[test]
fn pool_exhaustion_fails_with_the_pool_named_keeps_the_cluster_tainted_and_destroy_releases() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        setup(w, &lab);
        let project = lab.project("Default");
        let gw = lab.gateway("pcg-dc1");
        // Two addresses for three nodes.
        let pools = format!("{}{}", cp_pool(true), worker_pool("workers", 2, true));
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &pools,
                pool_end: "10.10.183.51",
                ..Default::default()
            },
        ));
        w.init();
        let out = w.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(!out.ok());
        let text = out.combined();
        assert!(text.contains("Cluster provisioning failed"), "{text}");
        assert!(
            text.contains("IPPoolExhausted") && text.contains("apps-nodes"),
            "the pool is named: {text}"
        );
        let st = w
            .state_resource(ADDR)
            .expect("the failed cluster is in state");
        assert_eq!(st["tainted"], true, "{st}");
        assert_eq!(listed(&lab, &project).len(), 1);

        let allotted = |lab: &Lab| -> Vec<String> {
            let pools: palette_api::models::V1IpPools = lab
                .get(None, &format!("/v1/overlords/vsphere/{gw}/pools"))
                .unwrap();
            pools.items.unwrap_or_default()[0]
                .status
                .clone()
                .unwrap_or_default()
                .allotted_ips
                .unwrap_or_default()
        };
        assert_eq!(allotted(&lab).len(), 2, "both addresses were taken");
        // Destroying the cluster alone gives the addresses back to the pool.
        w.must(&[
            "destroy",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &format!("-target={ADDR}"),
        ]);
        assert!(listed(&lab, &project).is_empty());
        assert!(allotted(&lab).is_empty(), "{:?}", allotted(&lab));
        w.destroy();
    });
}

#[test]
fn faults_end_with_one_cluster_and_true_state() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        setup(w, &lab);
        let project = lab.project("Default");
        let gw = lab.gateway("pcg-dc1");
        let pools = cp_pool(true);
        w.config(&config(
            &lab,
            &sim,
            &gw,
            &Spec {
                pools: &pools,
                ..Default::default()
            },
        ));
        w.init();
        // The validation goes through untouched (it is matched first and
        // fires once, with no delay); then the create is carried out but never
        // answered; reads are throttled and fail twice.
        lab.fault(json!({"method": "POST", "path_prefix": "/v1/spectroclusters/vsphere/validate", "kind": "latency", "millis": 0, "count": 1}));
        lab.fault(json!({"method": "POST", "path_prefix": "/v1/spectroclusters/vsphere", "kind": "no_answer", "count": 1}));
        lab.fault(json!({"method": "GET", "path_prefix": "/v1/spectroclusters/", "kind": "status", "status": 429, "retry_after_secs": 1, "count": 2}));
        lab.fault(json!({"method": "GET", "path_prefix": "/v1/cloudconfigs/", "kind": "status", "status": 503, "count": 2}));
        w.apply();
        assert_eq!(listed(&lab, &project).len(), 1, "one cluster, no duplicate");
        assert_eq!(
            lab.calls("POST /v1/spectroclusters/vsphere"),
            1,
            "the create was never repeated"
        );
        assert_eq!(state_of(w)["state"], "Running");
        w.assert_plan_empty();
        w.destroy();
        assert!(listed(&lab, &project).is_empty());
    });
}

/// A lab at real-world delays (a cluster provisions for minutes) and a
/// configuration of one static-IP cluster on its gateway, initialised; the
/// lab and the Default project's uid.
fn slow_cluster(w: &mut Workdir, sim: &Vcsim) -> (Lab, String) {
    let lab = Lab::with_vcsim_at(sim, 1.0);
    setup(w, &lab);
    let project = lab.project("Default");
    let gw = lab.gateway("pcg-dc1");
    let pools = cp_pool(true);
    w.config(&config(
        &lab,
        sim,
        &gw,
        &Spec {
            pools: &pools,
            ..Default::default()
        },
    ));
    w.init();
    (lab, project)
}

#[test]
fn ctrl_c_during_provisioning_keeps_the_cluster_in_state() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let (lab, project) = slow_cluster(w, &sim);
        // Interrupted during the wait for Running, once the cluster exists.
        let mut created = None;
        let (took, text) = w.interrupt_apply(std::time::Duration::from_secs(120), || {
            if created.is_none() && !listed(&lab, &project).is_empty() {
                created = Some(std::time::Instant::now());
            }
            created.is_some_and(|t| t.elapsed() > std::time::Duration::from_millis(300))
        });
        assert!(
            took < std::time::Duration::from_secs(20),
            "terraform took {took:?} to stop"
        );
        assert!(text.contains("Interrupted"), "{text}");
        let st = w
            .state_resource(ADDR)
            .expect("the interrupted cluster is in state");
        let uid = listed(&lab, &project)[0]["metadata"]["uid"].clone();
        assert_eq!(st["values"]["id"], uid, "{st}");
        assert_eq!(st["tainted"], true, "{st}");
        assert_eq!(listed(&lab, &project).len(), 1);
    });
}

#[test]
fn a_runner_killed_during_provisioning_is_told_to_import_and_the_import_plans_clean() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        // The cluster still provisions after the kill.
        let (lab, project) = slow_cluster(w, &sim);
        let out = w.kill_apply(std::time::Duration::from_secs(120), || {
            !listed(&lab, &project).is_empty()
        });
        assert!(w.state_resource(ADDR).is_none(), "{out}");

        // The next apply does not make a second cluster: it says which
        // command brings the first one in.
        let r = w.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert_eq!(r.status, Some(1), "{r}");
        let text = r.flat();
        assert!(text.contains("Cluster name taken"), "{text}");
        assert!(
            text.contains("terraform import <address> project/apps-dc1"),
            "{text}"
        );
        assert_eq!(listed(&lab, &project).len(), 1);

        // Following it: in state, and nothing left to change.
        w.import(ADDR, "project/apps-dc1");
        assert_eq!(
            state_of(w)["id"],
            listed(&lab, &project)[0]["metadata"]["uid"]
        );
        w.assert_plan_empty();
        assert_eq!(listed(&lab, &project).len(), 1);
    });
}

#[test]
fn a_cluster_made_by_hand_imports_to_generated_configuration_that_plans_clean() {
    let sim = sim();
    for_each_terraform_where(
        &palette(),
        IMPORT_BLOCKS,
        TerraformBin::supports_import_blocks,
        |w| {
            let lab = Lab::with_vcsim(&sim);
            setup(w, &lab);
            let project = lab.project("Default");
            let gw = lab.gateway("pcg-dc1");
            let provider = format!(
                "provider \"palette\" {{\n  endpoint = \"{}\"\n  project  = \"Default\"\n}}\n",
                lab.endpoint()
            );
            // The profile's uid, through the data source.
            w.config(&format!(
            "{provider}\ndata \"palette_cluster_profile\" \"infra\" {{\n  name = \"vsphere-ubuntu-k8s\"\n}}\n\
             output \"profile\" {{\n  value = data.palette_cluster_profile.infra.id\n}}\n"
        ));
            w.init();
            w.apply();
            let profile = w.must(&["output", "-raw", "profile"]).stdout;
            // Made by hand, as in the console: an account, then a DHCP cluster
            // with one pack's values overridden.
            let c = lab.client.with_project(Some(project.clone()));
            let cancel = Default::default();
            let account: Value = lab
            .rt
            .block_on(c.post(
                "/v1/cloudaccounts/vsphere",
                &json!({
                    "metadata": {"name": "vsphere-by-hand", "annotations": {"overlordUid": gw}},
                    "spec": {"vcenterServer": sim.server, "username": sim.user, "password": sim.password, "insecure": true}
                }),
                &cancel,
            ))
            .unwrap();
            let placement = json!([{"cluster": "DC0_C0", "datastore": "LocalDS_0", "resourcePool": "Resources",
                                "network": {"networkName": "VM Network", "staticIp": false}}]);
            let cluster: Value = lab
            .rt
            .block_on(c.post(
                "/v1/spectroclusters/vsphere",
                &json!({
                    "metadata": {"name": "by-hand", "labels": {"env": "test"}},
                    "spec": {
                        "cloudAccountUid": account["uid"],
                        "profiles": [{"uid": profile, "packValues": [{"name": "kubernetes", "values": "custom: true\n"}]}],
                        "cloudConfig": {"staticIp": false, "sshKeys": ["ssh-ed25519 AAAA by-hand"],
                                        "controlPlaneEndpoint": {"type": "VIP"},
                                        "placement": {"datacenter": "DC0", "folder": "by-hand"}},
                        "machinepoolconfig": [
                            {"poolConfig": {"name": "cp", "isControlPlane": true, "size": 1,
                                            "labels": ["control-plane"],
                                            "updateStrategy": {"type": "RollingUpdateScaleOut"}},
                             "cloudConfig": {"instanceType": {"numCPUs": 4, "memoryMiB": 8192, "diskGiB": 60},
                                             "placements": placement}},
                            {"poolConfig": {"name": "workers", "isControlPlane": false, "size": 2,
                                            "labels": ["worker"], "additionalLabels": {"tier": "web"},
                                            "updateStrategy": {"type": "RollingUpdateScaleIn"}},
                             "cloudConfig": {"instanceType": {"numCPUs": 2, "memoryMiB": 4096, "diskGiB": 40},
                                             "placements": placement}}
                        ]
                    }
                }),
                &cancel,
            ))
            .unwrap();
            let uid = cluster["uid"].as_str().unwrap().to_string();
            wait_until(
                "the cluster made by hand to run",
                Duration::from_secs(60),
                || {
                    let c: Value = lab.get(Some(&project), &cluster_path(&uid)).unwrap();
                    c["status"]["state"] == "Running"
                },
            );
            w.config(&format!("{provider}\nimport {{\n  to = palette_cluster_vsphere.by_hand\n  id = \"by-hand\"\n}}\n"));
            let r = w.run(&[
                "plan",
                "-input=false",
                "-no-color",
                "-generate-config-out=generated.tf",
            ]);
            let generated = std::fs::read_to_string(w.work().join("generated.tf"))
                .unwrap_or_else(|_| panic!("no generated.tf: {r}"));
            assert!(
                generated.contains("resource \"palette_cluster_vsphere\" \"by_hand\""),
                "{generated}"
            );
            // YAML before Terraform 1.14, which writes the configuration
            // itself; from 1.14 the provider does, as readable HCL.
            assert!(
                generated.contains("custom: true")
                    || generated.contains("values = jsonencode({")
                        && generated.contains("custom = true"),
                "the overridden pack is generated: {generated}"
            );
            let plan = w.plan_json();
            let change = change_of(&plan, "palette_cluster_vsphere.by_hand");
            assert_eq!(change["actions"], json!(["no-op"]), "{change}\n{generated}");
            w.apply();
            w.assert_plan_empty();
            w.destroy();
        },
    );
}

/// The console's Force Delete Cluster button as an action (Terraform
/// 1.14+): refused, with the time left, before Palette's 15 minutes of a
/// stuck deletion; afterwards the cluster leaves Palette, and the resource
/// leaves state at the next refresh. The lab runs at 1/50 speed, so the 15
/// minutes take 18 seconds.
#[test]
fn force_delete_action_waits_for_palettes_fifteen_minutes_then_removes_the_stuck_cluster() {
    let sim = sim();
    for_each_terraform_where(
        &palette(),
        "actions (1.14+)",
        TerraformBin::supports_actions,
        |w| {
            let lab = Lab::with_vcsim_at(&sim, 0.02);
            setup(w, &lab);
            let project = lab.project("Default");
            let gw = lab.gateway("pcg-dc1");
            let pools = format!("{}{}", cp_pool(false), worker_pool("workers", 1, false));
            let spec = Spec {
                static_ip: false,
                pools: &pools,
                extra: "timeouts {\n delete = \"2s\"\n }",
                ..Default::default()
            };
            let base = config(&lab, &sim, &gw, &spec);
            w.config(&base);
            w.init();
            w.apply();
            let uid = state_of(w)["id"].as_str().unwrap().to_string();
            lab.admin(
                reqwest::Method::POST,
                "/lab/cluster-faults",
                Some(json!({"kind": "deletion_hangs", "cluster_name": "apps-dc1"})),
            );
            let out = w.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
            assert!(!out.ok(), "the deletion hangs: {out}");

            w.config(&format!(
                "{base}\naction \"palette_cluster_force_delete\" \"apps\" {{\n  config {{\n    cluster_id = \"{uid}\"\n  }}\n}}\n"
            ));
            let invoke = [
                "apply",
                "-invoke=action.palette_cluster_force_delete.apps",
                "-auto-approve",
                "-input=false",
                "-no-color",
            ];
            let early = w.run(&invoke);
            assert!(!early.ok(), "too early: {early}");
            let text = early.flat();
            assert!(text.contains("Too early to force-delete"), "{text}");
            assert!(text.contains("are left"), "{text}");
            assert_eq!(listed(&lab, &project).len(), 1, "nothing was forced");

            let started = std::time::Instant::now();
            let done = loop {
                std::thread::sleep(std::time::Duration::from_secs(2));
                let r = w.run(&invoke);
                if r.ok() {
                    break r;
                }
                assert!(
                    r.flat().contains("Too early to force-delete"),
                    "only time stands in the way: {r}"
                );
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(90),
                    "still refused after 15 lab minutes: {r}"
                );
            };
            let text = done.flat();
            assert!(text.contains("Cluster force-deleted"), "{text}");
            assert!(listed(&lab, &project).is_empty(), "gone from Palette");
            w.config(&base);
            w.must(&[
                "apply",
                "-refresh-only",
                "-auto-approve",
                "-input=false",
                "-no-color",
            ]);
            assert!(w.state_resource(ADDR).is_none(), "the refresh drops it");
        },
    );
}

/// The gateway's upgrade notification: (uid of the gateway's cluster, uid
/// of the notification still to apply, if any).
fn gateway_upgrade(lab: &Lab, gw: &str) -> (String, Option<String>) {
    let g: Value = lab.get(None, &format!("/v1/overlords/{gw}")).unwrap();
    let cluster = g["spec"]["spectroClusterUid"].as_str().unwrap().to_string();
    let n: Value = lab
        .get(None, &format!("/v1/notifications/spectrocluster/{cluster}"))
        .unwrap();
    let note = n["items"][0]["metadata"]["uid"].as_str().map(String::from);
    (cluster, note)
}

fn upgrade_available(lab: &Lab, gw: &str) -> bool {
    let g: Value = lab.get(None, &format!("/v1/overlords/{gw}")).unwrap();
    g["status"]["notifications"]["isAvailable"] == true
}

/// The document: "New cluster requests are queued while the gateway is
/// being upgraded and are processed as soon as the gateway upgrade is
/// complete." A create during an upgrade (started as the console does)
/// waits, and says why, instead of failing, on every Terraform.
#[test]
fn a_create_during_a_gateway_upgrade_waits_and_says_why() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        // Upgrade 18 s, Pending 6 s: the create must reach Palette while
        // the upgrade runs, even on a loaded machine.
        let lab = Lab::with_vcsim_at(&sim, 0.1);
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        let pools = format!("{}{}", cp_pool(false), worker_pool("workers", 1, false));
        let spec = Spec {
            static_ip: false,
            pools: &pools,
            ..Default::default()
        };
        let base = config(&lab, &sim, &gw, &spec);
        w.config(&base);
        w.init();
        // Everything but the cluster first, so that the upgrade below
        // starts right before the cluster's create.
        w.must(&[
            "apply",
            "-target=palette_ip_pool.nodes",
            "-target=palette_cloud_account_vsphere.dc1",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);

        // Started the way the console does, before the create.
        lab.admin(
            reqwest::Method::POST,
            &format!("/lab/gateways/{gw}/upgrade"),
            Some(json!({"available": true})),
        );
        let (gw_cluster, note) = gateway_upgrade(&lab, &gw);
        let note = note.expect("a notification to apply");
        lab.admin(
            reqwest::Method::PATCH,
            &format!("/v1/spectroclusters/{gw_cluster}/packRefs?notify={note}"),
            Some(json!({"spcApplySettings": {"actionType": "DownloadAndInstall"}})),
        );
        let started = std::time::Instant::now();
        let out = w.apply();
        let text = out.flat();
        assert!(
            text.contains("Cluster creation waited for a gateway upgrade")
                && text.contains("Gateway pcg-dc1 was being upgraded"),
            "the apply says why it waited: {text}"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(5),
            "it waited for the upgrade"
        );
        let uid = state_of(w)["id"].as_str().unwrap().to_string();
        let ev: Value = lab
            .get(
                Some(&lab.project("Default")),
                &format!("/v1/events/components/spectrocluster/{uid}"),
            )
            .unwrap();
        assert!(
            ev["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["reason"] == "Queued"),
            "Palette queued it: {ev}"
        );
        w.assert_plan_empty();
    });
}

/// The gateway's Update button as an action (Terraform 1.14+): nothing to
/// apply is a warning; a released upgrade is acknowledged, applied, waited
/// for with progress, and marked done while the gateway's cluster keeps
/// running; a gateway that is not Running is refused at plan time.
#[test]
fn the_gateway_upgrade_action_applies_the_released_upgrade() {
    let sim = sim();
    for_each_terraform_where(
        &palette(),
        "actions (1.14+)",
        TerraformBin::supports_actions,
        |w| {
            // Upgrade 9 s.
            let lab = Lab::with_vcsim_at(&sim, 0.05);
            setup(w, &lab);
            let gw = lab.gateway("pcg-dc1");
            let release = || {
                lab.admin(
                    reqwest::Method::POST,
                    &format!("/lab/gateways/{gw}/upgrade"),
                    Some(json!({"available": true})),
                )
            };
            let pools = format!("{}{}", cp_pool(false), worker_pool("workers", 1, false));
            let spec = Spec {
                static_ip: false,
                pools: &pools,
                ..Default::default()
            };
            let base = config(&lab, &sim, &gw, &spec);
            w.config(&base);
            w.init();
            w.apply();
            let uid = state_of(w)["id"].as_str().unwrap().to_string();
            let (gw_cluster, _) = gateway_upgrade(&lab, &gw);
            let with_action = |id: &str| {
                format!(
                "{base}\naction \"palette_gateway_upgrade\" \"dc1\" {{\n  config {{\n    gateway_id = \"{id}\"\n  }}\n}}\n"
            )
            };
            let invoke = [
                "apply",
                "-invoke=action.palette_gateway_upgrade.dc1",
                "-auto-approve",
                "-input=false",
                "-no-color",
            ];
            // Nothing to apply: a warning, nothing done.
            w.config(&with_action(&gw));
            let r = w.run(&invoke);
            assert!(r.ok(), "{r}");
            assert!(
                r.flat().contains("No gateway upgrade available"),
                "{}",
                r.flat()
            );

            // A new upgrade, applied by the action.
            release();
            assert!(upgrade_available(&lab, &gw));
            let (_, note) = gateway_upgrade(&lab, &gw);
            let note = note.unwrap();
            let r = w.run(&invoke);
            assert!(r.ok(), "{r}");
            let text = r.flat();
            for said in [
                format!("applying upgrade {note} to gateway pcg-dc1"),
                "gateway pcg-dc1 is being upgraded".to_string(),
                "gateway pcg-dc1 is upgraded".to_string(),
            ] {
                assert!(text.contains(&said), "progress {said:?}: {text}");
            }
            assert!(!upgrade_available(&lab, &gw));
            let done: Value = lab
                .get(
                    None,
                    &format!("/v1/notifications/spectrocluster/{gw_cluster}?isDone=true"),
                )
                .unwrap();
            let done: Vec<&str> = done["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|n| n["metadata"]["uid"].as_str())
                .collect();
            assert!(done.contains(&note.as_str()), "marked done: {done:?}");
            assert_eq!(gateway_upgrade(&lab, &gw).1, None, "nothing left to apply");
            let c: Value = lab
                .get(Some(&lab.project("Default")), &cluster_path(&uid))
                .unwrap();
            assert_eq!(
                c["status"]["state"], "Running",
                "the cluster ran throughout"
            );

            // A gateway that is not Running is refused at plan time.
            let stuck = lab.admin(
                reqwest::Method::POST,
                "/lab/gateways",
                Some(json!({"name": "pcg-stuck", "state": "Provisioning"})),
            )["uid"]
                .as_str()
                .unwrap()
                .to_string();
            w.config(&with_action(&stuck));
            let r = w.run(&invoke);
            assert!(!r.ok(), "{r}");
            assert!(r.flat().contains("Gateway is not Running"), "{}", r.flat());
            w.config(&base);
        },
    );
}

/// The compute clusters each machine pool's placements name, in order, as
/// a state or a plan's `after` has them.
fn placed(cluster: &Value) -> Vec<(String, Vec<(Value, Value)>)> {
    let mut pools: Vec<(String, Vec<(Value, Value)>)> = cluster["machine_pool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["placement"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|pl| (pl["compute_cluster"].clone(), pl["zone"].clone()))
                    .collect(),
            )
        })
        .collect();
    pools.sort_by(|a, b| a.0.cmp(&b.0));
    pools
}

/// Placements that name a `k8s-zone` tag instead of a compute cluster: the
/// plan reads the tags from vCenter (the provider's `vcenter` block) and
/// plans the cluster carrying each zone; Palette gets plain compute
/// clusters. A tag moved in vCenter shows as a change of `compute_cluster`;
/// an unknown zone is a plan error listing the zones there; an import with
/// the provider's `vcenter` block finds the zones again and plans clean.
#[test]
fn zone_placements_resolve_through_the_tags_at_plan_time() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        setup(w, &lab);
        let project = lab.project("Default");
        let gw = lab.gateway("pcg-dc1");
        let zones = |c0: &str, c1: &str| {
            format!(
                "\nresource \"palette_vsphere_zones\" \"dc\" {{\n  datacenter = \"DC0\"\n  region     = \"region1\"\n  zones = {{\n    \"DC0_C0\" = \"{c0}\"\n    \"DC0_C1\" = \"{c1}\"\n  }}\n}}\n"
            )
        };
        let zoned = |zone: &str| {
            format!(
                "\n    placement {{\n      zone      = \"{zone}\"\n      datastore = \"LocalDS_0\"\n      network   = \"VM Network\"\n    }}"
            )
        };
        let pools = |cp: &str, w1: &str, w2: &str| {
            format!(
                "\n  machine_pool {{\n    name          = \"cp\"\n    control_plane = true\n    count         = 1\n    {}\n  }}\n  machine_pool {{\n    name  = \"workers\"\n    count = 2\n    {}\n    {}\n  }}",
                zoned(cp),
                zoned(w1),
                zoned(w2)
            )
        };
        let with_vcenter = |cfg: String| {
            cfg.replacen(
                "  retry_max_wait  = \"1s\"\n}",
                &format!(
                    "  retry_max_wait  = \"1s\"\n  vcenter {{\n    server   = \"{}\"\n    username = \"{}\"\n    password = \"{PASSWORD}\"\n    insecure = true\n  }}\n}}",
                    sim.server, sim.user
                ),
                1,
            )
        };
        let cluster_cfg = |p: &str, z: &str| {
            let spec = Spec {
                static_ip: false,
                pools: p,
                ..Default::default()
            };
            format!("{}{z}", with_vcenter(config(&lab, &sim, &gw, &spec)))
        };
        let p = pools("az1", "az1", "az2");
        let full = cluster_cfg(&p, &zones("az1", "az2"));
        assert!(full.contains("vcenter {"), "{full}");

        // The tags first (a zone must be in vCenter when the plan reads it).
        w.config(&full);
        w.init();
        w.must(&[
            "apply",
            "-target=palette_vsphere_zones.dc",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        w.apply();
        let s = state_of(w);
        let want = vec![
            ("cp".to_string(), vec![(json!("DC0_C0"), json!("az1"))]),
            (
                "workers".to_string(),
                vec![
                    (json!("DC0_C0"), json!("az1")),
                    (json!("DC0_C1"), json!("az2")),
                ],
            ),
        ];
        assert_eq!(placed(&s), want);
        let cc = cloud_config(&lab, &project, w);
        let mut in_palette: Vec<(String, Vec<String>)> = cc
            .spec
            .unwrap()
            .machine_pool_config
            .unwrap()
            .into_iter()
            .map(|m| {
                (
                    m.name.unwrap(),
                    m.placements
                        .unwrap()
                        .into_iter()
                        .map(|p| p.cluster.unwrap())
                        .collect(),
                )
            })
            .collect();
        in_palette.sort();
        assert_eq!(
            in_palette,
            vec![
                ("cp".to_string(), vec!["DC0_C0".to_string()]),
                (
                    "workers".to_string(),
                    vec!["DC0_C0".to_string(), "DC0_C1".to_string()]
                ),
            ],
            "Palette gets compute clusters"
        );
        w.assert_plan_empty();

        // The tags swapped in vCenter: the zones now name the other clusters.
        w.config(&cluster_cfg(&p, &zones("az2", "az1")));
        w.must(&[
            "apply",
            "-target=palette_vsphere_zones.dc",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        let plan = w.plan_json();
        let after = &change_of(&plan, ADDR)["after"];
        assert_eq!(
            placed(after),
            vec![
                ("cp".to_string(), vec![(json!("DC0_C1"), json!("az1"))]),
                (
                    "workers".to_string(),
                    vec![
                        (json!("DC0_C1"), json!("az1")),
                        (json!("DC0_C0"), json!("az2")),
                    ],
                ),
            ],
            "a moved tag is a change of compute_cluster"
        );
        // Back, and nothing to do.
        w.config(&full);
        w.must(&[
            "apply",
            "-target=palette_vsphere_zones.dc",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        w.assert_plan_empty();

        // A zone no cluster carries: a plan error naming the zones there.
        let bad = cluster_cfg(&pools("az1", "az1", "az7"), &zones("az1", "az2"));
        let out = flat(&plan_fails(w, &bad));
        assert!(out.contains("Zone not found"), "{out}");
        assert!(out.contains("\"az7\""), "{out}");
        assert!(out.contains("DC0_C0 = az1; DC0_C1 = az2"), "{out}");
        w.config(&full);

        // Imported: the provider's vcenter block finds the zones again.
        let uid = s["id"].as_str().unwrap().to_string();
        w.state_rm(ADDR);
        w.import(ADDR, &uid);
        assert_eq!(placed(&state_of(w)), want, "the import read the zones");
        w.assert_plan_empty();
        w.destroy();
    });
}
