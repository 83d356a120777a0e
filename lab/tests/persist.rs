//! The lab's state across a restart on a data file (`--data`), over HTTP:
//! what was made is still there with the same uids, keys and events, and
//! what was in progress finishes after the restart.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Env;
use palette_lab::gateways::keys;
use serde_json::{json, Value};

const PASSWORD: &str = "Pe-Pa55";

fn account(env: &Env, name: &str, gateway: &str) -> Value {
    json!({
        "metadata": {"name": name, "annotations": {"overlordUid": gateway}},
        "spec": {"vcenterServer": env.sim.server, "username": env.sim.user,
                 "password": PASSWORD, "insecure": true}
    })
}

/// A `/v1` GET with another key than the lab's start-up one.
async fn get_with_key(env: &Env, key: &str, path: &str) -> (u16, Value) {
    let r = env
        .http
        .get(format!("{}{path}", env.lab.endpoint()))
        .header("ApiKey", key)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Everything the first test made, as the API shows it.
async fn views(env: &Env, project: &str, gateways: &[&str], key: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut get = async |what: String, project: Option<&str>| {
        let (s, v) = env.call_in("GET", &what, project, None).await;
        assert_eq!(s, 200, "{what}: {v}");
        out.insert(format!("{what} in {project:?}"), v);
    };
    get("/v1/users/info".into(), None).await;
    get("/v1/overlords".into(), None).await;
    get("/v1/overlords".into(), Some(project)).await;
    get("/v1/cloudaccounts/vsphere".into(), Some(project)).await;
    for g in gateways {
        get(format!("/v1/overlords/vsphere/{g}/pools"), Some(project)).await;
        get(format!("/v1/events/components/overlord/{g}"), None).await;
    }
    let (s, v) = env
        .call(
            "POST",
            "/v1/dashboard/clusterprofiles",
            Some(json!({"filter": {"profileName": {"eq": "vsphere-ubuntu-k8s"}}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    out.insert("profiles".into(), v);
    for path in ["/lab/projects", "/lab/cluster-faults"] {
        let (s, v) = env.admin("GET", path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
        out.insert(path.into(), v);
    }
    let (s, v) = get_with_key(env, key, "/v1/users/info").await;
    assert_eq!(s, 200, "the second key: {v}");
    out.insert("users/info with the second key".into(), v);
    out
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab.redb");
    let env = Env::with_data(PASSWORD, &[], None, data.clone()).await;
    assert!(!env.lab.restored, "a new file starts a new tenant");
    let project = env.project("Production").await;

    // A gateway in the project and one of the tenant's, renamed for an event.
    let (s, v) = env
        .admin(
            "POST",
            "/lab/gateways",
            Some(json!({"name": "pcg-prod", "project_uid": project})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let prod = v["uid"].as_str().unwrap().to_string();
    let tenant = env.gateway("pcg").await;
    let (s, v) = env
        .call(
            "PUT",
            &format!("/v1/overlords/{tenant}/metadata"),
            Some(json!({"metadata": {"name": "pcg-main"}})),
        )
        .await;
    assert_eq!(s, 204, "{v}");

    // An IP pool on each, and a project account on the project's gateway.
    for (g, start, end) in [
        (&prod, "10.20.0.1", "10.20.0.9"),
        (&tenant, "10.30.0.1", "10.30.0.9"),
    ] {
        let (s, v) = env
            .call_in(
                "POST",
                &format!("/v1/overlords/vsphere/{g}/pools"),
                Some(&project),
                Some(json!({"metadata": {"name": "nodes"}, "spec": {"pool": {
                    "start": start, "end": end, "prefix": 24}}})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = env
        .call_in(
            "POST",
            "/v1/cloudaccounts/vsphere",
            Some(&project),
            Some(account(&env, "dc0", &prod)),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let account_uid = v["uid"].as_str().unwrap().to_string();

    // A second API key, a stand-in cluster on the account, a cluster fault
    // and a pairing code.
    let (s, v) = env
        .admin(
            "POST",
            "/lab/keys",
            Some(json!({"user": "ci@palette-lab.local"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let key = v["apiKey"].as_str().unwrap().to_string();
    let (s, v) = env
        .admin(
            "POST",
            "/lab/clusters",
            Some(json!({"name": "stand-in", "account_uid": account_uid})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = env
        .admin(
            "POST",
            "/lab/cluster-faults",
            Some(json!({"kind": "deletion_hangs", "cluster_name": "apps"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = env
        .call("GET", "/v1/overlords/pairing/code?cloudType=vsphere", None)
        .await;
    assert_eq!(s, 200, "{v}");

    let gateways = [prod.as_str(), tenant.as_str()];
    let before = views(&env, &project, &gateways, &key).await;
    let api_key = env.lab.api_key.clone();
    let env = env.restart().await;

    assert!(env.lab.restored);
    assert_eq!(env.lab.api_key, api_key, "the start-up key is the same");
    let after = views(&env, &project, &gateways, &key).await;
    for (what, v) in &before {
        assert_eq!(
            Some(v),
            after.get(what),
            "{what} changed across the restart"
        );
    }
    let events = &after[&format!("/v1/events/components/overlord/{tenant} in None")];
    assert_eq!(events["items"][0]["reason"], "Renamed", "{events}");
    // The stand-in cluster came back too: it still holds the account.
    let (s, v) = env
        .call_in(
            "DELETE",
            &format!("/v1/cloudaccounts/vsphere/{account_uid}"),
            Some(&project),
            None,
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("stand-in"), "{v}");

    // A change after the restart is kept by the next one.
    let (s, v) = env
        .call(
            "PUT",
            &format!("/v1/overlords/{tenant}/metadata"),
            Some(json!({"metadata": {"name": "pcg-again"}})),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let env = env.restart().await;
    let (_, v) = env
        .call("GET", &format!("/v1/overlords/{tenant}"), None)
        .await;
    assert_eq!(v["metadata"]["name"], "pcg-again");
}

async fn wait_state(env: &Env, path: &str, state: &str) -> Value {
    env.wait_for(&format!("{path} {state}"), async || {
        let (_, v) = env.call("GET", path, None).await;
        (v["status"]["state"] == state).then_some(v)
    })
    .await
}

async fn reasons(env: &Env, kind: &str, uid: &str) -> Vec<String> {
    let (s, v) = env
        .call("GET", &format!("/v1/events/components/{kind}/{uid}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn what_was_provisioning_at_the_stop_finishes_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab.redb");
    // Gateway provisioning 4.8 s, cluster Pending 0.6 s then 5.4 s: long
    // enough to stop in the middle, short enough to wait for the end.
    let env = Env::with_data(PASSWORD, &[], Some(0.01), data).await;

    // A gateway to provision: the shortcut's, given an account and a cloud config.
    let gateway = env.gateway("pcg-new").await;
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{gateway}/account"),
            Some(
                json!({"account": {"vcenterServer": env.sim.server, "username": env.sim.user,
                                    "password": PASSWORD, "insecure": true}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{gateway}/cloudconfig"),
            Some(json!({"size": 1, "clusterConfig": {"placements": [{
                "datacenter": "DC0", "cluster": "DC0_C0", "datastore": "LocalDS_0",
                "resourcePool": "", "folder": "palette/gateways",
                "network": {"networkName": "VM Network", "staticIp": false}}]}})),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // A cluster on a Running gateway's account.
    let running = env.gateway("pcg").await;
    let (s, v) = env
        .call(
            "POST",
            "/v1/cloudaccounts/vsphere",
            Some(account(&env, "dc0", &running)),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let account_uid = v["uid"].as_str().unwrap().to_string();
    let (_, v) = env
        .call(
            "POST",
            "/v1/dashboard/clusterprofiles",
            Some(json!({"filter": {"profileName": {"eq": "vsphere-ubuntu-k8s"}}})),
        )
        .await;
    let profile = v["items"][0]["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let pool = |name: &str, cp: bool| {
        json!({
            "poolConfig": {"name": name, "isControlPlane": cp, "size": 1, "labels": []},
            "cloudConfig": {"instanceType": {"numCPUs": 2, "memoryMiB": 4096, "diskGiB": 60},
                            "placements": [{"cluster": "DC0_C0", "datastore": "LocalDS_0",
                                            "resourcePool": "",
                                            "network": {"networkName": "VM Network"}}]}
        })
    };
    let (s, v) = env
        .call(
            "POST",
            "/v1/spectroclusters/vsphere",
            Some(json!({
                "metadata": {"name": "apps"},
                "spec": {
                    "cloudAccountUid": account_uid,
                    "profiles": [{"uid": profile}],
                    "cloudConfig": {"placement": {"datacenter": "DC0", "folder": "palette/clusters"},
                                    "staticIp": false},
                    "machinepoolconfig": [pool("cp", true), pool("worker", false)]
                }
            })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let cluster = v["uid"].as_str().unwrap().to_string();
    let cluster_path = format!("/v1/spectroclusters/{cluster}");
    let gateway_path = format!("/v1/overlords/{gateway}");

    // Stopped while both are provisioning: the cluster past Pending (its
    // VMs being made), the gateway waiting out its delay.
    wait_state(&env, &cluster_path, "Provisioning").await;
    let (_, g) = env.call("GET", &gateway_path, None).await;
    assert_eq!(g["status"]["state"], "Provisioning", "{g}");
    let env = env.restart().await;

    let (_, c) = env.call("GET", &cluster_path, None).await;
    assert_eq!(c["status"]["state"], "Provisioning", "{c}");
    wait_state(&env, &cluster_path, "Running").await;
    wait_state(&env, &gateway_path, "Running").await;
    assert!(reasons(&env, "spectrocluster", &cluster)
        .await
        .contains(&"LabRestarted".to_string()));
    assert!(reasons(&env, "overlord", &gateway)
        .await
        .contains(&"LabRestarted".to_string()));
    // One VM per node, whether made before the stop or after: vcsim stayed
    // up, and nothing was made twice.
    let mut names: Vec<String> = env
        .vms_named("apps-")
        .await
        .into_iter()
        .map(|v| v.name)
        .collect();
    names.sort();
    assert_eq!(names, ["apps-cp-0", "apps-worker-0"]);
    assert_eq!(env.vms_named("pcg-new-node-").await.len(), 1);

    // The stop can fall between a VM made and the VM recorded. Made so here
    // by forgetting the VMs (as saved), with the work back in Provisioning:
    // the restarted lab must take the VMs it finds, not make them twice.
    {
        let mut store = env.lab.lab.store();
        let c = store
            .clusters
            .iter_mut()
            .find(|c| c.uid == cluster)
            .unwrap();
        c.state = "Provisioning".into();
        for n in &mut c.nodes {
            n.vm = None;
            n.ready = false;
        }
        let g = store
            .gateways
            .iter_mut()
            .find(|g| g.uid == gateway)
            .unwrap();
        g.state = "Provisioning".into();
        g.vms.clear();
    }
    let env = env.restart().await;
    wait_state(&env, &cluster_path, "Running").await;
    wait_state(&env, &gateway_path, "Running").await;
    let mut names: Vec<String> = env
        .vms_named("apps-")
        .await
        .into_iter()
        .map(|v| v.name)
        .collect();
    names.sort();
    assert_eq!(names, ["apps-cp-0", "apps-worker-0"]);
    assert_eq!(env.vms_named("pcg-new-node-").await.len(), 1);
    for (kind, uid) in [("spectrocluster", &cluster), ("overlord", &gateway)] {
        let (_, v) = env
            .call("GET", &format!("/v1/events/components/{kind}/{uid}"), None)
            .await;
        assert!(
            v.to_string().contains("made before palette-lab restarted"),
            "{kind}: {v}"
        );
    }
    let (_, c) = env.call("GET", &cluster_path, None).await;
    assert!(
        c["status"]["apiEndpoints"].is_array(),
        "the nodes have their VMs again: {c}"
    );

    // Deletion resumes too.
    let (s, v) = env.call("DELETE", &cluster_path, None).await;
    assert_eq!(s, 204, "{v}");
    let env = env.restart().await;
    env.wait_for("the cluster deleted", async || {
        let (s, _) = env.call("GET", &cluster_path, None).await;
        (s == 404).then_some(Value::Null)
    })
    .await;
    assert!(env.vms_named("apps-").await.is_empty());
}

#[tokio::test]
async fn an_installer_registered_before_a_restart_is_not_registered_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab.redb");
    let env = Env::with_data(PASSWORD, &[], Some(0.001), data).await;
    let code = env.pairing_code().await;
    // The installer as the gateway tests deploy it: the lab's OVA, imported
    // with its properties, powered on.
    env.installer(
        "installer",
        &[
            (keys::NAME, "pcg-once"),
            (keys::CONSOLE_ENDPOINT, env.lab.endpoint().as_str()),
            (keys::PAIRING_CODE, code.as_str()),
        ],
    )
    .await;
    env.wait_for("registration", async || {
        let (_, v) = env.call("GET", "/v1/overlords?name=pcg-once", None).await;
        v["items"].as_array().and_then(|a| a.first().cloned())
    })
    .await;

    // The installer is still on, and the new lab listens elsewhere: were it
    // taken for a new one, it would register twice or fail loudly.
    let env = env.restart().await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, v) = env.call("GET", "/v1/overlords?name=pcg-once", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = env
        .call(
            "GET",
            &format!("/v1/events/components/pairingcode/{code}"),
            None,
        )
        .await;
    assert_eq!(v["items"], json!([]), "{v}");
}
