//! A VMware cluster as the lab stores it, and the lab's sticky cluster faults.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use palette_api::models::{
    V1ClusterCondition, V1MachinePoolConfigEntity, V1ObjectMeta, V1ObjectReference,
    V1SpectroCluster, V1SpectroClusterSpec, V1SpectroClusterStatus, V1SpectroClusterVariable,
    V1VsphereClusterConfigEntity,
};
use serde::{Deserialize, Serialize};

use super::Scope;

#[derive(Clone, Serialize, Deserialize)]
pub struct Cluster {
    pub uid: String,
    pub name: String,
    pub scope: Scope,
    pub created: String,
    pub modified: String,
    /// Tags, as the client sends them (`env:prod` -> `{"env": "prod"}`).
    pub labels: BTreeMap<String, String>,
    /// The client's annotations (`description`); the lab adds `scope` on read.
    pub annotations: BTreeMap<String, String>,
    pub account_uid: String,
    /// The account's gateway, whose IP pools the nodes take addresses from.
    pub gateway_uid: String,
    pub config_uid: String,
    pub profiles: Vec<ClusterProfile>,
    pub cloud_config: V1VsphereClusterConfigEntity,
    pub pools: Vec<MachinePool>,
    pub nodes: Vec<Node>,
    pub state: String,
    pub conditions: Vec<V1ClusterCondition>,
    /// When deletion started, in milliseconds since the Unix epoch: wall
    /// clock rather than `Instant` so that it means the same after a restart
    /// (force delete counts the time the lab was down, as Palette would).
    pub deleting_since: Option<u64>,
    /// Bumped by every change that needs VMs to follow, so that a stale
    /// background step knows it no longer applies.
    pub generation: u64,
    pub token: String,
    /// VM folders the lab created in vCenter for this cluster's nodes,
    /// outermost first. Deleting the cluster removes those that are empty
    /// by then, and no other: a folder that was there before is the user's.
    #[serde(default)]
    pub created_folders: Vec<String>,
    /// Held while VMs are made or destroyed, so two reconciliations of one
    /// cluster never race for the same VM name. Not saved: no task survives
    /// a restart to hold it.
    #[serde(skip)]
    pub busy: Arc<tokio::sync::Mutex<()>>,
}

/// Not derived: `token` is the cluster's kubeconfig credential.
impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("uid", &self.uid)
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("account_uid", &self.account_uid)
            .field("gateway_uid", &self.gateway_uid)
            .field("config_uid", &self.config_uid)
            .field("pools", &self.pools)
            .field("nodes", &self.nodes)
            .field("state", &self.state)
            .field("generation", &self.generation)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A cluster of another cloud (`spec.cloudType` other than `vsphere`), made
/// through `/lab/clusters` with a `cloud_type`. The lab only shows it (its
/// GET answers as Palette would for, say, an AWS cluster), so that tests can
/// check that the provider refuses to adopt or delete it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForeignCluster {
    pub uid: String,
    pub name: String,
    pub cloud_type: String,
}

impl ForeignCluster {
    pub(crate) fn to_api(&self) -> V1SpectroCluster {
        V1SpectroCluster {
            api_version: Some("v1".into()),
            kind: Some("SpectroCluster".into()),
            metadata: Some(V1ObjectMeta {
                name: Some(self.name.clone()),
                uid: Some(self.uid.clone()),
                ..Default::default()
            }),
            spec: Some(V1SpectroClusterSpec {
                cloud_type: Some(self.cloud_type.clone()),
                // Another cloud's config kind, as Palette names them
                // (`AwsCloudConfig`); no `/v1/cloudconfigs/vsphere` serves it.
                cloud_config_ref: Some(V1ObjectReference {
                    kind: Some(format!("{}CloudConfig", capitalized(&self.cloud_type))),
                    name: Some(self.name.clone()),
                    uid: Some(format!("{}-config", self.uid)),
                }),
                ..Default::default()
            }),
            status: Some(V1SpectroClusterStatus {
                state: Some("Running".into()),
                ..Default::default()
            }),
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterProfile {
    pub uid: String,
    /// Pack name -> values overriding the profile's.
    pub values: BTreeMap<String, String>,
    pub variables: Vec<V1SpectroClusterVariable>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MachinePool {
    pub uid: String,
    pub config: V1MachinePoolConfigEntity,
    pub instance: Instance,
    pub placements: Vec<NodePlacement>,
}

impl MachinePool {
    pub(crate) fn name(&self) -> &str {
        self.config.name.as_deref().unwrap_or_default()
    }
    pub(crate) fn size(&self) -> usize {
        self.config.size.unwrap_or(0).max(0) as usize
    }
    pub(crate) fn is_control_plane(&self) -> bool {
        self.config.is_control_plane.unwrap_or(false)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub cpus: i32,
    pub memory_mib: i64,
    pub disk_gib: i32,
}

/// Where a node goes, below the cluster's datacenter and folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePlacement {
    pub cluster: String,
    pub resource_pool: String,
    pub datastore: String,
    pub network: String,
    /// The gateway's IP pool for static addresses.
    pub ip_pool: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    pub uid: String,
    pub pool: String,
    pub index: usize,
    pub name: String,
    pub placement: NodePlacement,
    pub instance: Instance,
    pub ip: Option<IpAddr>,
    /// The VM's managed object id, once made.
    pub vm: Option<String>,
    /// Joined: the pool reached Running with this node in it.
    pub ready: bool,
    /// Being removed by a scale-down or a repave.
    pub deleting: bool,
}

pub(crate) fn visible(c: &Cluster, scope: &Scope) -> bool {
    &c.scope == scope
}

pub(crate) fn scope_name(scope: &Scope) -> &'static str {
    match scope {
        Scope::Tenant => "tenant",
        Scope::Project(_) => "project",
    }
}

// ---------------------------------------------------------------- faults

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterFaultKind {
    ProvisioningFails,
    DeletionHangs,
    /// A gateway's installer (matched by its Installer Name) is powered on
    /// but never phones home while the fault is on; it does once removed.
    RegistrationHangs,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFault {
    pub kind: ClusterFaultKind,
    /// The cluster it applies to; every cluster when unset. A gateway's
    /// own cluster answers to the gateway's name.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// `provisioning_fails` only: how many provisionings fail before the
    /// fault removes itself; sticky when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}
