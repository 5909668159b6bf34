//! The probe rounds: every member probed each period (the decisions are `MemberProbe`'s),
//! its locality read when due, and readiness changes published to the federation state at
//! once per round.

use std::sync::Arc;
use std::time::SystemTime;

use fedsvc_cluster::Health;
use fedsvc_model::{Cluster, ClusterName};
use tokio::sync::watch;
use tracing::debug;

use super::ClusterManager;
use crate::members::health::ProbeResult;
use crate::members::probe::LocalityRead;

impl ClusterManager {
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
    pub(super) async fn probe(
        self: &Arc<Self>,
        name: &ClusterName,
        force_status: bool,
    ) -> Option<bool> {
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
    pub(super) fn publish_to_state(&self, changes: &[(ClusterName, bool)]) {
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
        self.notify_ready(localities.iter().any(|(_, ready, ..)| *ready));
    }
}
