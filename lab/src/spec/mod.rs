//! Contract checks: every `/v1` exchange with the lab, held against the
//! Palette API spec (palette-api-subset.json, plus the operations of
//! palette-api/operations-extra.txt taken from the full spec). Requests are
//! checked because the lab reads them into the same serde models clients
//! write, which drop what they do not know: a misnamed field, an invented
//! query parameter or a wrong type would otherwise pass unseen. Responses
//! are checked so the lab cannot drift into answers real Palette would
//! never give: invented fields, wrong types, undeclared statuses.
//!
//! Where the lab knowingly differs from the spec is listed in one place,
//! [`DEVIATIONS`], each with its reason; the checker counts the ones a run
//! relied on, for `GET /lab/contract-deviations` and the guard's report.
//!
//! Off unless switched on ([`Checker::enable`], or `PALETTE_LAB_CONTRACT=1`
//! at start); then each violation is kept for `GET /lab/contract-violations`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use serde_json::{Map, Value};

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

/// One exchange that broke the contract: problems with the request start
/// with `request`, the others are the response's.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Violation {
    pub operation: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub problems: Vec<String>,
}

/// A deviation a run relied on, and where.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeviationUse {
    pub name: &'static str,
    pub reason: &'static str,
    pub uses: u64,
    pub operations: Vec<String>,
}

#[derive(Debug, Default)]
struct Uses {
    count: u64,
    operations: BTreeSet<String>,
}

/// Per lab: whether to check, what was found, and which deviations the
/// answers needed.
#[derive(Debug, Default)]
pub struct Checker {
    enabled: AtomicBool,
    violations: Mutex<Vec<Violation>>,
    used: Mutex<BTreeMap<&'static str, Uses>>,
}

impl Checker {
    /// Switched on by `PALETTE_LAB_CONTRACT=1`, so a lab started by hand or
    /// by another crate's tests can be checked without code changes.
    pub fn from_env() -> Checker {
        let on = std::env::var("PALETTE_LAB_CONTRACT").is_ok_and(|v| v == "1");
        Checker {
            enabled: AtomicBool::new(on),
            ..Checker::default()
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

    /// Removes and returns the violations of `operation` with a problem
    /// containing `problem`: for a test that breaks the contract on
    /// purpose, to show the lab saw it without failing at the end.
    pub fn take(&self, operation: &str, problem: &str) -> Vec<Violation> {
        let mut all = self.violations.lock().expect("violations lock");
        let (taken, kept) = all.drain(..).partition(|v: &Violation| {
            v.operation == operation && v.problems.iter().any(|p| p.contains(problem))
        });
        *all = kept;
        taken
    }

    /// The deviations used since the start (or the last clearing), in the
    /// order [`DEVIATIONS`] lists them.
    pub fn deviations_used(&self) -> Vec<DeviationUse> {
        let used = self.used.lock().expect("deviations lock");
        DEVIATIONS
            .iter()
            .filter_map(|d| {
                used.get(d.name).map(|u| DeviationUse {
                    name: d.name,
                    reason: d.reason,
                    uses: u.count,
                    operations: u.operations.iter().cloned().collect(),
                })
            })
            .collect()
    }

    pub fn clear_deviations(&self) {
        self.used.lock().expect("deviations lock").clear();
    }

    pub(crate) fn record(&self, v: Violation) {
        tracing::warn!(operation = %v.operation, method = %v.method, path = %v.path,
            status = v.status, problems = ?v.problems, "contract violation");
        self.violations.lock().expect("violations lock").push(v);
    }

    pub(crate) fn note_used(&self, operation: &str, names: &BTreeSet<&'static str>) {
        let mut used = self.used.lock().expect("deviations lock");
        for name in names {
            let u = used.entry(name).or_default();
            u.count += 1;
            u.operations.insert(operation.to_string());
        }
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
                "requests to the lab or its responses broke the Palette API contract:\n  {}",
                text.join("\n  ")
            );
        }
    }

