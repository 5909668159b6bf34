//! The DNS task: waits for changes, coalesces them, and syncs the zone.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::dns::{Pending, SyncError, SyncOutcome, ZoneSync};
use crate::ops::metrics::{ProviderLabels, ReconcilerLabels};
use crate::shared::Shared;
use crate::state::FederationState;

/// Timing of the DNS task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsLoopConfig {
    /// How long to gather further changes after the first one (default 200 ms).
    pub coalesce: Duration,
    /// How often to list the zone and repair drift (default 5 min).
    pub resync: Duration,
    /// The first pause after a failed sync; it doubles up to `resync` (default 1 s).
    pub retry: Duration,
    /// How long after the start DNS waits for a complete picture at most: every federated
    /// service and every member cluster listed, each member's health and zones known, and
    /// every Ready member's shards listed (default 2 min). A member whose shard watch never
    /// lists holds DNS up no longer than this.
    pub warmup: Duration,
}

impl Default for DnsLoopConfig {
    fn default() -> Self {
        Self {
            coalesce: Duration::from_millis(200),
            resync: Duration::from_secs(300),
            retry: Duration::from_secs(1),
            warmup: Duration::from_secs(120),
        }
    }
}

/// Runs the DNS task until `shutdown` turns true.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut sync: ZoneSync,
    config: DnsLoopConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let labels = ProviderLabels {
        provider: sync.provider().name().to_owned(),
    };
    let mut resync = tokio::time::interval_at(Instant::now() + config.resync, config.resync);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retry_at: Option<Instant> = None;
    let mut failures: u32 = 0;
    let mut was_leader = false;
    let mut term = shared.leader.term();
    let mut was_fail_static = false;
    let warm_until = Instant::now() + config.warmup;
    let mut warm = false;
    loop {
        let retry = async {
            match retry_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
                continue;
            }
            () = shared.dirty.notified() => tokio::time::sleep(config.coalesce).await,
            _ = resync.tick() => {
                debug!("periodic resync: listing the zone again");
                // The copy of the zone is brought in step with the listing in place rather
                // than built again beside the memory the old one would free.
                sync.relist();
                shared.state.lock().expect("state lock").mark_all_dirty();
            }
            () = retry => {}
        }
        retry_at = None;
        if *shutdown.borrow() {
            return;
        }
        if !shared.leader.may_write() {
            if was_leader {
                warn!("no longer the leader: DNS writes stopped");
            }
            was_leader = false;
            continue;
        }
        // A new term (the lease lost and taken again in between) trusts nothing listed before.
        if !was_leader || term != shared.leader.term() {
            info!("leader: syncing DNS from a fresh listing");
            was_leader = true;
            term = shared.leader.term();
            sync.invalidate();
            shared.state.lock().expect("state lock").mark_all_dirty();
        }
        if !warm {
            let missing = shared.state.lock().expect("state lock").missing();
            if missing.is_empty() {
                info!("every federated service and every member cluster is known: DNS sync starts");
            } else if Instant::now() >= warm_until {
                warn!(
                    waited = ?config.warmup,
                    missing = %missing.join("; "),
                    "DNS sync starts without a complete picture"
                );
            } else {
                // Nothing is written from a partial picture; the changes stay dirty.
                retry_at = Some(warm_until);
                continue;
            }
            warm = true;
        }
        let started = std::time::Instant::now();
        let hooks = TaskHooks {
            shared: &shared,
            labels: &labels,
        };
        match sync_with(&shared.state, &mut sync, &hooks).await {
            Ok(outcome) => {
                failures = 0;
                // A listing is a burst of its own; planning counts per service.
                let listed = if outcome.listed {
                    crate::ops::memory::BURST
                } else {
                    0
                };
                shared
                    .activity
                    .note(listed + u64::try_from(outcome.services_planned).unwrap_or(u64::MAX));
                if outcome.fail_static != was_fail_static {
                    if outcome.fail_static {
                        warn!(
                            "every member cluster looks down: DNS is held as last applied (fail-static)"
                        );
                    } else {
                        info!("a member cluster is back: DNS follows shard health again");
                    }
                    was_fail_static = outcome.fail_static;
                }
                shared
                    .metrics
                    .fail_static
                    .set(i64::from(outcome.fail_static));
                if !outcome.fail_static {
                    let now = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs();
                    shared
                        .metrics
                        .last_sync
                        .set(i64::try_from(now).unwrap_or(i64::MAX));
                }
            }
            Err(e) => {
                failures += 1;
                let pause = config
                    .retry
                    .saturating_mul(1 << failures.min(16))
                    .min(config.resync);
                warn!(error = %e, retry_in = ?pause, "DNS sync failed");
                shared.metrics.dns_errors.get_or_create(&labels).inc();
                retry_at = Some(Instant::now() + pause);
            }
        }
        shared
            .metrics
            .reconcile_duration
            .get_or_create(&ReconcilerLabels {
                reconciler: "dns".into(),
            })
            .observe(started.elapsed().as_secs_f64());
    }
}

