//! Ownership, conflicts, policies, batches and the strict apply.

use fedsvc_dns_plan::{
    ApplyError, BatchLimits, Naming, Policy, Registry, apply_changes, diff, plan, try_apply_changes,
};
use std::collections::BTreeSet;

use fedsvc_model::RecordType;

use crate::fixtures::*;

fn registry() -> Registry {
    Registry::txt(label("fed"))
}

fn owner_txt(of: &fedsvc_model::DnsName, owner: &str, federation: &str) -> fedsvc_model::RecordSet {
    set(
        &name(&format!("_fedsvc.{of}")),
        "TXT",
        180,
        &[&format!(
            "heritage=fedsvc,fedsvc/owner={owner},fedsvc/federation={federation}"
        )],
    )
}

#[test]
fn an_empty_zone_gets_records_and_ownership_in_one_group_per_name() {
    let desired = plan(&zone_a_healthy()).unwrap().records;
    let changes = diff(&[], &desired, &registry());
    let mut names: Vec<_> = desired.iter().map(|r| r.name().clone()).collect();
    names.dedup();
    let groups: Vec<_> = changes.groups.iter().map(|g| g.name.clone()).collect();
    assert_eq!(groups, names);
    for g in &changes.groups {
        let txt: Vec<_> = g
            .create
            .iter()
            .filter(|r| r.rtype() == &RecordType::Txt)
            .collect();
        assert_eq!(txt.len(), 1);
        assert_eq!(txt[0].name().as_str(), format!("_fedsvc.{}", g.name));
        assert!(
            txt[0].data()[0]
                .to_string()
                .contains("fedsvc/resource=service/shop/web")
        );
    }
}

#[test]
fn foreign_addresses_at_a_desired_name_are_a_conflict_left_alone() {
    let desired = plan(&zone_a_healthy()).unwrap().records;
    let theirs = a_set(&web("us-a"), 60, &["192.0.2.1"]);
    let changes = diff(std::slice::from_ref(&theirs), &desired, &registry());
    let c: Vec<_> = changes.conflicts.iter().map(|c| c.name.clone()).collect();
    assert_eq!(c, vec![web("us-a")]);
    assert!(changes.conflicts[0].reason.contains("not owned"));
    assert!(changes.groups.iter().all(|g| g.name != web("us-a")));
    let after = apply_changes(std::slice::from_ref(&theirs), &changes);
    assert!(after.contains(&theirs));
}

#[test]
fn a_cname_beside_a_user_record_is_a_conflict_even_when_unowned() {
    let desired = plan(&zone_a_healthy()).unwrap().records;
    let mx = set(&web("us-b"), "MX", 60, &["10 mail.example.com."]);
    let changes = diff(std::slice::from_ref(&mx), &desired, &registry());
    assert_eq!(changes.conflicts.len(), 1);
    assert_eq!(changes.conflicts[0].name, web("us-b"));
    assert!(changes.conflicts[0].reason.contains("MX"));
}

#[test]
fn another_owner_or_federation_is_a_conflict() {
    let desired = plan(&zone_a_healthy()).unwrap().records;
    for (owner, fed) in [("other", "fed"), ("fedsvc", "otherfed")] {
        let txt = owner_txt(&web(""), owner, fed);
        let a = a_set(&web(""), 180, &["192.0.2.7"]);
        let changes = diff(&[txt.clone(), a.clone()], &desired, &registry());
        assert_eq!(changes.conflicts.len(), 1, "{owner}/{fed}");
        assert!(changes.conflicts[0].reason.contains(owner));
        let after = apply_changes(&[txt.clone(), a.clone()], &changes);
        assert!(after.contains(&txt) && after.contains(&a));
    }
}

#[test]
fn ownership_is_read_in_any_order() {
    let txt = set(
        &name(&format!("_fedsvc.{}", web("gone"))),
        "TXT",
        180,
        &["fedsvc/federation=fed, heritage=fedsvc ,fedsvc/owner=fedsvc"],
    );
    let a = a_set(&web("gone"), 180, &["192.0.2.7"]);
    let changes = diff(&[txt.clone(), a.clone()], &[], &registry());
    assert_eq!(changes.groups.len(), 1);
    assert_eq!(changes.groups[0].delete, vec![a, txt]);
}

#[test]
fn owned_names_no_longer_desired_are_deleted_with_their_ownership() {
    let r = registry();
    let current = r.with_ownership(&plan(&zone_a_healthy()).unwrap().records);
    let changes = diff(&current, &[], &r);
    assert!(changes.conflicts.is_empty());
    assert!(apply_changes(&current, &changes).is_empty());
    // Only deletes.
    assert!(
        changes
            .groups
            .iter()
            .all(|g| g.create.is_empty() && g.update_new.is_empty())
    );
}

#[test]
fn unowned_names_outside_desired_are_never_touched() {
    let stray = a_set(&web("elsewhere"), 60, &["192.0.2.9"]);
    let changes = diff(std::slice::from_ref(&stray), &[], &registry());
    assert!(changes.groups.is_empty() && changes.conflicts.is_empty());
}

