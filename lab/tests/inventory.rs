//! The vSphere properties a gateway lists for the console's placement
//! dialogs, read from vcsim over HTTP and compared with vcsim's inventory.

mod common;

use common::Env;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datacenters_and_cluster_resources_come_from_vcenter() {
    let env = Env::scaled("Inv-Pa55", &["-dc", "2", "-cluster", "2"], 0.001).await;
    let gw = env.gateway("pcg-inv").await;

    let (s, v) = env
        .call(
            "GET",
            &format!("/v1/overlords/vsphere/{gw}/properties/datacenters"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|d| d["datacenter"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["DC0", "DC1"], "{v}");
    assert_eq!(
        items[1]["computeclusters"],
        json!(["DC1_C0", "DC1_C1"]),
        "{v}"
    );

    let (s, v) = env
        .call(
            "GET",
            &format!("/v1/overlords/vsphere/{gw}/properties/computecluster/resources?datacenter=DC0&computecluster=DC0_C1"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["datacenter"], "DC0");
    let cc = &v["computecluster"];
    assert_eq!(cc["name"], "DC0_C1");
    assert!(
        cc["datastores"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "LocalDS_0"),
        "{v}"
    );
    assert!(
        cc["networks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "VM Network"),
        "{v}"
    );
    assert_eq!(cc["resourcePools"], json!(["Resources"]), "{v}");

    // A cluster vCenter does not have is a 404 naming it; a missing query a 400.
    let (s, v) = env
        .call(
            "GET",
            &format!("/v1/overlords/vsphere/{gw}/properties/computecluster/resources?datacenter=DC0&computecluster=Nope"),
            None,
        )
        .await;
    assert_eq!(s, 404, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("DC0/host/Nope"),
        "{v}"
    );
    let (s, _) = env
        .call(
            "GET",
            &format!("/v1/overlords/vsphere/{gw}/properties/computecluster/resources"),
            None,
        )
        .await;
    assert_eq!(s, 400);
    // The spec requires both: the contract check saw the request as wrong.
    let seen = env.lab.lab.contract.take(
        "v1OverlordsUidVsphereComputeclusterRes",
        "request query datacenter: required, and missing",
    );
    assert_eq!(seen.len(), 1, "{seen:?}");
    // An unknown gateway is a 404.
    let (s, _) = env
        .call(
            "GET",
            "/v1/overlords/vsphere/0123456789abcdef01234567/properties/datacenters",
            None,
        )
        .await;
    assert_eq!(s, 404);
}
