//! Who may write: the leader-election state shared by the controller's tasks.
//!
//! The election task records each acquisition and renewal here; the writers ask here before
//! each write. The DNS task's retry layer asks before every attempt through [`LeaderState::fence`]
//! (a [`WriteFence`]), with the provider's timeout: an attempt starts only if it must have ended
//! before the lease could be taken by another replica (see [`Fence`]). The `fedsvc_leader`
//! gauge follows the same state, set at each transition.

pub(crate) mod election;
pub(crate) mod lease;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fedsvc_providers::{Admission, WriteFence};
use prometheus_client::metrics::gauge::Gauge;

use crate::leader::lease::{Fence, LeaseRecord, LeaseTiming};

/// Whether this replica may write DNS and member clusters now.
///
/// With leader election off, the replica always may ([`LeaderState::always`]). With it on, the
/// election task records each successful renewal, and the replica may write only within
/// `renew_deadline` of the last one, each attempt only if it fits in the lease (see [`Fence`]),
/// and not at all once it is [stopping](LeaderState::stop).
#[derive(Debug)]
pub struct LeaderState {
    inner: Option<Arc<Inner>>,
    /// The gauge of a replica without election (always 1 once attached).
    gauge: Mutex<Option<Gauge>>,
}

#[derive(Debug)]
struct Inner {
    held: Mutex<Held>,
    /// What [`LeaderState::may_write`] requires to be left of the lease.
    budget: Duration,
    /// Kept after an unanswered attempt's timeout, during which it might still land.
    margin: Duration,
}

#[derive(Debug)]
struct Held {
    fence: Fence,
    /// Shutting down: nothing more starts.
    stopping: bool,
    /// The writers are done (shutdown).
    writers_stopped: bool,
    /// Attempts admitted and not over.
    in_flight: usize,
    /// Until when an unanswered attempt might still land.
    unsettled_until: Option<SystemTime>,
    /// Until when the attempts admitted so far might land (the latest deadline).
    admitted_until: Option<SystemTime>,
    /// Incremented at each acquisition.
    term: u64,
    gauge: Option<Gauge>,
    /// What the gauge says.
    published: bool,
}

impl Held {
    fn leading(&self, now: SystemTime) -> bool {
        !self.stopping && self.fence.may_write(now)
    }

