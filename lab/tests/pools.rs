//! IP pools over HTTP through the typed client: create, list, update,
//! delete, validation (400), duplicates (409), overlap, project isolation.

use palette_api::client::{Client, Error};
use palette_api::models::{
    V1IpPoolInputEntity, V1IpPoolInputEntitySpec, V1IpPools, V1ObjectMeta, V1Pool, V1Uid,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

struct Env {
    lab: palette_lab::RunningLab,
    client: Client,
    http: reqwest::Client,
    _contract: palette_lab::contract::Guard,
}

async fn env() -> Env {
    let _ =
        rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    let lab = palette_lab::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = lab.client(0);
    Env {
        _contract: palette_lab::contract::guard(&lab.lab),
        lab,
        client,
        http: reqwest::Client::new(),
    }
}

impl Env {
    async fn gateway(&self, name: &str, project: Option<&str>) -> String {
        let r: Value = self
            .http
            .post(format!("{}/lab/gateways", self.lab.endpoint()))
            .header("ApiKey", &self.lab.api_key)
            .json(&json!({"name": name, "project_uid": project}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["uid"].as_str().unwrap().to_string()
    }

    async fn projects(&self) -> Vec<String> {
        let r: Value = self
            .http
            .get(format!("{}/lab/projects", self.lab.endpoint()))
            .header("ApiKey", &self.lab.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["uid"].as_str().unwrap().to_string())
            .collect()
    }
}

fn pool(name: &str, start: &str, end: &str) -> V1IpPoolInputEntity {
    V1IpPoolInputEntity {
        metadata: Some(V1ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        }),
        spec: Some(V1IpPoolInputEntitySpec {
            pool: Some(V1Pool {
                start: Some(start.into()),
                end: Some(end.into()),
                prefix: Some(24),
                gateway: Some("10.10.183.254".into()),
                ..Default::default()
            }),
            restrict_to_single_cluster: Some(false),
        }),
    }
}

#[tokio::test]
async fn pool_lifecycle_and_validation() {
    let e = env().await;
    let c = CancellationToken::new();
    let gw = e.gateway("pcg-dc1", None).await;
    let path = format!("/v1/overlords/vsphere/{gw}/pools");

    let list: V1IpPools = e.client.get(&path, &c).await.unwrap();
    assert_eq!(list.items.unwrap_or_default().len(), 0);

    let created: V1Uid = e
        .client
        .post(&path, &pool("nodes", "10.10.183.1", "10.10.183.10"), &c)
        .await
        .unwrap();
    let uid = created.uid.unwrap();
    let list: V1IpPools = e.client.get(&path, &c).await.unwrap();
    let items = list.items.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].metadata.as_ref().unwrap().uid.as_deref(),
        Some(uid.as_str())
    );
    assert_eq!(items[0].status.as_ref().unwrap().in_use, Some(false));
    assert_eq!(
        items[0]
            .spec
            .as_ref()
            .unwrap()
            .priavet_gateway_uid
            .as_deref(),
        Some(gw.as_str())
    );

    // Same name: conflict. Overlapping range: rejected, naming the other pool.
    let err = e
        .client
        .post::<_, V1Uid>(&path, &pool("nodes", "10.10.183.50", "10.10.183.60"), &c)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let err = e
        .client
        .post::<_, V1Uid>(&path, &pool("other", "10.10.183.5", "10.10.183.20"), &c)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { message, .. } if message.contains("'nodes'")),
        "{err:?}"
    );
    // Malformed: end before start.
    let err = e
        .client
        .post::<_, V1Uid>(&path, &pool("bad", "10.10.183.9", "10.10.183.2"), &c)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { message, .. } if message.contains("spec.pool.end")),
        "{err:?}"
    );

    // Update in place, then delete; a second delete is a 404.
    e.client
        .put(
            &format!("{path}/{uid}"),
            &pool("nodes", "10.10.183.1", "10.10.183.20"),
            &c,
        )
        .await
        .unwrap();
    let list: V1IpPools = e.client.get(&path, &c).await.unwrap();
    let spec = list.items.unwrap()[0].spec.clone().unwrap().pool.unwrap();
    assert_eq!(spec.end.as_deref(), Some("10.10.183.20"));
    e.client.delete(&format!("{path}/{uid}"), &c).await.unwrap();
    assert!(e
        .client
        .delete(&format!("{path}/{uid}"), &c)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(e
        .client
        .get::<V1IpPools>("/v1/overlords/vsphere/000000000000000000000000/pools", &c)
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn project_gateways_are_invisible_from_other_projects() {
    let e = env().await;
    let c = CancellationToken::new();
    let projects = e.projects().await;
    let gw = e.gateway("pcg-a", Some(&projects[0])).await;
    let path = format!("/v1/overlords/vsphere/{gw}/pools");
    let a = e.client.with_project(Some(projects[0].clone()));
    let b = e.client.with_project(Some(projects[1].clone()));
    assert!(a.get::<V1IpPools>(&path, &c).await.is_ok());
    assert!(b
        .get::<V1IpPools>(&path, &c)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(b
        .get::<Value>(&format!("/v1/overlords/{gw}"), &c)
        .await
        .unwrap_err()
        .is_not_found());
    let listed: Value = a.get("/v1/overlords", &c).await.unwrap();
    assert_eq!(listed["items"][0]["metadata"]["name"], "pcg-a");
}
