//! `palette_private_cloud_gateway`: the whole documented install procedure.

use std::time::Duration;

use tfplugin::validate::{check, one_of, IntOneOf, NotBlank};
use tfplugin::{Attribute, Block, NestedBlock, Nesting, Schema, Type, Value};

pub const TYPE_NAME: &str = "palette_private_cloud_gateway";

/// The document's figures: registration within 10 minutes, provisioning
/// 8-10 minutes, so 40 minutes covers both with room; deletion is quicker.
pub const DEFAULT_CREATE: Duration = Duration::from_secs(40 * 60);
pub const DEFAULT_UPDATE: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_DELETE: Duration = Duration::from_secs(20 * 60);
pub const DEFAULT_REGISTRATION_TIMEOUT: &str = "10m";
pub const DEFAULT_POD_CIDR: &str = "192.168.0.0/16";
pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";

fn cidr_check(example: &'static str) -> impl tfplugin::schema::Validator {
    check(
        "must be a CIDR such as `192.168.0.0/16`",
        move |v: &Value| match v.as_str() {
            Some(s) => s
                .trim()
                .parse::<ipnet::IpNet>()
                .map(|_| ())
                .map_err(|_| format!("{s:?} is not a CIDR; write for example \"{example}\"")),
            None => Ok(()),
        },
    )
}

fn name_attr(name: &str, what: &str) -> Attribute {
    Attribute::string(name)
        .required()
        .validator(NotBlank)
        .description(what)
}

fn inventory_attrs(b: Block, replace: bool) -> Block {
    let mk = |a: Attribute| if replace { a.requires_replace() } else { a };
    b.attr(mk(name_attr("datacenter", "Datacenter name, such as `DC0`.")))
        .attr(mk(name_attr("compute_cluster", "Compute cluster name, such as `DC0_C0`.")))
        .attr(mk(name_attr("datastore", "Datastore name, such as `LocalDS_0`.")))
        .attr(mk(name_attr("network", "Network (port group) name, such as `VM Network`.")))
        .attr(mk(Attribute::string("resource_pool").optional().description(
            "Resource pool path below the cluster; the cluster's root pool when not set.",
        )))
        .attr(mk(Attribute::string("folder").optional().description(
            "VM folder path below the datacenter's VM folder, such as `palette/gateways`; created when missing.",
        )))
}

fn proxy_block() -> Block {
    Block::new()
        .description("Proxy the installer and the gateway use to reach Palette. Set all three or leave the block out.")
        .attr(Attribute::string("http_proxy").required().validator(NotBlank).validator(tfplugin::validate::no_userinfo("http://proxy.example.com:3128")).description("HTTP proxy URL, such as `http://proxy.example.com:3128`."))
        .attr(Attribute::string("https_proxy").required().validator(NotBlank).validator(tfplugin::validate::no_userinfo("http://proxy.example.com:3128")).description("HTTPS proxy URL."))
        .attr(
            Attribute::new("no_proxy", Type::list(Type::String))
                .required()
                .description("Hosts, domains and CIDRs reached without the proxy; include vCenter."),
        )
}

fn installer_block() -> Block {
    inventory_attrs(
        Block::new().description(
            "Where the installer VM is deployed from Palette's installer OVA, and its OVF properties. \
             The installer is used once, at creation: changing anything here replaces the gateway.",
        ),
        true,
    )
    .attr(
        Attribute::string("console_endpoint")
            .optional()
            .computed()
            .use_state_for_unknown()
            .requires_replace()
            .validator(check(
                "must be an https URL without a trailing slash",
                |v: &Value| match v.as_str() {
                    Some(s) if s.ends_with('/') => Err(format!(
                        "{s:?} ends with a slash: the installer then never registers (the reference \
                         document's troubleshooting warns of this). Write it without the slash, for example \
                         \"{}\".",
                        s.trim_end_matches('/')
                    )),
                    Some(s) => crate::provider::check_endpoint(s),
                    None => Ok(()),
                },
            ))
            .description(
                "URL of the Palette console the installer registers with, without a trailing slash. \
                 Defaults to the console of the provider's endpoint (`https://console.spectrocloud.com` for \
                 the SaaS API, the endpoint itself otherwise).",
            ),
    )
    .attr(
        Attribute::string("ssh_public_key")
            .optional()
            .requires_replace()
            .description("SSH public key for the installer VM, to read /var/log/cloud-init-output.log if registration stalls."),
    )
    .attr(
        Attribute::string("pod_cidr")
            .default(DEFAULT_POD_CIDR)
            .requires_replace()
            .validator(cidr_check(DEFAULT_POD_CIDR))
            .description("Pod network of the gateway cluster; must overlap neither `service_cidr` nor the node network."),
    )
    .attr(
        Attribute::string("service_cidr")
            .default(DEFAULT_SERVICE_CIDR)
            .requires_replace()
            .validator(cidr_check(DEFAULT_SERVICE_CIDR))
            .description("Service cluster IP range of the gateway cluster; must overlap neither `pod_cidr` nor the node network."),
    )
    .block(
        NestedBlock::new("proxy", Nesting::List, proxy_block())
            .max_items(1)
            .requires_replace(),
    )
}

