//! The security review's two questions, answered for the configuration a
//! platform team would write (../shared/ux/security.tf): a gateway, an IP
//! pool, an account and a cluster with write-only vCenter passwords from an
//! `ephemeral = true` variable, the Palette API key from another, and the
//! cluster's kubeconfig opened as an ephemeral resource that configures a
//! second provider (tptest stands in for the kubernetes provider: same
//! connection attributes, and it reports fingerprints of what it got).
//!
//! After apply, after a rotation and after destroy, none of `terraform show
//! -json`, the state file, a saved plan (JSON, raw, unzipped) or the whole
//! `TF_LOG=trace` log holds a password, the API key, a kubeconfig credential,
//! a pairing code or a vCenter session id. The rotation is real: vCenter
//! (vcsim) takes only the new password from then on, Palette (the lab) must
//! log in with it to accept it, and refresh and destroy go on through the
//! provider's `vcenter` block.
//!
//! Needs write-only attributes: Terraform 1.11 or later. What older
//! Terraforms see is tested in write_only.rs and cluster_kubeconfig.rs.

mod common;

use acceptance_tests::{
    change_of, for_each_terraform_where, ProviderUnderTest, TerraformBin, Workdir, WRITE_ONLY,
};
use common::{holds, lines_with, palette, stored_places, watch_sessions, Lab};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use vsphere::vcsim::Vcsim;

const USER: &str = "svc-palette@vsphere.local";
const FIRST: &str = "Sec-First-Pa55-4d1a";
const SECOND: &str = "Sec-Second-Pa55-b7e2";
const GATEWAY: &str = "palette_private_cloud_gateway.dc1";
const ACCOUNT: &str = "palette_cloud_account_vsphere.dc1";
const CLUSTER: &str = "palette_cluster_vsphere.apps";

/// The test provider built beside this one.
fn tptest() -> ProviderUnderTest {
    ProviderUnderTest {
        binary: acceptance_tests::workspace_binary("terraform-provider-tptest"),
        source: "testing/tptest".into(),
        version: "0.1.0".into(),
    }
}

