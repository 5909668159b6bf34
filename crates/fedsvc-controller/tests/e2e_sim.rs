//! The controller end to end on one machine: the Kubernetes API emulator as the federation
//! API, four simulated members in two regions, and the memory DNS provider. Besides the
//! guide's walkthrough, members that hang: each must be found Offline on its own schedule
//! without holding up the probes of the others.

use std::sync::Arc;
use std::time::Duration;

mod common;

use fedsvc_cluster::{MemberCluster, SimMember};
use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::{MemberView, StaticMembers};
use fedsvc_emulator::ApiServer;
use fedsvc_model::{RData, RecordSet, RecordType};
use fedsvc_providers::{Counting, DnsProvider, MemoryProvider};
use serde_json::json;

const NS: &str = "mynamespace";
const GLOBAL: &str = "nginx.mynamespace.myfederation.svc.example.com.";
const REGION_US: &str = "nginx.mynamespace.myfederation.svc.us-central1.example.com.";
const ZONE_US_A: &str = "nginx.mynamespace.myfederation.svc.us-central1-a.example.com.";

struct World {
    host: ApiServer,
    members: Vec<SimMember>,
    dns: Arc<Counting<MemoryProvider>>,
    config: ControllerConfig,
    running: Option<Running>,
}

/// How long a hung member API takes to answer: far longer than any bound the tests wait.
const HANG: Duration = Duration::from_secs(3600);

async fn world() -> World {
    world_with(common::members(), |_| {}).await
}

