//! The names of one service, built once for repeated planning.

use fedsvc_model::{DnsName, ServiceKey};

/// Every name of one service in a planner's topology, in the order of the plan's records,
/// made by [`Planner::names_for`](crate::Planner::names_for).
///
/// Building and checking a name costs more than copying it; a controller that re-plans a
/// service on every shard change keeps its `ServiceNames` (until the topology changes) and
/// calls [`Planner::plan_service_with`](crate::Planner::plan_service_with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNames {
    pub(crate) key: ServiceKey,
    pub(crate) names: Vec<DnsName>,
}

impl ServiceNames {
    /// The service.
    pub fn key(&self) -> &ServiceKey {
        &self.key
    }

    /// The names, sorted.
    pub fn names(&self) -> &[DnsName] {
        &self.names
    }
}
