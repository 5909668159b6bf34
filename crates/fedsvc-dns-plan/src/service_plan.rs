//! The records planned for one service.

use fedsvc_model::{Diagnostic, RecordSet, ServiceKey};

/// The records of one service, as [`Planner::plan_service`](crate::Planner::plan_service)
/// returns them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    /// The service.
    pub key: ServiceKey,
    /// Its records, sorted by name then type (empty when the service was skipped).
    pub records: Vec<RecordSet>,
    /// Problems found while planning it.
    pub diagnostics: Vec<Diagnostic>,
}

impl ServicePlan {
    /// Whether the service was planned without an error diagnostic.
    pub fn is_complete(&self) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.severity == fedsvc_model::Severity::Error)
    }
}
