//! Placements that name a zone (`k8s-zone` tag value) instead of a compute
//! cluster. Palette's API knows compute clusters only, so the plan reads
//! the zone tags from vCenter (the provider's `vcenter` block) and plans
//! the cluster that carries each zone; the apply then sends Palette a
//! plain compute cluster. The zone is read again at every plan, so a tag
//! moved in vCenter shows as a change of `compute_cluster`.

use std::collections::BTreeMap;

use tfplugin::{Attr, AttrPath, Ctx, Diagnostic, Diagnostics};

use super::model::{ClusterModel, MachinePool, Placement};
use super::Cluster;
use crate::gateway::vcenter::provider_access;
use crate::vsphere_zones::vc::{cluster_of_zone, Vc};

/// The zones the configuration names (known ones only).
pub fn zones_named(config: &ClusterModel) -> Vec<String> {
    let mut z: Vec<String> = config
        .machine_pool
        .iter()
        .flat_map(|p| p.placement.iter())
        .filter_map(|pl| pl.zone.get())
        .collect();
    z.sort();
    z.dedup();
    z
}

fn pool_named<'a>(pools: &'a [MachinePool], name: &Attr<String>) -> Option<&'a MachinePool> {
    let name = name.known()?;
    pools.iter().find(|p| p.name.known() == Some(name))
}

/// Plans each placement's `compute_cluster` and `zone` from the
/// configuration, the prior state and `resolve` (a zone to its compute
/// cluster, or why not). Pure.
pub fn place(
    config: &ClusterModel,
    prior: Option<&ClusterModel>,
    planned: &mut ClusterModel,
    resolve: &dyn Fn(&str) -> Result<String, String>,
) -> Diagnostics {
    let mut d = Diagnostics::new();
    for pool in &mut planned.machine_pool {
        let Some(cfg) = pool_named(&config.machine_pool, &pool.name) else {
            continue;
        };
        let before = prior.and_then(|p| pool_named(&p.machine_pool, &pool.name));
        let name = pool.name.or_default();
        for (i, pl) in pool.placement.iter_mut().enumerate() {
            let Some(c) = cfg.placement.get(i) else {
                continue;
            };
            let was: Option<&Placement> = before.and_then(|b| b.placement.get(i));
            match &c.zone {
                Attr::Known(zone) => match resolve(zone) {
                    Ok(cluster) => {
                        pl.zone = c.zone.clone();
                        pl.compute_cluster = cluster.into();
                    }
                    Err(why) => d.push(
                        Diagnostic::error(
                            "Zone not found",
                            format!(
                                "Machine pool {name:?}, placement {}: {why} A zone is read from vCenter at plan \
                                 time: when a palette_vsphere_zones resource of this configuration adds the tag, \
                                 apply it first (terraform apply -target=ADDRESS).",
                                i + 1
                            ),
                        )
                        .at(AttrPath::attr("machine_pool")),
                    ),
                },
                Attr::Unknown => {
                    pl.zone = Attr::Unknown;
                    pl.compute_cluster = Attr::Unknown;
                }
                Attr::Null => {
                    pl.compute_cluster = c.compute_cluster.clone();
                    // The zone a read or an import found stays while it
                    // describes the same cluster.
                    pl.zone = match (&c.compute_cluster, was) {
                        (Attr::Known(cluster), Some(w))
                            if w.compute_cluster.known() == Some(cluster) && w.zone.is_known() =>
                        {
                            w.zone.clone()
                        }
                        (Attr::Unknown, _) => Attr::Unknown,
                        _ => Attr::Null,
                    };
                }
            }
        }
    }
    d
}

/// The zone tags of the datacenter's compute clusters, read through the
/// provider's `vcenter` block; `Err` is a plan error.
async fn zone_tags(
    cluster: &Cluster,
    datacenter: &str,
    ctx: &Ctx,
) -> Result<BTreeMap<String, Vec<String>>, Diagnostics> {
    let at = || AttrPath::attr("machine_pool");
    let Some(access) = provider_access(&cluster.shared, None) else {
        return Err(Diagnostic::error(
            "A zone placement needs vCenter",
            "A placement names a `zone`: its compute cluster is found from the k8s-zone tags in vCenter, which \
             needs the provider's `vcenter` block (server, username, password). Add it, or name the \
             `compute_cluster` instead.",
        )
        .at(at())
        .into());
    };
    let vc = Vc::open(&access, ctx).await?;
    let tags = vc.zone_tags(datacenter).await;
    vc.close().await;
    match tags {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(Diagnostic::error(
            "Datacenter not in vCenter",
            format!(
                "Datacenter {datacenter:?} of cloud_config is not in vCenter {}, so its zones cannot be read.",
                access.server
            ),
        )
        .at(
            AttrPath::attr("cloud_config")
                .then_index(0)
                .then_attr("datacenter"),
        )
        .into()),
        Err(e) => Err(Diagnostic::error(
            "Cannot read the zone tags",
            format!("Reading the k8s-zone tags of datacenter {datacenter:?} from vCenter failed: {e}"),
        )
        .at(at())
        .into()),
    }
}

