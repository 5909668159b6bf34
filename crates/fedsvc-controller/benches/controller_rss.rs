//! Memory of the whole controller at scale: the `fedsvc-controller` binary, in a process of
//! its own, with 10 000 federated services in 20 member clusters (10 regions × 2 zones),
//! writing to a real BIND over RFC 2136.
//!
//! `cargo bench -p fedsvc-controller --bench controller_rss`
//!
//! The federation API and the members are API server emulators in this (the benchmark's)
//! process; the controller reaches them through kube-rs as in production (kubeconfigs in
//! Secrets, watches on Services and EndpointSlices, `/readyz` probes). The federation is an
//! established one, as a restarted controller finds it: every federated Service carries the
//! finalizer, and every member already holds its copy (as fedsvc made it), with load-balancer
//! ingress and an EndpointSlice with two ready endpoints. The controller starts with its default
//! settings, apart from leader election (off) and the member request rate (`members.qps`,
//! unlimited by default here so that the first pass does not take hours; see
//! `FEDSVC_RSS_QPS`).
//!
//! Printed every 10 s and at the end: the controller's VmRSS and VmHWM (from `/proc`), the
//! healthy shards it reports (`/metrics`), and the requests the members and the federation API
//! received, by kind.
//!
//! The controller runs twice, and each run is followed the same way:
//!
//! - **Converge**: until every shard is healthy, DNS has been synced and written nothing for
//!   10 s, and no member has seen an ordinary request (not a probe, a node list for its
//!   zones, a list or a watch) for 10 s.
//! - **Hold**: steady state; the requests the members receive and the provider calls are
//!   counted.
//! - **Stop**: SIGTERM; the controller must exit cleanly within 30 s.
//!
//! 1. **First start**, with an empty zone: everything is written (held
//!    `FEDSVC_RSS_FIRST_HOLD_SECS`, default 330: one 5 minute resync, which lists the zone the
//!    controller filled). The zone is then listed from here and its record sets counted.
//! 2. **Restart**, over the zone the first run filled: nothing may be written (held
//!    `FEDSVC_RSS_HOLD_SECS`, default 700: two 5 minute resyncs of the zone and requeues of
//!    every service, so that the median is mostly that of a controller that has resynced).
//!    Its RSS is what a controller of this size holds.
//!
//! Knobs: `FEDSVC_RSS_SERVICES` (10 000), `FEDSVC_RSS_CLUSTERS` (20, two per region),
//! `FEDSVC_RSS_NAMESPACES` (100), `FEDSVC_RSS_QPS` (`members.qps`, default 0: no limit),
//! `FEDSVC_RSS_TIMEOUT_SECS` (3 600, for phase 1), `FEDSVC_RSS_LOG` (the controller's
//! `RUST_LOG`, default `warn`), `FEDSVC_RSS_CONFIG` (YAML lines appended to the controller's
//! configuration, e.g. `workloads: {enabled: false}`). Without BIND it prints why and exits.
//!
//! Federated Deployments as well: `FEDSVC_RSS_DEPLOYMENTS` (default 0) Deployments on the
//! federation API (then a control plane alone, running no workload controllers), in the same
//! namespaces, each of `FEDSVC_RSS_REPLICAS` replicas (default: one per member), established
//! like the services: the finalizer on the federated object, and in every member its copy as
//! fedsvc makes it, with its share, which the member's emulated workload controllers run
//! (a ReplicaSet and ready pods). Converged then also means that every federated Deployment's
//! status shows all its replicas ready.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fedsvc_emulator::ApiServer;
use fedsvc_model::{Label, LabelRules};
use fedsvc_providers::DnsProvider;
use fedsvc_test_support::Server;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SYSTEM: &str = "fedsvc-system";
const FEDERATION: &str = "myfederation";

mod support;

use support::env_u64;

/// Name, zone and region of member `c`.
fn member(c: u64) -> (String, String, String) {
    let region = format!("region-{:02}", c / 2);
    let zone = format!("{region}-{}", if c.is_multiple_of(2) { 'a' } else { 'b' });
    (format!("cluster-{c:02}"), zone, region)
}

/// The load-balancer address of service `i` in member `c`.
fn address(c: u64, i: u64) -> String {
    format!("10.{}.{}.{}", c + 1, (i >> 8) & 255, i & 255)
}

fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// The controller process, killed if still running when dropped.
struct Controller {
    child: Child,
    log: std::path::PathBuf,
}

