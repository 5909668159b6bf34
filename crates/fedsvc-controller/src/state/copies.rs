//! The member copies of federated Deployments, as the members' watches report them: what each
//! copy was asked to run and what it runs, summed up for the federated object's status.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use fedsvc_cluster::{ObjectKey, ReplicaCounts, WorkloadObservation};
use fedsvc_model::ClusterName;

/// One member's copy of a federated Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Copy {
    /// Its `spec.replicas`.
    pub(crate) desired: u32,
    /// Its status.
    pub(crate) counts: ReplicaCounts,
    /// Whether its controller has seen its latest spec.
    pub(crate) up_to_date: bool,
}

impl From<&WorkloadObservation> for Copy {
    fn from(o: &WorkloadObservation) -> Self {
        Self {
            desired: o.desired,
            counts: o.counts,
            up_to_date: o.up_to_date,
        }
    }
}

/// Every member copy of every federated Deployment, by Deployment then member.
#[derive(Debug, Default)]
pub(crate) struct Copies(Mutex<HashMap<ObjectKey, BTreeMap<ClusterName, Copy>>>);

impl Copies {
    fn lock(&self) -> MutexGuard<'_, HashMap<ObjectKey, BTreeMap<ClusterName, Copy>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records what `cluster` reports of a copy; returns whether anything changed.
    pub(crate) fn observe(&self, cluster: &ClusterName, o: &WorkloadObservation) -> bool {
        let copy = Copy::from(o);
        let mut all = self.lock();
        let copies = all.entry(o.key.clone()).or_default();
        copies.insert(cluster.clone(), copy) != Some(copy)
    }

    /// `cluster`'s copy of `key` is gone; returns whether it was known.
    pub(crate) fn gone(&self, cluster: &ClusterName, key: &ObjectKey) -> bool {
        let mut all = self.lock();
        let Some(copies) = all.get_mut(key) else {
            return false;
        };
        let known = copies.remove(cluster).is_some();
        if copies.is_empty() {
            all.remove(key);
        }
        known
    }

    /// Forgets every copy in `cluster` (it left the federation); returns the Deployments that
    /// had one.
    pub(crate) fn forget_cluster(&self, cluster: &ClusterName) -> Vec<ObjectKey> {
        let mut all = self.lock();
        let mut had = Vec::new();
        all.retain(|key, copies| {
            if copies.remove(cluster).is_some() {
                had.push(key.clone());
            }
            !copies.is_empty()
        });
        had.sort();
        had
    }

    /// The status of `key` summed over its copies.
    #[cfg(test)]
    fn sum(&self, key: &ObjectKey) -> ReplicaCounts {
        self.sum_of(key, |_| true)
    }

    /// The status of `key` summed over the copies of the members `counted` accepts.
    pub(crate) fn sum_of(
        &self,
        key: &ObjectKey,
        counted: impl Fn(&ClusterName) -> bool,
    ) -> ReplicaCounts {
        let all = self.lock();
        let mut total = ReplicaCounts::default();
        let copies = all.get(key).into_iter().flatten();
        for (_, c) in copies.filter(|(cluster, _)| counted(cluster)) {
            total.replicas = total.replicas.saturating_add(c.counts.replicas);
            total.ready = total.ready.saturating_add(c.counts.ready);
            total.available = total.available.saturating_add(c.counts.available);
            total.updated = total.updated.saturating_add(c.counts.updated);
        }
        total
    }

    /// How many copies are known.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn(s: &str) -> ClusterName {
        ClusterName::parse(s).unwrap()
    }

    fn obs(key: &ObjectKey, desired: u32, ready: u32) -> WorkloadObservation {
        WorkloadObservation {
            key: key.clone(),
            federation: Some("fed".into()),
            desired,
            counts: ReplicaCounts {
                replicas: desired,
                ready,
                available: ready,
                updated: desired,
            },
            up_to_date: true,
        }
    }

    #[test]
    fn copies_are_summed_and_forgotten_by_member() {
        let copies = Copies::default();
        let web = ObjectKey::parse("shop", "web").unwrap();
        let api = ObjectKey::parse("shop", "api").unwrap();
        assert!(copies.observe(&cn("a"), &obs(&web, 3, 1)));
        assert!(
            !copies.observe(&cn("a"), &obs(&web, 3, 1)),
            "a repeat is no change"
        );
        assert!(copies.observe(&cn("b"), &obs(&web, 2, 2)));
        assert!(copies.observe(&cn("b"), &obs(&api, 1, 1)));
        let sum = copies.sum(&web);
        assert_eq!(
            (sum.replicas, sum.ready, sum.available, sum.updated),
            (5, 3, 3, 5)
        );
        assert_eq!(copies.len(), 3);
        assert_eq!(
            copies.forget_cluster(&cn("b")),
            vec![api.clone(), web.clone()]
        );
        assert_eq!(copies.sum(&web).replicas, 3);
        assert_eq!(copies.sum(&api), ReplicaCounts::default());
        assert!(copies.gone(&cn("a"), &web));
        assert!(!copies.gone(&cn("a"), &web));
        assert_eq!(copies.len(), 0);
    }
}
