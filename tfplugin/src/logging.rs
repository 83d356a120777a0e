//! Logs on stderr in hclog's JSON line format, which Terraform parses and
//! files under the provider at the right level (TF_LOG, TF_LOG_PROVIDER).
//!
//! Two rules keep secrets out of what this writes:
//! - Only this project's crates ([`OWN_TARGETS`]) log below warn. Every
//!   dependency stays at warn and above unless [`DEPENDENCIES_ENV`] opts in:
//!   HTTP, TLS and SOAP crates print cookies and whole request bodies at
//!   debug and trace, and we cannot review what each release prints.
//! - Every line is redacted before it is written, opt-in or not: by pattern
//!   (names, headers and XML elements known to carry secrets) and by value
//!   (the secrets the provider registered through [`register_secret`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Opts dependencies' logs in: `1`/`true` gives them the provider's level,
/// a level name (`debug`) caps them there; unset, empty, `0`, `false`,
/// `no` or `off` keeps them at warn.
pub const DEPENDENCIES_ENV: &str = "PALETTE_LOG_DEPENDENCIES";

/// The tracing targets (crate names) of this project: the only ones that
/// log below warn by default. An allowlist, so that a new dependency (or a
/// new target in an old one) starts quiet instead of leaking until someone
/// notices.
pub const OWN_TARGETS: &[&str] = &[
    "tfplugin",
    "terraform_provider_palette",
    "terraform_provider_tptest",
    "palette_api",
    "vsphere",
    "schemas",
];

/// What a secret becomes in a log line; the same text as `Secret`'s Debug.
pub const REDACTED: &str = "<redacted>";

/// Shorter values are not registered: redacting every occurrence of two
/// or three characters would wreck the logs while protecting nothing a
/// guess would not find.
const MIN_SECRET_CHARS: usize = 4;

/// Registered secrets in every encoding they may be logged in, longest
/// first.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Makes every later log line of this process redact `secret`, as written
/// and in its JSON, Rust-debug, XML and URL encodings. Call it wherever the
/// provider learns a secret (configuration, a resource's arguments, a
/// pairing code, a kubeconfig), before anything that might log it.
pub fn register_secret(secret: &str) {
    if secret.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let mut known = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    let mut added = false;
    for form in encodings(secret) {
        if !known.contains(&form) {
            known.push(form);
            added = true;
        }
    }
    if added {
        known.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Registers a kubeconfig's credentials (tokens, client keys, passwords)
/// and the whole text.
pub fn register_kubeconfig(kubeconfig: &str) {
    register_secret(kubeconfig);
    for line in kubeconfig.lines() {
        let t = line.trim_start().trim_start_matches("- ");
        let Some((key, value)) = t.split_once(':') else {
            continue;
        };
        if matches!(
            key.trim(),
            "token" | "client-key-data" | "password" | "id-token" | "refresh-token"
        ) {
            register_secret(value.trim().trim_matches(|c| c == '"' || c == '\''));
        }
    }
}

/// `text` with every secret replaced by [`REDACTED`]: registered values
/// and values that names, headers and XML elements mark as secret.
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    redact_with(text, &known)
}

/// The forms a secret takes in log lines: as is, escaped in JSON, in a Rust
/// `{:?}` (also of JSON text), in XML, and percent-encoded.
fn encodings(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json[1..json.len() - 1].to_string();
    let debug = |s: &str| {
        let d = format!("{s:?}");
        d[1..d.len() - 1].to_string()
    };
    let xml = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;");
    let mut percent = String::new();
    for b in secret.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            percent.push(b as char);
        } else {
            let _ = write!(percent, "%{b:02X}");
        }
    }
    let form = percent.replace("%20", "+");
    let mut out = vec![
        secret.to_string(),
        debug(secret),
        debug(&json),
        json,
        xml,
        percent,
        form,
    ];
    out.sort();
    out.dedup();
    out
}