impl Cluster {
    /// [`place`] with the zone tags read from vCenter when the
    /// configuration names a zone.
    pub(super) async fn place_zones(
        &self,
        config: &ClusterModel,
        prior: Option<&ClusterModel>,
        planned: &mut ClusterModel,
        ctx: &Ctx,
    ) -> Diagnostics {
        let named = zones_named(config);
        let tags = if named.is_empty() {
            BTreeMap::new()
        } else {
            let Some(datacenter) = planned.cc().datacenter.get() else {
                // Not known yet: nor are the clusters.
                for pool in &mut planned.machine_pool {
                    for pl in &mut pool.placement {
                        if pl.zone.is_known() {
                            pl.compute_cluster = Attr::Unknown;
                        }
                    }
                }
                return Diagnostics::new();
            };
            match zone_tags(self, &datacenter, ctx).await {
                Ok(t) => t,
                Err(d) => return d,
            }
        };
        let datacenter = planned.cc().datacenter.or_default();
        place(config, prior, planned, &|zone| {
            cluster_of_zone(zone, &datacenter, &tags)
        })
    }

    /// After an import: each placement's zone, when the provider's
    /// `vcenter` block can read it, so that a configuration naming zones
    /// plans clean. Best effort: without it the zones stay null.
    pub(super) async fn zones_for_import(&self, m: &mut ClusterModel, ctx: &Ctx) {
        let Some(datacenter) = m.cc().datacenter.get() else {
            return;
        };
        if provider_access(&self.shared, None).is_none() {
            return;
        }
        let tags = match zone_tags(self, &datacenter, ctx).await {
            Ok(t) => t,
            Err(d) => {
                tracing::info!(diagnostics = ?d, "zones of the imported cluster not read");
                return;
            }
        };
        for pool in &mut m.machine_pool {
            for pl in &mut pool.placement {
                let Some(cluster) = pl.compute_cluster.get() else {
                    continue;
                };
                if let Some([zone]) = tags.get(&cluster).map(Vec::as_slice) {
                    pl.zone = zone.as_str().into();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pl(cluster: Attr<String>, zone: Attr<String>) -> Placement {
        Placement {
            compute_cluster: cluster,
            zone,
            datastore: "LocalDS_0".into(),
            network: "VM Network".into(),
            resource_pool: "Resources".into(),
            ip_pool_id: Attr::Null,
        }
    }

    fn model(placements: Vec<Placement>) -> ClusterModel {
        ClusterModel {
            machine_pool: vec![MachinePool {
                name: "workers".into(),
                placement: placements,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn resolve(zone: &str) -> Result<String, String> {
        match zone {
            "az1" => Ok("DC0_C0".into()),
            "az2" => Ok("DC0_C1".into()),
            other => Err(format!("no cluster carries {other}")),
        }
    }

    #[test]
    fn a_zone_plans_its_cluster_and_an_unknown_zone_an_unknown_cluster() {
        let config = model(vec![
            pl(Attr::Null, "az2".into()),
            pl(Attr::Null, Attr::Unknown),
            pl("DC0_C0".into(), Attr::Null),
        ]);
        let mut planned = config.clone();
        let d = place(&config, None, &mut planned, &resolve);
        assert!(d.is_empty());
        let got: Vec<(Attr<String>, Attr<String>)> = planned.machine_pool[0]
            .placement
            .iter()
            .map(|p| (p.compute_cluster.clone(), p.zone.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("DC0_C1".into(), "az2".into()),
                (Attr::Unknown, Attr::Unknown),
                ("DC0_C0".into(), Attr::Null),
            ]
        );
    }

    #[test]
    fn a_moved_tag_is_a_change_of_cluster_and_a_missing_zone_an_error() {
        let prior = model(vec![pl("DC0_C0".into(), "az2".into())]);
        let config = model(vec![pl(Attr::Null, "az2".into())]);
        let mut planned = prior.clone();
        assert!(place(&config, Some(&prior), &mut planned, &resolve).is_empty());
        assert_eq!(
            planned.machine_pool[0].placement[0].compute_cluster,
            "DC0_C1".into(),
            "az2 now tags DC0_C1"
        );
        let config = model(vec![pl(Attr::Null, "az9".into())]);
        let d = place(&config, Some(&prior), &mut planned, &resolve);
        assert!(d.has_errors());
        let text = format!("{d:?}");
        assert!(
            text.contains("placement 1: no cluster carries az9"),
            "{text}"
        );
    }

    #[test]
    fn a_zone_found_by_import_stays_while_it_describes_the_configured_cluster() {
        let prior = model(vec![pl("DC0_C0".into(), "az1".into())]);
        let config = model(vec![pl("DC0_C0".into(), Attr::Null)]);
        let mut planned = config.clone();
        place(&config, Some(&prior), &mut planned, &resolve);
        assert_eq!(planned.machine_pool[0].placement[0].zone, "az1".into());
        // Moved to another cluster: the old zone no longer describes it.
        let config = model(vec![pl("DC0_C1".into(), Attr::Null)]);
        let mut planned = config.clone();
        place(&config, Some(&prior), &mut planned, &resolve);
        assert_eq!(planned.machine_pool[0].placement[0].zone, Attr::Null);
    }
}
