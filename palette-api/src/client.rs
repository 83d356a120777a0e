//! The Palette API client: headers `ApiKey` and `ProjectUid`, TLS settings,
//! typed errors by cause, and retries that are safe.
//!
//! Retry rules:
//! - GET, PUT and DELETE are idempotent: retried on 429, 5xx and transport
//!   errors, with jittered exponential backoff, honouring Retry-After.
//! - POST creates things: it is retried only when the request provably did
//!   not take effect (connection refused, or 429). A lost answer, or a 500,
//!   502 or 504 (which a proxy may give after Palette did the work), is
//!   [`Error::Ambiguous`]: the caller must look the object up by name before
//!   trying again.
//! - Every wait ends early when the operation is cancelled (Terraform's
//!   StopProvider), and the API key never appears in an error or a log.
//!
//! Redirects are followed only within the endpoint's origin (scheme, host
//! and port): the `ApiKey` header goes with every hop, so a redirect to
//! another host, or from https to http, would hand the key to whoever that
//! is. Such a redirect is [`Error::CrossOriginRedirect`].
//!
//! Secrets in paths: the gateway pairing code travels in the events URL
//! (`/v1/events/components/pairingcode/{code}`). Every log line and error of
//! this client shows it cut to its last characters ([`redact`]).

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// Settings of a client.
#[derive(Clone)]
pub struct Config {
    pub endpoint: String,
    pub api_key: String,
    pub project_uid: Option<String>,
    /// Extra CA certificates (PEM) to trust.
    pub ca_pem: Option<Vec<u8>>,
    pub insecure: bool,
    pub max_retries: u32,
    pub retry_max_wait: Duration,
    pub request_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("api_key", &"<redacted>")
            .field("project_uid", &self.project_uid)
            .field("insecure", &self.insecure)
            .field("max_retries", &self.max_retries)
            .field("retry_max_wait", &self.retry_max_wait)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// Errors by cause. Only `NotFound` may make a resource leave state.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("not found: {message}")]
    NotFound { message: String },
    #[error("conflict: {message}")]
    Conflict { message: String },
    #[error("access denied ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("rejected by Palette ({code}): {message}")]
    Validation { code: String, message: String },
    #[error("throttled by Palette after {attempts} attempts")]
    Throttled { attempts: u32 },
    #[error("Palette server error {status} after {attempts} attempts: {message}")]
    Server {
        status: u16,
        message: String,
        attempts: u32,
    },
    #[error("cannot reach Palette at {endpoint} after {attempts} attempts: {message}")]
    Transport {
        endpoint: String,
        message: String,
        attempts: u32,
    },
    #[error("the request was sent but its outcome is unknown: {message}")]
    Ambiguous { message: String },
    #[error("unexpected response from Palette: {0}")]
    Decode(String),
    #[error("cancelled")]
    Cancelled,
    #[error("client setup: {0}")]
    Setup(String),
    /// Palette answered with a redirect to another origin; not followed,
    /// because the API key would go with it.
    #[error(
        "Palette redirected the request to {target}, another host or scheme than the \
         endpoint; not followed, so the API key is not sent there"
    )]
    CrossOriginRedirect {
        /// The target's origin (`scheme://host:port`), without path.
        target: String,
    },
}

impl Error {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

pub struct Client {
    http: reqwest::Client,
    config: Config,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish()
    }
}

/// Outcome of one attempt, before classification.
enum Attempt {
    Response {
        status: StatusCode,
        retry_after: Option<Duration>,
        /// The server's clock when it answered (its `Date` header).
        date: Option<SystemTime>,
        body: Vec<u8>,
    },
    /// Failed before the request could have reached the server.
    NotSent(String),
    /// Failed after the request may have been received.
    Lost(String),
    /// An answer the client refuses to act on (a cross-origin redirect).
    Refused(Error),
}

/// How many same-origin redirects one request may follow (reqwest's default).
const MAX_REDIRECTS: usize = 10;

/// Why the redirect policy stopped a request; found again in reqwest's
/// error chain to make the typed [`Error`].
#[derive(Debug)]
enum RedirectRefusal {
    CrossOrigin { target: String },
    TooMany,
}

