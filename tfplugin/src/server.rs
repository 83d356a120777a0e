//! The tfplugin6 gRPC service: decodes requests, calls the provider's
//! traits, encodes responses. Anything the provider does not offer is
//! answered with a diagnostic, never a transport error or a hang.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::codec::{self, JsonOptions};
use crate::diag::{AttrPath, Diagnostic, Diagnostics, Severity, Step};
use crate::plan;
use crate::proto::tfplugin6 as pb;
use crate::provider::{
    Action, ApplyRequest, Ctx, DataSource, EphemeralResource, ListRequest, ListResource, ListSink,
    PlanRequest, PlanResponse, Progress, Provider, Resource,
};
use crate::schema::{Attribute, Block, IdentitySchema, Nesting, Schema};
use crate::validate::validate_config;
use crate::value::{Type, Value};

pub struct ProviderService {
    provider: Arc<dyn Provider>,
    provider_schema: Schema,
    resources: HashMap<String, (Arc<dyn Resource>, Schema)>,
    data_sources: HashMap<String, (Arc<dyn DataSource>, Schema)>,
    ephemeral: HashMap<String, (Arc<dyn EphemeralResource>, Schema)>,
    lists: HashMap<String, (Arc<dyn ListResource>, Schema)>,
    actions: HashMap<String, (Arc<dyn Action>, Schema)>,
    /// Replaced after each StopProvider so that a provider instance that
    /// Terraform keeps using after a stop still works.
    stop: Mutex<CancellationToken>,
}

impl ProviderService {
    /// Builds the service. Panics on a schema Terraform would reject, so a
    /// provider bug shows at start-up in tests rather than in users' plans.
    pub fn new(provider: Arc<dyn Provider>) -> Self {
        let problems = Self::schema_problems(provider.as_ref());
        assert!(problems.is_empty(), "invalid provider schema: {problems:?}");
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| {
                let s = r.schema();
                (r.type_name().to_string(), (r, s))
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                let s = d.schema();
                (d.type_name().to_string(), (d, s))
            })
            .collect();
        let ephemeral = provider
            .ephemeral_resources()
            .into_iter()
            .map(|e| {
                let s = e.schema();
                (e.type_name().to_string(), (e, s))
            })
            .collect();
        let lists = provider
            .list_resources()
            .into_iter()
            .map(|l| {
                let s = l.schema();
                (l.type_name().to_string(), (l, s))
            })
            .collect();
        let actions = provider
            .actions()
            .into_iter()
            .map(|a| {
                let s = a.schema();
                (a.type_name().to_string(), (a, s))
            })
            .collect();
        ProviderService {
            provider_schema: provider.schema(),
            provider,
            resources,
            data_sources,
            ephemeral,
            lists,
            actions,
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    /// Every problem in the provider's schemas, as `type: problem` lines.
    pub fn schema_problems(provider: &dyn Provider) -> Vec<String> {
        let mut out: Vec<String> = crate::schema::check_schema(&provider.schema())
            .into_iter()
            .map(|p| format!("provider: {p}"))
            .collect();
        for r in provider.resources() {
            out.extend(
                crate::schema::check_schema(&r.schema())
                    .into_iter()
                    .map(|p| format!("{}: {p}", r.type_name())),
            );
            if let Some(identity) = r.identity_schema() {
                out.extend(
                    crate::schema::check_identity(&identity)
                        .into_iter()
                        .map(|p| format!("{} identity: {p}", r.type_name())),
                );
            }
        }
        for d in provider.data_sources() {
            out.extend(
                crate::schema::check_schema(&d.schema())
                    .into_iter()
                    .map(|p| format!("{}: {p}", d.type_name())),
            );
            if d.schema().block.has_write_only() {
                out.push(format!(
                    "{}: write-only attributes are for managed resources only",
                    d.type_name()
                ));
            }
        }
        for e in provider.ephemeral_resources() {
            out.extend(
                crate::schema::check_schema(&e.schema())
                    .into_iter()
                    .map(|p| format!("{}: {p}", e.type_name())),
            );
        }
        for l in provider.list_resources() {
            out.extend(
                crate::schema::check_schema(&l.schema())
                    .into_iter()
                    .map(|p| format!("{} list: {p}", l.type_name())),
            );
            let listed = provider
                .resources()
                .into_iter()
                .find(|r| r.type_name() == l.type_name());
            if listed.and_then(|r| r.identity_schema()).is_none() {
                out.push(format!(
                    "{} list: lists a managed resource type with an identity, which this provider lacks",
                    l.type_name()
                ));
            }
        }
        for a in provider.actions() {
            out.extend(
                crate::schema::check_schema(&a.schema())
                    .into_iter()
                    .map(|p| format!("{} action: {p}", a.type_name())),
            );
            if a.schema().block.has_write_only() {
                out.push(format!(
                    "{} action: write-only attributes are for managed resources only",
                    a.type_name()
                ));
            }
        }
        if provider.schema().block.has_write_only() {
            out.push("provider: write-only attributes are for managed resources only".into());
        }
        out
    }

    fn action(&self, name: &str) -> Result<&(Arc<dyn Action>, Schema), Diagnostics> {
        self.actions.get(name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown action type",
                format!("This provider has no action {name:?}."),
            )
            .into()
        })
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(self.stop.lock().expect("stop token lock").child_token())
    }

    fn resource(&self, name: &str) -> Result<&(Arc<dyn Resource>, Schema), Diagnostics> {
        self.resources.get(name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown resource type",
                format!("This provider has no resource type {name:?}."),
            )
            .into()
        })
    }

    fn ephemeral_resource(
        &self,
        name: &str,
    ) -> Result<&(Arc<dyn EphemeralResource>, Schema), Diagnostics> {
        self.ephemeral.get(name).ok_or_else(|| no_ephemeral(name))
    }

    fn data_source(&self, name: &str) -> Result<&(Arc<dyn DataSource>, Schema), Diagnostics> {
        self.data_sources.get(name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown data source",
                format!("This provider has no data source {name:?}."),
            )
            .into()
        })
    }

    /// Answers the server's capabilities the same way in both metadata and
    /// schema responses.
    fn capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: true,
            move_resource_state: true,
            generate_resource_config: true,
        }
    }
}

// ---------------------------------------------------------------- conversions

pub(crate) fn decode(dv: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let r = if !dv.msgpack.is_empty() {
        codec::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        serde_json::from_slice(&dv.json)
            .map_err(|e| codec::CodecError::Json(e.to_string()))
            .and_then(|j| codec::from_json(&j, ty, JsonOptions::default()))
    } else {
        return Ok(Value::Null);
    };
    r.map_err(|e| Diagnostic::error("Cannot decode value from Terraform", e.to_string()).into())
}

pub(crate) fn encode(v: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostics> {
    codec::to_msgpack(v, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                "Provider produced a value that does not fit its schema",
                e.to_string(),
            )
            .into()
        })
}

