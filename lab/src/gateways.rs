//! The private cloud gateway's life, as the reference document tells it:
//! pairing code and installer OVA from Palette; an installer VM powered on
//! in vCenter registers the gateway (the lab watches vCenter for it, as a
//! real installer phones home); account and cloud config move it Pending ->
//! Provisioning -> Running while the lab creates its VMs in vCenter; resize,
//! reset, rename, delete; events for every step.

use base64::Engine as _;
use std::collections::HashSet;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{
    V1DeletedMsg, V1Event, V1EventSource, V1Events, V1ObjectMeta, V1ObjectMetaInputEntitySchema,
    V1ObjectReference, V1OverloadVsphereOva, V1OverlordVsphereAccountCreate,
    V1OverlordVsphereAccountEntity, V1OverlordVsphereCloudConfig, V1PairingCode, V1Uid,
    V1UpdatedMsg, V1VsphereCloudAccount, V1VsphereComputeCluster, V1VsphereComputeClusterResources,
    V1VsphereDatacenter, V1VsphereDatacenters,
};
use serde::Deserialize;

use crate::accounts;
use crate::error::ApiError;
use crate::ids;
use crate::pools::{visible, Gateway};
use crate::state::{Lab, PairingCode, Scope, VcenterAccess};

/// OVF property keys of the lab's installer OVA (assets/palette-installer.ovf).
pub mod keys {
    pub const NAME: &str = "installer.name";
    pub const CONSOLE_ENDPOINT: &str = "installer.console_endpoint";
    pub const PAIRING_CODE: &str = "installer.pairing_code";
    pub const SSH_PUBLIC_KEY: &str = "installer.ssh_public_key";
    pub const POD_CIDR: &str = "installer.pod_cidr";
    pub const SERVICE_CIDR: &str = "installer.service_cidr";
    pub const HTTP_PROXY: &str = "installer.http_proxy";
    pub const HTTPS_PROXY: &str = "installer.https_proxy";
    pub const NO_PROXY: &str = "installer.no_proxy";
}

/// The document's figures: an installer registers within five to ten
/// minutes; a gateway provisions in eight to ten.
pub const REGISTRATION_DELAY: Duration = Duration::from_secs(5 * 60);
pub const PROVISIONING_DELAY: Duration = Duration::from_secs(8 * 60);

pub const OVA_PATH: &str = "/lab/installer/palette-gateway-installer.ova";
const OVF: &str = include_str!("../assets/palette-installer.ovf");
const KIND: &str = "overlord";
/// The extraConfig key naming the gateway a node VM was made for.
pub(crate) const MARKER: &str = "guestinfo.palette.gateway";

fn is_gateway(g: &Gateway, uid: &str, scope: &Scope) -> bool {
    g.uid == uid && visible(g, scope)
}

/// The gateway `uid` as the request's scope sees it, or the 404 to answer.
fn gateway_mut<'a>(
    store: &'a mut crate::state::Store,
    uid: &str,
    scope: &Scope,
) -> Result<&'a mut Gateway, ApiError> {
    store
        .gateways
        .iter_mut()
        .find(|g| is_gateway(g, uid, scope))
        .ok_or_else(|| ApiError::not_found("private cloud gateway", uid))
}

// ---------------------------------------------------------------- pairing and OVA

#[derive(Deserialize)]
pub struct PairingQuery {
    #[serde(rename = "cloudType", default)]
    cloud_type: Option<String>,
}

/// `GET /v1/overlords/pairing/code?cloudType=vsphere`.
pub async fn pairing_code(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Query(q): Query<PairingQuery>,
) -> Response {
    match q.cloud_type.as_deref() {
        Some("vsphere") => {}
        other => {
            return ApiError::bad_request(format!(
                "cloudType {other:?} is not supported here; use cloudType=vsphere"
            ))
            .into_response()
        }
    }
    // Six characters, as the console shows them; no 0/O or 1/I to misread.
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let raw = ids::new_uid();
    let code: String = raw
        .as_bytes()
        .chunks(2)
        .take(6)
        .map(|pair| {
            let n = u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("0"), 16).unwrap_or(0);
            ALPHABET[n as usize % ALPHABET.len()] as char
        })
        .collect();
    lab.store().pairing_codes.push(PairingCode {
        code: code.clone(),
        scope,
        used_by: None,
    });
    Json(V1PairingCode {
        pairing_code: Some(code),
    })
    .into_response()
}

