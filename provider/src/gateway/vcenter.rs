//! The gateway's vCenter: whose credentials an operation logs in with (the
//! gateway's `vcenter` block, else the provider's), and where its password
//! comes from when the block keeps none in state (`password_wo`, imports).

use std::time::Instant;

use palette_api::models::{V1OverlordVsphereAccountEntity, V1VsphereCloudAccount};
use tfplugin::{Attr, Ctx, Diagnostics};

use super::model::{GatewayModel, Vcenter};
use super::Gateway;
use crate::shared::{api_diag, Shared};

/// vCenter credentials for an operation: a resource's own `vcenter` block,
/// else the provider's.
#[derive(Clone)]
pub(crate) struct VcAccess {
    pub server: String,
    pub user: String,
    pub password: String,
    pub insecure: bool,
    /// PEM CA bundle to trust for vCenter (`ca_file`), read at each login.
    pub ca_file: Option<std::path::PathBuf>,
    /// Palette's own CA (the provider's `ca_file`): the installer OVA comes
    /// from Palette, so vCenter's trust settings must not apply to it.
    pub palette_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for VcAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VcAccess")
            .field("server", &self.server)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl VcAccess {
    pub async fn login(&self) -> Result<vsphere::Session, vsphere::Error> {
        let mut target = vsphere::Target::parse(&self.server, self.insecure)?;
        if let Some(path) = &self.ca_file {
            target.ca_pem = Some(vsphere::session::read_ca_file(path)?);
        }
        let session = vsphere::Session::login(&target, &self.user, &self.password).await?;
        Ok(session.with_download_ca(self.palette_ca.clone()))
    }

    /// A session whose vCenter waits end on Ctrl-C and at the operation's
    /// deadline instead of polling forever.
    pub async fn login_until(
        &self,
        ctx: &Ctx,
        deadline: Option<Instant>,
    ) -> Result<vsphere::Session, vsphere::Error> {
        let session = self.login().await?;
        Ok(session
            .with_cancel(ctx.cancel.clone())
            .with_deadline(deadline))
    }

    pub fn account(&self) -> V1VsphereCloudAccount {
        V1VsphereCloudAccount {
            vcenter_server: Some(
                vsphere::normalize_server(&self.server).unwrap_or_else(|_| self.server.clone()),
            ),
            username: Some(self.user.clone()),
            password: Some(self.password.clone()),
            insecure: Some(self.insecure),
        }
    }
}

/// What the password logic reads of a resource's `vcenter` block (the
/// gateway's, the zone tagging's), whose other attributes differ.
pub(crate) trait VcenterBlock {
    fn server(&self) -> &Attr<String>;
    fn password(&self) -> &Attr<String>;
    fn password_wo(&self) -> &Attr<String>;
}

impl VcenterBlock for Vcenter {
    fn server(&self) -> &Attr<String> {
        &self.server
    }
    fn password(&self) -> &Attr<String> {
        &self.password
    }
    fn password_wo(&self) -> &Attr<String> {
        &self.password_wo
    }
}

/// `password_wo` of a `vcenter` block, when it is the form in use.
pub(crate) fn write_only_password<B: VcenterBlock>(block: Option<&B>) -> Option<&str> {
    block.and_then(|b| b.password_wo().as_str())
}

/// Where an operation on the gateway gets its vCenter password.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PasswordSource<'a> {
    /// No `vcenter` block: the provider's `vcenter` block, if any.
    Default,
    /// `password` in the gateway's block, kept in state.
    Stored,
    /// `password_wo`, which only a plan's or an apply's configuration holds.
    Configured(&'a str),
    /// A write-only password and no configuration (refresh, destroy): the
    /// provider's `vcenter` block, which names the same server.
    Provider,
    /// As `Provider`, but the provider has no `vcenter` block for that server.
    Missing,
}

/// `block` is the gateway's `vcenter` block as planned or stored,
/// `config_block` the same block in the configuration (none outside of plan
/// and apply, and on destroy), `provider_server` the server of the
/// provider's `vcenter` block. A block without `password` either uses
/// `password_wo` or was read back by an import (Palette never returns the
/// password); both need the configuration or the provider's block.
pub(crate) fn password_source<'a, B: VcenterBlock>(
    block: Option<&B>,
    config_block: Option<&'a B>,
    provider_server: Option<&str>,
) -> PasswordSource<'a> {
    let Some(block) = block else {
        return PasswordSource::Default;
    };
    // Unknown at plan time still ends up in state.
    if !block.password().is_null() {
        return PasswordSource::Stored;
    }
    if let Some(p) = write_only_password(config_block) {
        return PasswordSource::Configured(p);
    }
    let norm = |s: &str| vsphere::normalize_server(s).unwrap_or_else(|_| s.to_string());
    match provider_server {
        Some(p) if norm(p) == norm(block.server().str()) => PasswordSource::Provider,
        _ => PasswordSource::Missing,
    }
}