fn vcenter_block() -> Block {
    let b = Block::new()
        .description(
            "The vCenter the installer is deployed to and the gateway works in; it also becomes the gateway's \
             vSphere account. Defaults to the provider's `vcenter` block.",
        )
        .attr(crate::vcenter::server())
        .attr(name_attr("username", "vCenter user, such as `svc-palette@vsphere.local`."));
    let b = crate::cloud_account::password_attrs(b, crate::cloud_account::PasswordUse::Gateway);
    crate::vcenter::tls(b, true, "when the provider talks to vCenter")
}

fn pool_block() -> Block {
    let ip = |name: &str, what: &str| {
        Attribute::string(name)
            .optional()
            .requires_replace()
            .description(what)
    };
    Block::new()
        .description(
            "Static IPs for the gateway's own nodes, as an IP pool created on the gateway. Leave the block \
             out for DHCP. Changing it replaces the gateway.",
        )
        .attr(name_attr("name", "Name of the pool.").requires_replace())
        .attr(ip("start", "First address; with `end`, instead of `subnet`."))
        .attr(ip("end", "Last address."))
        .attr(ip("subnet", "The pool as a CIDR, instead of `start`/`end`."))
        .attr(
            Attribute::number("prefix")
                .required()
                .requires_replace()
                .description("Prefix length of the node network, such as `24`."),
        )
        .attr(ip("gateway", "The node network's gateway address."))
        .attr(
            Attribute::new("nameservers", Type::list(Type::String))
                .optional()
                .requires_replace()
                .validator(crate::nameservers_validator())
                .description("DNS server addresses (IP addresses, not host names), such as `10.10.128.8`."),
        )
        .attr(
            Attribute::bool("restrict_to_single_cluster")
                .default(false)
                .requires_replace()
                .description("Only one cluster may use the pool."),
        )
}

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "A private cloud gateway, installed the way the reference document describes, on \
                 `terraform apply`: pairing code and installer OVA from Palette, the installer deployed into \
                 vCenter with its properties and powered on, registration awaited, the vSphere account and \
                 cloud config given, provisioning awaited, the installer powered off. Destroy deletes the \
                 gateway in Palette (refused while clusters use it), then its VMs and the installer VM.",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("Uid of the gateway."))
            .attr(name_attr("name", "Gateway name (the installer's Installer Name). Renaming applies in place."))
            .attr(
                Attribute::number("node_count")
                    .default(Value::int(1))
                    .validator(IntOneOf(vec![1, 3]))
                    .description(
                        "Gateway nodes: 1, or 3 for high availability. 1 -> 3 applies in place; Palette cannot \
                         shrink a gateway, so 3 -> 1 is refused at plan time (replace the gateway explicitly \
                         with `terraform apply -replace` if you mean it). A node VM deleted in vCenter shows as a \
                         lower count and is re-created by the next apply.",
                    ),
            )
            .attr(
                Attribute::new("ssh_keys", Type::list(Type::String))
                    .optional()
                    .description("SSH public keys for the gateway's nodes."),
            )
            .attr(
                Attribute::new("ntp_servers", Type::list(Type::String))
                    .optional()
                    .description("NTP servers for the gateway's nodes."),
            )
            .attr(
                Attribute::string("installer_vm_action")
                    .default("power_off")
                    .validator(one_of(["power_off", "delete"]))
                    .description(
                        "What happens to the installer VM once the gateway runs: `power_off` (the document's \
                         step, the default; it is deleted with the gateway) or `delete`.",
                    ),
            )
            .attr(
                Attribute::bool("reset_on_failure")
                    .default(false)
                    .description(
                        "When Palette reports the gateway `Failed` (provisioning failed, for instance on an \
                         intermittent infrastructure problem), reset it as the console's Reset button does: back \
                         to Pending, its nodes removed, then the cloud config given again and provisioning \
                         awaited. The registration and the installer are kept, so this is much faster than a \
                         replacement. A create whose provisioning fails is reset once before it gives up; a \
                         gateway found `Failed` later plans an update that resets it. Off: a `Failed` gateway \
                         is reported by a plan warning and left alone.",
                    ),
            )
            .attr(
                Attribute::string("registration_timeout")
                    .default(DEFAULT_REGISTRATION_TIMEOUT)
                    .validator(check("must be a duration such as `10m`", |v: &Value| {
                        tfplugin::duration::parse(v.as_str().unwrap_or_default()).map(|_| ())
                    }))
                    .description(
                        "How long to wait for the installer to register the gateway (the document: five to ten \
                         minutes). On time-out the error lists what to check.",
                    ),
            )
            .attr(Attribute::string("state").computed().description("Lifecycle state in Palette, such as `Running`."))
            .attr(Attribute::string("health").computed().description("Health, such as `Healthy`."))
            .attr(Attribute::bool("upgrade_available").computed().description(
                "Whether Palette has an upgrade for the gateway (its `status.notifications.isAvailable`): the document asks to review and apply it at a suitable time, knowing that new cluster requests queue while the gateway upgrades. A plan says so while it is true; `action \"palette_gateway_upgrade\"` applies it.",
            ))
            .attr(Attribute::string("ip_address").computed().description("IP address of the gateway."))
            .attr(Attribute::string("cloud_account_id").computed().use_state_for_unknown().description("Uid of the gateway's vSphere account."))
            .attr(Attribute::string("ip_pool_id").computed().description("Uid of the nodes' IP pool when `static_ip_pool` is set."))
            .attr(Attribute::string("installer_vm_id").computed().description("vCenter id (managed object) of the installer VM this provider deployed (or, after an import, the one it marked for this gateway). Null when the installer is not provably the provider's: destroy then leaves it in vCenter."))
            .attr(Attribute::string("installer_vm_path").computed().description("Inventory path of the installer VM."))
            .attr(
                Attribute::new(
                    "nodes",
                    Type::list(Type::object([
                        ("name".to_string(), Type::String),
                        ("vm_id".to_string(), Type::String),
                        ("powered_on".to_string(), Type::Bool),
                    ])),
                )
                .computed()
                .description("The gateway's node VMs in vCenter, each with `name`, `vm_id` and `powered_on`: the machines Palette reports for the gateway, found at their exact inventory path. A VM whose name merely starts like the gateway's is never counted, nor deleted."),
            )
            .block(NestedBlock::new("vcenter", Nesting::List, vcenter_block()).max_items(1))
            .block(
                NestedBlock::new("installer", Nesting::List, installer_block())
                    .min_items(1)
                    .max_items(1),
            )
            .block(
                NestedBlock::new(
                    "placement",
                    Nesting::List,
                    inventory_attrs(
                        Block::new().description(
                            "Where the gateway's own nodes run. Changing it replaces the gateway.",
                        ),
                        true,
                    ),
                )
                .min_items(1)
                .max_items(1),
            )
            .block(
                NestedBlock::new("static_ip_pool", Nesting::List, pool_block())
                    .max_items(1)
                    .requires_replace(),
            )
            .block(tfplugin::timeouts::block(&[
                ("create", DEFAULT_CREATE),
                ("update", DEFAULT_UPDATE),
                ("delete", DEFAULT_DELETE),
            ])),
    )
}
