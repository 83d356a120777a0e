//! `palette_cloud_account_vsphere` and its data source: schema use,
//! plan-time checks, CRUD with lookup-by-name after an ambiguous POST,
//! import by uid or name, drift.

use std::sync::Arc;

use async_trait::async_trait;
use palette_api::client::{Client, Error as ApiError};
use palette_api::models::{V1Uid, V1VsphereAccount, V1VsphereAccounts};
use tfplugin::{
    ApplyRequest, ApplyResult, Attr, AttrPath, Ctx, DataSource, Diagnostic, Diagnostics, Imported,
    Model, PlanRequest, PlanResponse, ReadResult, Resource, Schema, Value,
};

pub mod model;
pub use model::{CloudAccountDataModel, CloudAccountModel, PasswordForms};

use crate::shared::{api_diag, other_cloud, read_failed, wrong_kind, Shared};

const ACCOUNTS: &str = "/v1/cloudaccounts/vsphere";

pub struct CloudAccount {
    pub shared: Arc<Shared>,
}

fn decode(v: &Value) -> Result<CloudAccountModel, Diagnostics> {
    CloudAccountModel::from_value(v).map_err(|e| {
        Diagnostic::error(
            "Unexpected cloud account value",
            format!("The provider cannot read this value: {e}"),
        )
        .into()
    })
}

fn state_from(a: &V1VsphereAccount, context: &str, prior: &CloudAccountModel) -> Value {
    CloudAccountModel::from_account(a, context, prior).to_value()
}

/// Plan-time rules for the two forms of the vCenter password in `block`
/// (the account's configuration, or the gateway's `vcenter` block at `at`):
/// exactly one of `password` and `password_wo`, and `password_wo_version`
/// only with `password_wo`; with `required`, one of them at all. An unknown
/// value will be set, so it counts as set; the diagnostics name the
/// attribute, never a value.
pub fn check_password_forms(
    block: &impl PasswordForms,
    at: &AttrPath,
    required: bool,
    d: &mut Diagnostics,
) {
    let (plain, wo, version) = (
        !block.password().is_null(),
        !block.password_wo().is_null(),
        !block.password_wo_version().is_null(),
    );
    if plain && wo {
        d.error_at(
            at.then_attr("password_wo"),
            "Two vCenter passwords",
            "Set `password` or `password_wo`, not both. `password` works with every Terraform and is kept \
             in state (marked sensitive); `password_wo` needs Terraform 1.11 or later and is never stored.",
        );
    } else if required && !plain && !wo {
        d.error_at(
            at.then_attr("password"),
            "No vCenter password",
            "Set `password` (any Terraform; kept in state, marked sensitive) or `password_wo` with \
             `password_wo_version` (Terraform 1.11 or later; never stored in plan or state).",
        );
    }
    if version && !wo {
        d.error_at(
            at.then_attr("password_wo_version"),
            "Version without a write-only password",
            "`password_wo_version` says when to send `password_wo` again, and means nothing without it. \
             Remove it, or give the password as `password_wo` instead of `password`.",
        );
    }
}

/// Palette takes an account (new, or changed in any way) only with its
/// vCenter password, which it checks by logging in: a plan that creates,
/// replaces or changes the account without `password` or `password_wo` is
/// refused now rather than by Palette during apply. A plan that changes
/// nothing needs none.
fn missing_password(
    config: &CloudAccountModel,
    req: &PlanRequest,
    resp: &PlanResponse,
) -> Option<tfplugin::Diagnostic> {
    if !config.password.is_null() || !config.password_wo.is_null() {
        return None;
    }
    let creating = req.prior.is_null() || !resp.requires_replace.is_empty();
    let why = if creating {
        "Creating the account sends its vCenter password to Palette."
    } else if !resp.state.semantically_equal(&req.prior) {
        "Palette takes a change to an account only with its vCenter password, which it checks by logging in \
         (it never returns the password, so an imported account has none in state)."
    } else {
        return None;
    };
    Some(
        tfplugin::Diagnostic::error(
            "No vCenter password",
            format!(
                "{why} Set `password` (any Terraform; kept in state, marked sensitive) or `password_wo` with \
                 `password_wo_version` (Terraform 1.11 or later; never stored in plan or state)."
            ),
        )
        .at(AttrPath::attr("password")),
    )
}

