//! Kind checks through the real terraform CLI: a uid that names a cluster of
//! another cloud is never imported, and state that points at one is kept,
//! with an error, by refresh and by a destroy that skips the refresh.

mod common;

use acceptance_tests::for_each_terraform;
use common::{palette, Lab};
use serde_json::json;

const ADDR: &str = "palette_cluster_vsphere.c";

/// Terraform's output with its diagnostic boxes and line wrapping undone,
/// so that a sentence can be looked for whole.
fn flat(s: &str) -> String {
    s.lines()
        .map(|l| l.trim_start_matches('│').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A valid cluster configuration (the import needs the resource block);
/// tenant context, as the provider has no project here.
fn config(lab: &Lab) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint        = "{endpoint}"
  request_timeout = "3s"
  retry_max_wait  = "1s"
}}

resource "palette_cluster_vsphere" "c" {{
  name             = "foo"
  context          = "tenant"
  cloud_account_id = "000000000000000000000001"

  cluster_profile {{
    id = "000000000000000000000002"
  }}

  cloud_config {{
    datacenter = "DC0"
    folder     = "palette/clusters/foo"
  }}

  machine_pool {{
    name          = "cp"
    control_plane = true
    count         = 1
    placement {{
      compute_cluster = "DC0_C0"
      datastore       = "LocalDS_0"
      network         = "VM Network"
    }}
  }}
}}
"#,
        endpoint = lab.endpoint(),
    )
}

/// A state with the cluster resource at `uid`, as a previous import of a
/// vSphere cluster would have left it before the uid came to name another
/// cloud's cluster (Terraform fills the attributes left out with null).
fn state_at(uid: &str) -> String {
    json!({
        "version": 4,
        "terraform_version": "1.0.0",
        "serial": 1,
        "lineage": "3f6f8e57-0a6c-4d39-a7b4-6c1f5c1f2a10",
        "outputs": {},
        "resources": [{
            "mode": "managed",
            "type": "palette_cluster_vsphere",
            "name": "c",
            "provider": "provider[\"registry.terraform.io/palette-community/palette\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {"id": uid, "name": "foo", "context": "tenant"},
                "sensitive_attributes": []
            }]
        }]
    })
    .to_string()
}

#[test]
fn a_cluster_of_another_cloud_is_never_imported_read_or_destroyed() {
    let lab = Lab::start();
    let aws = lab.admin(
        reqwest::Method::POST,
        "/lab/clusters",
        Some(json!({"name": "foo", "cloud_type": "aws"})),
    )["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let says_what_it_is =
        format!("uid {aws} is an aws cluster named \"foo\", not a vSphere cluster");
    for_each_terraform(&palette(), |w| {
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&config(&lab));
        w.init();

        // Import, by uid and by the tenant/uid spelling: refused, nothing in state.
        for id in [aws.clone(), format!("tenant/{aws}")] {
            let out = w.run(&["import", "-input=false", "-no-color", ADDR, &id]);
            assert!(!out.ok(), "import must fail:\n{}", out.combined());
            let text = flat(&out.combined());
            assert!(
                text.contains(&says_what_it_is),
                "the error names what the uid is:\n{}",
                out.combined()
            );
            let state = w.run(&["state", "list"]);
            assert!(
                !state.stdout.contains(ADDR),
                "nothing lands in state: {}",
                state.stdout
            );
        }

        // State that points at it: refresh errors and keeps the resource.
        std::fs::write(w.work().join("pushed.tfstate"), state_at(&aws)).unwrap();
        w.must(&["state", "push", "pushed.tfstate"]);
        let out = w.plan();
        assert!(!out.ok(), "plan must fail:\n{}", out.combined());
        assert!(
            flat(&out.combined()).contains(&says_what_it_is),
            "{}",
            out.combined()
        );
        assert!(
            w.state_resource(ADDR).is_some(),
            "a kind mismatch keeps the state"
        );

        // A destroy that skips the refresh is refused at delete: the AWS
        // cluster is still there and so is the state.
        let out = w.run(&[
            "destroy",
            "-auto-approve",
            "-refresh=false",
            "-input=false",
            "-no-color",
        ]);
        assert!(!out.ok(), "destroy must fail:\n{}", out.combined());
        assert!(
            out.combined().contains("Not a vSphere cluster"),
            "{}",
            out.combined()
        );
        assert!(w.state_resource(ADDR).is_some(), "state kept after destroy");
        assert_eq!(
            lab.get::<serde_json::Value>(None, &format!("/v1/spectroclusters/{aws}"))
                .unwrap()["spec"]["cloudType"],
            "aws"
        );
        w.state_rm(ADDR);
    });
}
