//! `ephemeral "palette_cluster_kubeconfig"` with the real terraform CLI
//! against palette-lab and vcsim: on every Terraform with ephemeral
//! resources (1.10+), the kubeconfig's host, CA and token reach the
//! configuration (postconditions compare them with what the lab serves)
//! and none of it reaches show -json, the state file or a saved plan while
//! the cluster has `store_kubeconfig = false`. On older Terraform, the
//! provider still serves them the cluster's `kubeconfig` in state.
//!
//! Secrets (the token, the kubeconfig) never appear in assertion messages:
//! checks name where a secret was found, never the secret.

mod common;

use acceptance_tests::{change_of, for_each_terraform_where, TerraformBin, EPHEMERAL};
use common::{holds, palette, stored_places, Lab, Served};
use serde_json::Value;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Vc-Pa55-for-kubeconfig-tests";
const ADDR: &str = "palette_cluster_vsphere.apps";
const KUBECONFIG_GET: &str = "GET /v1/spectroclusters/*/assets/kubeconfig";

fn sim() -> Vcsim {
    Vcsim::start("svc-palette@vsphere.local", PASSWORD, &[]).expect("vcsim")
}

/// Gateway-side objects and a one-node cluster; `extra` goes into the
/// cluster block, `rest` after it.
fn config(lab: &Lab, sim: &Vcsim, gw: &str, extra: &str, rest: &str) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint        = "{endpoint}"
  project         = "Default"
  request_timeout = "3s"
  retry_max_wait  = "1s"
}}

resource "palette_ip_pool" "nodes" {{
  gateway_id = "{gw}"
  name       = "apps-nodes"
  start      = "10.10.183.50"
  end        = "10.10.183.60"
  prefix     = 24
  gateway    = "10.10.183.1"
}}

resource "palette_cloud_account_vsphere" "dc1" {{
  name           = "vsphere-dc1"
  gateway_id     = "{gw}"
  vcenter_server = "{server}"
  username       = "{user}"
  password       = "{PASSWORD}"
  insecure       = true
}}

data "palette_cluster_profile" "infra" {{
  name = "vsphere-ubuntu-k8s"
}}

resource "palette_cluster_vsphere" "apps" {{
  name             = "apps-dc1"
  cloud_account_id = palette_cloud_account_vsphere.dc1.id
  {extra}

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
{rest}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
    )
}

/// The ephemeral resources under test, each checking at every open that
/// what it returns is what the lab serves (the expected values come in as
/// sensitive variables, so a failed check prints none of them).
const EPHEMERALS: &str = r#"
variable "want_host" {
  type = string
}
variable "want_ca" {
  type = string
}
variable "want_token" {
  type      = string
  sensitive = true
}

ephemeral "palette_cluster_kubeconfig" "by_id" {
  cluster_id = palette_cluster_vsphere.apps.id
  lifecycle {
    postcondition {
      condition = (self.host == var.want_host && self.cluster_ca_certificate == var.want_ca
        && self.token == var.want_token && self.client_key == null && self.client_certificate == null
        && self.insecure == false && self.name == "apps-dc1" && strcontains(self.kubeconfig, var.want_token))
      error_message = "by_id: the kubeconfig's fields differ from the lab's."
    }
  }
}

ephemeral "palette_cluster_kubeconfig" "by_name" {
  name = "apps-dc1"
  lifecycle {
    postcondition {
      condition = (self.host == var.want_host && self.cluster_ca_certificate == var.want_ca
        && self.token == var.want_token && self.cluster_id == palette_cluster_vsphere.apps.id)
      error_message = "by_name: the kubeconfig's fields differ from the lab's."
    }
  }
}
"#;

/// The same ephemeral resources without postconditions. Terraform 1.11
/// records a postcondition's result in state under the ephemeral resource,
/// and `terraform show -json` then crashes on it ("unsupported resource
/// mode 69"): the storage checks run on a state written without them.
const PLAIN_EPHEMERALS: &str = r#"
ephemeral "palette_cluster_kubeconfig" "by_id" {
  cluster_id = palette_cluster_vsphere.apps.id
}

