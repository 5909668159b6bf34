//! Member clusters as the controller manages them, one file per concern:
//!
//! - `factory`: the client of a member, from the kubeconfig in its Secret or given in advance;
//! - `join`: joining and unjoining as `Cluster` objects and their Secrets come, change and go;
//! - `health` and `probe`: the pure state machines of probing (hysteresis, locality reads,
//!   the status they make); `rounds`: the probe rounds that feed them and publish readiness;
//! - `shards`: each member's shard watch, fed to the federation state;
//! - `status`: the `Cluster` objects' status.

mod factory;
pub(crate) mod health;
mod join;
mod probe;
mod rounds;
mod shards;
mod status;
mod workloads;

pub use factory::{
    ConnectError, KubeMemberFactory, MemberFactory, REASON_NOT_REACHABLE, REASON_UNSAFE_KUBECONFIG,
    StaticMembers,
};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use fedsvc_cluster::ObjectKey;
use fedsvc_cluster::{Cluster as ClusterResource, LocalityOverride, MemberCluster};
use fedsvc_model::{ClusterName, ServiceKey};
use tokio::task::JoinHandle;

use crate::members::health::HealthPolicy;
use crate::members::probe::MemberProbe;
use crate::shared::Shared;

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
    /// The watch of its copies of federated Deployments, when those are on.
    workload_watch: Option<JoinHandle<()>>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.watch.abort();
        if let Some(w) = &self.workload_watch {
            w.abort();
        }
    }
}

/// Which member changes a reconciler is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Changes {
    /// A member became Ready, joined, left or was relabelled (Services: a member that stops
    /// being Ready keeps its copy, nothing to do).
    BecameReady,
    /// Any readiness change too (Deployments: a member that stops being Ready gives its
    /// replicas to the others).
    Any,
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
    failures: Mutex<BTreeMap<ClusterName, join::Attempt>>,
    /// Told when members change in a way that calls for propagating federated objects
    /// again: one sender per reconciler, each with what it is told of
    /// ([`ClusterManager::subscribe`]).
    ready_txs: Mutex<Vec<(Changes, futures::channel::mpsc::UnboundedSender<()>)>>,
    /// Told which federated Deployment's member copies changed, so its status is updated;
    /// `None`: federated Deployments are off, and members' Deployments are not watched.
    workload_tx: Option<futures::channel::mpsc::UnboundedSender<ObjectKey>>,
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
        workloads: Option<&mut Option<futures::channel::mpsc::UnboundedReceiver<ObjectKey>>>,
    ) -> (
        Arc<Self>,
        futures::channel::mpsc::UnboundedReceiver<()>,
        futures::channel::mpsc::UnboundedReceiver<ServiceKey>,
    ) {
        let (ready_tx, ready_rx) = futures::channel::mpsc::unbounded();
        let (shard_tx, shard_rx) = futures::channel::mpsc::unbounded();
        // With federated Deployments on, the members' Deployments are watched, and the
        // receiver of the changes goes to the caller.
        let workload_tx = workloads.map(|slot| {
            let (tx, rx) = futures::channel::mpsc::unbounded();
            *slot = Some(rx);
            tx
        });
        let m = Arc::new(Self {
            host,
            namespace,
            factory,
            shared,
            policy,
            members: Mutex::new(BTreeMap::new()),
            clusters: Mutex::new(BTreeMap::new()),
            failures: Mutex::new(BTreeMap::new()),
            ready_txs: Mutex::new(vec![(Changes::BecameReady, ready_tx)]),
            workload_tx,
            shard_tx,
        });
        (m, ready_rx, shard_rx)
    }

    /// A further receiver, told of `changes` (for a second reconciler).
    pub(crate) fn subscribe(
        &self,
        changes: Changes,
    ) -> futures::channel::mpsc::UnboundedReceiver<()> {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        self.ready_txs
            .lock()
            .expect("ready lock")
            .push((changes, tx));
        rx
    }

    /// Tells the reconcilers that members changed: `became_ready` when one became Ready,
    /// joined, left or was relabelled; otherwise only a member stopped being Ready.
    fn notify_ready(&self, became_ready: bool) {
        self.ready_txs
            .lock()
            .expect("ready lock")
            .retain(|(changes, tx)| {
                if !became_ready && *changes == Changes::BecameReady {
                    return true;
                }
                tx.unbounded_send(()).is_ok()
            });
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
}
