//! Contract checks: every `/v1` response the lab gives, held against the
//! Palette API spec (palette-api-subset.json, plus the operations of
//! palette-api/operations-extra.txt taken from the full spec), so the lab
//! cannot drift into answers real Palette would never give: invented
//! fields, wrong types, undeclared statuses.
//!
//! Off unless switched on ([`Checker::enable`], or `PALETTE_LAB_CONTRACT=1`
//! at start); then each violation is kept for `GET /lab/contract-violations`.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::state::Lab;

/// Where the spec is unless `PALETTE_API_SPEC` says otherwise: the shared
/// folder checked out beside the workspace.
const DEFAULT_SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/palette-api/palette-api-subset.json"
);
const EXTRA_OPERATIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../palette-api/operations-extra.txt"
);
const FULL_SPEC_NAME: &str = "palette-apis-spec-4.8.json";

/// Responses larger than this are not Palette JSON answers; the limit only
/// keeps a runaway body from being held in memory.
const BODY_LIMIT: usize = 16 << 20;

/// One response that broke the contract.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Violation {
    pub operation: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub problems: Vec<String>,
}

/// Per lab: whether to check, and what was found.
#[derive(Debug, Default)]
pub struct Checker {
    enabled: AtomicBool,
    violations: Mutex<Vec<Violation>>,
}

impl Checker {
    /// Switched on by `PALETTE_LAB_CONTRACT=1`, so a lab started by hand or
    /// by another crate's tests can be checked without code changes.
    pub fn from_env() -> Checker {
        let on = std::env::var("PALETTE_LAB_CONTRACT").is_ok_and(|v| v == "1");
        Checker {
            enabled: AtomicBool::new(on),
            violations: Mutex::new(Vec::new()),
        }
    }

    pub fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.violations.lock().expect("violations lock").clone()
    }

    pub fn clear(&self) {
        self.violations.lock().expect("violations lock").clear();
    }

    fn record(&self, v: Violation) {
        tracing::warn!(operation = %v.operation, method = %v.method, path = %v.path,
            status = v.status, problems = ?v.problems, "contract violation");
        self.violations.lock().expect("violations lock").push(v);
    }

    /// Panics listing every violation, if there are any.
    pub fn assert_clean(&self) {
        let found = self.violations();
        if !found.is_empty() {
            let text: Vec<String> = found
                .iter()
                .map(|v| {
                    format!(
                        "{} {} {} -> {}:\n    {}",
                        v.operation,
                        v.method,
                        v.path,
                        v.status,
                        v.problems.join("\n    ")
                    )
                })
                .collect();
            panic!(
                "the lab's responses broke the Palette API contract:\n  {}",
                text.join("\n  ")
            );
        }
    }
}

/// Switches the check on for a lab and fails the test when dropped with
/// violations recorded, so no test has to remember a final assertion.
pub struct Guard(Arc<Checker>);

pub fn guard(lab: &Lab) -> Guard {
    lab.contract.enable();
    Guard(lab.contract.clone())
}

impl Drop for Guard {
    fn drop(&mut self) {
        // A second panic while unwinding would abort and hide the first.
        if !std::thread::panicking() {
            self.0.assert_clean();
        }
    }
}

// ---------------------------------------------------------------- the layer

/// The middleware: passes the response on unchanged, after checking it.
pub async fn check(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    if !lab.contract.enabled() {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            // The client sees a broken body either way; keep it broken.
            let failing = futures::stream::once(async move {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(e.to_string()))
            });
            return Response::from_parts(parts, Body::from_stream(failing));
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let verdict = match spec() {
        Ok(spec) => spec.check(&method, &path, parts.status.as_u16(), content_type, &bytes),
        Err(e) => Some(Violation {
            operation: "(spec unavailable)".into(),
            method: method.clone(),
            path: path.clone(),
            status: parts.status.as_u16(),
            problems: vec![e.clone()],
        }),
    };
    if let Some(v) = verdict {
        lab.contract.record(v);
    }
    Response::from_parts(parts, Body::from(bytes))
}

pub async fn admin_violations(State(lab): State<Lab>) -> Response {
    Json(lab.contract.violations()).into_response()
}

pub async fn admin_clear_violations(State(lab): State<Lab>) -> StatusCode {
    lab.contract.clear();
    StatusCode::NO_CONTENT
}

