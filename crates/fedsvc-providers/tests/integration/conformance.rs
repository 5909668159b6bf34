//! The behaviour every backend must show, written once and run against each of them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use fedsvc_dns_plan::{BatchLimits, ChangeGroup, Changes};
use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
use fedsvc_providers::{Counting, DnsProvider, ProviderError, RetryPolicy, Retrying};

pub(crate) fn n(s: &str) -> DnsName {
    s.parse().unwrap()
}

pub(crate) fn a(name: &str, ttl: u32, ips: &[&str]) -> RecordSet {
    RecordSet::new(
        n(name),
        RecordType::A,
        ttl,
        ips.iter().map(|ip| RData::A(ip.parse().unwrap())).collect(),
    )
    .unwrap()
}

pub(crate) fn aaaa(name: &str, ttl: u32, ips: &[&str]) -> RecordSet {
    RecordSet::new(
        n(name),
        RecordType::Aaaa,
        ttl,
        ips.iter()
            .map(|ip| RData::Aaaa(ip.parse().unwrap()))
            .collect(),
    )
    .unwrap()
}

pub(crate) fn txt(name: &str, ttl: u32, text: &str) -> RecordSet {
    RecordSet::new(n(name), RecordType::Txt, ttl, vec![RData::Txt(text.into())]).unwrap()
}

pub(crate) fn cname(name: &str, ttl: u32, target: &str) -> RecordSet {
    RecordSet::cname(n(name), ttl, n(target))
}

pub(crate) fn mx(name: &str, ttl: u32, data: &str) -> RecordSet {
    RecordSet::new(
        n(name),
        RecordType::Other("MX".into()),
        ttl,
        vec![RData::Other(data.into())],
    )
    .unwrap()
}

pub(crate) fn create(sets: Vec<RecordSet>) -> ChangeGroup {
    let mut g = ChangeGroup::new(sets[0].name().clone());
    g.create = sets;
    g
}

pub(crate) fn delete(sets: Vec<RecordSet>) -> ChangeGroup {
    let mut g = ChangeGroup::new(sets[0].name().clone());
    g.delete = sets;
    g
}

pub(crate) fn changes(groups: Vec<ChangeGroup>) -> Changes {
    let mut groups = groups;
    groups.sort_by(|x, y| x.name.cmp(&y.name));
    Changes {
        groups,
        conflicts: Vec::new(),
    }
}

/// Foreign records that tests seed before running and check survive: at names fedsvc never
/// touches, and at a name where fedsvc writes an A set (`api.svc.example.com.`).
pub(crate) fn foreign_records() -> Vec<RecordSet> {
    vec![
        txt("foreign.example.com", 300, "v=someone-else"),
        mx("example.com", 300, "10 mail.example.com."),
        txt("api.svc.example.com", 300, "note=kept by the user"),
        mx("api.svc.example.com", 300, "20 mx2.example.com."),
    ]
}

/// The same records as zone-file lines, for servers seeded from a file.
pub(crate) fn foreign_zone_lines() -> Vec<String> {
    foreign_records()
        .iter()
        .flat_map(RecordSet::to_zone_lines)
        .collect()
}

pub(crate) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
    }
}

/// The zone as `list` returns it, checked against what `list_each` hands over.
async fn listed(p: &dyn DnsProvider) -> Vec<RecordSet> {
    let mut v = p
        .list()
        .await
        .unwrap_or_else(|e| panic!("list failed: {e}"));
    v.sort();
    // `list_each` may hand a set over in pieces: their union, with the smallest TTL.
    let mut pieces: BTreeMap<(DnsName, RecordType), (u32, Vec<RData>)> = BTreeMap::new();
    p.list_each(&mut |rs| {
        let (ttl, data) = pieces
            .entry((rs.name().clone(), rs.rtype().clone()))
            .or_insert((u32::MAX, Vec::new()));
        *ttl = (*ttl).min(rs.ttl());
        data.extend_from_slice(rs.data());
    })
    .await
    .unwrap_or_else(|e| panic!("list_each failed: {e}"));
    let mut each: Vec<RecordSet> = pieces
        .into_iter()
        .map(|((name, rtype), (ttl, data))| RecordSet::new(name, rtype, ttl, data).unwrap())
        .collect();
    each.sort();
    assert_eq!(each, v, "list_each and list disagree");
    v
}

