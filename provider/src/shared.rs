//! What resources share once the provider is configured: settings, the
//! API client, and the per-operation cache of pool listings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use palette_api::client::{Client, Config, Error as ApiError};
use palette_api::models::{
    V1Events, V1FilterString, V1IpPoolEntity, V1IpPools, V1ProjectFilterSpec, V1ProjectsFilterSpec,
    V1ProjectsSummary,
};
use tfplugin::{Ctx, Diagnostic, Diagnostics};
use tokio::sync::OnceCell;

use crate::config::Settings;

/// The API has no single-pool GET, so a refresh of N pools would cost N
/// listings of N pools. Listings are shared for a short while instead (one
/// Terraform operation refreshes its pools within it), in flight included,
/// and dropped on every write to that gateway.
const POOL_LIST_TTL: Duration = Duration::from_secs(10);

type PoolList = Arc<OnceCell<Result<Arc<Vec<V1IpPoolEntity>>, ApiError>>>;

#[derive(Default)]
pub struct Shared {
    pub settings: RwLock<Option<Settings>>,
    client: RwLock<Option<Arc<Client>>>,
    pool_lists: Mutex<HashMap<String, (Instant, PoolList)>>,
}

impl Shared {
    pub fn configure(&self, settings: Settings) -> Result<(), Diagnostics> {
        let ca_pem = match &settings.ca_file {
            Some(p) => Some(std::fs::read(p).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Cannot read CA file",
                    format!("{}: {e}", p.display()),
                ))
            })?),
            None => None,
        };
        let client = Client::new(Config {
            endpoint: settings.endpoint.clone(),
            api_key: settings.api_key.expose().to_string(),
            project_uid: settings.project.clone(),
            ca_pem,
            insecure: settings.insecure,
            max_retries: settings.max_retries,
            retry_max_wait: settings.retry_max_wait,
            request_timeout: settings.request_timeout,
        })
        .map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot set up the Palette client",
                e.to_string(),
            ))
        })?;
        *self.client.write().expect("client lock") = Some(Arc::new(client));
        *self.settings.write().expect("settings lock") = Some(settings);
        Ok(())
    }

    /// Turns a project given by name into its uid (one listing, at
    /// configure). A 24-hex-digit value is taken as a uid without a call.
    pub async fn resolve_project(&self, ctx: &Ctx) -> Result<(), Diagnostics> {
        let project = self
            .settings
            .read()
            .expect("settings lock")
            .as_ref()
            .and_then(|s| s.project.clone());
        let Some(project) = project else {
            return Ok(());
        };
        if is_uid(&project) {
            return Ok(());
        }
        let client = self.client()?;
        let tenant = client.with_project(None);
        let filter = V1ProjectsFilterSpec {
            filter: Some(V1ProjectFilterSpec {
                name: Some(V1FilterString {
                    eq: Some(project.clone()),
                    ..Default::default()
                }),
            }),
            sort: None,
        };
        let found: V1ProjectsSummary = tenant
            .post("/v1/dashboard/projects", &filter, &ctx.cancel)
            .await
            .map_err(|e| {
                let mut d = api_diag(&format!("Cannot look up project {project:?}"), &e);
                for x in &mut d.0 {
                    x.attribute = Some(tfplugin::AttrPath::attr("project"));
                }
                d
            })?;
        let uids: Vec<String> = found
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.metadata)
            .filter(|m| m.name.as_deref() == Some(project.as_str()))
            .filter_map(|m| m.uid)
            .collect();
        let uid = match uids.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(Diagnostic::error(
                    "Project not found",
                    format!(
                        "No project is named {project:?} for this API key. Use the name shown in Palette's \
                         project selector (for example \"Default\") or the project's uid."
                    ),
                )
                .at(tfplugin::AttrPath::attr("project"))
                .into())
            }
            _ => {
                return Err(Diagnostic::error(
                    "Ambiguous project name",
                    format!("{} projects are named {project:?}; use the project's uid.", uids.len()),
                )
                .at(tfplugin::AttrPath::attr("project"))
                .into())
            }
        };
        tracing::debug!(project = %project, uid = %uid, "project resolved");
        let scoped = Arc::new(client.with_project(Some(uid.clone())));
        *self.client.write().expect("client lock") = Some(scoped);
        if let Some(s) = self.settings.write().expect("settings lock").as_mut() {
            s.project = Some(uid);
        }
        Ok(())
    }

    pub fn client(&self) -> Result<Arc<Client>, Diagnostics> {
        self.client.read().expect("client lock").clone().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "The palette provider has no configuration yet; this happens when its settings depend on values \
                 unknown until apply. Make endpoint and api_key known at plan time.",
            )
            .into()
        })
    }

    /// The pools of a gateway, listed at most once per TTL.
    pub async fn pools_of(
        &self,
        gateway: &str,
        ctx: &Ctx,
    ) -> Result<Arc<Vec<V1IpPoolEntity>>, ApiError> {
        let client = self
            .client()
            .map_err(|_| ApiError::Setup("provider not configured".into()))?;
        let cell = {
            let mut map = self.pool_lists.lock().expect("pool cache lock");
            let fresh = map
                .get(gateway)
                .filter(|(at, _)| at.elapsed() < POOL_LIST_TTL)
                .map(|(_, c)| c.clone());
            fresh.unwrap_or_else(|| {
                let cell: PoolList = Arc::new(OnceCell::new());
                map.insert(gateway.to_string(), (Instant::now(), cell.clone()));
                cell
            })
        };
        let path = format!("/v1/overlords/vsphere/{gateway}/pools");
        let result = cell
            .get_or_init(|| async {
                let list: Result<V1IpPools, ApiError> = client.get(&path, &ctx.cancel).await;
                list.map(|l| Arc::new(l.items.unwrap_or_default()))
            })
            .await
            .clone();
        if matches!(
            result,
            Err(ApiError::Cancelled) | Err(ApiError::Transport { .. })
        ) {
            // Do not let one interrupted listing answer for the others.
            self.forget_pools(gateway);
        }
        result
    }

    /// Whether the provider is configured with a project.
    pub fn has_project(&self) -> bool {
        self.settings
            .read()
            .expect("settings lock")
            .as_ref()
            .is_some_and(|s| s.project.is_some())
    }

    /// The client for an object's context: the provider's project, or the
    /// tenant (no ProjectUid header).
    pub fn scoped(&self, context: &str) -> Result<Arc<Client>, Diagnostics> {
        let client = self.client()?;
        Ok(match context {
            "tenant" => Arc::new(client.with_project(None)),
            _ => client,
        })
    }

    pub fn forget_pools(&self, gateway: &str) {
        self.pool_lists
            .lock()
            .expect("pool cache lock")
            .remove(gateway);
    }
}

