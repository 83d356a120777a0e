//! A test-only stand-in for the official Spectro Cloud provider
//! (registry.terraform.io/spectrocloud/spectrocloud), installed under that
//! address in a test's filesystem mirror. Terraform wants the provider of
//! every resource in state installed at init, and reads its schema to load
//! that state; a `moved` block to a `palette_*` type then runs through the
//! palette provider alone (MoveResourceState). So the stand-in declares the
//! three vSphere-related types with the official schemas (names, types,
//! nesting and schema versions, as published in the official provider's
//! docs) and refuses every operation: nothing here can pass for the real
//! provider's behaviour.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    ApplyRequest, ApplyResult, Attribute, Block, Ctx, DataSource, Diagnostic, Diagnostics,
    NestedBlock, Nesting, Provider, ReadResult, Resource, Schema, Type, Value,
};

fn s(name: &str) -> Attribute {
    Attribute::string(name).optional()
}
fn n(name: &str) -> Attribute {
    Attribute::number(name).optional()
}
fn b(name: &str) -> Attribute {
    Attribute::bool(name).optional()
}
fn strings(name: &str) -> Attribute {
    Attribute::new(name, Type::set(Type::String)).optional()
}
fn string_map(name: &str) -> Attribute {
    Attribute::new(name, Type::map(Type::String)).optional()
}
fn list(name: &str, block: Block) -> NestedBlock {
    NestedBlock::new(name, Nesting::List, block)
}
fn set(name: &str, block: Block) -> NestedBlock {
    NestedBlock::new(name, Nesting::Set, block)
}
fn attrs(names: &[&str]) -> Block {
    names.iter().fold(Block::new(), |b, a| b.attr(s(a)))
}
fn timeouts() -> NestedBlock {
    NestedBlock::new(
        "timeouts",
        Nesting::Single,
        attrs(&["create", "update", "delete"]),
    )
}

fn cluster() -> Schema {
    let pack = Block::new()
        .attr(s("uid").computed())
        .attr(s("type"))
        .attr(s("name"))
        .attr(s("registry_uid"))
        .attr(s("registry_name"))
        .attr(s("tag"))
        .attr(s("values"))
        .block(list("manifest", attrs(&["uid", "name", "content"])));
    let profile = Block::new()
        .attr(s("id"))
        .attr(string_map("variables"))
        .block(list("pack", pack));
    let cloud_config = Block::new()
        .attr(s("datacenter"))
        .attr(s("folder"))
        .attr(s("image_template_folder"))
        .attr(s("ssh_key"))
        .attr(strings("ssh_keys"))
        .attr(b("static_ip"))
        .attr(s("network_type"))
        .attr(s("host_endpoint"))
        .attr(s("network_search_domain"))
        .attr(strings("ntp_servers"))
        .attr(s("override_cluster_api_config"));
    let machine_pool = Block::new()
        .attr(s("name"))
        .attr(b("control_plane"))
        .attr(b("control_plane_as_worker"))
        .attr(n("count"))
        .attr(n("min"))
        .attr(n("max"))
        .attr(n("node_repave_interval"))
        .attr(s("skip_k8s_upgrade"))
        .attr(s("update_strategy"))
        .attr(string_map("additional_labels"))
        .attr(string_map("additional_annotations"))
        .attr(s("override_kubeadm_configuration"))
        .attr(s("override_cluster_api_config"))
        .attr(s("override_health_check_configuration"))
        .block(list(
            "override_scaling",
            attrs(&["max_surge", "max_unavailable"]),
        ))
        .block(list("taints", attrs(&["key", "value", "effect"])))
        .block(list("node", attrs(&["node_id", "action"])))
        .block(list(
            "instance_type",
            Block::new()
                .attr(n("cpu"))
                .attr(n("memory_mb"))
                .attr(n("disk_size_gb")),
        ))
        .block(list(
            "placement",
            Block::new()
                .attr(s("id").computed())
                .attr(s("cluster"))
                .attr(s("resource_pool"))
                .attr(s("datastore"))
                .attr(s("network"))
                .attr(s("static_ip_pool_id")),
        ));
    let block = Block::new()
        .attr(Attribute::string("id").optional().computed())
        .attr(s("name"))
        .attr(s("context"))
        .attr(s("description"))
        .attr(strings("tags"))
        .attr(s("cloud_account_id"))
        .attr(s("cloud_config_id").computed())
        .attr(s("cluster_meta_attribute"))
        .attr(s("apply_setting"))
        .attr(s("review_repave_state"))
        .attr(s("pause_agent_upgrades"))
        .attr(b("os_patch_on_boot"))
        .attr(s("os_patch_schedule"))
        .attr(s("os_patch_after"))
        .attr(s("cluster_timezone"))
        .attr(s("renew_k8s_certificates_now"))
        .attr(b("update_worker_pools_in_parallel"))
        .attr(Attribute::string("kubeconfig").computed().sensitive())
        .attr(
            Attribute::string("admin_kube_config")
                .computed()
                .sensitive(),
        )
        .attr(b("skip_completion"))
        .attr(b("force_delete"))
        .attr(n("force_delete_delay"))
        .block(set("cluster_profile", profile))
        .block(list(
            "cluster_template",
            Block::new().attr(s("id")).attr(s("name")).block(set(
                "cluster_profile",
                Block::new().attr(s("id")).attr(string_map("variables")),
            )),
        ))
        .block(list("cloud_config", cloud_config))
        .block(set("machine_pool", machine_pool))
        .block(list(
            "backup_policy",
            Block::new()
                .attr(s("prefix"))
                .attr(s("backup_location_id"))
                .attr(s("schedule"))
                .attr(n("expiry_in_hour"))
                .attr(b("include_disks"))
                .attr(b("include_cluster_resources"))
                .attr(s("include_cluster_resources_mode"))
                .attr(strings("namespaces"))
                .attr(strings("cluster_uids"))
                .attr(b("include_all_clusters")),
        ))
        .block(list(
            "scan_policy",
            attrs(&[
                "configuration_scan_schedule",
                "penetration_scan_schedule",
                "conformance_scan_schedule",
            ]),
        ))
        .block(list(
            "cluster_rbac_binding",
            Block::new()
                .attr(s("type"))
                .attr(s("namespace"))
                .attr(string_map("role"))
                .block(list("subjects", attrs(&["type", "name", "namespace"]))),
        ))
        .block(list(
            "namespaces",
            Block::new()
                .attr(s("name"))
                .attr(string_map("resource_allocation")),
        ))
        .block(list(
            "host_config",
            Block::new()
                .attr(s("host_endpoint_type"))
                .attr(s("ingress_host"))
                .attr(s("external_traffic_policy"))
                .attr(s("load_balancer_source_ranges")),
        ))
        .block(list(
            "location_config",
            Block::new()
                .attr(s("country_code"))
                .attr(s("country_name"))
                .attr(s("region_code"))
                .attr(s("region_name"))
                .attr(n("latitude"))
                .attr(n("longitude")),
        ))
        .block(timeouts());
    Schema::new(block).version(1)
}

