//! Provider configuration: resolves the `provider "palette"` block and its
//! environment fallbacks into settings, checking all it can offline.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use schemas::provider::{
    check_endpoint, DEFAULT_ENDPOINT, DEFAULT_MAX_RETRIES, DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_RETRY_MAX_WAIT,
};
use serde::{Deserialize, Serialize};
use tfplugin::{Attr, AttrPath, Diagnostic, Diagnostics, Model, Type, Value};

/// The `provider "palette"` block as a model.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderModel {
    pub endpoint: Attr<String>,
    pub api_key: Attr<String>,
    pub project: Attr<String>,
    pub ca_file: Attr<String>,
    pub insecure: Attr<bool>,
    pub max_retries: Attr<i64>,
    pub retry_max_wait: Attr<String>,
    pub request_timeout: Attr<String>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub vcenter: Vec<ProviderVcenter>,
}

/// Written by hand so that no secret field reaches a log or a test's
/// failure message.
impl std::fmt::Debug for ProviderModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderModel")
            .field("endpoint", &self.endpoint)
            .field("project", &self.project)
            .field("ca_file", &self.ca_file)
            .field("insecure", &self.insecure)
            .field("max_retries", &self.max_retries)
            .field("retry_max_wait", &self.retry_max_wait)
            .field("request_timeout", &self.request_timeout)
            .field("vcenter", &self.vcenter)
            .finish_non_exhaustive()
    }
}

/// The provider's `vcenter` block.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderVcenter {
    pub server: Attr<String>,
    pub username: Attr<String>,
    pub password: Attr<String>,
    pub insecure: Attr<bool>,
    pub ca_file: Attr<String>,
}

/// Written by hand so that no secret field reaches a log or a test's
/// failure message.
impl std::fmt::Debug for ProviderVcenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderVcenter")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("insecure", &self.insecure)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl Model for ProviderModel {
    fn ty() -> Type {
        schemas::provider::schema().ty()
    }
}

/// A secret string: its Debug and Display never show the value, so it
/// cannot reach a log line or an error by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        let s = s.into();
        tfplugin::logging::register_secret(&s);
        Secret(s)
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct VcenterSettings {
    pub server: String,
    pub username: String,
    pub password: Secret,
    pub insecure: bool,
    /// PEM CA bundle for vCenter, checked readable at configure and read
    /// again at each login.
    pub ca_file: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub endpoint: String,
    pub api_key: Secret,
    pub project: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub max_retries: u32,
    pub retry_max_wait: Duration,
    pub request_timeout: Duration,
    pub vcenter: Option<VcenterSettings>,
}

