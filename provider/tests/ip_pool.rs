//! `palette_ip_pool` with the real terraform CLI against palette-lab:
//! create, plan empty, update in place, replace, drift, deleted out of
//! band, import, bad input at plan time, destroy leaves nothing.

mod common;

use acceptance_tests::{
    assert_diagnostic_at, change_of, for_each_terraform, planned_actions, Workdir,
};
use common::{palette, Lab};
use palette_api::models::{V1IpPoolInputEntity, V1IpPools};
use serde_json::json;

fn pools_of(lab: &Lab, gateway: &str) -> Vec<palette_api::models::V1IpPoolEntity> {
    let l: V1IpPools = lab
        .get(None, &format!("/v1/overlords/vsphere/{gateway}/pools"))
        .unwrap();
    l.items.unwrap_or_default()
}

fn pool_path(gateway: &str, uid: &str) -> String {
    format!("/v1/overlords/vsphere/{gateway}/pools/{uid}")
}

fn config(lab: &Lab, gateway: &str, end: &str, extra: &str) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint = "{endpoint}"
}}

resource "palette_ip_pool" "nodes" {{
  gateway_id  = "{gateway}"
  name        = "dc1-nodes"
  start       = "10.10.183.1"
  end         = "{end}"
  prefix      = 24
  gateway     = "10.10.183.254"
  nameservers = ["10.10.0.2"]
  {extra}
}}
"#,
        endpoint = lab.lab.endpoint()
    )
}

fn setup(w: &mut Workdir, lab: &Lab) {
    w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
}

#[test]
fn ip_pool_lifecycle_against_the_lab() {
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        w.config(&config(&lab, &gw, "10.10.183.10", ""));
        w.init();

        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![(
                "palette_ip_pool.nodes".to_string(),
                vec!["create".to_string()]
            )]
        );
        w.apply();
        let pools = pools_of(&lab, &gw);
        assert_eq!(pools.len(), 1);
        let uid = pools[0].metadata.as_ref().unwrap().uid.clone().unwrap();
        w.assert_plan_empty();

        // In place.
        w.config(&config(&lab, &gw, "10.10.183.20", ""));
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![(
                "palette_ip_pool.nodes".to_string(),
                vec!["update".to_string()]
            )]
        );
        w.apply();
        w.assert_plan_empty();
        assert_eq!(
            pools_of(&lab, &gw)[0]
                .metadata
                .as_ref()
                .unwrap()
                .uid
                .as_deref(),
            Some(uid.as_str())
        );

        // Drift: the network gateway changed in Palette shows as exactly that.
        let mut body = V1IpPoolInputEntity {
            metadata: pools[0].metadata.clone(),
            spec: Some(palette_api::models::V1IpPoolInputEntitySpec {
                pool: pools_of(&lab, &gw)[0].spec.clone().unwrap().pool,
                restrict_to_single_cluster: Some(false),
            }),
        };
        body.spec.as_mut().unwrap().pool.as_mut().unwrap().gateway = Some("10.10.183.253".into());
        lab.put(None, &pool_path(&gw, &uid), &body);
        let plan = w.plan_json();
        let change = change_of(&plan, "palette_ip_pool.nodes");
        assert_eq!(change["actions"], json!(["update"]));
        assert_eq!(
            (
                change["before"]["gateway"].clone(),
                change["after"]["gateway"].clone()
            ),
            (json!("10.10.183.253"), json!("10.10.183.254"))
        );
        w.apply();
        w.assert_plan_empty();

        // Deleted out of band: planned for creation, not an error.
        lab.delete(None, &pool_path(&gw, &uid));
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![(
                "palette_ip_pool.nodes".to_string(),
                vec!["create".to_string()]
            )]
        );
        w.apply();

        // Import by readable names, then nothing to change.
        w.state_rm("palette_ip_pool.nodes");
        w.import("palette_ip_pool.nodes", "pcg-dc1/dc1-nodes");
        w.assert_plan_empty();
        // The official provider's id, as existing import scripts spell it.
        w.state_rm("palette_ip_pool.nodes");
        w.import("palette_ip_pool.nodes", "pcg-dc1:dc1-nodes");
        w.assert_plan_empty();

        // Moving to another gateway replaces, and says why.
        let gw2 = lab.gateway("pcg-dc2");
        w.config(&config(&lab, &gw2, "10.10.183.20", ""));
        let plan = w.plan_json();
        let change = change_of(&plan, "palette_ip_pool.nodes");
        assert_eq!(change["actions"], json!(["delete", "create"]));
        assert_eq!(change["replace_paths"], json!([["gateway_id"]]));
        w.apply();
        assert!(pools_of(&lab, &gw).is_empty());
        assert_eq!(pools_of(&lab, &gw2).len(), 1);

        w.destroy();
        assert!(pools_of(&lab, &gw2).is_empty(), "destroy left pools behind");
    });
}

#[test]
fn bad_pools_fail_at_plan_with_the_attribute() {
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        w.config(&config(&lab, &gw, "10.10.182.5", ""));
        w.init();
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("comes before `start`"), "{r}");
        assert_diagnostic_at(w, &r.combined(), "end");

        w.config(&config(
            &lab,
            &gw,
            "10.10.183.9",
            r#"subnet = "10.10.183.0/24""#,
        ));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("not both"), "{r}");
        assert!(pools_of(&lab, &gw).is_empty());
    });
}

