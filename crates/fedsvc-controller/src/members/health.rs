//! Cluster health with hysteresis: probe results in, Ready / Offline conditions out.
//!
//! The original controller let one probe decide, so a single slow answer flapped a cluster's
//! records out of DNS and back. Here a Ready cluster becomes Offline only after
//! `failure_threshold` consecutive failed probes (default 3), and an Offline one is Ready again
//! only after `success_threshold` consecutive good probes (default 2). The state machine is pure:
//! the caller passes the time of each probe.

use std::time::{Duration, SystemTime};

/// What one health probe (`GET /readyz`, falling back to `/healthz`) found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum ProbeResult {
    /// The API answered `ok`.
    Healthy,
    /// The API answered, but not `ok` (status and body, shortened, in the message).
    Unhealthy(String),
    /// The API could not be reached (connection refused, timeout, TLS or auth failure).
    Unreachable(String),
}

/// The thresholds of the hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failures before a cluster is no longer Ready (default 3).
    pub failure_threshold: u32,
    /// Consecutive successes before a cluster is Ready again (default 2).
    pub success_threshold: u32,
    /// How often clusters are probed (default 10 s).
    pub period: Duration,
    /// How long one probe may take (default 3 s).
    pub timeout: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 3,
            success_threshold: 2,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(3),
        }
    }
}

/// The health state of one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum HealthState {
    /// Not yet decided (just joined, or the controller just started).
    Unknown,
    /// Serving: its shards may be in DNS.
    Ready,
    /// Reachable but not healthy: its shards leave DNS.
    NotReady,
    /// Unreachable: its shards leave DNS.
    Offline,
}

/// One condition as written to the `Cluster` status, as the original Cluster API had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    /// `Ready` or `Offline`.
    pub type_: &'static str,
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    /// A CamelCase reason (`ClusterReady`, `ClusterNotReady`, `ClusterNotReachable`, …).
    pub reason: &'static str,
    /// A human-readable message.
    pub message: String,
    /// When the cluster was last probed.
    pub last_probe_time: SystemTime,
    /// When `status` last changed.
    pub last_transition_time: SystemTime,
}

/// The hysteresis for one cluster.
#[derive(Debug, Clone)]
pub(crate) struct ClusterHealth {
    policy: HealthPolicy,
    state: HealthState,
    failures: u32,
    successes: u32,
    last: Option<ProbeResult>,
    last_probe: Option<SystemTime>,
    ready_since: Option<SystemTime>,
    offline_since: Option<SystemTime>,
}

impl ClusterHealth {
    /// A cluster not yet probed.
    pub(crate) fn new(policy: HealthPolicy) -> Self {
        Self {
            policy,
            state: HealthState::Unknown,
            failures: 0,
            successes: 0,
            last: None,
            last_probe: None,
            ready_since: None,
            offline_since: None,
        }
    }

    /// The current state.
    pub(crate) fn state(&self) -> HealthState {
        self.state
    }

    /// Whether the cluster counts as Ready for DNS.
    pub(crate) fn is_ready(&self) -> bool {
        self.state == HealthState::Ready
    }

    /// Whether the cluster is Offline (unreachable past the threshold).
    pub(crate) fn is_offline(&self) -> bool {
        self.state == HealthState::Offline
    }

    /// Records a probe made at `now`; returns `true` when the state changed.
    pub(crate) fn observe(&mut self, result: ProbeResult, now: SystemTime) -> bool {
        let before = self.state;
        let was_ready = self.state == HealthState::Ready;
        let was_offline = self.state == HealthState::Offline;
        match &result {
            ProbeResult::Healthy => {
                self.failures = 0;
                self.successes = self.successes.saturating_add(1);
                let enough = self.successes >= self.policy.success_threshold;
                if self.state == HealthState::Unknown || enough {
                    self.state = HealthState::Ready;
                }
            }
            ProbeResult::Unhealthy(_) | ProbeResult::Unreachable(_) => {
                self.successes = 0;
                self.failures = self.failures.saturating_add(1);
                if self.failures >= self.policy.failure_threshold {
                    self.state = match result {
                        ProbeResult::Unreachable(_) => HealthState::Offline,
                        _ => HealthState::NotReady,
                    };
                } else if self.state == HealthState::Offline
                    && matches!(result, ProbeResult::Unhealthy(_))
                {
                    // Reachable again but still failing: not Offline, but not Ready either.
                    self.state = HealthState::NotReady;
                }
            }
        }
        let is_ready = self.state == HealthState::Ready;
        let is_offline = self.state == HealthState::Offline;
        if is_ready != was_ready || self.ready_since.is_none() {
            self.ready_since = Some(now);
        }
        if is_offline != was_offline || self.offline_since.is_none() {
            self.offline_since = Some(now);
        }
        self.last = Some(result);
        self.last_probe = Some(now);
        self.state != before
    }

