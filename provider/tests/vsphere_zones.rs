//! `palette_vsphere_zones` with the real terraform CLI against vcsim (the
//! lab only serves the provider's configure): the reference document's zone
//! tagging applied, checked at plan, drifted in vCenter and re-applied,
//! changed, destroyed (only what it made goes), and imported.
//!
//! vcsim (`-cluster 3`) has datacenter DC0 with compute clusters DC0_C0,
//! DC0_C1 and DC0_C2. Before Terraform runs, the test makes a `k8s-zone`
//! category with tags `az1` and `az9` of its own: the resource must use
//! them and never delete them.

mod common;

use std::collections::BTreeMap;

use acceptance_tests::{
    change_of, for_each_terraform, for_each_terraform_where, TerraformBin, Workdir,
};
use common::{palette, provider_with_vcenter, Lab};
use serde_json::{json, Value};
use vsphere::tags::Cardinality;
use vsphere::vcsim::Vcsim;
use vsphere::{CategorySpec, ObjectRef, Session, TagSpec, Tagging, Target};

const USER: &str = "svc-palette@vsphere.local";
const PASSWORD: &str = "Zone-Tagging-Pa55";
const ADDR: &str = "palette_vsphere_zones.dc";

async fn connect(sim: &Vcsim) -> (Session, Tagging) {
    let t = Target::parse(&sim.server, true).unwrap();
    let s = Session::login(&t, &sim.user, &sim.password).await.unwrap();
    let tags = Tagging::login(&s, &sim.user, &sim.password).await.unwrap();
    (s, tags)
}

/// What vCenter holds: each object's tags as `category:tag`, and every
/// tag of every category (attached or not).
#[derive(Debug, PartialEq)]
struct Tags {
    on: BTreeMap<String, Vec<String>>,
    all: Vec<String>,
}

fn tags(lab: &Lab, sim: &Vcsim) -> Tags {
    lab.rt.block_on(async {
        let (s, t) = connect(sim).await;
        let names: BTreeMap<String, String> = t
            .categories()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let label = |tag: &vsphere::Tag| format!("{}:{}", names[&tag.category_id], tag.name);
        let mut on = BTreeMap::new();
        let objects = [
            ("DC0".to_string(), s.datacenter_ref("DC0").await.unwrap()),
            (
                "DC0_C0".into(),
                s.cluster_ref("DC0", "DC0_C0").await.unwrap(),
            ),
            (
                "DC0_C1".into(),
                s.cluster_ref("DC0", "DC0_C1").await.unwrap(),
            ),
            (
                "DC0_C2".into(),
                s.cluster_ref("DC0", "DC0_C2").await.unwrap(),
            ),
        ];
        for (name, obj) in objects {
            let mut l: Vec<String> = t
                .attached_tags(&obj)
                .await
                .unwrap()
                .iter()
                .map(label)
                .collect();
            l.sort();
            on.insert(name, l);
        }
        let mut all: Vec<String> = t.tags().await.unwrap().iter().map(label).collect();
        // A category without tags still shows, so that its deletion shows.
        for name in names.values() {
            if !all.iter().any(|l| l.starts_with(&format!("{name}:"))) {
                all.push(format!("{name}:"));
            }
        }
        all.sort();
        let _ = t.logout().await;
        let _ = s.logout().await;
        Tags { on, all }
    })
}

