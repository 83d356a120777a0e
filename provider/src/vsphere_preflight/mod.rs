//! `data "palette_vsphere_preflight"`: reads the facts the reference
//! document's vSphere prerequisites depend on and reports each
//! prerequisite passed or failed (`judge`), with `ready` and `problems`
//! for a `check` block or a precondition.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tfplugin::model::{known_strings, strings_of, Strings};
use tfplugin::{Attr, AttrPath, Ctx, Diagnostic, Diagnostics, Model, Schema, Type, Value};

mod judge;
mod privileges;

use crate::gateway::vcenter::{provider_access, VcAccess};
use crate::shared::Shared;
use crate::vsphere_zones::model::ZonesModel;
use crate::vsphere_zones::vc::{vc_diag, Vc};
use judge::{judge, Facts};
use privileges::{ROOT_LEVEL, SPECTRO};

pub struct VspherePreflight {
    pub shared: Arc<Shared>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightModel {
    pub id: Attr<String>,
    pub datacenter: Attr<String>,
    pub compute_clusters: Strings,
    pub datastore: Attr<String>,
    pub resource_pool: Attr<String>,
    pub network: Attr<String>,
    pub folder: Attr<String>,
    pub ready: Attr<bool>,
    pub problems: Strings,
    pub checks: Attr<Vec<CheckModel>>,
    #[serde(deserialize_with = "tfplugin::model::blocks")]
    pub vcenter: Vec<PreflightVcenter>,
}

impl Model for PreflightModel {
    fn ty() -> Type {
        schemas::vsphere_preflight::schema().ty()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckModel {
    pub name: Attr<String>,
    pub passed: Attr<bool>,
    pub detail: Attr<String>,
}

#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightVcenter {
    pub server: Attr<String>,
    pub username: Attr<String>,
    pub password: Attr<String>,
    pub insecure: Attr<bool>,
    pub ca_file: Attr<String>,
}

impl Model for PreflightVcenter {
    fn ty() -> Type {
        match schemas::vsphere_preflight::schema()
            .block
            .nested_block("vcenter")
        {
            Some(b) => b.block.ty(),
            None => Type::Object(Default::default()),
        }
    }
}

/// By hand, so that the password reaches no log.
impl std::fmt::Debug for PreflightVcenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreflightVcenter")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl VspherePreflight {
    fn access(&self, m: &PreflightModel) -> Result<VcAccess, Diagnostics> {
        if let Some(b) = m.vcenter.first() {
            tfplugin::logging::register_secret(b.password.str());
            return Ok(VcAccess {
                server: b.server.str().to_string(),
                user: b.username.str().to_string(),
                password: b.password.str().to_string(),
                insecure: b.insecure.is_true(),
                ca_file: b.ca_file.as_str().map(Into::into),
                palette_ca: None,
            });
        }
        provider_access(&self.shared, None).ok_or_else(|| {
            Diagnostic::error(
                "No vCenter to check",
                "The preflight logs in to vCenter as the account Palette will use, and neither this data \
                 source nor the provider has a `vcenter` block. Add one to the provider (recommended), or to \
                 the data source.",
            )
            .into()
        })
    }

    /// Reads what the checks judge. A datacenter, cluster or datastore that
    /// does not exist is an error at its attribute (a typo, not a failed
    /// prerequisite); the rest are facts.
    async fn facts(
        &self,
        m: &PreflightModel,
        access: &VcAccess,
        ctx: &Ctx,
    ) -> Result<Facts, Diagnostics> {
        // One login serves the inventory reads and the tags.
        let tagger = Vc::open(access, ctx).await?;
        let out = self.gather(m, &tagger).await;
        tagger.close().await;
        out
    }

