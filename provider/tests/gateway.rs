//! `palette_private_cloud_gateway` with the real terraform CLI against
//! palette-lab (time scale 0.001) and vcsim: the whole install procedure,
//! resize, rename, drift, refusal while in use, destroy — each step checked
//! in vCenter through the vsphere crate.

mod common;

use acceptance_tests::{
    assert_diagnostic_at, change_of, for_each_terraform, planned_actions, Workdir,
};
use common::{palette, Lab};
use serde_json::{json, Value};
use vsphere::vcsim::Vcsim;

const ADDR: &str = "palette_private_cloud_gateway.dc1";
const PASSWORD: &str = "Gw-Vc-Pa55word";

struct Gw<'a> {
    name: &'a str,
    node_count: i64,
    extra: &'a str,
    installer_extra: &'a str,
    pool: bool,
}

fn config(lab: &Lab, sim: &Vcsim, g: &Gw) -> String {
    let pool = if g.pool {
        r#"
  static_ip_pool {
    name        = "pcg-nodes"
    start       = "10.10.183.1"
    end         = "10.10.183.10"
    prefix      = 24
    gateway     = "10.10.183.254"
    nameservers = ["10.10.0.2"]
  }"#
    } else {
        ""
    };
    format!(
        r#"
provider "palette" {{
  endpoint = "{endpoint}"
}}

resource "palette_private_cloud_gateway" "dc1" {{
  name       = "{name}"
  node_count = {count}
  vcenter {{
    server   = "{server}"
    username = "{user}"
    password = "{PASSWORD}"
    insecure = true
  }}
  installer {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
    {installer_extra}
  }}
  placement {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C1"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
  }}
  ssh_keys    = ["ssh-ed25519 AAAA test"]
  ntp_servers = ["0.pool.ntp.org"]
  {pool}
  timeouts {{
    create = "2m"
    update = "2m"
    delete = "2m"
  }}
  {extra}
}}
"#,
        endpoint = lab.endpoint(),
        name = g.name,
        count = g.node_count,
        server = sim.server,
        user = sim.user,
        installer_extra = g.installer_extra,
        extra = g.extra,
    )
}

fn vms(lab: &Lab, sim: &Vcsim) -> Vec<vsphere::vm::VmInfo> {
    lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .unwrap();
        let v = s.list_vms().await.unwrap();
        let _ = s.logout().await;
        v
    })
}

/// Deletes a VM in vCenter behind everyone's back.
fn destroy_vm(lab: &Lab, sim: &Vcsim, vm: &str) {
    lab.rt.block_on(async {
        let t = vsphere::Target::parse(&sim.server, true).unwrap();
        let s = vsphere::Session::login(&t, &sim.user, &sim.password)
            .await
            .unwrap();
        s.destroy_vm(vm).await.unwrap();
        let _ = s.logout().await;
    })
}

fn named<'a>(all: &'a [vsphere::vm::VmInfo], prefix: &str) -> Vec<&'a vsphere::vm::VmInfo> {
    all.iter().filter(|v| v.name.starts_with(prefix)).collect()
}

fn gateway(lab: &Lab, uid: &str) -> Value {
    lab.get::<Value>(None, &format!("/v1/overlords/{uid}"))
        .unwrap()
}

fn sim() -> Vcsim {
    Vcsim::start("svc-palette@vsphere.local", PASSWORD, &[]).expect("vcsim")
}

