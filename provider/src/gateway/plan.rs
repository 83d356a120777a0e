//! The gateway's plan: what can be known before apply (networks, TLS,
//! passwords, the placement in vCenter's inventory), what an import or a
//! change outside Terraform means for the next apply, and warnings of what
//! a destroy or replacement takes away.

use std::time::Duration;

use tfplugin::{AttrPath, Ctx, Diagnostic, Diagnostics, Model, PlanRequest, PlanResponse, Value};

use super::adopt::Private;
use super::model::{GatewayModel, Installer};
use super::vcenter::{
    missing_password, password_source, PasswordSource, DESTROY_NEEDS, REFRESH_NEEDS,
};
use super::{decode, path, Gateway};
use crate::placement;
use palette_api::client::{Client, Error as ApiError};

/// How long a plan waits for vCenter before it plans without checking the
/// placement: a plan must not hang on a vCenter that is down.
const PLAN_LOGIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Plan-time check of the `vcenter` block: `ca_file` with `insecure`
/// would silently trust nothing but skip every check.
pub(super) fn check_tls(config: &GatewayModel, d: &mut Diagnostics) {
    let Some(b) = config.vcenter() else {
        return;
    };
    if b.insecure.is_true() && !b.ca_file.is_null() && !b.ca_file.is_unknown() {
        d.error_at(
            path(&[("vcenter", Some(0)), ("insecure", None)]),
            "Conflicting vCenter TLS settings",
            "`insecure = true` skips vCenter's certificate checks, which makes `ca_file` pointless. Set one of them.",
        );
    }
}

