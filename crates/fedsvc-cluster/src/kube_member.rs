//! `KubeMember`: a member cluster reached through kube-rs.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_model::{ClusterName, Label};
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tracing::warn;

use crate::conformance::{self, Conformance};
use crate::ensure_outcome::{DeleteOutcome, EnsureOutcome};
use crate::error::{MemberError, error_chain};
use crate::health::Health;
use crate::locality::{Locality, LocalityOverride};
use crate::member_cluster::MemberCluster;
use crate::member_service::{
    MANAGED_BY_LABEL, MANAGED_BY_VALUE, MANAGED_SELECTOR, federation_of, is_managed, member_service,
};
use crate::member_workload::{
    ConfigKind, ConfigObject, ObjectKey, ObjectKind, WorkloadEvent, member_config,
    member_deployment,
};
use crate::rate_limiter::RateLimiter;
use crate::shard_event::ShardEvent;
use crate::shard_tracker::{SERVICE_NAME_LABEL, ServiceItem, ShardTracker, SliceItem};
use crate::stored_kubeconfig::{
    UnsafeKubeconfig, check_stored_kubeconfig, check_stored_kubeconfig_size,
};

/// Client settings of a [`KubeMember`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KubeMemberOptions {
    /// Average requests per second to the member (watches excluded); `0` for no limit.
    pub qps: f64,
    /// Requests allowed in a burst above `qps`.
    pub burst: u32,
    /// How long a health probe may take (default 3 s).
    pub probe_timeout: Duration,
    /// Connect timeout, and time allowed for each ordinary request, watches excluded
    /// (default 10 s).
    pub request_timeout: Duration,
    /// The kubeconfig context to use (default: its current context).
    pub context: Option<String>,
    /// The federation whose copies this member serves (default: none given). With it, the
    /// shard watch counts as ours only the copies labelled with it, and a service or
    /// Deployment copy the member's watch has listed as ours is applied without being read
    /// first (a restarted controller sends one request per copy and member instead of two),
    /// and one that conforms to what was applied costs no request. Without it, every copy is
    /// read first.
    pub federation: Option<String>,
    /// Whether a kubeconfig may use `exec` and `auth-provider` plugins, file references and
    /// the other fields [`check_stored_kubeconfig`] refuses (default: `false`). Dangerous: a
    /// kubeconfig read from a Secret then runs programs and reads files as this process.
    pub allow_unsafe_kubeconfig: bool,
}

impl Default for KubeMemberOptions {
    fn default() -> Self {
        Self {
            qps: 20.0,
            burst: 40,
            probe_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            context: None,
            federation: None,
            allow_unsafe_kubeconfig: false,
        }
    }
}

impl KubeMemberOptions {
    /// Sets the request rate limit.
    #[must_use]
    pub fn rate_limit(mut self, qps: f64, burst: u32) -> Self {
        self.qps = qps;
        self.burst = burst;
        self
    }

    /// Sets the health probe timeout.
    #[must_use]
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Sets the connect timeout and the time allowed for each ordinary request.
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the federation whose copies this member serves.
    #[must_use]
    pub fn federation(mut self, federation: impl Into<String>) -> Self {
        self.federation = Some(federation.into());
        self
    }

    /// Lets kubeconfigs use plugins and file references ([`Self::allow_unsafe_kubeconfig`]);
    /// only for kubeconfigs as trusted as this process itself.
    #[must_use]
    pub fn allow_unsafe_kubeconfig(mut self, allow: bool) -> Self {
        self.allow_unsafe_kubeconfig = allow;
        self
    }

    /// Selects a kubeconfig context.
    #[must_use]
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }
}

