//! `SimMember`: an in-memory, scriptable member cluster.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_model::{ClusterName, DnsName, Label, ServiceKey};
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, Service, ServiceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio::sync::watch;

use crate::ensure_outcome::{DeleteOutcome, EnsureOutcome};
use crate::error::MemberError;
use crate::health::Health;
use crate::locality::{LEGACY_REGION_LABEL, Locality, LocalityOverride, REGION_LABEL, ZONE_LABEL};
use crate::member_cluster::MemberCluster;
use crate::member_service::{federation_of, is_managed, member_service};
use crate::member_workload::{
    ConfigKind, ConfigObject, ObjectKey, ObjectKind, ReplicaCounts, WorkloadEvent,
    WorkloadObservation, member_config, member_deployment, meta_federation, meta_is_managed,
};
use crate::shard_event::{ShardEvent, ShardObservation};

/// One service held by a [`SimMember`], with what the cloud and the endpoint controller
/// would have set.
#[derive(Debug, Clone)]
struct SimService {
    service: Service,
    addresses: Vec<IpAddr>,
    hostnames: Vec<String>,
    ready: u32,
}

/// One Deployment held by a [`SimMember`], with what its Deployment controller reports.
#[derive(Debug, Clone)]
struct SimDeployment {
    deployment: Deployment,
    counts: ReplicaCounts,
    /// `metadata.generation`: one more at each change of the spec.
    generation: i64,
    /// `status.observedGeneration`.
    observed: i64,
}

impl SimDeployment {
    fn desired(&self) -> u32 {
        desired_of(&self.deployment)
    }

    /// The Deployment controller's answer to a new spec: with readiness not held, every pod
    /// of it at once; held, pods of it are made but none is ready beyond what already was.
    fn rolled_out(&mut self, hold: bool) {
        let d = self.desired();
        self.observed = self.generation;
        self.counts = if hold {
            ReplicaCounts {
                replicas: d,
                ready: self.counts.ready.min(d),
                available: self.counts.available.min(d),
                updated: d,
            }
        } else {
            full(d)
        };
    }
}

fn desired_of(d: &Deployment) -> u32 {
    let n = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    u32::try_from(n).unwrap_or(0)
}

fn full(d: u32) -> ReplicaCounts {
    ReplicaCounts {
        replicas: d,
        ready: d,
        available: d,
        updated: d,
    }
}

/// Key of a ConfigMap or Secret.
type ConfigKey = (ConfigKind, String, String);

#[derive(Debug)]
struct SimState {
    healthy: bool,
    reachable: bool,
    latency: Duration,
    locality_latency: Duration,
    locality_reads: u64,
    nodes: Vec<(String, BTreeMap<String, String>)>,
    services: BTreeMap<(String, String), SimService>,
    auto_ingress: Option<u32>,
    auto_ready: u32,
    writes: u64,
    deployments: BTreeMap<(String, String), SimDeployment>,
    configs: BTreeMap<ConfigKey, ConfigObject>,
    /// The labels and annotations fedsvc last applied to each Deployment, ConfigMap and
    /// Secret: those it no longer applies are removed, as server-side apply does.
    applied_meta: BTreeMap<(ObjectKind, String, String), ObjectMeta>,
    hold_readiness: bool,
}

/// An in-memory member cluster implementing [`MemberCluster`], driven by a script.
///
/// It behaves like a member API server as fedsvc sees it: `ensure_service` applies only the
/// fields fedsvc owns and reports whether anything changed; `delete_service` leaves services
/// fedsvc does not manage alone; `watch_shards` reports changes as they are scripted. The
/// script sets endpoints ready or not, load-balancer ingress, health, reachability and
/// latency (of every call, or of the node listing alone). Cheap to clone: clones share the
/// same cluster.
///
/// Deployments, ConfigMaps and Secrets are held the same way. The member plays a Deployment
/// controller whose pods are all ready at once (each copy reports as many ready, available and
/// updated pods as it asks for) unless readiness is held
/// ([`set_hold_readiness`](Self::set_hold_readiness)); the script can also set a copy's ready
/// pods or whole status ([`set_deployment_ready`](Self::set_deployment_ready),
/// [`set_deployment_counts`](Self::set_deployment_counts)).
#[derive(Debug, Clone)]
pub struct SimMember {
    name: ClusterName,
    state: Arc<Mutex<SimState>>,
    changed: Arc<watch::Sender<u64>>,
}

