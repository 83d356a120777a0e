//! Private cloud gateways (the API's "overlords") as far as IP pools need
//! them, and the pools themselves: `/v1/overlords/vsphere/{uid}/pools`.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{V1IpPoolInputEntity, V1IpPools, V1Overlords, V1Pool, V1Uid};
use palette_api::pool::{self, PoolInput, PoolRange};

use crate::error::ApiError;
use crate::ids;
use crate::model::gateway::{visible, Gateway, Pool};
use crate::state::{Lab, Scope};

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
                match crate::persist::vm_info_of(&s, vm, crate::model::gateway::MARKER, &uid).await
                {
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
    /// The gateway's state: `Running` when left out; `Provisioning` or
    /// `Failed` make a gateway stuck as the console's Reset button expects.
    #[serde(default)]
    pub state: Option<String>,
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
        state: body.state.unwrap_or_else(|| "Running".into()),
        cluster_uid: ids::new_uid(),
        created: lab.clock.now(),
        ..Default::default()
    });
    (StatusCode::CREATED, Json(serde_json::json!({"uid": uid}))).into_response()
}