#[test]
fn registry_none_owns_every_name_of_the_federation_shape() {
    let s = zone_a_healthy();
    let r = Registry::none(&Naming::from_snapshot(&s));
    let stale = a_set(&web("old-zone"), 60, &["192.0.2.9"]);
    let other = a_set(&name("www.example.com"), 60, &["192.0.2.10"]);
    let mine = a_set(&web("us-a"), 60, &["192.0.2.1"]);
    let current = vec![stale.clone(), other.clone(), mine];
    let desired = plan(&s).unwrap().records;
    let changes = diff(&current, &desired, &r);
    assert!(changes.conflicts.is_empty());
    let after = apply_changes(&current, &changes);
    assert!(!after.contains(&stale));
    assert!(after.contains(&other));
    assert_eq!(addresses_at(&after, &web("us-a")), ips(&["10.1.0.1"]));
    assert!(after.iter().all(|r| r.rtype() != &RecordType::Txt));
    assert!(diff(&after, &desired, &r).is_empty());
}

#[test]
fn a_to_cname_flip_is_one_group_deleting_first() {
    let r = registry();
    let s = zone_a_healthy();
    let current = r.with_ownership(&plan(&s).unwrap().records);
    let mut t = s.clone();
    t.services[0].shards[1].ready_endpoints = 0; // c-us-a
    let changes = diff(&current, &plan(&t).unwrap().records, &r);
    let g = changes
        .groups
        .iter()
        .find(|g| g.name == web("us-a"))
        .unwrap();
    assert_eq!(g.delete.len(), 1);
    assert_eq!(g.delete[0].rtype(), &RecordType::A);
    assert_eq!(g.create.len(), 1);
    assert_eq!(g.create[0].rtype(), &RecordType::Cname);
    // Strict application (like a real server) accepts it.
    let after = try_apply_changes(&current, &changes).unwrap();
    assert!(diff(&after, &plan(&t).unwrap().records, &r).is_empty());
}

#[test]
fn upsert_only_keeps_deletes_out_and_refuses_flips() {
    let r = registry();
    let s = zone_a_healthy();
    let current = r.with_ownership(&plan(&s).unwrap().records);
    let mut t = s.clone();
    t.services[0].shards[1].ready_endpoints = 0;
    let changes = diff(&current, &plan(&t).unwrap().records, &r);
    let upsert = Policy::UpsertOnly.apply(changes.clone());
    assert!(upsert.groups.iter().all(|g| g.delete.is_empty()));
    assert!(upsert.conflicts.iter().any(|c| c.name == web("us-a")));
    assert!(try_apply_changes(&current, &upsert).is_ok());
    let create = Policy::CreateOnly.apply(changes.clone());
    assert!(
        create
            .groups
            .iter()
            .all(|g| g.delete.is_empty() && g.update_new.is_empty())
    );
    assert_eq!(Policy::Sync.apply(changes.clone()), changes);
    // Deleting a whole service under upsert-only deletes nothing.
    let none = Policy::UpsertOnly.apply(diff(&current, &[], &r));
    assert!(none.is_empty());
}

#[test]
fn batches_keep_groups_whole() {
    let desired = plan(&guide()).unwrap().records;
    let changes = diff(&[], &desired, &registry());
    let limits = BatchLimits {
        max_changes: 5,
        update_cost: 2,
        max_groups: None,
    };
    let batches = changes.batches(&limits);
    assert!(batches.len() > 1);
    let flat: Vec<_> = batches.iter().flatten().cloned().collect();
    assert_eq!(flat, changes.groups);
    for b in &batches {
        let cost: usize = b.iter().map(|g| g.cost(&limits)).sum();
        assert!(cost <= 5 || b.len() == 1);
    }
}

#[test]
fn strict_apply_refuses_what_a_server_would() {
    let n = web("us-a");
    let a = a_set(&n, 60, &["10.0.0.1"]);
    let mut changes = diff(
        &[],
        std::slice::from_ref(&a),
        &Registry::none(&Naming::from_snapshot(&zone_a_healthy())),
    );
    assert!(matches!(
        try_apply_changes(std::slice::from_ref(&a), &changes),
        Err(ApplyError::Exists { .. })
    ));
    changes.groups[0].create = vec![set(&n, "CNAME", 60, &["x.example.com."])];
    assert!(matches!(
        try_apply_changes(std::slice::from_ref(&a), &changes),
        Err(ApplyError::CnameBesideOther { .. })
    ));
    changes.groups[0].create.clear();
    changes.groups[0].delete = vec![a_set(&n, 60, &["10.0.0.2"])];
    assert!(matches!(
        try_apply_changes(std::slice::from_ref(&a), &changes),
        Err(ApplyError::Missing { .. })
    ));
}

#[test]
fn counts_add_up() {
    let r = registry();
    let desired = plan(&zone_a_healthy()).unwrap().records;
    let changes = diff(&[], &desired, &r);
    let names: BTreeSet<_> = desired.iter().map(|x| x.name().clone()).collect();
    assert_eq!(changes.creates(), desired.len() + names.len());
    assert_eq!((changes.updates(), changes.deletes()), (0, 0));
    let current = apply_changes(&[], &changes);
    let gone = diff(&current, &[], &r);
    assert_eq!(gone.deletes(), current.len());
    assert_eq!((gone.creates(), gone.updates()), (0, 0));
    // Huge costs saturate instead of overflowing.
    let limits = BatchLimits {
        max_changes: usize::MAX,
        update_cost: usize::MAX,
        max_groups: None,
    };
    let mut t = zone_a_healthy();
    t.services[0].ttl = Some(1);
    let upd = diff(&current, &plan(&t).unwrap().records, &r);
    assert!(upd.updates() > 0);
    assert!(!upd.batches(&limits).is_empty());
}
