//! Member clusters as the controller manages them: joining and unjoining as `Cluster` objects
//! come and go, joining again when a member's Secret appears or changes, probing health with
//! hysteresis, reading locality, watching shards, and writing each `Cluster`'s status.

pub(crate) mod health;
mod probe;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use fedsvc_cluster::{
    ALLOWED_CREDENTIALS, Cluster as ClusterResource, ClusterCondition, ClusterStatus, Health,
    KubeMember, KubeMemberOptions, LocalityOverride, MemberCluster, MemberError, ShardEvent,
};
use fedsvc_model::{Cluster, ClusterName, DnsName, Label, LabelRules, ServiceKey};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::members::health::{HealthPolicy, ProbeResult};
use crate::members::probe::{LocalityRead, MemberProbe, to_time};
use crate::shared::Shared;
use crate::state::{FederationState, ShardObservation};

/// The `Ready` condition's reason when no client can be built for a member (no Secret, no
/// kubeconfig in it, or one that cannot be used).
pub const REASON_NOT_REACHABLE: &str = "ClusterNotReachable";
/// The `Ready` condition's reason when the member's kubeconfig uses a plugin, a file reference
/// or another field a stored kubeconfig may not (see `members.allowUnsafeKubeconfig`).
pub const REASON_UNSAFE_KUBECONFIG: &str = "UnsafeKubeconfig";

/// Why no client could be built for a member: the reason and message of its `Ready`
/// condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    /// The condition reason (`ClusterNotReachable`, `UnsafeKubeconfig`).
    pub reason: String,
    /// What is wrong, for the operator.
    pub message: String,
}

impl ConnectError {
    /// An error with `reason`.
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<String> for ConnectError {
    /// A member that cannot be reached with what its Secret holds (`ClusterNotReachable`).
    fn from(message: String) -> Self {
        Self::new(REASON_NOT_REACHABLE, message)
    }
}

/// Builds the client of a member cluster from what its `Cluster` object references.
#[async_trait]
pub trait MemberFactory: Send + Sync {
    /// A member named `name`, reached with `kubeconfig` (the referenced Secret's content, if
    /// any).
    async fn connect(
        &self,
        name: &ClusterName,
        kubeconfig: Option<&str>,
    ) -> Result<Arc<dyn MemberCluster>, ConnectError>;
}

/// Real members, through kube-rs, from the kubeconfig in each Cluster's Secret.
///
/// The kubeconfig may hold only inline credentials unless
/// [`KubeMemberOptions::allow_unsafe_kubeconfig`] is set (`members.allowUnsafeKubeconfig`):
/// one with an `exec` or `auth-provider` plugin, a file reference or another refused field
/// fails with reason [`REASON_UNSAFE_KUBECONFIG`] before any client is built from it.
#[derive(Debug, Clone, Default)]
pub struct KubeMemberFactory {
    /// Client settings (rate limits, timeouts, whether unsafe kubeconfigs are allowed).
    pub options: KubeMemberOptions,
}

#[async_trait]
impl MemberFactory for KubeMemberFactory {
    async fn connect(
        &self,
        name: &ClusterName,
        kubeconfig: Option<&str>,
    ) -> Result<Arc<dyn MemberCluster>, ConnectError> {
        let Some(kc) = kubeconfig else {
            return Err(format!(
                "cluster {name}: its Secret holds no kubeconfig under the referenced key"
            )
            .into());
        };
        let m = KubeMember::from_kubeconfig_yaml(name.clone(), kc, &self.options)
            .await
            .map_err(|e| match e {
                MemberError::UnsafeKubeconfig { .. } => ConnectError::new(
                    REASON_UNSAFE_KUBECONFIG,
                    format!(
                        "{e}; a kubeconfig stored in a Secret may hold only inline credentials \
                         ({ALLOWED_CREDENTIALS}); members.allowUnsafeKubeconfig in the \
                         controller's configuration lets it through, at the risk of running \
                         programs and reading files as the controller"
                    ),
                ),
                other => other.to_string().into(),
            })?;
        Ok(Arc::new(m))
    }
}

/// Members given in advance by name (simulated members for the demo and tests); the Secret is
/// not read.
#[derive(Default)]
pub struct StaticMembers {
    members: BTreeMap<ClusterName, Arc<dyn MemberCluster>>,
}

impl std::fmt::Debug for StaticMembers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.members.keys()).finish()
    }
}

