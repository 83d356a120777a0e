//! Destroy: the deletion, its wait, and the force delete on Palette's clock.

use std::time::{Duration, Instant};

use palette_api::client::Error as ApiError;
use palette_api::models::V1SpectroCluster;
use tfplugin::{ApplyRequest, Ctx, Diagnostic, Diagnostics};

use super::apply::bullet;
use super::model::decode_some;
use super::read::{check_kind, get_cluster, read_diag, state_of, ReadError};
use super::{interrupted, Cluster, CLUSTERS, KIND};
use crate::shared::{api_diag, events, Poll};

/// How long a cluster has been deleting, on Palette's clock: from its
/// `deletionTimestamp` to the server's `Date`, the clock Palette's own
/// 15-minute force-delete rule runs on. Measured there, a skewed local clock
/// cannot make the provider force too early or wait too long, and a
/// deletion that an earlier run started counts from its real start. Where
/// either time is missing, the time since this run asked for the deletion.
pub(crate) fn deleting_for(
    c: &V1SpectroCluster,
    server_now: Option<std::time::SystemTime>,
    since_request: Duration,
) -> Duration {
    let started = c
        .metadata
        .as_ref()
        .and_then(|m| m.deletion_timestamp.as_deref())
        .and_then(palette_api::client::rfc3339);
    match (started, server_now) {
        (Some(started), Some(now)) => now.duration_since(started).unwrap_or_default(),
        _ => since_request,
    }
}

impl Cluster {
    pub(super) async fn delete_cluster(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        let prior = match decode_some(&req.prior) {
            Ok(m) => m,
            Err(d) => return d,
        };
        let client = match self.shared.scoped(&prior.context()) {
            Ok(c) => c,
            Err(d) => return d,
        };
        let uid = prior.id.or_default();
        let started = Instant::now();
        let deadline = started + prior.timeout(|t| &t.delete, schemas::cluster::DEFAULT_DELETE);
        // A destroy with -refresh=false, or after a state edit, skips read's
        // check; a delete is the one call that must never reach a cluster of
        // another cloud, so it looks first.
        match get_cluster(&client, &uid, ctx).await {
            Ok(None) => return Diagnostics::new(),
            Ok(Some(c)) => {
                if let Err(what) = check_kind(&uid, &c) {
                    return read_diag("", &ReadError::WrongKind(what));
                }
            }
            Err(e) => {
                return api_diag(&format!("Cannot read cluster {uid} before deleting it"), &e)
            }
        }
        match client
            .delete(&format!("{CLUSTERS}/{uid}"), &ctx.cancel)
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Diagnostics::new(),
            Err(e) => return api_diag(&format!("Cannot delete cluster {uid}"), &e),
        }
        let force = prior.force_delete.is_true();
        let delay = tfplugin::duration::parse(
            prior
                .force_delete_delay
                .as_str()
                .unwrap_or(schemas::cluster::DEFAULT_FORCE_DELETE_DELAY),
        )
        .unwrap_or(schemas::cluster::MIN_FORCE_DELETE_DELAY);
        let requested = Instant::now();
        let mut forced = false;
        let mut last = String::new();
        let mut poll = Poll::new();
        loop {
            let dated = client
                .get_dated::<V1SpectroCluster>(&format!("{CLUSTERS}/{uid}"), &ctx.cancel)
                .await;
            let (state, waited) = match dated {
                Ok((c, _)) if state_of(&c) == "Deleted" => break,
                Err(e) if e.is_not_found() => break,
                Ok((c, date)) => (state_of(&c), deleting_for(&c, date, requested.elapsed())),
                Err(ApiError::Cancelled) => return interrupted(&uid, "was being deleted"),
                Err(e) => {
                    return api_diag(
                        &format!("Cannot read cluster {uid} while it is deleted"),
                        &e,
                    )
                }
            };
            if state != last {
                tracing::info!(cluster = %uid, state = %state, "cluster deletion");
                last = state.clone();
            }
            if force && !forced && waited >= delay {
                tracing::warn!(cluster = %uid, "cluster still deleting after force_delete_delay; forcing");
                match client
                    .delete(&format!("{CLUSTERS}/{uid}?forceDelete=true"), &ctx.cancel)
                    .await
                {
                    Ok(()) => forced = true,
                    Err(e) if e.is_not_found() => break,
                    // Palette counts the 15 minutes from its own start of the
                    // deletion: try again on the next poll.
                    Err(ApiError::Validation { message, .. }) => {
                        tracing::info!(cluster = %uid, %message, "force delete not yet possible")
                    }
                    Err(e) => return api_diag(&format!("Cannot force-delete cluster {uid}"), &e),
                }
            }
            if Instant::now() >= deadline {
                let ev = events(&client, KIND, &uid, ctx).await;
                let hint = if force {
                    "Palette did not accept the force delete in time; raise `timeouts.delete` above \
                     `force_delete_delay`."
                } else {
                    "Set `force_delete = true` to force-delete a cluster stuck in Deleting after \
                     `force_delete_delay` (then remove by hand what Palette had not cleaned up: node VMs, IP \
                     allocations, DNS records)."
                };
                return Diagnostic::error(
                    "Cluster deletion timed out",
                    format!(
                        "Cluster {uid} is still {state}; it stays in state. {hint} Latest events:\n{}",
                        bullet(&ev)
                    ),
                )
                .into();
            }
            if !ctx.sleep(poll.interval(deadline)).await {
                return interrupted(&uid, "was being deleted");
            }
        }
        let mut d = Diagnostics::new();
        if forced {
            d.warning(
                "Cluster force-deleted",
                format!(
                    "Cluster {uid} was force-deleted after it stayed in Deleting. Palette stops cleaning up when \
                     forced: check vCenter for the cluster's VMs (folder {:?}) and the gateway's IP pools for \
                     addresses still allotted to it, and remove them by hand.",
                    prior.cc().folder.as_str().unwrap_or("?")
                ),
            );
        }
        d
    }
}
