//! VMware clusters (Palette's "spectroclusters") and their cloud configs:
//! create from a cluster profile, an account and machine pools; nodes as
//! VMs in vCenter; scale, heal, pack values, tags; delete and force delete.
//!
//! # Design notes
//!
//! **States** (`status.state`): `Pending` -> `Provisioning` -> `Running`;
//! `Failed` when provisioning cannot go on; `Deleting` -> `Deleted`. Scaling
//! and every other machine-pool change (create, update, delete of a pool)
//! move a cluster back to `Provisioning` until its VMs match, then `Running`:
//! a client that waits for `Running` after a change waits the same way as
//! after a create. Settings that change in place (cluster config, pack
//! values, metadata) leave the state alone. A `Failed` cluster is retried by
//! PUTting one of its pools again. `Deleted` is the moment the cluster
//! disappears: from then on GET is a 404 and the search does not list it
//! (its events stay readable).
//!
//! **Delays** (real-world figures, times `--time-scale`): `Pending` for 1
//! minute, then the VMs are made and the cluster is `Running` 9 minutes later
//! (10 in all); a pool change is `Running` 3 minutes after its VMs match;
//! deletion takes 5 minutes after the VMs are destroyed. `forceDelete=true`
//! is refused (400) until the cluster has been `Deleting` for 15 minutes;
//! then the cluster is removed at once and its VMs destroyed best effort.
//!
//! **VMs**: one per node, named `<cluster>-<pool>-<index>` (index from 0;
//! scale-down removes the highest indices), in the VM folder
//! `<datacenter>/vm/<cloudConfig.placement.folder>` (created as needed),
//! with the pool's CPUs and memory, powered on. Node `i` of a pool goes to
//! `placements[i % n]`. With `staticIp` each node takes the next free address
//! of its placement's IP pool (shown in the pool's allotted IPs and
//! associated clusters, released when the node goes); with DHCP none. The
//! VM's `extraConfig` carries `guestinfo.palette.cluster` (the cluster uid),
//! `guestinfo.palette.pool` and, with a static IP, `guestinfo.palette.ip`.
//! A node whose placement or instance type no longer matches its pool is
//! replaced (destroyed, then created again) by the next reconciliation, as a
//! repave would. An exhausted IP pool fails the cluster: event `Warning`
//! `IPPoolExhausted` naming the pool, a `Ready=False` condition; addresses
//! already allotted stay allotted until their nodes are deleted.
//!
//! **Drift**: nothing heals behind the client's back. The machines list
//! (`GET .../machinePools/{name}/machines`) asks vCenter for each node on
//! every call: `status.instanceState` is `Provisioning` (VM not made yet, or
//! made and the pool not yet Running), `Running`, `Deleting` (being removed
//! by a scale-down), or `Unknown` for a VM gone from vCenter or powered off;
//! then `status.health.state` is `Unhealthy` and its condition (type
//! `VirtualMachine`, status `False`) has reason `NotFound` or `PoweredOff`
//! (the spec's instance states have no word for either). `Running` nodes are
//! `Healthy`. PUTting the pool again heals: gone VMs are created again (same
//! name and address), powered-off ones powered on.
//!
//! **Scope**: a cluster lives in the scope it was created in (a project, or
//! the tenant without `ProjectUid`) and is a 404 from any other, cloud
//! config and machines included. Its account may be the project's or the
//! tenant's.
//!
//! **Errors**: spec problems are 400 `InvalidClusterSpec` naming the field
//! or the vCenter object with its inventory path; `validate` answers the
//! same 400s but does not check the name's uniqueness (a create's 409
//! `Conflict`, among clusters of the scope not yet Deleted); changes to a
//! Deleting cluster are 409. `PATCH .../profiles`: a pack named with values
//! takes them, named without values goes back to the profile's own;
//! `variables`, when given, replace the profile's; `replaceWithProfile`
//! swaps the profile (overrides of the old one dropped); a uid that is not
//! one of the cluster's profiles is a 400. `PATCH .../metadata`: labels and
//! annotations, when given, replace the old ones whole; the name cannot
//! change. The search filters on `clusterName`, `clusterState`,
//! `environment` (string conditions `eq`, `contains`, `beginsWith`, with
//! `ignoreCase`, `negation`, `match.conjunction`) and `isDeleted` (bool);
//! other properties are a 400. The kubeconfig is served (404 before) once a
//! control-plane VM exists; its server is the first control-plane node's
//! static address, else `controlPlaneEndpoint.host`, else 192.0.2.10; it
//! carries the cluster's CA as `certificate-authority-data` (as Palette's
//! do) and a per-cluster bearer token. A
//! cluster needs at least one profile; profiles and accounts are
//! looked up in the request's scope and the tenant's. The lab adds the
//! `scope` annotation (`project` or `tenant`) on read and ignores one sent.
//!
//! **Faults** (lab only): `POST /lab/cluster-faults` with
//! `{"kind": "provisioning_fails" | "deletion_hangs" | "registration_hangs", "cluster_name": "apps"}`
//! (without `cluster_name` it applies to every cluster; a gateway's name
//! makes `provisioning_fails` strike the gateway's provisioning; with
//! `"times": N` it strikes N provisionings, then removes itself) answers 201
//! `{"id": N}`; `GET /lab/cluster-faults` lists them as `[{"id", "fault"}]`,
//! `DELETE /lab/cluster-faults/{id}` removes one, `DELETE /lab/cluster-faults`
//! all.
//! They are sticky until removed. `provisioning_fails`: the next time the
//! cluster would make or change VMs it goes `Failed` with an `Error` event
//! `ProvisioningFailed`. `deletion_hangs`: a deletion stays `Deleting`
//! (VMs untouched) while the fault is on; removing the fault lets it finish,
//! and force delete works after the 15 minutes. `registration_hangs`
//! (named by the installer's gateway name): the installer VM never
//! registers while the fault is on, as when it cannot reach Palette.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{
    V1APIEndpoint, V1CloudAccountMeta, V1CloudConfigMeta, V1CloudMachineStatus, V1ClusterCondition,
    V1ClusterProfileTemplate, V1ClusterProfileTemplateMeta, V1ConstraintValidatorResponse,
    V1ConstraintValidatorResult, V1ListMetaData, V1MachineAddress, V1MachineHealth,
    V1MachineHealthCondition, V1MachinePoolConfigEntity, V1MachinePoolMeta, V1ObjectMeta,
    V1ObjectMetaInputEntitySchema, V1ObjectReference, V1PackRef, V1ProjectMeta, V1SearchFilterItem,
    V1SearchFilterSummarySpec, V1SpectroCluster, V1SpectroClusterHealthStatus,
    V1SpectroClusterProfileEntity, V1SpectroClusterProfileValidatorResponse,
    V1SpectroClusterProfiles, V1SpectroClusterSpec, V1SpectroClusterState, V1SpectroClusterStatus,
    V1SpectroClusterStatusEntity, V1SpectroClusterSummary, V1SpectroClusterSummarySpecSummary,
    V1SpectroClusterSummaryStatus, V1SpectroClusterValidatorResponse, V1SpectroClusterVariable,
    V1SpectroClustersSummary, V1SpectroVsphereClusterEntity, V1Uid, V1VsphereCloudAccount,
    V1VsphereCloudClusterConfigEntity, V1VsphereCloudConfig, V1VsphereCloudConfigSpec,
    V1VsphereCloudConfigStatus, V1VsphereClusterConfig, V1VsphereClusterConfigEntity,
    V1VsphereInstanceType, V1VsphereMachine, V1VsphereMachinePoolConfig,
    V1VsphereMachinePoolConfigEntity, V1VsphereMachineSpec, V1VsphereMachines,
    V1VsphereNetworkConfig, V1VsphereNic, V1VspherePlacementConfig,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ids;
use crate::state::{Lab, Scope, Store};

/// The object kind of cluster events (`/v1/events/components/spectrocluster/{uid}`).
pub const KIND: &str = "spectrocluster";
/// The extraConfig key naming the cluster a node VM was made for.
const MARKER: &str = "guestinfo.palette.cluster";

pub const PENDING_DELAY: Duration = Duration::from_secs(60);
/// From VMs made to Running on create: 10 minutes in all with Pending.
pub const PROVISIONING_DELAY: Duration = Duration::from_secs(9 * 60);
pub const UPDATE_DELAY: Duration = Duration::from_secs(3 * 60);
pub const DELETION_DELAY: Duration = Duration::from_secs(5 * 60);
pub const FORCE_DELETE_AFTER: Duration = Duration::from_secs(15 * 60);

const NAME_MAX: usize = 32;
/// A kubeconfig server for DHCP clusters without an endpoint host: TEST-NET-1
/// (RFC 5737), an address that never reaches anyone's real API server.
const PLACEHOLDER_ENDPOINT: &str = "192.0.2.10";

// ---------------------------------------------------------------- the model

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
    fn to_api(&self) -> V1SpectroCluster {
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
    fn name(&self) -> &str {
        self.config.name.as_deref().unwrap_or_default()
    }
    fn size(&self) -> usize {
        self.config.size.unwrap_or(0).max(0) as usize
    }
    fn is_control_plane(&self) -> bool {
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

fn visible(c: &Cluster, scope: &Scope) -> bool {
    &c.scope == scope
}

fn scope_name(scope: &Scope) -> &'static str {
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

pub fn fault_on(store: &Store, kind: ClusterFaultKind, cluster: &str) -> bool {
    store
        .cluster_faults
        .iter()
        .any(|(_, f)| f.kind == kind && f.cluster_name.as_deref().is_none_or(|n| n == cluster))
}

/// Whether a fault strikes now, counting it down (and removing it at
/// zero) when it was given a number of times.
pub fn take_fault(store: &mut Store, kind: ClusterFaultKind, cluster: &str) -> bool {
    let Some(i) = store.cluster_faults.iter().position(|(_, f)| {
        f.kind == kind && f.cluster_name.as_deref().is_none_or(|n| n == cluster)
    }) else {
        return false;
    };
    if let Some(t) = &mut store.cluster_faults[i].1.times {
        *t = t.saturating_sub(1);
        if *t == 0 {
            store.cluster_faults.remove(i);
        }
    }
    true
}

pub async fn admin_add_fault(State(lab): State<Lab>, Json(f): Json<ClusterFault>) -> Response {
    let mut store = lab.store();
    store.next_cluster_fault += 1;
    let id = store.next_cluster_fault;
    store.cluster_faults.push((id, f));
    (StatusCode::CREATED, Json(serde_json::json!({"id": id}))).into_response()
}

pub async fn admin_list_faults(State(lab): State<Lab>) -> Response {
    let store = lab.store();
    let list: Vec<_> = store
        .cluster_faults
        .iter()
        .map(|(id, f)| serde_json::json!({"id": id, "fault": f}))
        .collect();
    Json(list).into_response()
}

pub async fn admin_clear_faults(State(lab): State<Lab>) -> StatusCode {
    lab.store().cluster_faults.clear();
    StatusCode::NO_CONTENT
}

pub async fn admin_remove_fault(State(lab): State<Lab>, Path(id): Path<u64>) -> Response {
    let mut store = lab.store();
    let before = store.cluster_faults.len();
    store.cluster_faults.retain(|(i, _)| *i != id);
    if store.cluster_faults.len() == before {
        return ApiError::not_found("cluster fault", &id.to_string()).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------- checks

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "InvalidClusterSpec", message)
}

/// A lowercase RFC 1123 label: what Kubernetes and vCenter both accept.
fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn check_cluster_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.unwrap_or_default();
    if name.is_empty() {
        return Err(invalid("metadata.name is required"));
    }
    if !is_dns_label(name, NAME_MAX) {
        return Err(invalid(format!(
            "metadata.name {name:?} is not valid: a cluster name is at most {NAME_MAX} lowercase \
             letters, digits and '-', starting and ending with a letter or digit"
        )));
    }
    Ok(name.to_string())
}

/// What a request's pool is checked against: the gateway's IP pools.
struct PoolContext<'a> {
    static_ip: bool,
    gateway_name: &'a str,
    ip_pools: &'a [(String, String)],
}

