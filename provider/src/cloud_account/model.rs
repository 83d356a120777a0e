//! The typed models of `palette_cloud_account_vsphere` (resource and data
//! source) and their mapping to and from Palette's `V1VsphereAccount`.

use std::collections::BTreeMap;

use palette_api::models::{V1ObjectMeta, V1VsphereAccount, V1VsphereCloudAccount};
use serde::{Deserialize, Serialize};
use tfplugin::{Attr, Model, Type};

/// The annotation that binds a vSphere account to its gateway in Palette.
pub const OVERLORD_ANNOTATION: &str = "overlordUid";

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudAccountModel {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub context: Attr<String>,
    pub gateway_id: Attr<String>,
    pub vcenter_server: Attr<String>,
    pub username: Attr<String>,
    pub insecure: Attr<bool>,
    pub password: Attr<String>,
    pub password_wo: Attr<String>,
    pub password_wo_version: Attr<i64>,
}

/// Written by hand so that no secret field reaches a log or a test's
/// failure message.
impl std::fmt::Debug for CloudAccountModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudAccountModel")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("context", &self.context)
            .field("gateway_id", &self.gateway_id)
            .field("vcenter_server", &self.vcenter_server)
            .field("username", &self.username)
            .field("insecure", &self.insecure)
            .field("password_wo_version", &self.password_wo_version)
            .finish_non_exhaustive()
    }
}

/// The data source: the account without its password.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudAccountDataModel {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub context: Attr<String>,
    pub gateway_id: Attr<String>,
    pub vcenter_server: Attr<String>,
    pub username: Attr<String>,
    pub insecure: Attr<bool>,
}

impl Model for CloudAccountModel {
    fn ty() -> Type {
        schemas::cloud_account::schema().ty()
    }
}

impl Model for CloudAccountDataModel {
    fn ty() -> Type {
        schemas::cloud_account::data_schema().ty()
    }
}

/// The two forms of a vCenter password, in an account's configuration or
/// in a gateway's `vcenter` block.
pub trait PasswordForms {
    fn password(&self) -> &Attr<String>;
    fn password_wo(&self) -> &Attr<String>;
    fn password_wo_version(&self) -> &Attr<i64>;
}

impl PasswordForms for CloudAccountModel {
    fn password(&self) -> &Attr<String> {
        &self.password
    }
    fn password_wo(&self) -> &Attr<String> {
        &self.password_wo
    }
    fn password_wo_version(&self) -> &Attr<i64> {
        &self.password_wo_version
    }
}

impl CloudAccountModel {
    /// The context, `project` when not set.
    pub fn context(&self) -> String {
        self.context.as_str().unwrap_or("project").to_string()
    }

    /// State from Palette's account. The password, which Palette never
    /// returns, is what `prior` had; after an import both forms are null.
    pub fn from_account(a: &V1VsphereAccount, context: &str, prior: &CloudAccountModel) -> Self {
        let read = CloudAccountDataModel::from_account(a, context, &prior.vcenter_server);
        CloudAccountModel {
            id: read.id,
            name: read.name,
            context: read.context,
            gateway_id: read.gateway_id,
            vcenter_server: read.vcenter_server,
            username: read.username,
            insecure: read.insecure,
            password: prior.password.clone(),
            password_wo: Attr::Null,
            password_wo_version: prior.password_wo_version.clone(),
        }
    }

    /// The body for a create or update. `password` comes with the planned
    /// values, `password_wo` only with the configuration (Terraform never
    /// puts a write-only value in a plan).
    pub fn body(&self, config: &CloudAccountModel) -> V1VsphereAccount {
        let mut annotations = BTreeMap::new();
        annotations.insert(
            OVERLORD_ANNOTATION.to_string(),
            self.gateway_id.or_default(),
        );
        let server = self.vcenter_server.str();
        let password = self
            .password
            .as_str()
            .or(config.password_wo.as_str())
            .map(|p| {
                tfplugin::logging::register_secret(p);
                p.to_string()
            });
        V1VsphereAccount {
            metadata: Some(V1ObjectMeta {
                name: self.name.get(),
                annotations: Some(annotations),
                ..Default::default()
            }),
            spec: Some(V1VsphereCloudAccount {
                // Palette wants the bare host; users may paste a URL.
                vcenter_server: Some(
                    vsphere::normalize_server(server).unwrap_or_else(|_| server.to_string()),
                ),
                username: self.username.get(),
                password,
                insecure: self.insecure.get(),
            }),
            ..Default::default()
        }
    }
}

impl CloudAccountDataModel {
    pub fn from_account(a: &V1VsphereAccount, context: &str, prior_server: &Attr<String>) -> Self {
        let meta = a.metadata.clone().unwrap_or_default();
        let spec = a.spec.clone().unwrap_or_default();
        let gateway = meta
            .annotations
            .unwrap_or_default()
            .get(OVERLORD_ANNOTATION)
            .cloned();
        CloudAccountDataModel {
            id: meta.uid.into(),
            name: meta.name.into(),
            context: context.into(),
            gateway_id: gateway.into(),
            vcenter_server: server_value(spec.vcenter_server, prior_server),
            username: spec.username.into(),
            insecure: spec.insecure.unwrap_or(false).into(),
        }
    }
}

/// The prior spelling of the server when it names the same server as
/// Palette's, so `https://vc/` in configuration never drifts against `vc`.
fn server_value(api: Option<String>, prior: &Attr<String>) -> Attr<String> {
    let api = api.unwrap_or_default();
    match prior.as_str() {
        Some(p) if vsphere::normalize_server(p).ok() == vsphere::normalize_server(&api).ok() => {
            p.into()
        }
        _ => api.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::model::check_model;

    #[test]
    fn the_models_match_their_schemas() {
        check_model::<CloudAccountModel>(&schemas::cloud_account::schema().block).unwrap();
        check_model::<CloudAccountDataModel>(&schemas::cloud_account::data_schema().block).unwrap();
    }

    #[test]
    fn server_spelling_follows_the_configuration_when_it_names_the_same_server() {
        let prior: Attr<String> = "https://VC.example.com/".into();
        assert_eq!(server_value(Some("vc.example.com".into()), &prior), prior);
        assert_eq!(
            server_value(Some("vc2.example.com".into()), &prior),
            Attr::from("vc2.example.com")
        );
        assert_eq!(
            server_value(Some("vc.example.com".into()), &Attr::Null),
            Attr::from("vc.example.com")
        );
    }
}
