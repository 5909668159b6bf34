//! The guide's 13-cluster example, row by row.

use fedsvc_dns_plan::{Answer, RecordIndex, plan};
use fedsvc_model::{DnsName, RecordType};

use crate::fixtures::*;

fn nginx(locality: &str) -> DnsName {
    if locality.is_empty() {
        name("nginx.mynamespace.myfederation.svc.example.com")
    } else {
        name(&format!(
            "nginx.mynamespace.myfederation.svc.{locality}.example.com"
        ))
    }
}

#[test]
fn every_row_of_the_guide_table() {
    let p = plan(&guide()).unwrap();
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let r = &p.records;

    // Zones with a healthy shard: A records with the shard's address.
    for (zone, addr) in [
        ("us-central1-a", "104.197.247.191"),
        ("us-central1-b", "104.197.244.180"),
        ("us-central1-c", "104.197.245.170"),
        ("asia-east1-a", "130.211.57.243"),
        ("asia-east1-c", "130.211.56.221"),
    ] {
        assert_eq!(addresses_at(r, &nginx(zone)), ips(&[addr]), "{zone}");
        assert_eq!(at(r, &nginx(zone))[0].rtype(), &RecordType::A);
    }
    // Regions: all healthy shards of the region.
    assert_eq!(
        addresses_at(r, &nginx("us-central1")),
        ips(&["104.197.247.191", "104.197.244.180", "104.197.245.170"])
    );
    assert_eq!(
        addresses_at(r, &nginx("asia-east1")),
        ips(&["130.211.57.243", "130.211.56.221"])
    );
    // Zones without healthy backends: CNAME to the region.
    assert_eq!(
        cname_at(r, &nginx("us-central1-f")),
        Some(nginx("us-central1"))
    );
    assert_eq!(
        cname_at(r, &nginx("asia-east1-b")),
        Some(nginx("asia-east1"))
    );
    // europe-west1-d → europe-west1 → global.
    assert_eq!(
        cname_at(r, &nginx("europe-west1-d")),
        Some(nginx("europe-west1"))
    );
    assert_eq!(cname_at(r, &nginx("europe-west1")), Some(nginx("")));
    // The global record holds the addresses the guide lists first, and every healthy shard.
    let global = addresses_at(r, &nginx(""));
    for a in [
        "104.197.246.190",
        "130.211.57.243",
        "104.196.14.231",
        "104.199.136.89",
    ] {
        assert!(global.contains(&ip(a)), "{a} missing from {global:?}");
    }
    assert_eq!(global.len(), 8);
    // Unhealthy shards never appear.
    for a in ["104.197.240.12", "130.211.58.15", "104.155.4.18"] {
        assert!(!global.contains(&ip(a)));
    }
    // TTL 180 everywhere, as the guide shows.
    assert!(r.iter().all(|rs| rs.ttl() == 180));
    // 13 zones + 4 regions + global.
    let mut names: Vec<_> = r.iter().map(|rs| rs.name().clone()).collect();
    names.dedup();
    assert_eq!(names.len(), 18);
}

#[test]
fn europe_west1_d_resolves_to_the_global_set() {
    let p = plan(&guide()).unwrap();
    let index = RecordIndex::new(&p.records);
    let res = index.resolve(&nginx("europe-west1-d"), &RecordType::A);
    let hops: Vec<_> = res.chain.iter().map(|h| h.target.clone()).collect();
    assert_eq!(hops, vec![nginx("europe-west1"), nginx("")]);
    assert!(matches!(res.answer, Answer::Records(_)));
    assert_eq!(res.addresses().len(), 8);
    // A pod in us-central1-f ends up in its region (guide: "Discovering a federated service").
    let res = index.resolve(&nginx("us-central1-f"), &RecordType::A);
    let mut got = res.addresses();
    got.sort();
    assert_eq!(
        got,
        ips(&["104.197.247.191", "104.197.244.180", "104.197.245.170"])
    );
}

#[test]
fn zone_region_naming_puts_the_region_in_zone_names() {
    let p = plan(&guide_zone_region()).unwrap();
    let n = name("nginx.mynamespace.myfederation.svc.us-central1-f.us-central1.example.com");
    assert_eq!(cname_at(&p.records, &n), Some(nginx("us-central1")));
    assert!(at(&p.records, &nginx("us-central1-f")).is_empty());
}