fn config(lab: &Lab, sim: &Vcsim, version: i64) -> String {
    format!(
        r#"
variable "palette_api_key" {{
  type      = string
  sensitive = true
  ephemeral = true
}}

variable "vcenter_password" {{
  type      = string
  sensitive = true
  ephemeral = true
}}

provider "palette" {{
  endpoint = "{endpoint}"
  api_key  = var.palette_api_key
  project  = "Default"
  # Refresh and destroy of a gateway whose password is write-only log in
  # to vCenter with this block (provider configuration is never stored).
  vcenter {{
    server   = "{server}"
    username = "{USER}"
    password = var.vcenter_password
    insecure = true
  }}
}}

resource "palette_private_cloud_gateway" "dc1" {{
  name       = "pcg-sec"
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

resource "palette_ip_pool" "nodes" {{
  gateway_id = palette_private_cloud_gateway.dc1.id
  name       = "apps-nodes"
  start      = "10.10.183.50"
  end        = "10.10.183.60"
  prefix     = 24
  gateway    = "10.10.183.1"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name                = "vsphere-dc1"
  gateway_id          = palette_private_cloud_gateway.dc1.id
  vcenter_server      = "{server}"
  username            = "{USER}"
  password_wo         = var.vcenter_password
  password_wo_version = {version}
  insecure            = true
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

resource "palette_cluster_vsphere" "apps" {{
  name             = "apps-dc1"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id
  store_kubeconfig = false

  cluster_profile {{
    id = data.palette_cluster_profile.infra.id
  }}

  cloud_config {{
    datacenter = "DC0"
    folder     = "palette/clusters/apps-dc1"
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
  }}
}}

# Opened when needed, never written to state or plan.
ephemeral "palette_cluster_kubeconfig" "apps" {{
  cluster_id = palette_cluster_vsphere.apps.id
}}

# In place of the kubernetes provider, with the same connection settings.
provider "tptest" {{
  host                   = ephemeral.palette_cluster_kubeconfig.apps.host
  cluster_ca_certificate = ephemeral.palette_cluster_kubeconfig.apps.cluster_ca_certificate
  token                  = ephemeral.palette_cluster_kubeconfig.apps.token
}}

resource "tptest_thing" "namespace" {{
  name = "apps"
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
    )
}

/// The password the lab holds for the gateway's own vSphere account and
/// for the project's cloud account.
fn palette_passwords(lab: &Lab) -> (Option<String>, Option<String>) {
    let store = lab.lab.lab.store();
    let gateway = store
        .gateways
        .iter()
        .find_map(|g| g.account.as_ref().and_then(|(_, a)| a.password.clone()));
    let account = store.accounts.iter().find_map(|a| a.spec.password.clone());
    (gateway, account)
}

/// The last connection the stand-in provider was configured with.
fn last_connection(w: &Workdir) -> serde_json::Value {
    let text = std::fs::read_to_string(w.dir.path().join("tptest/connections.jsonl"))
        .expect("the stand-in provider was configured with a connection");
    serde_json::from_str(text.lines().last().expect("a line")).unwrap()
}

fn vm_names(lab: &Lab, sim: &Vcsim) -> Vec<String> {
    lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .expect("login with vCenter's current password");
        let v = s.list_vms().await.unwrap();
        let _ = s.logout().await;
        v.into_iter()
            .map(|v| v.name)
            .filter(|n| n.starts_with("pcg-sec-") || n.starts_with("apps-dc1-"))
            .collect()
    })
}

/// Fails naming each place that holds a secret (never the secret).
fn assert_not_in(places: &[(String, Vec<u8>)], secrets: &[(String, String)]) {
    let found: Vec<String> = places
        .iter()
        .flat_map(|(place, bytes)| {
            secrets
                .iter()
                .filter(|(_, s)| holds(bytes, s))
                .map(move |(what, _)| format!("{what} in {place}"))
        })
        .collect();
    assert!(found.is_empty(), "secrets stored:\n{}", found.join("\n"));
}

#[test]
fn write_only_passwords_and_ephemeral_kubeconfig_leave_no_secret_anywhere() {
    for_each_terraform_where(
        &palette(),
        WRITE_ONLY,
        TerraformBin::supports_write_only,
        |w| {
            let mut sim = Vcsim::start(USER, FIRST, &["-cluster", "2"]).expect("vcsim");
            let lab = Lab::with_vcsim(&sim);
            let stop = CancellationToken::new();
            let (sessions, watcher) = watch_sessions(&lab, &sim, stop.clone());
            w.add_provider(&tptest());
            let log = w.dir.path().join("trace.log");
            for (k, v) in [
                ("TF_VAR_palette_api_key", lab.lab.api_key.clone()),
                ("TF_VAR_vcenter_password", FIRST.to_string()),
                (
                    "TPTEST_DIR",
                    w.dir.path().join("tptest").display().to_string(),
                ),
                ("TF_LOG", "trace".to_string()),
                ("TF_LOG_PATH", log.display().to_string()),
            ] {
                w.set_env(k, &v);
            }
            // Create everything; the ephemeral kubeconfig configures the
            // stand-in provider with the cluster's real credentials.
            w.config(&config(&lab, &sim, 1));
            w.init();
            w.apply();
            let cluster = w.state_resource(CLUSTER).expect("cluster in state")["values"].clone();
            assert_eq!(cluster["state"], "Running");
            assert!(cluster["kubeconfig"].is_null(), "{cluster}");
            let project = lab.project("Default");
            let served = lab.served_kubeconfig(&project, cluster["id"].as_str().unwrap());
            assert_eq!(
                last_connection(w),
                json!({
                    "host": served.host,
                    "cluster_ca_certificate": acceptance_tests::fingerprint(&served.ca),
                    "token": acceptance_tests::fingerprint(&served.token),
                }),
                "the stand-in provider got the cluster's host, CA and token"
            );
            assert_eq!(
                palette_passwords(&lab),
                (Some(FIRST.to_string()), Some(FIRST.to_string()))
            );
            for addr in [GATEWAY, ACCOUNT] {
                let v = &w.state_resource(addr).unwrap()["values"];
                let holder = if addr == GATEWAY { &v["vcenter"][0] } else { v };
                assert!(holder["password"].is_null() && holder["password_wo"].is_null());
                assert_eq!(holder["password_wo_version"], json!(1));
            }
            let no_changes = w
                .must(&[
                    "plan",
                    "-input=false",
                    "-no-color",
                    "-out=after-apply.tfplan",
                ])
                .combined();
            assert!(no_changes.contains("No changes."), "{no_changes}");
            let mut places = stored_places(w, Some("after-apply.tfplan"));

            // Rotation: the password changes in vCenter; the new version
            // sends the new one to Palette, which logs in with it.
            sim.change_password(SECOND).expect("new vCenter password");
            w.set_env("TF_VAR_vcenter_password", SECOND);
            w.config(&config(&lab, &sim, 2));
            w.must(&["plan", "-input=false", "-no-color", "-out=rotate.tfplan"])
                .combined();
            let plan: serde_json::Value =
                serde_json::from_str(&w.must(&["show", "-json", "rotate.tfplan"]).stdout).unwrap();
            for addr in [GATEWAY, ACCOUNT] {
                let change = change_of(&plan, addr);
                assert_eq!(change["actions"], json!(["update"]), "{addr}: {change}");
            }
            assert_eq!(change_of(&plan, CLUSTER)["actions"], json!(["no-op"]));
            places.extend(stored_places(w, Some("rotate.tfplan")));
            lab.reset_calls();
            w.must(&["apply", "-input=false", "-no-color", "rotate.tfplan"])
                .combined();
            assert_eq!(lab.calls("PUT /v1/overlords/vsphere/*/account"), 1);
            assert_eq!(lab.calls("PUT /v1/cloudaccounts/vsphere/*"), 1);
            assert_eq!(
                palette_passwords(&lab),
                (Some(SECOND.to_string()), Some(SECOND.to_string())),
                "Palette holds the new password, which vCenter alone now takes"
            );
            let no_changes = w.must(&["plan", "-input=false", "-no-color"]).combined();
            assert!(no_changes.contains("No changes."), "{no_changes}");
            places.extend(stored_places(w, None));

            // Destroy reads and deletes through the provider's vcenter block.
            assert!(!vm_names(&lab, &sim).is_empty());
            w.destroy();
            assert_eq!(vm_names(&lab, &sim), Vec::<String>::new());
            places.extend(stored_places(w, None));

            stop.cancel();
            lab.rt.block_on(watcher).unwrap();
            let mut secrets: Vec<(String, String)> = vec![
                ("the Palette API key".into(), lab.lab.api_key.clone()),
                ("the first vCenter password".into(), FIRST.into()),
                ("the second vCenter password".into(), SECOND.into()),
                ("the cluster's token".into(), served.token.clone()),
                ("the cluster's kubeconfig".into(), served.text.clone()),
            ];
            {
                let store = lab.lab.lab.store();
                assert!(!store.pairing_codes.is_empty(), "no pairing code issued");
                for (i, p) in store.pairing_codes.iter().enumerate() {
                    secrets.push((format!("pairing code #{}", i + 1), p.code.clone()));
                }
            }
            assert_not_in(&places, &secrets);

            let sessions = sessions.lock().unwrap().clone();
            assert!(
                sessions.len() >= 3,
                "learnt only {} vCenter sessions",
                sessions.len()
            );
            for (i, s) in sessions.iter().enumerate() {
                secrets.push((format!("vCenter session #{}", i + 1), s.clone()));
            }
            let text = std::fs::read_to_string(&log).expect("the trace log");
            assert!(
                text.lines()
                    .filter(|l| l.contains("provider.terraform-provider-palette"))
                    .count()
                    > 100,
                "the trace log has too few provider lines to prove anything"
            );
            let found: Vec<String> = secrets
                .iter()
                .filter_map(|(what, value)| {
                    let at = lines_with(&text, value);
                    (!at.is_empty()).then(|| format!("{what} at line(s) {at:?}"))
                })
                .collect();
            assert!(
                found.is_empty(),
                "secrets in the TF_LOG=trace log:\n{}",
                found.join("\n")
            );
        },
    );
}