#[test]
fn gateway_install_resize_rename_drift_and_destroy() {
    let sim = sim();
    for_each_terraform(&palette(), |w: &mut Workdir| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let mut g = Gw {
            name: "pcg-dc1",
            node_count: 1,
            extra: "",
            installer_extra: "",
            pool: true,
        };
        w.config(&config(&lab, &sim, &g));
        w.init();
        w.apply();

        let st = w.state_resource(ADDR).expect("in state");
        let uid = st["values"]["id"].as_str().unwrap().to_string();
        assert_eq!(st["values"]["state"], "Running");
        assert_eq!(st["values"]["ip_address"], "10.10.183.1");
        assert_eq!(gateway(&lab, &uid)["status"]["state"], "Running");
        let all = vms(&lab, &sim);
        let installer = named(&all, "pcg-dc1-installer");
        assert_eq!(installer.len(), 1);
        assert!(
            !installer[0].powered_on,
            "the installer is powered off once the gateway runs"
        );
        assert_eq!(named(&all, "pcg-dc1-node-").len(), 1);
        assert_eq!(st["values"]["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(st["values"]["upgrade_available"], false);
        w.assert_plan_empty();

        // Palette releases an upgrade: the refresh records it, and the plan
        // says so (as a warning, with no change to apply).
        let uid = st["values"]["id"].as_str().unwrap().to_string();
        let upgrade = |available: bool| {
            lab.admin(
                reqwest::Method::POST,
                &format!("/lab/gateways/{uid}/upgrade"),
                Some(serde_json::json!({ "available": available })),
            );
        };
        upgrade(true);
        let r = w.plan();
        assert_eq!(r.status, Some(0), "an upgrade is no change: {r}");
        assert!(
            r.flat().contains("A gateway upgrade is available"),
            "{}",
            r.flat()
        );
        assert!(
            r.flat().contains("new cluster requests queue"),
            "{}",
            r.flat()
        );
        w.must(&[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        assert_eq!(
            w.state_resource(ADDR).unwrap()["values"]["upgrade_available"],
            true
        );
        upgrade(false);
        w.must(&[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-input=false",
            "-no-color",
        ]);
        let r = w.plan();
        assert!(
            !r.flat().contains("A gateway upgrade is available"),
            "{}",
            r.flat()
        );

        // Resize 1 -> 3 in place.
        g.node_count = 3;
        w.config(&config(&lab, &sim, &g));
        assert_eq!(
            planned_actions(&w.plan_json()),
            vec![(ADDR.to_string(), vec!["update".to_string()])]
        );
        w.apply();
        assert_eq!(named(&vms(&lab, &sim), "pcg-dc1-node-").len(), 3);
        w.assert_plan_empty();

        // 3 -> 1 is refused at plan time, at node_count.
        g.node_count = 1;
        w.config(&config(&lab, &sim, &g));
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(r.combined().contains("cannot shrink"), "{r}");
        assert_diagnostic_at(w, &r.combined(), "node_count");
        g.node_count = 3;

        // A node VM deleted in vCenter: visible as node_count 2 -> 3; the apply heals it.
        let victim = named(&vms(&lab, &sim), "pcg-dc1-node-")[0].moref.clone();
        assert_eq!(
            w.state_resource(ADDR).unwrap()["values"]["nodes"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        destroy_vm(&lab, &sim, &victim);
        w.config(&config(&lab, &sim, &g));
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]));
        assert_eq!(
            (
                change["before"]["node_count"].clone(),
                change["after"]["node_count"].clone()
            ),
            (json!(2), json!(3))
        );
        // Palette calls it Unhealthy meanwhile, and the plan says so.
        assert_eq!(
            gateway(&lab, &uid)["status"]["health"]["state"],
            "Unhealthy"
        );
        let r = w.plan();
        assert!(
            r.combined().contains("The gateway is Unhealthy in Palette"),
            "{r}"
        );
        w.apply();
        assert_eq!(named(&vms(&lab, &sim), "pcg-dc1-node-").len(), 3);
        w.assert_plan_empty();

        // Rename in place through metadata.
        g.name = "pcg-dc1-renamed";
        w.config(&config(&lab, &sim, &g));
        assert_eq!(
            planned_actions(&w.plan_json()),
            vec![(ADDR.to_string(), vec!["update".to_string()])]
        );
        w.apply();
        assert_eq!(gateway(&lab, &uid)["metadata"]["name"], "pcg-dc1-renamed");
        w.assert_plan_empty();

        // Refused while a cluster uses it; allowed after.
        let acct: Value = lab.rt.block_on(async {
            lab.client
                .post(
                    "/v1/cloudaccounts/vsphere",
                    &json!({"metadata": {"name": "dc1", "annotations": {"overlordUid": uid}},
                            "spec": {"vcenterServer": sim.server, "username": sim.user, "password": PASSWORD, "insecure": true}}),
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await
                .unwrap()
        });
        let cluster = lab.admin(
            reqwest::Method::POST,
            "/lab/clusters",
            Some(json!({"name": "apps-dc1", "account_uid": acct["uid"]})),
        );
        let r = w.run(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(r.status, Some(1), "{r}");
        assert!(
            r.combined().contains("apps-dc1"),
            "the error names the cluster: {r}"
        );
        assert!(
            w.state_resource(ADDR).is_some(),
            "a refused delete keeps the gateway in state"
        );
        lab.admin(
            reqwest::Method::DELETE,
            &format!("/lab/clusters/{}", cluster["uid"].as_str().unwrap()),
            None,
        );
        w.destroy();
        let left: Vec<String> = vms(&lab, &sim)
            .into_iter()
            .filter(|v| v.name.starts_with("pcg-dc1"))
            .map(|v| v.name)
            .collect();
        assert!(left.is_empty(), "destroy left VMs in vCenter: {left:?}");
        assert!(lab
            .get::<Value>(None, &format!("/v1/overlords/{uid}"))
            .unwrap_err()
            .is_not_found());
    });
}

#[test]
fn dhcp_with_proxy_and_installer_deleted() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let g = Gw {
            name: "pcg-dhcp",
            node_count: 1,
            extra: r#"installer_vm_action = "delete""#,
            installer_extra: r#"
    proxy {
      http_proxy  = "http://proxy.example.com:3128"
      https_proxy = "http://proxy.example.com:3128"
      no_proxy    = ["vcenter.example.com", ".example.com"]
    }"#,
            pool: false,
        };
        w.config(&config(&lab, &sim, &g));
        w.init();
        w.apply();
        let all = vms(&lab, &sim);
        assert!(
            named(&all, "pcg-dhcp-installer").is_empty(),
            "installer_vm_action = delete"
        );
        assert_eq!(named(&all, "pcg-dhcp-node-").len(), 1);
        let st = w.state_resource(ADDR).unwrap();
        assert!(st["values"]["ip_pool_id"].is_null());
        w.assert_plan_empty();
        w.destroy();
        assert!(named(&vms(&lab, &sim), "pcg-dhcp").is_empty());
    });
}

#[test]
fn a_gateway_that_never_registers_is_tainted_findable_and_recovered() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        // An endpoint that is not this Palette: the installer never registers.
        let mut g = Gw {
            name: "pcg-lost",
            node_count: 1,
            extra: r#"registration_timeout = "3s""#,
            installer_extra: r#"console_endpoint = "http://127.0.0.1:9""#,
            pool: false,
        };
        w.config(&config(&lab, &sim, &g));
        w.init();
        let r = w.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(r.status, Some(1), "{r}");
        let out = r.combined();
        assert!(out.contains("did not register"), "{out}");
        assert!(
            out.contains("trailing") && out.contains("cloud-init-output.log"),
            "{out}"
        );
        assert!(
            out.contains("DC0/vm/palette/installers/pcg-lost-installer"),
            "the VM is named: {out}"
        );
        assert!(
            out.contains("ConsoleEndpointUnreachable"),
            "the lab's event is shown: {out}"
        );
        let st = w
            .state_resource(ADDR)
            .expect("the installer is tracked in state");
        assert_eq!(st["tainted"], true, "{st}");
        assert_eq!(named(&vms(&lab, &sim), "pcg-lost-installer").len(), 1);

        // Fixed configuration: the next apply replaces the installer and succeeds.
        g.installer_extra = "";
        g.extra = "";
        w.config(&config(&lab, &sim, &g));
        w.apply();
        let all = vms(&lab, &sim);
        assert_eq!(
            named(&all, "pcg-lost-installer").len(),
            1,
            "the failed installer was replaced, not kept beside"
        );
        assert_eq!(
            w.state_resource(ADDR).unwrap()["values"]["state"],
            "Running"
        );
        w.destroy();
        assert!(named(&vms(&lab, &sim), "pcg-lost").is_empty());
    });
}