fn path_to_pb(p: &AttrPath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    Step::Attr(a) => Selector::AttributeName(a.clone()),
                    Step::Key(k) => Selector::ElementKeyString(k.clone()),
                    Step::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

pub(crate) fn diags_to_pb(d: &Diagnostics) -> Vec<pb::Diagnostic> {
    d.iter()
        .map(|d| pb::Diagnostic {
            severity: match d.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            attribute: d.attribute.as_ref().map(path_to_pb),
            function_argument: None,
        })
        .collect()
}

fn nesting_block(n: Nesting) -> i32 {
    use pb::schema::nested_block::NestingMode as M;
    (match n {
        Nesting::Single => M::Single,
        Nesting::Group => M::Group,
        Nesting::List => M::List,
        Nesting::Set => M::Set,
        Nesting::Map => M::Map,
    }) as i32
}

fn nesting_object(n: Nesting) -> i32 {
    use pb::schema::object::NestingMode as M;
    (match n {
        Nesting::Single | Nesting::Group => M::Single,
        Nesting::List => M::List,
        Nesting::Set => M::Set,
        Nesting::Map => M::Map,
    }) as i32
}

const MARKDOWN: i32 = pb::StringKind::Markdown as i32;

fn attr_to_pb(a: &Attribute) -> pb::schema::Attribute {
    let description = match &a.deprecated {
        Some(why) if a.description.is_empty() => format!("**Deprecated** {why}"),
        Some(why) => format!("{} **Deprecated** {why}", a.description),
        None => a.description.clone(),
    };
    pb::schema::Attribute {
        name: a.name.clone(),
        r#type: if a.nested.is_some() {
            Vec::new()
        } else {
            a.ty.to_json_bytes()
        },
        nested_type: a.nested.as_ref().map(|n| pb::schema::Object {
            attributes: n.attributes.iter().map(attr_to_pb).collect(),
            nesting: nesting_object(n.nesting),
            ..Default::default()
        }),
        description,
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        write_only: a.write_only,
        description_kind: MARKDOWN,
        deprecated: a.deprecated.is_some(),
        // Terraform 1.15+ puts this in its deprecation warning; older ones
        // read the description above.
        deprecation_message: a.deprecated.clone().unwrap_or_default(),
    }
}

fn block_to_pb(b: &Block) -> pb::schema::Block {
    pb::schema::Block {
        version: 0,
        attributes: b.attributes.iter().map(attr_to_pb).collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.name.clone(),
                block: Some(block_to_pb(&nb.block)),
                nesting: nesting_block(nb.nesting),
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: MARKDOWN,
        deprecated: b.deprecated,
        deprecation_message: String::new(),
    }
}

pub fn schema_to_pb(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block_to_pb(&s.block)),
    }
}

/// Runs `f`, turning decode failures (an `Err` of diagnostics) into the
/// response's diagnostics.
/// A server stream fed through a channel: what a spawned task sends,
/// Terraform reads, in order; a dropped stream makes sends fail.
fn event_stream<T: Send + 'static>() -> (tokio::sync::mpsc::Sender<T>, tonic::codegen::BoxStream<T>)
{
    use tokio_stream::StreamExt as _;
    let (tx, rx) = tokio::sync::mpsc::channel(32);
    (
        tx,
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok)),
    )
}