    /// The deviations used, one line each, for a test's output.
    pub fn deviations_report(&self) -> Option<String> {
        let used = self.deviations_used();
        if used.is_empty() {
            return None;
        }
        let lines: Vec<String> = used
            .iter()
            .map(|u| format!("{} x{} ({})", u.name, u.uses, u.operations.join(", ")))
            .collect();
        Some(format!(
            "contract deviations used (see DEVIATIONS in lab/src/spec/deviations.rs):\n  {}",
            lines.join("\n  ")
        ))
    }
}

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
    Param(String),
}

#[derive(Debug)]
struct Operation {
    id: String,
    method: String,
    template: Vec<Segment>,
    /// Status -> the body schema it declares, if any.
    responses: HashMap<String, Option<Value>>,
    /// Path, query and header parameters: the operation's own, and its
    /// path's where the operation does not redeclare them.
    params: Vec<Value>,
    /// The body parameter, if the operation takes one.
    body: Option<Value>,
}

impl Operation {
    fn param(&self, place: &str, name: &str) -> Option<&Value> {
        self.params
            .iter()
            .find(|p| p["in"] == place && p["name"] == name)
    }

    fn names_an_object(&self) -> bool {
        self.template.iter().any(|s| matches!(s, Segment::Param(_)))
    }

    fn takes_input(&self) -> bool {
        self.body.is_some() || self.params.iter().any(|p| p["in"] == "query")
    }
}

/// One request and the lab's answer to it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exchange<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub request_type: Option<&'a str>,
    pub request_body: &'a [u8],
    pub status: u16,
    pub response_type: Option<&'a str>,
    pub response_body: &'a [u8],
}

