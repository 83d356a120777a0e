//! vSphere tags through the classic vAPI REST endpoints (`/rest/com/vmware/cis`),
//! which vCenter 6.7U3 to 8 and vcsim all serve; SOAP has no tagging API.
//!
//! A [`Tagging`] is its own vAPI session, opened with the user's credentials
//! on the SOAP [`Session`]'s HTTP client (so the same TLS settings apply).
//! It keeps the credentials to open a new vAPI session when vCenter drops an
//! idle one, and never prints them or the session token.

use std::sync::{Arc, Mutex};

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use vim_rs::types::enums::MoTypesEnum;
use vim_rs::types::structs::ManagedObjectReference;

use crate::error::{reqwest_error, Error};
use crate::session::Session;

const SESSION_HEADER: &str = "vmware-api-session-id";
/// Asks for the token in the body only: a session cookie would land in the
/// SOAP session's shared cookie jar and outlive this vAPI session.
const HEADER_AUTHN: &str = "vmware-use-header-authn";
/// Listings are N+1 calls (ids, then each object); this many run at once.
const PARALLEL_GETS: usize = 8;

/// How many tags of a category one object may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Cardinality {
    Single,
    Multiple,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Category {
    pub id: String,
    pub name: String,
    // vCenter sends every field; vcsim omits empty strings and lists.
    #[serde(default)]
    pub description: String,
    pub cardinality: Cardinality,
    /// Managed object types the category's tags may be attached to; empty
    /// means any.
    #[serde(default)]
    pub associable_types: Vec<String>,
}

/// A category to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CategorySpec {
    pub name: String,
    pub description: String,
    pub cardinality: Cardinality,
    pub associable_types: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Tag {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub category_id: String,
}

/// A tag to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagSpec {
    pub name: String,
    pub description: String,
    pub category_id: String,
}

/// An inventory object as vAPI names it: managed object id and type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// The managed object id, such as `datacenter-2` or `domain-c7`.
    pub id: String,
    /// The managed object type, such as `Datacenter`,
    /// `ClusterComputeResource` or `VirtualMachine`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ObjectRef {
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> ObjectRef {
        ObjectRef {
            id: id.into(),
            kind: kind.into(),
        }
    }

    /// A VM by the managed object id [`Session::create_vm`] returns.
    pub fn virtual_machine(id: impl Into<String>) -> ObjectRef {
        ObjectRef::new("VirtualMachine", id)
    }
}

impl From<&ManagedObjectReference> for ObjectRef {
    fn from(m: &ManagedObjectReference) -> ObjectRef {
        ObjectRef::new(m.r#type.as_str(), m.value.clone())
    }
}

impl Session {
    /// The datacenter at an inventory path (`DC0`, `folder/DC1`), for tagging.
    pub async fn datacenter_ref(&self, path: &str) -> Result<ObjectRef, Error> {
        let m = self.find("datacenter", path).await?;
        expect_type(&m, MoTypesEnum::Datacenter, "datacenter", path)
    }

    /// A compute cluster by datacenter and cluster name (or path below the
    /// datacenter's host folder), as [`crate::vm::Placement`] names them.
    pub async fn cluster_ref(&self, datacenter: &str, cluster: &str) -> Result<ObjectRef, Error> {
        self.find("datacenter", datacenter).await?;
        let path = format!("{datacenter}/host/{cluster}");
        let m = self.find("compute cluster", &path).await?;
        expect_type(
            &m,
            MoTypesEnum::ClusterComputeResource,
            "compute cluster",
            &path,
        )
    }

    /// Any inventory object by path, whatever its type.
    pub async fn object_ref(&self, kind: &'static str, path: &str) -> Result<ObjectRef, Error> {
        Ok(ObjectRef::from(&self.find(kind, path).await?))
    }
}

/// A path naming an object of another type (a standalone host where a
/// cluster was meant) is not the object asked for; tagging it would fail
/// later, or worse, on vcsim, succeed.
fn expect_type(
    m: &ManagedObjectReference,
    want: MoTypesEnum,
    kind: &'static str,
    path: &str,
) -> Result<ObjectRef, Error> {
    if m.r#type == want {
        return Ok(ObjectRef::from(m));
    }
    Err(Error::NotFound {
        kind,
        path: path.to_string(),
        hint: Some(format!("that path is a {}, not a {want}", m.r#type)),
    })
}

/// Kept only to open a new vAPI session; shown nowhere.
struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A vAPI session for tagging. Dropping it logs out in the background.
pub struct Tagging {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Tagging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tagging")
            .field("server", &self.inner.server)
            .field("user", &self.inner.user)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    server: String,
    /// Where the vAPI endpoints answer: `https://SERVER`. Tests point it at
    /// a vCenter-shaped fake over plain http.
    origin: String,
    user: String,
    password: Password,
    token: Mutex<Option<String>>,
    /// One renewal at a time, so concurrent calls meeting an expired
    /// session do not each open (and leak) a new one.
    renewing: tokio::sync::Mutex<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let token = self.token.get_mut().ok().and_then(Option::take);
        if let (Some(token), Ok(handle)) = (token, tokio::runtime::Handle::try_current()) {
            // vCenter caps concurrent vAPI sessions; an abandoned one counts
            // until it idles out.
            let http = self.http.clone();
            let server = self.server.clone();
            let origin = self.origin.clone();
            handle.spawn(async move {
                let _ = delete_session(&http, &server, &origin, &token).await;
            });
        }
    }
}

/// What a 404 or a duplicate means for one call, for the error it becomes.
/// A call without one (a listing, the login) reports a 404 as [`Error::Api`]:
/// a missing endpoint is no missing object.
#[derive(Clone, Copy, Default)]
struct Subject<'a> {
    missing: Option<(&'static str, &'a str)>,
    duplicate: Option<(&'static str, &'a str)>,
}