fn account() -> Schema {
    Schema::new(
        Block::new()
            .attr(Attribute::string("id").optional().computed())
            .attr(s("name"))
            .attr(s("context"))
            .attr(s("private_cloud_gateway_id"))
            .attr(s("vsphere_vcenter"))
            .attr(s("vsphere_username"))
            .attr(s("vsphere_password").sensitive())
            .attr(b("vsphere_ignore_insecure_error")),
    )
}

fn ip_pool() -> Schema {
    Schema::new(
        Block::new()
            .attr(Attribute::string("id").optional().computed())
            .attr(s("name"))
            .attr(s("private_cloud_gateway_id"))
            .attr(s("network_type"))
            .attr(s("ip_start_range"))
            .attr(s("ip_end_range"))
            .attr(s("subnet_cidr"))
            .attr(n("prefix"))
            .attr(s("gateway"))
            .attr(strings("nameserver_addresses"))
            .attr(strings("nameserver_search_suffix"))
            .attr(b("restrict_to_single_cluster"))
            .block(timeouts()),
    )
    .version(2)
}

struct Standin {
    name: &'static str,
    schema: fn() -> Schema,
}

fn refused(what: &str) -> Diagnostics {
    Diagnostic::error(
        "Test stand-in",
        format!("The spectrocloud stand-in cannot {what}: it only lets Terraform load state for a move."),
    )
    .into()
}

#[async_trait]
impl Resource for Standin {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn schema(&self) -> Schema {
        (self.schema)()
    }
    async fn create(&self, req: &ApplyRequest, _ctx: &Ctx) -> ApplyResult {
        ApplyResult::failed(req.prior.clone(), refused("create"))
    }
    async fn update(&self, req: &ApplyRequest, _ctx: &Ctx) -> ApplyResult {
        ApplyResult::failed(req.prior.clone(), refused("update"))
    }
    async fn delete(&self, _req: &ApplyRequest, _ctx: &Ctx) -> Diagnostics {
        refused("delete")
    }
    async fn read(&self, _state: &Value, _private: &[u8], _ctx: &Ctx) -> ReadResult {
        ReadResult {
            state: Value::Null,
            private: Vec::new(),
            diags: refused("read"),
        }
    }
}

struct StandinProvider;

#[async_trait]
impl Provider for StandinProvider {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .attr(s("host"))
                .attr(s("api_key").sensitive())
                .attr(s("project_name")),
        )
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(Standin {
                name: "spectrocloud_cluster_vsphere",
                schema: cluster,
            }),
            Arc::new(Standin {
                name: "spectrocloud_cloudaccount_vsphere",
                schema: account,
            }),
            Arc::new(Standin {
                name: "spectrocloud_privatecloudgateway_ippool",
                schema: ip_pool,
            }),
        ]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }
    async fn configure(&self, _config: &Value, _ctx: &Ctx) -> Diagnostics {
        Diagnostics::new()
    }
}

fn main() -> std::process::ExitCode {
    tfplugin::serve::main(
        Arc::new(StandinProvider),
        tfplugin::serve::ServeOptions {
            address: "registry.terraform.io/spectrocloud/spectrocloud".into(),
            binary_name: "terraform-provider-spectrocloud".into(),
        },
    )
}
