use super::*;

/// `v` (a proposed state or a configuration) with each pack's values that
/// say the same YAML as the prior state's for that profile and pack spelled
/// as in the prior state; `None` when nothing needed it. Palette keeps the
/// text it was given, and a user may write the same values otherwise
/// (reformatted, or as the `jsonencode({...})` that generated
/// configuration holds): that is no change to plan.
pub fn respell_packs(prior: &Value, v: &Value) -> Option<Value> {
    let prior_values: BTreeMap<(String, String), String> = elements(prior.get("cluster_profile"))
        .iter()
        .flat_map(|p| {
            let id = s(p, "id").unwrap_or_default();
            elements(p.get("pack"))
                .iter()
                .filter_map(move |k| Some(((id.clone(), s(k, "name")?), s(k, "values")?)))
        })
        .collect();
    let mut changed = false;
    let profiles: Vec<Value> = elements(v.get("cluster_profile"))
        .iter()
        .map(|p| {
            let id = s(p, "id").unwrap_or_default();
            let mut p = p.clone();
            let Some(packs) = p.get("pack").as_elements().map(<[Value]>::to_vec) else {
                return p;
            };
            let packs: Vec<Value> = packs
                .into_iter()
                .map(|mut k| {
                    let (Some(name), Some(text)) = (s(&k, "name"), s(&k, "values")) else {
                        return k;
                    };
                    if let Some(before) = prior_values.get(&(id.clone(), name)) {
                        if *before != text && yaml_equal(before, &text) {
                            k.set_attr("values", Value::String(before.clone()));
                            changed = true;
                        }
                    }
                    k
                })
                .collect();
            p.set_attr("pack", Value::Set(packs));
            p
        })
        .collect();
    if !changed {
        return None;
    }
    let mut out = v.clone();
    out.set_attr("cluster_profile", Value::List(profiles));
    Some(out)
}

// ---------------------------------------------------------------------------
// Plan-time checks (pure)

