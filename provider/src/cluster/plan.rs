//! Planning: the checks of a configuration, the refinements of the generic
//! plan, the checks against Palette and vCenter at plan time, and what a
//! saved plan carries to its apply.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use palette_api::client::Client;
use palette_api::models::{
    V1SpectroCluster, V1VsphereComputeClusterResources, V1VsphereDatacenters,
};
use tfplugin::{
    ApplyResult, AttrPath, Ctx, Diagnostic, Diagnostics, Model, PlanRequest, PlanResponse, Resource,
};

use super::model::{decode, same_profiles, same_set, same_set_attr, yaml_equal, ClusterModel};
use super::read::{get_cluster, read_remote};
use super::Cluster;
use crate::placement;
use crate::shared::url_escape;

/// `v` (a proposed state or a configuration) with each pack's values that
/// say the same YAML as the prior state's for that profile and pack spelled
/// as in the prior state; `None` when nothing needed it. Palette keeps the
/// text it was given, and a user may write the same values otherwise
/// (reformatted, or as the `jsonencode({...})` that generated
/// configuration holds): that is no change to plan.
pub fn respell_packs(prior: &ClusterModel, v: &ClusterModel) -> Option<ClusterModel> {
    let prior_values: BTreeMap<(String, String), String> = prior
        .cluster_profile
        .iter()
        .flat_map(|p| {
            let id = p.id.or_default();
            p.pack
                .iter()
                .filter_map(move |k| Some(((id.clone(), k.name.get()?), k.values.get()?)))
        })
        .collect();
    let mut changed = false;
    let mut out = v.clone();
    for p in &mut out.cluster_profile {
        let id = p.id.or_default();
        for k in &mut p.pack {
            let (Some(name), Some(text)) = (k.name.get(), k.values.get()) else {
                continue;
            };
            if let Some(before) = prior_values.get(&(id.clone(), name)) {
                if *before != text && yaml_equal(before, &text) {
                    k.values = before.as_str().into();
                    changed = true;
                }
            }
        }
    }
    changed.then_some(out)
}

// ---------------------------------------------------------------------------
// Plan-time checks (pure)

/// The value of an attribute with a default: the default where null (a
/// configuration leaves it out), `None` where not known yet.
fn or_default<T: Clone>(v: &tfplugin::Attr<T>, default: T) -> Option<T> {
    match v {
        tfplugin::Attr::Null => Some(default),
        v => v.get(),
    }
}