/// Plan-time checks that need no API: CIDRs, the nodes' pool.
pub(super) fn check_networks(config: &GatewayModel, d: &mut Diagnostics) {
    let inst = config.installer.first();
    let pool = config.static_ip_pool.first();
    let parse = |cidr: fn(&Installer) -> &tfplugin::Attr<String>| -> Option<ipnet::IpNet> {
        inst.and_then(|i| cidr(i).as_str())
            .and_then(|s| s.parse().ok())
    };
    let pod = parse(|i| &i.pod_cidr).or_else(|| schemas::gateway::DEFAULT_POD_CIDR.parse().ok());
    let svc =
        parse(|i| &i.service_cidr).or_else(|| schemas::gateway::DEFAULT_SERVICE_CIDR.parse().ok());
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
    let (Some(_), Some(pool)) = (inst, pool) else {
        return;
    };
    let Some(input) = pool.input() else {
        return;
    };
    if let Err(problems) = palette_api::pool::check(&input) {
        for p in problems {
            d.error_at(
                path(&[("static_ip_pool", Some(0)), (p.field, None)]),
                "Invalid static IP pool",
                p.message,
            );
        }
    } else if let Some(net) = pool.network() {
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

/// The console URL an installer registers with, from the API endpoint.
pub(super) fn default_console(endpoint: &str) -> String {
    let e = endpoint.trim_end_matches('/');
    match url::Url::parse(e)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    {
        Some(h) if h == "api.spectrocloud.com" => "https://console.spectrocloud.com".into(),
        _ => e.to_string(),
    }
}

/// Whether a `resource_pool` value names a compute cluster's root pool.
pub(super) fn root_pool(v: &tfplugin::Attr<String>) -> bool {
    v.is_null()
        || matches!(
            v.as_str().map(|s| s.trim_matches('/')),
            Some("" | "Resources")
        )
}

/// A state made by import and not applied since: its first apply records
/// the configuration. States imported before the private flag existed are
/// known by their missing placement.
pub(super) fn adopting(prior: Option<&GatewayModel>, private: &Private) -> bool {
    prior.is_some_and(|p| !p.id.is_null() && (private.adopting || p.placement.is_empty()))
}

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

/// The three values a plan works from, decoded; `None` (logged) when one
/// does not fit the model, and the plan is then left as the generic planner
/// made it.
fn plan_models(
    req: &PlanRequest,
    resp: &PlanResponse,
) -> Option<(
    Option<GatewayModel>,
    Option<GatewayModel>,
    Option<GatewayModel>,
)> {
    let mut out = Vec::new();
    for (what, v) in [
        ("prior state", &req.prior),
        ("configuration", &req.config),
        ("planned state", &resp.state),
    ] {
        match decode(v) {
            Ok(m) => out.push(m),
            Err(e) => {
                tracing::warn!(error = %e, what, "the gateway's plan cannot read this value; not modified");
                return None;
            }
        }
    }
    let planned = out.pop()?;
    let config = out.pop()?;
    let prior = out.pop()?;
    Some((prior, config, planned))
}

impl Gateway {
    pub(super) fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        let Ok(config) = GatewayModel::from_value(config) else {
            return d;
        };
        check_networks(&config, &mut d);
        check_tls(&config, &mut d);
        if let Some(vc) = config.vcenter() {
            crate::cloud_account::check_password_forms(
                vc,
                &path(&[("vcenter", Some(0))]),
                true,
                &mut d,
            );
        }
        d
    }

    pub(super) async fn plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        let Some((prior, config, planned_before)) = plan_models(req, resp) else {
            return;
        };
        let prior = prior.as_ref();
        if req.proposed.is_null() {
            // Destroy runs without configuration: refused now rather than
            // after Palette has forgotten the gateway and its VMs are orphans.
            if let Err(server) = self.vcenter_for(prior, None) {
                resp.diags.error(
                    "No vCenter password to destroy the gateway",
                    missing_password(
                        &server,
                        DESTROY_NEEDS,
                        self.provider_vcenter_server().as_deref(),
                    ),
                );
            }
            self.warn_of_loss(req, resp, prior, None, false).await;
            return;
        }
        let mut planned = planned_before.clone();
        // Console endpoint defaults to the provider's Palette.
        let configured_console = config
            .as_ref()
            .and_then(|c| c.installer.first())
            .map(|i| &i.console_endpoint);
        if configured_console.is_none_or(|c| c.is_null()) {
            let prior_console = prior
                .and_then(|p| p.installer.first())
                .map(|i| i.console_endpoint.clone())
                .unwrap_or_default();
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
                tfplugin::Attr::Known(default_console(&e))
            } else {
                tfplugin::Attr::Unknown
            };
            if let Some(inst) = planned.as_mut().and_then(|p| p.installer.first_mut()) {
                inst.console_endpoint = value;
            }
            resp.requires_replace
                .retain(|p| p.to_string() != "installer[0].console_endpoint");
        }
        // After an import the state lacks what Palette cannot return
        // (installer, placement, pool, vCenter): the configuration supplies
        // them, recorded by an update that calls no API. Never a replacement.
        let private = Private::parse(&req.prior_private);
        let adopting = adopting(prior, &private);
        if adopting {
            resp.requires_replace.clear();
        } else if prior.is_some_and(|p| !p.id.is_null() && p.installer.is_empty()) {
            // An installer nobody recorded (deleted before an import) has
            // done its work: describing it in the configuration is a record,
            // not a reason to install the gateway again.
            resp.requires_replace
                .retain(|p| !p.to_string().starts_with("installer"));
        }
        // Leaving `resource_pool` out and writing "Resources" both name the
        // cluster's root pool (and a placement read back from vCenter has no
        // path for it): switching between them is a record, not a move.
        let pools = |m: Option<&GatewayModel>| {
            [
                m.and_then(|m| m.installer.first())
                    .map(|b| b.resource_pool.clone())
                    .unwrap_or_default(),
                m.and_then(|m| m.placement.first())
                    .map(|b| b.resource_pool.clone())
                    .unwrap_or_default(),
            ]
        };
        for (block, (before, after)) in ["installer", "placement"]
            .into_iter()
            .zip(pools(prior).into_iter().zip(pools(planned.as_ref())))
        {
            if before != after && root_pool(&before) && root_pool(&after) {
                let at = format!("{block}[0].resource_pool");
                resp.requires_replace.retain(|p| p.to_string() != at);
            }
        }
        if let Some(planned) = planned.as_mut() {
            // The installer VM left vCenter: the plan shows it leaving the state.
            if private.installer_gone {
                planned.forget_installer();
            }
            if let Some(prior) = prior {
                self.plan_palette_state(prior, planned, adopting, resp);
            }
        }
        // Palette cannot shrink a gateway.
        if let (Some(before), Some(after)) = (
            prior.and_then(|p| p.node_count.get()),
            planned.as_ref().and_then(|p| p.node_count.get()),
        ) {
            if after < before && prior.is_some_and(|p| !p.id.is_null()) {
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
        if self.vcenter(config.as_ref()).is_none()
            && config.as_ref().and_then(GatewayModel::vcenter).is_none()
        {
            resp.diags.error_at(
                AttrPath::attr("name"),
                "No vCenter for the gateway",
                "Give the gateway a `vcenter { server, username, password }` block, or the provider a \
                 `vcenter` block to default to.",
            );
        }
        // Written back only when changed: what the generic planner made is
        // otherwise passed on as it came.
        if planned != planned_before {
            resp.state = planned
                .as_ref()
                .map_or(Value::Null, tfplugin::Model::to_value);
        }
        let planned = planned.as_ref();
        self.plan_later_password(prior, planned, resp);
        let replacing = !resp.requires_replace.is_empty();
        self.check_placement(prior, planned, config.as_ref(), resp, replacing)
            .await;
        self.warn_of_loss(req, resp, prior, planned, replacing)
            .await;
    }

    /// What Palette reported at the last refresh, for the plan: a Failed
    /// gateway is reset by the next apply when asked to, otherwise only
    /// said; one reset outside Terraform is provisioned again; one running
    /// but unhealthy is said.
    fn plan_palette_state(
        &self,
        prior: &GatewayModel,
        planned: &mut GatewayModel,
        adopting: bool,
        resp: &mut PlanResponse,
    ) {
        if prior.state.str() == "Failed" {
            if planned.reset_on_failure.is_true() {
                planned.provisioning_again();
            } else {
                resp.diags.warning(
                    "The gateway is Failed in Palette",
                    format!(
                        "Gateway {:?} ({}) is Failed. Its events (the console's Events tab) say why. Set \
                         reset_on_failure = true to have the next apply reset it (the console's Reset button) \
                         and provision it again, or replace it with `terraform apply -replace=<address>`.",
                        prior.name.str(),
                        prior.id.str()
                    ),
                );
            }
        }
        if prior.id.is_null() || adopting {
            return;
        }
        if prior.upgrade_available.is_true() && prior.state.str() == "Running" {
            resp.diags.warning(
                "A gateway upgrade is available",
                format!(
                    "Palette has an upgrade for gateway {:?} ({}). The reference document asks to review it and \
                     apply it at a suitable time: running clusters keep running, but new cluster requests queue \
                     until the upgrade completes. Apply it with `action \"palette_gateway_upgrade\"` \
                     (Terraform 1.14+) or the console's update on the gateway.",
                    prior.name.str(),
                    prior.id.str()
                ),
            );
        }
        match (prior.state.str(), prior.health.str()) {
            // Reset outside Terraform (the console's button): Pending
            // without nodes; the next apply gives the cloud config again.
            ("Pending", _) => planned.provisioning_again(),
            ("Running", health) if !health.is_empty() && health != "Healthy" => {
                resp.diags.warning(
                    format!("The gateway is {health} in Palette"),
                    format!(
                        "Gateway {:?} ({}) runs but Palette reports it {health}. Its nodes in vCenter: {}. \
                         Its events (the console's Events tab) say why.",
                        prior.name.str(),
                        prior.id.str(),
                        prior
                            .nodes
                            .known()
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                            .iter()
                            .map(|n| format!(
                                "{} ({})",
                                n.name.str(),
                                if n.powered_on.is_true() { "on" } else { "off" }
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            _ => {}
        }
    }

    /// Said at plan time: a plan that leaves the gateway without a password
    /// Terraform keeps (its block switches to `password_wo`) warns that
    /// refresh and destroy need the provider's `vcenter` block; a
    /// replacement, whose destroy half runs without configuration, is
    /// refused. Refreshes of such a gateway warn on their own.
    fn plan_later_password(
        &self,
        prior: Option<&GatewayModel>,
        planned: Option<&GatewayModel>,
        resp: &mut PlanResponse,
    ) {
        if planned.is_none() {
            return;
        }
        let provider = self.provider_vcenter_server();
        let keeps_none = |v: Option<&GatewayModel>| {
            v.is_some_and(|v| {
                password_source(v.vcenter(), None, provider.as_deref()) == PasswordSource::Missing
            })
        };
        let server = |v: Option<&GatewayModel>| {
            v.and_then(GatewayModel::vcenter)
                .map(|b| b.server.str().to_string())
                .unwrap_or_default()
        };
        if !resp.requires_replace.is_empty() && keeps_none(prior) {
            resp.diags.error(
                "No vCenter password to replace the gateway",
                missing_password(&server(prior), DESTROY_NEEDS, provider.as_deref()),
            );
        } else if keeps_none(planned) && !keeps_none(prior) {
            resp.diags.push(
                Diagnostic::warning(
                    "Later refreshes and destroy need the provider's vCenter block",
                    format!(
                        "This apply works: it has the configuration, which holds `password_wo`. Afterwards:\n\
                         - {}\n\
                         - Destroying the gateway needs it too, and is refused without it (nothing is deleted).",
                        missing_password(&server(planned), REFRESH_NEEDS, provider.as_deref()),
                    ),
                )
                .at(path(&[("vcenter", Some(0)), ("password_wo", None)])),
            );
        }
    }

    /// Checks the installer's and the nodes' placement names against
    /// vCenter's inventory, read-only, when they are about to be used: at
    /// creation and replacement (both), or when the nodes' placement
    /// changes. vCenter out of reach is a warning: apply checks again.
    async fn check_placement(
        &self,
        prior: Option<&GatewayModel>,
        planned: Option<&GatewayModel>,
        config: Option<&GatewayModel>,
        resp: &mut PlanResponse,
        replacing: bool,
    ) {
        let Some(planned) = planned else {
            return;
        };
        if resp.diags.has_errors() {
            return;
        }
        let creating = prior.is_none() || replacing;
        let mut wanted = Vec::new();
        if creating {
            wanted.push(
                planned
                    .installer()
                    .wanted(vec![("installer".to_string(), Some(0))]),
            );
        }
        if creating || prior.is_some_and(|p| p.placement != planned.placement) {
            wanted.push(
                planned
                    .placement()
                    .wanted(vec![("placement".to_string(), Some(0))]),
            );
        }
        if wanted.is_empty() {
            return;
        }
        // A password known only at apply (or none): nothing to log in with.
        let Ok(Some(vc)) = self.vcenter_for(Some(planned), config) else {
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
    async fn warn_of_loss(
        &self,
        req: &PlanRequest,
        resp: &mut PlanResponse,
        prior: Option<&GatewayModel>,
        planned: Option<&GatewayModel>,
        replacing: bool,
    ) {
        let planned = if req.proposed.is_null() {
            None
        } else {
            planned
        };
        let Some(prior) = prior else {
            return;
        };
        if crate::consequences::gateway(prior, planned, replacing, &[]).is_none() {
            return;
        }
        let clusters = self.clusters_on(prior.id.str(), &req.ctx).await;
        if let Some((summary, detail)) =
            crate::consequences::gateway(prior, planned, replacing, &clusters)
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
