//! Leadership fencing end to end: two `fedsvc-controller` processes (the real binary) on one
//! Lease of the API emulator, each signing its DNS UPDATEs to a real BIND with its own TSIG
//! key (`replica-a`, `replica-b`), so that BIND's log says which replica wrote what and when.
//! Replica A reaches BIND through a proxy (written here, on 127.0.0.1, UDP and TCP) that can
//! hold each message on its way to BIND for 4 s: a slow write.
//!
//! The leader A gets SIGTERM while its UPDATE is held; the pod it was about is re-created at
//! once. The standby B must not list the zone before A's UPDATE has landed (or could no longer
//! land), so that it sees what A wrote and puts it right without waiting for a resync; and no
//! UPDATE signed by A may land after B's first listing.
//!
//! A leader cut off from the federation API while its write is retried (each attempt held
//! longer than its timeout) must stop before B can take over: the same checks. So must a
//! leader stopped while its write is held longer than its timeout (given up unanswered: the
//! released Lease holds B back until it can no longer land). And without a write under way,
//! the handover stays as fast as the release makes it.
//!
//! BIND is started by fedsvc-test-support on a free loopback port and killed when dropped.
//! Without BIND the test skips with a reason, unless FEDSVC_REQUIRE_REAL=1.
//! `FEDSVC_CONTROLLER_BIN` runs another build of the controller (to check the test against an
//! older one).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fedsvc_emulator::ApiServer;
use fedsvc_test_support::{Server, rfc2136_yaml_with_key};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Mutex;

const SYSTEM: &str = "fedsvc-system";
const NS: &str = "mynamespace";
const ZONE_C: &str = "nginx.mynamespace.myfederation.svc.us-central1-c.example.com.";
/// How long the proxy holds each of A's messages to BIND while slow, when A is stopped: less
/// than the provider's 5 s timeout, so that the UPDATE is answered.
const DELAY: Duration = Duration::from_secs(4);

/// How long the proxy holds each of A's messages when A is cut off from the federation API:
/// more than the 5 s timeout, so that every attempt is given up and retried, and lands later.
const LONG_DELAY: Duration = Duration::from_secs(6);

/// A proxy in front of BIND (UDP and TCP on one port) that holds what the client sends for
/// its delay while `slow` is set; answers come back at once.
struct Proxy {
    addr: SocketAddr,
    slow: Arc<AtomicBool>,
    /// Messages (datagrams, TCP reads) held so far.
    held: Arc<AtomicU32>,
}

