//! The vCenter side of `palette_vsphere_zones`: reading the tags of a
//! datacenter and its compute clusters, converging them on the plan, and
//! undoing only what [`Owned`] proves this resource did.

use std::collections::{BTreeMap, BTreeSet};

use schemas::vsphere_zones::{REGION_CATEGORY, ZONE_CATEGORY};
use tfplugin::{AttrPath, Ctx, Diagnostic, Diagnostics};
use vsphere::tags::{Cardinality, Category, CategorySpec, Tag, TagSpec};
use vsphere::{ObjectRef, Tagging};

use super::model::{Owned, Seen, ZonesModel};
use crate::gateway::vcenter::VcAccess;

const DATACENTER: &str = "Datacenter";
const CLUSTER: &str = "ClusterComputeResource";

/// A SOAP session (to find objects) and a vAPI session (to tag them).
pub(crate) struct Vc {
    session: vsphere::Session,
    tags: Tagging,
}

/// A vCenter error as a diagnostic, at `path` where one attribute caused it.
pub(crate) fn vc_diag(summary: &str, e: &vsphere::Error, path: Option<AttrPath>) -> Diagnostics {
    let mut d = Diagnostic::error(summary, e.to_string());
    if let Some(p) = path {
        d = d.at(p);
    }
    d.into()
}

impl Vc {
    pub async fn open(access: &VcAccess, ctx: &Ctx) -> Result<Vc, Diagnostics> {
        let session = access
            .login_until(ctx, None)
            .await
            .map_err(|e| vc_diag("Cannot log in to vCenter", &e, None))?;
        let tags = Tagging::login(&session, &access.user, &access.password)
            .await
            .map_err(|e| vc_diag("Cannot open a vCenter tagging session", &e, None))?;
        Ok(Vc { session, tags })
    }

    /// The SOAP session, for reads beyond the tags (the preflight's).
    pub fn session(&self) -> &vsphere::Session {
        &self.session
    }

    pub async fn close(self) {
        let _ = self.tags.logout().await;
        let _ = self.session.logout().await;
    }

