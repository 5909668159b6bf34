//! Convergence of the real DNS providers: how many write calls, listing calls and how much
//! wall time it takes to bring a zone to the records of a large federation, to confirm that
//! nothing is left to do, and to follow a 1 % change.
//!
//! For each backend whose server is installed (BIND 9 through `rfc2136`, PowerDNS, moto
//! through `route53`; a missing one is skipped with the reason printed), the bench starts the
//! server on loopback (with `fedsvc-test-support`, as the integration tests do), then:
//!
//! 1. **full**: from an empty zone, one listing, [`diff`], and
//!    [`Retrying::apply_changes`] through a [`Counting`] wrapper;
//! 2. **steady**: one more listing and diff, which must give nothing to write;
//! 3. **change-1pct**: 1 % of the shards lose their ready endpoints; the snapshot is planned
//!    again and diffed against the state known after step 1 (the listed records with the
//!    applied changes, as the controller keeps it: no listing), and applied.
//!
//! The snapshot is the user guide's topology (13 single-zone clusters in 4 regions, all
//! Ready) with 2 000 services, every shard healthy with its own IPv4 address; everything is
//! index arithmetic, nothing is random, so call counts are the same on every run.
//!
//! RFC 2136 runs twice: with the default `batchSize` (200, `bind`) and with a larger one
//! (`bind-large`); a batch too large for one DNS message is sent as several UPDATE messages.
//!
//! Route53 counts 1 000 record values (not record sets) per call, so the provider's default
//! limit is measured (`route53`, which fails) next to the largest batch size that keeps every
//! call of this data within that quota (`route53-small`; computed from the changes). moto
//! cannot hold 2 000 services in reasonable time (its listing and change calls grow with the
//! square of the zone), so the moto runs use fewer services, and `route53-model` /
//! `route53-model-small` give the call counts at full scale: `Route53Provider`'s limits over
//! an in-memory zone that enforces the same quota (call counts depend only on the changes and
//! the limits; the wall times of these runs are not Route53's).
//!
//! Output: one JSON line per measurement (starting with `{"backend"`, with `"bench":
//! "converge"`), then a summary table. Knobs (environment): `FEDSVC_BENCH_BACKENDS`
//! (comma-separated subset of
//! `bind,bind-large,powerdns,route53,route53-small,route53-model,route53-model-small`;
//! default all), `FEDSVC_BENCH_SERVICES` (default 2000), `FEDSVC_BENCH_ROUTE53_SERVICES`
//! (services for the moto runs, default [`ROUTE53_SERVICES`]), `FEDSVC_BENCH_RFC2136_BATCH`
//! (the larger RFC 2136 batch size, default [`LARGE_RFC2136_BATCH`]).
//!
//! ```sh
//! cargo bench -p fedsvc-providers --all-features --bench converge
//! ```

// Built without some backends, parts of the bench have nothing to measure.
#![cfg_attr(
    not(all(
        feature = "rfc2136",
        feature = "powerdns",
        feature = "route53",
        feature = "memory"
    )),
    allow(dead_code, unused_imports, unused_variables)
)]

#[cfg(any(feature = "rfc2136", feature = "powerdns", feature = "route53"))]
use fedsvc_test_support as servers;

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use fedsvc_dns_plan::{BatchLimits, ChangeGroup, Changes, Registry, apply_changes, diff, plan};
use fedsvc_model::{
    ClusterDoc, DnsName, RecordSet, ServiceDoc, ShardDoc, Snapshot, SnapshotDoc, ZoneNaming,
};
use fedsvc_providers::{Counting, DnsProvider, Retrying};

/// The user guide's topology: (region, zones), one cluster per zone.
const TOPOLOGY: &[(&str, &[&str])] = &[
    (
        "asia-east1",
        &["asia-east1-a", "asia-east1-b", "asia-east1-c"],
    ),
    (
        "europe-west1",
        &["europe-west1-b", "europe-west1-c", "europe-west1-d"],
    ),
    (
        "us-central1",
        &[
            "us-central1-a",
            "us-central1-b",
            "us-central1-c",
            "us-central1-f",
        ],
    ),
    ("us-east1", &["us-east1-b", "us-east1-c", "us-east1-d"]),
];

