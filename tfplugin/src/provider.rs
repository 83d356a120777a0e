//! What a provider implements: a provider, its resources and data sources.
//! The server turns protocol calls into calls of these traits.

use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::codec::{self, JsonOptions};
use crate::diag::{AttrPath, Diagnostic, Diagnostics};
use crate::schema::{IdentitySchema, Schema};
use crate::value::Value;

/// Per-call context. `cancel` fires when Terraform asks the provider to stop
/// (Ctrl-C): long waits must select on it and return promptly with what is
/// known so far.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub cancel: CancellationToken,
}

impl Ctx {
    pub fn new(cancel: CancellationToken) -> Self {
        Ctx { cancel }
    }
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
    /// Sleeps unless cancelled first; returns false when cancelled.
    pub async fn sleep(&self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(d) => true,
        }
    }
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The provider's schema (the `provider "x" {}` block).
    fn schema(&self) -> Schema;
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
    /// Ephemeral resources (Terraform 1.10+): opened when a run needs them,
    /// never stored in plan or state.
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource>> {
        Vec::new()
    }
    /// List resources (`terraform query`, Terraform 1.14+): each lists
    /// objects of the managed resource type of the same name, which must
    /// have an identity.
    fn list_resources(&self) -> Vec<Arc<dyn ListResource>> {
        Vec::new()
    }
    /// Actions (Terraform 1.14+): operations run by `terraform apply
    /// -invoke=action.TYPE.NAME` or an `action_trigger`, outside any
    /// resource's lifecycle. Older Terraform never asks for them.
    fn actions(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }

    async fn validate_config(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    async fn configure(&self, config: &Value, ctx: &Ctx) -> Diagnostics;
}

#[derive(Clone, Debug)]
pub struct PlanRequest {
    /// Null when creating.
    pub prior: Value,
    /// Null when destroying.
    pub proposed: Value,
    pub config: Value,
    pub prior_private: Vec<u8>,
    /// For checks that ask the remote side (and must stop when Terraform does).
    pub ctx: Ctx,
}

#[derive(Clone, Debug)]
pub struct PlanResponse {
    pub state: Value,
    pub requires_replace: Vec<AttrPath>,
    pub private: Vec<u8>,
    pub diags: Diagnostics,
    /// Set when `state` keeps a prior value that the configuration spells
    /// differently but means alike (YAML reformatted, say): a suppressed
    /// diff, as SDKv2's DiffSuppressFunc makes. Terraform refuses a planned
    /// value other than the configured one unless the response carries the
    /// protocol's `legacy_type_system` flag, which this sets; Terraform then
    /// only logs the difference.
    pub kept_prior_spelling: bool,
}

#[derive(Clone, Debug)]
pub struct ApplyRequest {
    pub prior: Value,
    pub planned: Value,
    pub config: Value,
    pub planned_private: Vec<u8>,
}

/// Result of create and update. `state` is saved by Terraform even when
/// `diags` has errors: a create that made a remote object must return it
/// here, so that it is tracked (tainted) rather than orphaned.
#[derive(Clone, Debug)]
pub struct ApplyResult {
    pub state: Value,
    pub private: Vec<u8>,
    pub diags: Diagnostics,
}

