//! `palette_cluster_vsphere`: schema use, plan-time checks, the create /
//! update / delete procedures with their waits, read with drift, import.
//!
//! Machine pools are a set keyed by name (reordering never diffs) and carry
//! no computed attributes, so set elements keep their identity between plan
//! and apply; what Palette decides per node lives in the top-level `nodes`.
//! Pack values are compared as YAML when read back, so Palette's own
//! reformatting never shows as drift.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use palette_api::client::{Client, Error as ApiError};
use palette_api::models::{
    V1ClusterProfile, V1ControlPlaneEndPoint, V1MachinePoolConfigEntity, V1ObjectMeta,
    V1ObjectMetaInputEntity, V1ObjectMetaInputEntitySchema, V1PackValuesEntity,
    V1SearchFilterCondition, V1SearchFilterGroup, V1SearchFilterItem, V1SearchFilterSpec,
    V1SearchFilterStringCondition, V1SearchFilterStringConditionMatch, V1SearchFilterSummarySpec,
    V1SpectroCluster, V1SpectroClusterProfileEntity, V1SpectroClusterProfiles,
    V1SpectroClusterVariable, V1SpectroClustersSummary, V1SpectroVsphereClusterEntity,
    V1SpectroVsphereClusterEntitySpec, V1Taint, V1Uid, V1UpdateStrategy, V1VsphereAccount,
    V1VsphereCloudClusterConfigEntity, V1VsphereCloudConfig, V1VsphereClusterConfigEntity,
    V1VsphereComputeClusterResources, V1VsphereDatacenters, V1VsphereInstanceType,
    V1VsphereMachine, V1VsphereMachinePoolCloudConfigEntity, V1VsphereMachinePoolConfig,
    V1VsphereMachinePoolConfigEntity, V1VsphereMachines, V1VsphereNetworkConfigEntity,
    V1VspherePlacementConfigEntity,
};
use tfplugin::{
    ApplyRequest, ApplyResult, AttrPath, Ctx, Diagnostic, Diagnostics, Imported, PlanRequest,
    PlanResponse, ReadResult, Resource, Schema, Value,
};

use crate::placement;
use crate::shared::{api_diag, events, first, strings, url_escape, wrong_kind, Poll, Shared};

const CLUSTERS: &str = "/v1/spectroclusters";
const CLOUD_CONFIGS: &str = "/v1/cloudconfigs/vsphere";
/// The object kind of a cluster's events.
const KIND: &str = "spectrocluster";
/// Palette's label value for a tag given without a value.
const BARE_TAG: &str = "spectro__tag";

pub struct Cluster {
    pub shared: Arc<Shared>,
}

// ---------------------------------------------------------------------------
// Values

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).as_str().map(str::to_string)
}

fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).as_i64()
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn elements(v: &Value) -> &[Value] {
    v.as_elements().unwrap_or(&[])
}

/// An empty collection read from Palette stays null where the configuration
/// (prior state) left it out, so "not set" and "set to nothing" never diff.
fn list_or_null(items: Vec<String>, prior: &Value) -> Value {
    if items.is_empty() && prior.is_null() {
        Value::Null
    } else {
        Value::List(items.into_iter().map(Value::String).collect())
    }
}

fn map_or_null(m: BTreeMap<String, String>, prior: &Value) -> Value {
    if m.is_empty() && prior.is_null() {
        Value::Null
    } else {
        Value::Map(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
    }
}

/// Whether two YAML documents say the same thing. Text that is not YAML is
/// compared as text.
pub fn yaml_equal(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_norway::from_str::<serde_norway::Value>(a),
        serde_norway::from_str::<serde_norway::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// A YAML mapping or sequence as JSON text that says the same thing (JSON
/// is YAML, so `yaml_equal` holds); `None` for scalars, text that is not
/// YAML, and documents JSON cannot say alike (keys that are not strings).
/// YAML comments do not survive: they are not part of the values.
pub fn yaml_as_json(text: &str) -> Option<String> {
    let v: serde_norway::Value = serde_norway::from_str(text).ok()?;
    if !matches!(
        v,
        serde_norway::Value::Mapping(_) | serde_norway::Value::Sequence(_)
    ) {
        return None;
    }
    let json = serde_json::to_string(&serde_json::to_value(&v).ok()?).ok()?;
    yaml_equal(&json, text).then_some(json)
}

/// `v` (a proposed state or a configuration) with each pack's values that
/// say the same YAML as the prior state's for that profile and pack spelled
/// as in the prior state; `None` when nothing needed it. Palette keeps the
/// text it was given, and a user may write the same values otherwise
/// (reformatted, or as the `jsonencode({...})` that generated
/// configuration holds): that is no change to plan.
pub fn respell_packs(prior: &Value, v: &Value) -> Option<Value> {
    let prior_values: BTreeMap<(String, String), String> = elements(prior.get("cluster_profile"))
        .iter()
        .flat_map(|p| {
            let id = s(p, "id").unwrap_or_default();
            elements(p.get("pack"))
                .iter()
                .filter_map(move |k| Some(((id.clone(), s(k, "name")?), s(k, "values")?)))
        })
        .collect();
    let mut changed = false;
    let profiles: Vec<Value> = elements(v.get("cluster_profile"))
        .iter()
        .map(|p| {
            let id = s(p, "id").unwrap_or_default();
            let mut p = p.clone();
            let Some(packs) = p.get("pack").as_elements().map(<[Value]>::to_vec) else {
                return p;
            };
            let packs: Vec<Value> = packs
                .into_iter()
                .map(|mut k| {
                    let (Some(name), Some(text)) = (s(&k, "name"), s(&k, "values")) else {
                        return k;
                    };
                    if let Some(before) = prior_values.get(&(id.clone(), name)) {
                        if *before != text && yaml_equal(before, &text) {
                            k.set_attr("values", Value::String(before.clone()));
                            changed = true;
                        }
                    }
                    k
                })
                .collect();
            p.set_attr("pack", Value::Set(packs));
            p
        })
        .collect();
    if !changed {
        return None;
    }
    let mut out = v.clone();
    out.set_attr("cluster_profile", Value::List(profiles));
    Some(out)
}

pub fn tags_to_labels(tags: &[String]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| match t.split_once(':') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (t.trim().to_string(), BARE_TAG.to_string()),
        })
        .collect()
}

