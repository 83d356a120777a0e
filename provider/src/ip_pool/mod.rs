//! `palette_ip_pool`: schema use, plan-time checks, CRUD, import, drift.

use std::sync::Arc;

use async_trait::async_trait;
use palette_api::client::Error as ApiError;
use palette_api::models::{V1IpPoolEntity, V1IpPoolInputEntity, V1Overlords, V1Uid};
use palette_api::pool;
use tfplugin::{
    ApplyRequest, ApplyResult, AttrPath, Ctx, Diagnostic, Diagnostics, Imported, Model, ReadResult,
    Resource, Schema, Value,
};

pub mod model;
pub use model::IpPoolModel;

use crate::shared::{api_diag, read_failed, Shared};

pub struct IpPool {
    pub shared: Arc<Shared>,
}

fn pools_path(gateway: &str) -> String {
    format!("/v1/overlords/vsphere/{gateway}/pools")
}

fn decode(v: &Value) -> Result<IpPoolModel, Diagnostics> {
    IpPoolModel::from_value(v).map_err(|e| {
        Diagnostic::error(
            "Unexpected IP pool value",
            format!("The provider cannot read this value: {e}"),
        )
        .into()
    })
}

fn state_from(e: &V1IpPoolEntity, gateway_id: &str, prior: &IpPoolModel) -> Value {
    IpPoolModel::from_entity(e, gateway_id, prior).to_value()
}

fn uid_of(e: &V1IpPoolEntity) -> Option<&str> {
    e.metadata.as_ref().and_then(|m| m.uid.as_deref())
}

fn name_of(e: &V1IpPoolEntity) -> Option<&str> {
    e.metadata.as_ref().and_then(|m| m.name.as_deref())
}

