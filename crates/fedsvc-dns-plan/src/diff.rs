//! Current records versus desired records: the change set.

use fedsvc_model::{DnsName, RecordSet, RecordType};

use crate::changes::{ChangeGroup, Changes, Conflict};
use crate::current::CurrentSet;
use crate::registry::{Claim, Registry};

/// Everything the diff knows about one managed name.
#[derive(Default)]
struct NameEntry<'a> {
    /// The name, when some record set carries it.
    name: Option<&'a DnsName>,
    /// A, AAAA and CNAME sets at the name.
    current: Vec<&'a RecordSet>,
    /// Sets of other types at the name (never touched).
    foreign: Vec<&'a RecordSet>,
    /// The ownership TXT set at `<prefix>.name` (TXT registry).
    ownership: Option<CurrentSet<'a>>,
    /// The desired A, AAAA and CNAME sets.
    desired: Vec<&'a RecordSet>,
    /// A CNAME stands at the ownership name, so no ownership record can be written there.
    ownership_name_aliased: bool,
}

impl NameEntry<'_> {
    fn clear(&mut self) {
        self.name = None;
        self.current.clear();
        self.foreign.clear();
        self.ownership = None;
        self.desired.clear();
        self.ownership_name_aliased = false;
    }
}

/// A record set and what it is to the managed name it is filed under.
#[derive(Debug, Clone, Copy)]
enum Filed<'a> {
    /// The ownership TXT set at `<prefix>.name`.
    Ownership(CurrentSet<'a>),
    /// A CNAME at `<prefix>.name`.
    OwnershipAlias,
    /// A current A, AAAA or CNAME set at the name.
    Current(&'a RecordSet),
    /// A current set of another type at the name.
    Foreign(&'a RecordSet),
    /// A desired set at the name.
    Desired(&'a RecordSet),
}

/// A record set filed under the managed name it concerns (for an ownership record, the name
/// it stands for), for the diff's work list. The name is kept beside the set, not read through
/// it: sorting a whole zone's list compares names a great many times.
type Item<'a> = (&'a str, Filed<'a>);

/// The changes at one name while they are being worked out.
#[derive(Default)]
struct Pending {
    delete: Vec<RecordSet>,
    update_old: Vec<RecordSet>,
    update_new: Vec<RecordSet>,
    create: Vec<RecordSet>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.update_new.is_empty() && self.create.is_empty()
    }

    /// The group for `name`, leaving `self` empty.
    fn take(&mut self, name: &DnsName) -> ChangeGroup {
        ChangeGroup {
            name: name.clone(),
            delete: std::mem::take(&mut self.delete),
            update_old: std::mem::take(&mut self.update_old),
            update_new: std::mem::take(&mut self.update_new),
            create: std::mem::take(&mut self.create),
        }
    }
}

const MANAGED: [RecordType; 3] = [RecordType::A, RecordType::Aaaa, RecordType::Cname];

/// Computes the changes that turn `current` into `desired` at the names we own.
///
/// `desired` holds the plan's A/AAAA/CNAME sets (without ownership records; other types in
/// it are ignored). The diff adds and removes ownership records itself:
///
/// - only A/AAAA/CNAME sets at names we own, and our own ownership records, are ever touched;
///   other types at our names (a user's TXT, MX or SRV) are left alone;
/// - a desired name that holds A/AAAA/CNAME records we do not own, that another owner or
///   federation claims, or where a CNAME is wanted beside records of another type, is a
///   [`Conflict`], reported and left untouched;
/// - owned names that are no longer desired lose their A/AAAA/CNAME sets and their ownership
///   record;
/// - equal sets (same TTL, same data) give no change; a TTL or data change is an update.
///
/// Every name gets at most one [`ChangeGroup`] holding its record and ownership changes, so an
/// `A` ↔ `CNAME` flip is one group. Groups and conflicts are sorted by name.
///
/// `current` and `desired` are anything that yields references to record sets: a slice or a
/// vector (`&records`), or an iterator over record sets held elsewhere (the values of a map,
/// the plans of many services), so that a large zone need not be copied into one slice. Their
/// order does not matter; sorted by name (as a listing and a plan are) they cost least. An
/// iterator whose [`size_hint`](Iterator::size_hint) is exact saves reallocations.
///
/// ```
/// use fedsvc_model::{DnsName, Label, LabelRules, RecordSet};
/// use fedsvc_dns_plan::{apply_changes, diff, Registry};
/// let fed = Label::parse("fed", LabelRules::Rfc1123, "federation").unwrap();
/// let registry = Registry::txt(fed);
/// let name = DnsName::parse("web.ns.fed.svc.example.com").unwrap();
/// let target = DnsName::parse("web.ns.fed.svc.r1.example.com").unwrap();
/// let desired = vec![RecordSet::cname(name, 60, target)];
/// let changes = diff(&[], &desired, &registry);
/// assert_eq!(changes.groups.len(), 1);
/// assert_eq!(changes.groups[0].create.len(), 2); // the CNAME and its ownership TXT
/// let after = apply_changes(&[], &changes);
/// assert!(diff(&after, &desired, &registry).is_empty());
/// ```
#[must_use]
pub fn diff<'c, 'd>(
    current: impl IntoIterator<Item = &'c RecordSet>,
    desired: impl IntoIterator<Item = &'d RecordSet>,
    registry: &Registry,
) -> Changes {
    diff_sets(current.into_iter().map(CurrentSet::Set), desired, registry)
}

/// [`diff`] with current records that may hold ownership records kept compactly
/// ([`CompactOwnership`](crate::CompactOwnership)), as a large copy of a zone keeps them.
/// The result is the one [`diff`] gives for the same records as whole sets.
///
/// ```
/// use fedsvc_model::{DnsName, Label, LabelRules, RecordSet};
/// use fedsvc_dns_plan::{diff, diff_sets, CompactOwnership, CurrentSet, Registry};
/// let registry = Registry::txt(Label::parse("fed", LabelRules::Rfc1123, "f").unwrap());
/// let name = DnsName::parse("web.ns.fed.svc.example.com").unwrap();
/// let target = DnsName::parse("web.ns.fed.svc.r1.example.com").unwrap();
/// let cname = RecordSet::cname(name.clone(), 60, target);
/// let txt = registry.ownership_record(&name, 60).unwrap().unwrap();
/// let compact = CompactOwnership::from_record_set(&txt, &registry).unwrap();
/// // The service is gone: both the CNAME and its ownership record are deleted.
/// let current = [CurrentSet::Set(&cname), CurrentSet::Ownership(&compact)];
/// let changes = diff_sets(current, &[], &registry);
/// assert_eq!(changes, diff(&[cname, txt], &[], &registry));
/// assert_eq!(changes.groups[0].delete.len(), 2);
/// ```
#[must_use]
pub fn diff_sets<'c, 'd>(
    current: impl IntoIterator<Item = CurrentSet<'c>>,
    desired: impl IntoIterator<Item = &'d RecordSet>,
    registry: &Registry,
) -> Changes {
    // Every set, filed under the managed name it concerns. Inputs usually come sorted, so the
    // list is a few sorted runs and the stable sort merges them in linear time.
    let (current, desired) = (current.into_iter(), desired.into_iter());
    let mut items: Vec<Item<'_>> =
        Vec::with_capacity(current.size_hint().0 + desired.size_hint().0 + 8);
    for set in current {
        let rs = match set {
            CurrentSet::Set(rs) => rs,
            CurrentSet::Ownership(o) => {
                if let Registry::Txt { .. } = registry {
                    items.push((o.name.as_str(), Filed::Ownership(set)));
                }
                continue;
            }
        };
        let n = rs.name().as_str();
        if let Some(managed) = registry.managed_name(n) {
            match rs.rtype() {
                RecordType::Txt => {
                    items.push((managed, Filed::Ownership(set)));
                    continue;
                }
                RecordType::Cname => items.push((managed, Filed::OwnershipAlias)),
                _ => {}
            }
        }
        let filed = if rs.rtype().is_address_or_alias() {
            Filed::Current(rs)
        } else {
            Filed::Foreign(rs)
        };
        items.push((n, filed));
    }
    for rs in desired {
        if rs.rtype().is_address_or_alias() {
            items.push((rs.name().as_str(), Filed::Desired(rs)));
        }
    }
    items.sort_by(|a, b| a.0.cmp(b.0));

    let mut changes = Changes::default();
    let mut e = NameEntry::default();
    let mut i = 0;
    while i < items.len() {
        let text = items[i].0;
        e.clear();
        while i < items.len() && items[i].0 == text {
            match items[i].1 {
                Filed::Ownership(txt) => e.ownership = Some(txt),
                Filed::OwnershipAlias => e.ownership_name_aliased = true,
                Filed::Current(rs) => {
                    e.name = Some(rs.name());
                    e.current.push(rs);
                }
                Filed::Foreign(rs) => {
                    e.name = Some(rs.name());
                    e.foreign.push(rs);
                }
                Filed::Desired(rs) => {
                    e.name = Some(rs.name());
                    e.desired.push(rs);
                }
            }
            i += 1;
        }
        if e.current.is_empty() && e.desired.is_empty() && e.ownership.is_none() {
            continue;
        }
        let name = match e.name {
            Some(n) => n,
            None => {
                // Only an orphaned ownership record: delete it if it is ours.
                let n = match e.ownership {
                    Some(CurrentSet::Ownership(o)) => Ok(o.name.clone()),
                    _ => DnsName::parse(text),
                };
                if let (Ok(n), Claim::Ours(Some(txt))) = (n, registry.claim_from_txt(e.ownership))
                    && let Some(txt) = txt.to_record_set(registry)
                {
                    let mut g = ChangeGroup::new(n);
                    g.delete.push(txt);
                    changes.groups.push(g);
                }
                continue;
            }
        };
        let claim = match registry {
            Registry::Txt { .. } => registry.claim_from_txt(e.ownership),
            Registry::None { .. } => registry.claim_by_shape(name),
        };
        if e.desired.is_empty() {
            if let Claim::Ours(txt) = claim
                && (!e.current.is_empty() || txt.is_some())
            {
                let mut g = ChangeGroup::new(name.clone());
                g.delete.extend(e.current.iter().map(|r| (*r).clone()));
                g.delete.extend(txt.and_then(|t| t.to_record_set(registry)));
                changes.groups.push(g);
            }
            continue;
        }
        let mut pending = Pending::default();
        match plan_name(&e, name, &claim, registry, &mut pending) {
            Err(reason) => changes.conflicts.push(Conflict {
                name: name.clone(),
                reason,
            }),
            Ok(()) if !pending.is_empty() => changes.groups.push(pending.take(name)),
            Ok(()) => {}
        }
    }
    changes
}

/// The changes after a service was re-planned: [`diff`] restricted to the names where the
/// new plan differs from the one already applied.
///
/// `before` is the plan that was applied (and that the zone still holds), `after` the new
/// one; both are sorted by name then type, as the [`Planner`](crate::Planner) returns them.
/// Names where both plans hold the same record sets are taken to be in step and are not
/// looked at; at every other name (records changed, added or gone) the result is exactly what
/// [`diff`] would give: ownership checked, conflicts reported, one group per name.
///
/// `current` must hold at least the records at the names of both plans and their ownership
/// names (the whole zone will do). Sorted by name, as a listing is, it is searched; otherwise
/// it is scanned once. Either way the diff itself covers only the names that changed — after
/// one shard change, a few names instead of all of a service's.
///
/// Drift at a name both plans agree on (someone edited our record) is not seen here: a
/// periodic full [`diff`] against a fresh listing repairs it.
///
/// ```
/// use fedsvc_model::{DnsName, Label, LabelRules, RData, RecordSet, RecordType};
/// use fedsvc_dns_plan::{apply_changes, diff, diff_replanned, Registry};
/// let fed = Label::parse("fed", LabelRules::Rfc1123, "federation").unwrap();
/// let registry = Registry::txt(fed);
/// let a = |name: &str, ip: &str| {
///     let data = vec![RData::parse(&RecordType::A, ip).unwrap()];
///     RecordSet::new(DnsName::parse(name).unwrap(), RecordType::A, 60, data).unwrap()
/// };
/// let before = vec![a("web.ns.fed.svc.example.com", "192.0.2.1"),
///                   a("web.ns.fed.svc.r1.example.com", "192.0.2.1")];
/// let zone = apply_changes(&[], &diff(&[], &before, &registry));
/// let after = vec![a("web.ns.fed.svc.example.com", "192.0.2.2"),
///                  a("web.ns.fed.svc.r1.example.com", "192.0.2.1")];
/// let changes = diff_replanned(&zone, &before, &after, &registry);
/// assert_eq!(changes.groups.len(), 1); // only the global name changed
/// assert_eq!(changes, diff(&zone, &after, &registry));
/// ```
#[must_use]
pub fn diff_replanned(
    current: &[RecordSet],
    before: &[RecordSet],
    after: &[RecordSet],
    registry: &Registry,
) -> Changes {
    // Walk both plans name by name (each is sorted), keeping the names whose sets differ.
    let mut changed: Vec<&str> = Vec::new();
    let mut desired: Vec<RecordSet> = Vec::new();
    let (mut i, mut j) = (0, 0);
    let run = |v: &[RecordSet], at: usize| {
        let name = v[at].name();
        at + v[at..].iter().take_while(|r| r.name() == name).count()
    };
    while i < before.len() || j < after.len() {
        let order = match (before.get(i), after.get(j)) {
            (Some(b), Some(a)) => b.name().cmp(a.name()),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, _) => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                changed.push(before[i].name().as_str());
                i = run(before, i);
            }
            std::cmp::Ordering::Greater => {
                let end = run(after, j);
                changed.push(after[j].name().as_str());
                desired.extend_from_slice(&after[j..end]);
                j = end;
            }
            std::cmp::Ordering::Equal => {
                let (bi, aj) = (run(before, i), run(after, j));
                if before[i..bi] != after[j..aj] {
                    changed.push(after[j].name().as_str());
                    desired.extend_from_slice(&after[j..aj]);
                }
                (i, j) = (bi, aj);
            }
        }
    }
    if changed.is_empty() {
        return Changes::default();
    }
    changed.sort_unstable();
    changed.dedup();
    let sorted = current.is_sorted_by(|a, b| a.name() <= b.name());
    let mut subset: Vec<&RecordSet> = Vec::new();
    if sorted {
        // A listing comes sorted by name: look each name up.
        let mut take = |name: &str| {
            let start = current.partition_point(|r| r.name().as_str() < name);
            let len = current[start..]
                .iter()
                .take_while(|r| r.name().as_str() == name)
                .count();
            subset.extend(&current[start..start + len]);
        };
        for name in &changed {
            take(name);
            if let Registry::Txt { prefix, .. } = registry {
                take(&format!("{prefix}.{name}"));
            }
        }
    } else {
        let concerned = |name: &str| changed.binary_search(&name).is_ok();
        subset.extend(current.iter().filter(|rs| {
            let n = rs.name().as_str();
            concerned(n) || registry.managed_name(n).is_some_and(concerned)
        }));
    }
    diff(subset, &desired, registry)
}

