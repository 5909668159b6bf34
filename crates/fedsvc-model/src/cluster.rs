//! Member clusters as the planner sees them: locality and readiness.

use crate::label::Label;
use crate::names::ClusterName;

/// A joined member cluster: where it is and whether it is Ready.
///
/// A cluster may span several zones (each counts for its records); it belongs to exactly one
/// region. `zones` is sorted, without duplicates, and never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// The cluster's name.
    pub name: ClusterName,
    /// Its region label (for example `us-central1`).
    pub region: Label,
    /// Its zone labels (for example `us-central1-a`), sorted and unique.
    pub zones: Vec<Label>,
    /// Whether the cluster is Ready (its API answers its health probe).
    pub ready: bool,
}

impl Cluster {
    /// A cluster; zones are sorted and deduplicated. Returns `None` when `zones` is empty.
    pub fn new(
        name: ClusterName,
        region: Label,
        mut zones: Vec<Label>,
        ready: bool,
    ) -> Option<Self> {
        zones.sort();
        zones.dedup();
        if zones.is_empty() {
            return None;
        }
        Some(Self {
            name,
            region,
            zones,
            ready,
        })
    }
}
