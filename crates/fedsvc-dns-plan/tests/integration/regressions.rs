//! One test per planning problem users of the original controller hit (REFERENCE §1).

use fedsvc_dns_plan::{Registry, apply_changes, diff, plan};
use fedsvc_model::{RData, RecordType};

use crate::fixtures::*;

/// Bug 3: only the first zone of a multi-zone cluster got records; targets were duplicated.
#[test]
fn multi_zone_cluster_gets_every_zone_without_duplicates() {
    let p = plan(&multi_zone_cluster()).unwrap();
    let r = &p.records;
    assert_eq!(addresses_at(r, &web("us-a")), ips(&["10.1.0.1"]));
    assert_eq!(addresses_at(r, &web("us-b")), ips(&["10.1.0.1"]));
    assert_eq!(addresses_at(r, &web("us")), ips(&["10.1.0.1"]));
    assert_eq!(addresses_at(r, &web("")), ips(&["10.1.0.1"]));
    for rs in r {
        let mut d = rs.data().to_vec();
        d.dedup();
        assert_eq!(d.len(), rs.data().len(), "{rs:?}");
    }
}

/// Bug 7: a zone without backends got no CNAME, breaking the chain.
#[test]
fn zone_without_backends_gets_a_cname() {
    let p = plan(&multi_zone_cluster()).unwrap();
    assert_eq!(cname_at(&p.records, &web("us-c")), Some(web("us")));
    // Also a zone whose cluster has no shard at all.
    let p = plan(&region_without_backends()).unwrap();
    assert_eq!(cname_at(&p.records, &web("eu-a")), Some(web("eu")));
}

/// Bug 5: offline clusters were never removed from DNS.
#[test]
fn unready_cluster_keeps_its_cnames_and_its_shard_leaves() {
    let p = plan(&offline_cluster()).unwrap();
    let r = &p.records;
    assert_eq!(cname_at(r, &web("us-b")), Some(web("us")));
    assert_eq!(addresses_at(r, &web("us")), ips(&["10.1.0.1"]));
    assert_eq!(addresses_at(r, &web("")), ips(&["10.1.0.1", "10.2.0.1"]));
    // And the diff from the healthy state removes the address.
    let mut healthy = offline_cluster();
    healthy.clusters.iter_mut().for_each(|c| c.ready = true);
    let registry = Registry::txt(label("fed"));
    let before = registry.with_ownership(&plan(&healthy).unwrap().records);
    let changes = diff(&before, r, &registry);
    let after = apply_changes(&before, &changes);
    assert!(!addresses_at(&after, &web("")).contains(&ip("10.1.0.2")));
    assert_eq!(cname_at(&after, &web("us-b")), Some(web("us")));
}

/// Bug 4: deleting a service leaked its CNAMEs; unjoining a cluster leaked its addresses.
#[test]
fn deleted_service_and_unjoined_cluster_leave_nothing_behind() {
    let registry = Registry::txt(label("fed"));
    let s = zone_a_healthy();
    let current = registry.with_ownership(&plan(&s).unwrap().records);
    let mut gone = s.clone();
    gone.services.clear();
    let after = apply_changes(
        &current,
        &diff(&current, &plan(&gone).unwrap().records, &registry),
    );
    assert!(after.is_empty(), "{after:?}");

    let mut unjoined = s.clone();
    unjoined.clusters.retain(|c| c.name.as_str() != "c-us-a");
    unjoined.services[0]
        .shards
        .retain(|sh| sh.cluster.as_str() != "c-us-a");
    let changes = diff(&current, &plan(&unjoined).unwrap().records, &registry);
    let after = apply_changes(&current, &changes);
    assert!(at(&after, &web("us-a")).is_empty());
    let owner = name(&format!("_fedsvc.{}", web("us-a")));
    assert!(at(&after, &owner).is_empty());
    assert!(after.iter().all(|r| {
        !r.data()
            .contains(&RData::parse(&RecordType::A, "10.1.0.1").unwrap())
    }));
}

/// Bug 8: unsorted data compared element-wise gave endless rewrites.
#[test]
fn shard_and_address_order_never_causes_a_diff() {
    let registry = Registry::txt(label("fed"));
    let mut a = guide();
    let current = registry.with_ownership(&plan(&a).unwrap().records);
    a.services[0].shards.reverse();
    a.clusters.reverse();
    for sh in &mut a.services[0].shards {
        sh.addresses.reverse();
    }
    let changes = diff(&current, &plan(&a).unwrap().records, &registry);
    assert!(changes.is_empty(), "{changes:?}");
}

/// Bug 6: the fixed TTL made failover slow.
#[test]
fn ttl_is_configurable_and_a_change_is_an_update() {
    let registry = Registry::txt(label("fed"));
    let mut s = zone_a_healthy();
    let current = registry.with_ownership(&plan(&s).unwrap().records);
    s.services[0].ttl = Some(20);
    let desired = plan(&s).unwrap().records;
    assert!(desired.iter().all(|r| r.ttl() == 20));
    let changes = diff(&current, &desired, &registry);
    assert!(
        changes
            .groups
            .iter()
            .all(|g| g.create.is_empty() && g.delete.is_empty())
    );
    assert!(!changes.is_empty());
    assert!(diff(&apply_changes(&current, &changes), &desired, &registry).is_empty());
}

/// Bug 9: "remove every rrset at the name, then add" deleted users' TXT/SRV records.
#[test]
fn user_txt_and_srv_at_our_names_survive_updates_and_flips() {
    let registry = Registry::txt(label("fed"));
    let s = zone_a_healthy();
    let mut current = registry.with_ownership(&plan(&s).unwrap().records);
    let txt = set(&web("us-a"), "TXT", 300, &["\"v=user\""]);
    let srv = set(&web("us-b"), "SRV", 300, &["0 5 80 web.example.net."]);
    current.push(txt.clone());
    current.push(srv.clone());
    // us-a loses its shard: its A set becomes... a CNAME is wanted, but the user's TXT is
    // there, so that name is a conflict and left as it is.
    let mut t = s.clone();
    t.services[0].shards[1].ready_endpoints = 0; // c-us-a (sorted: c-eu-a, c-us-a, c-us-b)
    t.services[0].shards[2].ready_endpoints = 1; // c-us-b becomes healthy: CNAME → A
    let desired = plan(&t).unwrap().records;
    let changes = diff(&current, &desired, &registry);
    assert!(changes.conflicts.iter().any(|c| c.name == web("us-a")));
    let group = changes
        .groups
        .iter()
        .find(|g| g.name == web("us-b"))
        .unwrap();
    assert_eq!(group.delete.len(), 1);
    assert_eq!(group.delete[0].rtype(), &RecordType::Cname);
    assert_eq!(group.create.len(), 1);
    let after = apply_changes(&current, &changes);
    assert!(after.contains(&txt));
    assert!(after.contains(&srv));
    for g in &changes.groups {
        assert!(
            g.delete
                .iter()
                .chain(&g.update_old)
                .all(|r| r != &txt && r != &srv)
        );
    }
}

/// Bug 2: duplicate addresses from multi-AZ load balancers broke change batches.
#[test]
fn duplicate_load_balancer_addresses_are_deduplicated() {
    let s = with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![
                shard("c-us-a", &["10.1.0.1", "10.1.0.9"], 1),
                shard("c-us-b", &["10.1.0.9", "10.1.0.1"], 1),
                shard("c-eu-a", &["10.1.0.9"], 1),
            ],
        )],
    );
    let p = plan(&s).unwrap();
    for n in [web("us"), web("")] {
        let sets = at(&p.records, &n);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].data().len(), 2, "{n}");
    }
}