impl<'a> Subject<'a> {
    fn missing(kind: &'static str, path: &'a str) -> Subject<'a> {
        Subject {
            missing: Some((kind, path)),
            duplicate: None,
        }
    }
}

impl Tagging {
    /// Opens a vAPI session as `user` over `session`'s HTTP client. A wrong
    /// user name or password is [`Error::InvalidLogin`].
    pub async fn login(session: &Session, user: &str, password: &str) -> Result<Tagging, Error> {
        let server = session.server().to_string();
        let origin = format!("https://{server}");
        Tagging::open(session.http().clone(), server, origin, user, password).await
    }

    async fn open(
        http: reqwest::Client,
        server: String,
        origin: String,
        user: &str,
        password: &str,
    ) -> Result<Tagging, Error> {
        let token = open_session(&http, &server, &origin, user, password).await?;
        tracing::debug!(server = %server, user, "vAPI session opened");
        Ok(Tagging {
            inner: Arc::new(Inner {
                http,
                server,
                origin,
                user: user.to_string(),
                password: Password(password.to_string()),
                token: Mutex::new(Some(token)),
                renewing: tokio::sync::Mutex::new(()),
            }),
        })
    }

    pub async fn logout(self) -> Result<(), Error> {
        let token = self.inner.token.lock().ok().and_then(|mut t| t.take());
        match token {
            Some(t) => {
                let i = &self.inner;
                delete_session(&i.http, &i.server, &i.origin, &t).await
            }
            None => Ok(()),
        }
    }

    /// Every category.
    pub async fn categories(&self) -> Result<Vec<Category>, Error> {
        let ids: Vec<String> = self
            .inner
            .list(
                Method::GET,
                &["tagging", "category"],
                None,
                None,
                Subject::default(),
            )
            .await?;
        get_each(&self.inner, "category", ids).await
    }

    pub async fn category(&self, id: &str) -> Result<Category, Error> {
        self.inner.get("category", id).await
    }

    /// The category of that exact name, if any. vAPI has no filter, so
    /// this reads every category.
    pub async fn category_by_name(&self, name: &str) -> Result<Option<Category>, Error> {
        Ok(self
            .categories()
            .await?
            .into_iter()
            .find(|c| c.name == name))
    }

    /// A duplicate name is [`Error::AlreadyExists`].
    pub async fn create_category(&self, spec: &CategorySpec) -> Result<Category, Error> {
        let id = self
            .inner
            .create(
                &["tagging", "category"],
                json!({ "create_spec": spec }),
                Subject {
                    missing: None,
                    duplicate: Some(("tag category", &spec.name)),
                },
            )
            .await?;
        Ok(Category {
            id,
            name: spec.name.clone(),
            description: spec.description.clone(),
            cardinality: spec.cardinality,
            associable_types: spec.associable_types.clone(),
        })
    }

    /// The category named `spec.name`, created from `spec` if there is none.
    /// An existing category is returned as it is, even if its cardinality or
    /// types differ from `spec`: it may be in use, and changing it is the
    /// administrator's call. Safe to retry and to race: a create that meets
    /// a duplicate returns the other's category.
    pub async fn ensure_category(&self, spec: &CategorySpec) -> Result<Category, Error> {
        if let Some(c) = self.category_by_name(&spec.name).await? {
            return Ok(c);
        }
        match self.create_category(spec).await {
            Err(e @ Error::AlreadyExists { .. }) => {
                let all = self.categories().await?;
                pick_by_name(all, &spec.name, |c| &c.name).ok_or(e)
            }
            other => other,
        }
    }

    /// Deletes a category and, as vCenter does, its tags.
    pub async fn delete_category(&self, id: &str) -> Result<(), Error> {
        self.inner.delete("category", id, "tag category").await
    }

