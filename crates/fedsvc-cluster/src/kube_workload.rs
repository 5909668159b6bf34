//! The copies of federated Deployments, ConfigMaps and Secrets in a [`KubeMember`], and the
//! watch of the Deployments.
//!
//! Every request goes through [`KubeMember::call`], so the member's rate limit and request
//! timeout apply. Requests are built with kube's request builder and their answers read here,
//! not by kube's typed client, so that what an answer holds never reaches a log or an error
//! message: a Secret's data, or a Deployment's inline environment. An answer that cannot be
//! read is reported by position only.
//!
//! Making a Deployment copy conform costs nothing when it already does: the member's watch of
//! its Deployments ([`KubeMember::deployment_watch`]) records a fingerprint of every copy of
//! ours, and while it matches the fingerprint of what fedsvc last applied, and the desired copy
//! is the one applied, nobody has changed it ([`Conformance`]). The fingerprint leaves out what
//! others rightly change: the status, the server's bookkeeping, the deployment controller's
//! annotations. A copy the watch lists as ours is applied without being read first; its
//! namespace exists.
//!
//! Otherwise (a copy the watch does not list, and every ConfigMap and Secret, which no watch
//! follows) the member's copy is read first: when it contains everything the desired copy says
//! (the member's own defaults may add to it) and that desired copy is the one this member last
//! applied, nothing is written. Otherwise the copy is applied, and the outcome is told by
//! comparing the copy before and after, status and server bookkeeping aside.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use fedsvc_model::Label;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use http_body_util::{BodyExt, Collected, LengthLimitError, Limited};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
use kube::Resource;
use kube::api::{
    Api, DeleteParams, GetParams, ListParams, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::conformance::{self, Conformance, Version};
use crate::ensure_outcome::{DeleteOutcome, EnsureOutcome};
use crate::error::MemberError;
use crate::kube_member::{KubeMember, watch_error};
use crate::member_service::{FEDERATION_LABEL, FIELD_MANAGER, MANAGED_SELECTOR};
use crate::member_workload::{
    ConfigKind, DEPLOYMENT_CONTROLLER_PREFIX, ObjectKey, ObjectKind, ReplicaCounts, WorkloadEvent,
    WorkloadObservation, meta_federation, meta_is_managed, observation_of,
};

/// Objects read per page when listing.
const PAGE: u32 = 500;

/// The largest answer read from a member for one request: an object, or a page of a list.
pub(crate) const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The fingerprint of a member copy: what fedsvc owns and others could change. The object
/// less its status, the server's bookkeeping (`resourceVersion`, `generation`,
/// `managedFields`) and the deployment controller's annotations, which change with every
/// rollout and status write without anyone touching the copy.
///
/// Both the watch and the answer of an apply are read into the typed object first, so the
/// same object always gives the same fingerprint.
pub(crate) fn fingerprint<K: Serialize>(object: &K) -> Version {
    let v = comparable(serde_json::to_value(object).unwrap_or_default());
    let mut h = DefaultHasher::new();
    v.to_string().hash(&mut h);
    conformance::version_of_hash(h.finish())
}

/// Whether `live` holds everything `want` says: objects key by key, lists element by element
/// (of the same length), anything else equal. What the member adds (its defaults) does not
/// count.
fn contains(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| l.get(k).is_some_and(|lv| contains(lv, wv)) || wv.is_null()),
        (Value::Array(l), Value::Array(w)) => {
            l.len() == w.len() && l.iter().zip(w).all(|(lv, wv)| contains(lv, wv))
        }
        (l, w) => l == w,
    }
}

/// An object without its status, the metadata a server changes on every write, and the
/// annotations a Deployment's controller writes.
fn comparable(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in ["resourceVersion", "managedFields", "generation"] {
                m.remove(k);
            }
            if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
                a.retain(|k, _| !k.starts_with(DEPLOYMENT_CONTROLLER_PREFIX));
                if a.is_empty() {
                    m.remove("annotations");
                }
            }
        }
    }
    v
}

/// A list of objects' metadata.
#[derive(serde::Deserialize)]
struct MetaList {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<MetaItem>,
}

