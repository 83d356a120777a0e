//! `palette_cluster_vsphere`: a VMware cluster built from cluster profiles
//! through a vSphere cloud account.

use std::time::Duration;

use tfplugin::validate::{check, one_of, IntBetween, NotBlank};
use tfplugin::{Attribute, Block, NestedBlock, Nesting, Schema, Type, Value};

pub const TYPE_NAME: &str = "palette_cluster_vsphere";

/// Provisioning a cluster takes Palette 10-20 minutes for a few nodes; the
/// defaults leave room for large clusters without hiding a stuck one for hours.
pub const DEFAULT_CREATE: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_UPDATE: Duration = Duration::from_secs(60 * 60);
pub const DEFAULT_DELETE: Duration = Duration::from_secs(30 * 60);
/// The reference document: force delete is possible 15 minutes after a
/// deletion started.
pub const MIN_FORCE_DELETE_DELAY: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_FORCE_DELETE_DELAY: &str = "20m";

/// Palette cluster and machine pool names: lowercase DNS-1123 labels.
pub fn dns_label_error(s: &str, max: usize) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    (!ok).then(|| {
        format!(
            "{s:?} is not a valid name: use at most {max} lowercase letters, digits and hyphens, \
             starting and ending with a letter or digit, for example \"apps-dc1\""
        )
    })
}

fn dns_label(max: usize) -> impl tfplugin::schema::Validator {
    check(
        "must be a lowercase DNS label such as `apps-dc1`",
        move |v: &Value| match v.as_str().and_then(|s| dns_label_error(s, max)) {
            Some(e) => Err(e),
            None => Ok(()),
        },
    )
}

fn tag_check() -> impl tfplugin::schema::Validator {
    check("each must be `key:value` or `key`", |v: &Value| {
        for t in v.as_elements().unwrap_or(&[]) {
            if let Some(s) = t.as_str() {
                if s.trim().is_empty() || s.starts_with(':') {
                    return Err(format!(
                        "{s:?} is not a tag: write `key:value` (for example \"env:prod\") or a bare `key`"
                    ));
                }
            }
        }
        Ok(())
    })
}

fn profile_block() -> Block {
    Block::new()
        .description(
            "A cluster profile the cluster is built from (the infrastructure profile, then add-on profiles), \
             with per-pack value overrides.",
        )
        .attr(
            Attribute::string("id")
                .required()
                .requires_replace()
                .validator(NotBlank)
                .description("Uid of the cluster profile, for example from the `palette_cluster_profile` data source."),
        )
        .attr(
            Attribute::new("variables", Type::map(Type::String))
                .optional()
                .description("Values of the profile's variables."),
        )
        .block(NestedBlock::new(
            "pack",
            Nesting::Set,
            Block::new()
                .description(
                    "Values for one pack of the profile, replacing the profile's own. Compared as YAML: \
                     formatting and key order never show as a change.",
                )
                .attr(Attribute::string("name").required().validator(NotBlank).description("Pack name, such as `kubernetes`."))
                .attr(Attribute::string("values").required().description("The pack's values, as YAML.")),
        ))
}

fn cloud_config_block() -> Block {
    Block::new()
        .description("Cluster-wide vSphere settings: where the VMs go and how they are reached.")
        .attr(
            Attribute::string("datacenter")
                .required()
                .requires_replace()
                .validator(NotBlank)
                .description("vSphere datacenter, such as `DC0`."),
        )
        .attr(
            Attribute::string("folder")
                .required()
                .requires_replace()
                .validator(NotBlank)
                .description("VM folder below the datacenter's VM folder for the cluster's VMs, such as `palette/clusters/apps-dc1`."),
        )
        .attr(
            Attribute::string("image_template_folder")
                .optional()
                .requires_replace()
                .description("Folder holding the node image templates; Palette's default when not set."),
        )
        .attr(
            Attribute::new("ssh_keys", Type::list(Type::String))
                .optional()
                .description("SSH public keys for the `spectro` user of every node. Changes apply in place."),
        )
        .attr(
            Attribute::new("ntp_servers", Type::list(Type::String))
                .optional()
                .description("NTP servers for the nodes. Changes apply in place."),
        )
        .attr(
            Attribute::bool("static_ip")
                .default(false)
                .requires_replace()
                .description(
                    "Nodes take addresses from IP pools (`ip_pool_id` on every placement); otherwise DHCP, \
                     and no placement may name a pool.",
                ),
        )
        .attr(
            Attribute::string("control_plane_endpoint")
                .default("VIP")
                .requires_replace()
                .validator(one_of(["VIP", "DDNS"]))
                .description("How the control plane is reached: `VIP` (a virtual IP, the default) or `DDNS` (dynamic DNS, with DHCP)."),
        )
        .attr(
            Attribute::string("network_search_domain")
                .optional()
                .requires_replace()
                .description("Search domain under which DDNS registers the control plane, such as `dc1.example.com` (DHCP only)."),
        )
}