pub fn labels_to_tags(labels: &BTreeMap<String, String>) -> Vec<String> {
    labels
        .iter()
        .map(|(k, v)| {
            if v == BARE_TAG || v.is_empty() {
                k.clone()
            } else {
                format!("{k}:{v}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Plan-time checks (pure)

/// Every rule that can be judged from the configuration alone. Unknown values
/// are skipped: Terraform validates again once they are known.
pub fn check_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    let at = AttrPath::attr("machine_pool");
    let cc = first(config, "cloud_config");
    let static_ip = match cc.get("static_ip") {
        Value::Null => Some(false),
        v => v.as_bool(),
    };
    let endpoint = match cc.get("control_plane_endpoint") {
        Value::Null => Some("VIP".to_string()),
        v => v.as_str().map(str::to_string),
    };
    if endpoint.as_deref() == Some("DDNS") && static_ip == Some(true) {
        d.error_at(
            AttrPath::attr("cloud_config")
                .then_index(0)
                .then_attr("control_plane_endpoint"),
            "DDNS needs DHCP",
            "`control_plane_endpoint = \"DDNS\"` registers DHCP addresses in DNS; with `static_ip = true` use \
             \"VIP\".",
        );
    }
    if cc.get("network_search_domain").as_str().is_some() && endpoint.as_deref() == Some("VIP") {
        d.error_at(
            AttrPath::attr("cloud_config")
                .then_index(0)
                .then_attr("network_search_domain"),
            "Search domain without DDNS",
            "`network_search_domain` is where DDNS registers the control plane; set \
             `control_plane_endpoint = \"DDNS\"` or remove it.",
        );
    }
    let Some(pools) = config.get("machine_pool").as_elements() else {
        return d;
    };
    let mut names = BTreeSet::new();
    let mut control_planes = 0;
    let mut all_known = true;
    for p in pools {
        let name = p.get("name").as_str().unwrap_or("?").to_string();
        if p.get("name").is_known() && !names.insert(name.clone()) {
            d.error_at(
                at.clone(),
                "Duplicate machine pool",
                format!(
                    "Two machine pools are named {name:?}; pool names must be unique in a cluster."
                ),
            );
        }
        let cp = match p.get("control_plane") {
            Value::Null => Some(false),
            v => v.as_bool(),
        };
        match cp {
            Some(true) => control_planes += 1,
            Some(false) => {}
            None => all_known = false,
        }
        let count = int(p, "count");
        let placements = p.get("placement");
        if cp == Some(true) {
            if let Some(n) = count {
                if ![1, 3, 5].contains(&n) {
                    d.error_at(
                        at.clone(),
                        "Invalid control-plane size",
                        format!(
                            "Machine pool {name:?} is the control plane with count = {n}; a control plane has \
                             1, 3 or 5 nodes (an odd number keeps etcd's quorum)."
                        ),
                    );
                }
            }
            if let Some(list) = placements.as_elements() {
                if list.len() != 1 {
                    d.error_at(
                        at.clone(),
                        "Control plane placement",
                        format!(
                            "Machine pool {name:?} is the control plane and has {} placement blocks; the \
                             control plane takes exactly one.",
                            list.len()
                        ),
                    );
                }
            }
        } else if cp == Some(false) && p.get("control_plane_as_worker").as_bool() == Some(true) {
            d.error_at(
                at.clone(),
                "Worker pool with control_plane_as_worker",
                format!(
                    "`control_plane_as_worker` only applies to the control-plane pool; remove it from {name:?}."
                ),
            );
        }
        for pl in placements.as_elements().unwrap_or(&[]) {
            let pool_id = pl.get("ip_pool_id");
            match static_ip {
                Some(true) if pool_id.is_null() => d.error_at(
                    at.clone(),
                    "Static IP needs an IP pool",
                    format!(
                        "`static_ip = true`, but a placement of machine pool {name:?} (compute cluster {:?}) has \
                         no `ip_pool_id`; every placement needs the uid of an IP pool of the account's gateway.",
                        pl.get("compute_cluster").as_str().unwrap_or("?")
                    ),
                ),
                Some(false) if pool_id.as_str().is_some() => d.error_at(
                    at.clone(),
                    "IP pool with DHCP",
                    format!(
                        "A placement of machine pool {name:?} names an IP pool, but the cluster uses DHCP; set \
                         `static_ip = true` in cloud_config or remove `ip_pool_id`."
                    ),
                ),
                _ => {}
            }
        }
    }
    if all_known && control_planes != 1 {
        d.error_at(
            at,
            "One control-plane pool",
            format!(
                "The cluster has {control_planes} machine pools with `control_plane = true`; it needs exactly one."
            ),
        );
    }
    d
}

fn pools_by_name(v: &Value) -> BTreeMap<String, &Value> {
    elements(v.get("machine_pool"))
        .iter()
        .filter_map(|p| p.get("name").as_str().map(|n| (n.to_string(), p)))
        .collect()
}

/// The refinements of the generic plan: replacement when the control plane
/// moves to another pool, and computed values that an update leaves alone.
pub fn refine_plan(prior: &Value, planned: &mut Value, requires_replace: &mut Vec<AttrPath>) {
    if prior.is_null() || planned.is_null() {
        return;
    }
    let cp_of = |v: &Value| -> Option<String> {
        elements(v.get("machine_pool"))
            .iter()
            .find(|p| p.get("control_plane").as_bool() == Some(true))
            .and_then(|p| s(p, "name"))
    };
    let (before, after) = (cp_of(prior), cp_of(planned));
    if before.is_some() && after.is_some() && before != after {
        // Palette cannot hand the control plane to another pool.
        requires_replace.push(AttrPath::attr("machine_pool"));
    }
    let pools_same = prior
        .get("machine_pool")
        .semantically_equal(planned.get("machine_pool"));
    if pools_same && planned.get("nodes").is_unknown() {
        planned.set_attr("nodes", prior.get("nodes").clone());
    }
    if planned.get("kubeconfig").is_unknown() && !prior.get("kubeconfig").is_null() {
        planned.set_attr("kubeconfig", prior.get("kubeconfig").clone());
    }
    if planned.get("store_kubeconfig").as_bool() == Some(false) {
        planned.set_attr("kubeconfig", Value::Null);
    }
    if pools_same
        && planned.get("state").is_unknown()
        && prior.get("state").as_str() == Some("Running")
    {
        planned.set_attr("state", prior.get("state").clone());
        planned.set_attr("health", prior.get("health").clone());
    }
}

// ---------------------------------------------------------------------------
// Request bodies

fn placement_entity(pl: &Value, static_ip: bool) -> V1VspherePlacementConfigEntity {
    V1VspherePlacementConfigEntity {
        cluster: s(pl, "compute_cluster"),
        datastore: s(pl, "datastore"),
        resource_pool: s(pl, "resource_pool"),
        network: Some(V1VsphereNetworkConfigEntity {
            network_name: s(pl, "network"),
            static_ip: Some(static_ip),
            parent_pool_uid: if static_ip { s(pl, "ip_pool_id") } else { None },
        }),
        ..Default::default()
    }
}

pub fn pool_entity(p: &Value, static_ip: bool) -> V1VsphereMachinePoolConfigEntity {
    let cp = p.get("control_plane").as_bool().unwrap_or(false);
    let taints: Vec<V1Taint> = elements(p.get("taint"))
        .iter()
        .map(|t| V1Taint {
            key: s(t, "key"),
            value: s(t, "value"),
            effect: s(t, "effect"),
            time_added: None,
        })
        .collect();
    V1VsphereMachinePoolConfigEntity {
        pool_config: Some(V1MachinePoolConfigEntity {
            name: s(p, "name"),
            is_control_plane: Some(cp),
            use_control_plane_as_worker: Some(
                cp && p.get("control_plane_as_worker").as_bool() == Some(true),
            ),
            size: int(p, "count").map(|n| n as i32),
            labels: Some(vec![if cp { "control-plane" } else { "worker" }.to_string()]),
            additional_labels: Some(string_map(p.get("labels"))),
            taints: Some(taints),
            update_strategy: Some(V1UpdateStrategy {
                r#type: s(p, "update_strategy"),
                ..Default::default()
            }),
            ..Default::default()
        }),
        cloud_config: Some(V1VsphereMachinePoolCloudConfigEntity {
            instance_type: Some(V1VsphereInstanceType {
                num_cp_us: int(p, "cpu").map(|n| n as i32),
                memory_mi_b: int(p, "memory_mb"),
                disk_gi_b: int(p, "disk_gb").map(|n| n as i32),
            }),
            placements: Some(
                elements(p.get("placement"))
                    .iter()
                    .map(|pl| placement_entity(pl, static_ip))
                    .collect(),
            ),
        }),
    }
}

fn cluster_config_entity(v: &Value) -> V1VsphereClusterConfigEntity {
    let cc = first(v, "cloud_config");
    V1VsphereClusterConfigEntity {
        control_plane_endpoint: Some(V1ControlPlaneEndPoint {
            r#type: s(cc, "control_plane_endpoint"),
            ddns_search_domain: s(cc, "network_search_domain"),
            host: None,
        }),
        ntp_servers: Some(strings(cc.get("ntp_servers"))),
        ssh_keys: Some(strings(cc.get("ssh_keys"))),
        static_ip: Some(cc.get("static_ip").as_bool().unwrap_or(false)),
        placement: Some(V1VspherePlacementConfigEntity {
            datacenter: s(cc, "datacenter"),
            folder: s(cc, "folder"),
            image_template_folder: s(cc, "image_template_folder"),
            ..Default::default()
        }),
    }
}

fn profiles_entity(v: &Value) -> Vec<V1SpectroClusterProfileEntity> {
    elements(v.get("cluster_profile"))
        .iter()
        .map(|p| V1SpectroClusterProfileEntity {
            uid: s(p, "id"),
            pack_values: Some(
                elements(p.get("pack"))
                    .iter()
                    .map(|k| V1PackValuesEntity {
                        name: s(k, "name"),
                        values: s(k, "values"),
                        ..Default::default()
                    })
                    .collect(),
            ),
            variables: p.get("variables").as_map().map(|m| {
                m.iter()
                    .map(|(k, x)| V1SpectroClusterVariable {
                        name: Some(k.clone()),
                        value: x.as_str().map(str::to_string),
                    })
                    .collect()
            }),
            replace_with_profile: None,
        })
        .collect()
}

fn metadata_of(v: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let labels = tags_to_labels(&strings(v.get("tags")));
    let mut annotations = BTreeMap::new();
    if let Some(d) = s(v, "description") {
        annotations.insert("description".to_string(), d);
    }
    (labels, annotations)
}

pub fn entity(v: &Value) -> V1SpectroVsphereClusterEntity {
    let static_ip = first(v, "cloud_config")
        .get("static_ip")
        .as_bool()
        .unwrap_or(false);
    let (labels, annotations) = metadata_of(v);
    V1SpectroVsphereClusterEntity {
        metadata: Some(V1ObjectMeta {
            name: s(v, "name"),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        }),
        spec: Some(V1SpectroVsphereClusterEntitySpec {
            cloud_account_uid: s(v, "cloud_account_id"),
            cloud_config: Some(cluster_config_entity(v)),
            machinepoolconfig: Some(
                elements(v.get("machine_pool"))
                    .iter()
                    .map(|p| pool_entity(p, static_ip))
                    .collect(),
            ),
            profiles: Some(profiles_entity(v)),
            ..Default::default()
        }),
    }
}

// ---------------------------------------------------------------------------
// State from Palette (pure)

/// What one refresh reads.
#[derive(Clone, Default)]
pub struct Remote {
    pub cluster: V1SpectroCluster,
    pub config: V1VsphereCloudConfig,
    /// Per pool name, its machines.
    pub machines: BTreeMap<String, Vec<V1VsphereMachine>>,
    pub kubeconfig: Option<String>,
    /// After an import: the profiles' own pack values, so that only the
    /// packs the cluster overrides become `pack` blocks.
    pub profile_defaults: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

/// Not derived: the kubeconfig holds the cluster's admin credentials.
impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("cluster", &self.cluster)
            .field("config", &self.config)
            .field("machines", &self.machines)
            .field(
                "kubeconfig",
                &self.kubeconfig.as_ref().map(|_| "<redacted>"),
            )
            .field("profile_defaults", &self.profile_defaults)
            .finish()
    }
}

fn state_of(c: &V1SpectroCluster) -> String {
    c.status
        .as_ref()
        .and_then(|s| s.state.clone())
        .unwrap_or_default()
}

fn pool_value(m: &V1VsphereMachinePoolConfig, prior: Option<&Value>) -> Value {
    let nul = Value::Null;
    let prior = prior.unwrap_or(&nul);
    let it = m.instance_type.clone().unwrap_or_default();
    let placements: Vec<Value> = m
        .placements
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let net = p.network.clone().unwrap_or_default();
            Value::object([
                ("compute_cluster", Value::from(p.cluster)),
                ("datastore", Value::from(p.datastore)),
                ("network", Value::from(net.network_name)),
                (
                    "resource_pool",
                    Value::from(p.resource_pool.or(Some("Resources".into()))),
                ),
                (
                    "ip_pool_id",
                    Value::from(
                        net.parent_pool_ref
                            .and_then(|r| r.uid)
                            .filter(|_| net.static_ip == Some(true)),
                    ),
                ),
            ])
        })
        .collect();
    let taints: Vec<Value> = m
        .taints
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            Value::object([
                ("key", Value::from(t.key)),
                ("value", Value::from(t.value)),
                ("effect", Value::from(t.effect)),
            ])
        })
        .collect();
    let cp = m.is_control_plane.unwrap_or(false);
    Value::object([
        ("name", Value::from(m.name.clone())),
        ("control_plane", Value::Bool(cp)),
        (
            "control_plane_as_worker",
            Value::Bool(m.use_control_plane_as_worker.unwrap_or(false)),
        ),
        ("count", Value::int(m.size.unwrap_or(0) as i64)),
        ("cpu", Value::int(it.num_cp_us.unwrap_or(0) as i64)),
        ("memory_mb", Value::int(it.memory_mi_b.unwrap_or(0))),
        ("disk_gb", Value::int(it.disk_gi_b.unwrap_or(0) as i64)),
        (
            "labels",
            map_or_null(
                m.additional_labels.clone().unwrap_or_default(),
                prior.get("labels"),
            ),
        ),
        (
            "update_strategy",
            Value::from(
                m.update_strategy
                    .clone()
                    .and_then(|u| u.r#type)
                    .or(Some("RollingUpdateScaleOut".into())),
            ),
        ),
        ("taint", Value::List(taints)),
        ("placement", Value::List(placements)),
    ])
}

/// A node's state: Palette's instance state, or where that is `Unknown`
/// the reason of the failing health condition (a VM `PoweredOff` or
/// `NotFound` in vCenter), which is what a user needs to act on.
fn node_state(m: &V1VsphereMachine) -> String {
    let status = m.status.clone().unwrap_or_default();
    let state = status.instance_state.unwrap_or_default();
    if state != "Unknown" {
        return state;
    }
    status
        .health
        .and_then(|h| h.conditions)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.status.as_deref() == Some("False"))
        .and_then(|c| c.reason)
        .unwrap_or(state)
}

fn node_values(remote: &Remote, datacenter: &str, folder: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (pool, machines) in &remote.machines {
        for m in machines {
            let meta = m.metadata.clone().unwrap_or_default();
            let spec = m.spec.clone().unwrap_or_default();
            let name = meta.name.unwrap_or_default();
            let ip = spec
                .nics
                .unwrap_or_default()
                .into_iter()
                .flat_map(|n| n.private_i_ps.unwrap_or_default())
                .next()
                .unwrap_or_default();
            let pl = spec.placement.unwrap_or_default();
            let dc = pl.datacenter.unwrap_or_else(|| datacenter.to_string());
            let f = pl.folder.unwrap_or_else(|| folder.to_string());
            let state = node_state(m);
            out.push(Value::object([
                ("name", Value::String(name.clone())),
                ("pool", Value::String(pool.clone())),
                ("ip", Value::String(ip)),
                (
                    "vm_path",
                    Value::String(format!("/{dc}/vm/{}/{name}", f.trim_matches('/'))),
                ),
                ("state", Value::String(state)),
            ]));
        }
    }
    out
}

/// The cluster's health from its nodes' (what the console's node list shows).
fn health_of(remote: &Remote) -> String {
    let states: Vec<String> = remote
        .machines
        .values()
        .flatten()
        .map(|m| {
            m.status
                .as_ref()
                .and_then(|s| s.health.as_ref())
                .and_then(|h| h.state.clone())
                .unwrap_or_default()
        })
        .collect();
    if states.iter().any(|s| s == "Unhealthy") {
        "Unhealthy".into()
    } else if !states.is_empty() && states.iter().all(|s| s == "Healthy") {
        "Healthy".into()
    } else {
        "Unknown".into()
    }
}

fn profile_values(remote: &Remote, prior: &Value) -> Value {
    let templates = remote
        .cluster
        .spec
        .clone()
        .unwrap_or_default()
        .cluster_profile_templates
        .unwrap_or_default();
    let prior_profiles: BTreeMap<String, &Value> = elements(prior.get("cluster_profile"))
        .iter()
        .filter_map(|p| p.get("id").as_str().map(|id| (id.to_string(), p)))
        .collect();
    // The prior order, then any profile Palette has that state did not.
    let mut order: Vec<String> = prior_profiles.keys().cloned().collect();
    order.sort_by_key(|id| {
        elements(prior.get("cluster_profile"))
            .iter()
            .position(|p| p.get("id").as_str() == Some(id))
    });
    for t in &templates {
        if let Some(uid) = &t.uid {
            if !order.contains(uid) {
                order.push(uid.clone());
            }
        }
    }
    let mut out = Vec::new();
    for uid in order {
        let Some(t) = templates
            .iter()
            .find(|t| t.uid.as_deref() == Some(uid.as_str()))
        else {
            continue;
        };
        let remote_packs: BTreeMap<String, String> = t
            .packs
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|k| Some((k.name?, k.values.unwrap_or_default())))
            .collect();
        let prior_p = prior_profiles.get(&uid).copied();
        let mut packs = Vec::new();
        match prior_p {
            Some(pp) => {
                for k in elements(pp.get("pack")) {
                    let name = s(k, "name").unwrap_or_default();
                    let Some(now) = remote_packs.get(&name) else {
                        continue;
                    };
                    let before = s(k, "values").unwrap_or_default();
                    let values = if yaml_equal(&before, now) {
                        before
                    } else {
                        now.clone()
                    };
                    packs.push(Value::object([
                        ("name", Value::String(name)),
                        ("values", Value::String(values)),
                    ]));
                }
            }
            None => {
                let defaults = remote.profile_defaults.as_ref().and_then(|d| d.get(&uid));
                for (name, now) in &remote_packs {
                    let overridden = match defaults.and_then(|d| d.get(name)) {
                        Some(def) => !yaml_equal(def, now),
                        None => defaults.is_none(),
                    };
                    if overridden {
                        packs.push(Value::object([
                            ("name", Value::String(name.clone())),
                            ("values", Value::String(now.clone())),
                        ]));
                    }
                }
            }
        }
        out.push(Value::object([
            ("id", Value::String(uid.clone())),
            (
                "variables",
                prior_p
                    .map(|p| p.get("variables").clone())
                    .unwrap_or(Value::Null),
            ),
            ("pack", Value::Set(packs)),
        ]));
    }
    Value::List(out)
}

