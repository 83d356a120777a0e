//! `palette_private_cloud_gateway`: the reference document's install
//! procedure as one resource. Planning checks what can be known before
//! apply; create walks the steps and puts the gateway (or, before it
//! registers, the installer VM) into state the moment it exists, so a
//! failure or Ctrl-C later leaves a tainted resource, never an orphan.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    ApplyRequest, ApplyResult, AttrPath, Ctx, Diagnostic, Diagnostics, Imported, Model,
    PlanRequest, PlanResponse, ReadResult, Resource, Schema, Value,
};

use crate::shared::Shared;

mod adopt;
mod create;
mod delete;
pub mod model;
mod own;
mod plan;
mod provision;
mod read;
mod resume;
mod update;
pub mod upgrade;
pub(crate) mod vcenter;
pub use model::GatewayModel;

pub struct Gateway {
    pub shared: Arc<Shared>,
}

/// A value Terraform sent as the model; null (no object: a create's prior
/// state, a destroy's plan, no configuration) is `None`.
fn decode(v: &Value) -> Result<Option<GatewayModel>, Diagnostics> {
    if v.is_null() {
        return Ok(None);
    }
    GatewayModel::from_value(v).map(Some).map_err(|e| {
        Diagnostic::error(
            "Unexpected gateway value",
            format!("The provider cannot read this value: {e}"),
        )
        .into()
    })
}

/// An operation given no object where it needs one: a bug in the caller.
fn unexpected_null() -> Diagnostics {
    Diagnostic::error(
        "Unexpected gateway value",
        "The provider was given no gateway where it needs one.",
    )
    .into()
}

fn path(parts: &[(&str, Option<usize>)]) -> AttrPath {
    let mut p = AttrPath::root();
    for (name, idx) in parts {
        p = p.then_attr(name);
        if let Some(i) = idx {
            p = p.then_index(*i);
        }
    }
    p
}

#[async_trait]
impl Resource for Gateway {
    fn type_name(&self) -> &'static str {
        schemas::gateway::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::gateway::schema()
    }

    fn identity_schema(&self) -> Option<tfplugin::IdentitySchema> {
        Some(schemas::identity::gateway())
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        crate::identity::GatewayIdentity::import_id(identity)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        self.validate_config(config)
    }

    async fn modify_plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        self.plan(req, resp).await
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        self.create_gateway(req, ctx).await
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        self.update_gateway(req, ctx).await
    }

    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        self.delete_gateway(req, ctx).await
    }

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        self.read_gateway(state, private, ctx).await
    }

    /// By uid or name. The installer and placement inputs Palette cannot
    /// return are taken from the configuration by the next apply, which
    /// records them without touching the gateway.
    async fn import(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        self.import_gateway(id, ctx).await
    }
}

#[cfg(test)]
mod tests;