/// The changes at a desired name, or why it is a conflict.
fn plan_name(
    e: &NameEntry<'_>,
    name: &DnsName,
    claim: &Claim<'_>,
    registry: &Registry,
    group: &mut Pending,
) -> Result<(), String> {
    let wants_cname = e.desired.iter().any(|r| r.rtype() == &RecordType::Cname);
    let foreign_types = || {
        let mut t: Vec<&str> = e.foreign.iter().map(|r| r.rtype().as_str()).collect();
        t.dedup();
        t.join(", ")
    };
    match claim {
        Claim::Theirs(why) => return Err(format!("{why}, not by {}", registry.describe_self())),
        Claim::Blocked => {
            return Err(
                "its ownership record name holds TXT data that is not an ownership record"
                    .to_owned(),
            );
        }
        Claim::Unclaimed if !e.current.is_empty() => {
            let mut t: Vec<&str> = e.current.iter().map(|r| r.rtype().as_str()).collect();
            t.dedup();
            return Err(format!(
                "holds {} records not owned by {}",
                t.join(", "),
                registry.describe_self()
            ));
        }
        _ => {}
    }
    if wants_cname && !e.foreign.is_empty() {
        return Err(format!(
            "a CNAME is wanted but the name holds {} records, which a CNAME cannot stand beside",
            foreign_types()
        ));
    }
    if e.ownership_name_aliased {
        return Err(
            "its ownership record name holds a CNAME, so no ownership record can be \
                    written there"
                .to_owned(),
        );
    }
    if let Registry::Txt { .. } = registry {
        let ttl = e.desired.iter().map(|r| r.ttl()).min().unwrap_or(0);
        let have = match claim {
            Claim::Ours(t) => *t,
            _ => None,
        };
        if !have.is_some_and(|h| registry.is_current_ownership(h, name, ttl)) {
            let want = registry
                .ownership_record(name, ttl)
                .map_err(|err| format!("its ownership record name is invalid: {err}"))?
                .expect("the TXT registry writes ownership records");
            match have.and_then(|h| h.to_record_set(registry)) {
                Some(h) => {
                    group.update_old.push(h);
                    group.update_new.push(want);
                }
                None => group.create.push(want),
            }
        }
    }
    for t in &MANAGED {
        let mut cur = e.current.iter().filter(|r| r.rtype() == t);
        let des = e.desired.iter().rfind(|r| r.rtype() == t);
        match (cur.next(), des) {
            (Some(c), Some(d)) if c.ttl() != d.ttl() || c.data() != d.data() => {
                group.update_old.push((*c).clone());
                group.update_new.push((*d).clone());
            }
            (Some(_), Some(_)) => {}
            (Some(c), None) => group.delete.push((*c).clone()),
            (None, Some(d)) => group.create.push((*d).clone()),
            (None, None) => {}
        }
        group.delete.extend(cur.map(|r| (*r).clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::{Label, LabelRules, RData};

    fn n(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    fn a(name: &str, ttl: u32, ips: &[&str]) -> RecordSet {
        RecordSet::new(
            n(name),
            RecordType::A,
            ttl,
            ips.iter()
                .map(|i| RData::parse(&RecordType::A, i).unwrap())
                .collect(),
        )
        .unwrap()
    }

    fn registry() -> Registry {
        Registry::txt(Label::parse("fed", LabelRules::Rfc1123, "f").unwrap())
    }

    const WEB: &str = "web.ns.fed.svc.example.com.";

    #[test]
    fn unowned_address_is_a_conflict() {
        let current = vec![a(WEB, 60, &["10.0.0.1"])];
        let desired = vec![a(WEB, 60, &["10.0.0.2"])];
        let c = diff(&current, &desired, &registry());
        assert!(c.groups.is_empty());
        assert_eq!(c.conflicts.len(), 1);
        assert!(
            c.conflicts[0].reason.contains("not owned"),
            "{:?}",
            c.conflicts
        );
    }

    #[test]
    fn ttl_change_is_an_update_of_records_and_ownership() {
        let r = registry();
        let current = r.with_ownership(&[a(WEB, 60, &["10.0.0.1"])]);
        let desired = vec![a(WEB, 30, &["10.0.0.1"])];
        let c = diff(&current, &desired, &r);
        assert_eq!(c.groups.len(), 1);
        assert_eq!(c.groups[0].update_new.len(), 2);
        assert!(c.groups[0].create.is_empty() && c.groups[0].delete.is_empty());
    }
}
