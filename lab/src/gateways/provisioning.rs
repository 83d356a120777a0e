//! The gateway's account and cloud config, and the provisioning they start:
//! Pending -> Provisioning -> Running while the lab makes the gateway's VMs;
//! resumed after a restart.

use super::*;

// ---------------------------------------------------------------- account and cloud config

/// `POST /v1/overlords/vsphere/{uid}/account`.
pub async fn account_create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereAccountCreate>,
) -> Response {
    let Some(account) = body.account else {
        return ApiError::bad_request("account is required").into_response();
    };
    {
        let store = lab.store();
        match store.gateways.iter().find(|g| is_gateway(g, &uid, &scope)) {
            None => return ApiError::not_found("private cloud gateway", &uid).into_response(),
            Some(g) if g.account.is_some() => {
                return ApiError::conflict(format!(
                    "gateway '{}' already has its vSphere account; update it with PUT",
                    g.name
                ))
                .into_response()
            }
            Some(_) => {}
        }
    }
    if let Err(e) = crate::accounts::check_credentials(&account).await {
        return e.into_response();
    }
    let mut store = lab.store();
    let account_uid = ids::new_uid();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    g.account = Some((account_uid.clone(), account));
    let name = g.name.clone();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "AccountSet",
        "vSphere account validated and saved",
    );
    (
        StatusCode::CREATED,
        Json(V1Uid {
            uid: Some(account_uid),
        }),
    )
        .into_response()
}

/// `PUT /v1/overlords/vsphere/{uid}/account`.
pub async fn account_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereAccountEntity>,
) -> Response {
    let Some(account) = body.account else {
        return ApiError::bad_request("account is required").into_response();
    };
    if let Err(e) = crate::accounts::check_credentials(&account).await {
        return e.into_response();
    }
    let mut store = lab.store();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let account_uid = g
        .account
        .as_ref()
        .map(|(u, _)| u.clone())
        .unwrap_or_else(ids::new_uid);
    g.account = Some((account_uid, account));
    StatusCode::NO_CONTENT.into_response()
}

/// A cloud config's placement, checked for the fields the lab needs.
pub(super) fn placement_of(
    cfg: &V1OverlordVsphereCloudConfig,
) -> Result<(vsphere::vm::Placement, Option<String>), ApiError> {
    let cc = cfg
        .cluster_config
        .clone()
        .ok_or_else(|| ApiError::bad_request("clusterConfig is required"))?;
    let p = cc
        .placements
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::bad_request("clusterConfig.placements needs one placement"))?;
    let need = |v: Option<String>, f: &str| {
        v.filter(|s| !s.is_empty()).ok_or_else(|| {
            ApiError::bad_request(format!("clusterConfig.placements[0].{f} is required"))
        })
    };
    let network = p.network.clone().unwrap_or_default();
    let pool = network.parent_pool_uid.clone().filter(|s| !s.is_empty());
    if cc.static_ip.unwrap_or(false) && pool.is_none() {
        return Err(ApiError::bad_request(
            "clusterConfig.staticIp needs placements[0].network.parentPoolUid: the IP pool of the gateway's nodes",
        ));
    }
    Ok((
        vsphere::vm::Placement {
            datacenter: need(p.datacenter, "datacenter")?,
            compute_cluster: need(p.cluster, "cluster")?,
            datastore: need(p.datastore, "datastore")?,
            network: need(network.network_name, "network.networkName")?,
            resource_pool: p.resource_pool.unwrap_or_default(),
            folder: p.folder.unwrap_or_default(),
        },
        pool,
    ))
}

pub(super) fn size_of(cfg: &V1OverlordVsphereCloudConfig) -> Result<i32, ApiError> {
    match cfg.size.unwrap_or(1) {
        s @ (1 | 3) => Ok(s),
        other => Err(ApiError::bad_request(format!(
            "size {other} is not supported: a gateway has 1 or 3 nodes"
        ))),
    }
}

/// Placement, nodes' pool and size of a cloud config, or the 400 to answer.
pub(super) fn checked_config(
    cfg: &V1OverlordVsphereCloudConfig,
) -> Result<(vsphere::vm::Placement, Option<String>, i32), ApiError> {
    let (placement, pool) = placement_of(cfg)?;
    Ok((placement, pool, size_of(cfg)?))
}