impl Controller {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rss_kb(&self) -> u64 {
        status_field(self.pid(), "VmRSS:")
    }

    fn hwm_kb(&self) -> u64 {
        status_field(self.pid(), "VmHWM:")
    }

    /// Panics with the end of the log when the process has exited.
    fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "the controller exited ({status}); its log ends with:\n{}",
                self.log_tail()
            );
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `/metrics` says, summed over label sets.
#[derive(Debug, Default, Clone, Copy)]
struct Metrics {
    healthy_shards: f64,
    ready_clusters: f64,
    last_sync: f64,
    writes: f64,
    lists: f64,
    errors: f64,
}

async fn metrics(addr: &str) -> Option<Metrics> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    let mut m = Metrics::default();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        let name = name.split('{').next().unwrap_or_default();
        match name {
            "fedsvc_healthy_shards" => m.healthy_shards += v,
            "fedsvc_cluster_ready" => m.ready_clusters += v,
            "fedsvc_dns_last_sync_timestamp_seconds" => m.last_sync = v,
            "fedsvc_dns_write_calls_total" => m.writes += v,
            "fedsvc_dns_list_calls_total" => m.lists += v,
            "fedsvc_dns_sync_errors_total" => m.errors += v,
            _ => {}
        }
    }
    Some(m)
}

/// Requests served by a set of emulators since the last call, by kind.
#[derive(Debug, Default, Clone, Copy)]
struct Requests {
    probes: u64,
    node_lists: u64,
    lists_and_watches: u64,
    reads: u64,
    writes: u64,
}

impl Requests {
    fn take(apis: &[&ApiServer]) -> Requests {
        let mut r = Requests::default();
        for api in apis {
            for q in api.take_requests() {
                if q.path == "/readyz" || q.path == "/healthz" {
                    r.probes += 1;
                } else if q.path == "/api/v1/nodes" {
                    r.node_lists += 1;
                } else if q.is_watch() || (q.method == "GET" && q.query.contains("limit=")) {
                    r.lists_and_watches += 1;
                } else if q.method == "GET" {
                    r.reads += 1;
                } else {
                    r.writes += 1;
                }
            }
        }
        r
    }

    fn add(&mut self, o: Requests) {
        self.probes += o.probes;
        self.node_lists += o.node_lists;
        self.lists_and_watches += o.lists_and_watches;
        self.reads += o.reads;
        self.writes += o.writes;
    }

    fn ordinary(&self) -> u64 {
        self.reads + self.writes
    }
}

impl std::fmt::Display for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} reads, {} writes, {} lists/watches, {} probes, {} node lists",
            self.reads, self.writes, self.lists_and_watches, self.probes, self.node_lists
        )
    }
}

/// Builds the federation: the API of each member with its node, Secret and Cluster; every
/// service on the federation API with its finalizer, and in every member as fedsvc made it.
async fn federation(
    services: u64,
    clusters: u64,
    namespaces: u64,
    workloads: Workloads,
) -> (ApiServer, Vec<ApiServer>) {
    let federation = Label::parse(FEDERATION, LabelRules::Rfc1123, "federation").expect("valid");
    let host = ApiServer::start().await;
    if workloads.deployments > 0 {
        // The federation's control plane: Deployments are stored, nothing runs them.
        host.set_workload_controllers(false);
    }
    let ns = |i: u64| format!("ns-{:03}", i % namespaces);
    for name in std::iter::once(SYSTEM.to_owned()).chain((0..namespaces).map(ns)) {
        host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
            .expect("namespace");
    }
    let mut members = Vec::new();
    for c in 0..clusters {
        let (name, zone, region) = member(c);
        let api = ApiServer::start().await;
        api.add_node(&format!("{name}-node-1"), Some(&zone), Some(&region))
            .expect("node");
        for n in 0..namespaces {
            api.create(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns(n)}}),
            )
            .expect("namespace");
        }
        host.create(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("{name}-kubeconfig"), "namespace": SYSTEM},
            "stringData": {"kubeconfig": api.kubeconfig_yaml(&name)},
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
    let t = Instant::now();
    for i in 0..services {
        if i > 0 && i % 1000 == 0 {
            println!("  {i} services, {:.0} s", t.elapsed().as_secs_f64());
        }
        let (namespace, name) = (ns(i), format!("svc-{i:05}"));
        let created = host
            .create(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {
                    "name": name, "namespace": namespace,
                    "labels": {"app": name},
                    "finalizers": ["fedsvc.io/cleanup"],
                },
                "spec": {
                    "type": "LoadBalancer",
                    // 10 000 services need more node ports than a cluster has.
                    "allocateLoadBalancerNodePorts": false,
                    "selector": {"app": name},
                    "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                },
            }))
            .expect("service");
        let federated: Service = serde_json::from_value(created).expect("a Service");
        let copy = fedsvc_cluster::member_service(&federated, &federation).expect("member copy");
        let copy = serde_json::to_value(&copy).expect("json");
        for (c, api) in (0..).zip(&members) {
            api.create(copy.clone()).expect("member service");
            api.set_load_balancer_ingress(&namespace, &name, &[&address(c, i)], &[])
                .expect("ingress");
            api.set_endpoints(&namespace, &name, 2, 0)
                .expect("endpoints");
        }
    }
    deployments(&host, &members, namespaces, workloads, &federation);
    (host, members)
}

