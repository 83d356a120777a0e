//! Write-only vCenter passwords (`password_wo` + `password_wo_version`) on
//! `palette_cloud_account_vsphere` and in the gateway's `vcenter` block,
//! with the real terraform CLI against palette-lab and vcsim: the password
//! reaches Palette (read from the lab's store in this process) and vCenter
//! (the lab logs in with it), never plan JSON, the plan file or state; a
//! new version sends it again; import plans one update that sends it once.
//! Terraform before 1.11 gets an error naming `password`, which still works.

mod common;

use acceptance_tests::{
    assert_diagnostic_at, change_of, for_each_terraform_where, planned_actions, TerraformBin,
    Workdir, WRITE_ONLY,
};
use common::{holds, palette, stored_places, Lab};
use serde_json::json;
use vsphere::vcsim::Vcsim;

const USER: &str = "svc-palette@vsphere.local";
const FIRST: &str = "Wo-First-Pa55-71c3";
const SECOND: &str = "Wo-Second-Pa55-9e0d";
const ACCOUNT: &str = "palette_cloud_account_vsphere.dc1";
const GATEWAY: &str = "palette_private_cloud_gateway.dc1";

/// An ephemeral variable, as the target configuration has it: a literal
/// would be in the plan file's copy of the configuration, and a plain
/// variable's value in the plan file's variables.
const PASSWORD_VARIABLE: &str = r#"
variable "vcenter_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
"#;

fn account_config(lab: &Lab, gateway: &str, server: &str, password_lines: &str) -> String {
    format!(
        r#"{PASSWORD_VARIABLE}
provider "palette" {{
  endpoint        = "{endpoint}"
  project         = "Default"
  request_timeout = "3s"
  retry_max_wait  = "1s"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "vsphere-dc1"
  gateway_id     = "{gateway}"
  vcenter_server = "{server}"
  username       = "{USER}"
  insecure       = true
  {password_lines}
}}
"#,
        endpoint = lab.endpoint(),
    )
}

fn wo(version: i64) -> String {
    format!("password_wo = var.vcenter_password\n  password_wo_version = {version}")
}

/// The password the lab holds for the project's only account.
fn account_password(lab: &Lab) -> Option<String> {
    let store = lab.lab.lab.store();
    assert_eq!(store.accounts.len(), 1, "one account in the lab");
    store.accounts[0].spec.password.clone()
}

/// The password the lab holds for the gateway's own vSphere account.
fn gateway_password(lab: &Lab) -> Option<String> {
    let store = lab.lab.lab.store();
    assert_eq!(store.gateways.len(), 1, "one gateway in the lab");
    store.gateways[0]
        .account
        .as_ref()
        .and_then(|(_, a)| a.password.clone())
}

/// Fails naming `what` (never the secret) when `haystack` holds `secret`.
fn assert_absent(what: &str, haystack: &[u8], secret: &str) {
    assert!(
        !holds(haystack, secret),
        "{what} contains a vCenter password"
    );
}

/// Neither `show -json`, the state file, nor (when given) a saved plan, as
/// JSON, raw and unzipped, holds any of `secrets`.
fn assert_nothing_stored(w: &Workdir, plan_file: Option<&str>, secrets: &[&str]) {
    for (what, bytes) in &stored_places(w, plan_file) {
        for s in secrets {
            assert_absent(what, bytes, s);
        }
    }
}

fn write_only_terraform(tf: &TerraformBin) -> bool {
    tf.supports_write_only()
}

