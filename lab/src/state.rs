//! The lab's shared handle ([`Lab`]): the store behind its lock, the data
//! file's writer, the clock, faults, call counts, the contract checker and
//! the request rate; and the start-up [`Options`]. The stored objects
//! themselves are in crate::store and crate::model (re-exported here).

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::faults::Faults;
use crate::persist::Persist;
pub use crate::store::{ClusterRef, LabEvent, PairingCode, Project, Role, Scope, Store, User};

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
    pub contract: Arc<crate::spec::Checker>,
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
            contract: Arc::new(crate::spec::Checker::from_env()),
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