/// One machine pool, checked on its own (the cluster-wide rules are in
/// [`check_pools`]); `at` names it in messages.
fn check_pool(
    e: &V1VsphereMachinePoolConfigEntity,
    at: &str,
    ctx: &PoolContext<'_>,
) -> Result<MachinePool, ApiError> {
    let config = e
        .pool_config
        .clone()
        .ok_or_else(|| invalid(format!("{at}.poolConfig is required")))?;
    let name = config.name.clone().unwrap_or_default();
    if !is_dns_label(&name, 63) {
        return Err(invalid(format!(
            "{at}.poolConfig.name {name:?} is not valid: lowercase letters, digits and '-', \
             starting and ending with a letter or digit"
        )));
    }
    let at = format!("machine pool '{name}'");
    let cp = config.is_control_plane.unwrap_or(false);
    let size = config.size.unwrap_or(0);
    if cp && ![1, 3, 5].contains(&size) {
        return Err(invalid(format!(
            "{at}: a control plane has 1, 3 or 5 nodes, not {size}"
        )));
    }
    if size < 0 {
        return Err(invalid(format!("{at}: size {size} is negative")));
    }
    let cloud = e.cloud_config.clone().unwrap_or_default();
    let it = cloud
        .instance_type
        .ok_or_else(|| invalid(format!("{at}: cloudConfig.instanceType is required")))?;
    let instance = Instance {
        cpus: it.num_cp_us.unwrap_or(0),
        memory_mib: it.memory_mi_b.unwrap_or(0),
        disk_gib: it.disk_gi_b.unwrap_or(0),
    };
    if instance.cpus < 1 || instance.memory_mib < 1 || instance.disk_gib < 1 {
        return Err(invalid(format!(
            "{at}: cloudConfig.instanceType needs numCPUs, memoryMiB and diskGiB above 0"
        )));
    }
    let placements = cloud.placements.unwrap_or_default();
    if placements.is_empty() {
        return Err(invalid(format!(
            "{at}: cloudConfig.placements needs at least one placement"
        )));
    }
    if cp && placements.len() != 1 {
        return Err(invalid(format!(
            "{at}: the control plane has exactly one placement, not {}",
            placements.len()
        )));
    }
    let mut out = Vec::new();
    for (j, p) in placements.into_iter().enumerate() {
        let here = format!("{at} placements[{j}]");
        let need = |v: Option<String>, f: &str| {
            v.filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(format!("{here}: {f} is required")))
        };
        let network = p.network.clone().unwrap_or_default();
        let pool = network.parent_pool_uid.clone().filter(|s| !s.is_empty());
        let ip_pool = match (ctx.static_ip, pool) {
            (true, None) => {
                return Err(invalid(format!(
                    "{here}: staticIp needs network.parentPoolUid, an IP pool of gateway '{}'",
                    ctx.gateway_name
                )))
            }
            (true, Some(p)) => {
                if !ctx.ip_pools.iter().any(|(uid, _)| uid == &p) {
                    let names: Vec<&str> = ctx.ip_pools.iter().map(|(_, n)| n.as_str()).collect();
                    return Err(invalid(format!(
                        "{here}: network.parentPoolUid '{p}' is not an IP pool of gateway '{}' \
                         (its pools: {})",
                        ctx.gateway_name,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    )));
                }
                Some(p)
            }
            (false, Some(p)) => {
                return Err(invalid(format!(
                    "{here}: network.parentPoolUid '{p}' is set but the cluster uses DHCP \
                     (cloudConfig.staticIp is false)"
                )))
            }
            (false, None) => None,
        };
        out.push(NodePlacement {
            cluster: need(p.cluster, "cluster")?,
            resource_pool: p.resource_pool.unwrap_or_default(),
            datastore: need(p.datastore, "datastore")?,
            network: need(network.network_name, "network.networkName")?,
            ip_pool,
        });
    }
    Ok(MachinePool {
        uid: ids::new_uid(),
        config,
        instance,
        placements: out,
    })
}

/// The rules across pools: exactly one control plane, unique names.
fn check_pools(pools: &[MachinePool]) -> Result<(), ApiError> {
    let cps: Vec<&str> = pools
        .iter()
        .filter(|p| p.is_control_plane())
        .map(|p| p.name())
        .collect();
    if cps.len() != 1 {
        return Err(invalid(format!(
            "a cluster has exactly one control-plane pool (isControlPlane), not {}{}",
            cps.len(),
            if cps.is_empty() {
                String::new()
            } else {
                format!(": {}", cps.join(", "))
            }
        )));
    }
    let mut seen = BTreeSet::new();
    for p in pools {
        if !seen.insert(p.name()) {
            return Err(invalid(format!(
                "machine pool name '{}' is used twice",
                p.name()
            )));
        }
    }
    Ok(())
}

/// Finds every placement in vCenter with the account's credentials; the
/// first missing object is named with its inventory path.
async fn check_vcenter(
    account_name: &str,
    account: &V1VsphereCloudAccount,
    datacenter: &str,
    pools: &[&MachinePool],
) -> Result<(), ApiError> {
    let s = crate::accounts::login(account).await.map_err(|e| {
        invalid(format!(
            "cloud account '{account_name}' cannot reach vCenter to check the placements: {e}"
        ))
    })?;
    let result = async {
        s.find("datacenter", datacenter)
            .await
            .map_err(|e| invalid(format!("cloudConfig.placement.datacenter: {e}")))?;
        for pool in pools {
            for (j, p) in pool.placements.iter().enumerate() {
                s.locate(&vm_placement(datacenter, "", p))
                    .await
                    .map_err(|e| {
                        invalid(format!(
                            "machine pool '{}' placements[{j}]: {e}",
                            pool.name()
                        ))
                    })?;
            }
        }
        Ok(())
    }
    .await;
    let _ = s.logout().await;
    result
}

fn vm_placement(datacenter: &str, folder: &str, p: &NodePlacement) -> vsphere::vm::Placement {
    vsphere::vm::Placement {
        datacenter: datacenter.to_string(),
        compute_cluster: p.cluster.clone(),
        datastore: p.datastore.clone(),
        network: p.network.clone(),
        resource_pool: p.resource_pool.clone(),
        folder: folder.to_string(),
    }
}

/// A create (or validate) request, checked.
struct Checked {
    name: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    account_uid: String,
    account_name: String,
    account: V1VsphereCloudAccount,
    gateway_uid: String,
    profiles: Vec<ClusterProfile>,
    cloud_config: V1VsphereClusterConfigEntity,
    pools: Vec<MachinePool>,
}

/// The gateway's IP pools as (uid, name), and its name.
fn gateway_pools(store: &Store, gateway_uid: &str) -> (String, Vec<(String, String)>) {
    store
        .gateways
        .iter()
        .find(|g| g.uid == gateway_uid)
        .map(|g| {
            (
                g.name.clone(),
                g.pools
                    .iter()
                    .map(|p| (p.uid.clone(), p.name.clone()))
                    .collect(),
            )
        })
        .unwrap_or_default()
}