fn uid_of(a: &V1VsphereAccount) -> Option<&str> {
    a.metadata.as_ref().and_then(|m| m.uid.as_deref())
}

fn name_of(a: &V1VsphereAccount) -> Option<&str> {
    a.metadata.as_ref().and_then(|m| m.name.as_deref())
}

/// The context an account read from Palette is in, from its annotations.
fn context_of(a: &V1VsphereAccount, asked: &str) -> String {
    a.metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|an| an.get("scope"))
        .cloned()
        .filter(|s| s == "tenant" || s == "project")
        .unwrap_or_else(|| asked.to_string())
}

/// `/v1/cloudaccounts/vsphere/{uid}` answers only for vSphere accounts (a
/// uid of another cloud is a 404 there, as Palette's typed endpoints are).
/// An answer whose `kind` still names another cloud is refused all the
/// same: state must never claim an account this resource does not manage.
pub fn check_kind(a: &V1VsphereAccount) -> Result<(), Diagnostics> {
    match other_cloud(a.kind.as_deref()) {
        None => Ok(()),
        Some(cloud) => Err(Diagnostic::error(
            "Not a vSphere cloud account",
            format!(
                "{} palette_cloud_account_vsphere manages vSphere accounts only; nothing was changed.",
                wrong_kind(
                    uid_of(a).unwrap_or("?"),
                    Some(&cloud),
                    "cloud account",
                    name_of(a),
                    "a vSphere account"
                )
            ),
        )
        .into()),
    }
}