    /// What vCenter holds for `m`: the datacenter's region and the zones of
    /// `clusters` (each that exists and carries one). `None` when the
    /// datacenter itself is gone.
    pub async fn observe(
        &self,
        m: &ZonesModel,
        clusters: &[String],
    ) -> Result<Option<Seen>, vsphere::Error> {
        let dc_name = m.datacenter.str();
        let dc = match self.session.datacenter_ref(dc_name).await {
            Ok(r) => r,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut seen = Seen::default();
        if let Some(cat) = self.tags.category_by_name(REGION_CATEGORY).await? {
            let have = self.attached_in(&dc, &cat).await?;
            seen.region = pick(have, m.region.as_str());
        }
        let Some(cat) = self.tags.category_by_name(ZONE_CATEGORY).await? else {
            return Ok(Some(seen));
        };
        let prior = m.zone_map();
        for cluster in clusters {
            let obj = match self.session.cluster_ref(dc_name, cluster).await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            let have = self.attached_in(&obj, &cat).await?;
            if let Some(zone) = pick(have, prior.get(cluster).map(String::as_str)) {
                seen.zones.insert(cluster.clone(), zone);
            }
        }
        Ok(Some(seen))
    }

    /// Every compute cluster of the datacenter, as paths below its host
    /// folder (what `zones` keys are): for an import, which has no keys yet.
    pub async fn clusters_of(&self, datacenter: &str) -> Result<Vec<String>, vsphere::Error> {
        let want = datacenter.trim_matches('/');
        Ok(self
            .session
            .datacenters()
            .await?
            .into_iter()
            .find(|d| d.name == want)
            .map(|d| d.compute_clusters)
            .unwrap_or_default())
    }

    /// The `k8s-zone` tags of every compute cluster of `datacenter`, for
    /// cluster placements that name a zone. `None` when the datacenter is
    /// not in vCenter.
    pub async fn zone_tags(
        &self,
        datacenter: &str,
    ) -> Result<Option<BTreeMap<String, Vec<String>>>, vsphere::Error> {
        let dc = datacenter.trim_matches('/');
        match self.session.datacenter_ref(dc).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut out = BTreeMap::new();
        let Some(cat) = self.tags.category_by_name(ZONE_CATEGORY).await? else {
            return Ok(Some(out));
        };
        for cluster in self.clusters_of(dc).await? {
            let obj = self.session.cluster_ref(dc, &cluster).await?;
            let names = self
                .attached_in(&obj, &cat)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect();
            out.insert(cluster, names);
        }
        Ok(Some(out))
    }

    async fn attached_in(
        &self,
        obj: &ObjectRef,
        cat: &Category,
    ) -> Result<Vec<Tag>, vsphere::Error> {
        Ok(self
            .tags
            .attached_tags(obj)
            .await?
            .into_iter()
            .filter(|t| t.category_id == cat.id)
            .collect())
    }

    /// Makes vCenter hold `m`: categories and tags created where missing,
    /// each object carrying exactly its tag of the category, and the zone
    /// tags this resource attached to `dropped` clusters detached. `owned`
    /// grows with each step, so a failure half way still records what was
    /// made. Every object is found before anything changes: a misspelt
    /// cluster fails the apply with nothing done.
    pub async fn converge(
        &self,
        m: &ZonesModel,
        dropped: &[String],
        owned: &mut Owned,
    ) -> Result<(), Diagnostics> {
        let dc_name = m.datacenter.str();
        let dc = self.session.datacenter_ref(dc_name).await.map_err(|e| {
            vc_diag(
                "Datacenter not found",
                &e,
                Some(AttrPath::attr("datacenter")),
            )
        })?;
        let mut missing = Diagnostics::new();
        let mut clusters = Vec::new();
        for (cluster, zone) in m.zone_map() {
            match self.session.cluster_ref(dc_name, &cluster).await {
                Ok(obj) => clusters.push((obj, zone)),
                Err(e) => missing.extend(vc_diag(
                    "Compute cluster not found",
                    &e,
                    Some(AttrPath::attr("zones").then_key(&cluster)),
                )),
            }
        }
        if missing.has_errors() {
            return Err(missing);
        }
        let fail = |what: &str| {
            let what = what.to_string();
            move |e: vsphere::Error| vc_diag(&what, &e, None)
        };
        let region_cat = self.category(REGION_CATEGORY, DATACENTER, owned).await?;
        let zone_cat = self.category(ZONE_CATEGORY, CLUSTER, owned).await?;
        let mut keep = BTreeSet::new();
        let region = self
            .tag(&region_cat, m.region.str(), owned)
            .await
            .map_err(fail("Cannot create the region tag"))?;
        keep.insert(region.id.clone());
        self.set(&dc, &region_cat, &region, owned)
            .await
            .map_err(fail("Cannot tag the datacenter"))?;
        for (obj, zone) in &clusters {
            let tag = self
                .tag(&zone_cat, zone, owned)
                .await
                .map_err(fail("Cannot create a zone tag"))?;
            keep.insert(tag.id.clone());
            self.set(obj, &zone_cat, &tag, owned)
                .await
                .map_err(fail("Cannot tag a compute cluster"))?;
        }
        for cluster in dropped {
            match self.session.cluster_ref(dc_name, cluster).await {
                Ok(obj) => self
                    .release(&obj, owned)
                    .await
                    .map_err(fail("Cannot detach a zone tag"))?,
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(vc_diag("Cannot find a compute cluster", &e, None)),
            }
        }
        self.sweep(&keep, owned)
            .await
            .map_err(fail("Cannot delete a tag no longer used"))?;
        Ok(())
    }

    /// Undoes what `owned` records: its attachments detached, then its tags
    /// and categories deleted where nothing else uses them. What stays is
    /// said in warnings; `owned` keeps only what is left.
    pub async fn undo(&self, owned: &mut Owned) -> Result<Diagnostics, Diagnostics> {
        let fail = |what: &'static str| move |e: vsphere::Error| vc_diag(what, &e, None);
        let mut d = Diagnostics::new();
        let attached: Vec<_> = owned.attached.iter().cloned().collect();
        for (tag, obj) in attached {
            match self.tags.detach(&tag, &obj).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(fail("Cannot detach a tag")(e)),
            }
            owned.attached.remove(&(tag, obj));
        }
        for kept in self
            .sweep(&BTreeSet::new(), owned)
            .await
            .map_err(fail("Cannot delete a tag"))?
        {
            d.warning(
                "Tag kept",
                format!(
                    "Tag {:?} was created by this resource, but other objects carry it now ({}), so it \
                     stays in vCenter.",
                    kept.0,
                    kept.1.join(", ")
                ),
            );
        }
        let categories: Vec<String> = owned.categories.iter().cloned().collect();
        for id in categories {
            let category = match self.tags.category(&id).await {
                Ok(c) => c,
                Err(e) if e.is_not_found() => {
                    owned.categories.remove(&id);
                    continue;
                }
                Err(e) => return Err(fail("Cannot read a tag category")(e)),
            };
            let others = self
                .tags
                .tags_in(&id)
                .await
                .map_err(fail("Cannot list a category's tags"))?;
            if others.is_empty() {
                match self.tags.delete_category(&id).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(fail("Cannot delete a tag category")(e)),
                }
            } else {
                d.warning(
                    "Tag category kept",
                    format!(
                        "Category {:?} was created by this resource, but holds tags it did not make ({}), so it \
                         stays in vCenter.",
                        category.name,
                        others.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            owned.categories.remove(&id);
        }
        Ok(d)
    }

    /// The category `name`, created (and recorded) when missing. One that
    /// exists is taken as it is, unless its tags cannot go on `on`.
    async fn category(
        &self,
        name: &str,
        on: &str,
        owned: &mut Owned,
    ) -> Result<Category, Diagnostics> {
        let found = self
            .tags
            .category_by_name(name)
            .await
            .map_err(|e| vc_diag("Cannot read the tag categories", &e, None))?;
        let category = match found {
            Some(c) => c,
            None => {
                let spec = CategorySpec {
                    name: name.to_string(),
                    description: format!(
                        "Palette zone tagging: the {} of each {}. Made by terraform-provider-palette.",
                        if name == REGION_CATEGORY {
                            "Kubernetes region"
                        } else {
                            "Kubernetes zone"
                        },
                        if on == DATACENTER {
                            "datacenter"
                        } else {
                            "compute cluster"
                        }
                    ),
                    cardinality: Cardinality::Single,
                    associable_types: vec![on.to_string()],
                };
                match self.tags.create_category(&spec).await {
                    Ok(c) => {
                        owned.categories.insert(c.id.clone());
                        c
                    }
                    // Someone made it meanwhile: theirs, not ours.
                    Err(vsphere::Error::AlreadyExists { .. }) => self
                        .tags
                        .ensure_category(&spec)
                        .await
                        .map_err(|e| vc_diag("Cannot read a tag category", &e, None))?,
                    Err(e) => return Err(vc_diag("Cannot create a tag category", &e, None)),
                }
            }
        };
        if !category.associable_types.is_empty()
            && !category.associable_types.iter().any(|t| t == on)
        {
            return Err(Diagnostic::error(
                "Tag category cannot tag this kind of object",
                format!(
                    "Category {name:?} exists in vCenter, but its tags can only be attached to {}, not to a {on}. \
                     Add {on} to the category's associable object types in vCenter (or delete the category to \
                     let the provider create it).",
                    category.associable_types.join(", ")
                ),
            )
            .into());
        }
        Ok(category)
    }

    /// The tag `name` of `cat`, created (and recorded) when missing.
    async fn tag(
        &self,
        cat: &Category,
        name: &str,
        owned: &mut Owned,
    ) -> Result<Tag, vsphere::Error> {
        if let Some(t) = self.tags.tag_by_name(&cat.id, name).await? {
            return Ok(t);
        }
        let spec = TagSpec {
            name: name.to_string(),
            description: format!("{} {name}. Made by terraform-provider-palette.", cat.name),
            category_id: cat.id.clone(),
        };
        match self.tags.create_tag(&spec).await {
            Ok(t) => {
                owned.tags.insert(t.id.clone());
                Ok(t)
            }
            Err(vsphere::Error::AlreadyExists { .. }) => self.tags.ensure_tag(&spec).await,
            Err(e) => Err(e),
        }
    }

    /// Makes `tag` the only tag of `cat` on `obj`.
    async fn set(
        &self,
        obj: &ObjectRef,
        cat: &Category,
        tag: &Tag,
        owned: &mut Owned,
    ) -> Result<(), vsphere::Error> {
        let have = self.attached_in(obj, cat).await?;
        for other in have.iter().filter(|t| t.id != tag.id) {
            self.tags.detach(&other.id, obj).await?;
            owned.attached.remove(&(other.id.clone(), obj.clone()));
        }
        if !have.iter().any(|t| t.id == tag.id) {
            self.tags.attach(&tag.id, obj).await?;
            owned.attached.insert((tag.id.clone(), obj.clone()));
        }
        Ok(())
    }

    /// Detaches what this resource attached to `obj`.
    async fn release(&self, obj: &ObjectRef, owned: &mut Owned) -> Result<(), vsphere::Error> {
        let mine: Vec<_> = owned
            .attached
            .iter()
            .filter(|(_, o)| o == obj)
            .cloned()
            .collect();
        for (tag, o) in mine {
            match self.tags.detach(&tag, &o).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
            owned.attached.remove(&(tag, o));
        }
        Ok(())
    }

    /// Deletes each tag this resource made that is not in `keep` and that
    /// no object carries. Returns the ones kept because something carries
    /// them, with those objects.
    async fn sweep(
        &self,
        keep: &BTreeSet<String>,
        owned: &mut Owned,
    ) -> Result<Vec<(String, Vec<String>)>, vsphere::Error> {
        let mut kept = Vec::new();
        let candidates: Vec<String> = owned.tags.difference(keep).cloned().collect();
        for id in candidates {
            let tag = match self.tags.tag(&id).await {
                Ok(t) => t,
                Err(e) if e.is_not_found() => {
                    owned.tags.remove(&id);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let on = self.tags.attached_objects(&id).await?;
            if on.is_empty() {
                match self.tags.delete_tag(&id).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
                owned.tags.remove(&id);
            } else if keep.is_empty() {
                // Destroying: what others carry is theirs to remove now.
                kept.push((
                    tag.name,
                    on.iter().map(|o| format!("{} {}", o.kind, o.id)).collect(),
                ));
                owned.tags.remove(&id);
            }
        }
        Ok(kept)
    }
}

/// The tag to show for an object: the one the state had if it is among
/// them, else the first by name (so a change in vCenter shows as a change).
/// The one compute cluster whose `k8s-zone` tags include `zone`, from
/// [`Vc::zone_tags`]; `Err` says why none can be chosen. Pure.
pub(crate) fn cluster_of_zone(
    zone: &str,
    datacenter: &str,
    tags: &BTreeMap<String, Vec<String>>,
) -> Result<String, String> {
    let carrying: Vec<&String> = tags
        .iter()
        .filter(|(_, zones)| zones.iter().any(|z| z == zone))
        .map(|(c, _)| c)
        .collect();
    match carrying.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let tagged: Vec<String> = tags
                .iter()
                .filter(|(_, z)| !z.is_empty())
                .map(|(c, z)| format!("{c} = {}", z.join(", ")))
                .collect();
            Err(format!(
                "No compute cluster of datacenter {datacenter:?} carries the {ZONE_CATEGORY} tag {zone:?}. {}",
                if tagged.is_empty() {
                    format!(
                        "None carries a {ZONE_CATEGORY} tag: tag them first (resource palette_vsphere_zones)."
                    )
                } else {
                    format!("Zones there: {}.", tagged.join("; "))
                }
            ))
        }
        many => Err(format!(
            "The {ZONE_CATEGORY} tag {zone:?} is on {} compute clusters ({}); a zone names one cluster, and the \
             reference document asks for unique zone values.",
            many.len(),
            many.iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn pick(mut have: Vec<Tag>, prior: Option<&str>) -> Option<String> {
    if let Some(p) = prior {
        if have.iter().any(|t| t.name == p) {
            return Some(p.to_string());
        }
    }
    have.sort_by(|a, b| a.name.cmp(&b.name));
    have.into_iter().next().map(|t| t.name)
}

/// The keys of the prior zones that the planned ones drop.
pub(super) fn dropped(prior: &ZonesModel, planned: &ZonesModel) -> Vec<String> {
    let planned: BTreeMap<String, String> = planned.zone_map();
    prior
        .zone_map()
        .into_keys()
        .filter(|k| !planned.contains_key(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str) -> Tag {
        Tag {
            id: format!("urn:{name}"),
            name: name.into(),
            description: String::new(),
            category_id: "c".into(),
        }
    }

    #[test]
    fn a_zone_names_exactly_one_cluster() {
        let tags: BTreeMap<String, Vec<String>> = [
            ("DC0_C0", vec!["az1"]),
            ("DC0_C1", vec!["az2"]),
            ("DC0_C2", vec![]),
        ]
        .into_iter()
        .map(|(c, z)| (c.to_string(), z.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(cluster_of_zone("az2", "DC0", &tags), Ok("DC0_C1".into()));
        let none = cluster_of_zone("az3", "DC0", &tags).unwrap_err();
        assert!(none.contains("\"az3\""), "{none}");
        assert!(none.contains("DC0_C0 = az1; DC0_C1 = az2"), "{none}");
        let mut twice = tags.clone();
        twice.insert("DC0_C2".into(), vec!["az1".into()]);
        let e = cluster_of_zone("az1", "DC0", &twice).unwrap_err();
        assert!(e.contains("2 compute clusters (DC0_C0, DC0_C2)"), "{e}");
        let untagged = BTreeMap::from([("DC0_C0".to_string(), Vec::new())]);
        let e = cluster_of_zone("az1", "DC0", &untagged).unwrap_err();
        assert!(e.contains("palette_vsphere_zones"), "{e}");
    }

    #[test]
    fn the_prior_value_is_shown_while_vcenter_still_has_it() {
        assert_eq!(pick(vec![tag("b"), tag("a")], Some("b")), Some("b".into()));
        assert_eq!(pick(vec![tag("b"), tag("a")], Some("z")), Some("a".into()));
        assert_eq!(pick(vec![], Some("a")), None);
    }
}
