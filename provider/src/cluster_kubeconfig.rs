//! `ephemeral "palette_cluster_kubeconfig"`: a cluster's kubeconfig, opened
//! when a run needs it (Terraform 1.10+) and never stored, with the fields a
//! kubernetes or helm provider block takes.
//!
//! Parsing is pure and tested here; the open only looks the cluster up
//! (the cluster resource's own helpers, so a name means the same thing
//! in both) and fetches the kubeconfig.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tfplugin::{
    Attr, AttrPath, Ctx, Diagnostic, Diagnostics, EphemeralResource, Model, Opened, Schema, Type,
    Value,
};

use crate::cluster::{find_by_name, get_cluster};
use crate::shared::{api_diag, Shared};

pub struct ClusterKubeconfig {
    pub shared: Arc<Shared>,
}

// ---------------------------------------------------------------------------
// The kubeconfig (pure)

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
struct Kubeconfig {
    clusters: Vec<Named<ClusterEntry>>,
    contexts: Vec<Named<ContextEntry>>,
    users: Vec<Named<UserEntry>>,
    current_context: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "context", alias = "user")]
    item: T,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
struct ClusterEntry {
    server: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: Option<bool>,
    tls_server_name: Option<String>,
    proxy_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContextEntry {
    cluster: String,
    user: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
struct UserEntry {
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    exec: Option<serde_norway::Value>,
    auth_provider: Option<serde_norway::Value>,
}

/// What a kubeconfig gives a kubernetes or helm provider block.
#[derive(Default, PartialEq, Eq)]
pub struct Access {
    pub host: String,
    pub cluster_ca_certificate: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub insecure: bool,
    pub tls_server_name: Option<String>,
    pub proxy_url: Option<String>,
    /// The user's credentials come from a plugin (`exec`, `auth-provider`)
    /// the fields above cannot carry.
    pub plugin: Option<&'static str>,
}

/// Not derived: the key, token and password are the cluster's credentials.
impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Access")
            .field("host", &self.host)
            .field("cluster_ca_certificate", &self.cluster_ca_certificate)
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &hidden(&self.client_key))
            .field("token", &hidden(&self.token))
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("insecure", &self.insecure)
            .field("tls_server_name", &self.tls_server_name)
            .field("proxy_url", &self.proxy_url)
            .field("plugin", &self.plugin)
            .finish()
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// `*-data` fields are base64 of PEM text; the text is what provider blocks take.
fn decode_data(field: &str, v: Option<String>) -> Result<Option<String>, String> {
    let Some(b64) = non_empty(v) else {
        return Ok(None);
    };
    let compact: String = b64.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| format!("its `{field}` is not base64"))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| format!("its `{field}` does not decode to PEM text"))
}

/// Picks the entries a client would use — those of `current-context`, or
/// of the only context, or the only cluster and user when there are no
/// contexts — and returns what they hold. The error says what is missing,
/// never a value.
pub fn parse(text: &str) -> Result<Access, String> {
    if text.trim().is_empty() {
        return Err("it is empty".into());
    }
    let k: Kubeconfig = serde_norway::from_str(text)
        .map_err(|_| "it is not a kubeconfig (YAML) file".to_string())?;
    let current = non_empty(k.current_context.clone());
    let context = match &current {
        Some(name) => Some(
            k.contexts
                .iter()
                .find(|c| &c.name == name)
                .ok_or_else(|| format!("its current-context {name:?} names no context entry"))?,
        ),
        None if k.contexts.len() == 1 => k.contexts.first(),
        None if k.contexts.is_empty() => None,
        None => return Err("it has several contexts and no current-context".into()),
    };
    let cluster = match context {
        Some(c) => k
            .clusters
            .iter()
            .find(|e| e.name == c.item.cluster)
            .ok_or_else(|| format!("it has no cluster entry named {:?}", c.item.cluster))?,
        None => only(&k.clusters, "cluster")?,
    };
    let user = match context {
        Some(c) => k
            .users
            .iter()
            .find(|e| e.name == c.item.user)
            .ok_or_else(|| format!("it has no user entry named {:?}", c.item.user))?,
        None => only(&k.users, "user")?,
    };
    let host = non_empty(cluster.item.server.clone())
        .ok_or_else(|| format!("its cluster entry {:?} has no server", cluster.name))?;
    let u = &user.item;
    let plugin = if u.exec.is_some() {
        Some("exec")
    } else if u.auth_provider.is_some() {
        Some("auth-provider")
    } else {
        None
    };
    Ok(Access {
        host,
        cluster_ca_certificate: decode_data(
            "certificate-authority-data",
            cluster.item.certificate_authority_data.clone(),
        )?,
        client_certificate: decode_data(
            "client-certificate-data",
            u.client_certificate_data.clone(),
        )?,
        client_key: decode_data("client-key-data", u.client_key_data.clone())?,
        token: non_empty(u.token.clone()),
        username: non_empty(u.username.clone()),
        password: non_empty(u.password.clone()),
        insecure: cluster.item.insecure_skip_tls_verify.unwrap_or(false),
        tls_server_name: non_empty(cluster.item.tls_server_name.clone()),
        proxy_url: non_empty(cluster.item.proxy_url.clone()),
        plugin,
    })
}