impl fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectRefusal::CrossOrigin { target } => {
                write!(f, "redirect to another origin ({target}) refused")
            }
            RedirectRefusal::TooMany => write!(f, "more than {MAX_REDIRECTS} redirects"),
        }
    }
}

impl std::error::Error for RedirectRefusal {}

/// Follows a redirect only to the origin of the first request: the `ApiKey`
/// and `ProjectUid` headers are re-sent on every hop (reqwest strips only
/// the standard credential headers across origins).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        if first.origin() != attempt.url().origin() {
            let target = attempt.url().origin().ascii_serialization();
            return attempt.error(RedirectRefusal::CrossOrigin { target });
        }
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefusal::TooMany);
        }
        attempt.follow()
    })
}

/// The segment names whose next path segment is a secret: the gateway
/// pairing code, which lets whoever holds it register a gateway.
const SECRET_AFTER: &[&str] = &["pairingcode"];

/// The secrets a request path carries (see [`SECRET_AFTER`]).
fn secrets_in(path: &str) -> Vec<&str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .windows(2)
        .filter(|w| SECRET_AFTER.iter().any(|s| w[0].eq_ignore_ascii_case(s)))
        .map(|w| w[1])
        .filter(|s| !s.is_empty())
        .collect()
}

/// What is left of a secret: its last two characters after an ellipsis,
/// enough to tell two codes apart in a log, too few to use one. A secret of
/// four characters or fewer shows nothing.
/// A secret shown by its last two characters at most, so a reader can tell
/// two apart without learning either.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    let tail: String = if n > 4 {
        secret.chars().skip(n - 2).collect()
    } else {
        String::new()
    };
    format!("\u{2026}{tail}")
}

/// `text` with every secret that `path` carries masked. Applied to the path
/// itself for logs, and to every message of an error about that request,
/// since a server's message or a transport error's URL may quote it.
pub fn redact(text: &str, path: &str) -> String {
    let mut out = text.to_string();
    for secret in secrets_in(path) {
        out = out.replace(secret, &mask(secret));
    }
    out
}

/// The error with [`redact`] applied to every message it carries.
fn redact_error(e: Error, path: &str) -> Error {
    let r = |m: String| redact(&m, path);
    match e {
        Error::NotFound { message } => Error::NotFound {
            message: r(message),
        },
        Error::Conflict { message } => Error::Conflict {
            message: r(message),
        },
        Error::Unauthorized { status, message } => Error::Unauthorized {
            status,
            message: r(message),
        },
        Error::Validation { code, message } => Error::Validation {
            code: r(code),
            message: r(message),
        },
        Error::Server {
            status,
            message,
            attempts,
        } => Error::Server {
            status,
            message: r(message),
            attempts,
        },
        Error::Transport {
            endpoint,
            message,
            attempts,
        } => Error::Transport {
            endpoint,
            message: r(message),
            attempts,
        },
        Error::Ambiguous { message } => Error::Ambiguous {
            message: r(message),
        },
        Error::Decode(m) => Error::Decode(r(m)),
        Error::Setup(m) => Error::Setup(r(m)),
        e @ (Error::Throttled { .. } | Error::Cancelled | Error::CrossOriginRedirect { .. }) => e,
    }
}

impl Client {
    pub fn new(config: Config) -> Result<Client, Error> {
        let mut b = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(15))
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(redirect_policy())
            .user_agent(concat!(
                "terraform-provider-palette/",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(pem) = &config.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Setup(format!("CA file: {e}")))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        if config.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        let http = b.build().map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Client { http, config })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A client for another project scope, sharing connections.
    pub fn with_project(&self, project_uid: Option<String>) -> Client {
        Client {
            http: self.http.clone(),
            config: Config {
                project_uid,
                ..self.config.clone()
            },
        }
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        cancel: &CancellationToken,
    ) -> Result<T, Error> {
        let body = self.call(Method::GET, path, None, cancel).await?.body;
        decode(&body).map_err(|e| redact_error(e, path))
    }