/// The resource's state from what Palette says, keeping from `prior` what
/// Palette does not hold (timeouts, force-delete settings, variables) and
/// the user's spelling where Palette's means the same.
pub fn state_from(remote: &Remote, prior: &Value, context: &str) -> Value {
    let c = &remote.cluster;
    let meta = c.metadata.clone().unwrap_or_default();
    let spec = remote.config.spec.clone().unwrap_or_default();
    let cfg = spec.cluster_config.clone().unwrap_or_default();
    let placement = cfg.placement.clone().unwrap_or_default();
    let endpoint = cfg.control_plane_endpoint.clone().unwrap_or_default();
    let prior_cc = first(prior, "cloud_config");
    let datacenter = placement.datacenter.clone().unwrap_or_default();
    let folder = placement.folder.clone().unwrap_or_default();
    let cloud_config = Value::object([
        ("datacenter", Value::String(datacenter.clone())),
        ("folder", Value::String(folder.clone())),
        (
            "image_template_folder",
            Value::from(placement.image_template_folder.clone()),
        ),
        (
            "ssh_keys",
            list_or_null(
                cfg.ssh_keys.clone().unwrap_or_default(),
                prior_cc.get("ssh_keys"),
            ),
        ),
        (
            "ntp_servers",
            list_or_null(
                cfg.ntp_servers.clone().unwrap_or_default(),
                prior_cc.get("ntp_servers"),
            ),
        ),
        ("static_ip", Value::Bool(cfg.static_ip.unwrap_or(false))),
        (
            "control_plane_endpoint",
            Value::from(endpoint.r#type.clone().or(Some("VIP".into()))),
        ),
        (
            "network_search_domain",
            Value::from(
                endpoint
                    .ddns_search_domain
                    .clone()
                    .filter(|d| !d.is_empty()),
            ),
        ),
    ]);
    let prior_pools = pools_by_name(prior);
    let mut pools: Vec<Value> = spec
        .machine_pool_config
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            pool_value(
                m,
                m.name.as_deref().and_then(|n| prior_pools.get(n).copied()),
            )
        })
        .collect();
    pools.sort_by_key(|p| s(p, "name"));
    let labels = meta.labels.clone().unwrap_or_default();
    let description = meta
        .annotations
        .clone()
        .unwrap_or_default()
        .get("description")
        .cloned()
        .filter(|d| !d.is_empty());
    let tags = labels_to_tags(&labels);
    let tags = if tags.is_empty() && prior.get("tags").is_null() {
        Value::Null
    } else {
        Value::Set(tags.into_iter().map(Value::String).collect())
    };
    let account = spec
        .cloud_account_ref
        .clone()
        .and_then(|r| r.uid)
        .or_else(|| s(prior, "cloud_account_id"));
    let kept = |k: &str, default: Value| match prior.get(k) {
        Value::Null => default,
        v => v.clone(),
    };
    Value::object([
        ("id", Value::from(meta.uid.clone())),
        ("name", Value::from(meta.name.clone())),
        ("description", Value::from(description)),
        ("tags", tags),
        ("context", Value::from(context)),
        ("cloud_account_id", Value::from(account)),
        ("force_delete", kept("force_delete", Value::Bool(false))),
        (
            "force_delete_delay",
            kept(
                "force_delete_delay",
                Value::from(schemas::cluster::DEFAULT_FORCE_DELETE_DELAY),
            ),
        ),
        ("state", Value::String(state_of(c))),
        ("health", Value::String(health_of(remote))),
        (
            "cloud_config_id",
            Value::from(
                c.spec
                    .as_ref()
                    .and_then(|s| s.cloud_config_ref.as_ref())
                    .and_then(|r| r.uid.clone()),
            ),
        ),
        ("kubeconfig", Value::from(remote.kubeconfig.clone())),
        (
            "store_kubeconfig",
            kept("store_kubeconfig", Value::Bool(true)),
        ),
        (
            "nodes",
            Value::List(node_values(remote, &datacenter, &folder)),
        ),
        ("cluster_profile", profile_values(remote, prior)),
        ("cloud_config", Value::List(vec![cloud_config])),
        ("machine_pool", Value::Set(pools)),
        ("timeouts", prior.get("timeouts").clone()),
    ])
}

/// Replaces what the plan left unknown by what is known after a failure, so
/// a partial state can be saved.
/// The computed values an update's plan showed as known (a change of tags
/// keeps `nodes`, `state`, `health` and `kubeconfig`) are what the apply
/// returns: Terraform rejects a result that differs from a known planned
/// value, and a node's state may move between plan and apply. The next
/// refresh reads them again.
fn keep_promised(planned: &Value, mut state: Value) -> Value {
    for k in ["nodes", "state", "health", "kubeconfig"] {
        let p = planned.get(k);
        if p.is_wholly_known() {
            state.set_attr(k, p.clone());
        }
    }
    state
}

fn settle(mut v: Value) -> Value {
    for k in [
        "state",
        "health",
        "cloud_config_id",
        "kubeconfig",
        "description",
    ] {
        if v.get(k).is_unknown() {
            v.set_attr(k, Value::Null);
        }
    }
    if v.get("nodes").is_unknown() {
        v.set_attr("nodes", Value::List(Vec::new()));
    }
    v
}

// ---------------------------------------------------------------------------
// Palette calls

/// Unset (state written before the attribute existed) means stored.
fn stores_kubeconfig(v: &Value) -> bool {
    v.get("store_kubeconfig").as_bool() != Some(false)
}

fn context(v: &Value) -> String {
    v.get("context").as_str().unwrap_or("project").to_string()
}

pub(crate) async fn get_cluster(
    client: &Client,
    uid: &str,
    ctx: &Ctx,
) -> Result<Option<V1SpectroCluster>, ApiError> {
    match client
        .get::<V1SpectroCluster>(&format!("{CLUSTERS}/{uid}"), &ctx.cancel)
        .await
    {
        Ok(c) if state_of(&c) == "Deleted" => Ok(None),
        Ok(c) => Ok(Some(c)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn name_filter(name: &str) -> V1SearchFilterSummarySpec {
    V1SearchFilterSummarySpec {
        filter: Some(V1SearchFilterSpec {
            conjunction: Some("and".into()),
            filter_groups: Some(vec![V1SearchFilterGroup {
                conjunction: Some("and".into()),
                filters: Some(vec![V1SearchFilterItem {
                    property: Some("clusterName".into()),
                    r#type: Some("string".into()),
                    condition: Some(V1SearchFilterCondition {
                        string: Some(V1SearchFilterStringCondition {
                            operator: Some("eq".into()),
                            ignore_case: Some(false),
                            negation: Some(false),
                            r#match: Some(V1SearchFilterStringConditionMatch {
                                conjunction: Some("or".into()),
                                values: Some(vec![name.to_string()]),
                            }),
                        }),
                        ..Default::default()
                    }),
                }]),
            }]),
        }),
        sort: None,
    }
}

/// Clusters per page of a listing: Palette's search pages its answer, and
/// a project with hundreds of clusters is read (and streamed) page by page.
const SEARCH_PAGE: usize = 50;

/// What a search result says of a cluster, enough to filter a listing and
/// to name the cluster without reading it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub uid: String,
    pub name: String,
    pub tags: Vec<String>,
    /// `None` when the search did not say.
    pub state: Option<String>,
    pub account: Option<String>,
}

impl Summary {
    fn from(c: palette_api::models::V1SpectroClusterSummary) -> Option<Summary> {
        let meta = c.metadata?;
        Some(Summary {
            uid: meta.uid?,
            name: meta.name.unwrap_or_default(),
            tags: labels_to_tags(&meta.labels.unwrap_or_default()),
            state: c.status.and_then(|s| s.state),
            account: c
                .spec_summary
                .and_then(|s| s.cloud_account_meta)
                .and_then(|a| a.uid),
        })
    }
}

/// One page of the vSphere clusters in the client's scope, from the page
/// `token` names (`None`: the first); returns the next page's token,
/// `None` after the last (Palette ends with an empty token).
pub(crate) async fn search_page(
    client: &Client,
    token: Option<&str>,
    ctx: &Ctx,
) -> Result<(Vec<Summary>, Option<String>), ApiError> {
    let mut filter = name_filter("vsphere");
    if let Some(item) = filter
        .filter
        .as_mut()
        .and_then(|f| f.filter_groups.as_mut())
        .and_then(|g| g.first_mut())
        .and_then(|g| g.filters.as_mut())
        .and_then(|f| f.first_mut())
    {
        item.property = Some("environment".into());
    }
    // The token is opaque: encoded as a query value, whatever it holds.
    let path = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &SEARCH_PAGE.to_string());
        if let Some(t) = token {
            query.append_pair("continue", t);
        }
        format!("/v1/dashboard/spectroclusters/search?{}", query.finish())
    };
    let page: V1SpectroClustersSummary = client.post(&path, &filter, &ctx.cancel).await?;
    let found = page
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(Summary::from)
        .collect();
    let next = page
        .listmeta
        .and_then(|l| l.r#continue)
        .filter(|t| !t.is_empty());
    Ok((found, next))
}

/// What the provider keeps beside a cluster's state (Terraform's private
/// state): when Palette last modified the cluster as the last read saw it.
/// A saved plan carries it to its apply, which can then tell whether the
/// cluster changed in between.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Seen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modified: Option<String>,
}