/// `GET /v1/overlords/vsphere/ova`: the lab serves its own installer.
pub async fn ova_location(State(lab): State<Lab>) -> Response {
    Json(V1OverloadVsphereOva {
        location: Some(format!("{}{OVA_PATH}", lab.base_url())),
    })
    .into_response()
}

/// The OVA: a tar with the descriptor first, then its manifest (as
/// VMware's tools write it, so clients check the digests), then its disk.
pub fn ova_bytes() -> Vec<u8> {
    // A placeholder disk: vcsim stores what is uploaded without reading it.
    let disk = [0u8; 65536];
    let sha256 = |data: &[u8]| -> String {
        ring::digest::digest(&ring::digest::SHA256, data)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let manifest = format!(
        "SHA256(palette-installer.ovf)= {}\nSHA256(palette-installer-disk1.vmdk)= {}\n",
        sha256(OVF.as_bytes()),
        sha256(&disk)
    );
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        builder
            .append_data(&mut h, name, data)
            .expect("writing to memory");
    };
    add("palette-installer.ovf", OVF.as_bytes());
    add("palette-installer.mf", manifest.as_bytes());
    add("palette-installer-disk1.vmdk", &disk);
    builder.into_inner().expect("writing to memory")
}

pub async fn ova_file() -> Response {
    ([(header::CONTENT_TYPE, "application/x-tar")], ova_bytes()).into_response()
}

// ---------------------------------------------------------------- events

/// `GET /v1/events/components/{objectKind}/{objectUid}`.
pub async fn events(State(lab): State<Lab>, Path((kind, uid)): Path<(String, String)>) -> Response {
    let store = lab.store();
    let items: Vec<V1Event> = store
        .events
        .iter()
        .filter(|e| e.kind == kind && e.object_uid == uid)
        .map(|e| V1Event {
            metadata: Some(V1ObjectMeta {
                uid: Some(e.uid.clone()),
                creation_timestamp: Some(e.time.clone()),
                ..Default::default()
            }),
            involved_object: Some(V1ObjectReference {
                kind: Some(e.kind.clone()),
                name: Some(e.object_name.clone()),
                uid: Some(e.object_uid.clone()),
            }),
            message: Some(e.message.clone()),
            reason: Some(e.reason.clone()),
            severity: Some(e.severity.clone()),
            source: Some(V1EventSource {
                component: Some("palette-lab".into()),
                host: None,
            }),
            related_object: None,
        })
        .collect();
    Json(V1Events {
        listmeta: Some(palette_api::models::V1ListMetaData {
            count: Some(items.len() as i64),
            ..Default::default()
        }),
        items: Some(items),
    })
    .into_response()
}

// ---------------------------------------------------------------- the watcher

/// What an installer VM carries, read from its OVF properties.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstallerProps {
    pub name: String,
    pub console_endpoint: String,
    pub pairing_code: String,
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
fn registration_problem(lab: &Lab, p: &InstallerProps) -> Option<(String, String)> {
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
fn register(lab: &Lab, vm: &str, p: &InstallerProps) -> Option<String> {
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
                if crate::clusters::fault_on(
                    &lab.store(),
                    crate::clusters::ClusterFaultKind::RegistrationHangs,
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

// ---------------------------------------------------------------- account and cloud config

/// `POST /v1/overlords/vsphere/{uid}/account`.
pub async fn account_create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereAccountCreate>,
) -> Response {
    let Some(account) = body.account else {
        return ApiError::bad_request("account is required").into_response();
    };
    {
        let store = lab.store();
        match store.gateways.iter().find(|g| is_gateway(g, &uid, &scope)) {
            None => return ApiError::not_found("private cloud gateway", &uid).into_response(),
            Some(g) if g.account.is_some() => {
                return ApiError::conflict(format!(
                    "gateway '{}' already has its vSphere account; update it with PUT",
                    g.name
                ))
                .into_response()
            }
            Some(_) => {}
        }
    }
    if let Err(e) = crate::accounts::check_credentials(&account).await {
        return e.into_response();
    }
    let mut store = lab.store();
    let account_uid = ids::new_uid();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    g.account = Some((account_uid.clone(), account));
    let name = g.name.clone();
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "AccountSet",
        "vSphere account validated and saved",
    );
    (
        StatusCode::CREATED,
        Json(V1Uid {
            uid: Some(account_uid),
        }),
    )
        .into_response()
}

/// `PUT /v1/overlords/vsphere/{uid}/account`.
pub async fn account_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereAccountEntity>,
) -> Response {
    let Some(account) = body.account else {
        return ApiError::bad_request("account is required").into_response();
    };
    if let Err(e) = crate::accounts::check_credentials(&account).await {
        return e.into_response();
    }
    let mut store = lab.store();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let account_uid = g
        .account
        .as_ref()
        .map(|(u, _)| u.clone())
        .unwrap_or_else(ids::new_uid);
    g.account = Some((account_uid, account));
    StatusCode::NO_CONTENT.into_response()
}

