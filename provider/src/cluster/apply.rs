//! Create and update: the requests to Palette, the wait until the cluster
//! runs, and the state an apply returns.

use std::collections::BTreeMap;
use std::time::Instant;

use palette_api::client::{Client, Error as ApiError};
use palette_api::models::{
    V1ObjectMetaInputEntity, V1ObjectMetaInputEntitySchema, V1SpectroClusterProfiles,
    V1SpectroVsphereClusterEntity, V1Uid, V1VsphereCloudClusterConfigEntity,
};
use tfplugin::{
    ApplyRequest, ApplyResult, Attr, AttrPath, Ctx, Diagnostic, Diagnostics, Model, Value,
};

use super::model::{decode_some, same_set_attr, yaml_equal, ClusterModel, ClusterProfile};
use super::plan::{changed_since_plan, Seen};
use super::read::{find_by_name, get_cluster, read_diag, read_remote, state_of};
use super::{interrupted, Cluster, CLOUD_CONFIGS, CLUSTERS, KIND};
use crate::gateway::upgrade::QueueWatch;
use crate::shared::{api_diag, events, Poll};

/// The computed values an update's plan showed as known (a change of tags
/// keeps `nodes`, `state`, `health` and `kubeconfig`) are what the apply
/// returns: Terraform rejects a result that differs from a known planned
/// value, and a node's state may move between plan and apply. The next
/// refresh reads them again.
pub(super) fn keep_promised(planned: &ClusterModel, mut state: ClusterModel) -> ClusterModel {
    let nodes_known = match &planned.nodes {
        Attr::Unknown => false,
        Attr::Null => true,
        Attr::Known(nodes) => nodes.iter().all(|n| {
            [&n.name, &n.pool, &n.ip, &n.vm_path, &n.state]
                .iter()
                .all(|a| a.is_known())
        }),
    };
    if nodes_known {
        state.nodes = planned.nodes.clone();
    }
    for (to, from) in [
        (&mut state.state, &planned.state),
        (&mut state.health, &planned.health),
        (&mut state.kubeconfig, &planned.kubeconfig),
    ] {
        if from.is_known() {
            *to = from.clone();
        }
    }
    state
}

/// Replaces what the plan left unknown by what is known after a failure, so
/// a partial state can be saved.
pub(super) fn settle(mut m: ClusterModel) -> ClusterModel {
    for a in [
        &mut m.state,
        &mut m.health,
        &mut m.cloud_config_id,
        &mut m.kubeconfig,
        &mut m.description,
    ] {
        if a.is_unknown() {
            *a = Attr::Null;
        }
    }
    if m.nodes.is_unknown() {
        m.nodes = Attr::Known(Vec::new());
    }
    m
}

pub(super) fn bullet(lines: &[String]) -> String {
    if lines.is_empty() {
        return "(no events)".into();
    }
    lines
        .iter()
        .map(|e| format!("- {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Polls until the cluster is Running. On Failed, or at the deadline, the
/// error carries the cluster's latest events. A new cluster's `watch` looks
/// at its gateway while it is Pending: Palette queues new clusters while a
/// gateway upgrades, and the wait says so.
pub(super) async fn wait_running(
    client: &Client,
    uid: &str,
    deadline: Instant,
    mut watch: Option<&mut QueueWatch>,
    ctx: &Ctx,
) -> Result<(), Diagnostics> {
    let mut last = String::new();
    let started = Instant::now();
    let mut poll = Poll::new();
    loop {
        let got = match get_cluster(client, uid, ctx).await {
            Err(e) if crate::shared::worth_polling_again(&e) && Instant::now() < deadline => {
                tracing::warn!(cluster = uid, error = %e, "cannot read the cluster; polling again");
                if !ctx.sleep(poll.interval(deadline)).await {
                    return Err(api_diag("Cannot read the cluster while it provisions", &e));
                }
                continue;
            }
            got => got,
        };
        let c = got
            .map_err(|e| api_diag("Cannot read the cluster while it provisions", &e))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Cluster vanished",
                    format!("Cluster {uid} disappeared from Palette while it provisioned."),
                ))
            })?;
        let state = state_of(&c);
        if state != last {
            tracing::info!(cluster = uid, state = %state, elapsed_s = started.elapsed().as_secs(), "cluster state");
            last = state.clone();
        }
        match state.as_str() {
            "Running" => return Ok(()),
            "Failed" | "Error" => {
                let ev = events(client, KIND, uid, ctx).await;
                return Err(Diagnostic::error(
                    "Cluster provisioning failed",
                    format!(
                        "Cluster {uid} is {state}. Its latest events:\n{}\nThe cluster is in state (tainted): \
                         fix the cause, then apply again to replace it, or destroy it.",
                        bullet(&ev)
                    ),
                )
                .into());
            }
            "Pending" => {
                if let Some(w) = watch.as_deref_mut() {
                    w.pending(client, uid, ctx).await;
                }
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            let ev = events(client, KIND, uid, ctx).await;
            let queued = watch
                .as_deref()
                .and_then(QueueWatch::explain)
                .map(|s| format!("\n{s} Raise `timeouts.create` to wait for the upgrade."))
                .unwrap_or_default();
            return Err(Diagnostic::error(
                "Cluster provisioning timed out",
                format!(
                    "Cluster {uid} is still {state} at the end of the time limit (see `timeouts`). Its latest \
                     events:\n{}{queued}",
                    bullet(&ev)
                ),
            )
            .into());
        }
        if !ctx.sleep(poll.interval(deadline)).await {
            return Err(interrupted(uid, "provisioned"));
        }
    }
}