    /// Sets the gauge to what the fence says at `now`; returns whether the replica just
    /// became one that writes.
    fn publish(&mut self, now: SystemTime) -> bool {
        let leading = self.leading(now);
        let became = leading && !self.published;
        self.published = leading;
        if let Some(g) = &self.gauge {
            g.set(i64::from(leading));
        }
        became
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The [`WriteFence`] of a replica in an election.
#[derive(Debug)]
struct LeaseFence(Arc<Inner>);

impl WriteFence for LeaseFence {
    fn admit(&self, attempt: Duration) -> Option<Admission> {
        let now = SystemTime::now();
        let mut held = self.0.lock();
        if held.stopping || !held.fence.admits(now, attempt) {
            held.publish(now);
            return None;
        }
        held.in_flight += 1;
        let until = now + attempt + self.0.margin;
        held.admitted_until = held.admitted_until.max(Some(until));
        let inner = self.0.clone();
        Some(Admission::new(move |answered| {
            let mut held = inner.lock();
            held.in_flight = held.in_flight.saturating_sub(1);
            if !answered {
                held.unsettled_until = held.unsettled_until.max(Some(until));
            }
        }))
    }
}

impl LeaderState {
    /// A replica that is always the leader (leader election disabled).
    pub fn always() -> Self {
        Self {
            inner: None,
            gauge: Mutex::new(None),
        }
    }

    /// A replica that must win the election first.
    pub fn elected(timing: &LeaseTiming) -> Self {
        Self::elected_with_budget(timing, Duration::ZERO)
    }

    /// A replica that must win the election first, and for [`may_write`](Self::may_write)
    /// needs `budget` (the longest write attempt) left of its lease.
    pub fn elected_with_budget(timing: &LeaseTiming, budget: Duration) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                held: Mutex::new(Held {
                    fence: Fence::new(timing),
                    stopping: false,
                    writers_stopped: false,
                    in_flight: 0,
                    unsettled_until: None,
                    admitted_until: None,
                    term: 0,
                    gauge: None,
                    published: false,
                }),
                budget,
                margin: timing.margin(),
            })),
            gauge: Mutex::new(None),
        }
    }

    /// Sets `gauge` (`fedsvc_leader`) from now on: 1 exactly while this replica may write.
    pub fn attach_gauge(&self, gauge: Gauge) {
        match &self.inner {
            None => {
                gauge.set(1);
                *self.gauge.lock().unwrap_or_else(|e| e.into_inner()) = Some(gauge);
            }
            Some(inner) => {
                let mut held = inner.lock();
                held.gauge = Some(gauge);
                held.publish(SystemTime::now());
            }
        }
    }

    /// The fence the DNS task's retry layer asks before each attempt (`None`: no election).
    pub fn fence(&self) -> Option<Arc<dyn WriteFence>> {
        self.inner
            .as_ref()
            .map(|i| Arc::new(LeaseFence(i.clone())) as Arc<dyn WriteFence>)
    }

    /// Whether this replica may write at `now`, with the budget left of its lease.
    pub fn may_write_at(&self, now: SystemTime) -> bool {
        match &self.inner {
            None => true,
            Some(i) => {
                let held = i.lock();
                !held.stopping
                    && held
                        .fence
                        .admits(now, i.budget.max(Duration::from_nanos(1)))
            }
        }
    }

    /// Whether this replica may write now.
    pub fn may_write(&self) -> bool {
        self.may_write_at(SystemTime::now())
    }

    /// The number of times this replica took the lease: a writer that saw another term
    /// must not trust what it learnt of the zone before.
    pub fn term(&self) -> u64 {
        self.inner.as_ref().map_or(0, |i| i.lock().term)
    }

    /// Records a successful renewal at `at` (the `renewTime` written).
    pub fn renewed(&self, at: SystemTime) {
        if let Some(i) = &self.inner {
            let mut held = i.lock();
            held.fence.renewed(at);
            held.publish(SystemTime::now());
        }
    }

    /// Records that this replica took the lease at `at`, `previous` being the Lease as read
    /// before: it may write once the previous holder's writes must have ended.
    pub fn acquired(&self, at: SystemTime, previous: Option<&LeaseRecord>) {
        if let Some(i) = &self.inner {
            let mut held = i.lock();
            held.fence.acquired(at, previous);
            held.term += 1;
            held.publish(SystemTime::now());
        }
    }

    /// When this replica may start writing after taking the lease.
    pub fn writes_from(&self) -> Option<SystemTime> {
        self.inner
            .as_ref()
            .and_then(|i| i.lock().fence.writes_from())
    }

    /// Stops writing at once.
    pub fn revoke(&self) {
        if let Some(i) = &self.inner {
            let mut held = i.lock();
            held.fence.revoke();
            held.publish(SystemTime::now());
        }
    }

    /// Runs one member write under the fence: it starts only while this replica may write
    /// ([`may_write`](Self::may_write)), and it is abandoned when the usable part of the
    /// lease ends (the moment an attempt permitted now must have ended), whatever the
    /// member client's own timeout and rate limit. An abandoned write counts as an attempt
    /// that might still land, like an unanswered DNS attempt; shutdown waits for writes
    /// under way. With election off the write just runs.
    pub async fn fenced<T>(&self, write: impl Future<Output = T>) -> Result<T, Fenced> {
        let Some(i) = &self.inner else {
            return Ok(write.await);
        };
        let now = SystemTime::now();
        let (left, until) = {
            let mut held = i.lock();
            let left = (!held.stopping
                && held
                    .fence
                    .admits(now, i.budget.max(Duration::from_nanos(1))))
            .then(|| held.fence.time_left(now))
            .flatten();
            let Some(left) = left else {
                held.publish(now);
                return Err(Fenced::NotLeader);
            };
            held.in_flight += 1;
            let until = now + left + i.margin;
            held.admitted_until = held.admitted_until.max(Some(until));
            (left, until)
        };
        let outcome = tokio::time::timeout(left, write).await;
        let mut held = i.lock();
        held.in_flight = held.in_flight.saturating_sub(1);
        match outcome {
            Ok(v) => Ok(v),
            Err(_) => {
                held.unsettled_until = held.unsettled_until.max(Some(until));
                Err(Fenced::Abandoned(left))
            }
        }
    }

    /// Shutting down: no write starts from now on (attempts under way go on).
    pub fn stop(&self) {
        if let Some(i) = &self.inner {
            let mut held = i.lock();
            held.stopping = true;
            held.publish(SystemTime::now());
        }
    }

    /// Shutting down: every writing task has ended.
    pub fn writers_stopped(&self) {
        if let Some(i) = &self.inner {
            i.lock().writers_stopped = true;
        }
    }

    /// Brings the gauge in line with the time (a renew deadline passed, a takeover wait
    /// ended); returns whether the replica just became one that writes.
    pub fn refresh(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| i.lock().publish(SystemTime::now()))
    }

    /// Waits until the writing tasks have stopped and no admitted attempt is under way, for
    /// at most `bound`; returns whether they had.
    pub async fn drained(&self, bound: Duration) -> bool {
        let Some(i) = &self.inner else { return true };
        let until = tokio::time::Instant::now() + bound;
        loop {
            {
                let held = i.lock();
                if held.writers_stopped && held.in_flight == 0 {
                    return true;
                }
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Until when a write attempt of this replica might still land: the deadline of the
    /// last one that ended unanswered, or of one still under way; `None` when none may.
    pub fn unsettled_until(&self) -> Option<SystemTime> {
        let i = self.inner.as_ref()?;
        let held = i.lock();
        let running = (held.in_flight > 0)
            .then_some(held.admitted_until)
            .flatten();
        held.unsettled_until.max(running)
    }
}

/// Why a [fenced](LeaderState::fenced) member write did not run to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Fenced {
    /// Not sent: this replica does not hold the Lease with time enough left, or is stopping.
    #[error("this replica does not hold the Lease with time enough left to write")]
    NotLeader,
    /// Given up after the given time, when the usable part of the lease ended.
    #[error("given up after {0:?}: this replica's time to write under its Lease ended")]
    Abandoned(Duration),
}

/// How long one DNS write attempt may last: the provider's own timeout where it has one
/// (`timeoutSeconds`), else 10 s, after which the retry layer gives it up.
pub(crate) fn attempt_timeout(provider: &fedsvc_providers::ProviderConfig) -> Duration {
    use fedsvc_providers::ProviderConfig;
    match provider {
        ProviderConfig::Memory(_) => Duration::from_millis(500),
        ProviderConfig::Rfc2136(c) => c.timeout(),
        ProviderConfig::Powerdns(c) => c.timeout(),
        _ => Duration::from_secs(10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> LeaseTiming {
        LeaseTiming::default()
    }

    #[test]
    fn attempts_are_admitted_while_they_fit_and_stopped_on_shutdown() {
        let leader = LeaderState::elected_with_budget(&timing(), Duration::from_secs(5));
        let gauge = Gauge::default();
        leader.attach_gauge(gauge.clone());
        let fence = leader.fence().unwrap();
        assert_eq!(gauge.get(), 0);
        assert!(fence.admit(Duration::from_secs(1)).is_none());
        let now = SystemTime::now();
        leader.acquired(now, None);
        assert_eq!(gauge.get(), 1);
        assert_eq!(leader.term(), 1);
        assert!(leader.may_write());
        // 12.5 s of the lease are usable for attempts: 13 s do not fit.
        assert!(fence.admit(Duration::from_secs(13)).is_none());
        let a = fence.admit(Duration::from_secs(5)).expect("admitted");
        leader.stop();
        assert_eq!(gauge.get(), 0);
        assert!(!leader.may_write());
        assert!(fence.admit(Duration::from_secs(1)).is_none());
        // The attempt under way might land until the end of the lease's usable part.
        assert!(leader.unsettled_until().is_some());
        a.finish(true);
        assert_eq!(leader.unsettled_until(), None);
        let b = fence.admit(Duration::from_secs(1));
        assert!(b.is_none());
    }

    #[test]
    fn an_unanswered_attempt_stays_unsettled_until_its_deadline() {
        let leader = LeaderState::elected(&timing());
        let fence = leader.fence().unwrap();
        let now = SystemTime::now();
        leader.renewed(now);
        let a = fence.admit(Duration::from_secs(2)).expect("admitted");
        drop(a);
        let until = leader.unsettled_until().expect("unsettled");
        // The attempt's 2 s and the 2.5 s margin.
        let left = until.duration_since(now).unwrap();
        assert!(left >= Duration::from_millis(4_500), "{left:?}");
        assert!(left < Duration::from_secs(5), "{left:?}");
    }

    #[test]
    fn a_takeover_waits_for_the_previous_holder() {
        let leader = LeaderState::elected(&timing());
        let gauge = Gauge::default();
        leader.attach_gauge(gauge.clone());
        let now = SystemTime::now();
        let previous = LeaseRecord {
            holder: None,
            renew_time: Some(now),
            duration: Duration::from_secs(2),
            transitions: 3,
        };
        leader.acquired(now, Some(&previous));
        assert!(!leader.may_write());
        assert_eq!(gauge.get(), 0);
        assert_eq!(leader.writes_from(), Some(now + Duration::from_secs(2)));
        assert!(leader.may_write_at(now + Duration::from_secs(2)));
        assert!(!leader.refresh());
    }

    #[tokio::test]
    async fn shutdown_waits_for_attempts_under_way_within_its_bound() {
        let leader = Arc::new(LeaderState::elected(&timing()));
        leader.renewed(SystemTime::now());
        let fence = leader.fence().unwrap();
        let a = fence.admit(Duration::from_secs(1)).expect("admitted");
        leader.stop();
        leader.writers_stopped();
        assert!(!leader.drained(Duration::from_millis(50)).await);
        let waiter = {
            let leader = leader.clone();
            tokio::spawn(async move { leader.drained(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(a);
        assert!(waiter.await.unwrap());
    }

    #[tokio::test]
    async fn a_member_write_runs_only_in_the_usable_part_of_the_lease() {
        let leader = LeaderState::elected(&timing());
        // Not the leader: the write is not even started.
        let started = std::sync::atomic::AtomicBool::new(false);
        let write = async { started.store(true, std::sync::atomic::Ordering::SeqCst) };
        assert_eq!(leader.fenced(write).await, Err(Fenced::NotLeader));
        assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
        // Renewed 9.9 s ago: 12.5 s - 9.9 s = 2.6 s are left, enough to start.
        let renewed = SystemTime::now() - Duration::from_millis(9_900);
        leader.renewed(renewed);
        assert_eq!(leader.fenced(async { 7 }).await, Ok(7));
        assert_eq!(leader.unsettled_until(), None);
        // A write that hangs (a rate limit, a slow member) is given up when the time is up,
        // and counts as one that might still land.
        let outcome = leader.fenced(std::future::pending::<()>()).await;
        let Err(Fenced::Abandoned(after)) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(after <= Duration::from_millis(2_600), "{after:?}");
        assert!(after > Duration::from_secs(2), "{after:?}");
        let until = leader.unsettled_until().expect("unsettled");
        assert!(
            until >= renewed + Duration::from_millis(14_900),
            "{until:?}"
        );
        // Shutting down: nothing starts.
        leader.renewed(SystemTime::now());
        leader.stop();
        assert_eq!(leader.fenced(async {}).await, Err(Fenced::NotLeader));
    }

    #[tokio::test]
    async fn a_member_write_needs_the_budget_left_to_start() {
        let leader = LeaderState::elected_with_budget(&timing(), Duration::from_secs(5));
        // 12.5 s - 8 s = 4.5 s left, less than the 5 s budget.
        leader.renewed(SystemTime::now() - Duration::from_secs(8));
        assert_eq!(leader.fenced(async {}).await, Err(Fenced::NotLeader));
        leader.renewed(SystemTime::now());
        assert_eq!(leader.fenced(async {}).await, Ok(()));
    }

    #[tokio::test]
    async fn shutdown_waits_for_member_writes_under_way() {
        let leader = Arc::new(LeaderState::elected(&timing()));
        leader.renewed(SystemTime::now());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let write = {
            let leader = leader.clone();
            tokio::spawn(async move { leader.fenced(rx).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.stop();
        leader.writers_stopped();
        assert!(!leader.drained(Duration::from_millis(50)).await);
        tx.send(()).unwrap();
        assert!(leader.drained(Duration::from_secs(5)).await);
        assert!(write.await.unwrap().is_ok());
    }

    #[test]
    fn without_election_the_replica_always_writes() {
        let leader = LeaderState::always();
        let gauge = Gauge::default();
        leader.attach_gauge(gauge.clone());
        assert_eq!(gauge.get(), 1);
        assert!(leader.may_write());
        assert!(leader.fence().is_none());
    }
}