ephemeral "palette_cluster_kubeconfig" "by_name" {
  name = "apps-dc1"
}
"#;

/// The places among `stored` that hold the token or the kubeconfig.
fn leaks(places: &[(String, Vec<u8>)], s: &Served) -> Vec<String> {
    places
        .iter()
        .filter(|(_, b)| holds(b, &s.token) || holds(b, &s.text))
        .map(|(what, _)| what.clone())
        .collect()
}

fn ephemeral_terraform(tf: &TerraformBin) -> bool {
    tf.supports_ephemeral()
}

fn older_terraform(tf: &TerraformBin) -> bool {
    !tf.supports_ephemeral()
}

#[test]
fn ephemeral_kubeconfig_by_id_and_name_is_right_and_never_stored() {
    let sim = sim();
    for_each_terraform_where(&palette(), EPHEMERAL, ephemeral_terraform, |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let project = lab.project("Default");
        let gw = lab.gateway("pcg-dc1");
        let unstored = "store_kubeconfig = false";

        // The cluster alone: with store_kubeconfig = false the resource never
        // asks for the kubeconfig, so every later GET is the ephemeral's.
        w.config(&config(&lab, &sim, &gw, unstored, ""));
        w.init();
        w.apply();
        let state = w.state_resource(ADDR).expect("cluster in state")["values"].clone();
        assert_eq!(state["state"], "Running");
        assert!(state["kubeconfig"].is_null());
        assert_eq!(state["store_kubeconfig"], false);
        assert_eq!(
            lab.calls(KUBECONFIG_GET),
            0,
            "the cluster resource fetched the kubeconfig"
        );
        let uid = state["id"].as_str().unwrap().to_string();
        let s = lab.served_kubeconfig(&project, &uid);
        w.assert_plan_empty();

        // A wrong expectation fails the postcondition: the check can fail.
        w.config(&config(&lab, &sim, &gw, unstored, EPHEMERALS));
        w.set_env("TF_VAR_want_host", &s.host);
        w.set_env("TF_VAR_want_ca", &s.ca);
        w.set_env("TF_VAR_want_token", "not-the-clusters-token");
        let out = w.plan();
        assert!(!out.ok(), "a wrong token passed the postcondition");
        let text = out.combined();
        assert!(
            text.contains("by_id: the kubeconfig's fields differ"),
            "the by_id postcondition did not fail:\n{}",
            text.replace(&s.token, "<token>")
        );
        assert!(
            !text.contains(&s.token),
            "the failed plan printed the token"
        );

        // The right expectations: both opens pass, during plan and apply.
        w.set_env("TF_VAR_want_token", &s.token);
        lab.reset_calls();
        let applied = w.apply();
        assert!(
            !applied.combined().contains(&s.token),
            "the apply printed the token"
        );
        let gets = lab.calls(KUBECONFIG_GET);
        assert!(
            gets >= 2,
            "{gets} kubeconfig GETs: both ephemerals should open"
        );
        assert!(
            lab.calls("POST /v1/dashboard/spectroclusters/search") >= 1,
            "by_name did not search"
        );

        // The state again without the postconditions' results (see
        // PLAIN_EPHEMERALS); the resources still open.
        w.config(&config(&lab, &sim, &gw, unstored, PLAIN_EPHEMERALS));
        lab.reset_calls();
        w.apply();
        assert!(lab.calls(KUBECONFIG_GET) >= 2);

        // Nothing stored: a change planned to a file so that the plan file
        // holds the cluster's planned values.
        let tagged = "store_kubeconfig = false\n  tags = [\"env:test\"]";
        w.config(&config(&lab, &sim, &gw, tagged, PLAIN_EPHEMERALS));
        w.must(&["plan", "-input=false", "-no-color", "-out=tags.tfplan"]);
        let places = stored_places(w, Some("tags.tfplan"));
        assert_eq!(
            leaks(&places, &s),
            Vec::<String>::new(),
            "kubeconfig credentials stored"
        );
        w.must(&["apply", "-input=false", "-no-color", "tags.tfplan"]);
        w.assert_plan_empty();

        // Control: the same search finds the token once the cluster stores
        // its kubeconfig, so its silence above means something.
        let stored_cfg = "store_kubeconfig = true\n  tags = [\"env:test\"]";
        w.config(&config(&lab, &sim, &gw, stored_cfg, PLAIN_EPHEMERALS));
        w.apply();
        w.must(&["plan", "-input=false", "-no-color", "-out=stored.tfplan"]);
        let found = leaks(&stored_places(w, Some("stored.tfplan")), &s);
        for place in [
            "terraform show -json",
            "terraform.tfstate",
            "the plan file stored.tfplan, unzipped",
        ] {
            assert!(
                found.iter().any(|f| f == place),
                "the control found no token in {place}: {found:?}"
            );
        }

        // Back to false: planned as an update to a null kubeconfig, and gone.
        w.config(&config(&lab, &sim, &gw, tagged, PLAIN_EPHEMERALS));
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], serde_json::json!(["update"]));
        assert!(change["after"]["kubeconfig"].is_null());
        lab.reset_calls();
        w.must(&["apply", "-input=false", "-no-color", "tfplan"]);
        assert_eq!(
            lab.calls("PUT /v1/**") + lab.calls("PATCH /v1/**"),
            0,
            "Palette got a write"
        );
        // A plan made now: the one just applied holds the prior state, kubeconfig and all.
        w.must(&["plan", "-input=false", "-no-color", "-out=after.tfplan"]);
        assert_eq!(
            leaks(&stored_places(w, Some("after.tfplan")), &s),
            Vec::<String>::new()
        );
        w.assert_plan_empty();

        // Errors name the attribute.
        let bad = PLAIN_EPHEMERALS.replace("name = \"apps-dc1\"", "name = \"no-such-cluster\"");
        w.config(&config(&lab, &sim, &gw, tagged, &bad));
        let out = w.plan();
        assert!(!out.ok());
        assert!(
            out.flat()
                .contains("No cluster is named \"no-such-cluster\""),
            "{}",
            out.combined().replace(&s.token, "<token>")
        );

        w.config(&config(&lab, &sim, &gw, tagged, ""));
        w.destroy();
    });
}

