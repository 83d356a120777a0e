//! Plans a reviewer can trust, through the real terraform CLI against
//! palette-lab and vcsim: a plan that removes a machine pool, shrinks an IP
//! pool, or destroys a gateway and its cluster carries warnings that name
//! what goes away (node VMs, addresses, clusters still on the gateway), in
//! `terraform plan`'s text and in `plan -json`'s diagnostics, which is what
//! pull-request bots read.

mod common;

use acceptance_tests::{
    flat, for_each_terraform, for_each_terraform_where, TerraformBin, Workdir, DESTROY_PLANS,
};
use common::{estate, palette, Estate, Lab};
use serde_json::Value;
use vsphere::vcsim::Vcsim;

const PASSWORD: &str = "Review-Vc-Pa55";

/// The warnings of `terraform plan -json` (extra arguments in `args`), as
/// (summary, detail).
fn json_warnings(w: &Workdir, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["plan", "-json", "-input=false"];
    all.extend_from_slice(args);
    let r = w.must(&all);
    r.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == "diagnostic" && m["diagnostic"]["severity"] == "warning")
        .map(|m| {
            let d = &m["diagnostic"];
            (
                d["summary"].as_str().unwrap_or_default().to_string(),
                d["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn has(warnings: &[(String, String)], summary: &str, details: &[&str]) {
    let Some((_, detail)) = warnings.iter().find(|(s, _)| s == summary) else {
        panic!("no warning {summary:?} in {warnings:#?}")
    };
    for d in details {
        assert!(detail.contains(d), "{summary}: no {d:?} in {detail:?}");
    }
}

#[test]
fn plans_that_take_something_away_say_what_in_text_and_json() {
    let sim = Vcsim::start("svc@vsphere.local", PASSWORD, &[]).expect("vcsim");
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let full = Estate {
            workers: 2,
            ..Default::default()
        };
        w.config(&estate(&lab, &sim, "review", PASSWORD, &full));
        w.init();
        w.apply();
        w.assert_plan_empty();
        let nodes: Vec<String> = w.state_resource("palette_cluster_vsphere.apps").unwrap()
            ["values"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["pool"] == "workers")
            .map(|n| {
                format!(
                    "{} ({})",
                    n["vm_path"].as_str().unwrap(),
                    n["ip"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(nodes.len(), 2, "{nodes:?}");

        // The workers pool removed and the IP pool's two last addresses cut.
        w.config(&estate(
            &lab,
            &sim,
            "review",
            PASSWORD,
            &Estate {
                pool_end: "10.10.183.58",
                workers: 0,
            },
        ));
        let r = w.plan();
        let text = flat(&r.combined());
        eprintln!("[review] {}", &text[text.find("Warning").unwrap_or(0)..]);
        for want in [
            "Warning: Machine pool \"workers\" is removed",
            "Warning: IP pool \"review-nodes\" shrinks",
            "Addresses 10.10.183.59-10.10.183.60 leave pool \"review-nodes\"",
            &nodes[0],
            &nodes[1],
        ] {
            assert!(text.contains(want), "no {want:?} in: {text}");
        }
        let warnings = json_warnings(w, &[]);
        has(
            &warnings,
            "Machine pool \"workers\" is removed",
            &[
                "from cluster \"apps-review\" deletes its 2 node VMs",
                &nodes[0],
                &nodes[1],
                "Their static addresses go back to their IP pools.",
            ],
        );
        has(
            &warnings,
            "IP pool \"review-nodes\" shrinks",
            &["Addresses 10.10.183.59-10.10.183.60 leave"],
        );
        assert_eq!(warnings.len(), 2, "{warnings:#?}");

        // A typo in a machine pool's placement: a plan error naming the
        // pool, from Palette's view of vCenter through the gateway.
        let cfg = estate(&lab, &sim, "review", PASSWORD, &full);
        let at = cfg.find("name  = \"workers\"").unwrap();
        let typo = format!(
            "{}{}",
            &cfg[..at],
            cfg[at..].replacen("LocalDS_0", "LocalDS_9", 1)
        );
        w.config(&typo);
        let r = w.run(&["plan", "-input=false", "-no-color"]);
        assert_eq!(r.status, Some(1), "{r}");
        let text = flat(&r.combined());
        let want = "Error: Not in vCenter's inventory with palette_cluster_vsphere.apps";
        assert!(text.contains(want), "no {want:?} in: {text}");
        let want =
            "Machine pool \"workers\": Compute cluster \"DC0_C0\" in datacenter \"DC0\" has \
                    no datastore \"LocalDS_9\". Closest that exist: \"LocalDS_0\"";
        assert!(text.contains(want), "no {want:?} in: {text}");

        // Back as it was: a plan that changes nothing warns of nothing.
        w.config(&estate(&lab, &sim, "review", PASSWORD, &full));
        let r = w.plan();
        assert!(!r.combined().contains("Warning"), "{r}");
        w.destroy();
    });
}

#[test]
fn a_destroy_plan_names_the_vms_and_the_clusters_on_the_gateway() {
    let sim = Vcsim::start("svc@vsphere.local", PASSWORD, &[]).expect("vcsim");
    for_each_terraform_where(
        &palette(),
        DESTROY_PLANS,
        TerraformBin::supports_destroy_planning,
        |w| {
            let lab = Lab::with_vcsim(&sim);
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            w.config(&estate(&lab, &sim, "doomed", PASSWORD, &Estate::default()));
            w.init();
            w.apply();
            let node = w.state_resource("palette_cluster_vsphere.apps").unwrap()["values"]["nodes"]
                [0]["vm_path"]
                .as_str()
                .unwrap()
                .to_string();
            let text = flat(
                &w.must(&["plan", "-destroy", "-no-color", "-input=false"])
                    .combined(),
            );
            eprintln!("[review] {}", &text[text.find("Warning").unwrap_or(0)..]);
            assert!(
                text.contains("Warning: Destroying gateway \"pcg-doomed\" deletes its VMs"),
                "{text}"
            );
            let warnings = json_warnings(w, &["-destroy"]);
            has(
                &warnings,
                "Destroying gateway \"pcg-doomed\" deletes its VMs",
                &[
                    "pcg-doomed-node-0",
                    "installer VM DC0/vm/palette/installers/pcg-doomed-installer",
                    "Clusters still on it, through its cloud accounts: apps-doomed.",
                ],
            );
            has(
                &warnings,
                "Destroying cluster \"apps-doomed\" deletes its nodes",
                &["deletes its 1 node VM in vCenter", &node, "(10.10.183.50)"],
            );
            w.destroy();
        },
    );
}

#[test]
fn placement_typos_fail_the_plan_at_the_attribute_and_an_unreachable_vcenter_only_warns() {
    let sim = Vcsim::start("svc@vsphere.local", PASSWORD, &[]).expect("vcsim");
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let good = format!(
            "{}{}",
            common::provider_with_vcenter(&lab, &sim),
            common::gateway_hcl("dc1", "pcg-typo", "DC0_C1")
        );
        let typo = good
            .replacen("LocalDS_0", "LocalDS_9", 2)
            .replace("\"DC0_C1\"", "\"DC0_C7\"");
        w.config(&typo);
        w.init();
        lab.reset_calls();
        let r = w.run(&["plan", "-input=false", "-no-color"]);
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.combined();
        let text = flat(&out);
        eprintln!("[review] {}", &text[text.find("Error").unwrap_or(0)..]);
        assert_eq!(
            text.matches("Error: Not in vCenter's inventory").count(),
            2,
            "the installer's datastore and the nodes' compute cluster: {text}"
        );
        for want in [
            "Compute cluster \"DC0_C0\" in datacenter \"DC0\" has no datastore \"LocalDS_9\". \
             Closest that exist: \"LocalDS_0\"",
            "Datacenter \"DC0\" has no compute cluster \"DC0_C7\". Closest that exist: \
             \"DC0_C0\", \"DC0_C1\"",
        ] {
            assert!(text.contains(want), "no {want:?} in: {text}");
        }
        acceptance_tests::assert_diagnostic_at(w, &out, "datastore");
        acceptance_tests::assert_diagnostic_at(w, &out, "compute_cluster");
        assert_eq!(lab.writes(), 0, "a plan wrote to Palette");

        // vCenter down at plan time: planned anyway, with a warning.
        let down = typo.replace(&sim.server, "127.0.0.1:1");
        w.config(&down);
        let r = w.run(&["plan", "-input=false", "-no-color"]);
        assert_eq!(r.status, Some(0), "{r}");
        let text = flat(&r.combined());
        assert!(
            text.contains("Warning: Placement not checked against vCenter")
                && text.contains("127.0.0.1:1"),
            "{text}"
        );
        // The right names plan cleanly.
        w.config(&good);
        let r = w.run(&["plan", "-input=false", "-no-color"]);
        assert_eq!(r.status, Some(0), "{r}");
        assert!(!r.combined().contains("Warning"), "{r}");
    });
}