    /// Every tag of every category.
    pub async fn tags(&self) -> Result<Vec<Tag>, Error> {
        let ids: Vec<String> = self
            .inner
            .list(
                Method::GET,
                &["tagging", "tag"],
                None,
                None,
                Subject::default(),
            )
            .await?;
        get_each(&self.inner, "tag", ids).await
    }

    pub async fn tag(&self, id: &str) -> Result<Tag, Error> {
        self.inner.get("tag", id).await
    }

    /// The tags of a category; a missing category is [`Error::NotFound`].
    pub async fn tags_in(&self, category_id: &str) -> Result<Vec<Tag>, Error> {
        let ids: Vec<String> = self
            .inner
            .list(
                Method::POST,
                &["tagging", "tag", &id_segment(category_id)],
                Some("list-tags-for-category"),
                None,
                Subject::missing("tag category", category_id),
            )
            .await?;
        if ids.is_empty() {
            // vCenter answers an unknown category with 404 not_found, which
            // `list` has already made NotFound. vcsim answers it with an
            // empty list, so an empty list is checked against the category
            // itself; on vCenter that is one read of a category that is
            // there but has no tags.
            self.category(category_id).await?;
        }
        get_each(&self.inner, "tag", ids).await
    }

    /// The tag of that exact name in a category, if any.
    pub async fn tag_by_name(&self, category_id: &str, name: &str) -> Result<Option<Tag>, Error> {
        Ok(self
            .tags_in(category_id)
            .await?
            .into_iter()
            .find(|t| t.name == name))
    }

    /// A duplicate name in the category is [`Error::AlreadyExists`]; a
    /// missing category is [`Error::NotFound`].
    pub async fn create_tag(&self, spec: &TagSpec) -> Result<Tag, Error> {
        let id = self
            .inner
            .create(
                &["tagging", "tag"],
                json!({ "create_spec": spec }),
                Subject {
                    missing: Some(("tag category", &spec.category_id)),
                    duplicate: Some(("tag", &spec.name)),
                },
            )
            .await?;
        Ok(Tag {
            id,
            name: spec.name.clone(),
            description: spec.description.clone(),
            category_id: spec.category_id.clone(),
        })
    }

    /// The tag named `spec.name` in its category, created if there is none;
    /// safe to retry and to race, like [`Tagging::ensure_category`].
    pub async fn ensure_tag(&self, spec: &TagSpec) -> Result<Tag, Error> {
        if let Some(t) = self.tag_by_name(&spec.category_id, &spec.name).await? {
            return Ok(t);
        }
        match self.create_tag(spec).await {
            Err(e @ Error::AlreadyExists { .. }) => {
                let all = self.tags_in(&spec.category_id).await?;
                pick_by_name(all, &spec.name, |t| &t.name).ok_or(e)
            }
            other => other,
        }
    }

    pub async fn delete_tag(&self, id: &str) -> Result<(), Error> {
        self.inner.delete("tag", id, "tag").await
    }

    /// Attaches a tag to an object; attaching it again changes nothing.
    pub async fn attach(&self, tag_id: &str, obj: &ObjectRef) -> Result<(), Error> {
        self.inner.associate(tag_id, "attach", obj).await
    }

    /// Detaches a tag from an object; a tag not attached changes nothing.
    pub async fn detach(&self, tag_id: &str, obj: &ObjectRef) -> Result<(), Error> {
        self.inner.associate(tag_id, "detach", obj).await
    }

    /// The tags attached to an object, read in full.
    pub async fn attached_tags(&self, obj: &ObjectRef) -> Result<Vec<Tag>, Error> {
        let ids: Vec<String> = self
            .inner
            .list(
                Method::POST,
                &["tagging", "tag-association"],
                Some("list-attached-tags"),
                Some(json!({ "object_id": obj })),
                Subject::default(),
            )
            .await?;
        get_each(&self.inner, "tag", ids).await
    }

    /// The objects a tag is attached to.
    pub async fn attached_objects(&self, tag_id: &str) -> Result<Vec<ObjectRef>, Error> {
        let mut objs: Vec<ObjectRef> = self
            .inner
            .request(
                Method::POST,
                &["tagging", "tag-association", &id_segment(tag_id)],
                Some("list-attached-objects"),
                // vCenter's /rest takes the parameters of an operation that
                // are not in its path as the fields of one JSON object; this
                // one has none (the tag is in the path), so `{}` is its whole
                // input, as no body is. vcsim decodes a body for this action
                // and answers 400 to none, so `{}` is what both take.
                Some(json!({})),
                Subject::missing("tag", tag_id),
            )
            .await
            .and_then(|b| unwrap_list(&self.inner.server, &b))?;
        objs.sort();
        Ok(objs)
    }
}