    async fn gather(&self, m: &PreflightModel, tagger: &Vc) -> Result<Facts, Diagnostics> {
        let session = tagger.session();
        let vc = |what: &'static str| move |e: vsphere::Error| vc_diag(what, &e, None);
        let dc_name = m.datacenter.str().to_string();
        let clusters = known_strings(&m.compute_clusters);
        let about = session.about();
        let user = session
            .session_user()
            .await
            .map_err(vc("Cannot read the vCenter session"))?;
        let dc = session.datacenter_ref(&dc_name).await.map_err(|e| {
            vc_diag(
                "Datacenter not found",
                &e,
                Some(AttrPath::attr("datacenter")),
            )
        })?;
        let mut objects = vec![(format!("datacenter {dc_name}"), dc.clone())];
        let mut missing = Diagnostics::new();
        for (i, c) in clusters.iter().enumerate() {
            match session.cluster_ref(&dc_name, c).await {
                Ok(r) => objects.push((format!("compute cluster {c}"), r)),
                Err(e) => missing.extend(vc_diag(
                    "Compute cluster not found",
                    &e,
                    Some(AttrPath::attr("compute_clusters").then_index(i)),
                )),
            }
        }
        match session.datastore_ref(&dc_name, m.datastore.str()).await {
            Ok(r) => objects.push((format!("datastore {}", m.datastore.str()), r)),
            Err(e) => missing.extend(vc_diag(
                "Datastore not found",
                &e,
                Some(AttrPath::attr("datastore")),
            )),
        }
        if let Some(net) = m.network.as_str() {
            match session
                .object_ref("network", &format!("{dc_name}/network/{net}"))
                .await
            {
                Ok(r) => objects.push((format!("network {net}"), r)),
                Err(e) => missing.extend(vc_diag(
                    "Network not found",
                    &e,
                    Some(AttrPath::attr("network")),
                )),
            }
        }
        if missing.has_errors() {
            return Err(missing);
        }
        if let Some(folder) = m.folder.as_str() {
            objects.push(
                nearest_folder(session, &dc_name, folder)
                    .await
                    .map_err(vc("Cannot find the VM folder"))?,
            );
        }
        let root_ids: Vec<&str> = ROOT_LEVEL.iter().map(|(id, _)| *id).collect();
        let spectro_ids: Vec<&str> = SPECTRO.iter().map(|(id, _)| *id).collect();
        let missing_root = vec![(
            "the root folder".to_string(),
            session
                .missing_privileges(&session.root_ref(), &user, &root_ids)
                .await
                .map_err(vc("Cannot ask vCenter for the account's privileges"))?,
        )];
        let mut missing_spectro = Vec::new();
        for (label, obj) in &objects {
            missing_spectro.push((
                label.clone(),
                session
                    .missing_privileges(obj, &user, &spectro_ids)
                    .await
                    .map_err(vc("Cannot ask vCenter for the account's privileges"))?,
            ));
        }
        let mut hosts = BTreeMap::new();
        let mut pools = BTreeMap::new();
        for c in &clusters {
            hosts.insert(
                c.clone(),
                session
                    .cluster_hosts(&dc_name, c)
                    .await
                    .map_err(vc("Cannot read the cluster's hosts"))?,
            );
            pools.insert(
                c.clone(),
                session
                    .cluster_resources(&dc_name, c)
                    .await
                    .map_err(vc("Cannot read the cluster's resource pools"))?
                    .resource_pools,
            );
        }
        // The zone tags as palette_vsphere_zones reads them.
        let stub = ZonesModel {
            datacenter: dc_name.as_str().into(),
            ..ZonesModel::default()
        };
        let seen = tagger
            .observe(&stub, &clusters)
            .await
            .map_err(vc("Cannot read the zone tags"))?
            .unwrap_or_default();
        Ok(Facts {
            version: about.version,
            build: about.build,
            user,
            missing_root,
            missing_spectro,
            hosts,
            datastore: m.datastore.str().to_string(),
            pools,
            resource_pool: m.resource_pool.get(),
            datacenter: dc_name,
            region: seen.region,
            zones: clusters
                .iter()
                .map(|c| (c.clone(), seen.zones.get(c).cloned()))
                .collect(),
        })
    }
}

/// The VM folder `folder` of the datacenter, or, when Palette is to create
/// it, the nearest folder above it (the VM root folder at worst): where
/// the account's privileges decide whether the folder can be made and used.
async fn nearest_folder(
    session: &vsphere::Session,
    datacenter: &str,
    folder: &str,
) -> Result<(String, vsphere::ObjectRef), vsphere::Error> {
    let parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for k in (0..=parts.len()).rev() {
        let below = parts[..k].join("/");
        let path = if below.is_empty() {
            format!("{datacenter}/vm")
        } else {
            format!("{datacenter}/vm/{below}")
        };
        match session.object_ref("VM folder", &path).await {
            Ok(r) if k == parts.len() => return Ok((format!("VM folder {folder}"), r)),
            Ok(r) => {
                return Ok((
                    format!("VM folder {path} (where Palette creates {folder})"),
                    r,
                ))
            }
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        }
    }
    // The VM root folder always exists; reaching here means it did not.
    session
        .object_ref("VM folder", &format!("{datacenter}/vm"))
        .await
        .map(|r| (format!("VM folder {datacenter}/vm"), r))
}

#[async_trait]
impl tfplugin::DataSource for VspherePreflight {
    fn type_name(&self) -> &'static str {
        schemas::vsphere_preflight::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schemas::vsphere_preflight::schema()
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        let Ok(m) = PreflightModel::from_value(config) else {
            return d;
        };
        if let Some(b) = m.vcenter.first() {
            if b.insecure.is_true() && !b.ca_file.is_null() {
                d.error_at(
                    AttrPath::attr("vcenter").then_index(0).then_attr("insecure"),
                    "Conflicting TLS settings",
                    "`insecure = true` skips certificate checks, which makes `ca_file` pointless. Set one of them.",
                );
            }
        }
        if let Attr::Known(list) = &m.compute_clusters {
            if list.is_empty() {
                d.error_at(
                    AttrPath::attr("compute_clusters"),
                    "No compute cluster",
                    "Name at least one compute cluster, such as [\"cluster-1\"].",
                );
            }
            let mut seen = std::collections::BTreeSet::new();
            for (i, c) in list.iter().enumerate() {
                if let Some(c) = c.as_str() {
                    if !seen.insert(c) {
                        d.error_at(
                            AttrPath::attr("compute_clusters").then_index(i),
                            "Compute cluster listed twice",
                            format!("{c:?} is already in the list."),
                        );
                    }
                }
            }
        }
        d
    }