impl Proxy {
    async fn start(upstream: SocketAddr, delay: Duration) -> Proxy {
        let slow = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicU32::new(0));
        // A port free for both protocols.
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let udp = Arc::new(udp);
        let hold = delay;
        {
            let (slow, held) = (slow.clone(), held.clone());
            tokio::spawn(async move {
                let clients: Mutex<HashMap<SocketAddr, Arc<UdpSocket>>> = Mutex::default();
                let mut buf = vec![0u8; 65_536];
                loop {
                    let Ok((n, from)) = udp.recv_from(&mut buf).await else {
                        return;
                    };
                    let up = {
                        let mut clients = clients.lock().await;
                        match clients.get(&from) {
                            Some(s) => s.clone(),
                            None => {
                                let s = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                                s.connect(upstream).await.unwrap();
                                clients.insert(from, s.clone());
                                let (s2, front) = (s.clone(), udp.clone());
                                tokio::spawn(async move {
                                    let mut buf = vec![0u8; 65_536];
                                    while let Ok(n) = s2.recv(&mut buf).await {
                                        let _ = front.send_to(&buf[..n], from).await;
                                    }
                                });
                                s
                            }
                        }
                    };
                    let msg = buf[..n].to_vec();
                    let delay = slow.load(Ordering::SeqCst);
                    if delay {
                        held.fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::spawn(async move {
                        if delay {
                            tokio::time::sleep(hold).await;
                        }
                        let _ = up.send(&msg).await;
                    });
                }
            });
        }
        {
            let (slow, held) = (slow.clone(), held.clone());
            tokio::spawn(async move {
                while let Ok((client, _)) = tcp.accept().await {
                    let (slow, held) = (slow.clone(), held.clone());
                    tokio::spawn(async move {
                        let Ok(server) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let (mut cr, mut cw) = client.into_split();
                        let (mut sr, mut sw) = server.into_split();
                        tokio::spawn(async move {
                            let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        });
                        let mut buf = vec![0u8; 65_536];
                        while let Ok(n) = cr.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            if slow.load(Ordering::SeqCst) {
                                held.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(delay).await;
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    });
                }
            });
        }
        Proxy { addr, slow, held }
    }
}

/// A TCP proxy in front of the federation API that can cut the replica behind it off: when
/// cut, its connections are closed and new ones closed at once.
struct ApiProxy {
    url: String,
    cut: tokio::sync::watch::Sender<bool>,
}

impl ApiProxy {
    async fn start(upstream: SocketAddr) -> ApiProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (cut, cut_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut cut_rx = cut_rx.clone();
                if *cut_rx.borrow() {
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut_rx.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        ApiProxy { url, cut }
    }
}

/// A controller process, killed if still running when dropped.
struct Replica {
    child: Child,
    listen: String,
    log: PathBuf,
}

impl Replica {
    fn start(dir: &Path, host: &ApiServer, api_url: &str, id: &str, dns_yaml: &str) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let kubeconfig = dir.join(format!("{id}.kubeconfig"));
        std::fs::write(
            &kubeconfig,
            host.kubeconfig_yaml("federation")
                .replace(&host.url(), api_url),
        )
        .unwrap();
        let dns = dir.join(format!("{id}.dns.yaml"));
        std::fs::write(&dns, dns_yaml).unwrap();
        let config = dir.join(format!("{id}.yaml"));
        std::fs::write(
            &config,
            format!(
                "federation: myfederation\ndnsSuffix: example.com\ndnsConfigFile: {}\n\
                 namespace: {SYSTEM}\nlisten: {listen}\n\
                 health: {{period: 200ms, timeout: 1s}}\nsync: {{coalesce: 50ms}}\n\
                 leaderElection: {{enabled: true, identity: {id}, leaseDuration: 15s, \
                 renewDeadline: 10s, retryPeriod: 1s}}\n",
                dns.display()
            ),
        )
        .unwrap();
        let log = dir.join(format!("{id}.log"));
        let bin = std::env::var("FEDSVC_CONTROLLER_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_fedsvc-controller").to_owned());
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config)
            .env("KUBECONFIG", &kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .expect("start fedsvc-controller");
        Replica { child, listen, log }
    }

    fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM");
    }

    async fn leader_gauge(&self) -> Option<i64> {
        let mut s = TcpStream::connect(&self.listen).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await.ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).await.ok()?;
        body.lines()
            .find_map(|l| l.strip_prefix("fedsvc_leader "))
            .and_then(|v| v.trim().parse().ok())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A member cluster: its own API emulator with one node in `zone`, registered on `host`
/// with its kubeconfig in a Secret.
async fn member(host: &ApiServer, name: &str, zone: &str) -> ApiServer {
    let api = ApiServer::start().await;
    api.add_node(&format!("{name}-node-1"), Some(zone), Some("us-central1"))
        .unwrap();
    api.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    host.create(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{name}-kubeconfig"), "namespace": SYSTEM},
        "stringData": {"kubeconfig": api.kubeconfig_yaml(name)},
    }))
    .unwrap();
    host.create(json!({
        "apiVersion": "fedsvc.io/v1alpha1", "kind": "Cluster",
        "metadata": {"name": name},
        "spec": {"secretRef": {"name": format!("{name}-kubeconfig"), "namespace": SYSTEM}},
    }))
    .unwrap();
    api
}