/// Every rule that can be judged from the configuration alone. Unknown values
/// are skipped: Terraform validates again once they are known.
pub fn check_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    let at = AttrPath::attr("machine_pool");
    let cc = first(config, "cloud_config");
    let static_ip = match cc.get("static_ip") {
        Value::Null => Some(false),
        v => v.as_bool(),
    };
    let endpoint = match cc.get("control_plane_endpoint") {
        Value::Null => Some("VIP".to_string()),
        v => v.as_str().map(str::to_string),
    };
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
    if cc.get("network_search_domain").as_str().is_some() && endpoint.as_deref() == Some("VIP") {
        d.error_at(
            AttrPath::attr("cloud_config")
                .then_index(0)
                .then_attr("network_search_domain"),
            "Search domain without DDNS",
            "`network_search_domain` is where DDNS registers the control plane; set \
             `control_plane_endpoint = \"DDNS\"` or remove it.",
        );
    }
    let Some(pools) = config.get("machine_pool").as_elements() else {
        return d;
    };
    let mut names = BTreeSet::new();
    let mut control_planes = 0;
    let mut all_known = true;
    for p in pools {
        let name = p.get("name").as_str().unwrap_or("?").to_string();
        if p.get("name").is_known() && !names.insert(name.clone()) {
            d.error_at(
                at.clone(),
                "Duplicate machine pool",
                format!(
                    "Two machine pools are named {name:?}; pool names must be unique in a cluster."
                ),
            );
        }
        let cp = match p.get("control_plane") {
            Value::Null => Some(false),
            v => v.as_bool(),
        };
        match cp {
            Some(true) => control_planes += 1,
            Some(false) => {}
            None => all_known = false,
        }
        let count = int(p, "count");
        let placements = p.get("placement");
        if cp == Some(true) {
            if let Some(n) = count {
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
            if let Some(list) = placements.as_elements() {
                if list.len() != 1 {
                    d.error_at(
                        at.clone(),
                        "Control plane placement",
                        format!(
                            "Machine pool {name:?} is the control plane and has {} placement blocks; the \
                             control plane takes exactly one.",
                            list.len()
                        ),
                    );
                }
            }
        } else if cp == Some(false) && p.get("control_plane_as_worker").as_bool() == Some(true) {
            d.error_at(
                at.clone(),
                "Worker pool with control_plane_as_worker",
                format!(
                    "`control_plane_as_worker` only applies to the control-plane pool; remove it from {name:?}."
                ),
            );
        }
        for pl in placements.as_elements().unwrap_or(&[]) {
            let pool_id = pl.get("ip_pool_id");
            match static_ip {
                Some(true) if pool_id.is_null() => d.error_at(
                    at.clone(),
                    "Static IP needs an IP pool",
                    format!(
                        "`static_ip = true`, but a placement of machine pool {name:?} (compute cluster {:?}) has \
                         no `ip_pool_id`; every placement needs the uid of an IP pool of the account's gateway.",
                        pl.get("compute_cluster").as_str().unwrap_or("?")
                    ),
                ),
                Some(false) if pool_id.as_str().is_some() => d.error_at(
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

pub(super) fn pools_by_name(v: &Value) -> BTreeMap<String, &Value> {
    elements(v.get("machine_pool"))
        .iter()
        .filter_map(|p| p.get("name").as_str().map(|n| (n.to_string(), p)))
        .collect()
}

/// The refinements of the generic plan: replacement when the control plane
/// moves to another pool, and computed values that an update leaves alone.
pub fn refine_plan(prior: &Value, planned: &mut Value, requires_replace: &mut Vec<AttrPath>) {
    if prior.is_null() || planned.is_null() {
        return;
    }
    let cp_of = |v: &Value| -> Option<String> {
        elements(v.get("machine_pool"))
            .iter()
            .find(|p| p.get("control_plane").as_bool() == Some(true))
            .and_then(|p| s(p, "name"))
    };
    let (before, after) = (cp_of(prior), cp_of(planned));
    if before.is_some() && after.is_some() && before != after {
        // Palette cannot hand the control plane to another pool.
        requires_replace.push(AttrPath::attr("machine_pool"));
    }
    let pools_same = prior
        .get("machine_pool")
        .semantically_equal(planned.get("machine_pool"));
    if pools_same && planned.get("nodes").is_unknown() {
        planned.set_attr("nodes", prior.get("nodes").clone());
    }
    if planned.get("kubeconfig").is_unknown() && !prior.get("kubeconfig").is_null() {
        planned.set_attr("kubeconfig", prior.get("kubeconfig").clone());
    }
    if planned.get("store_kubeconfig").as_bool() == Some(false) {
        planned.set_attr("kubeconfig", Value::Null);
    }
    if pools_same
        && planned.get("state").is_unknown()
        && prior.get("state").as_str() == Some("Running")
    {
        planned.set_attr("state", prior.get("state").clone());
        planned.set_attr("health", prior.get("health").clone());
    }
}

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
/// Terraform (the console) can alter.
pub(super) const HELD_BY_PALETTE: &[&str] = &[
    "name",
    "description",
    "tags",
    "cloud_account_id",
    "cluster_profile",
    "cloud_config",
    "machine_pool",
];

/// The settings that differ between the state a plan was made from and
/// the cluster now.
pub(super) fn changed_settings(planned_from: &Value, now: &Value) -> Vec<&'static str> {
    HELD_BY_PALETTE
        .iter()
        .copied()
        .filter(|k| !planned_from.get(k).semantically_equal(now.get(k)))
        .collect()
}

/// An apply whose plan saw an older cluster than Palette has now (a saved
/// plan applied after someone scaled the cluster in the console) stops
/// instead of reverting what was changed; a newer timestamp that changed
/// none of the settings (status only) lets it go on.
pub(super) async fn changed_since_plan(
    client: &Client,
    uid: &str,
    req: &ApplyRequest,
    ctx: &Ctx,
) -> Option<ApplyResult> {
    let seen = Seen::parse(&req.planned_private).modified?;
    let cluster = match get_cluster(client, uid, ctx).await {
        Ok(Some(c)) => c,
        // Gone or unreadable: the update's own steps say so.
        _ => return None,
    };
    let now = Seen::of(&cluster).modified?;
    if now == seen {
        return None;
    }
    let ctxt = context(&req.prior);
    let r = read_remote(client, uid, false, stores_kubeconfig(&req.prior), ctx)
        .await
        .ok()??;
    let current = state_from(&r, &req.prior, &ctxt);
    let changed = changed_settings(&req.prior, &current);
    if changed.is_empty() {
        return None;
    }
    let name = s(&req.prior, "name").unwrap_or_default();
    Some(ApplyResult {
        private: Seen::of(&r.cluster).bytes(),
        ..ApplyResult::failed(
            current,
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

/// The gateway of a cloud account, from its `overlordUid` annotation; none
/// when the account cannot be read.
pub(super) async fn gateway_of_account(
    client: &Client,
    account: &str,
    ctx: &Ctx,
) -> Option<String> {
    let path = format!("/v1/cloudaccounts/vsphere/{account}");
    // A project cluster may use a tenant account.
    let acct = match client.get::<V1VsphereAccount>(&path, &ctx.cancel).await {
        Ok(a) => Ok(a),
        Err(e) if e.is_not_found() => client.with_project(None).get(&path, &ctx.cancel).await,
        Err(e) => Err(e),
    };
    acct.ok()
        .and_then(|a| a.metadata)
        .and_then(|m| m.annotations)
        .and_then(|a| a.get("overlordUid").cloned())
}

/// vCenter's inventory as Palette lists it through a gateway.
pub(super) struct ThroughGateway<'a> {
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
    pub(super) async fn check_pools_of_gateway(
        &self,
        config: &Value,
        diags: &mut Diagnostics,
        ctx: &Ctx,
    ) {
        let Some(account) = config.get("cloud_account_id").as_str() else {
            return;
        };
        let wanted: BTreeSet<String> = elements(config.get("machine_pool"))
            .iter()
            .flat_map(|p| elements(p.get("placement")))
            .filter_map(|pl| s(pl, "ip_pool_id"))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let Ok(client) = self.shared.scoped(&context(config)) else {
            return;
        };
        let Some(gateway) = gateway_of_account(&client, account, ctx).await else {
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
    pub(super) async fn check_placement(
        &self,
        planned: &Value,
        diags: &mut Diagnostics,
        ctx: &Ctx,
    ) {
        let Some(account) = planned.get("cloud_account_id").as_str() else {
            return;
        };
        let Ok(client) = self.shared.scoped(&context(planned)) else {
            return;
        };
        let Some(gateway) = gateway_of_account(&client, account, ctx).await else {
            return;
        };
        let datacenter = first(planned, "cloud_config")
            .get("datacenter")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut wanted = Vec::new();
        let mut pools = Vec::new();
        for pool in elements(planned.get("machine_pool")) {
            for pl in elements(pool.get("placement")) {
                let mut w = placement::Wanted::of(pl, Vec::new());
                w.datacenter = datacenter.clone();
                w.datacenter_at = Some(
                    AttrPath::attr("cloud_config")
                        .then_index(0)
                        .then_attr("datacenter"),
                );
                wanted.push(w);
                pools.push(s(pool, "name").unwrap_or_default());
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
}

impl Cluster {
    pub(super) async fn modify_plan_cluster(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        if req.proposed.is_null() {
            for (summary, detail) in crate::consequences::cluster(&req.prior, &Value::Null, false) {
                resp.diags.warning(summary, detail);
            }
            return;
        }
        // Pack values that say what the prior ones say keep the prior text,
        // planned again so that a spelling alone is no change at all.
        if let Some(proposed) = respell_packs(&req.prior, &req.proposed) {
            let config =
                respell_packs(&req.prior, &req.config).unwrap_or_else(|| req.config.clone());
            let again = tfplugin::plan::plan(&self.schema().block, &req.prior, &proposed, &config);
            resp.state = again.state;
            resp.requires_replace = again.requires_replace;
            resp.kept_prior_spelling = true;
        }
        refine_plan(&req.prior, &mut resp.state, &mut resp.requires_replace);
        let unchanged = !req.prior.is_null()
            && req.prior.get("cloud_account_id") == resp.state.get("cloud_account_id")
            && req
                .prior
                .get("machine_pool")
                .semantically_equal(resp.state.get("machine_pool"));
        if !unchanged {
            self.check_pools_of_gateway(&req.config, &mut resp.diags, &req.ctx)
                .await;
        }
        let placed_same = unchanged
            && first(&req.prior, "cloud_config").get("datacenter")
                == first(&resp.state, "cloud_config").get("datacenter");
        if !placed_same && !resp.diags.has_errors() {
            self.check_placement(&resp.state, &mut resp.diags, &req.ctx)
                .await;
        }
        if req.prior.is_null() && context(&req.proposed) == "project" {
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
        for (summary, detail) in crate::consequences::cluster(&req.prior, &resp.state, replacing) {
            resp.diags.warning(summary, detail);
        }
    }
}
