//! A vSphere cloud account as the lab stores it.

use palette_api::models::{
    V1CloudAccountStatus, V1ObjectMeta, V1VsphereAccount, V1VsphereCloudAccount,
};

use super::Scope;

/// The annotation Palette binds a vSphere account to its gateway with.
pub const OVERLORD_ANNOTATION: &str = "overlordUid";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub uid: String,
    pub name: String,
    pub scope: Scope,
    pub gateway_uid: String,
    /// Password included: the lab keeps it to hand to clusters, never out.
    pub spec: V1VsphereCloudAccount,
    pub created: String,
}

impl Account {
    pub(crate) fn to_api(&self) -> V1VsphereAccount {
        let mut annotations = std::collections::BTreeMap::new();
        annotations.insert(OVERLORD_ANNOTATION.to_string(), self.gateway_uid.clone());
        annotations.insert(
            "scope".to_string(),
            match self.scope {
                Scope::Tenant => "tenant",
                Scope::Project(_) => "project",
            }
            .to_string(),
        );
        V1VsphereAccount {
            api_version: Some("v1".into()),
            kind: Some("CloudAccount".into()),
            metadata: Some(V1ObjectMeta {
                name: Some(self.name.clone()),
                uid: Some(self.uid.clone()),
                annotations: Some(annotations),
                creation_timestamp: Some(self.created.clone()),
                ..Default::default()
            }),
            spec: Some(V1VsphereCloudAccount {
                password: None,
                ..self.spec.clone()
            }),
            status: Some(V1CloudAccountStatus {
                state: Some("Running".into()),
                ..Default::default()
            }),
        }
    }
}

/// Tenant accounts are shared with every project; a project's own are
/// invisible elsewhere.
pub fn visible(a: &Account, scope: &Scope) -> bool {
    a.scope == Scope::Tenant || &a.scope == scope
}
