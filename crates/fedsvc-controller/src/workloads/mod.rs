//! The workload reconciler: a plain `apps/v1` Deployment on the federation API runs in every
//! selected member, its replicas divided among the Ready ones.
//!
//! - `mod.rs` reconciles one federated Deployment: its placement (`fedsvc.io/cluster-selector`,
//!   as for Services), the division of `spec.replicas` over the selected members
//!   ([`fedsvc_model::replicas`]: even by default, or by `fedsvc.io/replica-weights`; a
//!   member that is not Ready keeps its copy untouched and its share goes to the others), one
//!   copy per member with a share applied server-side, copies deleted where the share is 0 or
//!   the member is no longer selected, and the status: the members' counts summed, the
//!   division in the annotation `fedsvc.io/replica-division`.
//! - `deps`: the ConfigMaps and Secrets the pod template references go along to every member
//!   that runs a copy, and leave a member when no copy there needs them any more.
//! - `cleanup`: deletion behind the finalizer, member copies first (unless orphaned).
//! - `run`: the task, and what triggers a reconcile.

mod cleanup;
mod deps;
mod run;

pub(crate) use run::{Start, run};

use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::{EnsureOutcome, ObjectKey, ReplicaCounts};
use fedsvc_model::ClusterName;
use fedsvc_model::replicas::{self, Division, Member, Placement, Weights};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use tracing::warn;

use crate::events::{EventType, Events};
use crate::federated::{self, NamespaceFilter};
use crate::leader::Fenced;
use crate::members::{ClusterManager, MemberView};
use crate::shared::Shared;

/// Annotation written by fedsvc: the division of the replicas over the members, as
/// `member=replicas` pairs (`keep` for a member that is not Ready and keeps its copy as it is).
pub(crate) const DIVISION: &str = "fedsvc.io/replica-division";

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
    pub(crate) host: kube::Client,
    /// Members.
    pub(crate) clusters: Arc<ClusterManager>,
    /// State, metrics, leadership, the member copies.
    pub(crate) shared: Arc<Shared>,
    /// Which namespaces are federated.
    pub(crate) filter: NamespaceFilter,
    /// Publishes Events.
    pub(crate) events: Arc<Events>,
    /// How long to wait before looking again when all is well.
    pub(crate) requeue: Duration,
    /// Every federated Deployment (for the dependencies a member still needs).
    pub(crate) store: Store<Deployment>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

async fn event(ctx: &Context, dep: &Deployment, type_: EventType, reason: &str, note: String) {
    federated::event(&ctx.events, dep, type_, reason, note).await;
}

/// The `spec.replicas` of `dep` (1 when unset, as the API server defaults it).
fn total(dep: &Deployment) -> u32 {
    dep.spec
        .as_ref()
        .and_then(|s| s.replicas)
        .map_or(1, |r| u32::try_from(r).unwrap_or(0))
}

/// The weights `dep` asks for (even without the annotation), or what is wrong with them.
fn weights(dep: &Deployment) -> Result<Weights, String> {
    match dep.annotations().get(replicas::WEIGHTS_ANNOTATION) {
        None => Ok(Weights::even()),
        Some(text) => Weights::parse(text)
            .map_err(|e| format!("annotation {}: {e}", replicas::WEIGHTS_ANNOTATION)),
    }
}

/// The division of `dep`'s replicas over `members`, or why there is none (an annotation that
/// cannot be read).
pub(crate) fn division(dep: &Deployment, members: &[MemberView]) -> Result<Division, String> {
    let selector = federated::placement(dep)?;
    let weights = weights(dep)?;
    let selected: Vec<Member> = members
        .iter()
        .filter(|m| selector.matches_labels(&m.labels))
        .map(|m| Member {
            name: m.name.clone(),
            ready: m.ready,
        })
        .collect();
    Ok(replicas::divide(total(dep), &weights, &selected))
}