/// The federated Deployments of the run (none by default).
#[derive(Debug, Clone, Copy)]
struct Workloads {
    deployments: u64,
    replicas: u64,
}

/// Every federated Deployment on the federation API with its finalizer, and in every member
/// as fedsvc makes it, with its share of an even division.
fn deployments(
    host: &ApiServer,
    members: &[ApiServer],
    namespaces: u64,
    workloads: Workloads,
    federation: &Label,
) {
    let clusters = members.len() as u64;
    let t = Instant::now();
    for i in 0..workloads.deployments {
        if i > 0 && i % 1000 == 0 {
            println!("  {i} deployments, {:.0} s", t.elapsed().as_secs_f64());
        }
        let (namespace, name) = (format!("ns-{:03}", i % namespaces), format!("web-{i:05}"));
        let created = host
            .create(json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {
                    "name": name, "namespace": namespace,
                    "finalizers": ["fedsvc.io/cleanup"],
                },
                "spec": {
                    "replicas": workloads.replicas,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                    },
                },
            }))
            .expect("deployment");
        let federated: Deployment = serde_json::from_value(created).expect("a Deployment");
        for (c, api) in (0..).zip(members) {
            // The even division: the remainder one each to the first members in name order.
            let share =
                workloads.replicas / clusters + u64::from(c < workloads.replicas % clusters);
            if share == 0 {
                continue;
            }
            let copy = fedsvc_cluster::member_deployment(
                &federated,
                federation,
                u32::try_from(share).expect("a share"),
            )
            .expect("member copy");
            api.create(serde_json::to_value(&copy).expect("json"))
                .expect("member deployment");
        }
    }
}

/// How many Deployments on the federation API show all their replicas ready.
fn deployments_ready(host: &ApiServer) -> u64 {
    host.list("apps/v1", "Deployment", None)
        .unwrap_or_default()
        .iter()
        .filter(|d| {
            let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
            d["status"]["readyReplicas"].as_i64() == Some(want)
        })
        .count() as u64
}