macro_rules! try_diags {
    ($e:expr, $resp:expr) => {
        match $e {
            Ok(v) => v,
            Err(d) => {
                let d: Diagnostics = d;
                return Ok(Response::new($resp(diags_to_pb(&d))));
            }
        }
    };
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _req: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            functions: Vec::new(),
            ephemeral_resources: self
                .ephemeral
                .keys()
                .map(|k| pb::get_metadata::EphemeralResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            list_resources: self
                .lists
                .keys()
                .map(|k| pb::get_metadata::ListResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            state_stores: Vec::new(),
            actions: self
                .actions
                .keys()
                .map(|k| pb::get_metadata::ActionMetadata {
                    type_name: k.clone(),
                })
                .collect(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schema_to_pb(&self.provider_schema)),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, (_, s))| (k.clone(), schema_to_pb(s)))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, (_, s))| (k.clone(), schema_to_pb(s)))
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(Self::capabilities()),
            functions: Default::default(),
            ephemeral_resource_schemas: self
                .ephemeral
                .iter()
                .map(|(k, (_, s))| (k.clone(), schema_to_pb(s)))
                .collect(),
            list_resource_schemas: self
                .lists
                .iter()
                .map(|(k, (_, s))| (k.clone(), schema_to_pb(s)))
                .collect(),
            state_store_schemas: Default::default(),
            action_schemas: self
                .actions
                .iter()
                .map(|(k, (_, s))| {
                    (
                        k.clone(),
                        pb::ActionSchema {
                            schema: Some(schema_to_pb(s)),
                        },
                    )
                })
                .collect(),
        }))
    }

    /// Terraform 1.12+ asks on every schema load; resource types without
    /// an identity are simply absent.
    async fn get_resource_identity_schemas(
        &self,
        _req: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        let identity_schemas = self
            .resources
            .iter()
            .filter_map(|(name, (r, _))| {
                r.identity_schema()
                    .map(|s| (name.clone(), identity_schema_to_pb(&s)))
            })
            .collect();
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas,
            diagnostics: Vec::new(),
        }))
    }

    /// Identity schemas are at version 0, so a stored identity is read as it
    /// is; one from a newer provider is refused, as state is.
    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let resp = |diagnostics| pb::upgrade_resource_identity::Response {
            upgraded_identity: None,
            diagnostics,
        };
        let req = req.into_inner();
        let (r, _) = try_diags!(self.resource(&req.type_name), resp);
        let Some(schema) = r.identity_schema() else {
            return Ok(Response::new(resp(Vec::new())));
        };
        if req.version > schema.version {
            let d = Diagnostics::from(Diagnostic::error(
                "Identity written by a newer provider",
                format!(
                    "The stored identity of this {} has version {}, but this provider knows versions up to {}. Use a newer provider.",
                    req.type_name, req.version, schema.version
                ),
            ));
            return Ok(Response::new(resp(diags_to_pb(&d))));
        }
        let raw = req.raw_identity.map(|r| r.json).unwrap_or_default();
        // State written before identities existed has none: Terraform then
        // takes a missing answer as a null identity.
        if raw.is_empty() {
            return Ok(Response::new(resp(Vec::new())));
        }
        let json: serde_json::Value = try_diags!(
            serde_json::from_slice(&raw).map_err(|e| Diagnostics::from(Diagnostic::error(
                "Stored identity is not valid JSON",
                e.to_string()
            ))),
            resp
        );
        let ty = schema.ty();
        let identity = try_diags!(
            codec::from_json(
                &json,
                &ty,
                JsonOptions {
                    ignore_undefined_attributes: true,
                },
            )
            .map_err(|e| Diagnostics::from(Diagnostic::error(
                "Cannot read stored identity",
                e.to_string()
            ))),
            resp
        );
        let data = try_diags!(encode(&identity, &ty), resp);
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: Some(pb::ResourceIdentityData {
                identity_data: Some(data),
            }),
            diagnostics: Vec::new(),
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let resp = |diagnostics| pb::validate_provider_config::Response { diagnostics };
        let req = req.into_inner();
        let config = try_diags!(
            decode(req.config.as_ref(), &self.provider_schema.ty()),
            resp
        );
        let mut d = validate_config(&self.provider_schema.block, &config);
        d.extend(self.provider.validate_config(&config).await);
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let resp = |diagnostics| pb::validate_resource_config::Response { diagnostics };
        let req = req.into_inner();
        let (r, schema) = try_diags!(self.resource(&req.type_name), resp);
        let config = try_diags!(decode(req.config.as_ref(), &schema.ty()), resp);
        let mut d = validate_config(&schema.block, &config);
        // An absent capability (Terraform before 1.11) means not allowed: such
        // a Terraform would store the value in plan and state like any other.
        let allowed = req
            .client_capabilities
            .as_ref()
            .is_some_and(|c| c.write_only_attributes_allowed);
        if !allowed {
            d.extend(write_only_not_supported(&schema.block, &config));
        }
        d.extend(r.validate(&config).await);
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let resp = |diagnostics| pb::validate_data_resource_config::Response { diagnostics };
        let req = req.into_inner();
        let (ds, schema) = try_diags!(self.data_source(&req.type_name), resp);
        let config = try_diags!(decode(req.config.as_ref(), &schema.ty()), resp);
        let mut d = validate_config(&schema.block, &config);
        d.extend(ds.validate(&config).await);
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let resp = |diagnostics| pb::upgrade_resource_state::Response {
            upgraded_state: None,
            diagnostics,
        };
        let req = req.into_inner();
        let (r, schema) = try_diags!(self.resource(&req.type_name), resp);
        let raw = req.raw_state.unwrap_or_default();
        let json: serde_json::Value = if !raw.json.is_empty() {
            try_diags!(
                serde_json::from_slice(&raw.json).map_err(|e| Diagnostics::from(
                    Diagnostic::error("Stored state is not valid JSON", e.to_string())
                )),
                resp
            )
        } else {
            try_diags!(
                Err(Diagnostics::from(Diagnostic::error(
                    "Unsupported state format",
                    "This state was written in the flatmap format of Terraform 0.11, which this provider cannot read."
                ))),
                resp
            )
        };
        let mut upgraded = try_diags!(r.upgrade_state(req.version, &json).await, resp);
        schema.block.null_write_only(&mut upgraded);
        let dv = try_diags!(encode(&upgraded, &schema.ty()), resp);
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: Some(dv),
            diagnostics: Vec::new(),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let resp = |diagnostics| pb::configure_provider::Response { diagnostics };
        let req = req.into_inner();
        let config = try_diags!(
            decode(req.config.as_ref(), &self.provider_schema.ty()),
            resp
        );
        tracing::debug!(terraform_version = %req.terraform_version, "configuring provider");
        let d = self.provider.configure(&config, &self.ctx()).await;
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let resp = |diagnostics| pb::read_resource::Response {
            new_state: req.current_state.clone(),
            diagnostics,
            private: req.private.clone(),
            ..Default::default()
        };
        let (r, schema) = try_diags!(self.resource(&req.type_name), resp);
        let ty = schema.ty();
        let state = try_diags!(decode(req.current_state.as_ref(), &ty), resp);
        let mut out = r.read(&state, &req.private, &self.ctx()).await;
        schema.block.null_write_only(&mut out.state);
        let new_state = try_diags!(encode(&out.state, &ty), resp);
        let new_identity = try_diags!(identity_pb(r.as_ref(), &out.state), resp);
        Ok(Response::new(pb::read_resource::Response {
            new_state: Some(new_state),
            diagnostics: diags_to_pb(&out.diags),
            private: out.private,
            new_identity,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let resp = |diagnostics| pb::plan_resource_change::Response {
            diagnostics,
            ..Default::default()
        };
        let req = req.into_inner();
        let (r, schema) = try_diags!(self.resource(&req.type_name), resp);
        let ty = schema.ty();
        let mut proposed = try_diags!(decode(req.proposed_new_state.as_ref(), &ty), resp);
        // Terraform builds the proposed state from configuration, write-only
        // values included; the prior state never holds them, so the planner
        // would take every plan for a change and mark computed values unknown.
        schema.block.null_write_only(&mut proposed);
        let preq = PlanRequest {
            prior: try_diags!(decode(req.prior_state.as_ref(), &ty), resp),
            proposed,
            config: try_diags!(decode(req.config.as_ref(), &ty), resp),
            prior_private: req.prior_private,
            ctx: self.ctx(),
        };
        let generic = plan::plan(&schema.block, &preq.prior, &preq.proposed, &preq.config);
        let mut presp = PlanResponse {
            state: generic.state,
            requires_replace: generic.requires_replace,
            private: preq.prior_private.clone(),
            diags: Diagnostics::new(),
            kept_prior_spelling: false,
        };
        if !preq.proposed.is_null() || !preq.prior.is_null() {
            r.modify_plan(&preq, &mut presp).await;
        }
        schema.block.null_write_only(&mut presp.state);
        let planned = try_diags!(encode(&presp.state, &ty), resp);
        // An object that goes on living keeps its identity; one about to be
        // created (or replaced) gets its identity when applied.
        let planned_identity = if preq.prior.is_null() || !presp.requires_replace.is_empty() {
            None
        } else {
            try_diags!(identity_pb(r.as_ref(), &presp.state), resp)
        };
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state: Some(planned),
            planned_identity,
            requires_replace: presp.requires_replace.iter().map(path_to_pb).collect(),
            planned_private: presp.private,
            diagnostics: diags_to_pb(&presp.diags),
            legacy_type_system: presp.kept_prior_spelling,
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        // On a failure before the provider ran, keep the prior state.
        let resp = |diagnostics| pb::apply_resource_change::Response {
            new_state: req.prior_state.clone(),
            private: req.planned_private.clone(),
            diagnostics,
            ..Default::default()
        };
        let (r, schema) = try_diags!(self.resource(&req.type_name), resp);
        let ty = schema.ty();
        let areq = ApplyRequest {
            prior: try_diags!(decode(req.prior_state.as_ref(), &ty), resp),
            planned: try_diags!(decode(req.planned_state.as_ref(), &ty), resp),
            config: try_diags!(decode(req.config.as_ref(), &ty), resp),
            planned_private: req.planned_private.clone(),
        };
        let ctx = self.ctx();
        let (state, private, diags) = if areq.planned.is_null() {
            let d = r.delete(&areq, &ctx).await;
            // A failed delete leaves the object, and so the resource, in place.
            let state = if d.has_errors() {
                areq.prior.clone()
            } else {
                Value::Null
            };
            (state, Vec::new(), d)
        } else if areq.prior.is_null() {
            let out = r.create(&areq, &ctx).await;
            (out.state, out.private, out.diags)
        } else {
            let out = r.update(&areq, &ctx).await;
            (out.state, out.private, out.diags)
        };
        let mut state = state;
        schema.block.null_write_only(&mut state);
        let new_state = try_diags!(encode(&state, &ty), resp);
        let new_identity = try_diags!(identity_pb(r.as_ref(), &state), resp);
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state: Some(new_state),
            private,
            diagnostics: diags_to_pb(&diags),
            new_identity,
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let resp = |diagnostics| pb::import_resource_state::Response {
            diagnostics,
            ..Default::default()
        };
        let req = req.into_inner();
        let (r, schema) = try_diags!(self.resource(&req.type_name), resp);
        // `import { identity = {...} }` (Terraform 1.12+) sends an identity
        // instead of an id; the resource says which id that identity means.
        let given = match req.identity.as_ref().and_then(|i| i.identity_data.as_ref()) {
            Some(data) => {
                let Some(ischema) = r.identity_schema() else {
                    let d = Diagnostics::from(Diagnostic::error(
                        "Import by identity not supported",
                        format!("{} has no identity; import it by id.", req.type_name),
                    ));
                    return Ok(Response::new(resp(diags_to_pb(&d))));
                };
                Some(try_diags!(decode(Some(data), &ischema.ty()), resp))
            }
            None => None,
        };
        let id = match &given {
            Some(identity) => try_diags!(r.import_id(identity), resp),
            None => req.id.clone(),
        };
        let imported = try_diags!(r.import(&id, &self.ctx()).await, resp);
        let ty = schema.ty();
        let mut out = Vec::new();
        for mut i in imported {
            schema.block.null_write_only(&mut i.state);
            let mut identity = try_diags!(identity_pb(r.as_ref(), &i.state), resp);
            // Terraform refuses an import by identity that answers none;
            // the identity given is the best there is when the imported
            // state cannot tell its own.
            if identity.is_none() {
                if let (Some(g), Some(s)) = (&given, r.identity_schema()) {
                    identity = Some(pb::ResourceIdentityData {
                        identity_data: Some(try_diags!(encode(g, &s.ty()), resp)),
                    });
                }
            }
            out.push(pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(try_diags!(encode(&i.state, &ty), resp)),
                private: i.private,
                identity,
            });
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: out,
            ..Default::default()
        }))
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let resp = |diagnostics| pb::move_resource_state::Response {
            diagnostics,
            ..Default::default()
        };
        let req = req.into_inner();
        let (r, schema) = try_diags!(self.resource(&req.target_type_name), resp);
        let sources = r.move_sources();
        let Some(source) = sources
            .iter()
            .find(|s| s.matches(&req.source_provider_address, &req.source_type_name))
            .cloned()
        else {
            let known = if sources.is_empty() {
                "none".to_string()
            } else {
                sources
                    .iter()
                    .map(|s| format!("{} of {}", s.type_name, s.provider))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let d = Diagnostics::from(Diagnostic::error(
                "Move not supported",
                format!(
                    "{} cannot take over the state of {} from provider {}. It can move from: {known}. \
                     Remove the `moved` block and import the object instead.",
                    req.target_type_name, req.source_type_name, req.source_provider_address
                ),
            ));
            return Ok(Response::new(resp(diags_to_pb(&d))));
        };
        if req.source_schema_version > source.max_schema_version {
            let d = Diagnostics::from(Diagnostic::error(
                "Source state too new",
                format!(
                    "{} state of schema version {} was written by a provider newer than this one knows \
                     (versions up to {}). Move it with a newer release of this provider, or import the object.",
                    req.source_type_name, req.source_schema_version, source.max_schema_version
                ),
            ));
            return Ok(Response::new(resp(diags_to_pb(&d))));
        }
        let raw = req.source_state.unwrap_or_default();
        if raw.json.is_empty() {
            let d = Diagnostics::from(Diagnostic::error(
                "Unsupported state format",
                "The source state is in Terraform 0.11's flatmap format; upgrade it with its own provider first.",
            ));
            return Ok(Response::new(resp(diags_to_pb(&d))));
        }
        let state: serde_json::Value = try_diags!(
            serde_json::from_slice(&raw.json).map_err(|e| Diagnostics::from(Diagnostic::error(
                "Source state is not valid JSON",
                e.to_string()
            ))),
            resp
        );
        let mreq = crate::provider::MoveRequest {
            source,
            schema_version: req.source_schema_version,
            state,
        };
        let (mut moved, warnings) = try_diags!(r.move_state(&mreq).await, resp);
        schema.block.null_write_only(&mut moved);
        let target_state = try_diags!(encode(&moved, &schema.ty()), resp);
        let target_identity = try_diags!(identity_pb(r.as_ref(), &moved), resp);
        Ok(Response::new(pb::move_resource_state::Response {
            target_state: Some(target_state),
            diagnostics: diags_to_pb(&warnings),
            target_private: Vec::new(),
            target_identity,
        }))
    }

    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        let resp = |diagnostics| pb::generate_resource_config::Response {
            diagnostics,
            ..Default::default()
        };
        let req = req.into_inner();
        let (r, schema) = try_diags!(self.resource(&req.type_name), resp);
        let ty = schema.ty();
        let state = try_diags!(decode(req.state.as_ref(), &ty), resp);
        let mut config = r.generate_config(&state);
        schema.block.null_write_only(&mut config);
        let config = try_diags!(encode(&config, &ty), resp);
        Ok(Response::new(pb::generate_resource_config::Response {
            config: Some(config),
            diagnostics: Vec::new(),
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let resp = |diagnostics| pb::read_data_source::Response {
            diagnostics,
            ..Default::default()
        };
        let req = req.into_inner();
        let (ds, schema) = try_diags!(self.data_source(&req.type_name), resp);
        let ty = schema.ty();
        let config = try_diags!(decode(req.config.as_ref(), &ty), resp);
        let (state, diags) = ds.read(&config, &self.ctx()).await;
        if diags.has_errors() {
            return Ok(Response::new(resp(diags_to_pb(&diags))));
        }
        let state = try_diags!(encode(&state, &ty), resp);
        Ok(Response::new(pb::read_data_source::Response {
            state: Some(state),
            diagnostics: diags_to_pb(&diags),
            ..Default::default()
        }))
    }

    async fn get_functions(
        &self,
        _req: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        let name = req.into_inner().name;
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!("This provider has no function {name:?}."),
                function_argument: None,
            }),
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let resp = |diagnostics| pb::validate_ephemeral_resource_config::Response { diagnostics };
        let req = req.into_inner();
        let (e, schema) = try_diags!(self.ephemeral_resource(&req.type_name), resp);
        let config = try_diags!(decode(req.config.as_ref(), &schema.ty()), resp);
        let mut d = validate_config(&schema.block, &config);
        d.extend(e.validate(&config).await);
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let resp = |diagnostics| pb::open_ephemeral_resource::Response {
            diagnostics,
            ..Default::default()
        };
        let req = req.into_inner();
        let (e, schema) = try_diags!(self.ephemeral_resource(&req.type_name), resp);
        let ty = schema.ty();
        let config = try_diags!(decode(req.config.as_ref(), &ty), resp);
        let opened = e.open(&config, &self.ctx()).await;
        if opened.diags.has_errors() {
            return Ok(Response::new(resp(diags_to_pb(&opened.diags))));
        }
        let result = try_diags!(encode(&opened.result, &ty), resp);
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: diags_to_pb(&opened.diags),
            renew_at: opened.renew_at.map(prost_types::Timestamp::from),
            result: Some(result),
            private: Some(opened.private),
            deferred: None,
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let resp = |diagnostics| pb::renew_ephemeral_resource::Response {
            diagnostics,
            ..Default::default()
        };
        let req = req.into_inner();
        let (e, _) = try_diags!(self.ephemeral_resource(&req.type_name), resp);
        let renewed = e
            .renew(req.private.as_deref().unwrap_or_default(), &self.ctx())
            .await;
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: diags_to_pb(&renewed.diags),
            renew_at: renewed.renew_at.map(prost_types::Timestamp::from),
            private: Some(renewed.private),
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let resp = |diagnostics| pb::close_ephemeral_resource::Response { diagnostics };
        let req = req.into_inner();
        let (e, _) = try_diags!(self.ephemeral_resource(&req.type_name), resp);
        let d = e
            .close(req.private.as_deref().unwrap_or_default(), &self.ctx())
            .await;
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let resp = |diagnostics| pb::validate_list_resource_config::Response { diagnostics };
        let req = req.into_inner();
        let Some((l, schema)) = self.lists.get(&req.type_name) else {
            return Ok(Response::new(resp(diags_to_pb(&no_list(&req.type_name)))));
        };
        let config = try_diags!(decode(req.config.as_ref(), &schema.ty()), resp);
        let mut d = validate_config(&schema.block, &config);
        if !d.has_errors() {
            d.extend(l.validate(&config).await);
        }
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    /// Streams what the list resource finds, each result with the identity
    /// of its state (and the state itself when asked), stopping at the limit.
    async fn list_resource(
        &self,
        req: Request<pb::list_resource::Request>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::list_resource::Event>>, Status> {
        let req = req.into_inner();
        let (events_tx, stream) = event_stream::<pb::list_resource::Event>();
        let fail = |d: Diagnostics| pb::list_resource::Event {
            diagnostic: diags_to_pb(&d),
            ..Default::default()
        };
        let (Some((l, lschema)), Ok((r, rschema))) = (
            self.lists.get(&req.type_name),
            self.resource(&req.type_name),
        ) else {
            let _ = events_tx.send(fail(no_list(&req.type_name))).await;
            return Ok(Response::new(stream));
        };
        let config = match decode(req.config.as_ref(), &lschema.ty()) {
            Ok(c) => c,
            Err(d) => {
                let _ = events_tx.send(fail(d)).await;
                return Ok(Response::new(stream));
            }
        };
        let (l, r, rschema) = (l.clone(), r.clone(), rschema.clone());
        let ctx = self.ctx();
        let lreq = ListRequest {
            config,
            include_resource_object: req.include_resource_object,
            limit: req.limit,
        };
        tokio::spawn(async move {
            let (found_tx, mut found_rx) = tokio::sync::mpsc::channel(16);
            let sink = ListSink::new(found_tx);
            let cancel = ctx.cancel.clone();
            let lister = async {
                let d = l.list(&lreq, &sink, &ctx).await;
                drop(sink);
                d
            };
            let forward = async {
                let mut sent = 0i64;
                while let Some(found) = found_rx.recv().await {
                    let event = match found {
                        Err(d) => fail(d),
                        Ok(mut item) => {
                            rschema.block.null_write_only(&mut item.state);
                            match listed_event(
                                r.as_ref(),
                                &rschema,
                                item,
                                lreq.include_resource_object,
                            ) {
                                Ok(e) => e,
                                Err(d) => fail(d),
                            }
                        }
                    };
                    let counts = event.identity.is_some();
                    if events_tx.send(event).await.is_err() {
                        break;
                    }
                    if counts {
                        sent += 1;
                        if lreq.limit > 0 && sent >= lreq.limit {
                            break;
                        }
                    }
                }
                // Dropping the receiver tells the lister to stop.
                drop(found_rx);
            };
            let (d, ()) = tokio::join!(lister, forward);
            if d.has_errors() || cancel.is_cancelled() {
                let _ = events_tx.send(fail(d)).await;
            }
        });
        Ok(Response::new(stream))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let resp = |diagnostics| pb::validate_action_config::Response { diagnostics };
        let req = req.into_inner();
        let (a, schema) = try_diags!(self.action(&req.type_name), resp);
        let config = try_diags!(decode(req.config.as_ref(), &schema.ty()), resp);
        let mut d = validate_config(&schema.block, &config);
        if !d.has_errors() {
            d.extend(a.validate(&config).await);
        }
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    async fn plan_action(
        &self,
        req: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        let resp = |diagnostics| pb::plan_action::Response {
            diagnostics,
            deferred: None,
        };
        let req = req.into_inner();
        let (a, schema) = try_diags!(self.action(&req.action_type), resp);
        let config = try_diags!(decode(req.config.as_ref(), &schema.ty()), resp);
        let d = a.plan(&config, &self.ctx()).await;
        Ok(Response::new(resp(diags_to_pb(&d))))
    }

    /// Streams the action's progress messages as they come, then one
    /// Completed event with its diagnostics.
    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::invoke_action::Event>>, Status> {
        use pb::invoke_action::event::{Completed, Progress as ProgressEvent, Type};
        let req = req.into_inner();
        let (events_tx, stream) = event_stream::<pb::invoke_action::Event>();
        let completed = |d: &Diagnostics| pb::invoke_action::Event {
            r#type: Some(Type::Completed(Completed {
                diagnostics: diags_to_pb(d),
            })),
        };
        let found = self.action(&req.action_type).and_then(|(a, schema)| {
            decode(req.config.as_ref(), &schema.ty()).map(|config| (a.clone(), config))
        });
        let (action, config) = match found {
            Ok(x) => x,
            Err(d) => {
                let _ = events_tx.send(completed(&d)).await;
                return Ok(Response::new(stream));
            }
        };
        let ctx = self.ctx();
        tokio::spawn(async move {
            let (progress_tx, mut progress_rx) = tokio::sync::mpsc::channel::<String>(16);
            let progress = Progress::new(progress_tx);
            let run = async {
                let d = action.invoke(&config, &progress, &ctx).await;
                drop(progress);
                d
            };
            let forward = async {
                while let Some(message) = progress_rx.recv().await {
                    let event = pb::invoke_action::Event {
                        r#type: Some(Type::Progress(ProgressEvent { message })),
                    };
                    if events_tx.send(event).await.is_err() {
                        break;
                    }
                }
            };
            let (d, ()) = tokio::join!(run, forward);
            let _ = events_tx.send(completed(&d)).await;
        });
        Ok(Response::new(stream))
    }

    async fn stop_provider(
        &self,
        _req: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        let mut token = self.stop.lock().expect("stop token lock");
        tracing::info!("Terraform asked the provider to stop: cancelling in-flight operations");
        token.cancel();
        *token = CancellationToken::new();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

fn identity_schema_to_pb(s: &IdentitySchema) -> pb::ResourceIdentitySchema {
    pb::ResourceIdentitySchema {
        version: s.version,
        identity_attributes: s
            .attributes
            .iter()
            .map(|a| pb::resource_identity_schema::IdentityAttribute {
                name: a.name.clone(),
                r#type: a.ty.to_json_bytes(),
                required_for_import: a.required_for_import,
                optional_for_import: a.optional_for_import,
                description: a.description.clone(),
            })
            .collect(),
    }
}

/// The identity of the object `state` describes, on the wire; `None` for a
/// resource without identity, a gone object, or one not yet created.
fn identity_pb(
    r: &dyn Resource,
    state: &Value,
) -> Result<Option<pb::ResourceIdentityData>, Diagnostics> {
    let (Some(schema), Some(identity)) = (r.identity_schema(), r.identity(state)) else {
        return Ok(None);
    };
    Ok(Some(pb::ResourceIdentityData {
        identity_data: Some(encode(&identity, &schema.ty())?),
    }))
}

fn no_list(name: &str) -> Diagnostics {
    Diagnostic::error(
        "Unknown list resource type",
        format!("This provider has no list resource type {name:?}."),
    )
    .into()
}

/// One result of a listing on the wire: its identity (which Terraform
/// requires), its name and, when asked for, its state.
fn listed_event(
    r: &dyn Resource,
    schema: &Schema,
    item: crate::provider::Listed,
    include_object: bool,
) -> Result<pb::list_resource::Event, Diagnostics> {
    let identity = identity_pb(r, &item.state)?.ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            "Listed object without identity",
            format!(
                "{} could not be identified; it is left out.",
                item.display_name
            ),
        ))
    })?;
    let resource_object = if include_object {
        Some(encode(&item.state, &schema.ty())?)
    } else {
        None
    };
    Ok(pb::list_resource::Event {
        identity: Some(identity),
        display_name: item.display_name,
        resource_object,
        diagnostic: Vec::new(),
    })
}