/// `POST /v1/overlords/vsphere/{uid}/cloudconfig`: starts provisioning.
pub async fn cloud_config_create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereCloudConfig>,
) -> Response {
    let (placement, pool, size) = match checked_config(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let (account, generation) = {
        let mut store = lab.store();
        let g = match gateway_mut(&mut store, &uid, &scope) {
            Ok(g) => g,
            Err(e) => return e.into_response(),
        };
        let Some((_, account)) = g.account.clone() else {
            return ApiError::bad_request(format!(
                "gateway '{}' has no vSphere account yet: POST /v1/overlords/vsphere/{uid}/account first",
                g.name
            ))
            .into_response();
        };
        if g.cloud_config.is_some() {
            return ApiError::conflict(format!(
                "gateway '{}' already has a cloud config; change it with PUT",
                g.name
            ))
            .into_response();
        }
        if let Some(p) = &pool {
            if !g.pools.iter().any(|x| &x.uid == p) {
                return ApiError::bad_request(format!(
                    "IP pool '{p}' is not a pool of gateway '{}'",
                    g.name
                ))
                .into_response();
            }
        }
        g.cloud_config = Some(body.clone());
        g.state = "Provisioning".into();
        g.generation += 1;
        let (name, generation) = (g.name.clone(), g.generation);
        store.event(
            KIND,
            &uid,
            &name,
            "Normal",
            "Provisioning",
            format!(
                "provisioning {size} node(s) in {}/{}",
                placement.datacenter, placement.compute_cluster
            ),
        );
        (account, generation)
    };
    spawn_provisioning(
        lab,
        uid.clone(),
        account,
        placement,
        pool,
        size as usize,
        generation,
        false,
    );
    (
        StatusCode::CREATED,
        Json(V1Uid {
            uid: Some(ids::new_uid()),
        }),
    )
        .into_response()
}

/// `PUT /v1/overlords/vsphere/{uid}/cloudconfig`: resize 1 -> 3 and
/// settings; 3 -> 1 is refused, as in Palette.
pub async fn cloud_config_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereCloudConfig>,
) -> Response {
    let (placement, pool, size) = match checked_config(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let (account, generation) = {
        let mut store = lab.store();
        let g = match gateway_mut(&mut store, &uid, &scope) {
            Ok(g) => g,
            Err(e) => return e.into_response(),
        };
        let Some(prior) = g.cloud_config.clone() else {
            return ApiError::bad_request("the gateway has no cloud config yet: POST it first")
                .into_response();
        };
        let old = prior.size.unwrap_or(1);
        if size < old {
            return ApiError::bad_request(format!(
                "a gateway cannot shrink from {old} to {size} nodes"
            ))
            .into_response();
        }
        let Some((_, account)) = g.account.clone() else {
            return ApiError::bad_request("the gateway has no vSphere account").into_response();
        };
        g.cloud_config = Some(body.clone());
        g.state = "Provisioning".into();
        g.generation += 1;
        let (name, generation) = (g.name.clone(), g.generation);
        let what = if size > old {
            format!("growing from {old} to {size} nodes")
        } else {
            format!("applying the cloud config to {size} node(s)")
        };
        store.event(KIND, &uid, &name, "Normal", "Resizing", what);
        (account, generation)
    };
    spawn_provisioning(
        lab,
        uid,
        account,
        placement,
        pool,
        size as usize,
        generation,
        false,
    );
    StatusCode::NO_CONTENT.into_response()
}

/// A node's cloud-config: the SSH keys and NTP servers of the gateway's
/// cloud config, as JSON (which is YAML) so nothing needs quoting rules.
pub(super) fn cloud_init(ssh_keys: &[String], ntp: &[String]) -> String {
    let doc = serde_json::json!({
        "users": [{"name": "spectro", "ssh_authorized_keys": ssh_keys}],
        "ntp": {"enabled": !ntp.is_empty(), "servers": ntp},
    });
    format!("#cloud-config\n{doc}\n")
}

/// Brings the gateway to `size` healthy VMs, as Palette heals its nodes:
/// VMs deleted in vCenter are forgotten, powered-off ones powered on,
/// missing ones created. Then, after the (scaled) provisioning delay, the
/// gateway is Running, unless a reset or delete came in between. `adopt`
/// (after a restart) first looks for a node VM made but not recorded.
#[allow(clippy::too_many_arguments)]
pub(super) fn spawn_provisioning(
    lab: Lab,
    uid: String,
    account: palette_api::models::V1VsphereCloudAccount,
    placement: vsphere::vm::Placement,
    pool: Option<String>,
    size: usize,
    generation: u64,
    adopt: bool,
) {
    lab.clone().spawn(async move {
        let current = |lab: &Lab| {
            lab.store()
                .gateways
                .iter()
                .find(|g| g.uid == uid)
                .map(|g| (g.generation == generation, g.name.clone(), g.vms.len()))
        };
        let fail = |lab: &Lab, reason: &str, message: String| {
            let mut store = lab.store();
            let name = store
                .gateways
                .iter_mut()
                .find(|g| g.uid == uid && g.generation == generation)
                .map(|g| {
                    g.state = "Failed".into();
                    g.name.clone()
                });
            if let Some(name) = name {
                store.event(KIND, &uid, &name, "Error", reason, message);
            }
        };
        let (struck, user_data) = {
            let mut store = lab.store();
            let found = store
                .gateways
                .iter()
                .find(|g| g.uid == uid)
                .map(|g| (g.name.clone(), g.cloud_config.clone()));
            let (name, cfg) = found.unwrap_or_default();
            let cc = cfg.and_then(|c| c.cluster_config).unwrap_or_default();
            let struck = crate::store::take_fault(
                &mut store,
                crate::model::cluster::ClusterFaultKind::ProvisioningFails,
                &name,
            );
            (
                struck,
                cloud_init(
                    &cc.ssh_keys.unwrap_or_default(),
                    &cc.ntp_servers.unwrap_or_default(),
                ),
            )
        };
        if struck {
            return fail(
                &lab,
                "ProvisioningFailed",
                "provisioning failed (palette-lab fault provisioning_fails)".into(),
            );
        }
        let session = match crate::accounts::login(&account).await {
            Ok(s) => s,
            Err(e) => {
                return fail(
                    &lab,
                    "ProvisioningFailed",
                    format!("cannot log in to vCenter: {e}"),
                )
            }
        };
        let at = match session.resolve(&placement).await {
            Ok(a) => a,
            Err(e) => return fail(&lab, "PlacementInvalid", e.to_string()),
        };
        let known: Vec<String> = lab
            .store()
            .gateways
            .iter()
            .find(|g| g.uid == uid)
            .map(|g| g.vms.clone())
            .unwrap_or_default();
        let mut live = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for vm in known {
            match crate::persist::vm_info_of(&session, &vm, MARKER, &uid).await {
                Ok(info) => {
                    if !info.powered_on {
                        let _ = session.power_on(&vm).await;
                    }
                    names.insert(info.name);
                    live.push(vm);
                }
                Err(e) if e.is_not_found() => {
                    let mut store = lab.store();
                    let name = store
                        .gateways
                        .iter()
                        .find(|g| g.uid == uid)
                        .map(|g| g.name.clone())
                        .unwrap_or_default();
                    store.event(
                        KIND,
                        &uid,
                        &name,
                        "Warning",
                        "NodeMissing",
                        format!("node VM {vm} is gone from vCenter; replacing it"),
                    );
                }
                Err(_) => live.push(vm),
            }
        }
        let missing = size.saturating_sub(live.len());
        if let Some(g) = lab.store().gateways.iter_mut().find(|g| g.uid == uid) {
            g.vms = live;
        }
        for _ in 0..missing {
            let Some((true, name, _)) = current(&lab) else {
                return;
            };
            let vm_name = (0..)
                .map(|i| format!("{name}-node-{i}"))
                .find(|n| !names.contains(n))
                .expect("an unused name");
            names.insert(vm_name.clone());
            if adopt {
                let path = format!("{}/{vm_name}", at.folder_path);
                if let Some(info) =
                    crate::persist::unrecorded_vm(&session, &path, MARKER, &uid).await
                {
                    if let Err(e) = session.power_on(&info.moref).await {
                        return fail(
                            &lab,
                            "VmPowerOnFailed",
                            format!("cannot power on {vm_name}: {e}"),
                        );
                    }
                    // Its address was taken from the pool before it was made.
                    let ip = info.extra_config.get("guestinfo.palette.ip").cloned();
                    let mut store = lab.store();
                    if let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) {
                        g.vms.push(info.moref.clone());
                        if g.ip_address.is_none() {
                            g.ip_address = ip.or_else(|| Some("10.0.0.10".into()));
                        }
                    }
                    store.event(
                        KIND,
                        &uid,
                        &name,
                        "Normal",
                        "NodeCreated",
                        format!("VM {path}, made before palette-lab restarted, kept as a node"),
                    );
                    continue;
                }
            }
            // Static IP: the next free address of the nodes' pool.
            let ip = match &pool {
                Some(p) => {
                    let mut store = lab.store();
                    let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) else {
                        return;
                    };
                    let Some(pl) = g.pools.iter_mut().find(|x| &x.uid == p) else {
                        drop(store);
                        return fail(
                            &lab,
                            "IpPoolMissing",
                            format!("IP pool {p} no longer exists"),
                        );
                    };
                    let gw_ip = pl.spec.gateway.as_deref().and_then(|s| s.parse().ok());
                    match pl.range.allocate(&pl.allotted, gw_ip) {
                        Some(ip) => {
                            pl.allotted.insert(ip);
                            pl.clusters.insert(g.cluster_uid.clone());
                            Some(ip.to_string())
                        }
                        None => {
                            let pool_name = pl.name.clone();
                            drop(store);
                            return fail(
                                &lab,
                                "IpPoolExhausted",
                                format!(
                                    "IP pool '{pool_name}' has no free address for node {vm_name}"
                                ),
                            );
                        }
                    }
                }
                None => None,
            };
            let mut extra = std::collections::BTreeMap::new();
            extra.insert("guestinfo.palette.gateway".to_string(), uid.clone());
            // The node's cloud-init, as Cluster API's vSphere provider hands
            // it over: where a real node's SSH keys and NTP servers are.
            extra.insert(
                "guestinfo.userdata".to_string(),
                base64::engine::general_purpose::STANDARD.encode(&user_data),
            );
            extra.insert(
                "guestinfo.userdata.encoding".to_string(),
                "base64".to_string(),
            );
            if let Some(ip) = &ip {
                extra.insert("guestinfo.palette.ip".to_string(), ip.clone());
            }
            let spec = vsphere::vm::VmSpec {
                name: vm_name.clone(),
                cpus: 4,
                memory_mb: 8192,
                annotation: Some(format!("Palette private cloud gateway {name} ({uid})")),
                extra_config: extra,
            };
            let vm = match session.create_vm(&spec, &at).await {
                Ok(vm) => vm,
                Err(e) => {
                    return fail(
                        &lab,
                        "VmCreateFailed",
                        format!("cannot create {vm_name}: {e}"),
                    )
                }
            };
            if let Err(e) = session.power_on(&vm).await {
                return fail(
                    &lab,
                    "VmPowerOnFailed",
                    format!("cannot power on {vm_name}: {e}"),
                );
            }
            let mut store = lab.store();
            if let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) {
                g.vms.push(vm.clone());
                if g.ip_address.is_none() {
                    g.ip_address = ip.clone().or_else(|| Some("10.0.0.10".into()));
                }
            }
            store.event(
                KIND,
                &uid,
                &name,
                "Normal",
                "NodeCreated",
                format!("VM {}/{vm_name} created and powered on", at.folder_path),
            );
        }
        let _ = session.logout().await;
        tokio::time::sleep(lab.scaled(PROVISIONING_DELAY)).await;
        let mut store = lab.store();
        let done = store
            .gateways
            .iter_mut()
            .find(|g| g.uid == uid && g.generation == generation)
            .map(|g| {
                g.state = "Running".into();
                g.name.clone()
            });
        if let Some(name) = done {
            store.event(
                KIND,
                &uid,
                &name,
                "Normal",
                "Running",
                "gateway is Running and healthy",
            );
        }
    });
}

