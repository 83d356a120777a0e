//! Cluster profiles (read only; seeded) and the project summary listing.
//!
//! A cluster is built from a profile looked up by name and version, so the
//! lab seeds vSphere infrastructure profiles the way a tenant would have
//! them: each version is its own profile object sharing the name, and every
//! summary lists all versions of its name.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use palette_api::models::{
    V1ClusterProfile, V1ClusterProfileSpec, V1ClusterProfileStatus, V1ClusterProfileSummary,
    V1ClusterProfileSummarySpecSummary, V1ClusterProfileTemplate, V1ClusterProfileTemplateSummary,
    V1ClusterProfileVersion, V1ClusterProfilesFilterSpec, V1ClusterProfilesSummary, V1FilterString,
    V1ListMetaData, V1ObjectMeta, V1PackRefSummary, V1ProjectSummary, V1ProjectsFilterSpec,
    V1ProjectsSummary,
};

use crate::error::ApiError;
use crate::model::profile::Profile;
use crate::state::{Lab, Scope};

fn visible(p: &Profile, scope: &Scope) -> bool {
    p.scope == Scope::Tenant || &p.scope == scope
}

fn versions(all: &[Profile], name: &str, scope: &Scope) -> Vec<V1ClusterProfileVersion> {
    all.iter()
        .filter(|p| p.name == name && visible(p, scope))
        .map(|p| V1ClusterProfileVersion {
            uid: Some(p.uid.clone()),
            version: Some(p.version.clone()),
        })
        .collect()
}

fn meta(p: &Profile) -> V1ObjectMeta {
    V1ObjectMeta {
        name: Some(p.name.clone()),
        uid: Some(p.uid.clone()),
        ..Default::default()
    }
}

fn string_matches(f: &Option<V1FilterString>, value: &str) -> bool {
    let Some(f) = f else { return true };
    let fold = |s: &str| {
        if f.ignore_case.unwrap_or(false) {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    };
    let v = fold(value);
    f.eq.as_deref().is_none_or(|x| v == fold(x))
        && f.ne.as_deref().is_none_or(|x| v != fold(x))
        && f.contains.as_deref().is_none_or(|x| v.contains(&fold(x)))
        && f.begins_with
            .as_deref()
            .is_none_or(|x| v.starts_with(&fold(x)))
}

/// `POST /v1/dashboard/clusterprofiles`: filters on name, version and type.
pub async fn filter_summary(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    body: Option<Json<V1ClusterProfilesFilterSpec>>,
) -> Response {
    let spec = body.map(|Json(b)| b).unwrap_or_default();
    let filter = spec.filter.unwrap_or_default();
    let store = lab.store();
    let items: Vec<V1ClusterProfileSummary> = store
        .profiles
        .iter()
        .filter(|p| visible(p, &scope))
        .filter(|p| string_matches(&filter.profile_name, &p.name))
        .filter(|p| {
            filter.version.as_ref().is_none_or(|v| {
                v.eq.as_deref().is_none_or(|x| x == p.version)
                    && v.ne.as_deref().is_none_or(|x| x != p.version)
                    && v.begins_with
                        .as_deref()
                        .is_none_or(|x| p.version.starts_with(x))
            })
        })
        .filter(|p| {
            filter
                .profile_type
                .as_ref()
                .is_none_or(|ts| ts.is_empty() || ts.iter().any(|t| t == &p.profile_type))
        })
        .map(|p| V1ClusterProfileSummary {
            metadata: Some(meta(p)),
            spec_summary: Some(V1ClusterProfileSummarySpecSummary {
                published: Some(V1ClusterProfileTemplateSummary {
                    cloud_type: Some(p.cloud_type.clone()),
                    r#type: Some(p.profile_type.clone()),
                    packs: Some(
                        p.packs
                            .iter()
                            .map(|k| V1PackRefSummary {
                                name: k.name.clone(),
                                tag: k.tag.clone(),
                                layer: k.layer.clone(),
                                r#type: k.r#type.clone(),
                                pack_uid: k.pack_uid.clone(),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                }),
                version: Some(p.version.clone()),
                versions: Some(versions(&store.profiles, &p.name, &scope)),
                ..Default::default()
            }),
            status: None,
        })
        .collect();
    Json(V1ClusterProfilesSummary {
        listmeta: Some(V1ListMetaData {
            count: Some(items.len() as i64),
            ..Default::default()
        }),
        items: Some(items),
    })
    .into_response()
}

/// `GET /v1/clusterprofiles/{uid}`.
pub async fn get(
    State(lab): State<Lab>,
    Extension(scope): Extension<Scope>,
    Path(uid): Path<String>,
) -> Response {
    let store = lab.store();
    let Some(p) = store
        .profiles
        .iter()
        .find(|p| p.uid == uid && visible(p, &scope))
    else {
        return ApiError::not_found("cluster profile", &uid).into_response();
    };
    let template = V1ClusterProfileTemplate {
        cloud_type: Some(p.cloud_type.clone()),
        name: Some(p.name.clone()),
        packs: Some(p.packs.clone()),
        profile_version: Some(p.version.clone()),
        r#type: Some(p.profile_type.clone()),
        uid: Some(p.uid.clone()),
        ..Default::default()
    };
    Json(V1ClusterProfile {
        api_version: Some("v1".into()),
        kind: Some("ClusterProfile".into()),
        metadata: Some(meta(p)),
        spec: Some(V1ClusterProfileSpec {
            published: Some(template),
            version: Some(p.version.clone()),
            versions: Some(versions(&store.profiles, &p.name, &scope)),
            ..Default::default()
        }),
        status: Some(V1ClusterProfileStatus {
            is_published: Some(true),
            ..Default::default()
        }),
    })
    .into_response()
}

/// `POST /v1/dashboard/projects`: the projects, filtered by name.
pub async fn projects_summary(
    State(lab): State<Lab>,
    body: Option<Json<V1ProjectsFilterSpec>>,
) -> Response {
    let spec = body.map(|Json(b)| b).unwrap_or_default();
    let name = spec.filter.and_then(|f| f.name);
    let store = lab.store();
    let items: Vec<V1ProjectSummary> = store
        .projects
        .iter()
        .filter(|p| string_matches(&name, &p.name))
        .map(|p| V1ProjectSummary {
            metadata: Some(V1ObjectMeta {
                name: Some(p.name.clone()),
                uid: Some(p.uid.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Json(V1ProjectsSummary {
        listmeta: Some(V1ListMetaData {
            count: Some(items.len() as i64),
            ..Default::default()
        }),
        items: Some(items),
    })
    .into_response()
}
