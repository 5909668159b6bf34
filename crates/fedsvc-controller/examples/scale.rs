//! Memory and time of the controller's core at scale: 10 000 services × 20 clusters (10
//! regions × 2 zones), every shard healthy, synced into a DNS zone; then a periodic resync, one
//! shard changing, and a restart.
//!
//! ```sh
//! cargo run --release -p fedsvc-controller --example scale
//! FEDSVC_SCALE_PROVIDER=bind cargo run --release -p fedsvc-controller --example scale
//! ```
//!
//! VmRSS and VmHWM are printed after each step:
//!
//! 1. **state built**: the federation state alone;
//! 2. **full sync**: list the empty zone, plan every service, write everything;
//! 3. **periodic resync**: list the zone, refresh the known zone from it in place, plan and
//!    diff everything (no writes);
//! 4. **one shard changed**: one service re-planned and written;
//! 5. **restart (same process)**: the sync state is dropped and a fresh `ZoneSync` lists the
//!    populated zone and plans everything, with zero writes.
//!
//! The figures of steps 2 to 5 are those of a process that has just held a whole zone's
//! change set: the allocator keeps freed memory, so they say more about peaks than about what a
//! controller holds. The honest steady-state figure is what a freshly started controller holds
//! after its first resync against an already populated zone, so with BIND the example ends with
//! step 6:
//!
//! 6. **restart (fresh process)**: the example runs itself again with
//!    `FEDSVC_SCALE_PHASE=restart`; that process builds the same state (with the shard change of
//!    step 4), lists the zone step 2 populated and plans everything; it should make no write
//!    call (the count is printed). Its VmRSS is the controller's steady-state memory, its
//!    VmHWM the peak of a start.
//!
//! Providers (`FEDSVC_SCALE_PROVIDER`):
//! - `memory` (default): the in-process memory provider. Its copy of the zone lives in this
//!   process too, so the figures include it; there is no fresh-process step.
//! - `bind`: a real BIND 9 on loopback through the RFC 2136 provider (started by
//!   `fedsvc-test-support`, stopped at the end; the example exits with a reason when `named` is
//!   missing). The provider lives out of the process, so the figures are the controller's own.
//!   Writing the ~620 000 record sets takes from tens of seconds to a few minutes, depending on
//!   the machine.
//!
//! Other knobs: `FEDSVC_SCALE_SERVICES` (default 10 000), `FEDSVC_SCALE_BATCH` (the RFC 2136
//! `batchSize`; the provider's default when unset). The fresh-process phase can also be run by
//! hand against a server of one's own, such as the BIND that
//! `cargo run -p fedsvc-test-support --example real-server -- bind` starts (it prints its
//! `DNS_ADDR` and `TSIG_SECRET`): `FEDSVC_SCALE_PHASE=restart`, `FEDSVC_SCALE_SERVER`
//! (`host:port`) and `FEDSVC_SCALE_TSIG_SECRET` (the base64 secret of TSIG key `ddns-key`,
//! hmac-sha256). It prints its write calls: run against an empty zone, it populates it (a full
//! sync in a fresh process); run again, it measures the restart.
//!
//! It measures the federation state, the planner and the zone the controller keeps; it does not
//! include kube-rs watch caches of real members.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use fedsvc_controller::dns::{ZoneSync, sync_once};
use fedsvc_controller::state::{FederationState, ShardObservation};
use fedsvc_dns_plan::Registry;
use fedsvc_model::{Cluster, ClusterName, DnsName, Label, LabelRules, ServiceKey, Snapshot};
use fedsvc_providers::{Counting, DnsProvider, MemoryProvider, Retrying};
use fedsvc_test_support::Server;

/// The provider of the run, counted.
type Provider = Arc<Counting<Box<dyn DnsProvider>>>;

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

fn memory() -> String {
    format!("VmRSS {}, VmHWM {}", vm("VmRSS:"), vm("VmHWM:"))
}

