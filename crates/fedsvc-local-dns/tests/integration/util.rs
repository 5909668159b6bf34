//! Shared helpers: start a responder, ask it with a hickory client or with `dig`.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_local_dns::{
    LocalDnsConfig, LocalDnsServer, LocalServices, Responder, StaticServices, Upstream,
};
use fedsvc_model::{Label, LabelRules, ServiceKey};
use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::DnsMultiplexer;
use hickory_proto::op::DnsResponse;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

pub(crate) const QNAME: &str = "nginx.mynamespace.myfederation.svc.cluster.local.";
pub(crate) const LOCAL_TARGET: &str = "nginx.mynamespace.svc.cluster.local.";
pub(crate) const ZONE_TARGET: &str =
    "nginx.mynamespace.myfederation.svc.us-central1-f.example.com.";

pub(crate) fn label(s: &str) -> Label {
    Label::parse(s, LabelRules::Rfc1123, "label").unwrap()
}

pub(crate) fn nginx() -> ServiceKey {
    ServiceKey::parse("mynamespace", "nginx").unwrap()
}

pub(crate) fn config() -> LocalDnsConfig {
    LocalDnsConfig::new(label("us-central1-f"), label("us-central1"))
        .with_federation("myfederation=example.com".parse().unwrap())
        .with_ttl(5)
}

/// A responder on 127.0.0.1 (free port) answering from `services`.
pub(crate) async fn start(
    services: Arc<dyn LocalServices>,
    upstream: Option<Arc<Upstream>>,
) -> LocalDnsServer {
    let responder = Responder::new(config(), services).unwrap();
    LocalDnsServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(responder),
        upstream,
    )
    .await
    .unwrap()
}

pub(crate) async fn start_static(services: &StaticServices) -> LocalDnsServer {
    start(Arc::new(services.clone()), None).await
}

/// Asks `addr` one question over UDP or TCP with hickory's client.
pub(crate) async fn ask(addr: SocketAddr, name: &str, qtype: RecordType, tcp: bool) -> DnsResponse {
    let timeout = Duration::from_secs(3);
    let (mut client, bg) = if tcp {
        let (connect, handle) =
            TcpClientStream::new(addr, None, Some(timeout), TokioRuntimeProvider::default());
        let stream = connect.await.expect("TCP connect");
        let mux = DnsMultiplexer::new(stream, handle).with_timeout(timeout);
        let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(mux);
        (
            client,
            tokio::spawn(async move {
                let _ = bg.await;
            }),
        )
    } else {
        let stream = UdpClientStream::builder(addr, TokioRuntimeProvider::default())
            .with_timeout(Some(timeout))
            .build();
        let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
        (
            client,
            tokio::spawn(async move {
                let _ = bg.await;
            }),
        )
    };
    let response = client
        .query(Name::from_ascii(name).unwrap(), DNSClass::IN, qtype)
        .await
        .expect("a DNS response");
    bg.abort();
    response
}

/// The response code and the CNAME target of the first answer.
pub(crate) fn summary(r: &DnsResponse) -> (ResponseCode, Option<String>) {
    let target = r.answers.first().and_then(|rec| match &rec.data {
        RData::CNAME(c) => Some(c.0.to_ascii().to_ascii_lowercase()),
        _ => None,
    });
    (r.metadata.response_code, target)
}

/// What `dig` printed: the status and the answer lines (owner, ttl, type, data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dig {
    pub(crate) status: String,
    pub(crate) answers: Vec<(String, u32, String, String)>,
    pub(crate) flags: String,
}

/// Whether the real `dig` may be skipped when missing.
pub(crate) fn dig_available() -> bool {
    let found = Command::new("dig").arg("-v").output().is_ok();
    if !found {
        if std::env::var("FEDSVC_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!(
                "dig is required (FEDSVC_REQUIRE_REAL=1) but not installed (Debian: bind9-dnsutils)"
            );
        }
        eprintln!("SKIP: dig not found (install bind9-dnsutils); the dig checks are skipped");
    }
    found
}

/// Runs `dig @addr -p PORT name TYPE` (plus `extra`) and parses its output.
pub(crate) async fn dig(addr: SocketAddr, name: &str, qtype: &str, extra: &[&str]) -> Dig {
    let mut cmd = tokio::process::Command::new("dig");
    cmd.arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string()])
        .args([name, qtype, "+time=2", "+tries=1"])
        .args(extra);
    let out = cmd.output().await.expect("run dig");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "dig failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = text
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("no status in dig output:\n{text}"))
        .to_owned();
    let flags = text
        .lines()
        .find_map(|l| l.strip_prefix(";; flags: "))
        .and_then(|s| s.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let mut answers = Vec::new();
    let mut in_answer = false;
    for line in text.lines() {
        if line.starts_with(";; ANSWER SECTION") {
            in_answer = true;
            continue;
        }
        if in_answer {
            if line.trim().is_empty() {
                break;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [owner, ttl, _class, rtype, data @ ..] = f.as_slice() {
                answers.push((
                    owner.to_ascii_lowercase(),
                    ttl.parse().unwrap(),
                    (*rtype).to_owned(),
                    data.join(" ").to_ascii_lowercase(),
                ));
            }
        }
    }
    Dig {
        status,
        answers,
        flags,
    }
}

/// Retries `check` every 20 ms for up to 5 s until it returns true.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