fn resolver(addr: SocketAddr) -> TokioResolver {
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

/// What the zone name answers: its CNAME target, or its addresses.
async fn answer(r: &TokioResolver, name: &str) -> String {
    let cname = r
        .lookup(name, hickory_resolver::proto::rr::RecordType::CNAME)
        .await
        .ok()
        .and_then(|l| {
            l.answers().iter().find_map(|rec| match &rec.data {
                hickory_resolver::proto::rr::RData::CNAME(t) => Some(t.0.to_string()),
                _ => None,
            })
        });
    if let Some(c) = cname {
        return format!("CNAME {c}");
    }
    let mut v: Vec<String> = match r.lookup_ip(name).await {
        Ok(l) => l.iter().map(|ip| ip.to_string()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    format!("A {}", v.join(","))
}

async fn until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never happened within {limit:?}: {what}");
}

/// One line of BIND's log about the zone: when (seconds of the day, as `named -g` prints
/// it: `07-Dec-2026 01:50:01.123`), which key signed it, and whether it is an update or a
/// transfer (a listing).
#[derive(Debug)]
struct Logged {
    at: f64,
    key: String,
    update: bool,
    line: String,
}

fn bind_events(log: &str) -> Vec<Logged> {
    let mut out = Vec::new();
    for line in log.lines() {
        let update = line.contains("updating zone");
        let transfer = line.contains("AXFR started") || line.contains("IXFR started");
        if !update && !transfer {
            continue;
        }
        let Some(key) = line
            .split("/key ")
            .nth(1)
            .and_then(|r| r.split([':', ' ']).next())
        else {
            continue;
        };
        let Some(time) = line.split_whitespace().nth(1) else {
            continue;
        };
        let mut parts = time.split(':');
        let (Some(h), Some(m), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(h), Ok(m), Ok(s)) = (h.parse::<f64>(), m.parse::<f64>(), s.parse::<f64>()) else {
            continue;
        };
        out.push(Logged {
            at: h * 3600.0 + m * 60.0 + s,
            key: key.to_owned(),
            update,
            line: line.to_owned(),
        });
    }
    out
}

/// Everything the scenarios share: BIND with a key per replica, the federation API and two
/// members in us-central1 (b and c), the nginx service served; replica A leading through its
/// DNS proxy (delaying by `delay` when slow) and its API proxy, replica B standing by.
struct World {
    bind: Server,
    _host: ApiServer,
    c_member: ApiServer,
    _b_member: ApiServer,
    proxy: Proxy,
    api_proxy: ApiProxy,
    _dir: tempfile::TempDir,
    a: Replica,
    b: Replica,
    r: TokioResolver,
}

async fn world(delay: Duration) -> Option<World> {
    let bind = Server::bind_with_keys(&["replica-a", "replica-b"])?;
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    for ns in [SYSTEM, NS] {
        host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            .unwrap();
    }
    let b_member = member(&host, "gce-us-central1-b", "us-central1-b").await;
    let c_member = member(&host, "gce-us-central1-c", "us-central1-c").await;
    let proxy = Proxy::start(bind.addr, delay).await;
    let api_proxy = ApiProxy::start(host.addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = |server: SocketAddr, key: &str| {
        rfc2136_yaml_with_key(&server.to_string(), key, bind.key_secret(key).unwrap())
    };
    let a = Replica::start(
        dir.path(),
        &host,
        &api_proxy.url,
        "replica-a",
        &yaml(proxy.addr, "replica-a"),
    );
    until("replica A leads", Duration::from_secs(30), || async {
        a.leader_gauge().await == Some(1)
    })
    .await;
    let b = Replica::start(
        dir.path(),
        &host,
        &host.url(),
        "replica-b",
        &yaml(bind.addr, "replica-b"),
    );
    until(
        "replica B serves its metrics",
        Duration::from_secs(30),
        || async { b.leader_gauge().await == Some(0) },
    )
    .await;

    // The service, its copies in both members with an address and ready endpoints.
    host.create(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "nginx", "namespace": NS},
        "spec": {"type": "LoadBalancer", "selector": {"run": "nginx"}, "ports": [{"port": 80}]},
    }))
    .unwrap();
    for (m, ip) in [(&b_member, "10.2.0.1"), (&c_member, "10.3.0.1")] {
        until("the member copy", Duration::from_secs(30), || async {
            m.get("v1", "Service", NS, "nginx").is_ok()
        })
        .await;
        m.set_load_balancer_ingress(NS, "nginx", &[ip], &[])
            .unwrap();
        m.set_endpoints(NS, "nginx", 2, 0).unwrap();
    }
    let r = resolver(bind.addr);
    until("us-central1-c served", Duration::from_secs(30), || async {
        answer(&r, ZONE_C).await == "A 10.3.0.1"
    })
    .await;
    Some(World {
        bind,
        _host: host,
        c_member,
        _b_member: b_member,
        proxy,
        api_proxy,
        _dir: dir,
        a,
        b,
        r,
    })
}