fn check_profiles(
    store: &Store,
    scope: &Scope,
    list: &[V1SpectroClusterProfileEntity],
) -> Result<Vec<ClusterProfile>, ApiError> {
    if list.is_empty() {
        return Err(invalid(
            "spec.profiles needs at least one cluster profile (the infrastructure profile)",
        ));
    }
    let mut out: Vec<ClusterProfile> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let uid = e.uid.clone().unwrap_or_default();
        let p = store
            .profiles
            .iter()
            .find(|p| p.uid == uid && (p.scope == Scope::Tenant || &p.scope == scope))
            .ok_or_else(|| {
                invalid(format!(
                    "spec.profiles[{i}]: cluster profile '{uid}' not found"
                ))
            })?;
        if out.iter().any(|o| o.uid == uid) {
            return Err(invalid(format!(
                "spec.profiles[{i}]: cluster profile '{uid}' is given twice"
            )));
        }
        out.push(ClusterProfile {
            uid,
            values: pack_values(p, e)?,
            variables: e.variables.clone().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The pack values an entry overrides; every pack must be the profile's.
fn pack_values(
    p: &crate::profiles::Profile,
    e: &V1SpectroClusterProfileEntity,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for v in e.pack_values.clone().unwrap_or_default() {
        let name = v.name.clone().unwrap_or_default();
        if !p.packs.iter().any(|k| k.name.as_deref() == Some(&name)) {
            let packs: Vec<&str> = p.packs.iter().filter_map(|k| k.name.as_deref()).collect();
            return Err(invalid(format!(
                "pack '{name}' is not in cluster profile '{}' {} (its packs: {})",
                p.name,
                p.version,
                packs.join(", ")
            )));
        }
        if let Some(values) = v.values {
            out.insert(name, values);
        }
    }
    Ok(out)
}

fn check_endpoint(cfg: &V1VsphereClusterConfigEntity) -> Result<(), ApiError> {
    if let Some(t) = cfg
        .control_plane_endpoint
        .as_ref()
        .and_then(|e| e.r#type.as_deref())
    {
        if t != "VIP" && t != "DDNS" {
            return Err(invalid(format!(
                "cloudConfig.controlPlaneEndpoint.type {t:?} is not supported on vSphere: use VIP or DDNS"
            )));
        }
    }
    Ok(())
}

/// Everything but vCenter, under the store's lock.
fn check_request(
    store: &Store,
    scope: &Scope,
    body: &V1SpectroVsphereClusterEntity,
) -> Result<Checked, ApiError> {
    let meta = body.metadata.clone().unwrap_or_default();
    let name = check_cluster_name(meta.name.as_deref())?;
    let spec = body
        .spec
        .clone()
        .ok_or_else(|| invalid("spec is required"))?;
    let account_uid = spec.cloud_account_uid.clone().unwrap_or_default();
    let account = store
        .accounts
        .iter()
        .find(|a| a.uid == account_uid && (a.scope == Scope::Tenant || &a.scope == scope))
        .ok_or_else(|| {
            invalid(format!(
                "spec.cloudAccountUid: cloud account '{account_uid}' not found in this scope"
            ))
        })?;
    match store.gateways.iter().find(|g| g.uid == account.gateway_uid) {
        None => {
            return Err(invalid(format!(
                "cloud account '{}': its private cloud gateway '{}' no longer exists",
                account.name, account.gateway_uid
            )))
        }
        Some(g) if g.state != "Running" => {
            return Err(invalid(format!(
                "cloud account '{}': its private cloud gateway '{}' is {}, not Running",
                account.name, g.name, g.state
            )))
        }
        Some(_) => {}
    }
    let profiles = check_profiles(store, scope, &spec.profiles.clone().unwrap_or_default())?;
    let cloud_config = spec
        .cloud_config
        .clone()
        .ok_or_else(|| invalid("spec.cloudConfig is required"))?;
    let datacenter = cloud_config
        .placement
        .as_ref()
        .and_then(|p| p.datacenter.clone())
        .unwrap_or_default();
    if datacenter.is_empty() {
        return Err(invalid("spec.cloudConfig.placement.datacenter is required"));
    }
    check_endpoint(&cloud_config)?;
    let (gateway_name, ip_pools) = gateway_pools(store, &account.gateway_uid);
    let ctx = PoolContext {
        static_ip: cloud_config.static_ip.unwrap_or(false),
        gateway_name: &gateway_name,
        ip_pools: &ip_pools,
    };
    let pools = spec
        .machinepoolconfig
        .clone()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, e)| check_pool(e, &format!("spec.machinepoolconfig[{i}]"), &ctx))
        .collect::<Result<Vec<_>, _>>()?;
    check_pools(&pools)?;
    let mut annotations = meta.annotations.unwrap_or_default();
    annotations.remove("scope");
    Ok(Checked {
        name,
        labels: meta.labels.unwrap_or_default(),
        annotations,
        account_uid,
        account_name: account.name.clone(),
        account: account.spec.clone(),
        gateway_uid: account.gateway_uid.clone(),
        profiles,
        cloud_config,
        pools,
    })
}

async fn checked(
    lab: &Lab,
    scope: &Scope,
    body: &V1SpectroVsphereClusterEntity,
) -> Result<Checked, ApiError> {
    let c = check_request(&lab.store(), scope, body)?;
    let pools: Vec<&MachinePool> = c.pools.iter().collect();
    check_vcenter(
        &c.account_name,
        &c.account,
        &datacenter_of(&c.cloud_config),
        &pools,
    )
    .await?;
    Ok(c)
}

fn datacenter_of(cfg: &V1VsphereClusterConfigEntity) -> String {
    cfg.placement
        .as_ref()
        .and_then(|p| p.datacenter.clone())
        .unwrap_or_default()
}

fn folder_of(cfg: &V1VsphereClusterConfigEntity) -> String {
    cfg.placement
        .as_ref()
        .and_then(|p| p.folder.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- create, validate

/// `POST /v1/spectroclusters/vsphere`.
pub async fn create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Json(body): Json<V1SpectroVsphereClusterEntity>,
) -> Response {
    let c = match checked(&lab, &scope, &body).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let uid = ids::new_uid();
    {
        let mut store = lab.store();
        if let Some(other) = store
            .clusters
            .iter()
            .find(|o| o.name == c.name && o.scope == scope)
        {
            return ApiError::conflict(format!(
                "a cluster named '{}' already exists in this {} ({})",
                c.name,
                scope_name(&scope),
                other.state
            ))
            .into_response();
        }
        let now = lab.clock.now();
        store.clusters.push(Cluster {
            uid: uid.clone(),
            name: c.name.clone(),
            scope: scope.clone(),
            created: now.clone(),
            modified: now,
            labels: c.labels,
            annotations: c.annotations,
            account_uid: c.account_uid,
            gateway_uid: c.gateway_uid,
            config_uid: ids::new_uid(),
            profiles: c.profiles,
            cloud_config: c.cloud_config,
            pools: c.pools,
            nodes: Vec::new(),
            state: "Pending".into(),
            conditions: Vec::new(),
            deleting_since: None,
            generation: 1,
            token: ids::new_api_key(),
            busy: Arc::new(tokio::sync::Mutex::new(())),
        });
        store.event(
            KIND,
            &uid,
            &c.name,
            "Normal",
            "Created",
            format!(
                "cluster '{}' created on cloud account '{}'",
                c.name, c.account_name
            ),
        );
    }
    spawn_lifecycle(lab, uid.clone(), 1, Phase::Create);
    (StatusCode::CREATED, Json(V1Uid { uid: Some(uid) })).into_response()
}

/// `POST /v1/spectroclusters/vsphere/validate`: the create's checks, nothing
/// made. The name's uniqueness is the create's business, not the spec's.
pub async fn validate(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Json(body): Json<V1SpectroVsphereClusterEntity>,
) -> Response {
    let c = match checked(&lab, &scope, &body).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let store = lab.store();
    let result = |name: &str| V1ConstraintValidatorResult {
        display_name: Some(name.to_string()),
        errors: Some(Vec::new()),
        name: Some(name.to_string()),
    };
    Json(V1SpectroClusterValidatorResponse {
        machine_pools: Some(V1ConstraintValidatorResponse {
            results: Some(c.pools.iter().map(|p| result(p.name())).collect()),
        }),
        profiles: Some(
            c.profiles
                .iter()
                .map(|cp| V1SpectroClusterProfileValidatorResponse {
                    uid: Some(cp.uid.clone()),
                    packs: Some(V1ConstraintValidatorResponse {
                        results: Some(
                            store
                                .profiles
                                .iter()
                                .find(|p| p.uid == cp.uid)
                                .map(|p| {
                                    p.packs
                                        .iter()
                                        .filter_map(|k| k.name.as_deref())
                                        .map(result)
                                        .collect()
                                })
                                .unwrap_or_default(),
                        ),
                    }),
                })
                .collect(),
        ),
    })
    .into_response()
}

// ---------------------------------------------------------------- the lifecycle

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Create,
    Update,
}

/// Why provisioning stopped: an event reason and message.
struct Failure {
    reason: &'static str,
    message: String,
}

fn fail(lab: &Lab, uid: &str, generation: u64, f: Failure) {
    let mut store = lab.store();
    let Some(c) = store
        .clusters
        .iter_mut()
        .find(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
    else {
        return;
    };
    c.state = "Failed".into();
    c.conditions = vec![V1ClusterCondition {
        r#type: Some("Ready".into()),
        status: Some("False".into()),
        reason: Some(f.reason.into()),
        message: Some(f.message.clone()),
        last_transition_time: Some(lab.clock.now()),
        ..Default::default()
    }];
    let name = c.name.clone();
    let severity = if f.reason == "IPPoolExhausted" {
        "Warning"
    } else {
        "Error"
    };
    store.event(KIND, uid, &name, severity, f.reason, f.message);
}

/// Whether `generation` is still the cluster's latest change.
fn current(lab: &Lab, uid: &str, generation: u64) -> bool {
    lab.store()
        .clusters
        .iter()
        .any(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
}

/// Create: Pending, then VMs, then Running. Update: VMs, then Running.
fn spawn_lifecycle(lab: Lab, uid: String, generation: u64, phase: Phase) {
    spawn_lifecycle_from(lab, uid, generation, phase, phase == Phase::Create);
}

/// The lifecycle, with or without its Pending wait: a create resumed after
/// a restart in Provisioning is past it.
fn spawn_lifecycle_from(lab: Lab, uid: String, generation: u64, phase: Phase, pending: bool) {
    lab.clone().spawn(async move {
        if pending {
            tokio::time::sleep(lab.scaled(PENDING_DELAY)).await;
            let mut store = lab.store();
            let Some(c) = store
                .clusters
                .iter_mut()
                .find(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
            else {
                return;
            };
            c.state = "Provisioning".into();
            let name = c.name.clone();
            store.event(
                KIND,
                &uid,
                &name,
                "Normal",
                "Provisioning",
                "provisioning the cluster's nodes",
            );
        }
        let Some(busy) = lab
            .store()
            .clusters
            .iter()
            .find(|c| c.uid == uid)
            .map(|c| c.busy.clone())
        else {
            return;
        };
        {
            let _held = busy.lock().await;
            if !current(&lab, &uid, generation) {
                return;
            }
            let faulty = {
                let mut store = lab.store();
                let name = store
                    .clusters
                    .iter()
                    .find(|c| c.uid == uid)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                take_fault(&mut store, ClusterFaultKind::ProvisioningFails, &name)
            };
            if faulty {
                return fail(
                    &lab,
                    &uid,
                    generation,
                    Failure {
                        reason: "ProvisioningFailed",
                        message: "provisioning failed (palette-lab fault provisioning_fails)"
                            .into(),
                    },
                );
            }
            if let Err(f) = reconcile(&lab, &uid, generation).await {
                return fail(&lab, &uid, generation, f);
            }
        }
        let delay = match phase {
            Phase::Create => PROVISIONING_DELAY,
            Phase::Update => UPDATE_DELAY,
        };
        tokio::time::sleep(lab.scaled(delay)).await;
        let mut store = lab.store();
        let Some(c) = store
            .clusters
            .iter_mut()
            .find(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
        else {
            return;
        };
        c.state = "Running".into();
        c.conditions = vec![V1ClusterCondition {
            r#type: Some("Ready".into()),
            status: Some("True".into()),
            last_transition_time: Some(lab.clock.now()),
            ..Default::default()
        }];
        for n in &mut c.nodes {
            n.ready = true;
        }
        let name = c.name.clone();
        store.event(
            KIND,
            &uid,
            &name,
            "Normal",
            "Running",
            "cluster is Running and healthy",
        );
    });
}

/// What reconciliation needs, copied out of the store.
struct Snapshot {
    name: String,
    account: V1VsphereCloudAccount,
    datacenter: String,
    folder: String,
    pools: Vec<MachinePool>,
    nodes: Vec<Node>,
}

fn snapshot(lab: &Lab, uid: &str) -> Option<Snapshot> {
    let store = lab.store();
    let c = store.clusters.iter().find(|c| c.uid == uid)?;
    let account = store
        .accounts
        .iter()
        .find(|a| a.uid == c.account_uid)?
        .spec
        .clone();
    Some(Snapshot {
        name: c.name.clone(),
        account,
        datacenter: datacenter_of(&c.cloud_config),
        folder: folder_of(&c.cloud_config),
        pools: c.pools.clone(),
        nodes: c.nodes.clone(),
    })
}

/// The placement node `index` of `pool` should have, if the node should exist.
fn desired(pools: &[MachinePool], pool: &str, index: usize) -> Option<(NodePlacement, Instance)> {
    let p = pools.iter().find(|p| p.name() == pool)?;
    (index < p.size()).then(|| {
        (
            p.placements[index % p.placements.len()].clone(),
            p.instance.clone(),
        )
    })
}

/// Brings vCenter to the cluster's pools: extra or outdated nodes go,
/// missing VMs come, powered-off ones are powered on.
async fn reconcile(lab: &Lab, uid: &str, generation: u64) -> Result<(), Failure> {
    let Some(snap) = snapshot(lab, uid) else {
        return Ok(());
    };
    let session = crate::accounts::login(&snap.account)
        .await
        .map_err(|e| Failure {
            reason: "ProvisioningFailed",
            message: format!("cannot log in to vCenter: {e}"),
        })?;
    let result = reconcile_in(lab, uid, generation, &snap, &session).await;
    let _ = session.logout().await;
    result
}

async fn reconcile_in(
    lab: &Lab,
    uid: &str,
    generation: u64,
    snap: &Snapshot,
    s: &vsphere::Session,
) -> Result<(), Failure> {
    // Nodes that should not be there, or not like this: highest index first.
    let mut doomed: Vec<&Node> = snap
        .nodes
        .iter()
        .filter(|n| {
            desired(&snap.pools, &n.pool, n.index)
                .is_none_or(|(p, i)| p != n.placement || i != n.instance)
        })
        .collect();
    doomed.sort_by_key(|n| std::cmp::Reverse(n.index));
    for n in doomed {
        if !current(lab, uid, generation) {
            return Ok(());
        }
        mark_deleting(lab, uid, &n.uid);
        if let Some(vm) = &n.vm {
            if let Err(e) = crate::persist::destroy_vm_of(s, vm, MARKER, uid).await {
                return Err(Failure {
                    reason: "VmDeleteFailed",
                    message: format!("cannot delete VM {}: {e}", n.name),
                });
            }
        }
        let mut store = lab.store();
        forget_node(&mut store, uid, &n.uid);
        store.event(
            KIND,
            uid,
            &snap.name,
            "Normal",
            "NodeDeleted",
            format!("node {} deleted", n.name),
        );
    }
    // Nodes that stay: their VMs must exist and run.
    let mut resolved: BTreeMap<String, vsphere::vm::Resolved> = BTreeMap::new();
    for pool in &snap.pools {
        for index in 0..pool.size() {
            if !current(lab, uid, generation) {
                return Ok(());
            }
            let (placement, instance) = desired(&snap.pools, pool.name(), index).expect("in range");
            let existing = lab
                .store()
                .clusters
                .iter()
                .find(|c| c.uid == uid)
                .and_then(|c| {
                    c.nodes
                        .iter()
                        .find(|n| n.pool == pool.name() && n.index == index)
                        .cloned()
                });
            let unrecorded = existing.as_ref().is_some_and(|n| n.vm.is_none());
            let node = match existing {
                Some(n) => {
                    if let Some(vm) = &n.vm {
                        match crate::persist::vm_info_of(s, vm, MARKER, uid).await {
                            Ok(info) => {
                                if !info.powered_on {
                                    s.power_on(vm).await.map_err(|e| Failure {
                                        reason: "VmPowerOnFailed",
                                        message: format!("cannot power on {}: {e}", n.name),
                                    })?;
                                    lab.store().event(
                                        KIND,
                                        uid,
                                        &snap.name,
                                        "Normal",
                                        "NodePoweredOn",
                                        format!("node {} was powered off; powered it on", n.name),
                                    );
                                }
                                continue;
                            }
                            Err(e) if e.is_not_found() => {
                                lab.store().event(
                                    KIND,
                                    uid,
                                    &snap.name,
                                    "Warning",
                                    "NodeMissing",
                                    format!(
                                        "VM of node {} is gone from vCenter; creating it again",
                                        n.name
                                    ),
                                );
                            }
                            Err(e) => {
                                return Err(Failure {
                                    reason: "ProvisioningFailed",
                                    message: format!("cannot read VM of node {}: {e}", n.name),
                                })
                            }
                        }
                    }
                    n
                }
                None => new_node(
                    lab,
                    uid,
                    &snap.name,
                    pool.name(),
                    index,
                    placement,
                    instance,
                )?,
            };
            let key = format!("{:?}", node.placement);
            if !resolved.contains_key(&key) {
                let at = s
                    .resolve(&vm_placement(
                        &snap.datacenter,
                        &snap.folder,
                        &node.placement,
                    ))
                    .await
                    .map_err(|e| Failure {
                        reason: "PlacementInvalid",
                        message: format!("machine pool '{}': {e}", pool.name()),
                    })?;
                resolved.insert(key.clone(), at);
            }
            let at = &resolved[&key];
            if unrecorded {
                // Made just before the lab stopped, not yet recorded: the
                // same name cannot be made twice, and it is this node's.
                let path = format!("{}/{}", at.folder_path, node.name);
                if let Some(info) = crate::persist::unrecorded_vm(s, &path, MARKER, uid).await {
                    s.power_on(&info.moref).await.map_err(|e| Failure {
                        reason: "VmPowerOnFailed",
                        message: format!("cannot power on {}: {e}", node.name),
                    })?;
                    if let Some(n) = lab
                        .store()
                        .clusters
                        .iter_mut()
                        .find(|c| c.uid == uid)
                        .and_then(|c| c.nodes.iter_mut().find(|n| n.uid == node.uid))
                    {
                        n.vm = Some(info.moref.clone());
                    }
                    lab.store().event(
                        KIND,
                        uid,
                        &snap.name,
                        "Normal",
                        "NodeCreated",
                        format!("VM {path}, made before palette-lab restarted, kept as the node"),
                    );
                    continue;
                }
            }
            let mut extra = BTreeMap::new();
            extra.insert("guestinfo.palette.cluster".to_string(), uid.to_string());
            extra.insert("guestinfo.palette.pool".to_string(), node.pool.clone());
            if let Some(ip) = node.ip {
                extra.insert("guestinfo.palette.ip".to_string(), ip.to_string());
            }
            let spec = vsphere::vm::VmSpec {
                name: node.name.clone(),
                cpus: node.instance.cpus,
                memory_mb: node.instance.memory_mib,
                annotation: Some(format!(
                    "Palette cluster {} ({uid}), machine pool {}, disk {} GiB",
                    snap.name, node.pool, node.instance.disk_gib
                )),
                extra_config: extra,
            };
            let vm = s.create_vm(&spec, at).await.map_err(|e| Failure {
                reason: "VmCreateFailed",
                message: format!("cannot create VM {}: {e}", node.name),
            })?;
            s.power_on(&vm).await.map_err(|e| Failure {
                reason: "VmPowerOnFailed",
                message: format!("cannot power on {}: {e}", node.name),
            })?;
            let kept = lab
                .store()
                .clusters
                .iter_mut()
                .find(|c| c.uid == uid)
                .and_then(|c| c.nodes.iter_mut().find(|n| n.uid == node.uid))
                .map(|n| n.vm = Some(vm.clone()))
                .is_some();
            if !kept {
                // Force-deleted while the VM was being made: nothing owns it.
                let _ = s.destroy_vm(&vm).await;
                return Ok(());
            }
            lab.store().event(
                KIND,
                uid,
                &snap.name,
                "Normal",
                "NodeCreated",
                format!(
                    "VM {}/{} created and powered on{}",
                    at.folder_path,
                    node.name,
                    node.ip.map(|ip| format!(" with {ip}")).unwrap_or_default()
                ),
            );
        }
    }
    Ok(())
}

fn mark_deleting(lab: &Lab, uid: &str, node_uid: &str) {
    if let Some(n) = lab
        .store()
        .clusters
        .iter_mut()
        .find(|c| c.uid == uid)
        .and_then(|c| c.nodes.iter_mut().find(|n| n.uid == node_uid))
    {
        n.deleting = true;
    }
}

/// A node recorded before its VM exists, with its address taken.
fn new_node(
    lab: &Lab,
    uid: &str,
    cluster_name: &str,
    pool: &str,
    index: usize,
    placement: NodePlacement,
    instance: Instance,
) -> Result<Node, Failure> {
    let mut store = lab.store();
    let gateway_uid = store
        .clusters
        .iter()
        .find(|c| c.uid == uid)
        .map(|c| c.gateway_uid.clone())
        .unwrap_or_default();
    let name = format!("{cluster_name}-{pool}-{index}");
    let ip = match &placement.ip_pool {
        Some(p) => Some(allocate(&mut store, &gateway_uid, p, uid, &name)?),
        None => None,
    };
    let node = Node {
        uid: ids::new_uid(),
        pool: pool.to_string(),
        index,
        name,
        placement,
        instance,
        ip,
        vm: None,
        ready: false,
        deleting: false,
    };
    if let Some(c) = store.clusters.iter_mut().find(|c| c.uid == uid) {
        c.nodes.push(node.clone());
    }
    Ok(node)
}

/// The next free address of a gateway's IP pool, recorded as the cluster's.
fn allocate(
    store: &mut Store,
    gateway_uid: &str,
    pool_uid: &str,
    cluster_uid: &str,
    node: &str,
) -> Result<IpAddr, Failure> {
    let pool = store
        .gateways
        .iter_mut()
        .find(|g| g.uid == gateway_uid)
        .and_then(|g| g.pools.iter_mut().find(|p| p.uid == pool_uid))
        .ok_or_else(|| Failure {
            reason: "IPPoolMissing",
            message: format!("IP pool '{pool_uid}' no longer exists"),
        })?;
    if pool.restrict_to_single_cluster && pool.clusters.iter().any(|c| c != cluster_uid) {
        return Err(Failure {
            reason: "IPPoolRestricted",
            message: format!(
                "IP pool '{}' is restricted to a single cluster and already serves another",
                pool.name
            ),
        });
    }
    let gw_ip = pool.spec.gateway.as_deref().and_then(|s| s.parse().ok());
    match pool.range.allocate(&pool.allotted, gw_ip) {
        Some(ip) => {
            pool.allotted.insert(ip);
            pool.clusters.insert(cluster_uid.to_string());
            Ok(ip)
        }
        None => Err(Failure {
            reason: "IPPoolExhausted",
            message: format!(
                "IP pool '{}' has no free address left for node {node}",
                pool.name
            ),
        }),
    }
}

/// Drops a node and gives its address back to its pool.
fn forget_node(store: &mut Store, uid: &str, node_uid: &str) {
    let Some(c) = store.clusters.iter_mut().find(|c| c.uid == uid) else {
        return;
    };
    let Some(i) = c.nodes.iter().position(|n| n.uid == node_uid) else {
        return;
    };
    let node = c.nodes.remove(i);
    let gateway = c.gateway_uid.clone();
    let still: BTreeSet<String> = c
        .nodes
        .iter()
        .filter(|n| n.ip.is_some())
        .filter_map(|n| n.placement.ip_pool.clone())
        .collect();
    if let (Some(ip), Some(pool_uid)) = (node.ip, node.placement.ip_pool) {
        release(
            store,
            &gateway,
            &pool_uid,
            ip,
            uid,
            still.contains(&pool_uid),
        );
    }
}

fn release(
    store: &mut Store,
    gateway_uid: &str,
    pool_uid: &str,
    ip: IpAddr,
    cluster_uid: &str,
    still_used: bool,
) {
    if let Some(p) = store
        .gateways
        .iter_mut()
        .find(|g| g.uid == gateway_uid)
        .and_then(|g| g.pools.iter_mut().find(|p| p.uid == pool_uid))
    {
        p.allotted.remove(&ip);
        if !still_used {
            p.clusters.remove(cluster_uid);
        }
    }
}

/// Every address the clusters hold, so that a gateway reset keeps them.
pub(crate) fn cluster_ips(store: &Store, gateway_uid: &str) -> BTreeSet<IpAddr> {
    store
        .clusters
        .iter()
        .filter(|c| c.gateway_uid == gateway_uid)
        .flat_map(|c| c.nodes.iter().filter_map(|n| n.ip))
        .collect()
}

// ---------------------------------------------------------------- read

fn not_found(uid: &str) -> ApiError {
    ApiError::not_found("cluster", uid)
}

fn find<'a>(store: &'a Store, uid: &str, scope: &Scope) -> Result<&'a Cluster, ApiError> {
    store
        .clusters
        .iter()
        .find(|c| c.uid == uid && visible(c, scope))
        .ok_or_else(|| not_found(uid))
}

fn find_mut<'a>(
    store: &'a mut Store,
    uid: &str,
    scope: &Scope,
) -> Result<&'a mut Cluster, ApiError> {
    store
        .clusters
        .iter_mut()
        .find(|c| c.uid == uid && visible(c, scope))
        .ok_or_else(|| not_found(uid))
}

fn by_config<'a>(store: &'a Store, config: &str, scope: &Scope) -> Result<&'a Cluster, ApiError> {
    store
        .clusters
        .iter()
        .find(|c| c.config_uid == config && visible(c, scope))
        .ok_or_else(|| ApiError::not_found("cloud config", config))
}

