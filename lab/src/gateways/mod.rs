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
use crate::model::gateway::{visible, Gateway, MARKER};
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
const OVF: &str = include_str!("../../assets/palette-installer.ovf");
const KIND: &str = "overlord";

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

mod installer;
mod provisioning;

pub use installer::*;
pub use provisioning::*;

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
        let held = crate::store::cluster_ips(&store, &uid);
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
