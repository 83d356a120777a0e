//! `palette_cloud_account_vsphere` and the account and cluster profile data
//! sources, with the real terraform CLI against palette-lab and vcsim: the
//! lab checks every account's credentials by logging in to vcsim.

mod common;

use acceptance_tests::{
    assert_diagnostic_at, change_of, for_each_terraform, planned_actions, Workdir,
};
use common::{palette, Lab};
use palette_api::models::{V1VsphereAccount, V1VsphereAccounts};
use serde_json::json;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Vc-Pa55-for-tests";
const ADDR: &str = "palette_cloud_account_vsphere.dc1";

fn vcsim() -> Vcsim {
    Vcsim::start("svc-palette@vsphere.local", PASSWORD, &[]).expect("vcsim")
}

struct Account<'a> {
    gateway: &'a str,
    name: &'a str,
    server: String,
    password: &'a str,
    extra: &'a str,
}

fn config(lab: &Lab, project: &str, a: &Account) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint        = "{endpoint}"
  project         = "{project}"
  request_timeout = "3s"
  retry_max_wait  = "1s"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "{name}"
  gateway_id     = "{gateway}"
  vcenter_server = "{server}"
  username       = "svc-palette@vsphere.local"
  password       = "{password}"
  insecure       = true
  {extra}
}}
"#,
        endpoint = lab.endpoint(),
        name = a.name,
        gateway = a.gateway,
        server = a.server,
        password = a.password,
        extra = a.extra,
    )
}

fn accounts(lab: &Lab, project: Option<&str>) -> Vec<V1VsphereAccount> {
    let l: V1VsphereAccounts = lab.get(project, "/v1/cloudaccounts/vsphere").unwrap();
    l.items.unwrap_or_default()
}

fn setup(w: &mut Workdir, lab: &Lab) {
    w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
}

#[test]
fn account_lifecycle_against_the_lab_and_vcsim() {
    let sim = vcsim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let default = lab.project("Default");
        let production = lab.project("Production");
        let gw = lab.gateway("pcg-dc1");
        // A URL spelling in the configuration; Palette keeps the bare host.
        let mut acct = Account {
            gateway: &gw,
            name: "vsphere-dc1",
            server: format!("https://{}/sdk", sim.server),
            password: PASSWORD,
            extra: "",
        };
        w.config(&config(&lab, "Default", &acct));
        w.init();
        w.apply();
        let list = accounts(&lab, Some(&default));
        assert_eq!(list.len(), 1);
        let spec = list[0].spec.clone().unwrap();
        assert_eq!(spec.vcenter_server.as_deref(), Some(sim.server.as_str()));
        let uid = list[0].metadata.clone().unwrap().uid.unwrap();
        // In the project named in the provider block, and only there.
        assert!(accounts(&lab, Some(&production)).is_empty());
        assert!(accounts(&lab, None).is_empty());
        w.assert_plan_empty();

        // Rename in place.
        acct.name = "vsphere-dc1-renamed";
        w.config(&config(&lab, "Default", &acct));
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![(ADDR.to_string(), vec!["update".to_string()])]
        );
        w.apply();
        w.assert_plan_empty();
        assert_eq!(
            accounts(&lab, Some(&default))[0]
                .metadata
                .clone()
                .unwrap()
                .uid,
            Some(uid.clone())
        );

        // Drift: renamed in Palette shows as exactly that.
        let path = format!("/v1/cloudaccounts/vsphere/{uid}");
        let mut body: V1VsphereAccount = lab.get(Some(&default), &path).unwrap();
        body.metadata.as_mut().unwrap().name = Some("renamed-by-hand".into());
        body.spec.as_mut().unwrap().password = Some(PASSWORD.into());
        lab.put(Some(&default), &path, &body);
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]));
        assert_eq!(change["before"]["name"], "renamed-by-hand");
        assert_eq!(change["after"]["name"], "vsphere-dc1-renamed");
        for attr in ["vcenter_server", "username", "gateway_id", "insecure"] {
            assert_eq!(change["before"][attr], change["after"][attr], "{attr}");
        }
        w.apply();
        w.assert_plan_empty();

        // Import by name: Palette never returns the password, so the one
        // change planned is setting it from the configuration.
        w.state_rm(ADDR);
        w.import(ADDR, "vsphere-dc1-renamed");
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        let before = change["before"].as_object().unwrap();
        let after = change["after"].as_object().unwrap();
        let differing: Vec<&String> = after
            .keys()
            .filter(|k| before.get(*k) != after.get(*k) && *k != "vcenter_server")
            .collect();
        assert!(
            differing.is_empty() || differing == vec!["password"],
            "{differing:?}"
        );
        w.apply();
        w.assert_plan_empty();
        // And by uid, plain and in the official provider's `<uid>:<context>`.
        for id in [uid.clone(), format!("{uid}:project")] {
            w.state_rm(ADDR);
            w.import(ADDR, &id);
            w.apply();
            w.assert_plan_empty();
        }

        // Deleted out of band: planned for creation, not an error.
        lab.delete(Some(&default), &path);
        assert_eq!(
            planned_actions(&w.plan_json()),
            vec![(ADDR.to_string(), vec!["create".to_string()])]
        );
        w.apply();

        // Another gateway replaces the account, and says why.
        let gw2 = lab.gateway("pcg-dc2");
        acct.gateway = &gw2;
        w.config(&config(&lab, "Default", &acct));
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["delete", "create"]));
        assert_eq!(change["replace_paths"], json!([["gateway_id"]]));
        w.apply();
        assert_eq!(accounts(&lab, Some(&default)).len(), 1);

        w.destroy();
        assert!(
            accounts(&lab, Some(&default)).is_empty(),
            "destroy left accounts behind"
        );
    });
}

