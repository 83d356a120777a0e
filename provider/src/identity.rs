//! Typed models of the resources' identities (Terraform 1.12+) and the
//! import ids they name.

use serde::{Deserialize, Serialize};
use tfplugin::{Attr, Diagnostic, Diagnostics, Model, Type, Value};

/// `palette_cloud_account_vsphere` and `palette_cluster_vsphere`: uid or
/// name, and the context.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopedIdentity {
    pub id: Attr<String>,
    pub name: Attr<String>,
    pub context: Attr<String>,
}

/// `palette_private_cloud_gateway`: uid or name (gateways belong to the
/// tenant, so there is no context).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayIdentity {
    pub id: Attr<String>,
    pub name: Attr<String>,
}

/// `palette_ip_pool`: uid, or the gateway and the pool's name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolIdentity {
    pub id: Attr<String>,
    pub gateway_id: Attr<String>,
    pub name: Attr<String>,
}

/// `palette_vsphere_zones`: the datacenter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZonesIdentity {
    pub datacenter: Attr<String>,
}

impl Model for ZonesIdentity {
    fn ty() -> Type {
        schemas::identity::vsphere_zones().ty()
    }
}

impl ZonesIdentity {
    /// The import id: the datacenter, as `terraform import` takes it.
    pub fn import_id(identity: &Value) -> Result<String, Diagnostics> {
        let me: ZonesIdentity = decode(identity)?;
        given(&me.datacenter).map(str::to_string).ok_or_else(|| {
            Diagnostic::error(
                "Incomplete identity",
                "To import palette_vsphere_zones by identity, give its `datacenter`, such as \"DC0\".",
            )
            .into()
        })
    }
}

impl Model for ScopedIdentity {
    fn ty() -> Type {
        schemas::identity::cluster().ty()
    }
}
impl Model for GatewayIdentity {
    fn ty() -> Type {
        schemas::identity::gateway().ty()
    }
}
impl Model for PoolIdentity {
    fn ty() -> Type {
        schemas::identity::ip_pool().ty()
    }
}

/// A given, non-blank string.
fn given(a: &Attr<String>) -> Option<&str> {
    a.as_str().map(str::trim).filter(|v| !v.is_empty())
}

fn decode<T: Model>(identity: &Value) -> Result<T, Diagnostics> {
    T::from_value(identity).map_err(|e| Diagnostic::error("Invalid identity", e.to_string()).into())
}

fn incomplete(what: &str) -> Diagnostics {
    Diagnostic::error(
        "Incomplete identity",
        format!("To import a {what} by identity, give its `id` (uid) or its `name`."),
    )
    .into()
}

impl ScopedIdentity {
    /// The import id: the uid (it wins over the name) or the name, with a
    /// `CONTEXT/` prefix where a context is given.
    pub fn import_id(identity: &Value, what: &str) -> Result<String, Diagnostics> {
        let me: ScopedIdentity = decode(identity)?;
        let key = given(&me.id)
            .or_else(|| given(&me.name))
            .ok_or_else(|| incomplete(what))?;
        match given(&me.context) {
            None => Ok(key.to_string()),
            Some(c @ ("project" | "tenant")) => Ok(format!("{c}/{key}")),
            Some(other) => Err(Diagnostic::error(
                "Invalid identity",
                format!("`context` is \"project\" or \"tenant\", not {other:?}."),
            )
            .into()),
        }
    }
}

impl GatewayIdentity {
    pub fn import_id(identity: &Value) -> Result<String, Diagnostics> {
        let me: GatewayIdentity = decode(identity)?;
        given(&me.id)
            .or_else(|| given(&me.name))
            .map(str::to_string)
            .ok_or_else(|| incomplete("gateway"))
    }
}

impl PoolIdentity {
    /// A pool's uid alone finds it; otherwise its gateway and name.
    pub fn import_id(identity: &Value) -> Result<String, Diagnostics> {
        let me: PoolIdentity = decode(identity)?;
        match (given(&me.id), given(&me.gateway_id), given(&me.name)) {
            (Some(uid), _, _) => Ok(uid.to_string()),
            (None, Some(gateway), Some(name)) => Ok(format!("{gateway}/{name}")),
            _ => Err(Diagnostic::error(
                "Incomplete identity",
                "To import an IP pool by identity, give its `id` (uid), or `gateway_id` and `name`.",
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::model::check_model;
    use tfplugin::{Attribute, Block, IdentitySchema};

    fn block(s: IdentitySchema) -> Block {
        s.attributes.iter().fold(Block::new(), |b, a| {
            b.attr(Attribute::new(&a.name, a.ty.clone()).optional())
        })
    }

    #[test]
    fn the_models_match_the_identity_schemas() {
        check_model::<ScopedIdentity>(&block(schemas::identity::cluster())).unwrap();
        check_model::<ScopedIdentity>(&block(schemas::identity::cloud_account())).unwrap();
        check_model::<GatewayIdentity>(&block(schemas::identity::gateway())).unwrap();
        check_model::<PoolIdentity>(&block(schemas::identity::ip_pool())).unwrap();
        check_model::<ZonesIdentity>(&block(schemas::identity::vsphere_zones())).unwrap();
    }

    fn scoped(id: Option<&str>, name: Option<&str>, context: Option<&str>) -> Value {
        ScopedIdentity {
            id: id.into(),
            name: name.into(),
            context: context.into(),
        }
        .to_value()
    }

    #[test]
    fn an_identity_becomes_the_import_id_the_resource_knows() {
        let id = |i, n, c| ScopedIdentity::import_id(&scoped(i, n, c), "cluster");
        assert_eq!(id(None, Some("apps"), None).unwrap(), "apps");
        assert_eq!(
            id(None, Some("apps"), Some("tenant")).unwrap(),
            "tenant/apps"
        );
        assert_eq!(
            id(Some("5f8c"), Some("apps"), Some("project")).unwrap(),
            "project/5f8c"
        );
        let none = id(None, None, Some("project")).unwrap_err().to_string();
        assert!(none.contains("give its `id` (uid) or its `name`"), "{none}");
        assert!(id(None, Some("apps"), Some("team")).is_err());
        let gw = GatewayIdentity {
            id: Attr::Null,
            name: " ".into(),
        };
        assert!(GatewayIdentity::import_id(&gw.to_value()).is_err());
        let pool = PoolIdentity {
            id: Attr::Null,
            gateway_id: "pcg".into(),
            name: "nodes".into(),
        };
        assert_eq!(
            PoolIdentity::import_id(&pool.to_value()).unwrap(),
            "pcg/nodes"
        );
        let zones = |dc: Option<&str>| {
            ZonesIdentity::import_id(
                &ZonesIdentity {
                    datacenter: dc.into(),
                }
                .to_value(),
            )
        };
        assert_eq!(zones(Some("/DC0")).unwrap(), "/DC0");
        assert!(zones(None).is_err());
    }
}