/// A cloud config's placement, checked for the fields the lab needs.
fn placement_of(
    cfg: &V1OverlordVsphereCloudConfig,
) -> Result<(vsphere::vm::Placement, Option<String>), ApiError> {
    let cc = cfg
        .cluster_config
        .clone()
        .ok_or_else(|| ApiError::bad_request("clusterConfig is required"))?;
    let p = cc
        .placements
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::bad_request("clusterConfig.placements needs one placement"))?;
    let need = |v: Option<String>, f: &str| {
        v.filter(|s| !s.is_empty()).ok_or_else(|| {
            ApiError::bad_request(format!("clusterConfig.placements[0].{f} is required"))
        })
    };
    let network = p.network.clone().unwrap_or_default();
    let pool = network.parent_pool_uid.clone().filter(|s| !s.is_empty());
    if cc.static_ip.unwrap_or(false) && pool.is_none() {
        return Err(ApiError::bad_request(
            "clusterConfig.staticIp needs placements[0].network.parentPoolUid: the IP pool of the gateway's nodes",
        ));
    }
    Ok((
        vsphere::vm::Placement {
            datacenter: need(p.datacenter, "datacenter")?,
            compute_cluster: need(p.cluster, "cluster")?,
            datastore: need(p.datastore, "datastore")?,
            network: need(network.network_name, "network.networkName")?,
            resource_pool: p.resource_pool.unwrap_or_default(),
            folder: p.folder.unwrap_or_default(),
        },
        pool,
    ))
}

fn size_of(cfg: &V1OverlordVsphereCloudConfig) -> Result<i32, ApiError> {
    match cfg.size.unwrap_or(1) {
        s @ (1 | 3) => Ok(s),
        other => Err(ApiError::bad_request(format!(
            "size {other} is not supported: a gateway has 1 or 3 nodes"
        ))),
    }
}

/// Placement, nodes' pool and size of a cloud config, or the 400 to answer.
fn checked_config(
    cfg: &V1OverlordVsphereCloudConfig,
) -> Result<(vsphere::vm::Placement, Option<String>, i32), ApiError> {
    let (placement, pool) = placement_of(cfg)?;
    Ok((placement, pool, size_of(cfg)?))
}

