//! The typed model of `palette_private_cloud_gateway`: the resource's
//! attributes and blocks as Rust types, tied to the schema by the test
//! below.

use std::time::Duration;

use palette_api::models::{
    V1IpPoolEntity, V1IpPoolInputEntity, V1IpPoolInputEntitySpec, V1Nameserver, V1ObjectMeta,
    V1Overlord, V1OverlordVsphereCloudConfig, V1Pool, V1VsphereCloudAccount,
    V1VsphereNetworkConfigEntity, V1VsphereOverlordClusterConfigEntity,
    V1VspherePlacementConfigEntity,
};
use palette_api::pool::PoolInput;
use serde::{Deserialize, Serialize};
use tfplugin::{Attr, Model, Type};
use vsphere::vm::{OvfProperty, VmInfo};

use super::adopt::by_label;
use crate::cloud_account::PasswordForms;
use crate::placement::Wanted;
pub use tfplugin::model::{known_strings, strings_of, Strings};

/// Null for an empty string, as state records what vCenter leaves unset.
fn opt(v: &str) -> Attr<String> {
    if v.is_empty() {
        Attr::Null
    } else {
        Attr::Known(v.to_string())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayModel {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub node_count: Attr<i64>,
    pub ssh_keys: Strings,
    pub ntp_servers: Strings,
    pub installer_vm_action: Attr<String>,
    pub reset_on_failure: Attr<bool>,
    pub registration_timeout: Attr<String>,
    pub state: Attr<String>,
    pub health: Attr<String>,
    pub upgrade_available: Attr<bool>,
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

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// Written by hand so that no secret field reaches a log or a test's
/// failure message.
impl std::fmt::Debug for Vcenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vcenter")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("insecure", &self.insecure)
            .field("ca_file", &self.ca_file)
            .field("password_wo_version", &self.password_wo_version)
            .finish_non_exhaustive()
    }
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
    pub no_proxy: Strings,
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
    pub nameservers: Strings,
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

    /// The state of a gateway just imported, before anything is read back:
    /// the schema's defaults, no blocks, no nodes.
    pub fn imported() -> GatewayModel {
        GatewayModel {
            node_count: Attr::Known(1),
            installer_vm_action: "power_off".into(),
            reset_on_failure: Attr::Known(false),
            registration_timeout: schemas::gateway::DEFAULT_REGISTRATION_TIMEOUT.into(),
            nodes: Attr::Known(Vec::new()),
            ..Default::default()
        }
    }

    /// What a reviewer and the next step need from Palette's gateway object.
    pub fn observe(&mut self, g: &V1Overlord) {
        let meta = g.metadata.clone().unwrap_or_default();
        let spec = g.spec.clone().unwrap_or_default();
        let status = g.status.clone().unwrap_or_default();
        self.upgrade_available = upgrade_available(&status).into();
        self.id = meta.uid.into();
        self.name = meta.name.into();
        self.state = status.state.into();
        self.health = status.health.and_then(|h| h.state).into();
        self.ip_address = spec.ip_address.into();
        self.cloud_account_id = spec.cloud_account_uid.into();
    }

    /// Computed attributes not yet known become null (`nodes` empty), so a
    /// partial state is valid to save.
    pub fn settle(mut self) -> GatewayModel {
        for a in [
            &mut self.id,
            &mut self.state,
            &mut self.health,
            &mut self.ip_address,
            &mut self.cloud_account_id,
            &mut self.ip_pool_id,
            &mut self.installer_vm_id,
            &mut self.installer_vm_path,
        ] {
            if a.is_unknown() {
                *a = Attr::Null;
            }
        }
        if self.nodes.is_unknown() {
            self.nodes = Attr::Known(Vec::new());
        }
        if self.upgrade_available.is_unknown() {
            self.upgrade_available = Attr::Null;
        }
        self
    }

    /// The installer VM leaves the state.
    pub fn forget_installer(&mut self) {
        self.installer_vm_id = Attr::Null;
        self.installer_vm_path = Attr::Null;
    }

    /// Attributes a reset gateway provisions anew: known after apply.
    pub fn provisioning_again(&mut self) {
        self.state = Attr::Unknown;
        self.health = Attr::Unknown;
        self.upgrade_available = Attr::Unknown;
        self.ip_address = Attr::Unknown;
        self.nodes = Attr::Unknown;
    }

    pub fn set_nodes(&mut self, nodes: &[VmInfo]) {
        self.nodes = Attr::Known(nodes.iter().map(Node::from).collect());
    }

    /// The `installer` block, or one of nulls when there is none.
    pub fn installer(&self) -> Installer {
        self.installer.first().cloned().unwrap_or_default()
    }

    /// The `placement` block, or one of nulls when there is none.
    pub fn placement(&self) -> Placement {
        self.placement.first().cloned().unwrap_or_default()
    }

    /// The configured time limit of an operation, or its default.
    pub fn timeout(&self, op: fn(&Timeouts) -> &Attr<String>, default: Duration) -> Duration {
        self.timeouts
            .as_ref()
            .and_then(|t| op(t).as_str())
            .and_then(|s| tfplugin::duration::parse(s).ok())
            .unwrap_or(default)
    }

    /// How long the installer may take to register the gateway.
    pub fn registration_timeout(&self) -> Duration {
        self.registration_timeout
            .as_str()
            .and_then(|s| tfplugin::duration::parse(s).ok())
            .unwrap_or(Duration::from_secs(600))
    }

    /// The cloud config Palette provisions the nodes from; `pool_uid` is the
    /// nodes' IP pool, when they have static addresses.
    pub fn cloud_config(&self, pool_uid: Option<&str>) -> V1OverlordVsphereCloudConfig {
        let p = self.placement();
        V1OverlordVsphereCloudConfig {
            size: self.node_count.get().map(|n| n as i32),
            cluster_config: Some(V1VsphereOverlordClusterConfigEntity {
                ntp_servers: Some(known_strings(&self.ntp_servers)),
                ssh_keys: Some(known_strings(&self.ssh_keys)),
                static_ip: Some(pool_uid.is_some()),
                placements: Some(vec![V1VspherePlacementConfigEntity {
                    cluster: Some(p.compute_cluster.str().to_string()),
                    datacenter: Some(p.datacenter.str().to_string()),
                    datastore: Some(p.datastore.str().to_string()),
                    folder: Some(p.folder.str().to_string()),
                    resource_pool: Some(p.resource_pool.str().to_string()),
                    network: Some(V1VsphereNetworkConfigEntity {
                        network_name: Some(p.network.str().to_string()),
                        parent_pool_uid: pool_uid.map(str::to_string),
                        static_ip: Some(pool_uid.is_some()),
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl From<&VmInfo> for Node {
    fn from(n: &VmInfo) -> Node {
        Node {
            name: n.name.clone().into(),
            vm_id: n.moref.clone().into(),
            powered_on: n.powered_on.into(),
        }
    }
}

impl Vcenter {
    /// The block an import reads back from the gateway's account; Palette
    /// never returns the password.
    pub fn from_account(acc: &V1VsphereCloudAccount) -> Vcenter {
        Vcenter {
            server: acc.vcenter_server.clone().unwrap_or_default().into(),
            username: acc.username.clone().unwrap_or_default().into(),
            insecure: acc.insecure.unwrap_or(false).into(),
            ..Default::default()
        }
    }
}

/// The inventory names an `installer` or `placement` block shares.
macro_rules! inventory {
    ($block:ty) => {
        impl $block {
            /// The block's names for a lookup in vCenter; null reads as "".
            pub fn vm_placement(&self) -> vsphere::vm::Placement {
                vsphere::vm::Placement {
                    datacenter: self.datacenter.str().to_string(),
                    compute_cluster: self.compute_cluster.str().to_string(),
                    datastore: self.datastore.str().to_string(),
                    network: self.network.str().to_string(),
                    resource_pool: self.resource_pool.str().to_string(),
                    folder: self.folder.str().to_string(),
                }
            }

            /// The names to check against vCenter's inventory at plan time,
            /// for the block at `at`; unknown ones are not checked.
            pub fn wanted(&self, at: Vec<(String, Option<usize>)>) -> Wanted {
                let p = self.vm_placement();
                Wanted {
                    at,
                    datacenter: p.datacenter,
                    datacenter_at: None,
                    compute_cluster: p.compute_cluster,
                    datastore: p.datastore,
                    network: p.network,
                    resource_pool: p.resource_pool,
                }
            }

            /// Where a VM is, as the block reads it back: the root resource
            /// pool and the datacenter's VM folder are null.
            fn set_inventory(&mut self, p: &vsphere::vm::Placement) {
                self.datacenter = p.datacenter.clone().into();
                self.compute_cluster = p.compute_cluster.clone().into();
                self.datastore = p.datastore.clone().into();
                self.network = p.network.clone().into();
                self.resource_pool = opt(&p.resource_pool);
                self.folder = opt(&p.folder);
            }
        }
    };
}
inventory!(Installer);
inventory!(Placement);

impl From<&vsphere::vm::Placement> for Placement {
    fn from(p: &vsphere::vm::Placement) -> Placement {
        let mut b = Placement::default();
        b.set_inventory(p);
        b
    }
}

impl Installer {
    /// The block an installer VM's OVF properties (found by their labels,
    /// the names the reference document uses) and its placement describe.
    pub fn from_vm(
        props: &[OvfProperty],
        labels: &[(String, String)],
        at: &vsphere::vm::Placement,
    ) -> Installer {
        let get = |l: &str| by_label(props, labels, l).unwrap_or_default().to_string();
        let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
        let mut b = Installer::default();
        b.set_inventory(at);
        b.console_endpoint = opt(&get("console endpoint"));
        b.ssh_public_key = opt(&get("ssh public keys"));
        b.pod_cidr = or(get("pod cidr"), schemas::gateway::DEFAULT_POD_CIDR).into();
        b.service_cidr = or(
            get("service cluster ip range"),
            schemas::gateway::DEFAULT_SERVICE_CIDR,
        )
        .into();
        let http = get("http proxy");
        if !http.is_empty() {
            let no: Vec<String> = get("no proxy")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            b.proxy = vec![Proxy {
                http_proxy: http.into(),
                https_proxy: get("https proxy").into(),
                no_proxy: strings_of(&no),
            }];
        }
        b
    }
}

impl StaticIpPool {
    /// The pool fields, if all of them are known yet.
    pub fn input(&self) -> Option<PoolInput<'_>> {
        crate::ip_pool::model::pool_input(
            &self.start,
            &self.end,
            &self.subnet,
            &self.prefix,
            &self.gateway,
        )
    }

    /// The network of the gateway's nodes, which the pool defines.
    pub fn network(&self) -> Option<ipnet::IpNet> {
        let prefix = self.prefix.get()? as u8;
        if let Some(subnet) = self.subnet.as_str() {
            return subnet.parse::<ipnet::IpNet>().ok().map(|n| n.trunc());
        }
        let start: std::net::IpAddr = self.start.as_str()?.parse().ok()?;
        ipnet::IpNet::new(start, prefix).ok().map(|n| n.trunc())
    }

    /// The block as Palette reports the pool. Nameservers Palette leaves
    /// out are null.
    pub fn from_entity(e: &V1IpPoolEntity) -> Option<StaticIpPool> {
        let meta = e.metadata.as_ref()?;
        let spec = e.spec.as_ref()?;
        let pool = spec.pool.as_ref()?;
        let ns = pool
            .nameserver
            .as_ref()
            .and_then(|n| n.addresses.clone())
            .unwrap_or_default();
        Some(StaticIpPool {
            name: meta.name.clone().into(),
            start: pool.start.clone().into(),
            end: pool.end.clone().into(),
            subnet: pool.subnet.clone().into(),
            prefix: pool.prefix.map(i64::from).into(),
            gateway: pool.gateway.clone().into(),
            nameservers: if ns.is_empty() {
                Attr::Null
            } else {
                strings_of(&ns)
            },
            restrict_to_single_cluster: spec.restrict_to_single_cluster.unwrap_or(false).into(),
        })
    }
}

/// The nodes' pool as the gateway's create sends it: nameservers only when
/// there are some, no search domains.
impl From<&StaticIpPool> for V1IpPoolInputEntity {
    fn from(pool: &StaticIpPool) -> Self {
        let ns = known_strings(&pool.nameservers);
        V1IpPoolInputEntity {
            metadata: Some(V1ObjectMeta {
                name: Some(pool.name.str().to_string()),
                ..Default::default()
            }),
            spec: Some(V1IpPoolInputEntitySpec {
                pool: Some(V1Pool {
                    start: pool.start.get(),
                    end: pool.end.get(),
                    subnet: pool.subnet.get(),
                    prefix: pool.prefix.get().map(|p| p as i32),
                    gateway: pool.gateway.get(),
                    nameserver: (!ns.is_empty()).then_some(V1Nameserver {
                        addresses: Some(ns),
                        search: None,
                    }),
                }),
                restrict_to_single_cluster: pool.restrict_to_single_cluster.get(),
            }),
        }
    }
}

/// Palette's word that an upgrade waits for the gateway: the overlord's
/// `status.notifications.isAvailable`.
pub fn upgrade_available(status: &palette_api::models::V1OverloadStatus) -> bool {
    status
        .notifications
        .as_ref()
        .and_then(|n| n.is_available)
        .unwrap_or(false)
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
