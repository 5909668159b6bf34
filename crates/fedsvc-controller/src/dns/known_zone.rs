//! The controller's copy of one DNS zone, kept small.
//!
//! A zone of 10 000 federated services in 20 clusters holds 310 000 names, each with its
//! record sets and an ownership record at `<prefix>.name`. The copy keeps one entry per name:
//! its sets (the only one inline, without a vector), and its ownership record as a
//! [`CompactOwnership`] (a TTL and a text shared by all of a service's names) instead of a
//! record set with a name of its own. That halves the entries and the names held. TXT sets at
//! an ownership name that are not one string (not an ownership record, but someone's data)
//! stay record sets like any other.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use fedsvc_dns_plan::{CompactOwnership, CurrentSet, Registry};
use fedsvc_model::{DnsName, RData, RecordSet, RecordType};

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

    /// Keeps the sets `keep` says to keep.
    fn retain(&mut self, mut keep: impl FnMut(&RecordSet) -> bool) {
        *self = match std::mem::replace(self, Sets::None) {
            Sets::One(one) if !keep(&one) => Sets::None,
            Sets::Many(mut v) => {
                v.retain(|x| keep(x));
                match v.len() {
                    0 => Sets::None,
                    1 => Sets::One(v.pop().expect("one set")),
                    _ => Sets::Many(v),
                }
            }
            other => other,
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
    /// While a listing refreshes the copy ([`ZoneRefresh`]): what the listing has shown of
    /// this entry so far ([`Mark`] bits). Zero otherwise.
    listed: u8,
}

/// The bits of [`Node::listed`].
struct Mark;

impl Mark {
    const A: u8 = 1;
    const AAAA: u8 = 2;
    const CNAME: u8 = 4;
    const TXT: u8 = 8;
    const OWNER: u8 = 16;

    /// The bit of a set of type `rtype`; `None` for the other types, rare enough to be
    /// tracked aside.
    fn of(rtype: &RecordType) -> Option<u8> {
        match rtype {
            RecordType::A => Some(Mark::A),
            RecordType::Aaaa => Some(Mark::AAAA),
            RecordType::Cname => Some(Mark::CNAME),
            RecordType::Txt => Some(Mark::TXT),
            _ => None,
        }
    }
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
}

/// The copy of a zone: what a listing returned, kept up to date with every change applied.
#[derive(Debug)]
pub(crate) struct KnownZone {
    registry: Registry,
    names: BTreeMap<DnsName, Node>,
    /// The TXT strings held, each once (every name of a service carries the same ownership
    /// text).
    texts: HashSet<Arc<str>>,
    /// Entries added one at a time since the map was last built or repacked
    /// ([`pack_if_grown`](KnownZone::pack_if_grown)).
    grown: usize,
}

impl KnownZone {
    /// The copy of an empty zone.
    pub(crate) fn new(registry: Registry) -> Self {
        KnownZone {
            registry,
            names: BTreeMap::new(),
            texts: HashSet::new(),
            grown: 0,
        }
    }

    /// Repacks the map of entries ([`fedsvc_model::repack`]) when more than an eighth of them
    /// were added one at a time since it was last built or repacked: a copy filled by a first
    /// sync, write by write, takes a third more memory than one built from a listing.
    pub(crate) fn pack_if_grown(&mut self) {
        if self.grown > 0 && self.grown.saturating_mul(8) >= self.names.len() {
            fedsvc_model::repack(&mut self.names);
            self.grown = 0;
        }
    }

    /// Adds an entry holding `rs` alone, for a name not held yet, with the marks `listed`.
    fn insert_set(&mut self, rs: RecordSet, listed: u8) {
        let name = rs.name().clone();
        self.insert_new(
            name,
            Node {
                sets: Sets::One(rs),
                owner: None,
                listed,
            },
        );
    }

    /// Adds an entry holding the ownership record `owner` alone, for a name not held yet,
    /// with the marks `listed`.
    fn insert_owner(&mut self, owner: CompactOwnership, listed: u8) {
        let name = owner.name.clone();
        self.insert_new(
            name,
            Node {
                sets: Sets::None,
                owner: Some(owner),
                listed,
            },
        );
    }

    fn insert_new(&mut self, name: DnsName, node: Node) {
        self.names.insert(name, node);
        self.grown += 1;
    }

    /// The name as held (to share its text) and its entry, to change, in one lookup.
    fn entry_mut(&mut self, name: &str) -> Option<(&DnsName, &mut Node)> {
        self.names
            .range_mut::<str, _>((Bound::Included(name), Bound::Included(name)))
            .next()
    }

    /// The copy of a zone listed as `records`.
    #[cfg(test)]
    pub(crate) fn from_listing(registry: Registry, records: Vec<RecordSet>) -> Self {
        let mut builder = ZoneBuilder::new(registry);
        records.into_iter().for_each(|rs| builder.add(rs));
        builder.finish()
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

    /// Every name held, with its entry, in order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&DnsName, &Node)> {
        self.names.iter()
    }

    /// The zone after `rs` was deleted from it.
    pub(crate) fn remove(&mut self, rs: &RecordSet) {
        self.take(rs.name(), rs.rtype(), false);
    }

    /// Takes out the set of `name` and `rtype`, a compact ownership record included; returns
    /// it if `keep`.
    fn take(&mut self, name: &DnsName, rtype: &RecordType, keep: bool) -> Option<RecordSet> {
        let owner_of = (rtype == &RecordType::Txt)
            .then(|| self.registry.managed_name(name.as_str()))
            .flatten()
            .and_then(|m| self.names.get_key_value(m))
            .filter(|(_, node)| node.owner.is_some())
            .map(|(key, _)| key.clone());
        let (key, taken) = match owner_of {
            Some(key) => {
                let owner = self.names.get_mut(&key)?.owner.take()?;
                (
                    key,
                    keep.then(|| owner.to_record_set(&self.registry)).flatten(),
                )
            }
            None => {
                let node = self.names.get_mut(name)?;
                let set = keep
                    .then(|| node.sets().iter().find(|x| x.rtype() == rtype).cloned())
                    .flatten();
                node.sets.remove(rtype);
                (name.clone(), set)
            }
        };
        if self.names.get(&key).is_some_and(Node::is_empty) {
            self.names.remove(&key);
        }
        taken
    }

    /// The zone after `rs` was read into it: the union with the set of its name and type
    /// already held, if any (a set that came in pieces).
    fn merge(&mut self, rs: RecordSet) {
        let rs = match self.take(rs.name(), rs.rtype(), true) {
            None => rs,
            Some(held) => {
                let mut data = held.data().to_vec();
                data.extend_from_slice(rs.data());
                let ttl = held.ttl().min(rs.ttl());
                RecordSet::new(rs.name().clone(), rs.rtype().clone(), ttl, data).unwrap_or(rs)
            }
        };
        self.put(rs);
    }

    /// The zone after `rs` was written to it (in place of the set of its name and type).
    pub(crate) fn put(&mut self, mut rs: RecordSet) {
        // The set it replaces may be held the other way (a compact ownership record replaced
        // by a TXT of several strings, or the reverse).
        self.take(rs.name(), rs.rtype(), false);
        rs.share_text(|t| self.share(t));
        if let Some(mut owner) = CompactOwnership::from_record_set(&rs, &self.registry) {
            match self.entry_mut(owner.name.as_str()) {
                Some((key, node)) => {
                    // Keyed by the name as held: its text is shared.
                    owner.name = key.clone();
                    node.owner = Some(owner);
                }
                None => self.insert_owner(owner, 0),
            }
            return;
        }
        match self.names.get_mut(rs.name()) {
            Some(node) => node.sets.put(rs),
            None => self.insert_set(rs, 0),
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

/// A [`KnownZone`] built from a listing as its sets arrive
/// ([`list_each`](fedsvc_providers::DnsProvider::list_each)), so that the listing is never
/// held whole beside the copy: each set joins its entry in the map at once, and an ownership
/// record is kept compactly as soon as it is read.
///
/// Sets come in any order, and possibly in pieces. The map, filled one entry at a time, is
/// repacked when the listing is done ([`fedsvc_model::repack`]): no vector of the whole zone
/// is built and sorted beside it, which at 310 000 names would hold the copy two or three
/// times over for a moment.
pub(crate) struct ZoneBuilder {
    zone: KnownZone,
    /// Ownership records that came before any set of the name they stand for.
    stray: Vec<CompactOwnership>,
    /// Sets to merge into the copy once it is built: the second piece of a set, an ownership
    /// record that is not one after all.
    pieces: Vec<RecordSet>,
}

impl ZoneBuilder {
    /// A builder for a zone whose ownership records follow `registry`.
    pub(crate) fn new(registry: Registry) -> Self {
        ZoneBuilder {
            zone: KnownZone::new(registry),
            stray: Vec::new(),
            pieces: Vec::new(),
        }
    }

    /// Adds one set (or piece of a set) of the listing.
    pub(crate) fn add(&mut self, mut rs: RecordSet) {
        rs.share_text(|t| self.zone.share(t));
        if let Some(managed) = CompactOwnership::managed_name(&rs, &self.zone.registry) {
            match (self.zone.entry_mut(managed), rs.data()) {
                (Some((name, node)), [RData::Txt(text)]) if node.owner.is_none() => {
                    node.owner = Some(CompactOwnership {
                        name: name.clone(),
                        ttl: rs.ttl(),
                        text: text.clone(),
                    });
                }
                (Some(_), _) => self.pieces.push(rs),
                (None, _) => match CompactOwnership::from_record_set(&rs, &self.zone.registry) {
                    Some(owner) => self.stray.push(owner),
                    None => self.pieces.push(rs),
                },
            }
            return;
        }
        match self.zone.names.get_mut(rs.name()) {
            Some(node) if node.sets().iter().any(|x| x.rtype() == rs.rtype()) => {
                self.pieces.push(rs);
            }
            Some(node) => node.sets.put(rs),
            None => self.zone.insert_set(rs, 0),
        }
    }

    /// The copy of the zone, once every set was added.
    pub(crate) fn finish(self) -> KnownZone {
        let ZoneBuilder {
            mut zone,
            stray,
            mut pieces,
        } = self;
        for mut owner in stray {
            match zone.entry_mut(owner.name.as_str()) {
                Some((_, node)) if node.owner.is_some() => {
                    pieces.extend(owner.to_record_set(&zone.registry));
                }
                Some((key, node)) => {
                    // Keyed by the name as held: its text is shared.
                    owner.name = key.clone();
                    node.owner = Some(owner);
                }
                None => zone.insert_owner(owner, 0),
            }
        }
        for node in zone.names.values_mut() {
            if let Sets::Many(v) = &mut node.sets {
                v.shrink_to_fit();
            }
        }
        // Every entry was added one at a time: the map is repacked.
        zone.pack_if_grown();
        for rs in pieces {
            zone.merge(rs);
        }
        zone
    }
}

/// A copy of a zone brought in step with a new listing in place, as its sets arrive: a set
/// equal to the one held is only marked as listed, so that a resync of an unchanged zone
/// allocates nothing that lasts (a second copy built beside the first would double the
/// controller's largest structure while it is built, and scatter the new one among the
/// listing's transient allocations). Sets the listing did not show are dropped at
/// [`finish`](ZoneRefresh::finish). If the listing fails, the copy must be dropped: it is
/// neither the old zone nor the new one.
pub(crate) struct ZoneRefresh<'a> {
    zone: &'a mut KnownZone,
    /// Sets of types without a [`Mark`] bit that the listing showed, by name and type.
    others: HashSet<(DnsName, RecordType)>,
    /// Sets to merge once the listing is done: the second piece of a set.
    pieces: Vec<RecordSet>,
}

impl<'a> ZoneRefresh<'a> {
    /// Starts refreshing `zone` (whose marks are all clear).
    pub(crate) fn new(zone: &'a mut KnownZone) -> Self {
        ZoneRefresh {
            zone,
            others: HashSet::new(),
            pieces: Vec::new(),
        }
    }

    /// Adds one set (or piece of a set) of the listing.
    pub(crate) fn add(&mut self, mut rs: RecordSet) {
        rs.share_text(|t| self.zone.share(t));
        if let Some(managed) = CompactOwnership::managed_name(&rs, &self.zone.registry)
            && let [RData::Txt(text)] = rs.data()
            && let Some((key, node)) = self.zone.entry_mut(managed)
        {
            if node.listed & Mark::OWNER != 0 {
                // The ownership TXT came in pieces: a set of several strings.
                self.pieces.push(rs);
                return;
            }
            let same = node
                .owner
                .as_ref()
                .is_some_and(|held| held.ttl == rs.ttl() && held.text == *text);
            if !same {
                node.owner = Some(CompactOwnership {
                    name: key.clone(),
                    ttl: rs.ttl(),
                    text: text.clone(),
                });
            }
            node.listed |= Mark::OWNER;
            return;
        }
        if let Some(owner) = CompactOwnership::from_record_set(&rs, &self.zone.registry) {
            // The ownership record of a name the copy does not hold (yet).
            self.zone.insert_owner(owner, Mark::OWNER);
            return;
        }
        self.add_set(rs);
    }

    /// Adds a set that is not a compact ownership record.
    fn add_set(&mut self, rs: RecordSet) {
        let mark = Mark::of(rs.rtype());
        let Some(node) = self.zone.names.get_mut(rs.name()) else {
            if mark.is_none() {
                self.others.insert((rs.name().clone(), rs.rtype().clone()));
            }
            self.zone.insert_set(rs, mark.unwrap_or(0));
            return;
        };
        let second_piece = match mark {
            Some(bit) => node.listed & bit != 0,
            None => !self.others.insert((rs.name().clone(), rs.rtype().clone())),
        };
        if second_piece {
            self.pieces.push(rs);
            return;
        }
        node.listed |= mark.unwrap_or(0);
        if node.sets().iter().all(|held| held != &rs) {
            node.sets.put(rs);
        }
    }

    /// Drops what the listing did not show, and puts the sets that came in pieces together.
    pub(crate) fn finish(self) {
        let ZoneRefresh {
            zone,
            others,
            pieces,
        } = self;
        zone.names.retain(|name, node| {
            let listed = std::mem::take(&mut node.listed);
            if listed & Mark::OWNER == 0 {
                node.owner = None;
            }
            node.sets.retain(|rs| match Mark::of(rs.rtype()) {
                Some(bit) => listed & bit != 0,
                None => others.contains(&(name.clone(), rs.rtype().clone())),
            });
            !node.is_empty()
        });
        for rs in pieces {
            zone.merge(rs);
        }
        // Texts no set holds any more (services gone since the last listing).
        zone.texts.retain(|t| Arc::strong_count(t) > 1);
        zone.pack_if_grown();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use fedsvc_model::{Label, LabelRules};
    use proptest::prelude::*;

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
    fn a_copy_filled_write_by_write_is_repacked_once_it_grew_enough() {
        let mut zone = KnownZone::new(registry());
        let r = registry();
        for i in 0..100 {
            let n = format!("s{i}.ns.fed.svc.example.com");
            zone.put(a(&n, "192.0.2.1"));
            zone.put(r.ownership_record(&name(&n), 60).unwrap().unwrap());
        }
        let before = zone.records();
        assert_eq!((zone.len(), zone.grown), (100, 100));
        zone.pack_if_grown();
        assert_eq!(zone.grown, 0);
        assert_eq!(zone.records(), before);
        assert!(zone.get(&name("s50.ns.fed.svc.example.com")).is_some());
        // One name more in a copy of a hundred: not worth repacking yet.
        zone.put(a("new.ns.fed.svc.example.com", "192.0.2.2"));
        zone.pack_if_grown();
        assert_eq!(zone.grown, 1);
        assert_eq!(zone.len(), 101);
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
        assert_eq!(
            zone.entries().flat_map(|(_, n)| n.current()).count(),
            want.len()
        );
    }

    #[test]
    fn sets_in_pieces_and_out_of_order_are_put_together() {
        let r = registry();
        let web = name("web.ns.fed.svc.example.com");
        let own = r.ownership_record(&web, 60).unwrap().unwrap();
        let RData::Txt(own_text) = &own.data()[0] else {
            unreachable!()
        };
        let own_text = own_text.to_string();
        let listing = vec![
            a("web.ns.fed.svc.example.com", "192.0.2.1"),
            a("www.example.com", "192.0.2.9"),
            // A second piece of web's A set, after another name.
            a("web.ns.fed.svc.example.com", "192.0.2.2"),
            // web's ownership record, far from its name.
            own.clone(),
            // gone's ownership TXT, in two pieces: one set of two strings, not a compact
            // ownership record.
            txt("_fedsvc.gone.ns.fed.svc.example.com", &[&own_text]),
            txt("_fedsvc.gone.ns.fed.svc.example.com", &["b"]),
        ];
        let ips = ["192.0.2.1", "192.0.2.2"]
            .iter()
            .map(|i| RData::parse(&RecordType::A, i).unwrap())
            .collect();
        let mut want = vec![
            RecordSet::new(web.clone(), RecordType::A, 60, ips).unwrap(),
            a("www.example.com", "192.0.2.9"),
            own,
            txt("_fedsvc.gone.ns.fed.svc.example.com", &[&own_text, "b"]),
        ];
        want.sort();
        let zone = KnownZone::from_listing(r, listing);
        assert_eq!(zone.records(), want);
        assert_eq!(zone.get(&web).unwrap().current().count(), 2);
    }

    #[test]
    fn a_transfer_order_keeps_no_ownership_record_aside() {
        // A zone transfer sends a name, then its children: the ownership record.
        let r = registry();
        let mut builder = ZoneBuilder::new(r.clone());
        for n in ["a.ns.fed.svc.example.com", "b.ns.fed.svc.example.com"] {
            builder.add(a(n, "192.0.2.1"));
            builder.add(r.ownership_record(&name(n), 60).unwrap().unwrap());
        }
        assert!(builder.stray.is_empty() && builder.pieces.is_empty());
        assert_eq!(builder.finish().len(), 2);
    }

    /// A zone: (name index, type index) → (TTL, data indices).
    type RawZone = BTreeMap<(usize, usize), (u32, BTreeSet<usize>)>;

    const NAMES: [&str; 6] = [
        "web.ns.fed.svc.example.com",
        "_fedsvc.web.ns.fed.svc.example.com",
        "gone.ns.fed.svc.example.com",
        "_fedsvc.gone.ns.fed.svc.example.com",
        "www.example.com",
        "_fedsvc.www.example.com",
    ];

    /// The record set of `(name, type)` with `data` (indices into a few values per type).
    fn raw_set(n: usize, t: usize, ttl: u32, data: &BTreeSet<usize>) -> RecordSet {
        let r = registry();
        let managed = r.managed_name(&format!("{}.", NAMES[n])).map(name);
        let text = |i: usize| match (i, &managed) {
            (0, Some(m)) => r.ownership_value(m).unwrap().to_string(),
            _ => format!("text {i}"),
        };
        let (rtype, data): (RecordType, Vec<RData>) = match t {
            0 => (
                RecordType::A,
                data.iter()
                    .map(|i| RData::parse(&RecordType::A, &format!("192.0.2.{i}")).unwrap())
                    .collect(),
            ),
            1 => (
                RecordType::Txt,
                data.iter().map(|i| RData::Txt(text(*i).into())).collect(),
            ),
            _ => (
                RecordType::Other("MX".into()),
                data.iter()
                    .map(|i| RData::Other(format!("{i} mail.example.com.")))
                    .collect(),
            ),
        };
        RecordSet::new(name(NAMES[n]), rtype, ttl, data).unwrap()
    }

    fn raw_zones() -> impl Strategy<Value = RawZone> {
        proptest::collection::btree_map(
            (0..NAMES.len(), 0usize..3),
            (
                prop_oneof![Just(30u32), Just(60)],
                proptest::collection::btree_set(0usize..3, 1..3),
            ),
            0..10,
        )
    }

    /// The listing of `zone` with each set cut in pieces (a datum per piece where `cuts`
    /// says so), the later pieces with a larger TTL, shuffled by `order`.
    fn cut_and_shuffle(zone: &RawZone, cuts: &[bool], order: u64) -> Vec<RecordSet> {
        let mut listing: Vec<RecordSet> = Vec::new();
        let mut c = cuts.iter().cycle();
        for ((n, t), (ttl, data)) in zone {
            let mut piece = BTreeSet::new();
            let mut first = true;
            for d in data {
                piece.insert(*d);
                if *c.next().unwrap() {
                    let ttl = if first { *ttl } else { ttl + 60 };
                    listing.push(raw_set(*n, *t, ttl, &piece));
                    piece.clear();
                    first = false;
                }
            }
            if !piece.is_empty() {
                let ttl = if first { *ttl } else { ttl + 60 };
                listing.push(raw_set(*n, *t, ttl, &piece));
            }
        }
        let mut x = order;
        for i in (1..listing.len()).rev() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            listing.swap(i, (x >> 33) as usize % (i + 1));
        }
        listing
    }

    fn sorted_sets(zone: &RawZone) -> Vec<RecordSet> {
        let mut v: Vec<RecordSet> = zone
            .iter()
            .map(|((n, t), (ttl, data))| raw_set(*n, *t, *ttl, data))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_listing_of_the_zone_as_held_changes_nothing_held() {
        let mut zone = KnownZone::from_listing(registry(), listing());
        let web = name("web.ns.fed.svc.example.com");
        let held = |z: &KnownZone| {
            let node = z.get(&web).unwrap();
            (
                node.sets()[0].name().clone(),
                node.owner.clone().unwrap().text,
            )
        };
        let (set_name, text) = held(&zone);
        let mut refresh = ZoneRefresh::new(&mut zone);
        listing().into_iter().for_each(|rs| refresh.add(rs));
        refresh.finish();
        assert_eq!(zone.records(), listing());
        let (after_name, after_text) = held(&zone);
        // The same allocations: the listed copies were compared and dropped.
        assert!(std::ptr::eq(set_name.as_str(), after_name.as_str()));
        assert!(Arc::ptr_eq(&text, &after_text));
        assert!(zone.entries().all(|(_, n)| n.listed == 0));
    }

    proptest! {
        /// Whatever the order of the sets and however they are cut in pieces, the copy holds
        /// the zone; and it stays equal to it through writes and deletes.
        #[test]
        fn the_copy_holds_the_zone_whatever_the_listing_order(
            zone in raw_zones(),
            cuts in proptest::collection::vec(any::<bool>(), 32),
            order in any::<u64>(),
            changes in raw_zones(),
        ) {
            let listing = cut_and_shuffle(&zone, &cuts, order);
            let mut copy = KnownZone::from_listing(registry(), listing);
            let sorted = sorted_sets(&zone);
            prop_assert_eq!(copy.records(), sorted.clone());
            prop_assert_eq!(copy.entries().flat_map(|(_, n)| n.current()).count(), sorted.len());

            // Writes and deletes as the diff makes them: a set replaced or created, or
            // deleted.
            let mut now = sorted;
            for ((n, t), (ttl, data)) in &changes {
                let rs = raw_set(*n, *t, *ttl, data);
                let key = (rs.name().clone(), rs.rtype().clone());
                now.retain(|x| (x.name().clone(), x.rtype().clone()) != key);
                if data.len() == 1 && *ttl == 30 {
                    copy.remove(&rs);
                } else {
                    copy.put(rs.clone());
                    now.push(rs);
                }
                now.sort();
                prop_assert_eq!(copy.records(), now.clone());
            }
        }

        /// A copy brought in step with a listing holds what one built from that listing
        /// holds, whatever it held before and however the listing comes.
        #[test]
        fn a_refreshed_copy_equals_one_built_from_the_listing(
            before in raw_zones(),
            after in raw_zones(),
            cuts in proptest::collection::vec(any::<bool>(), 32),
            order in any::<u64>(),
        ) {
            let mut copy = KnownZone::from_listing(registry(), sorted_sets(&before));
            let listing = cut_and_shuffle(&after, &cuts, order);
            let built = KnownZone::from_listing(registry(), listing.clone());
            let mut refresh = ZoneRefresh::new(&mut copy);
            listing.into_iter().for_each(|rs| refresh.add(rs));
            refresh.finish();
            prop_assert_eq!(copy.records(), sorted_sets(&after));
            prop_assert_eq!(copy.len(), built.len());
            prop_assert!(copy.entries().all(|(_, n)| n.listed == 0));
            let texts = |z: &KnownZone| z.texts.iter().map(|t| t.to_string()).collect::<BTreeSet<_>>();
            prop_assert_eq!(texts(&copy), texts(&built));
        }
    }
}