/// Every rule that can be judged from the configuration alone. Unknown values
/// are skipped: Terraform validates again once they are known.
pub fn check_config(config: &ClusterModel) -> Diagnostics {
    let mut d = Diagnostics::new();
    let at = AttrPath::attr("machine_pool");
    let cc = config.cc();
    let static_ip = or_default(&cc.static_ip, false);
    let endpoint = or_default(&cc.control_plane_endpoint, "VIP".to_string());
    if endpoint.as_deref() == Some("DDNS") && static_ip == Some(true) {
        d.error_at(
            AttrPath::attr("cloud_config")
                .then_index(0)
                .then_attr("control_plane_endpoint"),
            "DDNS needs DHCP",
            "`control_plane_endpoint = \"DDNS\"` registers DHCP addresses in DNS; with `static_ip = true` use \
             \"VIP\".",
        );
    }
    if cc.network_search_domain.as_str().is_some() && endpoint.as_deref() == Some("VIP") {
        d.error_at(
            AttrPath::attr("cloud_config")
                .then_index(0)
                .then_attr("network_search_domain"),
            "Search domain without DDNS",
            "`network_search_domain` is where DDNS registers the control plane; set \
             `control_plane_endpoint = \"DDNS\"` or remove it.",
        );
    }
    let mut names = BTreeSet::new();
    let mut control_planes = 0;
    let mut all_known = true;
    for p in &config.machine_pool {
        let name = p.name.as_str().unwrap_or("?").to_string();
        if p.name.is_known() && !names.insert(name.clone()) {
            d.error_at(
                at.clone(),
                "Duplicate machine pool",
                format!(
                    "Two machine pools are named {name:?}; pool names must be unique in a cluster."
                ),
            );
        }
        let cp = or_default(&p.control_plane, false);
        match cp {
            Some(true) => control_planes += 1,
            Some(false) => {}
            None => all_known = false,
        }
        if cp == Some(true) {
            if let Some(n) = p.count.get() {
                if ![1, 3, 5].contains(&n) {
                    d.error_at(
                        at.clone(),
                        "Invalid control-plane size",
                        format!(
                            "Machine pool {name:?} is the control plane with count = {n}; a control plane has \
                             1, 3 or 5 nodes (an odd number keeps etcd's quorum)."
                        ),
                    );
                }
            }
            if p.placement.len() != 1 {
                d.error_at(
                    at.clone(),
                    "Control plane placement",
                    format!(
                        "Machine pool {name:?} is the control plane and has {} placement blocks; the \
                         control plane takes exactly one.",
                        p.placement.len()
                    ),
                );
            }
        } else if cp == Some(false) && p.control_plane_as_worker.is_true() {
            d.error_at(
                at.clone(),
                "Worker pool with control_plane_as_worker",
                format!(
                    "`control_plane_as_worker` only applies to the control-plane pool; remove it from {name:?}."
                ),
            );
        }
        for pl in &p.placement {
            match (pl.compute_cluster.is_null(), pl.zone.is_null()) {
                (true, true) => d.error_at(
                    at.clone(),
                    "Placement without a compute cluster",
                    format!(
                        "A placement of machine pool {name:?} names neither `compute_cluster` nor `zone`; set one, \
                         such as compute_cluster = \"DC0_C0\" or zone = \"az1\"."
                    ),
                ),
                (false, false) => d.error_at(
                    at.clone(),
                    "Placement with both compute_cluster and zone",
                    format!(
                        "A placement of machine pool {name:?} sets both `compute_cluster` ({:?}) and `zone` ({:?}); \
                         set one: the zone's cluster is found from its tag.",
                        pl.compute_cluster.as_str().unwrap_or("?"),
                        pl.zone.as_str().unwrap_or("?")
                    ),
                ),
                _ => {}
            }
            match static_ip {
                Some(true) if pl.ip_pool_id.is_null() => d.error_at(
                    at.clone(),
                    "Static IP needs an IP pool",
                    format!(
                        "`static_ip = true`, but a placement of machine pool {name:?} (compute cluster {:?}) has \
                         no `ip_pool_id`; every placement needs the uid of an IP pool of the account's gateway.",
                        pl.compute_cluster.as_str().or(pl.zone.as_str()).unwrap_or("?")
                    ),
                ),
                Some(false) if pl.ip_pool_id.as_str().is_some() => d.error_at(
                    at.clone(),
                    "IP pool with DHCP",
                    format!(
                        "A placement of machine pool {name:?} names an IP pool, but the cluster uses DHCP; set \
                         `static_ip = true` in cloud_config or remove `ip_pool_id`."
                    ),
                ),
                _ => {}
            }
        }
    }
    if all_known && control_planes != 1 {
        d.error_at(
            at,
            "One control-plane pool",
            format!(
                "The cluster has {control_planes} machine pools with `control_plane = true`; it needs exactly one."
            ),
        );
    }
    d
}

/// The refinements of the generic plan: replacement when the control plane
/// moves to another pool, and computed values that an update leaves alone.
pub fn refine_plan(
    prior: &ClusterModel,
    planned: &mut ClusterModel,
    requires_replace: &mut Vec<AttrPath>,
) {
    let cp_of = |m: &ClusterModel| -> Option<String> {
        m.machine_pool
            .iter()
            .find(|p| p.control_plane.is_true())
            .and_then(|p| p.name.get())
    };
    let (before, after) = (cp_of(prior), cp_of(planned));
    if before.is_some() && after.is_some() && before != after {
        // Palette cannot hand the control plane to another pool.
        requires_replace.push(AttrPath::attr("machine_pool"));
    }
    let pools_same = same_set(&prior.machine_pool, &planned.machine_pool);
    if pools_same && planned.nodes.is_unknown() {
        planned.nodes = prior.nodes.clone();
    }
    if planned.kubeconfig.is_unknown() && !prior.kubeconfig.is_null() {
        planned.kubeconfig = prior.kubeconfig.clone();
    }
    if planned.store_kubeconfig.known() == Some(&false) {
        planned.kubeconfig = tfplugin::Attr::Null;
    }
    if pools_same && planned.state.is_unknown() && prior.state.as_str() == Some("Running") {
        planned.state = prior.state.clone();
        planned.health = prior.health.clone();
    }
}

// ---------------------------------------------------------------------------
// Saved plans