fn redact_with<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut spans = pattern_spans(text);
    for s in secrets {
        spans.extend(
            text.match_indices(s.as_str())
                .map(|(i, m)| (i, i + m.len())),
        );
    }
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut open: Option<(usize, usize)> = None;
    for (s, e) in spans {
        match &mut open {
            Some((_, end)) if s <= *end => *end = (*end).max(e),
            _ => {
                if let Some((os, oe)) = open.take() {
                    out.push_str(&text[at..os]);
                    out.push_str(REDACTED);
                    at = oe;
                }
                open = Some((s, e));
            }
        }
    }
    if let Some((os, oe)) = open {
        out.push_str(&text[at..os]);
        out.push_str(REDACTED);
        at = oe;
    }
    out.push_str(&text[at..]);
    // A marker next to what is left of the text can spell a secret again
    // (a secret `ted>abc` before `abc`); such a line goes entirely.
    if secrets.iter().any(|s| outside_markers(&out, s)) {
        return Cow::Borrowed(REDACTED);
    }
    Cow::Owned(out)
}

/// Whether `needle` occurs in `text` other than inside a marker.
fn outside_markers(text: &str, needle: &str) -> bool {
    let markers: Vec<usize> = text.match_indices(REDACTED).map(|(i, _)| i).collect();
    text.match_indices(needle).any(|(i, m)| {
        !markers
            .iter()
            .any(|&k| k <= i && i + m.len() <= k + REDACTED.len())
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Carries {
    /// A single value: a token, a password.
    Value,
    /// The rest of a header line: every cookie of a `Cookie` header,
    /// `Basic` and the credential of an `Authorization` header.
    Line,
}

/// Names (lower case, without `-` and `_`) whose value is a secret, when a
/// name ends with one: `vcenter_password`, `x-api-key`, `ApiKey`,
/// `vmware-api-session-id`, `vmware_soap_session`.
const SECRET_NAMES: &[(&str, Carries)] = &[
    ("password", Carries::Value),
    ("passwd", Carries::Value),
    ("passphrase", Carries::Value),
    ("apikey", Carries::Value),
    ("token", Carries::Value),
    ("secret", Carries::Value),
    ("pairingcode", Carries::Value),
    ("sessionid", Carries::Value),
    ("sessionkey", Carries::Value),
    ("sessioncookie", Carries::Value),
    ("soapsession", Carries::Value),
    ("clientkeydata", Carries::Value),
    ("privatekey", Carries::Value),
    ("cookie", Carries::Line),
    ("authorization", Carries::Line),
];

fn carries(name: &str) -> Option<Carries> {
    let norm: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_NAMES
        .iter()
        .find(|(n, _)| norm.ends_with(n))
        .map(|(_, c)| *c)
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Byte ranges of values that a name marks as secret: `name=value`,
/// `name: value`, `"name":"value"`, `\"name\":\"value\"`, `name: Some("value")`,
/// `<name>value</name>`, and `.../pairingcode/VALUE`.
fn pattern_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    // vCenter's session key is the session cookie in some servers (vcsim);
    // it shows as the `key` of a `UserSession` (Login's answer).
    let session_keys = text.contains("UserSession") || text.contains("LoginResponse");
    let mut i = 0;
    while i < b.len() {
        if !is_name_char(b[i]) {
            if b[i] == b'<' {
                spans.extend(element_value(text, i, session_keys));
                spans.extend(property_value(text, i));
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_name_char(b[i]) {
            i += 1;
        }
        // Only whole names: `a.password` yes, the tail of `x%password` too;
        // the middle of a longer word cannot start here by construction.
        let name = &text[start..i];
        // vCenter's session-scoped objects (an OVA import's HttpNfcLease)
        // have ids `session[KEY]ID`, also percent-encoded in NFC URLs, and
        // vcsim's KEY is the session cookie.
        if name.to_ascii_lowercase().ends_with("session") {
            spans.extend(bracketed(text, i));
        }
        if let Some(kind) = carries(name) {
            let slash = name.eq_ignore_ascii_case("pairingcode");
            if let Some(span) = assigned_value(text, i, kind, slash) {
                spans.push(span);
            }
        }
    }
    spans
}

/// What is inside `[...]` or `%5B...%5D` starting at `at`.
fn bracketed(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let (open, close) = if rest.starts_with('[') {
        ("[", "]")
    } else if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("%5B") {
        ("%5B", "%5D")
    } else {
        return None;
    };
    let s = at + open.len();
    let n = text[s..].to_ascii_uppercase().find(close)?;
    let value = &text[s..s + n];
    (!value.is_empty() && value != REDACTED).then_some((s, s + n))
}

/// The value after a secret name that ends at `at`, if one is assigned
/// there.
fn assigned_value(text: &str, at: usize, kind: Carries, slash: bool) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut p = at;
    let rest = |p: usize| &text[p.min(text.len())..];
    // The quote that closes the name.
    if rest(p).starts_with("\\\"") {
        p += 2;
    } else if rest(p).starts_with('"') || rest(p).starts_with('\'') {
        p += 1;
    }
    while p < b.len() && (b[p] == b' ' || b[p] == b'\t') {
        p += 1;
    }
    match b.get(p) {
        Some(b':') if b.get(p + 1) != Some(&b':') => p += 1,
        Some(b'=') => p += if b.get(p + 1) == Some(&b'>') { 2 } else { 1 },
        Some(b'/') if slash => p += 1,
        _ => return None,
    }
    while p < b.len() && (b[p] == b' ' || b[p] == b'\t') {
        p += 1;
    }
    // A wrapper such as `Some(` or `String(`.
    let mut q = p;
    while q < b.len() && b[q].is_ascii_alphabetic() {
        q += 1;
    }
    if q > p && b.get(q) == Some(&b'(') && b[p].is_ascii_uppercase() {
        p = q + 1;
    }
    let (s, e) = if rest(p).starts_with("\\\"") {
        let s = p + 2;
        let e = rest(s).find("\\\"").map_or(b.len(), |n| s + n);
        (s, e)
    } else if b.get(p) == Some(&b'"') || b.get(p) == Some(&b'\'') {
        let quote = b[p];
        let s = p + 1;
        let mut e = s;
        while e < b.len() && b[e] != quote {
            e += if b[e] == b'\\' { 2 } else { 1 };
        }
        (s, e.min(b.len()))
    } else {
        let stop: &[u8] = match kind {
            Carries::Value => b" \t\r\n,;&?#\"'}])<>\\",
            Carries::Line => b"\r\n\"\\",
        };
        let e = (p..b.len())
            .find(|&e| stop.contains(&b[e]))
            .unwrap_or(b.len());
        (p, e)
    };
    let value = &text[s..e];
    (!value.is_empty() && value != REDACTED).then_some((s, e))
}

/// The text of an XML element starting at `lt` whose local name marks a
/// secret (`<password>`, `<ns:password xsi:type="xsd:string">`).
fn element_value(text: &str, lt: usize, session_keys: bool) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut p = lt + 1;
    while p < b.len() && (is_name_char(b[p]) || b[p] == b':' || b[p] == b'.') {
        p += 1;
    }
    let name = &text[lt + 1..p];
    let local = name.rsplit(':').next().unwrap_or(name);
    if local.is_empty() || !(carries(local).is_some() || (session_keys && local == "key")) {
        return None;
    }
    element_value_any(text, lt)
}

/// The value of a vApp property or key-value pair named as a secret: an
/// `<id>`, `<key>` or `<label>` element at `lt` such as
/// `installer.pairing_code`, then the next `<value>` or `<defaultValue>`
/// (the installer OVA's pairing code travels so in SOAP bodies).
fn property_value(text: &str, lt: usize) -> Option<(usize, usize)> {
    let rest = &text[lt..];
    let open = ["<id>", "<key>", "<label>"]
        .into_iter()
        .find(|o| rest.starts_with(o))?;
    let s = lt + open.len();
    let e = s + text[s..].find('<')?;
    let named: String = text[s..e].chars().filter(|c| *c != ' ').collect();
    carries(&named)?;
    let after = &text[e..];
    let next = [
        "<value",
        "<defaultValue",
        "</property>",
        "</info>",
        "<id>",
        "<key>",
    ]
    .into_iter()
    .filter_map(|t| after.find(t).map(|n| (n, t)))
    .min()?;
    if !next.1.starts_with("<value") && !next.1.starts_with("<defaultValue") {
        return None;
    }
    element_value_any(text, e + next.0)
}

/// The text of the element that starts at `lt`, whatever its name.
fn element_value_any(text: &str, lt: usize) -> Option<(usize, usize)> {
    let gt = lt + text[lt..].find('>')?;
    if text.as_bytes()[gt - 1] == b'/' {
        return None;
    }
    let s = gt + 1;
    let e = text[s..].find('<').map_or(text.len(), |n| s + n);
    let value = &text[s..e];
    (!value.is_empty() && value != REDACTED).then_some((s, e))
}

/// The level Terraform asked for: TF_LOG_PROVIDER, else TF_LOG. Unset or
/// unrecognised means no logging at all, as with HashiCorp's SDKs.
pub fn level_from_env() -> Option<Level> {
    let raw = std::env::var("TF_LOG_PROVIDER")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("TF_LOG").ok())?;
    parse_level(&raw)
}

fn parse_level(raw: &str) -> Option<Level> {
    match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        _ => None,
    }
}

/// The most dependencies may log, from [`DEPENDENCIES_ENV`]'s value.
fn dependencies_level(raw: Option<&str>) -> Level {
    let Some(raw) = raw else {
        return Level::WARN;
    };
    match raw.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" => Level::WARN,
        other => parse_level(other).unwrap_or(Level::TRACE),
    }
}

