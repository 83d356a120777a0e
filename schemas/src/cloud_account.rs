//! `palette_cloud_account_vsphere`: a vSphere cloud account on a gateway.

use tfplugin::validate::{one_of, NotBlank};
use tfplugin::{Attribute, Block, Schema};

pub const TYPE_NAME: &str = "palette_cloud_account_vsphere";
pub const DATA_TYPE_NAME: &str = "palette_cloud_account_vsphere";

fn context_attr() -> Attribute {
    Attribute::string("context")
        .default("project")
        .validator(one_of(["project", "tenant"]))
        .requires_replace()
        .description(
            "Where the account lives: `project` (the provider's project; the default) or `tenant` \
             (shared with every project of the tenant).",
        )
}

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "A vSphere cloud account: the vCenter credentials Palette uses, through a private cloud \
                 gateway, to deploy clusters. Palette checks the credentials against vCenter on create and \
                 update, so a wrong password fails the apply with vCenter's answer. The password is never \
                 read back from Palette: changing it in vCenter alone shows no drift; change it here.",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("Uid of the account."))
            .attr(Attribute::string("name").required().validator(NotBlank).description("Name of the account, unique in its context."))
            .attr(
                Attribute::string("gateway_id")
                    .required()
                    .requires_replace()
                    .validator(NotBlank)
                    .description("Uid of the private cloud gateway that reaches the vCenter."),
            )
            .attr(context_attr())
            .attr(
                Attribute::string("vcenter_server")
                    .required()
                    .validator(crate::vcenter_server_validator())
                    .description(
                        "vCenter address: a host name, `host:port`, or an https URL. Palette stores the bare host \
                         (`https://vc.example.com/sdk` is sent as `vc.example.com`); your spelling is kept in \
                         state, so Palette's shorter form never shows as drift.",
                    ),
            )
            .attr(Attribute::string("username").required().validator(NotBlank).description("vCenter user, such as `svc-palette@vsphere.local`."))
            .attr(
                Attribute::string("password")
                    .required()
                    .sensitive()
                    .validator(NotBlank)
                    .description("vCenter password. Sensitive; sent to Palette, never read back."),
            )
            .attr(
                Attribute::bool("insecure")
                    .default(false)
                    .description("Skip the check of vCenter's TLS certificate (self-signed vCenters)."),
            ),
    )
}

/// The data source: an account found by `name` or `id`, without its password.
pub fn data_schema() -> Schema {
    let mut block = schema().block;
    block.description = "A vSphere cloud account, looked up by `name` or `id` in a context. \
                         Its password is never returned."
        .into();
    block.attributes.retain(|a| a.name != "password");
    for a in &mut block.attributes {
        a.plan_modifiers.clear();
        match a.name.as_str() {
            "id" | "name" => {
                a.required = false;
                a.optional = true;
                a.computed = true;
                a.default = None;
                a.description = format!("{} Set `name` or `id`.", a.description);
            }
            "context" => {}
            _ => {
                a.required = false;
                a.optional = false;
                a.computed = true;
                a.default = None;
                a.validators.clear();
            }
        }
    }
    Schema::new(block)
}
