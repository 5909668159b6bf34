//! A deterministic snapshot generator for benchmarks and large tests: no randomness, every
//! choice is a hash of indices.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use fedsvc_model::{
    Cluster, ClusterName, DnsName, Label, LabelRules, Service, ServiceKey, Shard, Snapshot,
};

/// SplitMix64: a fixed, well-mixed hash of a 64-bit value.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn label(s: &str) -> Label {
    Label::parse(s, LabelRules::Rfc1123, "generated label").expect("generated labels are valid")
}

/// The shape of a generated snapshot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// How many services.
    pub services: usize,
    /// How many regions (each with `zones_per_region` single-zone clusters).
    pub regions: usize,
    /// Zones (and clusters) per region.
    pub zones_per_region: usize,
    /// Whether to add one more cluster spanning every zone of the first region.
    pub multi_zone_cluster: bool,
    /// Every how many clusters one is not Ready (0: all Ready).
    pub unready_every: usize,
    /// Percentage of shards that are unhealthy (0 ready endpoints).
    pub unhealthy_percent: u64,
}

impl Spec {
    /// 10 000 services × 100 clusters (33 regions × 3 zones + 1 multi-zone cluster), 10 % of
    /// clusters unready, 20 % of shards unhealthy.
    pub(crate) const LARGE: Spec = Spec {
        services: 10_000,
        regions: 33,
        zones_per_region: 3,
        multi_zone_cluster: true,
        unready_every: 10,
        unhealthy_percent: 20,
    };
}

/// The cluster names of a generated topology, in generation order.
pub(crate) fn clusters(spec: &Spec) -> Vec<Cluster> {
    let mut out = Vec::new();
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    for r in 0..spec.regions {
        let region = format!("region{r}");
        for z in 0..spec.zones_per_region {
            let zone = format!("{region}-{}", letters[z % 26] as char);
            out.push((format!("c-{zone}"), region.clone(), vec![zone]));
        }
    }
    if spec.multi_zone_cluster && spec.regions > 0 {
        let zones = (0..spec.zones_per_region)
            .map(|z| format!("region0-{}", letters[z % 26] as char))
            .collect();
        out.push(("c-multi".to_owned(), "region0".to_owned(), zones));
    }
    out.into_iter()
        .enumerate()
        .map(|(i, (name, region, zones))| {
            let ready = spec.unready_every == 0 || i % spec.unready_every != spec.unready_every - 1;
            Cluster::new(
                ClusterName::parse(&name).expect("valid cluster name"),
                label(&region),
                zones.iter().map(|z| label(z)).collect(),
                ready,
            )
            .expect("at least one zone")
        })
        .collect()
}

/// The address of service `s` in cluster `c`: unique IPv4, and an IPv6 one for every
/// seventh shard.
pub(crate) fn addresses(s: usize, c: usize) -> Vec<IpAddr> {
    let n = (s * 128 + c) as u32;
    let mut v = vec![IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)))];
    if mix((s as u64) << 32 | c as u64).is_multiple_of(7) {
        v.push(IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            (n >> 16) as u16,
            n as u16,
        )));
    }
    v
}

/// Service `s` over `clusters`.
pub(crate) fn service(spec: &Spec, s: usize, clusters: &[Cluster]) -> Service {
    let key = ServiceKey::parse(&format!("ns{}", s / 100), &format!("svc{s}")).expect("valid key");
    let shards = clusters
        .iter()
        .enumerate()
        .map(|(c, cl)| {
            let unhealthy =
                mix((s as u64) << 32 | c as u64 | 1 << 63) % 100 < spec.unhealthy_percent;
            Shard::new(
                cl.name.clone(),
                addresses(s, c),
                Vec::new(),
                if unhealthy { 0 } else { 1 + (s + c) as u32 % 5 },
            )
        })
        .collect();
    Service::new(key, None, shards).expect("one shard per cluster")
}

/// A snapshot of the given shape.
pub(crate) fn snapshot(spec: &Spec) -> Snapshot {
    let mut snap = Snapshot::new(
        label("myfederation"),
        DnsName::parse("example.com").expect("valid suffix"),
    );
    snap.clusters = clusters(spec);
    snap.clusters.sort_by(|a, b| a.name.cmp(&b.name));
    let cl = snap.clusters.clone();
    snap.services = (0..spec.services).map(|s| service(spec, s, &cl)).collect();
    snap.services.sort_by(|a, b| a.key.cmp(&b.key));
    snap
}
