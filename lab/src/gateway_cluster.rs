//! A private cloud gateway is a Kubernetes cluster of its own: Palette names
//! it in the gateway's `spec.spectroClusterUid`, and that cluster answers the
//! cluster and cloud config endpoints like any other, with one control-plane
//! pool whose machines are the gateway's node VMs. This is how Palette
//! reports which VMs are a gateway's, and the provider takes it as the
//! evidence for owning (and deleting) them; a name that merely looks like
//! the gateway's proves nothing.
//!
//! The gateway's cluster uid doubles as its cloud config uid (the lab keeps
//! no separate record); tenant clusters are served by [`crate::clusters`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{
    V1CloudMachineStatus, V1MachineAddress, V1ObjectMeta, V1ObjectReference, V1SpectroCluster,
    V1SpectroClusterSpec, V1SpectroClusterStatus, V1VsphereCloudConfig, V1VsphereCloudConfigSpec,
    V1VsphereClusterConfig, V1VsphereInstanceType, V1VsphereMachine, V1VsphereMachinePoolConfig,
    V1VsphereMachineSpec, V1VsphereMachines, V1VsphereNetworkConfig, V1VsphereNic,
    V1VspherePlacementConfig,
};

use crate::error::ApiError;
use crate::model::gateway::{visible, Gateway};
use crate::state::{Lab, Scope};

/// The gateway cluster's one machine pool: its nodes are control planes.
pub const POOL: &str = "master-pool";

fn gateway_by_cluster(lab: &Lab, uid: &str, scope: &Scope) -> Option<Gateway> {
    lab.store()
        .gateways
        .iter()
        .find(|g| !g.cluster_uid.is_empty() && g.cluster_uid == uid && visible(g, scope))
        .cloned()
}

