//! A federated service's deletion: its member copies go (unless orphaned), then its records
//! leave DNS; only then may its finalizer go.

use fedsvc_model::ServiceKey;
use k8s_openapi::api::core::v1::Service;
use tracing::debug;

use super::{Context, ReconcileError, event};
use crate::events::EventType;
use crate::federated;

/// Deletion: member services go (unless orphaned), then the records leave DNS. Returns
/// whether both are done, that is whether the finalizer may go: while DNS is held
/// (fail-static) or a sync fails, the records stay and so does the finalizer.
pub(super) async fn cleanup(
    svc: &Service,
    key: &ServiceKey,
    ctx: &Context,
) -> Result<bool, ReconcileError> {
    let orphan = federated::orphaned(svc);
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