fn on(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The test's own category and tags, which Terraform must leave alone.
fn seed(lab: &Lab, sim: &Vcsim) {
    lab.rt.block_on(async {
        let (_s, t) = connect(sim).await;
        let zone = t
            .create_category(&CategorySpec {
                name: "k8s-zone".into(),
                description: "made by the site's admins".into(),
                cardinality: Cardinality::Single,
                associable_types: vec!["ClusterComputeResource".into()],
            })
            .await
            .unwrap();
        for name in ["az1", "az9"] {
            t.create_tag(&TagSpec {
                name: name.into(),
                description: String::new(),
                category_id: zone.id.clone(),
            })
            .await
            .unwrap();
        }
        let _ = t.logout().await;
    })
}

/// Out of band, as an admin in the vSphere client would: the region tag
/// removed from the datacenter, and DC0_C1's zone changed to `az9`.
fn drift(lab: &Lab, sim: &Vcsim) {
    lab.rt.block_on(async {
        let (s, t) = connect(sim).await;
        let dc = s.datacenter_ref("DC0").await.unwrap();
        for tag in t.attached_tags(&dc).await.unwrap() {
            t.detach(&tag.id, &dc).await.unwrap();
        }
        let c1: ObjectRef = s.cluster_ref("DC0", "DC0_C1").await.unwrap();
        let zone = t.category_by_name("k8s-zone").await.unwrap().unwrap();
        for tag in t.attached_tags(&c1).await.unwrap() {
            t.detach(&tag.id, &c1).await.unwrap();
        }
        let az9 = t.tag_by_name(&zone.id, "az9").await.unwrap().unwrap();
        t.attach(&az9.id, &c1).await.unwrap();
        let _ = t.logout().await;
    })
}

fn config(lab: &Lab, sim: &Vcsim, region: &str, zones: &[(&str, &str)]) -> String {
    let zones: Vec<String> = zones
        .iter()
        .map(|(c, z)| format!("    \"{c}\" = \"{z}\""))
        .collect();
    format!(
        "{provider}\nresource \"palette_vsphere_zones\" \"dc\" {{\n  datacenter = \"DC0\"\n  region     = \"{region}\"\n  zones = {{\n{zones}\n  }}\n}}\n",
        provider = provider_with_vcenter(lab, sim),
        zones = zones.join("\n"),
    )
}

fn values(w: &Workdir) -> Value {
    w.state_resource(ADDR)
        .unwrap_or_else(|| panic!("{ADDR} is not in state"))["values"]
        .clone()
}

#[test]
fn zone_tags_applied_drifted_changed_destroyed_and_imported() {
    let provider = palette();
    for_each_terraform(&provider, |w| {
        let sim = Vcsim::start(USER, PASSWORD, &["-cluster", "3"]).expect("vcsim");
        let lab = Lab::start();
        seed(&lab, &sim);
        let untouched = tags(&lab, &sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);

        // Zones must be unique: refused at plan, at the repeated entry.
        w.config(&config(
            &lab,
            &sim,
            "region1",
            &[("DC0_C0", "az1"), ("DC0_C1", "az1")],
        ));
        w.init();
        let r = w.plan();
        assert_eq!(r.status, Some(1), "a repeated zone fails the plan: {r}");
        let out = r.flat();
        assert!(out.contains("Zone used twice"), "{out}");
        assert!(
            out.contains("\"DC0_C0\" and \"DC0_C1\" both get k8s-zone \"az1\""),
            "{out}"
        );

        // A misspelt cluster fails the apply before anything changes.
        w.config(&config(
            &lab,
            &sim,
            "region1",
            &[("DC0_C0", "az1"), ("DC0_C9", "az2")],
        ));
        let r = w.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(!r.ok(), "an unknown compute cluster fails: {r}");
        let out = r.flat();
        assert!(out.contains("Compute cluster not found"), "{out}");
        assert!(
            out.contains("DC0/host/DC0_C9"),
            "names the cluster looked for: {out}"
        );
        assert!(w.state_resource(ADDR).is_none(), "nothing to track");
        assert_eq!(tags(&lab, &sim), untouched, "nothing changed in vCenter");

        // The document's table: region on the datacenter, a zone per cluster.
        w.config(&config(
            &lab,
            &sim,
            "region1",
            &[("DC0_C0", "az1"), ("DC0_C1", "az2")],
        ));
        w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        let t = tags(&lab, &sim);
        assert_eq!(
            t.on,
            on(&[
                ("DC0", &["k8s-region:region1"]),
                ("DC0_C0", &["k8s-zone:az1"]),
                ("DC0_C1", &["k8s-zone:az2"]),
                ("DC0_C2", &[]),
            ])
        );
        assert_eq!(
            t.all,
            strings(&[
                "k8s-region:region1",
                "k8s-zone:az1",
                "k8s-zone:az2",
                "k8s-zone:az9"
            ]),
            "the test's az1 was used, not made again"
        );
        assert_eq!(values(w)["id"], "DC0");
        w.assert_plan_empty();

        // Drift in vCenter shows as exactly that change.
        drift(&lab, &sim);
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        assert_eq!(change["before"]["region"], Value::Null, "{change}");
        assert_eq!(
            change["before"]["zones"],
            json!({"DC0_C0": "az1", "DC0_C1": "az9"}),
            "{change}"
        );
        assert_eq!(change["after"]["region"], "region1");
        assert_eq!(
            change["after"]["zones"],
            json!({"DC0_C0": "az1", "DC0_C1": "az2"})
        );
        w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert_eq!(
            tags(&lab, &sim),
            t,
            "re-applied: vCenter as after the first apply"
        );
        w.assert_plan_empty();

        // A cluster leaves the map, another joins: the tag this resource
        // attached is detached, and az2, which it made and nothing uses
        // now, is deleted.
        w.config(&config(
            &lab,
            &sim,
            "region1",
            &[("DC0_C0", "az1"), ("DC0_C2", "az3")],
        ));
        w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        let t = tags(&lab, &sim);
        assert_eq!(
            t.on,
            on(&[
                ("DC0", &["k8s-region:region1"]),
                ("DC0_C0", &["k8s-zone:az1"]),
                ("DC0_C1", &[]),
                ("DC0_C2", &["k8s-zone:az3"]),
            ])
        );
        assert_eq!(
            t.all,
            strings(&[
                "k8s-region:region1",
                "k8s-zone:az1",
                "k8s-zone:az3",
                "k8s-zone:az9"
            ])
        );
        w.assert_plan_empty();

        // Destroy: every attachment goes; region1, az3 and the k8s-region
        // category (made here) go; the test's category and tags stay.
        w.must(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        assert_eq!(tags(&lab, &sim), untouched, "back to what the test made");

        // Import by datacenter: every cluster with a zone tag is read; the
        // plan after it is empty; destroy then leaves vCenter as it is.
        w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        let applied = tags(&lab, &sim);
        w.state_rm(ADDR);
        w.import(ADDR, "DC0");
        let v = values(w);
        assert_eq!(v["region"], "region1");
        assert_eq!(v["zones"], json!({"DC0_C0": "az1", "DC0_C2": "az3"}));
        w.assert_plan_empty();

        let r = w.must(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        assert!(
            r.flat().contains("Zone tags left in vCenter"),
            "{}",
            r.flat()
        );
        assert_eq!(
            tags(&lab, &sim),
            applied,
            "an imported resource deletes nothing"
        );

        let state = std::fs::read(w.work().join("terraform.tfstate")).unwrap_or_default();
        assert!(
            !common::holds(&state, PASSWORD),
            "the vCenter password is not in state"
        );
    });
}

/// Terraform 1.12+: the identity is the datacenter, and an import block by
/// identity adopts the resource as `terraform import` does.
#[test]
fn the_identity_is_the_datacenter_and_imports() {
    let provider = palette();
    for_each_terraform_where(
        &provider,
        "resource identity (1.12+)",
        TerraformBin::supports_identity,
        |w| {
            let sim = Vcsim::start(USER, PASSWORD, &["-cluster", "3"]).expect("vcsim");
            let lab = Lab::start();
            w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
            let cfg = config(
                &lab,
                &sim,
                "region1",
                &[("DC0_C0", "az1"), ("DC0_C2", "az3")],
            );
            w.config(&cfg);
            w.init();
            w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
            let state: Value =
                serde_json::from_slice(&std::fs::read(w.work().join("terraform.tfstate")).unwrap())
                    .unwrap();
            let identity = state["resources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["type"] == "palette_vsphere_zones")
                .map(|r| r["instances"][0]["identity"].clone())
                .unwrap();
            assert_eq!(identity, json!({"datacenter": "DC0"}));
            let zones = values(w)["zones"].clone();
            w.state_rm(ADDR);
            w.config(&format!(
                "{cfg}\nimport {{\n  to = {ADDR}\n  identity = {{\n    datacenter = \"DC0\"\n  }}\n}}\n"
            ));
            w.must(&["apply", "-auto-approve", "-input=false", "-no-color"]);
            assert_eq!(values(w)["zones"], zones);
            w.config(&cfg);
            w.assert_plan_empty();
        },
    );
}
