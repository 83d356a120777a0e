//! The preflight's verdicts, pure: facts read from vCenter in, one check
//! per prerequisite out, each passed or failed with the reason.

use std::collections::BTreeMap;

use vsphere::prereq::HostFacts;

use super::privileges::{ROOT_LEVEL, SPECTRO};

/// vCenter 6.7 Update 3's first build: the document asks for 6.7U3 or later.
const VC_67U3_BUILD: u64 = 14_367_737;

/// What the preflight read.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub version: String,
    pub build: String,
    /// The account as vCenter names it.
    pub user: String,
    /// Privileges the account lacks: (object, ids) for the root folder
    /// (root-level role) and each object of the Spectro role.
    pub missing_root: Vec<(String, Vec<String>)>,
    pub missing_spectro: Vec<(String, Vec<String>)>,
    /// Each compute cluster's hosts.
    pub hosts: BTreeMap<String, Vec<HostFacts>>,
    pub datastore: String,
    /// Each compute cluster's resource pool paths (`Resources`,
    /// `Resources/palette`).
    pub pools: BTreeMap<String, Vec<String>>,
    pub resource_pool: Option<String>,
    pub datacenter: String,
    /// The datacenter's `k8s-region` tag.
    pub region: Option<String>,
    /// Each compute cluster's `k8s-zone` tag.
    pub zones: BTreeMap<String, Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

fn check(name: &'static str, problems: Vec<String>, ok: String) -> Check {
    if problems.is_empty() {
        Check {
            name,
            passed: true,
            detail: ok,
        }
    } else {
        Check {
            name,
            passed: false,
            detail: problems.join("; "),
        }
    }
}

pub fn judge(f: &Facts) -> Vec<Check> {
    vec![
        version(f),
        privileges(f),
        ntp(f),
        shared_datastore(f),
        resource_pool(f),
        zone_tags(f),
    ]
}

fn version(f: &Facts) -> Check {
    let parts: Vec<u64> = f
        .version
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let (major, minor) = (
        parts.first().copied().unwrap_or(0),
        parts.get(1).copied().unwrap_or(0),
    );
    let build: u64 = f.build.parse().unwrap_or(0);
    let shown = format!("vCenter {} (build {})", f.version, f.build);
    let ok = (major, minor) > (6, 7) || ((major, minor) == (6, 7) && build >= VC_67U3_BUILD);
    let problems = if ok {
        vec![]
    } else {
        vec![format!(
            "{shown} is older than the 6.7 Update 3 (build {VC_67U3_BUILD}) the document requires"
        )]
    };
    check("version", problems, format!("{shown} is 6.7U3 or later"))
}

fn privileges(f: &Facts) -> Check {
    let name = |id: &str| {
        ROOT_LEVEL
            .iter()
            .chain(SPECTRO)
            .find(|(i, _)| *i == id)
            .map(|(_, n)| format!("{id} ({n})"))
            .unwrap_or_else(|| id.to_string())
    };
    let mut problems = Vec::new();
    for (role, missing) in [
        ("root-level role", &f.missing_root),
        ("Spectro role", &f.missing_spectro),
    ] {
        for (object, ids) in missing {
            if ids.is_empty() {
                continue;
            }
            let list: Vec<String> = ids.iter().map(|i| name(i)).collect();
            problems.push(format!(
                "{} lacks on {object} ({role}): {}",
                f.user,
                list.join(", ")
            ));
        }
    }
    let objects = f.missing_spectro.len();
    check(
        "privileges",
        problems,
        format!(
            "{} holds the {} root-level privileges on the root folder and the {} Spectro role privileges on {objects} objects",
            f.user,
            ROOT_LEVEL.len(),
            SPECTRO.len()
        ),
    )
}

fn ntp(f: &Facts) -> Check {
    let mut problems = Vec::new();
    let mut hosts = 0;
    for (cluster, list) in &f.hosts {
        for h in list {
            hosts += 1;
            if h.ntp_servers.is_empty() {
                problems.push(format!(
                    "host {} of {cluster} has no NTP server configured",
                    h.name
                ));
            } else if h.ntpd_running != Some(true) {
                problems.push(format!(
                    "host {} of {cluster} has NTP servers but its ntpd service is not running",
                    h.name
                ));
            }
        }
    }
    check(
        "ntp",
        problems,
        format!("NTP is configured and running on all {hosts} hosts"),
    )
}