/// After a duplicate-name refusal: the winner of a race, or a name vCenter
/// considers equal though its case differs.
fn pick_by_name<T>(all: Vec<T>, name: &str, name_of: impl Fn(&T) -> &String) -> Option<T> {
    let (exact, rest): (Vec<T>, Vec<T>) = all.into_iter().partition(|x| name_of(x) == name);
    exact.into_iter().next().or_else(|| {
        rest.into_iter()
            .find(|x| name_of(x).eq_ignore_ascii_case(name))
    })
}

impl Inner {
    fn current_token(&self) -> Option<String> {
        self.token.lock().ok().and_then(|t| t.clone())
    }

    /// Opens a new vAPI session unless another call already replaced
    /// `stale` while this one waited.
    async fn renew(&self, stale: Option<&str>) -> Result<(), Error> {
        let _one = self.renewing.lock().await;
        if self.current_token().as_deref() != stale {
            return Ok(());
        }
        let token = open_session(
            &self.http,
            &self.server,
            &self.origin,
            &self.user,
            &self.password.0,
        )
        .await?;
        tracing::debug!(server = %self.server, user = %self.user, "vAPI session renewed");
        if let Ok(mut t) = self.token.lock() {
            *t = Some(token);
        }
        Ok(())
    }

    /// One call; an expired session is renewed and the call sent once more.
    /// Sending again is safe: vCenter did nothing with a 401'd request.
    async fn request(
        &self,
        method: Method,
        segments: &[&str],
        action: Option<&str>,
        body: Option<Value>,
        subject: Subject<'_>,
    ) -> Result<Vec<u8>, Error> {
        let url = rest_url(&self.origin, segments, action)?;
        let mut renewed = false;
        loop {
            let token = self.current_token();
            let Some(t) = token.as_deref() else {
                self.renew(None).await?;
                renewed = true;
                continue;
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(SESSION_HEADER, token_header(&self.server, t)?);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| reqwest_error(&self.server, &e))?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                self.renew(Some(t)).await?;
                renewed = true;
                continue;
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| reqwest_error(&self.server, &e))?;
            if status.is_success() {
                return Ok(bytes.to_vec());
            }
            return Err(classify(&self.server, &self.user, status, &bytes, subject));
        }
    }

    async fn list<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        action: Option<&str>,
        body: Option<Value>,
        subject: Subject<'_>,
    ) -> Result<Vec<T>, Error> {
        let b = self
            .request(method, segments, action, body, subject)
            .await?;
        unwrap_list(&self.server, &b)
    }

    /// `what` is `category` or `tag`.
    async fn get<T: DeserializeOwned>(&self, what: &str, id: &str) -> Result<T, Error> {
        let b = self
            .request(
                Method::GET,
                &["tagging", what, &id_segment(id)],
                None,
                None,
                Subject::missing(kind_of(what), id),
            )
            .await?;
        unwrap_value(&self.server, &b)
    }

    async fn create(
        &self,
        segments: &[&str],
        body: Value,
        subject: Subject<'_>,
    ) -> Result<String, Error> {
        let b = self
            .request(Method::POST, segments, None, Some(body), subject)
            .await?;
        unwrap_value(&self.server, &b)
    }

    async fn delete(&self, what: &str, id: &str, kind: &'static str) -> Result<(), Error> {
        self.request(
            Method::DELETE,
            &["tagging", what, &id_segment(id)],
            None,
            None,
            Subject::missing(kind, id),
        )
        .await
        .map(drop)
    }

    async fn associate(&self, tag_id: &str, action: &str, obj: &ObjectRef) -> Result<(), Error> {
        self.request(
            Method::POST,
            &["tagging", "tag-association", &id_segment(tag_id)],
            Some(action),
            Some(json!({ "object_id": obj })),
            Subject::missing("tag", tag_id),
        )
        .await
        .map(drop)
    }
}

fn kind_of(what: &str) -> &'static str {
    if what == "category" {
        "tag category"
    } else {
        "tag"
    }
}

/// Reads each id in parallel (a few at a time), in the ids' order. An id
/// deleted since it was listed is left out, as if listed a moment later.
async fn get_each<T>(
    inner: &Arc<Inner>,
    what: &'static str,
    ids: Vec<String>,
) -> Result<Vec<T>, Error>
where
    T: DeserializeOwned + Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(PARALLEL_GETS));
    let mut set = tokio::task::JoinSet::new();
    for (i, id) in ids.into_iter().enumerate() {
        let inner = inner.clone();
        let gate = gate.clone();
        set.spawn(async move {
            let _permit = gate.acquire_owned().await;
            (i, inner.get::<T>(what, &id).await)
        });
    }
    let mut found = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.map_err(|e| Error::Protocol {
            server: inner.server.clone(),
            message: format!("reading a {what}: {e}"),
        })?;
        match r {
            Ok(x) => found.push((i, x)),
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    found.sort_by_key(|(i, _)| *i);
    Ok(found.into_iter().map(|(_, x)| x).collect())
}