/// What the provider keeps beside a cluster's state (Terraform's private
/// state): when Palette last modified the cluster as the last read saw it.
/// A saved plan carries it to its apply, which can then tell whether the
/// cluster changed in between.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Seen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) modified: Option<String>,
}

impl Seen {
    pub(super) fn of(c: &V1SpectroCluster) -> Seen {
        Seen {
            modified: c
                .metadata
                .as_ref()
                .and_then(|m| m.last_modified_timestamp.clone()),
        }
    }
    pub(super) fn parse(bytes: &[u8]) -> Seen {
        serde_json::from_slice(bytes).unwrap_or_default()
    }
    pub(super) fn bytes(&self) -> Vec<u8> {
        if *self == Seen::default() {
            return Vec::new();
        }
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The settings Palette holds for a cluster, which a change made outside
/// Terraform (the console) can alter, each with whether two states agree on
/// it as Terraform compares them.
type Same = fn(&ClusterModel, &ClusterModel) -> bool;
const HELD_BY_PALETTE: &[(&str, Same)] = &[
    ("name", |a, b| a.name == b.name),
    ("description", |a, b| a.description == b.description),
    ("tags", |a, b| same_set_attr(&a.tags, &b.tags)),
    ("cloud_account_id", |a, b| {
        a.cloud_account_id == b.cloud_account_id
    }),
    ("cluster_profile", |a, b| {
        same_profiles(&a.cluster_profile, &b.cluster_profile)
    }),
    ("cloud_config", |a, b| a.cloud_config == b.cloud_config),
    ("machine_pool", |a, b| {
        same_set(&a.machine_pool, &b.machine_pool)
    }),
];

/// The settings that differ between the state a plan was made from and
/// the cluster now.
pub(super) fn changed_settings(
    planned_from: &ClusterModel,
    now: &ClusterModel,
) -> Vec<&'static str> {
    HELD_BY_PALETTE
        .iter()
        .filter(|(_, same)| !same(planned_from, now))
        .map(|(k, _)| *k)
        .collect()
}

/// An apply whose plan saw an older cluster than Palette has now (a saved
/// plan applied after someone scaled the cluster in the console) stops
/// instead of reverting what was changed; a newer timestamp that changed
/// none of the settings (status only) lets it go on.
pub(super) async fn changed_since_plan(
    client: &Client,
    uid: &str,
    prior: &ClusterModel,
    planned_private: &[u8],
    ctx: &Ctx,
) -> Option<ApplyResult> {
    let seen = Seen::parse(planned_private).modified?;
    let cluster = match get_cluster(client, uid, ctx).await {
        Ok(Some(c)) => c,
        // Gone or unreadable: the update's own steps say so.
        _ => return None,
    };
    let now = Seen::of(&cluster).modified?;
    if now == seen {
        return None;
    }
    let r = read_remote(client, uid, false, prior.stores_kubeconfig(), ctx)
        .await
        .ok()??;
    let current = ClusterModel::from_remote(&r, prior, &prior.context());
    let changed = changed_settings(prior, &current);
    if changed.is_empty() {
        return None;
    }
    let name = prior.name.or_default();
    Some(ApplyResult {
        private: Seen::of(&r.cluster).bytes(),
        ..ApplyResult::failed(
            current.to_value(),
            Diagnostic::error(
                "The cluster changed since the plan",
                format!(
                    "Cluster {name:?} ({uid}) was modified in Palette at {now}, after the plan read \
                     it (last modified {seen}); its {} changed. Applying the plan would revert that \
                     change without anyone having reviewed it, so nothing was applied. Run \
                     `terraform plan` again to see the cluster as it is now, and apply that plan.",
                    changed.join(", ")
                ),
            ),
        )
    })
}

// ---------------------------------------------------------------------------
// Checks against Palette and vCenter

/// vCenter's inventory as Palette lists it through a gateway.
struct ThroughGateway<'a> {
    client: &'a Client,
    gateway: &'a str,
    ctx: &'a Ctx,
}

