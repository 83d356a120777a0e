//! A cluster's life in the background: from Pending to Running, node VMs
//! made, replaced and removed to match the pools, and resumed after a restart.

use super::*;

// ---------------------------------------------------------------- the lifecycle

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Phase {
    Create,
    Update,
}

/// Why provisioning stopped: an event reason and message.
pub(super) struct Failure {
    pub(super) reason: &'static str,
    pub(super) message: String,
}

pub(super) fn fail(lab: &Lab, uid: &str, generation: u64, f: Failure) {
    let mut store = lab.store();
    let Some(c) = store
        .clusters
        .iter_mut()
        .find(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
    else {
        return;
    };
    c.state = "Failed".into();
    c.conditions = vec![V1ClusterCondition {
        r#type: Some("Ready".into()),
        status: Some("False".into()),
        reason: Some(f.reason.into()),
        message: Some(f.message.clone()),
        last_transition_time: Some(lab.clock.now()),
        ..Default::default()
    }];
    let name = c.name.clone();
    let severity = if f.reason == "IPPoolExhausted" {
        "Warning"
    } else {
        "Error"
    };
    store.event(KIND, uid, &name, severity, f.reason, f.message);
}

/// Whether `generation` is still the cluster's latest change.
pub(super) fn current(lab: &Lab, uid: &str, generation: u64) -> bool {
    lab.store()
        .clusters
        .iter()
        .any(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
}

/// The document: "New cluster requests are queued while the gateway is
/// being upgraded and are processed as soon as the gateway upgrade is
/// complete." A Pending cluster whose gateway applies an upgrade stays
/// Pending (one event says why) until the upgrade completes. False when the
/// cluster changed or went meanwhile.
async fn wait_for_gateway_upgrade(lab: &Lab, uid: &str, generation: u64) -> bool {
    let mut told = false;
    loop {
        {
            let mut store = lab.store();
            let Some(c) = store
                .clusters
                .iter()
                .find(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
            else {
                return false;
            };
            let name = c.name.clone();
            let Some(gateway) = crate::upgrades::upgrading(&store, &c.gateway_uid) else {
                return true;
            };
            if !told {
                told = true;
                store.event(
                    KIND,
                    uid,
                    &name,
                    "Normal",
                    "Queued",
                    format!(
                        "gateway {gateway} is being upgraded; the cluster is provisioned as soon as the \
                         upgrade completes"
                    ),
                );
            }
        }
        tokio::time::sleep(lab.scaled(UPGRADE_POLL)).await;
    }
}

/// How often a queued cluster looks at its gateway's upgrade.
const UPGRADE_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// Create: Pending, then VMs, then Running. Update: VMs, then Running.
pub(super) fn spawn_lifecycle(lab: Lab, uid: String, generation: u64, phase: Phase) {
    spawn_lifecycle_from(lab, uid, generation, phase, phase == Phase::Create);
}

/// The lifecycle, with or without its Pending wait: a create resumed after
/// a restart in Provisioning is past it.
pub(super) fn spawn_lifecycle_from(
    lab: Lab,
    uid: String,
    generation: u64,
    phase: Phase,
    pending: bool,
) {
    lab.clone().spawn(async move {
        if pending {
            tokio::time::sleep(lab.scaled(PENDING_DELAY)).await;
            if !wait_for_gateway_upgrade(&lab, &uid, generation).await {
                return;
            }
            let mut store = lab.store();
            let Some(c) = store
                .clusters
                .iter_mut()
                .find(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
            else {
                return;
            };
            c.state = "Provisioning".into();
            let name = c.name.clone();
            store.event(
                KIND,
                &uid,
                &name,
                "Normal",
                "Provisioning",
                "provisioning the cluster's nodes",
            );
        }
        let Some(busy) = lab
            .store()
            .clusters
            .iter()
            .find(|c| c.uid == uid)
            .map(|c| c.busy.clone())
        else {
            return;
        };
        {
            let _held = busy.lock().await;
            if !current(&lab, &uid, generation) {
                return;
            }
            let faulty = {
                let mut store = lab.store();
                let name = store
                    .clusters
                    .iter()
                    .find(|c| c.uid == uid)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                take_fault(&mut store, ClusterFaultKind::ProvisioningFails, &name)
            };
            if faulty {
                return fail(
                    &lab,
                    &uid,
                    generation,
                    Failure {
                        reason: "ProvisioningFailed",
                        message: "provisioning failed (palette-lab fault provisioning_fails)"
                            .into(),
                    },
                );
            }
            if let Err(f) = reconcile(&lab, &uid, generation).await {
                return fail(&lab, &uid, generation, f);
            }
        }
        let delay = match phase {
            Phase::Create => PROVISIONING_DELAY,
            Phase::Update => UPDATE_DELAY,
        };
        tokio::time::sleep(lab.scaled(delay)).await;
        let mut store = lab.store();
        let Some(c) = store
            .clusters
            .iter_mut()
            .find(|c| c.uid == uid && c.generation == generation && c.deleting_since.is_none())
        else {
            return;
        };
        c.state = "Running".into();
        c.conditions = vec![V1ClusterCondition {
            r#type: Some("Ready".into()),
            status: Some("True".into()),
            last_transition_time: Some(lab.clock.now()),
            ..Default::default()
        }];
        for n in &mut c.nodes {
            n.ready = true;
        }
        let name = c.name.clone();
        store.event(
            KIND,
            &uid,
            &name,
            "Normal",
            "Running",
            "cluster is Running and healthy",
        );
    });
}

/// What reconciliation needs, copied out of the store.
pub(super) struct Snapshot {
    pub(super) name: String,
    pub(super) account: V1VsphereCloudAccount,
    pub(super) datacenter: String,
    pub(super) folder: String,
    pub(super) pools: Vec<MachinePool>,
    pub(super) nodes: Vec<Node>,
    pub(super) created_folders: Vec<String>,
}

pub(super) fn snapshot(lab: &Lab, uid: &str) -> Option<Snapshot> {
    let store = lab.store();
    let c = store.clusters.iter().find(|c| c.uid == uid)?;
    let account = store
        .accounts
        .iter()
        .find(|a| a.uid == c.account_uid)?
        .spec
        .clone();
    Some(Snapshot {
        name: c.name.clone(),
        account,
        datacenter: datacenter_of(&c.cloud_config),
        folder: folder_of(&c.cloud_config),
        pools: c.pools.clone(),
        nodes: c.nodes.clone(),
        created_folders: c.created_folders.clone(),
    })
}

/// The placement node `index` of `pool` should have, if the node should exist.
pub(super) fn desired(
    pools: &[MachinePool],
    pool: &str,
    index: usize,
) -> Option<(NodePlacement, Instance)> {
    let p = pools.iter().find(|p| p.name() == pool)?;
    (index < p.size()).then(|| {
        (
            p.placements[index % p.placements.len()].clone(),
            p.instance.clone(),
        )
    })
}

/// Brings vCenter to the cluster's pools: extra or outdated nodes go,
/// missing VMs come, powered-off ones are powered on.
pub(super) async fn reconcile(lab: &Lab, uid: &str, generation: u64) -> Result<(), Failure> {
    let Some(snap) = snapshot(lab, uid) else {
        return Ok(());
    };
    let session = crate::accounts::login(&snap.account)
        .await
        .map_err(|e| Failure {
            reason: "ProvisioningFailed",
            message: format!("cannot log in to vCenter: {e}"),
        })?;
    let result = reconcile_in(lab, uid, generation, &snap, &session).await;
    let _ = session.logout().await;
    result
}

pub(super) async fn reconcile_in(
    lab: &Lab,
    uid: &str,
    generation: u64,
    snap: &Snapshot,
    s: &vsphere::Session,
) -> Result<(), Failure> {
    // Nodes that should not be there, or not like this: highest index first.
    let mut doomed: Vec<&Node> = snap
        .nodes
        .iter()
        .filter(|n| {
            desired(&snap.pools, &n.pool, n.index)
                .is_none_or(|(p, i)| p != n.placement || i != n.instance)
        })
        .collect();
    doomed.sort_by_key(|n| std::cmp::Reverse(n.index));
    for n in doomed {
        if !current(lab, uid, generation) {
            return Ok(());
        }
        mark_deleting(lab, uid, &n.uid);
        if let Some(vm) = &n.vm {
            if let Err(e) = crate::persist::destroy_vm_of(s, vm, MARKER, uid).await {
                return Err(Failure {
                    reason: "VmDeleteFailed",
                    message: format!("cannot delete VM {}: {e}", n.name),
                });
            }
        }
        let mut store = lab.store();
        forget_node(&mut store, uid, &n.uid);
        store.event(
            KIND,
            uid,
            &snap.name,
            "Normal",
            "NodeDeleted",
            format!("node {} deleted", n.name),
        );
    }
    // Nodes that stay: their VMs must exist and run.
    let mut resolved: BTreeMap<String, vsphere::vm::Resolved> = BTreeMap::new();
    for pool in &snap.pools {
        for index in 0..pool.size() {
            if !current(lab, uid, generation) {
                return Ok(());
            }
            let (placement, instance) = desired(&snap.pools, pool.name(), index).expect("in range");
            let existing = lab
                .store()
                .clusters
                .iter()
                .find(|c| c.uid == uid)
                .and_then(|c| {
                    c.nodes
                        .iter()
                        .find(|n| n.pool == pool.name() && n.index == index)
                        .cloned()
                });
            let unrecorded = existing.as_ref().is_some_and(|n| n.vm.is_none());
            let node = match existing {
                Some(n) => {
                    if let Some(vm) = &n.vm {
                        match crate::persist::vm_info_of(s, vm, MARKER, uid).await {
                            Ok(info) => {
                                if !info.powered_on {
                                    s.power_on(vm).await.map_err(|e| Failure {
                                        reason: "VmPowerOnFailed",
                                        message: format!("cannot power on {}: {e}", n.name),
                                    })?;
                                    lab.store().event(
                                        KIND,
                                        uid,
                                        &snap.name,
                                        "Normal",
                                        "NodePoweredOn",
                                        format!("node {} was powered off; powered it on", n.name),
                                    );
                                }
                                continue;
                            }
                            Err(e) if e.is_not_found() => {
                                lab.store().event(
                                    KIND,
                                    uid,
                                    &snap.name,
                                    "Warning",
                                    "NodeMissing",
                                    format!(
                                        "VM of node {} is gone from vCenter; creating it again",
                                        n.name
                                    ),
                                );
                            }
                            Err(e) => {
                                return Err(Failure {
                                    reason: "ProvisioningFailed",
                                    message: format!("cannot read VM of node {}: {e}", n.name),
                                })
                            }
                        }
                    }
                    n
                }
                None => new_node(
                    lab,
                    uid,
                    &snap.name,
                    pool.name(),
                    index,
                    placement,
                    instance,
                )?,
            };
            let key = format!("{:?}", node.placement);
            if !resolved.contains_key(&key) {
                let at = s
                    .resolve(&vm_placement(
                        &snap.datacenter,
                        &snap.folder,
                        &node.placement,
                    ))
                    .await
                    .map_err(|e| Failure {
                        reason: "PlacementInvalid",
                        message: format!("machine pool '{}': {e}", pool.name()),
                    })?;
                if !at.created_folders.is_empty() {
                    let mut store = lab.store();
                    if let Some(c) = store.clusters.iter_mut().find(|c| c.uid == uid) {
                        for f in &at.created_folders {
                            if !c.created_folders.contains(f) {
                                c.created_folders.push(f.clone());
                            }
                        }
                    }
                }
                resolved.insert(key.clone(), at);
            }
            let at = &resolved[&key];
            if unrecorded {
                // Made just before the lab stopped, not yet recorded: the
                // same name cannot be made twice, and it is this node's.
                let path = format!("{}/{}", at.folder_path, node.name);
                if let Some(info) = crate::persist::unrecorded_vm(s, &path, MARKER, uid).await {
                    s.power_on(&info.moref).await.map_err(|e| Failure {
                        reason: "VmPowerOnFailed",
                        message: format!("cannot power on {}: {e}", node.name),
                    })?;
                    if let Some(n) = lab
                        .store()
                        .clusters
                        .iter_mut()
                        .find(|c| c.uid == uid)
                        .and_then(|c| c.nodes.iter_mut().find(|n| n.uid == node.uid))
                    {
                        n.vm = Some(info.moref.clone());
                    }
                    lab.store().event(
                        KIND,
                        uid,
                        &snap.name,
                        "Normal",
                        "NodeCreated",
                        format!("VM {path}, made before palette-lab restarted, kept as the node"),
                    );
                    continue;
                }
            }
            let mut extra = BTreeMap::new();
            extra.insert("guestinfo.palette.cluster".to_string(), uid.to_string());
            extra.insert("guestinfo.palette.pool".to_string(), node.pool.clone());
            if let Some(ip) = node.ip {
                extra.insert("guestinfo.palette.ip".to_string(), ip.to_string());
            }
            let spec = vsphere::vm::VmSpec {
                name: node.name.clone(),
                cpus: node.instance.cpus,
                memory_mb: node.instance.memory_mib,
                annotation: Some(format!(
                    "Palette cluster {} ({uid}), machine pool {}, disk {} GiB",
                    snap.name, node.pool, node.instance.disk_gib
                )),
                extra_config: extra,
            };
            let vm = s.create_vm(&spec, at).await.map_err(|e| Failure {
                reason: "VmCreateFailed",
                message: format!("cannot create VM {}: {e}", node.name),
            })?;
            s.power_on(&vm).await.map_err(|e| Failure {
                reason: "VmPowerOnFailed",
                message: format!("cannot power on {}: {e}", node.name),
            })?;
            let kept = lab
                .store()
                .clusters
                .iter_mut()
                .find(|c| c.uid == uid)
                .and_then(|c| c.nodes.iter_mut().find(|n| n.uid == node.uid))
                .map(|n| n.vm = Some(vm.clone()))
                .is_some();
            if !kept {
                // Force-deleted while the VM was being made: nothing owns it.
                let _ = s.destroy_vm(&vm).await;
                return Ok(());
            }
            lab.store().event(
                KIND,
                uid,
                &snap.name,
                "Normal",
                "NodeCreated",
                format!(
                    "VM {}/{} created and powered on{}",
                    at.folder_path,
                    node.name,
                    node.ip.map(|ip| format!(" with {ip}")).unwrap_or_default()
                ),
            );
        }
    }
    Ok(())
}

pub(super) fn mark_deleting(lab: &Lab, uid: &str, node_uid: &str) {
    if let Some(n) = lab
        .store()
        .clusters
        .iter_mut()
        .find(|c| c.uid == uid)
        .and_then(|c| c.nodes.iter_mut().find(|n| n.uid == node_uid))
    {
        n.deleting = true;
    }
}

/// A node recorded before its VM exists, with its address taken.
pub(super) fn new_node(
    lab: &Lab,
    uid: &str,
    cluster_name: &str,
    pool: &str,
    index: usize,
    placement: NodePlacement,
    instance: Instance,
) -> Result<Node, Failure> {
    let mut store = lab.store();
    let gateway_uid = store
        .clusters
        .iter()
        .find(|c| c.uid == uid)
        .map(|c| c.gateway_uid.clone())
        .unwrap_or_default();
    let name = format!("{cluster_name}-{pool}-{index}");
    let ip = match &placement.ip_pool {
        Some(p) => Some(allocate(&mut store, &gateway_uid, p, uid, &name)?),
        None => None,
    };
    let node = Node {
        uid: ids::new_uid(),
        pool: pool.to_string(),
        index,
        name,
        placement,
        instance,
        ip,
        vm: None,
        ready: false,
        deleting: false,
    };
    if let Some(c) = store.clusters.iter_mut().find(|c| c.uid == uid) {
        c.nodes.push(node.clone());
    }
    Ok(node)
}

/// The next free address of a gateway's IP pool, recorded as the cluster's.
pub(super) fn allocate(
    store: &mut Store,
    gateway_uid: &str,
    pool_uid: &str,
    cluster_uid: &str,
    node: &str,
) -> Result<IpAddr, Failure> {
    let pool = store
        .gateways
        .iter_mut()
        .find(|g| g.uid == gateway_uid)
        .and_then(|g| g.pools.iter_mut().find(|p| p.uid == pool_uid))
        .ok_or_else(|| Failure {
            reason: "IPPoolMissing",
            message: format!("IP pool '{pool_uid}' no longer exists"),
        })?;
    if pool.restrict_to_single_cluster && pool.clusters.iter().any(|c| c != cluster_uid) {
        return Err(Failure {
            reason: "IPPoolRestricted",
            message: format!(
                "IP pool '{}' is restricted to a single cluster and already serves another",
                pool.name
            ),
        });
    }
    let gw_ip = pool.spec.gateway.as_deref().and_then(|s| s.parse().ok());
    match pool.range.allocate(&pool.allotted, gw_ip) {
        Some(ip) => {
            pool.allotted.insert(ip);
            pool.clusters.insert(cluster_uid.to_string());
            Ok(ip)
        }
        None => Err(Failure {
            reason: "IPPoolExhausted",
            message: format!(
                "IP pool '{}' has no free address left for node {node}",
                pool.name
            ),
        }),
    }
}

/// Drops a node and gives its address back to its pool.
pub(super) fn forget_node(store: &mut Store, uid: &str, node_uid: &str) {
    let Some(c) = store.clusters.iter_mut().find(|c| c.uid == uid) else {
        return;
    };
    let Some(i) = c.nodes.iter().position(|n| n.uid == node_uid) else {
        return;
    };
    let node = c.nodes.remove(i);
    let gateway = c.gateway_uid.clone();
    let still: BTreeSet<String> = c
        .nodes
        .iter()
        .filter(|n| n.ip.is_some())
        .filter_map(|n| n.placement.ip_pool.clone())
        .collect();
    if let (Some(ip), Some(pool_uid)) = (node.ip, node.placement.ip_pool) {
        release(
            store,
            &gateway,
            &pool_uid,
            ip,
            uid,
            still.contains(&pool_uid),
        );
    }
}

pub(super) fn release(
    store: &mut Store,
    gateway_uid: &str,
    pool_uid: &str,
    ip: IpAddr,
    cluster_uid: &str,
    still_used: bool,
) {
    if let Some(p) = store
        .gateways
        .iter_mut()
        .find(|g| g.uid == gateway_uid)
        .and_then(|g| g.pools.iter_mut().find(|p| p.uid == pool_uid))
    {
        p.allotted.remove(&ip);
        if !still_used {
            p.clusters.remove(cluster_uid);
        }
    }
}

// ---------------------------------------------------------------- restart

/// After a restart: what a cluster's background task was doing starts again
/// from its saved state (see persist.rs for what and why).
pub(crate) fn resume(lab: &Lab) {
    let mut runs = Vec::new();
    {
        let mut store = lab.store();
        for c in &store.clusters {
            let (phase, pending, doing) = match (c.deleting_since, c.state.as_str()) {
                (Some(_), _) => (None, false, "deleting"),
                (None, "Pending") => (Some(Phase::Create), true, "waiting to provision"),
                // Only a create leaves generation 1; every later change bumps it.
                (None, "Provisioning") if c.generation == 1 => {
                    (Some(Phase::Create), false, "provisioning")
                }
                (None, "Provisioning") => (Some(Phase::Update), false, "changing its nodes"),
                _ => continue,
            };
            runs.push((
                c.uid.clone(),
                c.name.clone(),
                c.generation,
                phase,
                pending,
                doing,
            ));
        }
        for (uid, name, _, _, _, doing) in &runs {
            store.event(
                KIND,
                uid,
                name,
                "Normal",
                "LabRestarted",
                format!("palette-lab restarted while the cluster was {doing}; it goes on"),
            );
        }
    }
    for (uid, _, generation, phase, pending, _) in runs {
        match phase {
            Some(phase) => spawn_lifecycle_from(lab.clone(), uid, generation, phase, pending),
            None => spawn_deletion(lab.clone(), uid, generation),
        }
    }
}
