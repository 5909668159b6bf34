//! Federated Deployments at scale: how long the controller takes to run them in the members,
//! what it costs the members in requests, and how fast replicas move off a member that stops
//! answering.
//!
//! `cargo bench -p fedsvc-controller --bench workloads`
//!
//! The federation API and the members are API server emulators in this process, reached
//! through kube-rs as in production (kubeconfigs in Secrets, watches, `/readyz` probes). The
//! federation API is a control plane alone (`set_workload_controllers(false)`); every member
//! plays its workload controllers: a Deployment makes a ReplicaSet, the ReplicaSet its pods,
//! and the pods are ready at once, so a member copy's status follows its spec as soon as it is
//! written. The controller runs in this process (`fedsvc_controller::controller::start`) with
//! an in-memory DNS provider; leader election is off.
//!
//! 1. **Creation**: `FEDSVC_WL_DEPLOYMENTS` (1 000) Deployments created on the federation API,
//!    spread over `FEDSVC_WL_NAMESPACES` (10) namespaces, each with `spec.replicas` from
//!    `FEDSVC_WL_REPLICAS` (a comma-separated list, one round each: `20,40`), over
//!    `FEDSVC_WL_CLUSTERS` (20) members. Measured from the first create: the time until every
//!    member holds its copy with its share (even division), and until every federated
//!    Deployment's status shows all its replicas ready; the requests the members served in
//!    that time, by method, in total and per copy. The controller runs with its default
//!    settings (probes every 10 s; member requests limited to `members.qps` 20 per second
//!    and member, burst 40), unless `FEDSVC_WL_QPS` sets `members.qps` (0: no limit). Each
//!    round starts from a fresh federation and controller.
//! 2. **Failover**: `FEDSVC_WL_FAILOVER_DEPLOYMENTS` (100) Deployments of one replica per
//!    member over the same members; one member stops answering (`set_reachable(false)`:
//!    connections refused). Measured per Deployment: the time until the ready replicas of its
//!    copies in the other members add up to its `spec.replicas`; and per run the time until the
//!    controller holds the member as not Ready (the health hysteresis). The member answers
//!    again and everything returns to the even division before the next run;
//!    `FEDSVC_WL_FAILOVER_RUNS` (5) runs, a different member each time, their starts spread over
//!    the probe period. Health: probes every `FEDSVC_WL_PERIOD_MS` (200) ms with a timeout of
//!    the same length, 3 failures before a member is not Ready, 2 successes before it is Ready
//!    again (at the default period of 10 s, the hysteresis alone takes 20–30 s).
//!
//!    A Deployment whose replicas have not moved within `FEDSVC_WL_FAILOVER_LIMIT_SECS` (120)
//!    is reported and counted at the limit. Also printed: how many federated statuses show more
//!    ready replicas than `spec.replicas` 2 s after the move (the unreachable member's last
//!    counts are still summed), and whether any other member was seen not Ready.
//!
//! Figures are printed as they come, and as one JSON line per part (`"bench":"workloads"`).
//! `cargo test --bench workloads` (no `--bench` argument) runs a smoke version in seconds:
//! 20 Deployments over 3 members, then 2 failover runs of 10 Deployments; creation must
//! converge within `FEDSVC_WL_TIMEOUT_SECS` (120 here, 1 800 in full runs).
//!
//! The memory of the controller with federated Deployments is measured by the
//! `controller_rss` bench (`FEDSVC_RSS_DEPLOYMENTS`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::KubeMemberFactory;
use fedsvc_emulator::ApiServer;
use fedsvc_providers::{DnsProvider, MemoryProvider};
use serde_json::{Value, json};

const SYSTEM: &str = "fedsvc-system";
const FEDERATION: &str = "myfederation";

mod support;

use support::env_u64;

/// Whether this is the smoke run: `cargo bench` passes `--bench`, `cargo test` does not.
fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// A knob: the environment's value, else the smoke or the full default.
fn knob(name: &str, full: u64, small: u64) -> u64 {
    env_u64(name, if smoke() { small } else { full })
}

fn member_name(c: usize) -> String {
    format!("cluster-{c:02}")
}

fn namespace(i: usize, namespaces: usize) -> String {
    format!("ns-{:02}", i % namespaces)
}