#[async_trait]
impl placement::Inventory for ThroughGateway<'_> {
    async fn datacenters(
        &self,
    ) -> Result<Vec<vsphere::vm::DatacenterInventory>, placement::Unread> {
        let path = format!(
            "/v1/overlords/vsphere/{}/properties/datacenters",
            self.gateway
        );
        let list: V1VsphereDatacenters = self
            .client
            .get(&path, &self.ctx.cancel)
            .await
            .map_err(|e| placement::Unread::Failed(e.to_string()))?;
        Ok(list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|d| vsphere::vm::DatacenterInventory {
                name: d.datacenter.unwrap_or_default(),
                compute_clusters: d.computeclusters.unwrap_or_default(),
                folders: d.folders.unwrap_or_default(),
            })
            .collect())
    }

    async fn cluster_resources(
        &self,
        datacenter: &str,
        cluster: &str,
    ) -> Result<vsphere::vm::ClusterResources, placement::Unread> {
        let path = format!(
            "/v1/overlords/vsphere/{}/properties/computecluster/resources?datacenter={}&computecluster={}",
            self.gateway,
            url_escape(datacenter),
            url_escape(cluster)
        );
        let r: V1VsphereComputeClusterResources =
            match self.client.get(&path, &self.ctx.cancel).await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => return Err(placement::Unread::NotFound),
                Err(e) => return Err(placement::Unread::Failed(e.to_string())),
            };
        let c = r.computecluster.unwrap_or_default();
        Ok(vsphere::vm::ClusterResources {
            datastores: c.datastores.unwrap_or_default(),
            networks: c.networks.unwrap_or_default(),
            resource_pools: c.resource_pools.unwrap_or_default(),
        })
    }
}

impl Cluster {
    /// IP pools named by placements must be pools of the account's gateway.
    /// Judged at plan time when the account and the pools are known; when
    /// Palette cannot be asked, the validation at apply decides instead.
    async fn check_pools_of_gateway(
        &self,
        config: &ClusterModel,
        diags: &mut Diagnostics,
        ctx: &Ctx,
    ) {
        let Some(account) = config.cloud_account_id.as_str() else {
            return;
        };
        let wanted: BTreeSet<String> = config
            .machine_pool
            .iter()
            .flat_map(|p| &p.placement)
            .filter_map(|pl| pl.ip_pool_id.get())
            .collect();
        if wanted.is_empty() {
            return;
        }
        let Ok(client) = self.shared.scoped(&config.context()) else {
            return;
        };
        let Some(gateway) = crate::shared::gateway_of_account(&client, account, ctx).await else {
            return;
        };
        let Ok(pools) = self.shared.pools_of(&gateway, ctx).await else {
            return;
        };
        let have: BTreeSet<&str> = pools
            .iter()
            .filter_map(|p| p.metadata.as_ref().and_then(|m| m.uid.as_deref()))
            .collect();
        for id in wanted.iter().filter(|id| !have.contains(id.as_str())) {
            diags.error_at(
                AttrPath::attr("machine_pool"),
                "IP pool of another gateway",
                format!(
                    "IP pool {id:?} is not a pool of gateway {gateway}, the gateway of cloud account {account}. \
                     Nodes take addresses from their account's gateway: use a palette_ip_pool whose gateway_id \
                     is that gateway."
                ),
            );
        }
    }

    /// Checks the placement names against vCenter's inventory as Palette
    /// sees it through the account's gateway (what the console's placement
    /// lists show), read-only. Palette unable to answer is a warning: its
    /// own validation runs again at apply.
    async fn check_placement(&self, planned: &ClusterModel, diags: &mut Diagnostics, ctx: &Ctx) {
        let Some(account) = planned.cloud_account_id.as_str() else {
            return;
        };
        let Ok(client) = self.shared.scoped(&planned.context()) else {
            return;
        };
        let Some(gateway) = crate::shared::gateway_of_account(&client, account, ctx).await else {
            return;
        };
        let datacenter = planned.cc().datacenter.or_default();
        let mut wanted = Vec::new();
        let mut pools = Vec::new();
        for pool in &planned.machine_pool {
            // A zone not resolved yet has no cluster to check.
            for pl in pool
                .placement
                .iter()
                .filter(|pl| pl.compute_cluster.is_known())
            {
                wanted.push(placement::Wanted {
                    at: Vec::new(),
                    datacenter: datacenter.clone(),
                    datacenter_at: Some(
                        AttrPath::attr("cloud_config")
                            .then_index(0)
                            .then_attr("datacenter"),
                    ),
                    compute_cluster: pl.compute_cluster.or_default(),
                    datastore: pl.datastore.or_default(),
                    network: pl.network.or_default(),
                    resource_pool: pl.resource_pool.or_default(),
                });
                pools.push(pool.name.or_default());
            }
        }
        if datacenter.is_empty() || wanted.is_empty() {
            return;
        }
        let inventory = ThroughGateway {
            client: &client,
            gateway: &gateway,
            ctx,
        };
        match placement::inspect(&inventory, &wanted).await {
            Ok(problems) => {
                let mut said = BTreeSet::new();
                for p in problems {
                    // A machine pool is a set element: the error points at
                    // the set and names the pool.
                    let (at, detail) = if p.at.to_string().starts_with("cloud_config") {
                        (p.at, p.detail)
                    } else {
                        (
                            AttrPath::attr("machine_pool"),
                            format!("Machine pool {:?}: {}", pools[p.wanted], p.detail),
                        )
                    };
                    if said.insert(detail.clone()) {
                        diags.error_at(at, "Not in vCenter's inventory", detail);
                    }
                }
            }
            Err(why) => diags.warning(
                "Placement not checked against vCenter",
                format!(
                    "Palette could not list vCenter's inventory through gateway {gateway} at plan \
                     time ({why}), so the placement names were not checked. Palette validates them \
                     again before the cluster is created."
                ),
            ),
        }
    }