fn meta(clock: &crate::clock::Clock, c: &Cluster) -> V1ObjectMeta {
    let mut annotations = c.annotations.clone();
    annotations.insert("scope".into(), scope_name(&c.scope).into());
    V1ObjectMeta {
        name: Some(c.name.clone()),
        uid: Some(c.uid.clone()),
        labels: Some(c.labels.clone()),
        annotations: Some(annotations),
        creation_timestamp: Some(c.created.clone()),
        last_modified_timestamp: Some(c.modified.clone()),
        // As Palette sets it when a deletion is asked for; a client measures
        // how long a deletion has run against this and the `Date` header.
        deletion_timestamp: c.deleting_since.map(|ms| clock.rfc3339(ms)),
    }
}

/// The cluster's profiles with the values it runs: its override where it
/// has one, the profile's otherwise.
fn templates(store: &Store, c: &Cluster) -> Vec<V1ClusterProfileTemplate> {
    c.profiles
        .iter()
        .filter_map(|cp| {
            let p = store.profiles.iter().find(|p| p.uid == cp.uid)?;
            Some(V1ClusterProfileTemplate {
                uid: Some(p.uid.clone()),
                name: Some(p.name.clone()),
                profile_version: Some(p.version.clone()),
                cloud_type: Some(p.cloud_type.clone()),
                r#type: Some(p.profile_type.clone()),
                packs: Some(
                    p.packs
                        .iter()
                        .map(|k| V1PackRef {
                            values: k
                                .name
                                .as_ref()
                                .and_then(|n| cp.values.get(n).cloned())
                                .or_else(|| k.values.clone()),
                            ..k.clone()
                        })
                        .collect(),
                ),
                ..Default::default()
            })
        })
        .collect()
}

