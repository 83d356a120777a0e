//! Destroying a gateway: Palette forgets it (refused while clusters use
//! it), then the VMs provably its own are deleted in vCenter (see `own`).

use std::time::Instant;

use palette_api::client::Error as ApiError;
use tfplugin::{ApplyRequest, Ctx, Diagnostic, Diagnostics};

use super::model::GatewayModel;
use super::vcenter::{missing_password, DESTROY_NEEDS};
use super::{decode, own, unexpected_null, Gateway};
use crate::shared::api_diag;

impl Gateway {
    pub(super) async fn delete_gateway(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        let (prior, config) = match (decode(&req.prior), decode(&req.config)) {
            (Ok(Some(p)), Ok(c)) => (p, c),
            (Err(d), _) | (_, Err(d)) => return d,
            (Ok(None), _) => return unexpected_null(),
        };
        let prior = &prior;
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return d,
        };
        // Checked before anything is deleted: once Palette forgets the
        // gateway, nothing would say which VMs were its.
        let vcenter = match self.vcenter_for(Some(prior), config.as_ref()) {
            Ok(vc) => vc,
            Err(server) => {
                return Diagnostic::error(
                    "No vCenter password to destroy the gateway",
                    format!(
                        "{} Nothing was deleted.",
                        missing_password(
                            &server,
                            DESTROY_NEEDS,
                            self.provider_vcenter_server().as_deref()
                        )
                    ),
                )
                .into()
            }
        };
        let uid = prior.id.str().to_string();
        let mut diags = Diagnostics::new();
        // Palette's report of the gateway's machines is read before Palette
        // forgets the gateway: it is the evidence for deleting node VMs.
        let mut reported = Vec::new();
        if !uid.is_empty() {
            match self.get(&client, &uid, ctx).await {
                Ok(Some(g)) => match own::reported_nodes(&client, &g, ctx).await {
                    Ok(r) => reported = r,
                    Err(e) => tracing::warn!(error = %e, "cannot read the gateway's machines"),
                },
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the gateway before deleting it"),
            }
            match client.delete(&format!("/v1/overlords/{uid}"), &ctx.cancel).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(ApiError::Conflict { message, .. }) => {
                    return Diagnostic::error(
                        "The gateway is in use",
                        format!("Palette refuses to delete gateway {uid}: {message}. Delete those clusters (or move them to another gateway) first."),
                    )
                    .into()
                }
                Err(e) => return api_diag("Cannot delete the gateway", &e),
            }
        }
        // vCenter: the installer, and any node VM Palette left behind.
        let Some(vc) = vcenter else {
            return diags;
        };
        let deadline =
            Instant::now() + prior.timeout(|t| &t.delete, schemas::gateway::DEFAULT_DELETE);
        let session = match vc.login_until(ctx, Some(deadline)).await {
            Ok(s) => s,
            Err(e) => {
                return Diagnostic::error(
                    "Gateway deleted in Palette, but vCenter is unreachable",
                    format!(
                        "{e}. Remove the installer VM {} by hand.",
                        prior.installer_vm_path.str()
                    ),
                )
                .into()
            }
        };
        let (doomed, kept) = match self.owned_vms(&session, prior, &uid, &reported).await {
            Ok(x) => x,
            Err(e) => {
                return Diagnostic::error(
                    "Gateway deleted in Palette, but its VMs could not be checked",
                    format!("{e}. Nothing was deleted in vCenter; the gateway's VMs may remain."),
                )
                .into()
            }
        };
        if !kept.is_empty() {
            diags.warning(
                "Some VMs were left in vCenter",
                format!(
                    "The provider deletes only VMs it can prove are this gateway's (see the docs). Left in place:\n{}",
                    kept.iter().map(|k| format!("- {k}")).collect::<Vec<_>>().join("\n")
                ),
            );
        }
        for (vm, name) in doomed {
            match session.destroy_vm(&vm).await {
                Ok(()) => tracing::info!(vm = %vm, name = %name, "deleted the gateway's VM"),
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    diags.push(Diagnostic::error(
                        "Cannot delete a gateway VM",
                        format!("{e} (VM {name}, {vm}); the gateway itself is deleted."),
                    ));
                    return diags;
                }
            }
        }
        let _ = session.logout().await;
        diags
    }

    /// The VMs a delete may remove, each with its name, and a line for
    /// each VM recorded in state that is left because it is no longer
    /// provably the gateway's. Evidence: Palette's report of the gateway's
    /// machines, the nodes recorded on that evidence while their VMs keep
    /// their names, and the installer this provider deployed (see `own`).
    async fn owned_vms(
        &self,
        session: &vsphere::Session,
        prior: &GatewayModel,
        uid: &str,
        reported: &[own::ReportedNode],
    ) -> Result<(Vec<(String, String)>, Vec<String>), vsphere::Error> {
        let mut doomed: Vec<(String, String)> = own::found_nodes(session, reported)
            .await?
            .into_iter()
            .map(|v| (v.moref, v.name))
            .collect();
        let mut kept = Vec::new();
        for r in own::recorded_nodes(&prior.nodes) {
            if doomed.iter().any(|(id, _)| *id == r.vm_id) {
                continue;
            }
            match session.vm_info(&r.vm_id).await {
                Ok(now) if own::still_recorded(&r, &now) => doomed.push((now.moref, now.name)),
                Ok(now) => kept.push(format!(
                    "{} ({}): recorded as node {:?}, now named {:?}",
                    now.moref, now.name, r.name, now.name
                )),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(id) = prior.installer_vm_id.as_str() {
            let path = prior.installer_vm_path.str();
            match session.vm_info(id).await {
                Ok(now) => match own::installer_doubt(&now, path, uid) {
                    None => doomed.push((now.moref, now.name)),
                    Some(why) => kept.push(format!("installer {path}: {why}")),
                },
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok((doomed, kept))
    }
}
