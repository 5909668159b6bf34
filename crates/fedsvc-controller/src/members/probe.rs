//! What probing decides for one member, without IO: a state machine fed with each probe's
//! result, each locality read's outcome and the time, that says what to do next (publish a
//! readiness change, read the locality now or on a task of its own, write the `Cluster`
//! status) and what the status says.
//!
//! The health hysteresis itself is [`ClusterHealth`]; this adds the member's locality (its
//! zones and region), when to read it again, and the status built from both.

use std::time::SystemTime;

use fedsvc_cluster::{ClusterCondition, ClusterStatus, Locality, MemberError};
use fedsvc_model::Label;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::members::health::{ClusterHealth, HealthPolicy, HealthState, ProbeResult};

/// Every how many probes a Ready member's locality is read again (and its status written even
/// when nothing changed, so `lastProbeTime` moves).
pub(crate) const LOCALITY_EVERY: u64 = 6;

/// A member's zones and region.
pub(crate) type Place = (Vec<Label>, Label);

/// How to read a member's locality after a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalityRead {
    /// Not now.
    No,
    /// A refresh, within the probe's own timeout: what was read before is kept if it fails.
    Refresh,
    /// The first read, on a task of its own (the nodes of a large cluster may take longer than
    /// a probe); report its end with [`MemberProbe::first_read_done`].
    First,
}

/// What to do after a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProbeDecision {
    /// The member's readiness changed: publish it to the federation state.
    pub(crate) changed: bool,
    /// Whether the member is Ready now.
    pub(crate) ready: bool,
    /// Whether and how to read its locality.
    pub(crate) locality: LocalityRead,
    /// Write its status even if nothing changed (every [`LOCALITY_EVERY`] probes).
    pub(crate) status_due: bool,
}

/// The probing state of one member.
#[derive(Debug, Clone)]
pub(crate) struct MemberProbe {
    health: ClusterHealth,
    place: Option<Place>,
    /// Why the place is not known (or may be stale), as the status reports it.
    place_problem: Option<String>,
    /// A first read of the place is running on its own task.
    first_read_running: bool,
    probes: u64,
}

impl MemberProbe {
    /// A member just joined: health unknown, place unknown.
    pub(crate) fn new(policy: HealthPolicy) -> Self {
        Self {
            health: ClusterHealth::new(policy),
            place: None,
            place_problem: None,
            first_read_running: false,
            probes: 0,
        }
    }

    /// Takes a probe's result at `now` and says what to do.
    pub(crate) fn observe(&mut self, result: ProbeResult, now: SystemTime) -> ProbeDecision {
        let answered = matches!(result, ProbeResult::Healthy);
        let changed = self.health.observe(result, now);
        self.probes += 1;
        let ready = self.health.is_ready();
        // Only a member that just answered is asked for its nodes: one that stopped answering
        // would hold up the whole probe round until the request timed out.
        let read = ready
            && answered
            && (self.place.is_none() || self.probes.is_multiple_of(LOCALITY_EVERY));
        let locality = match (read, self.place.is_some()) {
            (false, _) => LocalityRead::No,
            (true, true) => LocalityRead::Refresh,
            (true, false) if self.first_read_running => LocalityRead::No,
            (true, false) => {
                self.first_read_running = true;
                LocalityRead::First
            }
        };
        ProbeDecision {
            changed,
            ready,
            locality,
            status_due: self.probes % LOCALITY_EVERY == 1,
        }
    }

    /// Keeps what a read of the locality found; returns whether the place or the problem
    /// reported with it changed. A failed read keeps the place read before.
    pub(crate) fn locality_read(&mut self, outcome: Result<Locality, MemberError>) -> bool {
        let (place, problem) = match outcome {
            Ok(l) => match l.region {
                Some(region) if !l.zones.is_empty() => (Some((l.zones, region)), None),
                _ => (
                    None,
                    Some(format!(
                        "no zone or region: label the nodes with topology.kubernetes.io/zone and topology.kubernetes.io/region, or set spec.zones and spec.region ({})",
                        l.warnings.join("; ")
                    )),
                ),
            },
            Err(err) => (self.place.clone(), Some(err.to_string())),
        };
        let changed = place != self.place || problem != self.place_problem;
        self.place = place;
        self.place_problem = problem;
        changed
    }

