//! List resources (`terraform query`, Terraform 1.14+) for the four
//! managed types. Each finds candidates through Palette's listings and
//! filters them on what the listing says. When Terraform wants each
//! object's state (`-generate-config-out`), each candidate is read as an
//! import does (the same state a `terraform import` would write, so
//! generated configuration plans nothing but the import), several at a
//! time, and filters the listing could not decide are applied to that
//! state. When it wants identities only, the listing answers alone: one
//! search per page instead of a full read per object.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use palette_api::models::{V1Overlords, V1VsphereAccounts};
use serde::Deserialize;
use tfplugin::{
    Attr, Ctx, Diagnostic, Diagnostics, ListRequest, ListResource, ListSink, Listed, Model,
    Resource, Schema, Value,
};

use tfplugin::model::{known_strings, Strings};

use crate::cloud_account::CloudAccountModel;
use crate::cluster::ClusterModel;
use crate::gateway::GatewayModel;
use crate::ip_pool::IpPoolModel;
use crate::shared::{api_diag, Shared};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Gateway,
    IpPool,
    CloudAccount,
    Cluster,
}

pub struct ImportingList {
    pub kind: Kind,
    /// The managed resource whose import reads each object.
    pub resource: Arc<dyn Resource>,
    pub shared: Arc<Shared>,
}

/// One object found in a listing: the import id that reads it, its name,
/// a state holding only what its identity needs, and whether the listing
/// alone decided every filter for it.
struct Candidate {
    import_id: String,
    display_name: String,
    stub: Value,
    decided: bool,
}

/// The filters of the four list resources' `config` blocks. Each list
/// schema has some of them; the others read as null.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListFilter {
    pub name: Attr<String>,
    pub state: Attr<String>,
    pub gateway_id: Attr<String>,
    pub cloud_account_id: Attr<String>,
    pub tags: Attr<Vec<String>>,
    pub context: Attr<String>,
}

impl ListFilter {
    fn from_value(v: &Value) -> Result<ListFilter, Diagnostics> {
        tfplugin::model::from_value(v)
            .map_err(|e| Diagnostic::error("Unexpected list configuration", e.to_string()).into())
    }
    fn tags(&self) -> &[String] {
        self.tags.known().map(Vec::as_slice).unwrap_or_default()
    }
}

/// How many objects a listing reads at once when it needs their state.
const READ_AT_ONCE: usize = 8;