/// What [`Spec::examine`] found.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The operation the exchange matched, if any.
    pub operation: Option<String>,
    pub violation: Option<Violation>,
    /// Names of the [`DEVIATIONS`] the exchange needed to pass.
    pub deviations: BTreeSet<&'static str>,
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

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| {
        let c = c.split(';').next().unwrap_or_default().trim();
        c.eq_ignore_ascii_case("application/json") || c.ends_with("+json")
    })
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
                    // Parameters too: a body's schema is a root like a
                    // response's.
                    roots.push(op["responses"].clone());
                    roots.push(op["parameters"].clone());
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
            let shared = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
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
                let own = op["parameters"].as_array().cloned().unwrap_or_default();
                // Swagger: an operation's parameter replaces its path's of
                // the same name and place.
                let mut params: Vec<Value> = shared
                    .iter()
                    .filter(|s| {
                        !own.iter()
                            .any(|o| o["name"] == s["name"] && o["in"] == s["in"])
                    })
                    .cloned()
                    .collect();
                params.extend(own);
                let body = params
                    .iter()
                    .position(|p| p["in"] == "body")
                    .map(|i| params.remove(i));
                self.operations.push(Operation {
                    id: op["operationId"]
                        .as_str()
                        .unwrap_or("(unnamed)")
                        .to_string(),
                    method: method.to_ascii_uppercase(),
                    template: parse_template(template),
                    responses,
                    params,
                    body,
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
                        Segment::Param(_) if s.is_empty() => return None,
                        Segment::Param(_) => {}
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

    /// What is wrong with a response, if anything; the request is not
    /// looked at.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Option<Violation> {
        let exchange = Exchange {
            method,
            path,
            status,
            response_type: content_type,
            response_body: body,
            ..Exchange::default()
        };
        self.examine(&exchange, false).violation
    }

    /// What is wrong with an exchange, if anything, and which deviations
    /// it needed; the request is checked when `requests` is set.
    pub fn examine(&self, x: &Exchange, requests: bool) -> Verdict {
        let candidates = self.matching(x.path);
        let op = candidates
            .iter()
            .find(|o| o.method.eq_ignore_ascii_case(x.method));
        let mut walk = Walk::new(&self.definitions);
        match op {
            // A path the spec lacks is the request's fault, whatever the
            // answer; without checking requests only a success says so.
            None if requests || x.status < 400 => {
                if candidates.is_empty() {
                    walk.problems
                        .push("no operation in the spec serves this path".into())
                } else {
                    walk.problems.push(format!(
                        "the spec has no {} here (only {})",
                        x.method,
                        candidates
                            .iter()
                            .map(|o| format!("{} {}", o.method, o.id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            }
            None => {}
            Some(op) => {
                if requests {
                    self.request_problems(op, x, &mut walk);
                }
                self.status_problems(op, x.status, &mut walk);
            }
        }
        self.response_problems(op.copied(), x, &mut walk);
        let operation = op.map(|o| o.id.clone());
        let violation = (!walk.problems.is_empty()).then(|| {
            let mut problems = walk.problems;
            problems.extend(self.notes.iter().map(|n| format!("note: {n}")));
            Violation {
                operation: operation.clone().unwrap_or_else(|| "(none)".into()),
                method: x.method.to_string(),
                path: x.path.to_string(),
                status: x.status,
                problems,
            }
        });
        Verdict {
            operation,
            violation,
            deviations: walk.used,
        }
    }

    /// Whether the spec, or a deviation, has `op` answer `status`.
    fn status_problems(&self, op: &Operation, status: u16, walk: &mut Walk) {
        if op.responses.contains_key(&status.to_string()) || op.responses.contains_key("default") {
            return;
        }
        match DEVIATIONS.iter().find(|d| d.allows_status(op, status)) {
            Some(d) => {
                walk.used.insert(d.name);
            }
            None => {
                let mut known: Vec<&String> = op.responses.keys().collect();
                known.sort();
                walk.problems.push(format!(
                    "status {status} is not declared (the spec has {known:?}), \
                     nor listed in contract.rs DEVIATIONS for this operation"
                ));
            }
        }
    }

    fn response_problems(&self, op: Option<&Operation>, x: &Exchange, walk: &mut Walk) {
        let body = x.response_body;
        let is_json = is_json(x.response_type);
        let parsed = if body.is_empty() || !is_json {
            None
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(v) => Some(v),
                Err(e) => {
                    walk.problems.push(format!("$: body is not JSON: {e}"));
                    None
                }
            }
        };
        if x.status >= 400 {
            if !body.is_empty() && !is_json {
                walk.problems.push(format!(
                    "$: error body is {} rather than Palette's JSON error",
                    x.response_type.unwrap_or("untyped")
                ));
            }
            if let Some(v) = &parsed {
                self.check_error(v, walk);
            }
            return;
        }
        let Some(op) = op else {
            return;
        };
        let declared = op
            .responses
            .get(&x.status.to_string())
            .or_else(|| op.responses.get("default"));
        match declared {
            // Said by status_problems.
            None => {}
            Some(None) if !body.is_empty() => walk.problems.push(format!(
                "$: a body where the spec declares none for {}",
                x.status
            )),
            Some(None) => {}
            Some(Some(schema)) if is_binary(schema) => {}
            Some(Some(_)) if body.is_empty() => walk.problems.push(format!(
                "$: no body where the spec declares one for {}",
                x.status
            )),
            Some(Some(_)) if !is_json => walk.problems.push(format!(
                "$: body is {} where the spec declares JSON",
                x.response_type.unwrap_or("untyped")
            )),
            Some(Some(schema)) => {
                if let Some(v) = &parsed {
                    walk.value(schema, v, "$", Side::Response);
                }
            }
        }
    }

    /// Path parameters, query parameters and body, against `op`.
    fn request_problems(&self, op: &Operation, x: &Exchange, walk: &mut Walk) {
        let segs = x.path.trim_end_matches('/').split('/');
        for (t, raw) in op.template.iter().zip(segs) {
            let Segment::Param(name) = t else {
                continue;
            };
            // A parameter the spec leaves undescribed constrains nothing.
            if let Some(p) = op.param("path", name) {
                let value = percent_decoded(raw);
                let widened = path_deviation(op, name, &value).map(|d| {
                    walk.used.insert(d.name);
                    let mut p = p.clone();
                    if let Some(e) = p.get_mut("enum").and_then(Value::as_array_mut) {
                        e.push(Value::from(value.as_str()));
                    }
                    p
                });
                walk.param(
                    widened.as_ref().unwrap_or(p),
                    &[value.as_str()],
                    &format!("request path {{{name}}}"),
                );
            }
        }

        let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
        match parse_query(x.query) {
            Ok(pairs) => {
                for (k, v) in pairs {
                    given.entry(k).or_default().push(v);
                }
            }
            Err(e) => walk.problems.push(format!("request query: {e}")),
        }
        for (name, values) in &given {
            let at = format!("request query {name}");
            match op.param("query", name) {
                None => walk.problems.push(format!(
                    "{at}: not a query parameter of this operation in the spec"
                )),
                Some(p) => {
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    walk.param(p, &values, &at);
                }
            }
        }
        for p in op.params.iter().filter(|p| p["in"] == "query") {
            let name = p["name"].as_str().unwrap_or_default();
            if p["required"] == true && !given.contains_key(name) {
                walk.problems
                    .push(format!("request query {name}: required, and missing"));
            }
        }

        let body = x.request_body;
        match &op.body {
            None if body.is_empty() => {}
            None => walk.problems.push(format!(
                "request $: a body ({} bytes) where the operation takes none",
                body.len()
            )),
            Some(p) if body.is_empty() => {
                if p["required"] == true {
                    walk.problems
                        .push("request $: no body where the spec requires one".into());
                }
            }
            Some(_) if !is_json(x.request_type) => walk.problems.push(format!(
                "request $: body is {} where the spec takes JSON",
                x.request_type.unwrap_or("untyped")
            )),
            Some(p) => match serde_json::from_slice::<Value>(body) {
                Err(e) => walk
                    .problems
                    .push(format!("request $: body is not JSON: {e}")),
                Ok(v) => {
                    if let Some(schema) = p.get("schema") {
                        walk.value(schema, &v, "request $", Side::Request);
                    }
                }
            },
        }
    }

    /// Palette's error shape: v1Error where the spec has it, and the `code`
    /// and `message` clients show to users in any case.
    fn check_error(&self, v: &Value, walk: &mut Walk) {
        if let Some(schema) = &self.error {
            walk.value(schema, v, "$", Side::Response);
        }
        for field in ["code", "message"] {
            if !v.get(field).is_some_and(Value::is_string) {
                walk.problems
                    .push(format!("$.{field}: an error needs a string {field}"));
            }
        }
    }
}

/// The deviation that lets `value` stand for path parameter `name` of
/// `op`, if one does.
fn path_deviation(op: &Operation, name: &str, value: &str) -> Option<&'static Deviation> {
    DEVIATIONS.iter().find(|d| match &d.what {
        Departure::PathValues {
            operation,
            parameter,
            values,
        } => *operation == op.id && *parameter == name && values.contains(&value),
        _ => false,
    })
}

fn parse_template(t: &str) -> Vec<Segment> {
    t.trim_end_matches('/')
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

/// The name/value pairs of a query string, decoded as servers do.
fn parse_query(query: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let Some(q) = query.filter(|q| !q.is_empty()) else {
        return Ok(Vec::new());
    };
    let uri: axum::http::Uri = format!("/?{q}").parse().map_err(|e| format!("{e}"))?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| e.body_text())
}

/// A path segment with its `%XX` escapes undone (no `+` rule: that is
/// the query's).
fn percent_decoded(s: &str) -> String {
    let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(b.get(i + 1)), hex(b.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

mod deviations;
mod validator;

pub use deviations::*;
pub use validator::*;

#[cfg(test)]
mod tests;
