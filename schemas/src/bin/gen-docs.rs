//! Writes docs/ from the schemas and examples/; with `--check`, fails when
//! the committed docs differ from what the schemas say (stale docs).

use std::path::PathBuf;
use std::process::ExitCode;

use schemas::docs::{render, Kind};

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let examples = root.join("examples");
    let docs = root.join("docs");
    let mut pages = vec![render(
        Kind::Provider,
        schemas::PROVIDER_NAME,
        &schemas::provider::schema(),
        &examples,
    )];
    for (name, schema) in schemas::resources() {
        pages.push(render(Kind::Resource, name, &schema, &examples));
    }
    for (name, schema) in schemas::data_sources() {
        pages.push(render(Kind::DataSource, name, &schema, &examples));
    }
    for (name, schema) in schemas::ephemeral_resources() {
        pages.push(render(Kind::EphemeralResource, name, &schema, &examples));
    }
    for (name, schema) in schemas::actions() {
        pages.push(render(Kind::Action, name, &schema, &examples));
    }
    for (name, schema) in schemas::list_resources() {
        pages.push(render(Kind::ListResource, name, &schema, &examples));
    }
    let mut stale = Vec::new();
    for p in &pages {
        let path = docs.join(&p.path);
        let want = format!("{}\n", p.text);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if check {
                stale.push(p.path.clone());
            } else {
                std::fs::create_dir_all(path.parent().expect("docs subfolder"))
                    .expect("create docs folder");
                std::fs::write(&path, want).expect("write doc page");
                println!("wrote docs/{}", p.path);
            }
        }
    }
    if stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "Generated docs are stale: {}.\nRun `cargo run -p schemas --bin gen-docs` and commit docs/.",
            stale.join(", ")
        );
        ExitCode::FAILURE
    }
}