#[test]
fn bad_gateway_input_fails_at_plan_with_the_attribute() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let slash = format!(r#"console_endpoint = "{}/""#, lab.endpoint());
        let cases: Vec<(Gw, &str, &str)> = vec![
            (
                Gw {
                    name: "x",
                    node_count: 1,
                    extra: "",
                    installer_extra: &slash,
                    pool: false,
                },
                "console_endpoint",
                "ends with a slash",
            ),
            (
                Gw {
                    name: "x",
                    node_count: 2,
                    extra: "",
                    installer_extra: "",
                    pool: false,
                },
                "node_count",
                "1",
            ),
            (
                Gw {
                    name: "x",
                    node_count: 1,
                    extra: "",
                    installer_extra: r#"service_cidr = "192.168.4.0/24""#,
                    pool: false,
                },
                "service_cidr",
                "overlaps",
            ),
            (
                Gw {
                    name: "x",
                    node_count: 1,
                    extra: "",
                    installer_extra: r#"pod_cidr = "10.10.0.0/16""#,
                    pool: true,
                },
                "pod_cidr",
                "nodes' network",
            ),
            (
                Gw {
                    name: "x",
                    node_count: 1,
                    extra: "",
                    installer_extra: r#"pod_cidr = "not-a-cidr""#,
                    pool: false,
                },
                "pod_cidr",
                "not a CIDR",
            ),
        ];
        w.config(&config(
            &lab,
            &sim,
            &Gw {
                name: "x",
                node_count: 1,
                extra: "",
                installer_extra: "",
                pool: false,
            },
        ));
        w.init();
        for (g, attr, words) in &cases {
            let cfg = config(&lab, &sim, g);
            w.config(&cfg);
            let r = w.plan();
            assert_eq!(r.status, Some(1), "{attr}: {r}");
            assert!(r.combined().contains(words), "{attr}: {r}");
            assert_diagnostic_at(w, &r.combined(), attr);
        }
        assert!(
            vms(&lab, &sim).iter().all(|v| !v.name.starts_with("x-")),
            "nothing deployed"
        );
    });
}

