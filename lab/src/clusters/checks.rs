//! Checks of a cluster request against the lab's store and vCenter, and the
//! create and validate handlers built on them.

use super::*;

// ---------------------------------------------------------------- checks

pub(super) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "InvalidClusterSpec", message)
}

/// A lowercase RFC 1123 label: what Kubernetes and vCenter both accept.
pub(super) fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(super) fn check_cluster_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.unwrap_or_default();
    if name.is_empty() {
        return Err(invalid("metadata.name is required"));
    }
    if !is_dns_label(name, NAME_MAX) {
        return Err(invalid(format!(
            "metadata.name {name:?} is not valid: a cluster name is at most {NAME_MAX} lowercase \
             letters, digits and '-', starting and ending with a letter or digit"
        )));
    }
    Ok(name.to_string())
}

/// What a request's pool is checked against: the gateway's IP pools.
pub(super) struct PoolContext<'a> {
    pub(super) static_ip: bool,
    pub(super) gateway_name: &'a str,
    pub(super) ip_pools: &'a [(String, String)],
}

/// One machine pool, checked on its own (the cluster-wide rules are in
/// [`check_pools`]); `at` names it in messages.
pub(super) fn check_pool(
    e: &V1VsphereMachinePoolConfigEntity,
    at: &str,
    ctx: &PoolContext<'_>,
) -> Result<MachinePool, ApiError> {
    let config = e
        .pool_config
        .clone()
        .ok_or_else(|| invalid(format!("{at}.poolConfig is required")))?;
    let name = config.name.clone().unwrap_or_default();
    if !is_dns_label(&name, 63) {
        return Err(invalid(format!(
            "{at}.poolConfig.name {name:?} is not valid: lowercase letters, digits and '-', \
             starting and ending with a letter or digit"
        )));
    }
    let at = format!("machine pool '{name}'");
    let cp = config.is_control_plane.unwrap_or(false);
    let size = config.size.unwrap_or(0);
    if cp && ![1, 3, 5].contains(&size) {
        return Err(invalid(format!(
            "{at}: a control plane has 1, 3 or 5 nodes, not {size}"
        )));
    }
    if size < 0 {
        return Err(invalid(format!("{at}: size {size} is negative")));
    }
    let cloud = e.cloud_config.clone().unwrap_or_default();
    let it = cloud
        .instance_type
        .ok_or_else(|| invalid(format!("{at}: cloudConfig.instanceType is required")))?;
    let instance = Instance {
        cpus: it.num_cp_us.unwrap_or(0),
        memory_mib: it.memory_mi_b.unwrap_or(0),
        disk_gib: it.disk_gi_b.unwrap_or(0),
    };
    if instance.cpus < 1 || instance.memory_mib < 1 || instance.disk_gib < 1 {
        return Err(invalid(format!(
            "{at}: cloudConfig.instanceType needs numCPUs, memoryMiB and diskGiB above 0"
        )));
    }
    let placements = cloud.placements.unwrap_or_default();
    if placements.is_empty() {
        return Err(invalid(format!(
            "{at}: cloudConfig.placements needs at least one placement"
        )));
    }
    if cp && placements.len() != 1 {
        return Err(invalid(format!(
            "{at}: the control plane has exactly one placement, not {}",
            placements.len()
        )));
    }
    let mut out = Vec::new();
    for (j, p) in placements.into_iter().enumerate() {
        let here = format!("{at} placements[{j}]");
        let need = |v: Option<String>, f: &str| {
            v.filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(format!("{here}: {f} is required")))
        };
        let network = p.network.clone().unwrap_or_default();
        let pool = network.parent_pool_uid.clone().filter(|s| !s.is_empty());
        let ip_pool = match (ctx.static_ip, pool) {
            (true, None) => {
                return Err(invalid(format!(
                    "{here}: staticIp needs network.parentPoolUid, an IP pool of gateway '{}'",
                    ctx.gateway_name
                )))
            }
            (true, Some(p)) => {
                if !ctx.ip_pools.iter().any(|(uid, _)| uid == &p) {
                    let names: Vec<&str> = ctx.ip_pools.iter().map(|(_, n)| n.as_str()).collect();
                    return Err(invalid(format!(
                        "{here}: network.parentPoolUid '{p}' is not an IP pool of gateway '{}' \
                         (its pools: {})",
                        ctx.gateway_name,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    )));
                }
                Some(p)
            }
            (false, Some(p)) => {
                return Err(invalid(format!(
                    "{here}: network.parentPoolUid '{p}' is set but the cluster uses DHCP \
                     (cloudConfig.staticIp is false)"
                )))
            }
            (false, None) => None,
        };
        out.push(NodePlacement {
            cluster: need(p.cluster, "cluster")?,
            resource_pool: p.resource_pool.unwrap_or_default(),
            datastore: need(p.datastore, "datastore")?,
            network: need(network.network_name, "network.networkName")?,
            ip_pool,
        });
    }
    Ok(MachinePool {
        uid: ids::new_uid(),
        config,
        instance,
        placements: out,
    })
}