impl ApplyResult {
    pub fn ok(state: Value) -> Self {
        ApplyResult {
            state,
            private: Vec::new(),
            diags: Diagnostics::new(),
        }
    }
    pub fn failed(state: Value, diags: impl Into<Diagnostics>) -> Self {
        ApplyResult {
            state,
            private: Vec::new(),
            diags: diags.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ReadResult {
    /// Null when the remote object is really gone (and only then).
    pub state: Value,
    pub private: Vec<u8>,
    pub diags: Diagnostics,
}

impl ReadResult {
    pub fn ok(state: Value, private: Vec<u8>) -> Self {
        ReadResult {
            state,
            private,
            diags: Diagnostics::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Imported {
    pub state: Value,
    pub private: Vec<u8>,
}

/// A resource type of another provider (or of this one) whose state a
/// resource can take over through a `moved` block (Terraform 1.8+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveSource {
    /// The source provider's full address, such as
    /// `registry.terraform.io/spectrocloud/spectrocloud`.
    pub provider: &'static str,
    pub type_name: &'static str,
    /// The newest schema version of the source this resource understands.
    pub max_schema_version: i64,
}

impl MoveSource {
    /// Whether a request from `provider` (as Terraform spells it: host,
    /// namespace and type, the host optional) for `type_name` is this one.
    pub fn matches(&self, provider: &str, type_name: &str) -> bool {
        let want = self.provider.to_ascii_lowercase();
        let got = provider.to_ascii_lowercase();
        let short = want.split_once('/').map(|(_, rest)| rest).unwrap_or(&want);
        type_name == self.type_name && (got == want || got == short)
    }
}

/// What a `moved` block from another resource type hands over.
#[derive(Clone, Debug)]
pub struct MoveRequest {
    pub source: MoveSource,
    /// The schema version the source's state was written with.
    pub schema_version: i64,
    /// The source's state as stored (JSON, in the source's schema).
    pub state: serde_json::Value,
}

#[async_trait]
pub trait Resource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks across attributes, beyond each attribute's own validators.
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Refines the generic plan (see `plan::plan`), e.g. to compute values
    /// known at plan time or to reject a change that cannot be applied.
    async fn modify_plan(&self, _req: &PlanRequest, _resp: &mut PlanResponse) {}

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult;
    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult;
    /// Deletes the remote object; errors keep the resource in state.
    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics;
    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult;

    async fn import(&self, id: &str, _ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!(
                "{} cannot be imported (asked to import {id:?}).",
                self.type_name()
            ),
        )
        .into())
    }

    /// The identity Terraform 1.12+ stores beside the state and accepts in
    /// `import { identity = {...} }` blocks; `None` (the default) for none.
    fn identity_schema(&self) -> Option<IdentitySchema> {
        None
    }

    /// The identity of the object `state` describes. The default copies
    /// each identity attribute from the state attribute of the same name;
    /// `None` while any of them is unknown (a create not yet applied).
    fn identity(&self, state: &Value) -> Option<Value> {
        let schema = self.identity_schema()?;
        if state.is_null() {
            return None;
        }
        let attrs: Vec<(String, Value)> = schema
            .attributes
            .iter()
            .map(|a| (a.name.clone(), state.get(&a.name).clone()))
            .collect();
        if attrs.iter().any(|(_, v)| !v.is_wholly_known()) {
            return None;
        }
        Some(Value::object(attrs))
    }

    /// The import id (what `import` takes) of the object an
    /// `import { identity = {...} }` block names; attributes the block
    /// left out are null. Only called for resources with an identity.
    fn import_id(&self, _identity: &Value) -> Result<String, Diagnostics> {
        Err(Diagnostic::error(
            "Import by identity not supported",
            format!(
                "{} cannot be imported by identity; import it by id.",
                self.type_name()
            ),
        )
        .into())
    }

    /// The resource types whose state this one can take over with a
    /// `moved` block; none by default.
    fn move_sources(&self) -> Vec<MoveSource> {
        Vec::new()
    }

    /// This resource's state for the object a source of `move_sources`
    /// described; only called for those. What cannot be mapped may stay
    /// null for the refresh that follows the move to fill in; warnings go
    /// with the value.
    async fn move_state(&self, req: &MoveRequest) -> Result<(Value, Diagnostics), Diagnostics> {
        Err(Diagnostic::error(
            "Move not supported",
            format!(
                "{} cannot take over the state of {}.",
                self.type_name(),
                req.source.type_name
            ),
        )
        .into())
    }

    /// The configuration Terraform 1.14+ writes for an object it imports
    /// with `-generate-config-out`, from its state: the arguments a user
    /// would write, with computed values and defaults left out. The
    /// default keeps every optional or required attribute and block that
    /// differs from its default; resources refine it.
    fn generate_config(&self, state: &Value) -> Value {
        crate::schema::config_from_state(&self.schema().block, state)
    }

    /// Turns stored state JSON of `version` into a value of the current
    /// schema. The default reads the current version, dropping attributes the
    /// schema no longer has; resources that bump their version override it.
    async fn upgrade_state(
        &self,
        version: i64,
        raw: &serde_json::Value,
    ) -> Result<Value, Diagnostics> {
        let schema = self.schema();
        if version > schema.version {
            return Err(Diagnostic::error(
                "State written by a newer provider",
                format!(
                    "The state of this {} has schema version {version}, but this provider knows versions up to {}. Use a newer provider.",
                    self.type_name(),
                    schema.version
                ),
            )
            .into());
        }
        codec::from_json(
            raw,
            &schema.ty(),
            JsonOptions {
                ignore_undefined_attributes: true,
            },
        )
        .map_err(|e| Diagnostic::error("Cannot read stored state", e.to_string()).into())
    }
}

#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Returns the full object: configuration plus computed attributes.
    async fn read(&self, config: &Value, ctx: &Ctx) -> (Value, Diagnostics);
}

/// What opening an ephemeral resource produced.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The full object: configuration plus computed attributes.
    pub result: Value,
    /// Handed back to `renew` and `close`; Terraform never stores it.
    pub private: Vec<u8>,
    /// When Terraform should call `renew` (for credentials that expire
    /// during a run); `None` means never.
    pub renew_at: Option<std::time::SystemTime>,
    pub diags: Diagnostics,
}

