//! The typed model of `palette_cluster_vsphere`, tied to its schema by the
//! test below, and its mapping to and from Palette's models.
//!
//! String lists and maps hold `Attr` elements: a configuration may name a
//! value known only at apply (an SSH key made in the same run), and the plan
//! still reads the rest of the configuration around it.

use std::collections::BTreeMap;
use std::time::Duration;

use palette_api::models::{
    V1ControlPlaneEndPoint, V1MachinePoolConfigEntity, V1ObjectMeta, V1PackValuesEntity,
    V1SpectroCluster, V1SpectroClusterProfileEntity, V1SpectroClusterVariable,
    V1SpectroVsphereClusterEntity, V1SpectroVsphereClusterEntitySpec, V1Taint, V1UpdateStrategy,
    V1VsphereClusterConfigEntity, V1VsphereInstanceType, V1VsphereMachine,
    V1VsphereMachinePoolCloudConfigEntity, V1VsphereMachinePoolConfig,
    V1VsphereMachinePoolConfigEntity, V1VsphereNetworkConfigEntity, V1VspherePlacementConfigEntity,
};
use serde::{Deserialize, Serialize};
use tfplugin::{Attr, Diagnostic, Diagnostics, Model, Type, Value};

use super::read::{state_of, Remote};
use super::BARE_TAG;
pub use tfplugin::model::{known_map, known_strings, StringMap, Strings};

/// `Debug` is written out below: a derived one would print the kubeconfig.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterModel {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub description: Attr<String>,
    pub tags: Strings,
    pub context: Attr<String>,
    pub cloud_account_id: Attr<String>,
    pub force_delete: Attr<bool>,
    pub force_delete_delay: Attr<String>,
    pub state: Attr<String>,
    pub health: Attr<String>,
    pub cloud_config_id: Attr<String>,
    pub kubeconfig: Attr<String>,
    pub store_kubeconfig: Attr<bool>,
    pub nodes: Attr<Vec<Node>>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub cluster_profile: Vec<ClusterProfile>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub cloud_config: Vec<CloudConfig>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub machine_pool: Vec<MachinePool>,
    pub timeouts: Option<Timeouts>,
}

impl std::fmt::Debug for ClusterModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kubeconfig = match &self.kubeconfig {
            Attr::Known(_) => "<redacted>",
            Attr::Unknown => "<unknown>",
            Attr::Null => "<null>",
        };
        f.debug_struct("ClusterModel")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("tags", &self.tags)
            .field("context", &self.context)
            .field("cloud_account_id", &self.cloud_account_id)
            .field("force_delete", &self.force_delete)
            .field("force_delete_delay", &self.force_delete_delay)
            .field("state", &self.state)
            .field("health", &self.health)
            .field("cloud_config_id", &self.cloud_config_id)
            .field("kubeconfig", &kubeconfig)
            .field("store_kubeconfig", &self.store_kubeconfig)
            .field("nodes", &self.nodes)
            .field("cluster_profile", &self.cluster_profile)
            .field("cloud_config", &self.cloud_config)
            .field("machine_pool", &self.machine_pool)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

