//! Reading clusters: one cluster with its machines for a refresh, the
//! search by name and the listing, import.

use std::collections::BTreeMap;

use palette_api::client::{Client, Error as ApiError};
use palette_api::models::{
    V1ClusterProfile, V1SearchFilterCondition, V1SearchFilterGroup, V1SearchFilterItem,
    V1SearchFilterSpec, V1SearchFilterStringCondition, V1SearchFilterStringConditionMatch,
    V1SearchFilterSummarySpec, V1SpectroCluster, V1SpectroClustersSummary, V1VsphereCloudConfig,
    V1VsphereMachine, V1VsphereMachines,
};
use tfplugin::{Ctx, Diagnostic, Diagnostics, Imported, Model, ReadResult, Value};

use super::model::{decode_some, labels_to_tags, ClusterModel};
use super::plan::Seen;
use super::{Cluster, CLOUD_CONFIGS, CLUSTERS};
use crate::shared::{api_diag, wrong_kind};

// ---------------------------------------------------------------------------
// State from Palette (pure)

/// What one refresh reads.
#[derive(Clone, Default)]
pub struct Remote {
    pub cluster: V1SpectroCluster,
    pub config: V1VsphereCloudConfig,
    /// Per pool name, its machines.
    pub machines: BTreeMap<String, Vec<V1VsphereMachine>>,
    pub kubeconfig: Option<String>,
    /// After an import: the profiles' own pack values, so that only the
    /// packs the cluster overrides become `pack` blocks.
    pub profile_defaults: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

/// Not derived: the kubeconfig holds the cluster's admin credentials.
impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("cluster", &self.cluster)
            .field("config", &self.config)
            .field("machines", &self.machines)
            .field(
                "kubeconfig",
                &self.kubeconfig.as_ref().map(|_| "<redacted>"),
            )
            .field("profile_defaults", &self.profile_defaults)
            .finish()
    }
}

pub(crate) fn state_of(c: &V1SpectroCluster) -> String {
    c.status
        .as_ref()
        .and_then(|s| s.state.clone())
        .unwrap_or_default()
}

pub(crate) async fn get_cluster(
    client: &Client,
    uid: &str,
    ctx: &Ctx,
) -> Result<Option<V1SpectroCluster>, ApiError> {
    match client
        .get::<V1SpectroCluster>(&format!("{CLUSTERS}/{uid}"), &ctx.cancel)
        .await
    {
        Ok(c) if state_of(&c) == "Deleted" => Ok(None),
        Ok(c) => Ok(Some(c)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) fn name_filter(name: &str) -> V1SearchFilterSummarySpec {
    V1SearchFilterSummarySpec {
        filter: Some(V1SearchFilterSpec {
            conjunction: Some("and".into()),
            filter_groups: Some(vec![V1SearchFilterGroup {
                conjunction: Some("and".into()),
                filters: Some(vec![V1SearchFilterItem {
                    property: Some("clusterName".into()),
                    r#type: Some("string".into()),
                    condition: Some(V1SearchFilterCondition {
                        string: Some(V1SearchFilterStringCondition {
                            operator: Some("eq".into()),
                            ignore_case: Some(false),
                            negation: Some(false),
                            r#match: Some(V1SearchFilterStringConditionMatch {
                                conjunction: Some("or".into()),
                                values: Some(vec![name.to_string()]),
                            }),
                        }),
                        ..Default::default()
                    }),
                }]),
            }]),
        }),
        sort: None,
    }
}

/// Clusters per page of a listing: Palette's search pages its answer, and
/// a project with hundreds of clusters is read (and streamed) page by page.
pub(super) const SEARCH_PAGE: usize = 50;

/// What a search result says of a cluster, enough to filter a listing and
/// to name the cluster without reading it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    pub uid: String,
    pub name: String,
    pub tags: Vec<String>,
    /// `None` when the search did not say.
    pub state: Option<String>,
    pub account: Option<String>,
}

impl Summary {
    pub(super) fn from(c: palette_api::models::V1SpectroClusterSummary) -> Option<Summary> {
        let meta = c.metadata?;
        Some(Summary {
            uid: meta.uid?,
            name: meta.name.unwrap_or_default(),
            tags: labels_to_tags(&meta.labels.unwrap_or_default()),
            state: c.status.and_then(|s| s.state),
            account: c
                .spec_summary
                .and_then(|s| s.cloud_account_meta)
                .and_then(|a| a.uid),
        })
    }
}

