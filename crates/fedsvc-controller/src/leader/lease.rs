//! Leader election decisions over a `coordination.k8s.io` Lease, without IO.
//!
//! Every replica runs the same loop: read the Lease, ask [`decide`] what to do, and write the
//! Lease back with the resourceVersion it read (so two replicas racing for it cannot both win:
//! the API server refuses the second write with 409 Conflict). A leader renews every
//! `retry_period`; a leader that has not renewed within `renew_deadline` stops writing DNS
//! before its lease can expire (`renew_deadline < lease_duration`), so a new leader can only
//! start after the old one has stopped: [`Fence`] holds that rule.
//!
//! A write is not instantaneous: an attempt started just before the deadline could still land
//! after another replica took over. So the fence is asked before every attempt with the
//! attempt's timeout: it lets it start only if the attempt ends, at the latest, a
//! [margin](LeaseTiming::margin) before the lease can be taken (last renewal +
//! `lease_duration`). A new leader in turn waits until the previous holder's last permitted
//! attempt must have ended ([`takeover_wait`]) before it lists the zone.

use std::time::{Duration, SystemTime};

/// Timing of leader election (defaults 15 s / 10 s / 2 s, as Kubernetes controllers use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long a lease is valid after its last renewal.
    pub lease_duration: Duration,
    /// How long a leader keeps acting without a successful renewal.
    pub renew_deadline: Duration,
    /// How often a replica tries to acquire or renew.
    pub retry_period: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaseTiming {
    /// Checks `retry_period < renew_deadline < lease_duration`.
    pub fn validate(&self) -> Result<(), String> {
        if self.retry_period >= self.renew_deadline {
            return Err(format!(
                "leader election: retryPeriod ({:?}) must be shorter than renewDeadline ({:?})",
                self.retry_period, self.renew_deadline
            ));
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(format!(
                "leader election: renewDeadline ({:?}) must be shorter than leaseDuration ({:?})",
                self.renew_deadline, self.lease_duration
            ));
        }
        Ok(())
    }

    /// The lease duration as the Lease records it (`spec.leaseDurationSeconds`, whole
    /// seconds): what the other replicas go by, so the fence goes by it too.
    pub fn recorded_duration(&self) -> Duration {
        Duration::from_secs(self.lease_duration.as_secs())
    }

    /// What the fence keeps free between the end of the last attempt a leader may start and
    /// the moment its lease can be taken: half of `lease_duration - renew_deadline` (the gap
    /// the election keeps between a leader that stops renewing and a new one), for the
    /// replicas' clocks not to agree exactly and for a request still on its way after its
    /// timeout.
    pub fn margin(&self) -> Duration {
        self.recorded_duration().saturating_sub(self.renew_deadline) / 2
    }

    /// The longest write attempt a leader renewing on time can start:
    /// `leaseDuration - retryPeriod - margin`.
    pub fn longest_attempt(&self) -> Duration {
        self.recorded_duration()
            .saturating_sub(self.retry_period)
            .saturating_sub(self.margin())
    }

    /// Checks that a leader renewing on time can start a write attempt lasting up to
    /// `attempt` (the DNS provider's timeout): `retry_period + attempt + margin` must not
    /// exceed `lease_duration`, or such a leader could never write.
    pub fn check_attempt(&self, attempt: Duration) -> Result<(), String> {
        if attempt > self.longest_attempt() {
            return Err(format!(
                "leader election: a DNS write attempt ({attempt:?}, the provider's \
                 timeoutSeconds) cannot fit in a lease: retryPeriod ({:?}) + the attempt + a \
                 margin of (leaseDuration - renewDeadline) / 2 ({:?}) must not exceed \
                 leaseDuration ({:?}); lengthen leaseDuration or shorten timeoutSeconds",
                self.retry_period,
                self.margin(),
                self.recorded_duration()
            ));
        }
        Ok(())
    }
}

/// How long a replica that just took the Lease must wait before it lists the zone: until the
/// previous holder's last permitted attempt must have ended, `renewTime + leaseDuration` of
/// the Lease as read before taking it (zero for an expired lease, a new one, or one released
/// without a write in flight).
pub(crate) fn takeover_wait(previous: Option<&LeaseRecord>, now: SystemTime) -> Duration {
    previous
        .and_then(|p| p.renew_time.map(|t| t + p.duration))
        .and_then(|until| until.duration_since(now).ok())
        .unwrap_or_default()
}

/// The fields of a Lease that matter for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// `spec.holderIdentity`.
    pub holder: Option<String>,
    /// `spec.renewTime`.
    pub renew_time: Option<SystemTime>,
    /// `spec.leaseDurationSeconds`.
    pub duration: Duration,
    /// `spec.leaseTransitions`.
    pub transitions: i32,
}

/// What a replica should do with the Lease it read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Decision {
    /// Create the Lease (it does not exist) with us as holder.
    Create,
    /// We hold it: write a new renewTime.
    Renew,
    /// It is free or expired: take it (holder = us, transitions + 1).
    Acquire,
    /// Someone else holds a valid lease: wait.
    Follow {
        /// The current holder.
        holder: String,
    },
}

