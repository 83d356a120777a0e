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
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
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

/// Bodies larger than this, either way, are not Palette JSON; the limit
/// only keeps a runaway body from being held in memory.
const BODY_LIMIT: usize = 16 << 20;

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

    fn record(&self, v: Violation) {
        tracing::warn!(operation = %v.operation, method = %v.method, path = %v.path,
            status = v.status, problems = ?v.problems, "contract violation");
        self.violations.lock().expect("violations lock").push(v);
    }

    fn note_used(&self, operation: &str, names: &BTreeSet<&'static str>) {
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
            "contract deviations used (see DEVIATIONS in lab/src/contract.rs):\n  {}",
            lines.join("\n  ")
        ))
    }
}

/// Switches the check on for a lab and fails the test when dropped with
/// violations recorded, so no test has to remember a final assertion; it
/// also prints the deviations the run relied on.
pub struct Guard(Arc<Checker>);

pub fn guard(lab: &Lab) -> Guard {
    lab.contract.enable();
    Guard(lab.contract.clone())
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(report) = self.0.deviations_report() {
            eprintln!("{report}");
        }
        // A second panic while unwinding would abort and hide the first.
        if !std::thread::panicking() {
            self.0.assert_clean();
        }
    }
}

// ---------------------------------------------------------------- the layer

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The middleware: reads the request body to check it and hands the same
/// bytes on, then passes the response on unchanged, after checking it.
pub async fn check(State(lab): State<Lab>, req: Request, next: Next) -> Response {
    if !lab.contract.enabled() {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let (parts, body) = req.into_parts();
    let request_type = content_type(&parts.headers);
    let request_body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            let problem = format!("request $: body not read within {BODY_LIMIT} bytes: {e}");
            let answer = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "InvalidRequest", &problem);
            lab.contract.record(Violation {
                operation: spec()
                    .ok()
                    .and_then(|s| s.operation_id(&method, &path))
                    .unwrap_or("(none)")
                    .to_string(),
                method,
                path,
                status: answer.status.as_u16(),
                problems: vec![problem],
            });
            return answer.into_response();
        }
    };
    let req = Request::from_parts(parts, Body::from(request_body.clone()));
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
    let response_type = content_type(&parts.headers);
    let exchange = Exchange {
        method: &method,
        path: &path,
        query: query.as_deref(),
        request_type: request_type.as_deref(),
        request_body: &request_body,
        status: parts.status.as_u16(),
        response_type: response_type.as_deref(),
        response_body: &bytes,
    };
    match spec() {
        Ok(spec) => {
            let verdict = spec.examine(&exchange, true);
            if let Some(op) = &verdict.operation {
                lab.contract.note_used(op, &verdict.deviations);
            }
            if let Some(v) = verdict.violation {
                lab.contract.record(v);
            }
        }
        Err(e) => lab.contract.record(Violation {
            operation: "(spec unavailable)".into(),
            method: method.clone(),
            path: path.clone(),
            status: parts.status.as_u16(),
            problems: vec![e.clone()],
        }),
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// For the router's fallback: a `/v1` request no route serves never
/// reaches [`check`], yet calling a path the spec lacks is the client's
/// mistake (and one the spec has but the lab lacks, the lab's).
pub fn unrouted(lab: &Lab, method: &str, path: &str) {
    if !lab.contract.enabled() || !path.starts_with("/v1/") {
        return;
    }
    let (operation, problem) = match spec().map(|s| s.operation_id(method, path)) {
        Ok(Some(id)) => (
            id.to_string(),
            "the lab has no route for this operation of the spec".to_string(),
        ),
        Ok(None) => (
            "(none)".to_string(),
            "request: no operation in the spec serves this path".to_string(),
        ),
        Err(e) => ("(spec unavailable)".to_string(), e.clone()),
    };
    lab.contract.record(Violation {
        operation,
        method: method.to_string(),
        path: path.to_string(),
        status: StatusCode::NOT_FOUND.as_u16(),
        problems: vec![problem],
    });
}

pub async fn admin_violations(State(lab): State<Lab>) -> Response {
    Json(lab.contract.violations()).into_response()
}

pub async fn admin_clear_violations(State(lab): State<Lab>) -> StatusCode {
    lab.contract.clear();
    StatusCode::NO_CONTENT
}

/// `GET /lab/contract-deviations`: the deviations the lab's answers relied
/// on, with their reasons, how often and for which operations.
pub async fn admin_deviations(State(lab): State<Lab>) -> Response {
    Json(lab.contract.deviations_used()).into_response()
}

pub async fn admin_clear_deviations(State(lab): State<Lab>) -> StatusCode {
    lab.contract.clear_deviations();
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

// ---------------------------------------------------------------- deviations

/// Where the lab knowingly differs from the spec, each for a reason the
/// spec cannot express: the one list of them, kept short, and each use
/// reported ([`Checker::deviations_used`]).
pub struct Deviation {
    /// Short and stable: what reports and tests call it.
    pub name: &'static str,
    pub reason: &'static str,
    what: Departure,
}

enum Departure {
    /// A property the spec requires that responses leave out.
    WriteOnly {
        definition: &'static str,
        property: &'static str,
    },
    /// An error status the spec does not declare for these operations.
    Status { status: u16, on: Operations },
    /// Path parameter values beyond the enum the spec gives an operation.
    PathValues {
        operation: &'static str,
        parameter: &'static str,
        values: &'static [&'static str],
    },
}

/// Which operations a status deviation covers.
enum Operations {
    All,
    /// Those with a parameter in their path: they name an object.
    NamingAnObject,
    /// Those taking a body or query parameters, or changing something.
    TakingInputOrChanging,
    /// Those that change something: every method but GET.
    Changing,
}

pub const DEVIATIONS: &[Deviation] = &[
    Deviation {
        name: "vsphere-password-write-only",
        reason: "The spec shares v1VsphereCloudAccount between request and response and \
                 requires password; Palette takes the vCenter password in and never echoes it \
                 back (the provider keeps it from configuration). Requests still need it.",
        what: Departure::WriteOnly {
            definition: "v1VsphereCloudAccount",
            property: "password",
        },
    },
    // The spec declares success statuses only: no operation in it has a 4xx
    // or 5xx, nor `default`. Palette answers errors with v1Error bodies and
    // these statuses, which clients (this provider among them) act on.
    Deviation {
        name: "401-unauthenticated",
        reason: "Every operation is secured by the ApiKey header (securityDefinitions), yet \
                 none declares 401: Palette answers a missing, unknown or revoked key with 401.",
        what: Departure::Status {
            status: 401,
            on: Operations::All,
        },
    },
    Deviation {
        name: "403-project-access",
        reason: "A ProjectUid header naming a project the key cannot reach: Palette answers \
                 403; the spec declares neither the header nor the status.",
        what: Departure::Status {
            status: 403,
            on: Operations::All,
        },
    },
    Deviation {
        name: "404-no-such-object",
        reason: "The object a path names does not exist, or was deleted (also a datacenter or \
                 compute cluster a gateway's vCenter lacks): Palette answers 404 \
                 ResourceNotFound, which is how clients learn an object is gone.",
        what: Departure::Status {
            status: 404,
            on: Operations::NamingAnObject,
        },
    },
    Deviation {
        name: "400-invalid-input",
        reason: "Input Palette's validation refuses (a required name missing, an overlapping \
                 range, an unsupported cloudType, vCenter credentials that fail), or a change \
                 the object does not allow (deleting a cluster's control-plane pool): Palette \
                 answers 400 with a v1Error saying why.",
        what: Departure::Status {
            status: 400,
            on: Operations::TakingInputOrChanging,
        },
    },
    Deviation {
        name: "409-conflict",
        reason: "A change that clashes with what exists: a name already taken, or deleting \
                 an object still in use (a gateway with clusters, an account or IP pool a \
                 cluster uses): Palette answers 409.",
        what: Departure::Status {
            status: 409,
            on: Operations::Changing,
        },
    },
    Deviation {
        name: "500-server-failure",
        reason: "Work on Palette's side that failed (for the lab: its vCenter work, such as \
                 removing a gateway's VMs): Palette answers 500 with a v1Error.",
        what: Departure::Status {
            status: 500,
            on: Operations::All,
        },
    },
    // Owed, not Palette's: requests this project's own clients make that
    // the spec does not allow, kept visible here (and in every report)
    // until the clients stop making them.
    Deviation {
        name: "owed-events-of-overlords",
        reason: "NOT how Palette is specified: objectKind is spectrocluster or edgehost. The \
                 provider reads a failed gateway's events as overlord/{gatewayUid} and the lab \
                 files them there. Owed: read them as spectrocluster/{spec.spectroClusterUid} \
                 (a gateway is a cluster of its own), with the lab serving them there.",
        what: Departure::PathValues {
            operation: "v1EventsComponentsObjTypeUidList",
            parameter: "objectKind",
            values: &["overlord"],
        },
    },
    Deviation {
        name: "owed-events-of-pairing-codes",
        reason: "NOT how Palette is specified, nor could be: an installer that never registered \
                 is no object of Palette's. The lab files why an installer cannot register as \
                 events of kind pairingcode and the provider quotes them when registration \
                 times out. Owed: the provider's registration help alone, and the lab's \
                 diagnosis in its log or admin API.",
        what: Departure::PathValues {
            operation: "v1EventsComponentsObjTypeUidList",
            parameter: "objectKind",
            values: &["pairingcode"],
        },
    },
];

impl Deviation {
    fn allows_status(&self, op: &Operation, given: u16) -> bool {
        let Departure::Status { status, on } = &self.what else {
            return false;
        };
        *status == given
            && match on {
                Operations::All => true,
                Operations::NamingAnObject => op.names_an_object(),
                Operations::TakingInputOrChanging => op.takes_input() || op.method != "GET",
                Operations::Changing => op.method != "GET",
            }
    }
}

// ---------------------------------------------------------------- validator

/// Which way a value travels: deviations for answers do not excuse
/// requests.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Request,
    Response,
}