/// The zone the servers serve and the federation's DNS suffix.
const ZONE: &str = "example.com";

/// The larger RFC 2136 batch size measured besides the default: batches this large are split
/// into several UPDATE messages of at most 60 000 octets by the provider.
const LARGE_RFC2136_BATCH: usize = 1000;

/// Services for the run against moto: its listing sorts the whole zone for every page of
/// 300 and its change call scans every earlier change, so 26 000 shards would take hours.
const ROUTE53_SERVICES: usize = 200;

/// Route53's quota per `ChangeResourceRecordSets` call: 1 000 ResourceRecord elements
/// (record values, not record sets); moto enforces it.
const ROUTE53_MAX_VALUES: usize = 1000;

/// The default RFC 2136 batch size.
const DEFAULT_RFC2136_BATCH: usize = 200;

/// Cluster names, in topology order.
fn clusters() -> Vec<(String, &'static str, &'static str)> {
    TOPOLOGY
        .iter()
        .flat_map(|(region, zones)| zones.iter().map(move |z| (format!("gce-{z}"), *region, *z)))
        .collect()
}

/// The shards that lose their ready endpoints in the 1 % change: `(service, cluster)`
/// indices, one per service, spread evenly over services and round-robin over clusters.
fn changed_shards(services: usize, clusters: usize) -> Vec<(usize, usize)> {
    let count = services * clusters / 100;
    (0..count)
        .map(|k| (k * services / count, k % clusters))
        .collect()
}