/// The rules across pools: exactly one control plane, unique names.
pub(super) fn check_pools(pools: &[MachinePool]) -> Result<(), ApiError> {
    let cps: Vec<&str> = pools
        .iter()
        .filter(|p| p.is_control_plane())
        .map(|p| p.name())
        .collect();
    if cps.len() != 1 {
        return Err(invalid(format!(
            "a cluster has exactly one control-plane pool (isControlPlane), not {}{}",
            cps.len(),
            if cps.is_empty() {
                String::new()
            } else {
                format!(": {}", cps.join(", "))
            }
        )));
    }
    let mut seen = BTreeSet::new();
    for p in pools {
        if !seen.insert(p.name()) {
            return Err(invalid(format!(
                "machine pool name '{}' is used twice",
                p.name()
            )));
        }
    }
    Ok(())
}

/// Finds every placement in vCenter with the account's credentials; the
/// first missing object is named with its inventory path.
pub(super) async fn check_vcenter(
    account_name: &str,
    account: &V1VsphereCloudAccount,
    datacenter: &str,
    pools: &[&MachinePool],
) -> Result<(), ApiError> {
    let s = crate::accounts::login(account).await.map_err(|e| {
        invalid(format!(
            "cloud account '{account_name}' cannot reach vCenter to check the placements: {e}"
        ))
    })?;
    let result = async {
        s.find("datacenter", datacenter)
            .await
            .map_err(|e| invalid(format!("cloudConfig.placement.datacenter: {e}")))?;
        for pool in pools {
            for (j, p) in pool.placements.iter().enumerate() {
                s.locate(&vm_placement(datacenter, "", p))
                    .await
                    .map_err(|e| {
                        invalid(format!(
                            "machine pool '{}' placements[{j}]: {e}",
                            pool.name()
                        ))
                    })?;
            }
        }
        Ok(())
    }
    .await;
    let _ = s.logout().await;
    result
}

pub(super) fn vm_placement(
    datacenter: &str,
    folder: &str,
    p: &NodePlacement,
) -> vsphere::vm::Placement {
    vsphere::vm::Placement {
        datacenter: datacenter.to_string(),
        compute_cluster: p.cluster.clone(),
        datastore: p.datastore.clone(),
        network: p.network.clone(),
        resource_pool: p.resource_pool.clone(),
        folder: folder.to_string(),
    }
}

/// A create (or validate) request, checked.
pub(super) struct Checked {
    pub(super) name: String,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) annotations: BTreeMap<String, String>,
    pub(super) account_uid: String,
    pub(super) account_name: String,
    pub(super) account: V1VsphereCloudAccount,
    pub(super) gateway_uid: String,
    pub(super) profiles: Vec<ClusterProfile>,
    pub(super) cloud_config: V1VsphereClusterConfigEntity,
    pub(super) pools: Vec<MachinePool>,
}

/// The gateway's IP pools as (uid, name), and its name.
pub(super) fn gateway_pools(store: &Store, gateway_uid: &str) -> (String, Vec<(String, String)>) {
    store
        .gateways
        .iter()
        .find(|g| g.uid == gateway_uid)
        .map(|g| {
            (
                g.name.clone(),
                g.pools
                    .iter()
                    .map(|p| (p.uid.clone(), p.name.clone()))
                    .collect(),
            )
        })
        .unwrap_or_default()
}

