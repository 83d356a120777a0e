//! Gateway upgrades as Palette's API carries them. An upgrade is a
//! notification of the gateway's own cluster (`spec.spectroClusterUid`),
//! listed by `GET /v1/notifications/spectrocluster/{uid}` and applied by
//! `PATCH /v1/spectroclusters/{uid}/packRefs?notify={notificationUid}`.
//! While it runs the gateway cluster's `status.spcApply` shows a change
//! (`lastModifiedTime`) newer than the last one applied
//! (`patchAppliedTime`); the gateway stays Running and new clusters queue.
//!
//! Used by `action "palette_gateway_upgrade"` and by the cluster create,
//! which waits through an upgrade and says why.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use palette_api::client::{rfc3339, Client, Error as ApiError};
use palette_api::models::{
    V1ClusterNotificationUpdateEntity, V1Notification, V1Notifications, V1Overlord, V1SpcApply,
    V1SpcApplySettings, V1SpectroCluster,
};
use tfplugin::{Action, AttrPath, Ctx, Diagnostic, Diagnostics, Progress, Schema, Value};

use crate::actions::{gateway_state, interrupted, timeout_or, vsphere_gateway};
use crate::shared::{api_diag, Poll, Shared};

/// Whether an applied change is still being applied: modified after the
/// last patch was applied (or never applied). Pure, for the tests.
pub fn applying(apply: Option<&V1SpcApply>) -> bool {
    let Some(a) = apply else { return false };
    let Some(modified) = a.last_modified_time.as_deref().and_then(rfc3339) else {
        return false;
    };
    match a.patch_applied_time.as_deref().and_then(rfc3339) {
        Some(applied) => applied < modified,
        None => true,
    }
}

/// A notification that is an upgrade still to apply: not done, of the pack
/// update kind Palette uses for gateway upgrades.
pub fn to_apply(n: &V1Notification) -> bool {
    let action = n.action.clone().unwrap_or_default();
    action.is_done != Some(true)
        && n.r#type.as_deref().unwrap_or("NotificationPackUpdate") == "NotificationPackUpdate"
}

pub fn notification_uid(n: &V1Notification) -> String {
    n.metadata
        .as_ref()
        .and_then(|m| m.uid.clone())
        .unwrap_or_default()
}

pub fn cluster_uid(g: &V1Overlord) -> Option<String> {
    g.spec
        .as_ref()
        .and_then(|s| s.spectro_cluster_uid.clone())
        .filter(|u| !u.is_empty())
}

pub fn name(g: &V1Overlord) -> String {
    g.metadata
        .as_ref()
        .and_then(|m| m.name.clone())
        .unwrap_or_default()
}

/// The gateway cluster's upgrade notifications still to apply.
pub async fn pending(
    client: &Client,
    cluster: &str,
    ctx: &Ctx,
) -> Result<Vec<V1Notification>, ApiError> {
    let list: V1Notifications = client
        .get(
            &format!("/v1/notifications/spectrocluster/{cluster}"),
            &ctx.cancel,
        )
        .await?;
    Ok(list
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(to_apply)
        .collect())
}

/// Whether the gateway cluster is applying an upgrade now.
pub async fn in_flight(client: &Client, cluster: &str, ctx: &Ctx) -> Result<bool, ApiError> {
    let c: V1SpectroCluster = client
        .get(&format!("/v1/spectroclusters/{cluster}"), &ctx.cancel)
        .await?;
    Ok(applying(
        c.status.as_ref().and_then(|s| s.spc_apply.as_ref()),
    ))
}

/// Watches, while a new cluster is Pending, whether its gateway is being
/// upgraded (Palette then queues the cluster), at most every
/// [`Self::EVERY`]; best effort, since it only explains a wait.
pub struct QueueWatch {
    account: String,
    checked: Option<Instant>,
    /// The gateway's name, once it was seen upgrading.
    pub gateway: Option<String>,
    /// When the upgrade was first seen.
    pub since: Option<Instant>,
}

