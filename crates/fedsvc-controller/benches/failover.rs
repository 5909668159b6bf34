//! Failover latency, outage detection and steady-state provider calls of the whole controller,
//! against a real BIND over RFC 2136.
//!
//! `cargo bench -p fedsvc-controller --bench failover`
//!
//! The federation API and four member clusters (two regions, two zones each) are API server
//! emulators; the members are reached through kube-rs (`KubeMemberFactory`, kubeconfigs in
//! Secrets, watches on Services and EndpointSlices) exactly as in production. The controller runs
//! with its default settings (coalescing 200 ms, probes every 10 s with 3 failures before a
//! cluster is Offline) apart from leader election, which is off. One LoadBalancer service,
//! `nginx`, has a shard in each member.
//!
//! 1. **Failover latency**: the EndpointSlice of `nginx` in `gce-us-central1-a` goes to zero
//!    ready endpoints (and back); the time until BIND answers the zone name
//!    `nginx.mynamespace.myfederation.svc.us-central1-a.example.com` with the new addresses,
//!    polled every 2 ms through a resolver without cache. `FEDSVC_BENCH_FLIPS` (default 60)
//!    flips each way.
//! 2. **Outage detection**: the API server of `gce-us-central1-a` stops answering (connection
//!    refused), and the time until BIND answers the zone name with the failover addresses;
//!    then the time until it is back once the API answers again. `FEDSVC_BENCH_OUTAGES`
//!    (default 5) outages, started at points spread over the probe period; then
//!    `FEDSVC_BENCH_HANGS` (default 5) outages where the API accepts connections but never
//!    answers, so that every probe runs into its timeout.
//! 3. **Steady state**: nothing changes for `FEDSVC_BENCH_STEADY_SECS` (default 60) seconds
//!    with the periodic resync every `FEDSVC_BENCH_RESYNC_SECS` (default 10) seconds; provider
//!    calls are counted.
//!
//! Without BIND it prints why and exits successfully.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::KubeMemberFactory;
use fedsvc_emulator::ApiServer;
use fedsvc_providers::{Counting, DnsProvider};
use fedsvc_test_support::Server;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use serde_json::json;

const SYSTEM: &str = "fedsvc-system";
const NS: &str = "mynamespace";
const ZONE_NAME: &str = "nginx.mynamespace.myfederation.svc.us-central1-a.example.com.";

/// Name, zone, region and load-balancer address of each member.
const MEMBERS: [(&str, &str, &str, &str); 4] = [
    (
        "gce-us-central1-a",
        "us-central1-a",
        "us-central1",
        "10.1.0.1",
    ),
    (
        "gce-us-central1-b",
        "us-central1-b",
        "us-central1",
        "10.2.0.1",
    ),
    (
        "gce-europe-west1-b",
        "europe-west1-b",
        "europe-west1",
        "10.3.0.1",
    ),
    (
        "gce-europe-west1-c",
        "europe-west1-c",
        "europe-west1",
        "10.4.0.1",
    ),
];

mod support;

use support::env_u64;

fn env_usize(name: &str, default: usize) -> usize {
    usize::try_from(env_u64(name, default as u64)).unwrap_or(usize::MAX)
}

fn resolver(bind: &Server) -> TokioResolver {
    let mut ns = NameServerConfig::udp_and_tcp(bind.addr.ip());
    for c in &mut ns.connections {
        c.port = bind.addr.port();
    }
    let mut b = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    );
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.timeout = Duration::from_millis(500);
    *b.options_mut() = opts;
    b.build().expect("a resolver")
}

