//! Actions (Terraform 1.14+): the console's Reset button on a gateway stuck
//! in provisioning, and Force Delete on a cluster stuck in deletion. Each
//! checks at plan time what it can, streams progress, and ends in the
//! state the console would reach.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use palette_api::client::Error as ApiError;
use palette_api::models::{V1Overlord, V1SpectroCluster};
use tfplugin::{Action, AttrPath, Ctx, Diagnostic, Diagnostics, Progress, Schema, Value};

use crate::cluster::{check_kind, deleting_for, state_of};
use crate::shared::{api_diag, Poll, Shared};
use schemas::actions::FORCE_DELETE_AFTER_MINUTES;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// `timeout` of an action's configuration, or the default.
fn timeout(config: &Value) -> Result<Duration, Diagnostics> {
    timeout_or(config, DEFAULT_TIMEOUT)
}

/// `timeout` of an action's configuration, or `default`.
pub(crate) fn timeout_or(config: &Value, default: Duration) -> Result<Duration, Diagnostics> {
    match config.get("timeout").as_str() {
        None => Ok(default),
        Some(s) => tfplugin::duration::parse(s).map_err(|e| {
            Diagnostic::error(
                "Invalid timeout",
                format!("{e}; write for example \"10m\"."),
            )
            .at(AttrPath::attr("timeout"))
            .into()
        }),
    }
}

pub(crate) fn gateway_state(g: &V1Overlord) -> String {
    g.status
        .as_ref()
        .and_then(|s| s.state.clone())
        .unwrap_or_default()
}

pub(crate) fn interrupted(what: &str) -> Diagnostics {
    Diagnostic::error(
        "Interrupted",
        format!(
            "Terraform was interrupted while {what}; Palette carries on with what it was asked."
        ),
    )
    .into()
}

/// The vSphere gateway an action's `gateway_id` names.
pub(crate) async fn vsphere_gateway(
    shared: &Shared,
    uid: &str,
    ctx: &Ctx,
) -> Result<V1Overlord, Diagnostics> {
    let client = shared.client()?;
    let g: V1Overlord = match client
        .get(&format!("/v1/overlords/{uid}"), &ctx.cancel)
        .await
    {
        Ok(g) => g,
        Err(e) if e.is_not_found() => {
            return Err(Diagnostic::error(
                "Gateway not found",
                format!("No private cloud gateway has uid {uid:?}."),
            )
            .at(AttrPath::attr("gateway_id"))
            .into())
        }
        Err(e) => return Err(api_diag("Cannot read the gateway", &e)),
    };
    crate::gateway_data::check_gateway_kind(&g)?;
    Ok(g)
}

/// `action "palette_gateway_reset"`.
pub struct GatewayReset {
    pub shared: Arc<Shared>,
}

impl GatewayReset {
    /// The gateway, if a reset may go ahead: it exists, is a vSphere
    /// gateway, and is not Running.
    async fn resettable(&self, uid: &str, ctx: &Ctx) -> Result<V1Overlord, Diagnostics> {
        let g = vsphere_gateway(&self.shared, uid, ctx).await?;
        if gateway_state(&g) == "Running" {
            return Err(Diagnostic::error(
                "Gateway is Running",
                format!(
                    "Gateway {uid} is Running. Reset is the console's button for a gateway stuck in provisioning: it \
                     removes the gateway's nodes, which its clusters depend on. To rebuild a healthy gateway, \
                     replace the palette_private_cloud_gateway resource instead."
                ),
            )
            .at(AttrPath::attr("gateway_id"))
            .into());
        }
        Ok(g)
    }
}