    async fn read(&self, config: &Value, ctx: &Ctx) -> (Value, Diagnostics) {
        let mut m = match PreflightModel::from_value(config) {
            Ok(m) => m,
            Err(e) => {
                return (
                    Value::Null,
                    Diagnostic::error("Unexpected preflight value", e.to_string()).into(),
                )
            }
        };
        let access = match self.access(&m) {
            Ok(a) => a,
            Err(d) => return (Value::Null, d),
        };
        let facts = match self.facts(&m, &access, ctx).await {
            Ok(f) => f,
            Err(d) => return (Value::Null, d),
        };
        let checks = judge(&facts);
        let problems: Vec<String> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect();
        for c in checks.iter().filter(|c| !c.passed) {
            tracing::info!(check = c.name, detail = %c.detail, "preflight check failed");
        }
        m.id = m.datacenter.clone();
        m.ready = Attr::Known(problems.is_empty());
        m.problems = strings_of(&problems);
        m.checks = Attr::Known(
            checks
                .into_iter()
                .map(|c| CheckModel {
                    name: c.name.into(),
                    passed: c.passed.into(),
                    detail: c.detail.into(),
                })
                .collect(),
        );
        (m.to_value(), Diagnostics::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_models_match_the_schema() {
        use tfplugin::model::check_model;
        let schema = schemas::vsphere_preflight::schema();
        check_model::<PreflightModel>(&schema.block).unwrap();
        check_model::<PreflightVcenter>(&schema.block.nested_block("vcenter").unwrap().block)
            .unwrap();
    }
}