fn start_controller(dir: &Path, host: &ApiServer, bind: &Server, qps: u64) -> (Controller, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let kubeconfig = dir.join("host.kubeconfig");
    std::fs::write(&kubeconfig, host.kubeconfig_yaml("federation")).expect("write");
    let dns = dir.join("dns.yaml");
    std::fs::write(&dns, bind.rfc2136_yaml()).expect("write");
    let config = dir.join("controller.yaml");
    std::fs::write(
        &config,
        format!(
            "federation: {FEDERATION}\ndnsSuffix: example.com\ndnsConfigFile: {}\n\
             namespace: {SYSTEM}\nlisten: {listen}\nleaderElection: {{enabled: false}}\n\
             members: {{qps: {qps}, burst: {}}}\n{}\n",
            dns.display(),
            (2 * qps).max(1),
            std::env::var("FEDSVC_RSS_CONFIG").unwrap_or_default(),
        ),
    )
    .expect("write");
    let log = dir.join("controller.log");
    let child = Command::new(env!("CARGO_BIN_EXE_fedsvc-controller"))
        .arg("--config")
        .arg(&config)
        .env("KUBECONFIG", &kubeconfig)
        .env(
            "RUST_LOG",
            std::env::var("FEDSVC_RSS_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(std::fs::File::create(&log).expect("log file"))
        .stderr(Stdio::from(
            std::fs::File::options()
                .append(true)
                .open(&log)
                .expect("log file"),
        ))
        .spawn()
        .expect("start fedsvc-controller");
    (Controller { child, log }, listen)
}

/// What one run of the controller measured.
struct Figures {
    converge_secs: f64,
    rss_converged: u64,
    rss_median: u64,
    rss_max: u64,
    peak: u64,
    dns_writes: f64,
    member_requests_steady: u64,
}

/// Everything one run of the controller needs.
struct Setup<'a> {
    host: &'a ApiServer,
    members: Vec<&'a ApiServer>,
    bind: &'a Server,
    dir: &'a Path,
    want_shards: f64,
    deployments: u64,
    qps: u64,
    timeout: Duration,
}

/// Starts the controller, waits until it has converged, holds it for `hold`, and stops it with
/// SIGTERM.
async fn run(setup: &Setup<'_>, label: &str, hold: Duration) -> Figures {
    let _ = Requests::take(&setup.members);
    let _ = Requests::take(&[setup.host]);
    let (mut controller, listen) = start_controller(setup.dir, setup.host, setup.bind, setup.qps);
    let start = Instant::now();
    let want_shards = setup.want_shards;

    // Converge.
    let mut member_total = Requests::default();
    let mut host_total = Requests::default();
    let mut quiet_since: Option<Instant> = None;
    let mut writes_seen = (-1.0, Instant::now());
    let mut last_print = Instant::now();
    let converged = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        controller.check_alive();
        let m = metrics(&listen).await.unwrap_or_default();
        let r = Requests::take(&setup.members);
        member_total.add(r);
        host_total.add(Requests::take(&[setup.host]));
        quiet_since = if r.ordinary() == 0 {
            quiet_since.or(Some(Instant::now()))
        } else {
            None
        };
        if m.writes != writes_seen.0 {
            writes_seen = (m.writes, Instant::now());
        }
        let dns_settled = m.healthy_shards >= want_shards
            && m.last_sync > 0.0
            && writes_seen.1.elapsed() >= Duration::from_secs(10);
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            println!(
                "  {:>5.0} s: RSS {:.0} MiB (peak {:.0}), healthy shards {}/{want_shards}, ready \
                 clusters {}, DNS writes {} lists {} errors {}; members so far: {member_total}",
                start.elapsed().as_secs_f64(),
                mib(controller.rss_kb()),
                mib(controller.hwm_kb()),
                m.healthy_shards,
                m.ready_clusters,
                m.writes,
                m.lists,
                m.errors,
            );
        }
        if dns_settled
            && quiet_since.is_some_and(|q| q.elapsed() >= Duration::from_secs(10))
            && (setup.deployments == 0 || deployments_ready(setup.host) >= setup.deployments)
        {
            break m;
        }
        assert!(
            start.elapsed() < setup.timeout,
            "no convergence within {:?}; the controller's log ends with:\n{}",
            setup.timeout,
            controller.log_tail()
        );
    };
    let converge_secs = start.elapsed().as_secs_f64();
    let rss_converged = controller.rss_kb();
    println!(
        "{label}: converged in {converge_secs:.0} s: RSS {:.0} MiB, peak {:.0} MiB; DNS {} \
         writes, {} lists; members received {member_total}; the federation API {host_total}",
        mib(rss_converged),
        mib(controller.hwm_kb()),
        converged.writes,
        converged.lists,
    );

    // Hold.
    let mut hold_members = Requests::default();
    let mut samples = Vec::new();
    let hold_start = Instant::now();
    while hold_start.elapsed() < hold {
        tokio::time::sleep(Duration::from_secs(1)).await;
        controller.check_alive();
        hold_members.add(Requests::take(&setup.members));
        samples.push(controller.rss_kb());
    }
    let after = metrics(&listen).await.unwrap_or_default();
    samples.sort_unstable();
    let rss_median = samples
        .get(samples.len() / 2)
        .copied()
        .unwrap_or(rss_converged);
    let rss_max = samples.last().copied().unwrap_or(rss_converged);
    let peak = controller.hwm_kb();
    println!(
        "{label}: steady state over {} s: RSS median {:.0} MiB, max {:.0} MiB, peak since start \
         {:.0} MiB; DNS {} writes, {} lists, {} errors; members received {hold_members} ({:.3} \
         ordinary requests per service and member)",
        hold.as_secs(),
        mib(rss_median),
        mib(rss_max),
        mib(peak),
        after.writes - converged.writes,
        after.lists - converged.lists,
        after.errors - converged.errors,
        hold_members.ordinary() as f64 / want_shards,
    );

    // A graceful stop.
    let _ = Command::new("kill")
        .args(["-TERM", &controller.pid().to_string()])
        .status();
    let stop = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = controller.child.try_wait() {
            break Some(s);
        }
        if stop.elapsed() > Duration::from_secs(30) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let status = status.unwrap_or_else(|| {
        panic!(
            "the controller did not stop within 30 s of SIGTERM:\n{}",
            controller.log_tail()
        )
    });
    assert!(status.success(), "the controller exited with {status}");
    println!(
        "{label}: stopped {:.1} s after SIGTERM ({status})",
        stop.elapsed().as_secs_f64()
    );
    Figures {
        converge_secs,
        rss_converged,
        rss_median,
        rss_max,
        peak,
        dns_writes: converged.writes,
        member_requests_steady: hold_members.ordinary(),
    }
}