impl ImportingList {
    fn contexts(&self, config: &ListFilter) -> Vec<&'static str> {
        let has_project = self.shared.has_project();
        match config.context.as_str() {
            Some("tenant") => vec!["tenant"],
            Some(_) => vec!["project"],
            None if has_project => vec!["project", "tenant"],
            None => vec!["tenant"],
        }
    }

    /// The uid of the gateway a filter names by uid or name.
    async fn gateway_uid(&self, key: &str, ctx: &Ctx) -> Result<String, Diagnostics> {
        let client = self.shared.client()?;
        let gateways: V1Overlords = client
            .get("/v1/overlords", &ctx.cancel)
            .await
            .map_err(|e| api_diag("Cannot list gateways", &e))?;
        gateways
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|g| g.metadata)
            .find(|m| m.uid.as_deref() == Some(key) || m.name.as_deref() == Some(key))
            .and_then(|m| m.uid)
            .ok_or_else(|| {
                Diagnostic::error(
                    "No such gateway",
                    format!(
                        "No private cloud gateway has the uid or name {key:?}: check `gateway_id`."
                    ),
                )
                .at(tfplugin::AttrPath::attr("gateway_id"))
                .into()
            })
    }

    /// The vSphere accounts (uid, context, gateway uid) of the contexts a
    /// listing covers.
    async fn accounts(
        &self,
        config: &ListFilter,
        ctx: &Ctx,
    ) -> Result<Vec<(String, &'static str, Option<String>, String)>, Diagnostics> {
        let mut out = Vec::new();
        for c in self.contexts(config) {
            let client = self.shared.scoped(c)?;
            let list: V1VsphereAccounts = client
                .get("/v1/cloudaccounts/vsphere", &ctx.cancel)
                .await
                .map_err(|e| api_diag("Cannot list vSphere cloud accounts", &e))?;
            for a in list.items.unwrap_or_default() {
                let meta = a.metadata.unwrap_or_default();
                let gateway = meta
                    .annotations
                    .as_ref()
                    .and_then(|m| m.get(crate::cloud_account::model::OVERLORD_ANNOTATION))
                    .cloned();
                out.push((
                    meta.uid.unwrap_or_default(),
                    c,
                    gateway,
                    meta.name.unwrap_or_default(),
                ));
            }
        }
        Ok(out)
    }

    async fn candidates(
        &self,
        config: &ListFilter,
        ctx: &Ctx,
    ) -> Result<Vec<Candidate>, Diagnostics> {
        match self.kind {
            Kind::Gateway | Kind::IpPool => {
                let client = self.shared.client()?;
                let gateways: V1Overlords = client
                    .get("/v1/overlords", &ctx.cancel)
                    .await
                    .map_err(|e| api_diag("Cannot list gateways", &e))?;
                let mut out = Vec::new();
                for g in gateways.items.unwrap_or_default() {
                    if crate::gateway_data::check_gateway_kind(&g).is_err() {
                        continue;
                    }
                    let meta = g.metadata.clone().unwrap_or_default();
                    let (uid, name) = (meta.uid.unwrap_or_default(), meta.name.unwrap_or_default());
                    match self.kind {
                        Kind::Gateway => {
                            if config
                                .name
                                .as_str()
                                .is_some_and(|p| !schemas::list::name_matches(p, &name))
                            {
                                continue;
                            }
                            out.push(Candidate {
                                stub: GatewayModel {
                                    id: uid.as_str().into(),
                                    name: name.as_str().into(),
                                    ..Default::default()
                                }
                                .to_value(),
                                // The state filter needs the gateway's state.
                                decided: config.state.is_null(),
                                import_id: uid,
                                display_name: name,
                            });
                        }
                        _ => {
                            if config
                                .gateway_id
                                .as_str()
                                .is_some_and(|want| want != uid && want != name)
                            {
                                continue;
                            }
                            let pools = self
                                .shared
                                .pools_of(&uid, ctx)
                                .await
                                .map_err(|e| api_diag("Cannot list IP pools", &e))?;
                            for p in pools.iter() {
                                let pm = p.metadata.clone().unwrap_or_default();
                                let (puid, pname) =
                                    (pm.uid.unwrap_or_default(), pm.name.unwrap_or_default());
                                out.push(Candidate {
                                    import_id: format!("{uid}/{puid}"),
                                    display_name: format!("{name}/{pname}"),
                                    stub: IpPoolModel {
                                        id: puid.into(),
                                        gateway_id: uid.as_str().into(),
                                        name: pname.into(),
                                        ..Default::default()
                                    }
                                    .to_value(),
                                    decided: true,
                                });
                            }
                        }
                    }
                }
                Ok(out)
            }
            Kind::CloudAccount => {
                let gateway = match config.gateway_id.as_str() {
                    Some(g) => Some(self.gateway_uid(g, ctx).await?),
                    None => None,
                };
                let mut out = Vec::new();
                for (uid, c, on, name) in self.accounts(config, ctx).await? {
                    // Palette records every account's gateway (it cannot be
                    // made without one).
                    if gateway.is_some() && on != gateway {
                        continue;
                    }
                    out.push(Candidate {
                        import_id: format!("{c}/{uid}"),
                        stub: CloudAccountModel {
                            id: uid.into(),
                            name: name.as_str().into(),
                            context: c.into(),
                            ..Default::default()
                        }
                        .to_value(),
                        decided: true,
                        display_name: name,
                    });
                }
                Ok(out)
            }
            // Listed page by page in `list`.
            Kind::Cluster => Ok(Vec::new()),
        }
    }

    /// Filters that need the object's state.
    fn keeps(&self, config: &ListFilter, state: &Value) -> bool {
        // A state that does not read as the filters' view is not what the
        // import of this kind writes; it is left out rather than listed
        // unfiltered.
        let Ok(read) = tfplugin::model::from_value::<Filtered>(state) else {
            return false;
        };
        let same = |want: &Attr<String>, has: &Attr<String>| {
            want.as_str().is_none_or(|w| has.as_str() == Some(w))
        };
        match self.kind {
            Kind::Gateway => same(&config.state, &read.state),
            Kind::IpPool => true,
            // Decided from the listing, by the gateway's uid or name.
            Kind::CloudAccount => true,
            Kind::Cluster => {
                let tags = known_strings(&read.tags);
                config.tags().iter().all(|t| tags.contains(t))
                    && same(&config.state, &read.state)
                    && same(&config.cloud_account_id, &read.cloud_account_id)
            }
        }
    }
}

/// What the filters read of an object's state, whatever its kind; the
/// other attributes are ignored, and one a kind lacks reads as null.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Filtered {
    state: Attr<String>,
    cloud_account_id: Attr<String>,
    tags: Strings,
}