// ---------------------------------------------------------------- the spec

static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();

/// The spec, read once per process.
pub fn spec() -> Result<&'static Spec, &'static String> {
    SPEC.get_or_init(|| {
        let subset = std::env::var("PALETTE_API_SPEC").unwrap_or_else(|_| DEFAULT_SPEC.into());
        Spec::load(std::path::Path::new(&subset))
    })
    .as_ref()
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Param,
}

#[derive(Debug)]
struct Operation {
    id: String,
    method: String,
    template: Vec<Segment>,
    /// Status -> the body schema it declares, if any.
    responses: HashMap<String, Option<Value>>,
}

#[derive(Debug)]
pub struct Spec {
    operations: Vec<Operation>,
    definitions: Map<String, Value>,
    error: Option<Value>,
    /// What could not be taken in, to show when a check meets it.
    pub notes: Vec<String>,
}

fn read_json(path: &std::path::Path) -> Result<Value, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
}

impl Spec {
    /// The subset at `subset`, and from the full spec beside it the
    /// operations named in operations-extra.txt with what they reach.
    pub fn load(subset: &std::path::Path) -> Result<Spec, String> {
        let sub = read_json(subset)?;
        let extra: Vec<String> = std::fs::read_to_string(EXTRA_OPERATIONS)
            .map(|t| {
                t.lines()
                    .filter_map(|l| l.split('#').next())
                    .filter_map(|l| l.split_whitespace().next())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let full_path = subset.with_file_name(FULL_SPEC_NAME);
        let full = if extra.is_empty() {
            None
        } else {
            Some(read_json(&full_path))
        };
        let mut spec = match full {
            Some(Ok(full)) => Spec::from_documents(&sub, Some(&full), &extra),
            Some(Err(e)) => {
                let mut s = Spec::from_documents(&sub, None, &[]);
                s.notes
                    .push(format!("operations-extra.txt not checked: {e}"));
                s
            }
            None => Spec::from_documents(&sub, None, &[]),
        };
        if spec.operations.is_empty() {
            return Err(format!("{} declares no operations", subset.display()));
        }
        spec.notes.sort();
        Ok(spec)
    }

    /// Every operation of `subset`, and those of `full` whose operationId is
    /// in `extra`, with only the definitions they reach copied over.
    pub fn from_documents(subset: &Value, full: Option<&Value>, extra: &[String]) -> Spec {
        let mut spec = Spec {
            operations: Vec::new(),
            definitions: subset["definitions"]
                .as_object()
                .cloned()
                .unwrap_or_default(),
            error: None,
            notes: Vec::new(),
        };
        spec.add_operations(subset, |_| true);
        if let Some(full) = full {
            let wanted: BTreeSet<&str> = extra.iter().map(String::as_str).collect();
            let before: BTreeSet<String> = spec.operations.iter().map(|o| o.id.clone()).collect();
            let mut roots = Vec::new();
            spec.add_operations(full, |op| {
                let id = op["operationId"].as_str().unwrap_or_default();
                if wanted.contains(id) && !before.contains(id) {
                    roots.push(op["responses"].clone());
                    true
                } else {
                    false
                }
            });
            let found: BTreeSet<&str> = spec.operations.iter().map(|o| o.id.as_str()).collect();
            for id in wanted.difference(&found) {
                spec.notes
                    .push(format!("{id} is in neither the subset nor the full spec"));
            }
            if subset.pointer("/definitions/v1Error").is_none() {
                roots.push(Value::String("#/definitions/v1Error".into()));
            }
            let defs = full["definitions"].as_object().cloned().unwrap_or_default();
            for r in roots {
                copy_reached(&r, &defs, &mut spec.definitions);
            }
        }
        spec.error = spec
            .definitions
            .contains_key("v1Error")
            .then(|| serde_json::json!({"$ref": "#/definitions/v1Error"}));
        spec
    }

    fn add_operations(&mut self, doc: &Value, mut take: impl FnMut(&Value) -> bool) {
        let Some(paths) = doc["paths"].as_object() else {
            return;
        };
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if method == "parameters" || !take(op) {
                    continue;
                }
                let responses = op["responses"]
                    .as_object()
                    .map(|r| {
                        r.iter()
                            .map(|(status, resp)| (status.clone(), resp.get("schema").cloned()))
                            .collect()
                    })
                    .unwrap_or_default();
                self.operations.push(Operation {
                    id: op["operationId"]
                        .as_str()
                        .unwrap_or("(unnamed)")
                        .to_string(),
                    method: method.to_ascii_uppercase(),
                    template: parse_template(template),
                    responses,
                });
            }
        }
    }

