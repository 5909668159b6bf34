//! The controller's copy of one DNS zone, kept small.
//!
//! A zone of 10 000 federated services in 20 clusters holds 310 000 names, each with its
//! record sets and an ownership record at `<prefix>.name`. The copy keeps one entry per name:
//! its sets (the only one inline, without a vector), and its ownership record as a
//! [`CompactOwnership`] (a TTL and a text shared by all of a service's names) instead of a
//! record set with a name of its own. That halves the entries and the names held. TXT sets at
//! an ownership name that are not one string (not an ownership record, but someone's data)
//! stay record sets like any other.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use fedsvc_dns_plan::{CompactOwnership, CurrentSet, Registry};
use fedsvc_model::{DnsName, RecordSet, RecordType};

/// The record sets at one name. Nearly every name of a zone holds one set: that one is kept
/// inline, without a vector of its own.
#[derive(Debug)]
enum Sets {
    None,
    One(RecordSet),
    Many(Vec<RecordSet>),
}

impl Sets {
    fn as_slice(&self) -> &[RecordSet] {
        match self {
            Sets::None => &[],
            Sets::One(rs) => std::slice::from_ref(rs),
            Sets::Many(v) => v,
        }
    }

    /// Puts `rs` in place of the set of its type, if any.
    fn put(&mut self, rs: RecordSet) {
        *self = match std::mem::replace(self, Sets::None) {
            Sets::None => Sets::One(rs),
            Sets::One(one) if one.rtype() != rs.rtype() => Sets::Many(vec![one, rs]),
            Sets::One(_) => Sets::One(rs),
            Sets::Many(mut v) => {
                v.retain(|x| x.rtype() != rs.rtype());
                if v.is_empty() {
                    Sets::One(rs)
                } else {
                    v.push(rs);
                    Sets::Many(v)
                }
            }
        };
    }

    /// Removes the set of type `rtype`.
    fn remove(&mut self, rtype: &RecordType) {
        *self = match std::mem::replace(self, Sets::None) {
            Sets::One(one) if one.rtype() == rtype => Sets::None,
            Sets::Many(mut v) => {
                v.retain(|x| x.rtype() != rtype);
                match v.len() {
                    0 => Sets::None,
                    1 => Sets::One(v.pop().expect("one set")),
                    _ => Sets::Many(v),
                }
            }
            other => other,
        };
    }
}

/// What the zone holds at one name.
#[derive(Debug)]
pub(crate) struct Node {
    sets: Sets,
    /// The ownership record standing for this name, kept compactly.
    owner: Option<CompactOwnership>,
}

impl Node {
    fn is_empty(&self) -> bool {
        matches!(self.sets, Sets::None) && self.owner.is_none()
    }

    /// The record sets at this name (not its ownership record).
    pub(crate) fn sets(&self) -> &[RecordSet] {
        self.sets.as_slice()
    }

    /// Everything this entry holds, as the diff reads it: the sets at the name and the
    /// ownership record standing for it.
    pub(crate) fn current(&self) -> impl Iterator<Item = CurrentSet<'_>> + Clone {
        self.sets
            .as_slice()
            .iter()
            .map(CurrentSet::Set)
            .chain(self.owner.as_ref().map(CurrentSet::Ownership))
    }

    fn len(&self) -> usize {
        self.sets.as_slice().len() + usize::from(self.owner.is_some())
    }
}

/// The copy of a zone: what a listing returned, kept up to date with every change applied.
#[derive(Debug)]
pub(crate) struct KnownZone {
    registry: Registry,
    names: BTreeMap<DnsName, Node>,
    /// The TXT strings held, each once (every name of a service carries the same ownership
    /// text).
    texts: HashSet<Arc<str>>,
}

impl KnownZone {
    /// The copy of an empty zone.
    pub(crate) fn new(registry: Registry) -> Self {
        KnownZone {
            registry,
            names: BTreeMap::new(),
            texts: HashSet::new(),
        }
    }