#[test]
fn faults_during_create_read_and_delete_end_with_true_state_and_no_duplicates() {
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        let pools_path = format!("/v1/overlords/vsphere/{gw}/pools");
        // Short request timeout so an unanswered POST is noticed quickly.
        let cfg = config(&lab, &gw, "10.10.183.10", "").replace(
            &format!("endpoint = \"{}\"", lab.lab.endpoint()),
            &format!(
                "endpoint = \"{}\"\n  request_timeout = \"2s\"\n  retry_max_wait = \"1s\"",
                lab.lab.endpoint()
            ),
        );
        w.config(&cfg);
        w.init();

        // Throttled twice on create: retried after Retry-After, one pool.
        lab.fault(json!({"method": "POST", "path_prefix": pools_path, "kind": "status", "status": 429, "retry_after_secs": 1, "count": 2}));
        w.apply();
        assert_eq!(pools_of(&lab, &gw).len(), 1);
        assert_eq!(lab.calls(&format!("POST {pools_path}")), 3);

        // Server errors while refreshing: retried, and the plan stays empty.
        lab.fault(json!({"method": "GET", "path_prefix": pools_path, "kind": "status", "status": 500, "count": 2}));
        w.assert_plan_empty();

        // A create that succeeds but never answers: adopted by name, not made twice.
        w.destroy();
        assert!(pools_of(&lab, &gw).is_empty());
        lab.reset_calls();
        lab.fault(
            json!({"method": "POST", "path_prefix": pools_path, "kind": "no_answer", "count": 1}),
        );
        w.apply();
        let pools = pools_of(&lab, &gw);
        assert_eq!(
            pools.len(),
            1,
            "the unanswered POST must not lead to a second pool"
        );
        assert_eq!(
            lab.calls("POST /v1/overlords/vsphere/*/pools"),
            1,
            "an unanswered POST is followed by a search by name, never a second POST"
        );
        let st = w.state_resource("palette_ip_pool.nodes").unwrap();
        assert_eq!(
            st["values"]["id"].as_str(),
            pools[0].metadata.as_ref().and_then(|m| m.uid.as_deref()),
            "the pool found by name is the one in state"
        );
        w.assert_plan_empty();

        // A connection dropped before the lab took the POST in: the search
        // finds nothing, the apply fails saying it is safe to retry, and
        // nothing was posted twice; applying again creates the pool.
        w.destroy();
        lab.reset_calls();
        lab.fault(json!({"method": "POST", "path_prefix": pools_path, "kind": "drop", "count": 1}));
        let r = w.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(!r.ok(), "{r}");
        let text = r.flat();
        assert!(text.contains("it is safe to apply again"), "{r}");
        assert!(pools_of(&lab, &gw).is_empty());
        assert_eq!(lab.calls("POST /v1/overlords/vsphere/*/pools"), 1);
        w.apply();
        assert_eq!(pools_of(&lab, &gw).len(), 1);
        assert_eq!(lab.calls("POST /v1/overlords/vsphere/*/pools"), 2);

        // A dropped connection on delete: retried, nothing left.
        lab.fault(
            json!({"method": "DELETE", "path_prefix": pools_path, "kind": "drop", "count": 1}),
        );
        w.destroy();
        assert!(pools_of(&lab, &gw).is_empty());
    });
}

#[test]
fn the_api_key_never_appears_in_trace_logs() {
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        w.config(&config(&lab, &gw, "10.10.183.10", ""));
        w.init();
        w.set_env("TF_LOG", "trace");
        let applied = w.apply();
        let destroyed = w.destroy();
        let log = format!("{}{}", applied.combined(), destroyed.combined());
        assert!(
            log.contains("Palette API call"),
            "provider debug logs did not reach terraform"
        );
        assert!(
            !log.contains(&lab.lab.api_key),
            "the API key appears in TF_LOG=trace output"
        );
    });
}

#[test]
fn refreshing_many_pools_lists_the_gateway_once() {
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        w.config(&format!(
            r#"
provider "palette" {{
  endpoint = "{endpoint}"
}}

resource "palette_ip_pool" "many" {{
  count      = 5
  gateway_id = "{gw}"
  name       = "pool-${{count.index}}"
  start      = "10.20.${{count.index}}.1"
  end        = "10.20.${{count.index}}.50"
  prefix     = 24
}}
"#,
            endpoint = lab.lab.endpoint()
        ));
        w.init();
        w.apply();
        assert_eq!(pools_of(&lab, &gw).len(), 5);
        lab.reset_calls();
        w.assert_plan_empty();
        let listings = lab.calls(&format!("GET /v1/overlords/vsphere/{gw}/pools"));
        eprintln!(
            "[harness] terraform {}: 5 pools refreshed with {listings} listing(s)",
            w.tf.version
        );
        assert_eq!(
            listings, 1,
            "each refresh of a pool listed the gateway again"
        );
        w.destroy();
    });
}

#[test]
fn data_source_reads_a_pool_by_gateway_and_name() {
    for_each_terraform(&palette(), |w| {
        let lab = Lab::start();
        setup(w, &lab);
        let gw = lab.gateway("pcg-dc1");
        let cfg = config(&lab, &gw, "10.10.183.10", "")
            + &format!(
                r#"
data "palette_ip_pool" "read" {{
  gateway_id = "{gw}"
  name       = palette_ip_pool.nodes.name
}}
output "read_end" {{ value = data.palette_ip_pool.read.end }}
output "read_id_matches" {{ value = data.palette_ip_pool.read.id == palette_ip_pool.nodes.id }}
"#
            );
        w.config(&cfg);
        w.init();
        w.apply();
        let out = w.show_json();
        assert_eq!(
            out["values"]["outputs"]["read_end"]["value"],
            "10.10.183.10"
        );
        assert_eq!(out["values"]["outputs"]["read_id_matches"]["value"], true);
        w.destroy();
    });
}
