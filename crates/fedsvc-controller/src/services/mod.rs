//! The service reconciler: every federated Service on the federation API exists, conformed,
//! in every selected Ready member; its status shows the union of the members' load-balancer
//! ingress; deleting it removes the member services (unless orphaned) and its DNS records.
//!
//! `mod.rs` reconciles one service; `ingress` writes its status; `cleanup` handles its
//! deletion. What every federated object shares (finalizer, placement, orphaning, Events) is
//! in `crate::federated`.

use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::EnsureOutcome;
use fedsvc_model::ServiceKey;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use tracing::warn;

mod cleanup;
mod ingress;

pub(crate) use ingress::IngressSeen;

use crate::events::{EventType, Events};
use crate::federated::{self, NamespaceFilter};
use crate::leader::Fenced;
use crate::members::ClusterManager;
use crate::shared::Shared;

/// Annotation: the TTL of the service's DNS records, in seconds.
pub(crate) const DNS_TTL: &str = "fedsvc.io/dns-ttl";

/// How often a deleted service whose records are still in DNS is looked at again.
const REMOVAL_POLL: Duration = Duration::from_secs(1);

/// Which services the reconciler handles: those of the federated namespaces, but for the API
/// server's own `default/kubernetes`.
#[derive(Debug, Clone)]
pub(crate) struct ServiceFilter(pub(crate) NamespaceFilter);

impl ServiceFilter {
    /// Whether `svc` is a federated service.
    pub(crate) fn accepts(&self, svc: &Service) -> bool {
        let ns = svc.namespace().unwrap_or_default();
        !(ns == "default" && svc.name_any() == "kubernetes") && self.0.accepts(&ns)
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
    pub events: Arc<Events>,
    /// How long to wait before looking again when all is well.
    pub requeue: Duration,
    /// The load-balancer ingress of each federated service, as the watch last saw it (the
    /// cached services do not keep their status).
    pub ingress: Arc<IngressSeen>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

async fn event(ctx: &Context, svc: &Service, type_: EventType, reason: &str, note: String) {
    federated::event(&ctx.events, svc, type_, reason, note).await;
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
    let has_finalizer = federated::has_finalizer(&*svc);

    if svc.meta().deletion_timestamp.is_some() {
        if has_finalizer {
            if !cleanup::cleanup(&svc, &key, &ctx).await? {
                // The records are still in DNS: the finalizer stays until they are gone.
                return Ok(Action::requeue(REMOVAL_POLL));
            }
            federated::remove_finalizer(&api, &*svc).await?;
            ctx.shared.removals.forget(&key);
        }
        return Ok(Action::await_change());
    }

    if !has_finalizer {
        federated::add_finalizer(&api, &*svc).await?;
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
    let selector = match federated::placement(&*svc) {
        Ok(s) => s,
        Err(e) => {
            event(
                &ctx,
                &svc,
                EventType::Warning,
                "InvalidClusterSelector",
                format!("{e}; the service is placed nowhere new until it is fixed"),
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    let federation = ctx.shared.federation();
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

    ingress::update_ingress(&svc, &key, &ctx, &api).await?;

    if failures.is_empty() {
        Ok(Action::requeue(ctx.requeue))
    } else {
        Err(ReconcileError::Members(failures.join("; ")))
    }
}

/// Retries failed reconciles after a pause.
pub(crate) fn error_policy(svc: Arc<Service>, err: &ReconcileError, _ctx: Arc<Context>) -> Action {
    warn!(service = %format!("{}/{}", svc.namespace().unwrap_or_default(), svc.name_any()), error = %err, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}