/// Brings one federated Deployment in line.
pub(crate) async fn reconcile(
    dep: Arc<Deployment>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let ns = dep.namespace().unwrap_or_default();
    if !ctx.filter.accepts(&ns) {
        return Ok(Action::await_change());
    }
    if !ctx.shared.leader.may_write() {
        return Ok(Action::requeue(Duration::from_secs(2)));
    }
    let name = dep.name_any();
    let key = match ObjectKey::parse(&ns, &name) {
        Ok(k) => k,
        Err(e) => {
            event(
                &ctx,
                &dep,
                EventType::Warning,
                "InvalidName",
                format!("not federated: {e}"),
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    let api: Api<Deployment> = Api::namespaced(ctx.host.clone(), &ns);
    if dep.meta().deletion_timestamp.is_some() {
        if federated::has_finalizer(&*dep) {
            cleanup::cleanup(&dep, &key, &ctx).await?;
            federated::remove_finalizer(&api, &*dep).await?;
        }
        return Ok(Action::await_change());
    }
    if !federated::has_finalizer(&*dep) {
        federated::add_finalizer(&api, &*dep).await?;
        // The watch brings the updated object back.
        return Ok(Action::await_change());
    }

    let members = ctx.clusters.members();
    let division = match division(&dep, &members) {
        Ok(d) => d,
        Err(e) => {
            event(
                &ctx,
                &dep,
                EventType::Warning,
                "InvalidAnnotation",
                format!("{e}; the deployment is placed nowhere new until it is fixed"),
            )
            .await;
            return Ok(Action::await_change());
        }
    };
    let federation = ctx.shared.federation();
    let mut failures = Vec::new();
    let mut lost_copies: Vec<&MemberView> = Vec::new();
    for m in &members {
        match division.placement(&m.name) {
            Some(Placement::Run(n)) => {
                if let Err(e) = deps::ensure(&ctx, &dep, m, &federation).await {
                    failures.push(e);
                    continue;
                }
                let applied = ctx
                    .shared
                    .leader
                    .fenced(m.member.ensure_deployment(&dep, &federation, n.get()))
                    .await;
                match applied {
                    Ok(Ok(EnsureOutcome::Created)) => {
                        event(
                            &ctx,
                            &dep,
                            EventType::Normal,
                            "Created",
                            format!("created in cluster {} with {n} replicas", m.name),
                        )
                        .await;
                    }
                    Ok(Ok(EnsureOutcome::Adopted)) => {
                        event(
                            &ctx,
                            &dep,
                            EventType::Normal,
                            "Adopted",
                            format!("adopted the existing deployment in cluster {}", m.name),
                        )
                        .await;
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        event(
                            &ctx,
                            &dep,
                            EventType::Warning,
                            "PropagationFailed",
                            format!("cluster {}: {e}", m.name),
                        )
                        .await;
                        failures.push(format!("cluster {}: {e}", m.name));
                    }
                    Err(Fenced::NotLeader) => return Ok(Action::requeue(Duration::from_secs(2))),
                    Err(fenced) => {
                        failures.push(format!("cluster {}: {fenced}", m.name));
                        break;
                    }
                }
            }
            // Not Ready: its copy, if any, stays as it is until the member is back.
            Some(Placement::Keep) => {}
            // A share of 0, or not selected: no copy there.
            Some(Placement::NoCopy) | None => {
                if m.offline {
                    continue;
                }
                let deleted = ctx
                    .shared
                    .leader
                    .fenced(m.member.delete_deployment(&ns, &name))
                    .await;
                match deleted {
                    Ok(Ok(fedsvc_cluster::DeleteOutcome::Deleted)) => {
                        event(
                            &ctx,
                            &dep,
                            EventType::Normal,
                            "Removed",
                            format!("removed from cluster {} (no replicas there)", m.name),
                        )
                        .await;
                        lost_copies.push(m);
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => failures.push(format!("cluster {}: {e}", m.name)),
                    Err(Fenced::NotLeader) => return Ok(Action::requeue(Duration::from_secs(2))),
                    Err(fenced) => {
                        failures.push(format!("cluster {}: {fenced}", m.name));
                        break;
                    }
                }
            }
        }
    }
    for m in lost_copies {
        if let Err(e) = deps::collect(&ctx, m, &federation).await {
            failures.push(e);
        }
    }
    write_status(&dep, &key, &division, &ctx, &api).await?;
    if failures.is_empty() {
        Ok(Action::requeue(ctx.requeue))
    } else {
        Err(ReconcileError::Members(failures.join("; ")))
    }
}

/// The federated object's status: the counts of the Ready members' copies summed.
fn summed_status(dep: &Deployment, counts: ReplicaCounts) -> serde_json::Value {
    serde_json::json!({
        "observedGeneration": dep.metadata.generation,
        "replicas": counts.replicas,
        "readyReplicas": counts.ready,
        "availableReplicas": counts.available,
        "updatedReplicas": counts.updated,
        "unavailableReplicas": counts.replicas.saturating_sub(counts.available),
    })
}

/// Whether `status` already says what `counts` says.
fn status_is(dep: &Deployment, status: Option<&DeploymentStatus>, counts: ReplicaCounts) -> bool {
    let n = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    status.is_some_and(|s| {
        s.observed_generation == dep.metadata.generation
            && n(s.replicas) == counts.replicas
            && n(s.ready_replicas) == counts.ready
            && n(s.available_replicas) == counts.available
            && n(s.updated_replicas) == counts.updated
            && n(s.unavailable_replicas) == counts.replicas.saturating_sub(counts.available)
    })
}

/// Writes the summed status and the division annotation where they changed.
async fn write_status(
    dep: &Deployment,
    key: &ObjectKey,
    division: &Division,
    ctx: &Context,
    api: &Api<Deployment>,
) -> Result<(), ReconcileError> {
    let name = dep.name_any();
    let shown = division.to_string();
    if dep.annotations().get(DIVISION) != Some(&shown) {
        event(
            ctx,
            dep,
            EventType::Normal,
            "Divided",
            format!("replicas divided: {shown}"),
        )
        .await;
        let patch = serde_json::json!({"metadata": {"annotations": {DIVISION: shown}}});
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    // A member that is not Ready keeps its copy, but what it last reported may be stale, and
    // its share runs elsewhere meanwhile: its copy is not counted (the status would otherwise
    // show more replicas than asked for).
    let counts = ctx
        .shared
        .copies
        .sum_of(key, |m| division.placement(m) != Some(Placement::Keep));
    if !status_is(dep, dep.status.as_ref(), counts) {
        let patch = serde_json::json!({ "status": summed_status(dep, counts) });
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(())
}

/// Retries failed reconciles after a pause.
pub(crate) fn error_policy(
    dep: Arc<Deployment>,
    err: &ReconcileError,
    _ctx: Arc<Context>,
) -> Action {
    warn!(deployment = %format!("{}/{}", dep.namespace().unwrap_or_default(), dep.name_any()), error = %err, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}

/// The members `division` gives a copy to (a share, or a copy kept while not Ready).
pub(crate) fn has_copy(division: &Division, member: &ClusterName) -> bool {
    matches!(
        division.placement(member),
        Some(Placement::Run(_) | Placement::Keep)
    )
}
