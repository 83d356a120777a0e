//! What the lab knows: tenant, projects, API keys, and (as they land)
//! gateways, pools, accounts and clusters. One lock guards it all: the lab
//! serves tests, not traffic, and a single lock keeps every change atomic.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::faults::Faults;
use crate::ids;

#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub uid: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub uid: String,
    pub name: String,
}

#[derive(Debug)]
pub struct Store {
    pub org_name: String,
    pub tenant_uid: String,
    pub projects: Vec<Project>,
    /// API key -> the user it belongs to.
    pub keys: HashMap<String, User>,
    pub gateways: Vec<crate::pools::Gateway>,
    pub accounts: Vec<crate::accounts::Account>,
    pub profiles: Vec<crate::profiles::Profile>,
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
        }
    }

    pub fn project(&self, uid: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.uid == uid)
    }

    pub fn add_key(&mut self, user_name: &str) -> String {
        let key = ids::new_api_key();
        self.keys.insert(
            key.clone(),
            User {
                uid: ids::new_uid(),
                name: user_name.into(),
            },
        );
        key
    }
}

/// Shared by every request handler.
#[derive(Clone)]
pub struct Lab {
    pub store: Arc<Mutex<Store>>,
    pub faults: Arc<Mutex<Faults>>,
    /// Calls per "METHOD /path", for tests that count API calls.
    pub calls: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Lab {
    pub fn new(store: Store) -> Lab {
        Lab {
            store: Arc::new(Mutex::new(store)),
            faults: Arc::new(Mutex::new(Faults::default())),
            calls: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("lab store lock")
    }
}

/// The scope a request acts in: the tenant, or one project (header
/// `ProjectUid`). Objects of one project are invisible from another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Tenant,
    Project(String),
}
