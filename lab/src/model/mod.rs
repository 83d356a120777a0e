//! The objects the store holds, one file each: plain data with the
//! conversions to the API's models that several handlers share. Part of the
//! store layer: these import only ids and each other, never the
//! lifecycle or HTTP modules above.

use serde::{Deserialize, Serialize};

pub mod account;
pub mod cluster;
pub mod gateway;
pub mod profile;

/// The scope a request acts in: the tenant, or one project (header
/// `ProjectUid`). Objects of one project are invisible from another.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    #[default]
    Tenant,
    Project(String),
}
