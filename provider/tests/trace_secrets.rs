//! Nothing secret in the logs (issue 12): a whole gateway + cluster
//! lifecycle (examples/quickstart: apply, plan, destroy) under
//! `TF_LOG=trace`, its full log then searched for every secret the run
//! used and every session token the lab and vcsim handed out. Run twice:
//! as shipped (dependencies at warn) and with the provider's opt-in to
//! dependency logs, where redaction alone must hold.
//!
//! What is searched for, and where it is learnt:
//! - the Palette API key and the vCenter password: the test chose them;
//! - the pairing codes: the lab's store, which keeps every code it issued;
//! - the kubeconfig credentials: the lab's store (each cluster's token) and
//!   the kubeconfig in state;
//! - vCenter SOAP sessions: vcsim posts a `UserLoginSessionEvent` whose
//!   `sessionId` is the `vmware_soap_session` cookie for every login; a
//!   watcher reads them while the run goes on (vcsim keeps only the last
//!   1000 events, so reading once at the end could miss some).
//!
//! vAPI session ids (`vmware-api-session-id`, the tagging client's) cannot
//! be learnt: vcsim neither lists nor records them. Every provider line is
//! instead checked to be unchanged by the redactor, so no header, cookie,
//! password element or other named secret is left in clear.

mod common;

use acceptance_tests::{for_each_terraform, repo_root, Workdir};
use common::{lines_with, palette, watch_sessions, Lab};
use tokio_util::sync::CancellationToken;
use vsphere::vcsim::Vcsim;

const USER: &str = "administrator@vsphere.local";
const PASSWORD: &str = "Tr4ce-VC-pw&<x>";

