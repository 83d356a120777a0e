//! `palette_cloud_account_vsphere`: a vSphere cloud account on a gateway.

use tfplugin::validate::{check, one_of, NotBlank};
use tfplugin::{Attribute, Block, Schema, Value};

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
    Schema::new(password_attrs(
        Block::new()
            .description(
                "A vSphere cloud account: the vCenter credentials Palette uses, through a private cloud \
                 gateway, to deploy clusters. Palette checks the credentials against vCenter on create and \
                 update, so a wrong password fails the apply with vCenter's answer. The password is never \
                 read back from Palette: changing it in vCenter alone shows no drift; change it here (with \
                 `password_wo`, bump `password_wo_version` too). The password is given as `password` (any \
                 Terraform; kept in state, marked sensitive) or as `password_wo` (Terraform 1.11 or later; \
                 never stored in plan or state).",
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
                Attribute::bool("insecure")
                    .default(false)
                    .description("Skip the check of vCenter's TLS certificate (self-signed vCenters)."),
            ),
        PasswordUse::Account,
    ))
}

/// Which resource the vCenter password attributes describe: the operations
/// that need the password differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordUse {
    /// `palette_cloud_account_vsphere`: only create and update send it.
    Account,
    /// The gateway's `vcenter` block: refresh and destroy log in too.
    Gateway,
}

/// The two ways to give the vCenter password, `password` (any Terraform,
/// kept in state) and `password_wo` with `password_wo_version` (Terraform
/// 1.11+, never stored), on the account and in the gateway's `vcenter`
/// block alike. Which one is set is checked at plan time by the provider
/// (at most one, the version only with `password_wo`; the gateway needs
/// one always, the account whenever the plan sends it).
pub fn password_attrs(block: Block, used: PasswordUse) -> Block {
    let later = match used {
        PasswordUse::Account => {
            " An imported account (Palette never returns its password) plans clean with neither set; \
             any change to it then needs one, since Palette takes a change only with the password."
        }
        PasswordUse::Gateway => {
            " Refresh (which reads the gateway's VMs) and destroy (which deletes them) run without \
             the configuration, so they log in with the provider's `vcenter` block, which must name the \
             same server: without one the plan says so, refreshes cannot see the VMs, and destroy is \
             refused."
        }
    };
    block
        .attr(
            Attribute::string("password")
                .optional()
                .sensitive()
                .validator(NotBlank)
                .description(format!(
                    "vCenter password, for every Terraform version. Sent to Palette, never read back; kept in \
                     Terraform state, marked sensitive. Set this or `password_wo`.{}",
                    if used == PasswordUse::Account { later } else { "" }
                )),
        )
        .attr(
            Attribute::string("password_wo")
                .optional()
                .write_only()
                .validator(NotBlank)
                .description(format!(
                    "vCenter password, write-only: needs Terraform 1.11 or later (older versions refuse it and \
                     name `password`). Never stored in plan or state, so it may come from an ephemeral \
                     variable. Sent to Palette (and used to log in to vCenter) on create and whenever \
                     `password_wo_version` changes. A change of `password_wo` alone is invisible to Terraform \
                     by design: change `password_wo_version` with it to send the new password. Set this or \
                     `password`.{later}"
                )),
        )
        .attr(
            Attribute::number("password_wo_version")
                .optional()
                .validator(whole_number())
                .description(
                    "Any whole number, only with `password_wo`. Changing it is an in-place update that sends \
                     `password_wo` to Palette again: bump it to rotate the password. After an import it is null \
                     in state (Palette never returns the password), so the first plan shows it set, and that \
                     update sends the password once, since nothing can tell whether Palette holds the current \
                     one; later plans are empty until the version changes.",
                ),
        )
}

fn whole_number() -> impl tfplugin::schema::Validator {
    check("must be a whole number", |v: &Value| match v.as_number() {
        Some(n) if n.is_integer() => Ok(()),
        Some(n) => Err(format!(
            "{} is not a whole number; write for example 1, and add one for each new password.",
            n.as_str()
        )),
        None => Ok(()),
    })
}

/// The data source: an account found by `name` or `id`, without its password.
pub fn data_schema() -> Schema {
    let mut block = schema().block;
    block.description = "A vSphere cloud account, looked up by `name` or `id` in a context. \
                         Its password is never returned."
        .into();
    // Write-only attributes exist only on managed resources, and a data
    // source never has a password to show.
    block.attributes.retain(|a| !a.name.starts_with("password"));
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
