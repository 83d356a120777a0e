//! Palette's side of a gateway's life: reading it, waiting while it
//! provisions, resetting a failed one, and the node VMs it reports.

use std::time::Instant;

use palette_api::client::{Client, Error as ApiError};
use palette_api::models::V1Overlord;
use tfplugin::{Ctx, Diagnostic, Diagnostics};

use super::model::GatewayModel;
use super::{own, Gateway};
use crate::shared::{api_diag, events, worth_polling_again, Poll};

impl Gateway {
    pub(super) async fn get(
        &self,
        client: &Client,
        uid: &str,
        ctx: &Ctx,
    ) -> Result<Option<V1Overlord>, ApiError> {
        match client
            .get(&format!("/v1/overlords/{uid}"), &ctx.cancel)
            .await
        {
            Ok(g) => Ok(Some(g)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls until the gateway is Running (Ok), Failed (Err with events) or
    /// the deadline passes.
    pub(super) async fn wait_running(
        &self,
        client: &Client,
        uid: &str,
        deadline: Instant,
        ctx: &Ctx,
    ) -> Result<V1Overlord, Diagnostics> {
        let mut last_state = String::new();
        let mut poll = Poll::new();
        // One answer to Ctrl-C wherever it lands: in a request or between two.
        let interrupted = || -> Diagnostics {
            Diagnostic::error(
                "Interrupted",
                format!("Terraform was interrupted while gateway {uid} provisions; it is in state (tainted)."),
            )
            .into()
        };
        loop {
            let got = match self.get(client, uid, ctx).await {
                Err(ApiError::Cancelled) => return Err(interrupted()),
                Err(e) if worth_polling_again(&e) && Instant::now() < deadline => {
                    tracing::warn!(gateway = uid, error = %e, "cannot read the gateway; polling again");
                    if !ctx.sleep(poll.interval(deadline)).await {
                        return Err(interrupted());
                    }
                    continue;
                }
                got => got,
            };
            let g = got
                .map_err(|e| api_diag("Cannot read the gateway while it provisions", &e))?
                .ok_or_else(|| {
                    Diagnostics::from(Diagnostic::error(
                        "Gateway vanished",
                        format!("Gateway {uid} disappeared from Palette while provisioning."),
                    ))
                })?;
            let state = g
                .status
                .as_ref()
                .and_then(|s| s.state.clone())
                .unwrap_or_default();
            if state != last_state {
                tracing::info!(gateway = uid, state = %state, "gateway state");
                last_state = state.clone();
            }
            match state.as_str() {
                "Running" => return Ok(g),
                "Failed" | "Error" => {
                    let ev = events(client, "overlord", uid, ctx).await;
                    return Err(Diagnostic::error(
                        "Gateway provisioning failed",
                        format!(
                            "Gateway {uid} is {state}. Its latest events:\n{}\nThe gateway is in state: \
                             after a failed create (tainted) the next apply replaces it, or destroy removes it. \
                             With reset_on_failure = true the provider resets it instead, as the console's \
                             Reset button does.",
                            ev.iter().map(|e| format!("- {e}")).collect::<Vec<_>>().join("\n")
                        ),
                    )
                    .into());
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                let ev = events(client, "overlord", uid, ctx).await;
                return Err(Diagnostic::error(
                    "Gateway provisioning timed out",
                    format!(
                        "Gateway {uid} is still {state} after the time limit (timeouts). Latest events:\n{}",
                        ev.iter().map(|e| format!("- {e}")).collect::<Vec<_>>().join("\n")
                    ),
                )
                .into());
            }
            if !ctx.sleep(poll.interval(deadline)).await {
                return Err(interrupted());
            }
        }
    }

    /// The console's Reset button (when `reset`), then the cloud config
    /// again: the gateway goes back to Pending without nodes and provisions
    /// from scratch on the same registration, so no installer is deployed
    /// again. Without `reset` it is already Pending (reset elsewhere).
    pub(super) async fn reset_and_provision(
        &self,
        reset: bool,
        uid: &str,
        planned: &GatewayModel,
        pool_uid: Option<&str>,
        deadline: Instant,
        ctx: &Ctx,
    ) -> Result<V1Overlord, Diagnostics> {
        let client = &self.shared.client()?;
        if reset {
            tracing::warn!(
                gateway = uid,
                "gateway Failed: resetting it and provisioning again (reset_on_failure)"
            );
            client
                .put_empty(&format!("/v1/overlords/{uid}/reset"), &ctx.cancel)
                .await
                .map_err(|e| api_diag("Cannot reset the gateway", &e))?;
        }
        client
            .post::<_, serde_json::Value>(
                &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
                &planned.cloud_config(pool_uid),
                &ctx.cancel,
            )
            .await
            .map_err(|e| api_diag("Cannot give the reset gateway its cloud config", &e))?;
        self.wait_running(client, uid, deadline, ctx).await
    }

    /// Whether Palette says the gateway failed (not timed out or cut short).
    pub(super) async fn is_failed(&self, client: &Client, uid: &str, ctx: &Ctx) -> bool {
        matches!(self.get(client, uid, ctx).await, Ok(Some(g))
            if g.status.as_ref().and_then(|s| s.state.as_deref()) == Some("Failed"))
    }

    /// The gateway's node VMs, on Palette's evidence (see `own`): the
    /// machines it reports for the gateway, found at their exact paths.
    pub(super) async fn nodes(
        &self,
        client: &Client,
        session: &vsphere::Session,
        g: &V1Overlord,
        ctx: &Ctx,
    ) -> Result<Vec<vsphere::vm::VmInfo>, String> {
        let reported = own::reported_nodes(client, g, ctx)
            .await
            .map_err(|e| format!("cannot read the gateway's machines from Palette: {e}"))?;
        own::found_nodes(session, &reported)
            .await
            .map_err(|e| format!("cannot find the gateway's machines in vCenter: {e}"))
    }
}
