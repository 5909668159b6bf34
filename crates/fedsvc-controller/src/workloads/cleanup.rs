//! A federated Deployment's deletion: its member copies go (unless orphaned), and with them
//! the dependencies no other copy in that member needs; only then may its finalizer go.

use fedsvc_cluster::{DeleteOutcome, ObjectKey};
use k8s_openapi::api::apps::v1::Deployment;

use super::{Context, ReconcileError, deps, event};
use crate::events::EventType;
use crate::federated;

/// Removes `dep`'s member copies (unless it is orphaned) and the dependencies left unneeded.
pub(super) async fn cleanup(
    dep: &Deployment,
    key: &ObjectKey,
    ctx: &Context,
) -> Result<(), ReconcileError> {
    if federated::orphaned(dep) {
        return Ok(());
    }
    let federation = ctx.shared.federation();
    let mut failures = Vec::new();
    for m in ctx.clusters.members() {
        if m.offline {
            event(
                ctx,
                dep,
                EventType::Warning,
                "MemberUnreachable",
                format!(
                    "cluster {} is offline; its copy of the deployment is left there",
                    m.name
                ),
            )
            .await;
            continue;
        }
        let deleted = ctx
            .shared
            .leader
            .fenced(m.member.delete_deployment(key.namespace(), key.name()))
            .await;
        match deleted {
            Ok(Ok(outcome)) => {
                if outcome == DeleteOutcome::Deleted {
                    event(
                        ctx,
                        dep,
                        EventType::Normal,
                        "Removed",
                        format!("removed from cluster {}", m.name),
                    )
                    .await;
                }
                if let Err(e) = deps::collect(ctx, &m, &federation).await {
                    failures.push(e);
                }
            }
            Ok(Err(e)) => failures.push(format!("cluster {}: {e}", m.name)),
            Err(fenced) => {
                failures.push(format!("cluster {}: {fenced}", m.name));
                break;
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(ReconcileError::Members(failures.join("; ")))
    }
}
