//! VMware clusters over HTTP (no provider) at a small time scale, checked
//! in vCenter through the vsphere crate and vim_rs, not the lab's word.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Env;
use serde_json::{json, Value};

const PASSWORD: &str = "Cl-Pa55";
const FOLDER: &str = "palette/clusters";

/// Two datastores, so that the two placements differ in cluster and datastore.
async fn env(time_scale: f64) -> Env {
    Env::scaled(PASSWORD, &["-ds", "2"], time_scale).await
}

/// A gateway, an IP pool on it and a vSphere account bound to it.
struct Fixture {
    gateway: String,
    pool: String,
    account: String,
    profile: String,
}

async fn fixture(env: &Env, project: Option<&str>, pool_end: &str) -> Fixture {
    let gateway = env.gateway("pcg").await;
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{gateway}/pools"),
            Some(json!({"metadata": {"name": "nodes"}, "spec": {"pool": {
                "start": "10.10.10.1", "end": pool_end, "prefix": 24, "gateway": "10.10.10.254"}}})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pool = v["uid"].as_str().unwrap().to_string();
    let (s, v) = env
        .call_in(
            "POST",
            "/v1/cloudaccounts/vsphere",
            project,
            Some(json!({
                "metadata": {"name": "dc0", "annotations": {"overlordUid": gateway}},
                "spec": {"vcenterServer": env.sim.server, "username": env.sim.user,
                         "password": PASSWORD, "insecure": true}
            })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let account = v["uid"].as_str().unwrap().to_string();
    let (s, v) = env
        .call(
            "POST",
            "/v1/dashboard/clusterprofiles",
            Some(json!({"filter": {"profileName": {"eq": "vsphere-ubuntu-k8s"}, "version": {"eq": "1.1.0"}}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let profile = v["items"][0]["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    Fixture {
        gateway,
        pool,
        account,
        profile,
    }
}

fn placement(cluster: &str, datastore: &str, pool: Option<&str>) -> Value {
    let mut network = json!({"networkName": "VM Network", "staticIp": pool.is_some()});
    if let Some(p) = pool {
        network["parentPoolUid"] = json!(p);
    }
    json!({"cluster": cluster, "datastore": datastore, "resourcePool": "", "network": network})
}

fn pool_body(name: &str, cp: bool, size: i32, placements: Vec<Value>) -> Value {
    json!({
        "poolConfig": {"name": name, "isControlPlane": cp, "size": size,
                       "labels": [if cp { "control-plane" } else { "worker" }],
                       "useControlPlaneAsWorker": false},
        "cloudConfig": {"instanceType": {"numCPUs": 2, "memoryMiB": 4096, "diskGiB": 60},
                        "placements": placements}
    })
}

/// Control plane of 1 on DC0_C0; `workers` nodes over DC0_C0/LocalDS_0
/// and DC0_C1/LocalDS_1.
fn cluster_body(name: &str, f: &Fixture, static_ip: bool, workers: i32) -> Value {
    let pool = static_ip.then_some(f.pool.as_str());
    json!({
        "metadata": {"name": name, "labels": {"env": "test", "team": "spectro__tag"},
                     "annotations": {"description": "a lab cluster"}},
        "spec": {
            "cloudAccountUid": f.account,
            "profiles": [{"uid": f.profile, "packValues": [
                {"name": "kubernetes", "tag": "1.30.2", "values": "pack:\n  podCIDR: \"172.16.0.0/16\"\n"}
            ]}],
            "cloudConfig": {
                "placement": {"datacenter": "DC0", "folder": FOLDER, "imageTemplateFolder": "spectro-templates"},
                "sshKeys": ["ssh-ed25519 AAAA lab"], "ntpServers": ["0.pool.ntp.org"],
                "staticIp": static_ip,
                "controlPlaneEndpoint": {"type": "VIP"}
            },
            "machinepoolconfig": [
                pool_body("cp", true, 1, vec![placement("DC0_C0", "LocalDS_0", pool)]),
                pool_body("worker", false, workers, vec![
                    placement("DC0_C0", "LocalDS_0", pool),
                    placement("DC0_C1", "LocalDS_1", pool),
                ]),
            ]
        }
    })
}

async fn create(env: &Env, project: Option<&str>, body: Value) -> String {
    let (s, v) = env
        .call_in("POST", "/v1/spectroclusters/vsphere", project, Some(body))
        .await;
    assert_eq!(s, 201, "{v}");
    v["uid"].as_str().unwrap().to_string()
}

async fn cluster(env: &Env, uid: &str) -> Value {
    let (s, v) = env
        .call("GET", &format!("/v1/spectroclusters/{uid}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn wait_state(env: &Env, uid: &str, state: &str) -> Value {
    env.wait_for(&format!("{uid} {state}"), async || {
        let (_, v) = env
            .call("GET", &format!("/v1/spectroclusters/{uid}"), None)
            .await;
        (v["status"]["state"] == state).then_some(v)
    })
    .await
}

fn config_uid(c: &Value) -> String {
    c["spec"]["cloudConfigRef"]["uid"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn machines(env: &Env, config: &str, pool: &str) -> Vec<Value> {
    let (s, v) = env
        .call(
            "GET",
            &format!("/v1/cloudconfigs/vsphere/{config}/machinePools/{pool}/machines"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn put_pool(env: &Env, config: &str, name: &str, body: Value) {
    let (s, v) = env
        .call(
            "PUT",
            &format!("/v1/cloudconfigs/vsphere/{config}/machinePools/{name}"),
            Some(body),
        )
        .await;
    assert_eq!(s, 204, "{v}");
}

async fn pool_status(env: &Env, f: &Fixture) -> Value {
    let (_, v) = env
        .call(
            "GET",
            &format!("/v1/overlords/vsphere/{}/pools", f.gateway),
            None,
        )
        .await;
    v["items"][0]["status"].clone()
}

async fn event_reasons(env: &Env, uid: &str) -> Vec<(String, String, String)> {
    let (_, ev) = env
        .call(
            "GET",
            &format!("/v1/events/components/spectrocluster/{uid}"),
            None,
        )
        .await;
    ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap().to_string(),
                e["severity"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Where vCenter says a VM is: (compute cluster, datastore), read from the
/// VM's resource pool and datastores.
async fn vm_location(env: &Env, vm_name: &str) -> (String, String) {
    let s = env.session().await;
    let vm = s
        .find("virtual machine", &format!("DC0/vm/{FOLDER}/{vm_name}"))
        .await
        .unwrap();
    let client: Arc<dyn vim_rs::core::client::VimClient> = s.vim().clone();
    let m = vim_rs::mo::VirtualMachine::new(client, &vm.value);
    let pool = m.resource_pool().await.unwrap().unwrap();
    let datastores = m.datastore().await.unwrap().unwrap_or_default();
    let mut cluster = String::new();
    for c in ["DC0_C0", "DC0_C1"] {
        let rp = s
            .find("resource pool", &format!("DC0/host/{c}/Resources"))
            .await
            .unwrap();
        if rp.value == pool.value {
            cluster = c.to_string();
        }
    }
    let mut datastore = String::new();
    for d in ["LocalDS_0", "LocalDS_1"] {
        let ds = s
            .find("datastore", &format!("DC0/datastore/{d}"))
            .await
            .unwrap();
        if datastores.iter().any(|x| x.value == ds.value) {
            datastore = d.to_string();
        }
    }
    let _ = s.logout().await;
    (cluster, datastore)
}

async fn vm_names(env: &Env, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = env
        .vms_named(prefix)
        .await
        .into_iter()
        .map(|v| v.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn static_ip_cluster_runs_scales_and_deletes() {
    let env = env(0.001).await;
    let f = fixture(&env, None, "10.10.10.20").await;
    let uid = create(&env, None, cluster_body("apps", &f, true, 2)).await;
    let (_, v) = env
        .call("GET", &format!("/v1/spectroclusters/{uid}/status"), None)
        .await;
    // Pending for one lab minute (60 ms here), then Provisioning.
    let early = v["status"]["state"].as_str().unwrap_or_default();
    assert!(["Pending", "Provisioning"].contains(&early), "{v}");

    let c = wait_state(&env, &uid, "Running").await;
    assert_eq!(c["metadata"]["name"], "apps");
    assert_eq!(c["metadata"]["labels"]["env"], "test");
    assert_eq!(c["metadata"]["annotations"]["description"], "a lab cluster");
    assert_eq!(c["metadata"]["annotations"]["scope"], "tenant");
    let packs = c["spec"]["clusterProfileTemplates"][0]["packs"]
        .as_array()
        .unwrap();
    let k8s = packs.iter().find(|p| p["name"] == "kubernetes").unwrap();
    assert!(k8s["values"].as_str().unwrap().contains("172.16.0.0/16"));
    let cni = packs.iter().find(|p| p["name"] == "cni-calico").unwrap();
    assert!(
        cni["values"].as_str().unwrap().contains("calico-ipam"),
        "profile default"
    );
    assert_eq!(
        c["spec"]["clusterProfileTemplates"][0]["profileVersion"],
        "1.1.0"
    );
    let config = config_uid(&c);

    // vCenter: one VM per node, workers round-robin over the two placements.
    assert_eq!(
        vm_names(&env, "apps-").await,
        vec!["apps-cp-0", "apps-worker-0", "apps-worker-1"]
    );
    assert_eq!(
        vm_location(&env, "apps-worker-0").await,
        ("DC0_C0".into(), "LocalDS_0".into())
    );
    assert_eq!(
        vm_location(&env, "apps-worker-1").await,
        ("DC0_C1".into(), "LocalDS_1".into())
    );
    assert!(env.vms_named("apps-").await.iter().all(|v| v.powered_on));

    // Addresses: one per node, from the pool, shown on the pool.
    let cp = machines(&env, &config, "cp").await;
    assert_eq!(cp.len(), 1);
    assert_eq!(cp[0]["metadata"]["name"], "apps-cp-0");
    assert_eq!(cp[0]["status"]["instanceState"], "Running");
    assert_eq!(cp[0]["spec"]["nics"][0]["privateIPs"][0], "10.10.10.1");
    assert_eq!(cp[0]["spec"]["placement"]["datacenter"], "DC0");
    assert_eq!(cp[0]["spec"]["vcenterServer"], env.sim.server.as_str());
    let workers = machines(&env, &config, "worker").await;
    assert_eq!(workers[1]["spec"]["placement"]["cluster"], "DC0_C1");
    assert_eq!(workers[1]["spec"]["placement"]["datastore"], "LocalDS_1");
    assert_eq!(
        workers[1]["spec"]["placement"]["network"]["networkName"],
        "VM Network"
    );
    let st = pool_status(&env, &f).await;
    assert_eq!(st["allottedIps"].as_array().unwrap().len(), 3, "{st}");
    assert!(st["associatedClusters"]
        .as_array()
        .unwrap()
        .contains(&json!(uid)));
    let ips: Vec<String> = env
        .vms_named("apps-")
        .await
        .iter()
        .filter_map(|v| v.extra_config.get("guestinfo.palette.ip").cloned())
        .collect();
    assert_eq!(ips.len(), 3);

    let (s, kc) = env
        .call_text(
            "GET",
            &format!("/v1/spectroclusters/{uid}/assets/kubeconfig"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(kc.contains("server: https://10.10.10.1:6443"), "{kc}");
    assert!(kc.contains("name: apps"), "{kc}");
    // Verified with the cluster's CA, as Palette's kubeconfigs are.
    let ca = kc
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data: "))
        .expect("certificate-authority-data");
    let pem = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, ca).unwrap(),
    )
    .unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    assert!(!kc.contains("insecure-skip-tls-verify"));

    // The cloud config reflects what was asked.
    let (_, cc) = env
        .call("GET", &format!("/v1/cloudconfigs/vsphere/{config}"), None)
        .await;
    assert_eq!(cc["spec"]["cloudAccountRef"]["uid"], f.account.as_str());
    assert_eq!(cc["spec"]["clusterConfig"]["placement"]["folder"], FOLDER);
    let pools = cc["spec"]["machinePoolConfig"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    assert_eq!(pools[1]["placements"].as_array().unwrap().len(), 2);
    assert_eq!(
        pools[1]["placements"][0]["network"]["parentPoolRef"]["uid"],
        f.pool.as_str()
    );

    // Scale 2 -> 4 -> 1: VMs follow, highest indices go first.
    put_pool(
        &env,
        &config,
        "worker",
        pool_body(
            "worker",
            false,
            4,
            vec![
                placement("DC0_C0", "LocalDS_0", Some(&f.pool)),
                placement("DC0_C1", "LocalDS_1", Some(&f.pool)),
            ],
        ),
    )
    .await;
    // Provisioning until the VMs match (the events below show the
    // transition; on a loaded machine the lab may already be Running here).
    let now = cluster(&env, &uid).await["status"]["state"].clone();
    assert!(now == "Provisioning" || now == "Running", "{now}");
    wait_state(&env, &uid, "Running").await;
    assert_eq!(vm_names(&env, "apps-worker-").await.len(), 4);
    assert_eq!(
        vm_location(&env, "apps-worker-3").await,
        ("DC0_C1".into(), "LocalDS_1".into())
    );
    assert_eq!(
        pool_status(&env, &f).await["allottedIps"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    put_pool(
        &env,
        &config,
        "worker",
        pool_body(
            "worker",
            false,
            1,
            vec![
                placement("DC0_C0", "LocalDS_0", Some(&f.pool)),
                placement("DC0_C1", "LocalDS_1", Some(&f.pool)),
            ],
        ),
    )
    .await;
    wait_state(&env, &uid, "Running").await;
    assert_eq!(vm_names(&env, "apps-worker-").await, vec!["apps-worker-0"]);
    assert_eq!(machines(&env, &config, "worker").await.len(), 1);
    assert_eq!(
        pool_status(&env, &f).await["allottedIps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A second worker pool comes and goes.
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/cloudconfigs/vsphere/{config}/machinePools"),
            Some(pool_body(
                "gpu",
                false,
                2,
                vec![placement("DC0_C1", "LocalDS_1", Some(&f.pool))],
            )),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    wait_state(&env, &uid, "Running").await;
    assert_eq!(
        vm_names(&env, "apps-gpu-").await,
        vec!["apps-gpu-0", "apps-gpu-1"]
    );
    let (s, v) = env
        .call(
            "DELETE",
            &format!("/v1/cloudconfigs/vsphere/{config}/machinePools/cp"),
            None,
        )
        .await;
    assert_eq!(s, 400, "the control plane stays: {v}");
    let (s, _) = env
        .call(
            "DELETE",
            &format!("/v1/cloudconfigs/vsphere/{config}/machinePools/gpu"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    wait_state(&env, &uid, "Running").await;
    assert!(vm_names(&env, "apps-gpu-").await.is_empty());

    // The account and the gateway are in use.
    let (s, v) = env
        .call(
            "DELETE",
            &format!("/v1/cloudaccounts/vsphere/{}", f.account),
            None,
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("apps"), "{v}");
    let (s, v) = env
        .call("DELETE", &format!("/v1/overlords/{}", f.gateway), None)
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("apps"), "{v}");

    // Delete: Deleting, VMs gone, addresses back, then gone from the API.
    let (s, _) = env
        .call("DELETE", &format!("/v1/spectroclusters/{uid}"), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(cluster(&env, &uid).await["status"]["state"], "Deleting");
    env.wait_for("deleted", async || {
        let (s, _) = env
            .call("GET", &format!("/v1/spectroclusters/{uid}"), None)
            .await;
        (s == 404).then_some(Value::Null)
    })
    .await;
    assert!(vm_names(&env, "apps-").await.is_empty());
    let st = pool_status(&env, &f).await;
    assert_eq!(st["allottedIps"], json!([]), "{st}");
    assert_eq!(st["associatedClusters"], json!([]), "{st}");
    let (_, list) = env
        .call(
            "POST",
            "/v1/dashboard/spectroclusters/search",
            Some(json!({})),
        )
        .await;
    assert_eq!(list["items"], json!([]));
    let (s, v) = env
        .call(
            "DELETE",
            &format!("/v1/cloudaccounts/vsphere/{}", f.account),
            None,
        )
        .await;
    assert_eq!(s, 204, "{v}");

    let reasons: Vec<String> = event_reasons(&env, &uid)
        .await
        .into_iter()
        .map(|(r, _, _)| r)
        .collect();
    for r in [
        "Created",
        "Provisioning",
        "NodeCreated",
        "Running",
        "MachinePoolsChanged",
        "NodeDeleted",
        "Deleting",
        "Deleted",
    ] {
        assert!(reasons.contains(&r.to_string()), "{r} missing: {reasons:?}");
    }
}

#[tokio::test]
async fn dhcp_cluster_changes_in_place_and_stays_in_its_project() {
    let env = env(0.001).await;
    let default = env.project("Default").await;
    let production = env.project("Production").await;
    let f = fixture(&env, Some(&default), "10.10.10.20").await;
    let uid = create(&env, Some(&default), cluster_body("web", &f, false, 1)).await;

    // Another project, or the tenant, does not see it.
    for scope in [Some(production.as_str()), None] {
        let (s, _) = env
            .call_in("GET", &format!("/v1/spectroclusters/{uid}"), scope, None)
            .await;
        assert_eq!(s, 404);
        let (_, list) = env
            .call_in(
                "POST",
                "/v1/dashboard/spectroclusters/search",
                scope,
                Some(json!({})),
            )
            .await;
        assert_eq!(list["items"], json!([]));
    }
    let (s, _) = env
        .call_in(
            "DELETE",
            &format!("/v1/spectroclusters/{uid}"),
            Some(&production),
            None,
        )
        .await;
    assert_eq!(s, 404);

    let c = env
        .wait_for("Running", async || {
            let (_, v) = env
                .call_in(
                    "GET",
                    &format!("/v1/spectroclusters/{uid}"),
                    Some(&default),
                    None,
                )
                .await;
            (v["status"]["state"] == "Running").then_some(v)
        })
        .await;
    assert_eq!(c["metadata"]["annotations"]["scope"], "project");
    let config = config_uid(&c);
    let (s, list) = env
        .call_in(
            "GET",
            &format!("/v1/cloudconfigs/vsphere/{config}/machinePools/worker/machines"),
            Some(&default),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let m = &list["items"][0];
    assert_eq!(m["metadata"]["name"], "web-worker-0");
    assert!(m["spec"]["nics"][0].get("privateIPs").is_none(), "{m}");
    assert!(env
        .vms_named("web-")
        .await
        .iter()
        .all(|v| !v.extra_config.contains_key("guestinfo.palette.ip")));
    let (s, kc) = env
        .call_text(
            "GET",
            &format!("/v1/spectroclusters/{uid}/assets/kubeconfig"),
            Some(&default),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(kc.contains(":6443"), "{kc}");

    // Search by name, case folded or not.
    let by_name = |name: &str, ignore_case: bool| {
        json!({"filter": {"conjunction": "and", "filterGroups": [{"conjunction": "and", "filters": [
            {"property": "clusterName", "condition": {"string": {
                "operator": "eq", "negation": false, "ignoreCase": ignore_case,
                "match": {"conjunction": "or", "values": [name]}}}},
            {"property": "isDeleted", "condition": {"bool": {"value": false}}}
        ]}]}, "sort": [{"field": "clusterName", "order": "asc"}]})
    };
    for (name, ic, n) in [
        ("web", false, 1),
        ("WEB", false, 0),
        ("WEB", true, 1),
        ("db", false, 0),
    ] {
        let (s, v) = env
            .call_in(
                "POST",
                "/v1/dashboard/spectroclusters/search",
                Some(&default),
                Some(by_name(name, ic)),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["items"].as_array().unwrap().len(), n, "{name} {ic}: {v}");
        if n == 1 {
            assert_eq!(v["items"][0]["metadata"]["uid"], uid.as_str());
            assert_eq!(v["items"][0]["status"]["state"], "Running");
            assert_eq!(
                v["items"][0]["specSummary"]["cloudConfig"]["uid"],
                config.as_str()
            );
        }
    }

    // Pack values: the named pack changes, the others keep theirs.
    let (s, v) = env
        .call_in(
            "PATCH",
            &format!("/v1/spectroclusters/{uid}/profiles"),
            Some(&default),
            Some(json!({"profiles": [{"uid": f.profile, "packValues": [
                {"name": "cni-calico", "tag": "3.27.0", "values": "manifests:\n  calico: {}\n"}]}]})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, v) = env
        .call_in(
            "PATCH",
            &format!("/v1/spectroclusters/{uid}/profiles"),
            Some(&default),
            Some(json!({"profiles": [{"uid": f.profile, "packValues": [{"name": "nginx", "values": "x: 1"}]}]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("nginx") && msg.contains("cni-calico"), "{msg}");
    // Metadata: tags and description.
    let (s, v) = env
        .call_in(
            "PATCH",
            &format!("/v1/spectroclusters/{uid}/metadata"),
            Some(&default),
            Some(
                json!({"metadata": {"name": "web", "labels": {"env": "prod", "foo": "spectro__tag"},
                                      "annotations": {"description": "the web tier"}}}),
            ),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    // Cluster config: SSH keys change in place; the network mode does not.
    let (s, v) = env
        .call_in(
            "PUT",
            &format!("/v1/cloudconfigs/vsphere/{config}/clusterConfig"),
            Some(&default),
            Some(json!({"clusterConfig": {"placement": {"datacenter": "DC0", "folder": FOLDER},
                "sshKeys": ["ssh-ed25519 BBBB new"], "ntpServers": ["1.pool.ntp.org"], "staticIp": false,
                "controlPlaneEndpoint": {"type": "DDNS", "ddnsSearchDomain": "lab.local"}}})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    for bad in [
        json!({"clusterConfig": {"placement": {"datacenter": "DC0", "folder": FOLDER}, "staticIp": true}}),
        json!({"clusterConfig": {"placement": {"datacenter": "DC0", "folder": "elsewhere"}}}),
    ] {
        let (s, v) = env
            .call_in(
                "PUT",
                &format!("/v1/cloudconfigs/vsphere/{config}/clusterConfig"),
                Some(&default),
                Some(bad),
            )
            .await;
        assert_eq!(s, 400, "{v}");
    }

    let (_, c) = env
        .call_in(
            "GET",
            &format!("/v1/spectroclusters/{uid}"),
            Some(&default),
            None,
        )
        .await;
    assert_eq!(c["status"]["state"], "Running", "in-place changes");
    assert_eq!(
        c["metadata"]["labels"],
        json!({"env": "prod", "foo": "spectro__tag"})
    );
    assert_eq!(c["metadata"]["annotations"]["description"], "the web tier");
    let packs = c["spec"]["clusterProfileTemplates"][0]["packs"]
        .as_array()
        .unwrap();
    let value = |n: &str| {
        packs.iter().find(|p| p["name"] == n).unwrap()["values"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(value("cni-calico"), "manifests:\n  calico: {}\n");
    assert!(value("kubernetes").contains("172.16.0.0/16"));
    let (_, cc) = env
        .call_in(
            "GET",
            &format!("/v1/cloudconfigs/vsphere/{config}"),
            Some(&default),
            None,
        )
        .await;
    assert_eq!(
        cc["spec"]["clusterConfig"]["sshKeys"],
        json!(["ssh-ed25519 BBBB new"])
    );
    assert_eq!(
        cc["spec"]["clusterConfig"]["controlPlaneEndpoint"]["type"],
        "DDNS"
    );
}

#[tokio::test]
async fn invalid_specs_are_refused_naming_what_is_wrong() {
    let env = env(0.001).await;
    let f = fixture(&env, None, "10.10.10.20").await;
    let ok = cluster_body("ok", &f, true, 2);
    let (s, v) = env
        .call(
            "POST",
            "/v1/spectroclusters/vsphere/validate",
            Some(ok.clone()),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["machinePools"]["results"].as_array().unwrap().len(), 2);

    let change = |f: &dyn Fn(&mut Value)| {
        let mut b = ok.clone();
        f(&mut b);
        b
    };
    let pools = "/spec/machinepoolconfig";
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "uppercase name",
            change(&|b| b["metadata"]["name"] = json!("Apps")),
            "metadata.name",
        ),
        (
            "long name",
            change(&|b| b["metadata"]["name"] = json!("a".repeat(33))),
            "at most 32",
        ),
        (
            "unknown account",
            change(&|b| b["spec"]["cloudAccountUid"] = json!("0123456789abcdef01234567")),
            "0123456789abcdef01234567",
        ),
        (
            "unknown profile",
            change(&|b| b["spec"]["profiles"][0]["uid"] = json!("0123456789abcdef0123456f")),
            "0123456789abcdef0123456f",
        ),
        (
            "pack not in the profile",
            change(&|b| b["spec"]["profiles"][0]["packValues"][0]["name"] = json!("nginx")),
            "csi-vsphere-csi",
        ),
        (
            "two control planes",
            change(&|b| {
                let cp = b.pointer(pools).unwrap()[0].clone();
                b.pointer_mut(pools).unwrap()[1] = cp;
                b.pointer_mut(pools).unwrap()[1]["poolConfig"]["name"] = json!("cp2");
            }),
            "exactly one control-plane",
        ),
        (
            "no control plane",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[0]["poolConfig"]["isControlPlane"] = json!(false)
            }),
            "exactly one control-plane",
        ),
        (
            "control plane of 2",
            change(&|b| b.pointer_mut(pools).unwrap()[0]["poolConfig"]["size"] = json!(2)),
            "1, 3 or 5",
        ),
        (
            "control plane over two placements",
            change(&|b| {
                let two = b.pointer(pools).unwrap()[1]["cloudConfig"]["placements"].clone();
                b.pointer_mut(pools).unwrap()[0]["cloudConfig"]["placements"] = two;
            }),
            "exactly one placement",
        ),
        (
            "same pool name twice",
            change(&|b| b.pointer_mut(pools).unwrap()[1]["poolConfig"]["name"] = json!("cp")),
            "used twice",
        ),
        (
            "pool name",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[1]["poolConfig"]["name"] = json!("Workers_1")
            }),
            "Workers_1",
        ),
        (
            "negative size",
            change(&|b| b.pointer_mut(pools).unwrap()[1]["poolConfig"]["size"] = json!(-1)),
            "negative",
        ),
        (
            "no placement",
            change(&|b| b.pointer_mut(pools).unwrap()[1]["cloudConfig"]["placements"] = json!([])),
            "at least one placement",
        ),
        (
            "static without a pool",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[1]["cloudConfig"]["placements"][1]["network"] =
                    json!({"networkName": "VM Network"});
            }),
            "parentPoolUid",
        ),
        (
            "a pool of no gateway",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[1]["cloudConfig"]["placements"][1]["network"]
                    ["parentPoolUid"] = json!("0123456789abcdef01234567");
            }),
            "not an IP pool of gateway 'pcg'",
        ),
        (
            "DHCP with a pool",
            change(&|b| b["spec"]["cloudConfig"]["staticIp"] = json!(false)),
            "DHCP",
        ),
        (
            "missing datacenter",
            change(&|b| b["spec"]["cloudConfig"]["placement"]["datacenter"] = json!("DC9")),
            "\"DC9\"",
        ),
        (
            "missing cluster",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[1]["cloudConfig"]["placements"][1]["cluster"] =
                    json!("DC0_C9")
            }),
            "DC0/host/DC0_C9",
        ),
        (
            "missing datastore",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[1]["cloudConfig"]["placements"][1]["datastore"] =
                    json!("NoSuchDS")
            }),
            "datastore \"DC0/datastore/NoSuchDS\" not found",
        ),
        (
            "missing network",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[1]["cloudConfig"]["placements"][0]["network"]
                    ["networkName"] = json!("Nope Net")
            }),
            "DC0/network/Nope Net",
        ),
        (
            "missing resource pool",
            change(&|b| {
                b.pointer_mut(pools).unwrap()[1]["cloudConfig"]["placements"][0]["resourcePool"] =
                    json!("gold")
            }),
            "DC0/host/DC0_C0/Resources/gold",
        ),
        (
            "bad endpoint type",
            change(&|b| b["spec"]["cloudConfig"]["controlPlaneEndpoint"]["type"] = json!("Magic")),
            "VIP or DDNS",
        ),
    ];
    for (what, body, needle) in cases {
        for path in [
            "/v1/spectroclusters/vsphere/validate",
            "/v1/spectroclusters/vsphere",
        ] {
            let (s, v) = env.call("POST", path, Some(body.clone())).await;
            assert_eq!(s, 400, "{what} at {path}: {v}");
            if what == "bad endpoint type" {
                // Outside the spec's enum: the contract check saw it too.
                let op = if path.ends_with("validate") {
                    "v1SpectroClustersVsphereValidate"
                } else {
                    "v1SpectroClustersVsphereCreate"
                };
                let seen = env.lab.lab.contract.take(op, "\"Magic\" is not one of");
                assert_eq!(seen.len(), 1, "{seen:?}");
            }
            let msg = v["message"].as_str().unwrap_or_default();
            assert!(msg.contains(needle), "{what}: {needle:?} not in {msg:?}");
        }
    }
    // Nothing was made by the refused creates.
    let (_, list) = env
        .call("POST", "/v1/dashboard/spectroclusters/search", None)
        .await;
    assert_eq!(list["items"], json!([]));
    assert!(vm_names(&env, "ok-").await.is_empty());

    // A name is unique among the clusters of a scope.
    create(&env, None, ok.clone()).await;
    let (s, v) = env
        .call("POST", "/v1/spectroclusters/vsphere", Some(ok))
        .await;
    assert_eq!(s, 409, "{v}");
}

#[tokio::test]
async fn an_exhausted_pool_fails_the_cluster_and_says_which() {
    let env = env(0.001).await;
    // Two addresses for three nodes.
    let f = fixture(&env, None, "10.10.10.2").await;
    let uid = create(&env, None, cluster_body("big", &f, true, 2)).await;
    let c = wait_state(&env, &uid, "Failed").await;
    let cond = &c["status"]["conditions"][0];
    assert_eq!(cond["reason"], "IPPoolExhausted", "{c}");
    assert!(cond["message"].as_str().unwrap().contains("'nodes'"), "{c}");
    let ev = event_reasons(&env, &uid).await;
    let (_, severity, message) = ev
        .iter()
        .find(|(r, _, _)| r == "IPPoolExhausted")
        .expect("an IPPoolExhausted event");
    assert_eq!(severity, "Warning");
    assert!(message.contains("IP pool 'nodes'"), "{message}");
    // What was allotted stays allotted until the cluster goes.
    let st = pool_status(&env, &f).await;
    assert_eq!(st["allottedIps"].as_array().unwrap().len(), 2, "{st}");
    let (s, _) = env
        .call("DELETE", &format!("/v1/spectroclusters/{uid}"), None)
        .await;
    assert_eq!(s, 204);
    env.wait_for("deleted", async || {
        let (s, _) = env
            .call("GET", &format!("/v1/spectroclusters/{uid}"), None)
            .await;
        (s == 404).then_some(Value::Null)
    })
    .await;
    assert_eq!(pool_status(&env, &f).await["allottedIps"], json!([]));
    assert!(vm_names(&env, "big-").await.is_empty());
}

#[tokio::test]
async fn faults_fail_provisioning_and_hang_deletion_until_force_delete() {
    let env = env(0.002).await;
    let f = fixture(&env, None, "10.10.10.20").await;

    let (s, fault) = env
        .admin(
            "POST",
            "/lab/cluster-faults",
            Some(json!({"kind": "provisioning_fails", "cluster_name": "doomed"})),
        )
        .await;
    assert_eq!(s, 201, "{fault}");
    let doomed = create(&env, None, cluster_body("doomed", &f, false, 0)).await;
    let fine = create(&env, None, cluster_body("fine", &f, false, 0)).await;
    wait_state(&env, &doomed, "Failed").await;
    let (s, v) = env
        .call(
            "GET",
            &format!("/v1/spectroclusters/{doomed}/assets/kubeconfig"),
            None,
        )
        .await;
    assert_eq!(s, 404, "no kubeconfig without a control plane: {v}");
    assert!(event_reasons(&env, &doomed)
        .await
        .iter()
        .any(|(r, s, _)| r == "ProvisioningFailed" && s == "Error"));
    wait_state(&env, &fine, "Running").await;
    let (s, _) = env
        .admin(
            "DELETE",
            &format!("/lab/cluster-faults/{}", fault["id"]),
            None,
        )
        .await;
    assert_eq!(s, 204);

    // Deletion hangs for every cluster while the fault is on.
    let (s, _) = env
        .admin(
            "POST",
            "/lab/cluster-faults",
            Some(json!({"kind": "deletion_hangs"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, v) = env
        .call(
            "DELETE",
            &format!("/v1/spectroclusters/{fine}?forceDelete=true"),
            None,
        )
        .await;
    assert_eq!(s, 400, "force delete before any deletion: {v}");
    let (s, _) = env
        .call("DELETE", &format!("/v1/spectroclusters/{fine}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, v) = env
        .call(
            "DELETE",
            &format!("/v1/spectroclusters/{fine}?forceDelete=true"),
            None,
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("15 minutes"), "{msg}");
    assert!(msg.contains("from now"), "{msg}");
    // Well past the delete delay, it still hangs, VMs and all.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(cluster(&env, &fine).await["status"]["state"], "Deleting");
    assert_eq!(vm_names(&env, "fine-").await, vec!["fine-cp-0"]);
    // 15 lab minutes are 1.8 s here.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (s, v) = env
        .call(
            "DELETE",
            &format!("/v1/spectroclusters/{fine}?forceDelete=true"),
            None,
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, _) = env
        .call("GET", &format!("/v1/spectroclusters/{fine}"), None)
        .await;
    assert_eq!(s, 404);
    assert!(vm_names(&env, "fine-").await.is_empty());
    let (_, list) = env.admin("GET", "/lab/cluster-faults", None).await;
    assert_eq!(list[0]["fault"]["kind"], "deletion_hangs", "{list}");
    let (s, _) = env.admin("DELETE", "/lab/cluster-faults", None).await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn vms_changed_in_vcenter_show_in_the_machines_list_until_the_pool_is_put_again() {
    let env = env(0.001).await;
    let f = fixture(&env, None, "10.10.10.20").await;
    let uid = create(&env, None, cluster_body("drift", &f, true, 2)).await;
    let c = wait_state(&env, &uid, "Running").await;
    let config = config_uid(&c);
    let before = machines(&env, &config, "worker").await;
    let ip1 = before[1]["spec"]["nics"][0]["privateIPs"][0].clone();

    let s = env.session().await;
    let vms = env.vms_named("drift-worker-").await;
    let w0 = vms.iter().find(|v| v.name == "drift-worker-0").unwrap();
    let w1 = vms.iter().find(|v| v.name == "drift-worker-1").unwrap();
    s.destroy_vm(&w1.moref).await.unwrap();
    s.power_off(&w0.moref).await.unwrap();
    let _ = s.logout().await;

    // Nothing heals on read.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let now = machines(&env, &config, "worker").await;
    // The spec's state for both is Unknown; the health condition says why.
    let reason = |m: &Value| m["status"]["health"]["conditions"][0]["reason"].clone();
    assert_eq!(now[0]["status"]["instanceState"], "Unknown");
    assert_eq!(reason(&now[0]), "PoweredOff");
    assert_eq!(now[1]["status"]["instanceState"], "Unknown");
    assert_eq!(reason(&now[1]), "NotFound");
    assert_eq!(now[1]["status"]["health"]["state"], "Unhealthy");
    assert_eq!(
        vm_names(&env, "drift-worker-").await,
        vec!["drift-worker-0"]
    );
    assert_eq!(cluster(&env, &uid).await["status"]["state"], "Running");

    // PUTting the pool again heals: same names, same addresses.
    put_pool(
        &env,
        &config,
        "worker",
        pool_body(
            "worker",
            false,
            2,
            vec![
                placement("DC0_C0", "LocalDS_0", Some(&f.pool)),
                placement("DC0_C1", "LocalDS_1", Some(&f.pool)),
            ],
        ),
    )
    .await;
    wait_state(&env, &uid, "Running").await;
    let vms = env.vms_named("drift-worker-").await;
    assert_eq!(vms.len(), 2);
    assert!(vms.iter().all(|v| v.powered_on));
    let healed = machines(&env, &config, "worker").await;
    assert!(healed
        .iter()
        .all(|m| m["status"]["instanceState"] == "Running"));
    assert_eq!(healed[1]["spec"]["nics"][0]["privateIPs"][0], ip1);
    let reasons: Vec<String> = event_reasons(&env, &uid)
        .await
        .into_iter()
        .map(|(r, _, _)| r)
        .collect();
    assert!(reasons.contains(&"NodeMissing".to_string()), "{reasons:?}");
    assert!(
        reasons.contains(&"NodePoweredOn".to_string()),
        "{reasons:?}"
    );
}

/// The document: upgrading a gateway causes no downtime for its clusters,
/// and "new cluster requests are queued while the gateway is being upgraded
/// and are processed as soon as the gateway upgrade is complete". The
/// upgrade reaches the gateway as a notification of its own cluster.
#[tokio::test]
async fn a_gateway_upgrade_queues_new_clusters_and_leaves_running_ones_alone() {
    // Upgrade 3.6 s, Pending 1.2 s.
    let env = env(0.02).await;
    let f = fixture(&env, None, "10.10.10.20").await;
    let running = create(&env, None, cluster_body("old", &f, false, 1)).await;
    wait_state(&env, &running, "Running").await;
    let old_vms = vm_names(&env, "old-").await;
    assert!(!old_vms.is_empty());

    let (_, gw) = env
        .call("GET", &format!("/v1/overlords/{}", f.gateway), None)
        .await;
    assert_eq!(gw["status"]["notifications"]["isAvailable"], false);
    let gw_cluster = gw["spec"]["spectroClusterUid"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = env
        .admin(
            "POST",
            &format!("/lab/gateways/{}/upgrade", f.gateway),
            Some(json!({"available": true})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, gw) = env
        .call("GET", &format!("/v1/overlords/{}", f.gateway), None)
        .await;
    assert_eq!(gw["status"]["notifications"]["isAvailable"], true);
    let list = format!("/v1/notifications/spectrocluster/{gw_cluster}");
    let (s, n) = env.call("GET", &list, None).await;
    assert_eq!(s, 200, "{n}");
    assert_eq!(n["items"].as_array().unwrap().len(), 1, "{n}");
    let note = &n["items"][0];
    assert_eq!(note["type"], "NotificationPackUpdate");
    assert_eq!(note["relatedObject"]["uid"], gw_cluster.as_str());
    assert_eq!(note["action"]["isDone"], false);
    let note_uid = note["metadata"]["uid"].as_str().unwrap().to_string();
    // A tenant cluster has none.
    let (_, none) = env
        .call(
            "GET",
            &format!("/v1/notifications/spectrocluster/{running}"),
            None,
        )
        .await;
    assert_eq!(none["items"], json!([]));

    // Only the gateway's own notification applies.
    let apply = |notify: &str| format!("/v1/spectroclusters/{gw_cluster}/packRefs?notify={notify}");
    let body = json!({"spcApplySettings": {"actionType": "DownloadAndInstall"}});
    let (s, _) = env
        .call("PATCH", &apply("no-such-notification"), Some(body.clone()))
        .await;
    assert_eq!(s, 404);
    let (s, _) = env
        .call("PATCH", &format!("/v1/notifications/{note_uid}/ack"), None)
        .await;
    assert_eq!(s, 204);
    let (s, v) = env
        .call("PATCH", &apply(&note_uid), Some(body.clone()))
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, _) = env.call("PATCH", &apply(&note_uid), Some(body)).await;
    assert_eq!(s, 409, "applied twice");
    let (_, gw) = env
        .call("GET", &format!("/v1/overlords/{}", f.gateway), None)
        .await;
    assert_eq!(gw["status"]["state"], "Running", "no downtime");
    assert_eq!(gw["status"]["notifications"]["isAvailable"], false);
    let gc = cluster(&env, &gw_cluster).await;
    assert!(
        gc["status"]["spcApply"]["lastModifiedTime"].is_string(),
        "{gc}"
    );
    assert!(
        gc["status"]["spcApply"]["patchAppliedTime"].is_null(),
        "{gc}"
    );
    let (s, _) = env
        .call("PATCH", &format!("/v1/notifications/{note_uid}/done"), None)
        .await;
    assert_eq!(s, 409, "not done while it runs");

    // A create during the upgrade queues.
    let queued = create(&env, None, cluster_body("new", &f, false, 1)).await;
    env.wait_for("the Queued event", async || {
        event_reasons(&env, &queued)
            .await
            .iter()
            .any(|(r, _, m)| r == "Queued" && m.contains("pcg"))
            .then_some(Value::Null)
    })
    .await;
    assert_eq!(cluster(&env, &queued).await["status"]["state"], "Pending");
    assert_eq!(cluster(&env, &running).await["status"]["state"], "Running");

    // Processed once the upgrade completes.
    wait_state(&env, &queued, "Running").await;
    let gc = cluster(&env, &gw_cluster).await;
    assert!(
        gc["status"]["spcApply"]["patchAppliedTime"].is_string(),
        "{gc}"
    );
    assert_eq!(gc["status"]["upgrades"][0]["reason"][0], "gateway upgrade");
    let (s, _) = env
        .call("PATCH", &format!("/v1/notifications/{note_uid}/done"), None)
        .await;
    assert_eq!(s, 204);
    let (_, n) = env.call("GET", &list, None).await;
    assert_eq!(n["items"], json!([]));
    let (_, n) = env.call("GET", &format!("{list}?isDone=true"), None).await;
    assert_eq!(n["items"][0]["metadata"]["uid"], note_uid.as_str());
    assert_eq!(n["items"][0]["action"]["ack"], true);

    assert_eq!(cluster(&env, &running).await["status"]["state"], "Running");
    assert_eq!(
        vm_names(&env, "old-").await,
        old_vms,
        "running cluster untouched"
    );
    env.assert_no_contract_violations();
}