impl StaticMembers {
    /// Adds a member under its own name.
    pub fn insert(&mut self, member: Arc<dyn MemberCluster>) {
        self.members.insert(member.name().clone(), member);
    }
}

#[async_trait]
impl MemberFactory for StaticMembers {
    async fn connect(
        &self,
        name: &ClusterName,
        _kubeconfig: Option<&str>,
    ) -> Result<Arc<dyn MemberCluster>, ConnectError> {
        self.members
            .get(name)
            .cloned()
            .ok_or_else(|| format!("cluster {name}: no such simulated member").into())
    }
}

/// A joined member as the service reconciler sees it.
#[derive(Clone)]
pub struct MemberView {
    /// Its name.
    pub name: ClusterName,
    /// Its client.
    pub member: Arc<dyn MemberCluster>,
    /// Whether it is Ready.
    pub ready: bool,
    /// Whether it is Offline (unreachable).
    pub offline: bool,
    /// The `Cluster` object's labels (for placement).
    pub labels: BTreeMap<String, String>,
}

struct Entry {
    member: Arc<dyn MemberCluster>,
    /// Its health, place and what probing decides.
    probe: MemberProbe,
    overrides: LocalityOverride,
    labels: BTreeMap<String, String>,
    secret_version: Option<String>,
    watch: JoinHandle<()>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

/// What a join that failed was made from: the Secret it read, at which version, and what went
/// wrong reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attempt {
    /// `namespace/name` and key of the Secret.
    secret: (String, String, String),
    /// The Secret's resourceVersion (`None`: not read).
    version: Option<String>,
    /// Why the Secret could not be read.
    read_problem: Option<String>,
}

/// What reading a member's Secret found.
enum SecretRead {
    /// The Secret: the kubeconfig under the referenced key (if any), and its resourceVersion.
    Found {
        kubeconfig: Option<String>,
        version: Option<String>,
    },
    /// The Secret does not exist.
    Missing(String),
    /// The Secret could not be read (a retry may succeed).
    Failed(String),
}

/// The namespace, name and key of the Secret `c` refers to; Secrets without a namespace are in
/// `default_ns`.
fn secret_of(c: &ClusterResource, default_ns: &str) -> (String, String, String) {
    let r = &c.spec.secret_ref;
    (
        r.namespace.clone().unwrap_or_else(|| default_ns.to_owned()),
        r.name.clone(),
        r.key.clone(),
    )
}

/// Joins, probes and unjoins member clusters.
pub struct ClusterManager {
    host: kube::Client,
    namespace: String,
    factory: Arc<dyn MemberFactory>,
    shared: Arc<Shared>,
    policy: HealthPolicy,
    members: Mutex<BTreeMap<ClusterName, Entry>>,
    /// The last seen `Cluster` objects, joined or not: the Secret watch finds here which
    /// clusters a Secret belongs to.
    clusters: Mutex<BTreeMap<ClusterName, ClusterResource>>,
    /// Clusters that could not be joined, and with what: joined again only when that changes.
    failures: Mutex<BTreeMap<ClusterName, Attempt>>,
    /// Told when a cluster becomes Ready or leaves, so services are propagated again.
    ready_tx: futures::channel::mpsc::UnboundedSender<()>,
    /// Told which service's shards changed, so its status is updated.
    shard_tx: futures::channel::mpsc::UnboundedSender<ServiceKey>,
}

