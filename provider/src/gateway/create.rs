//! The install procedure of the reference document, as `create` walks it:
//! pairing code and installer OVA from Palette, the installer deployed into
//! vCenter and powered on, registration awaited, the vSphere account, the
//! nodes' pool and the cloud config given, provisioning awaited, the
//! installer powered off or deleted. The gateway (or, before it registers,
//! the installer VM) is in the returned state from the moment it exists.

use std::collections::BTreeMap;
use std::time::Instant;

use palette_api::client::Error as ApiError;
use palette_api::models::{
    V1IpPoolInputEntity, V1OverloadVsphereOva, V1Overlord, V1OverlordVsphereAccountCreate,
    V1Overlords, V1PairingCode, V1Uid,
};
use tfplugin::{ApplyRequest, ApplyResult, AttrPath, Ctx, Diagnostic, Model, Value};

use super::model::{known_strings, GatewayModel};
use super::{adopt, decode, own, path, resume, unexpected_null, Gateway};
use crate::shared::{api_diag, events, url_escape, Poll};

impl Gateway {
    pub(super) async fn create_gateway(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let (planned, config) = match (decode(&req.planned), decode(&req.config)) {
            (Ok(Some(p)), Ok(c)) => (p, c),
            (Err(d), _) | (_, Err(d)) => return ApplyResult::failed(Value::Null, d),
            (Ok(None), _) => return ApplyResult::failed(Value::Null, unexpected_null()),
        };
        let planned = &planned;
        let mut state = planned.clone().settle();
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let Some(vc) = self
            .vcenter_for(Some(planned), config.as_ref())
            .ok()
            .flatten()
        else {
            return ApplyResult::failed(
                Value::Null,
                Diagnostic::error("No vCenter", "The gateway needs a vcenter block."),
            );
        };
        let name = planned.name.str().to_string();
        let deadline =
            Instant::now() + planned.timeout(|t| &t.create, schemas::gateway::DEFAULT_CREATE);

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
        // Both placements are looked up before anything exists, each error
        // naming what is missing; the installer's is then used as found.
        let mut located = Vec::new();
        let wanted = [
            ("installer", planned.installer().vm_placement()),
            ("placement", planned.placement().vm_placement()),
        ];
        for (block, at) in wanted {
            match session.locate(&at).await {
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
        let left = match vm_at_again(&session, &vm_path).await {
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
        state.installer_vm_id = installer.clone().into();
        state.installer_vm_path = vm_path.clone().into();
        if !powered {
            if let Err(e) = session.power_on(&installer).await {
                return ApplyResult::failed(
                    state.to_value(),
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
                        state.to_value(),
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
        let reg_timeout = planned.registration_timeout();
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
                        state.to_value(),
                        Diagnostic::error(
                            "The gateway did not register",
                            registration_help(
                                &name,
                                planned.installer().console_endpoint.str(),
                                &code,
                                &vm_path,
                                &ev,
                            ),
                        ),
                    );
                }
                if !ctx.sleep(poll.interval(reg_deadline)).await {
                    return ApplyResult::failed(
                    state.to_value(),
                    Diagnostic::error("Interrupted", format!("Interrupted while waiting for registration; installer VM {vm_path} is in state (tainted).")),
                );
                }
            }
        };
        state.id = uid.clone().into();
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
                        state.to_value(),
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
                    return ApplyResult::failed(
                        state.to_value(),
                        api_diag("Cannot read the gateway", &e),
                    )
                }
            }
        }
        if let Some(account) = &done.account {
            state.cloud_account_id = account.clone().into();
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
                Ok(u) => state.cloud_account_id = u.uid.into(),
                Err(e) => {
                    return ApplyResult::failed(
                        state.to_value(),
                        api_diag("Cannot give the gateway its vSphere account", &e),
                    )
                }
            }
        }
        let pool = planned.static_ip_pool.first();
        let mut pool_uid = None;
        if let (true, Some(pool)) = (carried_on, pool) {
            match self.shared.pools_of(&uid, ctx).await {
                Ok(pools) => pool_uid = resume::pool_named(&pools, pool.name.str()),
                Err(e) => {
                    return ApplyResult::failed(
                        state.to_value(),
                        api_diag("Cannot list the gateway's IP pools", &e),
                    )
                }
            }
            if let Some(p) = &pool_uid {
                state.ip_pool_id = p.clone().into();
            }
        }
        if let (Some(pool), None) = (pool, &pool_uid) {
            let body = V1IpPoolInputEntity::from(pool);
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
                    state.ip_pool_id = u.uid.into();
                }
                Err(e) => {
                    return ApplyResult::failed(
                        state.to_value(),
                        api_diag("Cannot create the nodes' IP pool", &e),
                    )
                }
            }
        }
        if !done.cloud_config {
            if let Err(e) = client
                .post::<_, serde_json::Value>(
                    &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
                    &planned.cloud_config(pool_uid.as_deref()),
                    &ctx.cancel,
                )
                .await
            {
                // Given by the lost run after the gateway was read.
                let given = carried_on && matches!(e, ApiError::Conflict { .. });
                if !given {
                    return ApplyResult::failed(
                        state.to_value(),
                        api_diag("Cannot give the gateway its cloud config", &e),
                    );
                }
            }
        }

        // 5. Provisioning; a failure is reset once when asked to.
        let g = match self.wait_running(&client, &uid, deadline, ctx).await {
            Ok(g) => g,
            Err(d)
                if planned.reset_on_failure.is_true()
                    && self.is_failed(&client, &uid, ctx).await =>
            {
                tracing::warn!(gateway = %uid, first = %d, "provisioning failed; resetting once");
                match self
                    .reset_and_provision(true, &uid, planned, pool_uid.as_deref(), deadline, ctx)
                    .await
                {
                    Ok(g) => g,
                    Err(again) => return ApplyResult::failed(state.to_value(), again),
                }
            }
            Err(d) => return ApplyResult::failed(state.to_value(), d),
        };
        state.observe(&g);

        // 6. The installer's job is done.
        let action = planned.installer_vm_action.str();
        let r = if action == "delete" {
            session.destroy_vm(&installer).await
        } else {
            session.power_off(&installer).await
        };
        if let Err(e) = r {
            return ApplyResult::failed(
                state.to_value(),
                Diagnostic::error(
                    "Gateway running, but the installer VM could not be handled",
                    format!("{action} of {vm_path}: {e}"),
                ),
            );
        }
        if action == "delete" {
            state.forget_installer();
        }
        match self.nodes(&client, &session, &g, ctx).await {
            Ok(n) => state.set_nodes(&n),
            Err(e) => tracing::warn!(error = %e, "cannot list the gateway's VMs"),
        }
        let _ = session.logout().await;
        ApplyResult::ok(state.to_value())
    }

    /// Installer OVF property values, keyed by the OVA's own property keys,
    /// found through their labels (the names the reference document uses).
    fn installer_properties(
        &self,
        descriptor: &str,
        v: &GatewayModel,
        code: &str,
    ) -> BTreeMap<String, String> {
        let inst = v.installer();
        let proxy = inst.proxy.first();
        let mut wanted: Vec<(&str, String)> = vec![
            ("installer name", v.name.str().to_string()),
            ("console endpoint", inst.console_endpoint.str().to_string()),
            ("pairing code", code.to_string()),
            ("ssh public keys", inst.ssh_public_key.str().to_string()),
            ("pod cidr", inst.pod_cidr.str().to_string()),
            (
                "service cluster ip range",
                inst.service_cidr.str().to_string(),
            ),
        ];
        if let Some(proxy) = proxy {
            wanted.push(("http proxy", proxy.http_proxy.str().to_string()));
            wanted.push(("https proxy", proxy.https_proxy.str().to_string()));
            wanted.push(("no proxy", known_strings(&proxy.no_proxy).join(",")));
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

/// The document's troubleshooting, for a gateway that did not register.
pub(super) fn registration_help(
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

/// Palette's installer OVA from `location`, streamed to a temporary
/// directory (installer OVAs are gigabytes) and opened there.
pub(super) async fn download_ova(
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

/// `Session::vm_at`, asked up to three times. The lookup only reads, and it
/// follows the OVA download, long enough for vCenter to close the idle
/// SOAP connection just as the next request goes out ("connection closed"):
/// asking again is safe, and failing the create on it would not be.
async fn vm_at_again(
    session: &vsphere::Session,
    path: &str,
) -> Result<Option<vsphere::vm::VmInfo>, vsphere::Error> {
    let mut tries = 0;
    loop {
        match session.vm_at(path).await {
            Err(e) if tries < 2 && !matches!(e, vsphere::Error::Cancelled { .. }) => {
                tries += 1;
                tracing::warn!(error = %e, path, "looking for a left installer failed; asking again");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}
