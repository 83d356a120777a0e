//! A provider that exists only to test tfplugin and the harness with the
//! real terraform CLI. Its "remote API" is a directory of JSON files, so a
//! test can change or delete objects behind Terraform's back.
//!
//! `tptest_thing` exercises unknowns, defaults, a list block, a nested
//! attribute, a set, a sensitive value, RequiresReplace, import, a state
//! upgrade (schema version 1 renamed `title` to `name`) and cancellation
//! (`delay_ms` waits before finishing, and gives up on StopProvider).
//! `tptest_lookup` reads a thing and echoes a dynamic value.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::validate::{check, IntBetween};
use tfplugin::{
    ApplyRequest, ApplyResult, Attribute, Block, Ctx, DataSource, Diagnostic, Diagnostics,
    Imported, NestedBlock, Nesting, Provider, ReadResult, Resource, Schema, Type, Value,
};

#[derive(Default)]
struct Shared {
    dir: RwLock<Option<PathBuf>>,
}

impl Shared {
    fn dir(&self) -> Result<PathBuf, Diagnostics> {
        self.dir
            .read()
            .unwrap()
            .clone()
            .ok_or_else(|| Diagnostic::error("Provider not configured", "").into())
    }
}

struct TestProvider(Arc<Shared>);

#[async_trait]
impl Provider for TestProvider {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .attr(
                    Attribute::string("dir")
                        .optional()
                        .description("Directory holding the test objects (or `TPTEST_DIR`)."),
                )
                // Shaped like the kubernetes provider's connection settings,
                // so a test can configure this provider from an ephemeral
                // kubeconfig the way a user configures that one.
                .attr(Attribute::string("host").optional())
                .attr(Attribute::string("cluster_ca_certificate").optional())
                .attr(Attribute::string("token").optional().sensitive()),
        )
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Thing(self.0.clone()))]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(Lookup(self.0.clone()))]
    }
    async fn configure(&self, config: &Value, _ctx: &Ctx) -> Diagnostics {
        let dir = config
            .get("dir")
            .as_str()
            .map(str::to_string)
            .or_else(|| std::env::var("TPTEST_DIR").ok());
        let mut d = Diagnostics::new();
        match dir {
            Some(dir) => {
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    d.error("Cannot create dir", e.to_string());
                }
                *self.0.dir.write().unwrap() = Some(dir.into());
            }
            None => d.error("Missing dir", "Set `dir` or TPTEST_DIR."),
        }
        if d.has_errors() {
            return d;
        }
        // What the provider was configured with, for the test to compare:
        // fingerprints, never the credentials themselves. Unknown during a
        // plan that creates what they come from; written once known.
        let conn: Vec<(&str, &Value)> = ["host", "cluster_ca_certificate", "token"]
            .into_iter()
            .map(|k| (k, config.get(k)))
            .collect();
        if conn.iter().any(|(_, v)| !v.is_null()) && conn.iter().all(|(_, v)| v.is_known()) {
            let record: serde_json::Map<String, serde_json::Value> = conn
                .iter()
                .map(|(k, v)| {
                    let text = v.as_str().unwrap_or_default();
                    let shown = if *k == "host" {
                        text.to_string()
                    } else {
                        acceptance_tests::fingerprint(text)
                    };
                    (k.to_string(), serde_json::Value::String(shown))
                })
                .collect();
            let dir = self.0.dir().expect("set above");
            let line = format!("{}\n", serde_json::Value::Object(record));
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("connections.jsonl"))
                .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
            if let Err(e) = appended {
                d.error("Cannot record the connection", e.to_string());
            }
        }
        d
    }
}

struct Thing(Arc<Shared>);

