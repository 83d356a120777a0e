//! vSphere cloud accounts (`/v1/cloudaccounts/vsphere`) and the gateway's
//! account check (`/v1/overlords/vsphere/{uid}/account/validate`).
//!
//! As in Palette, an account is bound to a private cloud gateway through the
//! `overlordUid` annotation, its credentials are checked against vCenter
//! before they are stored (the lab logs in, as the gateway would), and the
//! password is never returned.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{V1Uid, V1VsphereAccount, V1VsphereAccounts, V1VsphereCloudAccount};

use crate::error::ApiError;
use crate::ids;
use crate::model::account::{visible, Account, OVERLORD_ANNOTATION};
use crate::model::gateway;
use crate::state::{Lab, Scope};

/// A session in the account's vCenter with the account's credentials.
pub(crate) async fn login(
    spec: &V1VsphereCloudAccount,
) -> Result<vsphere::Session, vsphere::Error> {
    let target = vsphere::Target::parse(
        spec.vcenter_server.as_deref().unwrap_or_default(),
        spec.insecure.unwrap_or(false),
    )?;
    vsphere::Session::login(
        &target,
        spec.username.as_deref().unwrap_or_default(),
        spec.password.as_deref().unwrap_or_default(),
    )
    .await
}

/// Logs in to the account's vCenter as the gateway would; a wrong password
/// or an unreachable server is a 400 that says which.
pub async fn check_credentials(spec: &V1VsphereCloudAccount) -> Result<(), ApiError> {
    let server = spec.vcenter_server.clone().unwrap_or_default();
    let user = spec.username.clone().unwrap_or_default();
    let password = spec.password.clone().unwrap_or_default();
    if server.trim().is_empty() {
        return Err(ApiError::bad_request("spec.vcenterServer is required"));
    }
    if user.is_empty() || password.is_empty() {
        return Err(ApiError::bad_request(
            "spec.username and spec.password are required",
        ));
    }
    match login(spec).await {
        Ok(s) => {
            let _ = s.logout().await;
            Ok(())
        }
        Err(e @ vsphere::Error::BadAddress(_)) => {
            Err(ApiError::bad_request(format!("spec.vcenterServer: {e}")))
        }
        Err(vsphere::Error::InvalidLogin { server, .. }) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "CloudAccountValidationFailed",
            format!("vCenter {server} rejected the user name or password for '{user}'"),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "CloudAccountValidationFailed",
            format!("the gateway cannot validate the account: {e}"),
        )),
    }
}

/// Name, gateway and spec of a request body, or a 400 naming the field.
fn parts(body: &V1VsphereAccount) -> Result<(String, String, V1VsphereCloudAccount), ApiError> {
    let meta = body.metadata.clone().unwrap_or_default();
    let name = meta
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("metadata.name is required"))?;
    let gateway = meta
        .annotations
        .unwrap_or_default()
        .get(OVERLORD_ANNOTATION)
        .cloned()
        .filter(|g| !g.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "metadata.annotations.{OVERLORD_ANNOTATION} is required: the private cloud gateway that reaches this vCenter"
            ))
        })?;
    let spec = body
        .spec
        .clone()
        .ok_or_else(|| ApiError::bad_request("spec is required"))?;
    Ok((name, gateway, spec))
}

/// The gateway must exist in scope and be Running to reach vCenter.
fn check_gateway(lab: &Lab, uid: &str, scope: &Scope) -> Result<(), ApiError> {
    let store = lab.store();
    let g = store
        .gateways
        .iter()
        .find(|g| g.uid == uid && gateway::visible(g, scope))
        .ok_or_else(|| ApiError::bad_request(format!("private cloud gateway '{uid}' not found")))?;
    if g.state != "Running" {
        return Err(ApiError::bad_request(format!(
            "private cloud gateway '{}' is {}, not Running: it cannot reach vCenter yet",
            g.name, g.state
        )));
    }
    Ok(())
}