/// A member cluster reached through its API server with kube-rs.
///
/// Built from the kubeconfig held in the member's Secret. Requests are rate-limited by a
/// token bucket; shard observations come from kube-runtime watchers, which re-list after
/// `410 Gone` and back off on errors.
#[derive(Clone)]
pub struct KubeMember {
    pub(crate) name: ClusterName,
    pub(crate) client: kube::Client,
    limiter: Arc<RateLimiter>,
    probe_timeout: Duration,
    request_timeout: Duration,
    /// What was applied to our services, and what the shard watch sees of them.
    conformance: Arc<Conformance>,
    /// The federation whose copies the watch counts as ours ([`KubeMemberOptions::federation`]).
    pub(crate) federation: Option<Arc<str>>,
    /// What was applied to our Deployments, and what the Deployment watch sees of them.
    deployments: Arc<Conformance>,
    /// What was last applied to each ConfigMap and Secret copy (no watch follows them).
    config_maps: Arc<Conformance>,
    secrets: Arc<Conformance>,
    /// The namespaces known to exist in the member: each is read (or created) once, not
    /// before every new copy. One that was deleted is forgotten when an apply in it fails.
    namespaces: Arc<Mutex<HashSet<String>>>,
    /// Held while a namespace not known yet is read or created, so that the copies reconciled
    /// at once into a new namespace make it exist with one read and one create, not one each.
    namespace_gate: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for KubeMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeMember")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl KubeMember {
    /// A member from a kubeconfig YAML document (as stored in a Secret).
    ///
    /// The kubeconfig may be at most
    /// [`MAX_STORED_KUBECONFIG_BYTES`](crate::MAX_STORED_KUBECONFIG_BYTES) bytes long and, unless
    /// [`KubeMemberOptions::allow_unsafe_kubeconfig`] is set, may hold only inline credentials
    /// ([`check_stored_kubeconfig`]): a refused field is reported as
    /// [`MemberError::UnsafeKubeconfig`] before any client is built, so no plugin runs and no
    /// file is read.
    ///
    /// A rustls crypto provider must be installed in the process when more than one is
    /// compiled in (binaries install ring at start).
    pub async fn from_kubeconfig_yaml(
        name: ClusterName,
        kubeconfig: &str,
        options: &KubeMemberOptions,
    ) -> Result<Self, MemberError> {
        let bad = |message: String| MemberError::Kubeconfig {
            cluster: name.to_string(),
            message,
        };
        let unsafe_field = |u: UnsafeKubeconfig| MemberError::UnsafeKubeconfig {
            cluster: name.to_string(),
            field: u.field,
            problem: u.problem,
        };
        check_stored_kubeconfig_size(kubeconfig).map_err(unsafe_field)?;
        let kc = Kubeconfig::from_yaml(kubeconfig).map_err(|e| bad(error_chain(&e)))?;
        match check_stored_kubeconfig(&kc) {
            Ok(()) => {}
            Err(u) if options.allow_unsafe_kubeconfig => {
                warn!(
                    cluster = %name,
                    "the kubeconfig's {u}; used because unsafe kubeconfigs are allowed"
                );
            }
            Err(u) => return Err(unsafe_field(u)),
        }
        let opts = KubeConfigOptions {
            context: options.context.clone(),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| bad(error_chain(&e)))?;
        config.connect_timeout = Some(options.request_timeout);
        let client = kube::Client::try_from(config).map_err(|e| bad(error_chain(&e)))?;
        Ok(Self::new(name, client, options))
    }

    /// A member from a ready kube client.
    #[must_use]
    pub fn new(name: ClusterName, client: kube::Client, options: &KubeMemberOptions) -> Self {
        Self {
            name,
            client,
            limiter: Arc::new(RateLimiter::new(options.qps, options.burst)),
            probe_timeout: options.probe_timeout,
            request_timeout: options.request_timeout,
            conformance: Arc::default(),
            federation: options.federation.as_deref().map(Arc::from),
            deployments: Arc::default(),
            config_maps: Arc::default(),
            secrets: Arc::default(),
            namespaces: Arc::default(),
            namespace_gate: Arc::default(),
        }
    }