pub(super) fn check_profiles(
    store: &Store,
    scope: &Scope,
    list: &[V1SpectroClusterProfileEntity],
) -> Result<Vec<ClusterProfile>, ApiError> {
    if list.is_empty() {
        return Err(invalid(
            "spec.profiles needs at least one cluster profile (the infrastructure profile)",
        ));
    }
    let mut out: Vec<ClusterProfile> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let uid = e.uid.clone().unwrap_or_default();
        let p = store
            .profiles
            .iter()
            .find(|p| p.uid == uid && (p.scope == Scope::Tenant || &p.scope == scope))
            .ok_or_else(|| {
                invalid(format!(
                    "spec.profiles[{i}]: cluster profile '{uid}' not found"
                ))
            })?;
        if out.iter().any(|o| o.uid == uid) {
            return Err(invalid(format!(
                "spec.profiles[{i}]: cluster profile '{uid}' is given twice"
            )));
        }
        out.push(ClusterProfile {
            uid,
            values: pack_values(p, e)?,
            variables: e.variables.clone().unwrap_or_default(),
        });
    }
    Ok(out)
}

/// The pack values an entry overrides; every pack must be the profile's.
pub(super) fn pack_values(
    p: &crate::model::profile::Profile,
    e: &V1SpectroClusterProfileEntity,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for v in e.pack_values.clone().unwrap_or_default() {
        let name = v.name.clone().unwrap_or_default();
        if !p.packs.iter().any(|k| k.name.as_deref() == Some(&name)) {
            let packs: Vec<&str> = p.packs.iter().filter_map(|k| k.name.as_deref()).collect();
            return Err(invalid(format!(
                "pack '{name}' is not in cluster profile '{}' {} (its packs: {})",
                p.name,
                p.version,
                packs.join(", ")
            )));
        }
        if let Some(values) = v.values {
            out.insert(name, values);
        }
    }
    Ok(out)
}

pub(super) fn check_endpoint(cfg: &V1VsphereClusterConfigEntity) -> Result<(), ApiError> {
    if let Some(t) = cfg
        .control_plane_endpoint
        .as_ref()
        .and_then(|e| e.r#type.as_deref())
    {
        if t != "VIP" && t != "DDNS" {
            return Err(invalid(format!(
                "cloudConfig.controlPlaneEndpoint.type {t:?} is not supported on vSphere: use VIP or DDNS"
            )));
        }
    }
    Ok(())
}

/// Everything but vCenter, under the store's lock.
pub(super) fn check_request(
    store: &Store,
    scope: &Scope,
    body: &V1SpectroVsphereClusterEntity,
) -> Result<Checked, ApiError> {
    let meta = body.metadata.clone().unwrap_or_default();
    let name = check_cluster_name(meta.name.as_deref())?;
    let spec = body
        .spec
        .clone()
        .ok_or_else(|| invalid("spec is required"))?;
    let account_uid = spec.cloud_account_uid.clone().unwrap_or_default();
    let account = store
        .accounts
        .iter()
        .find(|a| a.uid == account_uid && (a.scope == Scope::Tenant || &a.scope == scope))
        .ok_or_else(|| {
            invalid(format!(
                "spec.cloudAccountUid: cloud account '{account_uid}' not found in this scope"
            ))
        })?;
    match store.gateways.iter().find(|g| g.uid == account.gateway_uid) {
        None => {
            return Err(invalid(format!(
                "cloud account '{}': its private cloud gateway '{}' no longer exists",
                account.name, account.gateway_uid
            )))
        }
        Some(g) if g.state != "Running" => {
            return Err(invalid(format!(
                "cloud account '{}': its private cloud gateway '{}' is {}, not Running",
                account.name, g.name, g.state
            )))
        }
        Some(_) => {}
    }
    let profiles = check_profiles(store, scope, &spec.profiles.clone().unwrap_or_default())?;
    let cloud_config = spec
        .cloud_config
        .clone()
        .ok_or_else(|| invalid("spec.cloudConfig is required"))?;
    let datacenter = cloud_config
        .placement
        .as_ref()
        .and_then(|p| p.datacenter.clone())
        .unwrap_or_default();
    if datacenter.is_empty() {
        return Err(invalid("spec.cloudConfig.placement.datacenter is required"));
    }
    check_endpoint(&cloud_config)?;
    let (gateway_name, ip_pools) = gateway_pools(store, &account.gateway_uid);
    let ctx = PoolContext {
        static_ip: cloud_config.static_ip.unwrap_or(false),
        gateway_name: &gateway_name,
        ip_pools: &ip_pools,
    };
    let pools = spec
        .machinepoolconfig
        .clone()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, e)| check_pool(e, &format!("spec.machinepoolconfig[{i}]"), &ctx))
        .collect::<Result<Vec<_>, _>>()?;
    check_pools(&pools)?;
    let mut annotations = meta.annotations.unwrap_or_default();
    annotations.remove("scope");
    Ok(Checked {
        name,
        labels: meta.labels.unwrap_or_default(),
        annotations,
        account_uid,
        account_name: account.name.clone(),
        account: account.spec.clone(),
        gateway_uid: account.gateway_uid.clone(),
        profiles,
        cloud_config,
        pools,
    })
}