    /// The operations whose template fits `path`, most literal first: a
    /// literal segment is a better fit than a parameter in its place.
    fn matching(&self, path: &str) -> Vec<&Operation> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let mut found: Vec<(usize, &Operation)> = self
            .operations
            .iter()
            .filter(|op| op.template.len() == segs.len())
            .filter_map(|op| {
                let mut literal = 0;
                for (t, s) in op.template.iter().zip(&segs) {
                    match t {
                        Segment::Literal(l) if l == s => literal += 1,
                        Segment::Literal(_) => return None,
                        Segment::Param if s.is_empty() => return None,
                        Segment::Param => {}
                    }
                }
                Some((literal, op))
            })
            .collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        let best = found.first().map(|f| f.0);
        found
            .into_iter()
            .filter(|f| Some(f.0) == best)
            .map(|f| f.1)
            .collect()
    }

    /// The operationId serving `method path`, if the spec has one.
    pub fn operation_id(&self, method: &str, path: &str) -> Option<&str> {
        self.matching(path)
            .into_iter()
            .find(|o| o.method.eq_ignore_ascii_case(method))
            .map(|o| o.id.as_str())
    }

    /// What is wrong with a response, if anything.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Option<Violation> {
        let candidates = self.matching(path);
        let op = candidates
            .iter()
            .find(|o| o.method.eq_ignore_ascii_case(method));
        let mut problems = Vec::new();
        let is_error = status >= 400;
        let is_json = content_type.is_some_and(|c| {
            let c = c.split(';').next().unwrap_or_default().trim();
            c.eq_ignore_ascii_case("application/json") || c.ends_with("+json")
        });
        let parsed = if body.is_empty() {
            None
        } else if is_json {
            match serde_json::from_slice::<Value>(body) {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(format!("$: body is not JSON: {e}"));
                    None
                }
            }
        } else {
            None
        };
        if is_error {
            if !body.is_empty() && !is_json {
                problems.push(format!(
                    "$: error body is {} rather than Palette's JSON error",
                    content_type.unwrap_or("untyped")
                ));
            }
            if let Some(v) = &parsed {
                self.check_error(v, &mut problems);
            }
        } else {
            match op {
                None if candidates.is_empty() => {
                    problems.push("no operation in the spec serves this path".into())
                }
                None => problems.push(format!(
                    "the spec has no {method} here (only {})",
                    candidates
                        .iter()
                        .map(|o| format!("{} {}", o.method, o.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Some(op) => {
                    let declared = op
                        .responses
                        .get(&status.to_string())
                        .or_else(|| op.responses.get("default"));
                    match declared {
                        None => {
                            let mut known: Vec<&String> = op.responses.keys().collect();
                            known.sort();
                            problems.push(format!(
                                "status {status} is not declared (the spec has {known:?})"
                            ))
                        }
                        Some(None) if !body.is_empty() => problems.push(format!(
                            "$: a body where the spec declares none for {status}"
                        )),
                        Some(None) => {}
                        Some(Some(schema)) if is_binary(schema) => {}
                        Some(Some(_)) if body.is_empty() => problems.push(format!(
                            "$: no body where the spec declares one for {status}"
                        )),
                        Some(Some(_)) if !is_json => problems.push(format!(
                            "$: body is {} where the spec declares JSON",
                            content_type.unwrap_or("untyped")
                        )),
                        Some(Some(schema)) => {
                            if let Some(v) = &parsed {
                                validate(&self.definitions, schema, v, "$", &mut problems);
                            }
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            return None;
        }
        problems.extend(self.notes.iter().map(|n| format!("note: {n}")));
        Some(Violation {
            operation: op.map(|o| o.id.clone()).unwrap_or_else(|| "(none)".into()),
            method: method.to_string(),
            path: path.to_string(),
            status,
            problems,
        })
    }

    /// Palette's error shape: v1Error where the spec has it, and the `code`
    /// and `message` clients show to users in any case.
    fn check_error(&self, v: &Value, problems: &mut Vec<String>) {
        if let Some(schema) = &self.error {
            validate(&self.definitions, schema, v, "$", problems);
        }
        for field in ["code", "message"] {
            if !v.get(field).is_some_and(Value::is_string) {
                problems.push(format!("$.{field}: an error needs a string {field}"));
            }
        }
    }
}

fn parse_template(t: &str) -> Vec<Segment> {
    t.trim_end_matches('/')
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(s.to_string())
            }
        })
        .collect()
}

fn is_binary(schema: &Value) -> bool {
    schema["type"] == "string" && schema["format"] == "binary"
}

/// Copies into `into` every definition that `v` refers to, transitively.
fn copy_reached(v: &Value, from: &Map<String, Value>, into: &mut Map<String, Value>) {
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("#/definitions/") {
                if !into.contains_key(name) {
                    if let Some(def) = from.get(name) {
                        into.insert(name.to_string(), def.clone());
                        copy_reached(def, from, into);
                    }
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| copy_reached(x, from, into)),
        Value::Object(o) => o.values().for_each(|x| copy_reached(x, from, into)),
        _ => {}
    }
}

// ---------------------------------------------------------------- validator

/// Where the lab knowingly differs from the spec, each for a reason the
/// spec cannot express; kept short, and each one reported.
struct Deviation {
    definition: &'static str,
    property: &'static str,
    /// Required in the spec yet absent in responses.
    write_only: bool,
    /// Values beyond the spec's enum.
    more_values: &'static [&'static str],
}

const DEVIATIONS: &[Deviation] = &[
    // The spec shares one definition between request and response; Palette
    // takes the vCenter password in and never echoes it back, and the
    // provider keeps it from configuration.
    Deviation {
        definition: "v1VsphereCloudAccount",
        property: "password",
        write_only: true,
        more_values: &[],
    },
];

impl Deviation {
    fn apply(&self, def: &Value) -> Value {
        let mut def = def.clone();
        if self.write_only {
            if let Some(req) = def.get_mut("required").and_then(Value::as_array_mut) {
                req.retain(|f| f != self.property);
            }
        }
        let values = def
            .pointer_mut(&format!("/properties/{}/enum", self.property))
            .and_then(Value::as_array_mut);
        if let Some(values) = values {
            values.extend(self.more_values.iter().map(|v| Value::from(*v)));
        }
        def
    }
}

/// Checks `v` against a Swagger 2.0 schema, as much of it as the Palette
/// spec uses, pushing "json.path: what" for each problem.
pub fn validate(
    defs: &Map<String, Value>,
    schema: &Value,
    v: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/definitions/").unwrap_or_default();
        match defs.get(name) {
            Some(def) => match DEVIATIONS.iter().find(|d| d.definition == name) {
                Some(d) => validate(defs, &d.apply(def), v, at, problems),
                None => validate(defs, def, v, at, problems),
            },
            None => problems.push(format!("{at}: the spec's {r} cannot be resolved")),
        }
        return;
    }
    if v.is_null() {
        // go-swagger writes nil for these rather than leaving them out.
        let nullable = schema["x-nullable"] == true || schema["x-omitempty"] == false;
        if !nullable {
            problems.push(format!("{at}: null where the spec does not allow it"));
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            problems.push(format!(
                "{at}: {v} is not one of {}",
                Value::from(allowed.clone())
            ));
        }
    }
    let ty = schema.get("type").and_then(Value::as_str).or_else(|| {
        (schema.get("properties").is_some() || schema.get("additionalProperties").is_some())
            .then_some("object")
    });
    match ty {
        Some("object") => validate_object(defs, schema, v, at, problems),
        Some("array") => {
            let Some(items) = v.as_array() else {
                return problems.push(format!("{at}: {} where the spec has an array", kind(v)));
            };
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(defs, item_schema, item, &format!("{at}[{i}]"), problems);
                }
            }
            if schema["uniqueItems"] == true {
                for (i, item) in items.iter().enumerate() {
                    if items[..i].contains(item) {
                        problems.push(format!("{at}[{i}]: a repeated item where items are unique"));
                    }
                }
            }
        }
        Some("string") => match v.as_str() {
            None => problems.push(format!("{at}: {} where the spec has a string", kind(v))),
            Some(s) => {
                if schema["format"] == "date-time" && !is_rfc3339(s) {
                    problems.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
                }
            }
        },
        Some("integer") => {
            let Some(n) = v.as_number() else {
                return problems.push(format!("{at}: {} where the spec has an integer", kind(v)));
            };
            let text = n.to_string();
            let Ok(i) = text.parse::<i128>() else {
                return problems.push(format!("{at}: {text} is not an integer"));
            };
            let range = match schema["format"].as_str() {
                Some("int8") => Some((i8::MIN as i128, i8::MAX as i128)),
                Some("int32") => Some((i32::MIN as i128, i32::MAX as i128)),
                Some("int64") => Some((i64::MIN as i128, i64::MAX as i128)),
                _ => None,
            };
            if let Some((lo, hi)) = range {
                if i < lo || i > hi {
                    problems.push(format!("{at}: {i} is out of {} range", schema["format"]));
                }
            }
            check_minimum(schema, v, at, problems);
        }
        Some("number") => {
            if v.is_number() {
                check_minimum(schema, v, at, problems);
            } else {
                problems.push(format!("{at}: {} where the spec has a number", kind(v)));
            }
        }
        Some("boolean") if !v.is_boolean() => {
            problems.push(format!("{at}: {} where the spec has a boolean", kind(v)))
        }
        Some("boolean") => {}
        Some(other) => problems.push(format!("{at}: the spec's type {other:?} is not understood")),
        // No type and no structure: any value.
        None => {}
    }
}