/// `POST /v1/overlords/vsphere/{uid}/cloudconfig`: starts provisioning.
pub async fn cloud_config_create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereCloudConfig>,
) -> Response {
    let (placement, pool, size) = match checked_config(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let (account, generation) = {
        let mut store = lab.store();
        let g = match gateway_mut(&mut store, &uid, &scope) {
            Ok(g) => g,
            Err(e) => return e.into_response(),
        };
        let Some((_, account)) = g.account.clone() else {
            return ApiError::bad_request(format!(
                "gateway '{}' has no vSphere account yet: POST /v1/overlords/vsphere/{uid}/account first",
                g.name
            ))
            .into_response();
        };
        if g.cloud_config.is_some() {
            return ApiError::conflict(format!(
                "gateway '{}' already has a cloud config; change it with PUT",
                g.name
            ))
            .into_response();
        }
        if let Some(p) = &pool {
            if !g.pools.iter().any(|x| &x.uid == p) {
                return ApiError::bad_request(format!(
                    "IP pool '{p}' is not a pool of gateway '{}'",
                    g.name
                ))
                .into_response();
            }
        }
        g.cloud_config = Some(body.clone());
        g.state = "Provisioning".into();
        g.generation += 1;
        let (name, generation) = (g.name.clone(), g.generation);
        store.event(
            KIND,
            &uid,
            &name,
            "Normal",
            "Provisioning",
            format!(
                "provisioning {size} node(s) in {}/{}",
                placement.datacenter, placement.compute_cluster
            ),
        );
        (account, generation)
    };
    spawn_provisioning(
        lab,
        uid.clone(),
        account,
        placement,
        pool,
        size as usize,
        generation,
        false,
    );
    (
        StatusCode::CREATED,
        Json(V1Uid {
            uid: Some(ids::new_uid()),
        }),
    )
        .into_response()
}

/// `PUT /v1/overlords/vsphere/{uid}/cloudconfig`: resize 1 -> 3 and
/// settings; 3 -> 1 is refused, as in Palette.
pub async fn cloud_config_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1OverlordVsphereCloudConfig>,
) -> Response {
    let (placement, pool, size) = match checked_config(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let (account, generation) = {
        let mut store = lab.store();
        let g = match gateway_mut(&mut store, &uid, &scope) {
            Ok(g) => g,
            Err(e) => return e.into_response(),
        };
        let Some(prior) = g.cloud_config.clone() else {
            return ApiError::bad_request("the gateway has no cloud config yet: POST it first")
                .into_response();
        };
        let old = prior.size.unwrap_or(1);
        if size < old {
            return ApiError::bad_request(format!(
                "a gateway cannot shrink from {old} to {size} nodes"
            ))
            .into_response();
        }
        let Some((_, account)) = g.account.clone() else {
            return ApiError::bad_request("the gateway has no vSphere account").into_response();
        };
        g.cloud_config = Some(body.clone());
        g.state = "Provisioning".into();
        g.generation += 1;
        let (name, generation) = (g.name.clone(), g.generation);
        let what = if size > old {
            format!("growing from {old} to {size} nodes")
        } else {
            format!("applying the cloud config to {size} node(s)")
        };
        store.event(KIND, &uid, &name, "Normal", "Resizing", what);
        (account, generation)
    };
    spawn_provisioning(
        lab,
        uid,
        account,
        placement,
        pool,
        size as usize,
        generation,
        false,
    );
    StatusCode::NO_CONTENT.into_response()
}

/// A node's cloud-config: the SSH keys and NTP servers of the gateway's
/// cloud config, as JSON (which is YAML) so nothing needs quoting rules.
fn cloud_init(ssh_keys: &[String], ntp: &[String]) -> String {
    let doc = serde_json::json!({
        "users": [{"name": "spectro", "ssh_authorized_keys": ssh_keys}],
        "ntp": {"enabled": !ntp.is_empty(), "servers": ntp},
    });
    format!("#cloud-config\n{doc}\n")
}

/// Brings the gateway to `size` healthy VMs, as Palette heals its nodes:
/// VMs deleted in vCenter are forgotten, powered-off ones powered on,
/// missing ones created. Then, after the (scaled) provisioning delay, the
/// gateway is Running, unless a reset or delete came in between. `adopt`
/// (after a restart) first looks for a node VM made but not recorded.
#[allow(clippy::too_many_arguments)]
fn spawn_provisioning(
    lab: Lab,
    uid: String,
    account: palette_api::models::V1VsphereCloudAccount,
    placement: vsphere::vm::Placement,
    pool: Option<String>,
    size: usize,
    generation: u64,
    adopt: bool,
) {
    lab.clone().spawn(async move {
        let current = |lab: &Lab| {
            lab.store()
                .gateways
                .iter()
                .find(|g| g.uid == uid)
                .map(|g| (g.generation == generation, g.name.clone(), g.vms.len()))
        };
        let fail = |lab: &Lab, reason: &str, message: String| {
            let mut store = lab.store();
            let name = store
                .gateways
                .iter_mut()
                .find(|g| g.uid == uid && g.generation == generation)
                .map(|g| {
                    g.state = "Failed".into();
                    g.name.clone()
                });
            if let Some(name) = name {
                store.event(KIND, &uid, &name, "Error", reason, message);
            }
        };
        let (struck, user_data) = {
            let mut store = lab.store();
            let found = store
                .gateways
                .iter()
                .find(|g| g.uid == uid)
                .map(|g| (g.name.clone(), g.cloud_config.clone()));
            let (name, cfg) = found.unwrap_or_default();
            let cc = cfg.and_then(|c| c.cluster_config).unwrap_or_default();
            let struck = crate::clusters::take_fault(
                &mut store,
                crate::clusters::ClusterFaultKind::ProvisioningFails,
                &name,
            );
            (
                struck,
                cloud_init(
                    &cc.ssh_keys.unwrap_or_default(),
                    &cc.ntp_servers.unwrap_or_default(),
                ),
            )
        };
        if struck {
            return fail(
                &lab,
                "ProvisioningFailed",
                "provisioning failed (palette-lab fault provisioning_fails)".into(),
            );
        }
        let session = match crate::accounts::login(&account).await {
            Ok(s) => s,
            Err(e) => {
                return fail(
                    &lab,
                    "ProvisioningFailed",
                    format!("cannot log in to vCenter: {e}"),
                )
            }
        };
        let at = match session.resolve(&placement).await {
            Ok(a) => a,
            Err(e) => return fail(&lab, "PlacementInvalid", e.to_string()),
        };
        let known: Vec<String> = lab
            .store()
            .gateways
            .iter()
            .find(|g| g.uid == uid)
            .map(|g| g.vms.clone())
            .unwrap_or_default();
        let mut live = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for vm in known {
            match crate::persist::vm_info_of(&session, &vm, MARKER, &uid).await {
                Ok(info) => {
                    if !info.powered_on {
                        let _ = session.power_on(&vm).await;
                    }
                    names.insert(info.name);
                    live.push(vm);
                }
                Err(e) if e.is_not_found() => {
                    let mut store = lab.store();
                    let name = store
                        .gateways
                        .iter()
                        .find(|g| g.uid == uid)
                        .map(|g| g.name.clone())
                        .unwrap_or_default();
                    store.event(
                        KIND,
                        &uid,
                        &name,
                        "Warning",
                        "NodeMissing",
                        format!("node VM {vm} is gone from vCenter; replacing it"),
                    );
                }
                Err(_) => live.push(vm),
            }
        }
        let missing = size.saturating_sub(live.len());
        if let Some(g) = lab.store().gateways.iter_mut().find(|g| g.uid == uid) {
            g.vms = live;
        }
        for _ in 0..missing {
            let Some((true, name, _)) = current(&lab) else {
                return;
            };
            let vm_name = (0..)
                .map(|i| format!("{name}-node-{i}"))
                .find(|n| !names.contains(n))
                .expect("an unused name");
            names.insert(vm_name.clone());
            if adopt {
                let path = format!("{}/{vm_name}", at.folder_path);
                if let Some(info) =
                    crate::persist::unrecorded_vm(&session, &path, MARKER, &uid).await
                {
                    if let Err(e) = session.power_on(&info.moref).await {
                        return fail(
                            &lab,
                            "VmPowerOnFailed",
                            format!("cannot power on {vm_name}: {e}"),
                        );
                    }
                    // Its address was taken from the pool before it was made.
                    let ip = info.extra_config.get("guestinfo.palette.ip").cloned();
                    let mut store = lab.store();
                    if let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) {
                        g.vms.push(info.moref.clone());
                        if g.ip_address.is_none() {
                            g.ip_address = ip.or_else(|| Some("10.0.0.10".into()));
                        }
                    }
                    store.event(
                        KIND,
                        &uid,
                        &name,
                        "Normal",
                        "NodeCreated",
                        format!("VM {path}, made before palette-lab restarted, kept as a node"),
                    );
                    continue;
                }
            }
            // Static IP: the next free address of the nodes' pool.
            let ip = match &pool {
                Some(p) => {
                    let mut store = lab.store();
                    let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) else {
                        return;
                    };
                    let Some(pl) = g.pools.iter_mut().find(|x| &x.uid == p) else {
                        drop(store);
                        return fail(
                            &lab,
                            "IpPoolMissing",
                            format!("IP pool {p} no longer exists"),
                        );
                    };
                    let gw_ip = pl.spec.gateway.as_deref().and_then(|s| s.parse().ok());
                    match pl.range.allocate(&pl.allotted, gw_ip) {
                        Some(ip) => {
                            pl.allotted.insert(ip);
                            pl.clusters.insert(g.cluster_uid.clone());
                            Some(ip.to_string())
                        }
                        None => {
                            let pool_name = pl.name.clone();
                            drop(store);
                            return fail(
                                &lab,
                                "IpPoolExhausted",
                                format!(
                                    "IP pool '{pool_name}' has no free address for node {vm_name}"
                                ),
                            );
                        }
                    }
                }
                None => None,
            };
            let mut extra = std::collections::BTreeMap::new();
            extra.insert("guestinfo.palette.gateway".to_string(), uid.clone());
            // The node's cloud-init, as Cluster API's vSphere provider hands
            // it over: where a real node's SSH keys and NTP servers are.
            extra.insert(
                "guestinfo.userdata".to_string(),
                base64::engine::general_purpose::STANDARD.encode(&user_data),
            );
            extra.insert(
                "guestinfo.userdata.encoding".to_string(),
                "base64".to_string(),
            );
            if let Some(ip) = &ip {
                extra.insert("guestinfo.palette.ip".to_string(), ip.clone());
            }
            let spec = vsphere::vm::VmSpec {
                name: vm_name.clone(),
                cpus: 4,
                memory_mb: 8192,
                annotation: Some(format!("Palette private cloud gateway {name} ({uid})")),
                extra_config: extra,
            };
            let vm = match session.create_vm(&spec, &at).await {
                Ok(vm) => vm,
                Err(e) => {
                    return fail(
                        &lab,
                        "VmCreateFailed",
                        format!("cannot create {vm_name}: {e}"),
                    )
                }
            };
            if let Err(e) = session.power_on(&vm).await {
                return fail(
                    &lab,
                    "VmPowerOnFailed",
                    format!("cannot power on {vm_name}: {e}"),
                );
            }
            let mut store = lab.store();
            if let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) {
                g.vms.push(vm.clone());
                if g.ip_address.is_none() {
                    g.ip_address = ip.clone().or_else(|| Some("10.0.0.10".into()));
                }
            }
            store.event(
                KIND,
                &uid,
                &name,
                "Normal",
                "NodeCreated",
                format!("VM {}/{vm_name} created and powered on", at.folder_path),
            );
        }
        let _ = session.logout().await;
        tokio::time::sleep(lab.scaled(PROVISIONING_DELAY)).await;
        let mut store = lab.store();
        let done = store
            .gateways
            .iter_mut()
            .find(|g| g.uid == uid && g.generation == generation)
            .map(|g| {
                g.state = "Running".into();
                g.name.clone()
            });
        if let Some(name) = done {
            store.event(
                KIND,
                &uid,
                &name,
                "Normal",
                "Running",
                "gateway is Running and healthy",
            );
        }
    });
}

