//! The `config` blocks of the list resources (`terraform query`, Terraform
//! 1.14+): the filters a user reaches for when adopting what already runs.

use tfplugin::validate::{one_of, NotBlank};
use tfplugin::{Attribute, Block, Schema, Type};

fn context() -> Attribute {
    Attribute::string("context")
        .optional()
        .validator(one_of(["project", "tenant"]))
        .description(
            "`project` or `tenant`; left out, both (the project only when the provider names one).",
        )
}

/// `list "palette_private_cloud_gateway"`.
pub fn gateway() -> Schema {
    Schema::new(
        Block::new()
            .description("vSphere private cloud gateways of the tenant.")
            .attr(Attribute::string("name").optional().validator(NotBlank).description(
                "Only gateways whose name matches: exactly, or a pattern where `*` stands for any text (`pcg-*`).",
            ))
            .attr(Attribute::string("state").optional().validator(NotBlank).description(
                "Only gateways in this state, such as `Running`.",
            )),
    )
}

/// `list "palette_ip_pool"`.
pub fn ip_pool() -> Schema {
    Schema::new(
        Block::new()
            .description("IP pools of vSphere gateways.")
            .attr(Attribute::string("gateway_id").optional().validator(NotBlank).description(
                "Only the pools of this gateway (its uid or its name); left out, of every vSphere gateway.",
            )),
    )
}

/// `list "palette_cloud_account_vsphere"`.
pub fn cloud_account() -> Schema {
    Schema::new(
        Block::new()
            .description("vSphere cloud accounts.")
            .attr(
                Attribute::string("gateway_id")
                    .optional()
                    .validator(NotBlank)
                    .description("Only the accounts on this gateway (its uid or its name)."),
            )
            .attr(context()),
    )
}

/// `list "palette_cluster_vsphere"`.
pub fn cluster() -> Schema {
    Schema::new(
        Block::new()
            .description("VMware clusters.")
            .attr(
                Attribute::new("tags", Type::list(Type::String))
                    .optional()
                    .description("Only clusters carrying every one of these tags (`env:prod`)."),
            )
            .attr(
                Attribute::string("cloud_account_id")
                    .optional()
                    .validator(NotBlank)
                    .description("Only clusters on this vSphere cloud account (its uid)."),
            )
            .attr(
                Attribute::string("gateway_id")
                    .optional()
                    .validator(NotBlank)
                    .description(
                        "Only clusters built through this private cloud gateway (its uid or its name), that is \
                         on one of its vSphere cloud accounts.",
                    ),
            )
            .attr(
                Attribute::string("state")
                    .optional()
                    .validator(NotBlank)
                    .description("Only clusters in this state, such as `Running`."),
            )
            .attr(context()),
    )
}

/// Whether `name` matches `pattern`, where `*` stands for any text.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, rest) = (parts[0], &parts[1..]);
    let Some(mut left) = name.strip_prefix(first) else {
        return false;
    };
    let last = rest[rest.len() - 1];
    for middle in &rest[..rest.len() - 1] {
        match left.find(middle) {
            Some(at) => left = &left[at + middle.len()..],
            None => return false,
        }
    }
    left.len() >= last.len() && left.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn patterns_match_as_a_user_expects() {
        assert!(name_matches("pcg-dc1", "pcg-dc1"));
        assert!(!name_matches("pcg-dc1", "pcg-dc10"));
        assert!(name_matches("pcg-*", "pcg-dc1"));
        assert!(name_matches("*-dc1", "pcg-dc1"));
        assert!(name_matches("pcg-*-a", "pcg-dc1-a"));
        assert!(!name_matches("pcg-*-a", "pcg-dc1-b"));
        assert!(name_matches("*", ""));
        assert!(!name_matches("a*a", "a"));
    }
}
