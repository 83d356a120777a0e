//! `palette_ip_pool`: a static IP pool of a private cloud gateway.

use tfplugin::validate::{IntBetween, NotBlank};
use tfplugin::{Attribute, Block, Schema, Type};

pub const TYPE_NAME: &str = "palette_ip_pool";

fn ip_attr(name: &str, what: &str) -> Attribute {
    Attribute::string(name)
        .optional()
        .description(what)
        .validator(crate::ip_address_validator())
}

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "A static IP pool of a private cloud gateway, from which Palette gives VMware cluster nodes \
                 their addresses. Define it as a range (`start` and `end`) or as a `subnet`. Changes apply in \
                 place; moving a pool to another gateway replaces it.",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("Uid of the pool."))
            .attr(
                Attribute::string("gateway_id")
                    .required()
                    .requires_replace()
                    .validator(NotBlank)
                    .description("Uid of the private cloud gateway the pool belongs to."),
            )
            .attr(Attribute::string("name").required().validator(NotBlank).description("Name of the pool, unique per gateway."))
            .attr(ip_attr("start", "First address of the range. Requires `end`; conflicts with `subnet`."))
            .attr(ip_attr("end", "Last address of the range. Requires `start`; conflicts with `subnet`."))
            .attr(
                Attribute::string("subnet")
                    .optional()
                    .description("The pool as a CIDR, such as `10.10.184.0/24`; its host addresses are used. Conflicts with `start` and `end`."),
            )
            .attr(
                Attribute::number("prefix")
                    .required()
                    .validator(IntBetween(1, 128))
                    .description("Prefix length of the network, such as `24`."),
            )
            .attr(ip_attr("gateway", "The network's gateway address; must be inside the network."))
            .attr(
                Attribute::new("nameservers", Type::list(Type::String))
                    .optional()
                    .validator(crate::nameservers_validator())
                    .description("DNS server addresses (IP addresses, not host names), such as `10.10.128.8`."),
            )
            .attr(Attribute::new("search_domains", Type::list(Type::String)).optional().description("DNS search domains."))
            .attr(
                Attribute::bool("restrict_to_single_cluster")
                    .default(false)
                    .description("Whether only one cluster at a time may take addresses from the pool."),
            )
            .attr(Attribute::new("allotted_ips", Type::list(Type::String)).computed().description("Addresses given to cluster nodes."))
            .attr(Attribute::new("associated_clusters", Type::list(Type::String)).computed().description("Uids of the clusters using the pool."))
            .attr(Attribute::bool("in_use").computed().description("Whether any address of the pool is in use.")),
    )
}

pub const DATA_TYPE_NAME: &str = "palette_ip_pool";

/// The data source: the resource's attributes, all read from Palette, with
/// the pool found by `gateway_id` and `name`.
pub fn data_schema() -> Schema {
    let mut block = schema().block;
    block.description =
        "An IP pool of a private cloud gateway, looked up by gateway and name.".into();
    for a in &mut block.attributes {
        let lookup = a.name == "gateway_id" || a.name == "name";
        a.plan_modifiers.clear();
        a.default = None;
        a.required = lookup;
        a.optional = false;
        a.computed = !lookup;
        if !lookup {
            a.validators.clear();
        }
    }
    Schema::new(block)
}

#[cfg(test)]
mod tests {
    use tfplugin::diag::AttrPath;
    use tfplugin::validate::validate_config;
    use tfplugin::Value;

    fn names(list: &[&str]) -> Value {
        Value::List(list.iter().map(|s| Value::from(*s)).collect())
    }

    #[test]
    fn nameservers_are_addresses_checked_one_by_one() {
        let block = &super::schema().block;
        let config = |ns: Value| Value::object([("name", Value::from("p")), ("nameservers", ns)]);
        assert!(!validate_config(block, &config(names(&["10.10.128.8", "fd00::53"]))).has_errors());
        let d = validate_config(block, &config(names(&["10.10.128.8", "dns.example"])));
        let errors: Vec<_> = d.iter().collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].attribute,
            Some(AttrPath::attr("nameservers").then_index(1))
        );
        assert!(
            errors[0]
                .detail
                .contains("\"dns.example\" is not an IP address"),
            "{errors:?}"
        );
        // The gateway's static pool takes the same check, at its own path.
        let gw = &crate::gateway::schema().block;
        let pool = Value::object([("nameservers", names(&["ns1.example"]))]);
        let d = validate_config(
            gw,
            &Value::object([("static_ip_pool", Value::List(vec![pool]))]),
        );
        let paths: Vec<_> = d.iter().filter_map(|x| x.attribute.clone()).collect();
        assert!(
            paths.contains(
                &AttrPath::attr("static_ip_pool")
                    .then_index(0)
                    .then_attr("nameservers")
                    .then_index(0)
            ),
            "{paths:?}"
        );
    }
}