impl Seen {
    fn of(c: &V1SpectroCluster) -> Seen {
        Seen {
            modified: c
                .metadata
                .as_ref()
                .and_then(|m| m.last_modified_timestamp.clone()),
        }
    }
    fn parse(bytes: &[u8]) -> Seen {
        serde_json::from_slice(bytes).unwrap_or_default()
    }
    fn bytes(&self) -> Vec<u8> {
        if *self == Seen::default() {
            return Vec::new();
        }
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The settings Palette holds for a cluster, which a change made outside
/// Terraform (the console) can alter.
const HELD_BY_PALETTE: &[&str] = &[
    "name",
    "description",
    "tags",
    "cloud_account_id",
    "cluster_profile",
    "cloud_config",
    "machine_pool",
];

/// The settings that differ between the state a plan was made from and
/// the cluster now.
fn changed_settings(planned_from: &Value, now: &Value) -> Vec<&'static str> {
    HELD_BY_PALETTE
        .iter()
        .copied()
        .filter(|k| !planned_from.get(k).semantically_equal(now.get(k)))
        .collect()
}

/// An apply whose plan saw an older cluster than Palette has now (a saved
/// plan applied after someone scaled the cluster in the console) stops
/// instead of reverting what was changed; a newer timestamp that changed
/// none of the settings (status only) lets it go on.
async fn changed_since_plan(
    client: &Client,
    uid: &str,
    req: &ApplyRequest,
    ctx: &Ctx,
) -> Option<ApplyResult> {
    let seen = Seen::parse(&req.planned_private).modified?;
    let cluster = match get_cluster(client, uid, ctx).await {
        Ok(Some(c)) => c,
        // Gone or unreadable: the update's own steps say so.
        _ => return None,
    };
    let now = Seen::of(&cluster).modified?;
    if now == seen {
        return None;
    }
    let ctxt = context(&req.prior);
    let r = read_remote(client, uid, false, stores_kubeconfig(&req.prior), ctx)
        .await
        .ok()??;
    let current = state_from(&r, &req.prior, &ctxt);
    let changed = changed_settings(&req.prior, &current);
    if changed.is_empty() {
        return None;
    }
    let name = s(&req.prior, "name").unwrap_or_default();
    Some(ApplyResult {
        private: Seen::of(&r.cluster).bytes(),
        ..ApplyResult::failed(
            current,
            Diagnostic::error(
                "The cluster changed since the plan",
                format!(
                    "Cluster {name:?} ({uid}) was modified in Palette at {now}, after the plan read \
                     it (last modified {seen}); its {} changed. Applying the plan would revert that \
                     change without anyone having reviewed it, so nothing was applied. Run \
                     `terraform plan` again to see the cluster as it is now, and apply that plan.",
                    changed.join(", ")
                ),
            ),
        )
    })
}

/// The gateway of a cloud account, from its `overlordUid` annotation; none
/// when the account cannot be read.
async fn gateway_of_account(client: &Client, account: &str, ctx: &Ctx) -> Option<String> {
    let path = format!("/v1/cloudaccounts/vsphere/{account}");
    // A project cluster may use a tenant account.
    let acct = match client.get::<V1VsphereAccount>(&path, &ctx.cancel).await {
        Ok(a) => Ok(a),
        Err(e) if e.is_not_found() => client.with_project(None).get(&path, &ctx.cancel).await,
        Err(e) => Err(e),
    };
    acct.ok()
        .and_then(|a| a.metadata)
        .and_then(|m| m.annotations)
        .and_then(|a| a.get("overlordUid").cloned())
}

/// vCenter's inventory as Palette lists it through a gateway.
struct ThroughGateway<'a> {
    client: &'a Client,
    gateway: &'a str,
    ctx: &'a Ctx,
}

#[async_trait]
impl placement::Inventory for ThroughGateway<'_> {
    async fn datacenters(
        &self,
    ) -> Result<Vec<vsphere::vm::DatacenterInventory>, placement::Unread> {
        let path = format!(
            "/v1/overlords/vsphere/{}/properties/datacenters",
            self.gateway
        );
        let list: V1VsphereDatacenters = self
            .client
            .get(&path, &self.ctx.cancel)
            .await
            .map_err(|e| placement::Unread::Failed(e.to_string()))?;
        Ok(list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|d| vsphere::vm::DatacenterInventory {
                name: d.datacenter.unwrap_or_default(),
                compute_clusters: d.computeclusters.unwrap_or_default(),
                folders: d.folders.unwrap_or_default(),
            })
            .collect())
    }

    async fn cluster_resources(
        &self,
        datacenter: &str,
        cluster: &str,
    ) -> Result<vsphere::vm::ClusterResources, placement::Unread> {
        let path = format!(
            "/v1/overlords/vsphere/{}/properties/computecluster/resources?datacenter={}&computecluster={}",
            self.gateway,
            url_escape(datacenter),
            url_escape(cluster)
        );
        let r: V1VsphereComputeClusterResources =
            match self.client.get(&path, &self.ctx.cancel).await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => return Err(placement::Unread::NotFound),
                Err(e) => return Err(placement::Unread::Failed(e.to_string())),
            };
        let c = r.computecluster.unwrap_or_default();
        Ok(vsphere::vm::ClusterResources {
            datastores: c.datastores.unwrap_or_default(),
            networks: c.networks.unwrap_or_default(),
            resource_pools: c.resource_pools.unwrap_or_default(),
        })
    }
}

/// Uids of the live clusters with exactly this name in the client's scope.
pub(crate) async fn find_by_name(
    client: &Client,
    name: &str,
    ctx: &Ctx,
) -> Result<Vec<String>, ApiError> {
    let found: V1SpectroClustersSummary = client
        .post(
            "/v1/dashboard/spectroclusters/search",
            &name_filter(name),
            &ctx.cancel,
        )
        .await?;
    Ok(found
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.metadata)
        .filter(|m| m.name.as_deref() == Some(name))
        .filter_map(|m| m.uid)
        .collect())
}

