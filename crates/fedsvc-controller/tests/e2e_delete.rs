//! Deleting a federated Service end to end (the Kubernetes API emulator as the federation API,
//! four simulated members, the memory DNS provider): the member copies go, then the records,
//! and only then the finalizer — also when DNS is held because every member looks down.

use std::sync::Arc;
use std::time::Duration;

mod common;

use fedsvc_cluster::SimMember;
use fedsvc_controller::controller::Running;
use fedsvc_emulator::ApiServer;
use fedsvc_model::{RecordSet, RecordType};
use fedsvc_providers::{Counting, DnsProvider, MemoryProvider};
use serde_json::json;

const NS: &str = "mynamespace";
const GLOBAL: &str = "nginx.mynamespace.myfederation.svc.example.com.";

struct World {
    host: ApiServer,
    members: Vec<SimMember>,
    dns: Arc<Counting<MemoryProvider>>,
    running: Running,
}

/// A controller over the four members, probing every 100 ms (Offline after 2 failed probes),
/// syncing DNS 20 ms after a change.
async fn world() -> World {
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    let members = common::members();
    common::register(&host, &members);
    let dns = Arc::new(Counting::new(MemoryProvider::new(
        "example.com".parse().unwrap(),
    )));
    let mut config = common::config();
    config.health.timeout = Duration::from_millis(150);
    config.health.failure_threshold = 2;
    let running = common::start_over(&config, &host, &members, dns.clone()).await;
    World {
        host,
        members,
        dns,
        running,
    }
}

fn create_nginx(host: &ApiServer) {
    host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    host.create(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "nginx", "namespace": NS, "labels": {"run": "nginx"}},
        "spec": {"type": "LoadBalancer", "selector": {"run": "nginx"}, "ports": [{"name": "http", "port": 80}]},
    }))
    .unwrap();
}

/// Waits (bounded) until `check` holds; the bound only keeps a broken build from hanging.
async fn eventually<F: FnMut() -> bool>(what: &str, mut check: F) {
    for _ in 0..600 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

async fn records(dns: &Counting<MemoryProvider>) -> Vec<RecordSet> {
    dns.list().await.unwrap()
}

async fn wait_records<F: Fn(&[RecordSet]) -> bool>(w: &World, what: &str, check: F) {
    for _ in 0..600 {
        if check(&records(&w.dns).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("DNS never showed: {what}\n{:#?}", records(&w.dns).await);
}

fn global_addresses(r: &[RecordSet]) -> usize {
    r.iter()
        .find(|x| x.name().as_str() == GLOBAL && *x.rtype() == RecordType::A)
        .map_or(0, |x| x.data().len())
}

fn metrics(w: &World) -> String {
    w.running.shared.metrics.encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_deleted_while_dns_is_held_keeps_its_finalizer_until_its_records_are_gone() {
    let w = world().await;
    create_nginx(&w.host);
    wait_records(&w, "four addresses at the global name", |r| {
        global_addresses(r) == 4
    })
    .await;

    // Every member looks down: DNS is held as last applied.
    for m in &w.members {
        m.set_reachable(false);
    }
    eventually("fail-static reported", || {
        metrics(&w).contains("fedsvc_dns_fail_static 1")
    })
    .await;
    // Offline, so that the deletion does not wait for them: only DNS holds it up.
    eventually("every member Offline", || {
        let views = w.running.clusters.members();
        views.len() == 4 && views.iter().all(|v| v.offline)
    })
    .await;
    let held = records(&w.dns).await;

    w.host.delete("v1", "Service", NS, "nginx").unwrap();
    eventually("the deletion is seen (deletionTimestamp set)", || {
        w.host
            .get("v1", "Service", NS, "nginx")
            .is_ok_and(|s| !s["metadata"]["deletionTimestamp"].is_null())
    })
    .await;
    // Many reconciles' worth of time: the records cannot leave DNS while it is held, so the
    // finalizer stays and the service stays visible as Terminating.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let svc = w
        .host
        .get("v1", "Service", NS, "nginx")
        .expect("the finalizer is kept while the records are in DNS");
    assert_eq!(svc["metadata"]["finalizers"], json!(["fedsvc.io/cleanup"]));
    assert_eq!(records(&w.dns).await, held, "DNS is held");

    // The members come back: their copies go, then the records, then the finalizer.
    for m in &w.members {
        m.set_reachable(true);
    }
    eventually("nginx gone from every member", || {
        w.members.iter().all(|m| m.service(NS, "nginx").is_none())
    })
    .await;
    wait_records(&w, "no record left", <[RecordSet]>::is_empty).await;
    eventually("the federated service is gone (finalizer removed)", || {
        w.host.get("v1", "Service", NS, "nginx").is_err()
    })
    .await;
    assert!(metrics(&w).contains("fedsvc_dns_fail_static 0"));
    w.running.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_service_loses_its_finalizer_only_after_its_records() {
    let w = world().await;
    create_nginx(&w.host);
    wait_records(&w, "four addresses at the global name", |r| {
        global_addresses(r) == 4
    })
    .await;
    w.host.delete("v1", "Service", NS, "nginx").unwrap();
    // Whenever the service is seen gone, its records are gone already.
    for _ in 0..3000 {
        let gone = w.host.get("v1", "Service", NS, "nginx").is_err();
        if gone {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        w.host.get("v1", "Service", NS, "nginx").is_err(),
        "the finalizer never went"
    );
    assert_eq!(records(&w.dns).await, Vec::<RecordSet>::new());
    assert!(w.members.iter().all(|m| m.service(NS, "nginx").is_none()));
    w.running.shutdown(Duration::from_secs(5)).await;
}
