//! The typed model of `palette_private_cloud_gateway`: the resource's
//! attributes and blocks as Rust types, tied to the schema by the test
//! below.

use serde::{Deserialize, Serialize};
use tfplugin::{Attr, Model, Type};

use crate::cloud_account::PasswordForms;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayModel {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub node_count: Attr<i64>,
    pub ssh_keys: Attr<Vec<String>>,
    pub ntp_servers: Attr<Vec<String>>,
    pub installer_vm_action: Attr<String>,
    pub reset_on_failure: Attr<bool>,
    pub registration_timeout: Attr<String>,
    pub state: Attr<String>,
    pub health: Attr<String>,
    pub ip_address: Attr<String>,
    pub cloud_account_id: Attr<String>,
    pub ip_pool_id: Attr<String>,
    pub installer_vm_id: Attr<String>,
    pub installer_vm_path: Attr<String>,
    pub nodes: Attr<Vec<Node>>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub vcenter: Vec<Vcenter>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub installer: Vec<Installer>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub placement: Vec<Placement>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub static_ip_pool: Vec<StaticIpPool>,
    pub timeouts: Option<Timeouts>,
}

/// A node VM of the gateway, as vCenter reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub name: Attr<String>,
    pub vm_id: Attr<String>,
    pub powered_on: Attr<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vcenter {
    pub server: Attr<String>,
    pub username: Attr<String>,
    pub password: Attr<String>,
    pub password_wo: Attr<String>,
    pub password_wo_version: Attr<i64>,
    pub insecure: Attr<bool>,
    pub ca_file: Attr<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installer {
    pub datacenter: Attr<String>,
    pub compute_cluster: Attr<String>,
    pub datastore: Attr<String>,
    pub network: Attr<String>,
    pub resource_pool: Attr<String>,
    pub folder: Attr<String>,
    pub console_endpoint: Attr<String>,
    pub ssh_public_key: Attr<String>,
    pub pod_cidr: Attr<String>,
    pub service_cidr: Attr<String>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub proxy: Vec<Proxy>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proxy {
    pub http_proxy: Attr<String>,
    pub https_proxy: Attr<String>,
    pub no_proxy: Attr<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    pub datacenter: Attr<String>,
    pub compute_cluster: Attr<String>,
    pub datastore: Attr<String>,
    pub network: Attr<String>,
    pub resource_pool: Attr<String>,
    pub folder: Attr<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticIpPool {
    pub name: Attr<String>,
    pub start: Attr<String>,
    pub end: Attr<String>,
    pub subnet: Attr<String>,
    pub prefix: Attr<i64>,
    pub gateway: Attr<String>,
    pub nameservers: Attr<Vec<String>>,
    pub restrict_to_single_cluster: Attr<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    pub create: Attr<String>,
    pub update: Attr<String>,
    pub delete: Attr<String>,
}

impl Model for GatewayModel {
    fn ty() -> Type {
        schemas::gateway::schema().ty()
    }
}

impl Model for Vcenter {
    fn ty() -> Type {
        match schemas::gateway::schema().block.nested_block("vcenter") {
            Some(b) => b.block.ty(),
            None => Type::Object(Default::default()),
        }
    }
}

impl PasswordForms for Vcenter {
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

impl GatewayModel {
    pub fn vcenter(&self) -> Option<&Vcenter> {
        self.vcenter.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::model::check_model;

    #[test]
    fn the_model_matches_the_schema() {
        let schema = schemas::gateway::schema();
        check_model::<GatewayModel>(&schema.block).unwrap();
        check_model::<Vcenter>(&schema.block.nested_block("vcenter").unwrap().block).unwrap();
    }
}