/// One walk of values against schemas, gathering "json.path: what" for
/// each problem and the deviations it needed.
struct Walk<'a> {
    defs: &'a Map<String, Value>,
    problems: Vec<String>,
    used: BTreeSet<&'static str>,
}

/// Checks a response value `v` against a Swagger 2.0 schema, as much of
/// it as the Palette spec uses, pushing "json.path: what" for each problem.
pub fn validate(
    defs: &Map<String, Value>,
    schema: &Value,
    v: &Value,
    at: &str,
    problems: &mut Vec<String>,
) {
    let mut walk = Walk::new(defs);
    walk.value(schema, v, at, Side::Response);
    problems.extend(walk.problems);
}

impl<'a> Walk<'a> {
    fn new(defs: &'a Map<String, Value>) -> Walk<'a> {
        Walk {
            defs,
            problems: Vec::new(),
            used: BTreeSet::new(),
        }
    }

    fn value(&mut self, schema: &Value, v: &Value, at: &str, side: Side) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/definitions/").unwrap_or_default();
            let defs = self.defs;
            match defs.get(name) {
                Some(def) => match self.relaxed(name, def, v, side) {
                    Some(relaxed) => self.value(&relaxed, v, at, side),
                    None => self.value(def, v, at, side),
                },
                None => self
                    .problems
                    .push(format!("{at}: the spec's {r} cannot be resolved")),
            }
            return;
        }
        if v.is_null() {
            // go-swagger writes nil for these rather than leaving them out.
            let nullable = schema["x-nullable"] == true || schema["x-omitempty"] == false;
            if !nullable {
                self.problems
                    .push(format!("{at}: null where the spec does not allow it"));
            }
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(v) {
                self.problems.push(format!(
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
            Some("object") => self.object(schema, v, at, side),
            Some("array") => {
                let Some(items) = v.as_array() else {
                    return self
                        .problems
                        .push(format!("{at}: {} where the spec has an array", kind(v)));
                };
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item_schema, item, &format!("{at}[{i}]"), side);
                    }
                }
                if schema["uniqueItems"] == true {
                    for (i, item) in items.iter().enumerate() {
                        if items[..i].contains(item) {
                            self.problems
                                .push(format!("{at}[{i}]: a repeated item where items are unique"));
                        }
                    }
                }
            }
            Some("string") => match v.as_str() {
                None => self
                    .problems
                    .push(format!("{at}: {} where the spec has a string", kind(v))),
                Some(s) => {
                    if schema["format"] == "date-time" && !is_rfc3339(s) {
                        self.problems
                            .push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
                    }
                }
            },
            Some("integer") => {
                let Some(n) = v.as_number() else {
                    return self
                        .problems
                        .push(format!("{at}: {} where the spec has an integer", kind(v)));
                };
                let text = n.to_string();
                let Ok(i) = text.parse::<i128>() else {
                    return self
                        .problems
                        .push(format!("{at}: {text} is not an integer"));
                };
                let range = match schema["format"].as_str() {
                    Some("int8") => Some((i8::MIN as i128, i8::MAX as i128)),
                    Some("int32") => Some((i32::MIN as i128, i32::MAX as i128)),
                    Some("int64") => Some((i64::MIN as i128, i64::MAX as i128)),
                    _ => None,
                };
                if let Some((lo, hi)) = range {
                    if i < lo || i > hi {
                        self.problems
                            .push(format!("{at}: {i} is out of {} range", schema["format"]));
                    }
                }
                self.bounds(schema, v, at);
            }
            Some("number") => {
                if v.is_number() {
                    self.bounds(schema, v, at);
                } else {
                    self.problems
                        .push(format!("{at}: {} where the spec has a number", kind(v)));
                }
            }
            Some("boolean") if !v.is_boolean() => self
                .problems
                .push(format!("{at}: {} where the spec has a boolean", kind(v))),
            Some("boolean") => {}
            Some(other) => self
                .problems
                .push(format!("{at}: the spec's type {other:?} is not understood")),
            // No type and no structure: any value.
            None => {}
        }
    }

    /// `def` as the deviations for it have an answer need it, noting the
    /// ones that `v` needs; `None` when none applies.
    fn relaxed(&mut self, name: &str, def: &Value, v: &Value, side: Side) -> Option<Value> {
        if side != Side::Response {
            return None;
        }
        let mut relaxed: Option<Value> = None;
        for d in DEVIATIONS {
            let Departure::WriteOnly {
                definition,
                property,
            } = d.what
            else {
                continue;
            };
            let absent = v.as_object().is_some_and(|o| !o.contains_key(property));
            let required = def["required"]
                .as_array()
                .is_some_and(|r| r.iter().any(|f| f == property));
            if definition == name && absent && required {
                self.used.insert(d.name);
                let def = relaxed.get_or_insert_with(|| def.clone());
                if let Some(req) = def.get_mut("required").and_then(Value::as_array_mut) {
                    req.retain(|f| f != property);
                }
            }
        }
        relaxed
    }

    fn object(&mut self, schema: &Value, v: &Value, at: &str, side: Side) {
        let Some(obj) = v.as_object() else {
            return self
                .problems
                .push(format!("{at}: {} where the spec has an object", kind(v)));
        };
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !obj.contains_key(name) {
                    self.problems
                        .push(format!("{at}.{name}: required, and missing"));
                }
            }
        }
        let extra = schema.get("additionalProperties");
        for (key, value) in obj {
            let here = format!("{at}.{key}");
            match (props.and_then(|p| p.get(key)), extra) {
                (Some(s), _) => self.value(s, value, &here, side),
                (None, Some(Value::Bool(false))) => self
                    .problems
                    .push(format!("{here}: not a property of this object in the spec")),
                (None, Some(Value::Bool(true))) => {}
                (None, Some(s)) => self.value(s, value, &here, side),
                // Without properties an object is free-form.
                (None, None) if props.is_none() => {}
                (None, None) => self
                    .problems
                    .push(format!("{here}: not a property of this object in the spec")),
            }
        }
    }

    /// `minimum` and `maximum`, with Swagger 2.0's boolean exclusive flags.
    fn bounds(&mut self, schema: &Value, v: &Value, at: &str) {
        let Some(x) = v.as_f64() else {
            return;
        };
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if schema["exclusiveMinimum"] == true && x <= min {
                self.problems
                    .push(format!("{at}: {x} is not above the minimum {min}"));
            } else if x < min {
                self.problems
                    .push(format!("{at}: {x} is below the minimum {min}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if schema["exclusiveMaximum"] == true && x >= max {
                self.problems
                    .push(format!("{at}: {x} is not below the maximum {max}"));
            } else if x > max {
                self.problems
                    .push(format!("{at}: {x} is above the maximum {max}"));
            }
        }
    }

    /// A path or query parameter given as `raw` (more than one value only
    /// for a `multi` array), typed as the spec declares it, then checked
    /// like any value.
    fn param(&mut self, param: &Value, raw: &[&str], at: &str) {
        let is_array = param["type"] == "array";
        let format = param["collectionFormat"].as_str().unwrap_or("csv");
        if raw.len() > 1 && !(is_array && format == "multi") {
            return self.problems.push(format!(
                "{at}: given {} times where the spec takes one value",
                raw.len()
            ));
        }
        let typed = if is_array {
            let sep = match format {
                "ssv" => Some(' '),
                "tsv" => Some('\t'),
                "pipes" => Some('|'),
                "multi" => None,
                _ => Some(','),
            };
            let parts: Vec<&str> = match sep {
                Some(sep) => raw.iter().flat_map(|r| r.split(sep)).collect(),
                None => raw.to_vec(),
            };
            parts
                .iter()
                .map(|p| typed_param(&param["items"], p))
                .collect::<Result<Vec<Value>, String>>()
                .map(Value::from)
        } else {
            typed_param(param, raw.first().copied().unwrap_or_default())
        };
        match typed {
            Ok(v) => self.value(param, &v, at, Side::Request),
            Err(e) => self.problems.push(format!("{at}: {e}")),
        }
    }
}

/// A parameter's text as the JSON value of its declared type.
fn typed_param(schema: &Value, raw: &str) -> Result<Value, String> {
    match schema["type"].as_str() {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("{raw:?} where the spec has an integer")),
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{raw:?} where the spec has a number")),
        Some("boolean") => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("{raw:?} where the spec has a boolean")),
        },
        _ => Ok(Value::String(raw.to_string())),
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
