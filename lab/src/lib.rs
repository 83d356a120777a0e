//! palette-lab: a local Palette API (the subset in
//! ../shared/palette-api/operations.txt) for tests, demos and offline module
//! development, with an admin API under /lab/ for keys, projects, faults and
//! call counts.
//!
//! # Layers
//!
//! Read bottom-up. A module names (`crate::...`) only modules of a layer
//! below it or earlier in its own layer's list, never one above, so no two
//! modules import each other:
//!
//! 1. **Store and models**, in this order: `ids`, `clock`, `error`,
//!    `faults`, `throttle`; `model` (the stored objects: gateway with its
//!    IP pools, account, profile, cluster, and `Scope`); `store` (the
//!    `Store` and queries that span objects); `persist` (the data file, and
//!    the VM records in vCenter); `spec` (the API spec and the contract
//!    `Checker`); `state` (the shared `Lab` handle and start-up `Options`).
//!    No axum routing here.
//! 2. **Lifecycles**: `accounts`, `profiles`, `pools`, `gateways/`,
//!    `clusters/`: each object's checks, its life in vCenter and its `/v1`
//!    handlers. They use layer 1 and `accounts` (the vCenter login all of
//!    them share); `gateways` and `clusters` never name each other.
//! 3. **HTTP**: this file (router, middleware, admin API, start-up),
//!    `contract` (the check's middleware, admin endpoints and test guard),
//!    `calls` (call counts), `gateway_cluster` (a gateway's own cluster,
//!    served beside tenant clusters).

pub mod accounts;
pub mod calls;
pub mod clock;
pub mod clusters;
pub mod contract;
pub mod error;
pub mod faults;
pub mod gateway_cluster;
pub mod gateways;
pub mod ids;
pub mod model;
pub mod persist;
pub mod pools;
pub mod profiles;
pub mod spec;
pub mod state;
pub mod store;
pub mod throttle;
pub mod upgrades;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::error::ApiError;
use crate::faults::{FaultKind, FaultRule};
use crate::state::{Lab, Scope, Store};

