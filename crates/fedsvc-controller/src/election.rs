//! Leader election on a `coordination.k8s.io/v1` Lease.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::dns_loop::Shared;
use crate::lease::{Decision, LeaseRecord, LeaseTiming, decide};

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

/// Takes part in the election for `name` in `namespace` as `identity` until `shutdown`; on
/// shutdown a leader releases the lease so a standby takes over at once.
pub async fn run(
    client: kube::Client,
    namespace: String,
    name: String,
    identity: String,
    timing: LeaseTiming,
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
            Ok(true) => {
                shared.leader.renewed(now);
                if !leading {
                    info!(lease = %name, %identity, "became the leader");
                    leading = true;
                    shared.dirty.notify_one();
                }
            }
            Ok(false) => {
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
        tokio::select! {
            _ = shutdown.changed() => {}
            () = tokio::time::sleep(timing.retry_period) => {}
        }
    }
    if leading {
        shared.leader.revoke();
        if let Ok(mut lease) = api.get(&name).await {
            let mine = lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                == Some(identity.as_str());
            if mine {
                if let Some(spec) = lease.spec.as_mut() {
                    spec.holder_identity = None;
                    spec.renew_time = None;
                }
                let _ = api.replace(&name, &PostParams::default(), &lease).await;
                info!(lease = %name, "released the lease");
            }
        }
    }
}

/// One round: returns whether we hold the lease after it.
async fn attempt(
    api: &Api<Lease>,
    name: &str,
    identity: &str,
    timing: &LeaseTiming,
    now: SystemTime,
) -> Result<bool, kube::Error> {
    let existing = api.get_opt(name).await?;
    let rec = existing.as_ref().map(|l| record(l, timing.lease_duration));
    let secs = i32::try_from(timing.lease_duration.as_secs()).unwrap_or(i32::MAX);
    match decide(rec.as_ref(), identity, now) {
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
    }
}