/// After a restart: a gateway that was `Provisioning` provisions again from
/// its saved cloud config (see persist.rs for why the delay starts over).
pub(crate) fn resume(lab: &Lab) {
    let mut runs = Vec::new();
    {
        let mut store = lab.store();
        let mut stuck = Vec::new();
        for g in store.gateways.iter().filter(|g| g.state == "Provisioning") {
            let config = g.cloud_config.as_ref().map(checked_config);
            match (g.account.clone(), config) {
                (Some((_, account)), Some(Ok((placement, pool, size)))) => runs.push((
                    g.uid.clone(),
                    g.name.clone(),
                    account,
                    placement,
                    pool,
                    size,
                    g.generation,
                )),
                // Provisioning is only entered with both; a hand-edited file
                // must still end somewhere definite, not hang in Provisioning.
                _ => stuck.push((g.uid.clone(), g.name.clone())),
            }
        }
        for (uid, name) in stuck {
            if let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) {
                g.state = "Failed".into();
            }
            store.event(
                KIND,
                &uid,
                &name,
                "Error",
                "ProvisioningFailed",
                "palette-lab restarted while provisioning and the saved gateway has no valid \
                 account and cloud config to provision from",
            );
        }
        for (uid, name, ..) in &runs {
            store.event(
                KIND,
                uid,
                name,
                "Normal",
                "LabRestarted",
                "palette-lab restarted while provisioning; provisioning again from the saved \
                 cloud config",
            );
        }
    }
    for (uid, _, account, placement, pool, size, generation) in runs {
        spawn_provisioning(
            lab.clone(),
            uid,
            account,
            placement,
            pool,
            size as usize,
            generation,
            true,
        );
    }
}