#[test]
fn the_vcenter_password_never_appears_in_trace_logs() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let g = Gw {
            name: "pcg-log",
            node_count: 1,
            extra: "",
            installer_extra: "",
            pool: false,
        };
        let cfg = config(&lab, &sim, &g)
            .replace(&format!("\"{PASSWORD}\""), "var.vcenter_password")
            + "variable \"vcenter_password\" {\n  type      = string\n  sensitive = true\n}\n";
        w.config(&cfg);
        w.set_env("TF_VAR_vcenter_password", PASSWORD);
        w.init();
        w.set_env("TF_LOG", "trace");
        let a = w.apply();
        let d = w.destroy();
        let log = format!("{}{}", a.combined(), d.combined());
        assert!(log.contains("gateway registered"), "provider logs missing");
        if let Some(i) = log.find(PASSWORD) {
            let ctx = &log[i.saturating_sub(400)..(i + 200).min(log.len())];
            panic!(
                "the vCenter password appears in TF_LOG=trace output, here: {}",
                ctx.replace(PASSWORD, "<PASSWORD>")
            );
        }
        assert!(
            !log.contains(&lab.lab.api_key),
            "the API key appears in TF_LOG=trace output"
        );
    });
}

#[test]
fn ctrl_c_while_waiting_for_registration_keeps_the_installer_in_state_and_destroy_removes_it() {
    use std::time::{Duration, Instant};
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        // Real-world delays: registration takes minutes.
        let lab = Lab::with_vcsim_at(&sim, 1.0);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let g = Gw {
            name: "pcg-interrupted",
            node_count: 1,
            extra: "",
            installer_extra: "",
            pool: false,
        };
        w.config(&config(&lab, &sim, &g));
        w.init();
        // Interrupted once the installer runs in vCenter: the wait for registration.
        let mut running = None;
        let (took, text) = w.interrupt_apply(Duration::from_secs(120), || {
            if running.is_none()
                && named(&vms(&lab, &sim), "pcg-interrupted")
                    .iter()
                    .any(|v| v.powered_on)
            {
                running = Some(Instant::now());
            }
            running.is_some_and(|t| t.elapsed() > Duration::from_millis(300))
        });
        assert!(
            took < Duration::from_secs(20),
            "terraform took {took:?} to stop"
        );
        assert!(text.contains("nterrupted"), "{text}");
        let st = w
            .state_resource(ADDR)
            .expect("the installer is tracked in state");
        assert_eq!(st["tainted"], true, "{st}");
        let path = st["values"]["installer_vm_path"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(path.ends_with("pcg-interrupted-installer"), "{st}");

        // Nothing is orphaned: destroy removes the installer from vCenter.
        w.destroy();
        assert!(named(&vms(&lab, &sim), "pcg-interrupted").is_empty());
    });
}

