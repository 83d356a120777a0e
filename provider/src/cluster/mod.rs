//! `palette_cluster_vsphere`: schema use, plan-time checks, the create /
//! update / delete procedures with their waits, read with drift, import.
//!
//! Machine pools are a set keyed by name (reordering never diffs). Their
//! only computed attributes are a placement's `compute_cluster` and `zone`,
//! which the plan always fills (unknown only while a configured zone is),
//! so set elements keep their identity between plan and apply; what
//! Palette decides per node lives in the top-level `nodes`.
//! Pack values are compared as YAML when read back, so Palette's own
//! reformatting never shows as drift.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    ApplyRequest, ApplyResult, Ctx, Diagnostic, Diagnostics, Imported, Model, PlanRequest,
    PlanResponse, ReadResult, Resource, Schema, Value,
};

mod apply;
mod delete;
pub mod model;
mod plan;
mod read;
#[cfg(test)]
mod tests;
mod zones;

pub(crate) use self::delete::deleting_for;
pub(crate) use self::read::{
    check_kind, find_by_name, get_cluster, search_page, state_of, Summary,
};

use self::model::{decode, yaml_as_json};
pub use self::model::{ClusterModel, Node};
use self::plan::check_config;
use crate::shared::Shared;

const CLUSTERS: &str = "/v1/spectroclusters";
const CLOUD_CONFIGS: &str = "/v1/cloudconfigs/vsphere";
/// The object kind of a cluster's events.
const KIND: &str = "spectrocluster";
/// Palette's label value for a tag given without a value.
const BARE_TAG: &str = "spectro__tag";

pub struct Cluster {
    pub shared: Arc<Shared>,
}

fn interrupted(uid: &str, doing: &str) -> Diagnostics {
    Diagnostic::error(
        "Interrupted",
        format!(
            "Terraform was interrupted while cluster {uid} {doing}. The cluster is in state; the next plan \
             shows where it stands and the next apply continues from there."
        ),
    )
    .into()
}

#[async_trait]
impl Resource for Cluster {
    fn type_name(&self) -> &'static str {
        schemas::cluster::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::cluster::schema()
    }

    /// Pack values come out as JSON, which Terraform writes as a readable
    /// `jsonencode({...})` expression rather than one escaped line of YAML.
    fn generate_config(&self, state: &Value) -> Value {
        let config = tfplugin::schema::config_from_state(&self.schema().block, state);
        let Ok(Some(mut m)) = decode(&config) else {
            return config;
        };
        for k in m.cluster_profile.iter_mut().flat_map(|p| &mut p.pack) {
            if let Some(json) = k.values.as_str().and_then(yaml_as_json) {
                k.values = json.into();
            }
        }
        m.to_value()
    }

    fn move_sources(&self) -> Vec<tfplugin::MoveSource> {
        vec![crate::official::CLUSTER]
    }

    async fn move_state(
        &self,
        req: &tfplugin::MoveRequest,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        crate::official::moved(req, &self.schema())
    }

    fn identity_schema(&self) -> Option<tfplugin::IdentitySchema> {
        Some(schemas::identity::cluster())
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        crate::identity::ScopedIdentity::import_id(identity, "cluster")
    }

    /// A configuration that does not fit the model (a block whose dynamic
    /// `for_each` is not known yet) is judged once it does.
    async fn validate(&self, config: &Value) -> Diagnostics {
        match decode(config) {
            Ok(Some(config)) => check_config(&config),
            _ => Diagnostics::new(),
        }
    }

    async fn modify_plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        self.modify_plan_cluster(req, resp).await
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        self.create_cluster(req, ctx).await
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        self.update_cluster(req, ctx).await
    }

    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        self.delete_cluster(req, ctx).await
    }

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        self.read_cluster(state, private, ctx).await
    }

    /// `UID`, `NAME`, or `tenant/NAME` / `project/NAME` (also with a uid).
    async fn import(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        self.import_cluster(id, ctx).await
    }
}