fn deployment_name(i: usize) -> String {
    format!("web-{i:05}")
}

/// The even division of `replicas` over `clusters` members in name order (the remainder one
/// each to the first ones).
fn shares(replicas: u64, clusters: usize) -> Vec<i64> {
    let c = clusters as u64;
    (0..c)
        .map(|i| (replicas / c + u64::from(i < replicas % c)) as i64)
        .collect()
}

struct World {
    host: ApiServer,
    members: Vec<ApiServer>,
    running: Running,
    namespaces: usize,
}

/// A federation API (a control plane alone) and `clusters` members, all joined and Ready.
async fn world(clusters: usize, namespaces: usize, config: &ControllerConfig) -> World {
    let host = ApiServer::start().await;
    host.set_workload_controllers(false);
    for name in
        std::iter::once(SYSTEM.to_owned()).chain((0..namespaces).map(|n| namespace(n, namespaces)))
    {
        host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
            .expect("namespace");
    }
    let mut members = Vec::new();
    for c in 0..clusters {
        let name = member_name(c);
        let api = ApiServer::start().await;
        let region = format!("region-{:02}", c / 2);
        let zone = format!("{region}-{}", if c % 2 == 0 { 'a' } else { 'b' });
        api.add_node(&format!("{name}-node-1"), Some(&zone), Some(&region))
            .expect("node");
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
    let provider: Arc<dyn DnsProvider> =
        Arc::new(MemoryProvider::new("example.com".parse().expect("a zone")));
    let running = start(
        config,
        Parts {
            host: host.client(),
            members: Arc::new(KubeMemberFactory {
                options: config.member_options(),
            }),
            provider: Some(provider),
            resolver: None,
        },
    )
    .await
    .expect("the controller starts");
    let t = Instant::now();
    loop {
        let views = running.clusters.members();
        if views.len() == clusters && views.iter().all(|m| m.ready) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the members were not all Ready within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    World {
        host,
        members,
        running,
        namespaces,
    }
}

fn config(qps: Option<f64>, period: Option<Duration>) -> ControllerConfig {
    let dns = fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")
        .expect("provider config");
    let mut config = ControllerConfig::new(FEDERATION, "example.com", dns);
    config.namespace = SYSTEM.into();
    config.leader_election.enabled = false;
    config.listen = "127.0.0.1:0".parse().expect("an address");
    if let Some(qps) = qps {
        config.members.qps = qps;
        config.members.burst = ((2.0 * qps) as u32).max(1);
    }
    if let Some(p) = period {
        config.health.period = p;
        config.health.timeout = p;
    }
    config
}

impl World {
    /// Creates Deployments `0..n` on the federation API.
    fn create(&self, n: usize, replicas: u64) {
        for i in 0..n {
            let name = deployment_name(i);
            self.host
                .create(json!({
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": namespace(i, self.namespaces)},
                    "spec": {
                        "replicas": replicas,
                        "selector": {"matchLabels": {"app": name}},
                        "template": {
                            "metadata": {"labels": {"app": name}},
                            "spec": {"containers": [{
                                "name": "web", "image": "nginx:1.27",
                                "ports": [{"containerPort": 80}],
                            }]},
                        },
                    },
                }))
                .expect("deployment");
        }
    }

    /// Each member's copies: (namespace, name) → (spec.replicas, status.readyReplicas).
    fn copies(&self, member: usize) -> HashMap<(String, String), (i64, i64)> {
        self.members[member]
            .list("apps/v1", "Deployment", None)
            .expect("list")
            .into_iter()
            .map(|d| {
                let key = (
                    d["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    d["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
                let spec = d["spec"]["replicas"].as_i64().unwrap_or(1);
                let ready = d["status"]["readyReplicas"].as_i64().unwrap_or(0);
                (key, (spec, ready))
            })
            .collect()
    }

    /// How many members hold a copy of every Deployment `0..n` with its share and all of it
    /// ready; the count of copies in place.
    fn copies_in_place(&self, n: usize, replicas: u64) -> (usize, usize) {
        let shares = shares(replicas, self.members.len());
        let mut in_place = 0;
        let mut ready = 0;
        for (c, share) in shares.iter().enumerate() {
            let copies = self.copies(c);
            for i in 0..n {
                let key = (namespace(i, self.namespaces), deployment_name(i));
                match copies.get(&key) {
                    Some((spec, r)) if spec == share => {
                        in_place += 1;
                        if r == share {
                            ready += 1;
                        }
                    }
                    None if *share == 0 => {
                        in_place += 1;
                        ready += 1;
                    }
                    _ => {}
                }
            }
        }
        (in_place, ready)
    }

    /// How many federated Deployments show all their replicas ready.
    fn federated_ready(&self) -> usize {
        self.host
            .list("apps/v1", "Deployment", None)
            .expect("list")
            .iter()
            .filter(|d| {
                let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
                d["status"]["readyReplicas"].as_i64() == Some(want)
                    && d["status"]["replicas"].as_i64() == Some(want)
            })
            .count()
    }

    /// Every request the members served since the last call, by kind.
    fn take_requests(&self) -> Requests {
        let mut r = Requests::default();
        for api in &self.members {
            for q in api.take_requests() {
                *r.0.entry(request_kind(&q.method, &q.path, q.is_watch()))
                    .or_default() += 1;
            }
        }
        r
    }
}

/// What a request was: `probe`, `watch RESOURCE`, `list RESOURCE`, or `METHOD RESOURCE` for
/// one object (`deployments`, `namespaces`, `deployments/status`…).
fn request_kind(method: &str, path: &str, watch: bool) -> String {
    if matches!(path, "/readyz" | "/healthz" | "/livez") {
        return "probe".to_owned();
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest = match segs.first() {
        Some(&"api") => segs.get(2..),
        Some(&"apis") => segs.get(3..),
        _ => None,
    };
    let Some(rest) = rest.filter(|r| !r.is_empty()) else {
        return format!("{method} {path}");
    };
    let rest = if rest[0] == "namespaces" && rest.len() >= 3 {
        &rest[2..]
    } else {
        rest
    };
    let resource = match rest {
        [r] if method == "GET" => {
            return format!("{} {r}", if watch { "watch" } else { "list" });
        }
        [r] => (*r).to_owned(),
        [r, _] => (*r).to_owned(),
        [r, _, sub, ..] => format!("{r}/{sub}"),
        [] => path.to_owned(),
    };
    format!("{method} {resource}")
}

/// Requests by kind ([`request_kind`]).
#[derive(Debug, Default, Clone)]
struct Requests(BTreeMap<String, u64>);

impl Requests {
    /// Requests other than probes, watches and lists: those spent on the copies.
    fn ordinary(&self) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| !(*k == "probe" || k.starts_with("watch ") || k.starts_with("list ")))
            .map(|(_, v)| v)
            .sum()
    }

    /// Writes: POST, PUT, PATCH and DELETE.
    fn writes(&self) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| {
                ["POST ", "PUT ", "PATCH ", "DELETE "]
                    .iter()
                    .any(|m| k.starts_with(m))
            })
            .map(|(_, v)| v)
            .sum()
    }

    fn add(&mut self, o: &Requests) {
        for (k, v) in &o.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }
}

impl std::fmt::Display for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{v} {k}")).collect();
        write!(f, "{}", parts.join(", "))
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn median(v: &[f64]) -> f64 {
    percentile(&sorted(v.to_vec()), 50.0)
}

/// Part 1: `n` Deployments of `replicas` created at once; returns its JSON figures.
async fn creation(
    clusters: usize,
    namespaces: usize,
    n: usize,
    replicas: u64,
    qps: Option<f64>,
) -> Value {
    let w = world(clusters, namespaces, &config(qps, None)).await;
    let copies = n * clusters;
    let _ = w.take_requests();
    let _ = w.host.take_requests();
    let t0 = Instant::now();
    w.create(n, replicas);
    let created = t0.elapsed().as_secs_f64();
    let mut requests = Requests::default();
    let mut at_copies = None;
    let mut at_copies_ready = None;
    let mut at_ready = None;
    let mut requests_at_copies = Requests::default();
    let mut last_print = Instant::now();
    let limit = Duration::from_secs(knob("FEDSVC_WL_TIMEOUT_SECS", 1800, 120));
    while at_ready.is_none() || at_copies.is_none() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        requests.add(&w.take_requests());
        let (in_place, ready) = w.copies_in_place(n, replicas);
        let federated = w.federated_ready();
        let now = t0.elapsed().as_secs_f64();
        if in_place == copies && at_copies.is_none() {
            at_copies = Some(now);
            requests_at_copies = requests.clone();
        }
        if ready == copies && at_copies_ready.is_none() {
            at_copies_ready = Some(now);
        }
        if federated == n && at_copies.is_some() && at_ready.is_none() {
            at_ready = Some(now);
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            last_print = Instant::now();
            println!(
                "  {now:>5.0} s: {in_place}/{copies} copies with their share ({ready} ready), \
                 {federated}/{n} federated Deployments ready; members served {requests}"
            );
        }
        assert!(
            t0.elapsed() < limit,
            "not converged within {limit:?}: {in_place}/{copies} copies, {federated}/{n} ready"
        );
    }
    let (at_copies, at_ready) = (at_copies.unwrap_or(0.0), at_ready.unwrap_or(0.0));
    let at_copies_ready = at_copies_ready.unwrap_or(at_copies);
    let mut host = Requests::default();
    for q in w.host.take_requests() {
        *host
            .0
            .entry(request_kind(&q.method, &q.path, q.is_watch()))
            .or_default() += 1;
    }
    let per_copy = requests.ordinary() as f64 / copies as f64;
    println!(
        "creation, {n} Deployments × {replicas} replicas over {clusters} members (members.qps {}): \
         created on the federation API in {created:.2} s; every copy with its share after \
         {at_copies:.1} s (all ready {at_copies_ready:.1} s), every federated status ready after \
         {at_ready:.1} s",
        qps.map_or_else(|| "default".to_owned(), |q| q.to_string()),
    );
    println!(
        "  member requests until then: {requests}; {} besides probes, watches and lists = \
         {per_copy:.2} per copy ({} by the time the copies were in place); the federation API \
         served {host}: {} writes, {:.1} per Deployment",
        requests.ordinary(),
        requests_at_copies.ordinary(),
        host.writes(),
        host.writes() as f64 / n as f64,
    );
    w.running.shutdown(Duration::from_secs(5)).await;
    json!({
        "deployments": n,
        "replicas": replicas,
        "clusters": clusters,
        "members_qps": qps,
        "created_s": created,
        "copies_in_place_s": at_copies,
        "copies_ready_s": at_copies_ready,
        "federated_ready_s": at_ready,
        "member_requests": requests.0,
        "member_requests_ordinary": requests.ordinary(),
        "member_requests_per_copy": per_copy,
        "member_writes_per_copy": requests.writes() as f64 / copies as f64,
        "federation_api_requests": host.0,
        "federation_api_writes": host.writes(),
    })
}

