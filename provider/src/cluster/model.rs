use super::*;

// ---------------------------------------------------------------------------
// Values

pub(super) fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).as_str().map(str::to_string)
}

pub(super) fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).as_i64()
}

pub(super) fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn elements(v: &Value) -> &[Value] {
    v.as_elements().unwrap_or(&[])
}

/// An empty collection read from Palette stays null where the configuration
/// (prior state) left it out, so "not set" and "set to nothing" never diff.
pub(super) fn list_or_null(items: Vec<String>, prior: &Value) -> Value {
    if items.is_empty() && prior.is_null() {
        Value::Null
    } else {
        Value::List(items.into_iter().map(Value::String).collect())
    }
}

pub(super) fn map_or_null(m: BTreeMap<String, String>, prior: &Value) -> Value {
    if m.is_empty() && prior.is_null() {
        Value::Null
    } else {
        Value::Map(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
    }
}

/// Whether two YAML documents say the same thing. Text that is not YAML is
/// compared as text.
pub fn yaml_equal(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (
        serde_norway::from_str::<serde_norway::Value>(a),
        serde_norway::from_str::<serde_norway::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// A YAML mapping or sequence as JSON text that says the same thing (JSON
/// is YAML, so `yaml_equal` holds); `None` for scalars, text that is not
/// YAML, and documents JSON cannot say alike (keys that are not strings).
/// YAML comments do not survive: they are not part of the values.
pub fn yaml_as_json(text: &str) -> Option<String> {
    let v: serde_norway::Value = serde_norway::from_str(text).ok()?;
    if !matches!(
        v,
        serde_norway::Value::Mapping(_) | serde_norway::Value::Sequence(_)
    ) {
        return None;
    }
    let json = serde_json::to_string(&serde_json::to_value(&v).ok()?).ok()?;
    yaml_equal(&json, text).then_some(json)
}

pub fn tags_to_labels(tags: &[String]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| match t.split_once(':') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (t.trim().to_string(), BARE_TAG.to_string()),
        })
        .collect()
}

pub fn labels_to_tags(labels: &BTreeMap<String, String>) -> Vec<String> {
    labels
        .iter()
        .map(|(k, v)| {
            if v == BARE_TAG || v.is_empty() {
                k.clone()
            } else {
                format!("{k}:{v}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Request bodies

pub(super) fn placement_entity(pl: &Value, static_ip: bool) -> V1VspherePlacementConfigEntity {
    V1VspherePlacementConfigEntity {
        cluster: s(pl, "compute_cluster"),
        datastore: s(pl, "datastore"),
        resource_pool: s(pl, "resource_pool"),
        network: Some(V1VsphereNetworkConfigEntity {
            network_name: s(pl, "network"),
            static_ip: Some(static_ip),
            parent_pool_uid: if static_ip { s(pl, "ip_pool_id") } else { None },
        }),
        ..Default::default()
    }
}

pub fn pool_entity(p: &Value, static_ip: bool) -> V1VsphereMachinePoolConfigEntity {
    let cp = p.get("control_plane").as_bool().unwrap_or(false);
    let taints: Vec<V1Taint> = elements(p.get("taint"))
        .iter()
        .map(|t| V1Taint {
            key: s(t, "key"),
            value: s(t, "value"),
            effect: s(t, "effect"),
            time_added: None,
        })
        .collect();
    V1VsphereMachinePoolConfigEntity {
        pool_config: Some(V1MachinePoolConfigEntity {
            name: s(p, "name"),
            is_control_plane: Some(cp),
            use_control_plane_as_worker: Some(
                cp && p.get("control_plane_as_worker").as_bool() == Some(true),
            ),
            size: int(p, "count").map(|n| n as i32),
            labels: Some(vec![if cp { "control-plane" } else { "worker" }.to_string()]),
            additional_labels: Some(string_map(p.get("labels"))),
            taints: Some(taints),
            update_strategy: Some(V1UpdateStrategy {
                r#type: s(p, "update_strategy"),
                ..Default::default()
            }),
            ..Default::default()
        }),
        cloud_config: Some(V1VsphereMachinePoolCloudConfigEntity {
            instance_type: Some(V1VsphereInstanceType {
                num_cp_us: int(p, "cpu").map(|n| n as i32),
                memory_mi_b: int(p, "memory_mb"),
                disk_gi_b: int(p, "disk_gb").map(|n| n as i32),
            }),
            placements: Some(
                elements(p.get("placement"))
                    .iter()
                    .map(|pl| placement_entity(pl, static_ip))
                    .collect(),
            ),
        }),
    }
}

pub(super) fn cluster_config_entity(v: &Value) -> V1VsphereClusterConfigEntity {
    let cc = first(v, "cloud_config");
    V1VsphereClusterConfigEntity {
        control_plane_endpoint: Some(V1ControlPlaneEndPoint {
            r#type: s(cc, "control_plane_endpoint"),
            ddns_search_domain: s(cc, "network_search_domain"),
            host: None,
        }),
        ntp_servers: Some(strings(cc.get("ntp_servers"))),
        ssh_keys: Some(strings(cc.get("ssh_keys"))),
        static_ip: Some(cc.get("static_ip").as_bool().unwrap_or(false)),
        placement: Some(V1VspherePlacementConfigEntity {
            datacenter: s(cc, "datacenter"),
            folder: s(cc, "folder"),
            image_template_folder: s(cc, "image_template_folder"),
            ..Default::default()
        }),
    }
}

pub(super) fn profiles_entity(v: &Value) -> Vec<V1SpectroClusterProfileEntity> {
    elements(v.get("cluster_profile"))
        .iter()
        .map(|p| V1SpectroClusterProfileEntity {
            uid: s(p, "id"),
            pack_values: Some(
                elements(p.get("pack"))
                    .iter()
                    .map(|k| V1PackValuesEntity {
                        name: s(k, "name"),
                        values: s(k, "values"),
                        ..Default::default()
                    })
                    .collect(),
            ),
            variables: p.get("variables").as_map().map(|m| {
                m.iter()
                    .map(|(k, x)| V1SpectroClusterVariable {
                        name: Some(k.clone()),
                        value: x.as_str().map(str::to_string),
                    })
                    .collect()
            }),
            replace_with_profile: None,
        })
        .collect()
}

pub(super) fn metadata_of(v: &Value) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let labels = tags_to_labels(&strings(v.get("tags")));
    let mut annotations = BTreeMap::new();
    if let Some(d) = s(v, "description") {
        annotations.insert("description".to_string(), d);
    }
    (labels, annotations)
}

pub fn entity(v: &Value) -> V1SpectroVsphereClusterEntity {
    let static_ip = first(v, "cloud_config")
        .get("static_ip")
        .as_bool()
        .unwrap_or(false);
    let (labels, annotations) = metadata_of(v);
    V1SpectroVsphereClusterEntity {
        metadata: Some(V1ObjectMeta {
            name: s(v, "name"),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        }),
        spec: Some(V1SpectroVsphereClusterEntitySpec {
            cloud_account_uid: s(v, "cloud_account_id"),
            cloud_config: Some(cluster_config_entity(v)),
            machinepoolconfig: Some(
                elements(v.get("machine_pool"))
                    .iter()
                    .map(|p| pool_entity(p, static_ip))
                    .collect(),
            ),
            profiles: Some(profiles_entity(v)),
            ..Default::default()
        }),
    }
}

pub(super) fn pool_value(m: &V1VsphereMachinePoolConfig, prior: Option<&Value>) -> Value {
    let nul = Value::Null;
    let prior = prior.unwrap_or(&nul);
    let it = m.instance_type.clone().unwrap_or_default();
    let placements: Vec<Value> = m
        .placements
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let net = p.network.clone().unwrap_or_default();
            Value::object([
                ("compute_cluster", Value::from(p.cluster)),
                ("datastore", Value::from(p.datastore)),
                ("network", Value::from(net.network_name)),
                (
                    "resource_pool",
                    Value::from(p.resource_pool.or(Some("Resources".into()))),
                ),
                (
                    "ip_pool_id",
                    Value::from(
                        net.parent_pool_ref
                            .and_then(|r| r.uid)
                            .filter(|_| net.static_ip == Some(true)),
                    ),
                ),
            ])
        })
        .collect();
    let taints: Vec<Value> = m
        .taints
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            Value::object([
                ("key", Value::from(t.key)),
                ("value", Value::from(t.value)),
                ("effect", Value::from(t.effect)),
            ])
        })
        .collect();
    let cp = m.is_control_plane.unwrap_or(false);
    Value::object([
        ("name", Value::from(m.name.clone())),
        ("control_plane", Value::Bool(cp)),
        (
            "control_plane_as_worker",
            Value::Bool(m.use_control_plane_as_worker.unwrap_or(false)),
        ),
        ("count", Value::int(m.size.unwrap_or(0) as i64)),
        ("cpu", Value::int(it.num_cp_us.unwrap_or(0) as i64)),
        ("memory_mb", Value::int(it.memory_mi_b.unwrap_or(0))),
        ("disk_gb", Value::int(it.disk_gi_b.unwrap_or(0) as i64)),
        (
            "labels",
            map_or_null(
                m.additional_labels.clone().unwrap_or_default(),
                prior.get("labels"),
            ),
        ),
        (
            "update_strategy",
            Value::from(
                m.update_strategy
                    .clone()
                    .and_then(|u| u.r#type)
                    .or(Some("RollingUpdateScaleOut".into())),
            ),
        ),
        ("taint", Value::List(taints)),
        ("placement", Value::List(placements)),
    ])
}

/// A node's state: Palette's instance state, or where that is `Unknown`
/// the reason of the failing health condition (a VM `PoweredOff` or
/// `NotFound` in vCenter), which is what a user needs to act on.
pub(super) fn node_state(m: &V1VsphereMachine) -> String {
    let status = m.status.clone().unwrap_or_default();
    let state = status.instance_state.unwrap_or_default();
    if state != "Unknown" {
        return state;
    }
    status
        .health
        .and_then(|h| h.conditions)
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.status.as_deref() == Some("False"))
        .and_then(|c| c.reason)
        .unwrap_or(state)
}

pub(super) fn node_values(remote: &Remote, datacenter: &str, folder: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (pool, machines) in &remote.machines {
        for m in machines {
            let meta = m.metadata.clone().unwrap_or_default();
            let spec = m.spec.clone().unwrap_or_default();
            let name = meta.name.unwrap_or_default();
            let ip = spec
                .nics
                .unwrap_or_default()
                .into_iter()
                .flat_map(|n| n.private_i_ps.unwrap_or_default())
                .next()
                .unwrap_or_default();
            let pl = spec.placement.unwrap_or_default();
            let dc = pl.datacenter.unwrap_or_else(|| datacenter.to_string());
            let f = pl.folder.unwrap_or_else(|| folder.to_string());
            let state = node_state(m);
            out.push(Value::object([
                ("name", Value::String(name.clone())),
                ("pool", Value::String(pool.clone())),
                ("ip", Value::String(ip)),
                (
                    "vm_path",
                    Value::String(format!("/{dc}/vm/{}/{name}", f.trim_matches('/'))),
                ),
                ("state", Value::String(state)),
            ]));
        }
    }
    out
}

/// The cluster's health from its nodes' (what the console's node list shows).
pub(super) fn health_of(remote: &Remote) -> String {
    let states: Vec<String> = remote
        .machines
        .values()
        .flatten()
        .map(|m| {
            m.status
                .as_ref()
                .and_then(|s| s.health.as_ref())
                .and_then(|h| h.state.clone())
                .unwrap_or_default()
        })
        .collect();
    if states.iter().any(|s| s == "Unhealthy") {
        "Unhealthy".into()
    } else if !states.is_empty() && states.iter().all(|s| s == "Healthy") {
        "Healthy".into()
    } else {
        "Unknown".into()
    }
}

pub(super) fn profile_values(remote: &Remote, prior: &Value) -> Value {
    let templates = remote
        .cluster
        .spec
        .clone()
        .unwrap_or_default()
        .cluster_profile_templates
        .unwrap_or_default();
    let prior_profiles: BTreeMap<String, &Value> = elements(prior.get("cluster_profile"))
        .iter()
        .filter_map(|p| p.get("id").as_str().map(|id| (id.to_string(), p)))
        .collect();
    // The prior order, then any profile Palette has that state did not.
    let mut order: Vec<String> = prior_profiles.keys().cloned().collect();
    order.sort_by_key(|id| {
        elements(prior.get("cluster_profile"))
            .iter()
            .position(|p| p.get("id").as_str() == Some(id))
    });
    for t in &templates {
        if let Some(uid) = &t.uid {
            if !order.contains(uid) {
                order.push(uid.clone());
            }
        }
    }
    let mut out = Vec::new();
    for uid in order {
        let Some(t) = templates
            .iter()
            .find(|t| t.uid.as_deref() == Some(uid.as_str()))
        else {
            continue;
        };
        let remote_packs: BTreeMap<String, String> = t
            .packs
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|k| Some((k.name?, k.values.unwrap_or_default())))
            .collect();
        let prior_p = prior_profiles.get(&uid).copied();
        let mut packs = Vec::new();
        match prior_p {
            Some(pp) => {
                for k in elements(pp.get("pack")) {
                    let name = s(k, "name").unwrap_or_default();
                    let Some(now) = remote_packs.get(&name) else {
                        continue;
                    };
                    let before = s(k, "values").unwrap_or_default();
                    let values = if yaml_equal(&before, now) {
                        before
                    } else {
                        now.clone()
                    };
                    packs.push(Value::object([
                        ("name", Value::String(name)),
                        ("values", Value::String(values)),
                    ]));
                }
            }
            None => {
                let defaults = remote.profile_defaults.as_ref().and_then(|d| d.get(&uid));
                for (name, now) in &remote_packs {
                    let overridden = match defaults.and_then(|d| d.get(name)) {
                        Some(def) => !yaml_equal(def, now),
                        None => defaults.is_none(),
                    };
                    if overridden {
                        packs.push(Value::object([
                            ("name", Value::String(name.clone())),
                            ("values", Value::String(now.clone())),
                        ]));
                    }
                }
            }
        }
        out.push(Value::object([
            ("id", Value::String(uid.clone())),
            (
                "variables",
                prior_p
                    .map(|p| p.get("variables").clone())
                    .unwrap_or(Value::Null),
            ),
            ("pack", Value::Set(packs)),
        ]));
    }
    Value::List(out)
}