impl QueueWatch {
    const EVERY: Duration = Duration::from_secs(20);

    pub fn new(account: &str) -> QueueWatch {
        QueueWatch {
            account: account.to_string(),
            checked: None,
            gateway: None,
            since: None,
        }
    }

    /// Called on each poll of a Pending cluster.
    pub async fn pending(&mut self, client: &Client, cluster: &str, ctx: &Ctx) {
        if self.checked.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return;
        }
        self.checked = Some(Instant::now());
        let Some(g) = gateway_of_account(client, &self.account, ctx).await else {
            return;
        };
        let Some(gc) = cluster_uid(&g) else { return };
        if let Ok(true) = in_flight(client, &gc, ctx).await {
            let gname = name(&g);
            if self.gateway.is_none() {
                tracing::warn!(
                    cluster,
                    gateway = %gname,
                    "gateway {gname} is being upgraded: Palette queues new clusters until the upgrade \
                     completes, so the cluster stays Pending until then"
                );
                self.since = Some(Instant::now());
            }
            self.gateway = Some(gname);
        }
    }

    /// A sentence for a diagnostic, if the cluster waited for an upgrade.
    pub fn explain(&self) -> Option<String> {
        let g = self.gateway.as_ref()?;
        let waited = self.since.map(|s| s.elapsed().as_secs()).unwrap_or(0);
        Some(format!(
            "Gateway {g} was being upgraded when the cluster was requested; Palette queues new clusters \
             until a gateway upgrade completes (the cluster waited about {} min {} s for it).",
            waited / 60,
            waited % 60
        ))
    }
}

/// The gateway of a cloud account, read.
async fn gateway_of_account(client: &Client, account: &str, ctx: &Ctx) -> Option<V1Overlord> {
    let gateway = crate::shared::gateway_of_account(client, account, ctx).await?;
    client
        .get(&format!("/v1/overlords/{gateway}"), &ctx.cancel)
        .await
        .ok()
}

/// `action "palette_gateway_upgrade"`: the gateway's Update button.
pub struct GatewayUpgrade {
    pub shared: Arc<Shared>,
}

/// Long enough for an upgrade Palette says takes minutes.
const DEFAULT_UPGRADE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What an invocation will find: checked at plan and again at invoke.
enum Found {
    /// Upgrades to apply, with the gateway cluster's uid.
    Apply(String, Vec<V1Notification>),
    /// One is running already: wait for it.
    Running(String),
    /// Nothing to do.
    Nothing,
}

impl GatewayUpgrade {
    async fn look(&self, uid: &str, ctx: &Ctx) -> Result<(V1Overlord, Found), Diagnostics> {
        let g = vsphere_gateway(&self.shared, uid, ctx).await?;
        let state = gateway_state(&g);
        if state != "Running" {
            return Err(Diagnostic::error(
                "Gateway is not Running",
                format!(
                    "Gateway {} ({uid}) is {state}. An upgrade is applied to a Running gateway; one still \
                     provisioning gets the current version when it finishes.",
                    name(&g)
                ),
            )
            .at(AttrPath::attr("gateway_id"))
            .into());
        }
        let Some(cluster) = cluster_uid(&g) else {
            return Err(Diagnostic::error(
                "Gateway has no cluster",
                format!("Palette names no cluster (spec.spectroClusterUid) for gateway {uid}, so it has no upgrade notifications."),
            )
            .into());
        };
        let client = self.shared.client()?;
        let fail =
            |e: ApiError| api_diag(&format!("Cannot read the upgrades of gateway {uid}"), &e);
        if in_flight(&client, &cluster, ctx).await.map_err(fail)? {
            return Ok((g, Found::Running(cluster)));
        }
        let notes = pending(&client, &cluster, ctx).await.map_err(fail)?;
        if notes.is_empty() {
            return Ok((g, Found::Nothing));
        }
        Ok((g, Found::Apply(cluster, notes)))
    }