#[test]
fn wrong_password_and_bad_input() {
    let sim = vcsim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        let mut acct = Account {
            gateway: &gw,
            name: "dc1",
            server: sim.server.clone(),
            password: "not-the-password",
            extra: "",
        };
        w.config(&config(&lab, "Default", &acct));
        w.init();
        let r = w.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.combined();
        assert!(out.contains("rejected the user name or password"), "{out}");
        assert!(!out.contains("not-the-password"), "{out}");
        assert!(
            w.state_resources().is_empty(),
            "nothing was created, nothing in state"
        );
        assert!(accounts(&lab, Some(&lab.project("Default"))).is_empty());

        // Plan-time checks name the attribute.
        acct.password = PASSWORD;
        acct.server = "ftp://vc.example.com".into();
        w.config(&config(&lab, "Default", &acct));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert_diagnostic_at(w, &r.combined(), "vcenter_server");

        acct.server = sim.server.clone();
        acct.extra = r#"context = "galaxy""#;
        w.config(&config(&lab, "Default", &acct));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("project"), "{r}");
        assert_diagnostic_at(w, &r.combined(), "context");

        // A project name that does not exist fails at configure, naming it.
        acct.extra = "";
        w.config(&config(&lab, "Nope", &acct));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("No project is named \"Nope\""), "{r}");
    });
}

#[test]
fn account_faults_end_with_true_state_and_no_duplicates() {
    let sim = vcsim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let default = lab.project("Default");
        let gw = lab.gateway("pcg-dc1");
        let acct = Account {
            gateway: &gw,
            name: "dc1",
            server: sim.server.clone(),
            password: PASSWORD,
            extra: "",
        };
        w.config(&config(&lab, "Default", &acct));
        w.init();
        let path = "/v1/cloudaccounts/vsphere";

        lab.fault(json!({"method": "POST", "path_prefix": path, "kind": "status", "status": 429, "retry_after_secs": 1, "count": 2}));
        w.apply();
        assert_eq!(accounts(&lab, Some(&default)).len(), 1);
        assert_eq!(lab.calls(&format!("POST {path}")), 3);

        lab.fault(json!({"method": "GET", "path_prefix": path, "kind": "status", "status": 503, "count": 2}));
        w.assert_plan_empty();

        // Slow but within the request timeout: waited for, not retried.
        lab.reset_calls();
        lab.fault(json!({"method": "GET", "path_prefix": path, "kind": "latency", "millis": 1500, "count": 1}));
        w.assert_plan_empty();
        assert_eq!(
            lab.calls(&format!("GET {path}/*")),
            1,
            "a slow answer must not be retried"
        );

        w.destroy();
        lab.reset_calls();
        lab.fault(json!({"method": "POST", "path_prefix": path, "kind": "no_answer", "count": 1}));
        w.apply();
        let found = accounts(&lab, Some(&default));
        assert_eq!(
            found.len(),
            1,
            "the unanswered POST must not lead to a second account"
        );
        assert_eq!(
            lab.calls(&format!("POST {path}")),
            1,
            "an unanswered POST is followed by a search by name, never a second POST"
        );
        let st = w.state_resource(ADDR).unwrap();
        assert_eq!(
            st["values"]["id"].as_str(),
            found[0].metadata.as_ref().and_then(|m| m.uid.as_deref()),
            "the account found by name is the one in state"
        );
        w.assert_plan_empty();

        // A connection dropped before the lab took the POST in: the search
        // finds nothing, the apply fails saying it is safe to retry, and
        // nothing was posted twice; applying again creates the account.
        w.destroy();
        lab.reset_calls();
        lab.fault(json!({"method": "POST", "path_prefix": path, "kind": "drop", "count": 1}));
        let r = w.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(!r.ok(), "{r}");
        let text = r.flat();
        assert!(text.contains("it is safe to apply again"), "{r}");
        assert!(accounts(&lab, Some(&default)).is_empty());
        assert_eq!(lab.calls(&format!("POST {path}")), 1);
        w.apply();
        assert_eq!(accounts(&lab, Some(&default)).len(), 1);
        assert_eq!(lab.calls(&format!("POST {path}")), 2);

        lab.fault(json!({"method": "DELETE", "path_prefix": path, "kind": "drop", "count": 1}));
        w.destroy();
        assert!(accounts(&lab, Some(&default)).is_empty());
    });
}

