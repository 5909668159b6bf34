//! Property tests of the invariants the rest of fedsvc relies on.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use fedsvc_dns_plan::{
    Answer, BatchLimits, Changes, CompactOwnership, CurrentSet, Naming, Planner, RecordIndex,
    Registry, ServiceNames, apply_changes, diff, diff_replanned, diff_sets, plan,
    try_apply_changes,
};
use fedsvc_model::{
    ClusterName, DnsName, RData, RecordSet, RecordType, Service, ServiceKey, Shard, Snapshot,
};
use proptest::prelude::*;

use crate::fixtures::{cluster, label, name};
use crate::generator::mix;

const ADDRESSES: [&str; 8] = [
    "10.0.0.1",
    "10.0.0.2",
    "10.0.0.3",
    "192.0.2.1",
    "2001:db8::1",
    "2001:db8::2",
    "10.0.0.4",
    "198.51.100.7",
];
const HOSTNAMES: [&str; 2] = ["a.elb.example.net", "b.elb.example.net"];

/// A raw cluster: region, first zone, optional second zone (both in the region), ready.
type RawCluster = (usize, usize, Option<usize>, bool);
/// A raw shard: address indices, ready endpoints, optional hostname index.
type RawShard = (Vec<usize>, u32, Option<usize>);
/// A raw service: namespace index, name index, TTL, a shard (or none) per cluster.
type RawService = (usize, usize, Option<u32>, Vec<Option<RawShard>>);

fn raw_shard(hostnames: bool) -> impl Strategy<Value = Option<RawShard>> {
    let host = if hostnames {
        proptest::option::weighted(0.3, 0..HOSTNAMES.len()).boxed()
    } else {
        Just(None).boxed()
    };
    proptest::option::weighted(
        0.8,
        (
            proptest::collection::vec(0..ADDRESSES.len(), 0..3),
            0u32..3,
            host,
        ),
    )
}

fn snapshots(hostnames: bool) -> impl Strategy<Value = Snapshot> {
    let clusters = proptest::collection::vec(
        (
            0usize..3,
            0usize..3,
            proptest::option::of(0usize..3),
            any::<bool>(),
        ),
        1..6,
    );
    let services = proptest::collection::vec(
        (
            0usize..2,
            0usize..3,
            proptest::option::weighted(0.2, 1u32..300),
            proptest::collection::vec(raw_shard(hostnames), 6),
        ),
        0..4,
    );
    (clusters, services, proptest::option::of(1u32..600)).prop_map(|(c, s, ttl)| build(&c, &s, ttl))
}

fn build(clusters: &[RawCluster], services: &[RawService], ttl: Option<u32>) -> Snapshot {
    let mut snap = Snapshot::new(label("fed"), name("example.com"));
    if let Some(t) = ttl {
        snap.ttl = t;
    }
    for (i, (r, z1, z2, ready)) in clusters.iter().enumerate() {
        let region = format!("r{r}");
        let mut zones = vec![format!("r{r}-z{z1}")];
        if let Some(z2) = z2 {
            zones.push(format!("r{r}-z{z2}"));
        }
        let zones: Vec<&str> = zones.iter().map(String::as_str).collect();
        snap.clusters
            .push(cluster(&format!("c{i}"), &region, &zones, *ready));
    }
    let mut seen = BTreeSet::new();
    for (ns, n, svc_ttl, shards) in services {
        let key = ServiceKey::parse(&format!("ns{ns}"), &format!("s{n}")).unwrap();
        if !seen.insert(key.clone()) {
            continue;
        }
        let shards = shards
            .iter()
            .take(clusters.len())
            .enumerate()
            .filter_map(|(i, s)| {
                let (addrs, eps, host) = s.as_ref()?;
                Some(Shard::new(
                    ClusterName::parse(&format!("c{i}")).unwrap(),
                    addrs
                        .iter()
                        .map(|a| ADDRESSES[*a].parse().unwrap())
                        .collect(),
                    host.iter().map(|h| name(HOSTNAMES[*h])).collect(),
                    *eps,
                ))
            })
            .collect();
        snap.services
            .push(Service::new(key, *svc_ttl, shards).unwrap());
    }
    snap
}

/// The healthy addresses at each level, computed straight from the rules.
fn healthy_addresses(
    snap: &Snapshot,
    svc: &Service,
    in_level: impl Fn(&fedsvc_model::Cluster) -> bool,
) -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    for c in snap.clusters.iter().filter(|c| in_level(c)) {
        if let Some(sh) = svc.shard(&c.name)
            && c.ready
            && sh.ready_endpoints > 0
            && !(sh.addresses.is_empty() && sh.hostnames.is_empty())
        {
            out.extend(sh.addresses.iter().copied());
        }
    }
    out
}