/// Whether a wait may poll again after this error: Palette throttled the
/// request, failed on its side, or could not be reached, each already
/// retried by the client. A wait with time left polls again rather than
/// failing an apply whose object is fine (many workspaces at once meet
/// Palette's request rate exactly there).
pub fn worth_polling_again(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::Throttled { .. } | ApiError::Server { .. } | ApiError::Transport { .. }
    )
}

/// A value for a URL's query string.
pub fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A diagnostic for an API error that says what to do about it.
pub fn api_diag(summary: &str, e: &ApiError) -> Diagnostics {
    let hint = match e {
        ApiError::Unauthorized { status: 403, .. } => {
            " The API key lacks permission for this change (HTTP 403): its user's role may only \
             read here (a viewer key plans, refreshes, imports and queries, but cannot apply). \
             Nothing was changed by this step; apply with a key whose role may change the object."
        }
        ApiError::Unauthorized { .. } => {
            " Check the API key (api_key / PALETTE_API_KEY) and the project."
        }
        ApiError::Transport { .. } => " Check the endpoint and the network path to Palette.",
        ApiError::Cancelled => " Terraform was interrupted; run apply again to continue.",
        _ => "",
    };
    Diagnostic::error(summary, format!("{e}.{hint}")).into()
}

/// A diagnostic for a refresh that could not read the object. Terraform
/// keeps the prior state when a read fails, and users fear the opposite
/// (a 403 or an outage making Terraform plan to recreate everything), so
/// the text says the object stays and what to look at.
pub fn read_failed(summary: &str, what: &str, e: &ApiError) -> Diagnostics {
    let why = match e {
        ApiError::Unauthorized { status: 403, .. } => {
            " Palette refused access (HTTP 403): check the API key's permissions; its user's \
             role must allow reading this object in its project (or the tenant)."
                .to_string()
        }
        ApiError::Unauthorized { status, .. } => format!(
            " Palette did not accept the API key (HTTP {status}): check api_key / PALETTE_API_KEY."
        ),
        ApiError::Server { status, .. } => format!(
            " Palette failed with HTTP {status} on every attempt: the fault is on Palette's side; \
             try again later."
        ),
        ApiError::Throttled { .. } => " Palette kept answering HTTP 429 (throttled): try again \
                                        later, or raise max_retries / retry_max_wait."
            .to_string(),
        ApiError::Transport { .. } => {
            " Check the endpoint and the network path to Palette.".to_string()
        }
        _ => String::new(),
    };
    Diagnostic::error(
        summary,
        format!(
            "{e}.{why} The {what} remains in Terraform state unchanged: only Palette answering \
             \"not found\" removes it. Run the command again once this is resolved."
        ),
    )
    .into()
}