/// A controller over `members`, probing every 100 ms with a 500 ms timeout unless `tune`
/// changes its configuration.
async fn world_with(members: Vec<SimMember>, tune: impl FnOnce(&mut ControllerConfig)) -> World {
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    common::register(&host, &members);
    let dns = Arc::new(Counting::new(MemoryProvider::new(
        "example.com".parse().unwrap(),
    )));
    let mut config = common::config();
    tune(&mut config);
    let mut w = World {
        host,
        members,
        dns,
        config,
        running: None,
    };
    w.running = Some(w.start().await);
    w
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

fn at(records: &[RecordSet], name: &str, t: RecordType) -> Option<RecordSet> {
    records
        .iter()
        .find(|r| r.name().as_str() == name && *r.rtype() == t)
        .cloned()
}

fn addresses(rs: &Option<RecordSet>) -> Vec<String> {
    rs.as_ref()
        .map(|r| r.data().iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

async fn wait_records<F: Fn(&[RecordSet]) -> bool>(
    w: &World,
    what: &str,
    check: F,
) -> Vec<RecordSet> {
    for _ in 0..600 {
        let r = records(&w.dns).await;
        if check(&r) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("DNS never showed: {what}\n{:#?}", records(&w.dns).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_walkthrough_on_simulated_members() {
    let mut w = world().await;
    create_nginx(&w.host);

    // The service appears in every member.
    eventually("nginx in every member", || {
        w.members.iter().all(|m| m.service(NS, "nginx").is_some())
    })
    .await;
    let member_svc = w.members[0].service(NS, "nginx").unwrap();
    let labels = member_svc.metadata.labels.unwrap();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "fedsvc");
    assert_eq!(labels["fedsvc.io/federation"], "myfederation");

    // Endpoints are ready everywhere: the guide's shape of records.
    let r = wait_records(&w, "four addresses at the global name", |r| {
        addresses(&at(r, GLOBAL, RecordType::A)).len() == 4
    })
    .await;
    assert_eq!(
        addresses(&at(&r, REGION_US, RecordType::A)),
        ["10.1.0.1", "10.2.0.1"]
    );
    assert_eq!(addresses(&at(&r, ZONE_US_A, RecordType::A)), ["10.1.0.1"]);

    // The federated service's status is the union of the members' ingress.
    eventually("LB ingress union on the federated service", || {
        w.host.get("v1", "Service", NS, "nginx").ok().and_then(|s| {
            s["status"]["loadBalancer"]["ingress"]
                .as_array()
                .map(Vec::len)
        }) == Some(4)
    })
    .await;

    // A member's endpoints drop to zero: its zone becomes a CNAME to the region.
    w.members[0].set_ready_endpoints(NS, "nginx", 0);
    let r = wait_records(&w, "us-central1-a as a CNAME", |r| {
        at(r, ZONE_US_A, RecordType::Cname).is_some()
    })
    .await;
    assert_eq!(
        at(&r, ZONE_US_A, RecordType::Cname).unwrap().data(),
        &[RData::Cname(REGION_US.parse().unwrap())]
    );
    assert!(
        at(&r, ZONE_US_A, RecordType::A).is_none(),
        "no A beside the CNAME"
    );
    assert_eq!(addresses(&at(&r, REGION_US, RecordType::A)), ["10.2.0.1"]);
    w.members[0].set_ready_endpoints(NS, "nginx", 2);

    // A member's API goes down: Offline after the threshold, its shards leave DNS.
    w.members[1].set_reachable(false);
    wait_records(&w, "us-central1-b out of the region", |r| {
        addresses(&at(r, REGION_US, RecordType::A)) == ["10.1.0.1"]
    })
    .await;
    // It comes back: its shards return.
    w.members[1].set_reachable(true);
    wait_records(&w, "us-central1-b back", |r| {
        addresses(&at(r, REGION_US, RecordType::A)).len() == 2
    })
    .await;

    // Every member down: fail-static, DNS untouched.
    let before = wait_records(&w, "all four addresses", |r| {
        addresses(&at(r, GLOBAL, RecordType::A)).len() == 4
    })
    .await;
    for m in &w.members {
        m.set_reachable(false);
    }
    let running = w.running.as_ref().unwrap();
    eventually("fail-static reported", || {
        running
            .shared
            .metrics
            .encode()
            .contains("fedsvc_dns_fail_static 1")
    })
    .await;
    assert_eq!(records(&w.dns).await, before);
    for m in &w.members {
        m.set_reachable(true);
    }

    // Deleting the service removes member services and every record, CNAMEs included.
    w.members[2].set_ready_endpoints(NS, "nginx", 0);
    wait_records(&w, "a CNAME before deletion", |r| {
        r.iter().any(|x| *x.rtype() == RecordType::Cname)
    })
    .await;
    w.host.delete("v1", "Service", NS, "nginx").unwrap();
    eventually("nginx gone from every member", || {
        w.members.iter().all(|m| m.service(NS, "nginx").is_none())
    })
    .await;
    wait_records(&w, "no record left", <[RecordSet]>::is_empty).await;
    eventually("the federated service is gone (finalizer removed)", || {
        w.host.get("v1", "Service", NS, "nginx").is_err()
    })
    .await;

    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_over_dns_in_step_writes_nothing_even_when_a_member_answers_late() {
    let mut w = world().await;
    create_nginx(&w.host);
    let before = wait_records(&w, "four addresses at the global name", |r| {
        addresses(&at(r, GLOBAL, RecordType::A)).len() == 4
    })
    .await;
    w.shutdown().await;
    let stats = w.dns.stats();

    // The Cluster listed last answers every request late, though within the probe timeout.
    // The others are probed, placed and their shards listed while it is still unknown; DNS
    // written from that picture would drop its shards, then bring them back.
    w.members[1].set_latency(Duration::from_millis(300));
    w.running = Some(w.start().await);
    eventually("the restarted controller listed the zone", || {
        w.dns.stats().lists > stats.lists
    })
    .await;
    all_placed(&w).await;
    eventually("the restarted controller synced DNS", || {
        w.running()
            .shared
            .metrics
            .encode()
            .lines()
            .filter_map(|l| l.strip_prefix("fedsvc_dns_last_sync_timestamp_seconds "))
            .any(|v| v.parse::<f64>().is_ok_and(|t| t > 0.0))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        w.dns.stats().writes,
        stats.writes,
        "a restart over a zone in step writes nothing"
    );
    assert_eq!(records(&w.dns).await, before);
    w.stop().await;
}

impl World {
    /// Starts a controller over the world's members and DNS.
    async fn start(&self) -> Running {
        let mut factory = StaticMembers::default();
        for m in &self.members {
            factory.insert(Arc::new(m.clone()));
        }
        start(
            &self.config,
            Parts {
                host: self.host.client(),
                members: Arc::new(factory),
                provider: Some(self.dns.clone()),
                resolver: None,
            },
        )
        .await
        .unwrap()
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("running")
    }

    /// The controller's view of `m`, once joined.
    fn view(&self, m: &SimMember) -> Option<MemberView> {
        self.running()
            .clusters
            .members()
            .into_iter()
            .find(|v| v.name == *m.name())
    }

    fn is_ready(&self, m: &SimMember) -> bool {
        self.view(m).is_some_and(|v| v.ready)
    }

    /// Whether `m` is Ready in the federation state the DNS task plans from; `None` while it
    /// is not placed there (no zones or region known yet).
    fn placed_ready(&self, m: &SimMember) -> Option<bool> {
        self.running()
            .shared
            .state
            .lock()
            .expect("state lock")
            .clusters()
            .find(|c| c.name == *m.name())
            .map(|c| c.ready)
    }

    /// The status (`True`, `False`, `Unknown`) of the condition `type_` on `m`'s `Cluster`.
    fn condition(&self, m: &SimMember, type_: &str) -> Option<String> {
        let c = self
            .host
            .get("fedsvc.io/v1alpha1", "Cluster", "", m.name().as_str())
            .ok()?;
        c["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|x| x["type"] == type_)?["status"]
            .as_str()
            .map(str::to_owned)
    }

    /// Stops the running controller; the world stays, for another to start.
    async fn shutdown(&mut self) {
        self.running
            .take()
            .expect("running")
            .shutdown(Duration::from_secs(5))
            .await;
    }

    async fn stop(mut self) {
        self.shutdown().await;
    }
}

/// Probing every 100 ms, a probe given up after 150 ms, Offline after `failure_threshold`
/// failed probes in a row.
fn fast_probes(failure_threshold: u32) -> impl FnOnce(&mut ControllerConfig) {
    move |c| {
        c.health.period = Duration::from_millis(100);
        c.health.timeout = Duration::from_millis(150);
        c.health.failure_threshold = failure_threshold;
    }
}

/// Waits until the controller counts `m` Offline everywhere: in its own view, in the
/// federation state (no longer Ready there, so its shards leave DNS) and in the `Cluster`
/// status. The bound (seconds) is far below the hangs the tests script (an hour).
async fn offline(w: &World, m: &SimMember) {
    eventually(&format!("{} Offline", m.name()), || {
        w.view(m).is_some_and(|v| v.offline)
            && w.placed_ready(m) != Some(true)
            && w.condition(m, "Offline").as_deref() == Some("True")
    })
    .await;
}

/// Waits until every member is Ready and placed in the federation state.
async fn all_placed(w: &World) {
    eventually("every member Ready and placed", || {
        w.members.iter().all(|m| w.placed_ready(m) == Some(true))
    })
    .await;
}

/// Waits until `a` (the first member) is Ready but not placed (its zones are not known), and
/// every other member is Ready and placed.
async fn ready_but_unplaced(w: &World, a: &SimMember) {
    eventually(
        "a Ready but not placed, the others Ready and placed",
        || {
            w.is_ready(a)
                && w.placed_ready(a).is_none()
                && w.members[1..]
                    .iter()
                    .all(|m| w.placed_ready(m) == Some(true))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_member_goes_offline_without_holding_up_the_others() {
    // The controller lists a member's nodes again every sixth probe. With seven failed probes
    // before Offline, one of those listings falls due while the hung member still counts as
    // Ready, whichever probe the hang begins at; a member that just failed its probe must not
    // be asked for its nodes.
    let w = world_with(common::members(), fast_probes(7)).await;
    let (a, b) = (&w.members[0], &w.members[1]);
    all_placed(&w).await;

    a.set_latency(HANG);
    offline(&w, a).await;
    assert!(w.members[1..].iter().all(|m| w.is_ready(m)));

    // The others are still probed while a's API hangs: b's outage is found as usual.
    b.set_reachable(false);
    offline(&w, b).await;
    assert!(w.members[2..].iter().all(|m| w.is_ready(m)));
    assert!(w.view(a).is_some_and(|v| v.offline), "a stays Offline");

    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_member_without_known_zones_goes_offline_without_holding_up_the_others() {
    // a's nodes carry no zone or region: it is Ready but not placed in DNS, and its nodes are
    // listed again after each good probe until they say where it is. Once its API hangs they
    // must not be listed any more.
    let members = common::members();
    members[0].set_nodes(&[("gce-us-central1-a-node-0", None, None)]);
    let w = world_with(members, fast_probes(3)).await;
    let (a, b) = (&w.members[0], &w.members[1]);
    ready_but_unplaced(&w, a).await;

    a.set_latency(HANG);
    offline(&w, a).await;
    assert!(w.members[1..].iter().all(|m| w.is_ready(m)));

    b.set_reachable(false);
    offline(&w, b).await;
    assert!(w.members[2..].iter().all(|m| w.is_ready(m)));

    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_node_listing_hangs_is_still_probed_on_schedule() {
    let w = world_with(common::members(), fast_probes(3)).await;
    let (a, b) = (&w.members[0], &w.members[1]);
    all_placed(&w).await;

    // a still answers its health probe at once, but listing its nodes hangs. Each periodic
    // listing must be given up after the probe timeout, so that the next one falls due a few
    // probes later.
    a.set_locality_latency(HANG);
    let before = a.locality_reads();
    eventually("two node listings of a since it hangs", || {
        a.locality_reads() >= before + 2
    })
    .await;
    // a keeps the zones and region read before, and stays Ready.
    assert!(w.is_ready(a));
    assert_eq!(w.placed_ready(a), Some(true));

    // The others are still probed: b's outage is found as usual.
    b.set_reachable(false);
    offline(&w, b).await;
    assert!(w.is_ready(a));
    assert!(w.members[2..].iter().all(|m| w.is_ready(m)));

    // a itself is still probed on schedule: its own outage is found too.
    a.set_reachable(false);
    offline(&w, a).await;

    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_first_node_listing_hangs_holds_up_no_one() {
    // a's nodes cannot be listed from the start: its zones are never known, so it is Ready
    // but not placed. The first listing may take long (a large cluster), so it is not
    // bounded by the probe timeout; it must not hold up the probe round either.
    let members = common::members();
    members[0].set_locality_latency(HANG);
    let w = world_with(members, fast_probes(3)).await;
    let (a, b) = (&w.members[0], &w.members[1]);
    ready_but_unplaced(&w, a).await;
    assert_eq!(a.locality_reads(), 1, "one first listing at a time");

    b.set_reachable(false);
    offline(&w, b).await;
    assert!(w.is_ready(a));
    assert!(w.members[2..].iter().all(|m| w.is_ready(m)));
    assert_eq!(
        a.locality_reads(),
        1,
        "the hung listing is not started again"
    );

    w.stop().await;
}
