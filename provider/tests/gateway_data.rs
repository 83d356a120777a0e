//! `data "palette_private_cloud_gateway"` and provider-block errors, with
//! the real terraform CLI against palette-lab.

mod common;

use acceptance_tests::for_each_terraform;
use common::{palette, Lab};

#[test]
fn gateway_by_name_and_by_id() {
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        let uid = lab.gateway("pcg-dc1");
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&format!(
            r#"
provider "palette" {{
  endpoint = "{}"
}}
data "palette_private_cloud_gateway" "by_name" {{
  name = "pcg-dc1"
}}
data "palette_private_cloud_gateway" "by_id" {{
  id = data.palette_private_cloud_gateway.by_name.id
}}
output "state" {{ value = data.palette_private_cloud_gateway.by_id.state }}
output "health" {{ value = data.palette_private_cloud_gateway.by_name.health }}
output "id" {{ value = data.palette_private_cloud_gateway.by_id.id }}
output "upgrade" {{ value = data.palette_private_cloud_gateway.by_id.upgrade_available }}
"#,
            lab.lab.endpoint()
        ));
        w.init();
        w.apply();
        let out = w.show_json();
        assert_eq!(out["values"]["outputs"]["state"]["value"], "Running");
        assert_eq!(out["values"]["outputs"]["health"]["value"], "Healthy");
        assert_eq!(out["values"]["outputs"]["id"]["value"], uid.as_str());
        assert_eq!(out["values"]["outputs"]["upgrade"]["value"], false);
        // Palette releases an upgrade: the data source says so.
        lab.admin(
            reqwest::Method::POST,
            &format!("/lab/gateways/{uid}/upgrade"),
            Some(serde_json::json!({"available": true})),
        );
        w.apply();
        let out = w.show_json();
        assert_eq!(out["values"]["outputs"]["upgrade"]["value"], true);

        w.config(&format!(
            "provider \"palette\" {{\n  endpoint = \"{}\"\n}}\ndata \"palette_private_cloud_gateway\" \"x\" {{\n  name = \"pcg-nope\"\n}}\n",
            lab.lab.endpoint()
        ));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("Visible gateways: pcg-dc1"), "{r}");
    });
}

#[test]
fn provider_block_errors_show_at_plan_with_paths() {
    for_each_terraform(&palette(), |w| {
        w.config(
            r#"
provider "palette" {
  endpoint    = "ftp://palette.example.com"
  max_retries = 99
}
data "palette_private_cloud_gateway" "x" {
  name = "pcg-dc1"
}
"#,
        );
        w.init();
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.combined();
        assert!(out.contains("must use https://"), "{out}");
        assert!(out.contains("from 0 to 20"), "{out}");
        acceptance_tests::assert_diagnostic_at(w, &out, "endpoint");
        acceptance_tests::assert_diagnostic_at(w, &out, "max_retries");

        // Valid settings but no key anywhere: a clear error naming both ways to give one.
        w.config("provider \"palette\" {\n  endpoint = \"http://127.0.0.1:9\"\n}\ndata \"palette_private_cloud_gateway\" \"x\" {\n  name = \"pcg-dc1\"\n}\n");
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(
            r.combined().contains("Missing Palette API key")
                && r.combined().contains("PALETTE_API_KEY"),
            "{r}"
        );
    });
}
