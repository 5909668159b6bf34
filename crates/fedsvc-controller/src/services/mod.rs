//! The service reconciler: every federated Service on the federation API exists, conformed,
//! in every selected Ready member; its status shows the union of the members' load-balancer
//! ingress; deleting it removes the member services (unless orphaned) and its DNS records.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::EnsureOutcome;
use fedsvc_model::ServiceKey;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use tracing::{debug, warn};

use crate::leader::Fenced;
use crate::members::ClusterManager;
use crate::shared::Shared;
use fedsvc_model::Selector;

/// The finalizer fedsvc puts on federated services.
pub(crate) const FINALIZER: &str = "fedsvc.io/cleanup";
/// Annotation: a label selector over `Cluster` labels choosing the members.
pub(crate) const CLUSTER_SELECTOR: &str = "fedsvc.io/cluster-selector";
/// Annotation: `"true"` keeps member services when the federated service is deleted.
pub(crate) const ORPHAN: &str = "fedsvc.io/orphan";
/// Annotation: the TTL of the service's DNS records, in seconds.
pub(crate) const DNS_TTL: &str = "fedsvc.io/dns-ttl";

/// How often a deleted service whose records are still in DNS is looked at again.
const REMOVAL_POLL: Duration = Duration::from_secs(1);

/// Which services the reconciler handles.
#[derive(Debug, Clone)]
pub(crate) struct ServiceFilter {
    /// Only these namespaces (empty: all).
    pub namespaces: Vec<String>,
    /// Never these namespaces.
    pub exclude_namespaces: Vec<String>,
}

impl ServiceFilter {
    /// Whether `svc` is a federated service.
    pub(crate) fn accepts(&self, svc: &Service) -> bool {
        let ns = svc.namespace().unwrap_or_default();
        let name = svc.name_any();
        if ns == "default" && name == "kubernetes" {
            return false;
        }
        if self.exclude_namespaces.contains(&ns) {
            return false;
        }
        self.namespaces.is_empty() || self.namespaces.contains(&ns)
    }
}

/// Why a reconcile failed (it is retried with backoff).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReconcileError {
    /// The federation API refused or failed a request.
    #[error("federation API: {0}")]
    Kube(#[from] kube::Error),
    /// One or more members could not be brought in line.
    #[error("{0}")]
    Members(String),
}

/// What the reconciler needs.
pub(crate) struct Context {
    /// The federation API.
    pub host: kube::Client,
    /// Members.
    pub clusters: Arc<ClusterManager>,
    /// State, metrics, leadership.
    pub shared: Arc<Shared>,
    /// Which services are federated.
    pub filter: ServiceFilter,
    /// Publishes Events.
    pub recorder: Recorder,
    /// How long to wait before looking again when all is well.
    pub requeue: Duration,
    /// The load-balancer ingress of each federated service, as the watch last saw it (the
    /// cached services do not keep their status).
    pub ingress: Arc<IngressSeen>,
}

/// The `status.loadBalancer.ingress` of each federated service as the watch last saw it, in
/// its JSON form.
///
/// The reconciler compares it with the union of the members' ingress to know whether the
/// status needs writing. The services cache does not keep the status itself: with one ingress
/// per member it is most of a cached Service's size (each entry is a structure of four
/// optional fields), while its JSON is a few hundred bytes.
#[derive(Debug, Default)]
pub(crate) struct IngressSeen(std::sync::Mutex<HashMap<ServiceKey, Box<str>>>);

impl IngressSeen {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ServiceKey, Box<str>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers the ingress of `svc` (or forgets it, for a deleted service); the watch calls
    /// it for every service it sees, before the service is cached without its status.
    pub(crate) fn observe(&self, svc: &Service, deleted: bool) {
        let Ok(key) = ServiceKey::parse(&svc.namespace().unwrap_or_default(), &svc.name_any())
        else {
            return;
        };
        if deleted {
            self.lock().remove(&key);
            return;
        }
        let json = ingress_json(
            svc.status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_deref())
                .unwrap_or_default(),
        );
        self.lock().insert(key, json.into_boxed_str());
    }

    /// Whether the watch last saw `ingress` on service `key`.
    pub(crate) fn is(&self, key: &ServiceKey, ingress: &[LoadBalancerIngress]) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|seen| **seen == *ingress_json(ingress))
    }
}