fn thing_block() -> Block {
    Block::new()
        .description("A test object stored as a JSON file.")
        .attr(
            Attribute::string("id")
                .computed()
                .use_state_for_unknown()
                .description("Object id."),
        )
        .attr(
            Attribute::string("name")
                .required()
                .requires_replace()
                .description("Name; changing it replaces."),
        )
        .attr(
            Attribute::number("size")
                .default(Value::int(1))
                .validator(IntBetween(1, 10)),
        )
        .attr(Attribute::new("tags", Type::set(Type::String)).optional())
        .attr(Attribute::string("secret").optional().sensitive())
        .attr(Attribute::number("delay_ms").default(Value::int(0)))
        .attr(
            Attribute::string("created_at")
                .computed()
                .use_state_for_unknown(),
        )
        .attr(Attribute::number("revision").computed())
        .attr(
            Attribute::nested(
                "options",
                Nesting::Single,
                vec![
                    Attribute::string("mode").optional().validator(check(
                        "must be `fast` or `safe`",
                        |v| match v.as_str() {
                            Some("fast" | "safe") => Ok(()),
                            Some(other) => {
                                Err(format!("mode must be \"fast\" or \"safe\", not {other:?}"))
                            }
                            None => Err("mode must be a string".into()),
                        },
                    )),
                    Attribute::bool("verbose").optional(),
                ],
            )
            .optional(),
        )
        .block(NestedBlock::new(
            "disk",
            Nesting::List,
            Block::new()
                .attr(Attribute::number("gb").required())
                .attr(Attribute::string("label").optional())
                .attr(Attribute::string("uuid").computed().use_state_for_unknown()),
        ))
}

fn path_for(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.json"))
}

fn ty() -> Type {
    thing_block().ty()
}

