use std::collections::BTreeMap;
use std::time::Duration;

use palette_api::models::{V1ObjectMeta, V1SpectroCluster, V1SpectroVsphereClusterEntity};
use palette_api::models::{V1VsphereMachine, V1VsphereMachinePoolConfig};
use tfplugin::{Attr, AttrPath, Diagnostics, Model, Value};

use super::apply::{keep_promised, profiles_changed};
use super::delete::deleting_for;
use super::model::*;
use super::plan::{changed_settings, check_config, refine_plan, respell_packs, Seen};
use super::read::{check_kind, read_diag, ReadError, Remote};
use super::BARE_TAG;

#[test]
fn only_settings_palette_holds_count_as_a_change_since_the_plan() {
    let from = ClusterModel {
        name: "apps".into(),
        state: "Running".into(),
        machine_pool: vec![MachinePool {
            name: "workers".into(),
            count: 2.into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let status_only = ClusterModel {
        state: "Updating".into(),
        ..from.clone()
    };
    assert!(changed_settings(&from, &status_only).is_empty());
    let mut scaled = from.clone();
    scaled.machine_pool[0].count = 3.into();
    assert_eq!(changed_settings(&from, &scaled), ["machine_pool"]);
    let seen = Seen {
        modified: Some("2026-12-03T10:00:00Z".into()),
    };
    assert_eq!(Seen::parse(&seen.bytes()), seen);
    assert!(Seen::default().bytes().is_empty());
    assert_eq!(Seen::parse(b""), Seen::default());
}

#[test]
fn same_values_spelled_otherwise_keep_the_prior_text() {
    let state = |values: &str| ClusterModel {
        cluster_profile: vec![ClusterProfile {
            id: "p-1".into(),
            pack: vec![Pack {
                name: "kubernetes".into(),
                values: values.into(),
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let prior = state("pack:\n  podCIDR: 10.0.0.0/16\n");
    let json = state(r#"{"pack":{"podCIDR":"10.0.0.0/16"}}"#);
    let respelled = respell_packs(&prior, &json).expect("spelled otherwise");
    assert_eq!(respelled, prior);
    assert_eq!(respell_packs(&prior, &prior), None, "nothing to do");
    let other = state("pack:\n  podCIDR: 10.9.0.0/16\n");
    assert_eq!(respell_packs(&prior, &other), None, "a real change stays");
    assert_eq!(
        respell_packs(&ClusterModel::default(), &json),
        None,
        "a create has no prior"
    );
}

#[test]
fn yaml_pack_values_become_equal_json() {
    let yaml = "# comment\nmanifests:\n  a:\n    replicas: 3\n    names: [x, y]\nflag: true\n";
    let json = yaml_as_json(yaml).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        serde_json::json!({"manifests": {"a": {"replicas": 3, "names": ["x", "y"]}}, "flag": true})
    );
    assert!(yaml_equal(&json, yaml));
    assert_eq!(yaml_as_json("just text"), None);
    assert_eq!(
        yaml_as_json("1: one\n"),
        None,
        "a number key is not a JSON key"
    );
    assert_eq!(yaml_as_json("a: [unclosed\n"), None);
}
#[test]
fn deletion_age_is_read_on_palettes_clock() {
    use palette_api::client::rfc3339;
    let deleting = |ts: Option<&str>| V1SpectroCluster {
        metadata: Some(palette_api::models::V1ObjectMeta {
            deletion_timestamp: ts.map(str::to_string),
            ..Default::default()
        }),
        ..Default::default()
    };
    let local = Duration::from_secs(3);
    let server = rfc3339("2026-12-02T08:00:00Z");
    // Palette's own times win over this machine's count, in both
    // directions: an earlier run's deletion, or a clock far behind.
    assert_eq!(
        deleting_for(&deleting(Some("2026-12-02T07:40:00Z")), server, local),
        Duration::from_secs(20 * 60)
    );
    // A deletion timestamp ahead of the server's Date is no time yet.
    assert_eq!(
        deleting_for(&deleting(Some("2026-12-02T08:00:05Z")), server, local),
        Duration::ZERO
    );
    // Without either time, the time since this run asked.
    assert_eq!(deleting_for(&deleting(None), server, local), local);
    assert_eq!(
        deleting_for(&deleting(Some("2026-12-02T07:40:00Z")), None, local),
        local
    );
    assert_eq!(
        deleting_for(&deleting(Some("not a time")), server, local),
        local
    );
}

use palette_api::models::{
    V1ClusterProfileTemplate, V1ObjectReference, V1PackRef, V1SpectroClusterSpec,
    V1SpectroClusterStatus, V1VsphereCloudConfig, V1VsphereCloudConfigSpec, V1VsphereClusterConfig,
    V1VsphereMachineSpec, V1VsphereNetworkConfig, V1VsphereNic, V1VspherePlacementConfig,
};

fn placement(cluster: &str, pool: Option<&str>) -> Value {
    Value::object([
        ("compute_cluster", Value::from(cluster)),
        ("zone", Value::Null),
        ("datastore", Value::from("LocalDS_0")),
        ("network", Value::from("VM Network")),
        ("resource_pool", Value::from("Resources")),
        ("ip_pool_id", Value::from(pool.map(str::to_string))),
    ])
}

fn pool(name: &str, cp: bool, count: i64, placements: Vec<Value>) -> Value {
    Value::object([
        ("name", Value::from(name)),
        ("control_plane", Value::Bool(cp)),
        ("control_plane_as_worker", Value::Bool(false)),
        ("count", Value::int(count)),
        ("cpu", Value::int(4)),
        ("memory_mb", Value::int(8192)),
        ("disk_gb", Value::int(60)),
        ("labels", Value::Null),
        ("update_strategy", Value::from("RollingUpdateScaleOut")),
        ("taint", Value::List(vec![])),
        ("placement", Value::List(placements)),
    ])
}

fn config(static_ip: bool, pools: Vec<Value>) -> Value {
    Value::object([
        ("id", Value::from("c1")),
        ("name", Value::from("apps")),
        ("description", Value::Null),
        (
            "tags",
            Value::Set(vec![Value::from("env:prod"), Value::from("pci")]),
        ),
        ("context", Value::from("project")),
        ("cloud_account_id", Value::from("a1")),
        ("force_delete", Value::Bool(false)),
        ("force_delete_delay", Value::from("20m")),
        ("state", Value::from("Running")),
        ("health", Value::from("Healthy")),
        ("cloud_config_id", Value::from("cc1")),
        ("kubeconfig", Value::Null),
        ("store_kubeconfig", Value::Bool(true)),
        ("nodes", Value::List(vec![])),
        (
            "cluster_profile",
            Value::List(vec![Value::object([
                ("id", Value::from("p1")),
                ("variables", Value::Null),
                (
                    "pack",
                    Value::Set(vec![Value::object([
                        ("name", Value::from("kubernetes")),
                        ("values", Value::from("a: 1\nb: [x, y]\n")),
                    ])]),
                ),
            ])]),
        ),
        (
            "cloud_config",
            Value::List(vec![Value::object([
                ("datacenter", Value::from("DC0")),
                ("folder", Value::from("palette/apps")),
                ("image_template_folder", Value::Null),
                (
                    "ssh_keys",
                    Value::List(vec![Value::from("ssh-ed25519 AAAA")]),
                ),
                ("ntp_servers", Value::Null),
                ("static_ip", Value::Bool(static_ip)),
                ("control_plane_endpoint", Value::from("VIP")),
                ("network_search_domain", Value::Null),
            ])]),
        ),
        ("machine_pool", Value::Set(pools)),
        ("timeouts", Value::Null),
    ])
}

/// The model of a value built here.
fn m(v: &Value) -> ClusterModel {
    let model = ClusterModel::from_value(v).unwrap();
    assert_eq!(&model.to_value(), v, "the model keeps the value as it is");
    model
}

fn node(name: &str) -> Node {
    Node {
        name: name.into(),
        pool: "cp".into(),
        ip: "".into(),
        vm_path: format!("/DC0/vm/palette/apps/{name}").as_str().into(),
        state: "Running".into(),
    }
}

fn messages(d: &Diagnostics) -> String {
    d.iter()
        .map(|x| format!("{} {}", x.summary, x.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_cluster_of_another_cloud_is_refused_by_name_and_cloud() {
    let cluster = |cloud: Option<&str>| V1SpectroCluster {
        metadata: Some(V1ObjectMeta {
            name: Some("foo".into()),
            uid: Some("u-1".into()),
            ..Default::default()
        }),
        spec: Some(V1SpectroClusterSpec {
            cloud_type: cloud.map(str::to_string),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(check_kind("u-1", &cluster(Some("vsphere"))), Ok(()));
    assert_eq!(
        check_kind("u-1", &cluster(Some("aws"))).unwrap_err(),
        "uid u-1 is an aws cluster named \"foo\", not a vSphere cluster."
    );
    assert_eq!(
        check_kind("u-1", &cluster(Some("gcp"))).unwrap_err(),
        "uid u-1 is a gcp cluster named \"foo\", not a vSphere cluster."
    );
    assert!(check_kind("u-1", &cluster(None))
        .unwrap_err()
        .contains("no stated cloud type"));
    // The diagnostic says what to do and that nothing changed.
    let d = read_diag(
        "x",
        &ReadError::WrongKind(check_kind("u-1", &cluster(Some("aws"))).unwrap_err()),
    );
    let text = messages(&d);
    assert!(text.contains("Not a vSphere cluster"), "{text}");
    assert!(text.contains("terraform state rm"), "{text}");
}

#[test]
fn yaml_is_compared_by_meaning() {
    assert!(yaml_equal("a: 1\nb: [x, y]\n", "b:\n  - x\n  - y\na:   1"));
    assert!(!yaml_equal("a: 1", "a: 2"));
    assert!(!yaml_equal("a: '1'", "a: 1"));
    assert!(yaml_equal("not: [yaml", "not: [yaml  "));
}

#[test]
fn tags_round_trip_through_palette_labels() {
    let tags = vec!["env:prod".to_string(), "pci".to_string()];
    let labels = tags_to_labels(&tags);
    assert_eq!(labels["pci"], BARE_TAG);
    assert_eq!(labels["env"], "prod");
    assert_eq!(
        labels_to_tags(&labels),
        vec!["env:prod".to_string(), "pci".to_string()]
    );
}

#[test]
fn a_valid_configuration_passes() {
    let c = config(
        true,
        vec![
            pool("cp", true, 3, vec![placement("C0", Some("ip1"))]),
            pool(
                "w",
                false,
                0,
                vec![placement("C0", Some("ip1")), placement("C1", Some("ip1"))],
            ),
        ],
    );
    assert!(
        check_config(&m(&c)).is_empty(),
        "{}",
        messages(&check_config(&m(&c)))
    );
}

#[test]
fn each_rule_is_reported() {
    let cases: Vec<(Value, &str)> = vec![
        (
            config(
                false,
                vec![pool("cp", true, 2, vec![placement("C0", None)])],
            ),
            "1, 3 or 5",
        ),
        (
            config(
                false,
                vec![pool(
                    "cp",
                    true,
                    1,
                    vec![placement("C0", None), placement("C1", None)],
                )],
            ),
            "exactly one",
        ),
        (
            config(
                false,
                vec![pool("w", false, 1, vec![placement("C0", None)])],
            ),
            "0 machine pools",
        ),
        (
            config(
                false,
                vec![
                    pool("cp", true, 1, vec![placement("C0", None)]),
                    pool("cp2", true, 1, vec![placement("C0", None)]),
                ],
            ),
            "2 machine pools",
        ),
        (
            config(
                false,
                vec![
                    pool("cp", true, 1, vec![placement("C0", None)]),
                    pool("w", false, 1, vec![placement("C0", None)]),
                    pool("w", false, 2, vec![placement("C0", None)]),
                ],
            ),
            "named \"w\"",
        ),
        (
            config(true, vec![pool("cp", true, 1, vec![placement("C0", None)])]),
            "no `ip_pool_id`",
        ),
        (
            config(
                false,
                vec![pool("cp", true, 1, vec![placement("C0", Some("ip1"))])],
            ),
            "uses DHCP",
        ),
    ];
    for (c, want) in cases {
        let d = check_config(&m(&c));
        assert!(
            messages(&d).contains(want),
            "want {want:?} in {}",
            messages(&d)
        );
        assert!(d.iter().all(|x| x.attribute.is_some()));
    }
}

#[test]
fn unknown_values_are_not_judged() {
    let mut c = m(&config(
        true,
        vec![pool("cp", true, 1, vec![placement("C0", None)])],
    ));
    c.machine_pool[0].count = Attr::Unknown;
    c.machine_pool[0].placement[0].ip_pool_id = Attr::Unknown;
    assert!(
        check_config(&c).is_empty(),
        "{}",
        messages(&check_config(&c))
    );
}

#[test]
fn moving_the_control_plane_replaces_the_cluster() {
    let prior = config(
        false,
        vec![
            pool("cp", true, 1, vec![placement("C0", None)]),
            pool("w", false, 1, vec![placement("C0", None)]),
        ],
    );
    let planned = config(
        false,
        vec![
            pool("cp", false, 1, vec![placement("C0", None)]),
            pool("w", true, 1, vec![placement("C0", None)]),
        ],
    );
    let mut rr = Vec::new();
    refine_plan(&m(&prior), &mut m(&planned), &mut rr);
    assert_eq!(rr, vec![AttrPath::attr("machine_pool")]);
}

#[test]
fn a_tag_change_keeps_nodes_and_state_known() {
    let mut prior = m(&config(
        false,
        vec![pool("cp", true, 1, vec![placement("C0", None)])],
    ));
    prior.nodes = vec![node("n")].into();
    let mut planned = prior.clone();
    planned.tags = Attr::Known(vec![]);
    planned.nodes = Attr::Unknown;
    planned.state = Attr::Unknown;
    let mut rr = Vec::new();
    refine_plan(&prior, &mut planned, &mut rr);
    assert!(rr.is_empty());
    assert_eq!(planned.nodes, prior.nodes);
    assert_eq!(planned.state.as_str(), Some("Running"));
    // A pool change leaves them to the apply.
    let mut planned = prior.clone();
    planned.machine_pool = m(&config(
        false,
        vec![pool("cp", true, 3, vec![placement("C0", None)])],
    ))
    .machine_pool;
    planned.nodes = Attr::Unknown;
    refine_plan(&prior, &mut planned, &mut rr);
    assert!(planned.nodes.is_unknown());
}

/// What Palette would answer for `v`, with Palette's own YAML spelling.
fn remote_for(v: &Value) -> Remote {
    let e = V1SpectroVsphereClusterEntity::from(&m(v));
    let spec = e.spec.clone().unwrap();
    let cc = spec.cloud_config.clone().unwrap();
    let pools: Vec<V1VsphereMachinePoolConfig> = spec
        .machinepoolconfig
        .clone()
        .unwrap()
        .into_iter()
        .map(|m| {
            let pc = m.pool_config.unwrap();
            let cl = m.cloud_config.unwrap();
            V1VsphereMachinePoolConfig {
                name: pc.name,
                is_control_plane: pc.is_control_plane,
                use_control_plane_as_worker: pc.use_control_plane_as_worker,
                size: pc.size,
                additional_labels: pc.additional_labels,
                taints: pc.taints,
                update_strategy: pc.update_strategy,
                instance_type: cl.instance_type,
                placements: Some(
                    cl.placements
                        .unwrap()
                        .into_iter()
                        .map(|p| {
                            let n = p.network.unwrap();
                            V1VspherePlacementConfig {
                                cluster: p.cluster,
                                datastore: p.datastore,
                                resource_pool: p.resource_pool,
                                network: Some(V1VsphereNetworkConfig {
                                    network_name: n.network_name,
                                    static_ip: n.static_ip,
                                    parent_pool_ref: n.parent_pool_uid.map(|u| V1ObjectReference {
                                        uid: Some(u),
                                        ..Default::default()
                                    }),
                                    ip_pool: None,
                                }),
                                ..Default::default()
                            }
                        })
                        .collect(),
                ),
                ..Default::default()
            }
        })
        .collect();
    let pl = cc.placement.clone().unwrap();
    Remote {
        cluster: V1SpectroCluster {
            metadata: Some(V1ObjectMeta {
                uid: Some("c1".into()),
                ..e.metadata.clone().unwrap()
            }),
            spec: Some(V1SpectroClusterSpec {
                cloud_config_ref: Some(V1ObjectReference {
                    uid: Some("cc1".into()),
                    ..Default::default()
                }),
                cluster_profile_templates: Some(vec![V1ClusterProfileTemplate {
                    uid: Some("p1".into()),
                    packs: Some(vec![
                        V1PackRef {
                            name: Some("kubernetes".into()),
                            values: Some("b:\n- x\n- y\na: 1\n".into()),
                            ..Default::default()
                        },
                        V1PackRef {
                            name: Some("ubuntu".into()),
                            values: Some("os: 22.04".into()),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            status: Some(V1SpectroClusterStatus {
                state: Some("Running".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        config: V1VsphereCloudConfig {
            spec: Some(V1VsphereCloudConfigSpec {
                cloud_account_ref: Some(V1ObjectReference {
                    uid: Some("a1".into()),
                    ..Default::default()
                }),
                cluster_config: Some(V1VsphereClusterConfig {
                    control_plane_endpoint: cc.control_plane_endpoint,
                    ntp_servers: cc.ntp_servers,
                    ssh_keys: cc.ssh_keys,
                    static_ip: cc.static_ip,
                    placement: Some(V1VspherePlacementConfig {
                        datacenter: pl.datacenter,
                        folder: pl.folder,
                        image_template_folder: pl.image_template_folder,
                        ..Default::default()
                    }),
                }),
                machine_pool_config: Some(pools),
                ..Default::default()
            }),
            ..Default::default()
        },
        machines: BTreeMap::from([(
            "cp".to_string(),
            vec![V1VsphereMachine {
                metadata: Some(V1ObjectMeta {
                    name: Some("apps-cp-0".into()),
                    ..Default::default()
                }),
                spec: Some(V1VsphereMachineSpec {
                    nics: Some(vec![V1VsphereNic {
                        private_i_ps: Some(vec!["10.0.0.5".into()]),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                status: Some(palette_api::models::V1CloudMachineStatus {
                    instance_state: Some("Running".into()),
                    health: Some(palette_api::models::V1MachineHealth {
                        state: Some("Healthy".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }],
        )]),
        kubeconfig: None,
        profile_defaults: None,
    }
}

#[test]
fn state_read_back_equals_what_was_applied() {
    let v = config(
        true,
        vec![
            pool("cp", true, 1, vec![placement("C0", Some("ip1"))]),
            pool(
                "w",
                false,
                2,
                vec![placement("C0", Some("ip1")), placement("C1", Some("ip1"))],
            ),
        ],
    );
    let got = ClusterModel::from_remote(&remote_for(&v), &m(&v), "project");
    let mut want = m(&v);
    want.nodes = vec![Node {
        name: "apps-cp-0".into(),
        pool: "cp".into(),
        ip: "10.0.0.5".into(),
        vm_path: "/DC0/vm/palette/apps/apps-cp-0".into(),
        state: "Running".into(),
    }]
    .into();
    // Palette's reordered YAML reads back as the configuration's text.
    assert_eq!(got, want);
}

#[test]
fn drift_in_palette_shows_in_state() {
    let v = config(
        false,
        vec![pool("cp", true, 1, vec![placement("C0", None)])],
    );
    let mut r = remote_for(&v);
    let spec = r.config.spec.as_mut().unwrap();
    spec.machine_pool_config.as_mut().unwrap()[0].size = Some(3);
    r.cluster
        .spec
        .as_mut()
        .unwrap()
        .cluster_profile_templates
        .as_mut()
        .unwrap()[0]
        .packs
        .as_mut()
        .unwrap()[0]
        .values = Some("a: 2".into());
    let got = ClusterModel::from_remote(&r, &m(&v), "project");
    assert_eq!(got.machine_pool[0].count, Attr::Known(3));
    assert_eq!(got.cluster_profile[0].pack[0].values.as_str(), Some("a: 2"));
}

#[test]
fn import_keeps_only_overridden_packs_and_defaults() {
    let v = config(
        false,
        vec![pool("cp", true, 1, vec![placement("C0", None)])],
    );
    let mut r = remote_for(&v);
    r.profile_defaults = Some(BTreeMap::from([(
        "p1".to_string(),
        BTreeMap::from([
            ("kubernetes".to_string(), "a: 0".to_string()),
            ("ubuntu".to_string(), "os:   22.04".to_string()),
        ]),
    )]));
    let got = ClusterModel::from_remote(&r, &ClusterModel::default(), "project");
    let packs = &got.cluster_profile[0].pack;
    assert_eq!(packs.len(), 1);
    assert_eq!(packs[0].name.as_str(), Some("kubernetes"));
    assert_eq!(got.force_delete_delay.as_str(), Some("20m"));
    assert_eq!(got.force_delete, Attr::Known(false));
    assert_eq!(got.cc().ntp_servers, Attr::Null);
}

#[test]
fn an_update_returns_the_computed_values_its_plan_promised() {
    let mut planned = m(&config(
        false,
        vec![pool("cp", true, 1, vec![placement("C0", None)])],
    ));
    planned.nodes = vec![node("n-before")].into();
    let mut read = planned.clone();
    read.nodes = vec![node("n-after")].into();
    read.description = "from Palette".into();
    let got = keep_promised(&planned, read);
    assert_eq!(got.nodes, planned.nodes);
    assert_eq!(got.description.as_str(), Some("from Palette"));
    // What the plan left unknown comes from the read.
    planned.nodes = Attr::Unknown;
    let mut read = planned.clone();
    read.nodes = Attr::Known(vec![]);
    assert_eq!(keep_promised(&planned, read).nodes, Attr::Known(vec![]));
}

#[test]
fn reformatted_values_need_no_call() {
    let v = config(
        false,
        vec![pool("cp", true, 1, vec![placement("C0", None)])],
    );
    let v = m(&v);
    let mut w = v.clone();
    w.cluster_profile[0].pack = vec![Pack {
        name: "kubernetes".into(),
        values: "b: [x, y]\na: 1".into(),
    }];
    assert!(!profiles_changed(&v, &w));
    w.cluster_profile[0].pack = vec![Pack {
        name: "kubernetes".into(),
        values: "a: 3".into(),
    }];
    assert!(profiles_changed(&v, &w));
}

#[test]
fn bodies_carry_pools_placements_and_profiles() {
    let v = config(
        true,
        vec![
            pool("cp", true, 1, vec![placement("C0", Some("ip1"))]),
            pool(
                "w",
                false,
                2,
                vec![placement("C0", Some("ip1")), placement("C1", Some("ip1"))],
            ),
        ],
    );
    let e = V1SpectroVsphereClusterEntity::from(&m(&v));
    let spec = e.spec.unwrap();
    assert_eq!(spec.cloud_account_uid.as_deref(), Some("a1"));
    let pools = spec.machinepoolconfig.unwrap();
    let w = pools
        .iter()
        .find(|p| p.pool_config.as_ref().unwrap().name.as_deref() == Some("w"))
        .unwrap();
    let pls = w.cloud_config.as_ref().unwrap().placements.clone().unwrap();
    assert_eq!(pls.len(), 2);
    assert_eq!(
        pls[1].network.as_ref().unwrap().parent_pool_uid.as_deref(),
        Some("ip1")
    );
    let prof = &spec.profiles.unwrap()[0];
    assert_eq!(
        prof.pack_values.as_ref().unwrap()[0].name.as_deref(),
        Some("kubernetes")
    );
    assert_eq!(e.metadata.unwrap().labels.unwrap()["pci"], BARE_TAG);
}