fn placement_block() -> Block {
    let name = |n: &str, what: &str| {
        Attribute::string(n)
            .required()
            .validator(NotBlank)
            .description(what)
    };
    Block::new()
        .description(
            "A placement domain. Nodes of the pool are spread round-robin over the pool's placements, in order.",
        )
        .attr(
            Attribute::string("compute_cluster")
                .optional()
                .computed()
                .validator(NotBlank)
                .description(
                    "Compute cluster, such as `DC0_C0`. Set this or `zone`; with `zone` it is the cluster carrying \
                     that zone tag, found at plan time.",
                ),
        )
        .attr(
            Attribute::string("zone")
                .optional()
                .computed()
                .validator(NotBlank)
                .description(
                    "A `k8s-zone` tag value, such as `az1`, instead of `compute_cluster`: the placement goes to the \
                     compute cluster of the cluster's datacenter that carries the tag (see `palette_vsphere_zones`), \
                     read from vCenter at every plan, so a tag moved to another cluster shows as a change of \
                     `compute_cluster`. Needs the provider's `vcenter` block. With `compute_cluster` set instead, \
                     this shows the cluster's zone when known (after an import with the provider's `vcenter` block).",
                ),
        )
        .attr(name("datastore", "Datastore, such as `LocalDS_0`."))
        .attr(name("network", "Network (port group), such as `VM Network`."))
        .attr(
            Attribute::string("resource_pool")
                .default("Resources")
                .description("Resource pool path below the compute cluster; `Resources` (its root pool) by default."),
        )
        .attr(
            Attribute::string("ip_pool_id")
                .optional()
                .description("Uid of an IP pool of the account's gateway; required with `static_ip`, forbidden otherwise."),
        )
}

fn machine_pool_block() -> Block {
    Block::new()
        .description(
            "A machine pool, identified by its name: reordering pools never shows as a change. Exactly one \
             pool has `control_plane = true`.",
        )
        .attr(
            Attribute::string("name")
                .required()
                .validator(dns_label(63))
                .description("Pool name, unique in the cluster, such as `workers`."),
        )
        .attr(
            Attribute::bool("control_plane")
                .default(false)
                .description("Whether this is the control-plane pool (size 1, 3 or 5; one placement)."),
        )
        .attr(
            Attribute::bool("control_plane_as_worker")
                .default(false)
                .description("Control-plane pool only: let workloads run on the control-plane nodes."),
        )
        .attr(
            Attribute::number("count")
                .required()
                .validator(IntBetween(0, 1000))
                .description("Number of nodes; 1, 3 or 5 for the control plane. Changes apply in place."),
        )
        .attr(
            Attribute::number("cpu")
                .default(Value::int(4))
                .validator(IntBetween(1, 768))
                .description("vCPUs per node."),
        )
        .attr(
            Attribute::number("memory_mb")
                .default(Value::int(8192))
                .validator(IntBetween(1024, 24 * 1024 * 1024))
                .description("Memory per node, in MiB."),
        )
        .attr(
            Attribute::number("disk_gb")
                .default(Value::int(60))
                .validator(IntBetween(20, 62 * 1024))
                .description("Root disk per node, in GiB."),
        )
        .attr(
            Attribute::new("labels", Type::map(Type::String))
                .optional()
                .description("Kubernetes labels of the pool's nodes."),
        )
        .attr(
            Attribute::string("update_strategy")
                .default("RollingUpdateScaleOut")
                .validator(one_of(["RollingUpdateScaleOut", "RollingUpdateScaleIn"]))
                .description("How nodes are replaced on changes: `RollingUpdateScaleOut` (new node first, the default) or `RollingUpdateScaleIn`."),
        )
        .block(NestedBlock::new(
            "taint",
            Nesting::List,
            Block::new()
                .description("A Kubernetes taint on the pool's nodes.")
                .attr(Attribute::string("key").required().validator(NotBlank).description("Taint key."))
                .attr(Attribute::string("value").optional().description("Taint value."))
                .attr(
                    Attribute::string("effect")
                        .required()
                        .validator(one_of(["NoSchedule", "PreferNoSchedule", "NoExecute"]))
                        .description("`NoSchedule`, `PreferNoSchedule` or `NoExecute`."),
                ),
        ))
        .block(NestedBlock::new("placement", Nesting::List, placement_block()).min_items(1))
}

pub fn node_type() -> Type {
    Type::object([
        ("name".to_string(), Type::String),
        ("pool".to_string(), Type::String),
        ("ip".to_string(), Type::String),
        ("vm_path".to_string(), Type::String),
        ("state".to_string(), Type::String),
    ])
}