#[test]
fn account_write_only_password_create_rotate_import() {
    for_each_terraform_where(&palette(), WRITE_ONLY, write_only_terraform, |w| {
        let mut sim = Vcsim::start(USER, FIRST, &[]).expect("vcsim");
        let lab = Lab::start();
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let gw = lab.gateway("pcg-dc1");
        let server = sim.server.clone();

        // Both forms, or a version without the write-only one: plan-time errors at the attribute.
        w.set_env("TF_VAR_vcenter_password", FIRST);
        w.config(&account_config(
            &lab,
            &gw,
            &server,
            &format!("password = \"{FIRST}\"\n  {}", wo(1)),
        ));
        w.init();
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.flat().contains("Two vCenter passwords"), "{r}");
        assert_diagnostic_at(w, &r.combined(), "password_wo ");
        w.config(&account_config(
            &lab,
            &gw,
            &server,
            &format!("password = \"{FIRST}\"\n  password_wo_version = 1"),
        ));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert_diagnostic_at(w, &r.combined(), "password_wo_version");

        // Create: Palette gets the password (and checks it against vCenter).
        w.config(&account_config(&lab, &gw, &server, &wo(1)));
        w.apply();
        assert_eq!(account_password(&lab).as_deref(), Some(FIRST));
        let st = w.state_resource(ACCOUNT).expect("in state");
        assert!(st["values"]["password_wo"].is_null(), "{st}");
        assert!(st["values"]["password"].is_null(), "{st}");
        assert_eq!(st["values"]["password_wo_version"], json!(1));
        assert_nothing_stored(w, None, &[FIRST]);
        w.assert_plan_empty();

        // A new password alone is invisible to Terraform, by design.
        w.set_env("TF_VAR_vcenter_password", SECOND);
        w.assert_plan_empty();

        // Rotation: vCenter now takes only the new password (a vcsim on the
        // same address that knows no other), and a new version sends it.
        drop(sim);
        sim = Vcsim::start(USER, SECOND, &["-l", &server]).expect("vcsim on the same address");
        assert_eq!(sim.server, server);
        w.config(&account_config(&lab, &gw, &server, &wo(2)));
        w.must(&["plan", "-input=false", "-no-color", "-out=rotate.tfplan"]);
        let plan: serde_json::Value =
            serde_json::from_str(&w.must(&["show", "-json", "rotate.tfplan"]).stdout).unwrap();
        let change = change_of(&plan, ACCOUNT);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        assert_eq!(change["before"]["password_wo_version"], json!(1));
        assert_eq!(change["after"]["password_wo_version"], json!(2));
        assert!(change["after"]["password_wo"].is_null(), "{change}");
        assert_nothing_stored(w, Some("rotate.tfplan"), &[FIRST, SECOND]);
        lab.reset_calls();
        w.must(&["apply", "-input=false", "-no-color", "rotate.tfplan"]);
        assert_eq!(lab.calls("PUT /v1/cloudaccounts/vsphere/*"), 1);
        // The lab logged in to vCenter with it before storing it.
        assert_eq!(account_password(&lab).as_deref(), Some(SECOND));
        assert_nothing_stored(w, None, &[FIRST, SECOND]);
        w.assert_plan_empty();

        // Import: the version is null in state, so one update, which sends
        // the password once; then nothing until the version changes.
        w.state_rm(ACCOUNT);
        w.import(ACCOUNT, "vsphere-dc1");
        let plan = w.plan_json();
        let change = change_of(&plan, ACCOUNT);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        let (before, after) = (
            change["before"].as_object().unwrap(),
            change["after"].as_object().unwrap(),
        );
        let differing: Vec<&String> = after
            .keys()
            .filter(|k| before.get(*k) != after.get(*k))
            .collect();
        assert_eq!(differing, vec!["password_wo_version"], "{change}");
        assert!(before["password_wo_version"].is_null(), "{change}");
        lab.reset_calls();
        w.apply();
        assert_eq!(lab.calls("PUT /v1/cloudaccounts/vsphere/*"), 1);
        assert_eq!(account_password(&lab).as_deref(), Some(SECOND));
        w.assert_plan_empty();
        assert_nothing_stored(w, None, &[FIRST, SECOND]);

        w.destroy();
        assert!(lab.lab.lab.store().accounts.is_empty());
    });
}

fn gateway_config(lab: &Lab, sim: &Vcsim, version: i64, provider_vcenter: bool) -> String {
    let provider_block = if provider_vcenter {
        format!(
            r#"
  vcenter {{
    server   = "{server}"
    username = "{USER}"
    password = var.vcenter_password
    insecure = true
  }}"#,
            server = sim.server
        )
    } else {
        String::new()
    };
    format!(
        r#"{PASSWORD_VARIABLE}
provider "palette" {{
  endpoint = "{endpoint}"{provider_block}
}}

resource "palette_private_cloud_gateway" "dc1" {{
  name       = "pcg-wo"
  node_count = 1
  vcenter {{
    server              = "{server}"
    username            = "{USER}"
    password_wo         = var.vcenter_password
    password_wo_version = {version}
    insecure            = true
  }}
  installer {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
  }}
  placement {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C1"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
  }}
  timeouts {{
    create = "2m"
    update = "2m"
    delete = "2m"
  }}
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
    )
}

fn gateway_vms(lab: &Lab, sim: &Vcsim) -> Vec<String> {
    lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .unwrap();
        let v = s.list_vms().await.unwrap();
        let _ = s.logout().await;
        v.into_iter()
            .map(|v| v.name)
            .filter(|n| n.starts_with("pcg-wo-"))
            .collect()
    })
}