fn no_ephemeral(name: &str) -> Diagnostics {
    Diagnostic::error(
        "Unknown ephemeral resource type",
        format!("This provider has no ephemeral resource type {name:?}."),
    )
    .into()
}

/// Whether the object holding the attribute at `path` also has `name`.
fn has_sibling(block: &Block, path: &AttrPath, name: &str) -> bool {
    let names: Vec<&str> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Step::Attr(a) => Some(a.as_str()),
            _ => None,
        })
        .collect();
    let Some((_, parents)) = names.split_last() else {
        return false;
    };
    let mut attrs: &[Attribute] = &block.attributes;
    let mut current = block;
    let mut in_block = true;
    for p in parents {
        if in_block {
            if let Some(b) = current.nested_block(p) {
                current = &b.block;
                attrs = &current.attributes;
                continue;
            }
        }
        match attrs
            .iter()
            .find(|a| a.name == *p)
            .and_then(|a| a.nested.as_ref())
        {
            Some(n) => {
                attrs = &n.attributes;
                in_block = false;
            }
            None => return false,
        }
    }
    attrs.iter().any(|a| a.name == name) || (in_block && current.nested_block(name).is_some())
}

/// Errors for write-only values a Terraform without write-only support (before
/// 1.11) was given: it would keep them in plan and state. By convention the
/// stored alternative of `x_wo` is `x`.
fn write_only_not_supported(block: &Block, config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    for path in block.write_only_values(config) {
        let name = path.to_string();
        let leaf = match path.0.last() {
            Some(Step::Attr(a)) => a.clone(),
            _ => name.clone(),
        };
        let instead = leaf
            .strip_suffix("_wo")
            .filter(|plain| has_sibling(block, &path, plain))
            .map(|plain| format!(" Set `{plain}` instead: it works with every Terraform, and is stored in state marked sensitive."))
            .unwrap_or_default();
        d.push(
            Diagnostic::error(
                "Write-only attribute needs Terraform 1.11 or later",
                format!("`{name}` is write-only: its value is never stored in plan or state, which this Terraform cannot do.{instead}"),
            )
            .at(path),
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without the flag on the wire, Terraform treats the attribute as an
    /// ordinary one: it keeps the value in plan and state, and then rejects
    /// the null every response holds for it.
    #[test]
    fn the_schema_tells_terraform_which_attributes_are_write_only() {
        let a = attr_to_pb(&Attribute::string("password_wo").optional().write_only());
        assert!(a.write_only && a.sensitive);
        let b = attr_to_pb(&Attribute::string("password").optional().sensitive());
        assert!(!b.write_only);
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;
    use crate::provider::{
        ApplyResult, Imported, ListRequest, ListResource, ListSink, Opened, ReadResult,
    };
    use crate::schema::NestedBlock;
    use async_trait::async_trait;
    use pb::provider_server::Provider as _;

    struct Thing;

    fn thing_schema() -> Schema {
        Schema::new(
            Block::new()
                .attr(Attribute::string("id").computed())
                .attr(Attribute::string("password").optional().sensitive())
                .attr(Attribute::string("password_wo").optional().write_only())
                .block(NestedBlock::new(
                    "login",
                    Nesting::List,
                    Block::new().attr(Attribute::string("token_wo").optional().write_only()),
                )),
        )
    }

    #[async_trait]
    impl Resource for Thing {
        fn type_name(&self) -> &'static str {
            "t_thing"
        }
        fn schema(&self) -> Schema {
            thing_schema()
        }
        // A careless resource that echoes its configuration, write-only
        // values included: the server must still return none of them.
        async fn create(&self, req: &ApplyRequest, _ctx: &Ctx) -> ApplyResult {
            let mut s = req.config.clone();
            s.set_attr("id", Value::string("x"));
            ApplyResult::ok(s)
        }
        async fn update(&self, req: &ApplyRequest, _ctx: &Ctx) -> ApplyResult {
            ApplyResult::ok(req.config.clone())
        }
        async fn delete(&self, _req: &ApplyRequest, _ctx: &Ctx) -> Diagnostics {
            Diagnostics::new()
        }
        async fn read(&self, state: &Value, _p: &[u8], _ctx: &Ctx) -> ReadResult {
            let mut s = state.clone();
            s.set_attr("password_wo", Value::string("leak"));
            ReadResult::ok(s, Vec::new())
        }
        async fn modify_plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
            resp.state = req.config.clone();
            let id = if req.prior.is_null() {
                Value::Unknown
            } else {
                req.prior.get("id").clone()
            };
            resp.state.set_attr("id", id);
        }
        fn identity_schema(&self) -> Option<IdentitySchema> {
            Some(IdentitySchema::new(vec![
                crate::schema::IdentityAttribute::optional("id", Type::String),
            ]))
        }
        fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
            Ok(format!(
                "by-identity:{}",
                identity.get("id").as_str().unwrap_or("?")
            ))
        }
        fn move_sources(&self) -> Vec<crate::provider::MoveSource> {
            vec![crate::provider::MoveSource {
                provider: "registry.terraform.io/other/other",
                type_name: "other_thing",
                max_schema_version: 1,
            }]
        }
        // Careless again: a write-only value in the moved state.
        async fn move_state(
            &self,
            req: &crate::provider::MoveRequest,
        ) -> Result<(Value, Diagnostics), Diagnostics> {
            let mut state = Value::null_object(&thing_schema().ty());
            state.set_attr(
                "id",
                Value::from(req.state["uid"].as_str().map(str::to_string)),
            );
            state.set_attr("password_wo", Value::string("leak"));
            let mut d = Diagnostics::new();
            d.warning("Left behind", "other_thing.color");
            Ok((state, d))
        }
        async fn import(&self, id: &str, _ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
            let mut state = Value::null_object(&thing_schema().ty());
            state.set_attr("id", Value::string(id));
            Ok(vec![Imported {
                state,
                private: Vec::new(),
            }])
        }
    }

    struct Token;

    #[async_trait]
    impl EphemeralResource for Token {
        fn type_name(&self) -> &'static str {
            "t_token"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                Block::new()
                    .attr(Attribute::string("name").required())
                    .attr(Attribute::string("value").computed().sensitive()),
            )
        }
        async fn open(&self, config: &Value, _ctx: &Ctx) -> Opened {
            let mut r = config.clone();
            r.set_attr("value", Value::string("v"));
            let mut o = Opened::ok(r);
            o.private = b"handle".to_vec();
            o
        }
    }

    /// Lists three things named a, b, c, each with its full state.
    struct ThingList;

    #[async_trait]
    impl ListResource for ThingList {
        fn type_name(&self) -> &'static str {
            "t_thing"
        }
        fn schema(&self) -> Schema {
            Schema::new(Block::new().attr(Attribute::string("prefix").optional()))
        }
        async fn list(&self, req: &ListRequest, sink: &ListSink, _ctx: &Ctx) -> Diagnostics {
            let prefix = req.config.get("prefix").as_str().unwrap_or("").to_string();
            for name in ["a", "b", "c"] {
                let mut state = Value::null_object(&thing_schema().ty());
                state.set_attr("id", Value::string(format!("{prefix}{name}")));
                state.set_attr("password_wo", Value::string("never-listed"));
                let item = crate::provider::Listed {
                    state,
                    display_name: format!("thing {name}"),
                };
                if !sink.send(item).await {
                    break;
                }
            }
            Diagnostics::new()
        }
    }

    /// Counts to `to`, one progress message a step; refuses 0 at plan.
    struct Count;

    #[async_trait]
    impl Action for Count {
        fn type_name(&self) -> &'static str {
            "t_count"
        }
        fn schema(&self) -> Schema {
            Schema::new(Block::new().attr(Attribute::number("to").required()))
        }
        async fn plan(&self, config: &Value, _ctx: &Ctx) -> Diagnostics {
            let mut d = Diagnostics::new();
            if config.get("to").as_number().and_then(|n| n.as_i64()) == Some(0) {
                d.error_at(AttrPath::attr("to"), "Nothing to count", "Give 1 or more.");
            }
            d
        }
        async fn invoke(&self, config: &Value, progress: &Progress, _ctx: &Ctx) -> Diagnostics {
            let to = config
                .get("to")
                .as_number()
                .and_then(|n| n.as_i64())
                .unwrap_or(0);
            for i in 1..=to {
                progress.say(format!("{i} of {to}")).await;
            }
            let mut d = Diagnostics::new();
            d.warning("Counted", format!("{to} steps"));
            d
        }
    }

    struct P;

    #[async_trait]
    impl Provider for P {
        fn schema(&self) -> Schema {
            Schema::new(Block::new())
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Thing)]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            Vec::new()
        }
        fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource>> {
            vec![Arc::new(Token)]
        }
        fn list_resources(&self) -> Vec<Arc<dyn ListResource>> {
            vec![Arc::new(ThingList)]
        }
        fn actions(&self) -> Vec<Arc<dyn Action>> {
            vec![Arc::new(Count)]
        }
        async fn configure(&self, _c: &Value, _ctx: &Ctx) -> Diagnostics {
            Diagnostics::new()
        }
    }

    fn svc() -> ProviderService {
        ProviderService::new(Arc::new(P))
    }

    fn config() -> Value {
        Value::object([
            ("id", Value::Null),
            ("password", Value::Null),
            ("password_wo", Value::string("s3cr3t")),
            (
                "login",
                Value::List(vec![Value::object([("token_wo", Value::string("t0k3n"))])]),
            ),
        ])
    }

    fn dv(v: &Value) -> Option<pb::DynamicValue> {
        Some(encode(v, &thing_schema().ty()).unwrap())
    }

    fn write_only_of(dv: &Option<pb::DynamicValue>) -> Vec<AttrPath> {
        let schema = thing_schema();
        let v = decode(dv.as_ref(), &schema.ty()).unwrap();
        schema.block.write_only_values(&v)
    }

    async fn validate(caps: Option<pb::ClientCapabilities>) -> Vec<pb::Diagnostic> {
        svc()
            .validate_resource_config(Request::new(pb::validate_resource_config::Request {
                type_name: "t_thing".into(),
                config: dv(&config()),
                client_capabilities: caps,
            }))
            .await
            .unwrap()
            .into_inner()
            .diagnostics
    }

    #[tokio::test]
    async fn write_only_needs_the_client_capability() {
        let allowed = pb::ClientCapabilities {
            write_only_attributes_allowed: true,
            ..Default::default()
        };
        assert!(validate(Some(allowed)).await.is_empty());
        for caps in [None, Some(pb::ClientCapabilities::default())] {
            let d = validate(caps).await;
            assert_eq!(d.len(), 2, "{d:?}");
            assert!(d[0].summary.contains("Terraform 1.11"), "{d:?}");
            assert!(d[0].detail.contains("Set `password` instead"), "{d:?}");
            assert!(!d[1].detail.contains("instead"), "no plain twin: {d:?}");
        }
    }

    #[tokio::test]
    async fn no_response_carries_a_write_only_value() {
        let s = svc();
        let plan = s
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: "t_thing".into(),
                prior_state: dv(&Value::Null),
                proposed_new_state: dv(&config()),
                config: dv(&config()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        assert!(write_only_of(&plan.planned_state).is_empty());

        let apply = s
            .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                type_name: "t_thing".into(),
                prior_state: dv(&Value::Null),
                planned_state: plan.planned_state.clone(),
                config: dv(&config()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(apply.diagnostics.is_empty(), "{:?}", apply.diagnostics);
        assert!(write_only_of(&apply.new_state).is_empty());
        let state = decode(apply.new_state.as_ref(), &thing_schema().ty()).unwrap();
        assert_eq!(state.get("id"), &Value::string("x"));

        let read = s
            .read_resource(Request::new(pb::read_resource::Request {
                type_name: "t_thing".into(),
                current_state: apply.new_state.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(write_only_of(&read.new_state).is_empty());
    }

    fn identity_of(data: &Option<pb::ResourceIdentityData>) -> Option<Value> {
        let ty = Thing.identity_schema().unwrap().ty();
        data.as_ref()
            .map(|d| decode(d.identity_data.as_ref(), &ty).unwrap())
    }

    #[tokio::test]
    async fn identities_are_declared_returned_and_imported_by() {
        let s = svc();
        let schemas = s
            .get_resource_identity_schemas(Request::new(
                pb::get_resource_identity_schemas::Request {},
            ))
            .await
            .unwrap()
            .into_inner();
        let thing = &schemas.identity_schemas["t_thing"];
        assert_eq!(thing.identity_attributes[0].name, "id");
        assert!(thing.identity_attributes[0].optional_for_import);
        assert_eq!(thing.identity_attributes[0].r#type, b"\"string\"");

        // A create plans no identity (the id is unknown), its apply has one.
        let plan = s
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: "t_thing".into(),
                prior_state: dv(&Value::Null),
                proposed_new_state: dv(&config()),
                config: dv(&config()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(identity_of(&plan.planned_identity), None);
        let apply = s
            .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                type_name: "t_thing".into(),
                prior_state: dv(&Value::Null),
                planned_state: plan.planned_state.clone(),
                config: dv(&config()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        let x = Value::object([("id", Value::string("x"))]);
        assert_eq!(identity_of(&apply.new_identity), Some(x.clone()));

        // Read and an update's plan carry it on.
        let read = s
            .read_resource(Request::new(pb::read_resource::Request {
                type_name: "t_thing".into(),
                current_state: apply.new_state.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(identity_of(&read.new_identity), Some(x.clone()));
        let update = s
            .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: "t_thing".into(),
                prior_state: apply.new_state.clone(),
                proposed_new_state: dv(&config()),
                config: dv(&config()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(identity_of(&update.planned_identity), Some(x));

        // Import by identity goes through the id the resource makes of it.
        let given = Value::object([("id", Value::string("abc"))]);
        let imported = s
            .import_resource_state(Request::new(pb::import_resource_state::Request {
                type_name: "t_thing".into(),
                identity: Some(pb::ResourceIdentityData {
                    identity_data: Some(
                        encode(&given, &Thing.identity_schema().unwrap().ty()).unwrap(),
                    ),
                }),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(
            imported.diagnostics.is_empty(),
            "{:?}",
            imported.diagnostics
        );
        let r = &imported.imported_resources[0];
        assert_eq!(
            identity_of(&r.identity),
            Some(Value::object([("id", Value::string("by-identity:abc"))]))
        );

        // A stored identity is read back; none stored gives none.
        let up = |json: &[u8]| {
            s.upgrade_resource_identity(Request::new(pb::upgrade_resource_identity::Request {
                type_name: "t_thing".into(),
                version: 0,
                raw_identity: Some(pb::RawState {
                    json: json.to_vec(),
                    ..Default::default()
                }),
            }))
        };
        let stored = up(br#"{"id":"x"}"#).await.unwrap().into_inner();
        assert_eq!(
            identity_of(&stored.upgraded_identity),
            Some(Value::object([("id", Value::string("x"))]))
        );
        let none = up(b"").await.unwrap().into_inner();
        assert!(none.upgraded_identity.is_none() && none.diagnostics.is_empty());
    }

    #[tokio::test]
    async fn moves_map_known_sources_and_name_them_for_unknown_ones() {
        let s = svc();
        let caps = s
            .get_metadata(Request::new(pb::get_metadata::Request {}))
            .await
            .unwrap()
            .into_inner()
            .server_capabilities
            .unwrap();
        assert!(caps.move_resource_state && caps.generate_resource_config);
        let mv = |provider: &str, ty: &str, version: i64| {
            s.move_resource_state(Request::new(pb::move_resource_state::Request {
                source_provider_address: provider.into(),
                source_type_name: ty.into(),
                source_schema_version: version,
                source_state: Some(pb::RawState {
                    json: br#"{"uid":"u-1","color":"red"}"#.to_vec(),
                    ..Default::default()
                }),
                target_type_name: "t_thing".into(),
                ..Default::default()
            }))
        };
        let ok = mv("registry.terraform.io/other/other", "other_thing", 1)
            .await
            .unwrap()
            .into_inner();
        let state = decode(ok.target_state.as_ref(), &thing_schema().ty()).unwrap();
        assert_eq!(state.get("id"), &Value::string("u-1"));
        assert_eq!(state.get("password_wo"), &Value::Null, "write-only nulled");
        assert_eq!(
            identity_of(&ok.target_identity),
            Some(Value::object([("id", Value::string("u-1"))]))
        );
        assert_eq!(ok.diagnostics.len(), 1, "the warning goes with the state");

        let unknown = mv("registry.terraform.io/other/other", "other_gadget", 0)
            .await
            .unwrap()
            .into_inner();
        assert!(unknown.target_state.is_none());
        let detail = &unknown.diagnostics[0].detail;
        assert!(
            detail.contains("other_thing of registry.terraform.io/other/other"),
            "{detail}"
        );

        let newer = mv("registry.terraform.io/other/other", "other_thing", 2)
            .await
            .unwrap()
            .into_inner();
        assert!(newer.diagnostics[0].detail.contains("versions up to 1"));
    }

    #[tokio::test]
    async fn generated_configuration_leaves_out_computed_and_write_only() {
        let s = svc();
        let state = Value::object([
            ("id", Value::string("x")),
            ("password", Value::string("p")),
            ("password_wo", Value::Null),
            ("login", Value::List(Vec::new())),
        ]);
        let r = s
            .generate_resource_config(Request::new(pb::generate_resource_config::Request {
                type_name: "t_thing".into(),
                state: dv(&state),
            }))
            .await
            .unwrap()
            .into_inner();
        let config = decode(r.config.as_ref(), &thing_schema().ty()).unwrap();
        assert_eq!(config.get("id"), &Value::Null);
        assert_eq!(config.get("password"), &Value::string("p"));
        assert_eq!(config.get("login"), &Value::List(Vec::new()));
    }

    #[tokio::test]
    async fn list_results_stream_with_identity_object_and_limit() {
        use tokio_stream::StreamExt as _;
        let s = svc();
        let meta = s
            .get_metadata(Request::new(pb::get_metadata::Request {}))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(meta.list_resources[0].type_name, "t_thing");
        let lty = ThingList.schema().ty();
        let config = Value::object([("prefix", Value::string("p-"))]);
        let list = |limit: i64, include: bool| {
            s.list_resource(Request::new(pb::list_resource::Request {
                type_name: "t_thing".into(),
                config: Some(encode(&config, &lty).unwrap()),
                include_resource_object: include,
                limit,
            }))
        };
        let events: Vec<pb::list_resource::Event> = list(2, true)
            .await
            .unwrap()
            .into_inner()
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].display_name, "thing a");
        assert_eq!(
            identity_of(&events[1].identity),
            Some(Value::object([("id", Value::string("p-b"))]))
        );
        let object = decode(events[0].resource_object.as_ref(), &thing_schema().ty()).unwrap();
        assert_eq!(object.get("id"), &Value::string("p-a"));
        assert!(
            object.get("password_wo").is_null(),
            "write-only values never listed"
        );

        let all: Vec<pb::list_resource::Event> = list(0, false)
            .await
            .unwrap()
            .into_inner()
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|e| e.resource_object.is_none()));
    }

    #[tokio::test]
    async fn ephemeral_resources_are_listed_and_opened() {
        let s = svc();
        let schema = s
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .unwrap()
            .into_inner();
        assert!(schema.ephemeral_resource_schemas.contains_key("t_token"));
        let ty = Token.schema().ty();
        let cfg = Value::object([("name", Value::string("n")), ("value", Value::Null)]);
        let opened = s
            .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
                type_name: "t_token".into(),
                config: Some(encode(&cfg, &ty).unwrap()),
                client_capabilities: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(opened.diagnostics.is_empty(), "{:?}", opened.diagnostics);
        let result = decode(opened.result.as_ref(), &ty).unwrap();
        assert_eq!(result.get("value"), &Value::string("v"));
        assert_eq!(opened.private.as_deref(), Some(&b"handle"[..]));
        let closed = s
            .close_ephemeral_resource(Request::new(pb::close_ephemeral_resource::Request {
                type_name: "t_token".into(),
                private: opened.private,
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(closed.diagnostics.is_empty());
        let unknown = s
            .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
                type_name: "t_nope".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(unknown.diagnostics.len(), 1);
    }

    #[tokio::test]
    async fn actions_are_declared_planned_and_stream_progress() {
        use tokio_stream::StreamExt as _;
        let s = svc();
        let meta = s
            .get_metadata(Request::new(pb::get_metadata::Request {}))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(meta.actions.len(), 1);
        assert_eq!(meta.actions[0].type_name, "t_count");
        let schema = s
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .unwrap()
            .into_inner();
        assert!(schema.action_schemas["t_count"].schema.is_some());
        let ty = Count.schema().ty();
        let cfg = |n: i64| Some(encode(&Value::object([("to", Value::int(n))]), &ty).unwrap());
        let planned = s
            .plan_action(Request::new(pb::plan_action::Request {
                action_type: "t_count".into(),
                config: cfg(0),
                client_capabilities: None,
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(planned.diagnostics.len(), 1, "zero is refused at plan");
        let mut events = s
            .invoke_action(Request::new(pb::invoke_action::Request {
                action_type: "t_count".into(),
                config: cfg(3),
                client_capabilities: None,
            }))
            .await
            .unwrap()
            .into_inner();
        let mut seen = Vec::new();
        while let Some(e) = events.next().await {
            match e.unwrap().r#type.unwrap() {
                pb::invoke_action::event::Type::Progress(p) => seen.push(p.message),
                pb::invoke_action::event::Type::Completed(c) => {
                    assert_eq!(c.diagnostics.len(), 1);
                    assert_eq!(c.diagnostics[0].summary, "Counted");
                    seen.push("completed".into());
                }
            }
        }
        assert_eq!(seen, ["1 of 3", "2 of 3", "3 of 3", "completed"]);
        let mut unknown = s
            .invoke_action(Request::new(pb::invoke_action::Request {
                action_type: "t_nope".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        match unknown.next().await.unwrap().unwrap().r#type.unwrap() {
            pb::invoke_action::event::Type::Completed(c) => assert_eq!(c.diagnostics.len(), 1),
            other => panic!("expected a completion with an error, got {other:?}"),
        }
    }
}
