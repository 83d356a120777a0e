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
    V1MachineHealthCondition, V1MachinePoolMeta, V1ObjectMeta, V1ObjectMetaInputEntitySchema,
    V1ObjectReference, V1PackRef, V1ProjectMeta, V1SearchFilterItem, V1SearchFilterSummarySpec,
    V1SpectroCluster, V1SpectroClusterHealthStatus, V1SpectroClusterProfileEntity,
    V1SpectroClusterProfileValidatorResponse, V1SpectroClusterProfiles, V1SpectroClusterSpec,
    V1SpectroClusterState, V1SpectroClusterStatus, V1SpectroClusterStatusEntity,
    V1SpectroClusterSummary, V1SpectroClusterSummarySpecSummary, V1SpectroClusterSummaryStatus,
    V1SpectroClusterValidatorResponse, V1SpectroClustersSummary, V1SpectroVsphereClusterEntity,
    V1Uid, V1VsphereCloudAccount, V1VsphereCloudClusterConfigEntity, V1VsphereCloudConfig,
    V1VsphereCloudConfigSpec, V1VsphereCloudConfigStatus, V1VsphereClusterConfig,
    V1VsphereClusterConfigEntity, V1VsphereInstanceType, V1VsphereMachine,
    V1VsphereMachinePoolConfig, V1VsphereMachinePoolConfigEntity, V1VsphereMachineSpec,
    V1VsphereMachines, V1VsphereNetworkConfig, V1VsphereNic, V1VspherePlacementConfig,
};
use serde::Deserialize;

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

// The model lives in the store layer (crate::model::cluster); re-exported
// so that `clusters::Cluster` and friends keep naming it.
pub use crate::model::cluster::*;
pub use crate::store::{cluster_ips, fault_on, take_fault};

mod changes;
mod checks;
mod cloud_config;
mod delete;
mod lifecycle;
mod read;

pub use changes::*;
pub use checks::*;
pub use cloud_config::*;
pub use delete::*;
pub(crate) use lifecycle::*;
pub use read::*;

// ---------------------------------------------------------------- faults (admin API)

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

#[cfg(test)]
mod tests;