async fn open_session(
    http: &reqwest::Client,
    server: &str,
    origin: &str,
    user: &str,
    password: &str,
) -> Result<String, Error> {
    let url = rest_url(origin, &["session"], None)?;
    let resp = http
        .post(url)
        .basic_auth(user, Some(password))
        .header(HEADER_AUTHN, "true")
        .send()
        .await
        .map_err(|e| reqwest_error(server, &e))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| reqwest_error(server, &e))?;
    if !status.is_success() {
        return Err(classify(server, user, status, &bytes, Subject::default()));
    }
    unwrap_value(server, &bytes)
}

async fn delete_session(
    http: &reqwest::Client,
    server: &str,
    origin: &str,
    token: &str,
) -> Result<(), Error> {
    let url = rest_url(origin, &["session"], None)?;
    let resp = http
        .delete(url)
        .header(SESSION_HEADER, token_header(server, token)?)
        .send()
        .await
        .map_err(|e| reqwest_error(server, &e))?;
    let status = resp.status();
    // Already gone is logged out too.
    if status.is_success() || status == StatusCode::UNAUTHORIZED {
        return Ok(());
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    Err(classify(server, "", status, &bytes, Subject::default()))
}

/// Marked sensitive so no Debug of the request shows it.
fn token_header(server: &str, token: &str) -> Result<HeaderValue, Error> {
    let mut v = HeaderValue::from_str(token).map_err(|_| Error::Protocol {
        server: server.into(),
        message: "the vAPI session token is not a valid header value".into(),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

fn id_segment(id: &str) -> String {
    format!("id:{id}")
}

/// `ORIGIN/rest/com/vmware/cis/SEGMENTS?~action=ACTION` (`ORIGIN` being
/// `https://SERVER`), each segment percent-encoded. The query is written by
/// hand: form encoding would turn `~` into `%7E`, which is not what vAPI
/// documents.
fn rest_url(origin: &str, segments: &[&str], action: Option<&str>) -> Result<Url, Error> {
    let bad = || Error::BadAddress(origin.trim_start_matches("https://").to_string());
    let mut url = Url::parse(&format!("{origin}/rest/com/vmware/cis")).map_err(|_| bad())?;
    url.path_segments_mut().map_err(|_| bad())?.extend(segments);
    if let Some(a) = action {
        url.set_query(Some(&format!("~action={a}")));
    }
    Ok(url)
}

/// `{"value": ...}`; vCenter writes `{"value": []}` for an empty list, vcsim
/// `null` or nothing.
fn unwrap_list<T: DeserializeOwned>(server: &str, body: &[u8]) -> Result<Vec<T>, Error> {
    Ok(envelope::<Vec<T>>(server, body)?.unwrap_or_default())
}

fn unwrap_value<T: DeserializeOwned>(server: &str, body: &[u8]) -> Result<T, Error> {
    envelope(server, body)?.ok_or_else(|| Error::Protocol {
        server: server.into(),
        message: "vAPI answer without a value".into(),
    })
}

fn envelope<T: DeserializeOwned>(server: &str, body: &[u8]) -> Result<Option<T>, Error> {
    #[derive(Deserialize)]
    struct Envelope<T> {
        value: Option<T>,
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|e| e.value)
        .map_err(|e| Error::Protocol {
            server: server.into(),
            message: format!("vAPI answer: {e}"),
        })
}

/// The vAPI error in a failed answer: its type and messages. `/rest` writes
/// `{"type": T, "value": {"messages": [...]}}` with messages as objects
/// (vCenter) or strings (vcsim); vcsim's own 404 is plain text.
fn vapi_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let kind = v
        .get("type")
        .or_else(|| v.get("error_type"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let messages = v
        .get("value")
        .and_then(|x| x.get("messages"))
        .or_else(|| v.get("messages"))
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| {
                    m.as_str()
                        .or_else(|| m.get("default_message").and_then(Value::as_str))
                        .map(str::to_string)
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|m| !m.is_empty());
    (kind, messages)
}

fn classify(server: &str, user: &str, status: StatusCode, body: &[u8], s: Subject<'_>) -> Error {
    let (kind, message) = vapi_error(body);
    let is = |t: &str| {
        kind.as_deref()
            .is_some_and(|k| k.rsplit('.').next().unwrap_or(k).eq_ignore_ascii_case(t))
    };
    if status == StatusCode::UNAUTHORIZED || is("unauthenticated") {
        return Error::InvalidLogin {
            server: server.into(),
            user: user.into(),
        };
    }
    if is("already_exists") {
        if let Some((kind, name)) = s.duplicate {
            return Error::AlreadyExists {
                kind,
                name: name.to_string(),
            };
        }
    }
    if status == StatusCode::NOT_FOUND || is("not_found") {
        if let Some((kind, path)) = s.missing {
            return Error::NotFound {
                kind,
                path: path.to_string(),
                hint: message,
            };
        }
    }
    Error::Api {
        server: server.into(),
        status: status.as_u16(),
        error_type: kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "vc.example.com";

    fn sub() -> Subject<'static> {
        Subject {
            missing: Some(("tag", "urn:t1")),
            duplicate: Some(("tag", "zone-1")),
        }
    }

    #[test]
    fn create_bodies_are_what_vapi_documents() {
        let spec = CategorySpec {
            name: "k8s-zone".into(),
            description: "zones".into(),
            cardinality: Cardinality::Single,
            associable_types: vec!["ClusterComputeResource".into()],
        };
        assert_eq!(
            json!({ "create_spec": spec }),
            json!({"create_spec": {"name": "k8s-zone", "description": "zones",
                "cardinality": "SINGLE", "associable_types": ["ClusterComputeResource"]}})
        );
        let tag = TagSpec {
            name: "zone-1".into(),
            description: String::new(),
            category_id: "urn:c".into(),
        };
        assert_eq!(
            json!({ "create_spec": tag }),
            json!({"create_spec": {"name": "zone-1", "description": "", "category_id": "urn:c"}})
        );
        let obj = ObjectRef::new("Datacenter", "datacenter-2");
        assert_eq!(
            json!({ "object_id": obj }),
            json!({"object_id": {"id": "datacenter-2", "type": "Datacenter"}})
        );
    }

    #[test]
    fn answers_parse_from_vcenter_and_vcsim() {
        // vCenter 7, with the fields this crate does not model.
        let c: Category = unwrap_value(
            S,
            br#"{"value":{"associable_types":["Datacenter"],"name":"k8s-region","description":"",
                "id":"urn:vmomi:InventoryServiceCategory:1:GLOBAL","used_by":[],"cardinality":"SINGLE"}}"#,
        )
        .unwrap();
        assert_eq!(c.cardinality, Cardinality::Single);
        assert_eq!(c.associable_types, ["Datacenter"]);
        // vcsim leaves out empty fields.
        let t: Tag = unwrap_value(
            S,
            br#"{"value":{"id":"urn:t","name":"zone-1","category_id":"urn:c"}}"#,
        )
        .unwrap();
        assert_eq!(t.description, "");
        let objs: Vec<ObjectRef> = unwrap_list(
            S,
            br#"{"value":[{"id":"domain-c7","type":"ClusterComputeResource"}]}"#,
        )
        .unwrap();
        assert_eq!(
            objs,
            [ObjectRef::new("ClusterComputeResource", "domain-c7")]
        );
        for empty in [&b"{\"value\":null}"[..], b"{}", b"", b"{\"value\":[]}"] {
            assert!(unwrap_list::<String>(S, empty).unwrap().is_empty());
        }
        assert!(matches!(
            unwrap_value::<String>(S, b"{}"),
            Err(Error::Protocol { .. })
        ));
        assert!(matches!(
            unwrap_list::<String>(S, b"<html>"),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn urls_keep_ids_and_actions_intact() {
        let u = rest_url(
            "https://vc:8443",
            &[
                "tagging",
                "tag-association",
                &id_segment("urn:vmomi:Tag:a/b:GLOBAL"),
            ],
            Some("attach"),
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://vc:8443/rest/com/vmware/cis/tagging/tag-association/id:urn:vmomi:Tag:a%2Fb:GLOBAL?~action=attach"
        );
        assert!(rest_url("https://bad host", &[], None).is_err());
    }

    #[test]
    fn failures_are_typed() {
        // vcsim: plain text.
        match classify(
            S,
            "u",
            StatusCode::NOT_FOUND,
            b"404 page not found\n",
            sub(),
        ) {
            Error::NotFound { kind, path, hint } => {
                assert_eq!((kind, path.as_str(), hint), ("tag", "urn:t1", None));
            }
            e => panic!("{e:?}"),
        }
        // vCenter: a vAPI error whose message becomes the hint.
        let body = br#"{"type":"com.vmware.vapi.std.errors.not_found","value":{"messages":[
            {"args":[],"default_message":"Tag urn:t1 does not exist.","id":"x"}]}}"#;
        match classify(S, "u", StatusCode::NOT_FOUND, body, sub()) {
            Error::NotFound { hint, .. } => {
                assert_eq!(hint.as_deref(), Some("Tag urn:t1 does not exist."))
            }
            e => panic!("{e:?}"),
        }
        let dup = br#"{"type":"com.vmware.vapi.std.errors.already_exists","value":{}}"#;
        let e = classify(S, "u", StatusCode::BAD_REQUEST, dup, sub());
        assert!(
            matches!(&e, Error::AlreadyExists { kind: "tag", name } if name == "zone-1"),
            "{e:?}"
        );
        assert!(e.to_string().contains("already exists"), "{e}");
        assert!(matches!(
            classify(S, "admin", StatusCode::UNAUTHORIZED, b"", sub()),
            Error::InvalidLogin { user, .. } if user == "admin"
        ));
        let bad = br#"{"type":"com.vmware.vapi.std.errors.invalid_argument","value":{"messages":["type VirtualMachine is not associable"]}}"#;
        match classify(S, "u", StatusCode::BAD_REQUEST, bad, sub()) {
            Error::Api {
                status,
                error_type,
                message,
                ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(
                    error_type.as_deref(),
                    Some("com.vmware.vapi.std.errors.invalid_argument")
                );
                assert_eq!(
                    message.as_deref(),
                    Some("type VirtualMachine is not associable")
                );
            }
            e => panic!("{e:?}"),
        }
        let e = classify(S, "u", StatusCode::SERVICE_UNAVAILABLE, b"", sub());
        assert_eq!(e.to_string(), "vCenter vc.example.com answered HTTP 503");
    }

    #[test]
    fn a_duplicate_is_found_again_by_name() {
        let names = vec!["K8s-Zone".to_string(), "other".to_string()];
        assert_eq!(
            pick_by_name(names.clone(), "k8s-zone", |n| n).as_deref(),
            Some("K8s-Zone")
        );
        let both = vec!["K8S-ZONE".to_string(), "k8s-zone".to_string()];
        assert_eq!(
            pick_by_name(both, "k8s-zone", |n| n).as_deref(),
            Some("k8s-zone")
        );
        assert_eq!(pick_by_name(names, "nope", |n| n), None);
    }

    #[test]
    fn debug_shows_no_secret() {
        assert_eq!(format!("{:?}", Password("hunter2".into())), "<redacted>");
    }

    /// vCenter drops idle vAPI sessions; the next call opens a new one.
    #[tokio::test]
    async fn an_expired_session_is_renewed() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = crate::vcsim::Vcsim::start("u@vsphere.local", "p4ss", &[]).unwrap();
        let target = crate::Target::parse(&sim.url(), true).unwrap();
        let s = Session::login(&target, &sim.user, &sim.password)
            .await
            .unwrap();
        let t = Tagging::login(&s, &sim.user, &sim.password).await.unwrap();
        let first = t.inner.current_token().unwrap();
        delete_session(&t.inner.http, &t.inner.server, &t.inner.origin, &first)
            .await
            .unwrap();
        assert!(t.categories().await.unwrap().is_empty());
        let second = t.inner.current_token().unwrap();
        assert_ne!(first, second);
        t.logout().await.unwrap();
        s.logout().await.unwrap();
    }
}

#[cfg(test)]
#[path = "fake_vapi.rs"]
mod fake_vapi;

/// vCenter's side of each way vcsim answers differently, against a server
/// that answers as vCenter's API reference documents.
#[cfg(test)]
mod vcenter {
    use super::fake_vapi::FakeVcenter;
    use super::*;

    const USER: &str = "administrator@vsphere.local";
    const PASSWORD: &str = "VMware1!";

    /// No proxy from the environment: the fake is on loopback.
    fn http() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    async fn connect() -> (FakeVcenter, Tagging) {
        let vc = FakeVcenter::start(USER, PASSWORD).await;
        let t = Tagging::open(http(), vc.server.clone(), vc.origin.clone(), USER, PASSWORD)
            .await
            .unwrap();
        (vc, t)
    }

    fn zones(name: &str) -> CategorySpec {
        CategorySpec {
            name: name.into(),
            description: "zones".into(),
            cardinality: Cardinality::Single,
            associable_types: vec!["ClusterComputeResource".into()],
        }
    }

    fn zone(category_id: &str, name: &str) -> TagSpec {
        TagSpec {
            name: name.into(),
            description: String::new(),
            category_id: category_id.into(),
        }
    }

    #[tokio::test]
    async fn an_unknown_category_is_not_found_from_vcenters_404() {
        let (vc, t) = connect().await;
        let gone = "urn:vmomi:InventoryServiceCategory:0d3c5a1e-gone:GLOBAL";
        match t.tags_in(gone).await {
            Err(Error::NotFound { kind, path, hint }) => {
                assert_eq!((kind, path.as_str()), ("tag category", gone));
                assert!(hint.is_some_and(|h| h.contains("does not exist")));
            }
            other => panic!("{other:?}"),
        }
        // Straight from the 404: vcsim's fallback, reading the category,
        // did not run.
        let log = vc.log();
        assert!(
            !log.iter().any(|l| l.starts_with("GET tagging/category/")),
            "{log:?}"
        );
        assert!(matches!(
            t.ensure_tag(&zone(gone, "zone-1")).await,
            Err(Error::NotFound {
                kind: "tag category",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn a_category_without_tags_has_none_on_vcenter() {
        let (_vc, t) = connect().await;
        let c = t.ensure_category(&zones("k8s-zone")).await.unwrap();
        assert!(t.tags_in(&c.id).await.unwrap().is_empty());
        assert_eq!(t.tag_by_name(&c.id, "zone-1").await.unwrap(), None);
        // vCenter's full objects (with `used_by`) read back as created.
        assert_eq!(t.category(&c.id).await.unwrap(), c);
        t.logout().await.unwrap();
    }

    /// `list-attached-objects` with `{}`: vCenter's /rest holds a body to
    /// the operation's parameters outside the path, and this one has none.
    #[tokio::test]
    async fn attached_objects_asks_as_vcenter_takes_it() {
        let (vc, t) = connect().await;
        let c = t.ensure_category(&zones("k8s-zone")).await.unwrap();
        let tag = t.ensure_tag(&zone(&c.id, "zone-1")).await.unwrap();
        assert_eq!(t.ensure_tag(&zone(&c.id, "zone-1")).await.unwrap(), tag);
        let cluster = ObjectRef::new("ClusterComputeResource", "domain-c7");
        t.attach(&tag.id, &cluster).await.unwrap();
        t.attach(&tag.id, &cluster).await.unwrap();
        assert_eq!(
            t.attached_objects(&tag.id).await.unwrap(),
            std::slice::from_ref(&cluster)
        );
        let asked: Vec<String> = vc
            .log()
            .into_iter()
            .filter(|l| l.contains("~action=list-attached-objects"))
            .collect();
        assert_eq!(
            asked,
            [format!(
                "POST tagging/tag-association/id:{}?~action=list-attached-objects {{}}",
                tag.id
            )]
        );
        assert_eq!(
            t.attached_tags(&cluster).await.unwrap(),
            std::slice::from_ref(&tag)
        );
        // vCenter refuses a type the category does not take.
        match t
            .attach(&tag.id, &ObjectRef::virtual_machine("vm-42"))
            .await
        {
            Err(Error::Api {
                status: 400,
                error_type,
                ..
            }) => assert_eq!(
                error_type.as_deref(),
                Some("com.vmware.vapi.std.errors.invalid_argument")
            ),
            other => panic!("{other:?}"),
        }
        t.detach(&tag.id, &cluster).await.unwrap();
        assert!(t.attached_objects(&tag.id).await.unwrap().is_empty());
        t.delete_tag(&tag.id).await.unwrap();
        assert!(matches!(
            t.attached_objects(&tag.id).await,
            Err(Error::NotFound { kind: "tag", .. })
        ));
        assert!(matches!(
            t.attach(&tag.id, &cluster).await,
            Err(Error::NotFound { kind: "tag", .. })
        ));
        t.delete_category(&c.id).await.unwrap();
        assert!(matches!(
            t.delete_category(&c.id).await,
            Err(Error::NotFound {
                kind: "tag category",
                ..
            })
        ));
    }

    /// vCenter takes names that differ only in case for the same name;
    /// vcsim does not.
    #[tokio::test]
    async fn a_name_vcenter_holds_in_another_case_is_found_again() {
        let (vc, t) = connect().await;
        let id = vc.add_category("K8s-Zone", "SINGLE", &["ClusterComputeResource"]);
        let c = t.ensure_category(&zones("k8s-zone")).await.unwrap();
        assert_eq!((c.id.as_str(), c.name.as_str()), (id.as_str(), "K8s-Zone"));
        assert!(matches!(
            t.create_category(&zones("K8S-ZONE")).await,
            Err(Error::AlreadyExists {
                kind: "tag category",
                ..
            })
        ));
        let tag = t.ensure_tag(&zone(&id, "Zone-1")).await.unwrap();
        assert_eq!(t.ensure_tag(&zone(&id, "zone-1")).await.unwrap(), tag);
    }

    #[tokio::test]
    async fn an_expired_vcenter_session_is_renewed() {
        let (vc, t) = connect().await;
        vc.expire_sessions();
        assert!(t.categories().await.unwrap().is_empty());
        assert_eq!(vc.logins(), 2);
        match Tagging::open(http(), vc.server.clone(), vc.origin.clone(), USER, "wrong").await {
            Err(Error::InvalidLogin { user, .. }) => assert_eq!(user, USER),
            other => panic!("{other:?}"),
        }
    }
}
