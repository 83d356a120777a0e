//! Reading clusters: GET, status and the dashboard search.

use super::*;

// ---------------------------------------------------------------- read

pub(super) fn not_found(uid: &str) -> ApiError {
    ApiError::not_found("cluster", uid)
}

pub(super) fn find<'a>(
    store: &'a Store,
    uid: &str,
    scope: &Scope,
) -> Result<&'a Cluster, ApiError> {
    store
        .clusters
        .iter()
        .find(|c| c.uid == uid && visible(c, scope))
        .ok_or_else(|| not_found(uid))
}

pub(super) fn find_mut<'a>(
    store: &'a mut Store,
    uid: &str,
    scope: &Scope,
) -> Result<&'a mut Cluster, ApiError> {
    store
        .clusters
        .iter_mut()
        .find(|c| c.uid == uid && visible(c, scope))
        .ok_or_else(|| not_found(uid))
}

pub(super) fn by_config<'a>(
    store: &'a Store,
    config: &str,
    scope: &Scope,
) -> Result<&'a Cluster, ApiError> {
    store
        .clusters
        .iter()
        .find(|c| c.config_uid == config && visible(c, scope))
        .ok_or_else(|| ApiError::not_found("cloud config", config))
}

pub(super) fn meta(clock: &crate::clock::Clock, c: &Cluster) -> V1ObjectMeta {
    let mut annotations = c.annotations.clone();
    annotations.insert("scope".into(), scope_name(&c.scope).into());
    V1ObjectMeta {
        name: Some(c.name.clone()),
        uid: Some(c.uid.clone()),
        labels: Some(c.labels.clone()),
        annotations: Some(annotations),
        creation_timestamp: Some(c.created.clone()),
        last_modified_timestamp: Some(c.modified.clone()),
        // As Palette sets it when a deletion is asked for; a client measures
        // how long a deletion has run against this and the `Date` header.
        deletion_timestamp: c.deleting_since.map(|ms| clock.rfc3339(ms)),
    }
}

/// The cluster's profiles with the values it runs: its override where it
/// has one, the profile's otherwise.
pub(super) fn templates(store: &Store, c: &Cluster) -> Vec<V1ClusterProfileTemplate> {
    c.profiles
        .iter()
        .filter_map(|cp| {
            let p = store.profiles.iter().find(|p| p.uid == cp.uid)?;
            Some(V1ClusterProfileTemplate {
                uid: Some(p.uid.clone()),
                name: Some(p.name.clone()),
                profile_version: Some(p.version.clone()),
                cloud_type: Some(p.cloud_type.clone()),
                r#type: Some(p.profile_type.clone()),
                packs: Some(
                    p.packs
                        .iter()
                        .map(|k| V1PackRef {
                            values: k
                                .name
                                .as_ref()
                                .and_then(|n| cp.values.get(n).cloned())
                                .or_else(|| k.values.clone()),
                            ..k.clone()
                        })
                        .collect(),
                ),
                ..Default::default()
            })
        })
        .collect()
}

/// The control plane's address as clients reach it.
pub(super) fn endpoint(c: &Cluster) -> Option<String> {
    let cp = c.pools.iter().find(|p| p.is_control_plane())?;
    let mut nodes: Vec<&Node> = c
        .nodes
        .iter()
        .filter(|n| n.pool == cp.name() && n.vm.is_some())
        .collect();
    nodes.sort_by_key(|n| n.index);
    let first = nodes.first()?;
    Some(match first.ip {
        Some(ip) => ip.to_string(),
        None => c
            .cloud_config
            .control_plane_endpoint
            .as_ref()
            .and_then(|e| e.host.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| PLACEHOLDER_ENDPOINT.into()),
    })
}

pub(super) fn to_api(store: &Store, c: &Cluster) -> V1SpectroCluster {
    V1SpectroCluster {
        api_version: Some("v1".into()),
        kind: Some("SpectroCluster".into()),
        metadata: Some(meta(&store.clock, c)),
        spec: Some(V1SpectroClusterSpec {
            cloud_type: Some("vsphere".into()),
            cluster_type: Some("PureManage".into()),
            cloud_config_ref: Some(V1ObjectReference {
                kind: Some("VsphereCloudConfig".into()),
                name: Some(c.name.clone()),
                uid: Some(c.config_uid.clone()),
            }),
            cluster_profile_templates: Some(templates(store, c)),
            ..Default::default()
        }),
        status: Some(V1SpectroClusterStatus {
            state: Some(c.state.clone()),
            conditions: Some(c.conditions.clone()),
            api_endpoints: endpoint(c).map(|host| {
                vec![V1APIEndpoint {
                    host: Some(host),
                    port: Some(6443),
                }]
            }),
            ..Default::default()
        }),
    }
}

