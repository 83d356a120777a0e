//! The schemas of the Palette provider: one definition per type, read both
//! by the provider (validation, planning) and by the docs generator, so the
//! registry docs can never disagree with what Terraform sees.

pub mod cloud_account;
pub mod cluster;
pub mod cluster_profile_data;
pub mod docs;
pub mod gateway;
pub mod gateway_data;
pub mod ip_pool;
pub mod provider;

use tfplugin::Schema;

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
    ]
}