/// Palette uids are 24 lowercase hex digits.
fn is_uid(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The latest events of an object (the console's Events tab), for errors
/// that must say why; none when they cannot be read.
pub async fn events(client: &Client, kind: &str, uid: &str, ctx: &Ctx) -> Vec<String> {
    match client
        .get::<V1Events>(&format!("/v1/events/components/{kind}/{uid}"), &ctx.cancel)
        .await
    {
        Ok(e) => {
            let items = e.items.unwrap_or_default();
            let skip = items.len().saturating_sub(10);
            items
                .into_iter()
                .skip(skip)
                .map(|e| {
                    format!(
                        "{} {}: {}",
                        e.severity.unwrap_or_default(),
                        e.reason.unwrap_or_default(),
                        e.message.unwrap_or_default()
                    )
                })
                .collect()
        }
        Err(_) => Vec::new(),
    }
}

/// Cloud types of Palette (the spec's `v1CloudType`) other than vSphere.
/// An object whose `kind` is one of these belongs to another cloud, whatever
/// endpoint answered with it.
const OTHER_CLOUDS: &[&str] = &[
    "aws",
    "azure",
    "gcp",
    "openstack",
    "maas",
    "nested",
    "baremetal",
    "eks",
    "aks",
    "edge",
    "apache-cloudstack",
    "edge-native",
    "generic",
    "gke",
];

/// The cloud a `kind` names, when it names a cloud other than vSphere.
/// Kinds that name no cloud (`CloudAccount`, `Overlord`) say nothing.
pub fn other_cloud(kind: Option<&str>) -> Option<String> {
    let k = kind?.trim().to_ascii_lowercase();
    OTHER_CLOUDS.contains(&k.as_str()).then_some(k)
}

/// The error text for a uid that names an object of another cloud: what it
/// really is, so that nobody imports (and later destroys) it by mistake.
/// `cloud` is `None` when the object states no cloud at all.
pub fn wrong_kind(
    uid: &str,
    cloud: Option<&str>,
    what: &str,
    name: Option<&str>,
    expected: &str,
) -> String {
    let named = name.map(|n| format!(" named {n:?}")).unwrap_or_default();
    match cloud.filter(|c| !c.is_empty()) {
        Some(c) => {
            let article = if c.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!("uid {uid} is {article} {c} {what}{named}, not {expected}.")
        }
        None => format!("uid {uid} is a {what}{named} of no stated cloud type, not {expected}."),
    }
}

/// Polling that starts quick (a lab, or a change Palette applies at once)
/// and slows down to a calm pace for real provisioning, never sleeping past
/// the deadline. Every wait of the provider (registration, provisioning,
/// deletion) uses it.
pub struct Poll {
    next: Duration,
}

impl Poll {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(10);

    pub fn new() -> Poll {
        Poll { next: Self::FIRST }
    }

    pub fn interval(&mut self, deadline: Instant) -> Duration {
        let d = self.next;
        self.next = (self.next * 3 / 2).min(Self::MAX);
        d.min(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Self::FIRST),
        )
    }
}

/// An import id naming its Palette context: `project/KEY` or `tenant/KEY`
/// (this provider's form) or `KEY:project` or `KEY:tenant` (the official
/// provider's, so that existing import scripts keep working). Returns the
/// context, if one was named, and the uid or name.
pub fn split_context(id: &str) -> (Option<&'static str>, &str) {
    let context = |c: &str| match c {
        "project" => Some("project"),
        "tenant" => Some("tenant"),
        _ => None,
    };
    if let Some((c, key)) = id.split_once('/') {
        if let Some(c) = context(c) {
            return (Some(c), key);
        }
    }
    if let Some((key, c)) = id.rsplit_once(':') {
        if let Some(c) = context(c) {
            return (Some(c), key);
        }
    }
    (None, id)
}

/// The gateway of a cloud account, from its `overlordUid` annotation; none
/// when the account cannot be read.
pub async fn gateway_of_account(client: &Client, account: &str, ctx: &Ctx) -> Option<String> {
    let path = format!("/v1/cloudaccounts/vsphere/{account}");
    // A project cluster may use a tenant account.
    let acct = match client
        .get::<palette_api::models::V1VsphereAccount>(&path, &ctx.cancel)
        .await
    {
        Ok(a) => Ok(a),
        Err(e) if e.is_not_found() => client.with_project(None).get(&path, &ctx.cancel).await,
        Err(e) => Err(e),
    };
    acct.ok()
        .and_then(|a| a.metadata)
        .and_then(|m| m.annotations)
        .and_then(|a| a.get("overlordUid").cloned())
}

#[cfg(test)]
mod split_context_tests {
    use super::split_context;

    #[test]
    fn both_providers_spellings_of_a_context() {
        assert_eq!(split_context("apps-dc1"), (None, "apps-dc1"));
        assert_eq!(
            split_context("project/apps-dc1"),
            (Some("project"), "apps-dc1")
        );
        assert_eq!(split_context("tenant/vsphere"), (Some("tenant"), "vsphere"));
        assert_eq!(
            split_context("5f8c1e0a2b3d4c5e6f708192:project"),
            (Some("project"), "5f8c1e0a2b3d4c5e6f708192")
        );
        assert_eq!(split_context("vsphere:tenant"), (Some("tenant"), "vsphere"));
        // Anything else is part of the name, for Palette to judge.
        assert_eq!(split_context("team/apps"), (None, "team/apps"));
        assert_eq!(split_context("apps:prod"), (None, "apps:prod"));
    }
}
