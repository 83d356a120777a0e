//! The cluster's cloud config: its cluster config, machine pools and machines.

use super::*;

// ---------------------------------------------------------------- cloud config

pub(super) fn placement_api(
    c: &Cluster,
    static_ip: bool,
    p: &NodePlacement,
    store: &Store,
) -> V1VspherePlacementConfig {
    let pool_name = p.ip_pool.as_ref().and_then(|uid| {
        store
            .gateways
            .iter()
            .find(|g| g.uid == c.gateway_uid)
            .and_then(|g| g.pools.iter().find(|x| &x.uid == uid))
            .map(|x| x.name.clone())
    });
    V1VspherePlacementConfig {
        datacenter: Some(datacenter_of(&c.cloud_config)),
        folder: Some(folder_of(&c.cloud_config)),
        cluster: Some(p.cluster.clone()),
        datastore: Some(p.datastore.clone()),
        resource_pool: Some(p.resource_pool.clone()),
        network: Some(V1VsphereNetworkConfig {
            network_name: Some(p.network.clone()),
            static_ip: Some(static_ip),
            parent_pool_ref: p.ip_pool.as_ref().map(|uid| V1ObjectReference {
                kind: Some("IPPool".into()),
                name: pool_name,
                uid: Some(uid.clone()),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn cloud_config_api(store: &Store, c: &Cluster) -> V1VsphereCloudConfig {
    let cfg = &c.cloud_config;
    let static_ip = cfg.static_ip.unwrap_or(false);
    let account = store.accounts.iter().find(|a| a.uid == c.account_uid);
    let placement = cfg.placement.clone().unwrap_or_default();
    V1VsphereCloudConfig {
        api_version: Some("v1".into()),
        kind: Some("VsphereCloudConfig".into()),
        metadata: Some(V1ObjectMeta {
            name: Some(c.name.clone()),
            uid: Some(c.config_uid.clone()),
            creation_timestamp: Some(c.created.clone()),
            ..Default::default()
        }),
        spec: Some(V1VsphereCloudConfigSpec {
            cloud_account_ref: Some(V1ObjectReference {
                kind: Some("VsphereCloudAccount".into()),
                name: account.map(|a| a.name.clone()),
                uid: Some(c.account_uid.clone()),
            }),
            cluster_config: Some(V1VsphereClusterConfig {
                control_plane_endpoint: cfg.control_plane_endpoint.clone(),
                ntp_servers: cfg.ntp_servers.clone(),
                ssh_keys: cfg.ssh_keys.clone(),
                static_ip: Some(static_ip),
                placement: Some(V1VspherePlacementConfig {
                    datacenter: placement.datacenter,
                    folder: placement.folder,
                    image_template_folder: placement.image_template_folder,
                    ..Default::default()
                }),
            }),
            machine_pool_config: Some(
                c.pools
                    .iter()
                    .map(|p| V1VsphereMachinePoolConfig {
                        name: p.config.name.clone(),
                        is_control_plane: Some(p.is_control_plane()),
                        size: Some(p.size() as i32),
                        labels: p.config.labels.clone(),
                        additional_labels: p.config.additional_labels.clone(),
                        additional_tags: p.config.additional_tags.clone(),
                        taints: p.config.taints.clone(),
                        update_strategy: p.config.update_strategy.clone(),
                        use_control_plane_as_worker: p.config.use_control_plane_as_worker,
                        min_size: p.config.min_size,
                        max_size: p.config.max_size,
                        node_repave_interval: p.config.node_repave_interval,
                        machine_pool_properties: p.config.machine_pool_properties.clone(),
                        instance_type: Some(V1VsphereInstanceType {
                            num_cp_us: Some(p.instance.cpus),
                            memory_mi_b: Some(p.instance.memory_mib),
                            disk_gi_b: Some(p.instance.disk_gib),
                        }),
                        placements: Some(
                            p.placements
                                .iter()
                                .map(|pl| placement_api(c, static_ip, pl, store))
                                .collect(),
                        ),
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: Some(V1VsphereCloudConfigStatus {
            conditions: Some(c.conditions.clone()),
            ..Default::default()
        }),
    }
}

/// `GET /v1/cloudconfigs/vsphere/{configUid}`.
pub async fn cloud_config_get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(config): Path<String>,
) -> Response {
    let store = lab.store();
    match by_config(&store, &config, &scope) {
        Ok(c) => Json(cloud_config_api(&store, c)).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(super) fn refuse_if_deleting(c: &Cluster) -> Result<(), ApiError> {
    if c.deleting_since.is_some() {
        return Err(ApiError::conflict(format!(
            "cluster '{}' is being deleted",
            c.name
        )));
    }
    Ok(())
}

/// `PUT /v1/cloudconfigs/vsphere/{configUid}/clusterConfig`: SSH keys, NTP
/// servers and the endpoint change in place; the network mode and where the
/// cluster lives do not.
pub async fn cluster_config_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(config): Path<String>,
    Json(body): Json<V1VsphereCloudClusterConfigEntity>,
) -> Response {
    let Some(new) = body.cluster_config else {
        return invalid("clusterConfig is required").into_response();
    };
    if let Err(e) = check_endpoint(&new) {
        return e.into_response();
    }
    let mut store = lab.store();
    let uid = match by_config(&store, &config, &scope) {
        Ok(c) => c.uid.clone(),
        Err(e) => return e.into_response(),
    };
    let Ok(c) = find_mut(&mut store, &uid, &scope) else {
        return not_found(&uid).into_response();
    };
    if let Err(e) = refuse_if_deleting(c) {
        return e.into_response();
    }
    let old = &c.cloud_config;
    if let Some(s) = new.static_ip {
        if s != old.static_ip.unwrap_or(false) {
            return invalid(format!(
                "clusterConfig.staticIp cannot change ({} -> {s}): the nodes' addresses come from it",
                old.static_ip.unwrap_or(false)
            ))
            .into_response();
        }
    }
    let mut placement = old.placement.clone().unwrap_or_default();
    if let Some(p) = &new.placement {
        for (field, was, now) in [
            ("datacenter", &placement.datacenter, &p.datacenter),
            ("folder", &placement.folder, &p.folder),
        ] {
            let (was, now) = (
                was.clone().unwrap_or_default(),
                now.clone().unwrap_or_default(),
            );
            if was != now {
                return invalid(format!(
                    "clusterConfig.placement.{field} cannot change ({was:?} -> {now:?}): the cluster's VMs live there"
                ))
                .into_response();
            }
        }
        if p.image_template_folder.is_some() {
            placement.image_template_folder = p.image_template_folder.clone();
        }
    }
    c.cloud_config = V1VsphereClusterConfigEntity {
        control_plane_endpoint: new.control_plane_endpoint,
        ntp_servers: new.ntp_servers,
        ssh_keys: new.ssh_keys,
        static_ip: old.static_ip,
        placement: Some(placement),
    };
    c.modified = lab.clock.now();
    let name = c.name.clone();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "ClusterConfigUpdated",
        "SSH keys, NTP servers and control plane endpoint updated",
    );
    StatusCode::NO_CONTENT.into_response()
}

/// A pool body checked against its cluster; with `replacing`, the pool it
/// replaces.
pub(super) async fn checked_pool(
    lab: &Lab,
    scope: &Scope,
    config: &str,
    body: &V1VsphereMachinePoolConfigEntity,
    replacing: Option<&str>,
) -> Result<(String, MachinePool), ApiError> {
    let (uid, pool, account_name, account, datacenter) = {
        let store = lab.store();
        let c = by_config(&store, config, scope)?;
        refuse_if_deleting(c)?;
        let (gateway_name, ip_pools) = gateway_pools(&store, &c.gateway_uid);
        let ctx = PoolContext {
            static_ip: c.cloud_config.static_ip.unwrap_or(false),
            gateway_name: &gateway_name,
            ip_pools: &ip_pools,
        };
        let mut body = body.clone();
        if let (Some(name), Some(pc)) = (replacing, body.pool_config.as_mut()) {
            match pc.name.as_deref() {
                None | Some("") => pc.name = Some(name.to_string()),
                Some(n) if n == name => {}
                Some(n) => {
                    return Err(invalid(format!(
                    "machine pool '{name}' cannot be renamed to '{n}': create a new pool instead"
                )))
                }
            }
        }
        let mut pool = check_pool(&body, "machine pool", &ctx)?;
        let mut pools: Vec<MachinePool> = c
            .pools
            .iter()
            .filter(|p| Some(p.name()) != replacing)
            .cloned()
            .collect();
        if let Some(name) = replacing {
            let old = c
                .pools
                .iter()
                .find(|p| p.name() == name)
                .ok_or_else(|| ApiError::not_found("machine pool", name))?;
            if old.is_control_plane() != pool.is_control_plane() {
                return Err(invalid(format!(
                    "machine pool '{name}': isControlPlane cannot change"
                )));
            }
            pool.uid = old.uid.clone();
        } else if c.pools.iter().any(|p| p.name() == pool.name()) {
            return Err(ApiError::conflict(format!(
                "cluster '{}' already has a machine pool named '{}'",
                c.name,
                pool.name()
            )));
        }
        pools.push(pool.clone());
        check_pools(&pools)?;
        let account = store
            .accounts
            .iter()
            .find(|a| a.uid == c.account_uid)
            .ok_or_else(|| {
                invalid(format!(
                    "the cluster's cloud account '{}' no longer exists",
                    c.account_uid
                ))
            })?;
        (
            c.uid.clone(),
            pool,
            account.name.clone(),
            account.spec.clone(),
            datacenter_of(&c.cloud_config),
        )
    };
    check_vcenter(&account_name, &account, &datacenter, &[&pool]).await?;
    Ok((uid, pool))
}

/// Records a pool change and starts the VMs following it.
pub(super) fn apply_pools(
    lab: &Lab,
    uid: &str,
    change: impl FnOnce(&mut Vec<MachinePool>),
    what: String,
) -> Result<(), ApiError> {
    let generation = {
        let mut store = lab.store();
        let c = store
            .clusters
            .iter_mut()
            .find(|c| c.uid == uid)
            .ok_or_else(|| not_found(uid))?;
        refuse_if_deleting(c)?;
        change(&mut c.pools);
        c.generation += 1;
        c.state = "Provisioning".into();
        c.modified = lab.clock.now();
        let (name, generation) = (c.name.clone(), c.generation);
        store.event(KIND, uid, &name, "Normal", "MachinePoolsChanged", what);
        generation
    };
    spawn_lifecycle(lab.clone(), uid.to_string(), generation, Phase::Update);
    Ok(())
}

/// `POST /v1/cloudconfigs/vsphere/{configUid}/machinePools`.
pub async fn pool_create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(config): Path<String>,
    Json(body): Json<V1VsphereMachinePoolConfigEntity>,
) -> Response {
    let (uid, pool) = match checked_pool(&lab, &scope, &config, &body, None).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let pool_uid = pool.uid.clone();
    let what = format!(
        "machine pool '{}' added with {} node(s)",
        pool.name(),
        pool.size()
    );
    let name = pool.name().to_string();
    let added = apply_pools(
        &lab,
        &uid,
        |pools| {
            if !pools.iter().any(|p| p.name() == name) {
                pools.push(pool);
            }
        },
        what,
    );
    match added {
        Ok(()) => (
            StatusCode::CREATED,
            Json(V1Uid {
                uid: Some(pool_uid),
            }),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `PUT /v1/cloudconfigs/vsphere/{configUid}/machinePools/{name}`: size,
/// instance type, labels, taints, placements; also heals the cluster's VMs.
pub async fn pool_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((config, name)): Path<(String, String)>,
    Json(body): Json<V1VsphereMachinePoolConfigEntity>,
) -> Response {
    let (uid, pool) = match checked_pool(&lab, &scope, &config, &body, Some(&name)).await {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let what = format!("machine pool '{name}' updated to {} node(s)", pool.size());
    let changed = apply_pools(
        &lab,
        &uid,
        |pools| {
            if let Some(p) = pools.iter_mut().find(|p| p.name() == name) {
                *p = pool;
            }
        },
        what,
    );
    match changed {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `DELETE /v1/cloudconfigs/vsphere/{configUid}/machinePools/{name}`.
pub async fn pool_delete(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((config, name)): Path<(String, String)>,
) -> Response {
    let uid = {
        let store = lab.store();
        let c = match by_config(&store, &config, &scope) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        match c.pools.iter().find(|p| p.name() == name) {
            None => return ApiError::not_found("machine pool", &name).into_response(),
            Some(p) if p.is_control_plane() => {
                return invalid(format!(
                    "machine pool '{name}' is the control plane and cannot be deleted"
                ))
                .into_response()
            }
            Some(_) => c.uid.clone(),
        }
    };
    let what = format!("machine pool '{name}' deleted");
    match apply_pools(&lab, &uid, |pools| pools.retain(|p| p.name() != name), what) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /v1/cloudconfigs/vsphere/{configUid}/machinePools/{name}/machines`:
/// each node as vCenter sees it now (see the module notes on drift).
pub async fn machines(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((config, name)): Path<(String, String)>,
) -> Response {
    let (c, account) = {
        let store = lab.store();
        let c = match by_config(&store, &config, &scope) {
            Ok(c) => c.clone(),
            Err(e) => return e.into_response(),
        };
        if !c.pools.iter().any(|p| p.name() == name) {
            return ApiError::not_found("machine pool", &name).into_response();
        }
        let account = store
            .accounts
            .iter()
            .find(|a| a.uid == c.account_uid)
            .map(|a| a.spec.clone());
        (c, account)
    };
    let mut nodes: Vec<&Node> = c.nodes.iter().filter(|n| n.pool == name).collect();
    nodes.sort_by_key(|n| n.index);
    let session = match &account {
        Some(a) if nodes.iter().any(|n| n.vm.is_some()) => crate::accounts::login(a).await.ok(),
        _ => None,
    };
    let mut seen = Vec::new();
    for n in &nodes {
        let live = match (&session, &n.vm) {
            (Some(s), Some(vm)) => Some(
                match crate::persist::vm_info_of(s, vm, MARKER, &c.uid).await {
                    Ok(i) => Ok(i.powered_on),
                    Err(e) => Err(e.is_not_found()),
                },
            ),
            _ => None,
        };
        seen.push(live);
    }
    if let Some(s) = session {
        let _ = s.logout().await;
    }
    let static_ip = c.cloud_config.static_ip.unwrap_or(false);
    let server = account
        .as_ref()
        .and_then(|a| a.vcenter_server.clone())
        .unwrap_or_default();
    let items: Vec<V1VsphereMachine> = {
        let store = lab.store();
        nodes
            .iter()
            .zip(seen)
            .map(|(n, live)| {
                let state = if n.deleting {
                    "Deleting"
                } else if n.vm.is_none() {
                    "Provisioning"
                } else {
                    match live {
                        Some(Ok(true)) if n.ready => "Running",
                        Some(Ok(true)) => "Provisioning",
                        Some(Ok(false)) => "PoweredOff",
                        Some(Err(true)) => "NotFound",
                        _ => "Unknown",
                    }
                };
                let health = match state {
                    "Running" => "Healthy",
                    "NotFound" | "PoweredOff" => "Unhealthy",
                    _ => "Unknown",
                };
                // The spec's instance states have no word for a VM that is
                // off or gone: the state is Unknown and a health condition
                // says why, as a machine health check would.
                let (state, conditions) = match state {
                    "NotFound" => (
                        "Unknown",
                        Some(vec![V1MachineHealthCondition {
                            r#type: Some("VirtualMachine".into()),
                            status: Some("False".into()),
                            reason: Some("NotFound".into()),
                            message: Some(format!("VM {} is not in vCenter", n.name)),
                        }]),
                    ),
                    "PoweredOff" => (
                        "Unknown",
                        Some(vec![V1MachineHealthCondition {
                            r#type: Some("VirtualMachine".into()),
                            status: Some("False".into()),
                            reason: Some("PoweredOff".into()),
                            message: Some(format!("VM {} is powered off", n.name)),
                        }]),
                    ),
                    other => (other, None),
                };
                V1VsphereMachine {
                    api_version: Some("v1".into()),
                    kind: Some("VsphereMachine".into()),
                    metadata: Some(V1ObjectMeta {
                        name: Some(n.name.clone()),
                        uid: Some(n.uid.clone()),
                        ..Default::default()
                    }),
                    spec: Some(V1VsphereMachineSpec {
                        placement: Some(placement_api(&c, static_ip, &n.placement, &store)),
                        instance_type: Some(V1VsphereInstanceType {
                            num_cp_us: Some(n.instance.cpus),
                            memory_mi_b: Some(n.instance.memory_mib),
                            disk_gi_b: Some(n.instance.disk_gib),
                        }),
                        nics: Some(vec![V1VsphereNic {
                            index: Some(0),
                            network_name: Some(n.placement.network.clone()),
                            private_i_ps: n.ip.map(|ip| vec![ip.to_string()]),
                            ..Default::default()
                        }]),
                        ntp_servers: c.cloud_config.ntp_servers.clone(),
                        vcenter_server: Some(server.clone()),
                        ..Default::default()
                    }),
                    status: Some(V1CloudMachineStatus {
                        instance_state: Some(state.into()),
                        ready: Some(state == "Running"),
                        health: Some(V1MachineHealth {
                            state: Some(health.into()),
                            conditions,
                            ..Default::default()
                        }),
                        addresses: n.ip.map(|ip| {
                            vec![V1MachineAddress {
                                address: Some(ip.to_string()),
                                r#type: Some("InternalIP".into()),
                            }]
                        }),
                        ..Default::default()
                    }),
                }
            })
            .collect()
    };
    Json(V1VsphereMachines {
        listmeta: Some(V1ListMetaData {
            count: Some(items.len() as i64),
            ..Default::default()
        }),
        items: Some(items),
    })
    .into_response()
}
