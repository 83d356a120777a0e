//! `data "palette_vsphere_preflight"`: the reference document's vSphere
//! prerequisites, each checked against vCenter and reported pass or fail.

use tfplugin::validate::NotBlank;
use tfplugin::{Attribute, Block, NestedBlock, Nesting, Schema, Type};

pub const TYPE_NAME: &str = "palette_vsphere_preflight";

/// The check names, in the order they are reported.
pub const CHECKS: [&str; 6] = [
    "version",
    "privileges",
    "ntp",
    "shared_datastore",
    "resource_pool",
    "zone_tags",
];

fn vcenter_block() -> Block {
    let b = Block::new()
        .description(
            "The vCenter to check, logged in to as the account Palette will use. Defaults to the provider's \
             `vcenter` block (recommended: a data source keeps its arguments, this password included, in \
             state).",
        )
        .attr(crate::vcenter::server())
        .attr(
            Attribute::string("username")
                .required()
                .validator(NotBlank)
                .description("The vCenter user Palette will use, such as `svc-palette@vsphere.local`: its privileges are checked."),
        )
        .attr(Attribute::string("password").required().sensitive().validator(NotBlank).description(
            "vCenter password. Marked sensitive, but kept in state as every data source argument is.",
        ));
    crate::vcenter::tls(b, false, "at each login")
}

fn check_block() -> Type {
    Type::object([
        ("name", Type::String),
        ("passed", Type::Bool),
        ("detail", Type::String),
    ])
}

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "The reference document's vSphere prerequisites, checked before anything is installed: vSphere \
                 6.7U3 or later; the account's privileges (the document's root-level role on the root folder, \
                 its Spectro role on the datacenter, each compute cluster, the datastore and, when given, the \
                 network and the VM folder), as vCenter answers \
                 for that user; NTP configured and running on every host of each compute cluster; the datastore \
                 mounted by every host of each compute cluster; the resource pool in each compute cluster; \
                 `k8s-region` and unique `k8s-zone` tags. A failed check is no error: `ready` is false and \
                 `problems` names each failure, for a `check` block or a precondition.",
            )
            .attr(Attribute::string("id").computed().description("The datacenter checked."))
            .attr(
                Attribute::string("datacenter")
                    .required()
                    .validator(NotBlank)
                    .description("Datacenter name or inventory path, such as `dc-1`."),
            )
            .attr(
                Attribute::new("compute_clusters", Type::list(Type::String))
                    .required()
                    .description("Compute clusters Palette will use, such as `[\"cluster-1\", \"cluster-2\"]`."),
            )
            .attr(
                Attribute::string("datastore")
                    .required()
                    .validator(NotBlank)
                    .description("The datastore Palette will use, such as `vsanDatastore`; every host must mount it."),
            )
            .attr(Attribute::string("resource_pool").optional().validator(NotBlank).description(
                "Resource pool path below each compute cluster's root pool, such as `palette`, that the clusters \
                 will be provisioned into. Left out, the check passes and says it was not asked.",
            ))
            .attr(Attribute::string("network").optional().validator(NotBlank).description(
                "The network (port group) the nodes will use, such as `VM Network`: it must exist, and the \
                 Spectro role's privileges are checked on it too.",
            ))
            .attr(Attribute::string("folder").optional().validator(NotBlank).description(
                "The VM folder the clusters' VMs will go to, such as `palette/clusters` (a cluster's \
                 `cloud_config.folder`): the Spectro role's privileges are checked on it, or, when it does not \
                 exist yet (Palette creates it), on the nearest folder above it.",
            ))
            .attr(Attribute::bool("ready").computed().description("Whether every check passed."))
            .attr(
                Attribute::new("problems", Type::list(Type::String))
                    .computed()
                    .description("One line per failure: the check's name and what is wrong where. Empty when `ready`."),
            )
            .attr(
                Attribute::new("checks", Type::list(check_block()))
                    .computed()
                    .description(format!(
                        "Every check in order ({}), each with `name`, `passed` and `detail` (why it passed or \
                         failed).",
                        CHECKS.map(|c| format!("`{c}`")).join(", ")
                    )),
            )
            .block(NestedBlock::new("vcenter", Nesting::List, vcenter_block()).max_items(1)),
    )
}