/// Values in a kubeconfig that let whoever holds them in.
fn kubeconfig_credentials(kubeconfig: &str) -> Vec<String> {
    kubeconfig
        .lines()
        .filter_map(|l| l.trim_start().trim_start_matches("- ").split_once(':'))
        .filter(|(k, _)| matches!(k.trim(), "token" | "client-key-data" | "password"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn lifecycle(w: &mut Workdir, sim: &Vcsim, dependencies: bool) {
    let lab = Lab::with_vcsim(sim);
    let stop = CancellationToken::new();
    let (sessions, watcher) = watch_sessions(&lab, sim, stop.clone());

    let examples = repo_root().join("examples/quickstart");
    for f in ["main.tf", "kubernetes-values.yaml"] {
        std::fs::copy(examples.join(f), w.work().join(f)).unwrap();
    }
    let log = w.dir.path().join(if dependencies {
        "trace-dependencies.log"
    } else {
        "trace.log"
    });
    for (k, v) in [
        ("TF_VAR_palette_endpoint", lab.endpoint()),
        ("TF_VAR_palette_api_key", lab.lab.api_key.clone()),
        ("TF_VAR_vcenter_server", sim.server.clone()),
        ("TF_VAR_vcenter_user", USER.to_string()),
        ("TF_VAR_vcenter_password", PASSWORD.to_string()),
        ("TF_VAR_vcenter_insecure", "true".to_string()),
        ("TF_LOG", "trace".to_string()),
        ("TF_LOG_PATH", log.display().to_string()),
        (
            tfplugin::logging::DEPENDENCIES_ENV,
            if dependencies { "1" } else { "" }.to_string(),
        ),
    ] {
        w.set_env(k, &v);
    }

    w.init();
    w.apply();
    let mut secrets: Vec<(String, String)> = vec![
        ("the Palette API key".into(), lab.lab.api_key.clone()),
        ("the vCenter password".into(), PASSWORD.to_string()),
    ];
    {
        let store = lab.lab.lab.store();
        assert!(
            !store.pairing_codes.is_empty(),
            "the lab issued no pairing code"
        );
        for (i, p) in store.pairing_codes.iter().enumerate() {
            secrets.push((format!("pairing code #{}", i + 1), p.code.clone()));
        }
        assert!(!store.clusters.is_empty(), "the lab has no cluster");
        for c in store.clusters.iter() {
            secrets.push((format!("cluster {}'s token", c.name), c.token.clone()));
        }
    }
    let kubeconfig = w
        .show_json()
        .pointer("/values/root_module/resources")
        .and_then(|r| r.as_array())
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["address"] == "palette_cluster_vsphere.apps")
                .and_then(|r| r["values"]["kubeconfig"].as_str().map(str::to_string))
        })
        .expect("a kubeconfig in state");
    let creds = kubeconfig_credentials(&kubeconfig);
    assert!(
        !creds.is_empty(),
        "the kubeconfig in state has no credential"
    );
    for (i, c) in creds.into_iter().enumerate() {
        secrets.push((format!("kubeconfig credential #{}", i + 1), c));
    }

    w.assert_plan_empty();
    w.destroy();

    stop.cancel();
    lab.rt.block_on(watcher).unwrap();
    let sessions = sessions.lock().unwrap().clone();
    // The lab's logins, the watcher's and the provider's (refresh, VM
    // deletion): far more than two when the watcher works.
    assert!(
        sessions.len() >= 3,
        "learnt only {} vCenter session ids",
        sessions.len()
    );
    for (i, s) in sessions.iter().enumerate() {
        secrets.push((format!("vCenter session #{}", i + 1), s.clone()));
    }

    let text = std::fs::read_to_string(&log).expect("the trace log");
    let provider_lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("provider.terraform-provider-palette"))
        .map(|(i, l)| (i + 1, l))
        .collect();
    assert!(
        provider_lines.len() > 100,
        "only {} provider lines in the trace log",
        provider_lines.len()
    );
    // The opt-in must have let dependency lines through, or this run
    // proves nothing about redaction.
    let from_dependencies = |target: &str| {
        provider_lines
            .iter()
            .filter(|(_, l)| l.contains(&format!("@caller={target}")) || l.contains(target))
            .count()
    };
    let mut found = Vec::new();
    if dependencies {
        assert!(
            from_dependencies("cookie_store") > 0 && from_dependencies("vim_rs") > 0,
            "no cookie_store or vim_rs lines with {} set",
            tfplugin::logging::DEPENDENCIES_ENV
        );
    } else {
        for dep in ["cookie_store", "vim_rs::", "hyper", "h2::", "reqwest::"] {
            let debug_lines = provider_lines
                .iter()
                .filter(|(_, l)| {
                    l.contains(dep) && (l.contains("[DEBUG]") || l.contains("[TRACE]"))
                })
                .count();
            if debug_lines > 0 {
                found.push(format!(
                    "{dep} logged below warn without the opt-in ({debug_lines} lines)"
                ));
            }
        }
    }

    for (what, value) in &secrets {
        let at = lines_with(&text, value);
        if !at.is_empty() {
            found.push(format!("{what} at line(s) {at:?}"));
        }
    }
    for (n, line) in &provider_lines {
        if tfplugin::logging::redact(line) != *line {
            found.push(format!("a value the redactor hides by name at line {n}"));
        }
    }
    // The work directory goes with the test; the log stays for a look.
    let kept = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "trace_secrets-{}-{}.log",
        w.tf.version,
        if dependencies { "dependencies" } else { "own" }
    ));
    if !found.is_empty() {
        let _ = std::fs::copy(&log, &kept);
    }
    assert!(
        found.is_empty(),
        "secrets in the TF_LOG=trace log (kept at {}, dependency logs {}):\n{}",
        kept.display(),
        if dependencies { "on" } else { "off" },
        found.join("\n")
    );
}

/// The provider binary under test; `TRACE_SECRETS_PROVIDER_BIN` points
/// this test at another build (an older one, to see it fail there).
fn provider() -> acceptance_tests::ProviderUnderTest {
    let mut p = palette();
    if let Some(bin) = std::env::var_os("TRACE_SECRETS_PROVIDER_BIN") {
        p.binary = bin.into();
    }
    p
}

#[test]
fn no_secret_in_a_trace_log_of_a_whole_lifecycle() {
    let sim = Vcsim::start(USER, PASSWORD, &["-cluster", "2"]).expect("vcsim");
    for_each_terraform(&provider(), |w| {
        lifecycle(w, &sim, false);
        // A fresh directory: the first run's state and log stay apart.
        let mut again = Workdir::new(&w.tf, &w.provider);
        lifecycle(&mut again, &sim, true);
    });
}
