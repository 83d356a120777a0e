//! `data "palette_private_cloud_gateway"`: a gateway looked up by name or uid.

use tfplugin::validate::NotBlank;
use tfplugin::{Attribute, Block, Schema};

pub const TYPE_NAME: &str = "palette_private_cloud_gateway";

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description("A private cloud gateway, looked up by `name` or by `id`, with its state and health.")
            .attr(
                Attribute::string("id")
                    .optional()
                    .computed()
                    .validator(NotBlank)
                    .description("Uid of the gateway. Set this or `name`."),
            )
            .attr(
                Attribute::string("name")
                    .optional()
                    .computed()
                    .validator(NotBlank)
                    .description("Name of the gateway. Set this or `id`."),
            )
            .attr(Attribute::string("state").computed().description("Lifecycle state, such as `Running`."))
            .attr(Attribute::string("health").computed().description("Health reported by the gateway, such as `Healthy`."))
            .attr(Attribute::bool("ready").computed().description("Whether the gateway is ready for use."))
            .attr(Attribute::bool("upgrade_available").computed().description(
                "Whether Palette has an upgrade for the gateway, to apply at a suitable time (with `action \"palette_gateway_upgrade\"`, Terraform 1.14+).",
            ))
            .attr(Attribute::string("address").computed().description("IP address of the gateway, when known."))
            .attr(Attribute::string("cloud_account_id").computed().description("Uid of the gateway's vSphere account, when set.")),
    )
}