    /// The copy of a zone listed as `records`, built in one pass from sorted runs.
    pub(crate) fn from_listing(registry: Registry, mut records: Vec<RecordSet>) -> Self {
        let mut zone = KnownZone::new(registry);
        // A listing usually comes sorted by name.
        if !records.is_sorted_by(|a, b| a.name() <= b.name()) {
            records.sort_by(|a, b| a.name().cmp(b.name()));
        }
        let mut runs: Vec<(DnsName, Node)> = Vec::with_capacity(records.len() / 2 + 1);
        let mut owners: Vec<RecordSet> = Vec::new();
        let mut records = records.into_iter().peekable();
        while let Some(mut first) = records.next() {
            if CompactOwnership::managed_name(&first, &zone.registry).is_some() {
                owners.push(first);
                continue;
            }
            first.share_text(|t| zone.share(t));
            let name = first.name().clone();
            let mut sets = Sets::One(first);
            while let Some(mut rs) = records.next_if(|rs| rs.name() == &name) {
                if CompactOwnership::managed_name(&rs, &zone.registry).is_some() {
                    owners.push(rs);
                    continue;
                }
                rs.share_text(|t| zone.share(t));
                sets = match sets {
                    Sets::One(one) => Sets::Many(vec![one, rs]),
                    Sets::Many(mut v) => {
                        v.push(rs);
                        Sets::Many(v)
                    }
                    Sets::None => Sets::One(rs),
                };
            }
            if let Sets::Many(v) = &mut sets {
                v.shrink_to_fit();
            }
            runs.push((name, Node { sets, owner: None }));
        }
        // The listing's vector goes before the map is built, not after.
        drop(records);
        // Each ownership record joins the entry of the name it stands for.
        let mut alone: Vec<(DnsName, Node)> = Vec::new();
        let mut leftovers: Vec<RecordSet> = Vec::new();
        for rs in owners {
            let managed = CompactOwnership::managed_name(&rs, &zone.registry).expect("checked");
            let at = runs.binary_search_by(|(n, _)| n.as_str().cmp(managed));
            let Some(mut owner) = CompactOwnership::from_record_set(&rs, &zone.registry) else {
                // It stands for no valid name: kept as the set it is, once the map is built.
                leftovers.push(rs);
                continue;
            };
            owner.text = zone.share(&owner.text);
            match at {
                Ok(i) => {
                    owner.name = runs[i].0.clone();
                    runs[i].1.owner = Some(owner);
                }
                Err(_) => alone.push((
                    owner.name.clone(),
                    Node {
                        sets: Sets::None,
                        owner: Some(owner),
                    },
                )),
            }
        }
        runs.append(&mut alone);
        // From a sorted vector the map is built at once, with full nodes.
        runs.sort_by(|a, b| a.0.cmp(&b.0));
        zone.names = runs.into_iter().collect();
        for rs in leftovers {
            zone.put(rs);
        }
        zone
    }

    /// `text` as held once.
    fn share(&mut self, text: &Arc<str>) -> Arc<str> {
        match self.texts.get(&**text) {
            Some(t) => t.clone(),
            None => {
                self.texts.insert(text.clone());
                text.clone()
            }
        }
    }

    /// The entry at `name`.
    pub(crate) fn get(&self, name: &DnsName) -> Option<&Node> {
        self.names.get(name)
    }

    /// The name as held (to share its text) and its entry.
    pub(crate) fn get_key_value(&self, name: &DnsName) -> Option<(&DnsName, &Node)> {
        self.names.get_key_value(name)
    }

    /// Every set of the zone, as the diff reads them, with their exact number.
    pub(crate) fn current(&self) -> impl Iterator<Item = CurrentSet<'_>> {
        let count = self.names.values().map(Node::len).sum();
        Counted {
            sets: self.names.values().flat_map(Node::current),
            left: count,
        }
    }

    /// The zone after `rs` was deleted from it.
    pub(crate) fn remove(&mut self, rs: &RecordSet) {
        let (key, ownership) = match CompactOwnership::managed_name(rs, &self.registry) {
            Some(m) => match DnsName::parse(m) {
                Ok(n) => (n, true),
                Err(_) => (rs.name().clone(), false),
            },
            None => (rs.name().clone(), false),
        };
        if let Some(node) = self.names.get_mut(&key) {
            if ownership {
                node.owner = None;
            } else {
                node.sets.remove(rs.rtype());
            }
            if node.is_empty() {
                self.names.remove(&key);
            }
        }
    }

    /// The zone after `rs` was written to it (in place of the set of its name and type).
    pub(crate) fn put(&mut self, mut rs: RecordSet) {
        rs.share_text(|t| self.share(t));
        if let Some(mut owner) = CompactOwnership::from_record_set(&rs, &self.registry) {
            match self.names.entry(owner.name.clone()) {
                Entry::Vacant(e) => {
                    e.insert(Node {
                        sets: Sets::None,
                        owner: Some(owner),
                    });
                }
                Entry::Occupied(mut e) => {
                    owner.name = e.key().clone();
                    e.get_mut().owner = Some(owner);
                }
            }
            return;
        }
        match self.names.entry(rs.name().clone()) {
            Entry::Vacant(e) => {
                e.insert(Node {
                    sets: Sets::One(rs),
                    owner: None,
                });
            }
            Entry::Occupied(mut e) => e.get_mut().sets.put(rs),
        }
    }

    /// The names held (with sets or an ownership record standing for them).
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The zone as record sets, sorted like a listing.
    pub(crate) fn records(&self) -> Vec<RecordSet> {
        let mut all: Vec<RecordSet> = self
            .names
            .values()
            .flat_map(Node::current)
            .filter_map(|c| match c {
                CurrentSet::Set(rs) => Some(rs.clone()),
                CurrentSet::Ownership(o) => o.to_record_set(&self.registry),
            })
            .collect();
        all.sort();
        all
    }
}

