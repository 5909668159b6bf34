//! Change sets: what to do to a zone to turn its current records into the desired ones.

use fedsvc_model::{DnsName, RecordSet};

/// All changes to one name (and its ownership record), applied together.
///
/// A group is atomic: an `A` ↔ `CNAME` flip is one group whose `delete` removes the old sets and
/// whose `create` adds the new ones, so a provider that applies the group in one transaction
/// never exposes a moment with neither. Providers apply, in this order: `delete`, then
/// `update_old` → `update_new` (same name and type, new TTL or data), then `create`. A group is
/// never split across batches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeGroup {
    /// The managed name this group is about.
    pub name: DnsName,
    /// Record sets to remove entirely.
    pub delete: Vec<RecordSet>,
    /// Record sets as they are now, for each one being replaced (pairs with `update_new`).
    pub update_old: Vec<RecordSet>,
    /// The replacements, same index as in `update_old`.
    pub update_new: Vec<RecordSet>,
    /// Record sets to add.
    pub create: Vec<RecordSet>,
}

impl ChangeGroup {
    /// An empty group for `name`.
    pub fn new(name: DnsName) -> Self {
        Self {
            name,
            delete: Vec::new(),
            update_old: Vec::new(),
            update_new: Vec::new(),
            create: Vec::new(),
        }
    }

    /// Whether the group changes nothing.
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.update_new.is_empty() && self.create.is_empty()
    }

    /// The group's cost under `limits`: deletes and creates count one each, updates count
    /// `limits.update_cost` each.
    pub fn cost(&self, limits: &BatchLimits) -> usize {
        (self.delete.len() + self.create.len())
            .saturating_add(self.update_new.len().saturating_mul(limits.update_cost))
    }

    /// How many record sets the group touches (deletes + updates + creates).
    pub fn len(&self) -> usize {
        self.delete.len() + self.update_new.len() + self.create.len()
    }
}

/// A name the plan wanted to write but may not, because records there are not ours.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The name in conflict.
    pub name: DnsName,
    /// Why it is a conflict, for example "holds A records not owned by fedsvc/myfederation".
    pub reason: String,
}

/// The outcome of a diff: change groups sorted by name, and the conflicts left alone.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// One group per name that changes, sorted by name.
    pub groups: Vec<ChangeGroup>,
    /// Names that were not touched because we do not own them.
    pub conflicts: Vec<Conflict>,
}

impl Changes {
    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.groups.iter().all(ChangeGroup::is_empty)
    }

    /// How many record sets would be created (ownership records included).
    pub fn creates(&self) -> usize {
        self.groups.iter().map(|g| g.create.len()).sum()
    }

    /// How many record sets would be replaced (ownership records included).
    pub fn updates(&self) -> usize {
        self.groups.iter().map(|g| g.update_new.len()).sum()
    }

    /// How many record sets would be deleted (ownership records included).
    pub fn deletes(&self) -> usize {
        self.groups.iter().map(|g| g.delete.len()).sum()
    }

    /// Splits the groups into batches whose cost stays within `limits.max_changes` without
    /// splitting a group. A group that alone exceeds the limit gets a batch of its own.
    pub fn batches(&self, limits: &BatchLimits) -> Vec<Vec<ChangeGroup>> {
        let mut out: Vec<Vec<ChangeGroup>> = Vec::new();
        let mut current: Vec<ChangeGroup> = Vec::new();
        let mut cost: usize = 0;
        for g in self.groups.iter().filter(|g| !g.is_empty()) {
            let c = g.cost(limits);
            let over_changes = cost.saturating_add(c) > limits.max_changes;
            let over_groups = limits.max_groups.is_some_and(|m| current.len() >= m);
            if !current.is_empty() && (over_changes || over_groups) {
                out.push(std::mem::take(&mut current));
                cost = 0;
            }
            current.push(g.clone());
            cost = cost.saturating_add(c);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }
}

/// A provider's limits on one write call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// The most change units in one call.
    pub max_changes: usize,
    /// What one update counts (Route53 counts an UPSERT twice; most count it once).
    pub update_cost: usize,
    /// The most groups (names) in one call, if limited.
    pub max_groups: Option<usize>,
}

impl BatchLimits {
    /// No practical limit: one call for everything.
    pub const UNLIMITED: BatchLimits = BatchLimits {
        max_changes: usize::MAX,
        update_cost: 1,
        max_groups: None,
    };
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self::UNLIMITED
    }
}
