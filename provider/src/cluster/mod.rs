//! `palette_cluster_vsphere`: schema use, plan-time checks, the create /
//! update / delete procedures with their waits, read with drift, import.
//!
//! Machine pools are a set keyed by name (reordering never diffs) and carry
//! no computed attributes, so set elements keep their identity between plan
//! and apply; what Palette decides per node lives in the top-level `nodes`.
//! Pack values are compared as YAML when read back, so Palette's own
//! reformatting never shows as drift.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use palette_api::client::{Client, Error as ApiError};
use palette_api::models::{
    V1ClusterProfile, V1ControlPlaneEndPoint, V1MachinePoolConfigEntity, V1ObjectMeta,
    V1ObjectMetaInputEntity, V1ObjectMetaInputEntitySchema, V1PackValuesEntity,
    V1SearchFilterCondition, V1SearchFilterGroup, V1SearchFilterItem, V1SearchFilterSpec,
    V1SearchFilterStringCondition, V1SearchFilterStringConditionMatch, V1SearchFilterSummarySpec,
    V1SpectroCluster, V1SpectroClusterProfileEntity, V1SpectroClusterProfiles,
    V1SpectroClusterVariable, V1SpectroClustersSummary, V1SpectroVsphereClusterEntity,
    V1SpectroVsphereClusterEntitySpec, V1Taint, V1Uid, V1UpdateStrategy, V1VsphereAccount,
    V1VsphereCloudClusterConfigEntity, V1VsphereCloudConfig, V1VsphereClusterConfigEntity,
    V1VsphereComputeClusterResources, V1VsphereDatacenters, V1VsphereInstanceType,
    V1VsphereMachine, V1VsphereMachinePoolCloudConfigEntity, V1VsphereMachinePoolConfig,
    V1VsphereMachinePoolConfigEntity, V1VsphereMachines, V1VsphereNetworkConfigEntity,
    V1VspherePlacementConfigEntity,
};
use tfplugin::{
    ApplyRequest, ApplyResult, AttrPath, Ctx, Diagnostic, Diagnostics, Imported, PlanRequest,
    PlanResponse, ReadResult, Resource, Schema, Value,
};

mod apply;
mod delete;
mod model;
mod plan;
mod read;
#[cfg(test)]
mod tests;

pub(crate) use self::read::{find_by_name, get_cluster, search_page, Summary};
#[allow(unused_imports)]
use self::{apply::*, delete::*, model::*, plan::*, read::*};

use crate::placement;
use crate::shared::{api_diag, events, first, strings, url_escape, wrong_kind, Poll, Shared};

const CLUSTERS: &str = "/v1/spectroclusters";
const CLOUD_CONFIGS: &str = "/v1/cloudconfigs/vsphere";
/// The object kind of a cluster's events.
const KIND: &str = "spectrocluster";
/// Palette's label value for a tag given without a value.
const BARE_TAG: &str = "spectro__tag";

pub struct Cluster {
    pub shared: Arc<Shared>,
}

// ---------------------------------------------------------------------------
// Palette calls

/// Unset (state written before the attribute existed) means stored.
fn stores_kubeconfig(v: &Value) -> bool {
    v.get("store_kubeconfig").as_bool() != Some(false)
}

fn context(v: &Value) -> String {
    v.get("context").as_str().unwrap_or("project").to_string()
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
        let mut config = tfplugin::schema::config_from_state(&self.schema().block, state);
        let profiles: Vec<Value> = elements(config.get("cluster_profile"))
            .iter()
            .map(|p| {
                let mut p = p.clone();
                let packs: Vec<Value> = elements(p.get("pack"))
                    .iter()
                    .map(|k| {
                        let mut k = k.clone();
                        if let Some(json) = k.get("values").as_str().and_then(yaml_as_json) {
                            k.set_attr("values", Value::String(json));
                        }
                        k
                    })
                    .collect();
                if !p.get("pack").is_null() {
                    p.set_attr("pack", Value::Set(packs));
                }
                p
            })
            .collect();
        if !config.get("cluster_profile").is_null() {
            config.set_attr("cluster_profile", Value::List(profiles));
        }
        config
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

    async fn validate(&self, config: &Value) -> Diagnostics {
        check_config(config)
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