/// A gateway whose vCenter is the provider's default, with an SSH key and
/// a proxy on the installer: everything an import must read back from
/// vCenter and Palette for the next plan to be empty.
fn adopted_config(lab: &Lab, sim: &Vcsim, placement_extra: &str) -> String {
    format!(
        r#"
provider "palette" {{
  endpoint = "{endpoint}"
  vcenter {{
    server   = "{server}"
    username = "{user}"
    password = "{PASSWORD}"
    insecure = true
  }}
}}

resource "palette_private_cloud_gateway" "dc1" {{
  name = "pcg-adopt"
  installer {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C0"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/installers"
    ssh_public_key  = "ssh-ed25519 AAAA installer"
    pod_cidr        = "172.16.0.0/16"
    proxy {{
      http_proxy  = "http://proxy.example.com:3128"
      https_proxy = "http://proxy.example.com:3128"
      no_proxy    = ["vcenter.example.com", ".example.com"]
    }}
  }}
  placement {{
    datacenter      = "DC0"
    compute_cluster = "DC0_C1"
    datastore       = "LocalDS_0"
    network         = "VM Network"
    folder          = "palette/gateways"
    {placement_extra}
  }}
  ssh_keys    = ["ssh-ed25519 AAAA ops"]
  ntp_servers = ["0.pool.ntp.org", "1.pool.ntp.org"]
  static_ip_pool {{
    name        = "pcg-adopt-nodes"
    start       = "10.10.190.1"
    end         = "10.10.190.10"
    prefix      = 24
    gateway     = "10.10.190.254"
    nameservers = ["10.10.0.2"]
  }}
  # No timeouts block: those are Terraform's own settings, which no import
  # can read back; the first apply after an import records them.
}}
"#,
        endpoint = lab.endpoint(),
        server = sim.server,
        user = sim.user,
    )
}

