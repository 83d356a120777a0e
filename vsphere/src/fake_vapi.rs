//! A vCenter-shaped vAPI server for unit tests: the `/rest/com/vmware/cis`
//! tagging and session answers of vCenter 7 and 8 as VMware's API reference
//! documents them, where vcsim answers otherwise (a 404 for an unknown
//! category, errors as vAPI error objects, case-insensitive names, request
//! bodies held to each operation's parameters). The vcsim tests cover
//! vcsim's side of each difference; these cover vCenter's.
//!
//! Plain http on loopback, one request per connection; only what the
//! tagging client calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PREFIX: &str = "/rest/com/vmware/cis/";

pub(crate) struct FakeVcenter {
    /// `127.0.0.1:PORT`, as a session names its server.
    pub server: String,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeVcenter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct State {
    /// The `Authorization` header the user's credentials make.
    authorization: String,
    sessions: Vec<String>,
    opened: u32,
    next_id: u32,
    categories: BTreeMap<String, Value>,
    tags: BTreeMap<String, Value>,
    attached: BTreeMap<String, Vec<Value>>,
    /// `METHOD PATH[?~action=A] BODY` of each call, session calls included.
    log: Vec<String>,
}

/// Status and JSON body (none for a void answer).
type Answer = (u16, Option<Value>);

struct Request {
    method: String,
    path: String,
    action: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl FakeVcenter {
    /// Serves a vCenter whose only account is `user` with `password`.
    pub async fn start(user: &str, password: &str) -> FakeVcenter {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The header reqwest makes for these credentials, which is what a
        // login must send.
        let authorization = reqwest::Client::new()
            .post("http://localhost/")
            .basic_auth(user, Some(password))
            .build()
            .expect("request")
            .headers()["authorization"]
            .to_str()
            .expect("ascii")
            .to_string();
        let state = Arc::new(Mutex::new(State {
            authorization,
            ..State::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = listener.local_addr().expect("address").to_string();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, shared.clone()));
            }
        });
        FakeVcenter {
            origin: format!("http://{server}"),
            server,
            state,
            task,
        }
    }

    /// Every call so far, as `METHOD PATH[?~action=A] BODY`.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().expect("state").log.clone()
    }

    /// Ends every vAPI session, as vCenter does with idle ones.
    pub fn expire_sessions(&self) {
        self.state.lock().expect("state").sessions.clear();
    }

    /// How many sessions were opened.
    pub fn logins(&self) -> u32 {
        self.state.lock().expect("state").opened
    }

    /// A category made outside this client (by an administrator).
    pub fn add_category(&self, name: &str, cardinality: &str, types: &[&str]) -> String {
        let mut st = self.state.lock().expect("state");
        let id = st.new_id("InventoryServiceCategory");
        let c = category(&id, name, "", cardinality, types);
        st.categories.insert(id.clone(), c);
        id
    }
}

async fn serve(mut conn: TcpStream, state: Arc<Mutex<State>>) {
    let Some(req) = read_request(&mut conn).await else {
        return;
    };
    let (status, body) = {
        let mut st = state.lock().expect("state");
        st.log.push(format!(
            "{} {}{} {}",
            req.method,
            req.path.strip_prefix(PREFIX).unwrap_or(&req.path),
            req.action
                .as_deref()
                .map(|a| format!("?~action={a}"))
                .unwrap_or_default(),
            String::from_utf8_lossy(&req.body)
        ));
        answer(&mut st, &req)
    };
    let body = body
        .map(|v| serde_json::to_vec(&v).expect("json"))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    let _ = conn.write_all(head.as_bytes()).await;
    let _ = conn.write_all(&body).await;
    let _ = conn.shutdown().await;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Other",
    }
}

async fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let action = query
        .split('&')
        .find_map(|q| q.strip_prefix("~action="))
        .map(str::to_string);
    Some(Request {
        method,
        path: percent_decode(path),
        action,
        headers,
        body,
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

/// A vAPI error as vCenter's `/rest` writes it.
fn error(status: u16, kind: &str, message: &str) -> Answer {
    (
        status,
        Some(json!({
            "type": format!("com.vmware.vapi.std.errors.{kind}"),
            "value": {"messages": [{
                "args": [],
                "default_message": message,
                "id": format!("com.vmware.vapi.std.errors.{kind}"),
            }]},
        })),
    )
}

fn ok(v: Value) -> Answer {
    (200, Some(json!({ "value": v })))
}

const VOID: Answer = (200, None);

fn category(id: &str, name: &str, description: &str, cardinality: &str, types: &[&str]) -> Value {
    json!({
        "associable_types": types,
        "name": name,
        "description": description,
        "id": id,
        "used_by": [],
        "cardinality": cardinality,
    })
}

/// An operation's input as vCenter's `/rest` takes it: its parameters that
/// are not in the path, as the fields of one JSON object, or no body (or
/// `null`) when it has none. A field the operation does not declare, or a
/// body of another shape, is `invalid_argument`.
fn params(r: &Request, declared: &[&str]) -> Result<Map<String, Value>, Answer> {
    if r.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let unexpected = |what: String| error(400, "invalid_argument", &what);
    match serde_json::from_slice::<Value>(&r.body) {
        Ok(Value::Null) => Ok(Map::new()),
        Ok(Value::Object(m)) => {
            let stray = m.keys().find(|k| !declared.contains(&k.as_str())).cloned();
            match stray {
                Some(k) => Err(unexpected(format!("Unexpected field {k}"))),
                None => Ok(m),
            }
        }
        Ok(other) => Err(unexpected(format!("Expected a structure, got {other}"))),
        Err(e) => Err(unexpected(format!("Invalid JSON: {e}"))),
    }
}

fn required<'a>(m: &'a Map<String, Value>, field: &str) -> Result<&'a Value, Answer> {
    m.get(field)
        .ok_or_else(|| error(400, "invalid_argument", &format!("Missing field {field}")))
}

fn text(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl State {
    fn new_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!(
            "urn:vmomi:{kind}:6f1c0b2e-0000-4000-8000-{:012x}:GLOBAL",
            self.next_id
        )
    }
}

fn answer(st: &mut State, r: &Request) -> Answer {
    match run(st, r) {
        Ok(a) | Err(a) => a,
    }
}