impl IpPool {
    async fn find(
        &self,
        gateway: &str,
        pool_uid: &str,
        ctx: &Ctx,
    ) -> Result<Option<V1IpPoolEntity>, ApiError> {
        match self.shared.pools_of(gateway, ctx).await {
            Ok(list) => Ok(list.iter().find(|e| uid_of(e) == Some(pool_uid)).cloned()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Resolves an import id: `GATEWAY/POOL` (each a uid or a name), or a
    /// bare pool uid looked for on every gateway.
    async fn resolve_import(
        &self,
        id: &str,
        ctx: &Ctx,
    ) -> Result<(String, V1IpPoolEntity), Diagnostics> {
        let client = self.shared.client()?;
        let gateways: V1Overlords = client
            .get("/v1/overlords", &ctx.cancel)
            .await
            .map_err(|e| api_diag("Cannot list gateways", &e))?;
        let gateways = gateways.items.unwrap_or_default();
        // `GATEWAY/POOL`, or the official provider's `GATEWAY:POOL`.
        let (gw_part, pool_part) = match id.split_once(['/', ':']) {
            Some((g, p)) => (Some(g), p),
            None => (None, id),
        };
        for g in &gateways {
            let meta = g.metadata.clone().unwrap_or_default();
            let uid = meta.uid.unwrap_or_default();
            if let Some(want) = gw_part {
                if want != uid && Some(want) != meta.name.as_deref() {
                    continue;
                }
                // Named on purpose: say what it is rather than "not found".
                crate::gateway_data::check_gateway_kind(g)?;
            } else if crate::gateway_data::check_gateway_kind(g).is_err() {
                // A bare pool uid is looked for on vSphere gateways only.
                continue;
            }
            let pools = self
                .shared
                .pools_of(&uid, ctx)
                .await
                .map_err(|e| api_diag("Cannot list IP pools", &e))?;
            let hit = pools.iter().find(|e| {
                uid_of(e) == Some(pool_part) || (gw_part.is_some() && name_of(e) == Some(pool_part))
            });
            if let Some(e) = hit {
                return Ok((uid, e.clone()));
            }
        }
        Err(Diagnostic::error(
            "IP pool not found",
            format!(
                "No IP pool matches {id:?}. Import with GATEWAY/POOL, each a uid or a name \
                 (for example \"pcg-dc1/dc1-workloads\", or the official provider's \
                 \"pcg-dc1:dc1-workloads\"), or with the pool's uid."
            ),
        )
        .into())
    }
}

#[async_trait]
impl Resource for IpPool {
    fn type_name(&self) -> &'static str {
        schemas::ip_pool::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::ip_pool::schema()
    }

    fn move_sources(&self) -> Vec<tfplugin::MoveSource> {
        vec![crate::official::IP_POOL]
    }

    async fn move_state(
        &self,
        req: &tfplugin::MoveRequest,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        crate::official::moved(req, &self.schema())
    }

    fn identity_schema(&self) -> Option<tfplugin::IdentitySchema> {
        Some(schemas::identity::ip_pool())
    }

    async fn modify_plan(&self, req: &tfplugin::PlanRequest, resp: &mut tfplugin::PlanResponse) {
        if req.prior.is_null() || resp.state.is_null() {
            return;
        }
        let (Ok(prior), Ok(planned)) = (
            IpPoolModel::from_value(&req.prior),
            IpPoolModel::from_value(&resp.state),
        ) else {
            return;
        };
        if let Some((summary, detail)) = crate::consequences::pool_shrink(&prior, &planned) {
            resp.diags.warning(summary, detail);
        }
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        crate::identity::PoolIdentity::import_id(identity)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        let Ok(config) = IpPoolModel::from_value(config) else {
            return d;
        };
        if let Some(input) = config.input() {
            if let Err(problems) = pool::check(&input) {
                for p in problems {
                    d.error_at(AttrPath::attr(p.field), "Invalid IP pool", p.message);
                }
            }
        }
        d
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(tfplugin::Value::Null, d),
        };
        let planned = match decode(&req.planned) {
            Ok(m) => m,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let gateway = planned.gateway_id.str().to_string();
        let name = planned.name.str().to_string();
        let path = pools_path(&gateway);
        let created: Result<V1Uid, ApiError> = client
            .post(&path, &V1IpPoolInputEntity::from(&planned), &ctx.cancel)
            .await;
        self.shared.forget_pools(&gateway);
        let uid = match created {
            Ok(u) => u.uid.unwrap_or_default(),
            // The POST may have worked: look before anyone tries again.
            Err(ApiError::Ambiguous { message }) => {
                tracing::warn!(%message, "pool creation outcome unknown; looking it up by name");
                match self.shared.pools_of(&gateway, ctx).await {
                    Ok(list) => match list.iter().find(|e| name_of(e) == Some(name.as_str())).and_then(uid_of) {
                        Some(uid) => uid.to_string(),
                        None => {
                            return ApplyResult::failed(
                                Value::Null,
                                Diagnostic::error(
                                    "IP pool not created",
                                    format!("The request to create {name:?} got no answer ({message}), and no such pool exists on gateway {gateway}; it is safe to apply again."),
                                ),
                            )
                        }
                    },
                    Err(e) => return ApplyResult::failed(Value::Null, api_diag("Cannot confirm the IP pool's creation", &e)),
                }
            }
            Err(e) => {
                return ApplyResult::failed(Value::Null, api_diag("Cannot create IP pool", &e))
            }
        };
        match self.find(&gateway, &uid, ctx).await {
            Ok(Some(e)) => ApplyResult::ok(state_from(&e, &gateway, &planned)),
            other => {
                // The pool exists: keep it in state (tainted) whatever failed next.
                let state = IpPoolModel {
                    id: uid.as_str().into(),
                    allotted_ips: Vec::new().into(),
                    associated_clusters: Vec::new().into(),
                    in_use: false.into(),
                    ..planned
                }
                .to_value();
                let d = match other {
                    Err(e) => api_diag("IP pool created, but reading it back failed", &e),
                    _ => Diagnostic::error(
                        "IP pool created, but it is not listed",
                        format!("Pool {uid} on gateway {gateway}."),
                    )
                    .into(),
                };
                ApplyResult::failed(state, d)
            }
        }
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let (prior, planned) = match (decode(&req.prior), decode(&req.planned)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(d), _) | (_, Err(d)) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let gateway = prior.gateway_id.str().to_string();
        let uid = prior.id.str().to_string();
        let put = client
            .put(
                &format!("{}/{uid}", pools_path(&gateway)),
                &V1IpPoolInputEntity::from(&planned),
                &ctx.cancel,
            )
            .await;
        self.shared.forget_pools(&gateway);
        if let Err(e) = put {
            return ApplyResult::failed(req.prior.clone(), api_diag("Cannot update IP pool", &e));
        }
        match self.find(&gateway, &uid, ctx).await {
            Ok(Some(e)) => ApplyResult::ok(state_from(&e, &gateway, &planned)),
            Ok(None) => ApplyResult::failed(
                req.prior.clone(),
                Diagnostic::error(
                    "IP pool vanished",
                    format!("Pool {uid} was updated but is no longer listed."),
                ),
            ),
            Err(e) => ApplyResult::failed(
                req.prior.clone(),
                api_diag("IP pool updated, but reading it back failed", &e),
            ),
        }
    }

    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        let client = match self.shared.client() {
            Ok(c) => c,
            Err(d) => return d,
        };
        let prior = match decode(&req.prior) {
            Ok(m) => m,
            Err(d) => return d,
        };
        let gateway = prior.gateway_id.str();
        let uid = prior.id.str();
        let r = client
            .delete(&format!("{}/{uid}", pools_path(gateway)), &ctx.cancel)
            .await;
        self.shared.forget_pools(gateway);
        match r {
            Ok(()) => Diagnostics::new(),
            Err(e) if e.is_not_found() => Diagnostics::new(),
            Err(e) => api_diag("Cannot delete IP pool", &e),
        }
    }

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        let prior = match decode(state) {
            Ok(m) => m,
            Err(diags) => {
                return ReadResult {
                    state: state.clone(),
                    private: private.to_vec(),
                    diags,
                }
            }
        };
        let gateway = prior.gateway_id.str();
        let uid = prior.id.str();
        match self.find(gateway, uid, ctx).await {
            Ok(Some(e)) => ReadResult::ok(state_from(&e, gateway, &prior), private.to_vec()),
            // Only a real "not found" removes the pool from state.
            Ok(None) => ReadResult::ok(Value::Null, Vec::new()),
            Err(e) => ReadResult {
                state: state.clone(),
                private: private.to_vec(),
                diags: read_failed("Cannot read IP pool", "IP pool", &e),
            },
        }
    }