#[test]
fn secrets_never_appear_in_trace_logs() {
    let sim = vcsim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        let acct = Account {
            gateway: &gw,
            name: "dc1",
            server: sim.server.clone(),
            password: "${var.vcenter_password}",
            extra: "",
        };
        let cfg = config(&lab, "Default", &acct)
            + "variable \"vcenter_password\" {\n  type      = string\n  sensitive = true\n}\n";
        w.config(&cfg);
        w.set_env("TF_VAR_vcenter_password", PASSWORD);
        w.init();
        w.set_env("TF_LOG", "trace");
        let applied = w.apply();
        let planned = w.plan();
        let destroyed = w.destroy();
        let log = format!(
            "{}{}{}",
            applied.combined(),
            planned.combined(),
            destroyed.combined()
        );
        assert!(log.contains("Palette API call"), "provider logs missing");
        assert!(
            !log.contains(&lab.lab.api_key),
            "the API key appears in TF_LOG=trace output"
        );
        assert!(
            !log.contains(PASSWORD),
            "the vCenter password appears in TF_LOG=trace output"
        );
    });
}

#[test]
fn data_sources_read_accounts_and_cluster_profiles() {
    let sim = vcsim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        let acct = Account {
            gateway: &gw,
            name: "dc1",
            server: sim.server.clone(),
            password: PASSWORD,
            extra: "",
        };
        let cfg = config(&lab, "Default", &acct)
            + r#"
data "palette_cloud_account_vsphere" "read" {
  name = palette_cloud_account_vsphere.dc1.name
}
data "palette_cluster_profile" "latest" {
  name = "vsphere-ubuntu-k8s"
}
data "palette_cluster_profile" "pinned" {
  name    = "vsphere-ubuntu-k8s"
  version = "1.0.0"
}
output "account_gateway" { value = data.palette_cloud_account_vsphere.read.gateway_id }
output "account_id_matches" { value = data.palette_cloud_account_vsphere.read.id == palette_cloud_account_vsphere.dc1.id }
output "latest_version" { value = data.palette_cluster_profile.latest.version }
output "versions" { value = data.palette_cluster_profile.latest.versions }
output "pinned_k8s" { value = [for p in data.palette_cluster_profile.pinned.packs : p.tag if p.layer == "k8s"][0] }
output "distinct_ids" { value = data.palette_cluster_profile.latest.id != data.palette_cluster_profile.pinned.id }
"#;
        w.config(&cfg);
        w.init();
        w.apply();
        let out = &w.show_json()["values"]["outputs"];
        assert_eq!(out["account_gateway"]["value"], gw.as_str());
        assert_eq!(out["account_id_matches"]["value"], true);
        assert_eq!(out["latest_version"]["value"], "1.1.0");
        assert_eq!(out["versions"]["value"], json!(["1.0.0", "1.1.0"]));
        assert_eq!(out["pinned_k8s"]["value"], "1.29.4");
        assert_eq!(out["distinct_ids"]["value"], true);
        w.assert_plan_empty();

        // A version that does not exist is an error at `version`.
        w.config(&cfg.replace(r#"version = "1.0.0""#, r#"version = "9.9.9""#));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("has version \"9.9.9\""), "{r}");
        w.config(&cfg);
        w.destroy();
    });
}
