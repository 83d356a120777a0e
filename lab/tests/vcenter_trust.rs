//! The lab's own calls to the vCenter it is attached to keep the trust it
//! was given: without `--vcenter-insecure` a self-signed vCenter (vcsim)
//! is refused, not quietly accepted.

use palette_lab::state::{Options, VcenterAccess};
use serde_json::{json, Value};

const PASSWORD: &str = "Trust-Pa55";

/// The status and body of the datacenter listing of a shortcut gateway (one
/// without an account of its own, so the lab lists with its vCenter access).
async fn datacenters(sim: &vsphere::vcsim::Vcsim, insecure: bool) -> (u16, Value) {
    let _ =
        rustls::crypto::CryptoProvider::install_default(rustls::crypto::ring::default_provider());
    let options = Options {
        vcenter: Some(VcenterAccess {
            target: vsphere::Target::parse(&sim.server, insecure).unwrap(),
            user: sim.user.clone(),
            password: sim.password.clone(),
        }),
        time_scale: 1.0,
    };
    let lab = palette_lab::start_with("127.0.0.1:0".parse().unwrap(), options)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let gw: Value = http
        .post(format!("{}/lab/gateways", lab.endpoint()))
        .header("ApiKey", &lab.api_key)
        .json(&json!({"name": "pcg"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .get(format!(
            "{}/v1/overlords/vsphere/{}/properties/datacenters",
            lab.endpoint(),
            gw["uid"].as_str().unwrap()
        ))
        .header("ApiKey", &lab.api_key)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn inventory_calls_honour_the_vcenter_trust_setting() {
    let sim = vsphere::vcsim::Vcsim::start("ops@vsphere.local", PASSWORD, &[]).expect("vcsim");

    let (status, body) = datacenters(&sim, true).await;
    assert_eq!(status, 200, "insecure, as asked: {body}");
    assert!(body.to_string().contains("DC0"), "{body}");

    // vcsim's certificate is self-signed: with verification on, refused.
    let (status, body) = datacenters(&sim, false).await;
    assert_eq!(status, 502, "verified: {body}");
    assert_eq!(body["code"], "VsphereUnreachable", "{body}");
    assert!(!body.to_string().contains(PASSWORD), "{body}");
}
