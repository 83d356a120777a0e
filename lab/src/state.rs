//! What the lab knows: tenant, projects, API keys, and (as they land)
//! gateways, pools, accounts and clusters. One lock guards it all: the lab
//! serves tests, not traffic, and a single lock keeps every change atomic.
//! The same lock keeps a saved snapshot (persist.rs) consistent: it never
//! holds half of a change made under one lock.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::faults::Faults;
use crate::ids;
use crate::persist::Persist;

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
    pub gateways: Vec<crate::pools::Gateway>,
    pub accounts: Vec<crate::accounts::Account>,
    pub profiles: Vec<crate::profiles::Profile>,
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
    pub clusters: Vec<crate::clusters::Cluster>,
    /// Sticky lifecycle faults for clusters (`/lab/cluster-faults`).
    pub cluster_faults: Vec<(u64, crate::clusters::ClusterFault)>,
    pub next_cluster_fault: u64,
    /// Clusters of other clouds (`/lab/clusters` with a `cloud_type`):
    /// only shown, so that tests can point the provider at a uid that is not
    /// a vSphere cluster. Absent from older data files.
    #[serde(default)]
    pub foreign_clusters: Vec<crate::clusters::ForeignCluster>,
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
            profiles: crate::profiles::seeded(),
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

/// How the lab reaches "its" vCenter: the one the gateways it emulates
/// work in (vcsim, or a vCenter given at start).
#[derive(Clone)]
pub struct VcenterAccess {
    pub target: vsphere::Target,
    pub user: String,
    pub password: String,
}

/// Not derived: `Options` (and so this) is printed in start-up logs and
/// test failures, where the vCenter password must not appear.
impl std::fmt::Debug for VcenterAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VcenterAccess")
            .field("target", &self.target)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Start-up options.
#[derive(Clone, Debug)]
pub struct Options {
    pub vcenter: Option<VcenterAccess>,
    /// Multiplies every lifecycle delay (registration, provisioning):
    /// 1.0 is real time, 0.001 turns minutes into a fraction of a second.
    pub time_scale: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            vcenter: None,
            time_scale: 1.0,
        }
    }
}

/// Shared by every request handler.
#[derive(Clone)]
pub struct Lab {
    pub store: Arc<Mutex<Store>>,
    pub faults: Arc<Mutex<Faults>>,
    /// Calls per "METHOD /path", for tests that count API calls.
    pub calls: Arc<Mutex<BTreeMap<String, u64>>>,
    pub options: Arc<Options>,
    /// The lab's clock at its time scale (also in the store, for events).
    pub clock: crate::clock::Clock,
    /// `http://127.0.0.1:PORT`, known once the lab listens.
    pub base_url: Arc<std::sync::OnceLock<String>>,
    /// Responses checked against the Palette API spec, when switched on.
    pub contract: Arc<crate::contract::Checker>,
    /// The data file's writer, with `--data`; in memory without.
    pub(crate) persist: Option<Arc<Persist>>,
    /// Palette's request rate per tenant, when switched on.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// Set when the lab stops, so that its background tasks stop with it
    /// rather than go on changing a store nobody serves or saves.
    stopped: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Lab {
    pub fn new(store: Store) -> Lab {
        Self::with_options(store, Options::default())
    }

    pub fn with_options(mut store: Store, options: Options) -> Lab {
        let clock = crate::clock::Clock::new(options.time_scale);
        store.clock = clock;
        Lab {
            clock,
            store: Arc::new(Mutex::new(store)),
            faults: Arc::new(Mutex::new(Faults::default())),
            calls: Arc::new(Mutex::new(BTreeMap::new())),
            options: Arc::new(options),
            base_url: Arc::new(std::sync::OnceLock::new()),
            contract: Arc::new(crate::contract::Checker::from_env()),
            persist: None,
            throttle: Arc::default(),
            stopped: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    /// A lifecycle delay at the lab's time scale.
    pub fn scaled(&self, real: std::time::Duration) -> std::time::Duration {
        real.mul_f64(self.options.time_scale.max(0.0))
    }

    pub fn base_url(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }

    /// The store, locked. A change made through it is saved to the data
    /// file (when there is one) once the lock is released.
    pub fn store(&self) -> StoreGuard<'_> {
        StoreGuard {
            guard: self.store.lock().expect("lab store lock"),
            persist: self.persist.as_deref(),
            changed: false,
        }
    }

    /// Runs a lifecycle step in the background until it ends or the lab
    /// stops: a stopped lab's tasks must not go on making VMs for a store
    /// that a restarted lab now owns.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut stopped = self.stopped.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                biased;
                _ = stopped.wait_for(|s| *s) => {}
                () = task => {}
            }
        });
    }

    /// Ends the background tasks started with [`Lab::spawn`].
    pub fn stop_tasks(&self) {
        self.stopped.send_replace(true);
    }
}

/// The locked store. Mutable access marks it changed, so that every change,
/// by a request or a background task, reaches the data file without each
/// place that changes the store having to remember to save.
pub struct StoreGuard<'a> {
    guard: MutexGuard<'a, Store>,
    persist: Option<&'a Persist>,
    changed: bool,
}

impl Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.guard
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.changed = true;
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock: the writer reads the change count under the
        // same lock, so a count it saw always matches the state it saved.
        if let (true, Some(p)) = (self.changed, self.persist) {
            p.changed();
        }
    }
}

/// The scope a request acts in: the tenant, or one project (header
/// `ProjectUid`). Objects of one project are invisible from another.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    #[default]
    Tenant,
    Project(String),
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