/// The whole HTTP surface: /v1 (authenticated, fault-injectable) and /lab,
/// which only `admin_key` (the key printed at start) may use.
pub fn app(lab: Lab, admin_key: String) -> Router {
    // One table builds the router and lists what it serves, against which
    // /lab/calls?match= checks a pattern (calls.rs).
    let (v1, mut served) = calls::routes! {
        "/v1/users/info" => get(users_info);
        "/v1/projects/{uid}" => get(project_get);
        "/v1/dashboard/projects" => post(profiles::projects_summary);
        "/v1/dashboard/clusterprofiles" => post(profiles::filter_summary);
        "/v1/clusterprofiles/{uid}" => get(profiles::get);
        "/v1/cloudaccounts/vsphere" => get(accounts::list).post(accounts::create);
        "/v1/cloudaccounts/vsphere/{uid}" =>
            get(accounts::get)
                .put(accounts::update)
                .delete(accounts::delete);
        "/v1/overlords/vsphere/{uid}/account/validate" => post(accounts::validate);
        "/v1/overlords" => get(pools::list_gateways);
        "/v1/overlords/{uid}" => get(pools::get_gateway).delete(gateways::delete);
        "/v1/overlords/pairing/code" => get(gateways::pairing_code);
        "/v1/overlords/vsphere/ova" => get(gateways::ova_location);
        "/v1/overlords/{uid}/reset" => put(gateways::reset);
        "/v1/overlords/{uid}/metadata" => put(gateways::metadata_update);
        "/v1/overlords/vsphere/{uid}/account" =>
            post(gateways::account_create)
                .put(gateways::account_update);
        "/v1/overlords/vsphere/{uid}/cloudconfig" =>
            post(gateways::cloud_config_create)
                .put(gateways::cloud_config_update);
        "/v1/overlords/vsphere/{uid}/properties/datacenters" => get(gateways::datacenters);
        "/v1/overlords/vsphere/{uid}/properties/computecluster/resources" =>
            get(gateways::compute_cluster_resources);
        "/v1/events/components/{kind}/{uid}" => get(gateways::events);
        "/v1/spectroclusters/vsphere" => post(clusters::create);
        "/v1/spectroclusters/vsphere/validate" => post(clusters::validate);
        "/v1/spectroclusters/{uid}" => get(gateway_cluster::get).delete(clusters::delete);
        "/v1/spectroclusters/{uid}/status" => get(clusters::status);
        "/v1/spectroclusters/{uid}/profiles" => patch(clusters::profiles_patch);
        "/v1/spectroclusters/{uid}/metadata" => patch(clusters::metadata_patch);
        "/v1/spectroclusters/{uid}/assets/kubeconfig" => get(clusters::kubeconfig);
        "/v1/spectroclusters/{uid}/packRefs" => patch(upgrades::apply);
        "/v1/notifications/{kind}/{uid}" => get(upgrades::list);
        // One name for the first segment: the router cannot tell a
        // notification uid from an object kind by name alone.
        "/v1/notifications/{kind}/ack" => patch(upgrades::ack);
        "/v1/notifications/{kind}/done" => patch(upgrades::done);
        "/v1/dashboard/spectroclusters/search" => post(clusters::search);
        "/v1/cloudconfigs/vsphere/{config}" => get(gateway_cluster::cloud_config_get);
        "/v1/cloudconfigs/vsphere/{config}/clusterConfig" => put(clusters::cluster_config_update);
        "/v1/cloudconfigs/vsphere/{config}/machinePools" => post(clusters::pool_create);
        "/v1/cloudconfigs/vsphere/{config}/machinePools/{name}" =>
            put(clusters::pool_update)
                .delete(clusters::pool_delete);
        "/v1/cloudconfigs/vsphere/{config}/machinePools/{name}/machines" =>
            get(gateway_cluster::machines);
        "/v1/overlords/vsphere/{uid}/pools" => get(pools::list_pools).post(pools::create_pool);
        "/v1/overlords/vsphere/{uid}/pools/{pool_uid}" =>
            put(pools::update_pool)
                .delete(pools::delete_pool);
    };
    let v1 = v1
        .layer(middleware::from_fn_with_state(lab.clone(), authenticate))
        // Inside the fault injector: injected faults are the tests' doing.
        .layer(middleware::from_fn_with_state(lab.clone(), contract::check))
        .layer(middleware::from_fn_with_state(lab.clone(), inject_faults))
        .layer(middleware::from_fn_with_state(lab.clone(), throttle_tenant));
    // Outside the admin check: the OVA is what Palette's OVA location points
    // at, and an installer (or the provider, as an operator's browser would)
    // downloads it without any key. It holds no secret.
    let (installer, ova) = calls::routes! {
        gateways::OVA_PATH => get(gateways::ova_file);
    };
    served.extend(ova);
    let admin = Router::new()
        .route("/lab/keys", post(admin_new_key))
        .route("/lab/projects", get(admin_projects))
        .route("/lab/gateways", post(pools::admin_new_gateway))
        .route("/lab/gateways/{uid}/upgrade", post(upgrades::admin_release))
        .route("/lab/clusters", post(admin_new_cluster))
        .route("/lab/clusters/{uid}", delete(admin_delete_cluster))
        .route(
            "/lab/cluster-faults",
            post(clusters::admin_add_fault)
                .get(clusters::admin_list_faults)
                .delete(clusters::admin_clear_faults),
        )
        .route(
            "/lab/cluster-faults/{id}",
            delete(clusters::admin_remove_fault),
        )
        .route(
            "/lab/faults",
            post(admin_add_fault)
                .get(admin_list_faults)
                .delete(admin_clear_faults),
        )
        .route("/lab/faults/{id}", delete(admin_remove_fault))
        .route(
            "/lab/rate-limit",
            post(admin_set_rate_limit)
                .get(admin_rate_limit)
                .delete(admin_clear_rate_limit),
        )
        .route(
            "/lab/calls",
            get(calls::admin_calls)
                .delete(calls::admin_reset_calls)
                .layer(axum::Extension(calls::Served(served.into()))),
        )
        .route(
            "/lab/contract-violations",
            get(contract::admin_violations).delete(contract::admin_clear_violations),
        )
        .route(
            "/lab/contract-deviations",
            get(contract::admin_deviations).delete(contract::admin_clear_deviations),
        )
        .layer(middleware::from_fn_with_state(
            AdminKey(std::sync::Arc::from(admin_key)),
            authenticate_admin,
        ));
    v1.merge(admin)
        .merge(installer)
        .fallback(|State(lab): State<Lab>, req: Request| async move {
            contract::unrouted(&lab, req.method().as_str(), req.uri().path());
            ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such API path")
        })
        .layer(middleware::from_fn_with_state(lab.clone(), count_calls))
        .layer(middleware::from_fn_with_state(lab.clone(), persist_changes))
        .layer(middleware::from_fn_with_state(lab.clone(), date_header))
        .with_state(lab)
}

