//! A [`LocalServices`] source fed by a member cluster's shard watches.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use fedsvc_cluster::{MemberCluster, ShardEvent};
use fedsvc_model::ServiceKey;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::local_services::LocalServices;

/// Ready-endpoint counts kept current from [`MemberCluster::watch_shards`].
///
/// The watches report only services fedsvc manages, which are exactly the federated ones:
/// a plain local service of the same name is not taken as a local shard. A service is
/// ready when its EndpointSlices hold at least one ready endpoint. Watch errors are logged
/// and the last known state is kept (the member's watches resume by themselves). The
/// background task stops when the value (and all its clones) are dropped.
///
/// ```no_run
/// use std::time::Duration;
/// use fedsvc_cluster::SimMember;
/// use fedsvc_local_dns::{LocalServices, MemberServices};
/// use fedsvc_model::{ClusterName, ServiceKey};
/// # async fn demo() {
/// let member = SimMember::new(ClusterName::parse("c1").unwrap(), &["z1"], "r1");
/// let services = MemberServices::spawn(&member);
/// services.wait_synced(Duration::from_secs(5)).await;
/// let ready = services.is_ready(&ServiceKey::parse("mynamespace", "nginx").unwrap());
/// # let _ = ready;
/// # }
/// ```
#[derive(Clone)]
pub struct MemberServices {
    ready: Arc<RwLock<BTreeMap<ServiceKey, u32>>>,
    synced: watch::Receiver<bool>,
    generation: watch::Receiver<u64>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl MemberServices {
    /// Starts watching `member`'s shards on the current tokio runtime.
    #[must_use]
    pub fn spawn(member: &dyn MemberCluster) -> Self {
        let ready: Arc<RwLock<BTreeMap<ServiceKey, u32>>> = Arc::default();
        let (synced_tx, synced) = watch::channel(false);
        let (gen_tx, generation) = watch::channel(0u64);
        let mut stream = member.watch_shards();
        let cluster = member.name().to_string();
        let table = ready.clone();
        let task = tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                match event {
                    Ok(ShardEvent::Observed(o)) => {
                        tracing::debug!(%cluster, service = %o.key, ready = o.ready_endpoints, "shard observed");
                        table
                            .write()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(o.key, o.ready_endpoints);
                    }
                    Ok(ShardEvent::Gone(key)) => {
                        tracing::debug!(%cluster, service = %key, "service gone");
                        table
                            .write()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&key);
                    }
                    Ok(ShardEvent::Synced) => {
                        tracing::info!(%cluster, "local services listed");
                        synced_tx.send_replace(true);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(%cluster, error = %e, "watching local services failed; keeping the last known state");
                    }
                }
                gen_tx.send_modify(|g| *g += 1);
            }
            tracing::warn!(%cluster, "the shard watch ended");
        });
        Self {
            ready,
            synced,
            generation,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// Waits until the initial listing is complete, at most `timeout`; returns whether it is.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let mut rx = self.synced.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Waits until at least one more watch event has been applied after this call, at most
    /// `timeout`; returns whether one was. Useful in tests that script a change and then
    /// look at the answer.
    pub async fn wait_changed(&self, timeout: Duration) -> bool {
        let mut rx = self.generation.clone();
        rx.mark_unchanged();
        tokio::time::timeout(timeout, rx.changed())
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The ready-endpoint count last seen for `key`, `None` when the service is not known.
    #[must_use]
    pub fn ready_endpoints(&self, key: &ServiceKey) -> Option<u32> {
        self.ready
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }
}

impl LocalServices for MemberServices {
    fn is_ready(&self, key: &ServiceKey) -> bool {
        self.ready_endpoints(key).is_some_and(|n| n > 0)
    }

    fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }
}

impl fmt::Debug for MemberServices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberServices")
            .field(
                "services",
                &self.ready.read().unwrap_or_else(|e| e.into_inner()).len(),
            )
            .field("synced", &*self.synced.borrow())
            .finish_non_exhaustive()
    }
}