/// After a restart: a gateway that was `Provisioning` provisions again from
/// its saved cloud config (see persist.rs for why the delay starts over).
pub(crate) fn resume(lab: &Lab) {
    let mut runs = Vec::new();
    {
        let mut store = lab.store();
        let mut stuck = Vec::new();
        for g in store.gateways.iter().filter(|g| g.state == "Provisioning") {
            let config = g.cloud_config.as_ref().map(checked_config);
            match (g.account.clone(), config) {
                (Some((_, account)), Some(Ok((placement, pool, size)))) => runs.push((
                    g.uid.clone(),
                    g.name.clone(),
                    account,
                    placement,
                    pool,
                    size,
                    g.generation,
                )),
                // Provisioning is only entered with both; a hand-edited file
                // must still end somewhere definite, not hang in Provisioning.
                _ => stuck.push((g.uid.clone(), g.name.clone())),
            }
        }
        for (uid, name) in stuck {
            if let Some(g) = store.gateways.iter_mut().find(|g| g.uid == uid) {
                g.state = "Failed".into();
            }
            store.event(
                KIND,
                &uid,
                &name,
                "Error",
                "ProvisioningFailed",
                "palette-lab restarted while provisioning and the saved gateway has no valid \
                 account and cloud config to provision from",
            );
        }
        for (uid, name, ..) in &runs {
            store.event(
                KIND,
                uid,
                name,
                "Normal",
                "LabRestarted",
                "palette-lab restarted while provisioning; provisioning again from the saved \
                 cloud config",
            );
        }
    }
    for (uid, _, account, placement, pool, size, generation) in runs {
        spawn_provisioning(
            lab.clone(),
            uid,
            account,
            placement,
            pool,
            size as usize,
            generation,
            true,
        );
    }
}