fn only<'a, T>(entries: &'a [Named<T>], what: &str) -> Result<&'a Named<T>, String> {
    match entries {
        [one] => Ok(one),
        [] => Err(format!("it has no {what} entry")),
        _ => Err(format!(
            "it has several {what} entries and no context to choose one"
        )),
    }
}

/// The ephemeral resource's model.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeconfigModel {
    pub cluster_id: Attr<String>,
    pub name: Attr<String>,
    pub context: Attr<String>,
    pub kubeconfig: Attr<String>,
    pub host: Attr<String>,
    pub cluster_ca_certificate: Attr<String>,
    pub client_certificate: Attr<String>,
    pub client_key: Attr<String>,
    pub token: Attr<String>,
    pub username: Attr<String>,
    pub password: Attr<String>,
    pub insecure: Attr<bool>,
    pub tls_server_name: Attr<String>,
    pub proxy_url: Attr<String>,
}

/// Written by hand so that no secret field reaches a log or a test's
/// failure message.
impl std::fmt::Debug for KubeconfigModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeconfigModel")
            .field("cluster_id", &self.cluster_id)
            .field("name", &self.name)
            .field("context", &self.context)
            .field("host", &self.host)
            .field("insecure", &self.insecure)
            .field("tls_server_name", &self.tls_server_name)
            .field("proxy_url", &self.proxy_url)
            .finish_non_exhaustive()
    }
}

impl Model for KubeconfigModel {
    fn ty() -> Type {
        schemas::cluster_kubeconfig::schema().ty()
    }
}

fn decode(config: &Value) -> Result<KubeconfigModel, Diagnostics> {
    KubeconfigModel::from_value(config)
        .map_err(|e| Diagnostic::error("Unexpected configuration value", e.to_string()).into())
}

/// The ephemeral resource's result: the configuration, what was found,
/// and the kubeconfig's fields.
pub fn result(config: &KubeconfigModel, uid: &str, name: &str, text: &str, a: &Access) -> Value {
    KubeconfigModel {
        cluster_id: uid.into(),
        name: name.into(),
        context: config.context.clone(),
        kubeconfig: text.into(),
        host: a.host.as_str().into(),
        cluster_ca_certificate: a.cluster_ca_certificate.clone().into(),
        client_certificate: a.client_certificate.clone().into(),
        client_key: a.client_key.clone().into(),
        token: a.token.clone().into(),
        username: a.username.clone().into(),
        password: a.password.clone().into(),
        insecure: a.insecure.into(),
        tls_server_name: a.tls_server_name.clone().into(),
        proxy_url: a.proxy_url.clone().into(),
    }
    .to_value()
}

/// Exactly one of `cluster_id` and `name` (an unknown value counts as set:
/// it will be).
pub fn check_config(config: &KubeconfigModel) -> Diagnostics {
    let mut d = Diagnostics::new();
    let (id, name) = (&config.cluster_id, &config.name);
    match (id.is_null(), name.is_null()) {
        (true, true) => d.error_at(
            AttrPath::attr("cluster_id"),
            "Which cluster?",
            "Set `cluster_id` (for example `palette_cluster_vsphere.apps.id`) or `name`.",
        ),
        (false, false) => d.error_at(
            AttrPath::attr("name"),
            "Both cluster_id and name",
            "Set only one of `cluster_id` and `name`: they would name the cluster twice.",
        ),
        _ => {}
    }
    d
}