fn assert_has(all: &[RecordSet], rs: &RecordSet) {
    assert!(
        all.contains(rs),
        "{} {} missing or different; zone holds:\n{}",
        rs.name(),
        rs.rtype(),
        all.iter()
            .flat_map(RecordSet::to_zone_lines)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn assert_absent(all: &[RecordSet], name: &str, rtype: &RecordType) {
    assert!(
        !all.iter()
            .any(|r| r.name() == &n(name) && r.rtype() == rtype),
        "{name} {rtype} should be absent"
    );
}

/// Polls `list` until it answers (servers may accept connections before loading the zone).
pub(crate) async fn wait_listable(p: &dyn DnsProvider) {
    let mut last = None;
    for _ in 0..100 {
        match p.list().await {
            Ok(_) => return,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} never listed: {}", p.name(), last.unwrap());
}

/// Everything that must hold for a provider whose zone was seeded with
/// [`foreign_records`]. `dns` is the address that serves the zone over DNS, if any, for the
/// resolver loop during the A↔CNAME flip. `p` must report `limits` of 3 changes per batch.
pub(crate) async fn run_all<P: DnsProvider>(p: P, dns: Option<SocketAddr>) {
    let p = Retrying::with_policy(Counting::new(p), fast_policy());
    assert_eq!(
        p.limits().max_changes,
        3,
        "the conformance suite expects a provider limited to 3 changes per batch"
    );
    wait_listable(&p).await;
    let before = listed(&p).await;
    for f in foreign_records() {
        assert_has(&before, &f);
    }

    create_and_list(&p).await;
    empty_change_writes_nothing(&p).await;
    batch_is_all_or_nothing(&p).await;
    batches_are_split(&p).await;
    refuses_invalid(&p).await;
    flip_is_atomic(&p, dns).await;
    delete_removes_cnames(&p).await;

    // Foreign records survived everything.
    let after = listed(&p).await;
    for f in foreign_records() {
        assert_has(&after, &f);
    }
}

async fn create_and_list(p: &Retrying<Counting<impl DnsProvider>>) {
    let sets = vec![
        a("web.svc.example.com", 180, &["10.0.0.2", "10.0.0.1"]),
        aaaa("web.svc.example.com", 180, &["2001:db8::1"]),
        cname("zone-a.web.svc.example.com", 60, "web.svc.example.com"),
        txt(
            "_fedsvc.web.svc.example.com",
            180,
            "heritage=fedsvc,fedsvc/owner=test",
        ),
        a("api.svc.example.com", 180, &["10.0.1.1"]),
    ];
    let groups = vec![
        create(vec![sets[0].clone(), sets[1].clone(), sets[3].clone()]),
        create(vec![sets[2].clone()]),
        create(vec![sets[4].clone()]),
    ];
    let report = p.apply_changes(&changes(groups)).await.unwrap();
    assert_eq!(report.record_sets, 5);
    let all = listed(p).await;
    for rs in &sets {
        assert_has(&all, rs);
    }

    // An update changes TTL and data in place.
    let mut g = ChangeGroup::new(n("web.svc.example.com"));
    g.update_old.push(sets[0].clone());
    g.update_new
        .push(a("web.svc.example.com", 120, &["10.0.0.3", "10.0.0.1"]));
    p.apply_changes(&changes(vec![g])).await.unwrap();
    let all = listed(p).await;
    assert_has(
        &all,
        &a("web.svc.example.com", 120, &["10.0.0.1", "10.0.0.3"]),
    );
}

async fn empty_change_writes_nothing(p: &Retrying<Counting<impl DnsProvider>>) {
    p.inner().reset();
    let report = p.apply_changes(&Changes::default()).await.unwrap();
    assert_eq!(report.batches, 0);
    // Empty groups are dropped too.
    let report = p
        .apply_changes(&changes(vec![ChangeGroup::new(n("web.svc.example.com"))]))
        .await
        .unwrap();
    assert_eq!(report.batches, 0);
    assert_eq!(p.inner().stats().writes, 0);
}

async fn batch_is_all_or_nothing(p: &Retrying<Counting<impl DnsProvider>>) {
    let before = listed(p).await;
    let good = create(vec![a("atomic.svc.example.com", 60, &["10.9.9.9"])]);
    // Deleting a record set that is not there: the whole batch must fail.
    let bad = delete(vec![a("ghost.svc.example.com", 60, &["10.9.9.8"])]);
    let err = p.apply(&[good, bad]).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Conflict { .. }),
        "expected a conflict, got {err}"
    );
    assert!(err.to_string().starts_with(p.name()), "{err}");
    assert_eq!(listed(p).await, before, "a failed batch changed the zone");
}

async fn batches_are_split(p: &Retrying<Counting<impl DnsProvider>>) {
    let groups: Vec<ChangeGroup> = (0..7)
        .map(|i| create(vec![a(&format!("b{i}.svc.example.com"), 60, &["10.2.0.1"])]))
        .collect();
    p.inner().reset();
    let report = p.apply_changes(&changes(groups)).await.unwrap();
    assert_eq!(report.batches, 3, "7 changes at 3 per batch");
    assert_eq!(p.inner().stats().writes, 3);
    let all = listed(p).await;
    for i in 0..7 {
        assert_has(
            &all,
            &a(&format!("b{i}.svc.example.com"), 60, &["10.2.0.1"]),
        );
    }
    let groups: Vec<ChangeGroup> = (0..7)
        .map(|i| delete(vec![a(&format!("b{i}.svc.example.com"), 60, &["10.2.0.1"])]))
        .collect();
    p.apply_changes(&changes(groups)).await.unwrap();
    let all = listed(p).await;
    for i in 0..7 {
        assert_absent(&all, &format!("b{i}.svc.example.com"), &RecordType::A);
    }
}

async fn refuses_invalid(p: &Retrying<Counting<impl DnsProvider>>) {
    let before = listed(p).await;
    // A name outside the zone.
    let err = p
        .apply(&[create(vec![a("web.example.org", 60, &["10.0.0.1"])])])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Invalid { .. }),
        "outside the zone: {err}"
    );
    // A CNAME beside the A and AAAA at web.svc.
    let err = p
        .apply(&[create(vec![cname(
            "web.svc.example.com",
            60,
            "other.example.com",
        )])])
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "CNAME beside data: {err}");
    // Creating what exists.
    let err = p
        .apply(&[create(vec![a("api.svc.example.com", 180, &["10.0.1.1"])])])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::Conflict { .. }),
        "create existing: {err}"
    );
    // An update whose old value does not match.
    let mut g = ChangeGroup::new(n("api.svc.example.com"));
    g.update_old
        .push(a("api.svc.example.com", 180, &["10.7.7.7"]));
    g.update_new
        .push(a("api.svc.example.com", 180, &["10.0.1.2"]));
    let err = p.apply(&[g]).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Conflict { .. }),
        "stale update: {err}"
    );
    assert_eq!(listed(p).await, before, "a refused change altered the zone");
}

