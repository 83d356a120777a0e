//! The palette-lab binary attached to a vCenter it did not start (here a
//! separate vcsim): it checks the login at start, serves against it, and
//! never prints the user's password.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const PASSWORD: &str = "Attach-Pa55";

#[test]
fn the_lab_attaches_to_a_given_vcenter_and_refuses_a_wrong_password() {
    let sim = vsphere::vcsim::Vcsim::start("ops@vsphere.local", PASSWORD, &[]).expect("vcsim");
    let lab = env!("CARGO_BIN_EXE_palette-lab");
    let run = |password: &str| {
        Command::new(lab)
            .args([
                "--vcenter",
                &sim.server,
                "--vcenter-user",
                &sim.user,
                "--vcenter-insecure",
            ])
            .env("VCENTER_PASSWORD", password)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };

    let bad = run("not-the-password").wait_with_output().unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("rejected the user name or password"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");

    let mut child = run(PASSWORD);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(Ok(l)) = lines.next() {
        let done = l.starts_with("VCENTER_USER=");
        printed.push(l);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = printed.join("\n");
    assert!(
        text.contains("PALETTE_ENDPOINT=http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains(&format!("VCENTER_SERVER={}", sim.server)),
        "{text}"
    );
    assert!(
        !text.contains(PASSWORD),
        "the user's password is not echoed: {text}"
    );
}
