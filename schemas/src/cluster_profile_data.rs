//! `data "palette_cluster_profile"`: a cluster profile by name and version.

use tfplugin::validate::{one_of, NotBlank};
use tfplugin::{Attribute, Block, Schema, Type};

pub const TYPE_NAME: &str = "palette_cluster_profile";

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "A cluster profile looked up by name and, optionally, version (the latest version when \
                 omitted), with its packs and their default values, ready for a cluster's `cluster_profile`.",
            )
            .attr(Attribute::string("name").required().validator(NotBlank).description("Name of the profile."))
            .attr(
                Attribute::string("version")
                    .optional()
                    .computed()
                    .validator(NotBlank)
                    .description("Version such as `1.0.0`; the highest version when not set."),
            )
            .attr(
                Attribute::string("context")
                    .optional()
                    .validator(one_of(["project", "tenant"]))
                    .description("Look only in the provider's `project` or only at `tenant` profiles; both when not set."),
            )
            .attr(Attribute::string("id").computed().description("Uid of this version of the profile."))
            .attr(Attribute::string("cloud_type").computed().description("Cloud the profile is for, such as `vsphere`."))
            .attr(Attribute::string("type").computed().description("Profile type, such as `cluster` or `infra`."))
            .attr(Attribute::new("versions", Type::list(Type::String)).computed().description("Every version of the profile, lowest first."))
            .attr(
                // A plain list of objects rather than nested attributes: Terraform 1.0 handles
                // these everywhere, and every field is computed anyway.
                Attribute::new(
                    "packs",
                    Type::list(Type::object([
                        ("name".to_string(), Type::String),
                        ("tag".to_string(), Type::String),
                        ("layer".to_string(), Type::String),
                        ("uid".to_string(), Type::String),
                        ("values".to_string(), Type::String),
                    ])),
                )
                .computed()
                .description(
                    "The profile's packs in layer order, each with `name`, `tag` (version), `layer` \
                     (`os`, `k8s`, `cni`, `csi` or `addon`), `uid` and `values` (YAML).",
                ),
            ),
    )
}