#[tokio::main]
async fn main() {
    fedsvc_emulator::install_crypto_provider();
    let Some(bind) = Server::bind(&[]) else {
        println!("controller_rss bench skipped: BIND (named) is not installed");
        return;
    };
    let services = env_u64("FEDSVC_RSS_SERVICES", 10_000);
    let clusters = env_u64("FEDSVC_RSS_CLUSTERS", 20);
    let namespaces = env_u64("FEDSVC_RSS_NAMESPACES", 100).max(1);
    let first_hold = Duration::from_secs(env_u64("FEDSVC_RSS_FIRST_HOLD_SECS", 330));
    let hold = Duration::from_secs(env_u64("FEDSVC_RSS_HOLD_SECS", 700));
    let workloads = Workloads {
        deployments: env_u64("FEDSVC_RSS_DEPLOYMENTS", 0),
        replicas: env_u64("FEDSVC_RSS_REPLICAS", clusters),
    };

    let t = Instant::now();
    let (host, members) = federation(services, clusters, namespaces, workloads).await;
    if workloads.deployments > 0 {
        println!(
            "federation built: {services} services and {} deployments of {} replicas in \
             {clusters} members, {:.0} s",
            workloads.deployments,
            workloads.replicas,
            t.elapsed().as_secs_f64()
        );
    } else {
        println!(
            "federation built: {services} services in {clusters} members, {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!(
        "controller log: {}",
        dir.path().join("controller.log").display()
    );
    let setup = Setup {
        host: &host,
        members: members.iter().collect(),
        bind: &bind,
        dir: dir.path(),
        want_shards: (services * clusters) as f64,
        deployments: workloads.deployments,
        qps: env_u64("FEDSVC_RSS_QPS", 0),
        timeout: Duration::from_secs(env_u64("FEDSVC_RSS_TIMEOUT_SECS", 3600)),
    };

    // 1. A first start: the zone is empty.
    let first = run(&setup, "first start", first_hold).await;

    // The zone as the first run left it.
    let provider = fedsvc_providers::Config::from_yaml(&bind.rfc2136_yaml())
        .expect("provider config")
        .build()
        .await
        .expect("an RFC 2136 provider");
    let sets = provider.list().await.expect("the zone lists").len();
    drop(provider);
    let names_per_service = clusters + clusters.div_ceil(2) + 1;
    println!(
        "zone: {sets} record sets ({:.1} per service)",
        sets as f64 / services as f64
    );
    assert!(
        sets as u64 >= services * names_per_service,
        "expected at least {names_per_service} names per service, the zone holds {sets} record sets"
    );

    // 2. A restart: everything is in place.
    let restart = run(&setup, "restart", hold).await;
    assert_eq!(
        restart.dns_writes, 0.0,
        "a restart over a zone in step writes nothing"
    );

    let figures = |f: &Figures| {
        json!({
            "converge_s": f.converge_secs,
            "rss_converged_mib": mib(f.rss_converged),
            "rss_steady_median_mib": mib(f.rss_median),
            "rss_steady_max_mib": mib(f.rss_max),
            "peak_mib": mib(f.peak),
            "dns_writes": f.dns_writes,
            "member_requests_steady": f.member_requests_steady,
        })
    };
    let mut out = json!({
        "bench": "controller_rss",
        "services": services,
        "clusters": clusters,
        "zone_record_sets": sets,
        "first_start": figures(&first),
        "restart": figures(&restart),
    });
    if workloads.deployments > 0 {
        out["deployments"] = json!(workloads.deployments);
        out["replicas"] = json!(workloads.replicas);
    }
    println!("{out}");
}