/// A lab serving on a loopback port.
pub struct RunningLab {
    pub addr: SocketAddr,
    pub lab: Lab,
    /// A key created at start, printed for the user (with a data file: the
    /// one created at the file's first start).
    pub api_key: String,
    /// Whether the state came from a data file rather than a new tenant.
    pub restored: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl RunningLab {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A Palette API client for this lab with its start-up key, as tests
    /// use it: `max_retries` retries at most 2 s apart, 5 s per request.
    pub fn client(&self, max_retries: u32) -> palette_api::client::Client {
        palette_api::client::Client::new(palette_api::client::Config {
            endpoint: self.endpoint(),
            api_key: self.api_key.clone(),
            project_uid: None,
            ca_pem: None,
            insecure: false,
            max_retries,
            retry_max_wait: std::time::Duration::from_secs(2),
            request_timeout: std::time::Duration::from_secs(5),
        })
        .expect("a client for a loopback lab")
    }

    /// Stops the lab as a process exit would, but cleanly: no new requests,
    /// the ones in flight answered, background tasks ended, and the last
    /// state written to the data file, which is then closed so that a new
    /// lab can open it.
    pub async fn stop(mut self) {
        self.lab.stop_tasks();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            // Bounded: a client holding a request open must not hold the stop.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
        }
        if let Some(p) = &self.lab.persist {
            p.close();
        }
    }
}

impl Drop for RunningLab {
    fn drop(&mut self) {
        self.lab.stop_tasks();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(p) = &self.lab.persist {
            p.close();
        }
    }
}

/// Why a lab did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Data(#[from] persist::Error),
}

/// Starts a lab with a seeded tenant on `listen` (port 0 picks a free one),
/// without a vCenter of its own and in real time.
pub async fn start(listen: SocketAddr) -> std::io::Result<RunningLab> {
    start_with(listen, state::Options::default()).await
}

/// Starts a lab with options: a vCenter to watch for installers and to
/// create gateway VMs in, and a time scale for lifecycle delays.
pub async fn start_with(
    listen: SocketAddr,
    options: state::Options,
) -> std::io::Result<RunningLab> {
    start_with_data(listen, options, None)
        .await
        .map_err(|e| match e {
            StartError::Listen { source, .. } => source,
            other => std::io::Error::other(other),
        })
}