async fn get(client: &Client, uid: &str, ctx: &Ctx) -> Result<Option<V1VsphereAccount>, ApiError> {
    match client.get(&format!("{ACCOUNTS}/{uid}"), &ctx.cancel).await {
        Ok(a) => Ok(Some(a)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn find_by_name(
    client: &Client,
    name: &str,
    ctx: &Ctx,
) -> Result<Vec<V1VsphereAccount>, ApiError> {
    let list: V1VsphereAccounts = client.get(ACCOUNTS, &ctx.cancel).await?;
    Ok(list
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(|a| name_of(a) == Some(name))
        .collect())
}

#[async_trait]
impl Resource for CloudAccount {
    fn type_name(&self) -> &'static str {
        schemas::cloud_account::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::cloud_account::schema()
    }

    fn move_sources(&self) -> Vec<tfplugin::MoveSource> {
        vec![crate::official::ACCOUNT]
    }

    async fn move_state(
        &self,
        req: &tfplugin::MoveRequest,
    ) -> Result<(Value, Diagnostics), Diagnostics> {
        crate::official::moved(req, &self.schema())
    }

    fn identity_schema(&self) -> Option<tfplugin::IdentitySchema> {
        Some(schemas::identity::cloud_account())
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        crate::identity::ScopedIdentity::import_id(identity, "vSphere cloud account")
    }

    /// The password is required only where the plan sends it (see
    /// `modify_plan`): an adopted account, whose password Palette never
    /// returns, plans clean without one.
    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        if let Ok(config) = CloudAccountModel::from_value(config) {
            check_password_forms(&config, &AttrPath::root(), false, &mut d);
        }
        d
    }

    async fn modify_plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        if req.proposed.is_null() {
            return;
        }
        let Ok(config) = CloudAccountModel::from_value(&req.config) else {
            return;
        };
        if let Some(problem) = missing_password(&config, req, resp) {
            resp.diags.push(problem);
        }
        // A project account needs a project: say so now, not after a POST
        // that would silently create it at tenant level.
        let has_project = self
            .shared
            .settings
            .read()
            .expect("settings lock")
            .as_ref()
            .map(|s| s.project.is_some());
        if config.context() == "project" && has_project == Some(false) {
            resp.diags.error_at(
                AttrPath::attr("context"),
                "No project for a project account",
                "`context = \"project\"` (the default) needs the provider's `project` (or PALETTE_PROJECT), \
                 for example project = \"Default\". Set it, or set context = \"tenant\" to share the account \
                 with every project.",
            );
        }
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let (planned, config) = match (decode(&req.planned), decode(&req.config)) {
            (Ok(p), Ok(c)) => (p, c),
            (Err(d), _) | (_, Err(d)) => return ApplyResult::failed(Value::Null, d),
        };
        let ctxt = planned.context();
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(Value::Null, d),
        };
        let name = planned.name.or_default();
        let created: Result<V1Uid, ApiError> = client
            .post(ACCOUNTS, &planned.body(&config), &ctx.cancel)
            .await;
        let uid = match created {
            Ok(u) => u.uid.unwrap_or_default(),
            Err(ApiError::Ambiguous { message }) => {
                tracing::warn!(%message, "account creation outcome unknown; looking it up by name");
                match find_by_name(&client, &name, ctx).await {
                    Ok(found) => match found.first().and_then(uid_of) {
                        Some(uid) => uid.to_string(),
                        None => {
                            return ApplyResult::failed(
                                Value::Null,
                                Diagnostic::error(
                                    "Cloud account not created",
                                    format!("The request to create {name:?} got no answer ({message}), and no such account exists; it is safe to apply again."),
                                ),
                            )
                        }
                    },
                    Err(e) => {
                        return ApplyResult::failed(
                            Value::Null,
                            api_diag("Cannot confirm the cloud account's creation", &e),
                        )
                    }
                }
            }
            Err(e) => {
                let d = match &e {
                    ApiError::Validation { .. } => Diagnostic::error(
                        "Palette refused the vSphere account",
                        format!("{e}. Check vcenter_server, username and password (and insecure for a self-signed vCenter certificate)."),
                    )
                    .into(),
                    _ => api_diag("Cannot create vSphere cloud account", &e),
                };
                return ApplyResult::failed(Value::Null, d);
            }
        };
        // From here on the account exists: it goes into state whatever fails.
        let fallback = CloudAccountModel {
            id: uid.as_str().into(),
            ..planned.clone()
        }
        .to_value();
        match get(&client, &uid, ctx).await {
            Ok(Some(a)) => ApplyResult::ok(state_from(&a, &ctxt, &planned)),
            Ok(None) => ApplyResult::failed(
                fallback,
                Diagnostic::error(
                    "Cloud account created, but not found",
                    format!("Account {uid} ({name}) was created but cannot be read back."),
                ),
            ),
            Err(e) => ApplyResult::failed(
                fallback,
                api_diag(
                    &format!("Cloud account {uid} created, but reading it back failed"),
                    &e,
                ),
            ),
        }
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        let (prior, planned, config) = match (
            decode(&req.prior),
            decode(&req.planned),
            decode(&req.config),
        ) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                return ApplyResult::failed(req.prior.clone(), d)
            }
        };
        let ctxt = prior.context();
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return ApplyResult::failed(req.prior.clone(), d),
        };
        let uid = prior.id.or_default();
        if let Err(e) = client
            .put(
                &format!("{ACCOUNTS}/{uid}"),
                &planned.body(&config),
                &ctx.cancel,
            )
            .await
        {
            return ApplyResult::failed(
                req.prior.clone(),
                api_diag("Cannot update vSphere cloud account", &e),
            );
        }
        match get(&client, &uid, ctx).await {
            Ok(Some(a)) => ApplyResult::ok(state_from(&a, &ctxt, &planned)),
            Ok(None) => ApplyResult::failed(
                req.prior.clone(),
                Diagnostic::error(
                    "Cloud account vanished",
                    format!("Account {uid} was updated but no longer exists."),
                ),
            ),
            Err(e) => ApplyResult::failed(
                req.planned.clone(),
                api_diag("Cloud account updated, but reading it back failed", &e),
            ),
        }
    }

    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        let prior = match decode(&req.prior) {
            Ok(m) => m,
            Err(d) => return d,
        };
        let client = match self.shared.scoped(&prior.context()) {
            Ok(c) => c,
            Err(d) => return d,
        };
        let uid = prior.id.str();
        match client
            .delete(&format!("{ACCOUNTS}/{uid}"), &ctx.cancel)
            .await
        {
            Ok(()) => Diagnostics::new(),
            Err(e) if e.is_not_found() => Diagnostics::new(),
            Err(e) => api_diag("Cannot delete vSphere cloud account", &e),
        }
    }

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        let kept = |diags| ReadResult {
            state: state.clone(),
            private: private.to_vec(),
            diags,
        };
        let prior = match decode(state) {
            Ok(m) => m,
            Err(d) => return kept(d),
        };
        let ctxt = prior.context();
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return kept(d),
        };
        let uid = prior.id.str();
        match get(&client, uid, ctx).await {
            // Another cloud's account is an error that keeps the state.
            Ok(Some(a)) if check_kind(&a).is_err() => kept(check_kind(&a).unwrap_err()),
            Ok(Some(a)) => ReadResult::ok(state_from(&a, &ctxt, &prior), private.to_vec()),
            // Only a real "not found" removes the account from state.
            Ok(None) => ReadResult::ok(Value::Null, Vec::new()),
            Err(e) => kept(read_failed(
                "Cannot read vSphere cloud account",
                "cloud account",
                &e,
            )),
        }
    }

    /// `UID`, `NAME`, or `tenant/NAME` / `project/NAME`.
    async fn import(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        let (asked, key) = crate::shared::split_context(id);
        let contexts: Vec<&str> = match asked {
            Some(c) => vec![c],
            None => vec!["project", "tenant"],
        };
        for c in contexts {
            if c == "project"
                && self
                    .shared
                    .settings
                    .read()
                    .expect("settings lock")
                    .as_ref()
                    .is_some_and(|s| s.project.is_none())
            {
                continue;
            }
            let client = self.shared.scoped(c)?;
            let by_uid = get(&client, key, ctx)
                .await
                .map_err(|e| api_diag("Cannot read vSphere cloud account", &e))?;
            let found = match by_uid {
                Some(a) => Some(a),
                None => find_by_name(&client, key, ctx)
                    .await
                    .map_err(|e| api_diag("Cannot list vSphere cloud accounts", &e))?
                    .into_iter()
                    .next(),
            };
            if let Some(a) = found {
                check_kind(&a)?;
                let ctxt = context_of(&a, c);
                return Ok(vec![Imported {
                    state: state_from(&a, &ctxt, &CloudAccountModel::default()),
                    private: Vec::new(),
                }]);
            }
        }
        Err(Diagnostic::error(
            "vSphere cloud account not found",
            format!(
                "No account matches {id:?}. Import with the account's uid, its name, or tenant/NAME for a \
                 tenant account (for example \"tenant/vsphere-dc1\"; the official provider's \
                 \"vsphere-dc1:tenant\" works too)."
            ),
        )
        .into())
    }
}