fn load(dir: &Path, id: &str) -> Result<Option<Value>, Diagnostics> {
    match std::fs::read(path_for(dir, id)) {
        Ok(b) => {
            let j: serde_json::Value = serde_json::from_slice(&b).map_err(|e| {
                Diagnostics::from(Diagnostic::error("Corrupt object", e.to_string()))
            })?;
            tfplugin::codec::from_json(&j, &ty(), Default::default())
                .map(Some)
                .map_err(|e| Diagnostic::error("Corrupt object", e.to_string()).into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Diagnostic::error("Cannot read object", e.to_string()).into()),
    }
}

fn store(dir: &Path, v: &Value) -> Result<(), Diagnostics> {
    let id = v.get("id").as_str().unwrap_or_default().to_string();
    let j = tfplugin::codec::to_json(v, &ty())
        .map_err(|e| Diagnostics::from(Diagnostic::error("Encode", e.to_string())))?;
    std::fs::write(path_for(dir, &id), j.to_string())
        .map_err(|e| Diagnostic::error("Cannot write object", e.to_string()).into())
}

/// Fills what the remote side computes.
fn resolve(planned: &Value, id: &str, prior: &Value) -> Value {
    let mut v = planned.clone();
    v.set_attr("id", id.into());
    if v.get("created_at").is_unknown() {
        v.set_attr("created_at", format!("t-{}", std::process::id()).into());
    }
    let rev = prior.get("revision").as_i64().unwrap_or(0) + 1;
    v.set_attr("revision", Value::int(rev));
    if let Some(Value::List(disks)) = v.as_map_mut().and_then(|m| m.get_mut("disk")) {
        for (i, d) in disks.iter_mut().enumerate() {
            if d.get("uuid").is_unknown() {
                d.set_attr("uuid", format!("{id}-disk-{i}-r{rev}").into());
            }
        }
    }
    v
}

async fn wait(planned: &Value, ctx: &Ctx) -> bool {
    let ms = planned.get("delay_ms").as_i64().unwrap_or(0).max(0) as u64;
    ms == 0 || ctx.sleep(Duration::from_millis(ms)).await
}

#[async_trait]
impl Resource for Thing {
    fn type_name(&self) -> &'static str {
        "tptest_thing"
    }
    fn schema(&self) -> Schema {
        Schema::new(thing_block()).version(1)
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let dir = match self.0.dir() {
            Ok(d) => d,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let name = req
            .planned
            .get("name")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let id = format!("thing-{name}");
        let state = resolve(&req.planned, &id, &Value::Null);
        // The object exists remotely from here on: every return below must
        // carry it, so Terraform tracks it even if we are interrupted.
        if let Err(d) = store(&dir, &state) {
            return ApplyResult::failed(Value::Null, d);
        }
        std::fs::write(dir.join("create-started"), &id).ok();
        if !wait(&req.planned, ctx).await {
            return ApplyResult::failed(
                state,
                Diagnostic::error(
                    "Interrupted",
                    format!("Creation of {id} was interrupted; the object exists and is tracked as tainted."),
                ),
            );
        }
        ApplyResult::ok(state)
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let dir = match self.0.dir() {
            Ok(d) => d,
            Err(d) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let id = req.prior.get("id").as_str().unwrap_or_default().to_string();
        if !wait(&req.planned, ctx).await {
            return ApplyResult::failed(
                req.prior.clone(),
                Diagnostic::error("Interrupted", "Update interrupted; nothing changed."),
            );
        }
        let state = resolve(&req.planned, &id, &req.prior);
        match store(&dir, &state) {
            Ok(()) => ApplyResult::ok(state),
            Err(d) => ApplyResult::failed(req.prior.clone(), d),
        }
    }

    async fn delete(&self, req: &ApplyRequest, _ctx: &Ctx) -> Diagnostics {
        let mut d = Diagnostics::new();
        match self.0.dir() {
            Ok(dir) => {
                let id = req.prior.get("id").as_str().unwrap_or_default();
                match std::fs::remove_file(path_for(&dir, id)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => d.error("Cannot delete", e.to_string()),
                }
            }
            Err(e) => d.extend(e),
        }
        d
    }

    async fn read(&self, state: &Value, private: &[u8], _ctx: &Ctx) -> ReadResult {
        let dir = match self.0.dir() {
            Ok(d) => d,
            Err(d) => {
                return ReadResult {
                    state: state.clone(),
                    private: private.to_vec(),
                    diags: d,
                }
            }
        };
        let id = state.get("id").as_str().unwrap_or_default();
        match load(&dir, id) {
            Ok(Some(mut remote)) => {
                // The secret is write-only remotely: keep what the user set.
                remote.set_attr("secret", state.get("secret").clone());
                ReadResult::ok(remote, private.to_vec())
            }
            Ok(None) => ReadResult::ok(Value::Null, Vec::new()),
            Err(d) => ReadResult {
                state: state.clone(),
                private: private.to_vec(),
                diags: d,
            },
        }
    }

    async fn import(&self, id: &str, _ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        let dir = self.0.dir()?;
        match load(&dir, id)? {
            Some(v) => Ok(vec![Imported {
                state: v,
                private: Vec::new(),
            }]),
            None => Err(Diagnostic::error(
                "Cannot import",
                format!("No object with id {id:?} exists."),
            )
            .into()),
        }
    }

    async fn upgrade_state(
        &self,
        version: i64,
        raw: &serde_json::Value,
    ) -> Result<Value, Diagnostics> {
        let mut raw = raw.clone();
        if version == 0 {
            if let Some(o) = raw.as_object_mut() {
                if let Some(title) = o.remove("title") {
                    o.insert("name".into(), title);
                }
            }
        }
        tfplugin::codec::from_json(
            &raw,
            &ty(),
            tfplugin::codec::JsonOptions {
                ignore_undefined_attributes: true,
            },
        )
        .map_err(|e| Diagnostic::error("Cannot upgrade state", e.to_string()).into())
    }
}

struct Lookup(Arc<Shared>);

#[async_trait]
impl DataSource for Lookup {
    fn type_name(&self) -> &'static str {
        "tptest_lookup"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .attr(Attribute::string("id").required())
                .attr(Attribute::string("name").computed())
                .attr(Attribute::number("size").computed())
                .attr(Attribute::new("tags", Type::set(Type::String)).computed())
                .attr(Attribute::new("echo", Type::Dynamic).optional())
                .attr(Attribute::new("echo_out", Type::Dynamic).computed()),
        )
    }
    async fn read(&self, config: &Value, _ctx: &Ctx) -> (Value, Diagnostics) {
        let dir = match self.0.dir() {
            Ok(d) => d,
            Err(d) => return (Value::Null, d),
        };
        let id = config.get("id").as_str().unwrap_or_default();
        match load(&dir, id) {
            Ok(Some(thing)) => {
                let mut out = config.clone();
                out.set_attr("name", thing.get("name").clone());
                out.set_attr("size", thing.get("size").clone());
                out.set_attr("tags", thing.get("tags").clone());
                out.set_attr("echo_out", config.get("echo").clone());
                (out, Diagnostics::new())
            }
            Ok(None) => (
                Value::Null,
                Diagnostic::error("Not found", format!("No object {id:?}.")).into(),
            ),
            Err(d) => (Value::Null, d),
        }
    }
}

fn main() -> std::process::ExitCode {
    tfplugin::serve::main(
        Arc::new(TestProvider(Arc::new(Shared::default()))),
        tfplugin::serve::ServeOptions {
            address: "registry.terraform.io/testing/tptest".into(),
            binary_name: "terraform-provider-tptest".into(),
        },
    )
}