pub async fn list(State(lab): State<Lab>, Extension(scope): Extension<Scope>) -> Response {
    let store = lab.store();
    let items: Vec<_> = store
        .accounts
        .iter()
        .filter(|a| visible(a, &scope))
        .map(Account::to_api)
        .collect();
    Json(V1VsphereAccounts {
        listmeta: Some(palette_api::models::V1ListMetaData {
            count: Some(items.len() as i64),
            ..Default::default()
        }),
        items: Some(items),
    })
    .into_response()
}

pub async fn get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    match store
        .accounts
        .iter()
        .find(|a| a.uid == uid && visible(a, &scope))
    {
        Some(a) => Json(a.to_api()).into_response(),
        None => ApiError::not_found("cloud account", &uid).into_response(),
    }
}

pub async fn create(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Json(body): Json<V1VsphereAccount>,
) -> Response {
    let (name, gateway, spec) = match parts(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check_gateway(&lab, &gateway, &scope) {
        return e.into_response();
    }
    if let Err(e) = check_credentials(&spec).await {
        return e.into_response();
    }
    let mut store = lab.store();
    if store
        .accounts
        .iter()
        .any(|a| a.name == name && a.scope == scope)
    {
        return ApiError::conflict(format!(
            "a vSphere cloud account named '{name}' already exists"
        ))
        .into_response();
    }
    let uid = ids::new_uid();
    store.accounts.push(Account {
        uid: uid.clone(),
        name,
        scope,
        gateway_uid: gateway,
        spec,
        created: lab.clock.now(),
    });
    (StatusCode::CREATED, Json(V1Uid { uid: Some(uid) })).into_response()
}

pub async fn update(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
    Json(body): Json<V1VsphereAccount>,
) -> Response {
    let (name, gateway, spec) = match parts(&body) {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    {
        let store = lab.store();
        let Some(a) = store
            .accounts
            .iter()
            .find(|a| a.uid == uid && a.scope == scope)
        else {
            return ApiError::not_found("cloud account", &uid).into_response();
        };
        if a.gateway_uid != gateway {
            return ApiError::bad_request(format!(
                "metadata.annotations.{OVERLORD_ANNOTATION} cannot change: the account belongs to gateway '{}'",
                a.gateway_uid
            ))
            .into_response();
        }
        if store
            .accounts
            .iter()
            .any(|o| o.name == name && o.scope == scope && o.uid != uid)
        {
            return ApiError::conflict(format!(
                "a vSphere cloud account named '{name}' already exists"
            ))
            .into_response();
        }
    }
    if let Err(e) = check_credentials(&spec).await {
        return e.into_response();
    }
    let mut store = lab.store();
    match store
        .accounts
        .iter_mut()
        .find(|a| a.uid == uid && a.scope == scope)
    {
        Some(a) => {
            a.name = name;
            a.spec = spec;
            StatusCode::NO_CONTENT.into_response()
        }
        None => ApiError::not_found("cloud account", &uid).into_response(),
    }
}

pub async fn delete(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let mut store = lab.store();
    match store
        .accounts
        .iter()
        .position(|a| a.uid == uid && a.scope == scope)
    {
        Some(i) => {
            let users = store.clusters_using_account(&uid);
            if !users.is_empty() {
                return ApiError::conflict(format!(
                    "cloud account '{}' is used by cluster(s) {}; delete them first",
                    store.accounts[i].name,
                    users.join(", ")
                ))
                .into_response();
            }
            store.accounts.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
        None => ApiError::not_found("cloud account", &uid).into_response(),
    }
}

/// `POST /v1/overlords/vsphere/{uid}/account/validate` with `{"account": {...}}`.
#[derive(serde::Deserialize)]
pub struct ValidateBody {
    #[serde(default)]
    pub account: Option<V1VsphereCloudAccount>,
}

pub async fn validate(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(gateway): Path<String>,
    Json(body): Json<ValidateBody>,
) -> Response {
    if let Err(e) = check_gateway(&lab, &gateway, &scope) {
        return match e.status {
            StatusCode::BAD_REQUEST if e.message.contains("not found") => {
                ApiError::not_found("private cloud gateway", &gateway).into_response()
            }
            _ => e.into_response(),
        };
    }
    let Some(account) = body.account else {
        return ApiError::bad_request("account is required").into_response();
    };
    match check_credentials(&account).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