fn run(st: &mut State, r: &Request) -> Result<Answer, Answer> {
    let Some(rest) = r.path.strip_prefix(PREFIX) else {
        return Ok((404, None));
    };
    let token = r.header("vmware-api-session-id").unwrap_or_default();
    if rest == "session" {
        return Ok(match r.method.as_str() {
            "POST" if r.header("authorization") == Some(st.authorization.as_str()) => {
                st.opened += 1;
                let t = format!("{:032x}", 0xfeed_0000_u64 + u64::from(st.opened));
                st.sessions.push(t.clone());
                ok(json!(t))
            }
            "DELETE" if st.sessions.iter().any(|s| s == token) => {
                st.sessions.retain(|s| s != token);
                VOID
            }
            _ => unauthenticated(),
        });
    }
    if !st.sessions.iter().any(|s| s == token) {
        return Ok(unauthenticated());
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let method = r.method.as_str();
    let action = r.action.as_deref();
    match (method, segs.as_slice(), action) {
        ("GET", ["tagging", "category"], None) => {
            Ok(ok(json!(st.categories.keys().collect::<Vec<_>>())))
        }
        ("GET", ["tagging", "tag"], None) => Ok(ok(json!(st.tags.keys().collect::<Vec<_>>()))),
        ("POST", ["tagging", "category"], None) => {
            let p = params(r, &["create_spec"])?;
            let spec = required(&p, "create_spec")?;
            let name = text(spec, "name");
            // vCenter compares names without regard to case.
            if st
                .categories
                .values()
                .any(|c| text(c, "name").eq_ignore_ascii_case(&name))
            {
                return Err(error(
                    400,
                    "already_exists",
                    &format!("Category with name {name} already exists."),
                ));
            }
            let types: Vec<String> = spec["associable_types"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            let new = st.new_id("InventoryServiceCategory");
            let c = category(
                &new,
                &name,
                &text(spec, "description"),
                &text(spec, "cardinality"),
                &types,
            );
            st.categories.insert(new.clone(), c);
            Ok(ok(json!(new)))
        }
        ("POST", ["tagging", "tag"], None) => {
            let p = params(r, &["create_spec"])?;
            let spec = required(&p, "create_spec")?;
            let name = text(spec, "name");
            let cat = text(spec, "category_id");
            if !st.categories.contains_key(&cat) {
                return Err(missing("Category", &cat));
            }
            if st.tags.values().any(|t| {
                text(t, "category_id") == cat && text(t, "name").eq_ignore_ascii_case(&name)
            }) {
                return Err(error(
                    400,
                    "already_exists",
                    &format!("Tag with name {name} already exists in category {cat}."),
                ));
            }
            let new = st.new_id("InventoryServiceTag");
            st.tags.insert(
                new.clone(),
                json!({
                    "category_id": cat,
                    "name": name,
                    "description": text(spec, "description"),
                    "id": new,
                    "used_by": [],
                }),
            );
            st.attached.insert(new.clone(), Vec::new());
            Ok(ok(json!(new)))
        }
        ("GET", ["tagging", what @ ("category" | "tag"), x], None) => {
            let x = path_id(x);
            let (kind, found) = if *what == "category" {
                ("Category", st.categories.get(&x))
            } else {
                ("Tag", st.tags.get(&x))
            };
            found
                .map(|v| ok(v.clone()))
                .ok_or_else(|| missing(kind, &x))
        }
        ("DELETE", ["tagging", what @ ("category" | "tag"), x], None) => {
            let x = path_id(x);
            if *what == "category" {
                st.categories
                    .remove(&x)
                    .ok_or_else(|| missing("Category", &x))?;
                let gone: Vec<String> = st
                    .tags
                    .iter()
                    .filter(|(_, t)| text(t, "category_id") == x)
                    .map(|(k, _)| k.clone())
                    .collect();
                for t in gone {
                    st.tags.remove(&t);
                    st.attached.remove(&t);
                }
            } else {
                st.tags.remove(&x).ok_or_else(|| missing("Tag", &x))?;
                st.attached.remove(&x);
            }
            Ok(VOID)
        }
        // The category is in the path: no other parameter.
        ("POST", ["tagging", "tag", x], Some("list-tags-for-category")) => {
            params(r, &[])?;
            let x = path_id(x);
            if !st.categories.contains_key(&x) {
                return Err(missing("Category", &x));
            }
            let ids: Vec<&String> = st
                .tags
                .iter()
                .filter(|(_, t)| text(t, "category_id") == x)
                .map(|(k, _)| k)
                .collect();
            Ok(ok(json!(ids)))
        }
        ("POST", ["tagging", "tag-association", x], Some(a @ ("attach" | "detach"))) => {
            let p = params(r, &["object_id"])?;
            let obj = required(&p, "object_id")?.clone();
            let x = path_id(x);
            let tag = st.tags.get(&x).ok_or_else(|| missing("Tag", &x))?;
            let types = st
                .categories
                .get(&text(tag, "category_id"))
                .and_then(|c| c["associable_types"].as_array().cloned())
                .unwrap_or_default();
            if a == "attach" && !types.is_empty() && !types.contains(&obj["type"]) {
                return Err(error(
                    400,
                    "invalid_argument",
                    &format!("Tag {x} cannot be attached to a {}.", obj["type"]),
                ));
            }
            let list = st.attached.entry(x).or_default();
            list.retain(|o| *o != obj);
            if a == "attach" {
                list.push(obj);
            }
            Ok(VOID)
        }
        // The tag is in the path: no other parameter.
        ("POST", ["tagging", "tag-association", x], Some("list-attached-objects")) => {
            params(r, &[])?;
            let x = path_id(x);
            let objs = st.attached.get(&x).ok_or_else(|| missing("Tag", &x))?;
            Ok(ok(json!(objs)))
        }
        ("POST", ["tagging", "tag-association"], Some("list-attached-tags")) => {
            let p = params(r, &["object_id"])?;
            let obj = required(&p, "object_id")?;
            let ids: Vec<&String> = st
                .attached
                .iter()
                .filter(|(_, objs)| objs.contains(obj))
                .map(|(k, _)| k)
                .collect();
            Ok(ok(json!(ids)))
        }
        _ => Err(error(
            404,
            "not_found",
            &format!("No operation {method} {rest} {action:?}"),
        )),
    }
}

/// The id in an `id:ID` path segment.
fn path_id(segment: &str) -> String {
    segment.strip_prefix("id:").unwrap_or_default().to_string()
}

fn unauthenticated() -> Answer {
    error(
        401,
        "unauthenticated",
        "This method requires authentication.",
    )
}

fn missing(kind: &str, id: &str) -> Answer {
    error(
        404,
        "not_found",
        &format!("{kind} with identifier {id} does not exist."),
    )
}