/// Resolves settings from configuration and environment (given as a
/// function so tests need not touch the process environment).
pub fn resolve(
    config: &Value,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Settings, Diagnostics> {
    let mut d = Diagnostics::new();
    let config = ProviderModel::from_value(config).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Unexpected provider configuration",
            e.to_string(),
        ))
    })?;
    let from_env = |k: &str| env(k).filter(|v| !v.trim().is_empty());

    // The official provider's variables come after ours, so a pipeline
    // moving across keeps its secrets' names. SPECTROCLOUD_HOST is a host
    // name (its provider adds the scheme).
    let endpoint = config
        .endpoint
        .get()
        .or_else(|| from_env("PALETTE_ENDPOINT"))
        .or_else(|| {
            from_env("SPECTROCLOUD_HOST").map(|h| {
                if h.contains("://") {
                    h
                } else {
                    format!("https://{}", h.trim())
                }
            })
        })
        .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
    if let Err(e) = check_endpoint(&endpoint) {
        d.error_at(AttrPath::attr("endpoint"), "Invalid Palette endpoint", e);
    }
    let api_key = config
        .api_key
        .get()
        .or_else(|| from_env("PALETTE_API_KEY"))
        .or_else(|| from_env("SPECTROCLOUD_APIKEY"));
    if api_key.as_deref().is_none_or(|k| k.trim().is_empty()) {
        d.error_at(
            AttrPath::attr("api_key"),
            "Missing Palette API key",
            "Set `api_key` in the provider block or the PALETTE_API_KEY (or SPECTROCLOUD_APIKEY) environment variable. \
             Create a key in Palette under Tenant Settings > API Keys.",
        );
    }
    let ca_file = config.ca_file.get().map(PathBuf::from);
    let insecure = config.insecure.is_true();
    if insecure && ca_file.is_some() {
        d.error_at(
            AttrPath::attr("insecure"),
            "Conflicting TLS settings",
            "`insecure = true` skips certificate checks, which makes `ca_file` pointless. Set one of them.",
        );
    }
    if let Some(path) = &ca_file {
        match std::fs::read_to_string(path) {
            Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => {}
            Ok(_) => d.error_at(
                AttrPath::attr("ca_file"),
                "Invalid CA file",
                format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----).",
                    path.display()
                ),
            ),
            Err(e) => d.error_at(
                AttrPath::attr("ca_file"),
                "Cannot read CA file",
                format!("{}: {e}", path.display()),
            ),
        }
    }
    let max_retries = config
        .max_retries
        .get()
        .unwrap_or(DEFAULT_MAX_RETRIES)
        .clamp(0, 20) as u32;
    let mut duration =
        |name: &str, given: &Attr<String>, default: &str| match tfplugin::duration::parse(
            given.as_str().unwrap_or(default),
        ) {
            Ok(v) => v,
            Err(e) => {
                d.error_at(AttrPath::attr(name), "Invalid duration", e);
                Duration::ZERO
            }
        };
    let retry_max_wait = duration(
        "retry_max_wait",
        &config.retry_max_wait,
        DEFAULT_RETRY_MAX_WAIT,
    );
    let request_timeout = duration(
        "request_timeout",
        &config.request_timeout,
        DEFAULT_REQUEST_TIMEOUT,
    );

    let vcenter = match config.vcenter.first() {
        Some(vc) => {
            let password = vc.password.get().or_else(|| from_env("VSPHERE_PASSWORD"));
            let at = |name: &str| AttrPath::attr("vcenter").then_index(0).then_attr(name);
            let vc_insecure = vc.insecure.is_true();
            let vc_ca_file = vc.ca_file.get().map(PathBuf::from);
            if vc_insecure && vc_ca_file.is_some() {
                d.error_at(
                    at("insecure"),
                    "Conflicting vCenter TLS settings",
                    "`insecure = true` skips vCenter's certificate checks, which makes `ca_file` pointless. Set one of them.",
                );
            } else if let Some(path) = &vc_ca_file {
                if let Err(e) = vsphere::session::read_ca_file(path) {
                    d.error_at(at("ca_file"), "Invalid vCenter CA file", e.to_string());
                }
            }
            Some(VcenterSettings {
                server: vc.server.or_default(),
                username: vc.username.or_default(),
                password: Secret::new(password.unwrap_or_default()),
                insecure: vc_insecure,
                ca_file: vc_ca_file,
            })
        }
        None => None,
    };

    let project = config.project.get().or_else(|| from_env("PALETTE_PROJECT"));
    if d.has_errors() {
        return Err(d);
    }
    Ok(Settings {
        endpoint: endpoint.trim_end_matches('/').to_string(),
        api_key: Secret::new(api_key.unwrap_or_default()),
        project,
        ca_file,
        insecure,
        max_retries,
        retry_max_wait,
        request_timeout,
        vcenter,
    })
}

