//! Leader election on a `coordination.k8s.io/v1` Lease.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::leader::lease::{Decision, LeaseRecord, LeaseTiming, decide};
use crate::shared::Shared;

fn micro(t: SystemTime) -> MicroTime {
    MicroTime(
        k8s_openapi::jiff::Timestamp::try_from(t)
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

fn record(lease: &Lease, default: Duration) -> LeaseRecord {
    let spec = lease.spec.clone().unwrap_or_default();
    LeaseRecord {
        holder: spec.holder_identity,
        renew_time: spec.renew_time.map(|t| SystemTime::from(t.0)),
        duration: spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(default, Duration::from_secs),
        transitions: spec.lease_transitions.unwrap_or(0),
    }
}

/// How often the `fedsvc_leader` gauge is brought in line with the time between two rounds
/// (a renew deadline passing, a takeover wait ending).
const REFRESH: Duration = Duration::from_millis(250);

/// Takes part in the election for `name` in `namespace` as `identity` until `shutdown`.
///
/// On shutdown a leader hands over: no write starts any more, the writers end (their
/// attempts under way answered or given up at their timeout, for at most `drain`), and then
/// it releases the lease so a standby takes over at once. If an attempt might still land
/// (it was not answered), the released Lease says until when (`renewTime` +
/// `leaseDurationSeconds`), and the next leader waits until then before it lists the zone.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    client: kube::Client,
    namespace: String,
    name: String,
    identity: String,
    timing: LeaseTiming,
    drain: Duration,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let api: Api<Lease> = Api::namespaced(client, &namespace);
    let mut leading = false;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = SystemTime::now();
        let result = attempt(&api, &name, &identity, &timing, now).await;
        match result {
            Ok((true, previous)) => {
                // Renewing our own lease: the holder was us all along, nobody else took it.
                let own =
                    previous.as_ref().and_then(|p| p.holder.as_deref()) == Some(identity.as_str());
                if leading && own {
                    shared.leader.renewed(now);
                } else {
                    shared.leader.acquired(now, previous.as_ref());
                    let wait = shared
                        .leader
                        .writes_from()
                        .and_then(|t| t.duration_since(SystemTime::now()).ok())
                        .unwrap_or_default();
                    info!(lease = %name, %identity, ?wait, "became the leader");
                    leading = true;
                    shared.dirty.notify_one();
                }
            }
            Ok((false, _)) => {
                if leading {
                    warn!(lease = %name, "lost the lease to another replica");
                }
                shared.leader.revoke();
                leading = false;
            }
            Err(e) => {
                // The fence stops writes once renew_deadline passes without a renewal.
                debug!(error = %e, "lease request failed");
            }
        }
        let next = tokio::time::Instant::now() + timing.retry_period;
        loop {
            if shared.leader.refresh() {
                // A takeover wait ended: the DNS task may list and write now.
                shared.dirty.notify_one();
            }
            let tick = next.min(tokio::time::Instant::now() + REFRESH);
            tokio::select! {
                _ = shutdown.changed() => {}
                () = tokio::time::sleep_until(tick) => {}
            }
            if *shutdown.borrow() || tokio::time::Instant::now() >= next {
                break;
            }
        }
    }
    shared.leader.stop();
    if leading {
        hand_over(&api, &name, &identity, drain, &shared).await;
    }
}

/// Waits for the writers (at most `drain`), then releases the lease if it is still ours.
async fn hand_over(api: &Api<Lease>, name: &str, identity: &str, drain: Duration, shared: &Shared) {
    let stopping = std::time::Instant::now();
    if !shared.leader.drained(drain).await {
        warn!(
            ?drain,
            "writes still under way at shutdown: given up, the lease released anyway"
        );
    }
    let waited = stopping.elapsed();
    let Ok(mut lease) = api.get(name).await else {
        return;
    };
    let mine = lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        == Some(identity);
    if !mine {
        return;
    }
    let now = SystemTime::now();
    // Until when an unanswered write might still land, as the next leader will read it.
    let unsettled = shared
        .leader
        .unsettled_until()
        .and_then(|t| t.duration_since(now).ok())
        .filter(|d| !d.is_zero());
    shared.leader.revoke();
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
        match unsettled {
            Some(left) => {
                spec.renew_time = Some(micro(now));
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                spec.lease_duration_seconds = Some(i32::try_from(secs).unwrap_or(i32::MAX));
            }
            None => spec.renew_time = None,
        }
    }
    match api.replace(name, &PostParams::default(), &lease).await {
        Ok(_) => info!(lease = %name, ?waited, unsettled = ?unsettled, "released the lease"),
        Err(e) => warn!(lease = %name, error = %e, "cannot release the lease"),
    }
}

/// One round: returns whether we hold the lease after it, and the Lease as read before.
async fn attempt(
    api: &Api<Lease>,
    name: &str,
    identity: &str,
    timing: &LeaseTiming,
    now: SystemTime,
) -> Result<(bool, Option<LeaseRecord>), kube::Error> {
    let existing = api.get_opt(name).await?;
    let rec = existing.as_ref().map(|l| record(l, timing.lease_duration));
    let previous = rec.clone();
    let secs = i32::try_from(timing.lease_duration.as_secs()).unwrap_or(i32::MAX);
    let held = match decide(rec.as_ref(), identity, now) {
        Decision::Follow { .. } => Ok(false),
        Decision::Create => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(identity.to_owned()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(micro(now)),
                    renew_time: Some(micro(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        d @ (Decision::Renew | Decision::Acquire) => {
            let mut lease = existing.expect("a lease to renew or acquire");
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if d == Decision::Acquire {
                spec.holder_identity = Some(identity.to_owned());
                spec.acquire_time = Some(micro(now));
                spec.lease_transitions = Some(rec.map_or(0, |r| r.transitions) + 1);
            }
            spec.lease_duration_seconds = Some(secs);
            spec.renew_time = Some(micro(now));
            // The resourceVersion read above makes this write fail if another replica wrote
            // in between.
            match api.replace(name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    };
    held.map(|h| (h, previous))
}