/// The resource's state from what Palette says, keeping from `prior` what
/// Palette does not hold (timeouts, force-delete settings, variables) and
/// the user's spelling where Palette's means the same.
pub fn state_from(remote: &Remote, prior: &Value, context: &str) -> Value {
    let c = &remote.cluster;
    let meta = c.metadata.clone().unwrap_or_default();
    let spec = remote.config.spec.clone().unwrap_or_default();
    let cfg = spec.cluster_config.clone().unwrap_or_default();
    let placement = cfg.placement.clone().unwrap_or_default();
    let endpoint = cfg.control_plane_endpoint.clone().unwrap_or_default();
    let prior_cc = first(prior, "cloud_config");
    let datacenter = placement.datacenter.clone().unwrap_or_default();
    let folder = placement.folder.clone().unwrap_or_default();
    let cloud_config = Value::object([
        ("datacenter", Value::String(datacenter.clone())),
        ("folder", Value::String(folder.clone())),
        (
            "image_template_folder",
            Value::from(placement.image_template_folder.clone()),
        ),
        (
            "ssh_keys",
            list_or_null(
                cfg.ssh_keys.clone().unwrap_or_default(),
                prior_cc.get("ssh_keys"),
            ),
        ),
        (
            "ntp_servers",
            list_or_null(
                cfg.ntp_servers.clone().unwrap_or_default(),
                prior_cc.get("ntp_servers"),
            ),
        ),
        ("static_ip", Value::Bool(cfg.static_ip.unwrap_or(false))),
        (
            "control_plane_endpoint",
            Value::from(endpoint.r#type.clone().or(Some("VIP".into()))),
        ),
        (
            "network_search_domain",
            Value::from(
                endpoint
                    .ddns_search_domain
                    .clone()
                    .filter(|d| !d.is_empty()),
            ),
        ),
    ]);
    let prior_pools = pools_by_name(prior);
    let mut pools: Vec<Value> = spec
        .machine_pool_config
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            pool_value(
                m,
                m.name.as_deref().and_then(|n| prior_pools.get(n).copied()),
            )
        })
        .collect();
    pools.sort_by_key(|p| s(p, "name"));
    let labels = meta.labels.clone().unwrap_or_default();
    let description = meta
        .annotations
        .clone()
        .unwrap_or_default()
        .get("description")
        .cloned()
        .filter(|d| !d.is_empty());
    let tags = labels_to_tags(&labels);
    let tags = if tags.is_empty() && prior.get("tags").is_null() {
        Value::Null
    } else {
        Value::Set(tags.into_iter().map(Value::String).collect())
    };
    let account = spec
        .cloud_account_ref
        .clone()
        .and_then(|r| r.uid)
        .or_else(|| s(prior, "cloud_account_id"));
    let kept = |k: &str, default: Value| match prior.get(k) {
        Value::Null => default,
        v => v.clone(),
    };
    Value::object([
        ("id", Value::from(meta.uid.clone())),
        ("name", Value::from(meta.name.clone())),
        ("description", Value::from(description)),
        ("tags", tags),
        ("context", Value::from(context)),
        ("cloud_account_id", Value::from(account)),
        ("force_delete", kept("force_delete", Value::Bool(false))),
        (
            "force_delete_delay",
            kept(
                "force_delete_delay",
                Value::from(schemas::cluster::DEFAULT_FORCE_DELETE_DELAY),
            ),
        ),
        ("state", Value::String(state_of(c))),
        ("health", Value::String(health_of(remote))),
        (
            "cloud_config_id",
            Value::from(
                c.spec
                    .as_ref()
                    .and_then(|s| s.cloud_config_ref.as_ref())
                    .and_then(|r| r.uid.clone()),
            ),
        ),
        ("kubeconfig", Value::from(remote.kubeconfig.clone())),
        (
            "store_kubeconfig",
            kept("store_kubeconfig", Value::Bool(true)),
        ),
        (
            "nodes",
            Value::List(node_values(remote, &datacenter, &folder)),
        ),
        ("cluster_profile", profile_values(remote, prior)),
        ("cloud_config", Value::List(vec![cloud_config])),
        ("machine_pool", Value::Set(pools)),
        ("timeouts", prior.get("timeouts").clone()),
    ])
}
