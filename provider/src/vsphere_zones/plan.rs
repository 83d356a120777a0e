//! Plan-time checks of `palette_vsphere_zones`, pure: what the
//! configuration alone says is wrong, with the attribute it is at.

use std::collections::BTreeMap;

use tfplugin::{Attr, AttrPath, Diagnostics};

use super::model::ZonesModel;
use schemas::vsphere_zones::{check_tag_value, REGION_CATEGORY, ZONE_CATEGORY};

/// The document's rule: the zone values are unique (two clusters in one
/// zone would be one failure domain to Kubernetes), and so is the region
/// among them. Unknown values are left to apply.
pub fn check(config: &ZonesModel) -> Diagnostics {
    let mut d = Diagnostics::new();
    let zones_at = |k: &str| AttrPath::attr("zones").then_key(k);
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    if let Attr::Known(zones) = &config.zones {
        for (cluster, zone) in zones {
            if cluster.trim().is_empty() {
                d.error_at(
                    zones_at(cluster),
                    "Blank compute cluster name",
                    "Each key of `zones` names a compute cluster of the datacenter, such as \"cluster-1\".",
                );
            }
            let Attr::Known(zone) = zone else { continue };
            if let Err(why) = check_tag_value(zone) {
                d.error_at(zones_at(cluster), "Invalid zone", why);
                continue;
            }
            match first.get(zone.as_str()) {
                Some(other) => d.error_at(
                    zones_at(cluster),
                    "Zone used twice",
                    format!(
                        "Compute clusters {other:?} and {cluster:?} both get {ZONE_CATEGORY} {zone:?}. Zones must \
                         be unique, as the reference document requires: give {cluster:?} a zone of its own, such \
                         as \"{}\".",
                        free_name(zone, zones.values().filter_map(Attr::as_str))
                    ),
                ),
                None => {
                    first.insert(zone, cluster);
                }
            }
        }
    }
    if let Some(region) = config.region.as_str() {
        if let Some(cluster) = first.get(region) {
            d.push(
                tfplugin::Diagnostic::warning(
                    "Region and zone share a value",
                    format!(
                        "The datacenter's {REGION_CATEGORY} and compute cluster {cluster:?}'s {ZONE_CATEGORY} \
                         are both {region:?}. vCenter accepts it, but the reference document asks for unique \
                         values, and topology labels that repeat confuse whoever reads them."
                    ),
                )
                .at(AttrPath::attr("region")),
            );
        }
    }
    if let Some(b) = config.vcenter() {
        let at = |n: &str| AttrPath::attr("vcenter").then_index(0).then_attr(n);
        if b.insecure.is_true() && !b.ca_file.is_null() {
            d.error_at(
                at("insecure"),
                "Conflicting TLS settings",
                "`insecure = true` skips certificate checks, which makes `ca_file` pointless. Set one of them.",
            );
        }
        if b.password.is_known() && !b.password.is_null() && !b.password_wo.is_null() {
            d.error_at(
                at("password_wo"),
                "Two passwords",
                "Set `password` or `password_wo`, not both.",
            );
        }
        if b.password.is_null() && b.password_wo.is_null() {
            d.error_at(
                at("password"),
                "No vCenter password",
                "The `vcenter` block needs `password` (any Terraform) or `password_wo` (Terraform 1.11 or \
                 later, never stored). Or leave the block out to use the provider's `vcenter` block.",
            );
        }
    }
    d
}

/// A suggestion for a repeated zone: the value with the first number
/// suffix no other zone has (`az1` -> `az2`).
fn free_name<'a>(zone: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let stem = zone.trim_end_matches(|c: char| c.is_ascii_digit());
    (2..)
        .map(|n| format!("{stem}{n}"))
        .find(|c| !taken.clone().any(|t| t == c))
        .expect("some number is free")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::Model;

    fn model(region: &str, zones: &[(&str, &str)]) -> ZonesModel {
        ZonesModel {
            datacenter: "dc-1".into(),
            region: region.into(),
            zones: Attr::Known(
                zones
                    .iter()
                    .map(|(k, v)| (k.to_string(), Attr::Known(v.to_string())))
                    .collect(),
            ),
            ..ZonesModel::default()
        }
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.iter()
            .filter_map(|x| x.attribute.as_ref().map(|p| p.to_string()))
            .collect()
    }

    #[test]
    fn the_documents_example_passes() {
        let m = model(
            "region1",
            &[
                ("cluster-1", "az1"),
                ("cluster-2", "az2"),
                ("cluster-3", "az3"),
            ],
        );
        assert!(check(&m).is_empty(), "{}", check(&m));
    }

    #[test]
    fn a_repeated_zone_is_named_where_it_repeats_with_a_free_value() {
        let m = model(
            "region1",
            &[
                ("cluster-1", "az1"),
                ("cluster-2", "az1"),
                ("cluster-3", "az2"),
            ],
        );
        let d = check(&m);
        assert!(d.has_errors());
        assert_eq!(paths(&d), vec!["zones[\"cluster-2\"]"]);
        let text = d.to_string();
        assert!(text.contains("\"cluster-1\" and \"cluster-2\""), "{text}");
        assert!(text.contains("\"az3\""), "suggests a free value: {text}");
    }

    #[test]
    fn a_region_equal_to_a_zone_is_a_warning() {
        let d = check(&model("az1", &[("cluster-1", "az1")]));
        assert!(!d.has_errors());
        assert_eq!(paths(&d), vec!["region"]);
    }

    #[test]
    fn unknown_zones_are_left_to_apply() {
        let mut m = model("region1", &[("cluster-1", "az1")]);
        if let Attr::Known(z) = &mut m.zones {
            z.insert("cluster-2".into(), Attr::Unknown);
        }
        assert!(check(&m).is_empty());
        m.zones = Attr::Unknown;
        assert!(check(&m).is_empty());
    }

    #[test]
    fn a_zone_vcenter_refuses_is_refused_here() {
        let d = check(&model("region1", &[("cluster-1", " az1")]));
        assert_eq!(paths(&d), vec!["zones[\"cluster-1\"]"]);
    }

    #[test]
    fn a_vcenter_block_needs_one_password() {
        let mut v = tfplugin::Value::null_object(&ZonesModel::ty());
        v.set_attr("datacenter", "dc-1".into());
        let mut m = ZonesModel::from_value(&v).unwrap();
        m.vcenter = vec![super::super::model::ZonesVcenter {
            server: "vc".into(),
            username: "u".into(),
            ..Default::default()
        }];
        assert_eq!(paths(&check(&m)), vec!["vcenter[0].password"]);
        m.vcenter[0].password = "a".into();
        m.vcenter[0].password_wo = "b".into();
        assert_eq!(paths(&check(&m)), vec!["vcenter[0].password_wo"]);
    }
}
