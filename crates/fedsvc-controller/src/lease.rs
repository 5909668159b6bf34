//! Leader election decisions over a `coordination.k8s.io` Lease, without IO.
//!
//! Every replica runs the same loop: read the Lease, ask [`decide`] what to do, and write the
//! Lease back with the resourceVersion it read (so two replicas racing for it cannot both win:
//! the API server refuses the second write with 409 Conflict). A leader renews every
//! `retry_period`; a leader that has not renewed within `renew_deadline` stops writing DNS
//! before its lease can expire (`renew_deadline < lease_duration`), so a new leader can only
//! start after the old one has stopped: [`Fence`] holds that rule.

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
pub enum Decision {
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
pub fn decide(lease: Option<&LeaseRecord>, me: &str, now: SystemTime) -> Decision {
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
/// last successful renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    renewed_at: Option<SystemTime>,
    deadline: Duration,
}

impl Fence {
    /// A fence that allows nothing until the first renewal.
    pub fn new(timing: &LeaseTiming) -> Self {
        Self {
            renewed_at: None,
            deadline: timing.renew_deadline,
        }
    }

    /// Records a successful acquire or renew at `at`.
    pub fn renewed(&mut self, at: SystemTime) {
        self.renewed_at = Some(at);
    }

    /// Gives up leadership at once (shutdown, or a renewal found another holder).
    pub fn revoke(&mut self) {
        self.renewed_at = None;
    }

    /// Whether the leader may write at `now`.
    pub fn may_write(&self, now: SystemTime) -> bool {
        self.renewed_at.is_some_and(|t| now < t + self.deadline)
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

    #[test]
    fn timing_is_checked() {
        let bad = LeaseTiming {
            renew_deadline: Duration::from_secs(20),
            ..LeaseTiming::default()
        };
        assert!(bad.validate().unwrap_err().contains("renewDeadline"));
    }
}