async fn addresses(r: &TokioResolver, name: &str) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = match r.lookup_ip(name).await {
        Ok(l) => l.iter().collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Polls the zone name every 2 ms until it answers `want`; the time since `since`.
async fn served(r: &TokioResolver, want: &[IpAddr], since: Instant, limit: Duration) -> Duration {
    loop {
        if addresses(r, ZONE_NAME).await == want {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < limit,
            "{ZONE_NAME} did not answer {want:?} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn summary(what: &str, samples: &mut [Duration]) {
    if samples.is_empty() {
        return;
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what}: n={} min {:.0} ms, p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        samples.len(),
        ms(samples[0]),
        ms(percentile(samples, 50.0)),
        ms(percentile(samples, 90.0)),
        ms(percentile(samples, 99.0)),
        ms(samples[samples.len() - 1]),
    );
    let values: Vec<String> = samples.iter().map(|d| format!("{:.1}", ms(*d))).collect();
    println!(
        "{{\"bench\":\"failover\",\"measurement\":\"{what}\",\"ms\":[{}]}}",
        values.join(",")
    );
}

struct Federation {
    host: ApiServer,
    members: Vec<ApiServer>,
}

impl Federation {
    async fn start() -> Federation {
        let host = ApiServer::start().await;
        host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM}}))
            .expect("namespace");
        let mut members = Vec::new();
        for (name, zone, region, _) in MEMBERS {
            let api = ApiServer::start().await;
            api.add_node(&format!("{name}-node-1"), Some(zone), Some(region))
                .expect("node");
            host.create(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("{name}-kubeconfig"), "namespace": SYSTEM},
                "stringData": {"kubeconfig": api.kubeconfig_yaml(name)},
            }))
            .expect("secret");
            host.create(json!({
                "apiVersion": "fedsvc.io/v1alpha1", "kind": "Cluster",
                "metadata": {"name": name},
                "spec": {"secretRef": {"name": format!("{name}-kubeconfig"), "namespace": SYSTEM}},
            }))
            .expect("cluster");
            members.push(api);
        }
        Federation { host, members }
    }

    async fn controller(
        &self,
        provider: Arc<dyn DnsProvider>,
        config: &ControllerConfig,
    ) -> Running {
        start(
            config,
            Parts {
                host: self.host.client(),
                members: Arc::new(KubeMemberFactory {
                    options: config.member_options(),
                }),
                provider: Some(provider),
                resolver: None,
            },
        )
        .await
        .expect("the controller starts")
    }
}

fn dns_config(bind: &Server) -> fedsvc_providers::Config {
    fedsvc_providers::Config::from_yaml(&bind.rfc2136_yaml()).expect("provider config")
}

fn config(bind: &Server) -> ControllerConfig {
    let mut config = ControllerConfig::new("myfederation", "example.com", dns_config(bind));
    config.namespace = SYSTEM.into();
    config.leader_election.enabled = false;
    config.listen = "127.0.0.1:0".parse().expect("an address");
    config
}

