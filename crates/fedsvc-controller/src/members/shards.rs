//! The shard watch of each member: every copy of a federated service in the member, its
//! addresses and ready endpoints, fed to the federation state.

use std::sync::Arc;

use fedsvc_cluster::{MemberCluster, ShardEvent};
use fedsvc_model::ClusterName;
use futures::StreamExt;
use tokio::task::JoinHandle;
use tracing::debug;

use super::ClusterManager;

impl ClusterManager {
    pub(super) fn spawn_shard_watch(
        &self,
        name: ClusterName,
        member: Arc<dyn MemberCluster>,
    ) -> JoinHandle<()> {
        let shared = self.shared.clone();
        let shard_tx = self.shard_tx.clone();
        let federation = shared.federation().to_string();
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
                        // Validated by the member's watch where it was read.
                        (o.key.clone(), Some(o))
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
}