/// One sync of the zone with `state`: list the zone if needed, then, a step at a time, take
/// the dirty set and plan it with the state locked and write without the lock, until the pass
/// over every service under way (if any) is done. The DNS task runs this same loop (with its
/// metrics, removals and the leader's fence); a write that fails puts its dirty set back
/// ([`FederationState::settle`]).
pub async fn sync_once(
    state: &Mutex<FederationState>,
    sync: &mut ZoneSync,
) -> Result<SyncOutcome, SyncError> {
    sync_with(state, sync, &NoHooks).await
}

/// What the sync loop tells the rest of the controller and asks it.
pub(crate) trait SyncHooks {
    /// The zone was listed.
    fn listed(&self) {}
    /// A step is about to take the dirty set (the state is locked).
    fn taking_dirty(&self) {}
    /// A step planned `pending` (the state is locked).
    fn prepared(&self, _state: &FederationState, _pending: &Pending) {}
    /// Whether the changes may be written now.
    fn may_write(&self) -> bool {
        true
    }
    /// A step's changes were written; `pass_done`: no pass over every service is left.
    fn written(&self, _outcome: &SyncOutcome, _pass_done: bool) {}
    /// The sync ended well.
    fn finished(&self, _total: &SyncOutcome) {}
}

/// No hooks: a sync on its own, always allowed to write.
struct NoHooks;

impl SyncHooks for NoHooks {}

/// The DNS task's hooks: metrics, the removals of deleted services, the leader's fence.
struct TaskHooks<'a> {
    shared: &'a Shared,
    labels: &'a ProviderLabels,
}

impl SyncHooks for TaskHooks<'_> {
    fn listed(&self) {
        self.shared
            .metrics
            .dns_lists
            .get_or_create(self.labels)
            .inc();
    }

    fn taking_dirty(&self) {
        // Removals are asked for with the state locked: each one asked for so far is in the
        // dirty set this step takes (or was in an earlier one).
        self.shared.removals.planned();
    }

    fn prepared(&self, state: &FederationState, pending: &Pending) {
        for key in &pending.dirty().services {
            self.shared
                .metrics
                .healthy_shards
                .get_or_create(&crate::ops::metrics::ServiceLabels {
                    service: key.to_string(),
                })
                .set(i64::try_from(state.healthy_shards(key)).unwrap_or(0));
        }
    }

    fn may_write(&self) -> bool {
        self.shared.leader.may_write()
    }

    fn written(&self, outcome: &SyncOutcome, pass_done: bool) {
        let metrics = &self.shared.metrics;
        if let Some(report) = &outcome.applied {
            metrics
                .dns_writes
                .get_or_create(self.labels)
                .inc_by(u64::try_from(report.batches).unwrap_or(0));
            metrics
                .dns_changes
                .get_or_create(self.labels)
                .inc_by(u64::try_from(report.record_sets).unwrap_or(0));
            info!(%report, "DNS updated");
        }
        for c in &outcome.conflicts {
            warn!(name = %c.name, reason = %c.reason, "DNS conflict: name left alone");
        }
        // A pass over every service deletes the records of services it did not know
        // (deleted while no replica was leading) only at its end.
        if !outcome.fail_static && pass_done {
            self.shared.removals.written();
        }
    }

    fn finished(&self, total: &SyncOutcome) {
        self.shared
            .metrics
            .dns_conflicts
            .set(i64::try_from(total.conflicts.len()).unwrap_or(i64::MAX));
    }
}