/// [`start_with`], keeping the state in `data` when given (see persist.rs):
/// a file with a saved state is loaded instead of seeding a new tenant, and
/// what was in flight resumes. A separate function rather than a field of
/// [`state::Options`], so that code building `Options` field by field keeps
/// compiling.
pub async fn start_with_data(
    listen: SocketAddr,
    options: state::Options,
    data: Option<PathBuf>,
) -> Result<RunningLab, StartError> {
    // The lab logs in to vCenter over rustls; ring is the process's provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let file = data.as_deref().map(persist::DataFile::open).transpose()?;
    let loaded = file.as_ref().map(|f| f.load()).transpose()?.flatten();
    let restored = loaded.is_some();
    let (store, api_key) = match loaded {
        Some(l) => {
            let mut store = l.store;
            // Keys are never revoked, so the saved start-up key is there;
            // a new one only if the file was edited by hand.
            let key = if store.keys.contains_key(&l.api_key) {
                l.api_key
            } else {
                store.add_key("admin@palette-lab.local", crate::state::Role::Admin)
            };
            (store, key)
        }
        None => {
            let mut store = Store::seeded();
            let key = store.add_key("admin@palette-lab.local", crate::state::Role::Admin);
            (store, key)
        }
    };
    let vcenter = options.vcenter.clone();
    let mut lab = Lab::with_options(store, options);
    if let Some(file) = file {
        let p = persist::Persist::start(file, lab.store.clone(), api_key.clone())?;
        lab.persist = Some(std::sync::Arc::new(p));
    }
    let listen_error = |source| StartError::Listen {
        addr: listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let _ = lab.base_url.set(format!("http://{addr}"));
    if restored {
        gateways::resume(&lab);
        upgrades::resume(&lab);
        clusters::resume(&lab);
    }
    if let Some(vc) = vcenter {
        gateways::spawn_watcher(lab.clone(), vc);
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = app(lab.clone(), api_key.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningLab {
        addr,
        lab,
        api_key,
        restored,
        shutdown: Some(tx),
        server: Some(server),
    })
}

// ---------------------------------------------------------------- middleware

/// Every answer carries the lab's clock in `Date`, as Palette's carry
/// Palette's: clients measure ages against it (hyper adds the wall clock
/// only when a response has no `Date`).
async fn date_header(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&lab.clock.http_date()) {
        resp.headers_mut().insert(axum::http::header::DATE, v);
    }
    resp
}

/// With a data file, answers a request that may have changed the state only
/// once the change is on disk: a client told "created" must find it after
/// a restart.
async fn persist_changes(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    let resp = next.run(req).await;
    if let (false, Some(p)) = (reads, &lab.persist) {
        p.flushed().await;
    }
    resp
}

async fn count_calls(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    let key = format!("{} {}", req.method(), req.uri().path());
    *lab.calls
        .lock()
        .expect("calls lock")
        .entry(key)
        .or_default() += 1;
    next.run(req).await
}

/// Palette's 429 past the tenant's request rate (see `throttle`).
async fn throttle_tenant(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    match lab.throttle.take(std::time::Instant::now()) {
        None => next.run(req).await,
        Some(wait) => {
            let secs = crate::throttle::retry_after(wait);
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!("the tenant's request rate is exceeded; retry after {secs}s"),
            )
            .into_response();
            resp.headers_mut()
                .insert("Retry-After", HeaderValue::from(secs));
            resp
        }
    }
}

#[derive(serde::Deserialize)]
struct RateLimit {
    per_second: f64,
    #[serde(default)]
    burst: Option<f64>,
}

async fn admin_set_rate_limit(State(lab): State<Lab>, Json(r): Json<RateLimit>) -> Response {
    if !(r.per_second.is_finite() && r.per_second > 0.0) {
        return ApiError::bad_request("per_second must be a positive number").into_response();
    }
    lab.throttle
        .set(Some((r.per_second, r.burst.unwrap_or(r.per_second))));
    admin_rate_limit(State(lab)).await
}

async fn admin_rate_limit(State(lab): State<Lab>) -> Response {
    let limit = lab.throttle.limit();
    Json(json!({
        "per_second": limit.map(|l| l.0),
        "burst": limit.map(|l| l.1),
        "throttled": lab.throttle.throttled(),
    }))
    .into_response()
}

async fn admin_clear_rate_limit(State(lab): State<Lab>) -> Response {
    lab.throttle.set(None);
    admin_rate_limit(State(lab)).await
}