/// The control plane's address as clients reach it.
fn endpoint(c: &Cluster) -> Option<String> {
    let cp = c.pools.iter().find(|p| p.is_control_plane())?;
    let mut nodes: Vec<&Node> = c
        .nodes
        .iter()
        .filter(|n| n.pool == cp.name() && n.vm.is_some())
        .collect();
    nodes.sort_by_key(|n| n.index);
    let first = nodes.first()?;
    Some(match first.ip {
        Some(ip) => ip.to_string(),
        None => c
            .cloud_config
            .control_plane_endpoint
            .as_ref()
            .and_then(|e| e.host.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| PLACEHOLDER_ENDPOINT.into()),
    })
}

fn to_api(store: &Store, c: &Cluster) -> V1SpectroCluster {
    V1SpectroCluster {
        api_version: Some("v1".into()),
        kind: Some("SpectroCluster".into()),
        metadata: Some(meta(&store.clock, c)),
        spec: Some(V1SpectroClusterSpec {
            cloud_type: Some("vsphere".into()),
            cluster_type: Some("PureManage".into()),
            cloud_config_ref: Some(V1ObjectReference {
                kind: Some("VsphereCloudConfig".into()),
                name: Some(c.name.clone()),
                uid: Some(c.config_uid.clone()),
            }),
            cluster_profile_templates: Some(templates(store, c)),
            ..Default::default()
        }),
        status: Some(V1SpectroClusterStatus {
            state: Some(c.state.clone()),
            conditions: Some(c.conditions.clone()),
            api_endpoints: endpoint(c).map(|host| {
                vec![V1APIEndpoint {
                    host: Some(host),
                    port: Some(6443),
                }]
            }),
            ..Default::default()
        }),
    }
}

/// `GET /v1/spectroclusters/{uid}`.
pub async fn get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    match find(&store, &uid, &scope) {
        Ok(c) => Json(to_api(&store, c)).into_response(),
        Err(e) => match store.foreign_clusters.iter().find(|f| f.uid == uid) {
            Some(f) => Json(f.to_api()).into_response(),
            None => e.into_response(),
        },
    }
}