    pub(super) async fn modify_plan_cluster(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        if req.proposed.is_null() {
            if let Ok(Some(prior)) = decode(&req.prior) {
                for (summary, detail) in crate::consequences::cluster(&prior, None, false) {
                    resp.diags.warning(summary, detail);
                }
            }
            return;
        }
        // A value that does not fit the model (a block whose dynamic
        // for_each is not known yet) is left to the generic plan.
        let (Ok(prior), Ok(Some(proposed))) = (decode(&req.prior), decode(&req.proposed)) else {
            return;
        };
        let config = decode(&req.config).ok().flatten();
        // Pack values that say what the prior ones say keep the prior text,
        // planned again so that a spelling alone is no change at all.
        if let Some(respelled) = prior.as_ref().and_then(|p| respell_packs(p, &proposed)) {
            let config = match (&prior, &config) {
                (Some(p), Some(c)) => respell_packs(p, c).map(|c| c.to_value()),
                _ => None,
            }
            .unwrap_or_else(|| req.config.clone());
            let again = tfplugin::plan::plan(
                &self.schema().block,
                &req.prior,
                &respelled.to_value(),
                &config,
            );
            resp.state = again.state;
            resp.requires_replace = again.requires_replace;
            resp.kept_prior_spelling = true;
        }
        let Ok(Some(mut planned)) = decode(&resp.state) else {
            return;
        };
        // Zones first: a placement's cluster is part of what the
        // refinements compare.
        if let Some(config) = &config {
            let d = self
                .place_zones(config, prior.as_ref(), &mut planned, &req.ctx)
                .await;
            resp.diags.extend(d);
        }
        if let Some(prior) = &prior {
            refine_plan(prior, &mut planned, &mut resp.requires_replace);
        }
        resp.state = planned.to_value();
        let unchanged = prior.as_ref().is_some_and(|p| {
            p.cloud_account_id == planned.cloud_account_id
                && same_set(&p.machine_pool, &planned.machine_pool)
        });
        if !unchanged {
            if let Some(config) = &config {
                self.check_pools_of_gateway(config, &mut resp.diags, &req.ctx)
                    .await;
            }
        }
        let placed_same =
            unchanged && prior.as_ref().map(|p| p.cc().datacenter) == Some(planned.cc().datacenter);
        if !placed_same && !resp.diags.has_errors() {
            self.check_placement(&planned, &mut resp.diags, &req.ctx)
                .await;
        }
        if prior.is_none() && proposed.context() == "project" {
            let no_project = self
                .shared
                .settings
                .read()
                .expect("settings lock")
                .as_ref()
                .is_some_and(|s| s.project.is_none());
            if no_project {
                resp.diags.error_at(
                    AttrPath::attr("context"),
                    "No project for a project cluster",
                    "`context = \"project\"` (the default) needs the provider's `project`, for example \
                     project = \"Default\"; or set context = \"tenant\".",
                );
            }
        }
        let replacing = !resp.requires_replace.is_empty();
        if let Some(prior) = &prior {
            for (summary, detail) in crate::consequences::cluster(prior, Some(&planned), replacing)
            {
                resp.diags.warning(summary, detail);
            }
        }
    }
}
