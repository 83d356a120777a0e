//! The protocol layer and the harness, proven with the real terraform CLI
//! and the test-only provider `tptest`.

use std::path::Path;
use std::time::{Duration, Instant};

use acceptance_tests::{
    assert_diagnostic_at, change_of, for_each_terraform, planned_actions, ProviderUnderTest,
    Workdir,
};

fn tptest() -> ProviderUnderTest {
    ProviderUnderTest {
        binary: env!("CARGO_BIN_EXE_terraform-provider-tptest").into(),
        source: "testing/tptest".into(),
        version: "0.0.1".into(),
    }
}

const SECRET: &str = "s3cr3t-do-not-print";

fn store_dir(w: &Workdir) -> std::path::PathBuf {
    w.dir.path().join("store")
}

fn thing_config(w: &Workdir, name: &str, size: i64, extra: &str) -> String {
    format!(
        r#"
provider "tptest" {{
  dir = "{dir}"
}}

resource "tptest_thing" "a" {{
  name    = "{name}"
  size    = {size}
  tags    = ["blue", "green"]
  secret  = "{SECRET}"
  options = {{ mode = "fast" }}
  {extra}

  disk {{
    gb = 10
  }}
  disk {{
    gb    = 20
    label = "data"
  }}
}}

data "tptest_lookup" "a" {{
  id   = tptest_thing.a.id
  echo = {{ numbers = [1, 2.5, 12345678901234567890], flag = true }}
}}

output "looked_up_size" {{
  value = data.tptest_lookup.a.size
}}

output "echo" {{
  value = data.tptest_lookup.a.echo_out
}}
"#,
        dir = store_dir(w).display()
    )
}

fn objects(w: &Workdir) -> Vec<String> {
    match std::fs::read_dir(store_dir(w)) {
        Ok(rd) => rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn lifecycle_plan_apply_update_replace_drift_import_destroy() {
    for_each_terraform(&tptest(), |w| {
        w.config(&thing_config(w, "one", 2, ""));
        w.init();

        // Plan for create: computed values unknown, the secret marked sensitive.
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![("tptest_thing.a".to_string(), vec!["create".to_string()])]
        );
        let rc = change_of(&plan, "tptest_thing.a");
        assert_eq!(rc["after_unknown"]["id"], true, "{rc}");
        assert_eq!(rc["after_unknown"]["disk"][0]["uuid"], true, "{rc}");
        assert_eq!(rc["after_sensitive"]["secret"], true, "{rc}");
        assert_eq!(rc["after"]["size"], 2);

        let applied = w.apply();
        assert!(
            !applied.combined().contains(SECRET),
            "secret printed by apply"
        );
        assert_eq!(objects(w), vec!["thing-one.json"]);
        let out = w.show_json();
        assert_eq!(out["values"]["outputs"]["looked_up_size"]["value"], 2);
        let echo = &out["values"]["outputs"]["echo"]["value"];
        assert_eq!(echo["flag"], true);
        assert_eq!(
            echo["numbers"][2].to_string(),
            "12345678901234567890",
            "number precision lost: {echo}"
        );
        w.assert_plan_empty();

        // In-place update: only size changes; stable computed values stay known.
        w.config(&thing_config(w, "one", 3, ""));
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![("tptest_thing.a".to_string(), vec!["update".to_string()])]
        );
        let rc = change_of(&plan, "tptest_thing.a");
        assert_eq!(rc["after"]["id"], "thing-one");
        assert_eq!(rc["after_unknown"]["revision"], true);
        w.apply();
        w.assert_plan_empty();

        // A name change replaces, and the plan says which attribute forces it.
        w.config(&thing_config(w, "two", 3, ""));
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![(
                "tptest_thing.a".to_string(),
                vec!["delete".to_string(), "create".to_string()]
            )]
        );
        assert_eq!(
            change_of(&plan, "tptest_thing.a")["replace_paths"],
            serde_json::json!([["name"]])
        );
        w.apply();
        assert_eq!(objects(w), vec!["thing-two.json"]);

        // Drift: the object vanishes behind Terraform's back -> planned for creation, not an error.
        std::fs::remove_file(store_dir(w).join("thing-two.json")).unwrap();
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![("tptest_thing.a".to_string(), vec!["create".to_string()])]
        );
        w.apply();
        w.assert_plan_empty();

        // Drift: a changed attribute shows as exactly that change.
        let path = store_dir(w).join("thing-two.json");
        let mut obj: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        obj["size"] = 7.into();
        std::fs::write(&path, obj.to_string()).unwrap();
        let plan = w.plan_json();
        assert_eq!(
            planned_actions(&plan),
            vec![("tptest_thing.a".to_string(), vec!["update".to_string()])]
        );
        let rc = change_of(&plan, "tptest_thing.a");
        assert_eq!(
            (rc["before"]["size"].clone(), rc["after"]["size"].clone()),
            (7.into(), 3.into())
        );
        w.apply();

        // Import: forget it, import it by id, then nothing to change.
        w.state_rm("tptest_thing.a");
        w.import("tptest_thing.a", "thing-two");
        w.assert_plan_empty();
        let imported = w.state_resource("tptest_thing.a").expect("imported");
        assert_eq!(imported["values"]["size"], 3);

        let destroyed = w.destroy();
        assert!(!destroyed.combined().contains(SECRET));
        assert!(objects(w).is_empty(), "destroy left {:?}", objects(w));
    });
}

