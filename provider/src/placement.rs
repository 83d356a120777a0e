//! Placement names checked against vCenter's inventory at plan time. A
//! typo in a datastore name otherwise passes the plan and fails minutes
//! into the apply (after the installer OVA was downloaded, or Palette
//! started a cluster); here it is a plan error at the attribute, with the
//! names that do exist, closest first. The checks are pure functions of
//! what the inventory listed; the resources do the reading.

use tfplugin::AttrPath;
use vsphere::vm::{ClusterResources, DatacenterInventory};

/// The names one placement asks for, and where each was written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wanted {
    /// The block's path: `installer[0]`, `machine_pool[...].placement[0]`.
    pub at: Vec<(String, Option<usize>)>,
    pub datacenter: String,
    /// Where the datacenter was written, when not in the block itself
    /// (a cluster's `cloud_config[0].datacenter`).
    pub datacenter_at: Option<AttrPath>,
    pub compute_cluster: String,
    pub datastore: String,
    pub network: String,
    pub resource_pool: String,
}

/// A plan error: where and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub at: AttrPath,
    pub detail: String,
    /// Which of the placements [`inspect`] was given.
    pub wanted: usize,
}

impl Wanted {
    fn path(&self, attr: &str) -> AttrPath {
        let mut p = AttrPath::root();
        for (name, index) in &self.at {
            p = p.then_attr(name);
            if let Some(i) = index {
                p = p.then_index(*i);
            }
        }
        p.then_attr(attr)
    }
}

/// Levenshtein distance, case-insensitively: how far a typo is from a name.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(ca != cb));
            diag = above;
        }
    }
    row[b.len()]
}

/// What to say instead of a name that is not there: the closest (up to
/// three), or that there is none.
pub fn suggest(have: &[String]) -> impl Fn(&str) -> String + '_ {
    move |want: &str| {
        if have.is_empty() {
            return "There are none.".to_string();
        }
        let mut ranked: Vec<&String> = have.iter().collect();
        ranked.sort_by_key(|h| (distance(want, h), h.to_string()));
        let shown: Vec<String> = ranked.iter().take(3).map(|h| format!("{h:?}")).collect();
        let more = if have.len() > 3 {
            format!(" ({} in all)", have.len())
        } else {
            String::new()
        };
        format!("Closest that exist: {}{more}.", shown.join(", "))
    }
}

/// The datacenter and compute cluster against the datacenters listed.
/// `None` when both exist (the cluster's resources are then checked with
/// [`check_resources`]).
pub fn check_datacenter(w: &Wanted, dcs: &[DatacenterInventory]) -> Option<Problem> {
    if w.datacenter.is_empty() {
        return None;
    }
    let Some(dc) = dcs.iter().find(|d| d.name == w.datacenter) else {
        let names: Vec<String> = dcs.iter().map(|d| d.name.clone()).collect();
        return Some(Problem {
            at: w
                .datacenter_at
                .clone()
                .unwrap_or_else(|| w.path("datacenter")),
            detail: format!(
                "vCenter has no datacenter {:?}. {}",
                w.datacenter,
                suggest(&names)(&w.datacenter)
            ),
            wanted: 0,
        });
    };
    if w.compute_cluster.is_empty() || dc.compute_clusters.contains(&w.compute_cluster) {
        return None;
    }
    Some(Problem {
        at: w.path("compute_cluster"),
        detail: format!(
            "Datacenter {:?} has no compute cluster {:?}. {}",
            w.datacenter,
            w.compute_cluster,
            suggest(&dc.compute_clusters)(&w.compute_cluster)
        ),
        wanted: 0,
    })
}