fn placement(g: &Gateway) -> V1VspherePlacementConfig {
    let p = g
        .cloud_config
        .as_ref()
        .and_then(|c| c.cluster_config.as_ref())
        .and_then(|c| c.placements.as_ref())
        .and_then(|p| p.first().cloned())
        .unwrap_or_default();
    let net = p.network.unwrap_or_default();
    V1VspherePlacementConfig {
        cluster: p.cluster,
        datacenter: p.datacenter,
        datastore: p.datastore,
        folder: p.folder,
        resource_pool: p.resource_pool,
        // A gateway reset (or not yet configured) has no network to name,
        // and the spec requires a name wherever a network is given.
        network: net.network_name.map(|name| V1VsphereNetworkConfig {
            network_name: Some(name),
            static_ip: net.static_ip,
            parent_pool_ref: net.parent_pool_uid.map(|uid| V1ObjectReference {
                kind: Some("IPPool".into()),
                uid: Some(uid),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn instance() -> V1VsphereInstanceType {
    // What the lab gives every gateway node (see gateways::spawn_provisioning).
    V1VsphereInstanceType {
        num_cp_us: Some(4),
        memory_mi_b: Some(8192),
        disk_gi_b: Some(60),
    }
}

/// `GET /v1/spectroclusters/{uid}`: a gateway's own cluster, else a tenant
/// cluster.
pub async fn get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let Some(g) = gateway_by_cluster(&lab, &uid, &scope) else {
        return crate::clusters::get(State(lab), Extension(scope), Path(uid)).await;
    };
    Json(V1SpectroCluster {
        api_version: Some("v1".into()),
        kind: Some("SpectroCluster".into()),
        metadata: Some(V1ObjectMeta {
            name: Some(g.name.clone()),
            uid: Some(g.cluster_uid.clone()),
            creation_timestamp: (!g.created.is_empty()).then(|| g.created.clone()),
            ..Default::default()
        }),
        spec: Some(V1SpectroClusterSpec {
            cloud_type: Some("vsphere".into()),
            cloud_config_ref: Some(V1ObjectReference {
                kind: Some("VsphereCloudConfig".into()),
                name: Some(g.name.clone()),
                uid: Some(g.cluster_uid.clone()),
            }),
            cluster_type: Some("PureManage".into()),
            ..Default::default()
        }),
        status: Some({
            let (spc_apply, upgrades) = crate::upgrades::cluster_status(&g);
            V1SpectroClusterStatus {
                state: Some(g.state.clone()),
                spc_apply,
                upgrades,
                ..Default::default()
            }
        }),
    })
    .into_response()
}

/// `GET /v1/cloudconfigs/vsphere/{configUid}`.
pub async fn cloud_config_get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(config): Path<String>,
) -> Response {
    let Some(g) = gateway_by_cluster(&lab, &config, &scope) else {
        return crate::clusters::cloud_config_get(State(lab), Extension(scope), Path(config)).await;
    };
    let cc = g
        .cloud_config
        .as_ref()
        .and_then(|c| c.cluster_config.clone())
        .unwrap_or_default();
    let size = g.cloud_config.as_ref().and_then(|c| c.size).unwrap_or(0);
    Json(V1VsphereCloudConfig {
        api_version: Some("v1".into()),
        kind: Some("VsphereCloudConfig".into()),
        metadata: Some(V1ObjectMeta {
            name: Some(g.name.clone()),
            uid: Some(g.cluster_uid.clone()),
            ..Default::default()
        }),
        spec: Some(V1VsphereCloudConfigSpec {
            cloud_account_ref: g.account.as_ref().map(|(uid, _)| V1ObjectReference {
                kind: Some("VsphereCloudAccount".into()),
                uid: Some(uid.clone()),
                ..Default::default()
            }),
            cluster_config: Some(V1VsphereClusterConfig {
                ntp_servers: cc.ntp_servers,
                ssh_keys: cc.ssh_keys,
                static_ip: cc.static_ip,
                placement: Some(placement(&g)),
                ..Default::default()
            }),
            machine_pool_config: Some(vec![V1VsphereMachinePoolConfig {
                name: Some(POOL.into()),
                is_control_plane: Some(true),
                instance_type: Some(instance()),
                size: Some(size),
                placements: Some(vec![placement(&g)]),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    })
    .into_response()
}

/// `GET /v1/cloudconfigs/vsphere/{configUid}/machinePools/{name}/machines`:
/// the gateway's node VMs that vCenter still has, by the names vCenter
/// gives them. (The lab replaces a node VM that vanished, so a gone VM is
/// not listed; Palette would list it until its replacement is up.)
pub async fn machines(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((config, pool)): Path<(String, String)>,
) -> Response {
    let Some(g) = gateway_by_cluster(&lab, &config, &scope) else {
        return crate::clusters::machines(State(lab), Extension(scope), Path((config, pool))).await;
    };
    if pool != POOL {
        return ApiError::not_found("machine pool", &pool).into_response();
    }
    let mut items = Vec::new();
    if let (Some((_, account)), false) = (&g.account, g.vms.is_empty()) {
        let session = match crate::accounts::login(account).await {
            Ok(s) => s,
            Err(e) => {
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    format!("cannot reach the gateway's vCenter: {e}"),
                )
                .into_response()
            }
        };
        for vm in &g.vms {
            let info = match session.vm_info(vm).await {
                Ok(i) => i,
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    let _ = session.logout().await;
                    return ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        format!("cannot read node VM {vm}: {e}"),
                    )
                    .into_response();
                }
            };
            let ip = info.extra_config.get("guestinfo.palette.ip").cloned();
            items.push(V1VsphereMachine {
                api_version: Some("v1".into()),
                kind: Some("VsphereMachine".into()),
                metadata: Some(V1ObjectMeta {
                    name: Some(info.name.clone()),
                    uid: Some(format!("{}-{}", g.cluster_uid, info.moref)),
                    ..Default::default()
                }),
                spec: Some(V1VsphereMachineSpec {
                    nics: Some(vec![V1VsphereNic {
                        index: Some(0),
                        network_name: placement(&g).network.and_then(|n| n.network_name),
                        private_i_ps: ip.clone().map(|ip| vec![ip]),
                        ..Default::default()
                    }]),
                    placement: Some(placement(&g)),
                    instance_type: Some(instance()),
                    vcenter_server: account.vcenter_server.clone(),
                    ..Default::default()
                }),
                status: Some(V1CloudMachineStatus {
                    instance_state: Some(
                        if info.powered_on {
                            "Running"
                        } else {
                            "Unknown"
                        }
                        .into(),
                    ),
                    ready: Some(info.powered_on),
                    addresses: ip.map(|ip| {
                        vec![V1MachineAddress {
                            address: Some(ip),
                            r#type: Some("InternalIP".into()),
                        }]
                    }),
                    ..Default::default()
                }),
            });
        }
        let _ = session.logout().await;
    }
    Json(V1VsphereMachines {
        items: Some(items),
        listmeta: None,
    })
    .into_response()
}