    /// The first read of the locality ended (its outcome given to
    /// [`locality_read`](Self::locality_read)).
    pub(crate) fn first_read_done(&mut self) {
        self.first_read_running = false;
    }

    /// The `Cluster`'s zones or region overrides changed: the place is read again at the next
    /// probe that answers.
    pub(crate) fn forget_place(&mut self) {
        self.place = None;
    }

    /// The health state.
    pub(crate) fn state(&self) -> HealthState {
        self.health.state()
    }

    /// Whether the member is Ready.
    pub(crate) fn is_ready(&self) -> bool {
        self.health.is_ready()
    }

    /// Whether the member is Offline (unreachable past the threshold).
    pub(crate) fn is_offline(&self) -> bool {
        self.health.is_offline()
    }

    /// The member's zones and region, once read.
    pub(crate) fn place(&self) -> Option<&Place> {
        self.place.as_ref()
    }

    /// Whether DNS may count on what is known of the member: its health is decided (Ready, or
    /// past a threshold of failed probes), and when Ready, its zones and region were read (or
    /// found missing).
    pub(crate) fn is_settled(&self) -> bool {
        self.health.state() != HealthState::Unknown
            && (!self.health.is_ready() || self.place.is_some() || self.place_problem.is_some())
    }

    /// The `Cluster` status to write, once the member was probed.
    pub(crate) fn status(&self) -> Option<ClusterStatus> {
        let conds = self.health.conditions()?;
        let mut conditions: Vec<ClusterCondition> = conds
            .into_iter()
            .map(|c| ClusterCondition {
                type_: c.type_.to_owned(),
                status: c.status.to_owned(),
                reason: Some(c.reason.to_owned()),
                message: Some(c.message),
                last_probe_time: Some(to_time(c.last_probe_time)),
                last_transition_time: Some(to_time(c.last_transition_time)),
            })
            .collect();
        if let (Some(problem), Some(ready)) = (&self.place_problem, conditions.first_mut())
            && self.health.state() == HealthState::Ready
            && self.place.is_none()
        {
            ready.message = Some(format!("ready, but not in DNS: {problem}"));
        }
        Some(ClusterStatus {
            conditions,
            zones: self
                .place
                .as_ref()
                .map(|(z, _)| z.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            region: self.place.as_ref().map(|(_, r)| r.to_string()),
        })
    }
}

/// A Kubernetes `Time` at `t`.
pub(crate) fn to_time(t: SystemTime) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::try_from(t)
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fedsvc_model::LabelRules;

    use super::*;