/// Follows the handover from `since` until us-central1-c has been right again for `settle`
/// (or `limit` passed), then checks BIND's log: no UPDATE signed by A after B's first
/// listing, B the leader, the name right, `fedsvc_leader` never 1 on both.
async fn follow_handover(w: &World, since: Instant, settle: Duration, limit: Duration) {
    let (a, b, r) = (&w.a, &w.b, &w.r);
    let mut b_leads = None;
    let mut right = None;
    let mut wrong_seen = false;
    let mut both = false;
    while since.elapsed() < limit {
        let (ga, gb) = (a.leader_gauge().await, b.leader_gauge().await);
        both |= ga == Some(1) && gb == Some(1);
        if b_leads.is_none() && gb == Some(1) {
            b_leads = Some(since.elapsed());
        }
        let now = answer(r, ZONE_C).await;
        if now != "A 10.3.0.1" {
            wrong_seen = true;
            right = None;
        } else if (wrong_seen || b_leads.is_some()) && right.is_none() {
            right = Some(since.elapsed());
        }
        if b_leads.is_some() && right.is_some_and(|t| since.elapsed() > t + settle) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = w.bind.log();
    let events = bind_events(&log);
    let first_b_listing = events.iter().find(|e| e.key == "replica-b" && !e.update);
    let first_b_update = events.iter().find(|e| e.key == "replica-b" && e.update);
    let last_a_update = events
        .iter()
        .rev()
        .find(|e| e.key == "replica-a" && e.update);
    println!(
        "since the trigger: B's gauge 1 after {b_leads:?}, DNS right again after {right:?}; \
         A's last UPDATE -> B's first listing: {:?} s; B's first listing -> B's first UPDATE: \
         {:?} s",
        first_b_listing.zip(last_a_update).map(|(l, u)| l.at - u.at),
        first_b_update
            .zip(first_b_listing)
            .map(|(u, l)| u.at - l.at),
    );
    for line in a.log_text().lines().chain(b.log_text().lines()) {
        if ["lease", "leader", "shutting down", "not sent"]
            .iter()
            .any(|w| line.contains(w))
        {
            println!("{line}");
        }
    }
    let context = || {
        format!(
            "BIND's log (updates and transfers):\n{}\n--- replica A:\n{}\n--- replica B:\n{}",
            events
                .iter()
                .map(|e| e.line.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            a.log_text(),
            b.log_text()
        )
    };
    let first_b_listing =
        first_b_listing.unwrap_or_else(|| panic!("B never listed\n{}", context()));
    let late: Vec<&Logged> = events
        .iter()
        .filter(|e| e.key == "replica-a" && e.update && e.at >= first_b_listing.at)
        .collect();
    assert!(
        late.is_empty(),
        "UPDATEs of the deposed replica A landed after B's first listing: {late:#?}\n{}",
        context()
    );
    assert!(
        b_leads.is_some(),
        "replica B never reported itself the leader\n{}",
        context()
    );
    assert_eq!(
        answer(r, ZONE_C).await,
        "A 10.3.0.1",
        "DNS is left wrong (until a resync)\n{}",
        context()
    );
    assert!(!both, "fedsvc_leader was 1 on both replicas at once");
    assert_eq!(b.leader_gauge().await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_write_of_a_stopping_leader_lands_before_the_new_leader_lists() {
    let Some(w) = world(DELAY).await else { return };
    let (proxy, c_member, a) = (&w.proxy, &w.c_member, &w.a);
    // The pod in us-central1-c goes: A's UPDATE (a CNAME to the region) is held on its way.
    proxy.slow.store(true, Ordering::SeqCst);
    c_member.set_endpoints(NS, "nginx", 0, 0).unwrap();
    until("A's UPDATE held", Duration::from_secs(10), || async {
        proxy.held.load(Ordering::SeqCst) > 0
    })
    .await;
    // SIGTERM while it is held; the pod is back at once.
    let stopped = Instant::now();
    a.sigterm();
    c_member.set_endpoints(NS, "nginx", 2, 0).unwrap();

    follow_handover(
        &w,
        stopped,
        DELAY + Duration::from_secs(2),
        Duration::from_secs(40),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_the_api_stops_its_retried_write_in_time() {
    let Some(w) = world(LONG_DELAY).await else {
        return;
    };
    // A can no longer renew, and each of its DNS attempts is held longer than its timeout:
    // given up, retried, and landing later.
    w.proxy.slow.store(true, Ordering::SeqCst);
    let cut = Instant::now();
    w.api_proxy.cut.send(true).unwrap();
    w.c_member.set_endpoints(NS, "nginx", 0, 0).unwrap();
    until("A's UPDATE held", Duration::from_secs(10), || async {
        w.proxy.held.load(Ordering::SeqCst) > 0
    })
    .await;
    // The pod is back before B can take over (15 s after A's last renewal).
    tokio::time::sleep(Duration::from_secs(9)).await;
    w.c_member.set_endpoints(NS, "nginx", 2, 0).unwrap();
    follow_handover(&w, cut, LONG_DELAY * 3, Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_write_under_way_the_handover_stays_fast() {
    let Some(w) = world(DELAY).await else { return };
    // SIGTERM with nothing under way, then the pod goes: the new leader writes the CNAME.
    let stopped = Instant::now();
    w.a.sigterm();
    w.c_member.set_endpoints(NS, "nginx", 0, 0).unwrap();
    until("B wrote the CNAME", Duration::from_secs(20), || async {
        answer(&w.r, ZONE_C).await.starts_with("CNAME")
    })
    .await;
    let took = stopped.elapsed();
    println!("SIGTERM -> the new leader's first write served: {took:?}");
    let events = bind_events(&w.bind.log());
    assert!(
        events.iter().any(|e| e.key == "replica-b" && e.update),
        "B wrote it"
    );
    // The lease is released at once: B takes over within its retry period (1 s).
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_given_up_at_shutdown_holds_the_next_leader_back_until_it_cannot_land() {
    // Held longer than A's 5 s timeout: A gives its UPDATE up unanswered, releases the lease
    // saying until when it might still land, and the UPDATE lands after that release.
    let Some(w) = world(LONG_DELAY).await else {
        return;
    };
    w.proxy.slow.store(true, Ordering::SeqCst);
    w.c_member.set_endpoints(NS, "nginx", 0, 0).unwrap();
    until("A's UPDATE held", Duration::from_secs(10), || async {
        w.proxy.held.load(Ordering::SeqCst) > 0
    })
    .await;
    let stopped = Instant::now();
    w.a.sigterm();
    w.c_member.set_endpoints(NS, "nginx", 2, 0).unwrap();
    follow_handover(
        &w,
        stopped,
        LONG_DELAY + Duration::from_secs(2),
        Duration::from_secs(40),
    )
    .await;
}