fn shared_datastore(f: &Facts) -> Check {
    let mut problems = Vec::new();
    for (cluster, list) in &f.hosts {
        let without: Vec<&str> = list
            .iter()
            .filter(|h| !h.datastores.contains(&f.datastore))
            .map(|h| h.name.as_str())
            .collect();
        if list.is_empty() {
            problems.push(format!("compute cluster {cluster} has no hosts"));
        } else if !without.is_empty() {
            problems.push(format!(
                "datastore {} is not shared across {cluster}: {} of its {} hosts do not mount it ({})",
                f.datastore,
                without.len(),
                list.len(),
                without.join(", ")
            ));
        }
    }
    check(
        "shared_datastore",
        problems,
        format!(
            "datastore {} is mounted by every host of {}",
            f.datastore,
            f.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    )
}

fn resource_pool(f: &Facts) -> Check {
    let Some(want) = f.resource_pool.as_deref() else {
        return check(
            "resource_pool",
            vec![],
            "not asked: no `resource_pool` given, so the clusters' root pools are used".into(),
        );
    };
    let want = want.trim_matches('/');
    let mut problems = Vec::new();
    for (cluster, pools) in &f.pools {
        let found = pools.iter().any(|p| {
            p == want
                || p.split_once('/')
                    .is_some_and(|(_, below_root)| below_root == want)
        });
        if !found {
            let children: Vec<&str> = pools
                .iter()
                .filter_map(|p| p.split_once('/').map(|(_, b)| b))
                .collect();
            problems.push(format!(
                "compute cluster {cluster} has no resource pool {want:?} (it has: {})",
                if children.is_empty() {
                    "only its root pool".to_string()
                } else {
                    children.join(", ")
                }
            ));
        }
    }
    check(
        "resource_pool",
        problems,
        format!("resource pool {want:?} exists in every compute cluster"),
    )
}

fn zone_tags(f: &Facts) -> Check {
    let mut problems = Vec::new();
    if f.region.is_none() {
        problems.push(format!("datacenter {} has no k8s-region tag", f.datacenter));
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (cluster, zone) in &f.zones {
        match zone {
            None => problems.push(format!("compute cluster {cluster} has no k8s-zone tag")),
            Some(z) => {
                if let Some(other) = seen.insert(z, cluster) {
                    problems.push(format!(
                        "compute clusters {other} and {cluster} share k8s-zone {z:?}; zones must be unique"
                    ));
                }
            }
        }
    }
    check(
        "zone_tags",
        problems,
        format!(
            "datacenter {} is k8s-region {:?}; each compute cluster has its own k8s-zone",
            f.datacenter,
            f.region.clone().unwrap_or_default()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, ntp: bool, ds: &[&str]) -> HostFacts {
        HostFacts {
            name: name.into(),
            ntp_servers: if ntp {
                vec!["pool.ntp.org".into()]
            } else {
                vec![]
            },
            ntpd_running: Some(ntp),
            datastores: ds.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn good() -> Facts {
        Facts {
            version: "7.0.3".into(),
            build: "20150588".into(),
            user: "VSPHERE.LOCAL\\svc".into(),
            missing_root: vec![("root folder".into(), vec![])],
            missing_spectro: vec![("datacenter dc-1".into(), vec![])],
            hosts: [(
                "c1".to_string(),
                vec![host("h1", true, &["vsan"]), host("h2", true, &["vsan"])],
            )]
            .into(),
            datastore: "vsan".into(),
            pools: [(
                "c1".to_string(),
                vec!["Resources".into(), "Resources/palette".into()],
            )]
            .into(),
            resource_pool: Some("palette".into()),
            datacenter: "dc-1".into(),
            region: Some("region1".into()),
            zones: [("c1".to_string(), Some("az1".to_string()))].into(),
        }
    }

    fn failed(f: &Facts) -> Vec<(&'static str, String)> {
        judge(f)
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| (c.name, c.detail))
            .collect()
    }

    #[test]
    fn a_good_inventory_passes_every_check() {
        let checks = judge(&good());
        assert_eq!(checks.len(), 6);
        assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    }

    #[test]
    fn each_failure_is_named_where_it_is() {
        let mut f = good();
        f.version = "6.7.0".into();
        f.build = "13010631".into(); // 6.7 U2
        f.missing_spectro = vec![("datastore vsan".into(), vec!["Datastore.Browse".into()])];
        f.hosts.get_mut("c1").unwrap()[1] = host("h2", false, &["local-h2"]);
        f.pools.insert("c1".into(), vec!["Resources".into()]);
        f.zones.insert("c2".into(), Some("az1".into()));
        f.region = None;
        let got = failed(&f);
        let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "version",
                "privileges",
                "ntp",
                "shared_datastore",
                "resource_pool",
                "zone_tags"
            ]
        );
        let text = |n: &str| got.iter().find(|(x, _)| *x == n).unwrap().1.clone();
        assert!(text("version").contains("6.7.0 (build 13010631)"));
        assert!(text("privileges").contains(
            "on datastore vsan (Spectro role): Datastore.Browse (Datastore: Browse datastore)"
        ));
        assert!(text("ntp").contains("host h2 of c1 has no NTP server"));
        assert!(text("shared_datastore").contains("1 of its 2 hosts do not mount it (h2)"));
        assert!(text("resource_pool").contains("only its root pool"));
        assert!(text("zone_tags").contains("no k8s-region"));
        assert!(text("zone_tags").contains("c1 and c2 share k8s-zone \"az1\""));
    }

    #[test]
    fn versions_compare_by_number_and_6_7_by_build() {
        let v = |version: &str, build: &str| {
            let f = Facts {
                version: version.into(),
                build: build.into(),
                ..good()
            };
            version_passed(&f)
        };
        assert!(v("6.7.0", "14367737"));
        assert!(!v("6.7.0", "14367736"));
        assert!(!v("6.5.0", "99999999"));
        assert!(v("7.0.3", "1"));
        assert!(v("10.0.0", "1"));
    }

    fn version_passed(f: &Facts) -> bool {
        version(f).passed
    }

    #[test]
    fn ntp_configured_but_stopped_is_its_own_failure() {
        let mut f = good();
        f.hosts.get_mut("c1").unwrap()[0].ntpd_running = Some(false);
        assert!(failed(&f)[0].1.contains("ntpd service is not running"));
    }
}