/// `data "palette_cloud_account_vsphere"`.
pub struct CloudAccountData {
    pub shared: Arc<Shared>,
}

#[async_trait]
impl DataSource for CloudAccountData {
    fn type_name(&self) -> &'static str {
        schemas::cloud_account::DATA_TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::cloud_account::data_schema()
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        let Ok(config) = CloudAccountDataModel::from_value(config) else {
            return d;
        };
        let (id, name) = (&config.id, &config.name);
        if id.is_null() && name.is_null() {
            d.error(
                "Missing account",
                "Set `name` (for example \"vsphere-dc1\") or `id` to say which account to read.",
            );
        } else if !id.is_null() && !name.is_null() && !id.is_unknown() && !name.is_unknown() {
            d.error_at(
                AttrPath::attr("name"),
                "Conflicting lookup",
                "Set `name` or `id`, not both.",
            );
        }
        d
    }

    async fn read(&self, config: &Value, ctx: &Ctx) -> (Value, Diagnostics) {
        let config = match CloudAccountDataModel::from_value(config) {
            Ok(m) => m,
            Err(e) => {
                return (
                    Value::Null,
                    Diagnostic::error("Unexpected data source value", e.to_string()).into(),
                )
            }
        };
        let ctxt = config.context.as_str().unwrap_or("project").to_string();
        let client = match self.shared.scoped(&ctxt) {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        let found = if let Some(uid) = config.id.as_str() {
            get(&client, uid, ctx)
                .await
                .map(|a| a.into_iter().collect::<Vec<_>>())
        } else {
            let name = config.name.str();
            find_by_name(&client, name, ctx).await
        };
        match found {
            Ok(list) if list.len() == 1 => match check_kind(&list[0]) {
                Ok(()) => (
                    CloudAccountDataModel::from_account(&list[0], &ctxt, &Attr::Null).to_value(),
                    Diagnostics::new(),
                ),
                Err(d) => (Value::Null, d),
            },
            Ok(list) if list.is_empty() => (
                Value::Null,
                Diagnostic::error(
                    "vSphere cloud account not found",
                    format!("No {ctxt} account matches the given name or id."),
                )
                .at(AttrPath::attr(if config.id.is_null() {
                    "name"
                } else {
                    "id"
                }))
                .into(),
            ),
            Ok(list) => (
                Value::Null,
                Diagnostic::error(
                    "Ambiguous account name",
                    format!("{} accounts share this name; use `id`.", list.len()),
                )
                .at(AttrPath::attr("name"))
                .into(),
            ),
            Err(e) => (
                Value::Null,
                api_diag("Cannot read vSphere cloud account", &e),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::OVERLORD_ANNOTATION;
    use palette_api::models::{V1ObjectMeta, V1VsphereCloudAccount};
    use std::collections::BTreeMap;

    fn m(v: &Value) -> CloudAccountModel {
        CloudAccountModel::from_value(v).unwrap()
    }

    fn plan_of(prior: Value, config: Value, planned: Value) -> (PlanRequest, PlanResponse) {
        let req = PlanRequest {
            prior,
            proposed: config.clone(),
            config,
            prior_private: Vec::new(),
            ctx: tfplugin::Ctx::new(tokio_util::sync::CancellationToken::new()),
        };
        let resp = PlanResponse {
            state: planned,
            requires_replace: Vec::new(),
            private: Vec::new(),
            diags: Diagnostics::new(),
            kept_prior_spelling: false,
        };
        (req, resp)
    }

    #[test]
    fn a_password_is_needed_only_where_the_plan_sends_one() {
        let adopted = account(&[
            ("id", Value::from("a-1")),
            ("name", Value::from("vsphere-dc1")),
            ("username", Value::from("svc")),
        ]);
        let mut renamed = adopted.clone();
        renamed.set_attr("name", Value::from("vsphere-dc2"));
        // An adopted account left as it is: no password, no problem.
        let (req, resp) = plan_of(adopted.clone(), adopted.clone(), adopted.clone());
        assert!(missing_password(&m(&req.config), &req, &resp).is_none());
        // Any change, a create, or a replacement needs one.
        let (req, resp) = plan_of(adopted.clone(), renamed.clone(), renamed.clone());
        let d = missing_password(&m(&req.config), &req, &resp).expect("a change without password");
        assert!(d.detail.contains("change to an account"), "{}", d.detail);
        let (req, resp) = plan_of(Value::Null, renamed.clone(), renamed.clone());
        assert!(missing_password(&m(&req.config), &req, &resp)
            .unwrap()
            .detail
            .starts_with("Creating"));
        let (req, mut resp) = plan_of(adopted.clone(), adopted.clone(), adopted.clone());
        resp.requires_replace.push(AttrPath::attr("gateway_id"));
        assert!(missing_password(&m(&req.config), &req, &resp).is_some());
        // With either form set, the change goes ahead.
        let mut with = renamed.clone();
        with.set_attr("password_wo", Value::from("p"));
        let (req, resp) = plan_of(adopted, with, renamed);
        assert!(missing_password(&m(&req.config), &req, &resp).is_none());
    }
    use super::*;

    /// The attribute path of the first diagnostic, as Terraform shows it.
    fn first_path(d: &Diagnostics) -> String {
        d.iter()
            .next()
            .and_then(|first| first.attribute.as_ref())
            .map(|path| path.to_string())
            .unwrap_or_else(|| format!("no diagnostic with a path: {d}"))
    }

    #[test]
    fn an_account_whose_kind_names_another_cloud_is_refused() {
        let account = |kind: &str| V1VsphereAccount {
            kind: Some(kind.into()),
            metadata: Some(V1ObjectMeta {
                name: Some("prod".into()),
                uid: Some("a-1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        // What the typed endpoint says about itself, or nothing of a cloud.
        for ok in ["vsphere", "CloudAccount", ""] {
            assert!(check_kind(&account(ok)).is_ok(), "{ok}");
        }
        let d = check_kind(&account("aws")).unwrap_err();
        assert!(
            d.to_string()
                .contains("uid a-1 is an aws cloud account named \"prod\", not a vSphere account."),
            "{d}"
        );
    }

    fn account(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::null_object(&schemas::cloud_account::schema().ty());
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    fn problems(config: &Value) -> Vec<(String, String)> {
        let mut d = Diagnostics::new();
        check_password_forms(&m(config), &AttrPath::root(), true, &mut d);
        d.iter()
            .map(|x| {
                (
                    x.attribute
                        .as_ref()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    x.summary.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn exactly_one_password_form_and_a_version_only_with_the_write_only_one() {
        let pw = || ("password", Value::from("p-1234"));
        let wo = || ("password_wo", Value::from("p-1234"));
        let ver = || ("password_wo_version", Value::int(1));
        for ok in [
            account(&[pw()]),
            account(&[wo()]),
            account(&[wo(), ver()]),
            // Unknown until apply, but set: it counts.
            account(&[("password_wo", Value::Unknown), ver()]),
            account(&[("password", Value::Unknown)]),
        ] {
            assert_eq!(problems(&ok), vec![], "{ok:?}");
        }
        let at = |p: &str, s: &str| vec![(p.to_string(), s.to_string())];
        assert_eq!(
            problems(&account(&[pw(), wo(), ver()])),
            at("password_wo", "Two vCenter passwords")
        );
        assert_eq!(
            problems(&account(&[])),
            at("password", "No vCenter password")
        );
        assert_eq!(
            problems(&account(&[pw(), ver()])),
            at(
                "password_wo_version",
                "Version without a write-only password"
            )
        );
        assert_eq!(
            problems(&account(&[ver()])),
            vec![
                ("password".to_string(), "No vCenter password".to_string()),
                (
                    "password_wo_version".to_string(),
                    "Version without a write-only password".to_string()
                ),
            ]
        );
        // The gateway's block is checked at its own path.
        let mut d = Diagnostics::new();
        check_password_forms(
            &m(&account(&[pw(), wo()])),
            &AttrPath::attr("vcenter").then_index(0),
            true,
            &mut d,
        );
        assert_eq!(first_path(&d), "vcenter[0].password_wo");
        // No value ever reaches a message.
        assert!(!d.to_string().contains("p-1234"), "{d}");
    }

    #[test]
    fn password_wo_version_is_a_whole_number() {
        let schema = schemas::cloud_account::schema();
        let check = |n: &str| {
            let v = account(&[
                ("password_wo", "p".into()),
                (
                    "password_wo_version",
                    Value::Number(tfplugin::value::Number::parse(n).unwrap()),
                ),
            ]);
            tfplugin::validate::validate_config(&schema.block, &v)
        };
        assert!(!check("2").has_errors());
        let d = check("1.5");
        assert!(d.has_errors(), "{d}");
        assert_eq!(first_path(&d), "password_wo_version");
    }

    #[test]
    fn the_write_only_password_comes_from_the_configuration() {
        let planned = account(&[
            ("name", "dc1".into()),
            ("gateway_id", "g1".into()),
            ("vcenter_server", "vc".into()),
            ("username", "u".into()),
            ("password_wo_version", Value::int(2)),
        ]);
        let mut config = planned.clone();
        config.set_attr("password_wo", "from-config".into());
        let spec = m(&planned).body(&m(&config)).spec.unwrap();
        assert_eq!(spec.password.as_deref(), Some("from-config"));
        // The plain form is the planned value, as it always was.
        let mut plain = planned.clone();
        plain.set_attr("password_wo_version", Value::Null);
        plain.set_attr("password", "stored".into());
        let spec = m(&plain).body(&m(&plain)).spec.unwrap();
        assert_eq!(spec.password.as_deref(), Some("stored"));
        // State keeps the version (so a refresh shows no drift) and never
        // a write-only value; after an import (no prior) both are null.
        let api = V1VsphereAccount {
            metadata: Some(V1ObjectMeta {
                uid: Some("a1".into()),
                name: Some("dc1".into()),
                ..Default::default()
            }),
            spec: Some(V1VsphereCloudAccount::default()),
            ..Default::default()
        };
        let state = state_from(&api, "project", &m(&config));
        assert_eq!(state.get("password_wo_version"), &Value::int(2));
        assert!(state.get("password_wo").is_null());
        let imported = state_from(&api, "project", &CloudAccountModel::default());
        assert!(imported.get("password_wo_version").is_null());
        assert!(imported.get("password").is_null());
    }

    #[test]
    fn the_data_source_has_no_password_attribute() {
        let names: Vec<String> = schemas::cloud_account::data_schema()
            .block
            .attributes
            .iter()
            .map(|a| a.name.clone())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with("password")),
            "{names:?}"
        );
    }

    #[test]
    fn the_body_carries_the_gateway_and_a_bare_host() {
        let mut v = Value::null_object(&schemas::cloud_account::schema().ty());
        v.set_attr("name", "dc1".into());
        v.set_attr("gateway_id", "g1".into());
        v.set_attr("vcenter_server", "https://vc.example.com:8443/sdk".into());
        v.set_attr("username", "u".into());
        v.set_attr("password", "p".into());
        v.set_attr("insecure", true.into());
        let b = m(&v).body(&m(&v));
        assert_eq!(
            b.metadata.unwrap().annotations.unwrap()[OVERLORD_ANNOTATION],
            "g1"
        );
        let spec = b.spec.unwrap();
        assert_eq!(spec.vcenter_server.as_deref(), Some("vc.example.com:8443"));
        assert_eq!(spec.insecure, Some(true));
        // And what Palette sends back becomes the same state, password from config.
        let api = V1VsphereAccount {
            metadata: Some(V1ObjectMeta {
                uid: Some("a1".into()),
                name: Some("dc1".into()),
                annotations: Some(BTreeMap::from([(
                    OVERLORD_ANNOTATION.to_string(),
                    "g1".to_string(),
                )])),
                ..Default::default()
            }),
            spec: Some(V1VsphereCloudAccount {
                password: None,
                ..spec
            }),
            ..Default::default()
        };
        v.set_attr("id", "a1".into());
        v.set_attr("context", "project".into());
        assert_eq!(state_from(&api, "project", &m(&v)), v);
    }
}