    fn label(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "test").unwrap()
    }

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn place(zones: &[&str], region: &str) -> Locality {
        Locality {
            zones: zones.iter().map(|z| label(z)).collect(),
            region: Some(label(region)),
            warnings: Vec::new(),
        }
    }

    fn unreachable() -> ProbeResult {
        ProbeResult::Unreachable("connection refused".into())
    }

    #[test]
    fn a_new_member_reads_its_place_once_on_a_task_of_its_own() {
        let mut p = MemberProbe::new(HealthPolicy::default());
        assert!(p.status().is_none(), "no status before the first probe");
        let d = p.observe(ProbeResult::Healthy, at(0));
        assert!(d.changed && d.ready && d.status_due);
        assert_eq!(d.locality, LocalityRead::First);
        // Not settled while its place is being read: DNS waits for it.
        assert!(!p.is_settled());
        // The read is still running: the next probe does not start another.
        let d = p.observe(ProbeResult::Healthy, at(10));
        assert!(!d.changed && !d.status_due);
        assert_eq!(d.locality, LocalityRead::No);
        assert!(p.locality_read(Ok(place(&["z-a", "z-b"], "r"))));
        p.first_read_done();
        assert!(p.is_settled());
        assert_eq!(
            p.place(),
            Some(&(vec![label("z-a"), label("z-b")], label("r")))
        );
        let status = p.status().unwrap();
        assert_eq!(status.zones, vec!["z-a", "z-b"]);
        assert_eq!(status.region.as_deref(), Some("r"));
        // The same place again is no change.
        assert!(!p.locality_read(Ok(place(&["z-a", "z-b"], "r"))));
    }

    #[test]
    fn a_ready_member_refreshes_its_place_every_few_probes_and_only_when_it_answers() {
        let mut p = MemberProbe::new(HealthPolicy::default());
        p.observe(ProbeResult::Healthy, at(0));
        p.locality_read(Ok(place(&["z"], "r")));
        p.first_read_done();
        let mut reads = Vec::new();
        let mut due = Vec::new();
        for n in 2..=13 {
            let d = p.observe(ProbeResult::Healthy, at(n * 10));
            if d.locality != LocalityRead::No {
                assert_eq!(d.locality, LocalityRead::Refresh);
                reads.push(n);
            }
            if d.status_due {
                due.push(n);
            }
        }
        assert_eq!(reads, vec![6, 12]);
        assert_eq!(due, vec![7, 13]);
        // A probe that fails never asks for the nodes, even when a refresh is due.
        for n in 14..=18 {
            p.observe(ProbeResult::Healthy, at(n * 10));
        }
        let d = p.observe(unreachable(), at(190));
        assert_eq!(d.locality, LocalityRead::No);
        assert!(d.ready, "one failure is below the threshold");
    }

    #[test]
    fn a_failed_refresh_keeps_the_place_and_says_why() {
        let mut p = MemberProbe::new(HealthPolicy::default());
        p.observe(ProbeResult::Healthy, at(0));
        p.locality_read(Ok(place(&["z"], "r")));
        let failed = Err(MemberError::Unreachable {
            cluster: "c1".into(),
            message: "no answer to the node list".into(),
        });
        assert!(p.locality_read(failed), "the problem is news");
        assert_eq!(p.place(), Some(&(vec![label("z")], label("r"))));
        // Still placed: its Ready condition is not marked "not in DNS".
        let status = p.status().unwrap();
        assert_eq!(status.region.as_deref(), Some("r"));
        assert!(
            !status.conditions[0]
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("not in DNS")
        );
    }

    #[test]
    fn a_member_without_zones_is_ready_but_not_in_dns() {
        let mut p = MemberProbe::new(HealthPolicy::default());
        p.observe(ProbeResult::Healthy, at(0));
        let nowhere = Locality {
            zones: Vec::new(),
            region: None,
            warnings: vec!["node n1 has no zone label".into()],
        };
        assert!(p.locality_read(Ok(nowhere)));
        p.first_read_done();
        // Settled: DNS need not wait for it, it simply has no records.
        assert!(p.is_settled());
        assert_eq!(p.place(), None);
        let status = p.status().unwrap();
        let message = status.conditions[0].message.clone().unwrap_or_default();
        assert!(
            message.starts_with("ready, but not in DNS: no zone or region")
                && message.contains("node n1 has no zone label"),
            "{message}"
        );
        // It is asked again at the next probe that answers.
        let d = p.observe(ProbeResult::Healthy, at(10));
        assert_eq!(d.locality, LocalityRead::First);
    }

    #[test]
    fn new_overrides_make_the_next_answered_probe_read_the_place_again() {
        let mut p = MemberProbe::new(HealthPolicy::default());
        p.observe(ProbeResult::Healthy, at(0));
        p.locality_read(Ok(place(&["z"], "r")));
        p.first_read_done();
        p.forget_place();
        assert_eq!(p.observe(unreachable(), at(10)).locality, LocalityRead::No);
        assert_eq!(
            p.observe(ProbeResult::Healthy, at(20)).locality,
            LocalityRead::First
        );
    }

    #[test]
    fn an_unreachable_member_goes_offline_after_the_threshold_and_is_settled() {
        let mut p = MemberProbe::new(HealthPolicy::default());
        assert!(!p.is_settled());
        let mut changes = Vec::new();
        for n in 0..3 {
            let d = p.observe(unreachable(), at(n * 10));
            changes.push(d.changed);
            assert!(!d.ready);
            assert_eq!(d.locality, LocalityRead::No);
        }
        assert_eq!(changes, vec![false, false, true]);
        assert!(p.is_offline() && p.is_settled());
        assert_eq!(p.state(), HealthState::Offline);
    }
}