    /// GET, with the time on the server's clock when it answered (its
    /// `Date` header; `None` when it sent none or an unreadable one). Lets a
    /// caller measure an age against Palette's own timestamps, immune to
    /// skew between this machine's clock and Palette's.
    pub async fn get_dated<T: DeserializeOwned>(
        &self,
        path: &str,
        cancel: &CancellationToken,
    ) -> Result<(T, Option<SystemTime>), Error> {
        let reply = self.call(Method::GET, path, None, cancel).await?;
        let value = decode(&reply.body).map_err(|e| redact_error(e, path))?;
        Ok((value, reply.date))
    }

    /// POST with a JSON body. See the module docs for when it is retried.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        cancel: &CancellationToken,
    ) -> Result<T, Error> {
        let json = serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?;
        let out = self.call(Method::POST, path, Some(json), cancel).await?;
        decode(&out.body).map_err(|e| redact_error(e, path))
    }

    pub async fn put<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        let json = serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?;
        self.call(Method::PUT, path, Some(json), cancel)
            .await
            .map(|_| ())
    }

    /// PUT of an action that takes no body (a gateway's reset).
    pub async fn put_empty(&self, path: &str, cancel: &CancellationToken) -> Result<(), Error> {
        self.call(Method::PUT, path, None, cancel).await.map(|_| ())
    }

    /// PATCH with a JSON body. The operations used (metadata, profile
    /// values) set a state rather than add to it, so they are retried like
    /// any idempotent call.
    pub async fn patch<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        let json = serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?;
        self.call(Method::PATCH, path, Some(json), cancel)
            .await
            .map(|_| ())
    }

    /// PATCH of a change that takes no body (a notification's ack or done);
    /// both set a flag, so a retry is harmless.
    pub async fn patch_empty(&self, path: &str, cancel: &CancellationToken) -> Result<(), Error> {
        self.call(Method::PATCH, path, None, cancel)
            .await
            .map(|_| ())
    }

    /// GET of a body that is not JSON (kubeconfig assets).
    pub async fn get_text(&self, path: &str, cancel: &CancellationToken) -> Result<String, Error> {
        let body = self.call(Method::GET, path, None, cancel).await?.body;
        String::from_utf8(body).map_err(|e| redact_error(Error::Decode(e.to_string()), path))
    }

    pub async fn delete(&self, path: &str, cancel: &CancellationToken) -> Result<(), Error> {
        self.call(Method::DELETE, path, None, cancel)
            .await
            .map(|_| ())
    }

    async fn attempt(&self, method: &Method, path: &str, body: &Option<Vec<u8>>) -> Attempt {
        let url = format!("{}{}", self.config.endpoint.trim_end_matches('/'), path);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .header("ApiKey", &self.config.api_key);
        if let Some(p) = &self.config.project_uid {
            req = req.header("ProjectUid", p);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.clone());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                if let Some(RedirectRefusal::CrossOrigin { target }) = refusal(&e) {
                    return Attempt::Refused(Error::CrossOriginRedirect {
                        target: target.clone(),
                    });
                }
                return if e.is_connect() {
                    Attempt::NotSent(describe(&e))
                } else {
                    Attempt::Lost(describe(&e))
                };
            }
        };
        let status = resp.status();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok());
        let date = header("Date").and_then(http_date);
        let retry_after = header("Retry-After").and_then(|v| retry_after(v, date));
        match resp.bytes().await {
            Ok(b) => Attempt::Response {
                status,
                retry_after,
                date,
                body: b.to_vec(),
            },
            Err(e) => Attempt::Lost(describe(&e)),
        }
    }

    /// One call with its retries; its errors redacted (see [`redact`]).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        cancel: &CancellationToken,
    ) -> Result<Reply, Error> {
        self.call_with_retries(method, path, body, cancel)
            .await
            .map_err(|e| redact_error(e, path))
    }

    async fn call_with_retries(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        cancel: &CancellationToken,
    ) -> Result<Reply, Error> {
        // Logged paths never carry a secret (the pairing code).
        let logged = redact(path, path);
        let idempotent = method != Method::POST;
        let mut attempt_no = 0u32;
        loop {
            attempt_no += 1;
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return Err(Error::Cancelled),
                a = self.attempt(&method, path, &body) => a,
            };
            let (retryable, wait_hint, err) = match outcome {
                Attempt::Response {
                    status, body, date, ..
                } if status.is_success() => {
                    tracing::debug!(%method, path = %logged, status = status.as_u16(), attempt = attempt_no, "Palette API call");
                    return Ok(Reply { body, date });
                }
                Attempt::Response {
                    status,
                    retry_after,
                    body,
                    ..
                } => {
                    tracing::debug!(%method, path = %logged, status = status.as_u16(), attempt = attempt_no, "Palette API call failed");
                    let (code, message) = error_body(&body);
                    // Behind a proxy, a 502 or 504 may come after Palette
                    // carried the create out, and a 500 may come from a step
                    // after the object was stored: the caller must look the
                    // object up by name before anyone sends the POST again.
                    if !idempotent && matches!(status.as_u16(), 500 | 502 | 504) {
                        return Err(Error::Ambiguous {
                            message: format!(
                                "Palette answered HTTP {}: {message}",
                                status.as_u16()
                            ),
                        });
                    }
                    let err = classify(status, code, message, attempt_no);
                    let retryable = match status.as_u16() {
                        429 => true,
                        500 | 502 | 503 | 504 => idempotent,
                        _ => false,
                    };
                    (retryable, retry_after, err)
                }
                Attempt::NotSent(message) => {
                    let err = Error::Transport {
                        endpoint: self.config.endpoint.clone(),
                        message,
                        attempts: attempt_no,
                    };
                    (true, None, err)
                }
                Attempt::Lost(message) if idempotent => {
                    let err = Error::Transport {
                        endpoint: self.config.endpoint.clone(),
                        message,
                        attempts: attempt_no,
                    };
                    (true, None, err)
                }
                Attempt::Lost(message) => return Err(Error::Ambiguous { message }),
                Attempt::Refused(e) => return Err(e),
            };
            if !retryable || attempt_no > self.config.max_retries {
                return Err(err);
            }
            let wait = backoff(attempt_no, wait_hint, self.config.retry_max_wait);
            tracing::debug!(%method, path = %logged, attempt = attempt_no, wait_ms = wait.as_millis() as u64, "retrying Palette API call");
            tokio::select! {
                _ = cancel.cancelled() => return Err(Error::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// A successful answer: its body and the server's clock when it answered.
struct Reply {
    body: Vec<u8>,
    date: Option<SystemTime>,
}

/// An HTTP date (RFC 9110 IMF-fixdate, as in `Date` and `Retry-After`).
fn http_date(v: &str) -> Option<SystemTime> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(v.trim())
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
}

/// `Retry-After` in either of its forms: seconds, or the HTTP date after
/// which to retry, counted from the server's own `Date` when it gave one so
/// that clock skew between the two machines does not stretch the wait.
fn retry_after(v: &str, server_now: Option<SystemTime>) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    let now = server_now.unwrap_or_else(SystemTime::now);
    Some(at.duration_since(now).unwrap_or_default())
}

/// An RFC 3339 time as Palette writes them in object metadata
/// (`creationTimestamp`, `deletionTimestamp`).
pub fn rfc3339(v: &str) -> Option<SystemTime> {
    v.parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
}

/// The wait before retry number `attempt`: Retry-After when the server gave
/// one, else exponential from 250 ms with full jitter; never above `max`.
fn backoff(attempt: u32, retry_after: Option<Duration>, max: Duration) -> Duration {
    if let Some(ra) = retry_after {
        return ra.min(max);
    }
    let exp = Duration::from_millis(250u64.saturating_mul(1u64 << attempt.min(16))).min(max);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    // Full jitter: anywhere in [exp/2, exp], so concurrent clients spread out.
    let frac = 0.5 + (nanos % 1000) as f64 / 2000.0;
    exp.mul_f64(frac)
}

/// The redirect policy's reason, if it stopped the request; looked for in
/// the whole source chain, since where reqwest nests it is its business.
fn refusal(e: &reqwest::Error) -> Option<&RedirectRefusal> {
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        if let Some(r) = inner.downcast_ref::<RedirectRefusal>() {
            return Some(r);
        }
        src = inner.source();
    }
    None
}