/// Why there is no kubeconfig for a cluster that exists.
pub fn no_kubeconfig(uid: &str, name: &str, state: &str) -> Diagnostic {
    if state == "Running" {
        Diagnostic::error(
            "No kubeconfig",
            format!(
                "Cluster {name:?} ({uid}) is Running, but Palette has no kubeconfig for it. Try again in a \
                 minute; if it persists, look at the cluster in Palette."
            ),
        )
    } else {
        let state = if state.is_empty() {
            "not Running"
        } else {
            state
        };
        Diagnostic::error(
            "Cluster not running yet",
            format!(
                "Cluster {name:?} ({uid}) is {state}: Palette gives a kubeconfig once its control plane is \
                 up. When the cluster is managed in this configuration, refer to it as \
                 `palette_cluster_vsphere.NAME.id` so that Terraform opens this after the cluster runs."
            ),
        )
    }
}

// ---------------------------------------------------------------------------
// Palette calls

impl ClusterKubeconfig {
    /// The cluster's uid and name, from either the uid or the name.
    async fn locate(
        &self,
        client: &palette_api::client::Client,
        config: &KubeconfigModel,
        ctx: &Ctx,
    ) -> Result<(String, String, String), Diagnostics> {
        let scope = match config.context.as_str() {
            Some("tenant") => "the tenant",
            _ => "the provider's project",
        };
        let (uid, at) = match config.cluster_id.as_str() {
            Some(uid) => (uid.to_string(), "cluster_id"),
            None => {
                let name = config.name.str();
                let uids = find_by_name(client, name, ctx)
                    .await
                    .map_err(|e| api_diag("Cannot search clusters", &e))?;
                match uids.as_slice() {
                    [one] => (one.clone(), "name"),
                    [] => {
                        return Err(Diagnostic::error(
                            "Cluster not found",
                            format!("No cluster is named {name:?} in {scope}."),
                        )
                        .at(AttrPath::attr("name"))
                        .into())
                    }
                    many => {
                        return Err(Diagnostic::error(
                            "Ambiguous cluster name",
                            format!(
                                "{} clusters are named {name:?} in {scope} ({}); use `cluster_id`.",
                                many.len(),
                                many.join(", ")
                            ),
                        )
                        .at(AttrPath::attr("name"))
                        .into())
                    }
                }
            }
        };
        let cluster = get_cluster(client, &uid, ctx)
            .await
            .map_err(|e| api_diag(&format!("Cannot read cluster {uid}"), &e))?
            .ok_or_else(|| {
                Diagnostics::from(
                    Diagnostic::error(
                        "Cluster not found",
                        format!("No cluster has uid {uid:?} in {scope} (or it was deleted)."),
                    )
                    .at(AttrPath::attr(at)),
                )
            })?;
        let name = cluster
            .metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .unwrap_or_default();
        let state = cluster
            .status
            .as_ref()
            .and_then(|s| s.state.clone())
            .unwrap_or_default();
        Ok((uid, name, state))
    }
}