/// The datastore, network and resource pool against what the compute
/// cluster offers.
pub fn check_resources(w: &Wanted, r: &ClusterResources) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut one = |attr: &str, what: &str, want: &str, have: &[String]| {
        if want.is_empty() || have.iter().any(|h| h == want) {
            return;
        }
        out.push(Problem {
            at: w.path(attr),
            detail: format!(
                "Compute cluster {:?} in datacenter {:?} has no {what} {want:?}. {}",
                w.compute_cluster,
                w.datacenter,
                suggest(have)(want)
            ),
            wanted: 0,
        });
    };
    one("datastore", "datastore", &w.datastore, &r.datastores);
    one("network", "network", &w.network, &r.networks);
    // The root pool may be written as empty, `Resources` or `/Resources`.
    let pool = w.resource_pool.trim_matches('/');
    if !pool.is_empty() && pool != "Resources" {
        let pools: Vec<String> = r
            .resource_pools
            .iter()
            .map(|p| p.trim_matches('/').to_string())
            .collect();
        let bare = pool.strip_prefix("Resources/").unwrap_or(pool);
        let found = pools
            .iter()
            .any(|p| p == pool || p.strip_prefix("Resources/") == Some(bare));
        if !found {
            one("resource_pool", "resource pool", pool, &pools);
        }
    }
    out
}

/// Where the inventory is read: vCenter itself (a gateway has its
/// credentials), or Palette's view of it through a gateway (a cluster has
/// only its cloud account).
#[async_trait::async_trait]
pub trait Inventory: Sync {
    async fn datacenters(&self) -> Result<Vec<DatacenterInventory>, Unread>;
    async fn cluster_resources(
        &self,
        datacenter: &str,
        cluster: &str,
    ) -> Result<ClusterResources, Unread>;
}

/// Why the inventory was not read.
#[derive(Debug)]
pub enum Unread {
    /// The datacenter or compute cluster asked for does not exist.
    NotFound,
    Failed(String),
}

impl Unread {
    fn why(self) -> String {
        match self {
            Unread::NotFound => "not found".to_string(),
            Unread::Failed(why) => why,
        }
    }
}

#[async_trait::async_trait]
impl Inventory for vsphere::Session {
    async fn datacenters(&self) -> Result<Vec<DatacenterInventory>, Unread> {
        vsphere::Session::datacenters(self)
            .await
            .map_err(|e| Unread::Failed(e.to_string()))
    }
    async fn cluster_resources(
        &self,
        datacenter: &str,
        cluster: &str,
    ) -> Result<ClusterResources, Unread> {
        vsphere::Session::cluster_resources(self, datacenter, cluster)
            .await
            .map_err(|e| match e {
                vsphere::Error::NotFound { .. } => Unread::NotFound,
                e => Unread::Failed(e.to_string()),
            })
    }
}

/// Reads what the placements need (datacenters once, each compute
/// cluster's resources once) and checks them; `Err` says why the
/// inventory could not be read.
pub async fn inspect(inv: &dyn Inventory, wanted: &[Wanted]) -> Result<Vec<Problem>, String> {
    let dcs = inv.datacenters().await.map_err(Unread::why)?;
    let mut read: Vec<((String, String), ClusterResources)> = Vec::new();
    let mut out = Vec::new();
    for (i, w) in wanted.iter().enumerate() {
        let from = out.len();
        inspect_one(inv, w, &dcs, &mut read, &mut out).await?;
        for p in &mut out[from..] {
            p.wanted = i;
        }
    }
    Ok(out)
}

