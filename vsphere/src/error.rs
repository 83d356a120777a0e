//! What can go wrong talking to vCenter, by cause.

use std::sync::Arc;

use vim_rs::types::struct_enum::StructType;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// vCenter refused the user name or password (fault `InvalidLogin`).
    #[error("vCenter {server} rejected the user name or password for {user}")]
    InvalidLogin { server: String, user: String },
    /// An inventory object does not exist; `path` is what was looked for.
    #[error("{kind} {path:?} not found in vCenter{}", hint_suffix(.hint))]
    NotFound {
        kind: &'static str,
        path: String,
        hint: Option<String>,
    },
    /// No TCP or TLS connection to the server.
    #[error("cannot reach vCenter {server}: {message}")]
    Unreachable { server: String, message: String },
    /// A vSphere fault other than the ones above.
    #[error("vCenter {server} answered with fault {fault}{}", hint_suffix(.detail))]
    Fault {
        server: String,
        fault: String,
        detail: Option<String>,
    },
    /// The server's answer could not be understood.
    #[error("unexpected answer from vCenter {server}: {message}")]
    Protocol { server: String, message: String },
    /// A create met an object of the same name (vAPI `already_exists`).
    #[error("{kind} {name:?} already exists in vCenter")]
    AlreadyExists { kind: &'static str, name: String },
    /// A vAPI REST call failed for a reason other than the ones above;
    /// `error_type` is vAPI's (`com.vmware.vapi.std.errors.invalid_argument`).
    #[error("vCenter {server} answered HTTP {status}{}", api_suffix(.error_type, .message))]
    Api {
        server: String,
        status: u16,
        error_type: Option<String>,
        message: Option<String>,
    },
    /// The address given is not a vCenter address.
    #[error(
        "invalid vCenter address {0:?}: use a host name or https URL such as vcenter.example.com"
    )]
    BadAddress(String),
    /// The caller cancelled (Ctrl-C, Terraform stopping the provider) while
    /// a wait or transfer was in progress.
    #[error("cancelled while waiting for {what}{}", may_run_on(.still_running))]
    Cancelled { what: String, still_running: bool },
    /// A wait passed the deadline its session was given.
    #[error("timed out waiting for {what}{}", may_run_on(.still_running))]
    TimedOut { what: String, still_running: bool },
    /// A transfer moved no bytes for `secs` seconds.
    #[error("{what} stalled: no data moved for {secs} s")]
    Stalled { what: String, secs: u64 },
    /// A download location over plain http to a host that is not loopback:
    /// anyone on the path could swap what is downloaded.
    #[error(
        "refusing to download from {host} over plain http; use an https location (http is accepted only for loopback addresses)"
    )]
    InsecureDownload { host: String },
    /// A download failed; `host` is the location's host, never its query,
    /// which may carry a signed token.
    #[error("cannot download from {host}: {message}")]
    Download { host: String, message: String },
    /// An OVA whose files do not match its own manifest (`.mf`).
    #[error("the OVA does not match its manifest: {file}: {problem}")]
    Manifest { file: String, problem: String },
    /// A CA file that cannot be read or holds no PEM certificate.
    #[error("CA file {path}: {message}")]
    CaFile { path: String, message: String },
}

fn may_run_on(yes: &bool) -> &'static str {
    if *yes {
        "; it may still be running in vCenter"
    } else {
        ""
    }
}

fn hint_suffix(h: &Option<String>) -> String {
    h.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

fn api_suffix(kind: &Option<String>, message: &Option<String>) -> String {
    match (kind, message) {
        (Some(k), Some(m)) => format!(" {k}: {m}"),
        (Some(k), None) => format!(" {k}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

impl Error {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Classifies a vim_rs error from a call to `server` as `user`.
    pub(crate) fn from_vim(server: &str, user: &str, e: vim_rs::core::client::Error) -> Error {
        use vim_rs::core::client::Error as V;
        match e {
            V::MethodFault(f) => fault(server, user, &f),
            V::ReqwestError(r) => reqwest_error(server, &r),
            V::MissingOrInvalidSessionKey => Error::Fault {
                server: server.into(),
                fault: "NotAuthenticated".into(),
                detail: Some("the session expired or was never created".into()),
            },
            other => Error::Protocol {
                server: server.into(),
                message: other.to_string(),
            },
        }
    }
}

fn fault(server: &str, user: &str, f: &Arc<vim_rs::types::structs::MethodFault>) -> Error {
    match f.type_ {
        Some(StructType::InvalidLogin) => Error::InvalidLogin {
            server: server.into(),
            user: user.into(),
        },
        _ => Error::Fault {
            server: server.into(),
            fault: f
                .type_
                .map(|t| format!("{t:?}"))
                .unwrap_or_else(|| "MethodFault".into()),
            detail: f
                .fault_message
                .as_ref()
                .and_then(|m| m.first())
                .and_then(|m| m.message.clone()),
        },
    }
}

pub(crate) fn reqwest_error(server: &str, e: &reqwest::Error) -> Error {
    // The chain says what failed (DNS, refused, certificate); reqwest never
    // prints bodies or headers, so no credential can appear in it.
    let mut message = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        src = inner.source();
    }
    if e.is_connect() || e.is_timeout() {
        Error::Unreachable {
            server: server.into(),
            message,
        }
    } else {
        Error::Protocol {
            server: server.into(),
            message,
        }
    }
}
