//! Private cloud gateways (the API's "overlords") as far as IP pools need
//! them, and the pools themselves: `/v1/overlords/vsphere/{uid}/pools`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{
    V1IpPoolEntity, V1IpPoolEntitySpec, V1IpPoolInputEntity, V1IpPoolStatus, V1IpPools,
    V1ObjectMeta, V1OverloadStatus, V1Overlord, V1Overlords, V1Pool, V1SpectroClusterHealthStatus,
    V1Uid,
};
use palette_api::pool::{self, PoolInput, PoolRange};

use crate::error::ApiError;
use crate::ids;
use crate::state::{Lab, Scope};

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Gateway {
    pub uid: String,
    pub name: String,
    pub scope: Scope,
    pub state: String,
    pub pools: Vec<Pool>,
    /// The installer side: the pairing code it registered with and the
    /// installer VM (managed object id) it came from.
    pub pairing_code: Option<String>,
    pub installer_vm: Option<String>,
    /// The gateway's own vSphere account (uid, spec with password).
    pub account: Option<(String, palette_api::models::V1VsphereCloudAccount)>,
    pub cloud_config: Option<palette_api::models::V1OverlordVsphereCloudConfig>,
    /// Managed object ids of the gateway's VMs in vCenter.
    pub vms: Vec<String>,
    pub ip_address: Option<String>,
    pub cluster_uid: String,
    pub created: String,
    /// Bumped on every lifecycle change so a stale background step can
    /// tell that it no longer applies.
    pub generation: u64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    pub uid: String,
    pub name: String,
    pub spec: V1Pool,
    #[serde(with = "RangeDef")]
    pub range: PoolRange,
    pub restrict_to_single_cluster: bool,
    pub allotted: BTreeSet<IpAddr>,
    pub clusters: BTreeSet<String>,
}

/// [`PoolRange`] is the API crate's and carries no serde of its own.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(remote = "PoolRange")]
struct RangeDef {
    first: IpAddr,
    last: IpAddr,
}

impl Gateway {
    pub(crate) fn to_api(&self) -> V1Overlord {
        V1Overlord {
            kind: Some("Overlord".into()),
            metadata: Some(V1ObjectMeta {
                name: Some(self.name.clone()),
                uid: Some(self.uid.clone()),
                creation_timestamp: (!self.created.is_empty()).then(|| self.created.clone()),
                ..Default::default()
            }),
            spec: Some(palette_api::models::V1OverloadSpec {
                cloud_account_uid: self.account.as_ref().map(|(u, _)| u.clone()),
                ip_address: self.ip_address.clone(),
                spectro_cluster_uid: (!self.cluster_uid.is_empty())
                    .then(|| self.cluster_uid.clone()),
                ..Default::default()
            }),
            status: Some(V1OverloadStatus {
                state: Some(self.state.clone()),
                health: Some(V1SpectroClusterHealthStatus {
                    state: Some(
                        if self.state == "Running" {
                            "Healthy"
                        } else {
                            "Unknown"
                        }
                        .into(),
                    ),
                    ..Default::default()
                }),
                is_active: Some(true),
                is_ready: Some(self.state == "Running"),
                ..Default::default()
            }),
        }
    }
}

impl Pool {
    fn to_api(&self, gateway_uid: &str) -> V1IpPoolEntity {
        V1IpPoolEntity {
            metadata: Some(V1ObjectMeta {
                name: Some(self.name.clone()),
                uid: Some(self.uid.clone()),
                ..Default::default()
            }),
            spec: Some(V1IpPoolEntitySpec {
                pool: Some(self.spec.clone()),
                priavet_gateway_uid: Some(gateway_uid.to_string()),
                restrict_to_single_cluster: Some(self.restrict_to_single_cluster),
            }),
            status: Some(V1IpPoolStatus {
                allotted_ips: Some(self.allotted.iter().map(|ip| ip.to_string()).collect()),
                associated_clusters: Some(self.clusters.iter().cloned().collect()),
                in_use: Some(!self.allotted.is_empty()),
            }),
        }
    }
}