impl std::fmt::Debug for ClusterManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterManager")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl ClusterManager {
    /// A manager reading Clusters and Secrets from `host`; Secrets without a namespace are
    /// read from `namespace`. Returns the manager and the streams that fire when services must
    /// be propagated again (a member became Ready or left) and when a service's shards changed.
    #[allow(clippy::type_complexity)]
    pub fn new(
        host: kube::Client,
        namespace: String,
        factory: Arc<dyn MemberFactory>,
        shared: Arc<Shared>,
        policy: HealthPolicy,
    ) -> (
        Arc<Self>,
        futures::channel::mpsc::UnboundedReceiver<()>,
        futures::channel::mpsc::UnboundedReceiver<ServiceKey>,
    ) {
        let (ready_tx, ready_rx) = futures::channel::mpsc::unbounded();
        let (shard_tx, shard_rx) = futures::channel::mpsc::unbounded();
        let m = Arc::new(Self {
            host,
            namespace,
            factory,
            shared,
            policy,
            members: Mutex::new(BTreeMap::new()),
            clusters: Mutex::new(BTreeMap::new()),
            failures: Mutex::new(BTreeMap::new()),
            ready_tx,
            shard_tx,
        });
        (m, ready_rx, shard_rx)
    }

    /// The joined members.
    pub fn members(&self) -> Vec<MemberView> {
        self.members
            .lock()
            .expect("members lock")
            .iter()
            .map(|(name, e)| MemberView {
                name: name.clone(),
                member: e.member.clone(),
                ready: e.probe.is_ready(),
                offline: e.probe.is_offline(),
                labels: e.labels.clone(),
            })
            .collect()
    }

    /// Watches `Cluster` objects until `shutdown`, joining and unjoining members, and the
    /// Secrets of the controller's namespace, joining a member again when its Secret appears,
    /// changes or goes.
    ///
    /// Secrets are watched for their metadata only (names and resourceVersions: a real API
    /// server sends no Secret data on this watch); a member's kubeconfig is read with a GET of
    /// its own Secret when it joins. This needs `list` and `watch` on Secrets in the
    /// controller's namespace. Secrets in other namespaces are read when their `Cluster`
    /// changes, not watched.
    pub async fn run_watch(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let api: Api<ClusterResource> = Api::all(self.host.clone());
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        let secrets: Api<PartialObjectMeta<Secret>> =
            Api::namespaced(self.host.clone(), &self.namespace);
        let mut secret_stream = watcher(secrets, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut seen: Vec<String> = Vec::new();
        loop {
            // One task handles both streams, so a member is never joined twice at once.
            let ev = tokio::select! {
                _ = shutdown.changed() => return,
                ev = stream.next() => ev,
                sev = secret_stream.next() => {
                    match sev {
                        Some(Ok(
                            watcher::Event::Apply(s) | watcher::Event::InitApply(s),
                        )) => {
                            self.secret_changed(
                                s.metadata.name.as_deref().unwrap_or(""),
                                s.metadata.resource_version.clone(),
                            )
                            .await;
                        }
                        Some(Ok(watcher::Event::Delete(s))) => {
                            self.secret_changed(s.metadata.name.as_deref().unwrap_or(""), None)
                                .await;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            warn!(
                                namespace = %self.namespace,
                                error = %e,
                                "watching Secrets failed (the controller needs list and watch on Secrets in its namespace); retrying"
                            );
                        }
                        None => {
                            // Not expected; the Cluster watch goes on without it.
                            secret_stream = futures::stream::pending().boxed();
                        }
                    }
                    continue;
                }
            };
            match ev {
                None => return,
                Some(Err(e)) => {
                    warn!(error = %e, "watching Cluster objects failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Some(Ok(watcher::Event::Init)) => seen.clear(),
                Some(Ok(watcher::Event::InitApply(c))) => {
                    seen.push(c.metadata.name.clone().unwrap_or_default());
                    self.join(&c).await;
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    let mut gone: Vec<ClusterName> = self
                        .members
                        .lock()
                        .expect("members lock")
                        .keys()
                        .chain(self.clusters.lock().expect("clusters lock").keys())
                        .filter(|n| !seen.iter().any(|s| s == n.as_str()))
                        .cloned()
                        .collect();
                    gone.sort();
                    gone.dedup();
                    for name in gone {
                        self.unjoin(&name).await;
                    }
                    self.shared.update(FederationState::set_clusters_listed);
                }
                Some(Ok(watcher::Event::Apply(c))) => self.join(&c).await,
                Some(Ok(watcher::Event::Delete(c))) => {
                    if let Ok(name) = ClusterName::parse(c.metadata.name.as_deref().unwrap_or("")) {
                        self.unjoin(&name).await;
                    }
                }
            }
        }
    }

    /// The `Cluster` objects that refer to the Secret `name` of the controller's namespace
    /// and were not joined (or failed) with its `version`: joins each again.
    async fn secret_changed(self: &Arc<Self>, name: &str, version: Option<String>) {
        let referring: Vec<(ClusterName, ClusterResource)> = self
            .clusters
            .lock()
            .expect("clusters lock")
            .iter()
            .filter(|(_, c)| {
                let (ns, n, _) = secret_of(c, &self.namespace);
                ns == self.namespace && n == name
            })
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        for (cluster, c) in referring {
            let stale = match self.members.lock().expect("members lock").get(&cluster) {
                Some(e) => e.secret_version != version,
                None => self
                    .failures
                    .lock()
                    .expect("failures lock")
                    .get(&cluster)
                    .is_none_or(|a| a.version != version),
            };
            if stale {
                debug!(cluster = %cluster, secret = %name, "the member's Secret changed");
                self.join(&c).await;
            }
        }
    }

    async fn read_kubeconfig(&self, c: &ClusterResource) -> SecretRead {
        let (ns, name, key) = secret_of(c, &self.namespace);
        let api: Api<Secret> = Api::namespaced(self.host.clone(), &ns);
        match api.get_opt(&name).await {
            Ok(Some(s)) => {
                let version = s.metadata.resource_version.clone();
                let kubeconfig = s
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&key))
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                    .or_else(|| s.string_data.as_ref().and_then(|d| d.get(&key)).cloned());
                SecretRead::Found {
                    kubeconfig,
                    version,
                }
            }
            Ok(None) => SecretRead::Missing(format!("Secret {ns}/{name} does not exist")),
            Err(e) => SecretRead::Failed(format!("cannot read Secret {ns}/{name}: {e}")),
        }
    }

    /// Forgets the member `name` after its credentials stopped working (its Secret is gone or
    /// now unusable): its client stops, and its shards leave DNS. Its services in the member
    /// are left alone; the `Cluster` still exists.
    fn drop_member(&self, name: &ClusterName) {
        let entry = self.members.lock().expect("members lock").remove(name);
        if entry.is_none() {
            return;
        }
        info!(cluster = %name, "member left: its credentials are no longer usable");
        self.shared
            .state
            .lock()
            .expect("state lock")
            .remove_cluster(name);
        self.shared.dirty.notify_one();
        let _ = self.ready_tx.unbounded_send(());
        self.shared
            .metrics
            .cluster_ready
            .get_or_create(&crate::ops::metrics::ClusterLabels {
                cluster: name.to_string(),
            })
            .set(0);
    }

    /// Records that `name` could not be joined with `attempt`, drops the member it was, and
    /// says why in its status.
    async fn join_failed(&self, name: &ClusterName, attempt: Attempt, reason: &str, msg: &str) {
        self.drop_member(name);
        self.failures
            .lock()
            .expect("failures lock")
            .insert(name.clone(), attempt);
        self.write_status_problem(name, reason, msg).await;
    }

    /// Joins (or updates) the member described by `c`.
    pub async fn join(self: &Arc<Self>, c: &ClusterResource) {
        let raw = c.metadata.name.clone().unwrap_or_default();
        let name = match ClusterName::parse(&raw) {
            Ok(n) => n,
            Err(e) => {
                warn!(cluster = %raw, error = %e, "Cluster name is not usable");
                return;
            }
        };
        self.clusters
            .lock()
            .expect("clusters lock")
            .insert(name.clone(), c.clone());
        let overrides = overrides_of(c);
        let labels = c.metadata.labels.clone().unwrap_or_default();
        let read = self.read_kubeconfig(c).await;
        if let SecretRead::Failed(msg) = &read
            && self
                .members
                .lock()
                .expect("members lock")
                .contains_key(&name)
        {
            // Most likely the federation API hiccuped: keep the member as it is.
            warn!(cluster = %name, "{msg}; the member keeps its client");
            return;
        }
        let (kubeconfig, version, read_problem) = match read {
            SecretRead::Found {
                kubeconfig,
                version,
            } => (kubeconfig, version, None),
            SecretRead::Missing(msg) | SecretRead::Failed(msg) => (None, None, Some(msg)),
        };
        let attempt = Attempt {
            secret: secret_of(c, &self.namespace),
            version: version.clone(),
            read_problem: read_problem.clone(),
        };
        let failed_before = self
            .failures
            .lock()
            .expect("failures lock")
            .get(&name)
            .is_some_and(|a| *a == attempt);
        if failed_before
            && !self
                .members
                .lock()
                .expect("members lock")
                .contains_key(&name)
        {
            // Nothing it was joined from changed (our own status write, or another field):
            // it fails the same way, and its status says so already.
            return;
        }
        if let Some(msg) = &read_problem {
            warn!(cluster = %name, "{msg}");
        }
        let reuse = {
            let mut members = self.members.lock().expect("members lock");
            match members.get_mut(&name) {
                Some(e) if e.secret_version == version => {
                    if e.overrides != overrides {
                        // Read the locality again at the next probe.
                        e.overrides = overrides.clone();
                        e.probe.forget_place();
                    }
                    if e.labels != labels {
                        e.labels = labels.clone();
                        // Placement may have changed: propagate every service again.
                        let _ = self.ready_tx.unbounded_send(());
                    }
                    true
                }
                _ => false,
            }
        };
        if reuse {
            // Our own status writes come back as watch events: probing here would count extra
            // probes for one member and let it cross a threshold before the others.
            return;
        }
        {
            let member = match self.factory.connect(&name, kubeconfig.as_deref()).await {
                Ok(m) => m,
                Err(e) => {
                    // Without its Secret, the Secret is what to report.
                    let e = match read_problem {
                        Some(msg) => ConnectError::new(REASON_NOT_REACHABLE, msg),
                        None => e,
                    };
                    warn!(cluster = %name, reason = %e.reason, "cannot build a client for the member: {e}");
                    self.join_failed(&name, attempt, &e.reason, &e.message)
                        .await;
                    return;
                }
            };
            self.failures.lock().expect("failures lock").remove(&name);
            let watch = self.spawn_shard_watch(name.clone(), member.clone());
            let entry = Entry {
                member,
                probe: MemberProbe::new(self.policy),
                overrides,
                labels,
                secret_version: version,
                watch,
            };
            info!(cluster = %name, "member joined");
            // Until its health and place are known, DNS does not start from a picture that
            // lacks it.
            self.shared
                .state
                .lock()
                .expect("state lock")
                .set_settled(&name, false);
            self.members
                .lock()
                .expect("members lock")
                .insert(name.clone(), entry);
        }
        if let Some(ready) = self.probe(&name, true).await {
            self.publish_to_state(&[(name, ready)]);
        }
    }

    /// Unjoins `name`: its shards leave DNS and the services fedsvc made there are deleted
    /// (when the member can still be reached).
    pub async fn unjoin(self: &Arc<Self>, name: &ClusterName) {
        self.clusters.lock().expect("clusters lock").remove(name);
        self.failures.lock().expect("failures lock").remove(name);
        let entry = self.members.lock().expect("members lock").remove(name);
        let Some(entry) = entry else { return };
        info!(cluster = %name, "member unjoined");
        let keys: Vec<ServiceKey> = {
            let mut state = self.shared.state.lock().expect("state lock");
            state.remove_cluster(name);
            state.service_keys().cloned().collect()
        };
        self.shared.dirty.notify_one();
        let _ = self.ready_tx.unbounded_send(());
        for key in keys {
            // Only the leader writes members: a standby (or a replica that lost the Lease)
            // leaves the unjoined member's services to the leader, which unjoins it too.
            let deleted = self
                .shared
                .leader
                .fenced(
                    entry
                        .member
                        .delete_service(key.namespace.as_str(), key.name.as_str()),
                )
                .await;
            match deleted {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    warn!(cluster = %name, service = %key, error = %e, "could not remove the service from the unjoined member")
                }
                Err(fenced) => {
                    info!(cluster = %name, reason = %fenced, "the services left in the unjoined member are left to the leader");
                    break;
                }
            }
        }
    }

    fn spawn_shard_watch(
        &self,
        name: ClusterName,
        member: Arc<dyn MemberCluster>,
    ) -> JoinHandle<()> {
        let shared = self.shared.clone();
        let shard_tx = self.shard_tx.clone();
        let federation = shared
            .state
            .lock()
            .expect("state lock")
            .federation()
            .to_string();
        tokio::spawn(async move {
            shared
                .state
                .lock()
                .expect("state lock")
                .set_shards_synced(&name, false);
            let mut stream = member.watch_shards();
            while let Some(ev) = stream.next().await {
                let (key, obs) = match ev {
                    Ok(ShardEvent::Observed(o)) => {
                        if o.federation.as_deref() != Some(federation.as_str()) {
                            continue;
                        }
                        let hostnames = o
                            .hostnames
                            .iter()
                            .filter_map(|h| DnsName::parse(h).ok())
                            .collect();
                        (
                            o.key,
                            Some(ShardObservation {
                                addresses: o.addresses,
                                hostnames,
                                ready_endpoints: o.ready_endpoints,
                            }),
                        )
                    }
                    Ok(ShardEvent::Gone(key)) => (key, None),
                    Ok(ShardEvent::Synced) => {
                        shared.update(|s| s.set_shards_synced(&name, true));
                        continue;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        debug!(cluster = %name, error = %e, "shard watch interrupted; it resumes");
                        continue;
                    }
                };
                let changed = {
                    let mut state = shared.state.lock().expect("state lock");
                    state.observe_shard(&key, &name, obs)
                };
                if changed {
                    shared.dirty.notify_one();
                    let _ = shard_tx.unbounded_send(key);
                }
            }
        })
    }

    /// Probes every member every period until `shutdown`.
    pub async fn run_probes(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.policy.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tick.tick() => {}
            }
            let names: Vec<ClusterName> = self
                .members
                .lock()
                .expect("members lock")
                .keys()
                .cloned()
                .collect();
            // Every change of one round is published at once: when the controller is cut off,
            // all members cross the threshold in the same round, and the DNS task must see
            // them all down together (fail-static), not one by one.
            let changes: Vec<(ClusterName, bool)> =
                futures::future::join_all(names.iter().map(|n| {
                    let this = &self;
                    async move { this.probe(n, false).await.map(|ready| (n.clone(), ready)) }
                }))
                .await
                .into_iter()
                .flatten()
                .collect();
            self.publish_to_state(&changes);
        }
    }

    /// Probes one member and updates its health, locality and status; returns its readiness
    /// when that (or its locality) changed and must be published to the federation state.
    async fn probe(self: &Arc<Self>, name: &ClusterName, force_status: bool) -> Option<bool> {
        let member = self
            .members
            .lock()
            .expect("members lock")
            .get(name)
            .map(|e| e.member.clone())?;
        let result = match tokio::time::timeout(self.policy.timeout, member.probe_health()).await {
            Ok(Health::Ready) => ProbeResult::Healthy,
            Ok(Health::NotReady { message }) => ProbeResult::Unhealthy(message),
            Ok(Health::Unreachable { message }) => ProbeResult::Unreachable(message),
            Ok(_) => ProbeResult::Unhealthy("unknown probe result".into()),
            Err(_) => ProbeResult::Unreachable(format!(
                "no answer to the health probe within {:?}",
                self.policy.timeout
            )),
        };
        let (decision, overrides) = {
            let mut members = self.members.lock().expect("members lock");
            let e = members.get_mut(name)?;
            (
                e.probe.observe(result, SystemTime::now()),
                e.overrides.clone(),
            )
        };
        let mut locality_changed = false;
        match decision.locality {
            LocalityRead::No => {}
            LocalityRead::Refresh => {
                // A refresh gets no more time than a probe: a member that stopped answering
                // must not hold up the whole probe round. What was read before is kept.
                let outcome =
                    match tokio::time::timeout(self.policy.timeout, member.locality(&overrides))
                        .await
                    {
                        Ok(o) => o,
                        Err(_) => Err(fedsvc_cluster::MemberError::Unreachable {
                            cluster: name.to_string(),
                            message: format!(
                                "no answer to the node list within {:?}; the zones and region \
                                 read before are kept",
                                self.policy.timeout
                            ),
                        }),
                    };
                locality_changed = self.record_locality(name, outcome);
            }
            LocalityRead::First => {
                // The first read may take longer than a probe (the nodes of a large cluster),
                // so it runs on its own task, with the member's request timeout, and the round
                // goes on without it; the member is placed in DNS when it ends.
                let this = self.clone();
                let name = name.clone();
                tokio::spawn(async move {
                    let outcome = member.locality(&overrides).await;
                    let changed = this.record_locality(&name, outcome);
                    let ready = {
                        let mut members = this.members.lock().expect("members lock");
                        members.get_mut(&name).map(|e| {
                            e.probe.first_read_done();
                            e.probe.is_ready()
                        })
                    };
                    if let (true, Some(ready)) = (changed, ready) {
                        this.publish_to_state(&[(name.clone(), ready)]);
                        this.write_status(&name).await;
                    }
                });
            }
        }
        if decision.changed || locality_changed || force_status || decision.status_due {
            self.write_status(name).await;
        }
        (decision.changed || locality_changed).then_some(decision.ready)
    }

    /// Keeps what a read of `name`'s locality found; returns whether its locality or the
    /// problem reported with it changed.
    fn record_locality(
        &self,
        name: &ClusterName,
        outcome: Result<fedsvc_cluster::Locality, fedsvc_cluster::MemberError>,
    ) -> bool {
        let mut members = self.members.lock().expect("members lock");
        members
            .get_mut(name)
            .is_some_and(|e| e.probe.locality_read(outcome))
    }

    /// Publishes readiness (and locality) changes to the federation state under one lock, and
    /// wakes the DNS task once.
    fn publish_to_state(&self, changes: &[(ClusterName, bool)]) {
        if changes.is_empty() {
            return;
        }
        let localities: Vec<_> = {
            let members = self.members.lock().expect("members lock");
            changes
                .iter()
                .filter_map(|(name, ready)| {
                    let e = members.get(name)?;
                    Some((
                        name.clone(),
                        *ready,
                        e.probe.place().cloned(),
                        e.probe.state(),
                        e.probe.is_settled(),
                    ))
                })
                .collect()
        };
        {
            let mut state = self.shared.state.lock().expect("state lock");
            for (name, ready, locality, state_of, settled) in &localities {
                state.set_settled(name, *settled);
                match locality {
                    Some((zones, region)) => {
                        if let Some(c) =
                            Cluster::new(name.clone(), region.clone(), zones.clone(), *ready)
                        {
                            state.upsert_cluster(c);
                        }
                    }
                    // Without a locality the cluster cannot have records yet; keep its
                    // readiness if it was placed before.
                    None => {
                        state.set_ready(name, *ready);
                    }
                }
                debug!(cluster = %name, state = ?state_of, "cluster health");
            }
        }
        self.shared.dirty.notify_one();
        for (name, ready, ..) in &localities {
            let labels = crate::ops::metrics::ClusterLabels {
                cluster: name.to_string(),
            };
            self.shared
                .metrics
                .cluster_ready
                .get_or_create(&labels)
                .set(i64::from(*ready));
        }
        if localities.iter().any(|(_, ready, ..)| *ready) {
            let _ = self.ready_tx.unbounded_send(());
        }
    }

    async fn write_status(&self, name: &ClusterName) {
        let status = {
            let members = self.members.lock().expect("members lock");
            let Some(status) = members.get(name).and_then(|e| e.probe.status()) else {
                return;
            };
            status
        };
        if !self.shared.leader.may_write() {
            return;
        }
        let api: Api<ClusterResource> = Api::all(self.host.clone());
        let patch = serde_json::json!({ "status": status });
        if let Err(e) = api
            .patch_status(
                name.as_str(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            debug!(cluster = %name, error = %e, "cannot write Cluster status");
        }
    }

    async fn write_status_problem(&self, name: &ClusterName, reason: &str, message: &str) {
        if !self.shared.leader.may_write() {
            return;
        }
        let now = to_time(SystemTime::now());
        let status = ClusterStatus {
            conditions: vec![ClusterCondition {
                type_: fedsvc_cluster::CONDITION_READY.into(),
                status: "False".into(),
                reason: Some(reason.into()),
                message: Some(message.into()),
                last_probe_time: Some(now.clone()),
                last_transition_time: Some(now),
            }],
            zones: Vec::new(),
            region: None,
        };
        let api: Api<ClusterResource> = Api::all(self.host.clone());
        let patch = serde_json::json!({ "status": status });
        let _ = api
            .patch_status(
                name.as_str(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await;
    }
}

fn overrides_of(c: &ClusterResource) -> LocalityOverride {
    let parse = |s: &str, kind| Label::parse(s, LabelRules::Rfc1123, kind).ok();
    LocalityOverride {
        zones: c
            .spec
            .zones
            .as_ref()
            .map(|zs| zs.iter().filter_map(|z| parse(z, "zone label")).collect()),
        region: c
            .spec
            .region
            .as_deref()
            .and_then(|r| parse(r, "region label")),
    }
}
