//! The whole plan of a snapshot.

use fedsvc_model::{Diagnostic, RecordSet, Snapshot};

use crate::explanation::Explanation;
use crate::planner::{PlanError, Planner};

/// Every record a snapshot calls for, and the problems found on the way.
///
/// Serializes as `{"records":[{"name","type","ttl","data":[…]}],"diagnostics":[…]}`, the
/// stable output of `fedsvc plan -o json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Plan {
    /// The records, sorted by name then type, data sorted.
    pub records: Vec<RecordSet>,
    /// Problems with single services or shards; planning went on for the rest.
    pub diagnostics: Vec<Diagnostic>,
}

/// Plans every service of `snapshot`.
///
/// Fails as a whole only when the topology makes names ambiguous (see [`PlanError`]); a
/// service whose names would be too long is skipped with a [`Diagnostic`].
pub fn plan(snapshot: &Snapshot) -> Result<Plan, PlanError> {
    let planner = Planner::new(snapshot)?;
    Ok(planner.plan_all(snapshot))
}

/// Explains every name [`plan`] would produce, sorted by name.
pub fn explain(snapshot: &Snapshot) -> Result<Vec<Explanation>, PlanError> {
    let planner = Planner::new(snapshot)?;
    let mut out: Vec<Explanation> = Vec::new();
    for (_, i) in services_in_name_order(&planner, snapshot, &mut Vec::new()) {
        out.extend(planner.explain_service(&snapshot.services[i]));
    }
    Ok(out)
}

/// The services of `snapshot` in the order of their names (index into `snapshot.services`),
/// leaving out (with a diagnostic) every service whose key is listed twice.
fn services_in_name_order(
    planner: &Planner,
    snapshot: &Snapshot,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(String, usize)> {
    let mut order: Vec<(String, usize)> = snapshot
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (planner.naming().service_prefix(&s.key), i))
        .collect();
    order.sort();
    let mut keep = Vec::with_capacity(order.len());
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && order[j].0 == order[i].0 {
            j += 1;
        }
        if j - i == 1 {
            keep.push(std::mem::take(&mut order[i]));
        } else {
            let key = &snapshot.services[order[i].1].key;
            diagnostics.push(Diagnostic::error(
                format!("service {key}"),
                format!("listed {} times; the service is skipped", j - i),
            ));
        }
        i = j;
    }
    keep
}

impl Planner {
    /// Plans every service of `snapshot` with this planner's topology.
    ///
    /// Services are emitted in the order of their names; since every name of a service starts
    /// with its own `S.N.F.svc.` prefix, the concatenation is sorted without a global sort.
    pub fn plan_all(&self, snapshot: &Snapshot) -> Plan {
        let mut plan = Plan::default();
        let order = services_in_name_order(self, snapshot, &mut plan.diagnostics);
        plan.records.reserve(order.len() * (self.levels_len() + 1));
        for (_, i) in order {
            self.plan_into(
                &snapshot.services[i],
                None,
                &mut plan.records,
                &mut plan.diagnostics,
            );
        }
        plan
    }
}