/// Installs the hclog-format logger for this process, if logging is on.
pub fn init(module: &'static str) {
    if let Some(level) = level_from_env() {
        let raw = std::env::var(DEPENDENCIES_ENV).ok();
        let layer = HclogLayer {
            module,
            max: level,
            dependencies: dependencies_level(raw.as_deref()),
            sink: write_stderr,
        };
        if tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .is_ok()
        {
            tracing::debug!(
                dependencies = %dependencies_level(raw.as_deref()).min(level),
                "logging; {DEPENDENCIES_ENV} sets how much dependencies log"
            );
        }
    }
}

fn write_stderr(line: &str) {
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

struct HclogLayer {
    module: &'static str,
    max: Level,
    /// The most a dependency may log (further capped by `max`).
    dependencies: Level,
    /// Where finished lines go (stderr; a buffer in tests).
    sink: fn(&str),
}

fn is_own(target: &str) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    OWN_TARGETS.contains(&root)
}

fn level_for(target: &str, max: Level, dependencies: Level) -> Level {
    if is_own(target) {
        max
    } else {
        max.min(dependencies)
    }
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *meta.level() <= level_for(meta.target(), self.max, self.dependencies)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > level_for(meta.target(), self.max, self.dependencies) {
            return;
        }
        let mut fields = serde_json::Map::new();
        let mut visitor = JsonVisitor {
            fields: &mut fields,
            message: String::new(),
        };
        event.record(&mut visitor);
        let message = redact(&visitor.message).into_owned();
        for v in fields.values_mut() {
            redact_value(v);
        }
        let level = match *meta.level() {
            Level::TRACE => "trace",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warn",
            Level::ERROR => "error",
        };
        let mut line = serde_json::Map::new();
        line.insert("@level".into(), level.into());
        line.insert("@message".into(), message.into());
        line.insert("@module".into(), self.module.into());
        line.insert("@timestamp".into(), rfc3339_now().into());
        line.insert("@caller".into(), meta.target().into());
        line.extend(fields);
        let mut text = serde_json::Value::Object(line).to_string();
        text.push('\n');
        (self.sink)(&text);
    }
}