// ---------------------------------------------------------------- metadata, reset, delete

/// `PUT /v1/overlords/{uid}/metadata`: rename.
pub async fn metadata_update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1ObjectMetaInputEntitySchema>,
) -> Response {
    let name = body
        .metadata
        .and_then(|m| m.name)
        .filter(|n| !n.trim().is_empty());
    let Some(name) = name else {
        return ApiError::bad_request("metadata.name is required").into_response();
    };
    let mut store = lab.store();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let old = std::mem::replace(&mut g.name, name.clone());
    store.event(
        KIND,
        &uid,
        &name,
        "Normal",
        "Renamed",
        format!("renamed from {old:?}"),
    );
    StatusCode::NO_CONTENT.into_response()
}

/// Removes the gateway's VMs from vCenter with its own account.
async fn delete_vms(
    uid: &str,
    account: Option<palette_api::models::V1VsphereCloudAccount>,
    vms: Vec<String>,
) -> Result<(), String> {
    if vms.is_empty() {
        return Ok(());
    }
    let Some(account) = account else {
        return Err("the gateway has VMs but no vSphere account".into());
    };
    let s = crate::accounts::login(&account)
        .await
        .map_err(|e| e.to_string())?;
    for vm in vms {
        crate::persist::destroy_vm_of(&s, &vm, MARKER, uid)
            .await
            .map_err(|e| e.to_string())?;
    }
    let _ = s.logout().await;
    Ok(())
}