/// Finds a gateway visible from `scope`: a project sees its own and the
/// tenant's gateways, the tenant only its own.
pub(crate) fn visible(g: &Gateway, scope: &Scope) -> bool {
    g.scope == Scope::Tenant || &g.scope == scope
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub name: Option<String>,
}

pub async fn list_gateways(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    let store = lab.store();
    let items = store
        .gateways
        .iter()
        .filter(|g| visible(g, &scope))
        .filter(|g| q.name.as_deref().is_none_or(|n| n == g.name))
        .map(Gateway::to_api)
        .collect();
    Json(V1Overlords { items: Some(items) }).into_response()
}

pub async fn get_gateway(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let (mut api, account, vms) = {
        let store = lab.store();
        match store
            .gateways
            .iter()
            .find(|g| g.uid == uid && visible(g, &scope))
        {
            Some(g) => (
                g.to_api(),
                g.account.clone().map(|(_, a)| a),
                if g.state == "Running" {
                    g.vms.clone()
                } else {
                    Vec::new()
                },
            ),
            None => return ApiError::not_found("private cloud gateway", &uid).into_response(),
        }
    };
    // As Palette's agents see it: a node VM powered off or gone in vCenter
    // makes a Running gateway Unhealthy (until provisioning heals it).
    if let (Some(a), false) = (account, vms.is_empty()) {
        if let Ok(s) = crate::accounts::login(&a).await {
            let mut healthy = true;
            for vm in &vms {
                match crate::persist::vm_info_of(&s, vm, crate::gateways::MARKER, &uid).await {
                    Ok(i) if i.powered_on => {}
                    Ok(_) => healthy = false,
                    Err(e) if e.is_not_found() => healthy = false,
                    Err(_) => {}
                }
            }
            let _ = s.logout().await;
            if !healthy {
                if let Some(h) = api.status.as_mut().and_then(|st| st.health.as_mut()) {
                    h.state = Some("Unhealthy".into());
                }
            }
        }
    }
    Json(api).into_response()
}

pub async fn list_pools(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    match store
        .gateways
        .iter()
        .find(|g| g.uid == uid && visible(g, &scope))
    {
        Some(g) => Json(V1IpPools {
            items: Some(g.pools.iter().map(|p| p.to_api(&g.uid)).collect()),
        })
        .into_response(),
        None => ApiError::not_found("private cloud gateway", &uid).into_response(),
    }
}

/// Checks a pool body the way the API does: 400 with what is wrong.
fn checked(body: &V1IpPoolInputEntity) -> Result<(String, V1Pool, PoolRange, bool), ApiError> {
    let name = body
        .metadata
        .as_ref()
        .and_then(|m| m.name.clone())
        .filter(|n| !n.trim().is_empty());
    let name = name.ok_or_else(|| ApiError::bad_request("metadata.name is required"))?;
    let spec = body
        .spec
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("spec is required"))?;
    let p = spec
        .pool
        .clone()
        .ok_or_else(|| ApiError::bad_request("spec.pool is required"))?;
    let input = PoolInput {
        start: p.start.as_deref(),
        end: p.end.as_deref(),
        subnet: p.subnet.as_deref(),
        prefix: p.prefix.map(i64::from),
        gateway: p.gateway.as_deref(),
    };
    let range = pool::check(&input).map_err(|problems| {
        let msg: Vec<String> = problems
            .iter()
            .map(|pr| format!("spec.pool.{}: {}", pr.field, pr.message))
            .collect();
        ApiError::bad_request(msg.join("; "))
    })?;
    Ok((
        name,
        p,
        range,
        spec.restrict_to_single_cluster.unwrap_or(false),
    ))
}

/// The gateway `uid` as seen from `scope`, for a change; 404 otherwise.
fn gateway_mut<'a>(
    store: &'a mut crate::state::Store,
    uid: &str,
    scope: &Scope,
) -> Result<&'a mut Gateway, ApiError> {
    store
        .gateways
        .iter_mut()
        .find(|g| g.uid == uid && visible(g, scope))
        .ok_or_else(|| ApiError::not_found("private cloud gateway", uid))
}

fn overlapping<'a>(g: &'a Gateway, range: &PoolRange, except: Option<&str>) -> Option<&'a Pool> {
    g.pools
        .iter()
        .find(|p| Some(p.uid.as_str()) != except && p.range.overlaps(range))
}