/// Flips `flip.svc` between an A set and a CNAME to `target.svc` several times while a task
/// queries it over DNS without pause; every answer must be the old or the new one.
async fn flip_is_atomic(p: &Retrying<Counting<impl DnsProvider>>, dns: Option<SocketAddr>) {
    let name = "flip.svc.example.com";
    let target = "target.svc.example.com";
    let as_a = a(name, 5, &["10.3.0.1"]);
    p.apply_changes(&changes(vec![
        create(vec![a(target, 5, &["10.3.0.2"])]),
        create(vec![as_a.clone()]),
    ]))
    .await
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let good = Arc::new(AtomicU64::new(0));
    let resolver = dns.map(|addr| {
        let stop = stop.clone();
        let good = good.clone();
        tokio::spawn(async move { query_loop(addr, name, stop, good).await })
    });
    // Let the resolver see the first state.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let mut current = as_a.clone();
    for i in 0..10u32 {
        // Every state differs from all earlier ones (TTL, address): moto rejects re-creating
        // a record set identical to one it saw created before.
        let next = if i % 2 == 0 {
            cname(name, 5 + i, target)
        } else {
            a(name, 5 + i, &[&format!("10.3.0.{}", 10 + i)])
        };
        let mut g = ChangeGroup::new(n(name));
        g.delete.push(current.clone());
        g.create.push(next.clone());
        p.apply_changes(&changes(vec![g])).await.unwrap();
        let all = listed(p).await;
        assert_has(&all, &next);
        assert_absent(&all, name, current.rtype());
        current = next;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    if let Some(task) = resolver {
        let bad = task.await.unwrap();
        assert!(
            bad.is_empty(),
            "the resolver saw {} bad answers during the flips, e.g. {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        assert!(
            good.load(Ordering::SeqCst) > 10,
            "the resolver made too few queries"
        );
    }
    // Back to nothing: delete both.
    p.apply_changes(&changes(vec![
        delete(vec![current]),
        delete(vec![a(target, 5, &["10.3.0.2"])]),
    ]))
    .await
    .unwrap();
}

/// Queries `name` A until stopped; returns the answers that were neither the A set nor the
/// CNAME (NXDOMAIN, SERVFAIL, empty answers, errors).
async fn query_loop(
    addr: SocketAddr,
    name: &str,
    stop: Arc<AtomicBool>,
    good: Arc<AtomicU64>,
) -> Vec<String> {
    use hickory_net::client::{Client, ClientHandle};
    use hickory_net::runtime::TokioRuntimeProvider;
    use hickory_net::udp::UdpClientStream;
    use hickory_proto::rr::{DNSClass, Name, RecordType as HType};

    let stream = UdpClientStream::builder(addr, TokioRuntimeProvider::default())
        .with_timeout(Some(Duration::from_secs(2)))
        .build();
    let (mut client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
    let bg = tokio::spawn(bg);
    let qname = Name::from_ascii(name).unwrap();
    let mut bad = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match client.query(qname.clone(), DNSClass::IN, HType::A).await {
            Ok(resp) => {
                let ok = resp.metadata.response_code == hickory_proto::op::ResponseCode::NoError
                    && resp.answers.iter().any(|r| {
                        matches!(r.record_type(), HType::A | HType::CNAME)
                            && r.name.to_ascii().eq_ignore_ascii_case(&format!("{name}."))
                    });
                if ok {
                    good.fetch_add(1, Ordering::SeqCst);
                } else {
                    bad.push(format!(
                        "{} with {} answers",
                        resp.metadata.response_code,
                        resp.answers.len()
                    ));
                }
            }
            Err(e) => bad.push(e.to_string()),
        }
    }
    bg.abort();
    bad
}

async fn delete_removes_cnames(p: &Retrying<Counting<impl DnsProvider>>) {
    let all = listed(p).await;
    let ours: Vec<RecordSet> = all
        .iter()
        .filter(|r| r.rtype().is_address_or_alias() || r.name().as_str().starts_with("_fedsvc."))
        .filter(|r| r.name().as_str().ends_with(".svc.example.com."))
        .cloned()
        .collect();
    assert!(ours.iter().any(|r| r.rtype() == &RecordType::Cname));
    let mut by_name: std::collections::BTreeMap<DnsName, ChangeGroup> = Default::default();
    for rs in ours {
        by_name
            .entry(rs.name().clone())
            .or_insert_with(|| ChangeGroup::new(rs.name().clone()))
            .delete
            .push(rs);
    }
    p.apply_changes(&changes(by_name.into_values().collect()))
        .await
        .unwrap();
    let all = listed(p).await;
    assert!(
        !all.iter().any(|r| r.rtype() == &RecordType::Cname),
        "a CNAME survived deletion"
    );
    assert_absent(&all, "web.svc.example.com", &RecordType::A);
    assert_absent(&all, "api.svc.example.com", &RecordType::A);
}

/// An outage: the write fails with a retryable error after bounded retries.
pub(crate) async fn down_is_retryable(p: impl DnsProvider) {
    let p = Retrying::with_policy(Counting::new(p), fast_policy());
    let err = p
        .apply_changes(&changes(vec![create(vec![a(
            "down.svc.example.com",
            60,
            &["10.0.0.1"],
        )])]))
        .await
        .unwrap_err();
    assert!(err.source.is_retryable(), "{err}");
    assert_eq!(err.applied.batches, 0);
    assert_eq!(
        p.inner().stats().writes,
        3,
        "retried up to the policy's bound"
    );
    assert!(err.to_string().contains(p.name()), "{err}");
    assert!(p.list().await.unwrap_err().is_retryable());
}

/// Limits of three changes per batch, as [`run_all`] expects.
pub(crate) const LIMIT_3: BatchLimits = BatchLimits {
    max_changes: 3,
    update_cost: 1,
    max_groups: None,
};