#[async_trait]
impl ListResource for ImportingList {
    fn type_name(&self) -> &'static str {
        self.resource.type_name()
    }

    fn schema(&self) -> Schema {
        match self.kind {
            Kind::Gateway => schemas::list::gateway(),
            Kind::IpPool => schemas::list::ip_pool(),
            Kind::CloudAccount => schemas::list::cloud_account(),
            Kind::Cluster => schemas::list::cluster(),
        }
    }

    async fn list(&self, req: &ListRequest, sink: &ListSink, ctx: &Ctx) -> Diagnostics {
        let config = match ListFilter::from_value(&req.config) {
            Ok(c) => c,
            Err(d) => return d,
        };
        if let Kind::Cluster = self.kind {
            // A gateway filter is a filter on the accounts of that gateway.
            let on_gateway: Option<BTreeSet<String>> = match config.gateway_id.as_str() {
                Some(g) => {
                    let uid = match self.gateway_uid(g, ctx).await {
                        Ok(u) => u,
                        Err(d) => return d,
                    };
                    match self.accounts(&ListFilter::default(), ctx).await {
                        Ok(all) => Some(
                            all.into_iter()
                                .filter(|(_, _, on, _)| on.as_deref() == Some(uid.as_str()))
                                .map(|(a, ..)| a)
                                .collect(),
                        ),
                        Err(d) => return d,
                    }
                }
                None => None,
            };
            // Each page of Palette's search is read and sent before the
            // next is asked for, so results stream as Palette pages them.
            for c in self.contexts(&config) {
                let client = match self.shared.scoped(c) {
                    Ok(client) => client,
                    Err(d) => return d,
                };
                let mut token: Option<String> = None;
                loop {
                    let (found, next) =
                        match crate::cluster::search_page(&client, token.as_deref(), ctx).await {
                            Ok(p) => p,
                            Err(e) => return api_diag("Cannot search clusters", &e),
                        };
                    let candidates = found
                        .into_iter()
                        .filter_map(|summary| {
                            cluster_candidate(&config, c, summary, on_gateway.as_ref())
                        })
                        .collect();
                    if let Emitted::Stop(d) = self.emit(candidates, &config, req, sink, ctx).await {
                        return d;
                    }
                    match next {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                }
            }
            return Diagnostics::new();
        }
        let candidates = match self.candidates(&config, ctx).await {
            Ok(c) => c,
            Err(d) => return d,
        };
        match self.emit(candidates, &config, req, sink, ctx).await {
            Emitted::All => Diagnostics::new(),
            Emitted::Stop(d) => d,
        }
    }
}

/// Whether every candidate was handled, or the listing must stop (with
/// what to say: nothing when Terraform has what it wanted).
enum Emitted {
    All,
    Stop(Diagnostics),
}

impl ImportingList {
    /// Sends each candidate that passes the filters: from the listing alone
    /// when that is enough, else read as an import does, several at a time
    /// but sent in the listing's order.
    async fn emit(
        &self,
        candidates: Vec<Candidate>,
        config: &ListFilter,
        req: &ListRequest,
        sink: &ListSink,
        ctx: &Ctx,
    ) -> Emitted {
        use futures::StreamExt as _;
        let (quick, slow): (Vec<Candidate>, Vec<Candidate>) = candidates
            .into_iter()
            .partition(|c| c.decided && !req.include_resource_object);
        for c in quick {
            let item = Listed {
                state: c.stub,
                display_name: c.display_name,
            };
            if !sink.send(item).await {
                return Emitted::Stop(Diagnostics::new());
            }
        }
        let mut reads = futures::stream::iter(slow)
            .map(|c| async move {
                let read = self.resource.import(&c.import_id, ctx).await;
                (c, read)
            })
            .buffered(READ_AT_ONCE);
        while let Some((c, read)) = reads.next().await {
            if ctx.cancel.is_cancelled() {
                return Emitted::Stop(
                    Diagnostic::error("Listing stopped", "Terraform asked the provider to stop.")
                        .into(),
                );
            }
            // One object that cannot be read is reported and the listing
            // goes on.
            let state = match read {
                Ok(mut found) if !found.is_empty() => found.remove(0).state,
                Ok(_) => continue,
                Err(d) => {
                    let mut warnings = Diagnostics::new();
                    for x in d.iter() {
                        let mut x = x.clone();
                        x.severity = tfplugin::diag::Severity::Warning;
                        x.detail = format!("{} was left out: {}", c.display_name, x.detail);
                        warnings.push(x);
                    }
                    if !sink.problem(warnings).await {
                        return Emitted::Stop(Diagnostics::new());
                    }
                    continue;
                }
            };
            if !self.keeps(config, &state) {
                continue;
            }
            let item = Listed {
                state,
                display_name: c.display_name,
            };
            if !sink.send(item).await {
                return Emitted::Stop(Diagnostics::new());
            }
        }
        Emitted::All
    }
}