/// An object's metadata.
#[derive(serde::Deserialize)]
struct MetaItem {
    #[serde(default)]
    metadata: ObjectMeta,
}

/// Bounds of the namespaced objects fedsvc copies.
pub(crate) trait Copied:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + k8s_openapi::Resource
    + Clone
    + Serialize
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> Copied for K where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + k8s_openapi::Resource
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

impl KubeMember {
    /// A request builder for objects of `K` in `namespace` (all namespaces: `None`).
    fn builder<K: Copied>(namespace: Option<&str>) -> kube::core::Request {
        kube::core::Request::new(K::url_path(&(), namespace))
    }

    fn build_error(&self, e: kube::core::request::Error) -> MemberError {
        self.err(kube::Error::BuildRequest(e))
    }

    fn other(&self, message: String) -> MemberError {
        MemberError::Other {
            cluster: self.name.to_string(),
            message,
        }
    }

    /// Sends a request (under the member's rate limit and request timeout) and returns the
    /// status of its answer and its body, at most [`MAX_ANSWER_BYTES`] long. An error status
    /// is reported as kube's own client does, from the `Status` the server answers.
    async fn exchange(
        &self,
        req: http::Request<Vec<u8>>,
    ) -> Result<(http::StatusCode, String), MemberError> {
        let read = async {
            let res = self.client.send(req.map(kube::client::Body::from)).await?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map(Collected::to_bytes);
            Ok::<_, kube::Error>((status, body))
        };
        let (status, body) = self.call(read).await.map_err(|e| self.err(e))?;
        let bytes = body.map_err(|e| {
            if e.is::<LengthLimitError>() {
                self.other(format!(
                    "the answer is larger than {} MiB",
                    MAX_ANSWER_BYTES >> 20
                ))
            } else {
                MemberError::Unreachable {
                    cluster: self.name.to_string(),
                    message: format!("the answer was cut short: {e}"),
                }
            }
        })?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| self.other("the answer is not UTF-8 text".into()))?;
        if status.is_client_error() || status.is_server_error() {
            let answer = serde_json::from_str::<kube::core::Status>(&text).unwrap_or_else(|_| {
                let cut: String = text.trim().chars().take(200).collect();
                kube::core::Status::failure(&cut, "the answer is not a Status")
                    .with_code(status.as_u16())
            });
            return Err(self.err(kube::Error::Api(answer.boxed())));
        }
        Ok((status, text))
    }

    /// Reads an answer as `T`; one that is not `T` is reported by position, without its
    /// content.
    fn read<T: DeserializeOwned>(&self, text: &str, what: &str) -> Result<T, MemberError> {
        serde_json::from_str(text).map_err(|e| {
            self.other(format!(
                "the answer could not be read as {what} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// Sends a request and reads its answer as `T`.
    async fn send<T: DeserializeOwned>(
        &self,
        req: http::Request<Vec<u8>>,
        what: &str,
    ) -> Result<T, MemberError> {
        let (_, text) = self.exchange(req).await?;
        self.read(&text, what)
    }

    /// Sends a request whose answer does not matter.
    async fn send_ignoring_answer(&self, req: http::Request<Vec<u8>>) -> Result<(), MemberError> {
        self.exchange(req).await.map(drop)
    }

    /// Applies `desired` (server-side, forced, as fedsvc's field manager) as `name` in `ns`:
    /// the object the member holds now, and whether the apply created it (`201 Created`).
    /// A `404` means the namespace is gone: it is forgotten, so that the next attempt
    /// creates it again.
    pub(crate) async fn apply<K: Copied>(
        &self,
        ns: &str,
        name: &str,
        desired: &K,
    ) -> Result<(K, bool), MemberError> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let req = Self::builder::<K>(Some(ns))
            .patch(name, &params, &Patch::Apply(desired))
            .map_err(|e| self.build_error(e))?;
        match self.exchange(req).await {
            Ok((status, text)) => Ok((
                self.read(&text, <K as k8s_openapi::Resource>::KIND)?,
                status == http::StatusCode::CREATED,
            )),
            Err(e) => {
                if matches!(e, MemberError::Api { code: 404, .. }) {
                    self.forget_namespace(ns);
                }
                Err(e)
            }
        }
    }

    /// `GET` an object, `None` when there is none; metadata only with `metadata_only`.
    async fn get_opt<K: Copied, T: DeserializeOwned>(
        &self,
        namespace: &str,
        name: &str,
        metadata_only: bool,
    ) -> Result<Option<T>, MemberError> {
        let b = Self::builder::<K>(Some(namespace));
        let gp = GetParams::default();
        let req = if metadata_only {
            b.get_metadata(name, &gp)
        } else {
            b.get(name, &gp)
        }
        .map_err(|e| self.build_error(e))?;
        match self.send(req, <K as k8s_openapi::Resource>::KIND).await {
            Ok(v) => Ok(Some(v)),
            Err(MemberError::Api { code: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Makes the member's copy conform to `desired` (already a member copy: labelled, with
    /// only the fields fedsvc owns).
    pub(crate) async fn ensure_copy<K: Copied>(
        &self,
        kind: ObjectKind,
        desired: &K,
        federation: &Label,
    ) -> Result<EnsureOutcome, MemberError> {
        let meta = desired.meta();
        let ns = meta.namespace.as_deref().unwrap_or_default();
        let name = meta.name.as_deref().unwrap_or_default();
        self.ensure_copy_in(kind, desired, federation, ns, name)
            .await
            .map_err(|e| e.about(kind.as_str(), ns, name))
    }

    async fn ensure_copy_in<K: Copied>(
        &self,
        kind: ObjectKind,
        desired: &K,
        federation: &Label,
        ns: &str,
        name: &str,
    ) -> Result<EnsureOutcome, MemberError> {
        let want = serde_json::to_value(desired).map_err(|_| MemberError::Other {
            cluster: self.name.to_string(),
            message: format!("the {kind} cannot be encoded as JSON"),
        })?;
        let ledger = self.ledger(kind);
        let key = conformance::key(ns, name);
        let digest = conformance::digest(&want);
        if ledger.conforms(key, digest) {
            return Ok(EnsureOutcome::Unchanged);
        }
        // A copy the watch lists as ours exists, in an existing namespace, and no other
        // federation holds it; a name the watch has seen no copy by, ours or another
        // federation's, holds none: either way it is applied without being read first.
        let trusted = self.federation.as_deref() == Some(federation.as_str());
        let listed = ledger.seen_version(key).filter(|_| trusted);
        let absent = trusted && listed.is_none() && ledger.certainly_absent(key);
        let existing: Option<K> = if listed.is_some() || absent {
            None
        } else {
            self.get_opt::<K, K>(ns, name, false).await?
        };
        match &existing {
            Some(live) => {
                let meta = live.meta();
                if let Some(owner) = meta_federation(meta).filter(|o| *o != federation.as_str()) {
                    return Err(MemberError::ForeignObject {
                        cluster: self.name.to_string(),
                        kind,
                        namespace: ns.to_owned(),
                        name: name.to_owned(),
                        owner: owner.to_owned(),
                        federation: federation.to_string(),
                    });
                }
                if meta_is_managed(meta)
                    && ledger.applied_digest(key) == Some(digest)
                    && contains(&serde_json::to_value(live).unwrap_or_default(), &want)
                {
                    return Ok(EnsureOutcome::Unchanged);
                }
            }
            None if listed.is_none() => self.ensure_namespace(ns).await?,
            None => {}
        }
        let (applied, created) = match self.apply(ns, name, desired).await {
            Ok(a) => a,
            Err(e) => {
                ledger.applied(key, digest, None);
                return Err(e);
            }
        };
        let now = fingerprint(&applied);
        ledger.applied(key, digest, Some(now));
        Ok(match (listed, existing) {
            (Some(seen), _) if seen == now => EnsureOutcome::Unchanged,
            (Some(_), _) => EnsureOutcome::Updated,
            // Not read first: an object by that name that was no copy was taken over.
            (None, None) if absent && !created => EnsureOutcome::Adopted,
            (None, None) => EnsureOutcome::Created,
            (None, Some(old)) if !meta_is_managed(old.meta()) => EnsureOutcome::Adopted,
            (None, Some(old)) if fingerprint(&old) == now => EnsureOutcome::Unchanged,
            (None, Some(_)) => EnsureOutcome::Updated,
        })
    }

    /// Deletes the member's object, only when it is labelled as managed by fedsvc.
    pub(crate) async fn delete_copy<K: Copied>(
        &self,
        kind: ObjectKind,
        ns: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        self.delete_copy_in::<K>(kind, ns, name)
            .await
            .map_err(|e| e.about(kind.as_str(), ns, name))
    }

    async fn delete_copy_in<K: Copied>(
        &self,
        kind: ObjectKind,
        ns: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        let ledger = self.ledger(kind);
        let key = conformance::key(ns, name);
        if ledger.certainly_absent(key) {
            // The watch of our copies has none by this name (a same-name object that is not
            // ours may exist; it is left alone either way).
            return Ok(DeleteOutcome::NotFound);
        }
        let Some(existing) = self.get_opt::<K, MetaItem>(ns, name, true).await? else {
            ledger.forget(key);
            return Ok(DeleteOutcome::NotFound);
        };
        if !meta_is_managed(&existing.metadata) {
            return Ok(DeleteOutcome::NotManaged);
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: existing.metadata.uid.clone(),
                resource_version: None,
            }),
            // What it owns (a Deployment's ReplicaSets and pods) goes too.
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        let req = Self::builder::<K>(Some(ns))
            .delete(name, &params)
            .map_err(|e| self.build_error(e))?;
        let outcome = match self.send_ignoring_answer(req).await {
            Ok(()) => DeleteOutcome::Deleted,
            Err(MemberError::Api { code: 404, .. }) => DeleteOutcome::NotFound,
            Err(e) => return Err(e),
        };
        ledger.forget(key);
        Ok(outcome)
    }

    /// The names of the objects of `K` in every namespace that match `selector`, page by
    /// page, metadata only.
    pub(crate) async fn list_names<K: Copied>(
        &self,
        selector: &str,
    ) -> Result<Vec<ObjectKey>, MemberError> {
        let mut out = Vec::new();
        let mut lp = ListParams::default().labels(selector).limit(PAGE);
        loop {
            let req = Self::builder::<K>(None)
                .list_metadata(&lp)
                .map_err(|e| self.build_error(e))?;
            let page: MetaList = self
                .send(
                    req,
                    &format!("a {} list", <K as k8s_openapi::Resource>::KIND),
                )
                .await?;
            for item in page.items {
                let (Some(ns), Some(name)) = (item.metadata.namespace, item.metadata.name) else {
                    continue;
                };
                match ObjectKey::parse(&ns, &name) {
                    Ok(k) => out.push(k),
                    Err(e) => tracing::warn!(
                        cluster = %self.name, kind = <K as k8s_openapi::Resource>::KIND, namespace = %ns, name = %name, error = %e,
                        "ignoring an object with an invalid name"
                    ),
                }
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => lp = lp.continue_token(&token),
                None => return Ok(out),
            }
        }
    }

    /// The label selector of the copies of `federation`.
    pub(crate) fn federation_selector(federation: &Label) -> String {
        format!("{MANAGED_SELECTOR},{FEDERATION_LABEL}={federation}")
    }

    /// The ConfigMaps and Secrets of `federation`, sorted.
    pub(crate) async fn managed_configs(
        &self,
        federation: &Label,
    ) -> Result<Vec<(ConfigKind, ObjectKey)>, MemberError> {
        use k8s_openapi::api::core::v1::{ConfigMap, Secret};
        let selector = Self::federation_selector(federation);
        let mut out: Vec<(ConfigKind, ObjectKey)> = self
            .list_names::<ConfigMap>(&selector)
            .await?
            .into_iter()
            .map(|k| (ConfigKind::ConfigMap, k))
            .collect();
        out.extend(
            self.list_names::<Secret>(&selector)
                .await?
                .into_iter()
                .map(|k| (ConfigKind::Secret, k)),
        );
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The watch of the member's Deployments managed by fedsvc.
    pub(crate) fn deployment_watch(
        &self,
    ) -> BoxStream<'static, Result<WorkloadEvent, MemberError>> {
        let api: Api<Deployment> = Api::all(self.client.clone());
        let state = DeploymentWatch {
            cluster: self.name.to_string(),
            emitted: BTreeMap::new(),
            listing: None,
            announced: false,
            ledger: self.ledger(ObjectKind::Deployment).clone(),
            federation: self.federation.clone(),
            versions: Vec::new(),
        };
        watcher::watcher(api, watcher::Config::default().labels(MANAGED_SELECTOR))
            .default_backoff()
            .scan(state, |state, item| {
                futures::future::ready(Some(stream::iter(state.step(item))))
            })
            .flatten()
            .boxed()
    }
}

/// What a Deployment stream last reported of a copy, compactly: a member holds thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reported {
    /// A hash of the federation label (it changes only when a copy is relabelled).
    federation: u64,
    desired: u32,
    counts: ReplicaCounts,
    up_to_date: bool,
}

impl Reported {
    fn of(o: &WorkloadObservation) -> Self {
        let mut h = DefaultHasher::new();
        o.federation.hash(&mut h);
        Self {
            federation: h.finish(),
            desired: o.desired,
            counts: o.counts,
            up_to_date: o.up_to_date,
        }
    }
}

/// State of a Deployment stream: what was last reported of each copy, the copies of the
/// (re-)listing in progress, and whether `Synced` was sent; the fingerprints of the copies of
/// our federation go to the member's ledger.
pub(crate) struct DeploymentWatch {
    cluster: String,
    emitted: BTreeMap<ObjectKey, Reported>,
    listing: Option<BTreeSet<ObjectKey>>,
    announced: bool,
    ledger: Arc<Conformance>,
    /// The federation whose copies the ledger records (none known: none recorded).
    federation: Option<Arc<str>>,
    /// The fingerprints of the (re-)listing in progress (`None`: not ours).
    versions: Vec<(u64, Option<Version>)>,
}

impl DeploymentWatch {
    /// The fingerprint of `d` when it is a copy of our federation.
    fn version(&self, d: &Deployment) -> Option<Version> {
        let ours = meta_is_managed(&d.metadata)
            && self
                .federation
                .as_deref()
                .is_some_and(|f| meta_federation(&d.metadata) == Some(f));
        ours.then(|| fingerprint(d))
    }

    fn step(
        &mut self,
        item: Result<Event<Deployment>, watcher::Error>,
    ) -> Vec<Result<WorkloadEvent, MemberError>> {
        let mut out = Vec::new();
        match item {
            Err(e) => out.push(Err(watch_error(&self.cluster, &e))),
            Ok(Event::Init) => {
                self.listing = Some(BTreeSet::new());
                self.versions.clear();
            }
            Ok(Event::InitApply(d)) => {
                let listed = conformance::meta_key(&d.metadata).map(|k| (k, self.version(&d)));
                self.versions.extend(listed);
                if let Some(o) = observation_of(&d).filter(|_| meta_is_managed(&d.metadata)) {
                    self.listing
                        .get_or_insert_with(BTreeSet::new)
                        .insert(o.key.clone());
                    self.report(o, &mut out);
                }
            }
            Ok(Event::InitDone) => {
                self.ledger.relisted(&std::mem::take(&mut self.versions));
                let listed = self.listing.take().unwrap_or_default();
                self.emitted.retain(|k, _| {
                    let keep = listed.contains(k);
                    if !keep {
                        out.push(Ok(WorkloadEvent::Gone(k.clone())));
                    }
                    keep
                });
                if !self.announced {
                    self.announced = true;
                    out.push(Ok(WorkloadEvent::Synced));
                }
            }
            Ok(Event::Apply(d)) => {
                if let Some(k) = conformance::meta_key(&d.metadata) {
                    self.ledger.seen(k, self.version(&d));
                }
                self.observed(&d, &mut out);
            }
            Ok(Event::Delete(d)) => {
                if let Some(k) = conformance::meta_key(&d.metadata) {
                    self.ledger.deleted(k);
                }
                if let Some(o) = observation_of(&d) {
                    self.gone(o.key, &mut out);
                }
            }
        }
        out
    }

    fn observed(&mut self, d: &Deployment, out: &mut Vec<Result<WorkloadEvent, MemberError>>) {
        match observation_of(d) {
            Some(o) if !meta_is_managed(&d.metadata) => self.gone(o.key, out),
            Some(o) => self.report(o, out),
            None => {}
        }
    }

    /// Reports `o` unless it is what was last reported of the copy.
    fn report(
        &mut self,
        o: WorkloadObservation,
        out: &mut Vec<Result<WorkloadEvent, MemberError>>,
    ) {
        let now = Reported::of(&o);
        if self.emitted.get(&o.key) != Some(&now) {
            self.emitted.insert(o.key.clone(), now);
            out.push(Ok(WorkloadEvent::Observed(o)));
        }
    }

    fn gone(&mut self, key: ObjectKey, out: &mut Vec<Result<WorkloadEvent, MemberError>>) {
        if self.emitted.remove(&key).is_some() {
            out.push(Ok(WorkloadEvent::Gone(key)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member_service::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};
    use serde_json::json;

    #[test]
    fn what_the_member_adds_does_not_count() {
        let want = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        let live = json!({"spec": {"replicas": 2, "revisionHistoryLimit": 10, "template": {"spec": {
            "containers": [{"name": "a", "image": "x", "imagePullPolicy": "IfNotPresent"}],
            "dnsPolicy": "ClusterFirst"}}}, "status": {"replicas": 2}});
        assert!(contains(&live, &want));
        let scaled = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        assert!(!contains(&scaled, &want));
        let more = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}});
        assert!(!contains(&more, &want), "lists must have the same length");
        assert!(!contains(&json!({}), &want));
        assert!(contains(&json!({}), &json!({"a": null})));
    }

    #[test]
    fn comparison_ignores_status_and_server_bookkeeping() {
        let a = json!({"metadata": {"name": "x", "resourceVersion": "1", "generation": 1,
            "managedFields": []}, "spec": {"replicas": 1}, "status": {"readyReplicas": 0}});
        let b = json!({"metadata": {"name": "x", "resourceVersion": "2", "generation": 1},
            "spec": {"replicas": 1}, "status": {"readyReplicas": 1}});
        assert_eq!(comparable(a.clone()), comparable(b));
        let c = json!({"metadata": {"name": "x"}, "spec": {"replicas": 2}});
        assert_ne!(comparable(a), comparable(c));
    }

    fn deployment(name: &str, replicas: i32, ready: i32, managed: bool) -> Deployment {
        let labels = if managed {
            json!({MANAGED_BY_LABEL: MANAGED_BY_VALUE, FEDERATION_LABEL: "f"})
        } else {
            json!({})
        };
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "generation": 1, "labels": labels},
            "spec": {"replicas": replicas, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready},
        }))
        .unwrap()
    }

    fn events(out: Vec<Result<WorkloadEvent, MemberError>>) -> Vec<String> {
        out.into_iter()
            .map(|e| match e.unwrap() {
                WorkloadEvent::Observed(o) => {
                    format!("observed {} {}/{}", o.key, o.counts.ready, o.desired)
                }
                WorkloadEvent::Gone(k) => format!("gone {k}"),
                WorkloadEvent::Synced => "synced".into(),
            })
            .collect()
    }

    #[test]
    fn the_watch_reports_changes_once_and_relists() {
        let ledger = Arc::new(Conformance::default());
        let mut w = DeploymentWatch {
            cluster: "c".into(),
            emitted: BTreeMap::new(),
            listing: None,
            announced: false,
            ledger: ledger.clone(),
            federation: Some("f".into()),
            versions: Vec::new(),
        };
        let key = |name: &str| conformance::key("ns", name);
        assert!(w.step(Ok(Event::Init)).is_empty());
        assert_eq!(
            events(w.step(Ok(Event::InitApply(deployment("a", 2, 0, true))))),
            ["observed ns/a 0/2"],
            "reported as listed"
        );
        assert_eq!(
            events(w.step(Ok(Event::InitApply(deployment("b", 1, 1, true))))),
            ["observed ns/b 1/1"]
        );
        assert!(
            w.step(Ok(Event::InitApply(deployment("mine", 1, 1, false))))
                .is_empty(),
            "not fedsvc's"
        );
        assert_eq!(events(w.step(Ok(Event::InitDone))), ["synced"]);
        let a = ledger.seen_version(key("a"));
        assert_eq!(a, Some(fingerprint(&deployment("a", 2, 0, true))));
        assert!(ledger.seen_version(key("b")).is_some());
        assert!(
            w.step(Ok(Event::Apply(deployment("a", 2, 0, true))))
                .is_empty(),
            "no change"
        );
        assert_eq!(
            events(w.step(Ok(Event::Apply(deployment("a", 2, 2, true))))),
            ["observed ns/a 2/2"]
        );
        assert_eq!(
            ledger.seen_version(key("a")),
            a,
            "a status change leaves the fingerprint"
        );
        let mut other = deployment("a", 2, 2, true);
        other
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(FEDERATION_LABEL.into(), "g".into());
        w.step(Ok(Event::Apply(other)));
        assert_eq!(
            ledger.seen_version(key("a")),
            None,
            "another federation's copy is not ours"
        );
        w.step(Ok(Event::Apply(deployment("a", 2, 2, true))));
        assert_eq!(
            events(w.step(Ok(Event::Apply(deployment("b", 1, 1, false))))),
            ["gone ns/b"],
            "no longer ours"
        );
        // A re-list with a unchanged and c new; no second Synced.
        w.step(Ok(Event::Init));
        assert!(
            w.step(Ok(Event::InitApply(deployment("a", 2, 2, true))))
                .is_empty(),
            "unchanged"
        );
        assert_eq!(
            events(w.step(Ok(Event::InitApply(deployment("c", 1, 0, true))))),
            ["observed ns/c 0/1"]
        );
        assert!(w.step(Ok(Event::InitDone)).is_empty());
        // A re-list without a: gone.
        w.step(Ok(Event::Init));
        w.step(Ok(Event::InitApply(deployment("c", 1, 0, true))));
        assert_eq!(events(w.step(Ok(Event::InitDone))), ["gone ns/a"]);
        assert_eq!(ledger.seen_version(key("a")), None, "gone at the re-list");
        assert!(ledger.seen_version(key("c")).is_some());
        assert!(ledger.certainly_absent(key("a")));
        assert_eq!(
            events(w.step(Ok(Event::Delete(deployment("c", 1, 0, true))))),
            ["gone ns/c"]
        );
        assert!(
            w.step(Ok(Event::Delete(deployment("c", 1, 0, true))))
                .is_empty()
        );
        assert!(ledger.certainly_absent(key("c")));
    }

    #[test]
    fn the_fingerprint_is_what_others_could_change_of_ours() {
        let base = deployment("a", 2, 0, true);
        let f = fingerprint(&base);
        let mut d = deployment("a", 2, 2, true);
        d.metadata.resource_version = Some("99".into());
        d.metadata.generation = Some(7);
        d.metadata.annotations = Some(BTreeMap::from([(
            "deployment.kubernetes.io/revision".to_owned(),
            "3".to_owned(),
        )]));
        assert_eq!(
            fingerprint(&d),
            f,
            "status, bookkeeping and the deployment controller's annotations do not count"
        );
        d.metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert("team".into(), "x".into());
        assert_ne!(fingerprint(&d), f, "an annotation of anyone else's does");
        assert_ne!(
            fingerprint(&deployment("a", 3, 0, true)),
            f,
            "the spec does"
        );
        assert_ne!(fingerprint(&deployment("a", 2, 0, false)), f, "labels do");
    }
}