/// One page of the vSphere clusters in the client's scope, from the page
/// `token` names (`None`: the first); returns the next page's token,
/// `None` after the last (Palette ends with an empty token).
pub(crate) async fn search_page(
    client: &Client,
    token: Option<&str>,
    ctx: &Ctx,
) -> Result<(Vec<Summary>, Option<String>), ApiError> {
    let mut filter = name_filter("vsphere");
    if let Some(item) = filter
        .filter
        .as_mut()
        .and_then(|f| f.filter_groups.as_mut())
        .and_then(|g| g.first_mut())
        .and_then(|g| g.filters.as_mut())
        .and_then(|f| f.first_mut())
    {
        item.property = Some("environment".into());
    }
    // The token is opaque: encoded as a query value, whatever it holds.
    let path = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &SEARCH_PAGE.to_string());
        if let Some(t) = token {
            query.append_pair("continue", t);
        }
        format!("/v1/dashboard/spectroclusters/search?{}", query.finish())
    };
    let page: V1SpectroClustersSummary = client.post(&path, &filter, &ctx.cancel).await?;
    let found = page
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(Summary::from)
        .collect();
    let next = page
        .listmeta
        .and_then(|l| l.r#continue)
        .filter(|t| !t.is_empty());
    Ok((found, next))
}

/// Uids of the live clusters with exactly this name in the client's scope.
pub(crate) async fn find_by_name(
    client: &Client,
    name: &str,
    ctx: &Ctx,
) -> Result<Vec<String>, ApiError> {
    let found: V1SpectroClustersSummary = client
        .post(
            "/v1/dashboard/spectroclusters/search",
            &name_filter(name),
            &ctx.cancel,
        )
        .await?;
    Ok(found
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.metadata)
        .filter(|m| m.name.as_deref() == Some(name))
        .filter_map(|m| m.uid)
        .collect())
}

/// A cluster of another cloud behind a uid is refused: state that claimed
/// it would let a later destroy delete, say, an AWS cluster.
pub fn check_kind(uid: &str, c: &V1SpectroCluster) -> Result<(), String> {
    let cloud = c.spec.as_ref().and_then(|s| s.cloud_type.as_deref());
    if cloud.is_some_and(|t| t.eq_ignore_ascii_case("vsphere")) {
        return Ok(());
    }
    let name = c.metadata.as_ref().and_then(|m| m.name.as_deref());
    Err(wrong_kind(uid, cloud, "cluster", name, "a vSphere cluster"))
}

/// Why a cluster could not be read.
#[derive(Debug)]
pub(super) enum ReadError {
    Api(ApiError),
    /// The uid names a cluster of another cloud (the text says which).
    WrongKind(String),
}

impl From<ApiError> for ReadError {
    fn from(e: ApiError) -> Self {
        ReadError::Api(e)
    }
}

pub(super) fn read_diag(summary: &str, e: &ReadError) -> Diagnostics {
    match e {
        ReadError::Api(e) => api_diag(summary, e),
        ReadError::WrongKind(what) => Diagnostic::error(
            "Not a vSphere cluster",
            format!(
                "{what} palette_cluster_vsphere manages vSphere clusters only; nothing was changed. If this \
                 uid is in state by mistake, remove it with `terraform state rm` (which leaves the cluster \
                 alone)."
            ),
        )
        .into(),
    }
}

