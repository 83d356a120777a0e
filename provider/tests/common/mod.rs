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

    /// Requests that would change something in Palette, refused or not,
    /// since [`Lab::reset_calls`]: every POST, PUT, PATCH and DELETE under
    /// /v1 but the dashboard's searches, which read.
    pub fn writes(&self) -> u64 {
        self.calls("POST /v1/**") - self.calls("POST /v1/dashboard/**")
            + self.calls("PUT /v1/**")
            + self.calls("PATCH /v1/**")
            + self.calls("DELETE /v1/**")
    }

    /// A new API key whose user has a viewer role: reads only.
    pub fn viewer_key(&self) -> String {
        let v = self.admin(
            reqwest::Method::POST,
            "/lab/keys",
            Some(serde_json::json!({"user": "auditor@example.com", "role": "viewer"})),
        );
        v["apiKey"].as_str().expect("a key").to_string()
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

    /// POSTs `body` as the console would; the response.
    pub fn post(&self, project: Option<&str>, path: &str, body: &Value) -> Value {
        let c = self.client.with_project(project.map(str::to_string));
        self.rt
            .block_on(c.post(path, body, &CancellationToken::new()))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
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

/// The provider block of a test in a lab on `sim`: the lab's endpoint, the
/// Default project, and a `vcenter` block with the simulator's user.
#[allow(dead_code)]
pub fn provider_with_vcenter(lab: &Lab, sim: &vsphere::vcsim::Vcsim) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint = "{endpoint}"
  project  = "Default"
  vcenter {{
    server   = "{server}"
    username = "{user}"
    password = "{password}"
    insecure = true
  }}
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
        password = sim.password,
    )
}

/// A gateway `label` named `name` in vcsim's DC0: its installer on
/// `DC0_C0`, its VMs on `compute_cluster`.
#[allow(dead_code)]
pub fn gateway_hcl(label: &str, name: &str, compute_cluster: &str) -> String {
    format!(
        r#"
resource "palette_private_cloud_gateway" "{label}" {{
  name = "{name}"
  installer {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
  }}
  placement {{
    datacenter      = "DC0"
    compute_cluster = "{compute_cluster}"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
  }}
}}
"#
    )
}

/// Whether `haystack` holds `secret` (an empty secret is never "held": it
/// would make an absence check vacuous).
pub fn holds(haystack: &[u8], secret: &str) -> bool {
    !secret.is_empty()
        && haystack
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
}

/// Every entry of a saved plan, uncompressed: a zip's deflated entries
/// would hide the text from a search of the raw file.
pub fn plan_file_entries(w: &acceptance_tests::Workdir, file: &str) -> Vec<u8> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             for n in z.namelist():\n    sys.stdout.buffer.write(z.read(n))",
        )
        .arg(w.work().join(file))
        .output()
        .expect("python3");
    assert!(out.status.success(), "cannot read the plan file");
    assert!(!out.stdout.is_empty(), "the plan file has no entries");
    out.stdout
}

/// Where Terraform keeps things, each with its name: `show -json`, the
/// state file and, when given, the saved plan `plan_file` (as JSON, raw and
/// unzipped).
pub fn stored_places(
    w: &acceptance_tests::Workdir,
    plan_file: Option<&str>,
) -> Vec<(String, Vec<u8>)> {
    let show = w.must(&["show", "-json"]).stdout;
    let state = std::fs::read(w.work().join("terraform.tfstate")).expect("a state file");
    let mut places = vec![
        ("terraform show -json".to_string(), show.into_bytes()),
        ("terraform.tfstate".to_string(), state),
    ];
    if let Some(f) = plan_file {
        let json = w.must(&["show", "-json", f]).stdout;
        places.push((format!("terraform show -json {f}"), json.into_bytes()));
        places.push((
            format!("the plan file {f}"),
            std::fs::read(w.work().join(f)).unwrap(),
        ));
        places.push((
            format!("the plan file {f}, unzipped"),
            plan_file_entries(w, f),
        ));
    }
    places
}

/// What the lab serves as a cluster's kubeconfig, and the parts of it a
/// kubernetes provider block takes.
pub struct Served {
    pub text: String,
    pub host: String,
    /// PEM, decoded from `certificate-authority-data`.
    pub ca: String,
    pub token: String,
}

impl Lab {
    /// The kubeconfig the lab serves for the running cluster `uid`.
    pub fn served_kubeconfig(&self, project: &str, uid: &str) -> Served {
        use base64::Engine as _;
        let text = self
            .rt
            .block_on(
                self.client
                    .with_project(Some(project.to_string()))
                    .get_text(
                        &format!("/v1/spectroclusters/{uid}/assets/kubeconfig"),
                        &CancellationToken::new(),
                    ),
            )
            .expect("the lab serves the running cluster's kubeconfig");
        let k: Value = serde_norway::from_str(&text).expect("kubeconfig YAML");
        let cluster = &k["clusters"][0]["cluster"];
        let ca_b64 = cluster["certificate-authority-data"]
            .as_str()
            .expect("the lab's kubeconfig has certificate-authority-data");
        let ca = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(ca_b64)
                .expect("base64"),
        )
        .expect("PEM text");
        let s = Served {
            host: cluster["server"].as_str().expect("server").to_string(),
            ca,
            token: k["users"][0]["user"]["token"]
                .as_str()
                .expect("the lab's kubeconfig has a token")
                .to_string(),
            text,
        };
        // A short or empty value would make absence checks vacuous.
        assert!(
            s.token.len() >= 16,
            "the lab's token is too short to search for"
        );
        assert!(s.ca.starts_with("-----BEGIN CERTIFICATE-----"));
        s
    }
}

