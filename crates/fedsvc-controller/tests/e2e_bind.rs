//! The controller end to end against a real BIND over RFC 2136: the API emulator as the
//! federation API (the Service created with the real kubectl), four simulated members in two
//! regions, answers checked through a real resolver. Also a restart mid-way, and two replicas
//! of which only the leader writes.
//!
//! BIND is started by fedsvc-test-support on a free loopback port and killed when dropped.
//! Without BIND or kubectl the test skips with a reason, unless FEDSVC_REQUIRE_REAL=1.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

mod common;

use fedsvc_cluster::SimMember;
use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::StaticMembers;
use fedsvc_emulator::ApiServer;
use fedsvc_providers::{Counting, DnsProvider};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use serde_json::json;

const NS: &str = "mynamespace";
const GLOBAL: &str = "nginx.mynamespace.myfederation.svc.example.com.";
const REGION_US: &str = "nginx.mynamespace.myfederation.svc.us-central1.example.com.";
const ZONE_US_A: &str = "nginx.mynamespace.myfederation.svc.us-central1-a.example.com.";

/// BIND with the helpers these tests need.
struct Bind(fedsvc_test_support::Server);

impl Bind {
    fn start() -> Option<Bind> {
        if !fedsvc_test_support::tools_present(&["kubectl"]) {
            return None;
        }
        fedsvc_test_support::Server::bind(&[]).map(Bind)
    }

    fn config(&self) -> fedsvc_providers::Config {
        fedsvc_providers::Config::from_yaml(&self.0.rfc2136_yaml()).unwrap()
    }

    fn resolver(&self) -> TokioResolver {
        let addr = self.0.addr;
        let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
        for c in &mut ns.connections {
            c.port = addr.port();
        }
        let mut b = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(vec![ns]),
            TokioRuntimeProvider::default(),
        );
        let mut opts = ResolverOpts::default();
        opts.cache_size = 0;
        *b.options_mut() = opts;
        b.build().unwrap()
    }
}

async fn controller(
    host: &ApiServer,
    members: &[SimMember],
    dns: Arc<dyn DnsProvider>,
    dns_config: fedsvc_providers::Config,
    identity: Option<&str>,
) -> Running {
    let mut factory = StaticMembers::default();
    for m in members {
        factory.insert(Arc::new(m.clone()));
    }
    let mut config = ControllerConfig::new("myfederation", "example.com", dns_config);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.health.period = Duration::from_millis(100);
    config.health.timeout = Duration::from_millis(500);
    config.sync.coalesce = Duration::from_millis(20);
    match identity {
        None => config.leader_election.enabled = false,
        Some(id) => {
            config.leader_election.identity = Some(id.into());
            config.leader_election.lease_duration = Duration::from_secs(9);
            config.leader_election.renew_deadline = Duration::from_secs(7);
            config.leader_election.retry_period = Duration::from_millis(300);
            config.members.request_timeout = Duration::from_secs(5);
        }
    }
    start(
        &config,
        Parts {
            host: host.client(),
            members: Arc::new(factory),
            provider: Some(dns),
            resolver: None,
        },
    )
    .await
    .unwrap()
}