/// `PUT /v1/overlords/{uid}/reset`: back to Pending, nodes removed, so the
/// gateway can be configured again (the console's Reset button).
pub async fn reset(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let (account, vms) = {
        let mut store = lab.store();
        // Addresses the clusters' nodes hold are theirs, not the gateway's.
        let held = crate::clusters::cluster_ips(&store, &uid);
        let g = match gateway_mut(&mut store, &uid, &scope) {
            Ok(g) => g,
            Err(e) => return e.into_response(),
        };
        g.generation += 1;
        g.state = "Pending".into();
        g.cloud_config = None;
        g.ip_address = None;
        let vms = std::mem::take(&mut g.vms);
        let cluster = g.cluster_uid.clone();
        for p in &mut g.pools {
            if p.clusters.remove(&cluster) {
                p.allotted.retain(|ip| held.contains(ip));
            }
        }
        let (name, account) = (g.name.clone(), g.account.clone().map(|(_, a)| a));
        store.event(
            KIND,
            &uid,
            &name,
            "Warning",
            "Reset",
            "gateway reset to Pending; its nodes are removed",
        );
        (account, vms)
    };
    if let Err(e) = delete_vms(&uid, account, vms).await {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "ResetFailed", e).into_response();
    }
    Json(V1UpdatedMsg {
        msg: Some("gateway reset".into()),
    })
    .into_response()
}

/// `DELETE /v1/overlords/{uid}`: refused while clusters use the gateway;
/// otherwise its VMs leave vCenter and the gateway leaves Palette. The
/// installer VM is the installer's owner's to remove.
pub async fn delete(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let (account, vms) = {
        let store = lab.store();
        let Some(g) = store.gateways.iter().find(|g| is_gateway(g, &uid, &scope)) else {
            return ApiError::not_found("private cloud gateway", &uid).into_response();
        };
        let users: Vec<String> = store
            .accounts
            .iter()
            .filter(|a| a.gateway_uid == uid)
            .flat_map(|a| store.clusters_using_account(&a.uid))
            .collect();
        if !users.is_empty() {
            return ApiError::conflict(format!(
                "gateway '{}' is used by cluster(s) {}; delete them first",
                g.name,
                users.join(", ")
            ))
            .into_response();
        }
        (g.account.clone().map(|(_, a)| a), g.vms.clone())
    };
    if let Err(e) = delete_vms(&uid, account, vms).await {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "DeleteFailed", e).into_response();
    }
    let mut store = lab.store();
    let name = store
        .gateways
        .iter()
        .find(|g| g.uid == uid)
        .map(|g| g.name.clone())
        .unwrap_or_default();
    store.gateways.retain(|g| g.uid != uid);
    store.event(KIND, &uid, &name, "Normal", "Deleted", "gateway deleted");
    Json(V1DeletedMsg {
        msg: Some("gateway deleted".into()),
    })
    .into_response()
}

// ---------------------------------------------------------------- vSphere properties

/// The account a gateway lists vSphere objects with: its own, or for a
/// gateway made Running through the admin shortcut (which has none) the
/// lab's vCenter.
fn inventory_account(
    lab: &Lab,
    scope: &Scope,
    uid: &str,
) -> Result<V1VsphereCloudAccount, ApiError> {
    let store = lab.store();
    let g = store
        .gateways
        .iter()
        .find(|g| is_gateway(g, uid, scope))
        .ok_or_else(|| ApiError::not_found("private cloud gateway", uid))?;
    if let Some((_, spec)) = &g.account {
        return Ok(spec.clone());
    }
    match &lab.options.vcenter {
        Some(vc) => Ok(V1VsphereCloudAccount {
            vcenter_server: Some(vc.target.server.clone()),
            username: Some(vc.user.clone()),
            password: Some(vc.password.clone()),
            // The trust the lab was started with (`--vcenter-insecure`, or
            // its own vcsim's self-signed certificate), never weaker.
            insecure: Some(vc.target.insecure),
        }),
        None => Err(ApiError::bad_request(format!(
            "private cloud gateway {uid} has no vSphere account yet; configure it first"
        ))),
    }
}

fn inventory_error(e: vsphere::Error) -> ApiError {
    match &e {
        vsphere::Error::NotFound { .. } => {
            ApiError::new(StatusCode::NOT_FOUND, "ResourceNotFound", e.to_string())
        }
        _ => ApiError::new(StatusCode::BAD_GATEWAY, "VsphereUnreachable", e.to_string()),
    }
}

