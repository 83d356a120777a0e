//! The typed model of `palette_vsphere_zones`, and the private record of
//! what the resource made in vCenter (its proof of ownership on destroy).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tfplugin::model::{known_map, StringMap};
use tfplugin::{Attr, Model, Type};
use vsphere::ObjectRef;

use crate::gateway::vcenter::VcenterBlock;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonesModel {
    pub id: Attr<String>,
    pub datacenter: Attr<String>,
    pub region: Attr<String>,
    pub zones: StringMap,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub vcenter: Vec<ZonesVcenter>,
}

impl Model for ZonesModel {
    fn ty() -> Type {
        schemas::vsphere_zones::schema().ty()
    }
}

impl ZonesModel {
    pub fn vcenter(&self) -> Option<&ZonesVcenter> {
        self.vcenter.first()
    }

    /// The zones known at this point: cluster to zone.
    pub fn zone_map(&self) -> BTreeMap<String, String> {
        known_map(&self.zones)
    }

    /// The model of what vCenter holds, keeping what only the
    /// configuration says (the `vcenter` block) from `prior`.
    pub fn observed(prior: &ZonesModel, seen: &Seen) -> ZonesModel {
        ZonesModel {
            id: prior.datacenter.clone(),
            datacenter: prior.datacenter.clone(),
            region: seen.region.clone().into(),
            zones: Attr::Known(
                seen.zones
                    .iter()
                    .map(|(k, v)| (k.clone(), Attr::Known(v.clone())))
                    .collect(),
            ),
            vcenter: prior.vcenter.clone(),
        }
    }
}

/// What a read finds: the datacenter's region tag and the zone tag of each
/// cluster that has one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub region: Option<String>,
    pub zones: BTreeMap<String, String>,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonesVcenter {
    pub server: Attr<String>,
    pub username: Attr<String>,
    pub password: Attr<String>,
    pub password_wo: Attr<String>,
    pub insecure: Attr<bool>,
    pub ca_file: Attr<String>,
}

impl Model for ZonesVcenter {
    fn ty() -> Type {
        match schemas::vsphere_zones::schema()
            .block
            .nested_block("vcenter")
        {
            Some(b) => b.block.ty(),
            None => Type::Object(Default::default()),
        }
    }
}

/// By hand, so that no password reaches a log or a failed test's message.
impl std::fmt::Debug for ZonesVcenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZonesVcenter")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("insecure", &self.insecure)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl VcenterBlock for ZonesVcenter {
    fn server(&self) -> &Attr<String> {
        &self.server
    }
    fn password(&self) -> &Attr<String> {
        &self.password
    }
    fn password_wo(&self) -> &Attr<String> {
        &self.password_wo
    }
}

/// What this resource made in vCenter, by the ids vCenter gave it: the
/// only proof destroy accepts. A tag or category of the same name made by
/// someone else (or before an import) is never in here, so it is never
/// deleted. Kept in the resource's private state, which Terraform carries
/// through plan, apply and refresh but shows nowhere.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    /// Categories created, by id.
    #[serde(default)]
    pub categories: BTreeSet<String>,
    /// Tags created, by id.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// Attachments made: tag id and object.
    #[serde(default)]
    pub attached: BTreeSet<(String, ObjectRef)>,
}

/// Private state is JSON under this key, so that another kind of private
/// data can sit beside it later.
#[derive(Default, Serialize, Deserialize)]
struct Private {
    #[serde(default)]
    zones_owned: Owned,
}

impl Owned {
    /// An empty or foreign private state reads as nothing owned: the safe
    /// side, since destroy then deletes nothing.
    pub fn from_private(bytes: &[u8]) -> Owned {
        serde_json::from_slice::<Private>(bytes)
            .map(|p| p.zones_owned)
            .unwrap_or_default()
    }

    pub fn to_private(&self) -> Vec<u8> {
        serde_json::to_vec(&Private {
            zones_owned: self.clone(),
        })
        .expect("plain data serializes")
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.tags.is_empty() && self.attached.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_match_the_schema() {
        use tfplugin::model::check_model;
        let schema = schemas::vsphere_zones::schema();
        check_model::<ZonesModel>(&schema.block).unwrap();
        check_model::<ZonesVcenter>(&schema.block.nested_block("vcenter").unwrap().block).unwrap();
    }

    #[test]
    fn ownership_survives_private_state() {
        let mut o = Owned::default();
        o.categories.insert("urn:c1".into());
        o.tags.insert("urn:t1".into());
        o.attached.insert((
            "urn:t1".into(),
            ObjectRef::new("ClusterComputeResource", "domain-c7"),
        ));
        assert_eq!(Owned::from_private(&o.to_private()), o);
        // Nothing, or what another version wrote, owns nothing.
        assert!(Owned::from_private(b"").is_empty());
        assert!(Owned::from_private(b"\x01binary").is_empty());
    }
}
