//! The provider block through the real terraform CLI: its schema. Errors in
//! the block, which Terraform reports only when something uses the provider,
//! are tested with a data source in gateway_data.rs.

use acceptance_tests::{for_each_terraform, ProviderUnderTest};

fn palette() -> ProviderUnderTest {
    ProviderUnderTest {
        binary: env!("CARGO_BIN_EXE_terraform-provider-palette").into(),
        source: "palette-community/palette".into(),
        version: "0.1.0".into(),
    }
}

#[test]
fn schema_marks_secrets_sensitive() {
    for_each_terraform(&palette(), |w| {
        w.config("provider \"palette\" {}\n");
        w.init();
        let r = w.must(&["providers", "schema", "-json"]);
        let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let p = &j["provider_schemas"]["registry.terraform.io/palette-community/palette"]
            ["provider"]["block"];
        assert_eq!(p["attributes"]["api_key"]["sensitive"], true);
        assert_eq!(
            p["block_types"]["vcenter"]["block"]["attributes"]["password"]["sensitive"],
            true
        );
        assert_eq!(p["block_types"]["vcenter"]["max_items"], 1);
        assert_eq!(p["attributes"]["endpoint"]["description_kind"], "markdown");
    });
}

/// Terraform's output without its echo of main.tf's lines (`  3:   x = ...`):
/// what the provider said, and Terraform's own words around it.
fn without_source_lines(out: &str) -> String {
    out.lines()
        .filter(|l| {
            let t = l.trim_start_matches('│').trim_start();
            let digits = t.chars().take_while(char::is_ascii_digit).count();
            !(digits > 0 && t[digits..].starts_with(':'))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn credentials_in_addresses_and_plain_http_fail_at_plan_without_echo() {
    const PW: &str = "pw-Zq9x";
    for_each_terraform(&palette(), |w| {
        // Literal values: an error at each attribute. The password shows only
        // where Terraform quotes the user's own line of main.tf.
        w.config(&format!(
            r#"
provider "palette" {{
  endpoint = "https://ops:{PW}@palette.example.com"
  api_key  = "k"
  vcenter {{
    server   = "https://admin:{PW}@vc.example.com"
    username = "admin"
  }}
}}
data "palette_private_cloud_gateway" "x" {{
  name = "pcg-dc1"
}}
"#
        ));
        w.init();
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.combined();
        for attr in ["endpoint", "server"] {
            acceptance_tests::assert_diagnostic_at(w, &out, attr);
        }
        assert!(out.contains("Credentials in an address"), "{out}");
        assert!(
            !without_source_lines(&out).contains(PW),
            "the password is echoed:\n{out}"
        );

        // A resource's address (Terraform validates resources once the
        // provider block is valid).
        w.config(&format!(
            r#"
provider "palette" {{
  endpoint = "http://127.0.0.1:9"
  api_key  = "k"
}}
resource "palette_cloud_account_vsphere" "a" {{
  name           = "a"
  gateway_id     = "g"
  context        = "tenant"
  vcenter_server = "svc:{PW}@vc.example.com:443"
  username       = "svc"
  password       = "x"
}}
"#
        ));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.combined();
        acceptance_tests::assert_diagnostic_at(w, &out, "vcenter_server");
        assert!(
            !without_source_lines(&out).contains(PW),
            "the password is echoed:\n{out}"
        );

        // Through sensitive variables Terraform quotes no value at all: the
        // password appears nowhere, and the errors still point at the line.
        w.config(&format!(
            r#"
variable "endpoint" {{
  type      = string
  sensitive = true
  default   = "https://ops:{PW}@palette.example.com"
}}
variable "server" {{
  type      = string
  sensitive = true
  default   = "admin:{PW}@vc.example.com"
}}
provider "palette" {{
  endpoint = var.endpoint
  api_key  = "k"
  vcenter {{
    server   = var.server
    username = "admin"
  }}
}}
data "palette_private_cloud_gateway" "x" {{
  name = "pcg-dc1"
}}
"#
        ));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.combined();
        acceptance_tests::assert_diagnostic_at(w, &out, "endpoint");
        acceptance_tests::assert_diagnostic_at(w, &out, "server");
        assert!(!out.contains(PW), "the password is echoed:\n{out}");

        // Plain http to a remote host: the API key would cross in clear.
        w.config(
            "provider \"palette\" {\n  endpoint = \"http://palette.example.com\"\n  api_key  = \"k\"\n}\n\
             data \"palette_private_cloud_gateway\" \"x\" {\n  name = \"pcg-dc1\"\n}\n",
        );
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("unencrypted"), "{r}");
        acceptance_tests::assert_diagnostic_at(w, &r.combined(), "endpoint");
    });
}