    async fn import(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        let (gateway, entity) = self.resolve_import(id, ctx).await?;
        Ok(vec![Imported {
            state: state_from(&entity, &gateway, &IpPoolModel::default()),
            private: Vec::new(),
        }])
    }
}

/// `data "palette_ip_pool"`: a pool found by gateway and name.
pub struct IpPoolData {
    pub shared: Arc<Shared>,
}

#[async_trait]
impl tfplugin::DataSource for IpPoolData {
    fn type_name(&self) -> &'static str {
        schemas::ip_pool::DATA_TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::ip_pool::data_schema()
    }

    async fn read(&self, config: &Value, ctx: &Ctx) -> (Value, Diagnostics) {
        let config = match decode(config) {
            Ok(m) => m,
            Err(d) => return (Value::Null, d),
        };
        let gateway = config.gateway_id.str();
        let name = config.name.str();
        match self.shared.pools_of(gateway, ctx).await {
            Ok(list) => match list.iter().find(|e| name_of(e) == Some(name)) {
                Some(e) => (
                    state_from(e, gateway, &IpPoolModel::default()),
                    Diagnostics::new(),
                ),
                None => {
                    let known: Vec<&str> = list.iter().filter_map(name_of).collect();
                    let detail = format!(
                        "Gateway {gateway} has no IP pool named {name:?}; it has: {}.",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    );
                    (
                        Value::Null,
                        Diagnostic::error("IP pool not found", detail)
                            .at(AttrPath::attr("name"))
                            .into(),
                    )
                }
            },
            Err(e) if e.is_not_found() => (
                Value::Null,
                Diagnostic::error(
                    "Gateway not found",
                    format!("No private cloud gateway has uid {gateway:?}."),
                )
                .at(AttrPath::attr("gateway_id"))
                .into(),
            ),
            Err(e) => (Value::Null, api_diag("Cannot list IP pools", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palette_api::models::V1ObjectMeta;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::null_object(&schemas::ip_pool::schema().ty());
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    #[tokio::test]
    async fn plan_time_checks_point_at_the_attribute() {
        let r = IpPool {
            shared: Arc::new(Shared::default()),
        };
        let bad = config(&[
            ("start", "10.0.0.9".into()),
            ("end", "10.0.0.2".into()),
            ("prefix", Value::int(24)),
            ("gateway", "10.9.9.9".into()),
        ]);
        let d = r.validate(&bad).await;
        let paths: Vec<String> = d
            .iter()
            .filter_map(|x| x.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(paths, vec!["end"], "{d}");
        // Unknown inputs are checked at apply, not guessed at.
        let unknown = config(&[
            ("start", Value::Unknown),
            ("end", "10.0.0.2".into()),
            ("prefix", Value::int(24)),
        ]);
        assert!(r.validate(&unknown).await.is_empty());
    }

    #[test]
    fn state_round_trips_through_the_api_body() {
        let cfg = config(&[
            ("id", "p1".into()),
            ("gateway_id", "g1".into()),
            ("name", "nodes".into()),
            ("start", "10.0.0.1".into()),
            ("end", "10.0.0.9".into()),
            ("prefix", Value::int(24)),
            ("gateway", "10.0.0.254".into()),
            ("nameservers", Value::List(vec!["10.0.0.2".into()])),
            ("restrict_to_single_cluster", false.into()),
            ("allotted_ips", Value::List(vec![])),
            ("associated_clusters", Value::List(vec![])),
            ("in_use", false.into()),
        ]);
        let model = IpPoolModel::from_value(&cfg).unwrap();
        let b = V1IpPoolInputEntity::from(&model);
        let entity = V1IpPoolEntity {
            metadata: Some(V1ObjectMeta {
                uid: Some("p1".into()),
                ..b.metadata.clone().unwrap()
            }),
            spec: Some(palette_api::models::V1IpPoolEntitySpec {
                pool: b.spec.clone().unwrap().pool,
                priavet_gateway_uid: Some("g1".into()),
                restrict_to_single_cluster: Some(false),
            }),
            status: None,
        };
        assert_eq!(state_from(&entity, "g1", &model), cfg);
    }
}