#[async_trait]
impl EphemeralResource for ClusterKubeconfig {
    fn type_name(&self) -> &'static str {
        schemas::cluster_kubeconfig::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::cluster_kubeconfig::schema()
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        match decode(config) {
            Ok(config) => check_config(&config),
            Err(d) => d,
        }
    }

    async fn open(&self, config: &Value, ctx: &Ctx) -> Opened {
        let config = match decode(config) {
            Ok(c) => c,
            Err(d) => return Opened::failed(d),
        };
        let d = check_config(&config);
        if d.has_errors() {
            return Opened::failed(d);
        }
        let context = config.context.as_str().unwrap_or("project");
        let client = match self.shared.scoped(context) {
            Ok(c) => c,
            Err(d) => return Opened::failed(d),
        };
        let (uid, name, state) = match self.locate(&client, &config, ctx).await {
            Ok(found) => found,
            Err(d) => return Opened::failed(d),
        };
        let text = match client
            .get_text(
                &format!("/v1/spectroclusters/{uid}/assets/kubeconfig"),
                &ctx.cancel,
            )
            .await
        {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                return Opened::failed(no_kubeconfig(&uid, &name, &state))
            }
            Err(e) => {
                return Opened::failed(api_diag(
                    &format!("Cannot read the kubeconfig of cluster {uid}"),
                    &e,
                ))
            }
        };
        // Before anything could log them.
        tfplugin::logging::register_kubeconfig(&text);
        let access = match parse(&text) {
            Ok(a) => a,
            Err(why) => {
                return Opened::failed(Diagnostic::error(
                    "Unusable kubeconfig",
                    format!(
                        "Palette's kubeconfig of cluster {name:?} ({uid}) cannot be used: {why}."
                    ),
                ))
            }
        };
        for secret in [&access.client_key, &access.token, &access.password]
            .into_iter()
            .flatten()
        {
            tfplugin::logging::register_secret(secret);
        }
        let mut opened = Opened::ok(result(&config, &uid, &name, &text, &access));
        if let Some(plugin) = access.plugin {
            opened.diags.push(Diagnostic::warning(
                "Credentials from a plugin",
                format!(
                    "The kubeconfig of cluster {name:?} gets its user's credentials from an `{plugin}` plugin, \
                     which client_certificate, client_key and token cannot carry: configure the kubernetes or \
                     helm provider's own `exec` block, or use `kubeconfig` as a whole."
                ),
            ));
        }
        opened
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn the_model_matches_the_schema() {
        tfplugin::model::check_model::<KubeconfigModel>(
            &schemas::cluster_kubeconfig::schema().block,
        )
        .unwrap();
    }

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBfake-ca\n-----END CERTIFICATE-----\n";
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBfake-client\n-----END CERTIFICATE-----\n";
    const KEY: &str =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEfake-key\n-----END RSA PRIVATE KEY-----\n";

    fn admin_kubeconfig() -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://10.0.0.9:6443\n\
             - name: apps\n  cluster:\n    server: https://10.10.183.50:6443\n    certificate-authority-data: {ca}\n\
             contexts:\n- name: other-admin@other\n  context:\n    cluster: other\n    user: other-admin\n\
             - name: apps-admin@apps\n  context:\n    cluster: apps\n    user: apps-admin\n\
             current-context: apps-admin@apps\n\
             users:\n- name: other-admin\n  user:\n    token: not-this-one\n\
             - name: apps-admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
            ca = STANDARD.encode(CA),
            cert = STANDARD.encode(CERT),
            key = STANDARD.encode(KEY),
        )
    }

    #[test]
    fn the_current_context_gives_host_ca_and_client_certificate() {
        let a = parse(&admin_kubeconfig()).unwrap();
        assert_eq!(a.host, "https://10.10.183.50:6443");
        assert_eq!(a.cluster_ca_certificate.as_deref(), Some(CA));
        assert_eq!(a.client_certificate.as_deref(), Some(CERT));
        assert!(a.client_key.as_deref() == Some(KEY));
        assert!(a.token.is_none() && a.username.is_none() && a.password.is_none());
        assert!(!a.insecure);
        assert_eq!(a.plugin, None);
    }

    #[test]
    fn a_token_kubeconfig_without_ca_is_insecure() {
        let text = "clusters:\n- name: c\n  cluster:\n    server: https://192.0.2.10:6443\n    insecure-skip-tls-verify: true\n\
                    contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n\
                    users:\n- name: u\n  user:\n    token: abc.def\n";
        let a = parse(text).unwrap();
        assert!(a.insecure);
        assert!(a.token.as_deref() == Some("abc.def"));
        assert_eq!(a.cluster_ca_certificate, None);
        assert_eq!(a.client_certificate, None);
    }

    #[test]
    fn without_contexts_the_only_cluster_and_user_are_used() {
        let text = "clusters:\n- name: c\n  cluster:\n    server: https://h:6443\n    tls-server-name: api.apps\n    proxy-url: http://proxy:3128\n\
                    users:\n- name: u\n  user:\n    username: admin\n    password: pw\n";
        let a = parse(text).unwrap();
        assert_eq!(a.host, "https://h:6443");
        assert_eq!(a.tls_server_name.as_deref(), Some("api.apps"));
        assert_eq!(a.proxy_url.as_deref(), Some("http://proxy:3128"));
        assert_eq!(a.username.as_deref(), Some("admin"));
        assert!(a.password.as_deref() == Some("pw"));
    }

    #[test]
    fn exec_credentials_are_flagged() {
        let text = "clusters:\n- name: c\n  cluster: {server: https://h:6443}\n\
                    users:\n- name: u\n  user:\n    exec:\n      command: kubelogin\n";
        assert_eq!(parse(text).unwrap().plugin, Some("exec"));
    }

    #[test]
    fn missing_entries_are_named_and_values_never_shown() {
        let cases = [
            ("", "it is empty"),
            ("kind: Config\n", "no cluster entry"),
            ("clusters: []\nusers:\n- name: u\n  user: {token: s3cr3t-token}\n", "no cluster entry"),
            ("clusters:\n- name: c\n  cluster: {server: https://h}\nusers: []\n", "no user entry"),
            (
                "clusters:\n- name: c\n  cluster: {server: https://h}\ncontexts:\n- name: x\n  context: {cluster: c, user: gone}\n\
                 current-context: x\nusers:\n- name: u\n  user: {token: s3cr3t-token}\n",
                "no user entry named \"gone\"",
            ),
            (
                "clusters:\n- name: c\n  cluster: {server: https://h}\ncurrent-context: y\nusers:\n- name: u\n  user: {token: s3cr3t-token}\n",
                "current-context \"y\" names no context entry",
            ),
            (
                "clusters:\n- name: c\n  cluster: {certificate-authority-data: '%%%'}\nusers:\n- name: u\n  user: {token: s3cr3t-token}\n",
                "has no server",
            ),
            (
                "clusters:\n- name: c\n  cluster: {server: https://h, certificate-authority-data: 'not base64!'}\nusers:\n- name: u\n  user: {token: s3cr3t-token}\n",
                "`certificate-authority-data` is not base64",
            ),
            ("token: s3cr3t-token: [\n", "not a kubeconfig"),
        ];
        for (text, want) in cases {
            let err = parse(text).expect_err(want);
            assert!(err.contains(want), "{want:?} not in {err:?}");
            assert!(!err.contains("s3cr3t"), "a value leaked into {err:?}");
        }
    }

    #[test]
    fn access_debug_hides_credentials() {
        let shown = format!("{:?}", parse(&admin_kubeconfig()).unwrap());
        assert!(!shown.contains("fake-key"), "{shown}");
        assert!(shown.contains("10.10.183.50"));
    }

    #[test]
    fn exactly_one_of_id_and_name() {
        let ty = schemas::cluster_kubeconfig::schema().ty();
        let with = |pairs: &[(&str, Value)]| {
            let mut v = Value::null_object(&ty);
            for (k, x) in pairs {
                v.set_attr(k, x.clone());
            }
            check_config(&decode(&v).unwrap())
        };
        assert!(with(&[]).has_errors());
        assert!(with(&[("cluster_id", "u".into()), ("name", "n".into())]).has_errors());
        assert!(!with(&[("cluster_id", "u".into())]).has_errors());
        assert!(!with(&[("name", "n".into())]).has_errors());
        assert!(!with(&[("cluster_id", Value::Unknown)]).has_errors());
    }

    #[test]
    fn no_kubeconfig_says_why() {
        let d = no_kubeconfig("u1", "apps", "Provisioning");
        assert_eq!(d.summary, "Cluster not running yet");
        assert!(d.detail.contains("Provisioning"));
        assert_eq!(
            no_kubeconfig("u1", "apps", "Running").summary,
            "No kubeconfig"
        );
    }

    #[test]
    fn result_matches_the_schema() {
        let a = parse(&admin_kubeconfig()).unwrap();
        let ty = schemas::cluster_kubeconfig::schema().ty();
        let mut config = Value::null_object(&ty);
        config.set_attr("name", "apps".into());
        let v = result(&decode(&config).unwrap(), "u1", "apps", "text", &a);
        tfplugin::codec::to_msgpack(&v, &ty).expect("the result encodes with the schema's type");
        assert_eq!(v.get("client_key").as_str(), Some(KEY));
        assert!(v.get("token").is_null());
    }
}
