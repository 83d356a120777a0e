//! A private cloud gateway (the API's "overlord") as the lab stores it, with
//! its IP pools.

use std::collections::BTreeSet;
use std::net::IpAddr;

use palette_api::models::{
    V1IpPoolEntity, V1IpPoolEntitySpec, V1IpPoolStatus, V1ObjectMeta, V1OverloadStatus, V1Overlord,
    V1Pool, V1SpectroClusterHealthStatus,
};
use palette_api::pool::PoolRange;

use super::Scope;

/// The extraConfig key naming the gateway a node VM was made for.
pub const MARKER: &str = "guestinfo.palette.gateway";

#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Gateway {
    pub uid: String,
    pub name: String,
    pub scope: Scope,
    pub state: String,
    pub pools: Vec<Pool>,
    /// The installer side: the pairing code it registered with and the
    /// installer VM (managed object id) it came from.
    pub pairing_code: Option<String>,
    pub installer_vm: Option<String>,
    /// The gateway's own vSphere account (uid, spec with password).
    pub account: Option<(String, palette_api::models::V1VsphereCloudAccount)>,
    pub cloud_config: Option<palette_api::models::V1OverlordVsphereCloudConfig>,
    /// Managed object ids of the gateway's VMs in vCenter.
    pub vms: Vec<String>,
    pub ip_address: Option<String>,
    pub cluster_uid: String,
    pub created: String,
    /// The upgrade Palette released for the gateway (through the admin
    /// API), from its notification to its completion.
    #[serde(default)]
    pub upgrade: Option<Upgrade>,
    /// Bumped on every lifecycle change so a stale background step can
    /// tell that it no longer applies.
    pub generation: u64,
}

/// An upgrade of the gateway: Palette files it as a notification of the
/// gateway's own cluster, and applying it (PATCH packRefs?notify=) runs a
/// scaled few minutes in the background (crate::upgrades).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Upgrade {
    pub notification_uid: String,
    /// Lab time the upgrade was released.
    pub created: String,
    /// Reviewed (PATCH .../ack).
    pub acked: bool,
    /// Done: applied (when it completes) or dismissed unapplied (PATCH .../done).
    pub done: bool,
    /// Lab time the upgrade started, once applied.
    pub started: Option<String>,
    /// Lab time it completed.
    pub completed: Option<String>,
}

impl Upgrade {
    /// Released, and neither applied nor dismissed: what the console shows
    /// as an upgrade to apply.
    pub fn available(&self) -> bool {
        !self.done && self.started.is_none()
    }

    /// Applied and still running.
    pub fn running(&self) -> bool {
        self.started.is_some() && self.completed.is_none()
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    pub uid: String,
    pub name: String,
    pub spec: V1Pool,
    #[serde(with = "RangeDef")]
    pub range: PoolRange,
    pub restrict_to_single_cluster: bool,
    pub allotted: BTreeSet<IpAddr>,
    pub clusters: BTreeSet<String>,
}

/// [`PoolRange`] is the API crate's and carries no serde of its own.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(remote = "PoolRange")]
struct RangeDef {
    first: IpAddr,
    last: IpAddr,
}

impl Gateway {
    pub(crate) fn to_api(&self) -> V1Overlord {
        V1Overlord {
            kind: Some("Overlord".into()),
            metadata: Some(V1ObjectMeta {
                name: Some(self.name.clone()),
                uid: Some(self.uid.clone()),
                creation_timestamp: (!self.created.is_empty()).then(|| self.created.clone()),
                ..Default::default()
            }),
            spec: Some(palette_api::models::V1OverloadSpec {
                cloud_account_uid: self.account.as_ref().map(|(u, _)| u.clone()),
                ip_address: self.ip_address.clone(),
                spectro_cluster_uid: (!self.cluster_uid.is_empty())
                    .then(|| self.cluster_uid.clone()),
                ..Default::default()
            }),
            status: Some(V1OverloadStatus {
                state: Some(self.state.clone()),
                health: Some(V1SpectroClusterHealthStatus {
                    state: Some(
                        if self.state == "Running" {
                            "Healthy"
                        } else {
                            "Unknown"
                        }
                        .into(),
                    ),
                    ..Default::default()
                }),
                is_active: Some(true),
                is_ready: Some(self.state == "Running"),
                notifications: Some(palette_api::models::V1ClusterNotificationStatus {
                    is_available: Some(self.upgrade.as_ref().is_some_and(Upgrade::available)),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }
}

impl Pool {
    pub(crate) fn to_api(&self, gateway_uid: &str) -> V1IpPoolEntity {
        V1IpPoolEntity {
            metadata: Some(V1ObjectMeta {
                name: Some(self.name.clone()),
                uid: Some(self.uid.clone()),
                ..Default::default()
            }),
            spec: Some(V1IpPoolEntitySpec {
                pool: Some(self.spec.clone()),
                priavet_gateway_uid: Some(gateway_uid.to_string()),
                restrict_to_single_cluster: Some(self.restrict_to_single_cluster),
            }),
            status: Some(V1IpPoolStatus {
                allotted_ips: Some(self.allotted.iter().map(|ip| ip.to_string()).collect()),
                associated_clusters: Some(self.clusters.iter().cloned().collect()),
                in_use: Some(!self.allotted.is_empty()),
            }),
        }
    }
}

/// Finds a gateway visible from `scope`: a project sees its own and the
/// tenant's gateways, the tenant only its own.
pub fn visible(g: &Gateway, scope: &Scope) -> bool {
    g.scope == Scope::Tenant || &g.scope == scope
}

/// Not derived: the pairing code lets an installer join the tenant, and the
/// account's spec holds the vCenter password.
impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("uid", &self.uid)
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("state", &self.state)
            .field("pools", &self.pools)
            .field(
                "pairing_code",
                &self.pairing_code.as_ref().map(|_| "<redacted>"),
            )
            .field("installer_vm", &self.installer_vm)
            .field("account", &self.account.as_ref().map(|(uid, _)| uid))
            .field("vms", &self.vms)
            .field("ip_address", &self.ip_address)
            .field("cluster_uid", &self.cluster_uid)
            .field("upgrade", &self.upgrade)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}