async fn inject_faults(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    let fault = lab
        .faults
        .lock()
        .expect("faults lock")
        .pick(req.method().as_str(), req.uri().path());
    match fault {
        None => next.run(req).await,
        Some(FaultKind::Status {
            status,
            retry_after_secs,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = ApiError::new(
                status,
                "InjectedFault",
                format!("palette-lab injected a {} response", status.as_u16()),
            )
            .into_response();
            if let Some(secs) = retry_after_secs {
                resp.headers_mut()
                    .insert("Retry-After", HeaderValue::from(secs));
            }
            resp
        }
        Some(FaultKind::Latency { millis }) => {
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            next.run(req).await
        }
        Some(FaultKind::Drop) => {
            // A body that fails before its first byte makes the server close
            // the connection without a complete response.
            let failing = futures::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(
                    "palette-lab dropped the connection",
                ))
            });
            Response::new(Body::from_stream(failing))
        }
        Some(FaultKind::NoAnswer) => {
            let _done = next.run(req).await;
            tokio::time::sleep(faults::NO_ANSWER_HOLD).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// Checks `ApiKey` and resolves `ProjectUid` into a [`Scope`].
async fn authenticate(State(lab): State<Lab>, mut req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get("ApiKey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let scope = {
        let store = lab.store();
        let Some(user) = store.keys.get(&key).filter(|_| !key.is_empty()) else {
            return ApiError::unauthorized("a valid API key is required in the ApiKey header")
                .into_response();
        };
        if !user.role.allows(req.method(), req.uri().path()) {
            return ApiError::forbidden(format!(
                "user '{}' has a viewer role: {} {} needs a role that may change objects",
                user.name,
                req.method(),
                req.uri().path()
            ))
            .into_response();
        }
        match req
            .headers()
            .get("ProjectUid")
            .and_then(|v| v.to_str().ok())
        {
            None | Some("") => Scope::Tenant,
            Some(uid) if store.project(uid).is_some() => Scope::Project(uid.to_string()),
            Some(uid) => {
                return ApiError::forbidden(format!("no access to project '{uid}'")).into_response()
            }
        }
    };
    req.extensions_mut().insert(scope);
    req.extensions_mut().insert(KeyOf(key));
    next.run(req).await
}

#[derive(Clone)]
struct KeyOf(String);

/// The key that may use `/lab`: the one printed at start.
#[derive(Clone)]
struct AdminKey(std::sync::Arc<str>);

/// `/lab` mints keys and switches faults, so it takes the start-up key in
/// the same `ApiKey` header as `/v1`; any other key, even one `/lab/keys`
/// minted, is a 401: those are handed to API users, not lab operators.
async fn authenticate_admin(State(admin): State<AdminKey>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("ApiKey")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !same_secret(given, admin.0.as_bytes()) {
        return ApiError::unauthorized(
            "the lab's admin API needs the key palette-lab printed at start in the ApiKey header",
        )
        .into_response();
    }
    next.run(req).await
}

/// Compares in time that depends on the lengths only, so the answer's
/// timing does not tell a guesser how much of the key was right.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

// ---------------------------------------------------------------- /v1

async fn users_info(
    State(lab): State<Lab>,
    axum::Extension(KeyOf(key)): axum::Extension<KeyOf>,
) -> Response {
    let store = lab.store();
    let user = store.keys.get(&key).cloned();
    match user {
        Some(u) => Json(
            json!({"orgName": store.org_name, "tenantUid": store.tenant_uid, "userUid": u.uid}),
        )
        .into_response(),
        None => ApiError::unauthorized("API key revoked").into_response(),
    }
}

async fn project_get(State(lab): State<Lab>, Path(uid): Path<String>) -> Response {
    let store = lab.store();
    match store.project(&uid) {
        Some(p) => Json(json!({
            "metadata": {"uid": p.uid, "name": p.name},
            "spec": {},
            "status": {},
        }))
        .into_response(),
        None => ApiError::not_found("project", &uid).into_response(),
    }
}

// ---------------------------------------------------------------- /lab

#[derive(serde::Deserialize)]
struct NewKey {
    #[serde(default)]
    user: Option<String>,
    /// `admin` (the default) or `viewer`.
    #[serde(default)]
    role: crate::state::Role,
}

async fn admin_new_key(State(lab): State<Lab>, body: Option<Json<NewKey>>) -> Response {
    let (user, role) = match body {
        Some(Json(b)) => (b.user, b.role),
        None => (None, crate::state::Role::Admin),
    };
    let user = user.unwrap_or_else(|| "user@palette-lab.local".into());
    let key = lab.store().add_key(&user, role);
    (StatusCode::CREATED, Json(json!({"apiKey": key}))).into_response()
}

#[derive(serde::Deserialize)]
struct NewCluster {
    name: String,
    /// Required for a vSphere stand-in; a foreign cluster has no account.
    #[serde(default)]
    account_uid: String,
    /// `aws`, `azure`...: a cluster of another cloud, only shown by
    /// `GET /v1/spectroclusters/{uid}` (for the provider's kind checks).
    #[serde(default)]
    cloud_type: Option<String>,
}

/// Lab shortcut: a stand-in cluster on an account (no VMs), so tests of
/// gateway and account deletion need not build a real cluster.
async fn admin_new_cluster(State(lab): State<Lab>, Json(body): Json<NewCluster>) -> Response {
    let mut store = lab.store();
    if let Some(cloud) = body.cloud_type.filter(|c| c != "vsphere") {
        let uid = ids::new_uid();
        store.foreign_clusters.push(clusters::ForeignCluster {
            uid: uid.clone(),
            name: body.name,
            cloud_type: cloud,
        });
        return (StatusCode::CREATED, Json(json!({"uid": uid}))).into_response();
    }
    if !store.accounts.iter().any(|a| a.uid == body.account_uid) {
        return ApiError::not_found("cloud account", &body.account_uid).into_response();
    }
    let uid = ids::new_uid();
    store.cluster_refs.push(state::ClusterRef {
        uid: uid.clone(),
        name: body.name,
        account_uid: body.account_uid,
    });
    (StatusCode::CREATED, Json(json!({"uid": uid}))).into_response()
}

async fn admin_delete_cluster(State(lab): State<Lab>, Path(uid): Path<String>) -> Response {
    let mut store = lab.store();
    let before = store.cluster_refs.len();
    store.cluster_refs.retain(|c| c.uid != uid);
    if store.cluster_refs.len() == before {
        return ApiError::not_found("cluster", &uid).into_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_projects(State(lab): State<Lab>) -> Response {
    let store = lab.store();
    let list: Vec<_> = store
        .projects
        .iter()
        .map(|p| json!({"uid": p.uid, "name": p.name}))
        .collect();
    Json(json!({"tenantUid": store.tenant_uid, "projects": list})).into_response()
}

async fn admin_add_fault(State(lab): State<Lab>, Json(rule): Json<FaultRule>) -> Response {
    let id = lab.faults.lock().expect("faults lock").add(rule);
    (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
}

async fn admin_list_faults(State(lab): State<Lab>) -> Response {
    let list: Vec<_> = lab
        .faults
        .lock()
        .expect("faults lock")
        .list()
        .into_iter()
        .map(|(id, r)| json!({"id": id, "rule": r}))
        .collect();
    Json(json!(list)).into_response()
}

async fn admin_clear_faults(State(lab): State<Lab>) -> StatusCode {
    lab.faults.lock().expect("faults lock").clear();
    StatusCode::NO_CONTENT
}

async fn admin_remove_fault(State(lab): State<Lab>, Path(id): Path<u64>) -> Response {
    if lab.faults.lock().expect("faults lock").remove(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::not_found("fault rule", &id.to_string()).into_response()
    }
}
