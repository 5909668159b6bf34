//! Named scenarios: what each level becomes.

use fedsvc_dns_plan::{Answer, Level, PlanError, Planner, explain, plan, resolve};
use fedsvc_model::{RecordType, Service, ServiceKey, Severity, ZoneNaming};

use crate::fixtures::*;

#[test]
fn zone_a_healthy_gives_addresses_up_the_chain_and_cnames_elsewhere() {
    let p = plan(&zone_a_healthy()).unwrap();
    let r = &p.records;
    assert_eq!(addresses_at(r, &web("us-a")), ips(&["10.1.0.1"]));
    assert_eq!(cname_at(r, &web("us-b")), Some(web("us")));
    assert_eq!(addresses_at(r, &web("us")), ips(&["10.1.0.1"]));
    assert_eq!(cname_at(r, &web("eu-a")), Some(web("eu")));
    assert_eq!(cname_at(r, &web("eu")), Some(web("")));
    assert_eq!(addresses_at(r, &web("")), ips(&["10.1.0.1"]));
    assert!(p.diagnostics.is_empty());
}

#[test]
fn region_without_backends_points_at_the_global_name() {
    let p = plan(&region_without_backends()).unwrap();
    let r = &p.records;
    assert_eq!(cname_at(r, &web("eu")), Some(web("")));
    assert_eq!(cname_at(r, &web("eu-a")), Some(web("eu")));
    assert_eq!(addresses_at(r, &web("")), ips(&["10.1.0.1", "10.1.0.2"]));
    let res = resolve(r, &web("eu-a"), &RecordType::A);
    assert_eq!(res.chain.len(), 2);
    assert_eq!(res.addresses(), ips(&["10.1.0.1", "10.1.0.2"]));
}

#[test]
fn nothing_healthy_leaves_the_global_name_out() {
    let p = plan(&nothing_healthy()).unwrap();
    let r = &p.records;
    assert!(at(r, &web("")).is_empty());
    assert_eq!(cname_at(r, &web("us")), Some(web("")));
    let res = resolve(r, &web("us-a"), &RecordType::A);
    assert!(
        matches!(&res.answer, Answer::NxDomain { name: n } if *n == web("")),
        "{res:?}"
    );
}

#[test]
fn one_load_balancer_hostname_is_a_cname_to_it() {
    let s = with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![
                lb_shard("c-us-a", &["a1.elb.amazonaws.com"], 1),
                shard("c-eu-a", &["10.2.0.1"], 1),
            ],
        )],
    );
    let p = plan(&s).unwrap();
    let r = &p.records;
    let elb = name("a1.elb.amazonaws.com");
    assert_eq!(cname_at(r, &web("us-a")), Some(elb.clone()));
    assert_eq!(cname_at(r, &web("us")), Some(elb));
    assert_eq!(cname_at(r, &web("us-b")), Some(web("us")));
    // The global level has an address, so hostnames do not count there.
    assert_eq!(addresses_at(r, &web("")), ips(&["10.2.0.1"]));
    assert!(p.diagnostics.is_empty());
}

#[test]
fn two_hostnames_fall_back_like_an_empty_level_with_a_warning() {
    let s = with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![
                lb_shard("c-us-a", &["a1.elb.amazonaws.com"], 1),
                lb_shard("c-us-b", &["b2.elb.amazonaws.com"], 1),
            ],
        )],
    );
    let p = plan(&s).unwrap();
    let r = &p.records;
    assert_eq!(
        cname_at(r, &web("us-a")),
        Some(name("a1.elb.amazonaws.com"))
    );
    assert_eq!(cname_at(r, &web("us")), Some(web("")));
    assert!(at(r, &web("")).is_empty());
    let warnings: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().all(|d| d.subject.contains("shop/web")));
    assert!(warnings[0].message.contains("b2.elb.amazonaws.com"));
}

#[test]
fn unresolved_hostname_of_an_unhealthy_shard_is_not_used() {
    let s = with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![lb_shard("c-us-a", &["a1.elb.amazonaws.com"], 0)],
        )],
    );
    let p = plan(&s).unwrap();
    assert_eq!(cname_at(&p.records, &web("us-a")), Some(web("us")));
}

#[test]
fn ipv4_and_ipv6_stand_side_by_side() {
    let s = with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![shard("c-us-a", &["2001:db8::1", "10.1.0.1"], 1)],
        )],
    );
    let p = plan(&s).unwrap();
    let sets = at(&p.records, &web("us-a"));
    let types: Vec<_> = sets.iter().map(|r| r.rtype().clone()).collect();
    assert_eq!(types, vec![RecordType::A, RecordType::Aaaa]);
    assert_eq!(
        addresses_at(&p.records, &web("")),
        ips(&["10.1.0.1", "2001:db8::1"])
    );
}