fn bullet(lines: &[String]) -> String {
    if lines.is_empty() {
        return "(no events)".into();
    }
    lines
        .iter()
        .map(|e| format!("- {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How long a cluster has been deleting, on Palette's clock: from its
/// `deletionTimestamp` to the server's `Date`, the clock Palette's own
/// 15-minute force-delete rule runs on. Measured there, a skewed local clock
/// cannot make the provider force too early or wait too long, and a
/// deletion that an earlier run started counts from its real start. Where
/// either time is missing, the time since this run asked for the deletion.
fn deleting_for(
    c: &V1SpectroCluster,
    server_now: Option<std::time::SystemTime>,
    since_request: Duration,
) -> Duration {
    let started = c
        .metadata
        .as_ref()
        .and_then(|m| m.deletion_timestamp.as_deref())
        .and_then(palette_api::client::rfc3339);
    match (started, server_now) {
        (Some(started), Some(now)) => now.duration_since(started).unwrap_or_default(),
        _ => since_request,
    }
}

/// A cluster of another cloud behind a uid is refused: state that claimed
/// it would let a later destroy delete, say, an AWS cluster.
pub fn check_kind(uid: &str, c: &V1SpectroCluster) -> Result<(), String> {
    let cloud = c.spec.as_ref().and_then(|s| s.cloud_type.as_deref());
    if cloud.is_some_and(|t| t.eq_ignore_ascii_case("vsphere")) {
        return Ok(());
    }
    let name = c.metadata.as_ref().and_then(|m| m.name.as_deref());
    Err(wrong_kind(uid, cloud, "cluster", name, "a vSphere cluster"))
}

/// Why a cluster could not be read.
#[derive(Debug)]
enum ReadError {
    Api(ApiError),
    /// The uid names a cluster of another cloud (the text says which).
    WrongKind(String),
}

impl From<ApiError> for ReadError {
    fn from(e: ApiError) -> Self {
        ReadError::Api(e)
    }
}

fn read_diag(summary: &str, e: &ReadError) -> Diagnostics {
    match e {
        ReadError::Api(e) => api_diag(summary, e),
        ReadError::WrongKind(what) => Diagnostic::error(
            "Not a vSphere cluster",
            format!(
                "{what} palette_cluster_vsphere manages vSphere clusters only; nothing was changed. If this \
                 uid is in state by mistake, remove it with `terraform state rm` (which leaves the cluster \
                 alone)."
            ),
        )
        .into(),
    }
}

async fn read_remote(
    client: &Client,
    uid: &str,
    with_defaults: bool,
    with_kubeconfig: bool,
    ctx: &Ctx,
) -> Result<Option<Remote>, ReadError> {
    let Some(cluster) = get_cluster(client, uid, ctx).await? else {
        return Ok(None);
    };
    // Before anything else is read: the rest assumes a vSphere cluster.
    check_kind(uid, &cluster).map_err(ReadError::WrongKind)?;
    let config_uid = cluster
        .spec
        .as_ref()
        .and_then(|s| s.cloud_config_ref.as_ref())
        .and_then(|r| r.uid.clone())
        .unwrap_or_default();
    let config: V1VsphereCloudConfig = client
        .get(&format!("{CLOUD_CONFIGS}/{config_uid}"), &ctx.cancel)
        .await?;
    let mut machines = BTreeMap::new();
    for p in config
        .spec
        .as_ref()
        .and_then(|s| s.machine_pool_config.clone())
        .unwrap_or_default()
    {
        let Some(name) = p.name else { continue };
        let list: V1VsphereMachines = client
            .get(
                &format!("{CLOUD_CONFIGS}/{config_uid}/machinePools/{name}/machines"),
                &ctx.cancel,
            )
            .await?;
        machines.insert(name, list.items.unwrap_or_default());
    }
    let kubeconfig = if with_kubeconfig && state_of(&cluster) == "Running" {
        match client
            .get_text(&format!("{CLUSTERS}/{uid}/assets/kubeconfig"), &ctx.cancel)
            .await
        {
            Ok(k) => {
                tfplugin::logging::register_kubeconfig(&k);
                Some(k)
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let mut profile_defaults = None;
    if with_defaults {
        let mut all = BTreeMap::new();
        for t in cluster
            .spec
            .as_ref()
            .and_then(|s| s.cluster_profile_templates.clone())
            .unwrap_or_default()
        {
            let Some(puid) = t.uid else { continue };
            let p: V1ClusterProfile = client
                .get(&format!("/v1/clusterprofiles/{puid}"), &ctx.cancel)
                .await?;
            let spec = p.spec.unwrap_or_default();
            let tmpl = spec.published.or(spec.draft).unwrap_or_default();
            let values: BTreeMap<String, String> = tmpl
                .packs
                .unwrap_or_default()
                .into_iter()
                .filter_map(|k| Some((k.name?, k.values.unwrap_or_default())))
                .collect();
            all.insert(puid, values);
        }
        profile_defaults = Some(all);
    }
    Ok(Some(Remote {
        cluster,
        config,
        machines,
        kubeconfig,
        profile_defaults,
    }))
}

fn interrupted(uid: &str, doing: &str) -> Diagnostics {
    Diagnostic::error(
        "Interrupted",
        format!(
            "Terraform was interrupted while cluster {uid} {doing}. The cluster is in state; the next plan \
             shows where it stands and the next apply continues from there."
        ),
    )
    .into()
}

/// Polls until the cluster is Running. On Failed, or at the deadline, the
/// error carries the cluster's latest events.
async fn wait_running(
    client: &Client,
    uid: &str,
    deadline: Instant,
    ctx: &Ctx,
) -> Result<(), Diagnostics> {
    let mut last = String::new();
    let started = Instant::now();
    let mut poll = Poll::new();
    loop {
        let got = match get_cluster(client, uid, ctx).await {
            Err(e) if crate::shared::worth_polling_again(&e) && Instant::now() < deadline => {
                tracing::warn!(cluster = uid, error = %e, "cannot read the cluster; polling again");
                if !ctx.sleep(poll.interval(deadline)).await {
                    return Err(api_diag("Cannot read the cluster while it provisions", &e));
                }
                continue;
            }
            got => got,
        };
        let c = got
            .map_err(|e| api_diag("Cannot read the cluster while it provisions", &e))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Cluster vanished",
                    format!("Cluster {uid} disappeared from Palette while it provisioned."),
                ))
            })?;
        let state = state_of(&c);
        if state != last {
            tracing::info!(cluster = uid, state = %state, elapsed_s = started.elapsed().as_secs(), "cluster state");
            last = state.clone();
        }
        match state.as_str() {
            "Running" => return Ok(()),
            "Failed" | "Error" => {
                let ev = events(client, KIND, uid, ctx).await;
                return Err(Diagnostic::error(
                    "Cluster provisioning failed",
                    format!(
                        "Cluster {uid} is {state}. Its latest events:\n{}\nThe cluster is in state (tainted): \
                         fix the cause, then apply again to replace it, or destroy it.",
                        bullet(&ev)
                    ),
                )
                .into());
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            let ev = events(client, KIND, uid, ctx).await;
            return Err(Diagnostic::error(
                "Cluster provisioning timed out",
                format!(
                    "Cluster {uid} is still {state} at the end of the time limit (see `timeouts`). Its latest \
                     events:\n{}",
                    bullet(&ev)
                ),
            )
            .into());
        }
        if !ctx.sleep(poll.interval(deadline)).await {
            return Err(interrupted(uid, "provisioned"));
        }
    }
}

impl Cluster {
    /// IP pools named by placements must be pools of the account's gateway.
    /// Judged at plan time when the account and the pools are known; when
    /// Palette cannot be asked, the validation at apply decides instead.
    async fn check_pools_of_gateway(&self, config: &Value, diags: &mut Diagnostics, ctx: &Ctx) {
        let Some(account) = config.get("cloud_account_id").as_str() else {
            return;
        };
        let wanted: BTreeSet<String> = elements(config.get("machine_pool"))
            .iter()
            .flat_map(|p| elements(p.get("placement")))
            .filter_map(|pl| s(pl, "ip_pool_id"))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let Ok(client) = self.shared.scoped(&context(config)) else {
            return;
        };
        let Some(gateway) = gateway_of_account(&client, account, ctx).await else {
            return;
        };
        let Ok(pools) = self.shared.pools_of(&gateway, ctx).await else {
            return;
        };
        let have: BTreeSet<&str> = pools
            .iter()
            .filter_map(|p| p.metadata.as_ref().and_then(|m| m.uid.as_deref()))
            .collect();
        for id in wanted.iter().filter(|id| !have.contains(id.as_str())) {
            diags.error_at(
                AttrPath::attr("machine_pool"),
                "IP pool of another gateway",
                format!(
                    "IP pool {id:?} is not a pool of gateway {gateway}, the gateway of cloud account {account}. \
                     Nodes take addresses from their account's gateway: use a palette_ip_pool whose gateway_id \
                     is that gateway."
                ),
            );
        }
    }

    /// Checks the placement names against vCenter's inventory as Palette
    /// sees it through the account's gateway (what the console's placement
    /// lists show), read-only. Palette unable to answer is a warning: its
    /// own validation runs again at apply.
    async fn check_placement(&self, planned: &Value, diags: &mut Diagnostics, ctx: &Ctx) {
        let Some(account) = planned.get("cloud_account_id").as_str() else {
            return;
        };
        let Ok(client) = self.shared.scoped(&context(planned)) else {
            return;
        };
        let Some(gateway) = gateway_of_account(&client, account, ctx).await else {
            return;
        };
        let datacenter = first(planned, "cloud_config")
            .get("datacenter")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut wanted = Vec::new();
        let mut pools = Vec::new();
        for pool in elements(planned.get("machine_pool")) {
            for pl in elements(pool.get("placement")) {
                let mut w = placement::Wanted::of(pl, Vec::new());
                w.datacenter = datacenter.clone();
                w.datacenter_at = Some(
                    AttrPath::attr("cloud_config")
                        .then_index(0)
                        .then_attr("datacenter"),
                );
                wanted.push(w);
                pools.push(s(pool, "name").unwrap_or_default());
            }
        }
        if datacenter.is_empty() || wanted.is_empty() {
            return;
        }
        let inventory = ThroughGateway {
            client: &client,
            gateway: &gateway,
            ctx,
        };
        match placement::inspect(&inventory, &wanted).await {
            Ok(problems) => {
                let mut said = BTreeSet::new();
                for p in problems {
                    // A machine pool is a set element: the error points at
                    // the set and names the pool.
                    let (at, detail) = if p.at.to_string().starts_with("cloud_config") {
                        (p.at, p.detail)
                    } else {
                        (
                            AttrPath::attr("machine_pool"),
                            format!("Machine pool {:?}: {}", pools[p.wanted], p.detail),
                        )
                    };
                    if said.insert(detail.clone()) {
                        diags.error_at(at, "Not in vCenter's inventory", detail);
                    }
                }
            }
            Err(why) => diags.warning(
                "Placement not checked against vCenter",
                format!(
                    "Palette could not list vCenter's inventory through gateway {gateway} at plan \
                     time ({why}), so the placement names were not checked. Palette validates them \
                     again before the cluster is created."
                ),
            ),
        }
    }

    /// A fresh read for a result state; the fallback when that fails too.
    async fn current(
        &self,
        client: &Client,
        uid: &str,
        prior: &Value,
        fallback: Value,
        ctx: &Ctx,
    ) -> Value {
        match read_remote(client, uid, false, stores_kubeconfig(prior), ctx).await {
            Ok(Some(r)) => state_from(&r, prior, &context(prior)),
            _ => settle(fallback),
        }
    }
}

#[async_trait]
impl Resource for Cluster {
    fn type_name(&self) -> &'static str {
        schemas::cluster::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::cluster::schema()
    }

    /// Pack values come out as JSON, which Terraform writes as a readable
    /// `jsonencode({...})` expression rather than one escaped line of YAML.
    fn generate_config(&self, state: &Value) -> Value {
        let mut config = tfplugin::schema::config_from_state(&self.schema().block, state);
        let profiles: Vec<Value> = elements(config.get("cluster_profile"))
            .iter()
            .map(|p| {
                let mut p = p.clone();
                let packs: Vec<Value> = elements(p.get("pack"))
                    .iter()
                    .map(|k| {
                        let mut k = k.clone();
                        if let Some(json) = k.get("values").as_str().and_then(yaml_as_json) {
                            k.set_attr("values", Value::String(json));
                        }
                        k
                    })
                    .collect();
                if !p.get("pack").is_null() {
                    p.set_attr("pack", Value::Set(packs));
                }
                p
            })
            .collect();
        if !config.get("cluster_profile").is_null() {
            config.set_attr("cluster_profile", Value::List(profiles));
        }
        config
    }

    fn move_sources(&self) -> Vec<tfplugin::MoveSource> {
        vec![crate::official::CLUSTER]
    }

    async fn move_state(
        &self,
        req: &tfplugin::MoveRequest,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        crate::official::moved(req, &self.schema())
    }

    fn identity_schema(&self) -> Option<tfplugin::IdentitySchema> {
        Some(schemas::identity::cluster())
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        crate::identity::ScopedIdentity::import_id(identity, "cluster")
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        check_config(config)
    }

    async fn modify_plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        if req.proposed.is_null() {
            for (summary, detail) in crate::consequences::cluster(&req.prior, &Value::Null, false) {
                resp.diags.warning(summary, detail);
            }
            return;
        }
        // Pack values that say what the prior ones say keep the prior text,
        // planned again so that a spelling alone is no change at all.
        if let Some(proposed) = respell_packs(&req.prior, &req.proposed) {
            let config =
                respell_packs(&req.prior, &req.config).unwrap_or_else(|| req.config.clone());
            let again = tfplugin::plan::plan(&self.schema().block, &req.prior, &proposed, &config);
            resp.state = again.state;
            resp.requires_replace = again.requires_replace;
            resp.kept_prior_spelling = true;
        }
        refine_plan(&req.prior, &mut resp.state, &mut resp.requires_replace);
        let unchanged = !req.prior.is_null()
            && req.prior.get("cloud_account_id") == resp.state.get("cloud_account_id")
            && req
                .prior
                .get("machine_pool")
                .semantically_equal(resp.state.get("machine_pool"));
        if !unchanged {
            self.check_pools_of_gateway(&req.config, &mut resp.diags, &req.ctx)
                .await;
        }
        let placed_same = unchanged
            && first(&req.prior, "cloud_config").get("datacenter")
                == first(&resp.state, "cloud_config").get("datacenter");
        if !placed_same && !resp.diags.has_errors() {
            self.check_placement(&resp.state, &mut resp.diags, &req.ctx)
                .await;
        }
        if req.prior.is_null() && context(&req.proposed) == "project" {
            let no_project = self
                .shared
                .settings
                .read()
                .expect("settings lock")
                .as_ref()
                .is_some_and(|s| s.project.is_none());
            if no_project {
                resp.diags.error_at(
                    AttrPath::attr("context"),
                    "No project for a project cluster",
                    "`context = \"project\"` (the default) needs the provider's `project`, for example \
                     project = \"Default\"; or set context = \"tenant\".",
                );
            }
        }
        let replacing = !resp.requires_replace.is_empty();
        for (summary, detail) in crate::consequences::cluster(&req.prior, &resp.state, replacing) {
            resp.diags.warning(summary, detail);
        }
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let started = Instant::now();
        let deadline = started
            + tfplugin::timeouts::get(&req.planned, "create", schemas::cluster::DEFAULT_CREATE);
        let ctxt = context(&req.planned);
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let name = s(&req.planned, "name").unwrap_or_default();
        let body = entity(&req.planned);
        // Palette's own checks (profile, account, placement in vCenter, IP
        // pools) before anything is created.
        if let Err(e) = client
            .post::<_, serde_json::Value>(
                &format!("{CLUSTERS}/vsphere/validate"),
                &body,
                &ctx.cancel,
            )
            .await
        {
            let d = match &e {
                ApiError::Validation { .. } => Diagnostic::error(
                    "Palette refused the cluster",
                    format!("{e}. Nothing was created."),
                )
                .into(),
                _ => api_diag("Cannot validate the cluster", &e),
            };
            return ApplyResult::failed(Value::Null, d);
        }
        let uid = match client
            .post::<_, V1Uid>(&format!("{CLUSTERS}/vsphere"), &body, &ctx.cancel)
            .await
        {
            Ok(u) => u.uid.unwrap_or_default(),
            Err(ApiError::Ambiguous { message }) => {
                tracing::warn!(%message, cluster = %name, "cluster creation outcome unknown; looking it up by name");
                match find_by_name(&client, &name, ctx).await {
                    Ok(found) if !found.is_empty() => found[0].clone(),
                    Ok(_) => {
                        return ApplyResult::failed(
                            Value::Null,
                            Diagnostic::error(
                                "Cluster not created",
                                format!(
                                    "The request to create {name:?} got no answer ({message}) and no such cluster \
                                     exists; it is safe to apply again."
                                ),
                            ),
                        )
                    }
                    Err(e) => {
                        return ApplyResult::failed(
                            Value::Null,
                            api_diag(
                                &format!("Cannot confirm whether cluster {name:?} was created (look for it in Palette before applying again)"),
                                &e,
                            ),
                        )
                    }
                }
            }
            Err(e @ ApiError::Conflict { .. }) => {
                return ApplyResult::failed(
                    Value::Null,
                    Diagnostic::error(
                        "Cluster name taken",
                        format!(
                        "{e}. A cluster named {name:?} already exists in this {ctxt}. Import it \
                             (terraform import <address> {ctxt}/{name}) or choose another name."
                    ),
                    )
                    .at(AttrPath::attr("name")),
                )
            }
            Err(e) => {
                let d = match &e {
                    ApiError::Validation { .. } => {
                        Diagnostic::error("Palette refused the cluster", format!("{e}.")).into()
                    }
                    _ => api_diag("Cannot create the cluster", &e),
                };
                return ApplyResult::failed(Value::Null, d);
            }
        };
        tracing::info!(cluster = %uid, name = %name, "cluster created; waiting until it runs");
        // From here on the cluster exists: every return carries its uid.
        let mut partial = req.planned.clone();
        partial.set_attr("id", Value::String(uid.clone()));
        if let Err(d) = wait_running(&client, &uid, deadline, ctx).await {
            let state = self
                .current(&client, &uid, &req.planned, partial, ctx)
                .await;
            return ApplyResult::failed(state, d);
        }
        match read_remote(&client, &uid, false, stores_kubeconfig(&req.planned), ctx).await {
            Ok(Some(r)) => ApplyResult::ok(state_from(&r, &req.planned, &ctxt)),
            Ok(None) => ApplyResult::failed(
                settle(partial),
                Diagnostic::error(
                    "Cluster vanished",
                    format!("Cluster {uid} ran, then could not be found."),
                ),
            ),
            Err(e) => ApplyResult::failed(
                settle(partial),
                read_diag(
                    &format!("Cluster {uid} runs, but reading it back failed"),
                    &e,
                ),
            ),
        }
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let deadline = Instant::now()
            + tfplugin::timeouts::get(&req.planned, "update", schemas::cluster::DEFAULT_UPDATE);
        let ctxt = context(&req.prior);
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let uid = s(&req.prior, "id").unwrap_or_default();
        let (old, new) = (&req.prior, &req.planned);
        if let Some(stop) = changed_since_plan(&client, &uid, req, ctx).await {
            return stop;
        }
        let result = self
            .apply_changes(&client, &uid, old, new, deadline, ctx)
            .await;
        let fallback = match &result {
            Ok(()) => new.clone(),
            Err(_) => old.clone(),
        };
        let read = read_remote(&client, &uid, false, stores_kubeconfig(new), ctx).await;
        match (result, read) {
            (Ok(()), Ok(Some(r))) => ApplyResult {
                private: Seen::of(&r.cluster).bytes(),
                ..ApplyResult::ok(keep_promised(new, state_from(&r, new, &ctxt)))
            },
            (Err(d), Ok(Some(r))) => ApplyResult::failed(state_from(&r, new, &ctxt), d),
            (Ok(()), Ok(None)) | (Err(_), Ok(None)) => ApplyResult::failed(
                Value::Null,
                Diagnostic::error(
                    "Cluster vanished",
                    format!("Cluster {uid} no longer exists in Palette."),
                ),
            ),
            (Ok(()), Err(e)) => ApplyResult::failed(
                settle(fallback),
                read_diag(
                    &format!("Cluster {uid} updated, but reading it back failed"),
                    &e,
                ),
            ),
            (Err(d), Err(_)) => ApplyResult::failed(settle(fallback), d),
        }
    }

    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        let client = match self.shared.scoped(&context(&req.prior)) {
            Ok(c) => c,
            Err(d) => return d,
        };
        let uid = s(&req.prior, "id").unwrap_or_default();
        let started = Instant::now();
        let deadline = started
            + tfplugin::timeouts::get(&req.prior, "delete", schemas::cluster::DEFAULT_DELETE);
        // A destroy with -refresh=false, or after a state edit, skips read's
        // check; a delete is the one call that must never reach a cluster of
        // another cloud, so it looks first.
        match get_cluster(&client, &uid, ctx).await {
            Ok(None) => return Diagnostics::new(),
            Ok(Some(c)) => {
                if let Err(what) = check_kind(&uid, &c) {
                    return read_diag("", &ReadError::WrongKind(what));
                }
            }
            Err(e) => {
                return api_diag(&format!("Cannot read cluster {uid} before deleting it"), &e)
            }
        }
        match client
            .delete(&format!("{CLUSTERS}/{uid}"), &ctx.cancel)
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Diagnostics::new(),
            Err(e) => return api_diag(&format!("Cannot delete cluster {uid}"), &e),
        }
        let force = req.prior.get("force_delete").as_bool() == Some(true);
        let delay = tfplugin::duration::parse(
            req.prior
                .get("force_delete_delay")
                .as_str()
                .unwrap_or(schemas::cluster::DEFAULT_FORCE_DELETE_DELAY),
        )
        .unwrap_or(schemas::cluster::MIN_FORCE_DELETE_DELAY);
        let requested = Instant::now();
        let mut forced = false;
        let mut last = String::new();
        let mut poll = Poll::new();
        loop {
            let dated = client
                .get_dated::<V1SpectroCluster>(&format!("{CLUSTERS}/{uid}"), &ctx.cancel)
                .await;
            let (state, waited) = match dated {
                Ok((c, _)) if state_of(&c) == "Deleted" => break,
                Err(e) if e.is_not_found() => break,
                Ok((c, date)) => (state_of(&c), deleting_for(&c, date, requested.elapsed())),
                Err(ApiError::Cancelled) => return interrupted(&uid, "was being deleted"),
                Err(e) => {
                    return api_diag(
                        &format!("Cannot read cluster {uid} while it is deleted"),
                        &e,
                    )
                }
            };
            if state != last {
                tracing::info!(cluster = %uid, state = %state, "cluster deletion");
                last = state.clone();
            }
            if force && !forced && waited >= delay {
                tracing::warn!(cluster = %uid, "cluster still deleting after force_delete_delay; forcing");
                match client
                    .delete(&format!("{CLUSTERS}/{uid}?forceDelete=true"), &ctx.cancel)
                    .await
                {
                    Ok(()) => forced = true,
                    Err(e) if e.is_not_found() => break,
                    // Palette counts the 15 minutes from its own start of the
                    // deletion: try again on the next poll.
                    Err(ApiError::Validation { message, .. }) => {
                        tracing::info!(cluster = %uid, %message, "force delete not yet possible")
                    }
                    Err(e) => return api_diag(&format!("Cannot force-delete cluster {uid}"), &e),
                }
            }
            if Instant::now() >= deadline {
                let ev = events(&client, KIND, &uid, ctx).await;
                let hint = if force {
                    "Palette did not accept the force delete in time; raise `timeouts.delete` above \
                     `force_delete_delay`."
                } else {
                    "Set `force_delete = true` to force-delete a cluster stuck in Deleting after \
                     `force_delete_delay` (then remove by hand what Palette had not cleaned up: node VMs, IP \
                     allocations, DNS records)."
                };
                return Diagnostic::error(
                    "Cluster deletion timed out",
                    format!(
                        "Cluster {uid} is still {state}; it stays in state. {hint} Latest events:\n{}",
                        bullet(&ev)
                    ),
                )
                .into();
            }
            if !ctx.sleep(poll.interval(deadline)).await {
                return interrupted(&uid, "was being deleted");
            }
        }
        let mut d = Diagnostics::new();
        if forced {
            d.warning(
                "Cluster force-deleted",
                format!(
                    "Cluster {uid} was force-deleted after it stayed in Deleting. Palette stops cleaning up when \
                     forced: check vCenter for the cluster's VMs (folder {:?}) and the gateway's IP pools for \
                     addresses still allotted to it, and remove them by hand.",
                    first(&req.prior, "cloud_config").get("folder").as_str().unwrap_or("?")
                ),
            );
        }
        d
    }

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        let ctxt = context(state);
        let keep = |diags| ReadResult {
            state: state.clone(),
            private: private.to_vec(),
            diags,
        };
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return keep(d),
        };
        let uid = s(state, "id").unwrap_or_default();
        match read_remote(&client, &uid, false, stores_kubeconfig(state), ctx).await {
            Ok(Some(r)) => {
                ReadResult::ok(state_from(&r, state, &ctxt), Seen::of(&r.cluster).bytes())
            }
            // Only a real "not found" (or Deleted) removes the cluster from state;
            // a cluster of another cloud is an error that keeps it.
            Ok(None) => ReadResult::ok(Value::Null, Vec::new()),
            Err(ReadError::Api(e)) => keep(crate::shared::read_failed(
                &format!("Cannot read cluster {uid}"),
                "cluster",
                &e,
            )),
            Err(e) => keep(read_diag(&format!("Cannot read cluster {uid}"), &e)),
        }
    }

    /// `UID`, `NAME`, or `tenant/NAME` / `project/NAME` (also with a uid).
    async fn import(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        let (asked, key) = crate::shared::split_context(id);
        let has_project = self.shared.has_project();
        let contexts: Vec<&str> = match asked {
            Some(c) => vec![c],
            None if has_project => vec!["project", "tenant"],
            None => vec!["tenant"],
        };
        for c in contexts {
            let client = self.shared.scoped(c)?;
            let mut uids = match get_cluster(&client, key, ctx).await {
                Ok(Some(_)) => vec![key.to_string()],
                Ok(None) => Vec::new(),
                // A name is not a uid: Palette may answer 400 rather than 404.
                Err(ApiError::Validation { .. }) => Vec::new(),
                Err(e) => return Err(api_diag("Cannot read cluster", &e)),
            };
            if uids.is_empty() {
                uids = find_by_name(&client, key, ctx)
                    .await
                    .map_err(|e| api_diag("Cannot search clusters", &e))?;
            }
            if uids.len() > 1 {
                return Err(Diagnostic::error(
                    "Ambiguous cluster name",
                    format!(
                        "{} clusters are named {key:?} in the {c}; import by uid.",
                        uids.len()
                    ),
                )
                .into());
            }
            if let Some(uid) = uids.first() {
                let r = read_remote(&client, uid, true, true, ctx)
                    .await
                    .map_err(|e| read_diag("Cannot read cluster", &e))?
                    .ok_or_else(|| {
                        Diagnostics::from(Diagnostic::error(
                            "Cluster not found",
                            format!("Cluster {uid} vanished during import."),
                        ))
                    })?;
                return Ok(vec![Imported {
                    state: state_from(&r, &Value::Null, c),
                    private: Vec::new(),
                }]);
            }
        }
        Err(Diagnostic::error(
            "Cluster not found",
            format!(
                "No cluster matches {id:?}. Import with the cluster's uid, its name, or tenant/NAME for a tenant \
                 cluster (for example \"project/apps-dc1\", or the official provider's \"apps-dc1:project\")."
            ),
        )
        .into())
    }
}