pub(super) async fn read_remote(
    client: &Client,
    uid: &str,
    with_defaults: bool,
    with_kubeconfig: bool,
    ctx: &Ctx,
) -> Result<Option<Remote>, ReadError> {
    let Some(cluster) = get_cluster(client, uid, ctx).await? else {
        return Ok(None);
    };
    // Before anything else is read: the rest assumes a vSphere cluster.
    check_kind(uid, &cluster).map_err(ReadError::WrongKind)?;
    let config_uid = cluster
        .spec
        .as_ref()
        .and_then(|s| s.cloud_config_ref.as_ref())
        .and_then(|r| r.uid.clone())
        .unwrap_or_default();
    let config: V1VsphereCloudConfig = client
        .get(&format!("{CLOUD_CONFIGS}/{config_uid}"), &ctx.cancel)
        .await?;
    let mut machines = BTreeMap::new();
    for p in config
        .spec
        .as_ref()
        .and_then(|s| s.machine_pool_config.clone())
        .unwrap_or_default()
    {
        let Some(name) = p.name else { continue };
        let list: V1VsphereMachines = client
            .get(
                &format!("{CLOUD_CONFIGS}/{config_uid}/machinePools/{name}/machines"),
                &ctx.cancel,
            )
            .await?;
        machines.insert(name, list.items.unwrap_or_default());
    }
    let kubeconfig = if with_kubeconfig && state_of(&cluster) == "Running" {
        match client
            .get_text(&format!("{CLUSTERS}/{uid}/assets/kubeconfig"), &ctx.cancel)
            .await
        {
            Ok(k) => {
                tfplugin::logging::register_kubeconfig(&k);
                Some(k)
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let mut profile_defaults = None;
    if with_defaults {
        let mut all = BTreeMap::new();
        for t in cluster
            .spec
            .as_ref()
            .and_then(|s| s.cluster_profile_templates.clone())
            .unwrap_or_default()
        {
            let Some(puid) = t.uid else { continue };
            let p: V1ClusterProfile = client
                .get(&format!("/v1/clusterprofiles/{puid}"), &ctx.cancel)
                .await?;
            let spec = p.spec.unwrap_or_default();
            let tmpl = spec.published.or(spec.draft).unwrap_or_default();
            let values: BTreeMap<String, String> = tmpl
                .packs
                .unwrap_or_default()
                .into_iter()
                .filter_map(|k| Some((k.name?, k.values.unwrap_or_default())))
                .collect();
            all.insert(puid, values);
        }
        profile_defaults = Some(all);
    }
    Ok(Some(Remote {
        cluster,
        config,
        machines,
        kubeconfig,
        profile_defaults,
    }))
}

impl Cluster {
    pub(super) async fn read_cluster(
        &self,
        state: &Value,
        private: &[u8],
        ctx: &Ctx,
    ) -> ReadResult {
        let keep = |diags| ReadResult {
            state: state.clone(),
            private: private.to_vec(),
            diags,
        };
        let prior = match decode_some(state) {
            Ok(m) => m,
            Err(d) => return keep(d),
        };
        let ctxt = prior.context();
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return keep(d),
        };
        let uid = prior.id.or_default();
        match read_remote(&client, &uid, false, prior.stores_kubeconfig(), ctx).await {
            Ok(Some(r)) => ReadResult::ok(
                ClusterModel::from_remote(&r, &prior, &ctxt).to_value(),
                Seen::of(&r.cluster).bytes(),
            ),
            // Only a real "not found" (or Deleted) removes the cluster from state;
            // a cluster of another cloud is an error that keeps it.
            Ok(None) => ReadResult::ok(Value::Null, Vec::new()),
            Err(ReadError::Api(e)) => keep(crate::shared::read_failed(
                &format!("Cannot read cluster {uid}"),
                "cluster",
                &e,
            )),
            Err(e) => keep(read_diag(&format!("Cannot read cluster {uid}"), &e)),
        }
    }

    /// `UID`, `NAME`, or `tenant/NAME` / `project/NAME` (also with a uid).
    pub(super) async fn import_cluster(
        &self,
        id: &str,
        ctx: &Ctx,
    ) -> Result<Vec<Imported>, Diagnostics> {
        let (asked, key) = crate::shared::split_context(id);
        let has_project = self.shared.has_project();
        let contexts: Vec<&str> = match asked {
            Some(c) => vec![c],
            None if has_project => vec!["project", "tenant"],
            None => vec!["tenant"],
        };
        for c in contexts {
            let client = self.shared.scoped(c)?;
            let mut uids = match get_cluster(&client, key, ctx).await {
                Ok(Some(_)) => vec![key.to_string()],
                Ok(None) => Vec::new(),
                // A name is not a uid: Palette may answer 400 rather than 404.
                Err(ApiError::Validation { .. }) => Vec::new(),
                Err(e) => return Err(api_diag("Cannot read cluster", &e)),
            };
            if uids.is_empty() {
                uids = find_by_name(&client, key, ctx)
                    .await
                    .map_err(|e| api_diag("Cannot search clusters", &e))?;
            }
            if uids.len() > 1 {
                return Err(Diagnostic::error(
                    "Ambiguous cluster name",
                    format!(
                        "{} clusters are named {key:?} in the {c}; import by uid.",
                        uids.len()
                    ),
                )
                .into());
            }
            if let Some(uid) = uids.first() {
                let r = read_remote(&client, uid, true, true, ctx)
                    .await
                    .map_err(|e| read_diag("Cannot read cluster", &e))?
                    .ok_or_else(|| {
                        Diagnostics::from(Diagnostic::error(
                            "Cluster not found",
                            format!("Cluster {uid} vanished during import."),
                        ))
                    })?;
                let mut m = ClusterModel::from_remote(&r, &ClusterModel::default(), c);
                self.zones_for_import(&mut m, ctx).await;
                return Ok(vec![Imported {
                    state: m.to_value(),
                    private: Vec::new(),
                }]);
            }
        }
        Err(Diagnostic::error(
            "Cluster not found",
            format!(
                "No cluster matches {id:?}. Import with the cluster's uid, its name, or tenant/NAME for a tenant \
                 cluster (for example \"project/apps-dc1\", or the official provider's \"apps-dc1:project\")."
            ),
        )
        .into())
    }
}
