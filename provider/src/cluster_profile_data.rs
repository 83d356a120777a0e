//! `data "palette_cluster_profile"`: a profile by name and version.

use std::sync::Arc;

use async_trait::async_trait;
use palette_api::models::{
    V1ClusterProfile, V1ClusterProfileFilterSpec, V1ClusterProfilesFilterSpec,
    V1ClusterProfilesSummary, V1FilterString, V1FilterVersionString,
};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attr, AttrPath, Ctx, DataSource, Diagnostic, Diagnostics, Model, Schema, Type, Value,
};

use crate::shared::{api_diag, Shared};

pub struct ClusterProfileData {
    pub shared: Arc<Shared>,
}

/// Orders versions such as `1.10.0` after `1.9.2`: numeric parts compare
/// as numbers, anything else as text.
fn version_key(v: &str) -> Vec<(u64, String)> {
    v.split(['.', '-', '+'])
        .map(|p| match p.parse::<u64>() {
            Ok(n) => (n, String::new()),
            Err(_) => (0, p.to_string()),
        })
        .collect()
}

/// The data source's model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterProfileDataModel {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub version: Attr<String>,
    pub context: Attr<String>,
    pub cloud_type: Attr<String>,
    #[serde(rename = "type")]
    pub kind: Attr<String>,
    pub versions: Attr<Vec<String>>,
    pub packs: Attr<Vec<PackModel>>,
}

/// A pack of the profile's published (or draft) template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackModel {
    pub name: Attr<String>,
    pub tag: Attr<String>,
    pub layer: Attr<String>,
    pub uid: Attr<String>,
    pub values: Attr<String>,
}

impl Model for ClusterProfileDataModel {
    fn ty() -> Type {
        schemas::cluster_profile_data::schema().ty()
    }
}

impl ClusterProfileDataModel {
    fn from_profile(p: &V1ClusterProfile, versions: Vec<String>, context: Attr<String>) -> Self {
        let meta = p.metadata.clone().unwrap_or_default();
        let spec = p.spec.clone().unwrap_or_default();
        let t = spec.published.or(spec.draft).unwrap_or_default();
        let packs = t
            .packs
            .unwrap_or_default()
            .into_iter()
            .map(|k| PackModel {
                name: k.name.into(),
                tag: k.tag.into(),
                layer: k.layer.into(),
                uid: k.pack_uid.into(),
                values: k.values.into(),
            })
            .collect::<Vec<_>>();
        ClusterProfileDataModel {
            id: meta.uid.into(),
            name: meta.name.into(),
            version: spec.version.into(),
            context,
            cloud_type: t.cloud_type.into(),
            kind: t.r#type.into(),
            versions: versions.into(),
            packs: packs.into(),
        }
    }
}

#[async_trait]
impl DataSource for ClusterProfileData {
    fn type_name(&self) -> &'static str {
        schemas::cluster_profile_data::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::cluster_profile_data::schema()
    }

    async fn read(&self, config: &Value, ctx: &Ctx) -> (Value, Diagnostics) {
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        let config = match ClusterProfileDataModel::from_value(config) {
            Ok(m) => m,
            Err(e) => {
                return (
                    Value::Null,
                    Diagnostic::error("Unexpected data source value", e.to_string()).into(),
                )
            }
        };
        let client = match config.context.as_str() {
            Some("tenant") => Arc::new(client.with_project(None)),
            _ => client,
        };
        let name = config.name.or_default();
        let version = config.version.get();
        let filter = V1ClusterProfilesFilterSpec {
            filter: Some(V1ClusterProfileFilterSpec {
                profile_name: Some(V1FilterString {
                    eq: Some(name.clone()),
                    ..Default::default()
                }),
                version: version.clone().map(|v| V1FilterVersionString {
                    eq: Some(v),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            sort: None,
        };
        let found: V1ClusterProfilesSummary = match client
            .post("/v1/dashboard/clusterprofiles", &filter, &ctx.cancel)
            .await
        {
            Ok(f) => f,
            Err(e) => return (Value::Null, api_diag("Cannot list cluster profiles", &e)),
        };
        let mut items: Vec<_> = found
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.metadata.as_ref().and_then(|m| m.name.as_deref()) == Some(name.as_str()))
            .filter_map(|s| {
                let uid = s.metadata.and_then(|m| m.uid)?;
                let summary = s.spec_summary.unwrap_or_default();
                Some((uid, summary.version.unwrap_or_default(), summary.versions))
            })
            .collect();
        if items.is_empty() {
            let what = match &version {
                Some(v) => format!("No cluster profile named {name:?} has version {v:?}."),
                None => format!("No cluster profile is named {name:?}."),
            };
            let at = if version.is_some() { "version" } else { "name" };
            return (
                Value::Null,
                Diagnostic::error("Cluster profile not found", what)
                    .at(AttrPath::attr(at))
                    .into(),
            );
        }
        items.sort_by_key(|(_, v, _)| version_key(v));
        let (uid, _, versions) = items.pop().expect("not empty");
        let mut versions: Vec<String> = versions
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.version)
            .collect();
        versions.sort_by_key(|v| version_key(v));
        versions.dedup();
        match client
            .get::<V1ClusterProfile>(&format!("/v1/clusterprofiles/{uid}"), &ctx.cancel)
            .await
        {
            Ok(p) => (
                ClusterProfileDataModel::from_profile(&p, versions, config.context.clone())
                    .to_value(),
                Diagnostics::new(),
            ),
            Err(e) => (Value::Null, api_diag("Cannot read cluster profile", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_model_matches_the_schema() {
        tfplugin::model::check_model::<super::ClusterProfileDataModel>(
            &schemas::cluster_profile_data::schema().block,
        )
        .unwrap();
    }

    #[test]
    fn versions_order_numerically() {
        let mut v = vec!["1.10.0", "1.9.2", "1.0.0", "2.0.0-rc1"];
        v.sort_by_key(|x| super::version_key(x));
        assert_eq!(v, vec!["1.0.0", "1.9.2", "1.10.0", "2.0.0-rc1"]);
    }
}