impl Cluster {
    /// The in-place changes, in an order where each step is valid on its
    /// own: metadata, cluster-wide settings, profile values, then pools.
    async fn apply_changes(
        &self,
        client: &Client,
        uid: &str,
        old: &Value,
        new: &Value,
        deadline: Instant,
        ctx: &Ctx,
    ) -> Result<(), Diagnostics> {
        let fail = |what: &str, e: ApiError| api_diag(&format!("Cluster {uid}: {what}"), &e);
        if !old.get("tags").semantically_equal(new.get("tags"))
            || !old
                .get("description")
                .semantically_equal(new.get("description"))
        {
            let (labels, annotations) = metadata_of(new);
            let body = V1ObjectMetaInputEntitySchema {
                metadata: Some(V1ObjectMetaInputEntity {
                    name: s(new, "name"),
                    labels: Some(labels),
                    annotations: Some(annotations),
                }),
            };
            client
                .patch(&format!("{CLUSTERS}/{uid}/metadata"), &body, &ctx.cancel)
                .await
                .map_err(|e| fail("cannot update tags and description", e))?;
        }
        let config_uid = s(old, "cloud_config_id").unwrap_or_default();
        let (occ, ncc) = (first(old, "cloud_config"), first(new, "cloud_config"));
        if !occ.get("ssh_keys").semantically_equal(ncc.get("ssh_keys"))
            || !occ
                .get("ntp_servers")
                .semantically_equal(ncc.get("ntp_servers"))
        {
            let body = V1VsphereCloudClusterConfigEntity {
                cluster_config: Some(cluster_config_entity(new)),
            };
            client
                .put(
                    &format!("{CLOUD_CONFIGS}/{config_uid}/clusterConfig"),
                    &body,
                    &ctx.cancel,
                )
                .await
                .map_err(|e| fail("cannot update SSH keys and NTP servers", e))?;
        }
        if profiles_changed(old, new) {
            let body = V1SpectroClusterProfiles {
                profiles: Some(profiles_entity(new)),
                spc_apply_settings: None,
            };
            client
                .patch(&format!("{CLUSTERS}/{uid}/profiles"), &body, &ctx.cancel)
                .await
                .map_err(|e| fail("cannot update pack values", e))?;
        }
        let static_ip = ncc.get("static_ip").as_bool().unwrap_or(false);
        let (before, after) = (pools_by_name(old), pools_by_name(new));
        let mut pools_changed = false;
        for (name, p) in &after {
            let path = format!("{CLOUD_CONFIGS}/{config_uid}/machinePools");
            match before.get(name) {
                None => {
                    tracing::info!(cluster = uid, pool = %name, "adding machine pool");
                    client
                        .post::<_, serde_json::Value>(
                            &path,
                            &pool_entity(p, static_ip),
                            &ctx.cancel,
                        )
                        .await
                        .map_err(|e| fail(&format!("cannot add machine pool {name:?}"), e))?;
                    pools_changed = true;
                }
                Some(b) if !b.semantically_equal(p) => {
                    tracing::info!(cluster = uid, pool = %name, "updating machine pool");
                    client
                        .put(
                            &format!("{path}/{name}"),
                            &pool_entity(p, static_ip),
                            &ctx.cancel,
                        )
                        .await
                        .map_err(|e| fail(&format!("cannot update machine pool {name:?}"), e))?;
                    pools_changed = true;
                }
                Some(_) => {}
            }
        }
        for name in before.keys().filter(|n| !after.contains_key(*n)) {
            tracing::info!(cluster = uid, pool = %name, "removing machine pool");
            match client
                .delete(
                    &format!("{CLOUD_CONFIGS}/{config_uid}/machinePools/{name}"),
                    &ctx.cancel,
                )
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(fail(&format!("cannot remove machine pool {name:?}"), e)),
            }
            pools_changed = true;
        }
        if pools_changed {
            wait_running(client, uid, deadline, ctx).await?;
        }
        Ok(())
    }
}

fn profiles_changed(old: &Value, new: &Value) -> bool {
    let o = elements(old.get("cluster_profile"));
    let n = elements(new.get("cluster_profile"));
    if o.len() != n.len() {
        return true;
    }
    o.iter().zip(n).any(|(a, b)| {
        if !a.get("variables").semantically_equal(b.get("variables")) {
            return true;
        }
        let packs = |v: &Value| -> BTreeMap<String, String> {
            elements(v.get("pack"))
                .iter()
                .filter_map(|k| Some((s(k, "name")?, s(k, "values").unwrap_or_default())))
                .collect()
        };
        let (pa, pb) = (packs(a), packs(b));
        // Reformatted YAML is recorded without a call to Palette.
        pa.len() != pb.len()
            || pa
                .iter()
                .any(|(k, v)| pb.get(k).is_none_or(|w| !yaml_equal(v, w)))
    })
}