pub fn schema() -> Schema {
    Schema::new(
        Block::new()
            .description(
                "A VMware cluster in Palette, built from cluster profiles on vSphere through a cloud account of \
                 a private cloud gateway. Create validates the request with Palette, creates the cluster and \
                 waits until it runs; machine pools, pack values, tags, SSH keys and NTP servers change in \
                 place; destroy waits until the cluster is deleted (and can force-delete one stuck in \
                 Deleting).",
            )
            .attr(Attribute::string("id").computed().use_state_for_unknown().description("Uid of the cluster."))
            .attr(
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .validator(dns_label(32))
                    .description("Cluster name: lowercase letters, digits and hyphens, at most 32."),
            )
            .attr(Attribute::string("description").optional().description("Description shown in Palette."))
            .attr(
                Attribute::new("tags", Type::set(Type::String))
                    .optional()
                    .validator(tag_check())
                    .description(
                        "Tags as `key:value` or `key`. Palette keeps them on the cluster; they are not propagated \
                         to the VMs.",
                    ),
            )
            .attr(
                Attribute::string("context")
                    .default("project")
                    .requires_replace()
                    .validator(one_of(["project", "tenant"]))
                    .description("Where the cluster lives: `project` (the provider's project, the default) or `tenant`."),
            )
            .attr(
                Attribute::string("cloud_account_id")
                    .required()
                    .requires_replace()
                    .validator(NotBlank)
                    .description("Uid of the vSphere cloud account the cluster is built through."),
            )
            .attr(
                Attribute::bool("force_delete")
                    .default(false)
                    .description(
                        "On destroy, force-delete the cluster if it is still `Deleting` after \
                         `force_delete_delay`. Palette then stops cleaning up: VMs, IP allocations and DNS records \
                         it had not removed yet must be removed by hand (the destroy warns with the list).",
                    ),
            )
            .attr(
                Attribute::string("force_delete_delay")
                    .default(DEFAULT_FORCE_DELETE_DELAY)
                    .validator(check("must be a duration of at least `15m`", |v: &Value| {
                        let s = v.as_str().unwrap_or_default();
                        let d = tfplugin::duration::parse(s)?;
                        if d < MIN_FORCE_DELETE_DELAY {
                            return Err(format!(
                                "{s:?} is shorter than 15 minutes, the time Palette requires a deletion to run \
                                 before it can be forced; write for example \"20m\""
                            ));
                        }
                        Ok(())
                    }))
                    .description("How long a deletion runs before `force_delete` forces it; at least `15m`."),
            )
            .attr(Attribute::string("state").computed().description("Lifecycle state, such as `Running`."))
            .attr(Attribute::string("health").computed().description(
                "`Healthy` when every node is, `Unhealthy` when a node is not (for example its VM was powered off \
                 or deleted in vCenter), `Unknown` while nodes are still being made.",
            ))
            .attr(Attribute::string("cloud_config_id").computed().use_state_for_unknown().description("Uid of the cluster's vSphere cloud config."))
            .attr(
                Attribute::string("kubeconfig")
                    .computed()
                    .sensitive()
                    .description(
                        "The cluster's kubeconfig, once it runs; kept in state (marked sensitive). With Terraform \
                         1.10 or later, prefer the ephemeral `palette_cluster_kubeconfig`, which is never stored, \
                         and set `store_kubeconfig = false`. Null when `store_kubeconfig` is false.",
                    ),
            )
            .attr(
                Attribute::bool("store_kubeconfig")
                    .default(true)
                    .description(
                        "Whether `kubeconfig` is read and kept in state. Set it to false when the ephemeral \
                         `palette_cluster_kubeconfig` (Terraform 1.10 or later) gives the kubeconfig instead: \
                         the cluster's credentials then stay out of state and plans. Changing it changes \
                         nothing in Palette.",
                    ),
            )
            .attr(
                Attribute::new("nodes", Type::list(node_type()))
                    .computed()
                    .description(
                        "The cluster's nodes: `name`, `pool`, `ip` (static IP, empty with DHCP), `vm_path` (the \
                         VM's inventory path in vCenter) and `state` as Palette reports it (for example \
                         `Running`, or `PoweredOff` / `NotFound` for a VM changed behind Palette's back).",
                    ),
            )
            .block(
                NestedBlock::new("cluster_profile", Nesting::List, profile_block())
                    .min_items(1),
            )
            .block(
                NestedBlock::new("cloud_config", Nesting::List, cloud_config_block())
                    .min_items(1)
                    .max_items(1),
            )
            .block(
                NestedBlock::new("machine_pool", Nesting::Set, machine_pool_block())
                    .min_items(1),
            )
            .block(tfplugin::timeouts::block(&[
                ("create", DEFAULT_CREATE),
                ("update", DEFAULT_UPDATE),
                ("delete", DEFAULT_DELETE),
            ])),
    )
}