/// Decides what `me` should do with `lease` (`None` when it does not exist) at `now`.
pub(crate) fn decide(lease: Option<&LeaseRecord>, me: &str, now: SystemTime) -> Decision {
    let Some(lease) = lease else {
        return Decision::Create;
    };
    match lease.holder.as_deref() {
        Some(h) if h == me => Decision::Renew,
        None | Some("") => Decision::Acquire,
        Some(h) => {
            let expired = match lease.renew_time {
                None => true,
                Some(t) => now >= t + lease.duration,
            };
            if expired {
                Decision::Acquire
            } else {
                Decision::Follow {
                    holder: h.to_owned(),
                }
            }
        }
    }
}

/// The leader's own rule for when it may still write: only within `renew_deadline` of its
/// last successful renewal, after the previous holder's writes must have ended, and each
/// attempt only if it ends a [margin](LeaseTiming::margin) before the lease can be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fence {
    renewed_at: Option<SystemTime>,
    writes_from: Option<SystemTime>,
    renew_deadline: Duration,
    lease_duration: Duration,
    margin: Duration,
}

impl Fence {
    /// A fence that allows nothing until the first renewal.
    pub(crate) fn new(timing: &LeaseTiming) -> Self {
        Self {
            renewed_at: None,
            writes_from: None,
            renew_deadline: timing.renew_deadline,
            lease_duration: timing.recorded_duration(),
            margin: timing.margin(),
        }
    }

    /// Records a successful acquire or renew at `at` (the time written as `renewTime`).
    pub(crate) fn renewed(&mut self, at: SystemTime) {
        self.renewed_at = Some(at);
    }

    /// Records that this replica took the lease at `at`; `previous` is the Lease as read
    /// before (see [`takeover_wait`]): nothing is permitted before the previous holder's
    /// writes must have ended.
    pub(crate) fn acquired(&mut self, at: SystemTime, previous: Option<&LeaseRecord>) {
        self.renewed_at = Some(at);
        self.writes_from = Some(at + takeover_wait(previous, at));
    }

    /// Gives up leadership at once (shutdown, or a renewal found another holder).
    pub(crate) fn revoke(&mut self) {
        self.renewed_at = None;
        self.writes_from = None;
    }

    /// When the replica may write, at the earliest, after taking the lease.
    pub(crate) fn writes_from(&self) -> Option<SystemTime> {
        self.writes_from
    }

    /// The moment by which an attempt permitted now must have ended: a margin before the
    /// lease can be taken.
    pub(crate) fn attempts_end_by(&self) -> Option<SystemTime> {
        self.renewed_at
            .map(|t| t + self.lease_duration.saturating_sub(self.margin))
    }

    /// How long an attempt starting at `now` may last, or `None` when none may start.
    pub(crate) fn time_left(&self, now: SystemTime) -> Option<Duration> {
        let renewed = self.renewed_at?;
        if now >= renewed + self.renew_deadline {
            return None;
        }
        if self.writes_from.is_some_and(|w| now < w) {
            return None;
        }
        self.attempts_end_by()?
            .duration_since(now)
            .ok()
            .filter(|d| !d.is_zero())
    }

    /// Whether an attempt lasting up to `attempt` may start at `now`.
    pub(crate) fn admits(&self, now: SystemTime, attempt: Duration) -> bool {
        self.time_left(now).is_some_and(|left| left >= attempt)
    }

    /// Whether the leader may write at `now` (an attempt of any length aside).
    pub(crate) fn may_write(&self, now: SystemTime) -> bool {
        self.time_left(now).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    fn held_by(who: &str, renewed: u64) -> LeaseRecord {
        LeaseRecord {
            holder: Some(who.into()),
            renew_time: Some(t(renewed)),
            duration: Duration::from_secs(15),
            transitions: 0,
        }
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(None, "a", t(0)), Decision::Create);
        assert_eq!(decide(Some(&held_by("a", 0)), "a", t(100)), Decision::Renew);
        assert_eq!(
            decide(Some(&held_by("b", 0)), "a", t(14)),
            Decision::Follow { holder: "b".into() }
        );
        assert_eq!(
            decide(Some(&held_by("b", 0)), "a", t(15)),
            Decision::Acquire
        );
        let free = LeaseRecord {
            holder: None,
            ..held_by("x", 0)
        };
        assert_eq!(decide(Some(&free), "a", t(1)), Decision::Acquire);
    }

