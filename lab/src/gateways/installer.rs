//! The installer watcher: an installer VM powered on in vCenter registers its
//! gateway, as a real installer phones home.

use super::*;

// ---------------------------------------------------------------- the watcher

/// What an installer VM carries, read from its OVF properties.
#[derive(Clone, Default, PartialEq)]
pub struct InstallerProps {
    pub name: String,
    pub console_endpoint: String,
    pub pairing_code: String,
}

/// Not derived: the pairing code lets the installer join the tenant.
impl std::fmt::Debug for InstallerProps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallerProps")
            .field("name", &self.name)
            .field("console_endpoint", &self.console_endpoint)
            .field("pairing_code", &"<redacted>")
            .finish()
    }
}

impl InstallerProps {
    /// The installer's OVF properties as the vsphere client reads them:
    /// from `vAppConfig` on vCenter (`palette-lab --vcenter`), from
    /// `extraConfig` on a VM vcsim made, where vcsim copies them.
    pub fn from_vm(vm: &vsphere::vm::VmInfo) -> Option<InstallerProps> {
        let get = |k: &str| {
            vm.properties
                .iter()
                .find(|p| p.key == k)
                .map(|p| p.value.clone())
                .unwrap_or_default()
        };
        let code = get(keys::PAIRING_CODE);
        (!code.is_empty()).then(|| InstallerProps {
            name: get(keys::NAME),
            console_endpoint: get(keys::CONSOLE_ENDPOINT),
            pairing_code: code,
        })
    }
}

/// Why an installer cannot register, as its cloud-init log would say.
pub(super) fn registration_problem(lab: &Lab, p: &InstallerProps) -> Option<(String, String)> {
    if p.console_endpoint.ends_with('/') {
        return Some((
            "ConsoleEndpointInvalid".into(),
            format!(
                "installer {:?}: console endpoint {:?} has a trailing slash; the installer cannot reach \
                 Palette. Power off and delete the installer VM and deploy it again with the endpoint \
                 without the slash.",
                p.name, p.console_endpoint
            ),
        ));
    }
    let base = lab.base_url();
    if !base.is_empty() && p.console_endpoint != base {
        return Some((
            "ConsoleEndpointUnreachable".into(),
            format!(
                "installer {:?}: console endpoint {:?} is not this Palette ({base}); the installer cannot \
                 register there",
                p.name, p.console_endpoint
            ),
        ));
    }
    if p.name.trim().is_empty() {
        return Some((
            "InstallerNameMissing".into(),
            "installer: the Installer Name property is empty".into(),
        ));
    }
    let store = lab.store();
    match store
        .pairing_codes
        .iter()
        .find(|c| c.code == p.pairing_code)
    {
        None => Some((
            "PairingFailed".into(),
            format!(
                "installer {:?}: pairing code {:?} was not issued by this Palette",
                p.name, p.pairing_code
            ),
        )),
        Some(c) if c.used_by.is_some() => Some((
            "PairingFailed".into(),
            format!(
                "installer {:?}: pairing code {:?} was already used by another gateway",
                p.name, p.pairing_code
            ),
        )),
        Some(_) => None,
    }
}

/// Registers the gateway an installer VM announces.
pub(super) fn register(lab: &Lab, vm: &str, p: &InstallerProps) -> Option<String> {
    let mut store = lab.store();
    let i = store
        .pairing_codes
        .iter()
        .position(|c| c.code == p.pairing_code && c.used_by.is_none())?;
    let uid = ids::new_uid();
    store.pairing_codes[i].used_by = Some(uid.clone());
    let scope = store.pairing_codes[i].scope.clone();
    store.gateways.push(Gateway {
        uid: uid.clone(),
        name: p.name.clone(),
        scope,
        state: "Pending".into(),
        pairing_code: Some(p.pairing_code.clone()),
        installer_vm: Some(vm.to_string()),
        cluster_uid: ids::new_uid(),
        created: lab.clock.now(),
        ..Default::default()
    });
    store.event(
        KIND,
        &uid,
        &p.name,
        "Normal",
        "Registered",
        format!("gateway {:?} registered from installer VM {vm}; waiting for its vSphere account and cloud config", p.name),
    );
    Some(uid)
}

/// Polls vCenter for powered-on installer VMs, as the installers would
/// phone home: a good one registers after [`REGISTRATION_DELAY`] (scaled);
/// a bad one never does, and an event on its pairing code says why.
pub fn spawn_watcher(lab: Lab, vc: VcenterAccess) {
    let runner = lab.clone();
    runner.spawn(async move {
        let tick = lab
            .scaled(Duration::from_secs(2))
            .clamp(Duration::from_millis(100), Duration::from_secs(2));
        let mut session: Option<vsphere::Session> = None;
        // Installers by VM and pairing code: the code too, because a new
        // vcsim reuses VM ids, and a new installer there has a new code.
        // Those that registered before a restart are known by their gateways.
        let mut handled: HashSet<(String, String)> = lab
            .store()
            .gateways
            .iter()
            .filter_map(|g| Some((g.installer_vm.clone()?, g.pairing_code.clone()?)))
            .collect();
        loop {
            tokio::time::sleep(tick).await;
            if session.is_none() {
                match vsphere::Session::login(&vc.target, &vc.user, &vc.password).await {
                    Ok(s) => session = Some(s),
                    Err(e) => {
                        tracing::warn!(error = %e, "lab watcher cannot log in to vCenter");
                        continue;
                    }
                }
            }
            let Some(s) = &session else { continue };
            let vms = match s.list_vms().await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "lab watcher cannot list VMs; logging in again");
                    session = None;
                    continue;
                }
            };
            for vm in vms {
                if !vm.powered_on {
                    continue;
                }
                let Some(props) = InstallerProps::from_vm(&vm) else {
                    continue;
                };
                // Held by a lab fault: not handled, so it registers once the
                // fault is removed, as an installer whose network came back.
                if crate::store::fault_on(
                    &lab.store(),
                    crate::model::cluster::ClusterFaultKind::RegistrationHangs,
                    &props.name,
                ) {
                    continue;
                }
                if !handled.insert((vm.moref.clone(), props.pairing_code.clone())) {
                    continue;
                }
                if let Some((reason, message)) = registration_problem(&lab, &props) {
                    let mut store = lab.store();
                    // After a restart the watcher meets the same installer
                    // again: what is wrong with it was already said.
                    let told = store.events.iter().any(|e| {
                        e.kind == "pairingcode"
                            && e.object_uid == props.pairing_code
                            && e.reason == reason
                            && e.message == message
                    });
                    if !told {
                        store.event(
                            "pairingcode",
                            &props.pairing_code,
                            &props.name,
                            "Error",
                            &reason,
                            message,
                        );
                    }
                    continue;
                }
                let lab = lab.clone();
                let vc = vc.clone();
                let delay = lab.scaled(REGISTRATION_DELAY);
                lab.clone().spawn(async move {
                    tokio::time::sleep(delay).await;
                    // Powered off or deleted meanwhile: the installer never phoned home.
                    let still_on =
                        match vsphere::Session::login(&vc.target, &vc.user, &vc.password).await {
                            Ok(s) => {
                                let on = s
                                    .vm_info(&vm.moref)
                                    .await
                                    .map(|i| i.powered_on)
                                    .unwrap_or(false);
                                let _ = s.logout().await;
                                on
                            }
                            Err(_) => false,
                        };
                    if still_on && registration_problem(&lab, &props).is_none() {
                        register(&lab, &vm.moref, &props);
                    }
                });
            }
        }
    });
}