/// Part 2: replicas moving off a member that stops answering.
async fn failover(
    clusters: usize,
    namespaces: usize,
    n: usize,
    runs: usize,
    period: Duration,
) -> Value {
    let w = world(clusters, namespaces, &config(None, Some(period))).await;
    let replicas = clusters as u64;
    w.create(n, replicas);
    let t = Instant::now();
    while w.copies_in_place(n, replicas).1 < n * clusters || w.federated_ready() < n {
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "the failover set-up did not converge"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "failover: {n} Deployments × {replicas} replicas ready in {clusters} members after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let keys: Vec<(String, String)> = (0..n)
        .map(|i| (namespace(i, namespaces), deployment_name(i)))
        .collect();
    let index: HashMap<&(String, String), usize> =
        keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let mut all = Vec::new();
    let mut after_detection = Vec::new();
    let mut detections = Vec::new();
    let mut recoveries = Vec::new();
    let mut per_run = Vec::new();
    let mut stale = Vec::new();
    let mut never = 0;
    let mut all_flaps = Vec::new();
    let limit = Duration::from_secs(env_u64("FEDSVC_WL_FAILOVER_LIMIT_SECS", 120));
    for run in 0..runs {
        // Detection depends on where in the probe period the outage starts: start run `i` a
        // further `i / runs` of a period later.
        tokio::time::sleep(Duration::from_secs(1) + period.mul_f64(run as f64 / runs as f64)).await;
        let victim = (3 + 4 * run) % clusters;
        let _ = w.take_requests();
        let t0 = Instant::now();
        w.members[victim].set_reachable(false);
        let mut detected = None;
        let mut done: Vec<Option<f64>> = vec![None; n];
        // Other members seen not Ready (transitions, as polled): there should be none.
        let mut others_down = vec![false; clusters];
        let mut flaps = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = t0.elapsed().as_secs_f64();
            for m in w.running.clusters.members() {
                let Some(c) = (0..clusters).find(|c| m.name.as_str() == member_name(*c)) else {
                    continue;
                };
                if c == victim {
                    if detected.is_none() && !m.ready {
                        detected = Some(now);
                    }
                } else {
                    if !m.ready && !others_down[c] {
                        flaps += 1;
                    }
                    others_down[c] = !m.ready;
                }
            }
            let mut ready = vec![0i64; n];
            for c in (0..clusters).filter(|c| *c != victim) {
                for (key, (_, r)) in w.copies(c) {
                    if let Some(i) = index.get(&key) {
                        ready[*i] += r;
                    }
                }
            }
            for (i, d) in done.iter_mut().enumerate() {
                if d.is_none() && ready[i] >= replicas as i64 {
                    *d = Some(now);
                }
            }
            if done.iter().all(Option::is_some) || t0.elapsed() >= limit {
                break;
            }
        }
        let detected = detected.unwrap_or(f64::NAN);
        let missing = done.iter().filter(|d| d.is_none()).count();
        if missing > 0 {
            println!(
                "  run {run}: {missing} of {n} Deployments did not run their replicas elsewhere \
                 within {limit:?} (counted at the limit)"
            );
        }
        never += missing;
        let times: Vec<f64> = done
            .iter()
            .map(|d| d.unwrap_or(limit.as_secs_f64()))
            .collect();
        let s = sorted(times.clone());
        let moved = w.take_requests();
        let status = w
            .host
            .get("apps/v1", "Deployment", &keys[0].0, &keys[0].1)
            .expect("deployment");
        println!(
            "  run {run}: {} unreachable; not Ready after {:.0} ms; replicas elsewhere: p50 {:.0} \
             ms, p99 {:.0} ms, max {:.0} ms; members served {moved}; {} shows {}/{} ready, \
             division {}",
            member_name(victim),
            detected * 1e3,
            percentile(&s, 50.0) * 1e3,
            percentile(&s, 99.0) * 1e3,
            s.last().copied().unwrap_or(f64::NAN) * 1e3,
            keys[0].1,
            status["status"]["readyReplicas"],
            status["spec"]["replicas"],
            status["metadata"]["annotations"]["fedsvc.io/replica-division"],
        );
        per_run.push(json!({
            "victim": member_name(victim),
            "not_ready_ms": detected * 1e3,
            "p50_ms": percentile(&s, 50.0) * 1e3,
            "p99_ms": percentile(&s, 99.0) * 1e3,
            "max_ms": s.last().copied().unwrap_or(f64::NAN) * 1e3,
        }));
        // The federated statuses a little later: the unreachable member's last counts are
        // still in the sums.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let over = w
            .host
            .list("apps/v1", "Deployment", None)
            .expect("list")
            .iter()
            .filter(|d| d["status"]["readyReplicas"].as_i64() > d["spec"]["replicas"].as_i64())
            .count();
        println!(
            "  run {run}: 2 s later, {over} of {n} federated statuses show more ready replicas \
             than spec.replicas"
        );
        stale.push(over);
        println!("  run {run}: other members seen not Ready {flaps} times during the run");
        all_flaps.push(flaps);
        detections.push(detected);
        after_detection.extend(times.iter().map(|t| t - detected));
        all.extend(times);

        // Back: the member answers again, and every copy returns to its even share.
        let t1 = Instant::now();
        w.members[victim].set_reachable(true);
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let (in_place, ready) = w.copies_in_place(n, replicas);
            if in_place == n * clusters && ready == n * clusters {
                break;
            }
            if t1.elapsed() >= Duration::from_secs(300) {
                println!("  run {run}: the even division did not return within 300 s");
                break;
            }
        }
        recoveries.push(t1.elapsed().as_secs_f64());
        println!(
            "  run {run}: back to the even division {:.0} ms after {} answered again",
            recoveries[recoveries.len() - 1] * 1e3,
            member_name(victim)
        );
    }
    w.running.shutdown(Duration::from_secs(5)).await;
    let all = sorted(all);
    let after = sorted(after_detection);
    println!(
        "failover over {runs} runs × {n} Deployments (probes every {} ms, timeout {} ms, 3 \
         failures, 2 successes): member unreachable → its replicas ready elsewhere: p50 {:.0} ms, \
         p99 {:.0} ms, max {:.0} ms; of which the member held not Ready: median {:.0} ms (runs: \
         {:?}); after that: p50 {:.0} ms, p99 {:.0} ms; back to the even division: median {:.0} ms",
        period.as_millis(),
        period.as_millis(),
        percentile(&all, 50.0) * 1e3,
        percentile(&all, 99.0) * 1e3,
        all.last().copied().unwrap_or(f64::NAN) * 1e3,
        median(&detections) * 1e3,
        detections
            .iter()
            .map(|d| (d * 1e3).round())
            .collect::<Vec<_>>(),
        percentile(&after, 50.0) * 1e3,
        percentile(&after, 99.0) * 1e3,
        median(&recoveries) * 1e3,
    );
    json!({
        "deployments": n,
        "clusters": clusters,
        "runs": runs,
        "probe_period_ms": period.as_millis() as u64,
        "failure_threshold": 3,
        "p50_ms": percentile(&all, 50.0) * 1e3,
        "p99_ms": percentile(&all, 99.0) * 1e3,
        "max_ms": all.last().copied().unwrap_or(f64::NAN) * 1e3,
        "not_ready_median_ms": median(&detections) * 1e3,
        "after_not_ready_p50_ms": percentile(&after, 50.0) * 1e3,
        "after_not_ready_p99_ms": percentile(&after, 99.0) * 1e3,
        "recovery_median_ms": median(&recoveries) * 1e3,
        "statuses_over_spec_per_run": stale,
        "not_moved_within_limit": never,
        "other_members_not_ready_per_run": all_flaps,
        "runs_detail": per_run,
    })
}