    #[test]
    fn a_deposed_leader_stops_before_the_lease_expires() {
        let timing = LeaseTiming::default();
        timing.validate().unwrap();
        let mut fence = Fence::new(&timing);
        assert!(!fence.may_write(t(0)));
        fence.renewed(t(0));
        assert!(fence.may_write(t(9)));
        // The old leader stops at renew_deadline (10 s) …
        assert!(!fence.may_write(t(10)));
        // … and a follower may only acquire once lease_duration (15 s) has passed.
        assert_eq!(
            decide(Some(&held_by("old", 0)), "new", t(10)),
            Decision::Follow {
                holder: "old".into()
            }
        );
        assert_eq!(
            decide(Some(&held_by("old", 0)), "new", t(15)),
            Decision::Acquire
        );
        fence.renewed(t(20));
        fence.revoke();
        assert!(!fence.may_write(t(20)));
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_attempt_must_end_a_margin_before_the_lease_can_be_taken() {
        let timing = LeaseTiming::default();
        // (15 s - 10 s) / 2
        assert_eq!(timing.margin(), ms(2500));
        let mut fence = Fence::new(&timing);
        assert!(!fence.admits(t(0), ms(1)));
        fence.renewed(t(0));
        assert_eq!(fence.attempts_end_by(), Some(t(0) + ms(12_500)));
        assert_eq!(fence.time_left(t(0)), Some(ms(12_500)));
        // A 5 s attempt may start until 7.5 s after the renewal, not after …
        assert!(fence.admits(t(0) + ms(7_500), ms(5_000)));
        assert!(!fence.admits(t(0) + ms(7_501), ms(5_000)));
        // … while a shorter one may start later, but never after the renew deadline.
        assert!(fence.admits(t(9), ms(3_000)));
        assert!(!fence.admits(t(10), ms(1)));
        assert_eq!(fence.time_left(t(10)), None);
        // Whatever it was admitted for, an attempt ends before the lease can be taken.
        let deposed = held_by("old", 0);
        for at in 0..10 {
            if let Some(left) = fence.time_left(t(at)) {
                let end = t(at) + left;
                assert!(end + timing.margin() <= t(15), "{at}");
                assert_eq!(
                    decide(Some(&deposed), "new", end),
                    Decision::Follow {
                        holder: "old".into()
                    }
                );
            }
        }
    }

    #[test]
    fn a_new_leader_waits_for_the_previous_holders_last_attempt() {
        let timing = LeaseTiming::default();
        // Released with a write that may still land until 103 (renewTime 100, 3 s).
        let released = LeaseRecord {
            holder: None,
            renew_time: Some(t(100)),
            duration: Duration::from_secs(3),
            transitions: 1,
        };
        assert_eq!(
            takeover_wait(Some(&released), t(101)),
            Duration::from_secs(2)
        );
        assert_eq!(takeover_wait(Some(&released), t(104)), Duration::ZERO);
        // Expired, released without a write in flight, or new: no wait.
        assert_eq!(
            takeover_wait(Some(&held_by("old", 0)), t(15)),
            Duration::ZERO
        );
        let clean = LeaseRecord {
            renew_time: None,
            ..released.clone()
        };
        assert_eq!(takeover_wait(Some(&clean), t(101)), Duration::ZERO);
        assert_eq!(takeover_wait(None, t(101)), Duration::ZERO);

        let mut fence = Fence::new(&timing);
        fence.acquired(t(101), Some(&released));
        assert_eq!(fence.writes_from(), Some(t(103)));
        assert!(!fence.may_write(t(102)));
        assert!(fence.may_write(t(103)));
        // Its own lease runs from its renewal, not from the end of the wait.
        assert_eq!(fence.attempts_end_by(), Some(t(101) + ms(12_500)));
        fence.revoke();
        assert!(!fence.may_write(t(104)));
    }

    #[test]
    fn an_attempt_that_cannot_fit_is_refused() {
        let timing = LeaseTiming::default();
        timing.check_attempt(Duration::from_secs(5)).unwrap();
        // 2 s + 10 s + 2.5 s <= 15 s
        timing.check_attempt(Duration::from_secs(10)).unwrap();
        assert_eq!(timing.longest_attempt(), Duration::from_millis(10_500));
        let e = timing.check_attempt(Duration::from_secs(11)).unwrap_err();
        for field in [
            "retryPeriod",
            "leaseDuration",
            "renewDeadline",
            "timeoutSeconds",
        ] {
            assert!(e.contains(field), "{e}");
        }
        let short = LeaseTiming {
            lease_duration: Duration::from_secs(3),
            renew_deadline: Duration::from_secs(2),
            retry_period: ms(300),
        };
        assert!(short.check_attempt(Duration::from_secs(5)).is_err());
        assert!(short.check_attempt(Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn the_fence_goes_by_the_whole_seconds_the_lease_records() {
        let timing = LeaseTiming {
            lease_duration: ms(15_900),
            ..LeaseTiming::default()
        };
        assert_eq!(timing.recorded_duration(), Duration::from_secs(15));
        let mut fence = Fence::new(&timing);
        fence.renewed(t(0));
        assert_eq!(fence.attempts_end_by(), Some(t(0) + ms(12_500)));
    }

    #[test]
    fn timing_is_checked() {
        let bad = LeaseTiming {
            renew_deadline: Duration::from_secs(20),
            ..LeaseTiming::default()
        };
        assert!(bad.validate().unwrap_err().contains("renewDeadline"));
    }
}