/// A deterministic shuffle.
fn shuffle<T>(v: &mut [T], seed: u64) {
    for i in (1..v.len()).rev() {
        let j = (mix(seed ^ i as u64) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

fn registry() -> Registry {
    Registry::txt(label("fed"))
}

/// The TXT registry, or the `none` registry of `snap`'s federation.
fn registry_for(snap: &Snapshot, none: bool) -> Registry {
    if none {
        Registry::none(&Naming::from_snapshot(snap))
    } else {
        registry()
    }
}

/// Raw current record: name index, type index, data index, TTL index.
type RawRecord = (usize, usize, usize, usize);

fn raw_current() -> impl Strategy<Value = Vec<RawRecord>> {
    proptest::collection::vec((0usize..64, 0usize..5, 0usize..6, 0usize..3), 0..40)
}

/// Builds a valid zone (no CNAME beside other data, one set per name and type) from raw picks
/// over the desired names, their ownership names and a few strangers.
fn current_from(raw: &[RawRecord], desired: &[RecordSet], registry: &Registry) -> Vec<RecordSet> {
    let mut pool: Vec<DnsName> = desired.iter().map(|r| r.name().clone()).collect();
    pool.dedup();
    let owner_names: Vec<DnsName> = pool
        .iter()
        .filter_map(|n| registry.ownership_name(n).ok().flatten())
        .collect();
    pool.extend(owner_names);
    for extra in [
        "web.shop.fed.svc.gone.example.com",
        "_fedsvc.web.shop.fed.svc.gone.example.com",
        "s9.ns9.fed.svc.r7.example.com",
        "_fedsvc.s9.ns9.fed.svc.r7.example.com",
        "www.example.com",
    ] {
        pool.push(name(extra));
    }
    let ours = |n: &DnsName| {
        let managed = registry.managed_name(n.as_str()).unwrap_or(n.as_str());
        registry
            .ownership_value(&name(managed))
            .map(|o| o.to_string())
            .unwrap_or_default()
    };
    let mut map: BTreeMap<(DnsName, RecordType), RecordSet> = BTreeMap::new();
    for (ni, ti, di, tti) in raw {
        let n = pool[ni % pool.len()].clone();
        let ttl = [60, 180, 300][*tti];
        let rs = match ti {
            0 => RecordSet::new(
                n,
                RecordType::A,
                ttl,
                vec![RData::A(format!("10.0.0.{}", di + 1).parse().unwrap())],
            ),
            1 => RecordSet::new(
                n,
                RecordType::Aaaa,
                ttl,
                vec![RData::Aaaa(
                    format!("2001:db8::{}", di + 1).parse().unwrap(),
                )],
            ),
            2 => Ok(RecordSet::cname(
                n,
                ttl,
                name(&format!("t{di}.example.net")),
            )),
            3 => {
                let text = match di {
                    0 | 1 => ours(&n),
                    2 => "heritage=fedsvc,fedsvc/owner=other,fedsvc/federation=fed".to_owned(),
                    3 => {
                        "heritage=fedsvc,fedsvc/owner=fedsvc,fedsvc/federation=otherfed".to_owned()
                    }
                    4 => "fedsvc/federation=fed,heritage=fedsvc,fedsvc/owner=fedsvc".to_owned(),
                    _ => "v=user".to_owned(),
                };
                RecordSet::new(n, RecordType::Txt, ttl, vec![RData::Txt(text.into())])
            }
            _ => RecordSet::new(
                n,
                RecordType::Other("MX".into()),
                ttl,
                vec![RData::Other("10 mail.example.com.".into())],
            ),
        }
        .unwrap();
        map.entry((rs.name().clone(), rs.rtype().clone()))
            .or_insert(rs);
    }
    // No CNAME beside other data: drop such CNAMEs.
    let names_with_other: BTreeSet<DnsName> = map
        .keys()
        .filter(|(_, t)| t != &RecordType::Cname)
        .map(|(n, _)| n.clone())
        .collect();
    map.retain(|(n, t), _| t != &RecordType::Cname || !names_with_other.contains(n));
    map.into_values().collect()
}

/// Whether the TXT registry's ownership record of `managed` in `current` is ours.
fn owned_in(current: &[RecordSet], managed: &DnsName, registry: &Registry) -> bool {
    match registry {
        Registry::Txt { .. } => registry
            .ownership_name(managed)
            .ok()
            .flatten()
            .is_some_and(|o| {
                current
                    .iter()
                    .any(|r| r.name() == &o && registry.is_own_ownership_record(r))
            }),
        _ => Naming::new(
            label("fed"),
            name("example.com"),
            fedsvc_model::ZoneNaming::ZoneRegion,
        )
        .parse_any_naming(managed)
        .is_some(),
    }
}

fn check_batches(changes: &Changes, limits: &BatchLimits) -> Result<(), TestCaseError> {
    let batches = changes.batches(limits);
    let flat: Vec<_> = batches.iter().flatten().cloned().collect();
    let groups: Vec<_> = changes
        .groups
        .iter()
        .filter(|g| !g.is_empty())
        .cloned()
        .collect();
    prop_assert_eq!(flat, groups);
    for b in &batches {
        prop_assert!(!b.is_empty());
        let cost: usize = b.iter().map(|g| g.cost(limits)).sum();
        prop_assert!(
            cost <= limits.max_changes || b.len() == 1,
            "cost {} in {:?}",
            cost,
            b
        );
        if let Some(m) = limits.max_groups {
            prop_assert!(b.len() <= m);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// (a) Applying the diff gives desired at our names and leaves everything else alone;
    /// (f) foreign records are never deleted or updated.
    #[test]
    fn applying_the_diff_gives_desired_and_spares_foreign_records(
        snap in snapshots(true),
        raw in raw_current(),
        none_registry in proptest::bool::weighted(0.3),
    ) {
        let registry = registry_for(&snap, none_registry);
        let desired = plan(&snap).unwrap().records;
        let current = current_from(&raw, &desired, &registry);
        let changes = diff(&current, &desired, &registry);
        let after = apply_changes(&current, &changes);
        prop_assert_eq!(&try_apply_changes(&current, &changes).unwrap(), &after);

        let conflicts: BTreeSet<DnsName> = changes.conflicts.iter().map(|c| c.name.clone()).collect();
        let desired_names: BTreeSet<DnsName> = desired.iter().map(|r| r.name().clone()).collect();
        let owner_of = |n: &DnsName| registry.ownership_name(n).ok().flatten();
        let mut managed_here: BTreeSet<DnsName> = BTreeSet::new();
        for n in &desired_names {
            let sets_after: Vec<&RecordSet> = after.iter().filter(|r| r.name() == n).collect();
            let sets_before: Vec<&RecordSet> = current.iter().filter(|r| r.name() == n).collect();
            if conflicts.contains(n) {
                prop_assert_eq!(&sets_after, &sets_before, "conflict {} touched", n);
                continue;
            }
            managed_here.insert(n.clone());
            let ours_after: Vec<&RecordSet> = sets_after.iter().copied().filter(|r| r.rtype().is_address_or_alias()).collect();
            let want: Vec<&RecordSet> = desired.iter().filter(|r| r.name() == n).collect();
            prop_assert_eq!(ours_after, want);
            if let Some(o) = owner_of(n) {
                let ttl = desired.iter().filter(|r| r.name() == n).map(|r| r.ttl()).min().unwrap();
                let txt = registry.ownership_record(n, ttl).unwrap().unwrap();
                prop_assert!(after.iter().any(|r| r == &txt), "no ownership at {}", o);
            }
        }
        // Owned names no longer desired are gone, with their ownership.
        for r in &current {
            let managed = registry.managed_name(r.name().as_str()).map(name).unwrap_or_else(|| r.name().clone());
            if !desired_names.contains(&managed) && owned_in(&current, &managed, &registry) {
                managed_here.insert(managed.clone());
                prop_assert!(!after.iter().any(|x| x.name() == &managed && x.rtype().is_address_or_alias()));
                if let Some(o) = owner_of(&managed) {
                    prop_assert!(!after.iter().any(|x| x.name() == &o && registry.is_own_ownership_record(x)));
                }
            }
        }
        // Foreign records survive untouched; (f) they are never in a delete or an update.
        let is_ours = |r: &RecordSet| {
            let managed = registry.managed_name(r.name().as_str()).map(name);
            match managed {
                Some(m) if r.rtype() == &RecordType::Txt => managed_here.contains(&m),
                _ => r.rtype().is_address_or_alias() && managed_here.contains(r.name()),
            }
        };
        for r in current.iter().filter(|r| !is_ours(r)) {
            prop_assert!(after.contains(r), "foreign {:?} lost", r);
        }
        for g in &changes.groups {
            for r in g.delete.iter().chain(&g.update_old) {
                prop_assert!(current.contains(r));
                prop_assert!(is_ours(r), "foreign {:?} deleted or updated", r);
            }
        }
        // Nothing appears from nowhere.
        for r in &after {
            let from_desired = desired.contains(r);
            let ownership = registry.managed_name(r.name().as_str()).is_some() && r.rtype() == &RecordType::Txt;
            prop_assert!(current.contains(r) || from_desired || ownership, "{:?} from nowhere", r);
        }
        // And a second diff has nothing left to do.
        let again = diff(&after, &desired, &registry);
        prop_assert!(again.is_empty(), "{:?}", again);
        prop_assert_eq!(again.conflicts, changes.conflicts);
    }

    /// Ownership records kept compactly (as the controller's copy of a zone keeps them) give
    /// the diff of the whole sets, whatever else the zone holds.
    #[test]
    fn compact_ownership_records_diff_like_whole_sets(
        snap in snapshots(true),
        raw in raw_current(),
        none_registry in proptest::bool::weighted(0.2),
    ) {
        let registry = registry_for(&snap, none_registry);
        let desired = plan(&snap).unwrap().records;
        let current = current_from(&raw, &desired, &registry);
        let compact: Vec<Option<CompactOwnership>> = current
            .iter()
            .map(|rs| CompactOwnership::from_record_set(rs, &registry))
            .collect();
        for (rs, c) in current.iter().zip(&compact) {
            if let Some(c) = c {
                prop_assert!(!none_registry);
                prop_assert_eq!(c.to_record_set(&registry), Some(rs.clone()));
            }
        }
        let sets = current.iter().zip(&compact).map(|(rs, c)| match c {
            Some(c) => CurrentSet::Ownership(c),
            None => CurrentSet::Set(rs),
        });
        prop_assert_eq!(diff_sets(sets, &desired, &registry), diff(&current, &desired, &registry));
    }

    /// (b) A zone that holds exactly the plan (with ownership) needs no change.
    #[test]
    fn diffing_the_plan_against_itself_is_empty(snap in snapshots(true)) {
        let r = registry();
        let desired = plan(&snap).unwrap().records;
        let x = r.with_ownership(&desired);
        prop_assert!(diff(&x, &x, &r).is_empty());
        prop_assert!(diff(&x, &desired, &r).is_empty());
        prop_assert!(diff(&x, &desired, &r).conflicts.is_empty());
        let none = Registry::none(&Naming::from_snapshot(&snap));
        prop_assert!(diff(&desired, &desired, &none).is_empty());
    }

    /// (c) No name holds a CNAME beside anything else; records are sorted and unique.
    #[test]
    fn no_cname_beside_other_data(snap in snapshots(true)) {
        let records = plan(&snap).unwrap().records;
        for w in records.windows(2) {
            prop_assert!((w[0].name(), w[0].rtype()) < (w[1].name(), w[1].rtype()), "{:?}", w);
            if w[0].name() == w[1].name() {
                prop_assert!(w[0].rtype() != &RecordType::Cname && w[1].rtype() != &RecordType::Cname);
            }
        }
    }

    /// (d) Every zone name resolves to the healthy addresses of the nearest level that has
    /// any, else NXDOMAIN.
    #[test]
    fn every_zone_resolves_to_the_nearest_healthy_level(snap in snapshots(false)) {
        let records = plan(&snap).unwrap().records;
        let index = RecordIndex::new(&records);
        let naming = Naming::from_snapshot(&snap);
        for svc in &snap.services {
            for c in &snap.clusters {
                for z in &c.zones {
                    let zone = healthy_addresses(&snap, svc, |x| x.region == c.region && x.zones.contains(z));
                    let region = healthy_addresses(&snap, svc, |x| x.region == c.region);
                    let global = healthy_addresses(&snap, svc, |_| true);
                    let expected = [zone, region, global].into_iter().find(|s| !s.is_empty());
                    let zname = naming.zone(&svc.key, z, &c.region).unwrap();
                    for (rtype, v6) in [(RecordType::A, false), (RecordType::Aaaa, true)] {
                        let res = index.resolve(&zname, &rtype);
                        match &expected {
                            None => prop_assert!(res.is_nxdomain(), "{} {:?}", zname, res),
                            Some(e) => {
                                let want: Vec<IpAddr> = e.iter().copied().filter(|a| a.is_ipv6() == v6).collect();
                                if want.is_empty() {
                                    prop_assert!(matches!(res.answer, Answer::NoData { .. }), "{} {:?}", zname, res);
                                } else {
                                    prop_assert_eq!(res.addresses(), want);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// (e) The plan does not depend on the order of clusters, services, shards or addresses.
    #[test]
    fn plan_does_not_depend_on_input_order(snap in snapshots(true), seed in any::<u64>()) {
        let p1 = plan(&snap).unwrap();
        let mut s = snap.clone();
        shuffle(&mut s.clusters, seed);
        shuffle(&mut s.services, seed ^ 1);
        for (i, svc) in s.services.iter_mut().enumerate() {
            shuffle(&mut svc.shards, seed ^ (i as u64 + 2));
            for sh in &mut svc.shards {
                shuffle(&mut sh.addresses, seed ^ 99);
                shuffle(&mut sh.hostnames, seed ^ 98);
            }
        }
        let p2 = plan(&s).unwrap();
        prop_assert_eq!(p1, p2);
    }

    /// Planning with cached names gives the same as planning from scratch; names of another
    /// service are not used.
    #[test]
    fn cached_names_change_nothing(snap in snapshots(true)) {
        let planner = Planner::new(&snap).unwrap();
        let mut previous: Option<ServiceNames> = None;
        for svc in &snap.services {
            let names = planner.names_for(&svc.key).unwrap();
            prop_assert_eq!(planner.plan_service_with(svc, &names), planner.plan_service(svc));
            if let Some(other) = &previous {
                prop_assert_eq!(planner.plan_service_with(svc, other), planner.plan_service(svc));
            }
            previous = Some(names);
        }
    }

    /// Re-planning after a shard change and diffing only the names that changed gives what
    /// the full diff gives at those names, and nothing elsewhere; on a zone in step with the
    /// earlier plan, exactly the full diff.
    #[test]
    fn diff_of_a_replanned_service_matches_the_full_diff(
        snap in snapshots(true),
        raw in raw_current(),
        pick in any::<prop::sample::Index>(),
        ready in 0u32..3,
        drop_addresses in any::<bool>(),
    ) {
        prop_assume!(!snap.services.is_empty());
        let r = registry();
        let planner = Planner::new(&snap).unwrap();
        let before = plan(&snap).unwrap().records;
        let current = current_from(&raw, &before, &r);
        let first = diff(&current, &before, &r);
        // The zone after the earlier plan was applied (conflicting names stay as they were).
        let zone = apply_changes(&current, &first);
        // One shard of one service changes.
        let mut changed = snap.clone();
        let svc = pick.index(changed.services.len());
        let service = &mut changed.services[svc];
        prop_assume!(!service.shards.is_empty());
        let at = pick.index(service.shards.len());
        let shard = &mut service.shards[at];
        shard.ready_endpoints = ready;
        if drop_addresses {
            shard.addresses.clear();
        }
        let after = plan(&changed).unwrap().records;
        let full = diff(&zone, &after, &r);
        let quick = diff_replanned(&zone, &before, &after, &r);
        // Only this service's names can differ between the plans.
        let only_one = planner.plan_service(&changed.services[svc]).records;
        let service_before = planner.plan_service(&snap.services[svc]).records;
        prop_assert_eq!(
            &quick,
            &diff_replanned(&zone, &service_before, &only_one, &r)
        );
        for g in &quick.groups {
            prop_assert!(full.groups.contains(g), "{:?} not in the full diff", g);
        }
        for c in &quick.conflicts {
            prop_assert!(full.conflicts.contains(c), "{:?} not in the full diff", c);
        }
        let differs = |n: &DnsName| {
            let at = |v: &[RecordSet]| v.iter().filter(|x| x.name() == n).cloned().collect::<Vec<_>>();
            at(&before) != at(&after)
        };
        for g in full.groups.iter().filter(|g| differs(&g.name)) {
            prop_assert!(quick.groups.contains(g), "{:?} missing", g);
        }
        for c in full.conflicts.iter().filter(|c| differs(&c.name)) {
            prop_assert!(quick.conflicts.contains(c), "{:?} missing", c);
        }
        if first.conflicts.is_empty() {
            prop_assert_eq!(quick, full);
        }
    }

    /// (g) Batches never split a group and respect the limits.
    #[test]
    fn batches_keep_groups_whole_and_respect_limits(
        snap in snapshots(true),
        raw in raw_current(),
        max_changes in 1usize..12,
        update_cost in 1usize..3,
        max_groups in proptest::option::of(1usize..4),
    ) {
        let r = registry();
        let desired = plan(&snap).unwrap().records;
        let current = current_from(&raw, &desired, &r);
        let changes = diff(&current, &desired, &r);
        check_batches(&changes, &BatchLimits { max_changes, update_cost, max_groups })?;
        check_batches(&changes, &BatchLimits::UNLIMITED)?;
    }
}
