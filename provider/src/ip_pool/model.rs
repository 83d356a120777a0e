//! The typed model of `palette_ip_pool` (resource and data source, which
//! share their attributes) and its mapping to and from Palette's models.

use palette_api::models::{
    V1IpPoolEntity, V1IpPoolInputEntity, V1IpPoolInputEntitySpec, V1Nameserver, V1ObjectMeta,
    V1Pool,
};
use palette_api::pool::PoolInput;
use serde::{Deserialize, Serialize};
use tfplugin::model::{strings_of, Strings};
use tfplugin::{Attr, Model, Type};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpPoolModel {
    pub id: Attr<String>,
    pub gateway_id: Attr<String>,
    pub name: Attr<String>,
    pub start: Attr<String>,
    pub end: Attr<String>,
    pub subnet: Attr<String>,
    pub prefix: Attr<i64>,
    pub gateway: Attr<String>,
    pub nameservers: Strings,
    pub search_domains: Strings,
    pub restrict_to_single_cluster: Attr<bool>,
    pub allotted_ips: Attr<Vec<String>>,
    pub associated_clusters: Attr<Vec<String>>,
    pub in_use: Attr<bool>,
}

impl Model for IpPoolModel {
    fn ty() -> Type {
        schemas::ip_pool::schema().ty()
    }
}

impl IpPoolModel {
    /// The pool fields, if all of them are known yet.
    pub fn input(&self) -> Option<PoolInput<'_>> {
        pool_input(
            &self.start,
            &self.end,
            &self.subnet,
            &self.prefix,
            &self.gateway,
        )
    }

    /// The state of a pool as Palette reports it. Lists Palette leaves out
    /// read as whichever of null and empty `prior` had, so neither drifts.
    pub fn from_entity(e: &V1IpPoolEntity, gateway_id: &str, prior: &IpPoolModel) -> IpPoolModel {
        let meta = e.metadata.clone().unwrap_or_default();
        let spec = e.spec.clone().unwrap_or_default();
        let pool = spec.pool.unwrap_or_default();
        let ns = pool.nameserver.unwrap_or_default();
        let status = e.status.clone().unwrap_or_default();
        IpPoolModel {
            id: meta.uid.into(),
            gateway_id: gateway_id.into(),
            name: meta.name.into(),
            start: pool.start.into(),
            end: pool.end.into(),
            subnet: pool.subnet.into(),
            prefix: pool.prefix.map(i64::from).into(),
            gateway: pool.gateway.into(),
            nameservers: list_value(ns.addresses, &prior.nameservers),
            search_domains: list_value(ns.search, &prior.search_domains),
            restrict_to_single_cluster: spec.restrict_to_single_cluster.unwrap_or(false).into(),
            allotted_ips: status.allotted_ips.unwrap_or_default().into(),
            associated_clusters: status.associated_clusters.unwrap_or_default().into(),
            in_use: status.in_use.unwrap_or(false).into(),
        }
    }
}

/// The fields of a pool (an IP pool, or a gateway's `static_ip_pool`) as
/// Palette's checks take them, if all of them are known yet.
pub fn pool_input<'a>(
    start: &'a Attr<String>,
    end: &'a Attr<String>,
    subnet: &'a Attr<String>,
    prefix: &Attr<i64>,
    gateway: &'a Attr<String>,
) -> Option<PoolInput<'a>> {
    let addresses = [start, end, subnet, gateway];
    if addresses.iter().any(|a| a.is_unknown()) || prefix.is_unknown() {
        return None;
    }
    Some(PoolInput {
        start: start.as_str(),
        end: end.as_str(),
        subnet: subnet.as_str(),
        prefix: prefix.get(),
        gateway: gateway.as_str(),
    })
}

/// A list from the API as state: absent and empty read the same, and keep
/// whichever of the two the configuration had, so neither shows as drift.
pub fn list_value(api: Option<Vec<String>>, prior: &Strings) -> Strings {
    match api {
        Some(items) if !items.is_empty() => strings_of(&items),
        _ if prior.known().is_some_and(Vec::is_empty) => Attr::Known(Vec::new()),
        _ => Attr::Null,
    }
}

impl From<&IpPoolModel> for V1IpPoolInputEntity {
    fn from(m: &IpPoolModel) -> Self {
        // Elements unknown at plan time are left out: this body is sent only
        // at apply, when every element is known.
        let known = |v: &Strings| {
            v.known()
                .map(|items| items.iter().filter_map(Attr::get).collect::<Vec<_>>())
        };
        let nameservers = known(&m.nameservers);
        let search = known(&m.search_domains);
        V1IpPoolInputEntity {
            metadata: Some(V1ObjectMeta {
                name: m.name.get(),
                ..Default::default()
            }),
            spec: Some(V1IpPoolInputEntitySpec {
                pool: Some(V1Pool {
                    start: m.start.get(),
                    end: m.end.get(),
                    subnet: m.subnet.get(),
                    prefix: m.prefix.get().map(|p| p as i32),
                    gateway: m.gateway.get(),
                    nameserver: (nameservers.is_some() || search.is_some()).then_some(
                        V1Nameserver {
                            addresses: nameservers,
                            search,
                        },
                    ),
                }),
                restrict_to_single_cluster: m.restrict_to_single_cluster.get(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_matches_the_resource_and_data_source_schemas() {
        tfplugin::model::check_model::<IpPoolModel>(&schemas::ip_pool::schema().block).unwrap();
        tfplugin::model::check_model::<IpPoolModel>(&schemas::ip_pool::data_schema().block)
            .unwrap();
    }

    #[test]
    fn absent_and_empty_lists_do_not_drift() {
        assert_eq!(list_value(None, &Attr::Null), Attr::Null);
        assert_eq!(
            list_value(Some(vec![]), &Attr::Known(vec![])),
            Attr::Known(vec![])
        );
        assert_eq!(
            list_value(Some(vec!["a".into()]), &Attr::Null),
            Attr::Known(vec![Attr::Known("a".to_string())])
        );
    }
}