fn label(s: &str) -> Label {
    Label::parse(s, LabelRules::Rfc1123, "label").expect("valid")
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn zone() -> DnsName {
    DnsName::parse("example.com").expect("valid")
}

/// The service whose shard changes in step 4 (modulo the number of services), and the cluster
/// of that shard.
const CHANGED: (usize, usize) = (4242, 3);

/// The federation: `services` services on every cluster, all healthy; with `changed`, the
/// shard of step 4 has lost its ready endpoints.
fn build_state(services: usize, changed: bool) -> (FederationState, Vec<ClusterName>) {
    const REGIONS: usize = 10;
    let mut state = FederationState::new(Snapshot::new(label("fed"), zone()));
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
    for s in 0..services {
        let key = ServiceKey::parse("ns", &format!("svc-{s}")).expect("valid");
        state.upsert_service(key.clone(), None);
        for (c, cluster) in clusters.iter().enumerate() {
            let ip = u32::from(std::net::Ipv4Addr::new(10, 0, 0, 0)) + (s * 20 + c) as u32;
            state.observe_shard(
                &key,
                cluster,
                Some(ShardObservation::new(
                    key.clone(),
                    vec![std::net::IpAddr::V4(ip.into())],
                    vec![],
                    1,
                )),
            );
        }
    }
    if changed {
        change_shard(&mut state, services, &clusters);
    }
    (state, clusters)
}

fn change_shard(state: &mut FederationState, services: usize, clusters: &[ClusterName]) {
    let key = ServiceKey::parse("ns", &format!("svc-{}", CHANGED.0 % services)).expect("valid");
    state.observe_shard(
        &key,
        &clusters[CHANGED.1],
        Some(ShardObservation::new(
            key.clone(),
            vec![std::net::IpAddr::V4([10, 0, 1, 1].into())],
            vec![],
            0,
        )),
    );
}

/// The RFC 2136 provider for a BIND at `server`.
async fn rfc2136(server: &str, secret: &str) -> Box<dyn DnsProvider> {
    let mut yaml = fedsvc_test_support::rfc2136_yaml(server, secret);
    if let Some(batch) = env("FEDSVC_SCALE_BATCH") {
        yaml.push_str(&format!("  batchSize: {batch}\n"));
    }
    fedsvc_providers::Config::from_yaml(&yaml)
        .expect("a valid provider configuration")
        .build()
        .await
        .expect("the RFC 2136 provider")
}

fn zone_sync(provider: &Provider) -> ZoneSync {
    let dynp: Arc<dyn DnsProvider> = provider.clone();
    ZoneSync::new(Retrying::new(dynp), Registry::txt(label("fed")))
}

/// A fresh sync state lists the zone and plans everything (against an up-to-date zone nothing
/// is written).
async fn restart(state: &Mutex<FederationState>, provider: &Provider, what: &str) -> ZoneSync {
    provider.reset();
    let mut sync = zone_sync(provider);
    let start = Instant::now();
    let out = sync_once(state, &mut sync).await.expect("restart");
    let stats = provider.stats();
    println!(
        "{what}: {} services planned, {} write calls, {} listing, {:.2} s; {}",
        out.services_planned,
        stats.writes,
        stats.lists,
        start.elapsed().as_secs_f64(),
        memory()
    );
    sync
}

/// Step 6, in a process of its own.
async fn restart_phase(services: usize) {
    let (Some(server), Some(secret)) =
        (env("FEDSVC_SCALE_SERVER"), env("FEDSVC_SCALE_TSIG_SECRET"))
    else {
        eprintln!(
            "FEDSVC_SCALE_PHASE=restart needs FEDSVC_SCALE_SERVER and FEDSVC_SCALE_TSIG_SECRET"
        );
        std::process::exit(2);
    };
    let (state, clusters) = build_state(services, true);
    println!(
        "  [fresh process] state of {services} services x {} clusters built: {}",
        clusters.len(),
        memory()
    );
    let provider: Provider = Arc::new(Counting::new(rfc2136(&server, &secret).await));
    let state = Mutex::new(state);
    let sync = restart(&state, &provider, "  [fresh process] restart").await;
    drop(sync);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let services: usize = env("FEDSVC_SCALE_SERVICES").map_or(10_000, |s| {
        s.parse().expect("FEDSVC_SCALE_SERVICES: a number")
    });
    if env("FEDSVC_SCALE_PHASE").as_deref() == Some("restart") {
        restart_phase(services).await;
        return;
    }
    let kind = env("FEDSVC_SCALE_PROVIDER").unwrap_or_else(|| "memory".into());
    let (state, clusters) = build_state(services, false);
    let state = Mutex::new(state);
    println!(
        "state of {services} services x {} clusters built: {}",
        clusters.len(),
        memory()
    );

    let (provider, bind): (Provider, Option<Server>) = match kind.as_str() {
        "memory" => (
            Arc::new(Counting::new(Box::new(MemoryProvider::new(zone())))),
            None,
        ),
        "bind" => {
            let Some(bind) = Server::bind(&[]) else {
                println!("BIND (named) is not installed: nothing measured");
                return;
            };
            let p = rfc2136(&bind.addr.to_string(), &bind.secret).await;
            (Arc::new(Counting::new(p)), Some(bind))
        }
        other => {
            eprintln!("FEDSVC_SCALE_PROVIDER={other}: expected memory or bind");
            std::process::exit(2);
        }
    };
    println!("provider: {kind}");

    let mut sync = zone_sync(&provider);
    let start = Instant::now();
    let out = sync_once(&state, &mut sync).await.expect("sync");
    println!(
        "full sync: {} record sets written in {} write calls, {} listing, {:.2} s; {}",
        out.applied.as_ref().map_or(0, |r| r.record_sets),
        provider.stats().writes,
        provider.stats().lists,
        start.elapsed().as_secs_f64(),
        memory()
    );
    drop(out);

    provider.reset();
    state.lock().unwrap().mark_all_dirty();
    // As the controller's periodic resync: the known zone is refreshed from the listing.
    sync.relist();
    let start = Instant::now();
    sync_once(&state, &mut sync).await.expect("resync");
    println!(
        "periodic resync (list + plan everything): {} write calls, {} listing, {:.2} s; {}",
        provider.stats().writes,
        provider.stats().lists,
        start.elapsed().as_secs_f64(),
        memory()
    );

    provider.reset();
    change_shard(&mut state.lock().unwrap(), services, &clusters);
    let start = Instant::now();
    sync_once(&state, &mut sync).await.expect("incremental");
    println!(
        "one shard changed: {} write call(s), {} listing, {:.3} ms; {}",
        provider.stats().writes,
        provider.stats().lists,
        start.elapsed().as_secs_f64() * 1e3,
        memory()
    );

    drop(sync);
    let sync = restart(&state, &provider, "restart (same process)").await;
    assert_eq!(
        provider.stats().writes,
        0,
        "a restart wrote to an up-to-date zone"
    );
    drop(sync);

    if let Some(bind) = &bind {
        let status = std::process::Command::new(std::env::current_exe().expect("this program"))
            .env("FEDSVC_SCALE_PHASE", "restart")
            .env("FEDSVC_SCALE_SERVICES", services.to_string())
            .env("FEDSVC_SCALE_SERVER", bind.addr.to_string())
            .env("FEDSVC_SCALE_TSIG_SECRET", &bind.secret)
            .status()
            .expect("run the fresh-process phase");
        assert!(status.success(), "the fresh-process phase failed: {status}");
    }
    drop(bind);
}
