//! What the provider's acceptance tests share: the provider under test and
//! a palette-lab on its own runtime, driven synchronously between terraform
//! steps, with its admin API (gateways, faults, call counts).
#![allow(dead_code)] // each test binary uses its own part

use acceptance_tests::ProviderUnderTest;
use palette_api::client::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub fn palette() -> ProviderUnderTest {
    ProviderUnderTest {
        binary: env!("CARGO_BIN_EXE_terraform-provider-palette").into(),
        source: "palette-community/palette".into(),
        version: "0.1.0".into(),
    }
}

/// Polls `done` every 50 ms until it holds; fails the test naming `what`
/// when it does not within `within`, rather than going on as if it had.
pub fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Lab {
    /// Fails the test when a lab response broke the API spec (dropped first).
    _contract: palette_lab::contract::Guard,
    pub rt: tokio::runtime::Runtime,
    pub lab: palette_lab::RunningLab,
    /// Tenant-scoped client with the lab's key, no retries.
    pub client: Client,
}

impl Lab {
    pub fn start() -> Lab {
        Self::start_with(palette_lab::state::Options::default())
    }

    /// A lab that works in `sim` (watches it for installers, creates gateway
    /// VMs there) at time scale 0.001: minutes of lifecycle in milliseconds.
    pub fn with_vcsim(sim: &vsphere::vcsim::Vcsim) -> Lab {
        Self::with_vcsim_at(sim, 0.001)
    }

    /// A lab in `sim` at another time scale (1.0: real-world delays).
    pub fn with_vcsim_at(sim: &vsphere::vcsim::Vcsim, time_scale: f64) -> Lab {
        Self::start_with(palette_lab::state::Options {
            vcenter: Some(palette_lab::state::VcenterAccess {
                target: vsphere::Target::parse(&sim.server, true).unwrap(),
                user: sim.user.clone(),
                password: sim.password.clone(),
            }),
            time_scale,
        })
    }

    pub fn start_with(options: palette_lab::state::Options) -> Lab {
        let _ = rustls::crypto::CryptoProvider::install_default(
            rustls::crypto::ring::default_provider(),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lab = rt
            .block_on(palette_lab::start_with(
                "127.0.0.1:0".parse().unwrap(),
                options,
            ))
            .unwrap();
        let client = lab.client(0);
        let _contract = palette_lab::contract::guard(&lab.lab);
        Lab {
            _contract,
            rt,
            lab,
            client,
        }
    }

    pub fn endpoint(&self) -> String {
        self.lab.endpoint()
    }

    /// A Running gateway through the lab's shortcut; its uid.
    pub fn gateway(&self, name: &str) -> String {
        self.admin(
            reqwest::Method::POST,
            "/lab/gateways",
            Some(json!({ "name": name })),
        )["uid"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.lab.endpoint());
        self.rt.block_on(async {
            // The admin API takes the key the lab printed at start.
            let mut req = reqwest::Client::new()
                .request(method, url)
                .header("ApiKey", &self.lab.api_key);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json().await.unwrap_or(Value::Null)
        })
    }

    pub fn fault(&self, rule: Value) {
        self.admin(reqwest::Method::POST, "/lab/faults", Some(rule));
    }

    /// How many requests the lab got that `pattern` fits, counted since
    /// the lab started or [`Lab::reset_calls`]. A pattern is `METHOD /path`:
    /// METHOD may be `*` (any method); in the path a `*` segment is any one
    /// segment and a final `**` whatever follows, so
    /// `PATCH /v1/spectroclusters/*/profiles` counts pack-value changes and
    /// `PUT /v1/**` every PUT. Panics when no route the lab serves fits the
    /// pattern: such a count would be 0 whatever the provider did.
    pub fn calls(&self, pattern: &str) -> u64 {
        let mut url = reqwest::Url::parse(&format!("{}/lab/calls", self.lab.endpoint())).unwrap();
        url.query_pairs_mut().append_pair("match", pattern);
        let (status, body): (_, Value) = self.rt.block_on(async {
            let r = reqwest::Client::new()
                .get(url)
                .header("ApiKey", &self.lab.api_key)
                .send()
                .await
                .unwrap();
            (r.status(), r.json().await.unwrap_or(Value::Null))
        });
        assert!(
            status.is_success(),
            "lab.calls({pattern:?}): {}",
            body["message"].as_str().unwrap_or(&body.to_string())
        );
        body["count"].as_u64().expect("a count")
    }

    pub fn reset_calls(&self) {
        self.admin(reqwest::Method::DELETE, "/lab/calls", None);
    }

    /// Uid of a seeded project by name.
    pub fn project(&self, name: &str) -> String {
        let v = self.admin(reqwest::Method::GET, "/lab/projects", None);
        v["projects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["uid"].as_str())
            .unwrap()
            .to_string()
    }

    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        project: Option<&str>,
        path: &str,
    ) -> Result<T, palette_api::client::Error> {
        let c = self.client.with_project(project.map(str::to_string));
        self.rt.block_on(c.get(path, &CancellationToken::new()))
    }

    pub fn put<B: serde::Serialize>(&self, project: Option<&str>, path: &str, body: &B) {
        let c = self.client.with_project(project.map(str::to_string));
        self.rt
            .block_on(c.put(path, body, &CancellationToken::new()))
            .unwrap();
    }

    pub fn delete(&self, project: Option<&str>, path: &str) {
        let c = self.client.with_project(project.map(str::to_string));
        self.rt
            .block_on(c.delete(path, &CancellationToken::new()))
            .unwrap();
    }
}
