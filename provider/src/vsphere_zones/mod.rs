//! `palette_vsphere_zones`: the reference document's zone tagging (a
//! datacenter's `k8s-region` tag, each compute cluster's `k8s-zone` tag),
//! applied, read back for drift, imported by datacenter, and undone on
//! destroy as far as the resource can prove it made things.

use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{
    ApplyRequest, ApplyResult, Ctx, Diagnostic, Diagnostics, Imported, Model, PlanRequest,
    PlanResponse, ReadResult, Resource, Schema, Value,
};

pub mod model;
mod plan;
pub(crate) mod vc;

use crate::gateway::vcenter::{
    password_source, provider_access, provider_server, PasswordSource, VcAccess,
};
use crate::shared::Shared;
use model::{Owned, ZonesModel};
use vc::{dropped, Vc};

pub struct VsphereZones {
    pub shared: Arc<Shared>,
}

fn decode(v: &Value) -> Result<ZonesModel, Diagnostics> {
    ZonesModel::from_value(v).map_err(|e| {
        Diagnostic::error(
            "Unexpected zone tagging value",
            format!("The provider cannot read this value: {e}"),
        )
        .into()
    })
}

/// What refresh and destroy say when they cannot log in.
const REFRESH: &str = "A refresh reads the tags from vCenter";
const DESTROY: &str = "Destroy detaches and deletes the tags this resource made in vCenter";

impl VsphereZones {
    /// The vCenter access for `m` (planned, prior or stored) with `config`
    /// (none outside plan and apply): its `vcenter` block, else the
    /// provider's. The error says what is missing, for `operation`.
    fn access(
        &self,
        m: &ZonesModel,
        config: Option<&ZonesModel>,
        operation: &str,
    ) -> Result<VcAccess, Diagnostics> {
        let provider = provider_server(&self.shared);
        let block = m.vcenter();
        let from_block = |password: &str| {
            let b = block.expect("a block has a password source");
            tfplugin::logging::register_secret(password);
            VcAccess {
                server: b.server.str().to_string(),
                user: b.username.str().to_string(),
                password: password.to_string(),
                insecure: b.insecure.is_true(),
                ca_file: b.ca_file.as_str().map(Into::into),
                palette_ca: None,
            }
        };
        match password_source(block, config.and_then(ZonesModel::vcenter), provider.as_deref()) {
            PasswordSource::Stored => Ok(from_block(block.map(|b| b.password.str()).unwrap_or_default())),
            PasswordSource::Configured(p) => Ok(from_block(p)),
            PasswordSource::Default | PasswordSource::Provider => provider_access(&self.shared, None)
                .ok_or_else(|| {
                    Diagnostic::error(
                        "No vCenter to tag in",
                        format!(
                            "{operation}, and neither this resource nor the provider has a `vcenter` block. Add \
                             one to either, such as:\n\nvcenter {{\n  server   = \"vcenter.example.com\"\n  \
                             username = \"svc-palette@vsphere.local\"\n  password = var.vcenter_password\n}}"
                        ),
                    )
                    .into()
                }),
            PasswordSource::Missing => {
                let server = block.map(|b| b.server.str()).unwrap_or_default();
                let other = match &provider {
                    Some(p) => format!(" The provider's `vcenter` block names {p:?}, another server."),
                    None => String::new(),
                };
                Err(Diagnostic::error(
                    "No vCenter password",
                    format!(
                        "{operation}, logging in to {server:?}; this resource's `vcenter` block keeps no password \
                         (`password_wo` is never stored, and only a plan or apply carries it).{other} Give the \
                         provider a `vcenter` block for that server, or use `password`."
                    ),
                )
                .into())
            }
        }
    }

