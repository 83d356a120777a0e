//! The schemas of the Palette provider: one definition per type, read both
//! by the provider (validation, planning) and by the docs generator, so the
//! registry docs can never disagree with what Terraform sees.

pub mod actions;
pub mod cloud_account;
pub mod cluster;
pub mod cluster_kubeconfig;
pub mod cluster_profile_data;
pub mod docs;
pub mod gateway;
pub mod gateway_data;
pub mod ip_pool;
pub mod list;
pub mod provider;
pub mod vcenter;
pub mod vsphere_preflight;
pub mod vsphere_zones;

use tfplugin::schema::Validator;
use tfplugin::validate::{check, no_userinfo};
use tfplugin::{Schema, Value};

/// The provider's registry address.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/palette-community/palette";
/// The provider's short name, the prefix of every type.
pub const PROVIDER_NAME: &str = "palette";

/// Every resource type with its schema.
pub fn resources() -> Vec<(&'static str, Schema)> {
    vec![
        (cloud_account::TYPE_NAME, cloud_account::schema()),
        (cluster::TYPE_NAME, cluster::schema()),
        (gateway::TYPE_NAME, gateway::schema()),
        (ip_pool::TYPE_NAME, ip_pool::schema()),
        (vsphere_zones::TYPE_NAME, vsphere_zones::schema()),
    ]
}

/// Every data source with its schema.
pub fn data_sources() -> Vec<(&'static str, Schema)> {
    vec![
        (cloud_account::DATA_TYPE_NAME, cloud_account::data_schema()),
        (
            cluster_profile_data::TYPE_NAME,
            cluster_profile_data::schema(),
        ),
        (gateway_data::TYPE_NAME, gateway_data::schema()),
        (ip_pool::DATA_TYPE_NAME, ip_pool::data_schema()),
        (vsphere_preflight::TYPE_NAME, vsphere_preflight::schema()),
    ]
}

/// Every ephemeral resource (Terraform 1.10+) with its schema.
pub fn ephemeral_resources() -> Vec<(&'static str, Schema)> {
    vec![(cluster_kubeconfig::TYPE_NAME, cluster_kubeconfig::schema())]
}

/// Actions (Terraform 1.14+) with their schemas.
pub fn actions() -> Vec<(&'static str, Schema)> {
    vec![
        (
            actions::CLUSTER_FORCE_DELETE,
            actions::cluster_force_delete(),
        ),
        (actions::GATEWAY_RESET, actions::gateway_reset()),
        (actions::GATEWAY_UPGRADE, actions::gateway_upgrade()),
    ]
}

/// List resources (`terraform query`), named after the managed types they list.
pub fn list_resources() -> Vec<(&'static str, Schema)> {
    vec![
        (gateway::TYPE_NAME, list::gateway()),
        (ip_pool::TYPE_NAME, list::ip_pool()),
        (cloud_account::TYPE_NAME, list::cloud_account()),
        (cluster::TYPE_NAME, list::cluster()),
    ]
}

/// An IP address, such as the addresses Palette gives nodes or DNS servers
/// (which Palette takes as addresses only: a host name would leave nodes
/// without name resolution).
pub fn ip_address_validator() -> impl Validator {
    check(
        "must be an IP address such as `10.10.183.1`",
        |v: &Value| match v.as_str().map(|s| s.trim().parse::<std::net::IpAddr>()) {
            Some(Ok(_)) => Ok(()),
            _ => Err(format!(
                "{:?} is not an IP address; write for example \"10.10.183.1\"",
                v.as_str().unwrap_or_default()
            )),
        },
    )
}

/// DNS servers: a list of IP addresses, each checked where it stands.
pub fn nameservers_validator() -> impl Validator {
    tfplugin::validate::each(ip_address_validator())
}

/// The one check of a vCenter address (`server` of the provider's and the
/// gateway's `vcenter` blocks, `vcenter_server` of accounts): a host,
/// `host:port` or https URL, and never `user:password@`. Credentials are
/// refused before the address is parsed, so that no error (the parser's
/// echoes the value) ever shows them.
pub fn vcenter_server_validator() -> impl Validator {
    check(
        "must be a vCenter host name or https URL, without `user:password@`, such as `vcenter.example.com`",
        |v: &Value| match v.as_str() {
            Some(s) => {
                no_userinfo("vcenter.example.com").check(s)?;
                vcenter_address::normalize(s)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            None => Ok(()),
        },
    )
}

/// Identity attributes shared by the resources (Terraform 1.12+); every
/// one may be left out of an `import { identity = {...} }` block, and the
/// provider fills in the rest from what it finds.
pub mod identity {
    use tfplugin::{IdentityAttribute, IdentitySchema, Type};

    fn id(what: &str) -> IdentityAttribute {
        IdentityAttribute::optional("id", Type::String).description(format!(
            "Uid of the {what} in Palette. Give it, or the name."
        ))
    }
    fn name(what: &str) -> IdentityAttribute {
        IdentityAttribute::optional("name", Type::String)
            .description(format!("Name of the {what}. Give it, or the uid."))
    }
    fn context() -> IdentityAttribute {
        IdentityAttribute::optional("context", Type::String).description(
            "`project` or `tenant`; left out, a project object is looked for first, then a tenant one.",
        )
    }

    /// `palette_private_cloud_gateway`: uid and name (gateways belong to the
    /// tenant, so there is no context).
    pub fn gateway() -> IdentitySchema {
        IdentitySchema::new(vec![id("gateway"), name("gateway")])
    }

    /// `palette_ip_pool`: uid, or the gateway and the pool's name.
    pub fn ip_pool() -> IdentitySchema {
        IdentitySchema::new(vec![
            id("pool"),
            IdentityAttribute::optional("gateway_id", Type::String).description(
                "The gateway holding the pool: its uid (or name). Needed with `name`.",
            ),
            name("pool"),
        ])
    }

    /// `palette_cloud_account_vsphere`: uid or name, and context.
    pub fn cloud_account() -> IdentitySchema {
        IdentitySchema::new(vec![id("account"), name("account"), context()])
    }

    /// `palette_cluster_vsphere`: uid or name, and context.
    pub fn cluster() -> IdentitySchema {
        IdentitySchema::new(vec![id("cluster"), name("cluster"), context()])
    }

    /// `palette_vsphere_zones`: the datacenter (one resource per
    /// datacenter of a vCenter).
    pub fn vsphere_zones() -> IdentitySchema {
        IdentitySchema::new(vec![IdentityAttribute::optional(
            "datacenter",
            Type::String,
        )
        .description(
            "The datacenter whose zone tags the resource holds: its name, or its inventory path such as \
             `/DC0`. Required in an `import` block.",
        )])
    }
}