/// What to tell a user whose gateway keeps no vCenter password when
/// `operation` needs one: what is missing and the block to add.
pub(super) fn missing_password(
    server: &str,
    operation: &str,
    provider_server: Option<&str>,
) -> String {
    let other = match provider_server {
        Some(p) => format!(" The provider's `vcenter` block names {p:?}, another server."),
        None => String::new(),
    };
    format!(
        "{operation} logs in to vCenter {server:?}, and this gateway's `vcenter` block has no password \
         Terraform keeps: `password_wo` is never stored, and only a plan or apply of the gateway's own \
         configuration carries it.{other} Give the provider a `vcenter` block for that server (provider \
         configuration is never stored in state either; the password may come from an ephemeral variable \
         or VSPHERE_PASSWORD):\n\n\
         provider \"palette\" {{\n  vcenter {{\n    server   = \"{server}\"\n    username = \"...\"\n    \
         password = var.vcenter_password\n  }}\n}}"
    )
}

pub(super) const REFRESH_NEEDS: &str =
    "A refresh reads the gateway's node VMs and installer VM from vCenter: it";
pub(super) const DESTROY_NEEDS: &str =
    "Destroying (or replacing) the gateway deletes its node VMs and installer VM in vCenter: it";

/// Whether an apply changes `password_wo_version` of a gateway whose
/// configuration gives `password_wo` (null -> N after an import counts).
pub(super) fn wo_version_changed(
    prior: &GatewayModel,
    planned: &GatewayModel,
    config: &GatewayModel,
) -> bool {
    let version = |v: &GatewayModel| {
        v.vcenter()
            .map(|b| b.password_wo_version.clone())
            .unwrap_or_default()
    };
    write_only_password(config.vcenter()).is_some() && version(planned) != version(prior)
}

/// The server of the provider's `vcenter` block.
pub(crate) fn provider_server(shared: &Shared) -> Option<String> {
    let settings = shared.settings.read().expect("settings lock");
    settings
        .as_ref()?
        .vcenter
        .as_ref()
        .map(|vc| vc.server.clone())
}

/// The provider's `vcenter` block, for an operation without a block of its
/// own (or whose block keeps no password).
pub(crate) fn provider_access(shared: &Shared, palette_ca: Option<Vec<u8>>) -> Option<VcAccess> {
    let settings = shared.settings.read().expect("settings lock");
    settings.as_ref()?.vcenter.as_ref().map(|vc| VcAccess {
        server: vc.server.clone(),
        user: vc.username.clone(),
        password: vc.password.expose().to_string(),
        insecure: vc.insecure,
        ca_file: vc.ca_file.clone(),
        palette_ca,
    })
}

impl Gateway {
    pub(super) fn provider_vcenter_server(&self) -> Option<String> {
        provider_server(&self.shared)
    }

    /// The vCenter access for an operation on `v` (planned, prior or stored
    /// state) with `config` (the configuration, none where Terraform sends
    /// none). `Err` holds the server whose password nobody has.
    pub(super) fn vcenter_for(
        &self,
        v: Option<&GatewayModel>,
        config: Option<&GatewayModel>,
    ) -> Result<Option<VcAccess>, String> {
        let provider_server = self.provider_vcenter_server();
        let block = v.and_then(GatewayModel::vcenter);
        match password_source(
            block,
            config.and_then(GatewayModel::vcenter),
            provider_server.as_deref(),
        ) {
            PasswordSource::Default | PasswordSource::Stored => Ok(self.vcenter(v)),
            PasswordSource::Configured(password) => {
                tfplugin::logging::register_secret(password);
                Ok(self.vcenter(v).map(|vc| VcAccess {
                    password: password.to_string(),
                    ..vc
                }))
            }
            PasswordSource::Provider => Ok(self.vcenter(None)),
            PasswordSource::Missing => Err(block
                .map(|b| b.server.str())
                .unwrap_or_default()
                .to_string()),
        }
    }

    /// The gateway's `vcenter` block of `v` as it stands, else the
    /// provider's block.
    pub(super) fn vcenter(&self, v: Option<&GatewayModel>) -> Option<VcAccess> {
        let palette_ca = self
            .shared
            .client()
            .ok()
            .and_then(|c| c.config().ca_pem.clone());
        if let Some(b) = v.and_then(GatewayModel::vcenter) {
            tfplugin::logging::register_secret(b.password.str());
            return Some(VcAccess {
                server: b.server.str().to_string(),
                user: b.username.str().to_string(),
                password: b.password.str().to_string(),
                insecure: b.insecure.get().unwrap_or(false),
                ca_file: b.ca_file.as_str().map(Into::into),
                palette_ca,
            });
        }
        provider_access(&self.shared, palette_ca)
    }

    /// Gives Palette the gateway's vSphere account as `planned` (with the
    /// password of `config` when it is write-only), as the console's edit of
    /// the gateway's account does. Nothing to send without a `vcenter` block.
    pub(super) async fn send_account(
        &self,
        uid: &str,
        planned: &GatewayModel,
        config: &GatewayModel,
        ctx: &Ctx,
    ) -> Result<(), Diagnostics> {
        let Ok(Some(vc)) = self.vcenter_for(Some(planned), Some(config)) else {
            return Ok(());
        };
        let client = self.shared.client()?;
        let body = V1OverlordVsphereAccountEntity {
            account: Some(vc.account()),
            share_with_projects: None,
        };
        client
            .put(
                &format!("/v1/overlords/vsphere/{uid}/account"),
                &body,
                &ctx.cancel,
            )
            .await
            .map_err(|e| api_diag("Cannot update the gateway's vSphere account", &e))
    }
}
