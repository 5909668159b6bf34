//! Each member's watch of its copies of federated Deployments, feeding the copies table that
//! the workload reconciler sums for the federated objects' status.

use std::sync::Arc;

use fedsvc_cluster::{MemberCluster, ObjectKey, WorkloadEvent};
use fedsvc_model::ClusterName;
use futures::StreamExt;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::{ClusterManager, Entry};

impl ClusterManager {
    /// Watches `member`'s copies of federated Deployments (when federated Deployments are on).
    pub(super) fn spawn_workload_watch(
        &self,
        name: ClusterName,
        member: Arc<dyn MemberCluster>,
    ) -> Option<JoinHandle<()>> {
        let tx = self.workload_tx.clone()?;
        let shared = self.shared.clone();
        let federation = shared.federation().to_string();
        Some(tokio::spawn(async move {
            let mut stream = member.watch_deployments();
            while let Some(ev) = stream.next().await {
                let (key, changed) = match ev {
                    Ok(WorkloadEvent::Observed(o)) => {
                        if o.federation.as_deref() != Some(federation.as_str()) {
                            continue;
                        }
                        (o.key.clone(), shared.copies.observe(&name, &o))
                    }
                    Ok(WorkloadEvent::Gone(key)) => {
                        let changed = shared.copies.gone(&name, &key);
                        (key, changed)
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        debug!(cluster = %name, error = %e, "deployment watch interrupted; it resumes");
                        continue;
                    }
                };
                if changed {
                    let _ = tx.unbounded_send(key);
                }
            }
        }))
    }

    /// Forgets the copies a member that left had; returns the Deployments they belong to, whose
    /// status is then updated.
    pub(super) fn forget_copies(&self, name: &ClusterName) -> Vec<ObjectKey> {
        let keys = self.shared.copies.forget_cluster(name);
        if let Some(tx) = &self.workload_tx {
            for key in &keys {
                let _ = tx.unbounded_send(key.clone());
            }
        }
        keys
    }

    /// Deletes the copies of federated Deployments from a member being unjoined, as its
    /// services are (only the leader does).
    pub(super) async fn remove_copies(
        &self,
        name: &ClusterName,
        entry: &Entry,
        keys: Vec<ObjectKey>,
    ) {
        for key in keys {
            let deleted = self
                .shared
                .leader
                .fenced(entry.member.delete_deployment(key.namespace(), key.name()))
                .await;
            match deleted {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    warn!(cluster = %name, deployment = %key, error = %e, "could not remove the deployment from the unjoined member");
                }
                Err(fenced) => {
                    info!(cluster = %name, reason = %fenced, "the deployments left in the unjoined member are left to the leader");
                    break;
                }
            }
        }
    }
}
