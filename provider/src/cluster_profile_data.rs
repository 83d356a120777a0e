//! `data "palette_cluster_profile"`: a profile by name and version.

use std::sync::Arc;

use async_trait::async_trait;
use palette_api::models::{
    V1ClusterProfile, V1ClusterProfileFilterSpec, V1ClusterProfilesFilterSpec,
    V1ClusterProfilesSummary, V1FilterString, V1FilterVersionString,
};
use tfplugin::{AttrPath, Ctx, DataSource, Diagnostic, Diagnostics, Schema, Value};

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

fn state_from(p: &V1ClusterProfile, versions: Vec<String>, context: &Value) -> Value {
    let meta = p.metadata.clone().unwrap_or_default();
    let spec = p.spec.clone().unwrap_or_default();
    let t = spec.published.or(spec.draft).unwrap_or_default();
    let packs = t
        .packs
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            Value::object([
                ("name", Value::from(k.name)),
                ("tag", Value::from(k.tag)),
                ("layer", Value::from(k.layer)),
                ("uid", Value::from(k.pack_uid)),
                ("values", Value::from(k.values)),
            ])
        })
        .collect();
    Value::object([
        ("id", Value::from(meta.uid)),
        ("name", Value::from(meta.name)),
        ("version", Value::from(spec.version)),
        ("context", context.clone()),
        ("cloud_type", Value::from(t.cloud_type)),
        ("type", Value::from(t.r#type)),
        (
            "versions",
            Value::List(versions.into_iter().map(Value::String).collect()),
        ),
        ("packs", Value::List(packs)),
    ])
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
        let client = match config.get("context").as_str() {
            Some("tenant") => Arc::new(client.with_project(None)),
            _ => client,
        };
        let name = config.get("name").as_str().unwrap_or_default().to_string();
        let version = config.get("version").as_str().map(str::to_string);
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
                state_from(&p, versions, config.get("context")),
                Diagnostics::new(),
            ),
            Err(e) => (Value::Null, api_diag("Cannot read cluster profile", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_order_numerically() {
        let mut v = vec!["1.10.0", "1.9.2", "1.0.0", "2.0.0-rc1"];
        v.sort_by_key(|x| super::version_key(x));
        assert_eq!(v, vec!["1.0.0", "1.9.2", "1.10.0", "2.0.0-rc1"]);
    }
}
