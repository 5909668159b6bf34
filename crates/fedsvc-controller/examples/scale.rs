//! Memory and time of the controller's core at scale: 10 000 services × 20 clusters (10
//! regions × 2 zones), every shard healthy, synced into the memory provider; then a steady-state
//! resync, and one shard changing.
//!
//! `cargo run --release -p fedsvc-controller --example scale`
//!
//! It measures the federation state, the planner, the zone the controller keeps, and the
//! provider's copy of the zone (the memory provider holds the whole zone in this process too);
//! it does not include kube-rs watch caches of real members.

use std::sync::Arc;
use std::time::Instant;

use fedsvc_controller::dns_sync::ZoneSync;
use fedsvc_controller::state::{FederationState, ShardObservation};
use fedsvc_dns_plan::Registry;
use fedsvc_model::{Cluster, ClusterName, DnsName, Label, LabelRules, ServiceKey, Snapshot};
use fedsvc_providers::{Counting, DnsProvider, MemoryProvider, Retrying};

fn vm(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l[field.len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn label(s: &str) -> Label {
    Label::parse(s, LabelRules::Rfc1123, "label").expect("valid")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    const SERVICES: usize = 10_000;
    const REGIONS: usize = 10;
    let zone = DnsName::parse("example.com").expect("valid");
    let mut state = FederationState::new(Snapshot::new(label("fed"), zone.clone()));
    let mut clusters = Vec::new();
    for r in 0..REGIONS {
        for z in ["a", "b"] {
            let name = ClusterName::parse(&format!("c-{r}-{z}")).expect("valid");
            state.upsert_cluster(
                Cluster::new(
                    name.clone(),
                    label(&format!("r{r}")),
                    vec![label(&format!("r{r}-{z}"))],
                    true,
                )
                .expect("a zone"),
            );
            clusters.push(name);
        }
    }
    for s in 0..SERVICES {
        let key = ServiceKey::parse("ns", &format!("svc-{s}")).expect("valid");
        state.upsert_service(key.clone(), None);
        for (c, cluster) in clusters.iter().enumerate() {
            let ip = u32::from(std::net::Ipv4Addr::new(10, 0, 0, 0)) + (s * 20 + c) as u32;
            state.observe_shard(
                &key,
                cluster,
                Some(ShardObservation {
                    addresses: vec![std::net::IpAddr::V4(ip.into())],
                    hostnames: vec![],
                    ready_endpoints: 1,
                }),
            );
        }
    }
    println!(
        "state of {SERVICES} services x {} clusters built: VmRSS {}",
        clusters.len(),
        vm("VmRSS:")
    );

    let provider = Arc::new(Counting::new(MemoryProvider::new(zone)));
    let dynp: Arc<dyn DnsProvider> = provider.clone();
    let mut sync = ZoneSync::new(Retrying::new(dynp), Registry::txt(label("fed")));
    let start = Instant::now();
    let dirty = state.take_dirty();
    let out = sync.sync(&state, &dirty).await.expect("sync");
    println!(
        "full sync: {} record sets written in {} write calls, {} listing, {:.2} s; VmRSS {}, VmHWM {}",
        out.applied.as_ref().map_or(0, |r| r.record_sets),
        provider.stats().writes,
        provider.stats().lists,
        start.elapsed().as_secs_f64(),
        vm("VmRSS:"),
        vm("VmHWM:")
    );

    provider.reset();
    state.mark_all_dirty();
    sync.invalidate();
    let start = Instant::now();
    let dirty = state.take_dirty();
    sync.sync(&state, &dirty).await.expect("resync");
    println!(
        "periodic resync (list + plan everything): {} write calls, {} listing, {:.2} s",
        provider.stats().writes,
        provider.stats().lists,
        start.elapsed().as_secs_f64()
    );

    provider.reset();
    let key = ServiceKey::parse("ns", "svc-4242").expect("valid");
    state.observe_shard(
        &key,
        &clusters[3],
        Some(ShardObservation {
            addresses: vec![std::net::IpAddr::V4([10, 0, 1, 1].into())],
            hostnames: vec![],
            ready_endpoints: 0,
        }),
    );
    let start = Instant::now();
    let dirty = state.take_dirty();
    sync.sync(&state, &dirty).await.expect("incremental");
    println!(
        "one shard changed: {} write call(s), {} listing, {:.3} ms; VmHWM {}",
        provider.stats().writes,
        provider.stats().lists,
        start.elapsed().as_secs_f64() * 1e3,
        vm("VmHWM:")
    );
}