#[test]
fn service_ttl_beats_snapshot_ttl_which_beats_the_default() {
    let mut s = zone_a_healthy();
    assert!(plan(&s).unwrap().records.iter().all(|r| r.ttl() == 180));
    s.ttl = 30;
    assert!(plan(&s).unwrap().records.iter().all(|r| r.ttl() == 30));
    s.services[0].ttl = Some(5);
    assert!(plan(&s).unwrap().records.iter().all(|r| r.ttl() == 5));
}

#[test]
fn a_service_with_too_long_names_is_skipped_and_named() {
    let long_ns = "n".repeat(63);
    let long_svc = "s".repeat(63);
    let mut s = zone_a_healthy();
    s.dns_suffix = name(&format!(
        "{}.{}.example.com",
        "d".repeat(60),
        "e".repeat(60)
    ));
    s.services.push(service(&long_ns, &long_svc, vec![]));
    let p = plan(&s).unwrap();
    let errors: Vec<_> = p
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", p.diagnostics);
    assert!(errors[0].subject.contains(&long_svc));
    assert!(errors[0].message.contains("253"));
    assert!(
        p.records
            .iter()
            .all(|r| r.name().as_str().starts_with("web."))
    );
    assert!(!p.records.is_empty());
}

#[test]
fn zone_label_in_two_regions_fails_the_plan_and_suggests_zone_region() {
    let mut s = topology(&[("c1", "r1", &["z"], true), ("c2", "r2", &["z"], true)]);
    let err = plan(&s).unwrap_err();
    assert!(matches!(&err, PlanError::ZoneInTwoRegions { zone, .. } if zone.as_str() == "z"));
    assert!(err.to_string().contains("zoneNaming: zone-region"), "{err}");
    s.zone_naming = ZoneNaming::ZoneRegion;
    assert!(plan(&s).is_ok());
}

#[test]
fn level_of_tells_service_and_level() {
    let s = zone_a_healthy();
    let p = Planner::new(&s).unwrap();
    let key = ServiceKey::parse("shop", "web").unwrap();
    assert_eq!(p.level_of(&web("")), Some((key.clone(), Level::Global)));
    assert_eq!(
        p.level_of(&web("eu")),
        Some((
            key.clone(),
            Level::Region {
                region: label("eu")
            }
        ))
    );
    assert_eq!(
        p.level_of(&web("us-b")),
        Some((
            key,
            Level::Zone {
                zone: label("us-b"),
                region: label("us")
            }
        ))
    );
    assert_eq!(p.level_of(&web("mars")), None);
    assert_eq!(p.level_of(&name("www.example.com")), None);
}

#[test]
fn explain_says_which_cluster_is_missing_what() {
    let e = explain(&guide()).unwrap();
    let f = e
        .iter()
        .find(|x| {
            x.name.as_str() == "nginx.mynamespace.myfederation.svc.us-central1-f.example.com."
        })
        .unwrap();
    assert!(
        f.reasons.iter().any(|r| r
            == "no healthy shard in zone us-central1-f: cluster gce-us-central1-f has 0 ready endpoints"),
        "{:?}",
        f.reasons
    );
    let a = e
        .iter()
        .find(|x| x.name.as_str() == "nginx.mynamespace.myfederation.svc.us-central1.example.com.")
        .unwrap();
    let text = a.reasons.join("\n");
    for c in [
        "gce-us-central1-a",
        "gce-us-central1-b",
        "gce-us-central1-c",
    ] {
        assert!(text.contains(c), "{text}");
    }
    assert!(
        text.contains("left out: cluster gce-us-central1-f"),
        "{text}"
    );
    // One explanation per planned name, same order.
    let p = plan(&guide()).unwrap();
    let mut names: Vec<_> = p.records.iter().map(|r| r.name().clone()).collect();
    names.dedup();
    let explained: Vec<_> = e.iter().map(|x| x.name.clone()).collect();
    assert_eq!(names, explained);
}

#[test]
fn explain_of_an_offline_cluster_says_not_ready() {
    let p = Planner::new(&offline_cluster()).unwrap();
    let e = p.explain_service(&offline_cluster().services[0]);
    let b = e.iter().find(|x| x.name == web("us-b")).unwrap();
    assert!(
        b.reasons[0].contains("cluster c-us-b is not Ready"),
        "{:?}",
        b.reasons
    );
}

#[test]
fn duplicate_service_keys_are_skipped_with_an_error() {
    let mut s = zone_a_healthy();
    let dup: Service = s.services[0].clone();
    s.services.push(dup);
    let p = plan(&s).unwrap();
    assert!(p.records.is_empty());
    assert_eq!(p.diagnostics.len(), 1);
    assert!(p.diagnostics[0].message.contains("listed 2 times"));
}

#[test]
fn shard_in_an_unjoined_cluster_is_ignored_with_a_warning() {
    let mut s = zone_a_healthy();
    s.services[0].shards.push(shard("c-gone", &["10.9.9.9"], 4));
    let p = plan(&s).unwrap();
    assert!(!addresses_at(&p.records, &web("")).contains(&ip("10.9.9.9")));
    assert_eq!(p.diagnostics.len(), 1);
    assert!(p.diagnostics[0].message.contains("c-gone"));
}
