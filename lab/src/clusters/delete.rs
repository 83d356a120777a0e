//! Deletion, its delay and faults, and force delete.

use super::*;

// ---------------------------------------------------------------- delete

#[derive(Deserialize, Default)]
pub struct DeleteQuery {
    #[serde(rename = "forceDelete", default)]
    force_delete: Option<bool>,
}

/// Minutes and seconds, as the force-delete refusal says them.
pub(super) fn minutes(d: Duration) -> String {
    let secs = d.as_secs();
    format!("{}m{:02}s", secs / 60, secs % 60)
}

/// `DELETE /v1/spectroclusters/{uid}?forceDelete=bool`.
pub async fn delete(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> Response {
    if q.force_delete.unwrap_or(false) {
        return force_delete(lab, scope, uid).await;
    }
    let generation = {
        let mut store = lab.store();
        let c = match find_mut(&mut store, &uid, &scope) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        if c.deleting_since.is_some() {
            return StatusCode::NO_CONTENT.into_response();
        }
        c.deleting_since = Some(crate::clock::wall_millis());
        c.state = "Deleting".into();
        c.generation += 1;
        let (name, generation) = (c.name.clone(), c.generation);
        store.event(
            KIND,
            &uid,
            &name,
            "Normal",
            "Deleting",
            "deleting the cluster and its VMs",
        );
        generation
    };
    spawn_deletion(lab, uid, generation);
    StatusCode::NO_CONTENT.into_response()
}

pub(super) fn spawn_deletion(lab: Lab, uid: String, generation: u64) {
    lab.clone().spawn(async move {
        let tick = lab
            .scaled(Duration::from_secs(2))
            .clamp(Duration::from_millis(20), Duration::from_secs(1));
        let Some(busy) = lab
            .store()
            .clusters
            .iter()
            .find(|c| c.uid == uid)
            .map(|c| c.busy.clone())
        else {
            return;
        };
        let _held = busy.lock().await;
        loop {
            let hangs = {
                let store = lab.store();
                match store.clusters.iter().find(|c| c.uid == uid) {
                    None => return,
                    Some(c) => fault_on(&store, ClusterFaultKind::DeletionHangs, &c.name),
                }
            };
            if !hangs {
                break;
            }
            tokio::time::sleep(tick).await;
        }
        let Some(snap) = snapshot(&lab, &uid) else {
            return;
        };
        if let Err(message) = destroy_nodes(&lab, &uid, &snap).await {
            let mut store = lab.store();
            store.event(KIND, &uid, &snap.name, "Warning", "VmDeleteFailed", message);
        }
        tokio::time::sleep(lab.scaled(DELETION_DELAY)).await;
        let mut store = lab.store();
        if store
            .clusters
            .iter()
            .any(|c| c.uid == uid && c.generation == generation)
        {
            remove(&mut store, &uid);
            store.event(
                KIND,
                &uid,
                &snap.name,
                "Normal",
                "Deleted",
                "cluster deleted",
            );
        }
    });
}

/// Destroys every node's VM and releases its address, then removes the VM
/// folders the lab created for the cluster that are empty now; the first
/// error is reported after trying them all.
pub(super) async fn destroy_nodes(lab: &Lab, uid: &str, snap: &Snapshot) -> Result<(), String> {
    let with_vm: Vec<&Node> = snap.nodes.iter().filter(|n| n.vm.is_some()).collect();
    let folders = &snap.created_folders;
    let session = if with_vm.is_empty() && folders.is_empty() {
        None
    } else {
        Some(
            crate::accounts::login(&snap.account)
                .await
                .map_err(|e| format!("cannot log in to vCenter to delete VMs: {e}"))?,
        )
    };
    let mut first = None;
    for n in &snap.nodes {
        if let (Some(s), Some(vm)) = (&session, &n.vm) {
            if let Err(e) = crate::persist::destroy_vm_of(s, vm, MARKER, uid).await {
                first.get_or_insert(format!("cannot delete VM {}: {e}", n.name));
                continue;
            }
        }
        forget_node(&mut lab.store(), uid, &n.uid);
    }
    if let Some(s) = &session {
        // Innermost first, and only once every VM went: a folder still
        // holding a VM (of this cluster or anyone's) stays.
        if first.is_none() {
            for f in folders.iter().rev() {
                if let Err(e) = s.remove_folder_if_empty(f).await {
                    first.get_or_insert(format!("cannot remove VM folder {f}: {e}"));
                }
            }
        }
    }
    if let Some(s) = session {
        let _ = s.logout().await;
    }
    first.map_or(Ok(()), Err)
}

/// The cluster leaves the lab; addresses of VMs vCenter kept go back to
/// their pools too, as Palette forgets them with the cluster.
pub(super) fn remove(store: &mut Store, uid: &str) {
    let left: Vec<String> = store
        .clusters
        .iter()
        .find(|c| c.uid == uid)
        .map(|c| c.nodes.iter().map(|n| n.uid.clone()).collect())
        .unwrap_or_default();
    for n in left {
        forget_node(store, uid, &n);
    }
    store.clusters.retain(|c| c.uid != uid);
}

pub(super) async fn force_delete(lab: Lab, scope: Scope, uid: String) -> Response {
    let snap = {
        let store = lab.store();
        let c = match find(&store, &uid, &scope) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        let Some(since) = c.deleting_since else {
            return invalid(format!(
                "cluster '{}' is {}, not Deleting: force delete is possible 15 minutes after \
                 deletion started; delete it without forceDelete first",
                c.name, c.state
            ))
            .into_response();
        };
        // On the lab's clock, which its timestamps and `Date` show: the
        // rule a client reads off them is the rule enforced here.
        let waited = Duration::from_millis(lab.clock.elapsed(since, crate::clock::wall_millis()));
        if waited < FORCE_DELETE_AFTER {
            return invalid(format!(
                "cluster '{}' has been deleting for {}: force delete is possible 15 minutes after \
                 deletion started, {} from now",
                c.name,
                minutes(waited),
                minutes(FORCE_DELETE_AFTER - waited)
            ))
            .into_response();
        }
        drop(store);
        snapshot(&lab, &uid)
    };
    let Some(snap) = snap else {
        return not_found(&uid).into_response();
    };
    // Best effort: whatever vCenter refuses stays there, the cluster goes anyway.
    if let Err(message) = destroy_nodes(&lab, &uid, &snap).await {
        lab.store()
            .event(KIND, &uid, &snap.name, "Warning", "VmDeleteFailed", message);
    }
    let mut store = lab.store();
    remove(&mut store, &uid);
    store.event(
        KIND,
        &uid,
        &snap.name,
        "Warning",
        "ForceDeleted",
        "cluster force-deleted",
    );
    StatusCode::NO_CONTENT.into_response()
}