pub async fn create_pool(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1IpPoolInputEntity>,
) -> Response {
    let (name, spec, range, restrict) = match checked(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let mut store = lab.store();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    if g.pools.iter().any(|p| p.name == name) {
        return ApiError::conflict(format!(
            "an IP pool named '{name}' already exists on gateway '{}'",
            g.name
        ))
        .into_response();
    }
    if let Some(other) = overlapping(g, &range, None) {
        return ApiError::bad_request(format!(
            "the pool overlaps IP pool '{}' of the same gateway",
            other.name
        ))
        .into_response();
    }
    let pool_uid = ids::new_uid();
    g.pools.push(Pool {
        uid: pool_uid.clone(),
        name,
        spec,
        range,
        restrict_to_single_cluster: restrict,
        allotted: BTreeSet::new(),
        clusters: BTreeSet::new(),
    });
    (
        StatusCode::CREATED,
        Json(V1Uid {
            uid: Some(pool_uid),
        }),
    )
        .into_response()
}

pub async fn update_pool(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((uid, pool_uid)): Path<(String, String)>,
    Json(body): Json<V1IpPoolInputEntity>,
) -> Response {
    let (name, spec, range, restrict) = match checked(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let mut store = lab.store();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    if let Some(other) = overlapping(g, &range, Some(&pool_uid)) {
        return ApiError::bad_request(format!(
            "the pool overlaps IP pool '{}' of the same gateway",
            other.name
        ))
        .into_response();
    }
    if g.pools.iter().any(|p| p.name == name && p.uid != pool_uid) {
        return ApiError::conflict(format!("an IP pool named '{name}' already exists"))
            .into_response();
    }
    let Some(p) = g.pools.iter_mut().find(|p| p.uid == pool_uid) else {
        return ApiError::not_found("IP pool", &pool_uid).into_response();
    };
    if let Some(ip) = p.allotted.iter().find(|ip| !range.contains(**ip)) {
        return ApiError::bad_request(format!(
            "the new range leaves out {ip}, which is allotted to a cluster"
        ))
        .into_response();
    }
    p.name = name;
    p.spec = spec;
    p.range = range;
    p.restrict_to_single_cluster = restrict;
    StatusCode::NO_CONTENT.into_response()
}

pub async fn delete_pool(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path((uid, pool_uid)): Path<(String, String)>,
) -> Response {
    let mut store = lab.store();
    let g = match gateway_mut(&mut store, &uid, &scope) {
        Ok(g) => g,
        Err(e) => return e.into_response(),
    };
    let Some(i) = g.pools.iter().position(|p| p.uid == pool_uid) else {
        return ApiError::not_found("IP pool", &pool_uid).into_response();
    };
    if !g.pools[i].allotted.is_empty() {
        let clusters: Vec<_> = g.pools[i].clusters.iter().cloned().collect();
        return ApiError::conflict(format!(
            "the IP pool is in use by cluster(s) {}",
            clusters.join(", ")
        ))
        .into_response();
    }
    g.pools.remove(i);
    StatusCode::NO_CONTENT.into_response()
}

/// Lab shortcut: a gateway that is already Running, with no installer VM,
/// so pool, account and cluster tests need not repeat the install.
#[derive(serde::Deserialize)]
pub struct NewGateway {
    pub name: String,
    #[serde(default)]
    pub project_uid: Option<String>,
}

pub async fn admin_new_gateway(State(lab): State<Lab>, Json(body): Json<NewGateway>) -> Response {
    let mut store = lab.store();
    let scope = match body.project_uid {
        Some(p) if store.project(&p).is_none() => {
            return ApiError::not_found("project", &p).into_response()
        }
        Some(p) => Scope::Project(p),
        None => Scope::Tenant,
    };
    let uid = ids::new_uid();
    store.gateways.push(Gateway {
        uid: uid.clone(),
        name: body.name,
        scope,
        state: "Running".into(),
        cluster_uid: ids::new_uid(),
        created: lab.clock.now(),
        ..Default::default()
    });
    (StatusCode::CREATED, Json(serde_json::json!({"uid": uid}))).into_response()
}