impl Opened {
    pub fn ok(result: Value) -> Self {
        Opened {
            result,
            private: Vec::new(),
            renew_at: None,
            diags: Diagnostics::new(),
        }
    }
    pub fn failed(diags: impl Into<Diagnostics>) -> Self {
        Opened {
            result: Value::Null,
            private: Vec::new(),
            renew_at: None,
            diags: diags.into(),
        }
    }
}

/// What renewing an ephemeral resource produced.
#[derive(Clone, Debug, Default)]
pub struct Renewed {
    pub private: Vec<u8>,
    pub renew_at: Option<std::time::SystemTime>,
    pub diags: Diagnostics,
}

#[async_trait]
pub trait EphemeralResource: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Called with a wholly known configuration; Terraform plans an unknown
    /// result itself when the configuration is not yet known.
    async fn open(&self, config: &Value, ctx: &Ctx) -> Opened;
    async fn renew(&self, private: &[u8], _ctx: &Ctx) -> Renewed {
        Renewed {
            private: private.to_vec(),
            ..Default::default()
        }
    }
    async fn close(&self, _private: &[u8], _ctx: &Ctx) -> Diagnostics {
        Diagnostics::new()
    }
}

/// What `terraform query` asks a list resource for.
#[derive(Clone, Debug)]
pub struct ListRequest {
    /// The `config` block of the `list` block, in the list resource's schema.
    pub config: Value,
    /// Whether Terraform wants each object's full state (it does for
    /// `-generate-config-out`), or identities and names only.
    pub include_resource_object: bool,
    /// At most this many results; Terraform stops reading after them.
    pub limit: i64,
}

/// One object found: its full state in the managed resource's schema (the
/// identity is taken from it) and the name `terraform query` shows.
#[derive(Clone, Debug)]
pub struct Listed {
    pub state: Value,
    pub display_name: String,
}

/// Where a list resource puts what it finds, as it finds it, so results
/// reach Terraform page by page.
pub struct ListSink {
    tx: tokio::sync::mpsc::Sender<Result<Listed, Diagnostics>>,
}

impl ListSink {
    pub fn new(tx: tokio::sync::mpsc::Sender<Result<Listed, Diagnostics>>) -> Self {
        ListSink { tx }
    }
    /// Hands one result on; `false` once Terraform wants no more (its limit
    /// reached, or the query gone): stop listing then.
    pub async fn send(&self, item: Listed) -> bool {
        self.tx.send(Ok(item)).await.is_ok()
    }
    /// Reports a problem with one result (or the whole listing) without
    /// ending the stream.
    pub async fn problem(&self, d: Diagnostics) -> bool {
        self.tx.send(Err(d)).await.is_ok()
    }
}

#[async_trait]
pub trait ListResource: Send + Sync + 'static {
    /// The managed resource type whose objects this lists.
    fn type_name(&self) -> &'static str;
    /// The filters a `list` block's `config` takes.
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Finds objects and sends each to `sink` until done or `sink` says
    /// stop; the returned diagnostics end the listing.
    async fn list(&self, req: &ListRequest, sink: &ListSink, ctx: &Ctx) -> Diagnostics;
}

/// Where an action's progress goes while it runs: each message reaches
/// Terraform's output at once, as the console's progress bar would.
#[derive(Clone)]
pub struct Progress {
    tx: tokio::sync::mpsc::Sender<String>,
}

impl Progress {
    pub fn new(tx: tokio::sync::mpsc::Sender<String>) -> Progress {
        Progress { tx }
    }

    /// Sends one message; a Terraform that stopped listening is ignored
    /// (the action still ends, and its result says how).
    pub async fn say(&self, message: impl Into<String>) {
        let _ = self.tx.send(message.into()).await;
    }
}

/// An action (Terraform 1.14+): a console button in Terraform's vocabulary.
/// Its configuration is the `config` block of an `action` block; it keeps
/// no state.
#[async_trait]
pub trait Action: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    async fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Checks at plan time, with a configuration that may hold unknowns.
    async fn plan(&self, _config: &Value, _ctx: &Ctx) -> Diagnostics {
        Diagnostics::new()
    }
    /// Runs the operation with a wholly known configuration.
    async fn invoke(&self, config: &Value, progress: &Progress, ctx: &Ctx) -> Diagnostics;
}
