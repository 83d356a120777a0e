//! The gateway's whole life over HTTP (no provider), at time scale 0.001,
//! from a real OVA import into vcsim, checked in vCenter through the
//! vsphere crate, not the lab's word.

use std::time::{Duration, Instant};

mod common;

use common::Env;
use palette_lab::gateways::keys;
use serde_json::{json, Value};

/// The gateway's install steps on the shared test environment.
trait GatewayEnv {
    async fn gateway_named(&self, name: &str) -> Option<Value>;
    async fn state(&self, uid: &str) -> String;
    fn account(&self, password: &str) -> Value;
    fn cloud_config(&self, size: i32, pool: Option<&str>) -> Value;
}

impl GatewayEnv for Env {
    async fn gateway_named(&self, name: &str) -> Option<Value> {
        let (_, v) = self
            .call("GET", &format!("/v1/overlords?name={name}"), None)
            .await;
        v["items"].as_array().and_then(|a| a.first().cloned())
    }

    async fn state(&self, uid: &str) -> String {
        let (_, v) = self
            .call("GET", &format!("/v1/overlords/{uid}"), None)
            .await;
        v["status"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn account(&self, password: &str) -> Value {
        json!({"vcenterServer": self.sim.server, "username": self.sim.user, "password": password, "insecure": true})
    }

    fn cloud_config(&self, size: i32, pool: Option<&str>) -> Value {
        json!({
            "size": size,
            "clusterConfig": {
                "staticIp": pool.is_some(),
                "sshKeys": ["ssh-ed25519 AAAA test"],
                "ntpServers": ["0.pool.ntp.org"],
                "placements": [{
                    "datacenter": "DC0", "cluster": "DC0_C0", "datastore": "LocalDS_0",
                    "resourcePool": "", "folder": "palette/gateways",
                    "network": {"networkName": "VM Network", "staticIp": pool.is_some(), "parentPoolUid": pool.unwrap_or("")}
                }]
            }
        })
    }
}

#[tokio::test]
async fn gateway_install_resize_rename_and_delete() {
    let env = Env::scaled("Gw-Pa55", &[], 0.001).await;
    let started = Instant::now();
    let code = env.pairing_code().await;
    assert_eq!(code.len(), 6);
    let (_, ova) = env.call("GET", "/v1/overlords/vsphere/ova", None).await;
    let location = ova["location"].as_str().unwrap().to_string();
    let bytes = env
        .http
        .get(&location)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        bytes.len() > 1024 && &bytes[257..262] == b"ustar",
        "an OVA is a tar"
    );

    env.installer(
        "pcg-dc1-installer",
        &[
            (keys::NAME, "pcg-dc1"),
            (keys::CONSOLE_ENDPOINT, &env.lab.endpoint()),
            (keys::PAIRING_CODE, &code),
        ],
    )
    .await;
    let gw = env
        .wait_for("registration", async || env.gateway_named("pcg-dc1").await)
        .await;
    let uid = gw["metadata"]["uid"].as_str().unwrap().to_string();
    assert_eq!(gw["status"]["state"], "Pending");

    // Account first: a wrong password is refused with vCenter's answer.
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{uid}/account"),
            Some(json!({"name": "pcg-dc1", "account": env.account("nope")})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
            Some(env.cloud_config(1, None)),
        )
        .await;
    assert_eq!(s, 400, "cloud config before the account");
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{uid}/account"),
            Some(json!({"name": "pcg-dc1", "account": env.account("Gw-Pa55")})),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // Static IPs from a pool of the gateway.
    let (s, v) = env
        .call("POST", &format!("/v1/overlords/vsphere/{uid}/pools"), Some(json!({"metadata": {"name": "pcg-nodes"}, "spec": {"pool": {"start": "10.10.183.1", "end": "10.10.183.10", "prefix": 24, "gateway": "10.10.183.254"}}})))
        .await;
    assert_eq!(s, 201, "{v}");
    let pool = v["uid"].as_str().unwrap().to_string();
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
            Some(env.cloud_config(1, Some(&pool))),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    env.wait_for("Running", async || {
        (env.state(&uid).await == "Running").then_some(Value::Null)
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a scaled gateway reaches Running in seconds: {:?}",
        started.elapsed()
    );
    let vms = env.vms_named("pcg-dc1-node-").await;
    assert_eq!(vms.len(), 1);
    assert!(vms[0].powered_on);
    assert_eq!(
        vms[0]
            .extra_config
            .get("guestinfo.palette.ip")
            .map(String::as_str),
        Some("10.10.183.1")
    );
    let (_, g) = env.call("GET", &format!("/v1/overlords/{uid}"), None).await;
    assert_eq!(g["spec"]["ipAddress"], "10.10.183.1");
    assert_eq!(g["status"]["health"]["state"], "Healthy");

    // Resize 1 -> 3 adds two VMs; 3 -> 1 is refused.
    let (s, _) = env
        .call(
            "PUT",
            &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
            Some(env.cloud_config(3, Some(&pool))),
        )
        .await;
    assert_eq!(s, 204);
    env.wait_for("three nodes", async || {
        (env.state(&uid).await == "Running" && env.vms_named("pcg-dc1-node-").await.len() == 3)
            .then_some(Value::Null)
    })
    .await;
    let (s, v) = env
        .call(
            "PUT",
            &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
            Some(env.cloud_config(1, Some(&pool))),
        )
        .await;
    assert_eq!(s, 400, "{v}");

    // Rename.
    let (s, _) = env
        .call(
            "PUT",
            &format!("/v1/overlords/{uid}/metadata"),
            Some(json!({"metadata": {"name": "pcg-dc1-renamed"}})),
        )
        .await;
    assert_eq!(s, 204);
    assert!(env.gateway_named("pcg-dc1-renamed").await.is_some());

    // Delete is refused while a cluster uses an account on this gateway.
    let (s, acct) = env
        .call("POST", "/v1/cloudaccounts/vsphere", Some(json!({"metadata": {"name": "dc1", "annotations": {"overlordUid": uid}}, "spec": env.account("Gw-Pa55")})))
        .await;
    assert_eq!(s, 201, "{acct}");
    let cluster: Value = env
        .http
        .post(format!("{}/lab/clusters", env.lab.endpoint()))
        .header("ApiKey", &env.lab.api_key)
        .json(&json!({"name": "apps-dc1", "account_uid": acct["uid"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (s, v) = env
        .call("DELETE", &format!("/v1/overlords/{uid}"), None)
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(v["message"].as_str().unwrap().contains("apps-dc1"), "{v}");
    env.http
        .delete(format!(
            "{}/lab/clusters/{}",
            env.lab.endpoint(),
            cluster["uid"].as_str().unwrap()
        ))
        .header("ApiKey", &env.lab.api_key)
        .send()
        .await
        .unwrap();
    let (s, v) = env
        .call("DELETE", &format!("/v1/overlords/{uid}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        env.vms_named("pcg-dc1-node-").await.is_empty(),
        "gateway VMs left in vCenter"
    );
    let (s, _) = env.call("GET", &format!("/v1/overlords/{uid}"), None).await;
    assert_eq!(s, 404);

    // The events tell the story.
    let (_, ev) = env
        .call(
            "GET",
            &format!("/v1/events/components/overlord/{uid}"),
            None,
        )
        .await;
    let reasons: Vec<&str> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    for r in [
        "Registered",
        "AccountSet",
        "Provisioning",
        "NodeCreated",
        "Running",
        "Resizing",
        "Renamed",
        "Deleted",
    ] {
        assert!(reasons.contains(&r), "{r} missing from {reasons:?}");
    }
}

#[tokio::test]
async fn bad_installers_never_register_and_say_why() {
    let env = Env::scaled("Gw-Pa55", &[], 0.001).await;
    let code = env.pairing_code().await;
    // Trailing slash on the console endpoint.
    let slash = format!("{}/", env.lab.endpoint());
    env.installer(
        "slash",
        &[
            (keys::NAME, "pcg-slash"),
            (keys::CONSOLE_ENDPOINT, &slash),
            (keys::PAIRING_CODE, &code),
        ],
    )
    .await;
    // A code this Palette never issued.
    env.installer(
        "wrong",
        &[
            (keys::NAME, "pcg-wrong"),
            (keys::CONSOLE_ENDPOINT, &env.lab.endpoint()),
            (keys::PAIRING_CODE, "ZZZZZZ"),
        ],
    )
    .await;
    let ev = env
        .wait_for("events", async || {
            let (_, a) = env
                .call(
                    "GET",
                    &format!("/v1/events/components/pairingcode/{code}"),
                    None,
                )
                .await;
            let (_, b) = env
                .call("GET", "/v1/events/components/pairingcode/ZZZZZZ", None)
                .await;
            let n = |v: &Value| v["items"].as_array().map(Vec::len).unwrap_or(0);
            (n(&a) > 0 && n(&b) > 0).then(|| json!([a, b]))
        })
        .await;
    assert_eq!(ev[0]["items"][0]["reason"], "ConsoleEndpointInvalid");
    assert!(ev[0]["items"][0]["message"]
        .as_str()
        .unwrap()
        .contains("trailing slash"));
    assert_eq!(ev[1]["items"][0]["reason"], "PairingFailed");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(env.gateway_named("pcg-slash").await.is_none());
    assert!(env.gateway_named("pcg-wrong").await.is_none());

    // The same code, correctly used, still works: a failed attempt does not burn it.
    env.installer(
        "good",
        &[
            (keys::NAME, "pcg-good"),
            (keys::CONSOLE_ENDPOINT, &env.lab.endpoint()),
            (keys::PAIRING_CODE, &code),
        ],
    )
    .await;
    env.wait_for("registration", async || env.gateway_named("pcg-good").await)
        .await;
}

#[tokio::test]
async fn reset_returns_a_gateway_to_pending_and_removes_its_nodes() {
    let env = Env::scaled("Gw-Pa55", &[], 0.001).await;
    let code = env.pairing_code().await;
    env.installer(
        "i",
        &[
            (keys::NAME, "pcg-r"),
            (keys::CONSOLE_ENDPOINT, &env.lab.endpoint()),
            (keys::PAIRING_CODE, &code),
        ],
    )
    .await;
    let gw = env
        .wait_for("registration", async || env.gateway_named("pcg-r").await)
        .await;
    let uid = gw["metadata"]["uid"].as_str().unwrap().to_string();
    env.call(
        "POST",
        &format!("/v1/overlords/vsphere/{uid}/account"),
        Some(json!({"account": env.account("Gw-Pa55")})),
    )
    .await;
    let (s, _) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{uid}/cloudconfig"),
            Some(env.cloud_config(1, None)),
        )
        .await;
    assert_eq!(s, 201);
    env.wait_for("Running", async || {
        (env.state(&uid).await == "Running").then_some(Value::Null)
    })
    .await;
    assert_eq!(env.vms_named("pcg-r-node-").await.len(), 1);
    let (s, _) = env
        .call("PUT", &format!("/v1/overlords/{uid}/reset"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(env.state(&uid).await, "Pending");
    assert!(env.vms_named("pcg-r-node-").await.is_empty());
}

/// Sticky lifecycle faults on a gateway: an installer whose registration
/// hangs until the fault goes, and a provisioning that fails once and is
/// recovered by the console's Reset; the nodes then carry their cloud-init
/// (SSH keys, NTP) the way CAPV hands it to a VM.
#[tokio::test]
async fn registration_hangs_and_a_provisioning_failure_is_reset() {
    use base64::Engine as _;
    let env = Env::scaled("Gw-Pa55", &[], 0.001).await;
    let (s, hang) = env
        .admin(
            "POST",
            "/lab/cluster-faults",
            Some(json!({"kind": "registration_hangs", "cluster_name": "pcg-stuck"})),
        )
        .await;
    assert_eq!(s, 201, "{hang}");
    let code = env.pairing_code().await;
    env.installer(
        "pcg-stuck-installer",
        &[
            (keys::NAME, "pcg-stuck"),
            (keys::CONSOLE_ENDPOINT, &env.lab.endpoint()),
            (keys::PAIRING_CODE, &code),
        ],
    )
    .await;
    // Registration takes 0.3 s at this scale; ten times that, still none.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(env.gateway_named("pcg-stuck").await.is_none());
    let (s, _) = env
        .admin(
            "DELETE",
            &format!("/lab/cluster-faults/{}", hang["id"]),
            None,
        )
        .await;
    assert!(s < 300, "{s}");
    let gw = env
        .wait_for("registration once the fault is gone", async || {
            env.gateway_named("pcg-stuck").await
        })
        .await;
    let uid = gw["metadata"]["uid"].as_str().unwrap().to_string();

    let (s, f) = env
        .admin(
            "POST",
            "/lab/cluster-faults",
            Some(json!({"kind": "provisioning_fails", "cluster_name": "pcg-stuck", "times": 1})),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    let (s, v) = env
        .call(
            "POST",
            &format!("/v1/overlords/vsphere/{uid}/account"),
            Some(json!({"name": "pcg-stuck", "account": env.account("Gw-Pa55")})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let cloudconfig = format!("/v1/overlords/vsphere/{uid}/cloudconfig");
    let (s, v) = env
        .call("POST", &cloudconfig, Some(env.cloud_config(1, None)))
        .await;
    assert_eq!(s, 201, "{v}");
    env.wait_for("Failed", async || {
        (env.state(&uid).await == "Failed").then_some(Value::Null)
    })
    .await;
    let (_, ev) = env
        .call(
            "GET",
            &format!("/v1/events/components/overlord/{uid}"),
            None,
        )
        .await;
    assert!(ev.to_string().contains("ProvisioningFailed"), "{ev}");
    assert!(env.vms_named("pcg-stuck-node-").await.is_empty());
    // Struck once: the fault is gone.
    let (_, left) = env.admin("GET", "/lab/cluster-faults", None).await;
    assert_eq!(left, json!([]), "{left}");

    let (s, v) = env
        .call("PUT", &format!("/v1/overlords/{uid}/reset"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(env.state(&uid).await, "Pending");
    let (s, v) = env
        .call("POST", &cloudconfig, Some(env.cloud_config(1, None)))
        .await;
    assert_eq!(s, 201, "{v}");
    env.wait_for("Running after the reset", async || {
        (env.state(&uid).await == "Running").then_some(Value::Null)
    })
    .await;
    let nodes = env.vms_named("pcg-stuck-node-").await;
    assert_eq!(nodes.len(), 1);
    let extra = &nodes[0].extra_config;
    assert_eq!(
        extra.get("guestinfo.userdata.encoding").map(String::as_str),
        Some("base64")
    );
    let user_data = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(extra.get("guestinfo.userdata").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(user_data.starts_with("#cloud-config"), "{user_data}");
    assert!(user_data.contains("ssh-ed25519 AAAA test"), "{user_data}");
    assert!(user_data.contains("0.pool.ntp.org"), "{user_data}");
    env.assert_no_contract_violations();
}
