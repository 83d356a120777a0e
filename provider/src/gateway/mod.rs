//! `palette_private_cloud_gateway`: the reference document's install
//! procedure as one resource. Planning checks what can be known before
//! apply; create walks the steps and puts the gateway (or, before it
//! registers, the installer VM) into state the moment it exists, so a
//! failure or Ctrl-C later leaves a tainted resource, never an orphan.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use palette_api::client::{Client, Error as ApiError};
use palette_api::models::{
    V1IpPoolInputEntity, V1IpPoolInputEntitySpec, V1Nameserver, V1ObjectMeta,
    V1ObjectMetaInputEntity, V1ObjectMetaInputEntitySchema, V1OverloadVsphereOva, V1Overlord,
    V1OverlordVsphereAccountCreate, V1OverlordVsphereAccountEntity, V1OverlordVsphereCloudConfig,
    V1Overlords, V1PairingCode, V1Pool, V1Uid, V1VsphereCloudAccount, V1VsphereNetworkConfigEntity,
    V1VsphereOverlordClusterConfigEntity, V1VspherePlacementConfigEntity,
};
use tfplugin::{
    ApplyRequest, ApplyResult, AttrPath, Ctx, Diagnostic, Diagnostics, Imported, Model,
    PlanRequest, PlanResponse, ReadResult, Resource, Schema, Value,
};
use vsphere::vm::Placement;

use crate::placement;
use crate::shared::{
    api_diag, events, first, read_failed, strings, url_escape, worth_polling_again, Poll, Shared,
};

mod adopt;
pub mod model;
mod own;
mod resume;
use adopt::Private;
pub use model::GatewayModel;

/// `password_wo` of a `vcenter` block, when it is the form in use.
fn write_only_password(block: &Value) -> Option<&str> {
    block.get("password_wo").as_str()
}

pub struct Gateway {
    pub shared: Arc<Shared>,
}

/// vCenter credentials for the gateway: its own block, else the provider's.
#[derive(Clone)]
struct VcAccess {
    server: String,
    user: String,
    password: String,
    insecure: bool,
    /// PEM CA bundle to trust for vCenter (`ca_file`), read at each login.
    ca_file: Option<std::path::PathBuf>,
    /// Palette's own CA (the provider's `ca_file`): the installer OVA comes
    /// from Palette, so vCenter's trust settings must not apply to it.
    palette_ca: Option<Vec<u8>>,
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
    async fn login(&self) -> Result<vsphere::Session, vsphere::Error> {
        let mut target = vsphere::Target::parse(&self.server, self.insecure)?;
        if let Some(path) = &self.ca_file {
            target.ca_pem = Some(vsphere::session::read_ca_file(path)?);
        }
        let session = vsphere::Session::login(&target, &self.user, &self.password).await?;
        Ok(session.with_download_ca(self.palette_ca.clone()))
    }

    /// A session whose vCenter waits end on Ctrl-C and at the operation's
    /// deadline instead of polling forever.
    async fn login_until(
        &self,
        ctx: &Ctx,
        deadline: Option<Instant>,
    ) -> Result<vsphere::Session, vsphere::Error> {
        let session = self.login().await?;
        Ok(session
            .with_cancel(ctx.cancel.clone())
            .with_deadline(deadline))
    }

    /// Plan-time check of the `vcenter` block: `ca_file` with `insecure`
    /// would silently trust nothing but skip every check.
    fn check_tls(config: &Value, d: &mut Diagnostics) {
        let b = first(config, "vcenter");
        let ca_file = b.get("ca_file");
        if b.get("insecure").as_bool() == Some(true) && !ca_file.is_null() && !ca_file.is_unknown()
        {
            d.error_at(
                path(&[("vcenter", Some(0)), ("insecure", None)]),
                "Conflicting vCenter TLS settings",
                "`insecure = true` skips vCenter's certificate checks, which makes `ca_file` pointless. Set one of them.",
            );
        }
    }