/// Redacts a field's value; a number that spells a secret becomes text.
fn redact_value(v: &mut serde_json::Value) {
    let replaced = match v {
        serde_json::Value::String(s) => match redact(s) {
            Cow::Owned(r) => Some(r),
            Cow::Borrowed(_) => None,
        },
        serde_json::Value::Number(n) => match redact(&n.to_string()) {
            Cow::Owned(r) => Some(r),
            Cow::Borrowed(_) => None,
        },
        _ => None,
    };
    if let Some(r) = replaced {
        *v = r.into();
    }
}

struct JsonVisitor<'a> {
    fields: &'a mut serde_json::Map<String, serde_json::Value>,
    message: String,
}

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields.insert(field.name().into(), value.into());
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        if field.name() == "message" {
            self.message = s;
        } else {
            self.fields.insert(field.name().into(), s.into());
        }
    }
}

fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// well-known algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::RefCell;

    fn clean(text: &str) -> String {
        redact_with(text, &[]).into_owned()
    }

    #[test]
    fn only_our_crates_log_below_warn() {
        let off = dependencies_level(None);
        for dep in [
            "h2::codec::framed_write",
            "cookie_store::cookie_store",
            "vim_rs::xml::client",
            "reqwest::connect",
            "rustls::client",
            "some_new_dependency",
            // A name that starts like ours is not ours.
            "tfplugin_extras::x",
        ] {
            assert_eq!(level_for(dep, Level::TRACE, off), Level::WARN, "{dep}");
        }
        for own in [
            "tfplugin::server",
            "terraform_provider_palette::gateway",
            "vsphere",
        ] {
            assert_eq!(level_for(own, Level::TRACE, off), Level::TRACE, "{own}");
        }
        assert_eq!(
            level_for("hyper_util::client", Level::ERROR, off),
            Level::ERROR
        );
    }

    #[test]
    fn the_opt_in_reads_switches_and_levels() {
        for raw in ["", "0", "false", "No", "off"] {
            assert_eq!(dependencies_level(Some(raw)), Level::WARN, "{raw:?}");
        }
        for raw in ["1", "true", "yes", "on", "trace"] {
            assert_eq!(dependencies_level(Some(raw)), Level::TRACE, "{raw:?}");
        }
        assert_eq!(dependencies_level(Some("debug")), Level::DEBUG);
        // Never more than the provider's own level.
        assert_eq!(
            level_for("h2", Level::INFO, dependencies_level(Some("1"))),
            Level::INFO
        );
    }

    #[test]
    fn cookies_and_session_headers() {
        // cookie_store's debug line, as it printed a vCenter session.
        let line = r#"inserting Set-Cookie 'Cookie { raw_cookie: Cookie { cookie_string: Some("vmware_soap_session=\"52f1e0c8-aaaa\"; Path=/; HttpOnly; Secure"), name: Indexed(0, 19) } }'"#;
        let out = clean(line);
        assert!(!out.contains("52f1e0c8"), "{out}");
        assert!(
            out.contains("vmware_soap_session=\\\"<redacted>\\\"; Path=/"),
            "{out}"
        );
        assert_eq!(
            clean("vmware_soap_session=abc-123; Path=/"),
            "vmware_soap_session=<redacted>; Path=/"
        );
        assert_eq!(
            clean("Cookie: a=1; vmware_soap_session=zz9\r\nHost: vc"),
            "Cookie: <redacted>\r\nHost: vc"
        );
        assert_eq!(
            clean(r#"{"set-cookie": "sid=42; HttpOnly", "host": "vc"}"#),
            r#"{"set-cookie": "<redacted>", "host": "vc"}"#
        );
        assert_eq!(
            clean(r#"headers: {"vmware-api-session-id": "e1b2c3d4", "accept": "*/*"}"#),
            r#"headers: {"vmware-api-session-id": "<redacted>", "accept": "*/*"}"#
        );
        assert_eq!(
            clean("Authorization: Basic dXNlcjpwYXNz"),
            "Authorization: <redacted>"
        );
        assert_eq!(clean("ApiKey: k3y-value"), "ApiKey: <redacted>");
        assert_eq!(
            clean("GET /v1/events/components/pairingcode/QX7RZK?x=1"),
            "GET /v1/events/components/pairingcode/<redacted>?x=1"
        );
    }

    #[test]
    fn soap_bodies() {
        let login = r#"SOAP request for Login: <Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>administrator@vsphere.local</userName><password>S3cr&amp;t</password></Login>"#;
        let out = clean(login);
        assert!(out.contains("<password><redacted></password>"), "{out}");
        assert!(out.contains("administrator@vsphere.local"), "{out}");
        let typed = r#"<ns1:password xsi:type="xsd:string">pw-1234</ns1:password>"#;
        assert_eq!(
            clean(typed),
            r#"<ns1:password xsi:type="xsd:string"><redacted></ns1:password>"#
        );
        let answer = r#"SOAP response 200 from Login: <LoginResponse xmlns="urn:vim25"><returnval><key>5261-abcd</key><userName>u</userName></returnval></LoginResponse>"#;
        assert!(!clean(answer).contains("5261-abcd"));
        // Elsewhere a key is a device key, left alone.
        assert_eq!(clean("<key>2000</key>"), "<key>2000</key>");
        let vapp = "<property><operation>edit</operation><info><key>3</key><id>installer.pairing_code</id><label>Pairing code</label><value>QX7RZK</value></info></property>";
        assert!(!clean(vapp).contains("QX7RZK"), "{}", clean(vapp));
        let mapping = "<propertyMapping><key>installer.pairing_code</key><value>AB7RZK</value></propertyMapping><propertyMapping><key>installer.name</key><value>pcg</value></propertyMapping>";
        let out = clean(mapping);
        assert!(
            !out.contains("AB7RZK") && out.contains("<value>pcg</value>"),
            "{out}"
        );
        assert_eq!(
            clean(r#"<_this type="HttpNfcLease">session[52aa-bb]52cc-dd</_this>"#),
            r#"<_this type="HttpNfcLease">session[<redacted>]52cc-dd</_this>"#
        );
        assert_eq!(
            clean("<url>https://*/nfc/session%5B52aa-bb%5D52cc/disk-0.vmdk</url>"),
            "<url>https://*/nfc/session%5B<redacted>%5D52cc/disk-0.vmdk</url>"
        );
        let event = "<UserLoginSessionEvent><sessionId>77aa-bb</sessionId></UserLoginSessionEvent>";
        assert!(!clean(event).contains("77aa-bb"));
    }

    #[test]
    fn json_yaml_and_debug_forms() {
        assert_eq!(
            clean(r#"{"username":"u","password":"p\"w"}"#),
            r#"{"username":"u","password":"<redacted>"}"#
        );
        assert_eq!(
            clean(r#"body: "{\"password\":\"hunter22\",\"x\":1}""#),
            r#"body: "{\"password\":\"<redacted>\",\"x\":1}""#
        );
        assert_eq!(
            clean("users:\n- name: a\n  user:\n    token: abcdef123\n"),
            "users:\n- name: a\n  user:\n    token: <redacted>\n"
        );
        assert_eq!(
            clean(r#"Account { password: Some("pw-zz"), api_key: String("kk-yy") }"#),
            r#"Account { password: Some("<redacted>"), api_key: String("<redacted>") }"#
        );
        assert_eq!(
            clean("client-key-data: LS0tLS1C"),
            "client-key-data: <redacted>"
        );
    }

    #[test]
    fn ordinary_text_survives() {
        for text in [
            "the password is wrong: InvalidLogin",
            "token_expiry=5 secret_ref=abc",
            "CancellationToken { is_cancelled: false }",
            "password: <redacted>",
            r#"{"password":"<redacted>"}"#,
            "tfplugin::token::x",
            "password=",
            "",
        ] {
            assert_eq!(clean(text), text);
        }
    }

    #[test]
    fn registered_values_in_every_encoding() {
        let secret = "Pa ss&w<o>rd\"'/";
        let forms = encodings(secret);
        let text = format!(
            "raw {secret} json {} debug {:?} xml {} url {}",
            serde_json::to_string(secret).unwrap(),
            secret,
            "Pa ss&amp;w&lt;o&gt;rd&quot;&apos;/",
            "Pa%20ss%26w%3Co%3Erd%22%27%2F",
        );
        let out = redact_with(&text, &forms);
        for f in &forms {
            assert!(!out.contains(f.as_str()), "a form was left in: {out}");
        }
        assert_eq!(out.matches(REDACTED).count(), 5, "{out}");
    }

    #[test]
    fn registration_ignores_what_is_too_short() {
        register_secret("");
        register_secret("ab");
        assert_eq!(redact("ab cd"), "ab cd");
        register_secret("only-this-test-registers-me");
        assert_eq!(
            redact("x only-this-test-registers-me y"),
            format!("x {REDACTED} y")
        );
    }

    #[test]
    fn kubeconfig_credentials() {
        register_kubeconfig(
            "users:\n- name: admin\n  user:\n    token: \"kube-tok-0042\"\n    client-key-data: S0VZREFUQQ==\n",
        );
        // Found by value even where no name says so.
        let out = redact("bearer kube-tok-0042 and S0VZREFUQQ==");
        assert_eq!(out, format!("bearer {REDACTED} and {REDACTED}"));
    }

    thread_local! {
        static CAPTURED: RefCell<String> = const { RefCell::new(String::new()) };
    }

    fn capture(line: &str) {
        CAPTURED.with(|c| c.borrow_mut().push_str(line));
    }

    fn log_with(dependencies: Level) -> String {
        CAPTURED.with(|c| c.borrow_mut().clear());
        let layer = HclogLayer {
            module: "provider",
            max: Level::TRACE,
            dependencies,
            sink: capture,
        };
        let sub = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(sub, || {
            tracing::debug!(
                target: "cookie_store::cookie_store",
                "inserting Set-Cookie 'vmware_soap_session=abcd-1234; Path=/'"
            );
            tracing::trace!(target: "tfplugin::x", body = "<password>pw-5678</password>", n = 7, "ours");
        });
        CAPTURED.with(|c| c.borrow().clone())
    }

    #[test]
    fn the_layer_filters_and_redacts() {
        let quiet = log_with(dependencies_level(None));
        assert!(!quiet.contains("cookie_store::"), "{quiet}");
        assert!(
            quiet.contains(r#""body":"<password><redacted></password>""#),
            "{quiet}"
        );
        assert!(quiet.contains(r#""n":7"#), "{quiet}");
        let loud = log_with(dependencies_level(Some("1")));
        assert!(loud.contains("inserting Set-Cookie"), "{loud}");
        assert!(!loud.contains("abcd-1234"), "{loud}");
        assert!(!loud.contains("pw-5678"), "{loud}");
        for line in loud.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("a JSON line");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any registered secret, anywhere in any text, in any encoding
        /// it is registered in, never survives.
        #[test]
        fn a_registered_secret_never_survives(
            secret in "\\PC{4,24}",
            before in "\\PC{0,40}",
            after in "\\PC{0,40}",
            form in 0usize..7,
        ) {
            // A secret inside the marker itself would be found in every
            // redacted line; no real secret looks like that.
            prop_assume!(!REDACTED.contains(secret.as_str()));
            let forms = encodings(&secret);
            let shown = &forms[form % forms.len()];
            let text = format!("{before}{shown}{after}{shown}");
            let out = redact_with(&text, &forms);
            prop_assert!(!out.contains(secret.as_str()));
            for f in &forms {
                prop_assert!(!out.contains(f.as_str()));
            }
        }

        /// A value given to a secret name is gone whatever it looks like.
        #[test]
        fn a_named_value_never_survives(
            value in "[A-Za-z0-9+/=.:@!%-]{1,30}",
            shape in 0usize..6,
        ) {
            let text = match shape {
                0 => format!("password={value}"),
                1 => format!(r#"{{"apiKey":"{value}"}}"#),
                2 => format!("<password>{value}</password>"),
                3 => format!("vmware-api-session-id: {value}"),
                4 => format!("Set-Cookie: vmware_soap_session={value}; Path=/"),
                _ => format!(r#"body: "{{\"password\":\"{value}\"}}""#),
            };
            let out = clean(&text);
            prop_assert!(out.contains(REDACTED));
            let rest = out.replacen(REDACTED, "", 1);
            let names = ["password", "apiKey", "vmware-api-session-id", "Set-Cookie: vmware_soap_session", "Path=/"];
            let mut left = rest.clone();
            for n in names {
                left = left.replace(n, "");
            }
            prop_assert!(!left.contains(value.as_str()) || value.len() < 2, "left {left:?}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
