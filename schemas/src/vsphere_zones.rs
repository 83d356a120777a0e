//! `palette_vsphere_zones`: the reference document's zone tagging, a
//! datacenter's `k8s-region` tag and each compute cluster's `k8s-zone` tag.

use tfplugin::validate::NotBlank;
use tfplugin::{Attribute, Block, NestedBlock, Nesting, Schema, Type, Value};

pub const TYPE_NAME: &str = "palette_vsphere_zones";

/// The tag categories the reference document names; Palette and the
/// vSphere CSI driver look for these names.
pub const REGION_CATEGORY: &str = "k8s-region";
pub const ZONE_CATEGORY: &str = "k8s-zone";

/// vCenter refuses longer tag names.
pub const MAX_TAG_NAME: usize = 256;

fn tag_value() -> impl tfplugin::schema::Validator {
    tfplugin::validate::check(
        format!("must be a tag name of 1 to {MAX_TAG_NAME} characters, such as `az1`"),
        |v: &Value| match v.as_str() {
            Some(s) => check_tag_value(s),
            None => Ok(()),
        },
    )
}

/// One tag value (`region` or a zone): what vCenter takes as a tag name.
pub fn check_tag_value(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("a tag value cannot be blank; write for example \"az1\"".into());
    }
    if s.trim() != s {
        return Err(format!(
            "{s:?} starts or ends with spaces, which vCenter keeps in the tag's name; write {:?}",
            s.trim()
        ));
    }
    if s.chars().count() > MAX_TAG_NAME {
        return Err(format!(
            "the value has {} characters; vCenter takes tag names of at most {MAX_TAG_NAME}",
            s.chars().count()
        ));
    }
    Ok(())
}

fn vcenter_block() -> Block {
    let b = Block::new()
        .description(
            "The vCenter to tag in. Defaults to the provider's `vcenter` block. The password is only used to \
             log in; nothing is sent to Palette.",
        )
        .attr(crate::vcenter::server())
        .attr(
            Attribute::string("username")
                .required()
                .validator(NotBlank)
                .description("vCenter user, such as `svc-palette@vsphere.local`; it needs the document's \"vSphere Tagging\" privileges."),
        )
        .attr(Attribute::string("password").optional().sensitive().validator(NotBlank).description(
            "vCenter password, for every Terraform version; kept in state, marked sensitive. Set this or \
             `password_wo`.",
        ))
        .attr(Attribute::string("password_wo").optional().write_only().validator(NotBlank).description(
            "vCenter password, write-only (Terraform 1.11 or later): never stored in plan or state. Refresh and \
             destroy run without the configuration, so they log in with the provider's `vcenter` block, which \
             must then name the same server. Set this or `password`.",
        ));
    crate::vcenter::tls(b, true, "at each login")
}

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(format!(
                "Zone tagging of a datacenter, as the reference document asks before Palette is installed: the \
                 datacenter carries a `{REGION_CATEGORY}` tag and each compute cluster a `{ZONE_CATEGORY}` tag, \
                 all values unique. The categories and tags are created when missing (one tag per object, \
                 associable with datacenters and compute clusters respectively). A tag removed or changed in \
                 vCenter shows in the next plan. Destroy detaches the tags this resource attached and deletes \
                 only the tags and categories it created, and only when nothing else carries them."
            ))
            .attr(
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("The datacenter, as `datacenter` names it; also the import id."),
            )
            .attr(
                Attribute::string("datacenter")
                    .required()
                    .requires_replace()
                    .validator(NotBlank)
                    .description("Datacenter name or inventory path, such as `dc-1`."),
            )
            .attr(
                Attribute::string("region")
                    .required()
                    .validator(tag_value())
                    .description(format!("The datacenter's `{REGION_CATEGORY}` tag, such as `region1`.")),
            )
            .attr(
                Attribute::new("zones", Type::map(Type::String))
                    .required()
                    .description(format!(
                        "Each compute cluster's `{ZONE_CATEGORY}` tag: the cluster's name (or path below the \
                         datacenter's host folder) to its zone, such as `{{ \"cluster-1\" = \"az1\" }}`. Zones must \
                         be unique: two clusters in one zone would be one fault domain to Kubernetes. Removing a \
                         cluster from the map detaches the tag this resource attached to it."
                    )),
            )
            .block(NestedBlock::new("vcenter", Nesting::List, vcenter_block()).max_items(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_values_are_what_vcenter_takes() {
        assert!(check_tag_value("az1").is_ok());
        assert!(check_tag_value(" az1").unwrap_err().contains("\"az1\""));
        assert!(check_tag_value("").is_err());
        assert!(check_tag_value(&"a".repeat(MAX_TAG_NAME)).is_ok());
        assert!(check_tag_value(&"a".repeat(MAX_TAG_NAME + 1))
            .unwrap_err()
            .contains("257"));
    }
}
