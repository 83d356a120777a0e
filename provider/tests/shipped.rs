//! What users download is the provider alone: no lab, no vcsim, no test
//! switches. The workspace's test builds unify features with palette-lab's
//! (which needs vcsim), so this asks cargo how the provider resolves when it
//! is built by itself, as a release is.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo tree` of the provider's normal dependencies with their features,
/// one `name vX` or `name feature "f"` per line.
fn release_tree() -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args([
            "tree",
            "--offline",
            "-p",
            "terraform-provider-palette",
            "-e",
            "normal,features",
            "--prefix",
            "none",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    // A tree that lost the provider's own crates would pass every check below.
    for expected in ["vim_rs v", "palette-api v", "tfplugin v", "vsphere v"] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "{expected} missing from the provider's tree:\n{}",
            lines.join("\n")
        );
    }
    lines
}

#[test]
fn the_release_build_has_no_lab_and_no_vcsim_features() {
    let tree = release_tree();
    let offending: Vec<&String> = tree
        .iter()
        .filter(|l| {
            l.starts_with("palette-lab ")
                || l.starts_with("acceptance-tests ")
                || (l.contains(" feature ") && l.contains("vcsim"))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "the provider as shipped pulls in test-only code: {offending:?}"
    );
    // vim_rs decodes strictly: with vcsim_compat an item that fails to decode
    // is dropped from a list, and a VM could vanish from what the provider
    // reads (a gateway's nodes, an import).
    assert!(tree.iter().any(|l| l == "vim_rs feature \"xml\""));
}

/// Sources of every crate the provider ships, but not the vcsim module the
/// feature above keeps out.
fn shipped_sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = [
        "provider/src",
        "tfplugin/src",
        "schemas/src",
        "palette-api/src",
        "vsphere/src",
    ]
    .iter()
    .map(|d| workspace().join(d))
    .collect();
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && !p.ends_with("vsphere/src/vcsim.rs")
            {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn no_shipped_code_reads_a_lab_setting() {
    let sources = shipped_sources();
    assert!(
        sources.len() > 20,
        "found only {} source files",
        sources.len()
    );
    let mut found = Vec::new();
    for p in sources {
        let text = std::fs::read_to_string(&p).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Quoted: the names of environment variables, not of constants.
            if line.contains("\"PALETTE_LAB_") || line.contains("\"VCSIM_") {
                found.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "lab or vcsim settings in shipped code:\n{}",
        found.join("\n")
    );
}