    /// The `Ready` and `Offline` conditions for the Cluster status, or `None` before the
    /// first probe.
    pub(crate) fn conditions(&self) -> Option<[Condition; 2]> {
        let probe = self.last_probe?;
        let last = self.last.as_ref()?;
        let detail = match last {
            ProbeResult::Healthy => "/readyz answered ok".to_owned(),
            ProbeResult::Unhealthy(m) | ProbeResult::Unreachable(m) => m.clone(),
        };
        let (status, reason, message) = match self.state {
            HealthState::Ready => ("True", "ClusterReady", detail.clone()),
            HealthState::Unknown => (
                "Unknown",
                "ClusterHealthUnknown",
                format!("{} failed probe(s) so far: {detail}", self.failures),
            ),
            HealthState::NotReady => ("False", "ClusterNotReady", detail.clone()),
            HealthState::Offline => ("False", "ClusterNotReachable", detail.clone()),
        };
        let ready = Condition {
            type_: "Ready",
            status,
            reason,
            message,
            last_probe_time: probe,
            last_transition_time: self.ready_since.unwrap_or(probe),
        };
        let (status, reason, message) = if self.state == HealthState::Offline {
            ("True", "ClusterNotReachable", detail)
        } else {
            (
                "False",
                "ClusterReachable",
                "the cluster's API answers".to_owned(),
            )
        };
        let offline = Condition {
            type_: "Offline",
            status,
            reason,
            message,
            last_probe_time: probe,
            last_transition_time: self.offline_since.unwrap_or(probe),
        };
        Some([ready, offline])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    fn down() -> ProbeResult {
        ProbeResult::Unreachable("connection refused".into())
    }

    #[test]
    fn first_success_makes_ready() {
        let mut h = ClusterHealth::new(HealthPolicy::default());
        assert_eq!(h.state(), HealthState::Unknown);
        assert!(h.conditions().is_none());
        assert!(h.observe(ProbeResult::Healthy, t(0)));
        assert!(h.is_ready());
        let [ready, offline] = h.conditions().unwrap();
        assert_eq!((ready.status, ready.reason), ("True", "ClusterReady"));
        assert_eq!(offline.status, "False");
    }

    #[test]
    fn offline_only_after_three_failures_in_a_row() {
        let mut h = ClusterHealth::new(HealthPolicy::default());
        h.observe(ProbeResult::Healthy, t(0));
        assert!(!h.observe(down(), t(10)));
        assert!(!h.observe(down(), t(20)));
        assert!(
            !h.observe(ProbeResult::Healthy, t(30)),
            "a success resets the count"
        );
        assert!(!h.observe(down(), t(40)));
        assert!(!h.observe(down(), t(50)));
        assert!(h.is_ready());
        assert!(h.observe(down(), t(60)));
        assert!(h.is_offline());
        let [ready, offline] = h.conditions().unwrap();
        assert_eq!(
            (ready.status, ready.reason),
            ("False", "ClusterNotReachable")
        );
        assert_eq!(offline.status, "True");
        assert_eq!(offline.last_transition_time, t(60));
        assert_eq!(ready.last_transition_time, t(60));
        assert_eq!(ready.message, "connection refused");
    }

    #[test]
    fn ready_again_only_after_two_successes() {
        let mut h = ClusterHealth::new(HealthPolicy::default());
        for s in 0..3 {
            h.observe(down(), t(s));
        }
        assert!(h.is_offline());
        assert!(!h.observe(ProbeResult::Healthy, t(10)));
        assert!(h.is_offline());
        assert!(h.observe(ProbeResult::Healthy, t(20)));
        assert!(h.is_ready());
        let [ready, _] = h.conditions().unwrap();
        assert_eq!(ready.last_transition_time, t(20));
        assert_eq!(ready.last_probe_time, t(20));
    }

    #[test]
    fn unhealthy_answers_make_not_ready_not_offline() {
        let mut h = ClusterHealth::new(HealthPolicy::default());
        h.observe(ProbeResult::Healthy, t(0));
        for s in 1..=3 {
            h.observe(ProbeResult::Unhealthy("/readyz: 500".into()), t(s));
        }
        assert_eq!(h.state(), HealthState::NotReady);
        let [ready, offline] = h.conditions().unwrap();
        assert_eq!(ready.reason, "ClusterNotReady");
        assert_eq!(offline.status, "False");
        // The transition time of Ready stays while the status stays.
        h.observe(ProbeResult::Unhealthy("/readyz: 500".into()), t(9));
        assert_eq!(h.conditions().unwrap()[0].last_transition_time, t(3));
    }
}