/// `GET /v1/spectroclusters/{uid}`.
pub async fn get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    match find(&store, &uid, &scope) {
        Ok(c) => Json(to_api(&store, c)).into_response(),
        Err(e) => match store.foreign_clusters.iter().find(|f| f.uid == uid) {
            Some(f) => Json(f.to_api()).into_response(),
            None => e.into_response(),
        },
    }
}

/// `GET /v1/spectroclusters/{uid}/status`.
pub async fn status(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    match find(&store, &uid, &scope) {
        Ok(c) => Json(V1SpectroClusterStatusEntity {
            status: Some(V1SpectroClusterState {
                state: Some(c.state.clone()),
            }),
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

pub(super) fn health(c: &Cluster) -> V1SpectroClusterHealthStatus {
    V1SpectroClusterHealthStatus {
        state: Some(
            if c.state == "Running" {
                "Healthy"
            } else {
                "Unknown"
            }
            .into(),
        ),
        ..Default::default()
    }
}

pub(super) fn summary(store: &Store, c: &Cluster) -> V1SpectroClusterSummary {
    let account = store.accounts.iter().find(|a| a.uid == c.account_uid);
    let project = match &c.scope {
        Scope::Project(p) => store.project(p).map(|p| V1ProjectMeta {
            name: Some(p.name.clone()),
            uid: Some(p.uid.clone()),
        }),
        Scope::Tenant => None,
    };
    V1SpectroClusterSummary {
        metadata: Some(meta(&store.clock, c)),
        spec_summary: Some(V1SpectroClusterSummarySpecSummary {
            cloud_account_meta: Some(V1CloudAccountMeta {
                name: account.map(|a| a.name.clone()),
                uid: Some(c.account_uid.clone()),
            }),
            cloud_config: Some(V1CloudConfigMeta {
                cloud_type: Some("vsphere".into()),
                uid: Some(c.config_uid.clone()),
                machine_pools: Some(
                    c.pools
                        .iter()
                        .map(|p| V1MachinePoolMeta {
                            cloud_type: Some("vsphere".into()),
                            is_control_plane: Some(p.is_control_plane()),
                            labels: p.config.labels.clone(),
                            size: Some(p.size() as i32),
                            healthy: Some(
                                c.nodes
                                    .iter()
                                    .filter(|n| n.pool == p.name() && n.ready)
                                    .count() as i32,
                            ),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            cluster_profile_templates: Some(
                templates(store, c)
                    .into_iter()
                    .map(|t| V1ClusterProfileTemplateMeta {
                        cloud_type: t.cloud_type,
                        name: t.name,
                        packs: t.packs,
                        r#type: t.r#type,
                        uid: t.uid,
                        ..Default::default()
                    })
                    .collect(),
            ),
            project_meta: project,
            ..Default::default()
        }),
        status: Some(V1SpectroClusterSummaryStatus {
            state: Some(c.state.clone()),
            health: Some(health(c)),
            ..Default::default()
        }),
    }
}

/// One filter of a search: the properties a client needs to find clusters.
pub(super) fn item_matches(item: &V1SearchFilterItem, c: &Cluster) -> Result<bool, ApiError> {
    let property = item.property.clone().unwrap_or_default();
    let cond = item.condition.clone().unwrap_or_default();
    let text = match property.as_str() {
        "clusterName" => c.name.clone(),
        "clusterState" => c.state.clone(),
        "environment" => "vsphere".into(),
        "isDeleted" => {
            let want = cond.bool.and_then(|b| b.value).unwrap_or(false);
            // Deleted clusters are gone from the lab.
            return Ok(!want);
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "search property {other:?} is not supported by palette-lab \
                 (clusterName, clusterState, environment, isDeleted)"
            )))
        }
    };
    let Some(s) = cond.string else {
        return Err(ApiError::bad_request(format!(
            "search property {property:?} needs a string condition"
        )));
    };
    let fold = |v: &str| {
        if s.ignore_case.unwrap_or(false) {
            v.to_lowercase()
        } else {
            v.to_string()
        }
    };
    let value = fold(&text);
    let m = s.r#match.unwrap_or_default();
    let values = m.values.unwrap_or_default();
    let op = s.operator.unwrap_or_else(|| "eq".into());
    let one = |x: &String| -> Result<bool, ApiError> {
        let x = fold(x);
        Ok(match op.as_str() {
            "eq" => value == x,
            "contains" => value.contains(&x),
            "beginsWith" => value.starts_with(&x),
            other => {
                return Err(ApiError::bad_request(format!(
                    "string operator {other:?} is not one of eq, contains, beginsWith"
                )))
            }
        })
    };
    let hits = values.iter().map(one).collect::<Result<Vec<_>, _>>()?;
    let hit = if values.is_empty() {
        true
    } else if m.conjunction.as_deref() == Some("and") {
        hits.iter().all(|h| *h)
    } else {
        hits.iter().any(|h| *h)
    };
    Ok(hit != s.negation.unwrap_or(false))
}

pub(super) fn spec_matches(
    spec: &V1SearchFilterSummarySpec,
    c: &Cluster,
) -> Result<bool, ApiError> {
    let Some(filter) = &spec.filter else {
        return Ok(true);
    };
    let groups = filter.filter_groups.clone().unwrap_or_default();
    let mut results = Vec::new();
    for g in &groups {
        let items = g.filters.clone().unwrap_or_default();
        let hits = items
            .iter()
            .map(|i| item_matches(i, c))
            .collect::<Result<Vec<_>, _>>()?;
        results.push(if g.conjunction.as_deref() == Some("or") {
            hits.is_empty() || hits.iter().any(|h| *h)
        } else {
            hits.iter().all(|h| *h)
        });
    }
    Ok(if filter.conjunction.as_deref() == Some("or") {
        results.is_empty() || results.iter().any(|h| *h)
    } else {
        results.iter().all(|h| *h)
    })
}

/// `POST /v1/dashboard/spectroclusters/search`.
/// The paging parameters of the search (`limit`, `offset`, `continue`).
#[derive(Default, Deserialize)]
pub struct SearchPage {
    pub(super) limit: Option<usize>,
    pub(super) offset: Option<usize>,
    /// The `continue` token: a page position, not a credential.
    #[serde(rename = "continue")]
    pub(super) cursor: Option<String>,
}

/// One page of `items`, and the listing metadata Palette sends with it: the
/// total `count`, and a `continue` token for the next page, empty on the
/// last one. The token is the next offset, opaque to clients. Without a
/// `limit`, everything in one page.
pub(super) fn page<T>(items: Vec<T>, p: &SearchPage) -> Result<(Vec<T>, V1ListMetaData), ApiError> {
    let total = items.len();
    let start = match p.cursor.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid continue token {t:?}")))?,
        None => p.offset.unwrap_or(0),
    }
    .min(total);
    let end = match p.limit.filter(|l| *l > 0) {
        Some(l) => (start + l).min(total),
        None => total,
    };
    let meta = V1ListMetaData {
        count: Some(total as i64),
        limit: p.limit.map(|l| l as i64),
        offset: Some(start as i64),
        r#continue: Some(if end < total {
            end.to_string()
        } else {
            String::new()
        }),
    };
    let items = items.into_iter().skip(start).take(end - start).collect();
    Ok((items, meta))
}

pub async fn search(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Query(paging): Query<SearchPage>,
    body: Option<Json<V1SearchFilterSummarySpec>>,
) -> Response {
    let spec = body.map(|Json(b)| b).unwrap_or_default();
    let store = lab.store();
    let mut items = Vec::new();
    for c in store.clusters.iter().filter(|c| visible(c, &scope)) {
        match spec_matches(&spec, c) {
            Ok(true) => items.push(summary(&store, c)),
            Ok(false) => {}
            Err(e) => return e.into_response(),
        }
    }
    let descending = spec
        .sort
        .as_ref()
        .and_then(|s| s.first())
        .and_then(|s| s.order.as_deref())
        == Some("desc");
    items.sort_by(|a, b| {
        let name = |s: &V1SpectroClusterSummary| {
            s.metadata
                .as_ref()
                .and_then(|m| m.name.clone())
                .unwrap_or_default()
        };
        let o = name(a).cmp(&name(b));
        if descending {
            o.reverse()
        } else {
            o
        }
    });
    let (items, listmeta) = match page(items, &paging) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    Json(V1SpectroClustersSummary {
        listmeta: Some(listmeta),
        items: Some(items),
    })
    .into_response()
}