/// The snapshot: `services` services in every cluster, all shards healthy except `down`.
fn snapshot(services: usize, down: &[(usize, usize)]) -> Snapshot {
    let clusters = clusters();
    let doc = SnapshotDoc {
        federation: "myfederation".into(),
        dns_suffix: ZONE.into(),
        zone_naming: ZoneNaming::Zone,
        ttl: None,
        clusters: clusters
            .iter()
            .map(|(name, region, zone)| ClusterDoc {
                name: name.clone(),
                region: (*region).into(),
                zones: vec![(*zone).into()],
                ready: true,
            })
            .collect(),
        services: (0..services)
            .map(|s| ServiceDoc {
                namespace: "bench".into(),
                name: format!("svc-{s:05}"),
                ttl: None,
                shards: clusters
                    .iter()
                    .enumerate()
                    .map(|(c, (name, _, _))| {
                        // 10.0.0.1, 10.0.0.2, …: one address per shard.
                        let index = u32::try_from(c * services + s + 1).expect("small");
                        ShardDoc {
                            cluster: name.clone(),
                            addresses: vec![Ipv4Addr::from(0x0a00_0000 + index).to_string()],
                            hostnames: Vec::new(),
                            ready_endpoints: if down.contains(&(s, c)) { 0 } else { 3 },
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    let validated = Snapshot::from_doc(doc).expect("a valid snapshot");
    assert!(
        validated.diagnostics.is_empty(),
        "{:?}",
        validated.diagnostics
    );
    validated.snapshot
}

/// The records a snapshot calls for.
fn desired(snapshot: &Snapshot) -> Vec<RecordSet> {
    let plan = plan(snapshot).expect("an unambiguous topology");
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    plan.records
}

/// One measurement.
#[derive(Debug, Clone)]
struct Measurement {
    backend: &'static str,
    batch_size: usize,
    phase: &'static str,
    groups: usize,
    record_sets: usize,
    change_units: usize,
    /// Record values (ResourceRecord elements) in the changes, and the most in one call.
    values: usize,
    max_values_per_call: usize,
    writes: u64,
    write_target: u64,
    lists: u64,
    /// Zone reads, counting the read that PowerDNS and Route53 make before each write.
    zone_reads: u64,
    /// Route53 only: HTTP requests moto logged (listing pages, change calls).
    http_list_pages: Option<usize>,
    http_change_calls: Option<usize>,
    wall: Duration,
    error: Option<String>,
    /// The listing after the phase (steady: the listing itself; 1 % change: a check outside
    /// the measurement), and the record sets the zone should hold.
    listed: Option<usize>,
    expected: Option<usize>,
}

impl Measurement {
    fn met(&self) -> bool {
        self.error.is_none() && self.writes <= self.write_target && self.lists <= 1
    }

    fn json(&self) -> String {
        serde_json::json!({
            "bench": "converge",
            "backend": self.backend,
            "batchSize": self.batch_size,
            "phase": self.phase,
            "groups": self.groups,
            "recordSets": self.record_sets,
            "changeUnits": self.change_units,
            "values": self.values,
            "maxValuesPerCall": self.max_values_per_call,
            "writes": self.writes,
            "writeTarget": self.write_target,
            "lists": self.lists,
            "zoneReads": self.zone_reads,
            "httpListPages": self.http_list_pages,
            "httpChangeCalls": self.http_change_calls,
            "wallMs": self.wall.as_secs_f64() * 1000.0,
            "targetMet": self.met(),
            "error": self.error,
            "listedRecordSets": self.listed,
            "expectedRecordSets": self.expected,
        })
        .to_string()
    }
}

/// What the server can tell about the calls it received (moto's request log).
trait CallLog {
    /// (listing pages, change calls) so far.
    fn calls(&self) -> Option<(usize, usize)>;
}

struct NoLog;

impl CallLog for NoLog {
    fn calls(&self) -> Option<(usize, usize)> {
        None
    }
}

/// How a backend was set up for one run.
struct Setup<P> {
    backend: &'static str,
    provider: P,
    batch_size: usize,
    /// Whether the backend reads the zone before each write (PowerDNS, Route53).
    reads_before_write: bool,
    log: Box<dyn CallLog>,
}

/// Record values a group carries (Route53 counts these against 1 000 per call).
fn group_values(g: &ChangeGroup) -> usize {
    g.delete
        .iter()
        .chain(&g.update_old)
        .chain(&g.update_new)
        .chain(&g.create)
        .map(|rs| rs.data().len())
        .sum()
}

/// (all values, the most values in one batch under `limits`).
fn values(changes: &Changes, limits: &BatchLimits) -> (usize, usize) {
    let total = changes.groups.iter().map(group_values).sum();
    let most = changes
        .batches(limits)
        .iter()
        .map(|b| b.iter().map(group_values).sum::<usize>())
        .max()
        .unwrap_or(0);
    (total, most)
}

/// The largest batch size (changes per call, under `limits` otherwise) for which no batch of
/// any of `all` carries more than `max_values` record values.
fn largest_batch_within(all: &[Changes], limits: BatchLimits, max_values: usize) -> usize {
    let fits = |k: usize| {
        let l = BatchLimits {
            max_changes: k,
            ..limits
        };
        all.iter().all(|c| values(c, &l).1 <= max_values)
    };
    let (mut lo, mut hi) = (1, limits.max_changes);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

fn units(changes: &Changes, limits: &BatchLimits) -> usize {
    changes.groups.iter().map(|g| g.cost(limits)).sum()
}

fn record_sets(changes: &Changes) -> usize {
    changes.groups.iter().map(|g| g.len()).sum()
}

fn ceil_div(a: usize, b: usize) -> u64 {
    u64::try_from(a.div_ceil(b.max(1))).expect("small")
}

/// Runs the three phases against one backend; returns the measurements.
async fn converge<P: DnsProvider>(setup: Setup<P>, services: usize) -> Vec<Measurement> {
    let Setup {
        backend,
        provider,
        batch_size,
        reads_before_write,
        log,
    } = setup;
    let down = changed_shards(services, clusters().len());
    let before = snapshot(services, &[]);
    let after = snapshot(services, &down);
    let registry = Registry::txt(before.federation.clone());
    let desired_before = desired(&before);

    let p = Retrying::new(Counting::new(provider));
    let limits = p.limits();
    let mut out = Vec::new();
    let new = |phase| Measurement {
        backend,
        batch_size,
        phase,
        groups: 0,
        record_sets: 0,
        change_units: 0,
        values: 0,
        max_values_per_call: 0,
        writes: 0,
        write_target: 0,
        lists: 0,
        zone_reads: 0,
        http_list_pages: None,
        http_change_calls: None,
        wall: Duration::ZERO,
        error: None,
        listed: None,
        expected: None,
    };
    let finish =
        |m: &mut Measurement, p: &Retrying<Counting<P>>, log_before: Option<(usize, usize)>| {
            let stats = p.inner().stats();
            m.writes = stats.writes;
            m.lists = stats.lists;
            m.zone_reads = stats.lists + if reads_before_write { stats.writes } else { 0 };
            if let (Some((l0, c0)), Some((l1, c1))) = (log_before, log.calls()) {
                m.http_list_pages = Some(l1 - l0);
                m.http_change_calls = Some(c1 - c0);
            }
        };

    // 1. Full convergence from an empty zone.
    let mut m = new("full");
    let log0 = log.calls();
    let start = Instant::now();
    let known = match p.list().await {
        Err(e) => {
            m.error = Some(e.to_string());
            None
        }
        Ok(current) => {
            let changes = diff(&current, &desired_before, &registry);
            assert!(changes.conflicts.is_empty(), "{:?}", changes.conflicts);
            m.groups = changes.groups.len();
            m.record_sets = record_sets(&changes);
            m.change_units = units(&changes, &limits);
            (m.values, m.max_values_per_call) = values(&changes, &limits);
            m.write_target = ceil_div(m.change_units, limits.max_changes);
            match p.apply_changes(&changes).await {
                Ok(_) => Some(apply_changes(&current, &changes)),
                Err(e) => {
                    m.error = Some(e.to_string());
                    None
                }
            }
        }
    };
    m.wall = start.elapsed();
    finish(&mut m, &p, log0);
    println!("{}", m.json());
    out.push(m);
    let Some(known) = known else { return out };

    // 2. Steady state: list once more, nothing to write.
    p.inner().reset();
    let mut m = new("steady");
    let log0 = log.calls();
    let start = Instant::now();
    match p.list().await {
        Err(e) => m.error = Some(e.to_string()),
        Ok(listed) => {
            m.listed = Some(listed.len());
            m.expected = Some(known.len());
            let changes = diff(&listed, &desired_before, &registry);
            m.groups = changes.groups.len();
            m.record_sets = record_sets(&changes);
            m.change_units = units(&changes, &limits);
            if let Err(e) = p.apply_changes(&changes).await {
                m.error = Some(e.to_string());
            } else if listed != known {
                m.error = Some(format!(
                    "the zone holds {} record sets, {} expected",
                    listed.len(),
                    known.len()
                ));
            } else if !changes.is_empty() {
                m.error = Some(format!("{} groups to write", changes.groups.len()));
            }
        }
    }
    m.wall = start.elapsed();
    finish(&mut m, &p, log0);
    println!("{}", m.json());
    out.push(m);

    // 3. 1 % of the shards lose their endpoints: plan, diff against the known state, apply.
    p.inner().reset();
    let mut m = new("change-1pct");
    let log0 = log.calls();
    let start = Instant::now();
    let desired_after = desired(&after);
    let changes = diff(&known, &desired_after, &registry);
    assert!(changes.conflicts.is_empty(), "{:?}", changes.conflicts);
    m.groups = changes.groups.len();
    m.record_sets = record_sets(&changes);
    m.change_units = units(&changes, &limits);
    (m.values, m.max_values_per_call) = values(&changes, &limits);
    m.write_target = 2;
    let applied = p.apply_changes(&changes).await;
    m.wall = start.elapsed();
    finish(&mut m, &p, log0);
    match applied {
        Err(e) => m.error = Some(e.to_string()),
        Ok(_) => {
            // Check (outside the measurement) that the zone now holds exactly that.
            let expected = apply_changes(&known, &changes);
            m.expected = Some(expected.len());
            match p.inner().inner().list().await {
                Ok(listed) => m.listed = Some(listed.len()),
                Err(e) => eprintln!("{backend}: checking listing failed: {e}"),
            }
        }
    }
    println!("{}", m.json());
    out.push(m);
    out
}

/// Lists until the server answers (a server may listen before its zone is loaded).
async fn wait_listable(p: &dyn DnsProvider) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..100 {
        match p.list().await {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{} never listed: {last}", p.name()))
}

#[cfg(feature = "rfc2136")]
async fn bind(services: usize, batch: usize, backend: &'static str) -> Vec<Measurement> {
    use fedsvc_providers::Rfc2136Provider;
    let Some(server) = servers::Server::bind(&[]) else {
        return Vec::new();
    };
    let provider = Rfc2136Provider::new(ZONE.parse().expect("zone"), server.addr)
        .with_tsig(servers::KEY_NAME, "hmac-sha256", &server.secret)
        .expect("a valid key")
        .with_batch_size(batch);
    if let Err(e) = wait_listable(&provider).await {
        eprintln!("SKIPPED {backend}: {e}");
        return Vec::new();
    }
    let setup = Setup {
        backend,
        provider,
        batch_size: batch,
        reads_before_write: false,
        log: Box::new(NoLog),
    };
    let out = converge(setup, services).await;
    drop(server);
    out
}

#[cfg(feature = "powerdns")]
async fn powerdns(services: usize) -> Vec<Measurement> {
    use fedsvc_providers::{PowerDnsProvider, Secret};
    let Some(server) = servers::Server::powerdns() else {
        return Vec::new();
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("http://{}", server.api.expect("an API address"));
    let created = reqwest::Client::new()
        .post(format!("{url}/api/v1/servers/localhost/zones"))
        .header("X-API-Key", &server.secret)
        .json(&serde_json::json!({
            "name": format!("{ZONE}."),
            "kind": "Native",
            "nameservers": [format!("ns.{ZONE}.")],
        }))
        .send()
        .await;
    match created {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            eprintln!(
                "SKIPPED powerdns: cannot create the zone: HTTP {}",
                r.status()
            );
            return Vec::new();
        }
        Err(e) => {
            eprintln!("SKIPPED powerdns: cannot create the zone: {e}");
            return Vec::new();
        }
    }
    let provider = PowerDnsProvider::new(
        ZONE.parse().expect("zone"),
        &url,
        Secret::new(server.secret.clone()),
        "localhost",
    )
    .expect("a valid URL");
    let batch = provider.limits().max_changes;
    let setup = Setup {
        backend: "powerdns",
        provider,
        batch_size: batch,
        reads_before_write: true,
        log: Box::new(NoLog),
    };
    let out = converge(setup, services).await;
    drop(server);
    out
}

/// moto's request log: `"GET /2013-04-01/hostedzone/ID/rrset…"` lines are listing pages,
/// `"POST /2013-04-01/hostedzone/ID/rrset…"` lines change calls.
#[cfg(feature = "route53")]
struct MotoLog(std::path::PathBuf);

#[cfg(feature = "route53")]
impl CallLog for MotoLog {
    fn calls(&self) -> Option<(usize, usize)> {
        let text = std::fs::read_to_string(&self.0).ok()?;
        let mut pages = 0;
        let mut changes = 0;
        for line in text.lines().filter(|l| l.contains("/rrset")) {
            if line.contains("\"GET /") {
                pages += 1;
            } else if line.contains("\"POST /") {
                changes += 1;
            }
        }
        Some((pages, changes))
    }
}

/// A provider that stores the zone in memory but batches with another provider's limits:
/// it gives that provider's call counts at a scale its test server cannot reach in time.
#[cfg(all(feature = "route53", feature = "memory"))]
struct Model {
    inner: fedsvc_providers::MemoryProvider,
    limits: BatchLimits,
    /// Route53's quota: at most this many record values (ResourceRecord elements) per call.
    max_values: usize,
}

#[cfg(all(feature = "route53", feature = "memory"))]
#[async_trait::async_trait]
impl DnsProvider for Model {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn zone(&self) -> &DnsName {
        self.inner.zone()
    }
    async fn list(&self) -> Result<Vec<RecordSet>, fedsvc_providers::ProviderError> {
        self.inner.list().await
    }
    async fn apply(
        &self,
        batch: &[fedsvc_dns_plan::ChangeGroup],
    ) -> Result<(), fedsvc_providers::ProviderError> {
        let values: usize = batch.iter().map(group_values).sum();
        if values > self.max_values {
            return Err(fedsvc_providers::ProviderError::invalid(
                self.inner.name(),
                format!(
                    "{values} record values in one call; Route53 accepts {}",
                    self.max_values
                ),
            ));
        }
        self.inner.apply(batch).await
    }
    fn limits(&self) -> BatchLimits {
        self.limits
    }
}

/// Route53's call counts at full scale: its limits (taken from `Route53Provider`), an
/// in-memory zone. Wall times of this run measure the in-memory zone, not Route53.
#[cfg(all(feature = "route53", feature = "memory"))]
async fn route53_model(services: usize, batch: Option<usize>) -> Vec<Measurement> {
    use fedsvc_providers::{MemoryProvider, Route53Provider};
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let zone: DnsName = ZONE.parse().expect("zone");
    let mut provider = Route53Provider::new(zone.clone(), &sdk, Some("Z0"));
    if let Some(batch) = batch {
        provider = provider.with_batch_size(batch);
    }
    let limits = provider.limits();
    let setup = Setup {
        backend: "route53-model",
        provider: Model {
            inner: MemoryProvider::new(zone),
            limits,
            max_values: ROUTE53_MAX_VALUES,
        },
        batch_size: limits.max_changes,
        reads_before_write: true,
        log: Box::new(NoLog),
    };
    converge(setup, services).await
}

#[cfg(feature = "route53")]
async fn route53(services: usize, batch: Option<usize>) -> Vec<Measurement> {
    use fedsvc_providers::Route53Provider;
    let Some(server) = servers::Server::moto() else {
        return Vec::new();
    };
    let endpoint = format!("http://{}", server.addr);
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_route53::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "fedsvc-bench",
        ))
        .load()
        .await;
    let created = aws_sdk_route53::Client::new(&sdk)
        .create_hosted_zone()
        .name(format!("{ZONE}."))
        .caller_reference("fedsvc-bench")
        .send()
        .await;
    let id = match created {
        Ok(out) => out
            .hosted_zone()
            .map(|z| z.id().rsplit('/').next().unwrap_or_default().to_owned())
            .unwrap_or_default(),
        Err(e) => {
            eprintln!("SKIPPED route53: cannot create the hosted zone: {e}");
            return Vec::new();
        }
    };
    let mut provider = Route53Provider::new(ZONE.parse().expect("zone"), &sdk, Some(&id));
    if let Some(batch) = batch {
        provider = provider.with_batch_size(batch);
    }
    let batch = provider.limits().max_changes;
    let setup = Setup {
        backend: "route53-moto",
        provider,
        batch_size: batch,
        reads_before_write: true,
        log: Box::new(MotoLog(server.dir.path().join("server.log"))),
    };
    let out = converge(setup, services).await;
    drop(server);
    out
}

fn summary(all: &[Measurement]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<13} {:>5} {:<11} {:>6} {:>6} {:>6} {:>13} {:>6} {:>6} {:>6} {:>11} {:>10}  target",
        "backend",
        "batch",
        "phase",
        "groups",
        "rsets",
        "units",
        "values(max)",
        "writes",
        "lists",
        "reads",
        "http pages",
        "wall ms"
    );
    for m in all {
        let pages = m
            .http_list_pages
            .zip(m.http_change_calls)
            .map(|(l, c)| format!("{l}+{c}"))
            .unwrap_or_else(|| "-".into());
        let check = match (m.listed, m.expected) {
            (Some(l), Some(e)) if l != e => format!(" [listing: {l} of {e} record sets]"),
            _ => String::new(),
        };
        let verdict = match &m.error {
            Some(e) => format!("FAILED: {}", e.chars().take(160).collect::<String>()),
            None if m.met() => format!("met (writes <= {}, 1 list)", m.write_target),
            None => format!("NOT met (writes <= {} wanted)", m.write_target),
        };
        let _ = writeln!(
            t,
            "{:<13} {:>5} {:<11} {:>6} {:>6} {:>6} {:>13} {:>6} {:>6} {:>6} {:>11} {:>10.1}  {verdict}{check}",
            m.backend,
            m.batch_size,
            m.phase,
            m.groups,
            m.record_sets,
            m.change_units,
            format!("{}({})", m.values, m.max_values_per_call),
            m.writes,
            m.lists,
            m.zone_reads,
            pages,
            m.wall.as_secs_f64() * 1000.0,
        );
    }
    t
}

fn main() {
    let services: usize = std::env::var("FEDSVC_BENCH_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let large: usize = std::env::var("FEDSVC_BENCH_RFC2136_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LARGE_RFC2136_BATCH);
    let route53_services: usize = std::env::var("FEDSVC_BENCH_ROUTE53_SERVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUTE53_SERVICES);
    let wanted = std::env::var("FEDSVC_BENCH_BACKENDS").unwrap_or_else(|_| {
        "bind,bind-large,powerdns,route53,route53-small,route53-model,route53-model-small".into()
    });
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
    // The largest Route53 batch size that keeps every call of this data (full convergence
    // and the 1 % change, at full scale) within Route53's 1 000 record values.
    let route53_batch = {
        let down = changed_shards(services, clusters().len());
        let registry = Registry::txt(snapshot(services, &[]).federation.clone());
        let before = desired(&snapshot(services, &[]));
        let full = diff(&[], &before, &registry);
        let known = apply_changes(&[], &full);
        let change = diff(&known, &desired(&snapshot(services, &down)), &registry);
        let route53_limits = BatchLimits {
            max_changes: 1000,
            update_cost: 2,
            max_groups: None,
        };
        largest_batch_within(&[full, change], route53_limits, ROUTE53_MAX_VALUES)
    };
    println!(
        "route53: largest batch size within {ROUTE53_MAX_VALUES} record values per call: {route53_batch}"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!(
        "converge: {services} services x {} clusters ({route53_services} services on moto), backends {wanted:?}",
        clusters().len()
    );
    let mut all = Vec::new();
    runtime.block_on(async {
        for backend in &wanted {
            let started = Instant::now();
            let ms = match *backend {
                #[cfg(feature = "rfc2136")]
                "bind" => bind(services, DEFAULT_RFC2136_BATCH, "rfc2136-bind").await,
                #[cfg(feature = "rfc2136")]
                "bind-large" => bind(services, large, "rfc2136-bind").await,
                #[cfg(feature = "powerdns")]
                "powerdns" => powerdns(services).await,
                #[cfg(feature = "route53")]
                "route53" => route53(route53_services, None).await,
                #[cfg(feature = "route53")]
                "route53-small" => route53(route53_services, Some(route53_batch)).await,
                #[cfg(all(feature = "route53", feature = "memory"))]
                "route53-model" => route53_model(services, None).await,
                #[cfg(all(feature = "route53", feature = "memory"))]
                "route53-model-small" => route53_model(services, Some(route53_batch)).await,
                other => {
                    eprintln!("SKIPPED {other}: unknown backend, or its cargo feature is off");
                    Vec::new()
                }
            };
            eprintln!(
                "{backend}: done in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            all.extend(ms);
        }
    });
    let _ = large;
    println!("\n{}", summary(&all));
}