async fn addresses(r: &TokioResolver, name: &str) -> Vec<String> {
    let mut v: Vec<String> = match r.lookup_ip(name).await {
        Ok(l) => l.iter().map(|ip| ip.to_string()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

async fn cname(r: &TokioResolver, name: &str) -> Option<String> {
    let l = r
        .lookup(name, hickory_resolver::proto::rr::RecordType::CNAME)
        .await
        .ok()?;
    l.answers().iter().find_map(|rec| match &rec.data {
        hickory_resolver::proto::rr::RData::CNAME(t) => Some(t.0.to_string()),
        _ => None,
    })
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

fn kubectl_create_nginx(host: &ApiServer, dir: &Path) {
    let kc = dir.join("kubeconfig");
    std::fs::write(&kc, host.kubeconfig_yaml("federation-cluster")).unwrap();
    let manifest = dir.join("nginx.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: nginx\n  namespace: {NS}\nspec:\n  type: LoadBalancer\n  selector:\n    run: nginx\n  ports:\n  - port: 80\n"
        ),
    )
    .unwrap();
    let out = Command::new("kubectl")
        .env("KUBECONFIG", &kc)
        .args(["create", "-f"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_on_bind() {
    let Some(bind) = Bind::start() else { return };
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    let ms = common::members();
    common::register(&host, &ms);
    let config = bind.config();
    let dns: Arc<dyn DnsProvider> = Arc::from(config.build().await.unwrap());
    let running = controller(&host, &ms, dns.clone(), config.clone(), None).await;
    let r = bind.resolver();
    let dir = tempfile::tempdir().unwrap();

    // kubectl creates the service on the federation API; it appears in every member.
    kubectl_create_nginx(&host, dir.path());
    until("nginx in every member", || async {
        ms.iter().all(|m| m.service(NS, "nginx").is_some())
    })
    .await;

    // Endpoints are ready: BIND serves the guide's shape of records.
    until("four addresses at the global name", || async {
        addresses(&r, GLOBAL).await.len() == 4
    })
    .await;
    assert_eq!(addresses(&r, REGION_US).await, ["10.1.0.1", "10.2.0.1"]);
    assert_eq!(addresses(&r, ZONE_US_A).await, ["10.1.0.1"]);

    // Endpoints to zero: the zone becomes a CNAME to its region.
    ms[0].set_ready_endpoints(NS, "nginx", 0);
    until("us-central1-a a CNAME", || async {
        cname(&r, ZONE_US_A).await.as_deref() == Some(REGION_US)
    })
    .await;
    assert_eq!(addresses(&r, ZONE_US_A).await, ["10.2.0.1"]);
    ms[0].set_ready_endpoints(NS, "nginx", 2);
    until("us-central1-a back", || async {
        addresses(&r, ZONE_US_A).await == ["10.1.0.1"]
    })
    .await;

    // A member's API goes down: Offline after the threshold, its shards leave; then return.
    ms[1].set_reachable(false);
    until("us-central1-b out", || async {
        addresses(&r, REGION_US).await == ["10.1.0.1"]
    })
    .await;
    ms[1].set_reachable(true);
    until("us-central1-b back", || async {
        addresses(&r, REGION_US).await.len() == 2
    })
    .await;

    // Every member down: fail-static, BIND untouched.
    let before = dns.list().await.unwrap();
    for m in &ms {
        m.set_reachable(false);
    }
    until("fail-static", || async {
        running
            .shared
            .metrics
            .encode()
            .contains("fedsvc_dns_fail_static 1")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dns.list().await.unwrap(), before);
    for m in &ms {
        m.set_reachable(true);
    }

    // Restart mid-way: the controller stops, endpoints change meanwhile, a new one converges
    // with no duplicate or orphaned record.
    running.shutdown(Duration::from_secs(5)).await;
    ms[2].set_ready_endpoints(NS, "nginx", 0);
    let running = controller(&host, &ms, dns.clone(), config.clone(), None).await;
    let zone_eu_b = "nginx.mynamespace.myfederation.svc.europe-west1-b.example.com.";
    until("europe-west1-b a CNAME after the restart", || async {
        cname(&r, zone_eu_b).await.is_some()
    })
    .await;
    let zone = dns.list().await.unwrap();
    let ours: Vec<_> = zone
        .iter()
        .filter(|rs| rs.name().as_str().contains("nginx.mynamespace"))
        .collect();
    // 7 names (global, 2 regions, 4 zones), each with one record set and one ownership record.
    assert_eq!(ours.len(), 14, "{ours:#?}");

    // Deleting the service removes member services and every record, CNAMEs included.
    host.delete("v1", "Service", NS, "nginx").unwrap();
    until("member services removed", || async {
        ms.iter().all(|m| m.service(NS, "nginx").is_none())
    })
    .await;
    until("no record left", || async {
        dns.list()
            .await
            .unwrap()
            .iter()
            .all(|rs| !rs.name().as_str().contains("nginx.mynamespace"))
    })
    .await;
    running.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_only_the_leader_writes() {
    let Some(bind) = Bind::start() else { return };
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    host.create(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fedsvc-system"}}),
    )
    .unwrap();
    let ms = common::members();
    common::register(&host, &ms);
    let config = bind.config();
    let a = Arc::new(Counting::new(config.build().await.unwrap()));
    let b = Arc::new(Counting::new(config.build().await.unwrap()));
    let ra = controller(&host, &ms, a.clone(), config.clone(), Some("replica-a")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rb = controller(&host, &ms, b.clone(), config.clone(), Some("replica-b")).await;
    let r = bind.resolver();
    let dir = tempfile::tempdir().unwrap();
    kubectl_create_nginx(&host, dir.path());
    until("records served", || async {
        addresses(&r, GLOBAL).await.len() == 4
    })
    .await;
    let (wa, wb) = (a.stats().writes, b.stats().writes);
    assert!(wa > 0 && wb == 0, "only the leader writes: a={wa} b={wb}");

    // The leader stops (releasing its lease): the standby takes over and follows changes.
    ra.shutdown(Duration::from_secs(5)).await;
    ms[0].set_ready_endpoints(NS, "nginx", 0);
    until("the standby applied the change", || async {
        cname(&r, ZONE_US_A).await.as_deref() == Some(REGION_US)
    })
    .await;
    assert!(b.stats().writes > 0, "the new leader writes");
    rb.shutdown(Duration::from_secs(5)).await;
}
