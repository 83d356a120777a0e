//! `palette_ip_pool`: schema use, plan-time checks, CRUD, import, drift.

use std::sync::Arc;

use async_trait::async_trait;
use palette_api::client::Error as ApiError;
use palette_api::models::{
    V1IpPoolEntity, V1IpPoolInputEntity, V1IpPoolInputEntitySpec, V1Nameserver, V1ObjectMeta,
    V1Overlords, V1Pool, V1Uid,
};
use palette_api::pool::{self, PoolInput};
use tfplugin::{
    ApplyRequest, ApplyResult, AttrPath, Ctx, Diagnostic, Diagnostics, Imported, ReadResult,
    Resource, Schema, Value,
};

use crate::shared::{api_diag, read_failed, Shared};

pub struct IpPool {
    pub shared: Arc<Shared>,
}

fn pools_path(gateway: &str) -> String {
    format!("/v1/overlords/vsphere/{gateway}/pools")
}

/// The pool fields of a configuration, if all of them are known yet.
fn input(v: &Value) -> Option<PoolInput<'_>> {
    let fields = ["start", "end", "subnet", "prefix", "gateway"];
    if fields.iter().any(|f| v.get(f).is_unknown()) {
        return None;
    }
    Some(PoolInput {
        start: v.get("start").as_str(),
        end: v.get("end").as_str(),
        subnet: v.get("subnet").as_str(),
        prefix: v.get("prefix").as_i64(),
        gateway: v.get("gateway").as_str(),
    })
}

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_elements().map(|e| {
        e.iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    })
}

fn body(v: &Value) -> V1IpPoolInputEntity {
    let nameservers = strings(v.get("nameservers"));
    let search = strings(v.get("search_domains"));
    V1IpPoolInputEntity {
        metadata: Some(V1ObjectMeta {
            name: v.get("name").as_str().map(str::to_string),
            ..Default::default()
        }),
        spec: Some(V1IpPoolInputEntitySpec {
            pool: Some(V1Pool {
                start: v.get("start").as_str().map(str::to_string),
                end: v.get("end").as_str().map(str::to_string),
                subnet: v.get("subnet").as_str().map(str::to_string),
                prefix: v.get("prefix").as_i64().map(|p| p as i32),
                gateway: v.get("gateway").as_str().map(str::to_string),
                nameserver: (nameservers.is_some() || search.is_some()).then_some(V1Nameserver {
                    addresses: nameservers,
                    search,
                }),
            }),
            restrict_to_single_cluster: v.get("restrict_to_single_cluster").as_bool(),
        }),
    }
}

/// A list from the API as state: absent and empty read the same, and keep
/// whichever of the two the configuration had, so neither shows as drift.
fn list_value(api: Option<Vec<String>>, prior: &Value) -> Value {
    match api {
        Some(items) if !items.is_empty() => {
            Value::List(items.into_iter().map(Value::String).collect())
        }
        _ if prior.as_elements().is_some_and(<[Value]>::is_empty) => Value::List(Vec::new()),
        _ => Value::Null,
    }
}

fn computed_list(api: Option<Vec<String>>) -> Value {
    Value::List(
        api.unwrap_or_default()
            .into_iter()
            .map(Value::String)
            .collect(),
    )
}