/// The sync loop, with `hooks`.
pub(crate) async fn sync_with(
    state: &Mutex<FederationState>,
    sync: &mut ZoneSync,
    hooks: &(dyn SyncHooks + Sync),
) -> Result<SyncOutcome, SyncError> {
    let mut total = SyncOutcome::default();
    if sync.list_if_needed().await? {
        hooks.listed();
        total.listed = true;
    }
    loop {
        let pending = {
            let mut state = state.lock().expect("state lock");
            hooks.taking_dirty();
            let pending = sync.prepare(&mut state)?;
            hooks.prepared(&state, &pending);
            pending
        };
        if !hooks.may_write() {
            pending.give_back(&mut state.lock().expect("state lock"));
            break;
        }
        let applied = sync.apply(pending).await;
        let step = state.lock().expect("state lock").settle(applied)?;
        hooks.written(&step, !sync.has_more());
        let stop = step.fail_static || !sync.has_more() || !hooks.may_write();
        total.add(step);
        if stop {
            break;
        }
    }
    hooks.finished(&total);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use fedsvc_dns_plan::Registry;
    use fedsvc_model::{Cluster, ClusterName, DnsName, Label, LabelRules, ServiceKey, Snapshot};
    use fedsvc_providers::{Counting, DnsProvider, MemoryProvider, Retrying};

    use super::*;
    use crate::leader::LeaderState;
    use crate::leader::lease::LeaseTiming;
    use crate::state::FederationState;
    use crate::state::ShardObservation;

    fn label(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "test").unwrap()
    }

    fn setup(leader: LeaderState) -> (Arc<Shared>, Arc<Counting<MemoryProvider>>, ZoneSync) {
        let zone = DnsName::parse("example.com").unwrap();
        let counting = Arc::new(Counting::new(MemoryProvider::new(zone.clone())));
        let dynp: Arc<dyn DnsProvider> = counting.clone();
        let sync = ZoneSync::new(Retrying::new(dynp), Registry::txt(label("fed")));
        let mut state = FederationState::new(Snapshot::new(label("fed"), zone));
        let c = ClusterName::parse("c1").unwrap();
        state.upsert_cluster(Cluster::new(c, label("r"), vec![label("z")], true).unwrap());
        (Arc::new(Shared::new(state, leader)), counting, sync)
    }

    /// The federation API's services and clusters are listed, and c1's shards.
    fn complete(shared: &Shared) {
        shared.update(|s| {
            s.set_services_listed();
            s.set_clusters_listed();
            s.set_shards_synced(&ClusterName::parse("c1").unwrap(), true);
        });
    }

    fn add_service(shared: &Shared) {
        complete(shared);
        add_service_only(shared);
    }

    fn add_service_only(shared: &Shared) {
        let key = ServiceKey::parse("ns", "web").unwrap();
        let c = ClusterName::parse("c1").unwrap();
        shared.update(|s| {
            s.upsert_service(key.clone(), None);
            s.observe_shard(
                &key,
                &c,
                Some(ShardObservation::new(
                    key.clone(),
                    vec!["10.0.0.1".parse().unwrap()],
                    vec![],
                    1,
                )),
            );
        });
    }

    async fn records(p: &Counting<MemoryProvider>) -> usize {
        p.list().await.unwrap().len()
    }

    /// The zone's record sets once there are `want` of them, or after about 5 s.
    async fn records_once_at(p: &Counting<MemoryProvider>, want: usize) -> usize {
        let mut n = 0;
        for _ in 0..500 {
            n = records(p).await;
            if n == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        n
    }

    #[tokio::test]
    async fn changes_reach_the_zone_and_shutdown_stops_the_task() {
        let (shared, counting, sync) = setup(LeaderState::always());
        let (stop, rx) = watch::channel(false);
        let config = DnsLoopConfig {
            coalesce: Duration::from_millis(10),
            ..Default::default()
        };
        let task = tokio::spawn(run(shared.clone(), sync, config, rx));
        add_service(&shared);
        let n = records_once_at(&counting, 6).await;
        // global, region, zone: each with its ownership record (6), all A records.
        assert_eq!(n, 6);
        assert!(shared.metrics.encode().contains("fedsvc_leader 1"));
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task stops on shutdown")
            .unwrap();
    }

    #[tokio::test]
    async fn nothing_is_written_before_the_picture_is_complete() {
        let (shared, counting, sync) = setup(LeaderState::always());
        let (_stop, rx) = watch::channel(false);
        let config = DnsLoopConfig {
            coalesce: Duration::from_millis(1),
            ..Default::default()
        };
        let task = tokio::spawn(run(shared.clone(), sync, config, rx));
        add_service_only(&shared);
        let quiet = |why: &'static str| {
            let counting = counting.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                assert_eq!(
                    (counting.stats().lists, counting.stats().writes),
                    (0, 0),
                    "{why}"
                );
            }
        };
        shared.update(|s| {
            s.set_services_listed();
            s.set_clusters_listed();
        });
        quiet("c1 is Ready but its shards are not listed yet").await;
        // c1's shards are listed, but c2 joined and is not probed yet: its shards would be
        // missing from the records written now.
        let c2 = ClusterName::parse("c2").unwrap();
        shared.update(|s| {
            s.set_shards_synced(&ClusterName::parse("c1").unwrap(), true);
            s.set_settled(&c2, false);
        });
        quiet("c2 is not settled").await;
        shared.update(|s| s.set_settled(&c2, true));
        let n = records_once_at(&counting, 6).await;
        assert_eq!(n, 6);
        task.abort();
    }

    #[tokio::test]
    async fn an_incomplete_picture_holds_dns_up_no_longer_than_the_warmup() {
        let (shared, counting, sync) = setup(LeaderState::always());
        let (_stop, rx) = watch::channel(false);
        let config = DnsLoopConfig {
            coalesce: Duration::from_millis(1),
            warmup: Duration::from_millis(300),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let task = tokio::spawn(run(shared.clone(), sync, config, rx));
        add_service_only(&shared);
        let n = records_once_at(&counting, 6).await;
        assert_eq!(n, 6);
        assert!(started.elapsed() >= Duration::from_millis(300));
        task.abort();
    }

    #[tokio::test]
    async fn a_replica_that_is_not_leader_never_writes() {
        let (shared, counting, sync) = setup(LeaderState::elected(&LeaseTiming::default()));
        let (_stop, rx) = watch::channel(false);
        let config = DnsLoopConfig {
            coalesce: Duration::from_millis(1),
            ..Default::default()
        };
        let task = tokio::spawn(run(shared.clone(), sync, config, rx));
        add_service(&shared);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(counting.stats().writes, 0);
        assert_eq!(counting.stats().lists, 0);
        // Winning the election starts the writes.
        shared.leader.renewed(SystemTime::now());
        shared.dirty.notify_one();
        let n = records_once_at(&counting, 6).await;
        assert_eq!(n, 6);
        task.abort();
    }

    fn last_sync(shared: &Shared) -> i64 {
        let text = shared.metrics.encode();
        text.lines()
            .find_map(|l| l.strip_prefix("fedsvc_dns_last_sync_timestamp_seconds "))
            .and_then(|v| v.trim().parse().ok())
            .expect("the metric is exported")
    }

    /// What the documented alert, `time() - max(fedsvc_dns_last_sync_timestamp_seconds)`
    /// across the replicas, relies on: a standby exports 0 (so `max` is the leader's), and a
    /// replica that stops leading keeps the time of its own last sync.
    #[tokio::test]
    async fn only_the_leader_exports_a_sync_time_and_a_former_leader_keeps_it() {
        let (shared, counting, sync) = setup(LeaderState::elected(&LeaseTiming::default()));
        let (_stop, rx) = watch::channel(false);
        let config = DnsLoopConfig {
            coalesce: Duration::from_millis(1),
            ..Default::default()
        };
        let task = tokio::spawn(run(shared.clone(), sync, config, rx));
        add_service(&shared);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(last_sync(&shared), 0, "a standby has never synced");
        let before = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        shared.leader.renewed(SystemTime::now());
        shared.dirty.notify_one();
        assert_eq!(records_once_at(&counting, 6).await, 6);
        let synced = last_sync(&shared);
        assert!(
            synced >= i64::try_from(before).unwrap(),
            "{synced} < {before}"
        );
        shared.leader.revoke();
        shared.dirty.notify_one();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(shared.metrics.encode().contains("fedsvc_leader 0"));
        assert_eq!(last_sync(&shared), synced);
        task.abort();
    }

    #[tokio::test]
    async fn the_records_of_a_removed_service_are_confirmed_gone_only_once_written() {
        let (shared, counting, sync) = setup(LeaderState::always());
        let (_stop, rx) = watch::channel(false);
        let config = DnsLoopConfig {
            coalesce: Duration::from_millis(1),
            ..Default::default()
        };
        let task = tokio::spawn(run(shared.clone(), sync, config, rx));
        add_service(&shared);
        assert_eq!(records_once_at(&counting, 6).await, 6);
        let key = ServiceKey::parse("ns", "web").unwrap();
        let c1 = ClusterName::parse("c1").unwrap();

        // Every cluster down: DNS is held, so the records stay and the removal waits.
        shared.update(|s| s.set_ready(&c1, false));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!shared.remove_records(&key));
        assert!(shared.removals.is_pending(&key));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!shared.remove_records(&key), "confirmed while DNS is held");
        assert_eq!(records(&counting).await, 6);

        // Back: the records are deleted, then the removal is confirmed.
        shared.update(|s| s.set_ready(&c1, true));
        let mut gone = false;
        for _ in 0..500 {
            if shared.remove_records(&key) {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(gone, "never confirmed");
        assert_eq!(records(&counting).await, 0);
        shared.removals.forget(&key);
        assert!(!shared.removals.is_pending(&key));
        task.abort();
    }

    #[tokio::test]
    async fn a_removal_asked_for_before_any_sync_waits_for_one() {
        // A replica that is not leading writes nothing, so nothing is confirmed.
        let (shared, counting, sync) = setup(LeaderState::elected(&LeaseTiming::default()));
        let (_stop, rx) = watch::channel(false);
        let config = DnsLoopConfig {
            coalesce: Duration::from_millis(1),
            ..Default::default()
        };
        let task = tokio::spawn(run(shared.clone(), sync, config, rx));
        complete(&shared);
        let key = ServiceKey::parse("ns", "gone").unwrap();
        assert!(!shared.remove_records(&key));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!shared.remove_records(&key), "confirmed without a sync");
        shared.leader.renewed(SystemTime::now());
        shared.dirty.notify_one();
        let mut gone = false;
        for _ in 0..500 {
            if shared.remove_records(&key) {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(gone, "never confirmed");
        assert_eq!(counting.stats().lists, 1);
        task.abort();
    }
}
