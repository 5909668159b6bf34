//! CNAME answers completed with the target's records through an upstream, and a full
//! lookup with hickory-resolver as a pod's resolver would do it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use fedsvc_local_dns::{StaticServices, Upstream};
use hickory_proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::net::UdpSocket;

use crate::util::{LOCAL_TARGET, QNAME, ZONE_TARGET, ask, nginx, start};

const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 7);
const ZONE_IP: Ipv4Addr = Ipv4Addr::new(104, 197, 247, 191);

/// Plays the cluster DNS: the local service's cluster IP and the zone name's LB address.
struct FakeClusterDns;

#[async_trait::async_trait]
impl RequestHandler for FakeClusterDns {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut handle: R,
    ) -> ResponseInfo {
        let builder = MessageResponseBuilder::from_message_request(request);
        let mut metadata = Metadata::response_from_request(&request.metadata);
        let q = &request.queries.queries()[0];
        let name = q.name().to_string().to_ascii_lowercase();
        let ip = match name.as_str() {
            LOCAL_TARGET => Some(LOCAL_IP),
            ZONE_TARGET => Some(ZONE_IP),
            _ => None,
        };
        let records: Vec<Record> = match (ip, q.query_type()) {
            (Some(ip), RecordType::A) => vec![Record::from_rdata(
                Name::from_ascii(&name).unwrap(),
                30,
                RData::A(A(ip)),
            )],
            _ => Vec::new(),
        };
        metadata.response_code = if ip.is_some() {
            ResponseCode::NoError
        } else {
            ResponseCode::NXDomain
        };
        let fallback = ResponseInfo::from(Header {
            metadata,
            counts: HeaderCounts::default(),
        });
        let none: [&Record; 0] = [];
        let response = builder.build(metadata, records.iter(), none, none, std::iter::empty());
        handle.send_response(response).await.unwrap_or(fallback)
    }
}

async fn fake_cluster_dns() -> (SocketAddr, Server<FakeClusterDns>) {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let mut server = Server::new(FakeClusterDns);
    server.register_socket(udp);
    (addr, server)
}

fn resolver_at(addr: SocketAddr) -> TokioResolver {
    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
    for c in &mut ns.connections {
        c.port = addr.port();
    }
    let mut builder = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    );
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = Duration::from_secs(2);
    *builder.options_mut() = opts;
    builder.build().unwrap()
}

#[tokio::test]
async fn cnames_are_completed_with_the_target_address() {
    let (upstream_addr, _upstream) = fake_cluster_dns().await;
    let upstream = Upstream::at(&[upstream_addr], Duration::from_secs(1)).unwrap();
    let services = StaticServices::new().with_ready_endpoints(nginx(), 1);
    let server = start(Arc::new(services.clone()), Some(Arc::new(upstream))).await;
    let addr = server.local_addr();

    // on the wire: CNAME then the target's A
    let r = ask(addr, QNAME, RecordType::A, false).await;
    let got: Vec<(String, RData)> = r
        .answers
        .iter()
        .map(|rec| (rec.name.to_ascii().to_ascii_lowercase(), rec.data.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                QNAME.to_owned(),
                RData::CNAME(hickory_proto::rr::rdata::CNAME(
                    Name::from_ascii(LOCAL_TARGET).unwrap()
                ))
            ),
            (LOCAL_TARGET.to_owned(), RData::A(A(LOCAL_IP))),
        ]
    );

    // a pod's resolver (hickory-resolver here) gets the cluster IP, then the remote address
    let resolver = resolver_at(addr);
    let ips: Vec<IpAddr> = resolver.lookup_ip(QNAME).await.unwrap().iter().collect();
    assert_eq!(ips, vec![IpAddr::V4(LOCAL_IP)]);
    services.set_ready_endpoints(nginx(), 0);
    let ips: Vec<IpAddr> = resolver.lookup_ip(QNAME).await.unwrap().iter().collect();
    assert_eq!(ips, vec![IpAddr::V4(ZONE_IP)]);

    // a target the upstream does not know: the CNAME alone, still NOERROR
    let r = ask(addr, QNAME, RecordType::AAAA, true).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_upstream_the_resolver_still_reads_the_cname() {
    let services = StaticServices::new().with_ready_endpoints(nginx(), 1);
    let server = start(Arc::new(services), None).await;
    let resolver = resolver_at(server.local_addr());
    let lookup = resolver.lookup(QNAME, RecordType::CNAME).await.unwrap();
    let targets: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii().to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    assert_eq!(targets, vec![LOCAL_TARGET.to_owned()]);
}

#[tokio::test]
async fn an_unreachable_upstream_does_not_stall_the_answer() {
    // a port where nobody answers: the lookup times out, the CNAME goes out alone in time
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let upstream =
        Upstream::at(&[silent.local_addr().unwrap()], Duration::from_millis(200)).unwrap();
    let services = StaticServices::new();
    let server = start(Arc::new(services), Some(Arc::new(upstream))).await;
    let started = std::time::Instant::now();
    let r = ask(server.local_addr(), QNAME, RecordType::A, false).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
}