#[test]
fn bad_input_fails_at_plan_with_attribute_path() {
    for_each_terraform(&tptest(), |w| {
        w.config(&thing_config(w, "bad", 42, r#"delay_ms = 0"#));
        w.init();
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        let text = r.combined();
        assert!(text.contains("Value out of range"), "{text}");
        assert!(text.contains("from 1 to 10"), "{text}");
        assert_diagnostic_at(w, &text, "size");
        assert!(objects(w).is_empty());

        let cfg = thing_config(w, "bad", 1, "").replace(r#"mode = "fast""#, r#"mode = "slow""#);
        w.config(&cfg);
        let r = w.plan();
        assert_eq!(r.status, Some(1), "{r}");
        assert!(
            r.combined()
                .contains(r#"mode must be "fast" or "safe", not "slow""#),
            "{r}"
        );
    });
}

#[test]
fn state_written_by_schema_version_0_is_upgraded() {
    for_each_terraform(&tptest(), |w| {
        w.config(&thing_config(w, "old", 1, ""));
        w.init();
        w.apply();
        // Rewrite state as schema version 0 wrote it: `name` was `title`.
        let state_path = w.work().join("terraform.tfstate");
        let mut st: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
        for r in st["resources"].as_array_mut().unwrap() {
            if r["type"] == "tptest_thing" {
                let inst = &mut r["instances"][0];
                inst["schema_version"] = 0.into();
                let attrs = inst["attributes"].as_object_mut().unwrap();
                let name = attrs.remove("name").unwrap();
                attrs.insert("title".into(), name);
            }
        }
        st["serial"] = (st["serial"].as_i64().unwrap() + 1).into();
        std::fs::write(&state_path, st.to_string()).unwrap();
        w.assert_plan_empty();
        w.apply();
        let r = w.state_resource("tptest_thing.a").unwrap();
        assert_eq!(r["values"]["name"], "old");
        assert_eq!(r["schema_version"], 1);
        w.destroy();
    });
}

#[test]
fn interrupt_stops_the_provider_promptly_and_keeps_the_object_in_state() {
    for_each_terraform(&tptest(), |w| {
        w.config(&thing_config(w, "slow", 1, "delay_ms = 120000"));
        w.init();
        let marker = store_dir(w).join("create-started");
        let (took, text) = w.interrupt_apply(Duration::from_secs(60), || marker.exists());
        // The provider waits 120 s unless cancelled; anything near that means
        // StopProvider never reached the create.
        assert!(
            took < Duration::from_secs(20),
            "terraform took {took:?} to stop"
        );
        assert!(text.contains("Interrupted"), "{text}");

        // The created object is in state (tainted), so nothing is orphaned.
        let r = w
            .state_resource("tptest_thing.a")
            .expect("interrupted create must stay in state");
        assert_eq!(r["values"]["id"], "thing-slow");
        assert_eq!(r["tainted"], true, "{r}");
        assert_eq!(objects(w), vec!["thing-slow.json"]);
        w.config(&thing_config(w, "slow", 1, "delay_ms = 0"));
        w.destroy();
        assert!(objects(w).is_empty());
    });
}

#[test]
fn schema_json_shows_nested_types_and_sensitivity() {
    for_each_terraform(&tptest(), |w| {
        w.config(&thing_config(w, "s", 1, ""));
        w.init();
        let r = w.must(&["providers", "schema", "-json"]);
        let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let ps = &j["provider_schemas"]["registry.terraform.io/testing/tptest"];
        let thing = &ps["resource_schemas"]["tptest_thing"];
        assert_eq!(thing["version"], 1);
        assert_eq!(thing["block"]["attributes"]["secret"]["sensitive"], true);
        assert_eq!(
            thing["block"]["attributes"]["tags"]["type"],
            serde_json::json!(["set", "string"])
        );
        assert_eq!(
            thing["block"]["block_types"]["disk"]["nesting_mode"],
            "list"
        );
        // Nested attribute types are a protocol 6 feature.
        assert_eq!(
            thing["block"]["attributes"]["options"]["nested_type"]["nesting_mode"],
            "single"
        );
        assert_eq!(
            ps["data_source_schemas"]["tptest_lookup"]["block"]["attributes"]["echo"]["type"],
            "dynamic"
        );
    });
}

#[test]
fn running_the_binary_by_hand_explains_itself() {
    let bin = tptest().binary;
    let start = Instant::now();
    let out = std::process::Command::new(&bin)
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(!out.status.success());
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("not meant to be run by hand") && msg.contains("--debug"),
        "{msg}"
    );
    assert!(Path::new(&bin).exists());
}

#[test]
fn debug_mode_lets_terraform_attach_to_a_running_provider() {
    use std::io::BufRead as _;
    for_each_terraform(&tptest(), |w| {
        let mut provider = KillOnDrop(
            std::process::Command::new(tptest().binary)
                .arg("--debug")
                .env("TPTEST_DIR", store_dir(w))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let provider = &mut provider.0;
        let mut reattach = None;
        for line in std::io::BufReader::new(provider.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(v) = line.trim().strip_prefix("export TF_REATTACH_PROVIDERS='") {
                reattach = Some(v.trim_end_matches('\'').to_string());
                break;
            }
        }
        let reattach = reattach.expect("debug mode prints TF_REATTACH_PROVIDERS");
        let parsed: serde_json::Value = serde_json::from_str(&reattach).unwrap();
        assert_eq!(
            parsed["registry.terraform.io/testing/tptest"]["ProtocolVersion"],
            6
        );
        w.set_env("TF_REATTACH_PROVIDERS", &reattach);
        // No provider block: the debug process was configured from TPTEST_DIR.
        // `options` is set because Terraform 1.0 crashes on a null nested attribute (docs/design.md).
        w.config(
            r#"resource "tptest_thing" "a" {
  name    = "attached"
  options = { mode = "safe" }
}"#,
        );
        w.init();
        w.apply();
        assert_eq!(objects(w), vec!["thing-attached.json"]);
        w.assert_plan_empty();
        w.destroy();
        // The provider outlives each terraform command, as debug mode should.
        assert!(
            provider.try_wait().unwrap().is_none(),
            "debug provider exited early"
        );
        std::process::Command::new("sh")
            .args(["-c", &format!("kill -INT {}", provider.id())])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while provider.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "debug provider ignored Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}

/// Kills a helper process even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn trace_logs_reach_terraform_and_never_hold_the_secret() {
    for_each_terraform(&tptest(), |w| {
        w.config(&thing_config(w, "logged", 1, ""));
        w.init();
        w.set_env("TF_LOG", "trace");
        let r = w.apply();
        let log = r.combined();
        assert!(
            log.contains("configuring provider"),
            "provider logs did not reach terraform"
        );
        assert!(
            !log.contains(SECRET),
            "the secret appears in the TF_LOG=trace output"
        );
        w.set_env("TF_LOG", "");
        w.destroy();
    });
}