    /// Polls until the gateway cluster's change is applied.
    async fn wait(
        &self,
        client: &Client,
        gname: &str,
        cluster: &str,
        deadline: Instant,
        progress: &Progress,
        ctx: &Ctx,
    ) -> Result<(), Diagnostics> {
        let started = Instant::now();
        let mut poll = Poll::new();
        let mut told = Instant::now();
        loop {
            match in_flight(client, cluster, ctx).await {
                Ok(false) => return Ok(()),
                Ok(true) => {}
                Err(ApiError::Cancelled) => {
                    return Err(interrupted(&format!("gateway {gname} upgraded")))
                }
                Err(e) if crate::shared::worth_polling_again(&e) && Instant::now() < deadline => {
                    tracing::warn!(gateway = gname, error = %e, "cannot read the upgrade; polling again");
                }
                Err(e) => {
                    return Err(api_diag(
                        &format!("Cannot follow the upgrade of gateway {gname}"),
                        &e,
                    ))
                }
            }
            if told.elapsed() >= Duration::from_secs(30) {
                told = Instant::now();
                progress
                    .say(format!(
                        "gateway {gname} is still being upgraded ({} s)",
                        started.elapsed().as_secs()
                    ))
                    .await;
            }
            if Instant::now() >= deadline {
                return Err(Diagnostic::error(
                    "Gateway upgrade timed out",
                    format!(
                        "Gateway {gname} is still being upgraded at the end of `timeout`. Palette carries on; \
                         invoke the action again to wait for it, or raise `timeout`."
                    ),
                )
                .into());
            }
            if !ctx.sleep(poll.interval(deadline)).await {
                return Err(interrupted(&format!("gateway {gname} upgraded")));
            }
        }
    }
}

#[async_trait]
impl Action for GatewayUpgrade {
    fn type_name(&self) -> &'static str {
        schemas::actions::GATEWAY_UPGRADE
    }

    fn schema(&self) -> Schema {
        schemas::actions::gateway_upgrade()
    }

    async fn plan(&self, config: &Value, ctx: &Ctx) -> Diagnostics {
        let mut d = timeout_or(config, DEFAULT_UPGRADE_TIMEOUT)
            .err()
            .unwrap_or_default();
        if let Some(uid) = config.get("gateway_id").as_str() {
            match self.look(uid, ctx).await {
                Err(e) => d.extend(e),
                Ok((g, Found::Nothing)) => d.push(nothing_to_do(&g)),
                Ok(_) => {}
            }
        }
        d
    }

    async fn invoke(&self, config: &Value, progress: &Progress, ctx: &Ctx) -> Diagnostics {
        let uid = config
            .get("gateway_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let limit = match timeout_or(config, DEFAULT_UPGRADE_TIMEOUT) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let deadline = Instant::now() + limit;
        let (g, found) = match self.look(&uid, ctx).await {
            Ok(x) => x,
            Err(d) => return d,
        };
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return d,
        };
        let gname = name(&g);
        let (cluster, notes) = match found {
            Found::Nothing => {
                progress
                    .say(format!("gateway {gname} has no upgrade to apply"))
                    .await;
                return nothing_to_do(&g).into();
            }
            Found::Running(cluster) => {
                progress
                    .say(format!(
                        "gateway {gname} is already being upgraded; waiting for it"
                    ))
                    .await;
                (cluster, Vec::new())
            }
            Found::Apply(cluster, notes) => (cluster, notes),
        };
        if notes.is_empty() {
            if let Err(d) = self
                .wait(&client, &gname, &cluster, deadline, progress, ctx)
                .await
            {
                return d;
            }
        }
        for n in &notes {
            let note = notification_uid(n);
            let message = n
                .action
                .as_ref()
                .and_then(|a| a.action_message.clone())
                .unwrap_or_default();
            progress
                .say(format!(
                    "applying upgrade {note} to gateway {gname}: {message}"
                ))
                .await;
            let step = async {
                // Reviewed: the console marks what it shows as acknowledged.
                client
                    .patch_empty(&format!("/v1/notifications/{note}/ack"), &ctx.cancel)
                    .await?;
                let body = V1ClusterNotificationUpdateEntity {
                    spc_apply_settings: Some(V1SpcApplySettings {
                        action_type: Some("DownloadAndInstall".into()),
                    }),
                    ..Default::default()
                };
                match client
                    .patch(
                        &format!("/v1/spectroclusters/{cluster}/packRefs?notify={note}"),
                        &body,
                        &ctx.cancel,
                    )
                    .await
                {
                    // A retry of a PATCH whose answer was lost finds the
                    // upgrade running: that is the upgrade applied.
                    Err(e @ ApiError::Conflict { .. }) => {
                        if in_flight(&client, &cluster, ctx).await? {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    }
                    r => r,
                }
            };
            match step.await {
                Ok(()) => {}
                Err(ApiError::Cancelled) => {
                    return interrupted(&format!("an upgrade of gateway {gname} was requested"))
                }
                Err(e) => {
                    return api_diag(
                        &format!("Cannot apply upgrade {note} to gateway {gname}"),
                        &e,
                    )
                }
            }
            progress
                .say(format!(
                    "gateway {gname} is being upgraded; its clusters keep running, new ones queue until it completes"
                ))
                .await;
            if let Err(d) = self
                .wait(&client, &gname, &cluster, deadline, progress, ctx)
                .await
            {
                return d;
            }
            match client
                .patch_empty(&format!("/v1/notifications/{note}/done"), &ctx.cancel)
                .await
            {
                Ok(()) => {}
                // Palette may have closed it itself.
                Err(e) if e.is_not_found() => {}
                Err(ApiError::Cancelled) => {
                    return interrupted(&format!("gateway {gname} was upgraded"))
                }
                Err(e) => {
                    return api_diag(
                        &format!(
                        "Gateway {gname} is upgraded, but marking notification {note} done failed"
                    ),
                        &e,
                    )
                }
            }
        }
        progress
            .say(format!(
                "gateway {gname} is upgraded; queued cluster requests are processed"
            ))
            .await;
        Diagnostics::new()
    }
}

