//! vSphere cloud accounts, cluster profiles and the project listing, over
//! HTTP against a real vcsim: credentials are checked by logging in.

mod common;

use common::Env;
use serde_json::{json, Value};

/// An account body for the lab's vcsim, bound to `gateway`.
fn account(env: &Env, name: &str, gateway: &str, password: &str) -> Value {
    json!({
        "metadata": {"name": name, "annotations": {"overlordUid": gateway}},
        "spec": {
            "vcenterServer": format!("https://{}/sdk", env.sim.server),
            "username": env.sim.user,
            "password": password,
            "insecure": true
        }
    })
}

#[tokio::test]
async fn accounts_are_checked_against_vcenter_and_never_return_the_password() {
    let env = Env::new("Right-Pa55word").await;
    let gw = env.gateway("pcg-dc1").await;

    let (s, v) = env
        .call_in(
            "POST",
            "/v1/cloudaccounts/vsphere",
            None,
            Some(account(&env, "dc1", &gw, "wrong-Pa55")),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["code"], "CloudAccountValidationFailed", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("rejected the user name or password"), "{msg}");
    assert!(!msg.contains("wrong-Pa55"), "{msg}");

    // The gateway's Validate button says the same without creating anything.
    let (s, _) = env
        .call_in(
            "POST",
            &format!("/v1/overlords/vsphere/{gw}/account/validate"),
            None,
            Some(json!({"account": account(&env, "x", &gw, "wrong-Pa55")["spec"]})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = env
        .call_in(
            "POST",
            &format!("/v1/overlords/vsphere/{gw}/account/validate"),
            None,
            Some(json!({"account": account(&env, "x", &gw, "Right-Pa55word")["spec"]})),
        )
        .await;
    assert_eq!(s, 204);

    let (s, v) = env
        .call_in(
            "POST",
            "/v1/cloudaccounts/vsphere",
            None,
            Some(account(&env, "dc1", &gw, "Right-Pa55word")),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let uid = v["uid"].as_str().unwrap().to_string();

    let (s, v) = env
        .call_in(
            "GET",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["metadata"]["name"], "dc1");
    assert_eq!(v["metadata"]["annotations"]["overlordUid"], gw.as_str());
    assert_eq!(v["spec"]["username"], "svc@vsphere.local");
    assert!(v["spec"].get("password").is_none(), "{v}");
    assert!(!v.to_string().contains("Right-Pa55word"));

    // Same name again: a conflict, not a second account.
    let (s, _) = env
        .call_in(
            "POST",
            "/v1/cloudaccounts/vsphere",
            None,
            Some(account(&env, "dc1", &gw, "Right-Pa55word")),
        )
        .await;
    assert_eq!(s, 409);

    // Rename in place; a wrong password on update is refused and changes nothing.
    let (s, _) = env
        .call_in(
            "PUT",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            None,
            Some(account(&env, "dc1-renamed", &gw, "Right-Pa55word")),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = env
        .call_in(
            "PUT",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            None,
            Some(account(&env, "dc1-bad", &gw, "nope")),
        )
        .await;
    assert_eq!(s, 400);
    let (_, list) = env
        .call_in("GET", "/v1/cloudaccounts/vsphere", None, None)
        .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["dc1-renamed"]);

    let (s, _) = env
        .call_in(
            "DELETE",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, v) = env
        .call_in(
            "GET",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(v["code"], "ResourceNotFound");
}

#[tokio::test]
async fn accounts_need_a_running_gateway_and_a_reachable_vcenter() {
    let env = Env::new("Right-Pa55word").await;
    let (s, v) = env
        .call_in(
            "POST",
            "/v1/cloudaccounts/vsphere",
            None,
            Some(account(
                &env,
                "a",
                "0123456789abcdef01234567",
                "Right-Pa55word",
            )),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let gw = env.gateway("pcg").await;
    let mut body = account(&env, "a", &gw, "Right-Pa55word");
    body["metadata"]["annotations"] = json!({});
    let (s, v) = env
        .call_in("POST", "/v1/cloudaccounts/vsphere", None, Some(body))
        .await;
    assert_eq!(s, 400);
    assert!(
        v["message"].as_str().unwrap().contains("overlordUid"),
        "{v}"
    );

    // vcsim's certificate is self-signed: without insecure the check fails, saying why.
    let mut body = account(&env, "a", &gw, "Right-Pa55word");
    body["spec"]["insecure"] = json!(false);
    let (s, v) = env
        .call_in("POST", "/v1/cloudaccounts/vsphere", None, Some(body))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("cannot validate"),
        "{v}"
    );
}

#[tokio::test]
async fn project_accounts_are_invisible_from_other_projects() {
    let env = Env::new("Right-Pa55word").await;
    let gw = env.gateway("pcg").await;
    let default = env.project("Default").await;
    let production = env.project("Production").await;
    let (s, v) = env
        .call_in(
            "POST",
            "/v1/cloudaccounts/vsphere",
            Some(&default),
            Some(account(&env, "mine", &gw, "Right-Pa55word")),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let uid = v["uid"].as_str().unwrap();
    let (s, _) = env
        .call_in(
            "GET",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            Some(&default),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = env
        .call_in(
            "GET",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            Some(&production),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = env
        .call_in(
            "DELETE",
            &format!("/v1/cloudaccounts/vsphere/{uid}"),
            Some(&production),
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn cluster_profiles_by_name_and_version() {
    let env = Env::new("Right-Pa55word").await;
    let (s, v) = env
        .call_in(
            "POST",
            "/v1/dashboard/clusterprofiles",
            None,
            Some(json!({"filter": {"profileName": {"eq": "vsphere-ubuntu-k8s"}, "version": {"eq": "1.1.0"}}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    let summary = &items[0];
    assert_eq!(summary["specSummary"]["version"], "1.1.0");
    assert_eq!(
        summary["specSummary"]["versions"].as_array().unwrap().len(),
        2
    );
    assert_eq!(summary["specSummary"]["published"]["cloudType"], "vsphere");
    let uid = summary["metadata"]["uid"].as_str().unwrap();
    let (s, p) = env
        .call_in("GET", &format!("/v1/clusterprofiles/{uid}"), None, None)
        .await;
    assert_eq!(s, 200);
    let packs = p["spec"]["published"]["packs"].as_array().unwrap();
    let k8s = packs.iter().find(|k| k["name"] == "kubernetes").unwrap();
    assert_eq!(k8s["tag"], "1.30.2");
    assert!(k8s["values"].as_str().unwrap().contains("podCIDR"));

    let (_, none) = env
        .call_in(
            "POST",
            "/v1/dashboard/clusterprofiles",
            None,
            Some(json!({"filter": {"profileName": {"eq": "nope"}}})),
        )
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let (s, _) = env
        .call_in(
            "GET",
            "/v1/clusterprofiles/0123456789abcdef01234567",
            None,
            None,
        )
        .await;
    assert_eq!(s, 404);
}