impl Cluster {
    /// A fresh read for a result state; the fallback when that fails too.
    pub(super) async fn current(
        &self,
        client: &Client,
        uid: &str,
        prior: &ClusterModel,
        fallback: ClusterModel,
        ctx: &Ctx,
    ) -> Value {
        match read_remote(client, uid, false, prior.stores_kubeconfig(), ctx).await {
            Ok(Some(r)) => ClusterModel::from_remote(&r, prior, &prior.context()).to_value(),
            _ => settle(fallback).to_value(),
        }
    }
}

impl Cluster {
    /// The in-place changes, in an order where each step is valid on its
    /// own: metadata, cluster-wide settings, profile values, then pools.
    pub(super) async fn apply_changes(
        &self,
        client: &Client,
        uid: &str,
        old: &ClusterModel,
        new: &ClusterModel,
        deadline: Instant,
        ctx: &Ctx,
    ) -> Result<(), Diagnostics> {
        let fail = |what: &str, e: ApiError| api_diag(&format!("Cluster {uid}: {what}"), &e);
        if !same_set_attr(&old.tags, &new.tags) || old.description != new.description {
            let (labels, annotations) = new.metadata();
            let body = V1ObjectMetaInputEntitySchema {
                metadata: Some(V1ObjectMetaInputEntity {
                    name: new.name.get(),
                    labels: Some(labels),
                    annotations: Some(annotations),
                }),
            };
            client
                .patch(&format!("{CLUSTERS}/{uid}/metadata"), &body, &ctx.cancel)
                .await
                .map_err(|e| fail("cannot update tags and description", e))?;
        }
        let config_uid = old.cloud_config_id.or_default();
        let (occ, ncc) = (old.cc(), new.cc());
        if occ.ssh_keys != ncc.ssh_keys || occ.ntp_servers != ncc.ntp_servers {
            let body = V1VsphereCloudClusterConfigEntity {
                cluster_config: Some(new.into()),
            };
            client
                .put(
                    &format!("{CLOUD_CONFIGS}/{config_uid}/clusterConfig"),
                    &body,
                    &ctx.cancel,
                )
                .await
                .map_err(|e| fail("cannot update SSH keys and NTP servers", e))?;
        }
        if profiles_changed(old, new) {
            let body = V1SpectroClusterProfiles {
                profiles: Some(new.profiles_entity()),
                spc_apply_settings: None,
            };
            client
                .patch(&format!("{CLUSTERS}/{uid}/profiles"), &body, &ctx.cancel)
                .await
                .map_err(|e| fail("cannot update pack values", e))?;
        }
        let static_ip = ncc.static_ip.is_true();
        let (before, after) = (old.pools_by_name(), new.pools_by_name());
        let mut pools_changed = false;
        for (name, p) in &after {
            let path = format!("{CLOUD_CONFIGS}/{config_uid}/machinePools");
            match before.get(name) {
                None => {
                    tracing::info!(cluster = uid, pool = %name, "adding machine pool");
                    client
                        .post::<_, serde_json::Value>(&path, &p.entity(static_ip), &ctx.cancel)
                        .await
                        .map_err(|e| fail(&format!("cannot add machine pool {name:?}"), e))?;
                    pools_changed = true;
                }
                Some(b) if b != p => {
                    tracing::info!(cluster = uid, pool = %name, "updating machine pool");
                    client
                        .put(&format!("{path}/{name}"), &p.entity(static_ip), &ctx.cancel)
                        .await
                        .map_err(|e| fail(&format!("cannot update machine pool {name:?}"), e))?;
                    pools_changed = true;
                }
                Some(_) => {}
            }
        }
        for name in before.keys().filter(|n| !after.contains_key(*n)) {
            tracing::info!(cluster = uid, pool = %name, "removing machine pool");
            match client
                .delete(
                    &format!("{CLOUD_CONFIGS}/{config_uid}/machinePools/{name}"),
                    &ctx.cancel,
                )
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(fail(&format!("cannot remove machine pool {name:?}"), e)),
            }
            pools_changed = true;
        }
        if pools_changed {
            wait_running(client, uid, deadline, None, ctx).await?;
        }
        Ok(())
    }
}