#[tokio::main]
async fn main() {
    fedsvc_emulator::install_crypto_provider();
    let Some(bind) = Server::bind(&[]) else {
        println!("failover bench skipped: BIND (named) is not installed");
        return;
    };
    let flips = env_usize("FEDSVC_BENCH_FLIPS", 60);
    let outages = env_usize("FEDSVC_BENCH_OUTAGES", 5);
    let hangs = env_usize("FEDSVC_BENCH_HANGS", 5);
    let steady_secs = env_u64("FEDSVC_BENCH_STEADY_SECS", 60);
    let resync_secs = env_u64("FEDSVC_BENCH_RESYNC_SECS", 10);

    let fed = Federation::start().await;
    let provider = Arc::new(Counting::new(
        dns_config(&bind)
            .build()
            .await
            .expect("an RFC 2136 provider"),
    ));
    let controller_config = config(&bind);
    let controller = fed.controller(provider.clone(), &controller_config).await;
    let r = resolver(&bind);

    // The service, as a user creates it on the federation API.
    fed.host
        .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .expect("namespace");
    fed.host
        .create(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "nginx", "namespace": NS},
            "spec": {"type": "LoadBalancer", "selector": {"run": "nginx"}, "ports": [{"port": 80}]},
        }))
        .expect("service");
    // Each member's cloud and EndpointSlice controller, played by hand.
    let setup = Instant::now();
    for (api, (name, _, _, ip)) in fed.members.iter().zip(MEMBERS) {
        while api.get("v1", "Service", NS, "nginx").is_err() {
            assert!(
                setup.elapsed() < Duration::from_secs(60),
                "nginx never reached {name}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        api.set_load_balancer_ingress(NS, "nginx", &[ip], &[])
            .expect("ingress");
        api.set_endpoints(NS, "nginx", 2, 0).expect("endpoints");
    }
    let own: Vec<IpAddr> = vec![MEMBERS[0].3.parse().expect("an address")];
    let failover: Vec<IpAddr> = vec![MEMBERS[1].3.parse().expect("an address")];
    served(&r, &own, setup, Duration::from_secs(60)).await;
    println!(
        "setup: nginx served by BIND {:.1} s after it was created",
        setup.elapsed().as_secs_f64()
    );

    // 1. Failover latency.
    let member = &fed.members[0];
    let writes_before = provider.stats().writes;
    let mut down = Vec::with_capacity(flips);
    let mut up = Vec::with_capacity(flips);
    for _ in 0..flips {
        let t = Instant::now();
        member.set_endpoints(NS, "nginx", 0, 2).expect("endpoints");
        down.push(served(&r, &failover, t, Duration::from_secs(30)).await);
        let t = Instant::now();
        member.set_endpoints(NS, "nginx", 2, 0).expect("endpoints");
        up.push(served(&r, &own, t, Duration::from_secs(30)).await);
    }
    let writes = provider.stats().writes - writes_before;
    summary("endpoints to zero -> zone name fails over", &mut down);
    summary("endpoints back -> zone name restored", &mut up);
    let mut both: Vec<Duration> = down.iter().chain(&up).copied().collect();
    summary("either direction", &mut both);
    if flips > 0 {
        println!(
            "provider writes during {} flips: {writes} ({:.2} per flip)",
            2 * flips,
            writes as f64 / (2 * flips) as f64
        );
    }

    // 2. Outage detection at the default probe settings: the API refuses connections, or it
    // accepts them and never answers (every probe runs into its timeout).
    let period = controller_config.health.period;
    for (kind, n) in [("refuses connections", outages), ("hangs", hangs)] {
        let mut detect = Vec::with_capacity(n);
        let mut recover = Vec::with_capacity(n);
        for i in 0..n {
            // Detection depends on where in the probe period the outage starts, and recovery
            // ends just after a probe: start outage `i` a further `i / n` of a period later,
            // so that the samples spread over the period.
            tokio::time::sleep(period.mul_f64(i as f64 / n as f64)).await;
            let t = Instant::now();
            match kind {
                "hangs" => member.set_latency(Duration::from_secs(60)),
                _ => member.set_reachable(false),
            }
            detect.push(served(&r, &failover, t, Duration::from_secs(120)).await);
            let t = Instant::now();
            match kind {
                "hangs" => member.set_latency(Duration::ZERO),
                _ => member.set_reachable(true),
            }
            recover.push(served(&r, &own, t, Duration::from_secs(120)).await);
        }
        summary(
            &format!("member API {kind} -> its shards leave DNS (default probes)"),
            &mut detect,
        );
        summary(
            &format!("member API back ({kind}) -> its shards return"),
            &mut recover,
        );
    }
    controller.shutdown(Duration::from_secs(5)).await;

    // 3. Steady state, with a short resync period so that an hour's pattern shows in a minute.
    let mut steady_config = config(&bind);
    steady_config.sync.resync = Duration::from_secs(resync_secs);
    let provider = Arc::new(Counting::new(
        dns_config(&bind)
            .build()
            .await
            .expect("an RFC 2136 provider"),
    ));
    let controller = fed.controller(provider.clone(), &steady_config).await;
    // Let the restarted controller settle (first listing and sync), then count.
    tokio::time::sleep(Duration::from_secs(resync_secs.min(5))).await;
    provider.reset();
    tokio::time::sleep(Duration::from_secs(steady_secs)).await;
    let stats = provider.stats();
    let periods = steady_secs as f64 / resync_secs as f64;
    println!(
        "steady state: {steady_secs} s with a resync every {resync_secs} s: {} listings, {} \
         writes; per resync period {:.2} listings and {:.2} writes, so at the default period \
         (5 min) {:.0} listings and {:.0} writes per hour",
        stats.lists,
        stats.writes,
        stats.lists as f64 / periods,
        stats.writes as f64 / periods,
        12.0 * stats.lists as f64 / periods,
        12.0 * stats.writes as f64 / periods,
    );
    controller.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        addresses(&r, ZONE_NAME).await,
        own,
        "the records stand after the controller stopped"
    );
}