#[test]
fn import_by_name_or_uid_reads_the_install_back_and_plans_nothing_then_installer_loss_shows() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        w.config(&adopted_config(&lab, &sim, ""));
        w.init();
        w.apply();
        w.assert_plan_empty();
        let made = w.state_resource(ADDR).unwrap()["values"].clone();
        let uid = made["id"].as_str().unwrap().to_string();

        // Adopted by name, then by uid: the installer's properties and
        // place, the nodes' placement, keys, NTP and pool are read back, so
        // the configuration plans nothing and no API call is needed.
        for id in ["pcg-adopt", uid.as_str()] {
            w.state_rm(ADDR);
            w.import(ADDR, id);
            let got = w.state_resource(ADDR).unwrap()["values"].clone();
            for k in [
                "installer",
                "placement",
                "ssh_keys",
                "ntp_servers",
                "static_ip_pool",
                "installer_vm_path",
                "ip_pool_id",
                "node_count",
            ] {
                assert_eq!(got[k], made[k], "{k} after import of {id}");
            }
            w.assert_plan_empty();
        }

        // "Resources" and no resource_pool both name the root pool: writing
        // it out is recorded in place, never a move of the gateway.
        w.config(&adopted_config(
            &lab,
            &sim,
            r#"resource_pool = "Resources""#,
        ));
        assert_eq!(
            planned_actions(&w.plan_json()),
            vec![(ADDR.to_string(), vec!["update".to_string()])]
        );
        w.apply();
        w.assert_plan_empty();
        w.config(&adopted_config(&lab, &sim, ""));
        w.apply();
        w.assert_plan_empty();

        // The installer VM deleted in vCenter: the plan shows it leaving
        // the state, the apply records that, and the next plan is empty.
        let installer = made["installer_vm_id"].as_str().unwrap().to_string();
        destroy_vm(&lab, &sim, &installer);
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        assert_eq!(
            change["before"]["installer_vm_path"],
            made["installer_vm_path"]
        );
        assert!(change["after"]["installer_vm_path"].is_null(), "{change}");
        w.apply();
        assert!(w.state_resource(ADDR).unwrap()["values"]["installer_vm_id"].is_null());
        w.assert_plan_empty();

        w.destroy();
        assert!(named(&vms(&lab, &sim), "pcg-adopt").is_empty());
        assert!(lab
            .get::<Value>(None, &format!("/v1/overlords/{uid}"))
            .unwrap_err()
            .is_not_found());
    });
}

fn gateway_events(lab: &Lab, uid: &str) -> String {
    lab.get::<Value>(None, &format!("/v1/events/components/overlord/{uid}"))
        .unwrap()
        .to_string()
}

