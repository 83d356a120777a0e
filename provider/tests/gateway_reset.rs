//! The gateway widget's Reset button as an action (Terraform 1.14+), with
//! the real terraform CLI against palette-lab: a gateway stuck in
//! provisioning goes back to Pending, progress streaming as it goes; a
//! Running gateway is refused at plan time and left alone; a failed one is
//! reset from a resource's `action_trigger` in a plain apply.

mod common;

use acceptance_tests::{for_each_terraform_where, TerraformBin};
use common::{palette, Lab};
use serde_json::{json, Value};

fn gateway_state(lab: &Lab, uid: &str) -> String {
    let g: Value = lab
        .get(None, &format!("/v1/overlords/{uid}"))
        .expect("gateway");
    g["status"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn reset_returns_a_stuck_gateway_to_pending_and_refuses_a_running_one() {
    for_each_terraform_where(
        &palette(),
        "actions (1.14+)",
        TerraformBin::supports_actions,
        |w| {
            let lab = Lab::start();
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            let stuck = lab.admin(
                reqwest::Method::POST,
                "/lab/gateways",
                Some(json!({"name": "pcg-stuck", "state": "Provisioning"})),
            )["uid"]
                .as_str()
                .unwrap()
                .to_string();
            let running = lab.gateway("pcg-ok");
            w.config(&format!(
                r#"
provider "palette" {{
  endpoint = "{endpoint}"
}}

action "palette_gateway_reset" "stuck" {{
  config {{
    gateway_id = "{stuck}"
  }}
}}

action "palette_gateway_reset" "running" {{
  config {{
    gateway_id = "{running}"
  }}
}}
"#,
                endpoint = lab.endpoint(),
            ));
            w.init();
            let invoke = |name: &str| {
                w.run(&[
                    "apply",
                    &format!("-invoke=action.palette_gateway_reset.{name}"),
                    "-auto-approve",
                    "-input=false",
                    "-no-color",
                ])
            };
            let r = invoke("running");
            assert!(!r.ok(), "a Running gateway is refused: {r}");
            assert!(r.flat().contains("Gateway is Running"), "{}", r.flat());
            assert_eq!(gateway_state(&lab, &running), "Running", "left alone");

            let r = invoke("stuck");
            assert!(r.ok(), "{r}");
            assert!(
                r.flat().contains("gateway pcg-stuck is Pending"),
                "progress shows: {}",
                r.flat()
            );
            assert_eq!(gateway_state(&lab, &stuck), "Pending");

            // From a lifecycle's action_trigger: the reset runs after the
            // triggering resource is created, in a plain apply.
            let failed = lab.admin(
                reqwest::Method::POST,
                "/lab/gateways",
                Some(json!({"name": "pcg-failed", "state": "Failed"})),
            )["uid"]
                .as_str()
                .unwrap()
                .to_string();
            w.config(&format!(
                r#"
provider "palette" {{
  endpoint = "{endpoint}"
}}

action "palette_gateway_reset" "failed" {{
  config {{
    gateway_id = "{failed}"
  }}
}}

resource "terraform_data" "retry" {{
  input = "retry-1"
  lifecycle {{
    action_trigger {{
      events  = [after_create]
      actions = [action.palette_gateway_reset.failed]
    }}
  }}
}}
"#,
                endpoint = lab.endpoint(),
            ));
            w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
            assert_eq!(
                gateway_state(&lab, &failed),
                "Pending",
                "the trigger ran the reset"
            );
        },
    );
}
