//! What the lab's HTTP tests share: a lab beside its own vcsim, calls with
//! the lab's key (and a project when given), and vCenter read through the
//! vsphere crate rather than taken from the lab.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use palette_lab::state::{Options, VcenterAccess};
use serde_json::{json, Value};
use vsphere::vcsim::Vcsim;

pub struct Env {
    pub lab: palette_lab::RunningLab,
    pub sim: Vcsim,
    pub http: reqwest::Client,
    /// Fails the test at its end if any response broke the API contract.
    pub contract: palette_lab::contract::Guard,
    options: Options,
    data: Option<PathBuf>,
}

impl Env {
    /// A lab in real time that does not watch vCenter, and a vcsim that
    /// accepts `password` for its user.
    pub async fn new(password: &str) -> Env {
        Self::start(password, &[], None).await
    }

    /// A lab that works in vcsim (the installer watcher, gateway and cluster
    /// VMs) with lifecycle delays multiplied by `time_scale`; `vcsim_flags`
    /// shape the inventory (`-ds 2` for a second datastore).
    pub async fn scaled(password: &str, vcsim_flags: &[&str], time_scale: f64) -> Env {
        Self::start(password, vcsim_flags, Some(time_scale)).await
    }

    /// A lab keeping its state in `data`: in real time without watching
    /// vCenter when `time_scale` is `None`, else as [`Env::scaled`].
    pub async fn with_data(
        password: &str,
        vcsim_flags: &[&str],
        time_scale: Option<f64>,
        data: PathBuf,
    ) -> Env {
        Self::start_on(password, vcsim_flags, time_scale, Some(data)).await
    }

    async fn start(password: &str, vcsim_flags: &[&str], time_scale: Option<f64>) -> Env {
        Self::start_on(password, vcsim_flags, time_scale, None).await
    }

    async fn start_on(
        password: &str,
        vcsim_flags: &[&str],
        time_scale: Option<f64>,
        data: Option<PathBuf>,
    ) -> Env {
        let _ = rustls::crypto::CryptoProvider::install_default(
            rustls::crypto::ring::default_provider(),
        );
        let sim = Vcsim::start("svc@vsphere.local", password, vcsim_flags).expect("vcsim");
        let options = match time_scale {
            None => Options::default(),
            Some(time_scale) => Options {
                vcenter: Some(VcenterAccess {
                    target: vsphere::Target::parse(&sim.server, true).unwrap(),
                    user: sim.user.clone(),
                    password: sim.password.clone(),
                }),
                time_scale,
            },
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self::launch(sim, http, options, data).await
    }

    async fn launch(
        sim: Vcsim,
        http: reqwest::Client,
        options: Options,
        data: Option<PathBuf>,
    ) -> Env {
        let listen = "127.0.0.1:0".parse().unwrap();
        let lab = palette_lab::start_with_data(listen, options.clone(), data.clone())
            .await
            .unwrap();
        let contract = palette_lab::contract::guard(&lab.lab);
        Env {
            lab,
            sim,
            http,
            contract,
            options,
            data,
        }
    }

    /// Stops the lab as a process exit would (its last state saved) and
    /// starts a new one with the same options, data file and vcsim: a
    /// restart of palette-lab beside a vCenter that stays up.
    pub async fn restart(self) -> Env {
        let Env {
            lab,
            sim,
            http,
            contract,
            options,
            data,
        } = self;
        lab.stop().await;
        drop(contract);
        Self::launch(sim, http, options, data).await
    }

    /// A `/v1` call in the tenant scope.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_in(method, path, None, body).await
    }

    /// A `/v1` call in a project's scope (`ProjectUid`) when given.
    pub async fn call_in(
        &self,
        method: &str,
        path: &str,
        project: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.call_text(method, path, project, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn call_text(
        &self,
        method: &str,
        path: &str,
        project: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.lab.endpoint()),
            )
            .header("ApiKey", &self.lab.api_key);
        if let Some(p) = project {
            req = req.header("ProjectUid", p);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// A call to the lab's admin API, with the key the lab printed at start.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.lab.endpoint()),
            )
            .header("ApiKey", &self.lab.api_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Panics listing the responses so far that broke the API contract.
    pub fn assert_no_contract_violations(&self) {
        self.lab.lab.contract.assert_clean();
    }

    /// A Running gateway through the lab's shortcut (no install).
    pub async fn gateway(&self, name: &str) -> String {
        let (s, r) = self
            .admin("POST", "/lab/gateways", Some(json!({"name": name})))
            .await;
        assert_eq!(s, 201, "{r}");
        r["uid"].as_str().unwrap().to_string()
    }

    pub async fn project(&self, name: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/v1/dashboard/projects",
                Some(json!({"filter": {"name": {"eq": name}}})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{v}");
        items[0]["metadata"]["uid"].as_str().unwrap().to_string()
    }

    pub async fn session(&self) -> vsphere::Session {
        let t = vsphere::Target::parse(&self.sim.server, true).unwrap();
        vsphere::Session::login(&t, &self.sim.user, &self.sim.password)
            .await
            .unwrap()
    }

    pub async fn vms_named(&self, prefix: &str) -> Vec<vsphere::vm::VmInfo> {
        let s = self.session().await;
        let vms = s.list_vms().await.unwrap();
        let _ = s.logout().await;
        vms.into_iter()
            .filter(|v| v.name.starts_with(prefix))
            .collect()
    }

    /// An installer VM deployed the documented way: the OVA from the
    /// location Palette gives, imported into vCenter with its properties,
    /// then powered on.
    pub async fn installer(&self, vm_name: &str, props: &[(&str, &str)]) -> String {
        let (_, ova) = self.call("GET", "/v1/overlords/vsphere/ova", None).await;
        let location = ova["location"].as_str().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("installer.ova");
        vsphere::ovf::download(&location, &path, None)
            .await
            .unwrap();
        let ova = vsphere::ovf::Ova::open(&path).unwrap();
        let s = self.session().await;
        let at = s
            .resolve(&vsphere::vm::Placement {
                datacenter: "DC0".into(),
                compute_cluster: "DC0_C0".into(),
                datastore: "LocalDS_0".into(),
                network: "VM Network".into(),
                resource_pool: String::new(),
                folder: "installers".into(),
            })
            .await
            .unwrap();
        let values: std::collections::BTreeMap<String, String> = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let vm = s.import_ova(&ova, vm_name, &at, &values).await.unwrap();
        s.power_on(&vm).await.unwrap();
        let _ = s.logout().await;
        vm
    }

    pub async fn pairing_code(&self) -> String {
        let (s, v) = self
            .call("GET", "/v1/overlords/pairing/code?cloudType=vsphere", None)
            .await;
        assert_eq!(s, 200, "{v}");
        v["pairingCode"].as_str().unwrap().to_string()
    }

    /// Polls `f` every 50 ms until it answers, for at most 20 s.
    pub async fn wait_for(&self, what: &str, mut f: impl AsyncFnMut() -> Option<Value>) -> Value {
        let start = Instant::now();
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