    fn account(&self) -> V1VsphereCloudAccount {
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

fn s(v: &Value, k: &str) -> String {
    v.get(k).as_str().unwrap_or_default().to_string()
}

fn placement_of(b: &Value) -> Placement {
    Placement {
        datacenter: s(b, "datacenter"),
        compute_cluster: s(b, "compute_cluster"),
        datastore: s(b, "datastore"),
        network: s(b, "network"),
        resource_pool: s(b, "resource_pool"),
        folder: s(b, "folder"),
    }
}

fn path(parts: &[(&str, Option<usize>)]) -> AttrPath {
    let mut p = AttrPath::root();
    for (name, idx) in parts {
        p = p.then_attr(name);
        if let Some(i) = idx {
            p = p.then_index(*i);
        }
    }
    p
}

/// The network of the gateway's nodes, when static IPs define it.
fn node_network(pool: &Value) -> Option<ipnet::IpNet> {
    if pool.is_null() {
        return None;
    }
    let prefix = pool.get("prefix").as_i64()? as u8;
    if let Some(subnet) = pool.get("subnet").as_str() {
        return subnet.parse::<ipnet::IpNet>().ok().map(|n| n.trunc());
    }
    let start: std::net::IpAddr = pool.get("start").as_str()?.parse().ok()?;
    ipnet::IpNet::new(start, prefix).ok().map(|n| n.trunc())
}

/// Plan-time checks that need no API: CIDRs, the nodes' pool.
fn check_networks(config: &Value, d: &mut Diagnostics) {
    let inst = first(config, "installer");
    let pool = first(config, "static_ip_pool");
    let parse =
        |k: &str| -> Option<ipnet::IpNet> { inst.get(k).as_str().and_then(|s| s.parse().ok()) };
    let pod = parse("pod_cidr").or_else(|| schemas::gateway::DEFAULT_POD_CIDR.parse().ok());
    let svc = parse("service_cidr").or_else(|| schemas::gateway::DEFAULT_SERVICE_CIDR.parse().ok());
    let overlap =
        |a: &ipnet::IpNet, b: &ipnet::IpNet| a.contains(&b.network()) || b.contains(&a.network());
    if let (Some(p), Some(s)) = (&pod, &svc) {
        if overlap(p, s) {
            d.error_at(
                path(&[("installer", Some(0)), ("service_cidr", None)]),
                "Overlapping gateway networks",
                format!("service_cidr {s} overlaps pod_cidr {p}; choose ranges apart, such as pod 192.168.0.0/16 and services 10.96.0.0/12."),
            );
        }
    }
    if !inst.is_null() && !pool.is_null() {
        let unknown = ["start", "end", "subnet", "prefix", "gateway"]
            .iter()
            .any(|f| pool.get(f).is_unknown());
        if !unknown {
            let input = palette_api::pool::PoolInput {
                start: pool.get("start").as_str(),
                end: pool.get("end").as_str(),
                subnet: pool.get("subnet").as_str(),
                prefix: pool.get("prefix").as_i64(),
                gateway: pool.get("gateway").as_str(),
            };
            if let Err(problems) = palette_api::pool::check(&input) {
                for p in problems {
                    d.error_at(
                        path(&[("static_ip_pool", Some(0)), (p.field, None)]),
                        "Invalid static IP pool",
                        p.message,
                    );
                }
            } else if let Some(net) = node_network(pool) {
                for (k, cidr) in [("pod_cidr", &pod), ("service_cidr", &svc)] {
                    if let Some(c) = cidr {
                        if overlap(c, &net) {
                            d.error_at(
                                path(&[("installer", Some(0)), (k, None)]),
                                "Overlapping gateway networks",
                                format!("{k} {c} overlaps the nodes' network {net} (static_ip_pool); pick a range the nodes do not use."),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The console URL an installer registers with, from the API endpoint.
fn default_console(endpoint: &str) -> String {
    let e = endpoint.trim_end_matches('/');
    match url::Url::parse(e)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    {
        Some(h) if h == "api.spectrocloud.com" => "https://console.spectrocloud.com".into(),
        _ => e.to_string(),
    }
}

/// What a reviewer and the next step need from Palette's gateway object.
fn observed(mut state: Value, g: &V1Overlord) -> Value {
    let meta = g.metadata.clone().unwrap_or_default();
    let spec = g.spec.clone().unwrap_or_default();
    let status = g.status.clone().unwrap_or_default();
    state.set_attr("id", Value::from(meta.uid));
    state.set_attr("name", Value::from(meta.name));
    state.set_attr("state", Value::from(status.state));
    state.set_attr("health", Value::from(status.health.and_then(|h| h.state)));
    state.set_attr("ip_address", Value::from(spec.ip_address));
    state.set_attr("cloud_account_id", Value::from(spec.cloud_account_uid));
    state
}

/// Computed attributes not yet known become null, so a partial state is
/// valid to save.
fn settle(mut state: Value) -> Value {
    for k in [
        "id",
        "state",
        "health",
        "ip_address",
        "cloud_account_id",
        "ip_pool_id",
        "installer_vm_id",
        "installer_vm_path",
    ] {
        if state.get(k).is_unknown() {
            state.set_attr(k, Value::Null);
        }
    }
    if state.get("nodes").is_unknown() {
        state.set_attr("nodes", Value::List(Vec::new()));
    }
    state
}

fn nodes_value(nodes: &[vsphere::vm::VmInfo]) -> Value {
    Value::List(
        nodes
            .iter()
            .map(|n| {
                Value::object([
                    ("name", Value::from(n.name.clone())),
                    ("vm_id", Value::from(n.moref.clone())),
                    ("powered_on", Value::Bool(n.powered_on)),
                ])
            })
            .collect(),
    )
}

/// The document's troubleshooting, for a gateway that did not register.
fn registration_help(
    name: &str,
    endpoint: &str,
    code: &str,
    vm_path: &str,
    events: &[String],
) -> String {
    // The code itself would let anyone who reads the error pair a gateway,
    // so neither the text nor Palette's events quoted in it carry it.
    let raw = code;
    let code = palette_api::client::mask(raw);
    let mut s = format!(
        "Gateway {name:?} did not register in time. The installer VM is {vm_path}; it is kept (and in \
         state, tainted) so you can look. As the reference document's troubleshooting says, check:\n\
         - the console endpoint {endpoint:?} is right and has no trailing slash;\n\
         - the pairing code (ending {code}) was typed by this provider, so it is right unless it expired;\n\
         - the installer VM reaches the endpoint (outbound HTTPS, or the proxy settings);\n\
         - over SSH (installer.ssh_public_key), /var/log/cloud-init-output.log on the installer VM.\n\
         The next apply replaces the installer."
    );
    if !events.is_empty() {
        s.push_str("\nPalette's events for this installer:\n");
        for e in events {
            let e = if raw.is_empty() {
                e.clone()
            } else {
                e.replace(raw, &code)
            };
            s.push_str(&format!("- {e}\n"));
        }
    }
    s
}

/// Where an operation on the gateway gets its vCenter password.
#[derive(Debug, PartialEq, Eq)]
enum PasswordSource<'a> {
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
/// `config_block` the same block in the configuration (null outside of plan
/// and apply, and on destroy), `provider_server` the server of the
/// provider's `vcenter` block. A block without `password` either uses
/// `password_wo` or was read back by an import (Palette never returns the
/// password); both need the configuration or the provider's block.
fn password_source<'a>(
    block: &Value,
    config_block: &'a Value,
    provider_server: Option<&str>,
) -> PasswordSource<'a> {
    if block.is_null() {
        return PasswordSource::Default;
    }
    // Unknown at plan time still ends up in state.
    if !block.get("password").is_null() {
        return PasswordSource::Stored;
    }
    if let Some(p) = write_only_password(config_block) {
        return PasswordSource::Configured(p);
    }
    let norm = |s: &str| vsphere::normalize_server(s).unwrap_or_else(|_| s.to_string());
    match provider_server {
        Some(p) if norm(p) == norm(&s(block, "server")) => PasswordSource::Provider,
        _ => PasswordSource::Missing,
    }
}

/// What to tell a user whose gateway keeps no vCenter password when
/// `operation` needs one: what is missing and the block to add.
fn missing_password(server: &str, operation: &str, provider_server: Option<&str>) -> String {
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

const REFRESH_NEEDS: &str =
    "A refresh reads the gateway's node VMs and installer VM from vCenter: it";
const DESTROY_NEEDS: &str =
    "Destroying (or replacing) the gateway deletes its node VMs and installer VM in vCenter: it";

impl Gateway {
    fn provider_vcenter_server(&self) -> Option<String> {
        let settings = self.shared.settings.read().expect("settings lock");
        settings
            .as_ref()?
            .vcenter
            .as_ref()
            .map(|vc| vc.server.clone())
    }

    /// The vCenter access for an operation on `v` (planned, prior or stored
    /// state) with `config` (the configuration, null where Terraform sends
    /// none). `Err` holds the server whose password nobody has.
    fn vcenter_for(&self, v: &Value, config: &Value) -> Result<Option<VcAccess>, String> {
        let provider_server = self.provider_vcenter_server();
        let block = first(v, "vcenter");
        match password_source(block, first(config, "vcenter"), provider_server.as_deref()) {
            PasswordSource::Default | PasswordSource::Stored => Ok(self.vcenter(v)),
            PasswordSource::Configured(password) => {
                tfplugin::logging::register_secret(password);
                Ok(self.vcenter(v).map(|vc| VcAccess {
                    password: password.to_string(),
                    ..vc
                }))
            }
            PasswordSource::Provider => Ok(self.vcenter(&Value::Null)),
            PasswordSource::Missing => Err(s(block, "server")),
        }
    }

    /// Said at plan time: a plan that leaves the gateway without a password
    /// Terraform keeps (its block switches to `password_wo`) warns that
    /// refresh and destroy need the provider's `vcenter` block; a
    /// replacement, whose destroy half runs without configuration, is
    /// refused. Refreshes of such a gateway warn on their own.
    fn plan_later_password(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        if resp.state.is_null() {
            return;
        }
        let provider = self.provider_vcenter_server();
        let keeps_none = |v: &Value| {
            !v.is_null()
                && password_source(first(v, "vcenter"), &Value::Null, provider.as_deref())
                    == PasswordSource::Missing
        };
        let server = |v: &Value| s(first(v, "vcenter"), "server");
        if !resp.requires_replace.is_empty() && keeps_none(&req.prior) {
            resp.diags.error(
                "No vCenter password to replace the gateway",
                missing_password(&server(&req.prior), DESTROY_NEEDS, provider.as_deref()),
            );
        } else if keeps_none(&resp.state) && !keeps_none(&req.prior) {
            resp.diags.push(
                Diagnostic::warning(
                    "Later refreshes and destroy need the provider's vCenter block",
                    format!(
                        "This apply works: it has the configuration, which holds `password_wo`. Afterwards:\n\
                         - {}\n\
                         - Destroying the gateway needs it too, and is refused without it (nothing is deleted).",
                        missing_password(&server(&resp.state), REFRESH_NEEDS, provider.as_deref()),
                    ),
                )
                .at(path(&[("vcenter", Some(0)), ("password_wo", None)])),
            );
        }
    }

    fn vcenter(&self, v: &Value) -> Option<VcAccess> {
        let palette_ca = self
            .shared
            .client()
            .ok()
            .and_then(|c| c.config().ca_pem.clone());
        let b = first(v, "vcenter");
        if !b.is_null() {
            tfplugin::logging::register_secret(&s(b, "password"));
            return Some(VcAccess {
                server: s(b, "server"),
                user: s(b, "username"),
                password: s(b, "password"),
                insecure: b.get("insecure").as_bool().unwrap_or(false),
                ca_file: b.get("ca_file").as_str().map(Into::into),
                palette_ca,
            });
        }
        let settings = self.shared.settings.read().expect("settings lock");
        settings.as_ref()?.vcenter.as_ref().map(|vc| VcAccess {
            server: vc.server.clone(),
            user: vc.username.clone(),
            password: vc.password.expose().to_string(),
            insecure: vc.insecure,
            ca_file: vc.ca_file.clone(),
            palette_ca,
        })
    }

    async fn get(
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
    async fn wait_running(
        &self,
        client: &Client,
        uid: &str,
        deadline: Instant,
        ctx: &Ctx,
    ) -> Result<V1Overlord, Diagnostics> {
        let mut last_state = String::new();
        let mut poll = Poll::new();
        loop {
            let got = match self.get(client, uid, ctx).await {
                Err(e) if worth_polling_again(&e) && Instant::now() < deadline => {
                    tracing::warn!(gateway = uid, error = %e, "cannot read the gateway; polling again");
                    if !ctx.sleep(poll.interval(deadline)).await {
                        return Err(api_diag("Cannot read the gateway while it provisions", &e));
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
                return Err(Diagnostic::error(
                    "Interrupted",
                    format!("Terraform was interrupted while gateway {uid} provisions; it is in state (tainted)."),
                )
                .into());
            }
        }
    }

    /// The console's Reset button (when `reset`), then the cloud config
    /// again: the gateway goes back to Pending without nodes and provisions
    /// from scratch on the same registration, so no installer is deployed
    /// again. Without `reset` it is already Pending (reset elsewhere).
    async fn reset_and_provision(
        &self,
        reset: bool,
        uid: &str,
        planned: &Value,
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
                &self.cloud_config(planned, pool_uid),
                &ctx.cancel,
            )
            .await
            .map_err(|e| api_diag("Cannot give the reset gateway its cloud config", &e))?;
        self.wait_running(client, uid, deadline, ctx).await
    }

    /// Whether Palette says the gateway failed (not timed out or cut short).
    async fn is_failed(&self, client: &Client, uid: &str, ctx: &Ctx) -> bool {
        matches!(self.get(client, uid, ctx).await, Ok(Some(g))
            if g.status.as_ref().and_then(|s| s.state.as_deref()) == Some("Failed"))
    }

    /// The gateway's node VMs, on Palette's evidence (see `own`): the
    /// machines it reports for the gateway, found at their exact paths.
    async fn nodes(
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

    /// The VMs a delete may remove, each with its name, and a line for
    /// each VM recorded in state that is left because it is no longer
    /// provably the gateway's. Evidence: Palette's report of the gateway's
    /// machines, the nodes recorded on that evidence while their VMs keep
    /// their names, and the installer this provider deployed (see `own`).
    async fn owned_vms(
        &self,
        session: &vsphere::Session,
        prior: &Value,
        uid: &str,
        reported: &[own::ReportedNode],
    ) -> Result<(Vec<(String, String)>, Vec<String>), vsphere::Error> {
        let mut doomed: Vec<(String, String)> = own::found_nodes(session, reported)
            .await?
            .into_iter()
            .map(|v| (v.moref, v.name))
            .collect();
        let mut kept = Vec::new();
        for r in own::recorded_nodes(prior.get("nodes")) {
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
        if let Some(id) = prior.get("installer_vm_id").as_str() {
            let path = s(prior, "installer_vm_path");
            match session.vm_info(id).await {
                Ok(now) => match own::installer_doubt(&now, &path, uid) {
                    None => doomed.push((now.moref, now.name)),
                    Some(why) => kept.push(format!("installer {path}: {why}")),
                },
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok((doomed, kept))
    }

    /// Gives Palette the gateway's vSphere account as `planned` (with the
    /// password of `config` when it is write-only), as the console's edit of
    /// the gateway's account does. Nothing to send without a `vcenter` block.
    async fn send_account(
        &self,
        uid: &str,
        planned: &Value,
        config: &Value,
        ctx: &Ctx,
    ) -> Result<(), Diagnostics> {
        let Ok(Some(vc)) = self.vcenter_for(planned, config) else {
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

    fn cloud_config(&self, v: &Value, pool_uid: Option<&str>) -> V1OverlordVsphereCloudConfig {
        let p = first(v, "placement");
        let ssh = strings(v.get("ssh_keys"));
        let ntp = strings(v.get("ntp_servers"));
        V1OverlordVsphereCloudConfig {
            size: v.get("node_count").as_i64().map(|n| n as i32),
            cluster_config: Some(V1VsphereOverlordClusterConfigEntity {
                ntp_servers: Some(ntp),
                ssh_keys: Some(ssh),
                static_ip: Some(pool_uid.is_some()),
                placements: Some(vec![V1VspherePlacementConfigEntity {
                    cluster: Some(s(p, "compute_cluster")),
                    datacenter: Some(s(p, "datacenter")),
                    datastore: Some(s(p, "datastore")),
                    folder: Some(s(p, "folder")),
                    resource_pool: Some(s(p, "resource_pool")),
                    network: Some(V1VsphereNetworkConfigEntity {
                        network_name: Some(s(p, "network")),
                        parent_pool_uid: pool_uid.map(str::to_string),
                        static_ip: Some(pool_uid.is_some()),
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Checks the installer's and the nodes' placement names against
    /// vCenter's inventory, read-only, when they are about to be used: at
    /// creation and replacement (both), or when the nodes' placement
    /// changes. vCenter out of reach is a warning: apply checks again.
    async fn check_placement(&self, req: &PlanRequest, resp: &mut PlanResponse, replacing: bool) {
        let planned = &resp.state;
        if planned.is_null() || resp.diags.has_errors() {
            return;
        }
        let creating = req.prior.is_null() || replacing;
        let mut blocks = Vec::new();
        if creating {
            blocks.push("installer");
        }
        if creating
            || !req
                .prior
                .get("placement")
                .semantically_equal(planned.get("placement"))
        {
            blocks.push("placement");
        }
        let wanted: Vec<placement::Wanted> = blocks
            .iter()
            .map(|b| placement::Wanted::of(first(planned, b), vec![(b.to_string(), Some(0))]))
            .collect();
        if wanted.is_empty() {
            return;
        }
        // A password known only at apply (or none): nothing to log in with.
        let Ok(Some(vc)) = self.vcenter_for(planned, &req.config) else {
            return;
        };
        if vc.password.is_empty() || vc.server.is_empty() {
            return;
        }
        let login = tokio::time::timeout(PLAN_LOGIN_TIMEOUT, vc.login());
        let session = match login.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return unchecked(resp, &vc.server, &e.to_string()),
            Err(_) => {
                return unchecked(
                    resp,
                    &vc.server,
                    &format!("no answer within {}s", PLAN_LOGIN_TIMEOUT.as_secs()),
                )
            }
        };
        let problems = placement::inspect(&session, &wanted).await;
        let _ = session.logout().await;
        match problems {
            Ok(problems) => {
                for p in problems {
                    resp.diags
                        .error_at(p.at, "Not in vCenter's inventory", p.detail);
                }
            }
            Err(why) => unchecked(resp, &vc.server, &why),
        }
    }

    /// Warns, when the plan destroys or replaces the gateway, of its VMs
    /// and of the clusters still on it.
    async fn warn_of_loss(&self, req: &PlanRequest, resp: &mut PlanResponse, replacing: bool) {
        let planned = if req.proposed.is_null() {
            Value::Null
        } else {
            resp.state.clone()
        };
        if crate::consequences::going(&req.prior, &planned, replacing).is_none() {
            return;
        }
        let uid = s(&req.prior, "id");
        let clusters = self.clusters_on(&uid, &req.ctx).await;
        if let Some((summary, detail)) =
            crate::consequences::gateway(&req.prior, &planned, replacing, &clusters)
        {
            resp.diags.warning(summary, detail);
        }
    }

    /// Names of the clusters whose cloud account is one of the gateway's,
    /// in the provider's project and the tenant. A listing that fails
    /// leaves them out (logged): the warning says less, the plan goes on.
    async fn clusters_on(&self, uid: &str, ctx: &Ctx) -> Vec<String> {
        let has_project = self.shared.has_project();
        let contexts: &[&str] = if has_project {
            &["project", "tenant"]
        } else {
            &["tenant"]
        };
        let mut out = Vec::new();
        for c in contexts {
            let Ok(client) = self.shared.scoped(c) else {
                continue;
            };
            match clusters_of_gateway(&client, uid, ctx).await {
                Ok(names) => out.extend(names),
                Err(e) => {
                    tracing::warn!(error = %e, context = c, "cannot list the clusters on the gateway")
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Installer OVF property values, keyed by the OVA's own property keys,
    /// found through their labels (the names the reference document uses).
    fn installer_properties(
        &self,
        descriptor: &str,
        v: &Value,
        code: &str,
    ) -> BTreeMap<String, String> {
        let inst = first(v, "installer");
        let proxy = first(inst, "proxy");
        let mut wanted: Vec<(&str, String)> = vec![
            ("installer name", s(v, "name")),
            ("console endpoint", s(inst, "console_endpoint")),
            ("pairing code", code.to_string()),
            ("ssh public keys", s(inst, "ssh_public_key")),
            ("pod cidr", s(inst, "pod_cidr")),
            ("service cluster ip range", s(inst, "service_cidr")),
        ];
        if !proxy.is_null() {
            wanted.push(("http proxy", s(proxy, "http_proxy")));
            wanted.push(("https proxy", s(proxy, "https_proxy")));
            wanted.push(("no proxy", strings(proxy.get("no_proxy")).join(",")));
        }
        let labels = vsphere::ovf::property_labels(descriptor);
        let mut out = BTreeMap::new();
        for (label, value) in wanted {
            if value.is_empty() {
                continue;
            }
            if let Some((key, _)) = labels.iter().find(|(_, l)| l.eq_ignore_ascii_case(label)) {
                out.insert(key.clone(), value);
            } else {
                tracing::warn!(
                    label,
                    "the installer OVA declares no such property; not set"
                );
            }
        }
        out
    }
}

#[async_trait]
impl Resource for Gateway {
    fn type_name(&self) -> &'static str {
        schemas::gateway::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::gateway::schema()
    }

    fn identity_schema(&self) -> Option<tfplugin::IdentitySchema> {
        Some(schemas::identity::gateway())
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        crate::identity::GatewayIdentity::import_id(identity)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        check_networks(config, &mut d);
        VcAccess::check_tls(config, &mut d);
        if let Ok(config) = GatewayModel::from_value(config) {
            if let Some(vc) = config.vcenter() {
                crate::cloud_account::check_password_forms(
                    vc,
                    &path(&[("vcenter", Some(0))]),
                    true,
                    &mut d,
                );
            }
        }
        d
    }

    async fn modify_plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        if req.proposed.is_null() {
            // Destroy runs without configuration: refused now rather than
            // after Palette has forgotten the gateway and its VMs are orphans.
            if let Err(server) = self.vcenter_for(&req.prior, &Value::Null) {
                resp.diags.error(
                    "No vCenter password to destroy the gateway",
                    missing_password(
                        &server,
                        DESTROY_NEEDS,
                        self.provider_vcenter_server().as_deref(),
                    ),
                );
            }
            self.warn_of_loss(req, resp, false).await;
            return;
        }
        // Console endpoint defaults to the provider's Palette.
        let cfg_console = first(&req.config, "installer")
            .get("console_endpoint")
            .clone();
        if cfg_console.is_null() {
            let prior_console = first(&req.prior, "installer")
                .get("console_endpoint")
                .clone();
            let endpoint = self
                .shared
                .settings
                .read()
                .expect("settings lock")
                .as_ref()
                .map(|s| s.endpoint.clone());
            let value = if !prior_console.is_null() {
                prior_console
            } else if let Some(e) = endpoint {
                Value::from(default_console(&e))
            } else {
                Value::Unknown
            };
            if let Some(Value::List(items)) =
                resp.state.as_map_mut().and_then(|m| m.get_mut("installer"))
            {
                if let Some(obj) = items.first_mut() {
                    obj.set_attr("console_endpoint", value);
                }
            }
            resp.requires_replace
                .retain(|p| p.to_string() != "installer[0].console_endpoint");
        }
        // After an import the state lacks what Palette cannot return
        // (installer, placement, pool, vCenter): the configuration supplies
        // them, recorded by an update that calls no API. Never a replacement.
        let private = Private::parse(&req.prior_private);
        if adopting(&req.prior, &private) {
            resp.requires_replace.clear();
        } else if !req.prior.get("id").is_null()
            && req
                .prior
                .get("installer")
                .as_elements()
                .is_none_or(<[Value]>::is_empty)
        {
            // An installer nobody recorded (deleted before an import) has
            // done its work: describing it in the configuration is a record,
            // not a reason to install the gateway again.
            resp.requires_replace
                .retain(|p| !p.to_string().starts_with("installer"));
        }
        // Leaving `resource_pool` out and writing "Resources" both name the
        // cluster's root pool (and a placement read back from vCenter has no
        // path for it): switching between them is a record, not a move.
        for block in ["installer", "placement"] {
            let before = first(&req.prior, block).get("resource_pool");
            let after = first(&resp.state, block).get("resource_pool");
            if before != after && root_pool(before) && root_pool(after) {
                let at = format!("{block}[0].resource_pool");
                resp.requires_replace.retain(|p| p.to_string() != at);
            }
        }
        // The installer VM left vCenter: the plan shows it leaving the state.
        if private.installer_gone && !resp.state.is_null() {
            resp.state.set_attr("installer_vm_id", Value::Null);
            resp.state.set_attr("installer_vm_path", Value::Null);
        }
        // A gateway Palette reports Failed: reset by the next apply when
        // asked to, otherwise only said.
        if !resp.state.is_null() && !req.prior.is_null() && s(&req.prior, "state") == "Failed" {
            if resp.state.get("reset_on_failure").as_bool() == Some(true) {
                for k in ["state", "health", "ip_address", "nodes"] {
                    resp.state.set_attr(k, Value::Unknown);
                }
            } else {
                resp.diags.warning(
                    "The gateway is Failed in Palette",
                    format!(
                        "Gateway {:?} ({}) is Failed. Its events (the console's Events tab) say why. Set \
                         reset_on_failure = true to have the next apply reset it (the console's Reset button) \
                         and provision it again, or replace it with `terraform apply -replace=<address>`.",
                        s(&req.prior, "name"),
                        s(&req.prior, "id")
                    ),
                );
            }
        }
        if !resp.state.is_null()
            && !req.prior.get("id").is_null()
            && !adopting(&req.prior, &private)
        {
            match (
                s(&req.prior, "state").as_str(),
                s(&req.prior, "health").as_str(),
            ) {
                // Reset outside Terraform (the console's button): Pending
                // without nodes; the next apply gives the cloud config again.
                ("Pending", _) => {
                    for k in ["state", "health", "ip_address", "nodes"] {
                        resp.state.set_attr(k, Value::Unknown);
                    }
                }
                ("Running", health) if !health.is_empty() && health != "Healthy" => {
                    resp.diags.warning(
                        format!("The gateway is {health} in Palette"),
                        format!(
                            "Gateway {:?} ({}) runs but Palette reports it {health}. Its nodes in vCenter: {}. \
                             Its events (the console's Events tab) say why.",
                            s(&req.prior, "name"),
                            s(&req.prior, "id"),
                            req.prior
                                .get("nodes")
                                .as_elements()
                                .unwrap_or(&[])
                                .iter()
                                .map(|n| format!(
                                    "{} ({})",
                                    s(n, "name"),
                                    if n.get("powered_on").as_bool() == Some(true) { "on" } else { "off" }
                                ))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                _ => {}
            }
        }
        // Palette cannot shrink a gateway.
        if let (Some(before), Some(after)) = (
            req.prior.get("node_count").as_i64(),
            resp.state.get("node_count").as_i64(),
        ) {
            if after < before && !req.prior.get("id").is_null() {
                resp.diags.error_at(
                    AttrPath::attr("node_count"),
                    "A gateway cannot shrink",
                    format!(
                        "node_count {before} -> {after}: Palette grows a gateway from 1 to 3 nodes but cannot \
                         shrink it. Keep {before}, or replace the gateway on purpose with \
                         `terraform apply -replace=<address>` after setting {after}."
                    ),
                );
            }
        }
        if self.vcenter(&req.config).is_none() && first(&req.config, "vcenter").is_null() {
            resp.diags.error_at(
                AttrPath::attr("name"),
                "No vCenter for the gateway",
                "Give the gateway a `vcenter { server, username, password }` block, or the provider a \
                 `vcenter` block to default to.",
            );
        }
        self.plan_later_password(req, resp);
        let replacing = !resp.requires_replace.is_empty();
        self.check_placement(req, resp, replacing).await;
        self.warn_of_loss(req, resp, replacing).await;
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let planned = &req.planned;
        let mut state = settle(planned.clone());
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let Some(vc) = self.vcenter_for(planned, &req.config).ok().flatten() else {
            return ApplyResult::failed(
                Value::Null,
                Diagnostic::error("No vCenter", "The gateway needs a vcenter block."),
            );
        };
        let name = s(planned, "name");
        let deadline = Instant::now()
            + tfplugin::timeouts::get(planned, "create", schemas::gateway::DEFAULT_CREATE);

        // 1. Pairing code and installer OVA location.
        let code: V1PairingCode = match client
            .get("/v1/overlords/pairing/code?cloudType=vsphere", &ctx.cancel)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                return ApplyResult::failed(Value::Null, api_diag("Cannot get a pairing code", &e))
            }
        };
        let code = code.pairing_code.unwrap_or_default();
        tfplugin::logging::register_secret(&code);
        let ova: V1OverloadVsphereOva =
            match client.get("/v1/overlords/vsphere/ova", &ctx.cancel).await {
                Ok(o) => o,
                Err(e) => {
                    return ApplyResult::failed(
                        Value::Null,
                        api_diag("Cannot get the installer OVA location", &e),
                    )
                }
            };
        let location = ova.location.unwrap_or_default();
        // Gateways already carrying the name, so registration is told apart.
        let listed: Vec<V1Overlord> = match client
            .get::<V1Overlords>(
                &format!("/v1/overlords?name={}", url_escape(&name)),
                &ctx.cancel,
            )
            .await
        {
            Ok(l) => l.items.unwrap_or_default(),
            Err(e) => {
                return ApplyResult::failed(Value::Null, api_diag("Cannot list gateways", &e))
            }
        };
        let mut existing: std::collections::BTreeSet<String> = listed
            .iter()
            .filter_map(|g| g.metadata.as_ref().and_then(|m| m.uid.clone()))
            .collect();

        // 2. The installer into vCenter, powered on.
        let session = match vc.login_until(ctx, Some(deadline)).await {
            Ok(s) => s,
            Err(e) => {
                return ApplyResult::failed(
                    Value::Null,
                    Diagnostic::error("Cannot log in to vCenter", e.to_string())
                        .at(AttrPath::attr("vcenter")),
                )
            }
        };
        let inst = first(planned, "installer");
        // Both placements are looked up before anything exists, each error
        // naming what is missing; the installer's is then used as found.
        let mut located = Vec::new();
        for block in ["installer", "placement"] {
            match session.locate(&placement_of(first(planned, block))).await {
                Ok(l) => located.push(l),
                Err(e) => {
                    return ApplyResult::failed(
                        Value::Null,
                        Diagnostic::error("vCenter placement not found", e.to_string())
                            .at(path(&[(block, Some(0))])),
                    )
                }
            }
        }
        let at = match session.complete(located.swap_remove(0)).await {
            Ok(a) => a,
            Err(e) => {
                return ApplyResult::failed(
                    Value::Null,
                    Diagnostic::error("Installer placement", e.to_string()),
                )
            }
        };
        // The directory holds the OVA until the import is done.
        let (dir, ova) = match download_ova(&session, &location).await {
            Ok(x) => x,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let vm_name = format!("{name}-installer");
        let vm_path = format!("{}/{vm_name}", at.folder_path);
        // A run lost after the deployment (see `resume`) left an installer
        // here; carry on with it when it is provably ours.
        let labels = vsphere::ovf::property_labels(&ova.descriptor);
        let left = match session.vm_at(&vm_path).await {
            Ok(found) => found,
            Err(e) => {
                return ApplyResult::failed(
                    Value::Null,
                    Diagnostic::error(
                        "Cannot look for an installer left by an earlier run",
                        format!("{e} (VM {vm_path})"),
                    ),
                )
            }
        };
        let (installer, code, mut known_uid, carried_on, powered) = match left {
            None => {
                let props = self.installer_properties(&ova.descriptor, planned, &code);
                let installer = match session.import_ova(&ova, &vm_name, &at, &props).await {
                    Ok(vm) => vm,
                    Err(e) => {
                        return ApplyResult::failed(
                            Value::Null,
                            Diagnostic::error(
                                "Cannot deploy the installer OVA",
                                format!("{e} (VM {vm_path})"),
                            ),
                        )
                    }
                };
                // Without the mark a lost run cannot be carried on, but this
                // run still tracks the installer through state.
                let pending =
                    BTreeMap::from([(own::INSTALLER_MARKER.to_string(), own::PENDING.to_string())]);
                if let Err(e) = session.set_extra_config(&installer, &pending).await {
                    tracing::warn!(error = %e, installer = %vm_path, "cannot mark the installer VM");
                }
                (installer, code, None, false, false)
            }
            Some(vm) => match resume::judge(&vm, &name, &labels) {
                resume::Installer::Ours { gateway } => {
                    tracing::info!(
                        installer = %vm_path,
                        gateway = gateway.as_deref().unwrap_or("not registered yet"),
                        "an earlier run deployed this installer and was lost; carrying on with it"
                    );
                    let theirs = adopt::by_label(&vm.properties, &labels, "pairing code")
                        .unwrap_or_default()
                        .to_string();
                    tfplugin::logging::register_secret(&theirs);
                    (vm.moref, theirs, gateway, true, vm.powered_on)
                }
                resume::Installer::NotOurs(why) => {
                    return ApplyResult::failed(
                        Value::Null,
                        Diagnostic::error(
                            "A VM already has the installer's name",
                            format!(
                                "{vm_path} already exists: {why}. The provider neither deploys over it \
                                 nor deletes it. If it is a leftover nobody needs, delete it in vCenter \
                                 (for example `govc vm.destroy '{vm_path}'`) and apply again. If it \
                                 installed a gateway you want in this state, import that gateway \
                                 instead (`terraform import <address> <gateway uid>`, or an `import` \
                                 block). Or give this gateway another name or installer folder."
                            ),
                        ),
                    )
                }
            },
        };
        drop(dir);
        state.set_attr("installer_vm_id", Value::from(installer.clone()));
        state.set_attr("installer_vm_path", Value::from(vm_path.clone()));
        if !powered {
            if let Err(e) = session.power_on(&installer).await {
                return ApplyResult::failed(
                    state,
                    Diagnostic::error(
                        "Cannot power on the installer VM",
                        format!("{e} (VM {vm_path})"),
                    ),
                );
            }
        }
        tracing::info!(installer = %vm_path, "installer VM deployed and powered on; waiting for registration");

        // 3. Registration: the gateway the mark names, else one of that name
        // that was not there before the installer.
        if known_uid.is_none() && carried_on {
            match resume::registered(&listed, &name) {
                resume::Registered::One(uid) => known_uid = Some(uid),
                resume::Registered::NotYet { others } => existing = others.into_iter().collect(),
                resume::Registered::Ambiguous(uids) => {
                    return ApplyResult::failed(
                        state,
                        Diagnostic::error(
                            "Cannot tell which gateway the installer registered",
                            format!(
                                "An earlier run deployed the installer {vm_path} and was lost. \
                                 Gateways {uids:?} are all named {name:?} and wait for their vSphere \
                                 account, so the one this installer registered cannot be told. \
                                 Delete the gateways that are not wanted in Palette, or import the \
                                 right one (`terraform import <address> <gateway uid>`); the \
                                 installer is in state and goes with the next apply."
                            ),
                        ),
                    );
                }
            }
        }
        let reg_timeout = planned
            .get("registration_timeout")
            .as_str()
            .and_then(|s| tfplugin::duration::parse(s).ok())
            .unwrap_or(Duration::from_secs(600));
        let reg_deadline = (Instant::now() + reg_timeout).min(deadline);
        let query = format!("/v1/overlords?name={}", url_escape(&name));
        let mut poll = Poll::new();
        let uid = if let Some(uid) = known_uid {
            uid
        } else {
            loop {
                match client.get::<V1Overlords>(&query, &ctx.cancel).await {
                    Ok(list) => {
                        // A gateway of that name that was not there before we deployed.
                        let hit = list.items.unwrap_or_default().into_iter().find_map(|g| {
                            let m = g.metadata?;
                            (m.name.as_deref() == Some(name.as_str())
                                && m.uid.as_ref().is_some_and(|u| !existing.contains(u)))
                            .then_some(m.uid)
                            .flatten()
                        });
                        if let Some(g) = hit {
                            break g;
                        }
                    }
                    Err(ApiError::Cancelled) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "listing gateways while waiting for registration")
                    }
                }
                if Instant::now() >= reg_deadline {
                    let ev = events(&client, "pairingcode", &code, ctx).await;
                    return ApplyResult::failed(
                        state,
                        Diagnostic::error(
                            "The gateway did not register",
                            registration_help(
                                &name,
                                &s(inst, "console_endpoint"),
                                &code,
                                &vm_path,
                                &ev,
                            ),
                        ),
                    );
                }
                if !ctx.sleep(poll.interval(reg_deadline)).await {
                    return ApplyResult::failed(
                    state,
                    Diagnostic::error("Interrupted", format!("Interrupted while waiting for registration; installer VM {vm_path} is in state (tainted).")),
                );
                }
            }
        };
        state.set_attr("id", Value::from(uid.clone()));
        tracing::info!(gateway = %uid, "gateway registered");
        // The marker lets a later import (or a state rebuilt by hand) prove
        // that this installer is the gateway's; without it the installer is
        // still tracked through state, so a failure here is not fatal.
        let marker = BTreeMap::from([(own::INSTALLER_MARKER.to_string(), uid.clone())]);
        if let Err(e) = session.set_extra_config(&installer, &marker).await {
            tracing::warn!(error = %e, installer = %vm_path, "cannot mark the installer VM");
        }

        // 4. Account, nodes' pool, cloud config. A lost run may have given
        // some of them already: those are taken as they are.
        let mut done = resume::Configured::default();
        if carried_on {
            match self.get(&client, &uid, ctx).await {
                Ok(Some(g)) => done = resume::Configured::of(&g),
                Ok(None) => {
                    return ApplyResult::failed(
                        state,
                        Diagnostic::error(
                            "The installer's gateway is gone",
                            format!(
                            "The installer {vm_path} registered gateway {uid}, which Palette no \
                                 longer has. The installer is in state; the next apply replaces it \
                                 with a new one."
                        ),
                        ),
                    )
                }
                Err(e) => {
                    return ApplyResult::failed(state, api_diag("Cannot read the gateway", &e))
                }
            }
        }
        if let Some(account) = &done.account {
            state.set_attr("cloud_account_id", Value::from(account.clone()));
        } else {
            let body = V1OverlordVsphereAccountCreate {
                account: Some(vc.account()),
                name: Some(name.clone()),
                share_with_projects: None,
            };
            match client
                .post::<_, V1Uid>(
                    &format!("/v1/overlords/vsphere/{uid}/account"),
                    &body,
                    &ctx.cancel,
                )
                .await
            {
                Ok(u) => state.set_attr("cloud_account_id", Value::from(u.uid)),
                Err(e) => {
                    return ApplyResult::failed(
                        state,
                        api_diag("Cannot give the gateway its vSphere account", &e),
                    )
                }
            }
        }
        let pool = first(planned, "static_ip_pool").clone();
        let mut pool_uid = None;
        if carried_on && !pool.is_null() {
            match self.shared.pools_of(&uid, ctx).await {
                Ok(pools) => pool_uid = resume::pool_named(&pools, &s(&pool, "name")),
                Err(e) => {
                    return ApplyResult::failed(
                        state,
                        api_diag("Cannot list the gateway's IP pools", &e),
                    )
                }
            }
            if let Some(p) = &pool_uid {
                state.set_attr("ip_pool_id", Value::from(p.clone()));
            }
        }
        if !pool.is_null() && pool_uid.is_none() {
            let ns = strings(pool.get("nameservers"));
            let body = V1IpPoolInputEntity {
                metadata: Some(V1ObjectMeta {
                    name: Some(s(&pool, "name")),
                    ..Default::default()
                }),
                spec: Some(V1IpPoolInputEntitySpec {
                    pool: Some(V1Pool {
                        start: pool.get("start").as_str().map(str::to_string),
                        end: pool.get("end").as_str().map(str::to_string),
                        subnet: pool.get("subnet").as_str().map(str::to_string),
                        prefix: pool.get("prefix").as_i64().map(|p| p as i32),
                        gateway: pool.get("gateway").as_str().map(str::to_string),
                        nameserver: (!ns.is_empty()).then_some(V1Nameserver {
                            addresses: Some(ns),
                            search: None,
                        }),
                    }),
                    restrict_to_single_cluster: pool.get("restrict_to_single_cluster").as_bool(),
                }),
            };
            match client
                .post::<_, V1Uid>(
                    &format!("/v1/overlords/vsphere/{uid}/pools"),
                    &body,
                    &ctx.cancel,
                )
                .await
            {
                Ok(u) => {
                    pool_uid = u.uid.clone();
                    state.set_attr("ip_pool_id", Value::from(u.uid));
                }
                Err(e) => {
                    return ApplyResult::failed(
                        state,
                        api_diag("Cannot create the nodes' IP pool", &e),
                    )
                }
            }
        }
        if !done.cloud_config {
            if let Err(e) = client
                .post::<_, serde_json::Value>(
                    &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
                    &self.cloud_config(planned, pool_uid.as_deref()),
                    &ctx.cancel,
                )
                .await
            {
                // Given by the lost run after the gateway was read.
                let given = carried_on && matches!(e, ApiError::Conflict { .. });
                if !given {
                    return ApplyResult::failed(
                        state,
                        api_diag("Cannot give the gateway its cloud config", &e),
                    );
                }
            }
        }

        // 5. Provisioning; a failure is reset once when asked to.
        let g = match self.wait_running(&client, &uid, deadline, ctx).await {
            Ok(g) => g,
            Err(d)
                if planned.get("reset_on_failure").as_bool() == Some(true)
                    && self.is_failed(&client, &uid, ctx).await =>
            {
                tracing::warn!(gateway = %uid, first = %d, "provisioning failed; resetting once");
                match self
                    .reset_and_provision(true, &uid, planned, pool_uid.as_deref(), deadline, ctx)
                    .await
                {
                    Ok(g) => g,
                    Err(again) => return ApplyResult::failed(state, again),
                }
            }
            Err(d) => return ApplyResult::failed(state, d),
        };
        state = observed(state, &g);

        // 6. The installer's job is done.
        let action = s(planned, "installer_vm_action");
        let r = if action == "delete" {
            session.destroy_vm(&installer).await
        } else {
            session.power_off(&installer).await
        };
        if let Err(e) = r {
            return ApplyResult::failed(
                state,
                Diagnostic::error(
                    "Gateway running, but the installer VM could not be handled",
                    format!("{action} of {vm_path}: {e}"),
                ),
            );
        }
        if action == "delete" {
            state.set_attr("installer_vm_id", Value::Null);
            state.set_attr("installer_vm_path", Value::Null);
        }
        match self.nodes(&client, &session, &g, ctx).await {
            Ok(n) => state.set_attr("nodes", nodes_value(&n)),
            Err(e) => tracing::warn!(error = %e, "cannot list the gateway's VMs"),
        }
        let _ = session.logout().await;
        ApplyResult::ok(state)
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let (prior, planned) = (&req.prior, &req.planned);
        let private = Private::parse(&req.planned_private);
        if adopting(prior, &private) {
            // Kept on failure, so a retry still cannot replace the gateway.
            let failed = |d: Diagnostic| ApplyResult {
                state: prior.clone(),
                private: private.bytes(),
                diags: d.into(),
            };
            // First apply after an import: record the configuration's
            // installer, placement, pool and vCenter; change nothing remote
            // but the name if it differs.
            let mut state = settle(planned.clone());
            for k in [
                "id",
                "state",
                "health",
                "ip_address",
                "cloud_account_id",
                "nodes",
                "installer_vm_id",
                "installer_vm_path",
                "node_count",
            ] {
                state.set_attr(k, prior.get(k).clone());
            }
            if state.get("nodes").is_null() {
                state.set_attr("nodes", Value::List(Vec::new()));
            }
            if private.installer_gone {
                state.set_attr("installer_vm_id", Value::Null);
                state.set_attr("installer_vm_path", Value::Null);
            }
            if s(prior, "name") != s(planned, "name") {
                return failed(
                    Diagnostic::error(
                        "Rename after import",
                        "Apply once with the gateway's current name to adopt it, then rename.",
                    )
                    .at(AttrPath::attr("name")),
                );
            }
            if prior.get("node_count") != planned.get("node_count") {
                return failed(
                    Diagnostic::error(
                        "Resize after import",
                        format!(
                            "The imported gateway has {} node(s); apply once with that node_count to adopt it, then resize.",
                            prior.get("node_count").as_i64().unwrap_or(1)
                        ),
                    )
                    .at(AttrPath::attr("node_count")),
                );
            }
            // The pool is the gateway's pool of that name, if any.
            let pool = first(planned, "static_ip_pool");
            if !pool.is_null() {
                if let Ok(list) = self.shared.pools_of(&s(prior, "id"), ctx).await {
                    let uid = list
                        .iter()
                        .find(|p| {
                            p.metadata.as_ref().and_then(|m| m.name.as_deref())
                                == pool.get("name").as_str()
                        })
                        .and_then(|p| p.metadata.as_ref().and_then(|m| m.uid.clone()));
                    state.set_attr("ip_pool_id", Value::from(uid));
                }
            }
            // The one remote change of an adoption: a write-only password
            // whose version the configuration sets (null in the imported
            // state) is sent once, since nothing tells whether Palette holds
            // the current one. A stored `password` is recorded only, as
            // before write-only passwords existed.
            if wo_version_changed(prior, planned, &req.config) {
                if let Err(diags) = self
                    .send_account(&s(prior, "id"), planned, &req.config, ctx)
                    .await
                {
                    return ApplyResult {
                        state: prior.clone(),
                        private: private.bytes(),
                        diags,
                    };
                }
            }
            return ApplyResult::ok(state);
        }
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(prior.clone(), d),
        };
        let uid = s(prior, "id");
        let deadline = Instant::now()
            + tfplugin::timeouts::get(planned, "update", schemas::gateway::DEFAULT_UPDATE);
        let mut state = settle(planned.clone());
        for k in [
            "installer_vm_id",
            "installer_vm_path",
            "ip_pool_id",
            "cloud_account_id",
        ] {
            state.set_attr(k, prior.get(k).clone());
        }
        if private.installer_gone {
            state.set_attr("installer_vm_id", Value::Null);
            state.set_attr("installer_vm_path", Value::Null);
        }
        if s(prior, "name") != s(planned, "name") {
            let body = V1ObjectMetaInputEntitySchema {
                metadata: Some(V1ObjectMetaInputEntity {
                    name: Some(s(planned, "name")),
                    ..Default::default()
                }),
            };
            if let Err(e) = client
                .put(&format!("/v1/overlords/{uid}/metadata"), &body, &ctx.cancel)
                .await
            {
                return ApplyResult::failed(
                    prior.clone(),
                    api_diag("Cannot rename the gateway", &e),
                );
            }
        }
        // A new `password_wo_version` changes the block too: that is how a
        // rotated write-only password reaches Palette.
        let vcenter_now = self.vcenter_for(planned, &req.config).ok().flatten();
        if first(prior, "vcenter") != first(planned, "vcenter") {
            if let Err(d) = self
                .send_account(&s(prior, "id"), planned, &req.config, ctx)
                .await
            {
                return ApplyResult::failed(prior.clone(), d);
            }
        }
        let cc_changed = ["node_count", "ssh_keys", "ntp_servers"]
            .iter()
            .any(|k| prior.get(k) != planned.get(k));
        let reset = s(prior, "state") == "Failed"
            && planned.get("reset_on_failure").as_bool() == Some(true);
        // Pending: reset outside Terraform, so it has no cloud config.
        let pending = s(prior, "state") == "Pending";
        if reset || pending {
            // Provisioning again from the whole planned cloud config.
            let pool = prior.get("ip_pool_id").as_str().map(str::to_string);
            if let Err(d) = self
                .reset_and_provision(reset, &uid, planned, pool.as_deref(), deadline, ctx)
                .await
            {
                return ApplyResult::failed(state, d);
            }
        } else if cc_changed {
            let pool = prior.get("ip_pool_id").as_str().map(str::to_string);
            if let Err(e) = client
                .put(
                    &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
                    &self.cloud_config(planned, pool.as_deref()),
                    &ctx.cancel,
                )
                .await
            {
                return ApplyResult::failed(
                    prior.clone(),
                    api_diag("Cannot update the gateway's cloud config", &e),
                );
            }
            if let Err(d) = self.wait_running(&client, &uid, deadline, ctx).await {
                return ApplyResult::failed(state, d);
            }
        }
        if s(planned, "installer_vm_action") == "delete" {
            if let (Some(vc), Some(vm)) = (&vcenter_now, prior.get("installer_vm_id").as_str()) {
                let session = match vc.login_until(ctx, Some(deadline)).await {
                    Ok(s) => s,
                    Err(e) => {
                        return ApplyResult::failed(
                            state,
                            Diagnostic::error(
                                "Cannot log in to vCenter to delete the installer VM",
                                e.to_string(),
                            ),
                        )
                    }
                };
                let path = s(prior, "installer_vm_path");
                let doubt = match session.vm_info(vm).await {
                    Ok(now) => own::installer_doubt(&now, &path, &uid),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => {
                        return ApplyResult::failed(
                            state,
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
                                state,
                                Diagnostic::error("Cannot delete the installer VM", e.to_string()),
                            )
                        }
                    },
                }
                let _ = session.logout().await;
                state.set_attr("installer_vm_id", Value::Null);
                state.set_attr("installer_vm_path", Value::Null);
            }
        }
        let read = self
            .read_with(&state, &[], ctx, self.vcenter_for(planned, &req.config))
            .await;
        if read.diags.has_errors() || read.state.is_null() {
            return ApplyResult::failed(state, read.diags);
        }
        ApplyResult::ok(read.state)
    }

    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        let prior = &req.prior;
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return d,
        };
        // Checked before anything is deleted: once Palette forgets the
        // gateway, nothing would say which VMs were its.
        let vcenter = match self.vcenter_for(prior, &req.config) {
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
        let uid = s(prior, "id");
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
        let deadline = Instant::now()
            + tfplugin::timeouts::get(prior, "delete", schemas::gateway::DEFAULT_DELETE);
        let session = match vc.login_until(ctx, Some(deadline)).await {
            Ok(s) => s,
            Err(e) => {
                return Diagnostic::error(
                    "Gateway deleted in Palette, but vCenter is unreachable",
                    format!(
                        "{e}. Remove the installer VM {} by hand.",
                        s(prior, "installer_vm_path")
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

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        self.read_with(state, private, ctx, self.vcenter_for(state, &Value::Null))
            .await
    }

    /// By uid or name. The installer and placement inputs Palette cannot
    /// return are taken from the configuration by the next apply, which
    /// records them without touching the gateway.
    async fn import(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        self.import_gateway(id, ctx).await
    }
}

impl Gateway {
    /// A refresh with the given vCenter access (the stored or provider's
    /// password; in an update, the configuration's).
    async fn read_with(
        &self,
        state: &Value,
        private: &[u8],
        ctx: &Ctx,
        vcenter: Result<Option<VcAccess>, String>,
    ) -> ReadResult {
        let keep = |d: Diagnostics| ReadResult {
            state: state.clone(),
            private: private.to_vec(),
            diags: d,
        };
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return keep(d),
        };
        let uid = s(state, "id");
        if uid.is_empty() {
            // Never registered: only the installer VM exists; keep it tracked.
            return ReadResult::ok(state.clone(), private.to_vec());
        }
        let g = match self.get(&client, &uid, ctx).await {
            Ok(Some(g)) => g,
            Ok(None) => return ReadResult::ok(Value::Null, Vec::new()),
            Err(e) => return keep(read_failed("Cannot read the gateway", "gateway", &e)),
        };
        let mut next = observed(state.clone(), &g);
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
                    let installer = state.get("installer_vm_id").as_str().map(str::to_string);
                    private_now.installer_gone = false;
                    if let Some(vm) = &installer {
                        // Kept in state until a plan shows it going. A VM
                        // under that id that is no longer the installer
                        // (renamed, or another gateway's) counts as gone.
                        match session.vm_info(vm).await {
                            Ok(now) => {
                                if let Some(why) =
                                    own::installer_doubt(&now, &s(state, "installer_vm_path"), &uid)
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
                    let recorded = state
                        .get("nodes")
                        .as_elements()
                        .is_some_and(|n| !n.is_empty());
                    match self.nodes(&client, &session, &g, ctx).await {
                        Ok(nodes) => {
                            tracing::debug!(found = nodes.len(), "gateway node VMs");
                            if recorded {
                                // A node VM gone or off in vCenter shows as a lower count.
                                let live = nodes.iter().filter(|n| n.powered_on).count() as i64;
                                next.set_attr("node_count", Value::int(live));
                            }
                            next.set_attr("nodes", nodes_value(&nodes));
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
            state: next,
            private: private_now.bytes(),
            diags,
        }
    }

    async fn import_gateway(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
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
        let mut state = Value::null_object(&schemas::gateway::schema().ty());
        state.set_attr("node_count", Value::int(1));
        state.set_attr("installer_vm_action", "power_off".into());
        state.set_attr("reset_on_failure", Value::Bool(false));
        state.set_attr(
            "registration_timeout",
            schemas::gateway::DEFAULT_REGISTRATION_TIMEOUT.into(),
        );
        state.set_attr("nodes", Value::List(Vec::new()));
        for b in ["vcenter", "installer", "placement", "static_ip_pool"] {
            state.set_attr(b, Value::List(Vec::new()));
        }
        let state = self.discover(&g, observed(state, &g), ctx).await;
        // Only a gateway whose placement could not be read back is adopted
        // by a recording apply; one read back is planned like any other.
        let adopting = state
            .get("placement")
            .as_elements()
            .is_none_or(<[Value]>::is_empty);
        Ok(vec![Imported {
            state,
            private: Private {
                adopting,
                ..Default::default()
            }
            .bytes(),
        }])
    }
}

/// Whether an apply changes `password_wo_version` of a gateway whose
/// configuration gives `password_wo` (null -> N after an import counts).
fn wo_version_changed(prior: &Value, planned: &Value, config: &Value) -> bool {
    let version = |v: &Value| first(v, "vcenter").get("password_wo_version").clone();
    write_only_password(first(config, "vcenter")).is_some() && version(planned) != version(prior)
}

/// A warning, not an error, for a refresh that read the gateway from
/// Palette but not its VMs from vCenter: with an error, a vCenter password
/// rotated in the gateway's `vcenter` block could never be applied (the
/// refresh logs in with the old one), and the gateway itself is known to
/// exist. The state keeps the VMs as last recorded, so the warning says
/// drift in vCenter is not in this plan.
fn vcenter_unread_warning(errors: &[String]) -> Diagnostics {
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

/// Palette's installer OVA from `location`, streamed to a temporary
/// directory (installer OVAs are gigabytes) and opened there.
async fn download_ova(
    session: &vsphere::Session,
    location: &str,
) -> Result<(tempfile::TempDir, vsphere::ovf::Ova), Diagnostic> {
    let dir = tempfile::tempdir()
        .map_err(|e| Diagnostic::error("No temporary directory", e.to_string()))?;
    let path = dir.path().join("installer.ova");
    session
        .download(location, &path)
        .await
        .map_err(|e| Diagnostic::error("Cannot download the installer OVA", e.to_string()))?;
    // Checking the manifest reads the whole OVA: off the async workers.
    let ova = tokio::task::spawn_blocking(move || vsphere::ovf::Ova::open(&path))
        .await
        .map_err(|e| Diagnostic::error("The installer OVA is unreadable", e.to_string()))?
        .map_err(|e| Diagnostic::error("The installer OVA is unreadable", e.to_string()))?;
    Ok((dir, ova))
}

/// Whether a `resource_pool` value names a compute cluster's root pool.
fn root_pool(v: &Value) -> bool {
    v.is_null()
        || matches!(
            v.as_str().map(|s| s.trim_matches('/')),
            Some("" | "Resources")
        )
}

/// A state made by import and not applied since: its first apply records
/// the configuration. States imported before the private flag existed are
/// known by their missing placement.
fn adopting(prior: &Value, private: &Private) -> bool {
    !prior.is_null()
        && !prior.get("id").is_null()
        && (private.adopting
            || prior
                .get("placement")
                .as_elements()
                .is_none_or(<[Value]>::is_empty))
}

/// How long a plan waits for vCenter before it plans without checking the
/// placement: a plan must not hang on a vCenter that is down.
const PLAN_LOGIN_TIMEOUT: Duration = Duration::from_secs(20);

/// The warning of a plan that could not check its placement.
fn unchecked(resp: &mut PlanResponse, server: &str, why: &str) {
    resp.diags.warning(
        "Placement not checked against vCenter",
        format!(
            "vCenter {server} could not be read at plan time ({why}), so the datacenter, compute \
             cluster, datastore, network and resource pool names were not checked. The apply \
             checks them again before it deploys anything."
        ),
    );
}

/// The names of the clusters in the client's scope whose cloud account
/// belongs to gateway `uid`.
async fn clusters_of_gateway(
    client: &Client,
    uid: &str,
    ctx: &Ctx,
) -> Result<Vec<String>, ApiError> {
    let accounts: palette_api::models::V1VsphereAccounts =
        client.get("/v1/cloudaccounts/vsphere", &ctx.cancel).await?;
    let on_gateway: std::collections::BTreeSet<String> = accounts
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| {
            let m = a.metadata?;
            let gateway = m.annotations.as_ref()?.get("overlordUid")?.clone();
            (gateway == uid).then_some(m.uid).flatten()
        })
        .collect();
    let mut names = Vec::new();
    if on_gateway.is_empty() {
        return Ok(names);
    }
    let mut token: Option<String> = None;
    loop {
        let (found, next) = crate::cluster::search_page(client, token.as_deref(), ctx).await?;
        names.extend(
            found
                .into_iter()
                .filter(|c| c.account.as_ref().is_some_and(|a| on_gateway.contains(a)))
                .map(|c| c.name),
        );
        match next {
            Some(t) => token = Some(t),
            None => return Ok(names),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: impl FnOnce(&mut Value)) -> Value {
        let mut v = Value::null_object(&schemas::gateway::schema().ty());
        let mut inst = Value::null_object(
            &schemas::gateway::schema()
                .block
                .nested_block("installer")
                .unwrap()
                .block
                .ty(),
        );
        inst.set_attr("pod_cidr", "192.168.0.0/16".into());
        inst.set_attr("service_cidr", "10.96.0.0/12".into());
        v.set_attr("installer", Value::List(vec![inst]));
        extra(&mut v);
        v
    }

    #[test]
    fn overlapping_networks_are_named_at_their_attribute() {
        let v = config(|v| {
            let mut inst = first(v, "installer").clone();
            inst.set_attr("service_cidr", "192.168.10.0/24".into());
            v.set_attr("installer", Value::List(vec![inst]));
        });
        let mut d = Diagnostics::new();
        check_networks(&v, &mut d);
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(paths, vec!["installer[0].service_cidr"], "{d}");

        // The nodes' network may not overlap the pod network either.
        let v = config(|v| {
            let mut pool = Value::null_object(
                &schemas::gateway::schema()
                    .block
                    .nested_block("static_ip_pool")
                    .unwrap()
                    .block
                    .ty(),
            );
            pool.set_attr("name", "n".into());
            pool.set_attr("start", "192.168.1.10".into());
            pool.set_attr("end", "192.168.1.20".into());
            pool.set_attr("prefix", Value::int(24));
            v.set_attr("static_ip_pool", Value::List(vec![pool]));
        });
        let mut d = Diagnostics::new();
        check_networks(&v, &mut d);
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(paths, vec!["installer[0].pod_cidr"], "{d}");
    }

    fn vcenter_block(pairs: &[(&str, Value)]) -> Value {
        let ty = schemas::gateway::schema()
            .block
            .nested_block("vcenter")
            .unwrap()
            .block
            .ty();
        let mut b = Value::null_object(&ty);
        b.set_attr("server", "vc.example.com".into());
        b.set_attr("username", "u".into());
        for (k, x) in pairs {
            b.set_attr(k, x.clone());
        }
        b
    }

    #[test]
    fn the_password_comes_from_state_configuration_or_the_provider() {
        use PasswordSource::*;
        let stored = vcenter_block(&[("password", "p1".into())]);
        let wo = vcenter_block(&[("password_wo_version", Value::int(1))]);
        let config = vcenter_block(&[
            ("password_wo", "p2".into()),
            ("password_wo_version", Value::int(1)),
        ]);
        let none = Value::Null;
        assert_eq!(password_source(&none, &none, None), Default);
        assert_eq!(password_source(&stored, &none, None), Stored);
        assert_eq!(
            password_source(&vcenter_block(&[("password", Value::Unknown)]), &none, None),
            Stored
        );
        // Plan and apply carry the configuration.
        assert_eq!(password_source(&wo, &config, None), Configured("p2"));
        // Refresh and destroy do not: the provider's block, for that server only.
        assert_eq!(
            password_source(&wo, &none, Some("https://VC.example.com/sdk")),
            Provider
        );
        assert_eq!(
            password_source(&wo, &none, Some("vc2.example.com")),
            Missing
        );
        assert_eq!(password_source(&wo, &none, None), Missing);
        // A block an import read back has no password either.
        assert_eq!(password_source(&vcenter_block(&[]), &none, None), Missing);
    }

    #[test]
    fn a_missing_password_says_which_operation_needs_what() {
        let text = missing_password("vc.example.com", DESTROY_NEEDS, Some("vc2.example.com"));
        for part in [
            "deletes its node VMs",
            "\"vc.example.com\"",
            "names \"vc2.example.com\", another server",
            "provider \"palette\" {",
            "server   = \"vc.example.com\"",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        let text = missing_password("vc.example.com", REFRESH_NEEDS, None);
        assert!(text.contains("reads the gateway's node VMs"), "{text}");
        assert!(!text.contains("another server"), "{text}");
    }

    #[test]
    fn the_write_only_password_is_sent_when_its_version_changes() {
        let state = |b: Value| {
            let mut v = Value::null_object(&schemas::gateway::schema().ty());
            v.set_attr("vcenter", Value::List(vec![b]));
            v
        };
        let v1 = state(vcenter_block(&[("password_wo_version", Value::int(1))]));
        let v2 = state(vcenter_block(&[("password_wo_version", Value::int(2))]));
        let cfg = |n: i64| {
            state(vcenter_block(&[
                ("password_wo", "p".into()),
                ("password_wo_version", Value::int(n)),
            ]))
        };
        assert!(wo_version_changed(&v1, &v2, &cfg(2)));
        assert!(!wo_version_changed(&v2, &v2, &cfg(2)));
        // An import leaves no block, or one without a version: null -> 1.
        let imported = state(vcenter_block(&[]));
        assert!(wo_version_changed(&imported, &v1, &cfg(1)));
        let mut no_block = Value::null_object(&schemas::gateway::schema().ty());
        no_block.set_attr("vcenter", Value::List(Vec::new()));
        assert!(wo_version_changed(&no_block, &v1, &cfg(1)));
        // Nothing write-only configured: nothing to send.
        let plain = state(vcenter_block(&[("password", "p".into())]));
        assert!(!wo_version_changed(&imported, &plain, &plain));
    }

    #[test]
    fn the_root_pool_has_three_spellings_and_no_other() {
        for v in [
            Value::Null,
            "".into(),
            "Resources".into(),
            "/Resources/".into(),
        ] {
            assert!(root_pool(&v), "{v:?}");
        }
        for v in ["Resources/apps".into(), "apps".into(), Value::Unknown] {
            assert!(!root_pool(&v), "{v:?}");
        }
    }

    #[test]
    fn the_registration_help_never_carries_the_pairing_code() {
        let text = registration_help(
            "pcg",
            "https://console.example.com",
            "SECRET42",
            "DC0/vm/pcg-installer",
            &["Warning: pairing code SECRET42 is not known".to_string()],
        );
        assert!(!text.contains("SECRET42"), "{text}");
        assert!(text.contains("\u{2026}42"), "{text}");
    }

    #[test]
    fn console_defaults_follow_the_api_endpoint() {
        assert_eq!(
            default_console("https://api.spectrocloud.com"),
            "https://console.spectrocloud.com"
        );
        assert_eq!(
            default_console("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080"
        );
    }
}