    /// Reads back what vCenter holds for `m` after an apply, as state; the
    /// planned values where the read fails (the apply's own error says why).
    async fn read_back(&self, vc: &Vc, m: &ZonesModel) -> (Value, Diagnostics) {
        let keys: Vec<String> = m.zone_map().into_keys().collect();
        match vc.observe(m, &keys).await {
            Ok(Some(seen)) => (
                ZonesModel::observed(m, &seen).to_value(),
                Diagnostics::new(),
            ),
            Ok(None) => (
                m.to_value(),
                Diagnostic::error(
                    "Datacenter vanished",
                    format!(
                        "Datacenter {:?} was tagged but is no longer found.",
                        m.datacenter.str()
                    ),
                )
                .into(),
            ),
            Err(e) => (
                m.to_value(),
                vc::vc_diag("Tags applied, but reading them back failed", &e, None),
            ),
        }
    }

    /// Create and update: converge, then read back. State and ownership are
    /// returned whatever failed, so nothing made is forgotten; a create that
    /// changed nothing returns no state.
    async fn apply(
        &self,
        prior: Option<&ZonesModel>,
        req: &ApplyRequest,
        ctx: &Ctx,
    ) -> ApplyResult {
        let fallback = |d: Diagnostics| match prior {
            Some(_) => ApplyResult {
                state: req.prior.clone(),
                private: req.planned_private.clone(),
                diags: d,
            },
            None => ApplyResult::failed(Value::Null, d),
        };
        let (planned, config) = match (decode(&req.planned), decode(&req.config)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(d), _) | (_, Err(d)) => return fallback(d),
        };
        let access = match self.access(&planned, Some(&config), "Tagging logs in to vCenter") {
            Ok(a) => a,
            Err(d) => return fallback(d),
        };
        let vc = match Vc::open(&access, ctx).await {
            Ok(v) => v,
            Err(d) => return fallback(d),
        };
        let mut owned = Owned::from_private(&req.planned_private);
        let before = owned.clone();
        let dropped = prior.map(|p| dropped(p, &planned)).unwrap_or_default();
        let outcome = vc.converge(&planned, &dropped, &mut owned).await;
        let (state, read_diags) = self.read_back(&vc, &planned).await;
        vc.close().await;
        match outcome {
            Ok(()) => ApplyResult {
                state,
                private: owned.to_private(),
                diags: read_diags,
            },
            // Nothing made and nothing was there before: no object to track.
            Err(d) if prior.is_none() && owned == before && owned.is_empty() => {
                ApplyResult::failed(Value::Null, d)
            }
            Err(d) => ApplyResult {
                state,
                private: owned.to_private(),
                diags: d,
            },
        }
    }
}

