//! Moving state from the official Spectro Cloud provider
//! (`spectrocloud/spectrocloud`, SDKv2) with `moved` blocks (Terraform 1.8+).
//!
//! Its state is JSON in its own schema (attribute names such as
//! `vsphere_vcenter`, `private_cloud_gateway_id`, `machine_pool.instance_type`),
//! written by SDKv2: every attribute present, unset strings as `""`, blocks
//! as arrays. Each function here maps one type's state onto ours without
//! calling Palette, since Terraform refreshes the moved object right after:
//! what the official provider does not store (node list, health) is read
//! then. What it stores that this provider does not manage (backup policy,
//! autoscaler bounds, ...) is named in a warning, so nobody believes
//! Terraform still manages it.

use serde::Serialize;
use serde_json::{json, Map, Value as J};
use tfplugin::model::{StringMap, Strings};
use tfplugin::{Attr, Diagnostic, Diagnostics, MoveRequest, MoveSource, Schema, Value};

use crate::cloud_account::CloudAccountModel;
use crate::cluster::model::{
    CloudConfig, ClusterModel, ClusterProfile, MachinePool, Pack, Placement, Taint,
};
use crate::ip_pool::IpPoolModel;

/// The official provider's address, as Terraform records it in state.
pub const PROVIDER: &str = "registry.terraform.io/spectrocloud/spectrocloud";

/// The official types and the newest schema version each understands:
/// `spectrocloud_cluster_vsphere` is at version 1 (its version 0 kept
/// `cluster_profile` as a list, the same JSON), the IP pool at 2 (versions
/// 0 to 2 share one shape), the cloud account at 0.
pub const CLUSTER: MoveSource = MoveSource {
    provider: PROVIDER,
    type_name: "spectrocloud_cluster_vsphere",
    max_schema_version: 1,
};
pub const ACCOUNT: MoveSource = MoveSource {
    provider: PROVIDER,
    type_name: "spectrocloud_cloudaccount_vsphere",
    max_schema_version: 0,
};
pub const IP_POOL: MoveSource = MoveSource {
    provider: PROVIDER,
    type_name: "spectrocloud_privatecloudgateway_ippool",
    max_schema_version: 2,
};

/// The moved state as a value of `schema`, with a warning for each value
/// the source held that has no place here.
pub fn moved(req: &MoveRequest, schema: &Schema) -> Result<(Value, Diagnostics), Diagnostics> {
    let src = req.state.as_object().ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            "Cannot read the source state",
            format!(
                "The state of {} is not a JSON object.",
                req.source.type_name
            ),
        ))
    })?;
    // Ours is built as our model, so a mapping cannot name an attribute our
    // schema lacks; a model that does not fit the schema it is given is a
    // bug here: fail loudly rather than drop the value.
    fn typed<M: Serialize>(
        (ours, unmanaged): (M, Vec<String>),
        schema: &Schema,
    ) -> Result<(Value, Vec<String>), String> {
        tfplugin::model::to_value(&ours, &schema.ty())
            .map(|v| (v, unmanaged))
            .map_err(|e| e.to_string())
    }
    let mapped = match req.source.type_name {
        t if t == CLUSTER.type_name => typed(cluster(src), schema),
        t if t == ACCOUNT.type_name => typed(account(src), schema),
        t if t == IP_POOL.type_name => typed(ip_pool(src), schema),
        t => {
            return Err(
                Diagnostic::error("Move not supported", format!("No mapping from {t}.")).into(),
            )
        }
    };
    if text(src, "id").is_none() {
        return Err(Diagnostic::error(
            "Cannot move an object without id",
            format!(
                "The state of {} has no `id`: the object was never created. Remove it from state \
                 (terraform state rm) instead of moving it.",
                req.source.type_name
            ),
        )
        .into());
    }
    let (value, unmanaged) = mapped.map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Cannot map the source state",
            format!("{}: {e}", req.source.type_name),
        ))
    })?;
    let mut d = Diagnostics::new();
    if !unmanaged.is_empty() {
        d.push(Diagnostic::warning(
            "Settings this provider does not manage",
            format!(
                "The state of {} (Palette object {}) holds settings with no counterpart in this \
                 provider: {}. Palette keeps them as they are; Terraform no longer manages them. \
                 Remove them from the configuration of the moved resource.",
                req.source.type_name,
                text(src, "id").unwrap_or_default(),
                unmanaged.join(", ")
            ),
        ));
    }
    Ok((value, d))
}

