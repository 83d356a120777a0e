//! `import` blocks with `terraform plan -generate-config-out` (Terraform 1.5
//! and later): objects made by hand in Palette become configuration that
//! plans clean (the pool), or clean but for the one secret Palette never
//! returns (the account's password, which the user fills in).

mod common;

use acceptance_tests::{change_of, for_each_terraform_where, TerraformBin, IMPORT_BLOCKS};
use common::{palette, Lab};
use serde_json::json;
use vsphere::vcsim::Vcsim;

#[test]
fn generated_configuration_plans_clean() {
    let sim = Vcsim::start("svc@vsphere.local", "Gen-Pa55word", &[]).expect("vcsim");
    for_each_terraform_where(
        &palette(),
        IMPORT_BLOCKS,
        TerraformBin::supports_import_blocks,
        |w| {
            let lab = Lab::start();
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            let default = lab.project("Default");
            let gw = lab.gateway("pcg-dc1");
            // Made by hand, as in the console.
            let pool = json!({
                "metadata": {"name": "by-hand"},
                "spec": {"pool": {"start": "10.1.0.10", "end": "10.1.0.20", "prefix": 24,
                                   "gateway": "10.1.0.1", "nameserver": {"addresses": ["10.1.0.2"]}},
                         "restrictToSingleCluster": true}
            });
            let account = json!({
                "metadata": {"name": "vsphere-by-hand", "annotations": {"overlordUid": gw}},
                "spec": {"vcenterServer": sim.server, "username": sim.user, "password": sim.password, "insecure": true}
            });
            lab.rt.block_on(async {
                let cancel = tokio_util::sync::CancellationToken::new();
                let _: serde_json::Value = lab
                    .client
                    .post(&format!("/v1/overlords/vsphere/{gw}/pools"), &pool, &cancel)
                    .await
                    .unwrap();
                let _: serde_json::Value = lab
                    .client
                    .with_project(Some(default.clone()))
                    .post("/v1/cloudaccounts/vsphere", &account, &cancel)
                    .await
                    .unwrap();
            });
            let provider = format!(
                "provider \"palette\" {{\n  endpoint = \"{}\"\n  project  = \"Default\"\n}}\n",
                lab.endpoint()
            );
            w.config(&format!(
                "{provider}
import {{
  to = palette_ip_pool.by_hand
  id = \"pcg-dc1/by-hand\"
}}
import {{
  to = palette_cloud_account_vsphere.by_hand
  id = \"vsphere-by-hand\"
}}
"
            ));
            w.init();
            let r = w.run(&[
                "plan",
                "-input=false",
                "-no-color",
                "-generate-config-out=generated.tf",
            ]);
            let generated = std::fs::read_to_string(w.work().join("generated.tf"))
                .unwrap_or_else(|_| panic!("no generated.tf: {r}"));
            assert!(
                generated.contains("resource \"palette_ip_pool\" \"by_hand\""),
                "{generated}"
            );
            assert!(
                generated.contains("restrict_to_single_cluster = true"),
                "{generated}"
            );
            // Terraform aligns the `=` of a block, so the padding depends on
            // the longest attribute name: match the line by its words.
            let is_password_line = |l: &str| {
                let t = l.trim();
                t.starts_with("password ") && t.ends_with("= null # sensitive")
            };
            assert_eq!(
                generated.lines().filter(|l| is_password_line(l)).count(),
                1,
                "one `password = null # sensitive` line: {generated}"
            );
            // The user supplies the secret Palette cannot return.
            let filled: String = generated
                .lines()
                .map(|l| {
                    if is_password_line(l) {
                        format!("  password = \"{}\"\n", sim.password)
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            std::fs::write(w.work().join("generated.tf"), filled).unwrap();

            let plan = w.plan_json();
            let pool_change = change_of(&plan, "palette_ip_pool.by_hand");
            assert_eq!(pool_change["actions"], json!(["no-op"]), "{pool_change}");
            assert!(pool_change["importing"].is_object(), "{pool_change}");
            let acct = change_of(&plan, "palette_cloud_account_vsphere.by_hand");
            assert_eq!(acct["actions"], json!(["update"]), "{acct}");
            let (before, after) = (
                acct["before"].as_object().unwrap(),
                acct["after"].as_object().unwrap(),
            );
            let differing: Vec<&String> = after
                .keys()
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            assert_eq!(
                differing,
                vec!["password"],
                "only the password is set after import"
            );

            w.apply();
            w.assert_plan_empty();
            w.destroy();
        },
    );
}