/// `GET /v1/spectroclusters/{uid}/status`.
pub async fn status(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    match find(&store, &uid, &scope) {
        Ok(c) => Json(V1SpectroClusterStatusEntity {
            status: Some(V1SpectroClusterState {
                state: Some(c.state.clone()),
            }),
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

fn health(c: &Cluster) -> V1SpectroClusterHealthStatus {
    V1SpectroClusterHealthStatus {
        state: Some(
            if c.state == "Running" {
                "Healthy"
            } else {
                "Unknown"
            }
            .into(),
        ),
        ..Default::default()
    }
}

fn summary(store: &Store, c: &Cluster) -> V1SpectroClusterSummary {
    let account = store.accounts.iter().find(|a| a.uid == c.account_uid);
    let project = match &c.scope {
        Scope::Project(p) => store.project(p).map(|p| V1ProjectMeta {
            name: Some(p.name.clone()),
            uid: Some(p.uid.clone()),
        }),
        Scope::Tenant => None,
    };
    V1SpectroClusterSummary {
        metadata: Some(meta(&store.clock, c)),
        spec_summary: Some(V1SpectroClusterSummarySpecSummary {
            cloud_account_meta: Some(V1CloudAccountMeta {
                name: account.map(|a| a.name.clone()),
                uid: Some(c.account_uid.clone()),
            }),
            cloud_config: Some(V1CloudConfigMeta {
                cloud_type: Some("vsphere".into()),
                uid: Some(c.config_uid.clone()),
                machine_pools: Some(
                    c.pools
                        .iter()
                        .map(|p| V1MachinePoolMeta {
                            cloud_type: Some("vsphere".into()),
                            is_control_plane: Some(p.is_control_plane()),
                            labels: p.config.labels.clone(),
                            size: Some(p.size() as i32),
                            healthy: Some(
                                c.nodes
                                    .iter()
                                    .filter(|n| n.pool == p.name() && n.ready)
                                    .count() as i32,
                            ),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            cluster_profile_templates: Some(
                templates(store, c)
                    .into_iter()
                    .map(|t| V1ClusterProfileTemplateMeta {
                        cloud_type: t.cloud_type,
                        name: t.name,
                        packs: t.packs,
                        r#type: t.r#type,
                        uid: t.uid,
                        ..Default::default()
                    })
                    .collect(),
            ),
            project_meta: project,
            ..Default::default()
        }),
        status: Some(V1SpectroClusterSummaryStatus {
            state: Some(c.state.clone()),
            health: Some(health(c)),
            ..Default::default()
        }),
    }
}

/// One filter of a search: the properties a client needs to find clusters.
fn item_matches(item: &V1SearchFilterItem, c: &Cluster) -> Result<bool, ApiError> {
    let property = item.property.clone().unwrap_or_default();
    let cond = item.condition.clone().unwrap_or_default();
    let text = match property.as_str() {
        "clusterName" => c.name.clone(),
        "clusterState" => c.state.clone(),
        "environment" => "vsphere".into(),
        "isDeleted" => {
            let want = cond.bool.and_then(|b| b.value).unwrap_or(false);
            // Deleted clusters are gone from the lab.
            return Ok(!want);
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "search property {other:?} is not supported by palette-lab \
                 (clusterName, clusterState, environment, isDeleted)"
            )))
        }
    };
    let Some(s) = cond.string else {
        return Err(ApiError::bad_request(format!(
            "search property {property:?} needs a string condition"
        )));
    };
    let fold = |v: &str| {
        if s.ignore_case.unwrap_or(false) {
            v.to_lowercase()
        } else {
            v.to_string()
        }
    };
    let value = fold(&text);
    let m = s.r#match.unwrap_or_default();
    let values = m.values.unwrap_or_default();
    let op = s.operator.unwrap_or_else(|| "eq".into());
    let one = |x: &String| -> Result<bool, ApiError> {
        let x = fold(x);
        Ok(match op.as_str() {
            "eq" => value == x,
            "contains" => value.contains(&x),
            "beginsWith" => value.starts_with(&x),
            other => {
                return Err(ApiError::bad_request(format!(
                    "string operator {other:?} is not one of eq, contains, beginsWith"
                )))
            }
        })
    };
    let hits = values.iter().map(one).collect::<Result<Vec<_>, _>>()?;
    let hit = if values.is_empty() {
        true
    } else if m.conjunction.as_deref() == Some("and") {
        hits.iter().all(|h| *h)
    } else {
        hits.iter().any(|h| *h)
    };
    Ok(hit != s.negation.unwrap_or(false))
}

fn spec_matches(spec: &V1SearchFilterSummarySpec, c: &Cluster) -> Result<bool, ApiError> {
    let Some(filter) = &spec.filter else {
        return Ok(true);
    };
    let groups = filter.filter_groups.clone().unwrap_or_default();
    let mut results = Vec::new();
    for g in &groups {
        let items = g.filters.clone().unwrap_or_default();
        let hits = items
            .iter()
            .map(|i| item_matches(i, c))
            .collect::<Result<Vec<_>, _>>()?;
        results.push(if g.conjunction.as_deref() == Some("or") {
            hits.is_empty() || hits.iter().any(|h| *h)
        } else {
            hits.iter().all(|h| *h)
        });
    }
    Ok(if filter.conjunction.as_deref() == Some("or") {
        results.is_empty() || results.iter().any(|h| *h)
    } else {
        results.iter().all(|h| *h)
    })
}

/// `POST /v1/dashboard/spectroclusters/search`.
/// The paging parameters of the search (`limit`, `offset`, `continue`).
#[derive(Default, Deserialize)]
pub struct SearchPage {
    limit: Option<usize>,
    offset: Option<usize>,
    /// The `continue` token: a page position, not a credential.
    #[serde(rename = "continue")]
    cursor: Option<String>,
}

/// One page of `items`, and the listing metadata Palette sends with it: the
/// total `count`, and a `continue` token for the next page, empty on the
/// last one. The token is the next offset, opaque to clients. Without a
/// `limit`, everything in one page.
fn page<T>(items: Vec<T>, p: &SearchPage) -> Result<(Vec<T>, V1ListMetaData), ApiError> {
    let total = items.len();
    let start = match p.cursor.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid continue token {t:?}")))?,
        None => p.offset.unwrap_or(0),
    }
    .min(total);
    let end = match p.limit.filter(|l| *l > 0) {
        Some(l) => (start + l).min(total),
        None => total,
    };
    let meta = V1ListMetaData {
        count: Some(total as i64),
        limit: p.limit.map(|l| l as i64),
        offset: Some(start as i64),
        r#continue: Some(if end < total {
            end.to_string()
        } else {
            String::new()
        }),
    };
    let items = items.into_iter().skip(start).take(end - start).collect();
    Ok((items, meta))
}

pub async fn search(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Query(paging): Query<SearchPage>,
    body: Option<Json<V1SearchFilterSummarySpec>>,
) -> Response {
    let spec = body.map(|Json(b)| b).unwrap_or_default();
    let store = lab.store();
    let mut items = Vec::new();
    for c in store.clusters.iter().filter(|c| visible(c, &scope)) {
        match spec_matches(&spec, c) {
            Ok(true) => items.push(summary(&store, c)),
            Ok(false) => {}
            Err(e) => return e.into_response(),
        }
    }
    let descending = spec
        .sort
        .as_ref()
        .and_then(|s| s.first())
        .and_then(|s| s.order.as_deref())
        == Some("desc");
    items.sort_by(|a, b| {
        let name = |s: &V1SpectroClusterSummary| {
            s.metadata
                .as_ref()
                .and_then(|m| m.name.clone())
                .unwrap_or_default()
        };
        let o = name(a).cmp(&name(b));
        if descending {
            o.reverse()
        } else {
            o
        }
    });
    let (items, listmeta) = match page(items, &paging) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    Json(V1SpectroClustersSummary {
        listmeta: Some(listmeta),
        items: Some(items),
    })
    .into_response()
}

// ---------------------------------------------------------------- cloud config

fn placement_api(
    c: &Cluster,
    static_ip: bool,
    p: &NodePlacement,
    store: &Store,
) -> V1VspherePlacementConfig {
    let pool_name = p.ip_pool.as_ref().and_then(|uid| {
        store
            .gateways
            .iter()
            .find(|g| g.uid == c.gateway_uid)
            .and_then(|g| g.pools.iter().find(|x| &x.uid == uid))
            .map(|x| x.name.clone())
    });
    V1VspherePlacementConfig {
        datacenter: Some(datacenter_of(&c.cloud_config)),
        folder: Some(folder_of(&c.cloud_config)),
        cluster: Some(p.cluster.clone()),
        datastore: Some(p.datastore.clone()),
        resource_pool: Some(p.resource_pool.clone()),
        network: Some(V1VsphereNetworkConfig {
            network_name: Some(p.network.clone()),
            static_ip: Some(static_ip),
            parent_pool_ref: p.ip_pool.as_ref().map(|uid| V1ObjectReference {
                kind: Some("IPPool".into()),
                name: pool_name,
                uid: Some(uid.clone()),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn cloud_config_api(store: &Store, c: &Cluster) -> V1VsphereCloudConfig {
    let cfg = &c.cloud_config;
    let static_ip = cfg.static_ip.unwrap_or(false);
    let account = store.accounts.iter().find(|a| a.uid == c.account_uid);
    let placement = cfg.placement.clone().unwrap_or_default();
    V1VsphereCloudConfig {
        api_version: Some("v1".into()),
        kind: Some("VsphereCloudConfig".into()),
        metadata: Some(V1ObjectMeta {
            name: Some(c.name.clone()),
            uid: Some(c.config_uid.clone()),
            creation_timestamp: Some(c.created.clone()),
            ..Default::default()
        }),
        spec: Some(V1VsphereCloudConfigSpec {
            cloud_account_ref: Some(V1ObjectReference {
                kind: Some("VsphereCloudAccount".into()),
                name: account.map(|a| a.name.clone()),
                uid: Some(c.account_uid.clone()),
            }),
            cluster_config: Some(V1VsphereClusterConfig {
                control_plane_endpoint: cfg.control_plane_endpoint.clone(),
                ntp_servers: cfg.ntp_servers.clone(),
                ssh_keys: cfg.ssh_keys.clone(),
                static_ip: Some(static_ip),
                placement: Some(V1VspherePlacementConfig {
                    datacenter: placement.datacenter,
                    folder: placement.folder,
                    image_template_folder: placement.image_template_folder,
                    ..Default::default()
                }),
            }),
            machine_pool_config: Some(
                c.pools
                    .iter()
                    .map(|p| V1VsphereMachinePoolConfig {
                        name: p.config.name.clone(),
                        is_control_plane: Some(p.is_control_plane()),
                        size: Some(p.size() as i32),
                        labels: p.config.labels.clone(),
                        additional_labels: p.config.additional_labels.clone(),
                        additional_tags: p.config.additional_tags.clone(),
                        taints: p.config.taints.clone(),
                        update_strategy: p.config.update_strategy.clone(),
                        use_control_plane_as_worker: p.config.use_control_plane_as_worker,
                        min_size: p.config.min_size,
                        max_size: p.config.max_size,
                        node_repave_interval: p.config.node_repave_interval,
                        machine_pool_properties: p.config.machine_pool_properties.clone(),
                        instance_type: Some(V1VsphereInstanceType {
                            num_cp_us: Some(p.instance.cpus),
                            memory_mi_b: Some(p.instance.memory_mib),
                            disk_gi_b: Some(p.instance.disk_gib),
                        }),
                        placements: Some(
                            p.placements
                                .iter()
                                .map(|pl| placement_api(c, static_ip, pl, store))
                                .collect(),
                        ),
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: Some(V1VsphereCloudConfigStatus {
            conditions: Some(c.conditions.clone()),
            ..Default::default()
        }),
    }
}

/// `GET /v1/cloudconfigs/vsphere/{configUid}`.
pub async fn cloud_config_get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(config): Path<String>,
) -> Response {
    let store = lab.store();
    match by_config(&store, &config, &scope) {
        Ok(c) => Json(cloud_config_api(&store, c)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn refuse_if_deleting(c: &Cluster) -> Result<(), ApiError> {
    if c.deleting_since.is_some() {
        return Err(ApiError::conflict(format!(
            "cluster '{}' is being deleted",
            c.name
        )));
    }
    Ok(())
}

/// `PUT /v1/cloudconfigs/vsphere/{configUid}/clusterConfig`: SSH keys, NTP
/// servers and the endpoint change in place; the network mode and where the
/// cluster lives do not.
pub async fn cluster_config_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(config): Path<String>,
    Json(body): Json<V1VsphereCloudClusterConfigEntity>,
) -> Response {
    let Some(new) = body.cluster_config else {
        return invalid("clusterConfig is required").into_response();
    };
    if let Err(e) = check_endpoint(&new) {
        return e.into_response();
    }
    let mut store = lab.store();
    let uid = match by_config(&store, &config, &scope) {
        Ok(c) => c.uid.clone(),
        Err(e) => return e.into_response(),
    };
    let Ok(c) = find_mut(&mut store, &uid, &scope) else {
        return not_found(&uid).into_response();
    };
    if let Err(e) = refuse_if_deleting(c) {
        return e.into_response();
    }
    let old = &c.cloud_config;
    if let Some(s) = new.static_ip {
        if s != old.static_ip.unwrap_or(false) {
            return invalid(format!(
                "clusterConfig.staticIp cannot change ({} -> {s}): the nodes' addresses come from it",
                old.static_ip.unwrap_or(false)
            ))
            .into_response();
        }
    }
    let mut placement = old.placement.clone().unwrap_or_default();
    if let Some(p) = &new.placement {
        for (field, was, now) in [
            ("datacenter", &placement.datacenter, &p.datacenter),
            ("folder", &placement.folder, &p.folder),
        ] {
            let (was, now) = (
                was.clone().unwrap_or_default(),
                now.clone().unwrap_or_default(),
            );
            if was != now {
                return invalid(format!(
                    "clusterConfig.placement.{field} cannot change ({was:?} -> {now:?}): the cluster's VMs live there"
                ))
                .into_response();
            }
        }
        if p.image_template_folder.is_some() {
            placement.image_template_folder = p.image_template_folder.clone();
        }
    }
    c.cloud_config = V1VsphereClusterConfigEntity {
        control_plane_endpoint: new.control_plane_endpoint,
        ntp_servers: new.ntp_servers,
        ssh_keys: new.ssh_keys,
        static_ip: old.static_ip,
        placement: Some(placement),
    };
    c.modified = lab.clock.now();
    let name = c.name.clone();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "ClusterConfigUpdated",
        "SSH keys, NTP servers and control plane endpoint updated",
    );
    StatusCode::NO_CONTENT.into_response()
}

/// A pool body checked against its cluster; with `replacing`, the pool it
/// replaces.
async fn checked_pool(
    lab: &Lab,
    scope: &Scope,
    config: &str,
    body: &V1VsphereMachinePoolConfigEntity,
    replacing: Option<&str>,
) -> Result<(String, MachinePool), ApiError> {
    let (uid, pool, account_name, account, datacenter) = {
        let store = lab.store();
        let c = by_config(&store, config, scope)?;
        refuse_if_deleting(c)?;
        let (gateway_name, ip_pools) = gateway_pools(&store, &c.gateway_uid);
        let ctx = PoolContext {
            static_ip: c.cloud_config.static_ip.unwrap_or(false),
            gateway_name: &gateway_name,
            ip_pools: &ip_pools,
        };
        let mut body = body.clone();
        if let (Some(name), Some(pc)) = (replacing, body.pool_config.as_mut()) {
            match pc.name.as_deref() {
                None | Some("") => pc.name = Some(name.to_string()),
                Some(n) if n == name => {}
                Some(n) => {
                    return Err(invalid(format!(
                    "machine pool '{name}' cannot be renamed to '{n}': create a new pool instead"
                )))
                }
            }
        }
        let mut pool = check_pool(&body, "machine pool", &ctx)?;
        let mut pools: Vec<MachinePool> = c
            .pools
            .iter()
            .filter(|p| Some(p.name()) != replacing)
            .cloned()
            .collect();
        if let Some(name) = replacing {
            let old = c
                .pools
                .iter()
                .find(|p| p.name() == name)
                .ok_or_else(|| ApiError::not_found("machine pool", name))?;
            if old.is_control_plane() != pool.is_control_plane() {
                return Err(invalid(format!(
                    "machine pool '{name}': isControlPlane cannot change"
                )));
            }
            pool.uid = old.uid.clone();
        } else if c.pools.iter().any(|p| p.name() == pool.name()) {
            return Err(ApiError::conflict(format!(
                "cluster '{}' already has a machine pool named '{}'",
                c.name,
                pool.name()
            )));
        }
        pools.push(pool.clone());
        check_pools(&pools)?;
        let account = store
            .accounts
            .iter()
            .find(|a| a.uid == c.account_uid)
            .ok_or_else(|| {
                invalid(format!(
                    "the cluster's cloud account '{}' no longer exists",
                    c.account_uid
                ))
            })?;
        (
            c.uid.clone(),
            pool,
            account.name.clone(),
            account.spec.clone(),
            datacenter_of(&c.cloud_config),
        )
    };
    check_vcenter(&account_name, &account, &datacenter, &[&pool]).await?;
    Ok((uid, pool))
}

/// Records a pool change and starts the VMs following it.
fn apply_pools(
    lab: &Lab,
    uid: &str,
    change: impl FnOnce(&mut Vec<MachinePool>),
    what: String,
) -> Result<(), ApiError> {
    let generation = {
        let mut store = lab.store();
        let c = store
            .clusters
            .iter_mut()
            .find(|c| c.uid == uid)
            .ok_or_else(|| not_found(uid))?;
        refuse_if_deleting(c)?;
        change(&mut c.pools);
        c.generation += 1;
        c.state = "Provisioning".into();
        c.modified = lab.clock.now();
        let (name, generation) = (c.name.clone(), c.generation);
        store.event(KIND, uid, &name, "Normal", "MachinePoolsChanged", what);
        generation
    };
    spawn_lifecycle(lab.clone(), uid.to_string(), generation, Phase::Update);
    Ok(())
}

/// `POST /v1/cloudconfigs/vsphere/{configUid}/machinePools`.
pub async fn pool_create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(config): Path<String>,
    Json(body): Json<V1VsphereMachinePoolConfigEntity>,
) -> Response {
    let (uid, pool) = match checked_pool(&lab, &scope, &config, &body, None).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let pool_uid = pool.uid.clone();
    let what = format!(
        "machine pool '{}' added with {} node(s)",
        pool.name(),
        pool.size()
    );
    let name = pool.name().to_string();
    let added = apply_pools(
        &lab,
        &uid,
        |pools| {
            if !pools.iter().any(|p| p.name() == name) {
                pools.push(pool);
            }
        },
        what,
    );
    match added {
        Ok(()) => (
            StatusCode::CREATED,
            Json(V1Uid {
                uid: Some(pool_uid),
            }),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `PUT /v1/cloudconfigs/vsphere/{configUid}/machinePools/{name}`: size,
/// instance type, labels, taints, placements; also heals the cluster's VMs.
pub async fn pool_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((config, name)): Path<(String, String)>,
    Json(body): Json<V1VsphereMachinePoolConfigEntity>,
) -> Response {
    let (uid, pool) = match checked_pool(&lab, &scope, &config, &body, Some(&name)).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let what = format!("machine pool '{name}' updated to {} node(s)", pool.size());
    let changed = apply_pools(
        &lab,
        &uid,
        |pools| {
            if let Some(p) = pools.iter_mut().find(|p| p.name() == name) {
                *p = pool;
            }
        },
        what,
    );
    match changed {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `DELETE /v1/cloudconfigs/vsphere/{configUid}/machinePools/{name}`.
pub async fn pool_delete(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((config, name)): Path<(String, String)>,
) -> Response {
    let uid = {
        let store = lab.store();
        let c = match by_config(&store, &config, &scope) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        match c.pools.iter().find(|p| p.name() == name) {
            None => return ApiError::not_found("machine pool", &name).into_response(),
            Some(p) if p.is_control_plane() => {
                return invalid(format!(
                    "machine pool '{name}' is the control plane and cannot be deleted"
                ))
                .into_response()
            }
            Some(_) => c.uid.clone(),
        }
    };
    let what = format!("machine pool '{name}' deleted");
    match apply_pools(&lab, &uid, |pools| pools.retain(|p| p.name() != name), what) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /v1/cloudconfigs/vsphere/{configUid}/machinePools/{name}/machines`:
/// each node as vCenter sees it now (see the module notes on drift).
pub async fn machines(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((config, name)): Path<(String, String)>,
) -> Response {
    let (c, account) = {
        let store = lab.store();
        let c = match by_config(&store, &config, &scope) {
            Ok(c) => c.clone(),
            Err(e) => return e.into_response(),
        };
        if !c.pools.iter().any(|p| p.name() == name) {
            return ApiError::not_found("machine pool", &name).into_response();
        }
        let account = store
            .accounts
            .iter()
            .find(|a| a.uid == c.account_uid)
            .map(|a| a.spec.clone());
        (c, account)
    };
    let mut nodes: Vec<&Node> = c.nodes.iter().filter(|n| n.pool == name).collect();
    nodes.sort_by_key(|n| n.index);
    let session = match &account {
        Some(a) if nodes.iter().any(|n| n.vm.is_some()) => crate::accounts::login(a).await.ok(),
        _ => None,
    };
    let mut seen = Vec::new();
    for n in &nodes {
        let live = match (&session, &n.vm) {
            (Some(s), Some(vm)) => Some(
                match crate::persist::vm_info_of(s, vm, MARKER, &c.uid).await {
                    Ok(i) => Ok(i.powered_on),
                    Err(e) => Err(e.is_not_found()),
                },
            ),
            _ => None,
        };
        seen.push(live);
    }
    if let Some(s) = session {
        let _ = s.logout().await;
    }
    let static_ip = c.cloud_config.static_ip.unwrap_or(false);
    let server = account
        .as_ref()
        .and_then(|a| a.vcenter_server.clone())
        .unwrap_or_default();
    let items: Vec<V1VsphereMachine> = {
        let store = lab.store();
        nodes
            .iter()
            .zip(seen)
            .map(|(n, live)| {
                let state = if n.deleting {
                    "Deleting"
                } else if n.vm.is_none() {
                    "Provisioning"
                } else {
                    match live {
                        Some(Ok(true)) if n.ready => "Running",
                        Some(Ok(true)) => "Provisioning",
                        Some(Ok(false)) => "PoweredOff",
                        Some(Err(true)) => "NotFound",
                        _ => "Unknown",
                    }
                };
                let health = match state {
                    "Running" => "Healthy",
                    "NotFound" | "PoweredOff" => "Unhealthy",
                    _ => "Unknown",
                };
                // The spec's instance states have no word for a VM that is
                // off or gone: the state is Unknown and a health condition
                // says why, as a machine health check would.
                let (state, conditions) = match state {
                    "NotFound" => (
                        "Unknown",
                        Some(vec![V1MachineHealthCondition {
                            r#type: Some("VirtualMachine".into()),
                            status: Some("False".into()),
                            reason: Some("NotFound".into()),
                            message: Some(format!("VM {} is not in vCenter", n.name)),
                        }]),
                    ),
                    "PoweredOff" => (
                        "Unknown",
                        Some(vec![V1MachineHealthCondition {
                            r#type: Some("VirtualMachine".into()),
                            status: Some("False".into()),
                            reason: Some("PoweredOff".into()),
                            message: Some(format!("VM {} is powered off", n.name)),
                        }]),
                    ),
                    other => (other, None),
                };
                V1VsphereMachine {
                    api_version: Some("v1".into()),
                    kind: Some("VsphereMachine".into()),
                    metadata: Some(V1ObjectMeta {
                        name: Some(n.name.clone()),
                        uid: Some(n.uid.clone()),
                        ..Default::default()
                    }),
                    spec: Some(V1VsphereMachineSpec {
                        placement: Some(placement_api(&c, static_ip, &n.placement, &store)),
                        instance_type: Some(V1VsphereInstanceType {
                            num_cp_us: Some(n.instance.cpus),
                            memory_mi_b: Some(n.instance.memory_mib),
                            disk_gi_b: Some(n.instance.disk_gib),
                        }),
                        nics: Some(vec![V1VsphereNic {
                            index: Some(0),
                            network_name: Some(n.placement.network.clone()),
                            private_i_ps: n.ip.map(|ip| vec![ip.to_string()]),
                            ..Default::default()
                        }]),
                        ntp_servers: c.cloud_config.ntp_servers.clone(),
                        vcenter_server: Some(server.clone()),
                        ..Default::default()
                    }),
                    status: Some(V1CloudMachineStatus {
                        instance_state: Some(state.into()),
                        ready: Some(state == "Running"),
                        health: Some(V1MachineHealth {
                            state: Some(health.into()),
                            conditions,
                            ..Default::default()
                        }),
                        addresses: n.ip.map(|ip| {
                            vec![V1MachineAddress {
                                address: Some(ip.to_string()),
                                r#type: Some("InternalIP".into()),
                            }]
                        }),
                        ..Default::default()
                    }),
                }
            })
            .collect()
    };
    Json(V1VsphereMachines {
        listmeta: Some(V1ListMetaData {
            count: Some(items.len() as i64),
            ..Default::default()
        }),
        items: Some(items),
    })
    .into_response()
}

// ---------------------------------------------------------------- in-place changes

/// `PATCH /v1/spectroclusters/{uid}/profiles`: the named packs' values (and
/// the variables) of the cluster's profiles; `replaceWithProfile` swaps a
/// profile for another (a new version), keeping no overrides of the old.
pub async fn profiles_patch(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1SpectroClusterProfiles>,
) -> Response {
    let mut store = lab.store();
    let (mut profiles, name) = match find(&store, &uid, &scope) {
        Ok(c) => {
            if let Err(e) = refuse_if_deleting(c) {
                return e.into_response();
            }
            (c.profiles.clone(), c.name.clone())
        }
        Err(e) => return e.into_response(),
    };
    for (i, e) in body.profiles.unwrap_or_default().iter().enumerate() {
        let old_uid = e.uid.clone().unwrap_or_default();
        let Some(slot) = profiles.iter().position(|p| p.uid == old_uid) else {
            return invalid(format!(
                "profiles[{i}]: cluster profile '{old_uid}' is not a profile of cluster '{name}' \
                 (use replaceWithProfile to switch a profile)"
            ))
            .into_response();
        };
        let target = e
            .replace_with_profile
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or(old_uid.clone());
        let Some(p) = store
            .profiles
            .iter()
            .find(|p| p.uid == target && (p.scope == Scope::Tenant || p.scope == scope))
        else {
            return invalid(format!(
                "profiles[{i}]: cluster profile '{target}' not found"
            ))
            .into_response();
        };
        let given = match pack_values(p, e) {
            Ok(v) => v,
            Err(e) => return e.into_response(),
        };
        let entry = &mut profiles[slot];
        if target != old_uid {
            entry.uid = target;
            entry.values = given;
        } else {
            for v in e.pack_values.clone().unwrap_or_default() {
                let pack = v.name.unwrap_or_default();
                match given.get(&pack) {
                    Some(values) => {
                        entry.values.insert(pack, values.clone());
                    }
                    // Named without values: back to the profile's own.
                    None => {
                        entry.values.remove(&pack);
                    }
                }
            }
        }
        if let Some(vars) = &e.variables {
            entry.variables = vars.clone();
        }
    }
    let Ok(c) = find_mut(&mut store, &uid, &scope) else {
        return not_found(&uid).into_response();
    };
    c.profiles = profiles;
    c.modified = lab.clock.now();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "ProfilesUpdated",
        "cluster profile pack values updated",
    );
    StatusCode::NO_CONTENT.into_response()
}

/// `PATCH /v1/spectroclusters/{uid}/metadata`: tags (labels) and
/// annotations (the description); the name cannot change.
pub async fn metadata_patch(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1ObjectMetaInputEntitySchema>,
) -> Response {
    let meta = body.metadata.unwrap_or_default();
    let mut store = lab.store();
    let c = match find_mut(&mut store, &uid, &scope) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Some(n) = meta.name.as_deref().filter(|n| !n.is_empty()) {
        if n != c.name {
            return invalid(format!(
                "metadata.name cannot change ('{}' -> '{n}'): a cluster is never renamed",
                c.name
            ))
            .into_response();
        }
    }
    if let Some(labels) = meta.labels {
        c.labels = labels;
    }
    if let Some(mut annotations) = meta.annotations {
        annotations.remove("scope");
        c.annotations = annotations;
    }
    c.modified = lab.clock.now();
    let name = c.name.clone();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "MetadataUpdated",
        "tags and description updated",
    );
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /v1/spectroclusters/{uid}/assets/kubeconfig`: once a control-plane
/// node exists.
pub async fn kubeconfig(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    let c = match find(&store, &uid, &scope) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(host) = endpoint(c) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "cluster '{}' has no kubeconfig yet: its control plane is not up ({})",
                c.name, c.state
            ),
        )
        .into_response();
    };
    let n = &c.name;
    let ca = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(cluster_ca(&c.uid))
    };
    let text = format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {n}\n  cluster:\n    server: https://{host}:6443\n    certificate-authority-data: {ca}\n\
         contexts:\n\
         - name: {n}-admin@{n}\n  context:\n    cluster: {n}\n    user: {n}-admin\n\
         current-context: {n}-admin@{n}\n\
         users:\n\
         - name: {n}-admin\n  user:\n    token: {}\n",
        c.token
    );
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{n}.kubeconfig\""),
            ),
        ],
        text,
    )
        .into_response()
}

/// A cluster's CA certificate as its kubeconfig carries it: a PEM block
/// unique to the cluster, so a client that mixed two clusters' entries up
/// would be caught. It is shaped like a certificate without being one: the
/// servers the lab's kubeconfigs name are never contacted.
fn cluster_ca(uid: &str) -> String {
    use base64::Engine as _;
    let mut der = Vec::new();
    for part in 0u8..8 {
        let seed = format!("palette-lab cluster CA {uid} {part}");
        der.extend_from_slice(
            ring::digest::digest(&ring::digest::SHA256, seed.as_bytes()).as_ref(),
        );
    }
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

// ---------------------------------------------------------------- restart

/// After a restart: what a cluster's background task was doing starts again
/// from its saved state (see persist.rs for what and why).
pub(crate) fn resume(lab: &Lab) {
    let mut runs = Vec::new();
    {
        let mut store = lab.store();
        for c in &store.clusters {
            let (phase, pending, doing) = match (c.deleting_since, c.state.as_str()) {
                (Some(_), _) => (None, false, "deleting"),
                (None, "Pending") => (Some(Phase::Create), true, "waiting to provision"),
                // Only a create leaves generation 1; every later change bumps it.
                (None, "Provisioning") if c.generation == 1 => {
                    (Some(Phase::Create), false, "provisioning")
                }
                (None, "Provisioning") => (Some(Phase::Update), false, "changing its nodes"),
                _ => continue,
            };
            runs.push((
                c.uid.clone(),
                c.name.clone(),
                c.generation,
                phase,
                pending,
                doing,
            ));
        }
        for (uid, name, _, _, _, doing) in &runs {
            store.event(
                KIND,
                uid,
                name,
                "Normal",
                "LabRestarted",
                format!("palette-lab restarted while the cluster was {doing}; it goes on"),
            );
        }
    }
    for (uid, _, generation, phase, pending, _) in runs {
        match phase {
            Some(phase) => spawn_lifecycle_from(lab.clone(), uid, generation, phase, pending),
            None => spawn_deletion(lab.clone(), uid, generation),
        }
    }
}

// ---------------------------------------------------------------- delete

#[derive(Deserialize, Default)]
pub struct DeleteQuery {
    #[serde(rename = "forceDelete", default)]
    force_delete: Option<bool>,
}

/// Minutes and seconds, as the force-delete refusal says them.
fn minutes(d: Duration) -> String {
    let secs = d.as_secs();
    format!("{}m{:02}s", secs / 60, secs % 60)
}

/// `DELETE /v1/spectroclusters/{uid}?forceDelete=bool`.
pub async fn delete(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> Response {
    if q.force_delete.unwrap_or(false) {
        return force_delete(lab, scope, uid).await;
    }
    let generation = {
        let mut store = lab.store();
        let c = match find_mut(&mut store, &uid, &scope) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        if c.deleting_since.is_some() {
            return StatusCode::NO_CONTENT.into_response();
        }
        c.deleting_since = Some(crate::clock::wall_millis());
        c.state = "Deleting".into();
        c.generation += 1;
        let (name, generation) = (c.name.clone(), c.generation);
        store.event(
            KIND,
            &uid,
            &name,
            "Normal",
            "Deleting",
            "deleting the cluster and its VMs",
        );
        generation
    };
    spawn_deletion(lab, uid, generation);
    StatusCode::NO_CONTENT.into_response()
}

fn spawn_deletion(lab: Lab, uid: String, generation: u64) {
    lab.clone().spawn(async move {
        let tick = lab
            .scaled(Duration::from_secs(2))
            .clamp(Duration::from_millis(20), Duration::from_secs(1));
        let Some(busy) = lab
            .store()
            .clusters
            .iter()
            .find(|c| c.uid == uid)
            .map(|c| c.busy.clone())
        else {
            return;
        };
        let _held = busy.lock().await;
        loop {
            let hangs = {
                let store = lab.store();
                match store.clusters.iter().find(|c| c.uid == uid) {
                    None => return,
                    Some(c) => fault_on(&store, ClusterFaultKind::DeletionHangs, &c.name),
                }
            };
            if !hangs {
                break;
            }
            tokio::time::sleep(tick).await;
        }
        let Some(snap) = snapshot(&lab, &uid) else {
            return;
        };
        if let Err(message) = destroy_nodes(&lab, &uid, &snap).await {
            let mut store = lab.store();
            store.event(KIND, &uid, &snap.name, "Warning", "VmDeleteFailed", message);
        }
        tokio::time::sleep(lab.scaled(DELETION_DELAY)).await;
        let mut store = lab.store();
        if store
            .clusters
            .iter()
            .any(|c| c.uid == uid && c.generation == generation)
        {
            remove(&mut store, &uid);
            store.event(
                KIND,
                &uid,
                &snap.name,
                "Normal",
                "Deleted",
                "cluster deleted",
            );
        }
    });
}

/// Destroys every node's VM and releases its address; the first error is
/// reported after trying them all.
async fn destroy_nodes(lab: &Lab, uid: &str, snap: &Snapshot) -> Result<(), String> {
    let with_vm: Vec<&Node> = snap.nodes.iter().filter(|n| n.vm.is_some()).collect();
    let session = if with_vm.is_empty() {
        None
    } else {
        Some(
            crate::accounts::login(&snap.account)
                .await
                .map_err(|e| format!("cannot log in to vCenter to delete VMs: {e}"))?,
        )
    };
    let mut first = None;
    for n in &snap.nodes {
        if let (Some(s), Some(vm)) = (&session, &n.vm) {
            if let Err(e) = crate::persist::destroy_vm_of(s, vm, MARKER, uid).await {
                first.get_or_insert(format!("cannot delete VM {}: {e}", n.name));
                continue;
            }
        }
        forget_node(&mut lab.store(), uid, &n.uid);
    }
    if let Some(s) = session {
        let _ = s.logout().await;
    }
    first.map_or(Ok(()), Err)
}

/// The cluster leaves the lab; addresses of VMs vCenter kept go back to
/// their pools too, as Palette forgets them with the cluster.
fn remove(store: &mut Store, uid: &str) {
    let left: Vec<String> = store
        .clusters
        .iter()
        .find(|c| c.uid == uid)
        .map(|c| c.nodes.iter().map(|n| n.uid.clone()).collect())
        .unwrap_or_default();
    for n in left {
        forget_node(store, uid, &n);
    }
    store.clusters.retain(|c| c.uid != uid);
}

async fn force_delete(lab: Lab, scope: Scope, uid: String) -> Response {
    let snap = {
        let store = lab.store();
        let c = match find(&store, &uid, &scope) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        let Some(since) = c.deleting_since else {
            return invalid(format!(
                "cluster '{}' is {}, not Deleting: force delete is possible 15 minutes after \
                 deletion started; delete it without forceDelete first",
                c.name, c.state
            ))
            .into_response();
        };
        // On the lab's clock, which its timestamps and `Date` show: the
        // rule a client reads off them is the rule enforced here.
        let waited = Duration::from_millis(lab.clock.elapsed(since, crate::clock::wall_millis()));
        if waited < FORCE_DELETE_AFTER {
            return invalid(format!(
                "cluster '{}' has been deleting for {}: force delete is possible 15 minutes after \
                 deletion started, {} from now",
                c.name,
                minutes(waited),
                minutes(FORCE_DELETE_AFTER - waited)
            ))
            .into_response();
        }
        drop(store);
        snapshot(&lab, &uid)
    };
    let Some(snap) = snap else {
        return not_found(&uid).into_response();
    };
    // Best effort: whatever vCenter refuses stays there, the cluster goes anyway.
    if let Err(message) = destroy_nodes(&lab, &uid, &snap).await {
        lab.store()
            .event(KIND, &uid, &snap.name, "Warning", "VmDeleteFailed", message);
    }
    let mut store = lab.store();
    remove(&mut store, &uid);
    store.event(
        KIND,
        &uid,
        &snap.name,
        "Warning",
        "ForceDeleted",
        "cluster force-deleted",
    );
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_pages_follow_the_continue_token_to_an_empty_one() {
        let paging = |limit: Option<usize>, token: Option<&str>| super::SearchPage {
            limit,
            offset: None,
            cursor: token.map(str::to_string),
        };
        let items: Vec<u32> = (0..5).collect();
        let (first, meta) = super::page(items.clone(), &paging(Some(2), None)).unwrap();
        assert_eq!(first, vec![0, 1]);
        assert_eq!(meta.count, Some(5));
        assert_eq!(meta.r#continue.as_deref(), Some("2"));
        let (second, meta) = super::page(items.clone(), &paging(Some(2), Some("2"))).unwrap();
        assert_eq!(second, vec![2, 3]);
        let (last, meta) =
            super::page(items.clone(), &paging(Some(2), meta.r#continue.as_deref())).unwrap();
        assert_eq!(last, vec![4]);
        assert_eq!(meta.r#continue.as_deref(), Some(""));
        // Without a limit, one page, as before.
        let (all, meta) = super::page(items.clone(), &paging(None, None)).unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(meta.r#continue.as_deref(), Some(""));
        assert!(super::page(items, &paging(Some(2), Some("x"))).is_err());
    }

    #[test]
    fn cluster_names_are_dns_labels() {
        for ok in ["a", "apps-dc1", "x0", &"a".repeat(32)] {
            assert!(super::is_dns_label(ok, 32), "{ok}");
        }
        for bad in ["", "-a", "a-", "Apps", "a_b", "a.b", &"a".repeat(33)] {
            assert!(!super::is_dns_label(bad, 32), "{bad}");
        }
    }
}
