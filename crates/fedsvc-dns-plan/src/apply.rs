//! The pure effect of a change set on a list of record sets.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use fedsvc_model::{DnsName, RecordSet, RecordType};

use crate::changes::Changes;

/// Why a change set does not fit the records it is applied to (what a strict provider
/// would refuse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// A deletion or update names a set that is not there, or not as given.
    #[error("{name} {rtype}: the set to {action} is not there as given")]
    Missing {
        /// The name.
        name: DnsName,
        /// The type.
        rtype: RecordType,
        /// `delete` or `update`.
        action: &'static str,
    },
    /// A creation names a set that already exists.
    #[error("{name} {rtype}: the set to create exists already")]
    Exists {
        /// The name.
        name: DnsName,
        /// The type.
        rtype: RecordType,
    },
    /// An update pairs sets of different names or types, or the two lists differ in length.
    #[error("{name}: update_old and update_new do not pair up")]
    UnpairedUpdate {
        /// The group's name.
        name: DnsName,
    },
    /// After the change a CNAME stands beside other data.
    #[error("{name}: a CNAME would stand beside other records")]
    CnameBesideOther {
        /// The name.
        name: DnsName,
    },
}

type Key = (DnsName, RecordType);

fn key(rs: &RecordSet) -> Key {
    (rs.name().clone(), rs.rtype().clone())
}

fn into_map(current: &[RecordSet]) -> BTreeMap<Key, RecordSet> {
    current.iter().map(|r| (key(r), r.clone())).collect()
}

/// Applies `changes` to `current` leniently, the way the diff means them: per group, deletions
/// remove the set of that name and type, updates replace it, creations add (or replace) it.
/// The result is sorted by name then type, one set per name and type (a later duplicate in
/// `current` wins).
///
/// This is the reference semantics of a change set: the proptest oracle, and what an
/// in-memory provider applies (see [`try_apply_changes`] for the strict form).
#[must_use]
pub fn apply_changes(current: &[RecordSet], changes: &Changes) -> Vec<RecordSet> {
    let mut map = into_map(current);
    for g in &changes.groups {
        for d in &g.delete {
            map.remove(&key(d));
        }
        for (old, new) in g.update_old.iter().zip(&g.update_new) {
            map.remove(&key(old));
            map.insert(key(new), new.clone());
        }
        for c in &g.create {
            map.insert(key(c), c.clone());
        }
    }
    map.into_values().collect()
}

/// Applies `changes` to `current` like a strict provider: every deleted or replaced set must
/// be there exactly as given, no created set may exist yet, updates must pair sets of the same
/// name and type, and no CNAME may end up beside other data at a touched name.
pub fn try_apply_changes(
    current: &[RecordSet],
    changes: &Changes,
) -> Result<Vec<RecordSet>, ApplyError> {
    let mut map = into_map(current);
    for g in &changes.groups {
        let missing = |rs: &RecordSet, action| ApplyError::Missing {
            name: rs.name().clone(),
            rtype: rs.rtype().clone(),
            action,
        };
        for d in &g.delete {
            match map.get(&key(d)) {
                Some(have) if have == d => {
                    map.remove(&key(d));
                }
                _ => return Err(missing(d, "delete")),
            }
        }
        if g.update_old.len() != g.update_new.len() {
            return Err(ApplyError::UnpairedUpdate {
                name: g.name.clone(),
            });
        }
        for (old, new) in g.update_old.iter().zip(&g.update_new) {
            if key(old) != key(new) {
                return Err(ApplyError::UnpairedUpdate {
                    name: g.name.clone(),
                });
            }
            match map.get_mut(&key(old)) {
                Some(have) if have == old => *have = new.clone(),
                _ => return Err(missing(old, "update")),
            }
        }
        for c in &g.create {
            match map.entry(key(c)) {
                Entry::Occupied(_) => {
                    return Err(ApplyError::Exists {
                        name: c.name().clone(),
                        rtype: c.rtype().clone(),
                    });
                }
                Entry::Vacant(v) => {
                    v.insert(c.clone());
                }
            }
        }
        let touched = g
            .delete
            .iter()
            .chain(&g.update_new)
            .chain(&g.create)
            .map(RecordSet::name);
        for name in touched {
            let mut types = map
                .range((name.clone(), RecordType::A)..)
                .take_while(|((n, _), _)| n == name)
                .map(|((_, t), _)| t);
            let first = types.next();
            let more = types.next().is_some();
            let has_cname = map.contains_key(&(name.clone(), RecordType::Cname));
            if has_cname && (more || first != Some(&RecordType::Cname)) {
                return Err(ApplyError::CnameBesideOther { name: name.clone() });
            }
        }
    }
    Ok(map.into_values().collect())
}