/// Every `sessionId` of a login event vcsim holds.
pub async fn login_sessions(session: &vsphere::Session, server: &str) -> Vec<String> {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><QueryEvents xmlns="urn:vim25"><_this type="EventManager">EventManager</_this><filter><eventTypeId>UserLoginSessionEvent</eventTypeId><maxCount>1000</maxCount></filter></QueryEvents></soapenv:Body></soapenv:Envelope>"#;
    let Ok(r) = session
        .http()
        .post(format!("https://{server}/sdk"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "urn:vim25/8.0.0.0")
        .body(body)
        .send()
        .await
    else {
        return Vec::new();
    };
    let text = r.text().await.unwrap_or_default();
    text.split("<sessionId>")
        .skip(1)
        .filter_map(|s| s.split_once("</sessionId>").map(|(id, _)| id.to_string()))
        .collect()
}

/// vCenter session ids seen so far.
pub type SessionIds = std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>;

/// Collects vcsim's session ids in the background until cancelled (vcsim
/// keeps only its last 1000 events: reading once at the end could miss
/// some). The watcher's own session outlives a password change.
pub fn watch_sessions(
    lab: &Lab,
    sim: &vsphere::vcsim::Vcsim,
    stop: CancellationToken,
) -> (SessionIds, tokio::task::JoinHandle<()>) {
    let seen = SessionIds::default();
    let target = vsphere::Target::parse(&sim.server, true).unwrap();
    let session = lab
        .rt
        .block_on(vsphere::Session::login(&target, &sim.user, &sim.password))
        .expect("the watcher's vCenter login");
    let server = sim.server.clone();
    let into = seen.clone();
    let task = lab.rt.spawn(async move {
        loop {
            let ids = login_sessions(&session, &server).await;
            into.lock().unwrap().extend(ids);
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        let ids = login_sessions(&session, &server).await;
        into.lock().unwrap().extend(ids);
        let _ = session.logout().await;
    });
    (seen, task)
}

/// The 1-based numbers of the log lines holding `needle`.
pub fn lines_with(log: &str, needle: &str) -> Vec<usize> {
    log.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect()
}

/// What varies in [`estate`].
#[allow(dead_code)]
pub struct Estate<'a> {
    /// Last address of the nodes' IP pool.
    pub pool_end: &'a str,
    /// Nodes of the `workers` machine pool; none: no such pool.
    pub workers: u32,
}

impl Default for Estate<'_> {
    fn default() -> Self {
        Estate {
            pool_end: "10.10.183.60",
            workers: 0,
        }
    }
}

/// A data center made through Terraform: gateway `pcg-{tag}` (the
/// provider's vCenter), IP pool `{tag}-nodes`, account `vsphere-{tag}` with
/// `password`, and cluster `apps-{tag}` (tagged env:prod and team:platform)
/// with one static-IP control-plane node.
#[allow(dead_code)]
pub fn estate(
    lab: &Lab,
    sim: &vsphere::vcsim::Vcsim,
    tag: &str,
    password: &str,
    e: &Estate,
) -> String {
    let workers = if e.workers == 0 {
        String::new()
    } else {
        format!(
            r#"
  machine_pool {{
    name  = "workers"
    count = {count}
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.nodes.id
    }}
  }}"#,
            count = e.workers
        )
    };
    format!(
        r#"{provider}
{gateway}
resource "palette_ip_pool" "nodes" {{
  gateway_id = palette_private_cloud_gateway.dc1.id
  name       = "{tag}-nodes"
  start      = "10.10.183.50"
  end        = "{pool_end}"
  prefix     = 24
  gateway    = "10.10.183.1"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "vsphere-{tag}"
  gateway_id     = palette_private_cloud_gateway.dc1.id
  vcenter_server = "{server}"
  username       = "{user}"
  password       = "{password}"
  insecure       = true
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

resource "palette_cluster_vsphere" "apps" {{
  name             = "apps-{tag}"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id
  tags             = ["env:prod", "team:platform"]

  cluster_profile {{
    id = data.palette_cluster_profile.infra.id
  }}

  cloud_config {{
    datacenter = "DC0"
    folder     = "palette/clusters/apps-{tag}"
    ssh_keys   = ["ssh-ed25519 AAAAC3Nza ops@example.com"]
    static_ip  = true
  }}

  machine_pool {{
    name          = "cp"
    control_plane = true
    count         = 1
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
      ip_pool_id      = palette_ip_pool.nodes.id
    }}
  }}{workers}
}}
"#,
        provider = provider_with_vcenter(lab, sim),
        gateway = gateway_hcl("dc1", &format!("pcg-{tag}"), "DC0_C1"),
        server = sim.server,
        user = sim.user,
        pool_end = e.pool_end,
    )
}

/// Copies the files of directory `from` (not its subdirectories) into `to`.
#[allow(dead_code)]
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