#[tokio::main]
async fn main() {
    fedsvc_emulator::install_crypto_provider();
    let clusters = knob("FEDSVC_WL_CLUSTERS", 20, 3).max(2) as usize;
    let namespaces = knob("FEDSVC_WL_NAMESPACES", 10, 2).max(1) as usize;
    let n = knob("FEDSVC_WL_DEPLOYMENTS", 1000, 20) as usize;
    let replicas: Vec<u64> = match std::env::var("FEDSVC_WL_REPLICAS") {
        Ok(v) => v
            .split(',')
            .filter(|r| !r.trim().is_empty())
            .map(|r| {
                r.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("FEDSVC_WL_REPLICAS={v:?}: not whole numbers"))
            })
            .collect(),
        Err(_) => vec![clusters as u64, 2 * clusters as u64],
    };
    let qps = std::env::var("FEDSVC_WL_QPS").ok().map(|v| {
        v.parse::<f64>()
            .unwrap_or_else(|_| panic!("FEDSVC_WL_QPS={v:?} is not a number"))
    });
    let failover_n = knob("FEDSVC_WL_FAILOVER_DEPLOYMENTS", 100, 10) as usize;
    let runs = knob("FEDSVC_WL_FAILOVER_RUNS", 5, 2) as usize;
    let period = Duration::from_millis(env_u64("FEDSVC_WL_PERIOD_MS", 200));
    if smoke() {
        println!("workloads bench, smoke run (cargo bench runs the full sizes)");
    }

    for r in replicas {
        let figures = creation(clusters, namespaces, n, r, qps).await;
        println!(
            "{}",
            json!({"bench": "workloads", "part": "creation", "figures": figures})
        );
    }
    if runs > 0 && failover_n > 0 {
        let figures = failover(clusters, namespaces, failover_n, runs, period).await;
        println!(
            "{}",
            json!({"bench": "workloads", "part": "failover", "figures": figures})
        );
    }
}
