//! The Palette API client: headers `ApiKey` and `ProjectUid`, TLS settings,
//! typed errors by cause, and retries that are safe.
//!
//! Retry rules:
//! - GET, PUT and DELETE are idempotent: retried on 429, 5xx and transport
//!   errors, with jittered exponential backoff, honouring Retry-After.
//! - POST creates things: it is retried only when the request provably did
//!   not take effect (connection refused, or 429). After any other failure
//!   the caller must look the object up by name before trying again.
//! - Every wait ends early when the operation is cancelled (Terraform's
//!   StopProvider), and the API key never appears in an error or a log.

use std::fmt;
use std::time::Duration;

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
        body: Vec<u8>,
    },
    /// Failed before the request could have reached the server.
    NotSent(String),
    /// Failed after the request may have been received.
    Lost(String),
}

impl Client {
    pub fn new(config: Config) -> Result<Client, Error> {
        let mut b = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(15))
            .pool_idle_timeout(Duration::from_secs(90))
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
        let body = self.call(Method::GET, path, None, cancel).await?;
        decode(&body)
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
        decode(&out)
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

    /// GET of a body that is not JSON (kubeconfig assets).
    pub async fn get_text(&self, path: &str, cancel: &CancellationToken) -> Result<String, Error> {
        let body = self.call(Method::GET, path, None, cancel).await?;
        String::from_utf8(body).map_err(|e| Error::Decode(e.to_string()))
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
            Err(e) if e.is_connect() => return Attempt::NotSent(describe(&e)),
            Err(e) => return Attempt::Lost(describe(&e)),
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match resp.bytes().await {
            Ok(b) => Attempt::Response {
                status,
                retry_after,
                body: b.to_vec(),
            },
            Err(e) => Attempt::Lost(describe(&e)),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        cancel: &CancellationToken,
    ) -> Result<Vec<u8>, Error> {
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
                Attempt::Response { status, body, .. } if status.is_success() => {
                    tracing::debug!(%method, path, status = status.as_u16(), attempt = attempt_no, "Palette API call");
                    return Ok(body);
                }
                Attempt::Response {
                    status,
                    retry_after,
                    body,
                } => {
                    tracing::debug!(%method, path, status = status.as_u16(), attempt = attempt_no, "Palette API call failed");
                    let (code, message) = error_body(&body);
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
            };
            if !retryable || attempt_no > self.config.max_retries {
                return Err(err);
            }
            let wait = backoff(attempt_no, wait_hint, self.config.retry_max_wait);
            tracing::debug!(%method, path, attempt = attempt_no, wait_ms = wait.as_millis() as u64, "retrying Palette API call");
            tokio::select! {
                _ = cancel.cancelled() => return Err(Error::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
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
}
