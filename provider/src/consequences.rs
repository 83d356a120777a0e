//! What a plan takes away, said where a reviewer reads it. A plan's diff
//! shows `-/+` or a smaller `count`, not that node VMs are deleted in
//! vCenter or that clusters lose the gateway that manages them; these
//! warnings name them, in `terraform plan` and in `plan -json`'s
//! diagnostics. Pure functions of prior and planned state (and, for a
//! gateway, the clusters found on it), so each is tested without I/O.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::cluster::{ClusterModel, Node};
use crate::gateway::GatewayModel;
use crate::ip_pool::IpPoolModel;

/// A warning's summary and detail.
pub type Warning = (String, String);

/// `a (10.0.0.1), b` for a cluster's nodes.
fn node_list(nodes: &[&Node]) -> String {
    nodes
        .iter()
        .map(|n| {
            let path = n.vm_path.str();
            let name = if path.is_empty() { n.name.str() } else { path };
            match n.ip.str() {
                "" => name.to_string(),
                ip => format!("{name} ({ip})"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn node_vms(n: impl Into<i64>) -> String {
    match n.into() {
        1 => "1 node VM".to_string(),
        n => format!("{n} node VMs"),
    }
}

/// Pool name to count; a count not known until apply is `None`.
fn pool_counts(v: &ClusterModel) -> BTreeMap<String, Option<i64>> {
    v.machine_pool
        .iter()
        .map(|p| (p.name.str().to_string(), p.count.known().copied()))
        .collect()
}

/// A cluster's destroy (`planned` none), replacement, removed machine pools
/// and shrunk machine pools.
pub fn cluster(
    prior: &ClusterModel,
    planned: Option<&ClusterModel>,
    replacing: bool,
) -> Vec<Warning> {
    let name = prior.name.str();
    let nodes: Vec<&Node> = prior
        .nodes
        .known()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .collect();
    let returned = |ns: &[&Node]| {
        if ns.iter().any(|n| !n.ip.str().is_empty()) {
            " Their static addresses go back to their IP pools."
        } else {
            ""
        }
    };
    let how = match planned {
        None => Some("Destroying"),
        Some(_) if replacing => Some("Replacing"),
        Some(_) => None,
    };
    if let Some(how) = how {
        let detail = if nodes.is_empty() {
            format!(
                "{how} cluster {name:?} deletes its node VMs in vCenter (none recorded in state \
                 yet) and its workloads with them."
            )
        } else {
            format!(
                "{how} cluster {name:?} deletes its {} in vCenter and the workloads on them: \
                 {}.{}",
                node_vms(nodes.len() as i64),
                node_list(&nodes),
                returned(&nodes)
            )
        };
        return vec![(format!("{how} cluster {name:?} deletes its nodes"), detail)];
    }
    let Some(planned) = planned else {
        return Vec::new();
    };
    let (before, after) = (pool_counts(prior), pool_counts(planned));
    let mut out = Vec::new();
    for (pool, count) in &before {
        let Some(count) = count else { continue };
        let in_pool: Vec<&Node> = nodes
            .iter()
            .copied()
            .filter(|n| n.pool.str() == pool)
            .collect();
        match after.get(pool) {
            None => out.push((
                format!("Machine pool {pool:?} is removed"),
                format!(
                    "Removing machine pool {pool:?} from cluster {name:?} deletes its {}{}{}",
                    node_vms(*count),
                    if in_pool.is_empty() {
                        ".".to_string()
                    } else {
                        format!(": {}.", node_list(&in_pool))
                    },
                    returned(&in_pool)
                ),
            )),
            Some(Some(now)) if now < count => out.push((
                format!("Machine pool {pool:?} shrinks"),
                format!(
                    "Scaling machine pool {pool:?} of cluster {name:?} from {count} to {now} deletes \
                     {}; Palette chooses which{}{}",
                    node_vms(count - now),
                    if in_pool.is_empty() {
                        ".".to_string()
                    } else {
                        format!(" among {}.", node_list(&in_pool))
                    },
                    returned(&in_pool)
                ),
            )),
            Some(_) => {}
        }
    }
    out
}

/// A gateway's destroy (`planned` none) or replacement: its VMs, and the
/// clusters that still depend on it (`clusters`, found by the caller).
pub fn gateway(
    prior: &GatewayModel,
    planned: Option<&GatewayModel>,
    replacing: bool,
    clusters: &[String],
) -> Option<Warning> {
    let how = match planned {
        None => "Destroying",
        Some(_) if replacing => "Replacing",
        Some(_) => return None,
    };
    let name = prior.name.str();
    let mut vms: Vec<String> = prior
        .nodes
        .known()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|n| n.name.str().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let installer = prior.installer_vm_path.str();
    if !installer.is_empty() {
        vms.push(format!("installer VM {installer}"));
    }
    let mut detail = format!(
        "{how} gateway {name:?} deletes it in Palette and its VMs in vCenter: {}.",
        if vms.is_empty() {
            "none recorded in state".to_string()
        } else {
            vms.join(", ")
        }
    );
    if !clusters.is_empty() {
        detail.push_str(&format!(
            " Clusters still on it, through its cloud accounts: {}. They lose the gateway that \
             manages them in this data center; move or destroy them first.",
            clusters.join(", ")
        ));
    }
    Some((format!("{how} gateway {name:?} deletes its VMs"), detail))
}

/// The addresses a pool holds: its range, or its subnet's.
fn span(v: &IpPoolModel) -> Option<(u128, u128, bool)> {
    let as_num = |ip: IpAddr| match ip {
        IpAddr::V4(a) => (u32::from(a) as u128, true),
        IpAddr::V6(a) => (u128::from(a), false),
    };
    let start = v.start.as_str().and_then(|s| s.parse::<IpAddr>().ok());
    let end = v.end.as_str().and_then(|s| s.parse::<IpAddr>().ok());
    if let (Some(s), Some(e)) = (start, end) {
        let ((s, v4), (e, _)) = (as_num(s), as_num(e));
        return Some((s, e, v4));
    }
    let subnet = v.subnet.as_str()?;
    let net: ipnet::IpNet = if subnet.contains('/') {
        subnet.parse().ok()?
    } else {
        let prefix = v.prefix.get()?;
        format!("{subnet}/{prefix}").parse().ok()?
    };
    let (s, v4) = as_num(net.network());
    let (e, _) = as_num(net.broadcast());
    Some((s, e, v4))
}

fn show(n: u128, v4: bool) -> String {
    if v4 {
        std::net::Ipv4Addr::from(n as u32).to_string()
    } else {
        std::net::Ipv6Addr::from(n).to_string()
    }
}

fn range(a: u128, b: u128, v4: bool) -> String {
    if a == b {
        show(a, v4)
    } else {
        format!("{}-{}", show(a, v4), show(b, v4))
    }
}

/// A pool whose addresses shrink: the ranges that leave it.
pub fn pool_shrink(prior: &IpPoolModel, planned: &IpPoolModel) -> Option<Warning> {
    let (s1, e1, v4) = span(prior)?;
    let (s2, e2, _) = span(planned)?;
    let mut leaving = Vec::new();
    if s2 > e1 || e2 < s1 {
        leaving.push(range(s1, e1, v4));
    } else {
        if s2 > s1 {
            leaving.push(range(s1, s2 - 1, v4));
        }
        if e2 < e1 {
            leaving.push(range(e2 + 1, e1, v4));
        }
    }
    if leaving.is_empty() {
        return None;
    }
    let name = prior.name.str();
    Some((
        format!("IP pool {name:?} shrinks"),
        format!(
            "Addresses {} leave pool {name:?}. Nodes that hold one keep it until they are \
             replaced, but no new node gets one; Palette refuses the change while a node holds an \
             address it cannot keep.",
            leaving.join(" and ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cluster::model::MachinePool;
    use tfplugin::Attr;

    fn node(name: &str, pool: &str, ip: &str) -> Node {
        Node {
            name: name.into(),
            pool: pool.into(),
            ip: ip.into(),
            vm_path: Attr::Known(format!("DC0/vm/apps/{name}")),
            state: "Running".into(),
        }
    }

    fn cluster_state(pools: &[(&str, i64)], nodes: Vec<Node>) -> ClusterModel {
        ClusterModel {
            name: "apps-dc1".into(),
            machine_pool: pools
                .iter()
                .map(|(n, c)| MachinePool {
                    name: (*n).into(),
                    count: Attr::Known(*c),
                    ..Default::default()
                })
                .collect(),
            nodes: Attr::Known(nodes),
            ..Default::default()
        }
    }

    #[test]
    fn a_cluster_destroyed_or_replaced_names_each_node_vm() {
        let prior = cluster_state(
            &[("cp", 1), ("workers", 2)],
            vec![
                node("apps-cp-1", "cp", "10.0.0.5"),
                node("apps-w-1", "workers", "10.0.0.6"),
                node("apps-w-2", "workers", "10.0.0.7"),
            ],
        );
        let w = cluster(&prior, None, false);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].0, "Destroying cluster \"apps-dc1\" deletes its nodes");
        for needle in [
            "3 node VMs",
            "DC0/vm/apps/apps-cp-1 (10.0.0.5)",
            "DC0/vm/apps/apps-w-2 (10.0.0.7)",
            "go back to their IP pools",
        ] {
            assert!(w[0].1.contains(needle), "{needle}: {}", w[0].1);
        }
        let w = cluster(&prior, Some(&prior), true);
        assert!(w[0].0.starts_with("Replacing"), "{w:?}");
        // An unchanged cluster, and a create, warn of nothing.
        assert!(cluster(&prior, Some(&prior), false).is_empty());
    }

    #[test]
    fn removed_and_shrunk_machine_pools_name_their_nodes() {
        let prior = cluster_state(
            &[("cp", 1), ("workers", 2), ("gpu", 1)],
            vec![
                node("apps-cp-1", "cp", ""),
                node("apps-w-1", "workers", ""),
                node("apps-w-2", "workers", ""),
                node("apps-gpu-1", "gpu", ""),
            ],
        );
        let planned = cluster_state(&[("cp", 1), ("workers", 1)], vec![]);
        let w = cluster(&prior, Some(&planned), false);
        assert_eq!(w.len(), 2, "{w:?}");
        let gpu = w
            .iter()
            .find(|(s, _)| s.contains("\"gpu\" is removed"))
            .unwrap();
        assert!(
            gpu.1
                .contains("deletes its 1 node VM: DC0/vm/apps/apps-gpu-1."),
            "{gpu:?}"
        );
        assert!(
            !gpu.1.contains("IP pools"),
            "DHCP nodes return no address: {gpu:?}"
        );
        let workers = w
            .iter()
            .find(|(s, _)| s.contains("\"workers\" shrinks"))
            .unwrap();
        assert!(
            workers.1.contains("from 2 to 1 deletes 1 node VM; Palette chooses which among DC0/vm/apps/apps-w-1, DC0/vm/apps/apps-w-2."),
            "{workers:?}"
        );
        // Growing warns of nothing.
        assert!(cluster(&planned, Some(&prior), false).is_empty());
    }

    #[test]
    fn a_gateway_going_names_its_vms_and_the_clusters_on_it() {
        use crate::gateway::model::Node;
        let prior = GatewayModel {
            name: "pcg-dc1".into(),
            nodes: tfplugin::Attr::Known(vec![Node {
                name: "pcg-dc1-node-0".into(),
                ..Default::default()
            }]),
            installer_vm_path: "DC0/vm/palette/installers/pcg-dc1-installer".into(),
            ..Default::default()
        };
        let (summary, detail) = gateway(&prior, None, false, &["apps-dc1".into()]).unwrap();
        assert_eq!(summary, "Destroying gateway \"pcg-dc1\" deletes its VMs");
        for needle in [
            "pcg-dc1-node-0",
            "installer VM DC0/vm/palette/installers/pcg-dc1-installer",
            "Clusters still on it, through its cloud accounts: apps-dc1.",
        ] {
            assert!(detail.contains(needle), "{needle}: {detail}");
        }
        let (_, detail) = gateway(&prior, Some(&prior), true, &[]).unwrap();
        assert!(detail.starts_with("Replacing"), "{detail}");
        assert!(!detail.contains("Clusters"), "{detail}");
        assert!(gateway(&prior, Some(&prior), false, &[]).is_none());
    }

    fn pool(start: &str, end: &str) -> IpPoolModel {
        IpPoolModel {
            name: "apps-nodes".into(),
            start: start.into(),
            end: end.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_shrinking_pool_names_the_addresses_that_leave() {
        let (_, d) = pool_shrink(
            &pool("10.0.0.10", "10.0.0.60"),
            &pool("10.0.0.12", "10.0.0.50"),
        )
        .unwrap();
        assert!(
            d.starts_with(
                "Addresses 10.0.0.10-10.0.0.11 and 10.0.0.51-10.0.0.60 leave pool \"apps-nodes\"."
            ),
            "{d}"
        );
        let (_, d) = pool_shrink(
            &pool("10.0.0.10", "10.0.0.60"),
            &pool("10.0.0.10", "10.0.0.59"),
        )
        .unwrap();
        assert!(d.starts_with("Addresses 10.0.0.60 leave"), "{d}");
        // Moved elsewhere entirely: all of it leaves.
        let (_, d) = pool_shrink(
            &pool("10.0.0.10", "10.0.0.20"),
            &pool("10.1.0.10", "10.1.0.20"),
        )
        .unwrap();
        assert!(d.starts_with("Addresses 10.0.0.10-10.0.0.20 leave"), "{d}");
        assert!(pool_shrink(
            &pool("10.0.0.10", "10.0.0.60"),
            &pool("10.0.0.5", "10.0.0.70")
        )
        .is_none());
        // A subnet halved.
        let subnet = |s: &str, p: i64| IpPoolModel {
            name: "apps-nodes".into(),
            subnet: s.into(),
            prefix: p.into(),
            ..Default::default()
        };
        let (_, d) = pool_shrink(&subnet("10.0.0.0", 24), &subnet("10.0.0.0", 25)).unwrap();
        assert!(
            d.starts_with("Addresses 10.0.0.128-10.0.0.255 leave"),
            "{d}"
        );
    }
}