/// A cluster of a search page as a candidate, unless what the search says
/// already fails a filter. A filter the search cannot answer (a state it
/// did not report) is left to the read.
fn cluster_candidate(
    config: &ListFilter,
    context: &str,
    c: crate::cluster::Summary,
    on_gateway: Option<&BTreeSet<String>>,
) -> Option<Candidate> {
    if !config.tags().iter().all(|t| c.tags.iter().any(|h| h == t)) {
        return None;
    }
    let mut decided = true;
    // Palette's search names every cluster's account; one it does not is
    // on no account of the gateway asked for.
    if let Some(accounts) = on_gateway {
        if !c.account.as_ref().is_some_and(|a| accounts.contains(a)) {
            return None;
        }
    }
    for (want, has) in [
        (config.state.as_str(), &c.state),
        (config.cloud_account_id.as_str(), &c.account),
    ] {
        match (want, has) {
            (Some(w), Some(h)) if w != h => return None,
            (Some(_), None) => decided = false,
            _ => {}
        }
    }
    Some(Candidate {
        import_id: format!("{context}/{}", c.uid),
        stub: ClusterModel {
            id: c.uid.into(),
            name: c.name.as_str().into(),
            context: context.into(),
            ..Default::default()
        }
        .to_value(),
        decided,
        display_name: c.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Summary;

    fn summary(tags: &[&str], state: Option<&str>) -> Summary {
        Summary {
            uid: "u-1".into(),
            name: "apps".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            state: state.map(str::to_string),
            account: Some("a-1".into()),
        }
    }

    #[test]
    fn every_list_filter_has_a_field() {
        use tfplugin::model::sample;
        for schema in [
            schemas::list::gateway(),
            schemas::list::ip_pool(),
            schemas::list::cloud_account(),
            schemas::list::cluster(),
        ] {
            let full = ListFilter::from_value(&sample(&schema.block, true)).unwrap();
            // Each attribute of the schema lands in a field: set in the
            // sample, it must be set in the filter.
            for a in &schema.block.attributes {
                let set = match a.name.as_str() {
                    "name" => !full.name.is_null(),
                    "state" => !full.state.is_null(),
                    "gateway_id" => !full.gateway_id.is_null(),
                    "cloud_account_id" => !full.cloud_account_id.is_null(),
                    "tags" => !full.tags.is_null(),
                    "context" => !full.context.is_null(),
                    other => panic!("{other} has no field"),
                };
                assert!(set, "{}", a.name);
            }
        }
    }

    #[test]
    fn the_search_decides_what_it_can() {
        let prod = ListFilter {
            tags: Attr::Known(vec!["env:prod".into()]),
            ..Default::default()
        };
        let c = cluster_candidate(
            &prod,
            "project",
            summary(&["env:prod", "team:a"], None),
            None,
        )
        .expect("tagged");
        assert!(c.decided);
        assert_eq!(c.import_id, "project/u-1");
        assert!(cluster_candidate(&prod, "project", summary(&["env:dev"], None), None).is_none());

        let running = ListFilter {
            state: "Running".into(),
            ..Default::default()
        };
        assert!(
            cluster_candidate(&running, "project", summary(&[], Some("Deleting")), None).is_none()
        );
        assert!(
            cluster_candidate(&running, "project", summary(&[], Some("Running")), None)
                .unwrap()
                .decided
        );
        // A state the search did not report is left to the read.
        assert!(
            !cluster_candidate(&running, "project", summary(&[], None), None)
                .unwrap()
                .decided
        );

        let other = ListFilter {
            cloud_account_id: "a-2".into(),
            ..Default::default()
        };
        assert!(cluster_candidate(&other, "tenant", summary(&[], None), None).is_none());

        // On a gateway: on one of its accounts.
        let any = ListFilter::default();
        let of_gateway: BTreeSet<String> = ["a-1".to_string()].into();
        assert!(
            cluster_candidate(&any, "project", summary(&[], None), Some(&of_gateway)).is_some()
        );
        let elsewhere: BTreeSet<String> = ["a-9".to_string()].into();
        assert!(cluster_candidate(&any, "project", summary(&[], None), Some(&elsewhere)).is_none());
    }
}