type Obj = Map<String, J>;

/// A string attribute as the official provider stores it: `""` is unset.
fn text(o: &Obj, k: &str) -> Option<String> {
    o.get(k)
        .and_then(J::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn int(o: &Obj, k: &str) -> Option<i64> {
    match o.get(k)? {
        J::Number(n) => n.as_i64(),
        J::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn flag(o: &Obj, k: &str) -> bool {
    match o.get(k) {
        Some(J::Bool(b)) => *b,
        Some(J::String(s)) => s == "true",
        _ => false,
    }
}

/// A list or set of strings; null when empty (the official provider writes
/// `[]` or null for an unset set alike, where our state holds null).
fn strings(o: &Obj, k: &str) -> Strings {
    let v: Vec<Attr<String>> = o
        .get(k)
        .and_then(J::as_array)
        .map(|a| {
            a.iter()
                .filter_map(J::as_str)
                .filter(|s| !s.is_empty())
                .map(Attr::from)
                .collect()
        })
        .unwrap_or_default();
    if v.is_empty() {
        Attr::Null
    } else {
        Attr::Known(v)
    }
}

/// A map of strings; null when empty. A value that is not a string (SDKv2
/// writes none) is left out.
fn string_map(o: &Obj, k: &str) -> StringMap {
    match o.get(k).and_then(J::as_object) {
        Some(m) if !m.is_empty() => Attr::Known(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), Attr::from(v.as_str()?))))
                .collect(),
        ),
        _ => Attr::Null,
    }
}

fn objects<'a>(o: &'a Obj, k: &str) -> Vec<&'a Obj> {
    o.get(k)
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(J::as_object).collect())
        .unwrap_or_default()
}

/// Whether a stored value means "not set": what SDKv2 writes for an
/// attribute or block the configuration left out.
fn is_unset(v: &J) -> bool {
    match v {
        J::Null => true,
        J::Bool(b) => !b,
        J::Number(n) => n.as_f64() == Some(0.0),
        J::String(s) => s.is_empty(),
        J::Array(a) => a.is_empty(),
        J::Object(m) => m.is_empty(),
    }
}

/// The attributes of `o` outside `mapped` that hold a value other than
/// their official default, as `prefix.name`.
fn unmanaged(o: &Obj, prefix: &str, mapped: &[&str], defaults: &[(&str, J)]) -> Vec<String> {
    o.iter()
        .filter(|(k, v)| {
            !mapped.contains(&k.as_str())
                && !is_unset(v)
                && !defaults.iter().any(|(d, dv)| d == k && dv == *v)
        })
        .map(|(k, _)| format!("{prefix}{k}"))
        .collect()
}

fn context(o: &Obj) -> String {
    text(o, "context").unwrap_or_else(|| "project".into())
}

fn account(o: &Obj) -> (CloudAccountModel, Vec<String>) {
    let ours = CloudAccountModel {
        id: text(o, "id").into(),
        name: text(o, "name").into(),
        gateway_id: text(o, "private_cloud_gateway_id").into(),
        context: context(o).into(),
        vcenter_server: text(o, "vsphere_vcenter").into(),
        username: text(o, "vsphere_username").into(),
        password: text(o, "vsphere_password").into(),
        insecure: flag(o, "vsphere_ignore_insecure_error").into(),
        ..Default::default()
    };
    let mapped = [
        "id",
        "name",
        "private_cloud_gateway_id",
        "context",
        "vsphere_vcenter",
        "vsphere_username",
        "vsphere_password",
        "vsphere_ignore_insecure_error",
        "timeouts",
    ];
    (ours, unmanaged(o, "", &mapped, &[]))
}