/// Sets of many entries, one after the other, telling their exact number: the diff then
/// allocates its work list once, at the right size (at a full resync it holds the whole
/// zone).
struct Counted<S> {
    sets: S,
    left: usize,
}

impl<'a, S: Iterator<Item = CurrentSet<'a>>> Iterator for Counted<S> {
    type Item = CurrentSet<'a>;

    fn next(&mut self) -> Option<CurrentSet<'a>> {
        let set = self.sets.next()?;
        self.left -= 1;
        Some(set)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use fedsvc_model::{Label, LabelRules, RData};

    use super::*;

    fn registry() -> Registry {
        Registry::txt(Label::parse("fed", LabelRules::Rfc1123, "federation").unwrap())
    }

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    fn a(n: &str, ip: &str) -> RecordSet {
        RecordSet::new(
            name(n),
            RecordType::A,
            60,
            vec![RData::parse(&RecordType::A, ip).unwrap()],
        )
        .unwrap()
    }

    fn txt(n: &str, texts: &[&str]) -> RecordSet {
        let data = texts.iter().map(|t| RData::Txt((*t).into())).collect();
        RecordSet::new(name(n), RecordType::Txt, 60, data).unwrap()
    }

    /// A zone with: a service name and its ownership record, an ownership record alone, a
    /// user's TXT of two strings at an ownership name, and a user's name.
    fn listing() -> Vec<RecordSet> {
        let r = registry();
        let web = name("web.ns.fed.svc.example.com");
        let gone = name("gone.ns.fed.svc.example.com");
        let mut v = vec![
            a("web.ns.fed.svc.example.com", "192.0.2.1"),
            r.ownership_record(&web, 60).unwrap().unwrap(),
            r.ownership_record(&gone, 60).unwrap().unwrap(),
            txt("_fedsvc.user.example.com", &["a", "b"]),
            a("www.example.com", "192.0.2.9"),
            txt("www.example.com", &["v=spf1 -all"]),
            // A user's set beside an ownership record.
            RecordSet::new(
                name("_fedsvc.web.ns.fed.svc.example.com"),
                RecordType::Other("MX".into()),
                60,
                vec![RData::Other("10 mail.example.com.".into())],
            )
            .unwrap(),
        ];
        v.sort();
        v
    }

    #[test]
    fn a_listing_comes_back_as_it_was() {
        let zone = KnownZone::from_listing(registry(), listing());
        assert_eq!(zone.records(), listing());
        // web (with its owner), gone (owner alone), the user's TXT and MX, www.
        assert_eq!(zone.len(), 5);
        let web = zone.get(&name("web.ns.fed.svc.example.com")).unwrap();
        assert_eq!(web.sets().len(), 1);
        assert_eq!(web.current().count(), 2);
        // An unsorted listing gives the same copy.
        let mut reversed = listing();
        reversed.reverse();
        assert_eq!(
            KnownZone::from_listing(registry(), reversed).records(),
            listing()
        );
    }

    #[test]
    fn writes_and_deletes_keep_the_copy_equal_to_the_zone() {
        let r = registry();
        let mut zone = KnownZone::from_listing(registry(), listing());
        let mut want = listing();
        let new = name("new.ns.fed.svc.example.com");
        let steps: Vec<(bool, RecordSet)> = vec![
            // An ownership record before the name's own sets, then the sets.
            (true, r.ownership_record(&new, 30).unwrap().unwrap()),
            (true, a("new.ns.fed.svc.example.com", "192.0.2.5")),
            // An update in place, and a second type at a name.
            (true, a("web.ns.fed.svc.example.com", "192.0.2.2")),
            (true, txt("web.ns.fed.svc.example.com", &["hello"])),
            // Deletes: a set, then the ownership record left alone, then the user's TXT.
            (false, a("www.example.com", "192.0.2.9")),
            (
                false,
                r.ownership_record(&name("gone.ns.fed.svc.example.com"), 60)
                    .unwrap()
                    .unwrap(),
            ),
            (false, txt("_fedsvc.user.example.com", &["a", "b"])),
        ];
        for (write, rs) in steps {
            want.retain(|x| (x.name(), x.rtype()) != (rs.name(), rs.rtype()));
            if write {
                want.push(rs.clone());
                zone.put(rs);
            } else {
                zone.remove(&rs);
            }
            want.sort();
            assert_eq!(zone.records(), want);
        }
        assert!(zone.get(&name("gone.ns.fed.svc.example.com")).is_none());
        assert_eq!(zone.current().size_hint(), (want.len(), Some(want.len())));
        assert_eq!(zone.current().count(), want.len());
    }
}