#[async_trait]
impl Action for GatewayReset {
    fn type_name(&self) -> &'static str {
        schemas::actions::GATEWAY_RESET
    }

    fn schema(&self) -> Schema {
        schemas::actions::gateway_reset()
    }

    async fn plan(&self, config: &Value, ctx: &Ctx) -> Diagnostics {
        let mut d = timeout(config).err().unwrap_or_default();
        if let Some(uid) = config.get("gateway_id").as_str() {
            if let Err(e) = self.resettable(uid, ctx).await {
                d.extend(e);
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
        let limit = match timeout(config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let g = match self.resettable(&uid, ctx).await {
            Ok(g) => g,
            Err(d) => return d,
        };
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return d,
        };
        let name = g
            .metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .unwrap_or_default();
        progress
            .say(format!(
                "resetting gateway {name} ({uid}), now {}",
                gateway_state(&g)
            ))
            .await;
        match client
            .put_empty(&format!("/v1/overlords/{uid}/reset"), &ctx.cancel)
            .await
        {
            Ok(()) => {}
            Err(ApiError::Cancelled) => return interrupted(&format!("gateway {uid} was reset")),
            Err(e) => return api_diag(&format!("Cannot reset gateway {uid}"), &e),
        }
        let deadline = Instant::now() + limit;
        let mut poll = Poll::new();
        let mut last = String::new();
        loop {
            match client
                .get::<V1Overlord>(&format!("/v1/overlords/{uid}"), &ctx.cancel)
                .await
            {
                Ok(g) => {
                    let state = gateway_state(&g);
                    if state != last {
                        progress.say(format!("gateway {name} is {state}")).await;
                        last = state.clone();
                    }
                    if state == "Pending" {
                        progress
                            .say(format!(
                                "gateway {name} is Pending: configure it again (apply its resource) to provision it"
                            ))
                            .await;
                        return Diagnostics::new();
                    }
                }
                Err(ApiError::Cancelled) => {
                    return interrupted(&format!("gateway {uid} was reset"))
                }
                Err(e) => {
                    return api_diag(&format!("Cannot read gateway {uid} after its reset"), &e)
                }
            }
            if Instant::now() >= deadline {
                return Diagnostic::error(
                    "Gateway reset timed out",
                    format!("Gateway {uid} was reset but is still {last}, not Pending; raise `timeout`."),
                )
                .into();
            }
            if !ctx.sleep(poll.interval(deadline)).await {
                return interrupted(&format!("gateway {uid} was reset"));
            }
        }
    }
}

/// `action "palette_cluster_force_delete"`.
pub struct ClusterForceDelete {
    pub shared: Arc<Shared>,
}

/// Whether a cluster may be force-deleted now: `Err` says why not, with
/// the time left when it is only a matter of waiting. Pure.
pub fn force_deletable(c: &V1SpectroCluster, deleting: Duration) -> Result<(), (String, String)> {
    let uid = c
        .metadata
        .as_ref()
        .and_then(|m| m.uid.clone())
        .unwrap_or_default();
    let marked = c
        .metadata
        .as_ref()
        .and_then(|m| m.deletion_timestamp.as_deref())
        .is_some();
    let state = state_of(c);
    if !marked && state != "Deleting" {
        return Err((
            "Cluster is not being deleted".into(),
            format!(
                "Cluster {uid} is {state}. Force delete is for a cluster stuck in deletion: destroy it (or delete \
                 it in the console) first, and force it if it is still deleting after {FORCE_DELETE_AFTER_MINUTES} \
                 minutes."
            ),
        ));
    }
    let rule = Duration::from_secs(FORCE_DELETE_AFTER_MINUTES * 60);
    if deleting < rule {
        let left = rule - deleting;
        return Err((
            "Too early to force-delete".into(),
            format!(
                "Cluster {uid} has been deleting for {}; Palette allows a force delete after \
                 {FORCE_DELETE_AFTER_MINUTES} minutes, so {} are left. Invoke the action again then.",
                minutes(deleting),
                minutes(left)
            ),
        ));
    }
    Ok(())
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

impl ClusterForceDelete {
    fn client(&self, config: &Value) -> Result<Arc<palette_api::client::Client>, Diagnostics> {
        self.shared
            .scoped(config.get("context").as_str().unwrap_or("project"))
    }

    /// The cluster, if it may be force-deleted now; `Ok(None)` when it is
    /// gone already.
    async fn check(
        &self,
        config: &Value,
        uid: &str,
        ctx: &Ctx,
    ) -> Result<Option<V1SpectroCluster>, Diagnostics> {
        let client = self.client(config)?;
        let (c, date) = match client
            .get_dated::<V1SpectroCluster>(&format!("/v1/spectroclusters/{uid}"), &ctx.cancel)
            .await
        {
            Ok(x) => x,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(api_diag(&format!("Cannot read cluster {uid}"), &e)),
        };
        if state_of(&c) == "Deleted" {
            return Ok(None);
        }
        if let Err(what) = check_kind(uid, &c) {
            return Err(Diagnostic::error("Not a vSphere cluster", what)
                .at(AttrPath::attr("cluster_id"))
                .into());
        }
        force_deletable(&c, deleting_for(&c, date, Duration::ZERO)).map_err(
            |(summary, detail)| {
                Diagnostics::from(
                    Diagnostic::error(summary, detail).at(AttrPath::attr("cluster_id")),
                )
            },
        )?;
        Ok(Some(c))
    }
}

#[async_trait]
impl Action for ClusterForceDelete {
    fn type_name(&self) -> &'static str {
        schemas::actions::CLUSTER_FORCE_DELETE
    }

    fn schema(&self) -> Schema {
        schemas::actions::cluster_force_delete()
    }

    async fn plan(&self, config: &Value, ctx: &Ctx) -> Diagnostics {
        let mut d = timeout(config).err().unwrap_or_default();
        if let Some(uid) = config.get("cluster_id").as_str() {
            if let Err(e) = self.check(config, uid, ctx).await {
                d.extend(e);
            }
        }
        d
    }

    async fn invoke(&self, config: &Value, progress: &Progress, ctx: &Ctx) -> Diagnostics {
        let uid = config
            .get("cluster_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let limit = match timeout(config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let c = match self.check(config, &uid, ctx).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                progress.say(format!("cluster {uid} is gone already")).await;
                return Diagnostics::new();
            }
            Err(d) => return d,
        };
        let client = match self.client(config) {
            Ok(c) => c,
            Err(d) => return d,
        };
        let name = c
            .metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .unwrap_or_default();
        progress
            .say(format!(
                "force-deleting cluster {name} ({uid}), {}",
                state_of(&c)
            ))
            .await;
        match client
            .delete(
                &format!("/v1/spectroclusters/{uid}?forceDelete=true"),
                &ctx.cancel,
            )
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Diagnostics::new(),
            Err(ApiError::Cancelled) => {
                return interrupted(&format!("cluster {uid} was force-deleted"))
            }
            Err(e) => return api_diag(&format!("Cannot force-delete cluster {uid}"), &e),
        }
        let deadline = Instant::now() + limit;
        let mut poll = Poll::new();
        loop {
            match client
                .get::<V1SpectroCluster>(&format!("/v1/spectroclusters/{uid}"), &ctx.cancel)
                .await
            {
                Ok(c) if state_of(&c) == "Deleted" => break,
                Ok(_) => {}
                Err(e) if e.is_not_found() => break,
                Err(ApiError::Cancelled) => {
                    return interrupted(&format!("cluster {uid} was force-deleted"))
                }
                Err(e) => return api_diag(&format!("Cannot read cluster {uid}"), &e),
            }
            if Instant::now() >= deadline {
                return Diagnostic::error(
                    "Force delete timed out",
                    format!("Palette accepted the force delete of cluster {uid}, but still lists it; raise `timeout`."),
                )
                .into();
            }
            if !ctx.sleep(poll.interval(deadline)).await {
                return interrupted(&format!("cluster {uid} was force-deleted"));
            }
        }
        progress
            .say(format!("cluster {name} is gone from Palette"))
            .await;
        let mut d = Diagnostics::new();
        d.warning(
            "Cluster force-deleted",
            format!(
                "Cluster {name} ({uid}) was removed from Palette without its cleanup. Remove by hand what is left: its \
                 node VMs in vCenter, their IP allocations and DNS records. A palette_cluster_vsphere resource for it \
                 leaves state at its next refresh."
            ),
        );
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palette_api::models::{V1ObjectMeta, V1SpectroClusterStatus};

    fn cluster(state: &str, deleting: bool) -> V1SpectroCluster {
        V1SpectroCluster {
            metadata: Some(V1ObjectMeta {
                uid: Some("c1".into()),
                deletion_timestamp: deleting.then(|| "2026-12-04T10:00:00Z".into()),
                ..Default::default()
            }),
            status: Some(V1SpectroClusterStatus {
                state: Some(state.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn force_delete_waits_for_palettes_fifteen_minutes_and_says_how_long() {
        let c = cluster("Deleting", true);
        let (summary, detail) = force_deletable(&c, Duration::from_secs(4 * 60 + 30)).unwrap_err();
        assert_eq!(summary, "Too early to force-delete");
        assert!(detail.contains("4m30s"), "{detail}");
        assert!(detail.contains("10m30s are left"), "{detail}");
        assert!(force_deletable(&c, Duration::from_secs(15 * 60)).is_ok());
    }

    #[test]
    fn a_cluster_not_being_deleted_is_refused() {
        let (summary, _) =
            force_deletable(&cluster("Running", false), Duration::from_secs(3600)).unwrap_err();
        assert_eq!(summary, "Cluster is not being deleted");
    }
}