#[test]
fn gateway_write_only_password_create_rotate_import_destroy() {
    for_each_terraform_where(&palette(), WRITE_ONLY, write_only_terraform, |w| {
        let sim = Vcsim::start(USER, FIRST, &[]).expect("vcsim");
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.set_env("TF_VAR_vcenter_password", FIRST);

        // Without a provider vcenter block the create works, and the plan
        // says what later refreshes and destroy will need.
        w.config(&gateway_config(&lab, &sim, 1, false));
        w.init();
        let r = w.assert_plan_changes();
        assert!(
            r.flat()
                .contains("Later refreshes and destroy need the provider's vCenter block"),
            "{r}"
        );
        w.apply();
        assert_eq!(gateway_password(&lab).as_deref(), Some(FIRST));
        let st = w.state_resource(GATEWAY).expect("in state");
        assert_eq!(st["values"]["state"], "Running");
        let block = &st["values"]["vcenter"][0];
        assert!(
            block["password_wo"].is_null() && block["password"].is_null(),
            "{block}"
        );
        assert_eq!(block["password_wo_version"], json!(1));
        assert_nothing_stored(w, None, &[FIRST]);

        // A refresh cannot read the VMs and says so; nothing else changes.
        let r = w.plan();
        assert_eq!(r.status, Some(0), "{r}");
        assert!(
            r.flat()
                .contains("Cannot read the gateway's VMs: no vCenter password"),
            "{r}"
        );
        // Destroy is refused before anything is deleted.
        let r = w.run(&["plan", "-destroy", "-input=false", "-no-color"]);
        assert_eq!(r.status, Some(1), "{r}");
        assert!(
            r.flat()
                .contains("No vCenter password to destroy the gateway"),
            "{r}"
        );
        assert!(r.flat().contains("deletes its node VMs"), "{r}");

        // With the provider's block for that server: refreshes read vCenter.
        w.config(&gateway_config(&lab, &sim, 1, true));
        let r = w.plan();
        assert_eq!(r.status, Some(0), "{r}");
        assert!(!r.flat().contains("Warning"), "{r}");

        // A new version sends the password again. vcsim takes one password,
        // so the new one is a password vCenter refuses: the lab's login with
        // it fails the apply, and Palette keeps the one it had.
        w.set_env("TF_VAR_vcenter_password", SECOND);
        w.config(&gateway_config(&lab, &sim, 2, false));
        w.must(&["plan", "-input=false", "-no-color", "-out=rotate.tfplan"]);
        assert_nothing_stored(w, Some("rotate.tfplan"), &[FIRST, SECOND]);
        let r = w.run(&["apply", "-input=false", "-no-color", "rotate.tfplan"]);
        assert_eq!(r.status, Some(1), "{r}");
        assert!(
            r.flat().contains("rejected the user name or password"),
            "{r}"
        );
        assert_absent("the failed apply's output", r.combined().as_bytes(), SECOND);
        assert_eq!(gateway_password(&lab).as_deref(), Some(FIRST));
        // Back to the password vCenter takes, under a new version: sent once.
        w.set_env("TF_VAR_vcenter_password", FIRST);
        w.config(&gateway_config(&lab, &sim, 3, true));
        lab.reset_calls();
        w.apply();
        assert_eq!(lab.calls("PUT /v1/overlords/vsphere/*/account"), 1);
        assert_eq!(gateway_password(&lab).as_deref(), Some(FIRST));
        w.assert_plan_empty();
        assert_nothing_stored(w, None, &[FIRST, SECOND]);

        // Import: the first plan sets the version (null in state) and its
        // update sends the password once; then plans are empty.
        let uid = w.state_resource(GATEWAY).unwrap()["values"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        w.state_rm(GATEWAY);
        w.import(GATEWAY, &uid);
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![(GATEWAY.to_string(), vec!["update".to_string()])]
        );
        lab.reset_calls();
        w.apply();
        assert_eq!(lab.calls("PUT /v1/overlords/vsphere/*/account"), 1);
        w.assert_plan_empty();
        assert_nothing_stored(w, None, &[FIRST]);

        // Destroy logs in with the provider's block and removes the VMs.
        assert!(!gateway_vms(&lab, &sim).is_empty());
        w.destroy();
        assert_eq!(gateway_vms(&lab, &sim), Vec::<String>::new());
    });
}

#[test]
fn before_terraform_1_11_password_wo_is_refused_naming_password_which_works() {
    for_each_terraform_where(
        &palette(),
        "a Terraform without write-only attributes (before 1.11)",
        |tf| !tf.supports_write_only(),
        |w| {
            let sim = Vcsim::start(USER, FIRST, &[]).expect("vcsim");
            let lab = Lab::start();
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            w.set_env("TF_VAR_vcenter_password", FIRST);
            let gw = lab.gateway("pcg-dc1");
            // No `ephemeral = true` before 1.10.
            let cfg = |lines: &str| {
                account_config(&lab, &gw, &sim.server, lines).replace("  ephemeral = true\n", "")
            };
            w.config(&cfg(&wo(1)));
            w.init();
            let r = w.plan();
            assert_eq!(r.status, Some(1), "{r}");
            let out = r.flat();
            assert!(
                out.contains("Write-only attribute needs Terraform 1.11 or later"),
                "{r}"
            );
            assert!(out.contains("Set `password` instead"), "{r}");
            assert_diagnostic_at(w, &r.combined(), "password_wo ");
            assert!(lab.lab.lab.store().accounts.is_empty());

            w.config(&cfg("password = var.vcenter_password"));
            w.apply();
            assert_eq!(account_password(&lab).as_deref(), Some(FIRST));
            w.assert_plan_empty();
            w.destroy();
        },
    );
}