/// A node as Palette reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub name: Attr<String>,
    pub pool: Attr<String>,
    pub ip: Attr<String>,
    pub vm_path: Attr<String>,
    pub state: Attr<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterProfile {
    pub id: Attr<String>,
    pub variables: StringMap,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub pack: Vec<Pack>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub name: Attr<String>,
    pub values: Attr<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudConfig {
    pub datacenter: Attr<String>,
    pub folder: Attr<String>,
    pub image_template_folder: Attr<String>,
    pub ssh_keys: Strings,
    pub ntp_servers: Strings,
    pub static_ip: Attr<bool>,
    pub control_plane_endpoint: Attr<String>,
    pub network_search_domain: Attr<String>,
}

/// A machine pool. It has no set inside, so the derived equality is
/// Terraform's: its lists in order, its map by key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachinePool {
    pub name: Attr<String>,
    pub control_plane: Attr<bool>,
    pub control_plane_as_worker: Attr<bool>,
    pub count: Attr<i64>,
    pub cpu: Attr<i64>,
    pub memory_mb: Attr<i64>,
    pub disk_gb: Attr<i64>,
    pub labels: StringMap,
    pub update_strategy: Attr<String>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub taint: Vec<Taint>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub placement: Vec<Placement>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taint {
    pub key: Attr<String>,
    pub value: Attr<String>,
    pub effect: Attr<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    pub compute_cluster: Attr<String>,
    pub zone: Attr<String>,
    pub datastore: Attr<String>,
    pub network: Attr<String>,
    pub resource_pool: Attr<String>,
    pub ip_pool_id: Attr<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    pub create: Attr<String>,
    pub update: Attr<String>,
    pub delete: Attr<String>,
}

impl Model for ClusterModel {
    fn ty() -> Type {
        schemas::cluster::schema().ty()
    }
}

/// A value as the model; null (no prior state, a destroy's plan) as `None`.
pub fn decode(v: &Value) -> Result<Option<ClusterModel>, Diagnostics> {
    if v.is_null() {
        return Ok(None);
    }
    ClusterModel::from_value(v).map(Some).map_err(|e| {
        Diagnostic::error(
            "Unexpected cluster value",
            format!("The provider cannot read this value: {e}"),
        )
        .into()
    })
}

/// A value that must be there (a planned or prior state of an apply).
pub fn decode_some(v: &Value) -> Result<ClusterModel, Diagnostics> {
    decode(v)?.ok_or_else(|| {
        Diagnostic::error(
            "Unexpected cluster value",
            "The provider was given no cluster where one was expected.",
        )
        .into()
    })
}

impl ClusterModel {
    /// The one `cloud_config` block; all null when there is none.
    pub fn cc(&self) -> CloudConfig {
        self.cloud_config.first().cloned().unwrap_or_default()
    }

    /// Unset (state written before the attribute existed) means stored.
    pub fn stores_kubeconfig(&self) -> bool {
        self.store_kubeconfig.known() != Some(&false)
    }

    pub fn context(&self) -> String {
        self.context.as_str().unwrap_or("project").to_string()
    }

    /// The configured limit of an operation, or its default.
    pub fn timeout(&self, op: fn(&Timeouts) -> &Attr<String>, default: Duration) -> Duration {
        self.timeouts
            .as_ref()
            .and_then(|t| op(t).as_str())
            .and_then(|s| tfplugin::duration::parse(s).ok())
            .unwrap_or(default)
    }

    pub fn pools_by_name(&self) -> BTreeMap<String, &MachinePool> {
        self.machine_pool
            .iter()
            .filter_map(|p| p.name.as_str().map(|n| (n.to_string(), p)))
            .collect()
    }

    /// Labels (from the tags) and annotations (the description) of the
    /// cluster's metadata.
    pub fn metadata(&self) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let labels = tags_to_labels(&known_strings(&self.tags));
        let mut annotations = BTreeMap::new();
        if let Some(d) = self.description.get() {
            annotations.insert("description".to_string(), d);
        }
        (labels, annotations)
    }

    pub fn profiles_entity(&self) -> Vec<V1SpectroClusterProfileEntity> {
        self.cluster_profile.iter().map(Into::into).collect()
    }
}

// ---------------------------------------------------------------------------
// Collections as Terraform compares them

/// Whether two sets hold the same elements, in any order.
pub fn same_set<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter()
        .all(|x| match (0..b.len()).find(|&i| !used[i] && *x == b[i]) {
            Some(i) => {
                used[i] = true;
                true
            }
            None => false,
        })
}

/// [`same_set`] for a set attribute, which may also be null or unknown.
pub fn same_set_attr<T: PartialEq>(a: &Attr<Vec<T>>, b: &Attr<Vec<T>>) -> bool {
    match (a, b) {
        (Attr::Known(x), Attr::Known(y)) => same_set(x, y),
        _ => a == b,
    }
}

/// Profiles as Terraform compares them: in order, each one's packs as a set.
pub fn same_profiles(a: &[ClusterProfile], b: &[ClusterProfile]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.id == y.id && x.variables == y.variables && same_set(&x.pack, &y.pack))
}

/// An empty collection read from Palette stays null where the configuration
/// (prior state) left it out, so "not set" and "set to nothing" never diff.
pub fn list_or_null(items: Vec<String>, prior: &Strings) -> Strings {
    if items.is_empty() && prior.is_null() {
        Attr::Null
    } else {
        Attr::Known(items.into_iter().map(Attr::Known).collect())
    }
}

pub fn map_or_null(m: BTreeMap<String, String>, prior: &StringMap) -> StringMap {
    if m.is_empty() && prior.is_null() {
        Attr::Null
    } else {
        Attr::Known(m.into_iter().map(|(k, v)| (k, Attr::Known(v))).collect())
    }
}