fn validate_object(
    defs: &Map<String, Value>,
    schema: &Value,
    v: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    let Some(obj) = v.as_object() else {
        return problems.push(format!("{at}: {} where the spec has an object", kind(v)));
    };
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(name) {
                problems.push(format!("{at}.{name}: required, and missing"));
            }
        }
    }
    let extra = schema.get("additionalProperties");
    for (key, value) in obj {
        let here = format!("{at}.{key}");
        match (props.and_then(|p| p.get(key)), extra) {
            (Some(s), _) => validate(defs, s, value, &here, problems),
            (None, Some(Value::Bool(false))) => {
                problems.push(format!("{here}: not a property of this object in the spec"))
            }
            (None, Some(Value::Bool(true))) => {}
            (None, Some(s)) => validate(defs, s, value, &here, problems),
            // Without properties an object is free-form.
            (None, None) if props.is_none() => {}
            (None, None) => {
                problems.push(format!("{here}: not a property of this object in the spec"))
            }
        }
    }
}

fn check_minimum(schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
    let (Some(min), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) else {
        return;
    };
    if x < min {
        problems.push(format!("{at}: {x} is below the minimum {min}"));
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `2024-05-01T10:00:00Z`, with optional fraction and a `Z` or `±hh:mm`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    if !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] => {
            b.len() == i + 6
                && digits(i + 1..i + 3)
                && b[i + 3] == b':'
                && digits(i + 4..i + 6)
                && num(i + 1..i + 3) <= 23
                && num(i + 4..i + 6) <= 59
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Map<String, Value> {
        json!({
            "v1Uid": {"type": "object", "required": ["uid"],
                      "properties": {"uid": {"type": "string"}}},
            "v1Meta": {"type": "object", "properties": {
                "name": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "created": {"type": "string", "format": "date-time"}}},
            "v1Thing": {"type": "object", "properties": {
                "metadata": {"$ref": "#/definitions/v1Meta"},
                "size": {"type": "integer", "format": "int32"},
                "state": {"type": "string", "enum": ["Running", "Deleted"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "free": {"type": "object"},
                "maybe": {"type": "string", "x-nullable": true}}}
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn problems(def: &str, v: Value) -> Vec<String> {
        let mut p = Vec::new();
        validate(
            &defs(),
            &json!({"$ref": format!("#/definitions/{def}")}),
            &v,
            "$",
            &mut p,
        );
        p
    }

    #[test]
    fn a_conforming_value_passes_and_absent_optional_fields_are_fine() {
        let v = json!({
            "metadata": {"name": "a", "labels": {"k": "v"}, "created": "2024-05-01T10:00:00.123Z"},
            "size": 3, "state": "Running", "tags": ["x"], "free": {"anything": [1]},
            "maybe": null
        });
        assert_eq!(problems("v1Thing", v), Vec::<String>::new());
        assert_eq!(problems("v1Thing", json!({})), Vec::<String>::new());
    }

    #[test]
    fn invented_properties_are_caught_through_refs() {
        let p = problems("v1Thing", json!({"metadata": {"name": "a", "invented": 1}}));
        assert_eq!(
            p,
            vec!["$.metadata.invented: not a property of this object in the spec"]
        );
        let p = problems("v1Thing", json!({"invented": true}));
        assert_eq!(p.len(), 1, "{p:?}");
    }

    #[test]
    fn wrong_types_ranges_enums_and_formats_are_caught() {
        let p = problems(
            "v1Thing",
            json!({"size": "3", "state": "Gone", "tags": [1],
                   "metadata": {"labels": {"k": 1}, "created": "yesterday", "name": null}}),
        );
        assert_eq!(p.len(), 6, "{p:?}");
        assert!(p.contains(&"$.size: a string where the spec has an integer".to_string()));
        assert!(p.contains(&"$.tags[0]: a number where the spec has a string".to_string()));
        assert!(
            p.contains(&"$.metadata.labels.k: a number where the spec has a string".to_string())
        );
        assert_eq!(problems("v1Thing", json!({"size": 4294967296u64})).len(), 1);
        assert_eq!(problems("v1Thing", json!({"size": 1.5})).len(), 1);
    }

    #[test]
    fn required_fields_and_unresolvable_refs_are_caught() {
        assert_eq!(
            problems("v1Uid", json!({})),
            vec!["$.uid: required, and missing"]
        );
        assert_eq!(problems("v1Nope", json!({})).len(), 1);
    }

    #[test]
    fn rfc3339() {
        for ok in [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.5+02:00",
            "2024-12-31t23:59:60z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2024-05-01 10:00:00Z",
            "2024-13-01T10:00:00Z",
            "2024-05-01T10:00:00",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00+0200",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    fn tiny_spec() -> Spec {
        let doc = json!({
            "paths": {
                "/v1/overlords/{uid}": {
                    "get": {"operationId": "get", "responses": {"200": {"schema": {"$ref": "#/definitions/v1Uid"}}}},
                    "delete": {"operationId": "del", "responses": {"204": {"description": "gone"}}}},
                "/v1/overlords/pairing/code": {
                    "get": {"operationId": "pairing", "responses": {"200": {"schema": {"type": "object", "properties": {"pairingCode": {"type": "string"}}}}}}},
                "/v1/kube/{uid}": {
                    "get": {"operationId": "kube", "responses": {"200": {"schema": {"type": "string", "format": "binary"}}}}}
            },
            "definitions": {
                "v1Uid": {"type": "object", "required": ["uid"], "properties": {"uid": {"type": "string"}}},
                "v1Error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "ref": {"type": "string"}}}
            }
        });
        Spec::from_documents(&doc, None, &[])
    }

    const JSON: Option<&str> = Some("application/json");

    #[test]
    fn literal_segments_win_over_parameters() {
        let s = tiny_spec();
        assert_eq!(
            s.operation_id("GET", "/v1/overlords/pairing/code"),
            Some("pairing")
        );
        assert_eq!(s.operation_id("GET", "/v1/overlords/abc"), Some("get"));
        assert_eq!(s.operation_id("GET", "/v1/overlords/abc/x"), None);
        let v = s
            .check(
                "GET",
                "/v1/overlords/pairing/code",
                200,
                JSON,
                br#"{"uid":"u"}"#,
            )
            .unwrap();
        assert_eq!(v.operation, "pairing");
        assert_eq!(
            v.problems,
            vec!["$.uid: not a property of this object in the spec"]
        );
    }

    #[test]
    fn statuses_bodies_and_errors_are_checked() {
        let s = tiny_spec();
        assert_eq!(
            s.check("GET", "/v1/overlords/a", 200, JSON, br#"{"uid":"u"}"#),
            None
        );
        assert_eq!(s.check("DELETE", "/v1/overlords/a", 204, None, b""), None);
        assert_eq!(
            s.check(
                "GET",
                "/v1/kube/a",
                200,
                Some("application/octet-stream"),
                b"apiVersion: v1"
            ),
            None
        );
        let err = br#"{"code":"ResourceNotFound","message":"no","ref":"r"}"#;
        assert_eq!(s.check("GET", "/v1/overlords/a", 404, JSON, err), None);
        assert_eq!(s.check("GET", "/v1/nowhere", 404, JSON, err), None);
        let undeclared = s
            .check("DELETE", "/v1/overlords/a", 200, JSON, br#"{}"#)
            .unwrap();
        assert_eq!(undeclared.problems.len(), 1, "{undeclared:?}");
        assert!(s
            .check("DELETE", "/v1/overlords/a", 204, JSON, b"{}")
            .is_some());
        assert!(s
            .check("GET", "/v1/overlords/a", 200, Some("text/plain"), b"u")
            .is_some());
        assert!(s.check("PUT", "/v1/overlords/a", 200, None, b"").is_some());
        assert!(s.check("GET", "/v1/nowhere", 200, JSON, b"{}").is_some());
        let bad_error = s
            .check("GET", "/v1/overlords/a", 500, JSON, br#"{"error":"x"}"#)
            .unwrap();
        assert_eq!(bad_error.problems.len(), 3, "{bad_error:?}");
    }

    #[test]
    fn the_real_spec_loads_with_the_extra_operations() {
        let s = spec().expect("the spec");
        assert!(s.notes.is_empty(), "{:?}", s.notes);
        assert_eq!(
            s.operation_id("GET", "/v1/spectroclusters/abc/status"),
            Some("v1SpectroClustersUidStatus")
        );
        assert_eq!(
            s.operation_id("GET", "/v1/overlords/pairing/code"),
            Some("v1OverlordsPairingCode")
        );
        assert_eq!(
            s.operation_id("PATCH", "/v1/spectroclusters/abc/profiles"),
            Some("v1SpectroClustersPatchProfiles")
        );
        assert!(s.error.is_some());
    }

    #[test]
    fn known_deviations_widen_only_what_they_name() {
        let s = spec().expect("the spec");
        let check = |state: &str| {
            let mut p = Vec::new();
            let v = json!({"items": [{"status": {"instanceState": state}}]});
            validate(
                &s.definitions,
                &json!({"$ref": "#/definitions/v1VsphereMachines"}),
                &v,
                "$",
                &mut p,
            );
            p
        };
        // The spec's own states pass, an invented one does not.
        assert!(check("Unknown").is_empty());
        assert_eq!(check("PoweredOff").len(), 1);
        let mut p = Vec::new();
        let account = json!({"spec": {"vcenterServer": "vc", "username": "u"}});
        validate(
            &s.definitions,
            &json!({"$ref": "#/definitions/v1VsphereAccount"}),
            &account,
            "$",
            &mut p,
        );
        assert!(p.is_empty(), "{p:?}");
        validate(
            &s.definitions,
            &json!({"$ref": "#/definitions/v1VsphereAccount"}),
            &json!({"spec": {}}),
            "$",
            &mut p,
        );
        assert_eq!(p.len(), 2, "{p:?}");
    }

    /// The layer and the admin endpoints end to end, on a router whose
    /// users/info handler invents a field.
    #[tokio::test]
    async fn the_layer_records_violations_and_the_admin_api_shows_and_clears_them() {
        use axum::routing::get;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let lab = Lab::new(crate::state::Store::seeded());
        lab.contract.enable();
        let v1 = axum::Router::new()
            .route(
                "/v1/users/info",
                get(|| async { Json(json!({"orgName": "o", "invented": 1})) }),
            )
            .layer(axum::middleware::from_fn_with_state(lab.clone(), check));
        let app = v1
            .route(
                "/lab/contract-violations",
                get(admin_violations).delete(admin_clear_violations),
            )
            .with_state(lab.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let info: Value = http
            .get(format!("{base}/v1/users/info"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            info,
            json!({"orgName": "o", "invented": 1}),
            "passed on unchanged"
        );
        let found: Value = http
            .get(format!("{base}/lab/contract-violations"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            found,
            json!([{"operation": "v1UsersInfoGet", "method": "GET", "path": "/v1/users/info",
                    "status": 200,
                    "problems": ["$.invented: not a property of this object in the spec"]}])
        );
        let r = http
            .delete(format!("{base}/lab/contract-violations"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        assert!(lab.contract.violations().is_empty());
    }
}