fn ip_pool(o: &Obj) -> (IpPoolModel, Vec<String>) {
    let subnet = text(o, "network_type").as_deref() == Some("subnet");
    let ours = IpPoolModel {
        id: text(o, "id").into(),
        gateway_id: text(o, "private_cloud_gateway_id").into(),
        name: text(o, "name").into(),
        start: if subnet {
            None
        } else {
            text(o, "ip_start_range")
        }
        .into(),
        end: if subnet {
            None
        } else {
            text(o, "ip_end_range")
        }
        .into(),
        subnet: if subnet { text(o, "subnet_cidr") } else { None }.into(),
        prefix: int(o, "prefix").into(),
        gateway: text(o, "gateway").into(),
        nameservers: strings(o, "nameserver_addresses"),
        search_domains: strings(o, "nameserver_search_suffix"),
        restrict_to_single_cluster: flag(o, "restrict_to_single_cluster").into(),
        ..Default::default()
    };
    let mapped = [
        "id",
        "private_cloud_gateway_id",
        "name",
        "network_type",
        "ip_start_range",
        "ip_end_range",
        "subnet_cidr",
        "prefix",
        "gateway",
        "nameserver_addresses",
        "nameserver_search_suffix",
        "restrict_to_single_cluster",
        "timeouts",
    ];
    (ours, unmanaged(o, "", &mapped, &[]))
}