#[cfg(test)]
mod model_tests {
    #[test]
    fn the_model_matches_the_provider_schema() {
        tfplugin::model::check_model::<super::ProviderModel>(&schemas::provider::schema().block)
            .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::null_object(&schemas::provider::schema().ty());
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn environment_fills_what_config_leaves_out() {
        let env = |k: &str| match k {
            "PALETTE_API_KEY" => Some("k-123".to_string()),
            "PALETTE_ENDPOINT" => Some("http://127.0.0.1:8080/".to_string()),
            _ => None,
        };
        let s = resolve(&cfg(&[]), env).unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:8080");
        assert_eq!(s.api_key.expose(), "k-123");
        assert_eq!(s.max_retries, 5);
        assert_eq!(s.request_timeout, Duration::from_secs(60));
    }

    #[test]
    fn the_official_providers_variables_come_after_ours() {
        let official = |k: &str| match k {
            "SPECTROCLOUD_APIKEY" => Some("official-key".to_string()),
            "SPECTROCLOUD_HOST" => Some("palette.example.com".to_string()),
            _ => None,
        };
        let s = resolve(&cfg(&[]), official).unwrap();
        assert_eq!(s.endpoint, "https://palette.example.com");
        assert_eq!(s.api_key.expose(), "official-key");

        let both = |k: &str| match k {
            "PALETTE_API_KEY" => Some("ours".to_string()),
            "PALETTE_ENDPOINT" => Some("https://ours.example.com".to_string()),
            other => official(other),
        };
        let s = resolve(&cfg(&[]), both).unwrap();
        assert_eq!(s.endpoint, "https://ours.example.com");
        assert_eq!(s.api_key.expose(), "ours");

        // A host given with a scheme is taken as it is, and checked.
        let plain = |k: &str| match k {
            "SPECTROCLOUD_APIKEY" => Some("k".to_string()),
            "SPECTROCLOUD_HOST" => Some("http://palette.example.com".to_string()),
            _ => None,
        };
        let e = resolve(&cfg(&[]), plain).unwrap_err();
        assert!(e.to_string().contains("unencrypted"), "{e}");
    }

    #[test]
    fn missing_key_and_bad_endpoint_are_reported_with_paths() {
        let e = resolve(&cfg(&[("endpoint", "ftp://x".into())]), no_env).unwrap_err();
        let paths: Vec<String> = e
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
            .collect();
        assert_eq!(paths, vec!["endpoint", "api_key"]);
    }

    #[test]
    fn insecure_conflicts_with_ca_file() {
        let e = resolve(
            &cfg(&[
                ("api_key", "k".into()),
                ("insecure", true.into()),
                ("ca_file", "/nonexistent".into()),
            ]),
            no_env,
        )
        .unwrap_err();
        assert!(e.iter().any(|d| d.summary == "Conflicting TLS settings"));
        assert!(e.iter().any(|d| d.summary == "Cannot read CA file"));
    }

    #[test]
    fn endpoint_from_the_environment_is_checked_too() {
        // PALETTE_ENDPOINT never passes the schema's validators, so the
        // configure-time check is the only one it meets.
        for (endpoint, why) in [
            ("http://palette.example.com", "unencrypted"),
            (
                "https://ops:s3cr3t-pw@palette.example.com",
                "user name or password",
            ),
        ] {
            let env = |k: &str| match k {
                "PALETTE_API_KEY" => Some("k".to_string()),
                "PALETTE_ENDPOINT" => Some(endpoint.to_string()),
                _ => None,
            };
            let e = resolve(&cfg(&[]), env).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(why), "{text}");
            assert!(!text.contains("s3cr3t-pw"), "{text}");
            assert_eq!(e.0[0].attribute.as_ref().unwrap().to_string(), "endpoint");
        }
    }

    fn vcenter(pairs: &[(&str, Value)]) -> Value {
        let block = schemas::provider::vcenter_block();
        let mut vc = Value::null_object(&block.ty());
        vc.set_attr("server", "vc.example.com".into());
        vc.set_attr("username", "u".into());
        for (k, x) in pairs {
            vc.set_attr(k, x.clone());
        }
        Value::List(vec![vc])
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.iter()
            .filter_map(|d| d.attribute.as_ref().map(|p| p.to_string()))
            .collect()
    }

    #[test]
    fn vcenter_ca_file_conflicts_with_insecure() {
        let e = resolve(
            &cfg(&[
                ("api_key", "k".into()),
                (
                    "vcenter",
                    vcenter(&[("insecure", true.into()), ("ca_file", "/ca.pem".into())]),
                ),
            ]),
            no_env,
        )
        .unwrap_err();
        assert_eq!(paths(&e), vec!["vcenter[0].insecure"]);
        assert!(e
            .iter()
            .any(|d| d.summary == "Conflicting vCenter TLS settings"));
    }

    #[test]
    fn vcenter_ca_file_is_read_at_configure() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let not_pem = dir.path().join("key.txt");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        for (file, says) in [
            (&missing, "cannot read it"),
            (&not_pem, "no PEM certificate"),
        ] {
            let e = resolve(
                &cfg(&[
                    ("api_key", "k".into()),
                    (
                        "vcenter",
                        vcenter(&[("ca_file", file.display().to_string().into())]),
                    ),
                ]),
                no_env,
            )
            .unwrap_err();
            assert_eq!(paths(&e), vec!["vcenter[0].ca_file"]);
            let detail = &e.iter().next().unwrap().detail;
            assert!(detail.contains(&file.display().to_string()), "{detail}");
            assert!(detail.contains(says), "{detail}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let s = resolve(&cfg(&[("api_key", "super-secret-key".into())]), no_env).unwrap();
        assert!(!format!("{s:?}").contains("super-secret-key"));
    }
}
