//! Changes to a gateway: the first apply after an import, which records
//! the configuration; renames, vSphere account changes (rotated
//! passwords), growth and resets of a failed gateway; and an installer VM
//! deleted once its work is done.

use std::time::Instant;

use palette_api::models::{V1ObjectMetaInputEntity, V1ObjectMetaInputEntitySchema};
use tfplugin::{ApplyRequest, ApplyResult, Attr, AttrPath, Ctx, Diagnostic, Model};

use super::adopt::Private;
use super::model::GatewayModel;
use super::plan::adopting;
use super::vcenter::wo_version_changed;
use super::{decode, own, unexpected_null, Gateway};
use crate::shared::api_diag;

impl Gateway {
    pub(super) async fn update_gateway(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let models = (
            decode(&req.prior),
            decode(&req.planned),
            decode(&req.config),
        );
        let (prior, planned, config) = match models {
            (Ok(Some(p)), Ok(Some(n)), Ok(Some(c))) => (p, n, c),
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                return ApplyResult::failed(req.prior.clone(), d)
            }
            _ => return ApplyResult::failed(req.prior.clone(), unexpected_null()),
        };
        let (prior, planned, config) = (&prior, &planned, &config);
        let private = Private::parse(&req.planned_private);
        if adopting(Some(prior), &private) {
            // Kept on failure, so a retry still cannot replace the gateway.
            let failed = |d: Diagnostic| ApplyResult {
                state: req.prior.clone(),
                private: private.bytes(),
                diags: d.into(),
            };
            // First apply after an import: record the configuration's
            // installer, placement, pool and vCenter; change nothing remote
            // but the name if it differs.
            let mut state = GatewayModel {
                id: prior.id.clone(),
                state: prior.state.clone(),
                health: prior.health.clone(),
                upgrade_available: prior.upgrade_available.clone(),
                ip_address: prior.ip_address.clone(),
                cloud_account_id: prior.cloud_account_id.clone(),
                nodes: prior.nodes.clone(),
                installer_vm_id: prior.installer_vm_id.clone(),
                installer_vm_path: prior.installer_vm_path.clone(),
                node_count: prior.node_count.clone(),
                ..planned.clone().settle()
            };
            if state.nodes.is_null() {
                state.nodes = Attr::Known(Vec::new());
            }
            if private.installer_gone {
                state.forget_installer();
            }
            if prior.name.str() != planned.name.str() {
                return failed(
                    Diagnostic::error(
                        "Rename after import",
                        "Apply once with the gateway's current name to adopt it, then rename.",
                    )
                    .at(AttrPath::attr("name")),
                );
            }
            if prior.node_count != planned.node_count {
                return failed(
                    Diagnostic::error(
                        "Resize after import",
                        format!(
                            "The imported gateway has {} node(s); apply once with that node_count to adopt it, then resize.",
                            prior.node_count.get().unwrap_or(1)
                        ),
                    )
                    .at(AttrPath::attr("node_count")),
                );
            }
            // The pool is the gateway's pool of that name, if any.
            if let Some(pool) = planned.static_ip_pool.first() {
                if let Ok(list) = self.shared.pools_of(prior.id.str(), ctx).await {
                    let uid = list
                        .iter()
                        .find(|p| {
                            p.metadata.as_ref().and_then(|m| m.name.as_deref())
                                == pool.name.as_str()
                        })
                        .and_then(|p| p.metadata.as_ref().and_then(|m| m.uid.clone()));
                    state.ip_pool_id = uid.into();
                }
            }
            // The one remote change of an adoption: a write-only password
            // whose version the configuration sets (null in the imported
            // state) is sent once, since nothing tells whether Palette holds
            // the current one. A stored `password` is recorded only, as
            // before write-only passwords existed.
            if wo_version_changed(prior, planned, config) {
                if let Err(diags) = self
                    .send_account(prior.id.str(), planned, config, ctx)
                    .await
                {
                    return ApplyResult {
                        state: req.prior.clone(),
                        private: private.bytes(),
                        diags,
                    };
                }
            }
            return ApplyResult::ok(state.to_value());
        }
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let uid = prior.id.str().to_string();
        let deadline =
            Instant::now() + planned.timeout(|t| &t.update, schemas::gateway::DEFAULT_UPDATE);
        let mut state = GatewayModel {
            installer_vm_id: prior.installer_vm_id.clone(),
            installer_vm_path: prior.installer_vm_path.clone(),
            ip_pool_id: prior.ip_pool_id.clone(),
            cloud_account_id: prior.cloud_account_id.clone(),
            ..planned.clone().settle()
        };
        if private.installer_gone {
            state.forget_installer();
        }
        if prior.name.str() != planned.name.str() {
            let body = V1ObjectMetaInputEntitySchema {
                metadata: Some(V1ObjectMetaInputEntity {
                    name: Some(planned.name.str().to_string()),
                    ..Default::default()
                }),
            };
            if let Err(e) = client
                .put(&format!("/v1/overlords/{uid}/metadata"), &body, &ctx.cancel)
                .await
            {
                return ApplyResult::failed(
                    req.prior.clone(),
                    api_diag("Cannot rename the gateway", &e),
                );
            }
        }
        // A new `password_wo_version` changes the block too: that is how a
        // rotated write-only password reaches Palette.
        let vcenter_now = self.vcenter_for(Some(planned), Some(config)).ok().flatten();
        if prior.vcenter() != planned.vcenter() {
            if let Err(d) = self
                .send_account(prior.id.str(), planned, config, ctx)
                .await
            {
                return ApplyResult::failed(req.prior.clone(), d);
            }
        }
        let cc_changed = prior.node_count != planned.node_count
            || prior.ssh_keys != planned.ssh_keys
            || prior.ntp_servers != planned.ntp_servers;
        let reset = prior.state.str() == "Failed" && planned.reset_on_failure.is_true();
        // Pending: reset outside Terraform, so it has no cloud config.
        let pending = prior.state.str() == "Pending";
        if reset || pending {
            // Provisioning again from the whole planned cloud config.
            let pool = prior.ip_pool_id.get();
            if let Err(d) = self
                .reset_and_provision(reset, &uid, planned, pool.as_deref(), deadline, ctx)
                .await
            {
                return ApplyResult::failed(state.to_value(), d);
            }
        } else if cc_changed {
            let pool = prior.ip_pool_id.get();
            if let Err(e) = client
                .put(
                    &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
                    &planned.cloud_config(pool.as_deref()),
                    &ctx.cancel,
                )
                .await
            {
                return ApplyResult::failed(
                    req.prior.clone(),
                    api_diag("Cannot update the gateway's cloud config", &e),
                );
            }
            if let Err(d) = self.wait_running(&client, &uid, deadline, ctx).await {
                return ApplyResult::failed(state.to_value(), d);
            }
        }
        if planned.installer_vm_action.str() == "delete" {
            if let (Some(vc), Some(vm)) = (&vcenter_now, prior.installer_vm_id.as_str()) {
                let session = match vc.login_until(ctx, Some(deadline)).await {
                    Ok(s) => s,
                    Err(e) => {
                        return ApplyResult::failed(
                            state.to_value(),
                            Diagnostic::error(
                                "Cannot log in to vCenter to delete the installer VM",
                                e.to_string(),
                            ),
                        )
                    }
                };
                let path = prior.installer_vm_path.str();
                let doubt = match session.vm_info(vm).await {
                    Ok(now) => own::installer_doubt(&now, path, &uid),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => {
                        return ApplyResult::failed(
                            state.to_value(),
                            Diagnostic::error("Cannot read the installer VM", e.to_string()),
                        )
                    }
                };
                match doubt {
                    // Not provably the installer any more: forgotten, not deleted.
                    Some(why) => {
                        tracing::warn!(%why, installer = %path, "installer VM left in vCenter")
                    }
                    None => match session.destroy_vm(vm).await {
                        Ok(()) => {}
                        Err(e) if e.is_not_found() => {}
                        Err(e) => {
                            return ApplyResult::failed(
                                state.to_value(),
                                Diagnostic::error("Cannot delete the installer VM", e.to_string()),
                            )
                        }
                    },
                }
                let _ = session.logout().await;
                state.forget_installer();
            }
        }
        let read = self
            .read_with(
                &state,
                &[],
                ctx,
                self.vcenter_for(Some(planned), Some(config)),
            )
            .await;
        if read.diags.has_errors() || read.state.is_null() {
            return ApplyResult::failed(state.to_value(), read.diags);
        }
        ApplyResult::ok(read.state)
    }
}