fn cluster(o: &Obj) -> (ClusterModel, Vec<String>) {
    let mut left = unmanaged(
        o,
        "",
        &[
            "id",
            "name",
            "context",
            "description",
            "tags",
            "cloud_account_id",
            "cloud_config_id",
            "kubeconfig",
            "admin_kube_config",
            "force_delete",
            "force_delete_delay",
            "cluster_profile",
            "cloud_config",
            "machine_pool",
            "timeouts",
            "skip_completion",
        ],
        &[
            ("apply_setting", json!("DownloadAndInstall")),
            ("pause_agent_upgrades", json!("unlock")),
        ],
    );
    let profiles: Vec<ClusterProfile> = objects(o, "cluster_profile")
        .into_iter()
        .map(|p| {
            let packs: Vec<Pack> = objects(p, "pack")
                .into_iter()
                .filter_map(|k| {
                    // A pack entry without values only pinned the pack;
                    // ours lists packs only to override their values.
                    let values = text(k, "values")?;
                    Some(Pack {
                        name: text(k, "name").into(),
                        values: values.into(),
                    })
                })
                .collect();
            for k in objects(p, "pack") {
                if objects(k, "manifest")
                    .iter()
                    .any(|m| text(m, "content").is_some())
                {
                    left.push(format!(
                        "cluster_profile.pack.manifest (pack {})",
                        text(k, "name").unwrap_or_default()
                    ));
                }
            }
            ClusterProfile {
                id: text(p, "id").into(),
                pack: packs,
                variables: string_map(p, "variables"),
            }
        })
        .collect();
    let cloud_config: Vec<CloudConfig> = objects(o, "cloud_config")
        .into_iter()
        .map(|c| {
            let mut keys = strings(c, "ssh_keys");
            if keys.is_null() {
                if let Some(k) = text(c, "ssh_key") {
                    keys = Attr::Known(vec![k.into()]);
                }
            }
            left.extend(unmanaged(
                c,
                "cloud_config.",
                &[
                    "datacenter",
                    "folder",
                    "image_template_folder",
                    "ssh_key",
                    "ssh_keys",
                    "static_ip",
                    "network_type",
                    "network_search_domain",
                    "ntp_servers",
                ],
                &[],
            ));
            CloudConfig {
                datacenter: text(c, "datacenter").into(),
                folder: text(c, "folder").into(),
                image_template_folder: text(c, "image_template_folder").into(),
                ssh_keys: keys,
                ntp_servers: strings(c, "ntp_servers"),
                static_ip: flag(c, "static_ip").into(),
                control_plane_endpoint: text(c, "network_type")
                    .unwrap_or_else(|| "VIP".into())
                    .into(),
                network_search_domain: text(c, "network_search_domain").into(),
            }
        })
        .collect();
    let pools: Vec<MachinePool> = objects(o, "machine_pool")
        .into_iter()
        .map(|m| {
            let name = text(m, "name").unwrap_or_default();
            let size = objects(m, "instance_type")
                .first()
                .copied()
                .cloned()
                .unwrap_or_default();
            let placements: Vec<Placement> = objects(m, "placement")
                .into_iter()
                .map(|p| Placement {
                    compute_cluster: text(p, "cluster").into(),
                    // The official provider has no zones.
                    zone: Attr::Null,
                    datastore: text(p, "datastore").into(),
                    network: text(p, "network").into(),
                    resource_pool: text(p, "resource_pool")
                        .unwrap_or_else(|| "Resources".into())
                        .into(),
                    ip_pool_id: text(p, "static_ip_pool_id").into(),
                })
                .collect();
            let taints: Vec<Taint> = objects(m, "taints")
                .into_iter()
                .map(|t| Taint {
                    key: text(t, "key").into(),
                    value: text(t, "value").into(),
                    effect: text(t, "effect").into(),
                })
                .collect();
            let strategy =
                text(m, "update_strategy").unwrap_or_else(|| "RollingUpdateScaleOut".into());
            if strategy == "OverrideScaling" {
                left.push(format!(
                    "machine_pool.update_strategy = OverrideScaling (pool {name})"
                ));
            }
            left.extend(
                unmanaged(
                    m,
                    "machine_pool.",
                    &[
                        "name",
                        "control_plane",
                        "control_plane_as_worker",
                        "count",
                        "instance_type",
                        "placement",
                        "additional_labels",
                        "taints",
                        "update_strategy",
                    ],
                    &[("skip_k8s_upgrade", json!("disabled"))],
                )
                .into_iter()
                .map(|a| format!("{a} (pool {name})")),
            );
            MachinePool {
                name: name.into(),
                control_plane: flag(m, "control_plane").into(),
                control_plane_as_worker: flag(m, "control_plane_as_worker").into(),
                count: int(m, "count").into(),
                cpu: int(&size, "cpu").into(),
                memory_mb: int(&size, "memory_mb").into(),
                disk_gb: int(&size, "disk_size_gb").into(),
                labels: string_map(m, "additional_labels"),
                update_strategy: if strategy == "OverrideScaling" {
                    "RollingUpdateScaleOut".to_string()
                } else {
                    strategy
                }
                .into(),
                taint: taints,
                placement: placements,
            }
        })
        .collect();
    let delay = int(o, "force_delete_delay").unwrap_or(20);
    let ours = ClusterModel {
        id: text(o, "id").into(),
        name: text(o, "name").into(),
        context: context(o).into(),
        description: text(o, "description").into(),
        tags: strings(o, "tags"),
        cloud_account_id: text(o, "cloud_account_id").into(),
        cloud_config_id: text(o, "cloud_config_id").into(),
        kubeconfig: text(o, "kubeconfig").into(),
        store_kubeconfig: true.into(),
        force_delete: flag(o, "force_delete").into(),
        force_delete_delay: format!("{delay}m").into(),
        nodes: Attr::Known(Vec::new()),
        cluster_profile: profiles,
        cloud_config,
        machine_pool: pools,
        ..Default::default()
    };
    (ours, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(source: MoveSource, state: J) -> MoveRequest {
        MoveRequest {
            schema_version: source.max_schema_version,
            source,
            state,
        }
    }

    /// A cluster as the official provider 0.29 stores it: every attribute
    /// of its schema present, unset ones empty.
    fn official_cluster() -> J {
        serde_json::from_str(
            r#"{
            "id": "c-1", "name": "apps", "context": "project", "description": "",
            "tags": ["env:prod", "team:platform"], "cloud_account_id": "a-1",
            "cloud_config_id": "cc-1", "kubeconfig": "apiVersion: v1\n", "admin_kube_config": "",
            "apply_setting": "DownloadAndInstall", "review_repave_state": "",
            "pause_agent_upgrades": "unlock", "os_patch_on_boot": false, "os_patch_schedule": "",
            "os_patch_after": "", "cluster_timezone": "", "cluster_meta_attribute": "",
            "renew_k8s_certificates_now": "", "update_worker_pools_in_parallel": false,
            "skip_completion": false, "force_delete": true, "force_delete_delay": 30,
            "cluster_template": [], "backup_policy": [], "scan_policy": [],
            "cluster_rbac_binding": [], "namespaces": [], "host_config": [], "location_config": [],
            "timeouts": null,
            "cluster_profile": [{
                "id": "p-1", "variables": {"region": "eu"},
                "pack": [
                    {"uid": "", "type": "spectro", "name": "kubernetes", "registry_uid": "",
                     "registry_name": "", "tag": "1.30", "values": "a: 1\nb:\n  c: 2\n", "manifest": []},
                    {"uid": "", "type": "spectro", "name": "cni", "registry_uid": "",
                     "registry_name": "", "tag": "", "values": "", "manifest": []}
                ]
            }],
            "cloud_config": [{
                "datacenter": "DC0", "folder": "palette/apps", "image_template_folder": "",
                "ssh_key": "ssh-ed25519 AAAA ops", "ssh_keys": [], "static_ip": true,
                "network_type": "", "host_endpoint": "", "network_search_domain": "",
                "ntp_servers": ["ntp.example.com"], "override_cluster_api_config": ""
            }],
            "machine_pool": [{
                "name": "cp", "control_plane": true, "control_plane_as_worker": false, "count": 1,
                "min": 0, "max": 0, "node_repave_interval": 0, "skip_k8s_upgrade": "disabled",
                "update_strategy": "RollingUpdateScaleOut", "override_scaling": [],
                "additional_labels": {}, "additional_annotations": {}, "taints": [], "node": [],
                "override_kubeadm_configuration": "", "override_cluster_api_config": "",
                "override_health_check_configuration": "",
                "instance_type": [{"cpu": 4, "memory_mb": 8192, "disk_size_gb": 60}],
                "placement": [{"id": "pl-1", "cluster": "DC0_C0", "resource_pool": "",
                               "datastore": "LocalDS_0", "network": "VM Network",
                               "static_ip_pool_id": "pool-1"}]
            }, {
                "name": "workers", "control_plane": false, "control_plane_as_worker": false,
                "count": 2, "min": 1, "max": 5, "node_repave_interval": 0,
                "skip_k8s_upgrade": "disabled", "update_strategy": "RollingUpdateScaleIn",
                "override_scaling": [], "additional_labels": {"tier": "web"},
                "additional_annotations": {}, "node": [],
                "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}],
                "override_kubeadm_configuration": "", "override_cluster_api_config": "",
                "override_health_check_configuration": "",
                "instance_type": [{"cpu": 8, "memory_mb": 16384, "disk_size_gb": 80}],
                "placement": [{"id": "pl-2", "cluster": "DC0_C1", "resource_pool": "rp1",
                               "datastore": "LocalDS_0", "network": "VM Network",
                               "static_ip_pool_id": "pool-1"}]
            }]
        }"#,
        )
        .expect("valid JSON")
    }

    #[test]
    fn a_cluster_maps_every_attribute_it_stores() {
        let schema = schemas::cluster::schema();
        let (v, warnings) = moved(&req(CLUSTER, official_cluster()), &schema).unwrap();
        assert_eq!(v.get("id"), &Value::string("c-1"));
        assert_eq!(v.get("context"), &Value::string("project"));
        assert_eq!(v.get("description"), &Value::Null, "\"\" is unset");
        assert_eq!(v.get("force_delete_delay"), &Value::string("30m"));
        assert_eq!(v.get("force_delete"), &Value::Bool(true));
        assert_eq!(v.get("cloud_account_id"), &Value::string("a-1"));
        let tags = v.get("tags").as_elements().unwrap();
        assert_eq!(tags.len(), 2);
        let profile = &v.get("cluster_profile").as_elements().unwrap()[0];
        assert_eq!(profile.get("variables").get("region"), &Value::string("eu"));
        let packs = profile.get("pack").as_elements().unwrap();
        assert_eq!(packs.len(), 1, "the pack without values pins nothing here");
        assert_eq!(packs[0].get("values"), &Value::string("a: 1\nb:\n  c: 2\n"));
        let cc = &v.get("cloud_config").as_elements().unwrap()[0];
        assert_eq!(
            cc.get("ssh_keys"),
            &Value::List(vec![Value::string("ssh-ed25519 AAAA ops")]),
            "the deprecated single key becomes the list"
        );
        assert_eq!(cc.get("control_plane_endpoint"), &Value::string("VIP"));
        assert_eq!(cc.get("image_template_folder"), &Value::Null);
        let pools = v.get("machine_pool").as_elements().unwrap();
        let workers = pools
            .iter()
            .find(|p| p.get("name") == &Value::string("workers"))
            .unwrap();
        assert_eq!(workers.get("cpu"), &Value::int(8));
        assert_eq!(workers.get("memory_mb"), &Value::int(16384));
        assert_eq!(workers.get("disk_gb"), &Value::int(80));
        assert_eq!(
            workers.get("update_strategy"),
            &Value::string("RollingUpdateScaleIn")
        );
        assert_eq!(workers.get("labels").get("tier"), &Value::string("web"));
        assert_eq!(workers.get("taint").as_elements().unwrap().len(), 1);
        let pl = &workers.get("placement").as_elements().unwrap()[0];
        assert_eq!(pl.get("compute_cluster"), &Value::string("DC0_C1"));
        assert_eq!(pl.get("resource_pool"), &Value::string("rp1"));
        assert_eq!(pl.get("ip_pool_id"), &Value::string("pool-1"));
        let cp = pools
            .iter()
            .find(|p| p.get("name") == &Value::string("cp"))
            .unwrap();
        let cp_pl = &cp.get("placement").as_elements().unwrap()[0];
        assert_eq!(cp_pl.get("resource_pool"), &Value::string("Resources"));
        // The autoscaler bounds have no counterpart: named, with their pool.
        let text = format!("{warnings:?}");
        assert!(text.contains("machine_pool.min (pool workers)"), "{text}");
        assert!(text.contains("machine_pool.max (pool workers)"), "{text}");
        assert!(
            !text.contains("apply_setting"),
            "a default is not a setting: {text}"
        );
        assert!(!text.contains("pool cp"), "{text}");
    }

    #[test]
    fn a_cluster_at_its_defaults_moves_without_warnings() {
        let mut c = official_cluster();
        c["machine_pool"][1]["min"] = json!(0);
        c["machine_pool"][1]["max"] = json!(0);
        let (_, warnings) = moved(&req(CLUSTER, c), &schemas::cluster::schema()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn day_two_settings_are_named_in_a_warning() {
        let mut c = official_cluster();
        c["backup_policy"] = json!([{"prefix": "daily", "schedule": "0 1 * * *"}]);
        c["os_patch_on_boot"] = json!(true);
        let (_, warnings) = moved(&req(CLUSTER, c), &schemas::cluster::schema()).unwrap();
        let text = format!("{warnings:?}");
        assert!(
            text.contains("backup_policy") && text.contains("os_patch_on_boot"),
            "{text}"
        );
    }

    #[test]
    fn an_account_maps_its_vcenter_and_password() {
        let state = json!({
            "id": "a-1", "name": "vsphere-dc1", "context": "tenant",
            "private_cloud_gateway_id": "g-1", "vsphere_vcenter": "vc.example.com",
            "vsphere_username": "svc@vsphere.local", "vsphere_password": "s3cret",
            "vsphere_ignore_insecure_error": true, "timeouts": null
        });
        let (v, w) = moved(&req(ACCOUNT, state), &schemas::cloud_account::schema()).unwrap();
        assert!(w.is_empty());
        assert_eq!(v.get("gateway_id"), &Value::string("g-1"));
        assert_eq!(v.get("context"), &Value::string("tenant"));
        assert_eq!(v.get("vcenter_server"), &Value::string("vc.example.com"));
        assert_eq!(v.get("username"), &Value::string("svc@vsphere.local"));
        assert_eq!(v.get("password"), &Value::string("s3cret"));
        assert_eq!(v.get("insecure"), &Value::Bool(true));
        assert_eq!(v.get("password_wo"), &Value::Null);
    }

    #[test]
    fn a_pool_maps_range_or_subnet_by_its_network_type() {
        let range = json!({
            "id": "p-1", "name": "nodes", "private_cloud_gateway_id": "g-1",
            "network_type": "range", "ip_start_range": "10.0.0.10", "ip_end_range": "10.0.0.20",
            "subnet_cidr": "", "prefix": 24, "gateway": "10.0.0.1",
            "nameserver_addresses": ["10.0.0.2"], "nameserver_search_suffix": ["dc1.example.com"],
            "restrict_to_single_cluster": true, "timeouts": null
        });
        let schema = schemas::ip_pool::schema();
        let (v, _) = moved(&req(IP_POOL, range.clone()), &schema).unwrap();
        assert_eq!(v.get("gateway_id"), &Value::string("g-1"));
        assert_eq!(v.get("start"), &Value::string("10.0.0.10"));
        assert_eq!(v.get("end"), &Value::string("10.0.0.20"));
        assert_eq!(v.get("subnet"), &Value::Null);
        assert_eq!(v.get("prefix"), &Value::int(24));
        assert_eq!(
            v.get("nameservers"),
            &Value::List(vec![Value::string("10.0.0.2")])
        );
        assert_eq!(
            v.get("search_domains"),
            &Value::List(vec![Value::string("dc1.example.com")])
        );
        assert_eq!(v.get("restrict_to_single_cluster"), &Value::Bool(true));
        let mut subnet = range;
        subnet["network_type"] = json!("subnet");
        subnet["subnet_cidr"] = json!("10.0.1.0/24");
        let (v, _) = moved(&req(IP_POOL, subnet), &schema).unwrap();
        assert_eq!(v.get("subnet"), &Value::string("10.0.1.0/24"));
        assert_eq!(v.get("start"), &Value::Null);
    }

    #[test]
    fn a_state_without_id_is_refused() {
        let state = json!({"id": "", "name": "x"});
        let e = moved(&req(ACCOUNT, state), &schemas::cloud_account::schema()).unwrap_err();
        assert!(format!("{e:?}").contains("state rm"), "{e:?}");
    }

    #[test]
    fn sources_match_with_or_without_the_registry_host() {
        assert!(CLUSTER.matches(PROVIDER, "spectrocloud_cluster_vsphere"));
        assert!(CLUSTER.matches("spectrocloud/spectrocloud", "spectrocloud_cluster_vsphere"));
        assert!(!CLUSTER.matches(
            "example.com/spectrocloud/spectrocloud",
            "spectrocloud_cluster_vsphere"
        ));
        assert!(!CLUSTER.matches(PROVIDER, "spectrocloud_cluster_aws"));
    }
}
