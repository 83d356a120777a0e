//! `data "palette_private_cloud_gateway"`: read a gateway by name or uid.

use std::sync::Arc;

use async_trait::async_trait;
use palette_api::models::{V1Overlord, V1Overlords};
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attr, AttrPath, Ctx, DataSource, Diagnostic, Diagnostics, Model, Schema, Type, Value,
};

use crate::shared::{api_diag, other_cloud, wrong_kind, Shared};

pub struct GatewayData {
    pub shared: Arc<Shared>,
}

/// The spec gives a gateway (`v1Overlord`) no field for its cloud; its
/// `kind` is an undocumented string. When that string names a cloud other
/// than vSphere, the gateway is refused: IP pools, accounts and clusters
/// here all live on vSphere gateways. Any other `kind` says nothing.
pub fn check_gateway_kind(g: &V1Overlord) -> Result<(), Diagnostics> {
    let Some(cloud) = other_cloud(g.kind.as_deref()) else {
        return Ok(());
    };
    let meta = g.metadata.clone().unwrap_or_default();
    Err(Diagnostic::error(
        "Not a vSphere gateway",
        format!(
            "{} This provider works with vSphere private cloud gateways only.",
            wrong_kind(
                meta.uid.as_deref().unwrap_or("?"),
                Some(&cloud),
                "private cloud gateway",
                meta.name.as_deref(),
                "a vSphere gateway"
            )
        ),
    )
    .into())
}

/// The data source's model: a gateway as Palette reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayDataModel {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub state: Attr<String>,
    pub health: Attr<String>,
    pub ready: Attr<bool>,
    pub upgrade_available: Attr<bool>,
    pub address: Attr<String>,
    pub cloud_account_id: Attr<String>,
}

impl Model for GatewayDataModel {
    fn ty() -> Type {
        schemas::gateway_data::schema().ty()
    }
}

impl From<&V1Overlord> for GatewayDataModel {
    fn from(g: &V1Overlord) -> Self {
        let meta = g.metadata.clone().unwrap_or_default();
        let spec = g.spec.clone().unwrap_or_default();
        let status = g.status.clone().unwrap_or_default();
        let upgrade_available = crate::gateway::model::upgrade_available(&status);
        GatewayDataModel {
            id: meta.uid.into(),
            name: meta.name.into(),
            state: status.state.into(),
            health: status.health.and_then(|h| h.state).into(),
            ready: status.is_ready.unwrap_or(false).into(),
            upgrade_available: upgrade_available.into(),
            address: spec.ip_address.into(),
            cloud_account_id: spec.cloud_account_uid.into(),
        }
    }
}

fn state_from(g: &V1Overlord) -> Value {
    GatewayDataModel::from(g).to_value()
}

#[async_trait]
impl DataSource for GatewayData {
    fn type_name(&self) -> &'static str {
        schemas::gateway_data::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::gateway_data::schema()
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        let Ok(config) = GatewayDataModel::from_value(config) else {
            return d;
        };
        let (id, name) = (&config.id, &config.name);
        if id.is_null() && name.is_null() {
            d.error(
                "Missing gateway",
                "Set `name` (for example \"pcg-dc1\") or `id` to say which gateway to read.",
            );
        } else if !id.is_null() && !name.is_null() {
            d.error_at(
                AttrPath::attr("name"),
                "Conflicting lookup",
                "Set `name` or `id`, not both.",
            );
        }
        d
    }

    async fn read(&self, config: &Value, ctx: &Ctx) -> (Value, Diagnostics) {
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        let config = match GatewayDataModel::from_value(config) {
            Ok(m) => m,
            Err(e) => {
                return (
                    Value::Null,
                    Diagnostic::error("Unexpected data source value", e.to_string()).into(),
                )
            }
        };
        if let Some(uid) = config.id.as_str() {
            return match client
                .get::<V1Overlord>(&format!("/v1/overlords/{uid}"), &ctx.cancel)
                .await
            {
                Ok(g) => match check_gateway_kind(&g) {
                    Ok(()) => (state_from(&g), Diagnostics::new()),
                    Err(d) => (Value::Null, d),
                },
                Err(e) if e.is_not_found() => (
                    Value::Null,
                    Diagnostic::error(
                        "Gateway not found",
                        format!("No private cloud gateway has uid {uid:?}."),
                    )
                    .at(AttrPath::attr("id"))
                    .into(),
                ),
                Err(e) => (Value::Null, api_diag("Cannot read the gateway", &e)),
            };
        }
        let name = config.name.or_default();
        let list = match client
            .get::<V1Overlords>("/v1/overlords", &ctx.cancel)
            .await
        {
            Ok(l) => l.items.unwrap_or_default(),
            Err(e) => return (Value::Null, api_diag("Cannot list gateways", &e)),
        };
        let matches: Vec<&V1Overlord> = list
            .iter()
            .filter(|g| g.metadata.as_ref().and_then(|m| m.name.as_deref()) == Some(name.as_str()))
            .collect();
        match matches.as_slice() {
            [g] => match check_gateway_kind(g) {
                Ok(()) => (state_from(g), Diagnostics::new()),
                Err(d) => (Value::Null, d),
            },
            [] => {
                let known: Vec<String> = list
                    .iter()
                    .filter_map(|g| g.metadata.as_ref().and_then(|m| m.name.clone()))
                    .collect();
                let detail = if known.is_empty() {
                    format!("No private cloud gateway is named {name:?}, and none is visible with this API key and project.")
                } else {
                    format!(
                        "No private cloud gateway is named {name:?}. Visible gateways: {}.",
                        known.join(", ")
                    )
                };
                (
                    Value::Null,
                    Diagnostic::error("Gateway not found", detail)
                        .at(AttrPath::attr("name"))
                        .into(),
                )
            }
            many => {
                let uids: Vec<String> = many
                    .iter()
                    .filter_map(|g| g.metadata.as_ref().and_then(|m| m.uid.clone()))
                    .collect();
                (
                    Value::Null,
                    Diagnostic::error(
                        "Ambiguous gateway name",
                        format!(
                            "{} gateways are named {name:?} ({}); look it up by `id`.",
                            many.len(),
                            uids.join(", ")
                        ),
                    )
                    .at(AttrPath::attr("name"))
                    .into(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palette_api::models::V1ObjectMeta;

    #[test]
    fn a_gateway_whose_kind_names_another_cloud_is_refused() {
        let gw = |kind: Option<&str>| V1Overlord {
            kind: kind.map(str::to_string),
            metadata: Some(V1ObjectMeta {
                name: Some("pcg-east".into()),
                uid: Some("g-1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        for ok in [None, Some("Overlord"), Some("vsphere")] {
            assert!(check_gateway_kind(&gw(ok)).is_ok(), "{ok:?}");
        }
        let d = check_gateway_kind(&gw(Some("maas"))).unwrap_err();
        assert!(
            d.to_string().contains(
                "uid g-1 is a maas private cloud gateway named \"pcg-east\", not a vSphere gateway."
            ),
            "{d}"
        );
    }
}

#[cfg(test)]
mod model_tests {
    #[test]
    fn the_model_matches_the_schema() {
        tfplugin::model::check_model::<super::GatewayDataModel>(
            &schemas::gateway_data::schema().block,
        )
        .unwrap();
    }
}
