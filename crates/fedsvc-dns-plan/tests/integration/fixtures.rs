//! Named fixtures: small topologies and services built directly from model types.

use std::net::IpAddr;

use fedsvc_model::{
    Cluster, ClusterName, DnsName, Label, LabelRules, RData, RecordSet, RecordType, Service,
    ServiceKey, Shard, Snapshot, ZoneNaming,
};

pub(crate) const GUIDE_YAML: &str = include_str!("../../../../examples/guide.yaml");

pub(crate) fn label(s: &str) -> Label {
    Label::parse(s, LabelRules::Rfc1123, "test label").unwrap()
}

pub(crate) fn name(s: &str) -> DnsName {
    DnsName::parse(s).unwrap()
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(crate) fn ips(list: &[&str]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = list.iter().map(|s| ip(s)).collect();
    v.sort();
    v
}

/// `(cluster, region, zones, ready)`.
pub(crate) type ClusterSpec<'a> = (&'a str, &'a str, &'a [&'a str], bool);

pub(crate) fn cluster(name: &str, region: &str, zones: &[&str], ready: bool) -> Cluster {
    Cluster::new(
        ClusterName::parse(name).unwrap(),
        label(region),
        zones.iter().map(|z| label(z)).collect(),
        ready,
    )
    .unwrap()
}

pub(crate) fn topology(clusters: &[ClusterSpec<'_>]) -> Snapshot {
    let mut s = Snapshot::new(label("fed"), name("example.com"));
    s.clusters = clusters
        .iter()
        .map(|(n, r, z, ready)| cluster(n, r, z, *ready))
        .collect();
    s.clusters.sort_by(|a, b| a.name.cmp(&b.name));
    s
}

pub(crate) fn shard(cluster: &str, addresses: &[&str], ready_endpoints: u32) -> Shard {
    Shard::new(
        ClusterName::parse(cluster).unwrap(),
        addresses.iter().map(|a| ip(a)).collect(),
        Vec::new(),
        ready_endpoints,
    )
}

pub(crate) fn lb_shard(cluster: &str, hostnames: &[&str], ready_endpoints: u32) -> Shard {
    Shard::new(
        ClusterName::parse(cluster).unwrap(),
        Vec::new(),
        hostnames.iter().map(|h| name(h)).collect(),
        ready_endpoints,
    )
}

pub(crate) fn service(ns: &str, svc: &str, shards: Vec<Shard>) -> Service {
    Service::new(ServiceKey::parse(ns, svc).unwrap(), None, shards).unwrap()
}

pub(crate) fn with_services(mut s: Snapshot, services: Vec<Service>) -> Snapshot {
    s.services = services;
    s.services.sort_by(|a, b| a.key.cmp(&b.key));
    s
}

/// The web/shop service's name at a locality (`""` for the global name).
pub(crate) fn web(locality: &str) -> DnsName {
    if locality.is_empty() {
        name("web.shop.fed.svc.example.com")
    } else {
        name(&format!("web.shop.fed.svc.{locality}.example.com"))
    }
}

pub(crate) fn a_set(n: &DnsName, ttl: u32, addrs: &[&str]) -> RecordSet {
    set(n, "A", ttl, addrs)
}

pub(crate) fn set(n: &DnsName, rtype: &str, ttl: u32, data: &[&str]) -> RecordSet {
    let t = RecordType::parse(rtype);
    RecordSet::new(
        n.clone(),
        t.clone(),
        ttl,
        data.iter().map(|d| RData::parse(&t, d).unwrap()).collect(),
    )
    .unwrap()
}

/// The sets at `n`.
pub(crate) fn at<'a>(records: &'a [RecordSet], n: &DnsName) -> Vec<&'a RecordSet> {
    records.iter().filter(|r| r.name() == n).collect()
}

/// The addresses of the A and AAAA sets at `n` (sorted).
pub(crate) fn addresses_at(records: &[RecordSet], n: &DnsName) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = at(records, n)
        .iter()
        .flat_map(|r| r.data().iter().filter_map(RData::ip))
        .collect();
    v.sort();
    v
}

/// The CNAME target at `n`, if any.
pub(crate) fn cname_at(records: &[RecordSet], n: &DnsName) -> Option<DnsName> {
    at(records, n)
        .iter()
        .find_map(|r| r.cname_target().cloned())
}

/// Two regions (us: zones us-a, us-b; eu: eu-a), one single-zone cluster per zone.
pub(crate) fn two_regions() -> Snapshot {
    topology(&[
        ("c-us-a", "us", &["us-a"], true),
        ("c-us-b", "us", &["us-b"], true),
        ("c-eu-a", "eu", &["eu-a"], true),
    ])
}

/// Zone us-a has a healthy shard; the other shards have addresses but no ready endpoints.
pub(crate) fn zone_a_healthy() -> Snapshot {
    with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![
                shard("c-us-a", &["10.1.0.1"], 2),
                shard("c-us-b", &["10.1.0.2"], 0),
                shard("c-eu-a", &["10.2.0.1"], 0),
            ],
        )],
    )
}

/// Region eu has no backends at all (no shard in c-eu-a); us is healthy.
pub(crate) fn region_without_backends() -> Snapshot {
    with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![
                shard("c-us-a", &["10.1.0.1"], 1),
                shard("c-us-b", &["10.1.0.2"], 1),
            ],
        )],
    )
}

/// No shard anywhere is healthy.
pub(crate) fn nothing_healthy() -> Snapshot {
    with_services(
        two_regions(),
        vec![service(
            "shop",
            "web",
            vec![shard("c-us-a", &["10.1.0.1"], 0)],
        )],
    )
}

/// One cluster spanning zones us-a and us-b, one in us-c.
pub(crate) fn multi_zone_cluster() -> Snapshot {
    with_services(
        topology(&[
            ("c-us-ab", "us", &["us-a", "us-b"], true),
            ("c-us-c", "us", &["us-c"], true),
        ]),
        vec![service(
            "shop",
            "web",
            vec![
                shard("c-us-ab", &["10.1.0.1"], 3),
                shard("c-us-c", &["10.1.0.3"], 0),
            ],
        )],
    )
}

/// Cluster c-us-b is not Ready although its shard reports endpoints and an address.
pub(crate) fn offline_cluster() -> Snapshot {
    with_services(
        topology(&[
            ("c-us-a", "us", &["us-a"], true),
            ("c-us-b", "us", &["us-b"], false),
            ("c-eu-a", "eu", &["eu-a"], true),
        ]),
        vec![service(
            "shop",
            "web",
            vec![
                shard("c-us-a", &["10.1.0.1"], 1),
                shard("c-us-b", &["10.1.0.2"], 5),
                shard("c-eu-a", &["10.2.0.1"], 1),
            ],
        )],
    )
}

/// The guide's 13-cluster example.
pub(crate) fn guide() -> Snapshot {
    let v = Snapshot::from_yaml(GUIDE_YAML).unwrap();
    assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
    v.snapshot
}

/// The guide's example with zone-region naming.
pub(crate) fn guide_zone_region() -> Snapshot {
    let mut s = guide();
    s.zone_naming = ZoneNaming::ZoneRegion;
    s
}