#[async_trait]
impl Resource for VsphereZones {
    fn type_name(&self) -> &'static str {
        schemas::vsphere_zones::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::vsphere_zones::schema()
    }

    fn identity_schema(&self) -> Option<tfplugin::IdentitySchema> {
        Some(schemas::identity::vsphere_zones())
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        crate::identity::ZonesIdentity::import_id(identity)
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        match ZonesModel::from_value(config) {
            Ok(m) => plan::check(&m),
            Err(_) => Diagnostics::new(),
        }
    }

    async fn modify_plan(&self, req: &PlanRequest, resp: &mut PlanResponse) {
        // Refresh and destroy run without the configuration: a write-only
        // password must then come from the provider's block. Said at plan,
        // before an apply leaves tags that no destroy can log in to remove.
        let destroying = resp.state.is_null();
        let Ok(m) = ZonesModel::from_value(if destroying { &req.prior } else { &resp.state })
        else {
            return;
        };
        let operation = if destroying { DESTROY } else { REFRESH };
        match self.access(&m, None, operation) {
            Ok(_) => {}
            Err(d) if destroying || m.vcenter().is_none() => resp.diags.extend(d),
            Err(d) => {
                for x in d.iter() {
                    resp.diags.warning(
                        "Refresh and destroy will need the provider's `vcenter` block",
                        x.detail.clone(),
                    );
                }
            }
        }
    }

    async fn create(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        self.apply(None, req, ctx).await
    }

    async fn update(&self, req: &ApplyRequest, ctx: &Ctx) -> ApplyResult {
        match decode(&req.prior) {
            Ok(prior) => self.apply(Some(&prior), req, ctx).await,
            Err(d) => ApplyResult::failed(req.prior.clone(), d),
        }
    }

    async fn delete(&self, req: &ApplyRequest, ctx: &Ctx) -> Diagnostics {
        let prior = match decode(&req.prior) {
            Ok(m) => m,
            Err(d) => return d,
        };
        let mut owned = Owned::from_private(&req.planned_private);
        if owned.is_empty() {
            // Imported, or everything it made is gone already.
            let mut d = Diagnostics::new();
            if !prior.region.is_null() || !prior.zone_map().is_empty() {
                d.warning(
                    "Zone tags left in vCenter",
                    format!(
                        "This resource attached and created nothing in datacenter {:?} (it was imported, or \
                         found every tag in place), so destroy only forgets it: the tags stay as they are.",
                        prior.datacenter.str()
                    ),
                );
            }
            return d;
        }
        let access = match self.access(&prior, None, DESTROY) {
            Ok(a) => a,
            Err(d) => return d,
        };
        let vc = match Vc::open(&access, ctx).await {
            Ok(v) => v,
            Err(d) => return d,
        };
        let out = vc.undo(&mut owned).await;
        vc.close().await;
        match out {
            Ok(warnings) => warnings,
            Err(d) => d,
        }
    }

    async fn read(&self, state: &Value, private: &[u8], ctx: &Ctx) -> ReadResult {
        let keep = |diags: Diagnostics| ReadResult {
            state: state.clone(),
            private: private.to_vec(),
            diags,
        };
        let prior = match decode(state) {
            Ok(m) => m,
            Err(d) => return keep(d),
        };
        let access = match self.access(&prior, None, REFRESH) {
            Ok(a) => a,
            Err(d) => {
                let mut w = Diagnostics::new();
                for x in d.iter() {
                    w.warning("Zone tags not refreshed", x.detail.clone());
                }
                return keep(w);
            }
        };
        let vc = match Vc::open(&access, ctx).await {
            Ok(v) => v,
            Err(d) => return keep(d),
        };
        let keys: Vec<String> = prior.zone_map().into_keys().collect();
        let seen = vc.observe(&prior, &keys).await;
        vc.close().await;
        match seen {
            Ok(Some(seen)) => ReadResult::ok(
                ZonesModel::observed(&prior, &seen).to_value(),
                private.to_vec(),
            ),
            // The datacenter itself is gone, and its tags with it.
            Ok(None) => ReadResult::ok(Value::Null, Vec::new()),
            Err(e) => keep(vc::vc_diag("Cannot read the zone tags", &e, None)),
        }
    }

    async fn import(&self, id: &str, ctx: &Ctx) -> Result<Vec<Imported>, Diagnostics> {
        let stub = ZonesModel {
            datacenter: id.into(),
            ..ZonesModel::default()
        };
        let access = self.access(&stub, None, "An import reads the tags from vCenter")?;
        let vc = Vc::open(&access, ctx).await?;
        let found = async {
            let clusters = vc.clusters_of(id).await?;
            vc.observe(&stub, &clusters).await
        }
        .await;
        vc.close().await;
        match found {
            Ok(Some(seen)) => Ok(vec![Imported {
                state: ZonesModel::observed(&stub, &seen).to_value(),
                // Nothing here was made by this resource: destroy will
                // neither detach nor delete it.
                private: Vec::new(),
            }]),
            Ok(None) => Err(Diagnostic::error(
                "Datacenter not found",
                format!(
                    "vCenter {:?} has no datacenter {id:?}. Import with the datacenter's name or inventory \
                     path, such as \"dc-1\" or \"folder/dc-1\".",
                    access.server
                ),
            )
            .into()),
            Err(e) => Err(vc::vc_diag("Cannot read the zone tags", &e, None)),
        }
    }
}