fn nothing_to_do(g: &V1Overlord) -> Diagnostic {
    Diagnostic::warning(
        "No gateway upgrade available",
        format!(
            "Palette has no upgrade for gateway {}: the action does nothing. `upgrade_available` on the \
             gateway's resource or data source says when there is one.",
            name(g)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use palette_api::models::{V1NotificationAction, V1SpcApply};

    fn spc(modified: Option<&str>, applied: Option<&str>) -> V1SpcApply {
        V1SpcApply {
            last_modified_time: modified.map(String::from),
            patch_applied_time: applied.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn an_upgrade_is_in_flight_from_its_change_until_it_is_applied() {
        assert!(!applying(None));
        assert!(!applying(Some(&spc(None, None))), "nothing changed");
        assert!(applying(Some(&spc(Some("2026-12-04T10:00:00Z"), None))));
        assert!(applying(Some(&spc(
            Some("2026-12-04T10:00:00Z"),
            Some("2026-12-03T10:00:00Z")
        ))));
        assert!(!applying(Some(&spc(
            Some("2026-12-04T10:00:00Z"),
            Some("2026-12-04T10:03:00Z")
        ))));
        assert!(!applying(Some(&spc(Some("not a time"), None))));
    }

    #[test]
    fn only_pack_updates_not_done_are_applied() {
        let n = |kind: Option<&str>, done: Option<bool>| V1Notification {
            r#type: kind.map(String::from),
            action: Some(V1NotificationAction {
                is_done: done,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(to_apply(&n(Some("NotificationPackUpdate"), Some(false))));
        assert!(to_apply(&n(None, None)));
        assert!(!to_apply(&n(Some("NotificationPackUpdate"), Some(true))));
        assert!(!to_apply(&n(Some("NotificationPackRegistryUpdate"), None)));
    }
}