#[test]
fn older_terraform_keeps_the_kubeconfig_in_state() {
    let sim = sim();
    for_each_terraform_where(
        &palette(),
        "a Terraform without ephemeral resources (before 1.10)",
        older_terraform,
        |w| {
            let lab = Lab::with_vcsim(&sim);
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            let project = lab.project("Default");
            let gw = lab.gateway("pcg-dc1");
            w.config(&config(&lab, &sim, &gw, "", ""));
            w.init();

            // The schema this Terraform sees: the cluster's kubeconfig and
            // the new switch; the ephemeral type is simply not among them.
            let schema: Value =
                serde_json::from_str(&w.must(&["providers", "schema", "-json"]).stdout).unwrap();
            let provider = schema["provider_schemas"]
                .as_object()
                .and_then(|m| m.values().next())
                .expect("the palette provider's schema");
            let attrs =
                &provider["resource_schemas"]["palette_cluster_vsphere"]["block"]["attributes"];
            assert_eq!(attrs["kubeconfig"]["computed"], true);
            assert_eq!(attrs["kubeconfig"]["sensitive"], true);
            assert_eq!(attrs["store_kubeconfig"]["optional"], true);

            let plan = w.plan_json();
            let after = &change_of(&plan, ADDR)["after"];
            assert_eq!(after["store_kubeconfig"], true);
            assert_eq!(change_of(&plan, ADDR)["after_unknown"]["kubeconfig"], true);

            w.apply();
            let state = w.state_resource(ADDR).expect("cluster in state")["values"].clone();
            let uid = state["id"].as_str().unwrap().to_string();
            let s = lab.served_kubeconfig(&project, &uid);
            assert!(
                state["kubeconfig"].as_str() == Some(s.text.as_str()),
                "the kubeconfig in state is not the one the lab serves"
            );
            w.assert_plan_empty();
            w.destroy();
        },
    );
}