/// `GET /v1/overlords/vsphere/{uid}/properties/datacenters`: what the
/// console's placement dialogs offer, read from vCenter as the gateway sees it.
pub async fn datacenters(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let spec = match inventory_account(&lab, &scope, &uid) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let session = match accounts::login(&spec).await {
        Ok(s) => s,
        Err(e) => return inventory_error(e).into_response(),
    };
    let listed = session.datacenters().await;
    let _ = session.logout().await;
    match listed {
        Ok(dcs) => Json(V1VsphereDatacenters {
            items: Some(
                dcs.into_iter()
                    .map(|d| V1VsphereDatacenter {
                        datacenter: Some(d.name),
                        computeclusters: Some(d.compute_clusters),
                        folders: Some(d.folders),
                    })
                    .collect(),
            ),
        })
        .into_response(),
        Err(e) => inventory_error(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct ClusterQuery {
    #[serde(default)]
    datacenter: String,
    #[serde(default)]
    computecluster: String,
}

/// `GET /v1/overlords/vsphere/{uid}/properties/computecluster/resources`.
pub async fn compute_cluster_resources(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Query(q): Query<ClusterQuery>,
) -> Response {
    if q.datacenter.is_empty() || q.computecluster.is_empty() {
        return ApiError::bad_request(
            "query parameters datacenter and computecluster are required",
        )
        .into_response();
    }
    let spec = match inventory_account(&lab, &scope, &uid) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let session = match accounts::login(&spec).await {
        Ok(s) => s,
        Err(e) => return inventory_error(e).into_response(),
    };
    let listed = session
        .cluster_resources(&q.datacenter, &q.computecluster)
        .await;
    let _ = session.logout().await;
    match listed {
        Ok(r) => Json(V1VsphereComputeClusterResources {
            datacenter: Some(q.datacenter),
            computecluster: Some(V1VsphereComputeCluster {
                name: Some(q.computecluster),
                datastores: Some(r.datastores),
                networks: Some(r.networks),
                resource_pools: Some(r.resource_pools),
            }),
        })
        .into_response(),
        Err(e) => inventory_error(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_installer_is_read_from_vcenters_vapp_properties() {
        use vsphere::vm::{OvfProperty, VmInfo};
        let prop = |key: &str, value: &str| OvfProperty {
            key: key.into(),
            label: Some(key.into()),
            value: value.into(),
        };
        // vCenter: vAppConfig properties, and extraConfig with VMX settings.
        let vm = VmInfo {
            moref: "vm-42".into(),
            name: "installer".into(),
            powered_on: true,
            annotation: None,
            extra_config: [("svga.present".to_string(), "TRUE".to_string())].into(),
            properties: vec![
                prop(super::keys::NAME, "pcg-1"),
                prop(super::keys::CONSOLE_ENDPOINT, "https://palette.example"),
                prop(super::keys::PAIRING_CODE, "ABC123"),
            ],
        };
        let p = super::InstallerProps::from_vm(&vm).expect("an installer");
        assert_eq!(p.name, "pcg-1");
        assert_eq!(p.console_endpoint, "https://palette.example");
        assert_eq!(p.pairing_code, "ABC123");
        // A VM deployed without the installer's properties is not one.
        let plain = VmInfo {
            properties: vec![prop(super::keys::NAME, "x")],
            ..vm
        };
        assert!(super::InstallerProps::from_vm(&plain).is_none());
    }

    #[test]
    fn the_ova_is_a_tar_with_the_descriptor_first() {
        let bytes = super::ova_bytes();
        let mut a = tar::Archive::new(bytes.as_slice());
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            vec![
                "palette-installer.ovf",
                "palette-installer.mf",
                "palette-installer-disk1.vmdk"
            ]
        );
        // The manifest holds: clients that check it accept the lab's OVA.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("installer.ova");
        std::fs::write(&path, &bytes).unwrap();
        let ova = vsphere::ovf::Ova::open(&path).unwrap();
        assert_eq!(
            ova.verified,
            vec!["palette-installer.ovf", "palette-installer-disk1.vmdk"]
        );
        for key in [
            super::keys::NAME,
            super::keys::PAIRING_CODE,
            super::keys::CONSOLE_ENDPOINT,
        ] {
            assert!(super::OVF.contains(&format!("ovf:key=\"{key}\"")), "{key}");
        }
    }
}
