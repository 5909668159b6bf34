//! The running responder: hickory-server on one UDP socket and one TCP listener.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::LocalDnsError;
use crate::request_handler::Handler;
use crate::responder::Responder;
use crate::upstream::Upstream;

/// A responder serving DNS over UDP and TCP on one address. Dropping it stops the server;
/// [`shutdown`](Self::shutdown) stops it gracefully and waits.
///
/// ```no_run
/// use std::sync::Arc;
/// use fedsvc_local_dns::{LocalDnsConfig, LocalDnsServer, Responder, StaticServices};
/// use fedsvc_model::{Label, LabelRules};
/// # async fn demo() -> Result<(), fedsvc_local_dns::LocalDnsError> {
/// let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").unwrap();
/// let config = LocalDnsConfig::new(l("us-central1-f"), l("us-central1"))
///     .with_federation("myfederation=example.com".parse()?);
/// let responder = Responder::new(config, Arc::new(StaticServices::new()))?;
/// let server = LocalDnsServer::start("127.0.0.1:0".parse().unwrap(), Arc::new(responder), None).await?;
/// println!("serving on {}", server.local_addr());
/// server.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LocalDnsServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
}

impl LocalDnsServer {
    /// Binds `listen` (UDP and TCP; with port 0 a port free for both is picked) and serves
    /// `responder`'s answers, completed through `upstream` when given.
    pub async fn start(
        listen: SocketAddr,
        responder: Arc<Responder>,
        upstream: Option<Arc<Upstream>>,
    ) -> Result<Self, LocalDnsError> {
        let zones: Vec<String> = responder
            .config()
            .zone_apexes()
            .iter()
            .map(ToString::to_string)
            .collect();
        let handler = Handler {
            responder,
            upstream,
        };
        let (mut server, addr) = fedsvc_providers::serve::udp_and_tcp(listen, handler)
            .await
            .map_err(|source| LocalDnsError::Bind {
                addr: listen,
                source,
            })?;
        let token = server.shutdown_token().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // A send or a drop of the sender both mean "stop".
            let _ = stopped.await;
            token.cancel();
        });
        let task =
            tokio::spawn(async move { server.block_until_done().await.map_err(|e| e.to_string()) });
        tracing::info!(%addr, zones = ?zones, "serving federated names (UDP and TCP)");
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The address served (UDP and TCP).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting queries, lets the ones in flight finish, and waits for the end.
    pub async fn shutdown(mut self) -> Result<(), LocalDnsError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = &mut self.task;
        match task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(LocalDnsError::Server(e)),
            Err(e) => Err(LocalDnsError::Server(e.to_string())),
        }
    }
}