/// A value kept from the prior state, or `default` where it had none.
fn kept<T: Clone>(prior: &Attr<T>, default: T) -> Attr<T> {
    match prior {
        Attr::Null => Attr::Known(default),
        v => v.clone(),
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
// Request bodies

impl Placement {
    fn entity(&self, static_ip: bool) -> V1VspherePlacementConfigEntity {
        V1VspherePlacementConfigEntity {
            cluster: self.compute_cluster.get(),
            datastore: self.datastore.get(),
            resource_pool: self.resource_pool.get(),
            network: Some(V1VsphereNetworkConfigEntity {
                network_name: self.network.get(),
                static_ip: Some(static_ip),
                parent_pool_uid: if static_ip {
                    self.ip_pool_id.get()
                } else {
                    None
                },
            }),
            ..Default::default()
        }
    }
}

impl MachinePool {
    pub fn entity(&self, static_ip: bool) -> V1VsphereMachinePoolConfigEntity {
        let cp = self.control_plane.is_true();
        let taints: Vec<V1Taint> = self
            .taint
            .iter()
            .map(|t| V1Taint {
                key: t.key.get(),
                value: t.value.get(),
                effect: t.effect.get(),
                time_added: None,
            })
            .collect();
        V1VsphereMachinePoolConfigEntity {
            pool_config: Some(V1MachinePoolConfigEntity {
                name: self.name.get(),
                is_control_plane: Some(cp),
                use_control_plane_as_worker: Some(cp && self.control_plane_as_worker.is_true()),
                size: self.count.get().map(|n| n as i32),
                labels: Some(vec![if cp { "control-plane" } else { "worker" }.to_string()]),
                additional_labels: Some(known_map(&self.labels)),
                taints: Some(taints),
                update_strategy: Some(V1UpdateStrategy {
                    r#type: self.update_strategy.get(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            cloud_config: Some(V1VsphereMachinePoolCloudConfigEntity {
                instance_type: Some(V1VsphereInstanceType {
                    num_cp_us: self.cpu.get().map(|n| n as i32),
                    memory_mi_b: self.memory_mb.get(),
                    disk_gi_b: self.disk_gb.get().map(|n| n as i32),
                }),
                placements: Some(
                    self.placement
                        .iter()
                        .map(|pl| pl.entity(static_ip))
                        .collect(),
                ),
            }),
        }
    }
}

impl From<&ClusterModel> for V1VsphereClusterConfigEntity {
    fn from(m: &ClusterModel) -> Self {
        let cc = m.cc();
        V1VsphereClusterConfigEntity {
            control_plane_endpoint: Some(V1ControlPlaneEndPoint {
                r#type: cc.control_plane_endpoint.get(),
                ddns_search_domain: cc.network_search_domain.get(),
                host: None,
            }),
            ntp_servers: Some(known_strings(&cc.ntp_servers)),
            ssh_keys: Some(known_strings(&cc.ssh_keys)),
            static_ip: Some(cc.static_ip.is_true()),
            placement: Some(V1VspherePlacementConfigEntity {
                datacenter: cc.datacenter.get(),
                folder: cc.folder.get(),
                image_template_folder: cc.image_template_folder.get(),
                ..Default::default()
            }),
        }
    }
}

impl From<&ClusterProfile> for V1SpectroClusterProfileEntity {
    fn from(p: &ClusterProfile) -> Self {
        V1SpectroClusterProfileEntity {
            uid: p.id.get(),
            pack_values: Some(
                p.pack
                    .iter()
                    .map(|k| V1PackValuesEntity {
                        name: k.name.get(),
                        values: k.values.get(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            variables: p.variables.known().map(|m| {
                m.iter()
                    .map(|(k, x)| V1SpectroClusterVariable {
                        name: Some(k.clone()),
                        value: x.get(),
                    })
                    .collect()
            }),
            replace_with_profile: None,
        }
    }
}

impl From<&ClusterModel> for V1SpectroVsphereClusterEntity {
    fn from(m: &ClusterModel) -> Self {
        let static_ip = m.cc().static_ip.is_true();
        let (labels, annotations) = m.metadata();
        V1SpectroVsphereClusterEntity {
            metadata: Some(V1ObjectMeta {
                name: m.name.get(),
                labels: Some(labels),
                annotations: Some(annotations),
                ..Default::default()
            }),
            spec: Some(V1SpectroVsphereClusterEntitySpec {
                cloud_account_uid: m.cloud_account_id.get(),
                cloud_config: Some(m.into()),
                machinepoolconfig: Some(
                    m.machine_pool.iter().map(|p| p.entity(static_ip)).collect(),
                ),
                profiles: Some(m.profiles_entity()),
                ..Default::default()
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// State from Palette (pure)

impl MachinePool {
    fn from_palette(m: &V1VsphereMachinePoolConfig, prior: Option<&MachinePool>) -> MachinePool {
        let it = m.instance_type.clone().unwrap_or_default();
        let placement = m
            .placements
            .clone()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let net = p.network.clone().unwrap_or_default();
                // Palette knows no zones: the prior's zone stays while it
                // names the cluster Palette places on.
                let zone = prior
                    .and_then(|pp| pp.placement.get(i))
                    .filter(|pl| pl.compute_cluster.known() == p.cluster.as_ref())
                    .map(|pl| pl.zone.clone())
                    .filter(Attr::is_known)
                    .unwrap_or(Attr::Null);
                Placement {
                    compute_cluster: p.cluster.into(),
                    zone,
                    datastore: p.datastore.into(),
                    network: net.network_name.into(),
                    resource_pool: p.resource_pool.unwrap_or_else(|| "Resources".into()).into(),
                    ip_pool_id: net
                        .parent_pool_ref
                        .and_then(|r| r.uid)
                        .filter(|_| net.static_ip == Some(true))
                        .into(),
                }
            })
            .collect();
        let taint = m
            .taints
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|t| Taint {
                key: t.key.into(),
                value: t.value.into(),
                effect: t.effect.into(),
            })
            .collect();
        MachinePool {
            name: m.name.clone().into(),
            control_plane: m.is_control_plane.unwrap_or(false).into(),
            control_plane_as_worker: m.use_control_plane_as_worker.unwrap_or(false).into(),
            count: (m.size.unwrap_or(0) as i64).into(),
            cpu: (it.num_cp_us.unwrap_or(0) as i64).into(),
            memory_mb: it.memory_mi_b.unwrap_or(0).into(),
            disk_gb: (it.disk_gi_b.unwrap_or(0) as i64).into(),
            labels: map_or_null(
                m.additional_labels.clone().unwrap_or_default(),
                prior.map_or(&Attr::Null, |p| &p.labels),
            ),
            update_strategy: m
                .update_strategy
                .clone()
                .and_then(|u| u.r#type)
                .unwrap_or_else(|| "RollingUpdateScaleOut".into())
                .into(),
            taint,
            placement,
        }
    }
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

fn nodes_of(remote: &Remote, datacenter: &str, folder: &str) -> Vec<Node> {
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
            out.push(Node {
                vm_path: format!("/{dc}/vm/{}/{name}", f.trim_matches('/')).into(),
                name: name.into(),
                pool: pool.as_str().into(),
                ip: ip.into(),
                state: node_state(m).into(),
            });
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

fn profiles_of(remote: &Remote, prior: &ClusterModel) -> Vec<ClusterProfile> {
    let templates = remote
        .cluster
        .spec
        .clone()
        .unwrap_or_default()
        .cluster_profile_templates
        .unwrap_or_default();
    let prior_profiles: BTreeMap<String, &ClusterProfile> = prior
        .cluster_profile
        .iter()
        .filter_map(|p| p.id.as_str().map(|id| (id.to_string(), p)))
        .collect();
    // The prior order, then any profile Palette has that state did not.
    let mut order: Vec<String> = prior_profiles.keys().cloned().collect();
    order.sort_by_key(|id| {
        prior
            .cluster_profile
            .iter()
            .position(|p| p.id.as_str() == Some(id))
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
        let mut pack = Vec::new();
        match prior_p {
            Some(pp) => {
                for k in &pp.pack {
                    let name = k.name.or_default();
                    let Some(now) = remote_packs.get(&name) else {
                        continue;
                    };
                    let before = k.values.or_default();
                    let values = if yaml_equal(&before, now) {
                        before
                    } else {
                        now.clone()
                    };
                    pack.push(Pack {
                        name: name.into(),
                        values: values.into(),
                    });
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
                        pack.push(Pack {
                            name: name.as_str().into(),
                            values: now.as_str().into(),
                        });
                    }
                }
            }
        }
        out.push(ClusterProfile {
            id: uid.into(),
            variables: prior_p.map_or(Attr::Null, |p| p.variables.clone()),
            pack,
        });
    }
    out
}

impl ClusterModel {
    /// The resource's state from what Palette says, keeping from `prior` what
    /// Palette does not hold (timeouts, force-delete settings, variables) and
    /// the user's spelling where Palette's means the same.
    pub fn from_remote(remote: &Remote, prior: &ClusterModel, context: &str) -> ClusterModel {
        let c: &V1SpectroCluster = &remote.cluster;
        let meta = c.metadata.clone().unwrap_or_default();
        let spec = remote.config.spec.clone().unwrap_or_default();
        let cfg = spec.cluster_config.clone().unwrap_or_default();
        let placement = cfg.placement.clone().unwrap_or_default();
        let endpoint = cfg.control_plane_endpoint.clone().unwrap_or_default();
        let prior_cc = prior.cc();
        let datacenter = placement.datacenter.clone().unwrap_or_default();
        let folder = placement.folder.clone().unwrap_or_default();
        let cloud_config = CloudConfig {
            datacenter: datacenter.as_str().into(),
            folder: folder.as_str().into(),
            image_template_folder: placement.image_template_folder.clone().into(),
            ssh_keys: list_or_null(cfg.ssh_keys.clone().unwrap_or_default(), &prior_cc.ssh_keys),
            ntp_servers: list_or_null(
                cfg.ntp_servers.clone().unwrap_or_default(),
                &prior_cc.ntp_servers,
            ),
            static_ip: cfg.static_ip.unwrap_or(false).into(),
            control_plane_endpoint: endpoint
                .r#type
                .clone()
                .unwrap_or_else(|| "VIP".into())
                .into(),
            network_search_domain: endpoint
                .ddns_search_domain
                .clone()
                .filter(|d| !d.is_empty())
                .into(),
        };
        let prior_pools = prior.pools_by_name();
        let mut machine_pool: Vec<MachinePool> = spec
            .machine_pool_config
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                MachinePool::from_palette(
                    m,
                    m.name.as_deref().and_then(|n| prior_pools.get(n).copied()),
                )
            })
            .collect();
        machine_pool.sort_by_key(|p| p.name.get());
        let labels = meta.labels.clone().unwrap_or_default();
        let description = meta
            .annotations
            .clone()
            .unwrap_or_default()
            .get("description")
            .cloned()
            .filter(|d| !d.is_empty());
        let tags = labels_to_tags(&labels);
        let tags = if tags.is_empty() && prior.tags.is_null() {
            Attr::Null
        } else {
            Attr::Known(tags.into_iter().map(Attr::Known).collect())
        };
        let account = spec
            .cloud_account_ref
            .clone()
            .and_then(|r| r.uid)
            .or_else(|| prior.cloud_account_id.get());
        ClusterModel {
            id: meta.uid.clone().into(),
            name: meta.name.clone().into(),
            description: description.into(),
            tags,
            context: context.into(),
            cloud_account_id: account.into(),
            force_delete: kept(&prior.force_delete, false),
            force_delete_delay: kept(
                &prior.force_delete_delay,
                schemas::cluster::DEFAULT_FORCE_DELETE_DELAY.to_string(),
            ),
            state: state_of(c).into(),
            health: health_of(remote).into(),
            cloud_config_id: c
                .spec
                .as_ref()
                .and_then(|s| s.cloud_config_ref.as_ref())
                .and_then(|r| r.uid.clone())
                .into(),
            kubeconfig: remote.kubeconfig.clone().into(),
            store_kubeconfig: kept(&prior.store_kubeconfig, true),
            nodes: nodes_of(remote, &datacenter, &folder).into(),
            cluster_profile: profiles_of(remote, prior),
            cloud_config: vec![cloud_config],
            machine_pool,
            timeouts: prior.timeouts.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::model::check_model;

    #[test]
    fn the_model_matches_the_schema() {
        check_model::<ClusterModel>(&schemas::cluster::schema().block).unwrap();
    }

    #[test]
    fn unknown_elements_survive_the_round_trip() {
        let mut v = tfplugin::model::sample(&schemas::cluster::schema().block, true);
        v.set_attr("tags", Value::Set(vec![Value::Unknown, Value::from("a")]));
        let m = ClusterModel::from_value(&v).unwrap();
        assert_eq!(known_strings(&m.tags), ["a"]);
        assert_eq!(m.to_value(), v);
    }

    #[test]
    fn sets_compare_in_any_order() {
        assert!(same_set(&[1, 2, 2], &[2, 1, 2]));
        assert!(!same_set(&[1, 1, 2], &[1, 2, 2]));
        assert!(same_set_attr::<i32>(&Attr::Null, &Attr::Null));
        assert!(!same_set_attr(&Attr::Null, &Attr::Known(Vec::<i32>::new())));
    }
}