pub(super) async fn checked(
    lab: &Lab,
    scope: &Scope,
    body: &V1SpectroVsphereClusterEntity,
) -> Result<Checked, ApiError> {
    let c = check_request(&lab.store(), scope, body)?;
    let pools: Vec<&MachinePool> = c.pools.iter().collect();
    check_vcenter(
        &c.account_name,
        &c.account,
        &datacenter_of(&c.cloud_config),
        &pools,
    )
    .await?;
    Ok(c)
}

pub(super) fn datacenter_of(cfg: &V1VsphereClusterConfigEntity) -> String {
    cfg.placement
        .as_ref()
        .and_then(|p| p.datacenter.clone())
        .unwrap_or_default()
}

pub(super) fn folder_of(cfg: &V1VsphereClusterConfigEntity) -> String {
    cfg.placement
        .as_ref()
        .and_then(|p| p.folder.clone())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- create, validate

/// `POST /v1/spectroclusters/vsphere`.
pub async fn create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Json(body): Json<V1SpectroVsphereClusterEntity>,
) -> Response {
    let c = match checked(&lab, &scope, &body).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let uid = ids::new_uid();
    {
        let mut store = lab.store();
        if let Some(other) = store
            .clusters
            .iter()
            .find(|o| o.name == c.name && o.scope == scope)
        {
            return ApiError::conflict(format!(
                "a cluster named '{}' already exists in this {} ({})",
                c.name,
                scope_name(&scope),
                other.state
            ))
            .into_response();
        }
        let now = lab.clock.now();
        store.clusters.push(Cluster {
            uid: uid.clone(),
            name: c.name.clone(),
            scope: scope.clone(),
            created: now.clone(),
            modified: now,
            labels: c.labels,
            annotations: c.annotations,
            account_uid: c.account_uid,
            gateway_uid: c.gateway_uid,
            config_uid: ids::new_uid(),
            profiles: c.profiles,
            cloud_config: c.cloud_config,
            pools: c.pools,
            nodes: Vec::new(),
            created_folders: Vec::new(),
            state: "Pending".into(),
            conditions: Vec::new(),
            deleting_since: None,
            generation: 1,
            token: ids::new_api_key(),
            busy: Arc::new(tokio::sync::Mutex::new(())),
        });
        store.event(
            KIND,
            &uid,
            &c.name,
            "Normal",
            "Created",
            format!(
                "cluster '{}' created on cloud account '{}'",
                c.name, c.account_name
            ),
        );
    }
    spawn_lifecycle(lab, uid.clone(), 1, Phase::Create);
    (StatusCode::CREATED, Json(V1Uid { uid: Some(uid) })).into_response()
}

/// `POST /v1/spectroclusters/vsphere/validate`: the create's checks, nothing
/// made. The name's uniqueness is the create's business, not the spec's.
pub async fn validate(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Json(body): Json<V1SpectroVsphereClusterEntity>,
) -> Response {
    let c = match checked(&lab, &scope, &body).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let store = lab.store();
    let result = |name: &str| V1ConstraintValidatorResult {
        display_name: Some(name.to_string()),
        errors: Some(Vec::new()),
        name: Some(name.to_string()),
    };
    Json(V1SpectroClusterValidatorResponse {
        machine_pools: Some(V1ConstraintValidatorResponse {
            results: Some(c.pools.iter().map(|p| result(p.name())).collect()),
        }),
        profiles: Some(
            c.profiles
                .iter()
                .map(|cp| V1SpectroClusterProfileValidatorResponse {
                    uid: Some(cp.uid.clone()),
                    packs: Some(V1ConstraintValidatorResponse {
                        results: Some(
                            store
                                .profiles
                                .iter()
                                .find(|p| p.uid == cp.uid)
                                .map(|p| {
                                    p.packs
                                        .iter()
                                        .filter_map(|k| k.name.as_deref())
                                        .map(result)
                                        .collect()
                                })
                                .unwrap_or_default(),
                        ),
                    }),
                })
                .collect(),
        ),
    })
    .into_response()
}
