//! What the lab knows: tenant, projects, API keys, gateways, pools,
//! accounts, clusters and events. One lock guards it all (see
//! [`crate::state::Lab::store`]): the lab serves tests, not traffic, and a
//! single lock keeps every change atomic. The same lock keeps a saved
//! snapshot (persist.rs) consistent: it never holds half of a change made
//! under one lock.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ids;
// Defined with the objects that carry it; re-exported as the store's word.
pub use crate::model::Scope;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub uid: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub uid: String,
    pub name: String,
    /// Keys saved before roles existed were admins' keys.
    #[serde(default)]
    pub role: Role,
}

/// What a key's user may do, as Palette's roles grant it: an admin
/// everything, a viewer reads (the console's "Project Viewer" and "Tenant
/// Viewer").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    Admin,
    Viewer,
}

impl Role {
    /// Whether the role allows the request. Palette answers a few reads to
    /// POST: the dashboard's searches and listings take their filter in
    /// the body.
    pub fn allows(self, method: &axum::http::Method, path: &str) -> bool {
        match self {
            Role::Admin => true,
            Role::Viewer => {
                matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD)
                    || (*method == axum::http::Method::POST && path.starts_with("/v1/dashboard/"))
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct Store {
    pub org_name: String,
    pub tenant_uid: String,
    pub projects: Vec<Project>,
    /// API key -> the user it belongs to.
    pub keys: HashMap<String, User>,
    pub gateways: Vec<crate::model::gateway::Gateway>,
    pub accounts: Vec<crate::model::account::Account>,
    pub profiles: Vec<crate::model::profile::Profile>,
    /// Pairing codes issued, with the scope they pair into and the gateway
    /// that used them.
    pub pairing_codes: Vec<PairingCode>,
    /// Events per object, as the console's Events tab shows them.
    pub events: Vec<LabEvent>,
    /// Stand-in clusters made through `/lab/clusters`: a name on an account,
    /// no VMs. Tests of gateway and account deletion use them to stand for a
    /// cluster without building one.
    pub cluster_refs: Vec<ClusterRef>,
    /// Spectro clusters (`/v1/spectroclusters`), until they are Deleted.
    pub clusters: Vec<crate::model::cluster::Cluster>,
    /// Sticky lifecycle faults for clusters (`/lab/cluster-faults`).
    pub cluster_faults: Vec<(u64, crate::model::cluster::ClusterFault)>,
    pub next_cluster_fault: u64,
    /// Clusters of other clouds (`/lab/clusters` with a `cloud_type`):
    /// only shown, so that tests can point the provider at a uid that is not
    /// a vSphere cluster. Absent from older data files.
    #[serde(default)]
    pub foreign_clusters: Vec<crate::model::cluster::ForeignCluster>,
    /// The lab's clock (set from the time scale at start; never saved: a
    /// restarted lab starts its own).
    #[serde(skip)]
    pub clock: crate::clock::Clock,
}

/// Not derived: the API keys (the map's keys) and pairing codes are
/// secrets; the rest is summed up by count.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("org_name", &self.org_name)
            .field("tenant_uid", &self.tenant_uid)
            .field("projects", &self.projects)
            .field("keys", &format_args!("{} (redacted)", self.keys.len()))
            .field("gateways", &self.gateways.len())
            .field("accounts", &self.accounts.len())
            .field("pairing_codes", &self.pairing_codes.len())
            .field("cluster_refs", &self.cluster_refs)
            .field("clusters", &self.clusters.len())
            .field("foreign_clusters", &self.foreign_clusters)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterRef {
    pub uid: String,
    pub name: String,
    pub account_uid: String,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PairingCode {
    pub code: String,
    pub scope: Scope,
    pub used_by: Option<String>,
}

/// Not derived: a pairing code lets an installer join the tenant.
impl std::fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingCode")
            .field("code", &"<redacted>")
            .field("scope", &self.scope)
            .field("used_by", &self.used_by)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabEvent {
    pub uid: String,
    /// The object's kind as in `/v1/events/components/{objectKind}/{objectUid}`.
    pub kind: String,
    pub object_uid: String,
    pub object_name: String,
    pub reason: String,
    pub message: String,
    /// `Normal`, `Warning` or `Error`.
    pub severity: String,
    pub time: String,
}

impl Store {
    /// A tenant with two projects, "Default" and "Production", as a new
    /// Palette tenant has a Default project.
    pub fn seeded() -> Store {
        Store {
            org_name: "palette-lab".into(),
            tenant_uid: ids::new_uid(),
            projects: vec![
                Project {
                    uid: ids::new_uid(),
                    name: "Default".into(),
                },
                Project {
                    uid: ids::new_uid(),
                    name: "Production".into(),
                },
            ],
            keys: HashMap::new(),
            gateways: Vec::new(),
            accounts: Vec::new(),
            profiles: crate::model::profile::seeded(),
            pairing_codes: Vec::new(),
            events: Vec::new(),
            cluster_refs: Vec::new(),
            clusters: Vec::new(),
            cluster_faults: Vec::new(),
            next_cluster_fault: 0,
            foreign_clusters: Vec::new(),
            clock: crate::clock::Clock::default(),
        }
    }

    pub fn project(&self, uid: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.uid == uid)
    }

    /// Names of the clusters built on a cloud account: every cluster not yet
    /// Deleted (a Deleting one still has VMs the account reaches), and the
    /// stand-ins.
    pub fn clusters_using_account(&self, account_uid: &str) -> Vec<String> {
        self.clusters
            .iter()
            .filter(|c| c.account_uid == account_uid)
            .map(|c| c.name.clone())
            .chain(
                self.cluster_refs
                    .iter()
                    .filter(|c| c.account_uid == account_uid)
                    .map(|c| c.name.clone()),
            )
            .collect()
    }

    /// Records an event on an object.
    pub fn event(
        &mut self,
        kind: &str,
        uid: &str,
        name: &str,
        severity: &str,
        reason: &str,
        message: impl Into<String>,
    ) {
        let message = message.into();
        tracing::info!(kind, uid, name, reason, %message, "event");
        self.events.push(LabEvent {
            uid: ids::new_uid(),
            kind: kind.into(),
            object_uid: uid.into(),
            object_name: name.into(),
            reason: reason.into(),
            message,
            severity: severity.into(),
            time: self.clock.now(),
        });
    }

    pub fn add_key(&mut self, user_name: &str, role: Role) -> String {
        let key = ids::new_api_key();
        self.keys.insert(
            key.clone(),
            User {
                uid: ids::new_uid(),
                name: user_name.into(),
                role,
            },
        );
        key
    }
}

// ---------------------------------------------------------------- asked by gateways and clusters alike

pub fn fault_on(
    store: &Store,
    kind: crate::model::cluster::ClusterFaultKind,
    cluster: &str,
) -> bool {
    store
        .cluster_faults
        .iter()
        .any(|(_, f)| f.kind == kind && f.cluster_name.as_deref().is_none_or(|n| n == cluster))
}

/// Whether a fault strikes now, counting it down (and removing it at
/// zero) when it was given a number of times.
pub fn take_fault(
    store: &mut Store,
    kind: crate::model::cluster::ClusterFaultKind,
    cluster: &str,
) -> bool {
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

/// Every address the clusters hold, so that a gateway reset keeps them.
pub fn cluster_ips(
    store: &Store,
    gateway_uid: &str,
) -> std::collections::BTreeSet<std::net::IpAddr> {
    store
        .clusters
        .iter()
        .filter(|c| c.gateway_uid == gateway_uid)
        .flat_map(|c| c.nodes.iter().filter_map(|n| n.ip))
        .collect()
}

#[cfg(test)]
mod role_tests {
    use super::Role;
    use axum::http::Method;

    #[test]
    fn a_viewer_reads_and_searches_but_writes_nothing() {
        let v = Role::Viewer;
        assert!(v.allows(&Method::GET, "/v1/overlords"));
        assert!(v.allows(&Method::POST, "/v1/dashboard/spectroclusters/search"));
        assert!(!v.allows(&Method::POST, "/v1/spectroclusters/vsphere"));
        assert!(!v.allows(&Method::POST, "/v1/spectroclusters/vsphere/validate"));
        assert!(!v.allows(&Method::PUT, "/v1/overlords/vsphere/u/pools/p"));
        assert!(!v.allows(&Method::PATCH, "/v1/spectroclusters/u/profiles"));
        assert!(!v.allows(&Method::DELETE, "/v1/cloudaccounts/vsphere/u"));
        assert!(Role::Admin.allows(&Method::DELETE, "/v1/cloudaccounts/vsphere/u"));
    }
}