fn describe(e: &reqwest::Error) -> String {
    // reqwest's Display includes the URL but never headers, so the key
    // cannot leak through it; the source chain says what actually failed.
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn error_body(body: &[u8]) -> (String, String) {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => (
            v["code"].as_str().unwrap_or_default().to_string(),
            v["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
        ),
        Err(_) => (
            String::new(),
            String::from_utf8_lossy(body).chars().take(300).collect(),
        ),
    }
}

fn classify(status: StatusCode, code: String, message: String, attempts: u32) -> Error {
    match status.as_u16() {
        404 => Error::NotFound { message },
        409 => Error::Conflict { message },
        401 | 403 => Error::Unauthorized {
            status: status.as_u16(),
            message,
        },
        429 => Error::Throttled { attempts },
        s if s >= 500 => Error::Server {
            status: s,
            message,
            attempts,
        },
        _ => Error::Validation {
            code: if code.is_empty() {
                status.to_string()
            } else {
                code
            },
            message,
        },
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let body = if body.is_empty() {
        b"null".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates_on_the_servers_clock() {
        assert_eq!(retry_after(" 7 ", None), Some(Duration::from_secs(7)));
        let server = http_date("Wed, 02 Dec 2026 07:22:26 GMT").unwrap();
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 07:23:06 GMT", Some(server)),
            Some(Duration::from_secs(40))
        );
        // A date already past means: retry now.
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 07:00:00 GMT", Some(server)),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", Some(server)), None);
    }

    #[test]
    fn palette_timestamps_and_http_dates_agree() {
        let a = rfc3339("2026-12-02T07:22:26Z").unwrap();
        let b = http_date("Wed, 02 Dec 2026 07:22:26 GMT").unwrap();
        assert_eq!(a, b);
        // An offset and a fraction, as other servers write them.
        let frac = rfc3339("2026-12-02T08:22:26.500+01:00").unwrap();
        assert_eq!(frac.duration_since(a).unwrap(), Duration::from_millis(500));
        assert_eq!(rfc3339("yesterday"), None);
    }

    #[test]
    fn backoff_honours_retry_after_within_the_cap() {
        let max = Duration::from_secs(10);
        assert_eq!(
            backoff(1, Some(Duration::from_secs(3)), max),
            Duration::from_secs(3)
        );
        assert_eq!(backoff(1, Some(Duration::from_secs(60)), max), max);
        for attempt in 1..20 {
            let w = backoff(attempt, None, max);
            assert!(w <= max && w > Duration::ZERO, "{attempt}: {w:?}");
        }
    }

    #[test]
    fn only_not_found_is_not_found() {
        for (status, want) in [
            (404, true),
            (403, false),
            (409, false),
            (500, false),
            (400, false),
        ] {
            let e = classify(
                StatusCode::from_u16(status).unwrap(),
                String::new(),
                "m".into(),
                1,
            );
            assert_eq!(e.is_not_found(), want, "{status}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = Config {
            endpoint: "http://x".into(),
            api_key: "sekrit-key".into(),
            project_uid: None,
            ca_pem: None,
            insecure: false,
            max_retries: 1,
            retry_max_wait: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
        };
        assert!(!format!("{c:?}").contains("sekrit-key"));
    }

    #[test]
    fn redaction_keeps_only_the_last_two_characters_of_a_pairing_code() {
        let path = "/v1/events/components/pairingcode/QX7RZK";
        assert_eq!(
            redact(path, path),
            "/v1/events/components/pairingcode/\u{2026}ZK"
        );
        let said = "no gateway registered with pairing code QX7RZK yet";
        assert_eq!(
            redact(said, path),
            "no gateway registered with pairing code \u{2026}ZK yet"
        );
        assert_eq!(
            redact(said, "/v1/overlords"),
            said,
            "other paths hold no secret"
        );
        assert_eq!(
            redact(
                "/v1/events/components/pairingcode/AB?x=1",
                "/v1/events/components/pairingcode/AB?x=1"
            ),
            "/v1/events/components/pairingcode/\u{2026}?x=1",
            "a short secret shows nothing"
        );
        let e = redact_error(
            Error::Transport {
                endpoint: "http://x".into(),
                message: format!("error sending request for url (http://x{path})"),
                attempts: 1,
            },
            path,
        );
        assert!(!e.to_string().contains("QX7RZK"), "{e}");
        assert!(!format!("{e:?}").contains("QX7RZK"), "{e:?}");
    }
}