fn key(ns: &str, name: &str) -> (String, String) {
    (ns.to_owned(), name.to_owned())
}

impl SimMember {
    /// A healthy, reachable member with one node per zone, labelled with the zone and region.
    #[must_use]
    pub fn new(name: ClusterName, zones: &[&str], region: &str) -> Self {
        let nodes = zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                (
                    format!("{name}-node-{i}"),
                    BTreeMap::from([
                        (ZONE_LABEL.to_owned(), (*z).to_owned()),
                        (REGION_LABEL.to_owned(), region.to_owned()),
                    ]),
                )
            })
            .collect();
        Self {
            name,
            state: Arc::new(Mutex::new(SimState {
                healthy: true,
                reachable: true,
                latency: Duration::ZERO,
                locality_latency: Duration::ZERO,
                locality_reads: 0,
                nodes,
                services: BTreeMap::new(),
                auto_ingress: None,
                auto_ready: 0,
                writes: 0,
                deployments: BTreeMap::new(),
                configs: BTreeMap::new(),
                applied_meta: BTreeMap::new(),
                hold_readiness: false,
            })),
            changed: Arc::new(watch::channel(0).0),
        }
    }

    /// Plays a cloud load-balancer controller: each new `LoadBalancer` service gets the next
    /// IPv4 address from `first` as its ingress.
    #[must_use]
    pub fn with_auto_ingress(self, first: Ipv4Addr) -> Self {
        self.lock().auto_ingress = Some(u32::from(first));
        self
    }

    /// Plays the endpoint controller: each new service starts with `ready` ready endpoints.
    #[must_use]
    pub fn with_auto_endpoints(self, ready: u32) -> Self {
        self.lock().auto_ready = ready;
        self
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|g| *g += 1);
    }

    /// Makes the health probe answer `ok` (true) or fail (false).
    pub fn set_healthy(&self, healthy: bool) {
        self.lock().healthy = healthy;
    }

    /// Takes the member's API down (false) or up again (true). While down every call fails
    /// with [`MemberError::Unreachable`] and the shard stream yields one such error.
    pub fn set_reachable(&self, reachable: bool) {
        self.lock().reachable = reachable;
        self.notify();
    }

    /// Adds latency to every call.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Adds latency to the node listing alone ([`MemberCluster::locality`]), on top of the
    /// latency of every call: the health probe still answers at once. A very long latency
    /// plays a member whose API answers `/readyz` but hangs when its nodes are listed.
    pub fn set_locality_latency(&self, latency: Duration) {
        self.lock().locality_latency = latency;
    }

    /// Replaces the nodes: `(name, zone, region)`; `None` leaves a label out.
    pub fn set_nodes(&self, nodes: &[(&str, Option<&str>, Option<&str>)]) {
        self.lock().nodes = nodes
            .iter()
            .map(|(n, z, r)| {
                let mut labels = BTreeMap::new();
                if let Some(z) = z {
                    labels.insert(ZONE_LABEL.to_owned(), (*z).to_owned());
                }
                if let Some(r) = r {
                    labels.insert(LEGACY_REGION_LABEL.to_owned(), (*r).to_owned());
                }
                ((*n).to_owned(), labels)
            })
            .collect();
    }

    /// Sets the number of ready endpoints of a service. Returns false when there is no such
    /// service.
    pub fn set_ready_endpoints(&self, namespace: &str, name: &str, ready: u32) -> bool {
        let found = match self.lock().services.get_mut(&key(namespace, name)) {
            Some(s) => {
                s.ready = ready;
                true
            }
            None => false,
        };
        self.notify();
        found
    }

    /// Sets the load-balancer ingress of a service (both empty clears it). Returns false
    /// when there is no such service.
    pub fn set_ingress(
        &self,
        namespace: &str,
        name: &str,
        addresses: &[IpAddr],
        hostnames: &[&str],
    ) -> bool {
        let found = match self.lock().services.get_mut(&key(namespace, name)) {
            Some(s) => {
                s.addresses = addresses.to_vec();
                s.hostnames = hostnames.iter().map(|h| (*h).to_owned()).collect();
                true
            }
            None => false,
        };
        self.notify();
        found
    }

    /// Puts a service as if a user had created it in the member directly (not managed by
    /// fedsvc unless its labels say so), for adoption scenarios.
    pub fn insert_service(&self, service: Service) {
        let ns = service.metadata.namespace.clone().unwrap_or_default();
        let name = service.metadata.name.clone().unwrap_or_default();
        self.lock().services.insert(
            key(&ns, &name),
            SimService {
                service,
                addresses: Vec::new(),
                hostnames: Vec::new(),
                ready: 0,
            },
        );
        self.notify();
    }

    /// The member's copy of a service, with the scripted load-balancer status.
    #[must_use]
    pub fn service(&self, namespace: &str, name: &str) -> Option<Service> {
        self.lock()
            .services
            .get(&key(namespace, name))
            .map(with_status)
    }

    /// Every service of the member.
    #[must_use]
    pub fn services(&self) -> Vec<Service> {
        self.lock().services.values().map(with_status).collect()
    }

    /// How many writes (creations, updates, deletions) the member has received through
    /// [`MemberCluster`] calls.
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// How many times its nodes have been listed ([`MemberCluster::locality`]), counting
    /// listings still waiting out a latency and listings given up by the caller.
    #[must_use]
    pub fn locality_reads(&self) -> u64 {
        self.lock().locality_reads
    }

    /// Holds readiness (true): copies of Deployments then get their pods, none of which
    /// becomes ready by itself (ready and available stay where they were, at most the
    /// desired count); the script makes them ready with
    /// [`set_deployment_ready`](Self::set_deployment_ready). Releasing it (false) makes every
    /// copy's pods ready at once, as they are by default.
    pub fn set_hold_readiness(&self, hold: bool) {
        {
            let mut s = self.lock();
            s.hold_readiness = hold;
            if !hold {
                for d in s.deployments.values_mut() {
                    d.rolled_out(false);
                }
            }
        }
        self.notify();
    }

    /// Sets the ready (and available) pods of a Deployment. Returns false when there is no
    /// such Deployment.
    pub fn set_deployment_ready(&self, namespace: &str, name: &str, ready: u32) -> bool {
        let found = match self.lock().deployments.get_mut(&key(namespace, name)) {
            Some(d) => {
                d.counts.ready = ready;
                d.counts.available = ready;
                true
            }
            None => false,
        };
        self.notify();
        found
    }

    /// Sets the status counts of a Deployment, and whether its controller has seen its
    /// latest spec. Returns false when there is no such Deployment.
    pub fn set_deployment_counts(
        &self,
        namespace: &str,
        name: &str,
        counts: ReplicaCounts,
        up_to_date: bool,
    ) -> bool {
        let found = match self.lock().deployments.get_mut(&key(namespace, name)) {
            Some(d) => {
                d.counts = counts;
                d.observed = if up_to_date {
                    d.generation
                } else {
                    d.generation - 1
                };
                true
            }
            None => false,
        };
        self.notify();
        found
    }

    /// Puts a Deployment as if a user had created it in the member directly (not managed by
    /// fedsvc unless its labels say so), its pods ready, for adoption scenarios.
    pub fn insert_deployment(&self, deployment: Deployment) {
        let ns = deployment.metadata.namespace.clone().unwrap_or_default();
        let name = deployment.metadata.name.clone().unwrap_or_default();
        let mut d = SimDeployment {
            deployment,
            counts: ReplicaCounts::default(),
            generation: 1,
            observed: 1,
        };
        d.rolled_out(false);
        self.lock().deployments.insert(key(&ns, &name), d);
        self.notify();
    }

    /// The member's copy of a Deployment, with its generation and the scripted status.
    #[must_use]
    pub fn deployment(&self, namespace: &str, name: &str) -> Option<Deployment> {
        self.lock()
            .deployments
            .get(&key(namespace, name))
            .map(deployment_with_status)
    }

    /// Every Deployment of the member.
    #[must_use]
    pub fn deployments(&self) -> Vec<Deployment> {
        self.lock()
            .deployments
            .values()
            .map(deployment_with_status)
            .collect()
    }

    /// Puts a ConfigMap or Secret as if a user had created it in the member directly, for
    /// adoption scenarios.
    pub fn insert_config(&self, object: ConfigObject) {
        let meta = object.metadata();
        let k = (
            object.kind(),
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        self.lock().configs.insert(k, object);
    }

    /// The member's ConfigMap or Secret.
    #[must_use]
    pub fn config(&self, kind: ConfigKind, namespace: &str, name: &str) -> Option<ConfigObject> {
        self.lock()
            .configs
            .get(&(kind, namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    async fn call(&self) -> Result<(), MemberError> {
        let (latency, reachable) = {
            let s = self.lock();
            (s.latency, s.reachable)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if reachable {
            Ok(())
        } else {
            Err(self.unreachable())
        }
    }

    fn foreign(
        &self,
        kind: ObjectKind,
        namespace: &str,
        name: &str,
        owner: &str,
        federation: &Label,
    ) -> MemberError {
        MemberError::ForeignObject {
            cluster: self.name.to_string(),
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            owner: owner.to_owned(),
            federation: federation.to_string(),
        }
    }

    fn unreachable(&self) -> MemberError {
        MemberError::Unreachable {
            cluster: self.name.to_string(),
            message: "simulated outage: connection refused".into(),
        }
    }

    fn observations(&self) -> Option<BTreeMap<ServiceKey, ShardObservation>> {
        let s = self.lock();
        if !s.reachable {
            return None;
        }
        Some(
            s.services
                .iter()
                .filter(|(_, v)| is_managed(&v.service))
                .filter_map(|((ns, name), v)| {
                    let key = ServiceKey::parse(ns, name).ok()?;
                    let mut addresses = v.addresses.clone();
                    if let Some(ext) = v
                        .service
                        .spec
                        .as_ref()
                        .and_then(|s| s.external_ips.as_ref())
                    {
                        addresses.extend(ext.iter().filter_map(|ip| ip.parse::<IpAddr>().ok()));
                    }
                    addresses.sort();
                    addresses.dedup();
                    // As a real member's watch does: what is not a host name is left out.
                    let mut hostnames: Vec<DnsName> = v
                        .hostnames
                        .iter()
                        .filter_map(|h| DnsName::parse(h).ok())
                        .collect();
                    hostnames.sort();
                    hostnames.dedup();
                    Some((
                        key.clone(),
                        ShardObservation {
                            key,
                            federation: federation_of(&v.service).map(str::to_owned),
                            addresses,
                            hostnames,
                            ready_endpoints: v.ready,
                        },
                    ))
                })
                .collect(),
        )
    }

    fn workload_observations(&self) -> Option<BTreeMap<ObjectKey, WorkloadObservation>> {
        let s = self.lock();
        if !s.reachable {
            return None;
        }
        Some(
            s.deployments
                .iter()
                .filter(|(_, d)| meta_is_managed(&d.deployment.metadata))
                .filter_map(|((ns, name), d)| {
                    let key = ObjectKey::parse(ns, name).ok()?;
                    Some((
                        key.clone(),
                        WorkloadObservation {
                            key,
                            federation: meta_federation(&d.deployment.metadata).map(str::to_owned),
                            desired: d.desired(),
                            counts: d.counts,
                            up_to_date: d.observed >= d.generation,
                        },
                    ))
                })
                .collect(),
        )
    }

    /// A stream of the changes of what `observe` reports: `observed` for each new or changed
    /// value, `gone` for each key no longer reported, then `synced` once; one `Err` per
    /// outage.
    fn diff_stream<K, V, E>(
        &self,
        observe: fn(&SimMember) -> Option<BTreeMap<K, V>>,
        observed: fn(V) -> E,
        gone: fn(K) -> E,
        synced: E,
    ) -> BoxStream<'static, Result<E, MemberError>>
    where
        K: Ord + Clone + Send + Sync + 'static,
        V: PartialEq + Clone + Send + Sync + 'static,
        E: Clone + Send + 'static,
    {
        struct St<K, V, E> {
            member: SimMember,
            rx: watch::Receiver<u64>,
            emitted: BTreeMap<K, V>,
            pending: VecDeque<Result<E, MemberError>>,
            started: bool,
            announced: bool,
            down: bool,
        }
        let st = St {
            member: self.clone(),
            rx: self.changed.subscribe(),
            emitted: BTreeMap::new(),
            pending: VecDeque::new(),
            started: false,
            announced: false,
            down: false,
        };
        stream::unfold(st, move |mut st| {
            let synced = synced.clone();
            async move {
                loop {
                    if let Some(item) = st.pending.pop_front() {
                        return Some((item, st));
                    }
                    if st.started && st.rx.changed().await.is_err() {
                        return None;
                    }
                    st.started = true;
                    st.rx.borrow_and_update();
                    match observe(&st.member) {
                        None => {
                            if !st.down {
                                st.down = true;
                                st.pending.push_back(Err(st.member.unreachable()));
                            }
                        }
                        Some(now) => {
                            st.down = false;
                            for (k, v) in &now {
                                if st.emitted.get(k) != Some(v) {
                                    st.pending.push_back(Ok(observed(v.clone())));
                                }
                            }
                            for k in st.emitted.keys() {
                                if !now.contains_key(k) {
                                    st.pending.push_back(Ok(gone(k.clone())));
                                }
                            }
                            st.emitted = now;
                            if !st.announced {
                                st.announced = true;
                                st.pending.push_back(Ok(synced.clone()));
                            }
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

fn deployment_with_status(d: &SimDeployment) -> Deployment {
    let mut out = d.deployment.clone();
    out.metadata.generation = Some(d.generation);
    let n = |c: u32| Some(i32::try_from(c).unwrap_or(i32::MAX));
    out.status = Some(DeploymentStatus {
        observed_generation: Some(d.observed),
        replicas: n(d.counts.replicas),
        ready_replicas: n(d.counts.ready),
        available_replicas: n(d.counts.available),
        updated_replicas: n(d.counts.updated),
        ..DeploymentStatus::default()
    });
    out
}

/// Server-side apply of `desired`'s metadata over `live`'s, fedsvc being the only applier:
/// labels and annotations merge, less those fedsvc applied before (`previous`) but no longer
/// applies.
fn apply_meta(
    live: &ObjectMeta,
    desired: &ObjectMeta,
    previous: Option<&ObjectMeta>,
) -> ObjectMeta {
    fn merge(
        live: Option<&BTreeMap<String, String>>,
        desired: Option<&BTreeMap<String, String>>,
        previous: Option<&BTreeMap<String, String>>,
    ) -> BTreeMap<String, String> {
        let mut out = live.cloned().unwrap_or_default();
        for k in previous.into_iter().flatten().map(|(k, _)| k) {
            if desired.is_none_or(|d| !d.contains_key(k)) {
                out.remove(k);
            }
        }
        out.extend(desired.cloned().unwrap_or_default());
        out
    }
    let mut out = live.clone();
    out.labels = Some(merge(
        live.labels.as_ref(),
        desired.labels.as_ref(),
        previous.and_then(|p| p.labels.as_ref()),
    ));
    let annotations = merge(
        live.annotations.as_ref(),
        desired.annotations.as_ref(),
        previous.and_then(|p| p.annotations.as_ref()),
    );
    out.annotations = (!annotations.is_empty()).then_some(annotations);
    out
}

/// Server-side apply of a ConfigMap or Secret: metadata merged, data replaced.
fn apply_config(
    live: &ConfigObject,
    desired: &ConfigObject,
    previous: Option<&ObjectMeta>,
) -> ConfigObject {
    match (live, desired) {
        (ConfigObject::ConfigMap(l), ConfigObject::ConfigMap(d)) => {
            ConfigObject::ConfigMap(k8s_openapi::api::core::v1::ConfigMap {
                metadata: apply_meta(&l.metadata, &d.metadata, previous),
                ..d.clone()
            })
        }
        (ConfigObject::Secret(l), ConfigObject::Secret(d)) => {
            ConfigObject::Secret(k8s_openapi::api::core::v1::Secret {
                metadata: apply_meta(&l.metadata, &d.metadata, previous),
                type_: d.type_.clone().or_else(|| l.type_.clone()),
                ..d.clone()
            })
        }
        _ => desired.clone(),
    }
}

fn same_config(a: &ConfigObject, b: &ConfigObject) -> bool {
    match (a, b) {
        (ConfigObject::ConfigMap(a), ConfigObject::ConfigMap(b)) => a == b,
        (ConfigObject::Secret(a), ConfigObject::Secret(b)) => a == b,
        _ => false,
    }
}

fn with_status(s: &SimService) -> Service {
    let mut svc = s.service.clone();
    let ingress: Vec<LoadBalancerIngress> = s
        .addresses
        .iter()
        .map(|ip| LoadBalancerIngress {
            ip: Some(ip.to_string()),
            ..LoadBalancerIngress::default()
        })
        .chain(s.hostnames.iter().map(|h| LoadBalancerIngress {
            hostname: Some(h.clone()),
            ..LoadBalancerIngress::default()
        }))
        .collect();
    svc.status = Some(ServiceStatus {
        load_balancer: Some(LoadBalancerStatus {
            ingress: (!ingress.is_empty()).then_some(ingress),
        }),
        ..ServiceStatus::default()
    });
    svc
}

/// Server-side apply of `desired` over `live`, fedsvc being the only applier: labels and
/// annotations merge, the spec is replaced except for what a server would have allocated.
fn apply(live: &Service, desired: &Service) -> Service {
    let mut out = live.clone();
    let mut labels = live.metadata.labels.clone().unwrap_or_default();
    labels.extend(desired.metadata.labels.clone().unwrap_or_default());
    out.metadata.labels = Some(labels);
    let mut annotations = live.metadata.annotations.clone().unwrap_or_default();
    annotations.extend(desired.metadata.annotations.clone().unwrap_or_default());
    out.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    let mut spec = desired.spec.clone().unwrap_or_default();
    if let Some(old) = &live.spec {
        spec.cluster_ip = spec.cluster_ip.or_else(|| old.cluster_ip.clone());
        spec.cluster_ips = spec.cluster_ips.or_else(|| old.cluster_ips.clone());
        spec.ip_families = spec.ip_families.or_else(|| old.ip_families.clone());
        spec.ip_family_policy = spec
            .ip_family_policy
            .or_else(|| old.ip_family_policy.clone());
    }
    out.spec = Some(spec);
    out
}

#[async_trait]
impl MemberCluster for SimMember {
    fn name(&self) -> &ClusterName {
        &self.name
    }

    async fn probe_health(&self) -> Health {
        if let Err(e) = self.call().await {
            return Health::Unreachable {
                message: e.to_string(),
            };
        }
        if self.lock().healthy {
            Health::Ready
        } else {
            Health::NotReady {
                message: "GET /readyz answered \"[-]etcd failed\" (simulated)".into(),
            }
        }
    }

    async fn locality(&self, overrides: &LocalityOverride) -> Result<Locality, MemberError> {
        let extra = {
            let mut s = self.lock();
            s.locality_reads += 1;
            s.locality_latency
        };
        if !extra.is_zero() {
            tokio::time::sleep(extra).await;
        }
        self.call().await?;
        let nodes = self.lock().nodes.clone();
        Ok(Locality::from_nodes(
            nodes.iter().map(|(n, l)| (n.as_str(), l)),
            overrides,
        ))
    }

    async fn ensure_service(
        &self,
        federated: &Service,
        federation: &Label,
    ) -> Result<EnsureOutcome, MemberError> {
        let desired = member_service(federated, federation)?;
        self.call().await?;
        let ns = desired.metadata.namespace.clone().unwrap_or_default();
        let name = desired.metadata.name.clone().unwrap_or_default();
        let outcome = {
            let mut s = self.lock();
            let k = key(&ns, &name);
            let outcome = match s.services.get(&k) {
                Some(old) => {
                    if let Some(owner) =
                        federation_of(&old.service).filter(|o| *o != federation.as_str())
                    {
                        return Err(MemberError::ForeignService {
                            cluster: self.name.to_string(),
                            namespace: ns,
                            name,
                            owner: owner.to_owned(),
                            federation: federation.to_string(),
                        });
                    }
                    let adopted = !is_managed(&old.service);
                    let new = apply(&old.service, &desired);
                    if new == old.service {
                        EnsureOutcome::Unchanged
                    } else {
                        s.services.get_mut(&k).expect("present").service = new;
                        if adopted {
                            EnsureOutcome::Adopted
                        } else {
                            EnsureOutcome::Updated
                        }
                    }
                }
                None => {
                    let is_lb = desired.spec.as_ref().and_then(|sp| sp.type_.as_deref())
                        == Some("LoadBalancer");
                    let addresses = match (is_lb, s.auto_ingress) {
                        (true, Some(next)) => {
                            s.auto_ingress = Some(next.wrapping_add(1));
                            vec![IpAddr::V4(Ipv4Addr::from(next))]
                        }
                        _ => Vec::new(),
                    };
                    let ready = s.auto_ready;
                    s.services.insert(
                        k,
                        SimService {
                            service: desired,
                            addresses,
                            hostnames: Vec::new(),
                            ready,
                        },
                    );
                    EnsureOutcome::Created
                }
            };
            if outcome.changed() {
                s.writes += 1;
            }
            outcome
        };
        if outcome.changed() {
            self.notify();
        }
        Ok(outcome)
    }

    async fn delete_service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        self.call().await?;
        let outcome = {
            let mut s = self.lock();
            let k = key(namespace, name);
            match s.services.get(&k) {
                None => DeleteOutcome::NotFound,
                Some(v) if !is_managed(&v.service) => DeleteOutcome::NotManaged,
                Some(_) => {
                    s.services.remove(&k);
                    s.writes += 1;
                    DeleteOutcome::Deleted
                }
            }
        };
        if outcome == DeleteOutcome::Deleted {
            self.notify();
        }
        Ok(outcome)
    }

    fn watch_shards(&self) -> BoxStream<'static, Result<ShardEvent, MemberError>> {
        self.diff_stream(
            SimMember::observations,
            ShardEvent::Observed,
            ShardEvent::Gone,
            ShardEvent::Synced,
        )
    }

    async fn ensure_deployment(
        &self,
        federated: &Deployment,
        federation: &Label,
        replicas: u32,
    ) -> Result<EnsureOutcome, MemberError> {
        let desired = member_deployment(federated, federation, replicas)?;
        self.call().await?;
        let ns = desired.metadata.namespace.clone().unwrap_or_default();
        let name = desired.metadata.name.clone().unwrap_or_default();
        let outcome = {
            let mut s = self.lock();
            let hold = s.hold_readiness;
            let k = key(&ns, &name);
            let meta_key = (ObjectKind::Deployment, ns.clone(), name.clone());
            let previous = s.applied_meta.get(&meta_key).cloned();
            let applied_meta = desired.metadata.clone();
            let outcome = match s.deployments.get_mut(&k) {
                Some(old) => {
                    if let Some(owner) = meta_federation(&old.deployment.metadata)
                        .filter(|o| *o != federation.as_str())
                    {
                        return Err(self.foreign(
                            ObjectKind::Deployment,
                            &ns,
                            &name,
                            owner,
                            federation,
                        ));
                    }
                    let adopted = !meta_is_managed(&old.deployment.metadata);
                    let new = Deployment {
                        metadata: apply_meta(
                            &old.deployment.metadata,
                            &desired.metadata,
                            previous.as_ref(),
                        ),
                        spec: desired.spec.clone(),
                        status: None,
                    };
                    if new == old.deployment {
                        EnsureOutcome::Unchanged
                    } else {
                        if new.spec != old.deployment.spec {
                            old.generation += 1;
                        }
                        old.deployment = new;
                        old.rolled_out(hold);
                        if adopted {
                            EnsureOutcome::Adopted
                        } else {
                            EnsureOutcome::Updated
                        }
                    }
                }
                None => {
                    let mut d = SimDeployment {
                        deployment: desired,
                        counts: ReplicaCounts::default(),
                        generation: 1,
                        observed: 1,
                    };
                    d.rolled_out(hold);
                    s.deployments.insert(k, d);
                    EnsureOutcome::Created
                }
            };
            s.applied_meta.insert(meta_key, applied_meta);
            if outcome.changed() {
                s.writes += 1;
            }
            outcome
        };
        if outcome.changed() {
            self.notify();
        }
        Ok(outcome)
    }

    async fn delete_deployment(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        self.call().await?;
        let outcome = {
            let mut s = self.lock();
            let k = key(namespace, name);
            match s.deployments.get(&k) {
                None => DeleteOutcome::NotFound,
                Some(d) if !meta_is_managed(&d.deployment.metadata) => DeleteOutcome::NotManaged,
                Some(_) => {
                    s.deployments.remove(&k);
                    s.applied_meta.remove(&(
                        ObjectKind::Deployment,
                        namespace.to_owned(),
                        name.to_owned(),
                    ));
                    s.writes += 1;
                    DeleteOutcome::Deleted
                }
            }
        };
        if outcome == DeleteOutcome::Deleted {
            self.notify();
        }
        Ok(outcome)
    }

    fn watch_deployments(&self) -> BoxStream<'static, Result<WorkloadEvent, MemberError>> {
        self.diff_stream(
            SimMember::workload_observations,
            WorkloadEvent::Observed,
            WorkloadEvent::Gone,
            WorkloadEvent::Synced,
        )
    }

    async fn ensure_config(
        &self,
        object: &ConfigObject,
        federation: &Label,
    ) -> Result<EnsureOutcome, MemberError> {
        let desired = member_config(object, federation)?;
        self.call().await?;
        let meta = desired.metadata();
        let kind = desired.kind();
        let (ns, name) = (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        let k = (kind, ns.clone(), name.clone());
        let meta_key = (ObjectKind::from(kind), ns.clone(), name.clone());
        let applied_meta = meta.clone();
        let mut s = self.lock();
        let previous = s.applied_meta.get(&meta_key).cloned();
        let outcome = match s.configs.get(&k) {
            Some(old) => {
                if let Some(owner) =
                    meta_federation(old.metadata()).filter(|o| *o != federation.as_str())
                {
                    return Err(self.foreign(kind.into(), &ns, &name, owner, federation));
                }
                let adopted = !meta_is_managed(old.metadata());
                let new = apply_config(old, &desired, previous.as_ref());
                if same_config(&new, old) {
                    EnsureOutcome::Unchanged
                } else {
                    s.configs.insert(k, new);
                    if adopted {
                        EnsureOutcome::Adopted
                    } else {
                        EnsureOutcome::Updated
                    }
                }
            }
            None => {
                s.configs.insert(k, desired);
                EnsureOutcome::Created
            }
        };
        s.applied_meta.insert(meta_key, applied_meta);
        if outcome.changed() {
            s.writes += 1;
        }
        Ok(outcome)
    }

    async fn delete_config(
        &self,
        kind: ConfigKind,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError> {
        self.call().await?;
        let mut s = self.lock();
        let k = (kind, namespace.to_owned(), name.to_owned());
        Ok(match s.configs.get(&k) {
            None => DeleteOutcome::NotFound,
            Some(c) if !meta_is_managed(c.metadata()) => DeleteOutcome::NotManaged,
            Some(_) => {
                s.configs.remove(&k);
                s.applied_meta
                    .remove(&(kind.into(), namespace.to_owned(), name.to_owned()));
                s.writes += 1;
                DeleteOutcome::Deleted
            }
        })
    }

    async fn list_managed_configs(
        &self,
        federation: &Label,
    ) -> Result<Vec<(ConfigKind, ObjectKey)>, MemberError> {
        self.call().await?;
        let s = self.lock();
        Ok(s.configs
            .iter()
            .filter(|(_, c)| {
                meta_is_managed(c.metadata())
                    && meta_federation(c.metadata()) == Some(federation.as_str())
            })
            .filter_map(|((kind, ns, name), _)| Some((*kind, ObjectKey::parse(ns, name).ok()?)))
            .collect())
    }
}