#[cfg(test)]
mod seen_tests {
    use super::*;

    #[test]
    fn only_settings_palette_holds_count_as_a_change_since_the_plan() {
        let from = Value::object([
            ("name", Value::from("apps")),
            ("state", Value::from("Running")),
            (
                "machine_pool",
                Value::Set(vec![Value::object([
                    ("name", Value::from("workers")),
                    ("count", Value::from(2i64)),
                ])]),
            ),
        ]);
        let mut status_only = from.clone();
        status_only.set_attr("state", Value::from("Updating"));
        assert!(changed_settings(&from, &status_only).is_empty());
        let mut scaled = from.clone();
        scaled.set_attr(
            "machine_pool",
            Value::Set(vec![Value::object([
                ("name", Value::from("workers")),
                ("count", Value::from(3i64)),
            ])]),
        );
        assert_eq!(changed_settings(&from, &scaled), ["machine_pool"]);
        let seen = Seen {
            modified: Some("2026-12-03T10:00:00Z".into()),
        };
        assert_eq!(Seen::parse(&seen.bytes()), seen);
        assert!(Seen::default().bytes().is_empty());
        assert_eq!(Seen::parse(b""), Seen::default());
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn same_values_spelled_otherwise_keep_the_prior_text() {
        let state = |values: &str| {
            Value::object([(
                "cluster_profile",
                Value::List(vec![Value::object([
                    ("id", Value::from("p-1")),
                    (
                        "pack",
                        Value::Set(vec![Value::object([
                            ("name", Value::from("kubernetes")),
                            ("values", Value::from(values)),
                        ])]),
                    ),
                ])]),
            )])
        };
        let prior = state("pack:\n  podCIDR: 10.0.0.0/16\n");
        let json = state(r#"{"pack":{"podCIDR":"10.0.0.0/16"}}"#);
        let respelled = respell_packs(&prior, &json).expect("spelled otherwise");
        assert_eq!(respelled, prior);
        assert_eq!(respell_packs(&prior, &prior), None, "nothing to do");
        let other = state("pack:\n  podCIDR: 10.9.0.0/16\n");
        assert_eq!(respell_packs(&prior, &other), None, "a real change stays");
        assert_eq!(
            respell_packs(&Value::Null, &json),
            None,
            "a create has no prior"
        );
    }

    #[test]
    fn yaml_pack_values_become_equal_json() {
        let yaml = "# comment\nmanifests:\n  a:\n    replicas: 3\n    names: [x, y]\nflag: true\n";
        let json = yaml_as_json(yaml).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).unwrap(),
            serde_json::json!({"manifests": {"a": {"replicas": 3, "names": ["x", "y"]}}, "flag": true})
        );
        assert!(yaml_equal(&json, yaml));
        assert_eq!(yaml_as_json("just text"), None);
        assert_eq!(
            yaml_as_json("1: one\n"),
            None,
            "a number key is not a JSON key"
        );
        assert_eq!(yaml_as_json("a: [unclosed\n"), None);
    }
    #[test]
    fn deletion_age_is_read_on_palettes_clock() {
        use palette_api::client::rfc3339;
        let deleting = |ts: Option<&str>| V1SpectroCluster {
            metadata: Some(palette_api::models::V1ObjectMeta {
                deletion_timestamp: ts.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        };
        let local = Duration::from_secs(3);
        let server = rfc3339("2026-12-02T08:00:00Z");
        // Palette's own times win over this machine's count, in both
        // directions: an earlier run's deletion, or a clock far behind.
        assert_eq!(
            super::deleting_for(&deleting(Some("2026-12-02T07:40:00Z")), server, local),
            Duration::from_secs(20 * 60)
        );
        // A deletion timestamp ahead of the server's Date is no time yet.
        assert_eq!(
            super::deleting_for(&deleting(Some("2026-12-02T08:00:05Z")), server, local),
            Duration::ZERO
        );
        // Without either time, the time since this run asked.
        assert_eq!(super::deleting_for(&deleting(None), server, local), local);
        assert_eq!(
            super::deleting_for(&deleting(Some("2026-12-02T07:40:00Z")), None, local),
            local
        );
        assert_eq!(
            super::deleting_for(&deleting(Some("not a time")), server, local),
            local
        );
    }

    use super::*;
    use palette_api::models::{
        V1ClusterProfileTemplate, V1ObjectReference, V1PackRef, V1SpectroClusterSpec,
        V1SpectroClusterStatus, V1VsphereCloudConfigSpec, V1VsphereClusterConfig,
        V1VsphereMachineSpec, V1VsphereNetworkConfig, V1VsphereNic, V1VspherePlacementConfig,
    };

    fn placement(cluster: &str, pool: Option<&str>) -> Value {
        Value::object([
            ("compute_cluster", Value::from(cluster)),
            ("datastore", Value::from("LocalDS_0")),
            ("network", Value::from("VM Network")),
            ("resource_pool", Value::from("Resources")),
            ("ip_pool_id", Value::from(pool.map(str::to_string))),
        ])
    }

    fn pool(name: &str, cp: bool, count: i64, placements: Vec<Value>) -> Value {
        Value::object([
            ("name", Value::from(name)),
            ("control_plane", Value::Bool(cp)),
            ("control_plane_as_worker", Value::Bool(false)),
            ("count", Value::int(count)),
            ("cpu", Value::int(4)),
            ("memory_mb", Value::int(8192)),
            ("disk_gb", Value::int(60)),
            ("labels", Value::Null),
            ("update_strategy", Value::from("RollingUpdateScaleOut")),
            ("taint", Value::List(vec![])),
            ("placement", Value::List(placements)),
        ])
    }

    fn config(static_ip: bool, pools: Vec<Value>) -> Value {
        Value::object([
            ("id", Value::from("c1")),
            ("name", Value::from("apps")),
            ("description", Value::Null),
            (
                "tags",
                Value::Set(vec![Value::from("env:prod"), Value::from("pci")]),
            ),
            ("context", Value::from("project")),
            ("cloud_account_id", Value::from("a1")),
            ("force_delete", Value::Bool(false)),
            ("force_delete_delay", Value::from("20m")),
            ("state", Value::from("Running")),
            ("health", Value::from("Healthy")),
            ("cloud_config_id", Value::from("cc1")),
            ("kubeconfig", Value::Null),
            ("store_kubeconfig", Value::Bool(true)),
            ("nodes", Value::List(vec![])),
            (
                "cluster_profile",
                Value::List(vec![Value::object([
                    ("id", Value::from("p1")),
                    ("variables", Value::Null),
                    (
                        "pack",
                        Value::Set(vec![Value::object([
                            ("name", Value::from("kubernetes")),
                            ("values", Value::from("a: 1\nb: [x, y]\n")),
                        ])]),
                    ),
                ])]),
            ),
            (
                "cloud_config",
                Value::List(vec![Value::object([
                    ("datacenter", Value::from("DC0")),
                    ("folder", Value::from("palette/apps")),
                    ("image_template_folder", Value::Null),
                    (
                        "ssh_keys",
                        Value::List(vec![Value::from("ssh-ed25519 AAAA")]),
                    ),
                    ("ntp_servers", Value::Null),
                    ("static_ip", Value::Bool(static_ip)),
                    ("control_plane_endpoint", Value::from("VIP")),
                    ("network_search_domain", Value::Null),
                ])]),
            ),
            ("machine_pool", Value::Set(pools)),
            ("timeouts", Value::Null),
        ])
    }

    fn messages(d: &Diagnostics) -> String {
        d.iter()
            .map(|x| format!("{} {}", x.summary, x.detail))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_cluster_of_another_cloud_is_refused_by_name_and_cloud() {
        let cluster = |cloud: Option<&str>| V1SpectroCluster {
            metadata: Some(V1ObjectMeta {
                name: Some("foo".into()),
                uid: Some("u-1".into()),
                ..Default::default()
            }),
            spec: Some(V1SpectroClusterSpec {
                cloud_type: cloud.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(check_kind("u-1", &cluster(Some("vsphere"))), Ok(()));
        assert_eq!(
            check_kind("u-1", &cluster(Some("aws"))).unwrap_err(),
            "uid u-1 is an aws cluster named \"foo\", not a vSphere cluster."
        );
        assert_eq!(
            check_kind("u-1", &cluster(Some("gcp"))).unwrap_err(),
            "uid u-1 is a gcp cluster named \"foo\", not a vSphere cluster."
        );
        assert!(check_kind("u-1", &cluster(None))
            .unwrap_err()
            .contains("no stated cloud type"));
        // The diagnostic says what to do and that nothing changed.
        let d = read_diag(
            "x",
            &ReadError::WrongKind(check_kind("u-1", &cluster(Some("aws"))).unwrap_err()),
        );
        let text = messages(&d);
        assert!(text.contains("Not a vSphere cluster"), "{text}");
        assert!(text.contains("terraform state rm"), "{text}");
    }

    #[test]
    fn yaml_is_compared_by_meaning() {
        assert!(yaml_equal("a: 1\nb: [x, y]\n", "b:\n  - x\n  - y\na:   1"));
        assert!(!yaml_equal("a: 1", "a: 2"));
        assert!(!yaml_equal("a: '1'", "a: 1"));
        assert!(yaml_equal("not: [yaml", "not: [yaml  "));
    }

    #[test]
    fn tags_round_trip_through_palette_labels() {
        let tags = vec!["env:prod".to_string(), "pci".to_string()];
        let labels = tags_to_labels(&tags);
        assert_eq!(labels["pci"], BARE_TAG);
        assert_eq!(labels["env"], "prod");
        assert_eq!(
            labels_to_tags(&labels),
            vec!["env:prod".to_string(), "pci".to_string()]
        );
    }

    #[test]
    fn a_valid_configuration_passes() {
        let c = config(
            true,
            vec![
                pool("cp", true, 3, vec![placement("C0", Some("ip1"))]),
                pool(
                    "w",
                    false,
                    0,
                    vec![placement("C0", Some("ip1")), placement("C1", Some("ip1"))],
                ),
            ],
        );
        assert!(
            check_config(&c).is_empty(),
            "{}",
            messages(&check_config(&c))
        );
    }

    #[test]
    fn each_rule_is_reported() {
        let cases: Vec<(Value, &str)> = vec![
            (
                config(
                    false,
                    vec![pool("cp", true, 2, vec![placement("C0", None)])],
                ),
                "1, 3 or 5",
            ),
            (
                config(
                    false,
                    vec![pool(
                        "cp",
                        true,
                        1,
                        vec![placement("C0", None), placement("C1", None)],
                    )],
                ),
                "exactly one",
            ),
            (
                config(
                    false,
                    vec![pool("w", false, 1, vec![placement("C0", None)])],
                ),
                "0 machine pools",
            ),
            (
                config(
                    false,
                    vec![
                        pool("cp", true, 1, vec![placement("C0", None)]),
                        pool("cp2", true, 1, vec![placement("C0", None)]),
                    ],
                ),
                "2 machine pools",
            ),
            (
                config(
                    false,
                    vec![
                        pool("cp", true, 1, vec![placement("C0", None)]),
                        pool("w", false, 1, vec![placement("C0", None)]),
                        pool("w", false, 2, vec![placement("C0", None)]),
                    ],
                ),
                "named \"w\"",
            ),
            (
                config(true, vec![pool("cp", true, 1, vec![placement("C0", None)])]),
                "no `ip_pool_id`",
            ),
            (
                config(
                    false,
                    vec![pool("cp", true, 1, vec![placement("C0", Some("ip1"))])],
                ),
                "uses DHCP",
            ),
        ];
        for (c, want) in cases {
            let d = check_config(&c);
            assert!(
                messages(&d).contains(want),
                "want {want:?} in {}",
                messages(&d)
            );
            assert!(d.iter().all(|x| x.attribute.is_some()));
        }
    }

    #[test]
    fn unknown_values_are_not_judged() {
        let mut p = pool("cp", true, 1, vec![placement("C0", None)]);
        p.set_attr("count", Value::Unknown);
        let mut c = config(true, vec![p]);
        let mut pl = placement("C0", None);
        pl.set_attr("ip_pool_id", Value::Unknown);
        let mut p2 = pool("cp", true, 1, vec![pl]);
        p2.set_attr("count", Value::Unknown);
        c.set_attr("machine_pool", Value::Set(vec![p2]));
        assert!(
            check_config(&c).is_empty(),
            "{}",
            messages(&check_config(&c))
        );
    }

    #[test]
    fn moving_the_control_plane_replaces_the_cluster() {
        let prior = config(
            false,
            vec![
                pool("cp", true, 1, vec![placement("C0", None)]),
                pool("w", false, 1, vec![placement("C0", None)]),
            ],
        );
        let mut planned = config(
            false,
            vec![
                pool("cp", false, 1, vec![placement("C0", None)]),
                pool("w", true, 1, vec![placement("C0", None)]),
            ],
        );
        let mut rr = Vec::new();
        refine_plan(&prior, &mut planned, &mut rr);
        assert_eq!(rr, vec![AttrPath::attr("machine_pool")]);
    }

    #[test]
    fn a_tag_change_keeps_nodes_and_state_known() {
        let mut prior = config(
            false,
            vec![pool("cp", true, 1, vec![placement("C0", None)])],
        );
        prior.set_attr("nodes", Value::List(vec![Value::from("n")]));
        let mut planned = prior.clone();
        planned.set_attr("tags", Value::Set(vec![]));
        planned.set_attr("nodes", Value::Unknown);
        planned.set_attr("state", Value::Unknown);
        let mut rr = Vec::new();
        refine_plan(&prior, &mut planned, &mut rr);
        assert!(rr.is_empty());
        assert_eq!(planned.get("nodes"), prior.get("nodes"));
        assert_eq!(planned.get("state"), &Value::from("Running"));
        // A pool change leaves them to the apply.
        let mut planned = prior.clone();
        planned.set_attr(
            "machine_pool",
            Value::Set(vec![pool("cp", true, 3, vec![placement("C0", None)])]),
        );
        planned.set_attr("nodes", Value::Unknown);
        refine_plan(&prior, &mut planned, &mut rr);
        assert!(planned.get("nodes").is_unknown());
    }

    /// What Palette would answer for `v`, with Palette's own YAML spelling.
    fn remote_for(v: &Value) -> Remote {
        let e = entity(v);
        let spec = e.spec.clone().unwrap();
        let cc = spec.cloud_config.clone().unwrap();
        let pools: Vec<V1VsphereMachinePoolConfig> = spec
            .machinepoolconfig
            .clone()
            .unwrap()
            .into_iter()
            .map(|m| {
                let pc = m.pool_config.unwrap();
                let cl = m.cloud_config.unwrap();
                V1VsphereMachinePoolConfig {
                    name: pc.name,
                    is_control_plane: pc.is_control_plane,
                    use_control_plane_as_worker: pc.use_control_plane_as_worker,
                    size: pc.size,
                    additional_labels: pc.additional_labels,
                    taints: pc.taints,
                    update_strategy: pc.update_strategy,
                    instance_type: cl.instance_type,
                    placements: Some(
                        cl.placements
                            .unwrap()
                            .into_iter()
                            .map(|p| {
                                let n = p.network.unwrap();
                                V1VspherePlacementConfig {
                                    cluster: p.cluster,
                                    datastore: p.datastore,
                                    resource_pool: p.resource_pool,
                                    network: Some(V1VsphereNetworkConfig {
                                        network_name: n.network_name,
                                        static_ip: n.static_ip,
                                        parent_pool_ref: n.parent_pool_uid.map(|u| {
                                            V1ObjectReference {
                                                uid: Some(u),
                                                ..Default::default()
                                            }
                                        }),
                                        ip_pool: None,
                                    }),
                                    ..Default::default()
                                }
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }
            })
            .collect();
        let pl = cc.placement.clone().unwrap();
        Remote {
            cluster: V1SpectroCluster {
                metadata: Some(V1ObjectMeta {
                    uid: Some("c1".into()),
                    ..e.metadata.clone().unwrap()
                }),
                spec: Some(V1SpectroClusterSpec {
                    cloud_config_ref: Some(V1ObjectReference {
                        uid: Some("cc1".into()),
                        ..Default::default()
                    }),
                    cluster_profile_templates: Some(vec![V1ClusterProfileTemplate {
                        uid: Some("p1".into()),
                        packs: Some(vec![
                            V1PackRef {
                                name: Some("kubernetes".into()),
                                values: Some("b:\n- x\n- y\na: 1\n".into()),
                                ..Default::default()
                            },
                            V1PackRef {
                                name: Some("ubuntu".into()),
                                values: Some("os: 22.04".into()),
                                ..Default::default()
                            },
                        ]),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                status: Some(V1SpectroClusterStatus {
                    state: Some("Running".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            config: V1VsphereCloudConfig {
                spec: Some(V1VsphereCloudConfigSpec {
                    cloud_account_ref: Some(V1ObjectReference {
                        uid: Some("a1".into()),
                        ..Default::default()
                    }),
                    cluster_config: Some(V1VsphereClusterConfig {
                        control_plane_endpoint: cc.control_plane_endpoint,
                        ntp_servers: cc.ntp_servers,
                        ssh_keys: cc.ssh_keys,
                        static_ip: cc.static_ip,
                        placement: Some(V1VspherePlacementConfig {
                            datacenter: pl.datacenter,
                            folder: pl.folder,
                            image_template_folder: pl.image_template_folder,
                            ..Default::default()
                        }),
                    }),
                    machine_pool_config: Some(pools),
                    ..Default::default()
                }),
                ..Default::default()
            },
            machines: BTreeMap::from([(
                "cp".to_string(),
                vec![V1VsphereMachine {
                    metadata: Some(V1ObjectMeta {
                        name: Some("apps-cp-0".into()),
                        ..Default::default()
                    }),
                    spec: Some(V1VsphereMachineSpec {
                        nics: Some(vec![V1VsphereNic {
                            private_i_ps: Some(vec!["10.0.0.5".into()]),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                    status: Some(palette_api::models::V1CloudMachineStatus {
                        instance_state: Some("Running".into()),
                        health: Some(palette_api::models::V1MachineHealth {
                            state: Some("Healthy".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            )]),
            kubeconfig: None,
            profile_defaults: None,
        }
    }

    #[test]
    fn state_read_back_equals_what_was_applied() {
        let v = config(
            true,
            vec![
                pool("cp", true, 1, vec![placement("C0", Some("ip1"))]),
                pool(
                    "w",
                    false,
                    2,
                    vec![placement("C0", Some("ip1")), placement("C1", Some("ip1"))],
                ),
            ],
        );
        let got = state_from(&remote_for(&v), &v, "project");
        let mut want = v.clone();
        want.set_attr(
            "nodes",
            Value::List(vec![Value::object([
                ("name", Value::from("apps-cp-0")),
                ("pool", Value::from("cp")),
                ("ip", Value::from("10.0.0.5")),
                ("vm_path", Value::from("/DC0/vm/palette/apps/apps-cp-0")),
                ("state", Value::from("Running")),
            ])]),
        );
        // Palette's reordered YAML reads back as the configuration's text.
        assert_eq!(got, want);
    }

    #[test]
    fn drift_in_palette_shows_in_state() {
        let v = config(
            false,
            vec![pool("cp", true, 1, vec![placement("C0", None)])],
        );
        let mut r = remote_for(&v);
        let spec = r.config.spec.as_mut().unwrap();
        spec.machine_pool_config.as_mut().unwrap()[0].size = Some(3);
        r.cluster
            .spec
            .as_mut()
            .unwrap()
            .cluster_profile_templates
            .as_mut()
            .unwrap()[0]
            .packs
            .as_mut()
            .unwrap()[0]
            .values = Some("a: 2".into());
        let got = state_from(&r, &v, "project");
        let p = &elements(got.get("machine_pool"))[0];
        assert_eq!(p.get("count"), &Value::int(3));
        let pack = &elements(first(&got, "cluster_profile").get("pack"))[0];
        assert_eq!(pack.get("values"), &Value::from("a: 2"));
    }

    #[test]
    fn import_keeps_only_overridden_packs_and_defaults() {
        let v = config(
            false,
            vec![pool("cp", true, 1, vec![placement("C0", None)])],
        );
        let mut r = remote_for(&v);
        r.profile_defaults = Some(BTreeMap::from([(
            "p1".to_string(),
            BTreeMap::from([
                ("kubernetes".to_string(), "a: 0".to_string()),
                ("ubuntu".to_string(), "os:   22.04".to_string()),
            ]),
        )]));
        let got = state_from(&r, &Value::Null, "project");
        let packs = elements(first(&got, "cluster_profile").get("pack"));
        assert_eq!(packs.len(), 1);
        assert_eq!(packs[0].get("name"), &Value::from("kubernetes"));
        assert_eq!(got.get("force_delete_delay"), &Value::from("20m"));
        assert_eq!(got.get("force_delete"), &Value::Bool(false));
        assert_eq!(first(&got, "cloud_config").get("ntp_servers"), &Value::Null);
    }

    #[test]
    fn an_update_returns_the_computed_values_its_plan_promised() {
        let mut planned = config(
            false,
            vec![pool("cp", true, 1, vec![placement("C0", None)])],
        );
        planned.set_attr("nodes", Value::List(vec![Value::from("n-before")]));
        let mut read = planned.clone();
        read.set_attr("nodes", Value::List(vec![Value::from("n-after")]));
        read.set_attr("description", Value::from("from Palette"));
        let got = keep_promised(&planned, read);
        assert_eq!(got.get("nodes"), planned.get("nodes"));
        assert_eq!(got.get("description"), &Value::from("from Palette"));
        // What the plan left unknown comes from the read.
        planned.set_attr("nodes", Value::Unknown);
        let mut read = planned.clone();
        read.set_attr("nodes", Value::List(vec![]));
        assert_eq!(
            keep_promised(&planned, read).get("nodes"),
            &Value::List(vec![])
        );
    }

    #[test]
    fn reformatted_values_need_no_call() {
        let v = config(
            false,
            vec![pool("cp", true, 1, vec![placement("C0", None)])],
        );
        let mut w = v.clone();
        let mut prof = first(&v, "cluster_profile").clone();
        prof.set_attr(
            "pack",
            Value::Set(vec![Value::object([
                ("name", Value::from("kubernetes")),
                ("values", Value::from("b: [x, y]\na: 1")),
            ])]),
        );
        w.set_attr("cluster_profile", Value::List(vec![prof.clone()]));
        assert!(!profiles_changed(&v, &w));
        prof.set_attr(
            "pack",
            Value::Set(vec![Value::object([
                ("name", Value::from("kubernetes")),
                ("values", Value::from("a: 3")),
            ])]),
        );
        w.set_attr("cluster_profile", Value::List(vec![prof]));
        assert!(profiles_changed(&v, &w));
    }

    #[test]
    fn bodies_carry_pools_placements_and_profiles() {
        let v = config(
            true,
            vec![
                pool("cp", true, 1, vec![placement("C0", Some("ip1"))]),
                pool(
                    "w",
                    false,
                    2,
                    vec![placement("C0", Some("ip1")), placement("C1", Some("ip1"))],
                ),
            ],
        );
        let e = entity(&v);
        let spec = e.spec.unwrap();
        assert_eq!(spec.cloud_account_uid.as_deref(), Some("a1"));
        let pools = spec.machinepoolconfig.unwrap();
        let w = pools
            .iter()
            .find(|p| p.pool_config.as_ref().unwrap().name.as_deref() == Some("w"))
            .unwrap();
        let pls = w.cloud_config.as_ref().unwrap().placements.clone().unwrap();
        assert_eq!(pls.len(), 2);
        assert_eq!(
            pls[1].network.as_ref().unwrap().parent_pool_uid.as_deref(),
            Some("ip1")
        );
        let prof = &spec.profiles.unwrap()[0];
        assert_eq!(
            prof.pack_values.as_ref().unwrap()[0].name.as_deref(),
            Some("kubernetes")
        );
        assert_eq!(e.metadata.unwrap().labels.unwrap()["pci"], BARE_TAG);
    }
}
