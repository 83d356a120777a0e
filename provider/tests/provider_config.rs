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
