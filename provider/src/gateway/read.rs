//! Refresh and import: the gateway as Palette reports it, its node VMs
//! and installer VM as vCenter has them.

use palette_api::models::V1Overlords;
use tfplugin::{Ctx, Diagnostic, Diagnostics, Imported, Model, ReadResult, Value};

use super::adopt::Private;
use super::model::GatewayModel;
use super::vcenter::{missing_password, VcAccess, REFRESH_NEEDS};
use super::{decode, own, Gateway};
use crate::shared::{api_diag, read_failed, url_escape};

impl Gateway {
    pub(super) async fn read_gateway(
        &self,
        state: &Value,
        private: &[u8],
        ctx: &Ctx,
    ) -> ReadResult {
        let state = match decode(state) {
            Ok(Some(s)) => s,
            Ok(None) => return ReadResult::ok(Value::Null, private.to_vec()),
            Err(d) => {
                return ReadResult {
                    state: state.clone(),
                    private: private.to_vec(),
                    diags: d,
                }
            }
        };
        let vcenter = self.vcenter_for(Some(&state), None);
        self.read_with(&state, private, ctx, vcenter).await
    }

    /// A refresh with the given vCenter access (the stored or provider's
    /// password; in an update, the configuration's).
    pub(super) async fn read_with(
        &self,
        state: &GatewayModel,
        private: &[u8],
        ctx: &Ctx,
        vcenter: Result<Option<VcAccess>, String>,
    ) -> ReadResult {
        let keep = |d: Diagnostics| ReadResult {
            state: state.to_value(),
            private: private.to_vec(),
            diags: d,
        };
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return keep(d),
        };
        let uid = state.id.str().to_string();
        if uid.is_empty() {
            // Never registered: only the installer VM exists; keep it tracked.
            return ReadResult::ok(state.to_value(), private.to_vec());
        }
        let g = match self.get(&client, &uid, ctx).await {
            Ok(Some(g)) => g,
            Ok(None) => return ReadResult::ok(Value::Null, Vec::new()),
            Err(e) => return keep(read_failed("Cannot read the gateway", "gateway", &e)),
        };
        let mut next = state.clone();
        next.observe(&g);
        let mut private_now = Private::parse(private);
        let mut vcenter_unread = Vec::new();
        let mut diags = Diagnostics::new();
        let vcenter = match vcenter {
            Ok(vc) => vc,
            Err(server) => {
                diags.warning(
                    "Cannot read the gateway's VMs: no vCenter password",
                    format!(
                        "{} The gateway remains in Terraform state; its `nodes` and `node_count` are as \
                         last recorded, so node VMs deleted or powered off in vCenter do not show in this plan.",
                        missing_password(
                            &server,
                            REFRESH_NEEDS,
                            self.provider_vcenter_server().as_deref()
                        )
                    ),
                );
                None
            }
        };
        if let Some(vc) = vcenter {
            match vc.login().await {
                Ok(session) => {
                    let installer = state.installer_vm_id.get();
                    private_now.installer_gone = false;
                    if let Some(vm) = &installer {
                        // Kept in state until a plan shows it going. A VM
                        // under that id that is no longer the installer
                        // (renamed, or another gateway's) counts as gone.
                        match session.vm_info(vm).await {
                            Ok(now) => {
                                if let Some(why) =
                                    own::installer_doubt(&now, state.installer_vm_path.str(), &uid)
                                {
                                    tracing::warn!(%why, "the recorded installer VM is no longer the gateway's");
                                    private_now.installer_gone = true;
                                }
                            }
                            Err(e) if e.is_not_found() => private_now.installer_gone = true,
                            Err(e) => vcenter_unread.push(format!("the installer VM: {e}")),
                        }
                    }
                    // Before any node is recorded (a gateway still
                    // provisioning) there is no count to compare.
                    let recorded = state.nodes.known().is_some_and(|n| !n.is_empty());
                    match self.nodes(&client, &session, &g, ctx).await {
                        Ok(nodes) => {
                            tracing::debug!(found = nodes.len(), "gateway node VMs");
                            if recorded {
                                // A node VM gone or off in vCenter shows as a lower count.
                                let live = nodes.iter().filter(|n| n.powered_on).count() as i64;
                                next.node_count = live.into();
                            }
                            next.set_nodes(&nodes);
                        }
                        Err(e) => vcenter_unread.push(e),
                    }
                    let _ = session.logout().await;
                }
                Err(e) => vcenter_unread.push(e.to_string()),
            }
        }
        diags.extend(vcenter_unread_warning(&vcenter_unread));
        ReadResult {
            state: next.to_value(),
            private: private_now.bytes(),
            diags,
        }
    }

    pub(super) async fn import_gateway(
        &self,
        id: &str,
        ctx: &Ctx,
    ) -> Result<Vec<Imported>, Diagnostics> {
        let client = self.shared.client()?;
        let found = match self.get(&client, id, ctx).await {
            Ok(Some(g)) => Some(g),
            _ => client
                .get::<V1Overlords>(
                    &format!("/v1/overlords?name={}", url_escape(id)),
                    &ctx.cancel,
                )
                .await
                .map_err(|e| api_diag("Cannot list gateways", &e))?
                .items
                .unwrap_or_default()
                .into_iter()
                .find(|g| g.metadata.as_ref().and_then(|m| m.name.as_deref()) == Some(id)),
        };
        let Some(g) = found else {
            return Err(Diagnostic::error(
                "Gateway not found",
                format!("No private cloud gateway has the uid or name {id:?}."),
            )
            .into());
        };
        let mut state = GatewayModel::imported();
        state.observe(&g);
        let state = self.discover(&g, state, ctx).await;
        // Only a gateway whose placement could not be read back is adopted
        // by a recording apply; one read back is planned like any other.
        let adopting = state.placement.is_empty();
        Ok(vec![Imported {
            state: state.to_value(),
            private: Private {
                adopting,
                ..Default::default()
            }
            .bytes(),
        }])
    }
}

/// A warning, not an error, for a refresh that read the gateway from
/// Palette but not its VMs from vCenter: with an error, a vCenter password
/// rotated in the gateway's `vcenter` block could never be applied (the
/// refresh logs in with the old one), and the gateway itself is known to
/// exist. The state keeps the VMs as last recorded, so the warning says
/// drift in vCenter is not in this plan.
pub(super) fn vcenter_unread_warning(errors: &[String]) -> Diagnostics {
    if errors.is_empty() {
        return Diagnostics::new();
    }
    Diagnostic::warning(
        "Cannot read the gateway's VMs",
        format!(
            "{}. The gateway remains in Terraform state; its `nodes` and `node_count` are as last \
             recorded, so node VMs deleted or powered off in vCenter do not show in this plan. \
             Check that vCenter is reachable and that the credentials (the gateway's `vcenter` \
             block, else the provider's) are accepted.",
            errors.join("; ")
        ),
    )
    .into()
}
