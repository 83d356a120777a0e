//! Actions (Terraform 1.14+): the console's buttons, invoked with
//! `terraform apply -invoke=action.TYPE.NAME` or from an `action_trigger`.

use tfplugin::validate::{check, one_of, NotBlank};
use tfplugin::{Attribute, Block, Schema, Value};

fn timeout(what: &str) -> Attribute {
    Attribute::string("timeout")
        .optional()
        .validator(check("must be a duration such as `10m`", |v: &Value| {
            tfplugin::duration::parse(v.as_str().unwrap_or_default()).map(|_| ())
        }))
        .description(format!(
            "How long to wait for {what}, such as `10m` (the default)."
        ))
}

pub const GATEWAY_RESET: &str = "palette_gateway_reset";
pub const GATEWAY_UPGRADE: &str = "palette_gateway_upgrade";
pub const CLUSTER_FORCE_DELETE: &str = "palette_cluster_force_delete";

/// Palette's own rule: a cluster may be force-deleted once it has been
/// deleting this long.
pub const FORCE_DELETE_AFTER_MINUTES: u64 = 15;

pub fn gateway_reset() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The gateway widget's Reset button: a private cloud gateway stuck in provisioning (or failed) goes \
                 back to Pending, its nodes removed, so it can be configured and provisioned again. A Running \
                 gateway is refused (a reset would remove the nodes its clusters depend on). Ends when Palette \
                 reports the gateway Pending.",
            )
            .attr(
                Attribute::string("gateway_id")
                    .required()
                    .validator(NotBlank)
                    .description("Uid of the gateway, such as `palette_private_cloud_gateway.dc1.id`."),
            )
            .attr(timeout("Pending")),
    )
}

pub fn gateway_upgrade() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The gateway's Update button: applies the upgrade Palette released for a private cloud gateway \
                 (its OS image and components), which `upgrade_available` on the gateway announces. The upgrade \
                 reaches the gateway as a notification of its cluster; the action acknowledges it, applies it, \
                 waits until the gateway cluster reports it applied, then marks it done. The gateway's clusters \
                 keep running throughout; new cluster requests queue until it completes (a cluster create waits \
                 for it). A gateway with no upgrade is left alone, with a warning at plan time; one that is not \
                 Running is refused. An upgrade already running is waited for.",
            )
            .attr(
                Attribute::string("gateway_id")
                    .required()
                    .validator(NotBlank)
                    .description("Uid of the gateway, such as `palette_private_cloud_gateway.dc1.id`."),
            )
            .attr(
                Attribute::string("timeout")
                    .optional()
                    .validator(check("must be a duration such as `30m`", |v: &Value| {
                        tfplugin::duration::parse(v.as_str().unwrap_or_default()).map(|_| ())
                    }))
                    .description("How long to wait for the upgrade to complete, such as `30m` (the default)."),
            ),
    )
}

pub fn cluster_force_delete() -> Schema {
    Schema::new(
        Block::new()
            .description(format!(
                "The Settings menu's Force Delete Cluster button: a cluster stuck in deletion is removed from \
                 Palette without waiting for its cleanup. Palette allows it only {FORCE_DELETE_AFTER_MINUTES} \
                 minutes after the deletion started; before that the action refuses, at plan time where it can, \
                 and says how long is left. Ends when the cluster is gone; what Palette had not cleaned up (node \
                 VMs, IP allocations) is yours to remove."
            ))
            .attr(
                Attribute::string("cluster_id")
                    .required()
                    .validator(NotBlank)
                    .description("Uid of the cluster."),
            )
            .attr(
                Attribute::string("context")
                    .optional()
                    .validator(one_of(["project", "tenant"]))
                    .description("`project` (the default: the provider's project) or `tenant`."),
            )
            .attr(timeout("the cluster to be gone")),
    )
}