impl Drop for LocalDnsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fedsvc_model::{Label, LabelRules, ServiceKey};
    use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::{Name, RData, RecordType};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream, UdpSocket};

    use super::*;
    use crate::local_dns_config::LocalDnsConfig;
    use crate::static_services::StaticServices;

    const Q: &str = "nginx.mynamespace.myfederation.svc.cluster.local.";

    async fn server(services: &StaticServices) -> LocalDnsServer {
        let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").unwrap();
        let config = LocalDnsConfig::new(l("us-central1-f"), l("us-central1"))
            .with_federation("myfederation=example.com".parse().unwrap());
        let responder = Responder::new(config, Arc::new(services.clone())).unwrap();
        LocalDnsServer::start("127.0.0.1:0".parse().unwrap(), Arc::new(responder), None)
            .await
            .unwrap()
    }

    fn message(op_code: OpCode, questions: &[(&str, RecordType)]) -> Message {
        let mut m = Message::new(4711, MessageType::Query, op_code);
        for (name, t) in questions {
            m.add_query(Query::query(Name::from_ascii(name).unwrap(), *t));
        }
        m
    }

    async fn udp(addr: SocketAddr, m: &Message) -> Message {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.send_to(&m.to_vec().unwrap(), addr).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let (n, _) = tokio::time::timeout(Duration::from_secs(3), sock.recv_from(&mut buf))
            .await
            .expect("a UDP response")
            .unwrap();
        Message::from_vec(&buf[..n]).unwrap()
    }

    async fn tcp(addr: SocketAddr, m: &Message) -> Message {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let bytes = m.to_vec().unwrap();
        let len = u16::try_from(bytes.len()).unwrap();
        s.write_all(&len.to_be_bytes()).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut buf).await.unwrap();
        Message::from_vec(&buf).unwrap()
    }

    fn target(m: &Message) -> Option<String> {
        m.answers.first().and_then(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii()),
            _ => None,
        })
    }

    #[tokio::test]
    async fn udp_and_tcp_answer_alike() {
        let key = ServiceKey::parse("mynamespace", "nginx").unwrap();
        let services = StaticServices::new().with_ready_endpoints(key.clone(), 1);
        let s = server(&services).await;
        let addr = s.local_addr();
        for t in [RecordType::A, RecordType::AAAA] {
            let q = message(OpCode::Query, &[(Q, t)]);
            for r in [udp(addr, &q).await, tcp(addr, &q).await] {
                assert_eq!(r.metadata.id, 4711);
                assert_eq!(r.metadata.message_type, MessageType::Response);
                assert_eq!(r.metadata.response_code, ResponseCode::NoError);
                assert!(r.metadata.authoritative);
                assert!(!r.metadata.recursion_available);
                assert_eq!(r.queries, q.queries, "the question is echoed");
                assert_eq!(
                    target(&r).as_deref(),
                    Some("nginx.mynamespace.svc.cluster.local.")
                );
            }
        }
        services.set_ready_endpoints(key, 0);
        let q = message(OpCode::Query, &[(Q, RecordType::A)]);
        assert_eq!(
            target(&tcp(addr, &q).await).as_deref(),
            Some("nginx.mynamespace.myfederation.svc.us-central1-f.example.com.")
        );
        s.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn malformed_and_unsupported_requests() {
        let s = server(&StaticServices::new()).await;
        let addr = s.local_addr();
        let two = message(OpCode::Query, &[(Q, RecordType::A), (Q, RecordType::AAAA)]);
        assert_eq!(
            udp(addr, &two).await.metadata.response_code,
            ResponseCode::FormErr
        );
        let none = message(OpCode::Query, &[]);
        assert_eq!(
            tcp(addr, &none).await.metadata.response_code,
            ResponseCode::FormErr
        );
        let notify = message(OpCode::Notify, &[(Q, RecordType::SOA)]);
        assert_eq!(
            udp(addr, &notify).await.metadata.response_code,
            ResponseCode::NotImp
        );
        let wrong = message(OpCode::Query, &[("example.com.", RecordType::A)]);
        let r = udp(addr, &wrong).await;
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        assert!(!r.metadata.authoritative);
    }

    #[tokio::test]
    async fn edns_is_answered_with_edns() {
        let s = server(&StaticServices::new()).await;
        let addr = s.local_addr();
        let mut q = message(OpCode::Query, &[(Q, RecordType::A)]);
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        q.set_edns(edns.clone());
        let r = udp(addr, &q).await;
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert_eq!(r.edns.as_ref().map(Edns::version), Some(0));
        assert_eq!(r.answers.len(), 1);
        let plain = udp(addr, &message(OpCode::Query, &[(Q, RecordType::A)])).await;
        assert!(plain.edns.is_none());
        edns.set_version(1);
        q.set_edns(edns);
        let r = tcp(addr, &q).await;
        // BADVERS and BADSIG share the value 16; compare numbers.
        assert_eq!(
            u16::from(r.metadata.response_code),
            u16::from(ResponseCode::BADVERS)
        );
        assert!(r.answers.is_empty());
    }

    #[tokio::test]
    async fn dropping_the_server_frees_the_port() {
        let s = server(&StaticServices::new()).await;
        let addr = s.local_addr();
        drop(s);
        let mut rebound = false;
        for _ in 0..100 {
            if TcpListener::bind(addr).await.is_ok() {
                rebound = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(rebound, "{addr} still in use after drop");
    }
}