/// The console's Reset button as `reset_on_failure`: a create whose
/// provisioning fails is reset once and ends Running; a gateway that fails
/// later is only reported while the knob is off, and reset by the next apply
/// once it is on — the registration and installer kept, never a replacement.
#[test]
fn reset_on_failure_recovers_a_failed_gateway_without_replacing_it() {
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        let lab = Lab::with_vcsim(&sim);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let fail_once = |lab: &Lab| {
            lab.admin(
                reqwest::Method::POST,
                "/lab/cluster-faults",
                Some(
                    json!({"kind": "provisioning_fails", "cluster_name": "pcg-reset", "times": 1}),
                ),
            );
        };
        let mut g = Gw {
            name: "pcg-reset",
            node_count: 1,
            extra: "reset_on_failure = true",
            installer_extra: "",
            pool: false,
        };
        fail_once(&lab);
        w.config(&config(&lab, &sim, &g));
        w.init();
        w.apply();
        let st = w.state_resource(ADDR).unwrap()["values"].clone();
        let uid = st["id"].as_str().unwrap().to_string();
        assert_eq!(st["state"], "Running");
        let ev = gateway_events(&lab, &uid);
        assert!(
            ev.contains("ProvisioningFailed") && ev.contains("Reset"),
            "{ev}"
        );
        assert_eq!(named(&vms(&lab, &sim), "pcg-reset-node-").len(), 1);
        assert_eq!(named(&vms(&lab, &sim), "pcg-reset-installer").len(), 1);
        w.assert_plan_empty();

        // A resize that fails, with the knob off: the apply fails, and the
        // plan says what happened and how to recover.
        fail_once(&lab);
        g.node_count = 3;
        g.extra = "";
        w.config(&config(&lab, &sim, &g));
        let r = w.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(r.status, Some(1), "{r}");
        assert_eq!(gateway(&lab, &uid)["status"]["state"], "Failed");
        let r = w.plan();
        assert!(
            r.combined().contains("The gateway is Failed in Palette"),
            "{r}"
        );
        assert!(r.combined().contains("reset_on_failure"), "{r}");

        // The knob on: an update (not a replacement) that resets it.
        g.extra = "reset_on_failure = true";
        w.config(&config(&lab, &sim, &g));
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        assert_eq!(change["before"]["state"], "Failed");
        w.apply();
        let st = w.state_resource(ADDR).unwrap()["values"].clone();
        assert_eq!(st["id"], uid.as_str(), "the same gateway");
        assert_eq!(st["state"], "Running");
        assert_eq!(named(&vms(&lab, &sim), "pcg-reset-node-").len(), 3);
        w.assert_plan_empty();

        // Reset outside Terraform (the console's button): Pending, nodes
        // gone. The plan shows it; the apply provisions it again in place.
        lab.rt.block_on(async {
            // No body: the spec's reset takes none.
            lab.client
                .put_empty(
                    &format!("/v1/overlords/{uid}/reset"),
                    &tokio_util::sync::CancellationToken::new(),
                )
                .await
                .unwrap()
        });
        let plan = w.plan_json();
        let change = change_of(&plan, ADDR);
        assert_eq!(change["actions"], json!(["update"]), "{change}");
        assert_eq!(change["before"]["state"], "Pending");
        w.apply();
        assert_eq!(gateway(&lab, &uid)["status"]["state"], "Running");
        assert_eq!(named(&vms(&lab, &sim), "pcg-reset-node-").len(), 3);
        w.assert_plan_empty();
        w.destroy();
        assert!(named(&vms(&lab, &sim), "pcg-reset").is_empty());
    });
}

/// Ctrl-C while the gateway provisions (registered, account and cloud
/// config given): terraform stops promptly, the gateway's uid is in state,
/// tainted, and destroy removes it and every VM it made.
#[test]
fn ctrl_c_during_provisioning_keeps_the_gateway_in_state() {
    use std::time::Duration;
    let sim = sim();
    for_each_terraform(&palette(), |w| {
        // Registration 3 s, provisioning almost 5 s: time to interrupt.
        let lab = Lab::with_vcsim_at(&sim, 0.01);
        w.set_env("PALETTE_API_KEY", &lab.lab.api_key);
        let g = Gw {
            name: "pcg-cut",
            node_count: 1,
            extra: "",
            installer_extra: "",
            pool: false,
        };
        w.config(&config(&lab, &sim, &g));
        w.init();
        let provisioning = || {
            lab.get::<Value>(None, "/v1/overlords?name=pcg-cut")
                .ok()
                .and_then(|v| {
                    v["items"][0]["status"]["state"]
                        .as_str()
                        .map(str::to_string)
                })
                .as_deref()
                == Some("Provisioning")
        };
        let (took, text) = w.interrupt_apply(Duration::from_secs(120), provisioning);
        assert!(
            took < Duration::from_secs(20),
            "terraform took {took:?} to stop"
        );
        assert!(text.contains("Interrupted"), "{text}");
        let st = w.state_resource(ADDR).expect("the gateway is in state");
        assert_eq!(st["tainted"], true, "{st}");
        let uid = st["values"]["id"].as_str().expect("its uid").to_string();
        assert_eq!(
            gateway(&lab, &uid)["metadata"]["name"],
            "pcg-cut",
            "the uid in state is the gateway's"
        );
        w.destroy();
        assert!(named(&vms(&lab, &sim), "pcg-cut").is_empty());
        assert!(lab
            .get::<Value>(None, &format!("/v1/overlords/{uid}"))
            .unwrap_err()
            .is_not_found());
    });
}