async fn inspect_one(
    inv: &dyn Inventory,
    w: &Wanted,
    dcs: &[DatacenterInventory],
    read: &mut Vec<((String, String), ClusterResources)>,
    out: &mut Vec<Problem>,
) -> Result<(), String> {
    match check_datacenter(w, dcs) {
        // Not a cluster, but perhaps a standalone host, which the
        // datacenter listing leaves out: its resources tell.
        Some(p) if p.at == w.path("compute_cluster") => {
            match inv
                .cluster_resources(&w.datacenter, &w.compute_cluster)
                .await
            {
                Ok(r) => out.extend(check_resources(w, &r)),
                Err(Unread::NotFound) => out.push(p),
                Err(e) => return Err(e.why()),
            }
            return Ok(());
        }
        Some(p) => {
            out.push(p);
            return Ok(());
        }
        None => {}
    }
    if w.datacenter.is_empty() || w.compute_cluster.is_empty() {
        return Ok(());
    }
    let key = (w.datacenter.clone(), w.compute_cluster.clone());
    let r = match read.iter().find(|(k, _)| *k == key) {
        Some((_, r)) => r.clone(),
        None => {
            let r = inv
                .cluster_resources(&w.datacenter, &w.compute_cluster)
                .await
                .map_err(Unread::why)?;
            read.push((key, r.clone()));
            r
        }
    };
    out.extend(check_resources(w, &r));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dcs() -> Vec<DatacenterInventory> {
        vec![DatacenterInventory {
            name: "DC0".into(),
            compute_clusters: vec!["DC0_C0".into(), "DC0_C1".into()],
            folders: vec![],
        }]
    }

    fn wanted() -> Wanted {
        Wanted {
            at: vec![("installer".into(), Some(0))],
            datacenter: "DC0".into(),
            datacenter_at: None,
            compute_cluster: "DC0_C0".into(),
            datastore: "LocalDS_0".into(),
            network: "VM Network".into(),
            resource_pool: String::new(),
        }
    }

    fn resources() -> ClusterResources {
        ClusterResources {
            datastores: vec!["LocalDS_0".into(), "LocalDS_1".into(), "SharedDS".into()],
            networks: vec!["VM Network".into(), "DVS0-DVUplinks".into()],
            resource_pools: vec!["Resources".into(), "Resources/apps".into()],
        }
    }

    #[test]
    fn names_that_exist_pass() {
        assert_eq!(check_datacenter(&wanted(), &dcs()), None);
        assert!(check_resources(&wanted(), &resources()).is_empty());
        let mut w = wanted();
        w.resource_pool = "apps".into();
        assert!(check_resources(&w, &resources()).is_empty());
        w.resource_pool = "Resources/apps".into();
        assert!(check_resources(&w, &resources()).is_empty());
    }

    #[test]
    fn a_typo_is_an_error_at_the_attribute_with_the_closest_names() {
        let mut w = wanted();
        w.datastore = "LocalDS_9".into();
        w.network = "VM Netwrok".into();
        let p = check_resources(&w, &resources());
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].at.to_string(), "installer[0].datastore");
        assert_eq!(
            p[0].detail,
            "Compute cluster \"DC0_C0\" in datacenter \"DC0\" has no datastore \"LocalDS_9\". \
             Closest that exist: \"LocalDS_0\", \"LocalDS_1\", \"SharedDS\"."
        );
        assert_eq!(p[1].at.to_string(), "installer[0].network");
        assert!(
            p[1].detail.contains("Closest that exist: \"VM Network\""),
            "{p:?}"
        );

        w = wanted();
        w.compute_cluster = "DC0_C7".into();
        let p = check_datacenter(&w, &dcs()).unwrap();
        assert_eq!(p.at.to_string(), "installer[0].compute_cluster");
        assert!(p.detail.contains("\"DC0_C0\", \"DC0_C1\""), "{p:?}");

        w = wanted();
        w.datacenter = "DC9".into();
        w.datacenter_at = Some(
            AttrPath::attr("cloud_config")
                .then_index(0)
                .then_attr("datacenter"),
        );
        let p = check_datacenter(&w, &dcs()).unwrap();
        assert_eq!(p.at.to_string(), "cloud_config[0].datacenter");
        assert!(
            p.detail.starts_with("vCenter has no datacenter \"DC9\"."),
            "{p:?}"
        );

        w = wanted();
        w.resource_pool = "Resources/ops".into();
        let p = check_resources(&w, &resources());
        assert_eq!(p[0].at.to_string(), "installer[0].resource_pool");
    }

    #[test]
    fn suggestions_rank_by_distance_and_say_how_many_there_are() {
        let have: Vec<String> = ["alpha", "beta", "gamma", "delta", "LocalDS_0"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            suggest(&have)("localds_o"),
            "Closest that exist: \"LocalDS_0\", \"alpha\", \"beta\" (5 in all)."
        );
        assert_eq!(suggest(&[])("x"), "There are none.");
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