pub(super) fn profiles_changed(old: &ClusterModel, new: &ClusterModel) -> bool {
    let (o, n) = (&old.cluster_profile, &new.cluster_profile);
    if o.len() != n.len() {
        return true;
    }
    o.iter().zip(n).any(|(a, b)| {
        if a.variables != b.variables {
            return true;
        }
        let packs = |p: &ClusterProfile| -> BTreeMap<String, String> {
            p.pack
                .iter()
                .filter_map(|k| Some((k.name.get()?, k.values.or_default())))
                .collect()
        };
        let (pa, pb) = (packs(a), packs(b));
        // Reformatted YAML is recorded without a call to Palette.
        pa.len() != pb.len()
            || pa
                .iter()
                .any(|(k, v)| pb.get(k).is_none_or(|w| !yaml_equal(v, w)))
    })
}

impl Cluster {
    pub(super) async fn create_cluster(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let planned = match decode_some(&req.planned) {
            Ok(m) => m,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let started = Instant::now();
        let deadline = started + planned.timeout(|t| &t.create, schemas::cluster::DEFAULT_CREATE);
        let ctxt = planned.context();
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let name = planned.name.or_default();
        let body = V1SpectroVsphereClusterEntity::from(&planned);
        // Palette's own checks (profile, account, placement in vCenter, IP
        // pools) before anything is created.
        if let Err(e) = client
            .post::<_, serde_json::Value>(
                &format!("{CLUSTERS}/vsphere/validate"),
                &body,
                &ctx.cancel,
            )
            .await
        {
            let d = match &e {
                ApiError::Validation { .. } => Diagnostic::error(
                    "Palette refused the cluster",
                    format!("{e}. Nothing was created."),
                )
                .into(),
                _ => api_diag("Cannot validate the cluster", &e),
            };
            return ApplyResult::failed(Value::Null, d);
        }
        let uid = match client
            .post::<_, V1Uid>(&format!("{CLUSTERS}/vsphere"), &body, &ctx.cancel)
            .await
        {
            Ok(u) => u.uid.unwrap_or_default(),
            Err(ApiError::Ambiguous { message }) => {
                tracing::warn!(%message, cluster = %name, "cluster creation outcome unknown; looking it up by name");
                match find_by_name(&client, &name, ctx).await {
                    Ok(found) if !found.is_empty() => found[0].clone(),
                    Ok(_) => {
                        return ApplyResult::failed(
                            Value::Null,
                            Diagnostic::error(
                                "Cluster not created",
                                format!(
                                    "The request to create {name:?} got no answer ({message}) and no such cluster \
                                     exists; it is safe to apply again."
                                ),
                            ),
                        )
                    }
                    Err(e) => {
                        return ApplyResult::failed(
                            Value::Null,
                            api_diag(
                                &format!("Cannot confirm whether cluster {name:?} was created (look for it in Palette before applying again)"),
                                &e,
                            ),
                        )
                    }
                }
            }
            Err(e @ ApiError::Conflict { .. }) => {
                return ApplyResult::failed(
                    Value::Null,
                    Diagnostic::error(
                        "Cluster name taken",
                        format!(
                        "{e}. A cluster named {name:?} already exists in this {ctxt}. Import it \
                             (terraform import <address> {ctxt}/{name}) or choose another name."
                    ),
                    )
                    .at(AttrPath::attr("name")),
                )
            }
            Err(e) => {
                let d = match &e {
                    ApiError::Validation { .. } => {
                        Diagnostic::error("Palette refused the cluster", format!("{e}.")).into()
                    }
                    _ => api_diag("Cannot create the cluster", &e),
                };
                return ApplyResult::failed(Value::Null, d);
            }
        };
        tracing::info!(cluster = %uid, name = %name, "cluster created; waiting until it runs");
        // From here on the cluster exists: every return carries its uid.
        let partial = ClusterModel {
            id: uid.as_str().into(),
            ..planned.clone()
        };
        let mut watch = QueueWatch::new(&planned.cloud_account_id.or_default());
        if let Err(d) = wait_running(&client, &uid, deadline, Some(&mut watch), ctx).await {
            let state = self.current(&client, &uid, &planned, partial, ctx).await;
            return ApplyResult::failed(state, d);
        }
        match read_remote(&client, &uid, false, planned.stores_kubeconfig(), ctx).await {
            Ok(Some(r)) => {
                let mut done =
                    ApplyResult::ok(ClusterModel::from_remote(&r, &planned, &ctxt).to_value());
                if let Some(why) = watch.explain() {
                    done.diags.push(Diagnostic::warning(
                        "Cluster creation waited for a gateway upgrade",
                        why,
                    ));
                }
                done
            }
            Ok(None) => ApplyResult::failed(
                settle(partial).to_value(),
                Diagnostic::error(
                    "Cluster vanished",
                    format!("Cluster {uid} ran, then could not be found."),
                ),
            ),
            Err(e) => ApplyResult::failed(
                settle(partial).to_value(),
                read_diag(
                    &format!("Cluster {uid} runs, but reading it back failed"),
                    &e,
                ),
            ),
        }
    }

    pub(super) async fn update_cluster(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let (old, new) = match (decode_some(&req.prior), decode_some(&req.planned)) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(d), _) | (_, Err(d)) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let (old, new) = (&old, &new);
        let deadline =
            Instant::now() + new.timeout(|t| &t.update, schemas::cluster::DEFAULT_UPDATE);
        let ctxt = old.context();
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let uid = old.id.or_default();
        if let Some(stop) = changed_since_plan(&client, &uid, old, &req.planned_private, ctx).await
        {
            return stop;
        }
        let result = self
            .apply_changes(&client, &uid, old, new, deadline, ctx)
            .await;
        let fallback = match &result {
            Ok(()) => new.clone(),
            Err(_) => old.clone(),
        };
        let read = read_remote(&client, &uid, false, new.stores_kubeconfig(), ctx).await;
        match (result, read) {
            (Ok(()), Ok(Some(r))) => ApplyResult {
                private: Seen::of(&r.cluster).bytes(),
                ..ApplyResult::ok(
                    keep_promised(new, ClusterModel::from_remote(&r, new, &ctxt)).to_value(),
                )
            },
            (Err(d), Ok(Some(r))) => {
                ApplyResult::failed(ClusterModel::from_remote(&r, new, &ctxt).to_value(), d)
            }
            (Ok(()), Ok(None)) | (Err(_), Ok(None)) => ApplyResult::failed(
                Value::Null,
                Diagnostic::error(
                    "Cluster vanished",
                    format!("Cluster {uid} no longer exists in Palette."),
                ),
            ),
            (Ok(()), Err(e)) => ApplyResult::failed(
                settle(fallback).to_value(),
                read_diag(
                    &format!("Cluster {uid} updated, but reading it back failed"),
                    &e,
                ),
            ),
            (Err(d), Err(_)) => ApplyResult::failed(settle(fallback).to_value(), d),
        }
    }
}