    /// The kube client.
    #[must_use]
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    pub(crate) fn err(&self, e: kube::Error) -> MemberError {
        MemberError::from_kube(self.name.as_str(), e)
    }

    async fn get_text(&self, path: &str) -> Result<String, kube::Error> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(kube::Error::HttpError)?;
        self.client.request_text(req).await
    }

    async fn probe_path(&self, path: &str) -> Result<Health, kube::Error> {
        match tokio::time::timeout(self.probe_timeout, self.get_text(path)).await {
            Err(_) => Ok(Health::Unreachable {
                message: format!("no answer to GET {path} within {:?}", self.probe_timeout),
            }),
            Ok(Ok(body)) if body.trim() == "ok" => Ok(Health::Ready),
            Ok(Ok(body)) => Ok(Health::NotReady {
                message: format!("GET {path} answered {:?}", body.trim()),
            }),
            Ok(Err(e)) => Err(e),
        }
    }

    /// Runs one API call: waits for a rate-limit token, then gives the call the request
    /// timeout (a call that takes longer counts as the member being unreachable).
    pub(crate) async fn call<T>(
        &self,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, kube::Error> {
        self.limiter.acquire().await;
        match tokio::time::timeout(self.request_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(kube::Error::Service(
                format!("no answer within {:?}", self.request_timeout).into(),
            )),
        }
    }

    /// What fedsvc applied to its copies of `kind`, and what a watch sees of them.
    pub(crate) fn ledger(&self, kind: ObjectKind) -> &Arc<Conformance> {
        match kind {
            ObjectKind::Deployment => &self.deployments,
            ObjectKind::ConfigMap => &self.config_maps,
            ObjectKind::Secret => &self.secrets,
        }
    }

    fn known_namespaces(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.namespaces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets that `namespace` exists (an apply in it found it gone).
    pub(crate) fn forget_namespace(&self, namespace: &str) {
        self.known_namespaces().remove(namespace);
    }

    /// Makes sure `namespace` exists in the member, creating it (labelled as fedsvc's) when
    /// it does not. Costs a request the first time only.
    pub(crate) async fn ensure_namespace(&self, namespace: &str) -> Result<(), MemberError> {
        if self.known_namespaces().contains(namespace) {
            return Ok(());
        }
        let _gate = self.namespace_gate.lock().await;
        if self.known_namespaces().contains(namespace) {
            return Ok(());
        }
        self.ensure_namespace_exists(namespace).await?;
        self.known_namespaces().insert(namespace.to_owned());
        Ok(())
    }

    async fn ensure_namespace_exists(&self, namespace: &str) -> Result<(), MemberError> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        if self
            .call(api.get_opt(namespace))
            .await
            .map_err(|e| self.err(e))?
            .is_some()
        {
            return Ok(());
        }
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.to_owned()),
                labels: Some(BTreeMap::from([(
                    MANAGED_BY_LABEL.to_owned(),
                    MANAGED_BY_VALUE.to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        match self.call(api.create(&PostParams::default(), &ns)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(self.err(e)),
        }
    }
}

/// Which watch an item came from.
enum Item {
    Service(Box<Result<Event<Service>, watcher::Error>>),
    Slice(Box<Result<Event<EndpointSlice>, watcher::Error>>),
}

/// State of a shard stream: the tracker, buffers for re-lists, and whether `Synced` was sent.
struct WatchState {
    cluster: String,
    tracker: ShardTracker,
    services_init: Option<Vec<ServiceItem>>,
    versions_init: Vec<(u64, Option<conformance::Version>)>,
    conformance: Arc<Conformance>,
    slices_init: Option<Vec<SliceItem>>,
    services_synced: bool,
    slices_synced: bool,
    announced: bool,
    federation: Option<Arc<str>>,
}

impl WatchState {
    /// Whether `s` is a copy of ours: fedsvc's, and of our federation when it is known.
    fn ours(&self, s: &Service) -> bool {
        is_managed(s)
            && self
                .federation
                .as_deref()
                .is_none_or(|f| federation_of(s) == Some(f))
    }

    /// The version of `s` when it is a copy of ours: its `resourceVersion`.
    fn version(&self, s: &Service) -> Option<conformance::Version> {
        let rv = s
            .metadata
            .resource_version
            .as_deref()
            .filter(|_| self.ours(s))?;
        Some(conformance::version(rv))
    }

    fn synced(&mut self, out: &mut Vec<Result<ShardEvent, MemberError>>) {
        if !self.announced && self.services_synced && self.slices_synced {
            self.announced = true;
            out.push(Ok(ShardEvent::Synced));
        }
    }

    fn step(&mut self, item: Item) -> Vec<Result<ShardEvent, MemberError>> {
        let mut out = Vec::new();
        match item {
            Item::Service(b) => match *b {
                Err(e) => out.push(Err(watch_error(&self.cluster, &e))),
                Ok(ev) => self.service_event(ev, &mut out),
            },
            Item::Slice(b) => match *b {
                Err(e) => out.push(Err(watch_error(&self.cluster, &e))),
                Ok(ev) => self.slice_event(ev, &mut out),
            },
        }
        out
    }

    fn service_event(
        &mut self,
        ev: Event<Service>,
        out: &mut Vec<Result<ShardEvent, MemberError>>,
    ) {
        match ev {
            Event::Init => {
                self.services_init = Some(Vec::new());
                self.versions_init.clear();
            }
            Event::InitApply(s) => {
                let listed = conformance::meta_key(&s.metadata).map(|k| (k, self.version(&s)));
                self.versions_init.extend(listed);
                self.services_init
                    .get_or_insert_with(Vec::new)
                    .extend(ServiceItem::of(&s));
            }
            Event::InitDone => {
                self.conformance.relisted(&self.versions_init);
                self.versions_init = Vec::new();
                let all = self.services_init.take().unwrap_or_default();
                out.extend(self.tracker.resync_services(all).into_iter().map(Ok));
                self.services_synced = true;
                self.synced(out);
            }
            Event::Apply(s) => {
                if let Some(k) = conformance::meta_key(&s.metadata) {
                    self.conformance.seen(k, self.version(&s));
                }
                out.extend(self.tracker.apply_service(&s).map(Ok));
            }
            Event::Delete(s) => {
                if let Some(k) = conformance::meta_key(&s.metadata) {
                    self.conformance.deleted(k);
                }
                out.extend(self.tracker.delete_service(&s).map(Ok));
            }
        }
    }

    fn slice_event(
        &mut self,
        ev: Event<EndpointSlice>,
        out: &mut Vec<Result<ShardEvent, MemberError>>,
    ) {
        match ev {
            Event::Init => self.slices_init = Some(Vec::new()),
            Event::InitApply(s) => self
                .slices_init
                .get_or_insert_with(Vec::new)
                .extend(SliceItem::of(&s)),
            Event::InitDone => {
                let all = self.slices_init.take().unwrap_or_default();
                out.extend(self.tracker.resync_slices(all).into_iter().map(Ok));
                self.slices_synced = true;
                self.synced(out);
            }
            Event::Apply(s) => out.extend(self.tracker.apply_slice(&s).into_iter().map(Ok)),
            Event::Delete(s) => out.extend(self.tracker.delete_slice(&s).into_iter().map(Ok)),
        }
    }
}

/// Maps a watcher error for `cluster`.
pub(crate) fn watch_error(cluster: &str, e: &watcher::Error) -> MemberError {
    let message = error_chain(e);
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => {
            let mut m = MemberError::from_kube(cluster, clone_kube_error(k));
            if let MemberError::Other { message: msg, .. } = &mut m {
                *msg = message;
            }
            m
        }
        watcher::Error::WatchError(s) => MemberError::Api {
            cluster: cluster.to_owned(),
            code: s.code,
            reason: s.reason.clone(),
            message: s.message.clone(),
        },
        _ => MemberError::Other {
            cluster: cluster.to_owned(),
            message,
        },
    }
}

/// kube errors are not `Clone`; keep what matters for classification.
fn clone_kube_error(e: &kube::Error) -> kube::Error {
    match e {
        kube::Error::Api(s) => kube::Error::Api(s.clone()),
        other => kube::Error::Service(error_chain(other).into()),
    }
}

#[async_trait]
impl MemberCluster for KubeMember {
    fn name(&self) -> &ClusterName {
        &self.name
    }

    async fn probe_health(&self) -> Health {
        let r = match self.probe_path("/readyz").await {
            Err(kube::Error::Api(s)) if s.code == 404 => self.probe_path("/healthz").await,
            other => other,
        };
        match r {
            Ok(h) => h,
            Err(kube::Error::Api(s)) => Health::NotReady {
                message: format!("health check answered {}: {}", s.code, s.message),
            },
            Err(e) => Health::Unreachable {
                message: error_chain(&e),
            },
        }
    }

    async fn locality(&self, overrides: &LocalityOverride) -> Result<Locality, MemberError> {
        let api: Api<Node> = Api::all(self.client.clone());
        let nodes = self
            .call(api.list(&ListParams::default()))
            .await
            .map_err(|e| self.err(e))?;
        let empty = BTreeMap::new();
        let pairs: Vec<(&str, &BTreeMap<String, String>)> = nodes
            .items
            .iter()
            .map(|n| {
                (
                    n.metadata.name.as_deref().unwrap_or(""),
                    n.metadata.labels.as_ref().unwrap_or(&empty),
                )
            })
            .collect();
        Ok(Locality::from_nodes(pairs, overrides))
    }

    async fn ensure_service(
        &self,
        federated: &Service,
        federation: &Label,
    ) -> Result<EnsureOutcome, MemberError> {
        let desired = member_service(federated, federation)?;
        let ns = desired.metadata.namespace.clone().unwrap_or_default();
        let name = desired.metadata.name.clone().unwrap_or_default();
        let (key, digest) = (conformance::key(&ns, &name), conformance::digest(&desired));
        if self.conformance.conforms(key, digest) {
            return Ok(EnsureOutcome::Unchanged);
        }
        let api: Api<Service> = Api::namespaced(self.client.clone(), &ns);
        // A copy the watch lists as ours exists, in an existing namespace, and no other
        // federation holds it; a name the watch has seen no copy by, ours or another
        // federation's, holds none: either way it is applied without being read first.
        let trusted = self.federation.as_deref() == Some(federation.as_str());
        let listed = self.conformance.seen_version(key).filter(|_| trusted);
        let absent = trusted && listed.is_none() && self.conformance.certainly_absent(key);
        let existing = if listed.is_some() || absent {
            None
        } else {
            self.call(api.get_opt(&name))
                .await
                .map_err(|e| self.err(e))?
        };
        if let Some(s) = &existing {
            if let Some(owner) = federation_of(s).filter(|o| *o != federation.as_str()) {
                return Err(MemberError::ForeignService {
                    cluster: self.name.to_string(),
                    namespace: ns,
                    name,
                    owner: owner.to_owned(),
                    federation: federation.to_string(),
                });
            }
        } else if listed.is_none() {
            self.ensure_namespace(&ns).await?;
        }
        let (applied, created) = self.apply(&ns, &name, &desired).await?;
        let rv = applied.metadata.resource_version.as_deref();
        self.conformance
            .applied(key, digest, rv.map(conformance::version));
        Ok(match (listed, existing) {
            (Some(seen), _) if rv.map(conformance::version) == Some(seen) => {
                EnsureOutcome::Unchanged
            }
            (Some(_), _) => EnsureOutcome::Updated,
            // Not read first: a service by that name that was no copy was taken over.
            (None, None) if absent && !created => EnsureOutcome::Adopted,
            (None, None) => EnsureOutcome::Created,
            (None, Some(old)) if !is_managed(&old) => EnsureOutcome::Adopted,
            (None, Some(old))
                if old.metadata.resource_version == applied.metadata.resource_version =>
            {
                EnsureOutcome::Unchanged
            }
            (None, Some(_)) => EnsureOutcome::Updated,
        })
    }

    async fn delete_service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        if self
            .conformance
            .certainly_absent(conformance::key(namespace, name))
        {
            // The watch of our services has none by this name (a same-name service that is
            // not ours may exist; it is left alone either way).
            return Ok(DeleteOutcome::NotFound);
        }
        let api: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        let Some(existing) = self
            .call(api.get_opt(name))
            .await
            .map_err(|e| self.err(e))?
        else {
            return Ok(DeleteOutcome::NotFound);
        };
        if !is_managed(&existing) {
            return Ok(DeleteOutcome::NotManaged);
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: existing.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match self.call(api.delete(name, &params)).await {
            Ok(_) => {
                self.conformance.forget(conformance::key(namespace, name));
                Ok(DeleteOutcome::Deleted)
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(DeleteOutcome::NotFound),
            Err(e) => Err(self.err(e)),
        }
    }

    fn watch_shards(&self) -> BoxStream<'static, Result<ShardEvent, MemberError>> {
        let services: Api<Service> = Api::all(self.client.clone());
        let slices: Api<EndpointSlice> = Api::all(self.client.clone());
        let services = watcher::watcher(
            services,
            watcher::Config::default().labels(MANAGED_SELECTOR),
        )
        .default_backoff()
        .map(|i| Item::Service(Box::new(i)));
        let slices = watcher::watcher(
            slices,
            watcher::Config::default().labels(SERVICE_NAME_LABEL),
        )
        .default_backoff()
        .map(|i| Item::Slice(Box::new(i)));
        let state = WatchState {
            cluster: self.name.to_string(),
            tracker: ShardTracker::default(),
            services_init: None,
            versions_init: Vec::new(),
            conformance: self.conformance.clone(),
            slices_init: None,
            services_synced: false,
            slices_synced: false,
            announced: false,
            federation: self.federation.clone(),
        };
        stream::select(services, slices)
            .scan(state, |state, item| {
                let out = state.step(item);
                futures::future::ready(Some(stream::iter(out)))
            })
            .flatten()
            .boxed()
    }

    async fn ensure_deployment(
        &self,
        federated: &Deployment,
        federation: &Label,
        replicas: u32,
    ) -> Result<EnsureOutcome, MemberError> {
        let desired = member_deployment(federated, federation, replicas)?;
        self.ensure_copy(ObjectKind::Deployment, &desired, federation)
            .await
    }

    async fn delete_deployment(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        self.delete_copy::<Deployment>(ObjectKind::Deployment, namespace, name)
            .await
    }

    fn watch_deployments(&self) -> BoxStream<'static, Result<WorkloadEvent, MemberError>> {
        self.deployment_watch()
    }

    async fn ensure_config(
        &self,
        object: &ConfigObject,
        federation: &Label,
    ) -> Result<EnsureOutcome, MemberError> {
        let kind = ObjectKind::from(object.kind());
        match member_config(object, federation)? {
            ConfigObject::ConfigMap(c) => self.ensure_copy(kind, &c, federation).await,
            ConfigObject::Secret(s) => self.ensure_copy(kind, &s, federation).await,
        }
    }

    async fn delete_config(
        &self,
        kind: ConfigKind,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        match kind {
            ConfigKind::ConfigMap => {
                self.delete_copy::<ConfigMap>(kind.into(), namespace, name)
                    .await
            }
            ConfigKind::Secret => {
                self.delete_copy::<Secret>(kind.into(), namespace, name)
                    .await
            }
        }
    }

    async fn list_managed_configs(
        &self,
        federation: &Label,
    ) -> Result<Vec<(ConfigKind, ObjectKey)>, MemberError> {
        self.managed_configs(federation).await
    }
}