fn ingress_json(ingress: &[LoadBalancerIngress]) -> String {
    serde_json::to_string(ingress).unwrap_or_default()
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

async fn event(ctx: &Context, svc: &Service, type_: EventType, reason: &str, note: String) {
    let ev = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: "Propagate".to_owned(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &svc.object_ref(&())).await {
        debug!(error = %e, "cannot publish Event");
    }
}

/// The TTL the service's annotation asks for (`Ok(None)`: none); `Err` when it is not a TTL.
fn dns_ttl(svc: &Service) -> Result<Option<u32>, ()> {
    match svc
        .annotations()
        .get(DNS_TTL)
        .map(|v| v.trim().parse::<u32>())
    {
        None => Ok(None),
        Some(Ok(t)) if t <= fedsvc_model::MAX_TTL => Ok(Some(t)),
        Some(_) => Err(()),
    }
}

/// What the watch of federated services tells the federation state, as objects arrive: a
/// listed or changed service is federated (its DNS records are kept), a deleted one is not.
/// The state thus knows every service as soon as the initial listing ends, so that DNS is
/// never synced from a partial list; reconciles leave it to this and only remove a service
/// at its cleanup.
pub(crate) fn observe(filter: &ServiceFilter, svc: &Service, deleted: bool, shared: &Shared) {
    if !filter.accepts(svc) {
        return;
    }
    let Ok(key) = ServiceKey::parse(&svc.namespace().unwrap_or_default(), &svc.name_any()) else {
        return;
    };
    if deleted {
        shared.removals.forget(&key);
        shared.update(|state| state.remove_service(&key));
    } else if svc.meta().deletion_timestamp.is_none() {
        // An invalid TTL annotation is reported by the reconcile; the default applies.
        shared.update(|state| state.upsert_service(key, dns_ttl(svc).unwrap_or(None)));
    }
}

/// Brings one federated service in line.
pub(crate) async fn reconcile(
    svc: Arc<Service>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if !ctx.filter.accepts(&svc) {
        return Ok(Action::await_change());
    }
    if !ctx.shared.leader.may_write() {
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let key = match ServiceKey::parse(&ns, &name) {
        Ok(k) => k,
        Err(e) => {
            event(
                &ctx,
                &svc,
                EventType::Warning,
                "InvalidName",
                format!("not federated: {e}"),
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    let api: Api<Service> = Api::namespaced(ctx.host.clone(), &ns);
    let has_finalizer = svc.finalizers().iter().any(|f| f == FINALIZER);

    if svc.meta().deletion_timestamp.is_some() {
        if has_finalizer {
            if !cleanup(&svc, &key, &ctx).await? {
                // The records are still in DNS: the finalizer stays until they are gone.
                return Ok(Action::requeue(REMOVAL_POLL));
            }
            let rest: Vec<String> = svc
                .finalizers()
                .iter()
                .filter(|f| *f != FINALIZER)
                .cloned()
                .collect();
            let patch = serde_json::json!({
                "metadata": {"finalizers": rest, "resourceVersion": svc.resource_version()}
            });
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            ctx.shared.removals.forget(&key);
        }
        return Ok(Action::await_change());
    }

    if !has_finalizer {
        let mut all: Vec<String> = svc.finalizers().to_vec();
        all.push(FINALIZER.to_owned());
        let patch = serde_json::json!({
            "metadata": {"finalizers": all, "resourceVersion": svc.resource_version()}
        });
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        // The watch brings the updated object back.
        return Ok(Action::await_change());
    }

    let annotations = svc.annotations();
    if dns_ttl(&svc).is_err() {
        event(
            &ctx,
            &svc,
            EventType::Warning,
            "InvalidTTL",
            format!(
                "annotation {DNS_TTL}={:?} is not a TTL in seconds; the default is used",
                annotations[DNS_TTL]
            ),
        )
        .await;
    }
    let selector = match annotations.get(CLUSTER_SELECTOR) {
        None => Selector::default(),
        Some(text) => match Selector::parse(text) {
            Ok(s) => s,
            Err(e) => {
                event(
                    &ctx,
                    &svc,
                    EventType::Warning,
                    "InvalidClusterSelector",
                    format!("annotation {CLUSTER_SELECTOR}: {e}; the service is placed nowhere new until it is fixed"),
                )
                .await;
                return Ok(Action::await_change());
            }
        },
    };
    let federation = ctx
        .shared
        .state
        .lock()
        .expect("state lock")
        .federation()
        .clone();
    let mut failures = Vec::new();
    for m in ctx.clusters.members() {
        // Every member write is fenced, not only the reconcile's start: a replica that lost
        // the Lease (or has too little of it left) while earlier writes ran starts no more,
        // and a write still running when the lease's usable time ends is given up.
        if selector.matches_labels(&m.labels) {
            if !m.ready {
                continue;
            }
            let outcome = match ctx
                .shared
                .leader
                .fenced(m.member.ensure_service(&svc, &federation))
                .await
            {
                Ok(outcome) => outcome,
                Err(Fenced::NotLeader) => return Ok(Action::requeue(Duration::from_secs(2))),
                Err(fenced) => {
                    failures.push(format!("cluster {}: {fenced}", m.name));
                    break;
                }
            };
            match outcome {
                Ok(EnsureOutcome::Created) => {
                    event(
                        &ctx,
                        &svc,
                        EventType::Normal,
                        "Created",
                        format!("created in cluster {}", m.name),
                    )
                    .await;
                }
                Ok(EnsureOutcome::Adopted) => {
                    event(
                        &ctx,
                        &svc,
                        EventType::Normal,
                        "Adopted",
                        format!("adopted the existing service in cluster {}", m.name),
                    )
                    .await;
                }
                Ok(_) => {}
                Err(e) => {
                    event(
                        &ctx,
                        &svc,
                        EventType::Warning,
                        "PropagationFailed",
                        format!("cluster {}: {e}", m.name),
                    )
                    .await;
                    failures.push(format!("cluster {}: {e}", m.name));
                }
            }
        } else if !m.offline {
            let outcome = match ctx
                .shared
                .leader
                .fenced(m.member.delete_service(&ns, &name))
                .await
            {
                Ok(outcome) => outcome,
                Err(Fenced::NotLeader) => return Ok(Action::requeue(Duration::from_secs(2))),
                Err(fenced) => {
                    failures.push(format!("cluster {}: {fenced}", m.name));
                    break;
                }
            };
            match outcome {
                Ok(fedsvc_cluster::DeleteOutcome::Deleted) => {
                    event(
                        &ctx,
                        &svc,
                        EventType::Normal,
                        "Removed",
                        format!("removed from cluster {} (not selected)", m.name),
                    )
                    .await;
                }
                Ok(_) => {}
                Err(e) => failures.push(format!("cluster {}: {e}", m.name)),
            }
        }
    }

    update_ingress(&svc, &key, &ctx, &api).await?;

    if failures.is_empty() {
        Ok(Action::requeue(ctx.requeue))
    } else {
        Err(ReconcileError::Members(failures.join("; ")))
    }
}

/// Writes `status.loadBalancer.ingress` as the sorted union of the members' ingress.
async fn update_ingress(
    svc: &Service,
    key: &ServiceKey,
    ctx: &Context,
    api: &Api<Service>,
) -> Result<(), ReconcileError> {
    let (ips, hosts) = ctx.shared.state.lock().expect("state lock").ingress(key);
    let ips: BTreeSet<String> = ips.iter().map(ToString::to_string).collect();
    let hosts: BTreeSet<String> = hosts.iter().map(|h| h.without_dot().to_owned()).collect();
    let wanted: Vec<LoadBalancerIngress> = ips
        .into_iter()
        .map(|ip| LoadBalancerIngress {
            ip: Some(ip),
            ..Default::default()
        })
        .chain(hosts.into_iter().map(|h| LoadBalancerIngress {
            hostname: Some(h),
            ..Default::default()
        }))
        .collect();
    if ctx.ingress.is(key, &wanted) {
        return Ok(());
    }
    let patch = serde_json::json!({"status": {"loadBalancer": {"ingress": wanted}}});
    api.patch_status(
        &svc.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Deletion: member services go (unless orphaned), then the records leave DNS. Returns
/// whether both are done, that is whether the finalizer may go: while DNS is held
/// (fail-static) or a sync fails, the records stay and so does the finalizer.
async fn cleanup(svc: &Service, key: &ServiceKey, ctx: &Context) -> Result<bool, ReconcileError> {
    let orphan = svc.annotations().get(ORPHAN).is_some_and(|v| v == "true");
    // Asked again while its records are going: the same Events are not published again.
    let again = ctx.shared.removals.is_pending(key);
    let mut failures = Vec::new();
    if !orphan {
        for m in ctx.clusters.members() {
            if m.offline {
                if !again {
                    event(
                        ctx,
                        svc,
                        EventType::Warning,
                        "MemberUnreachable",
                        format!(
                            "cluster {} is offline; its copy of the service is left there",
                            m.name
                        ),
                    )
                    .await;
                }
                continue;
            }
            let deleted = ctx
                .shared
                .leader
                .fenced(
                    m.member
                        .delete_service(key.namespace.as_str(), key.name.as_str()),
                )
                .await;
            match deleted {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => failures.push(format!("cluster {}: {e}", m.name)),
                Err(fenced) => {
                    failures.push(format!("cluster {}: {fenced}", m.name));
                    break;
                }
            }
        }
    }
    if !failures.is_empty() {
        return Err(ReconcileError::Members(failures.join("; ")));
    }
    let gone = ctx.shared.remove_records(key);
    if !gone && !again {
        debug!(service = %key, "waiting for the records to leave DNS before removing the finalizer");
    }
    Ok(gone)
}

/// Retries failed reconciles after a pause.
pub(crate) fn error_policy(svc: Arc<Service>, err: &ReconcileError, _ctx: Arc<Context>) -> Action {
    warn!(service = %format!("{}/{}", svc.namespace().unwrap_or_default(), svc.name_any()), error = %err, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{LoadBalancerStatus, ServiceStatus};
    use kube::api::ObjectMeta;

    use super::*;

    fn ip(ip: &str) -> LoadBalancerIngress {
        LoadBalancerIngress {
            ip: Some(ip.into()),
            ..Default::default()
        }
    }

    fn service(ingress: Option<Vec<LoadBalancerIngress>>) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("nginx".into()),
                namespace: Some("mynamespace".into()),
                ..Default::default()
            },
            spec: None,
            status: ingress.map(|ingress| ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: Some(ingress),
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_ingress_seen_is_compared_exactly() {
        let seen = IngressSeen::default();
        let key = ServiceKey::parse("mynamespace", "nginx").unwrap();
        let two = vec![ip("10.0.0.1"), ip("10.0.0.2")];
        // Never seen: differs from anything, so the status is written.
        assert!(!seen.is(&key, &[]));
        seen.observe(&service(Some(two.clone())), false);
        assert!(seen.is(&key, &two));
        assert!(!seen.is(&key, &[ip("10.0.0.1")]));
        assert!(!seen.is(&key, &[ip("10.0.0.2"), ip("10.0.0.1")]));
        // A field fedsvc does not write makes it differ too.
        let mut moded = two.clone();
        moded[0].ip_mode = Some("VIP".into());
        assert!(!seen.is(&key, &moded));
        // No status is no ingress.
        seen.observe(&service(None), false);
        assert!(seen.is(&key, &[]));
        seen.observe(&service(None), true);
        assert!(!seen.is(&key, &[]));
    }
}