/// The state of a pool as Palette reports it.
fn state_from(e: &V1IpPoolEntity, gateway_id: &str, prior: &Value) -> Value {
    let meta = e.metadata.clone().unwrap_or_default();
    let spec = e.spec.clone().unwrap_or_default();
    let pool = spec.pool.unwrap_or_default();
    let ns = pool.nameserver.unwrap_or_default();
    let status = e.status.clone().unwrap_or_default();
    Value::object([
        ("id", Value::from(meta.uid)),
        ("gateway_id", Value::from(gateway_id)),
        ("name", Value::from(meta.name)),
        ("start", Value::from(pool.start)),
        ("end", Value::from(pool.end)),
        ("subnet", Value::from(pool.subnet)),
        (
            "prefix",
            pool.prefix
                .map(|p| Value::int(p.into()))
                .unwrap_or(Value::Null),
        ),
        ("gateway", Value::from(pool.gateway)),
        (
            "nameservers",
            list_value(ns.addresses, prior.get("nameservers")),
        ),
        (
            "search_domains",
            list_value(ns.search, prior.get("search_domains")),
        ),
        (
            "restrict_to_single_cluster",
            Value::Bool(spec.restrict_to_single_cluster.unwrap_or(false)),
        ),
        ("allotted_ips", computed_list(status.allotted_ips)),
        (
            "associated_clusters",
            computed_list(status.associated_clusters),
        ),
        ("in_use", Value::Bool(status.in_use.unwrap_or(false))),
    ])
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
        if let Some((summary, detail)) = crate::consequences::pool_shrink(&req.prior, &resp.state) {
            resp.diags.warning(summary, detail);
        }
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        // A pool's uid alone finds it; otherwise its gateway and name.
        let given = |k: &str| identity.get(k).as_str().filter(|v| !v.trim().is_empty());
        match (given("id"), given("gateway_id"), given("name")) {
            (Some(uid), _, _) => Ok(uid.to_string()),
            (None, Some(gateway), Some(name)) => Ok(format!("{gateway}/{name}")),
            _ => Err(tfplugin::Diagnostic::error(
                "Incomplete identity",
                "To import an IP pool by identity, give its `id` (uid), or `gateway_id` and `name`.",
            )
            .into()),
        }
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        if let Some(input) = input(config) {
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
        let gateway = req
            .planned
            .get("gateway_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = req
            .planned
            .get("name")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let path = pools_path(&gateway);
        let created: Result<V1Uid, ApiError> =
            client.post(&path, &body(&req.planned), &ctx.cancel).await;
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
            Ok(Some(e)) => ApplyResult::ok(state_from(&e, &gateway, &req.planned)),
            other => {
                // The pool exists: keep it in state (tainted) whatever failed next.
                let mut state = req.planned.clone();
                state.set_attr("id", uid.as_str().into());
                for attr in ["allotted_ips", "associated_clusters"] {
                    state.set_attr(attr, Value::List(Vec::new()));
                }
                state.set_attr("in_use", false.into());
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
        let gateway = req
            .prior
            .get("gateway_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let uid = req.prior.get("id").as_str().unwrap_or_default().to_string();
        let put = client
            .put(
                &format!("{}/{uid}", pools_path(&gateway)),
                &body(&req.planned),
                &ctx.cancel,
            )
            .await;
        self.shared.forget_pools(&gateway);
        if let Err(e) = put {
            return ApplyResult::failed(req.prior.clone(), api_diag("Cannot update IP pool", &e));
        }
        match self.find(&gateway, &uid, ctx).await {
            Ok(Some(e)) => ApplyResult::ok(state_from(&e, &gateway, &req.planned)),
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
        let gateway = req
            .prior
            .get("gateway_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let uid = req.prior.get("id").as_str().unwrap_or_default();
        let r = client
            .delete(&format!("{}/{uid}", pools_path(&gateway)), &ctx.cancel)
            .await;
        self.shared.forget_pools(&gateway);
        match r {
            Ok(()) => Diagnostics::new(),
            Err(e) if e.is_not_found() => Diagnostics::new(),
            Err(e) => api_diag("Cannot delete IP pool", &e),
        }
    }

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        let gateway = state
            .get("gateway_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let uid = state.get("id").as_str().unwrap_or_default().to_string();
        match self.find(&gateway, &uid, ctx).await {
            Ok(Some(e)) => ReadResult::ok(state_from(&e, &gateway, state), private.to_vec()),
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
            state: state_from(&entity, &gateway, &Value::Null),
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
        let gateway = config
            .get("gateway_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = config.get("name").as_str().unwrap_or_default().to_string();
        match self.shared.pools_of(&gateway, ctx).await {
            Ok(list) => match list.iter().find(|e| name_of(e) == Some(name.as_str())) {
                Some(e) => (state_from(e, &gateway, &Value::Null), Diagnostics::new()),
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
    fn absent_and_empty_lists_do_not_drift() {
        assert_eq!(list_value(None, &Value::Null), Value::Null);
        assert_eq!(
            list_value(Some(vec![]), &Value::List(vec![])),
            Value::List(vec![])
        );
        assert_eq!(
            list_value(Some(vec!["a".into()]), &Value::Null),
            Value::List(vec!["a".into()])
        );
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
        let b = body(&cfg);
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
        assert_eq!(state_from(&entity, "g1", &cfg), cfg);
    }
}
