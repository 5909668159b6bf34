//! DNS UPDATE (RFC 2136) with TSIG (RFC 8945), listing by AXFR (feature `rfc2136`).

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RecordSet, RecordType};
use futures::StreamExt;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::{DnsError, DnsHandle, DnsMultiplexer, NetError};
use hickory_proto::op::{
    DnsRequest, DnsResponse, Message, OpCode, Query, ResponseCode, UpdateMessage,
};
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError};
use hickory_proto::rr::{self as hrr, DNSClass, Record, TSigner};
use rand::{Rng, SeedableRng};

use crate::config::{ConfigError, Rfc2136Config};
use crate::error::ProviderError;
use crate::hickory_conv::{to_name, to_rdata, to_record_sets, to_records, to_type};
use crate::provider::DnsProvider;
use crate::zone_state::check_batch;

/// UPDATE messages larger than this go over TCP (a safe UDP size without fragmentation).
const MAX_UDP_MESSAGE: usize = 1232;

/// A zone on a primary server that accepts DNS UPDATE (BIND 9, Knot, PowerDNS, hickory…).
///
/// Each batch is one UPDATE message, so the server applies it all or nothing. Every group
/// carries prerequisites (RFC 2136 §2.4): each record set to delete or update must hold exactly
/// the expected data, each one to create must not exist; a zone that changed since it was
/// listed therefore gives [`ProviderError::Conflict`] and changes nothing. Updates are signed
/// with TSIG (`hmac-sha256`, `hmac-sha384`, `hmac-sha512`); the zone is listed by a signed
/// AXFR over TCP. UPDATEs go over UDP, or TCP when the message is large or the answer is
/// truncated.
///
/// ```no_run
/// use fedsvc_providers::{DnsProvider, Rfc2136Provider};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let p = Rfc2136Provider::new("example.com".parse()?, "127.0.0.1:53".parse()?)
///     .with_tsig("ddns-key", "hmac-sha256", "c2VjcmV0IHNlY3JldCBzZWNyZXQ=")?;
/// println!("{} holds {} record sets", p.zone(), p.list().await?.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Rfc2136Provider {
    name: String,
    zone: DnsName,
    server: SocketAddr,
    signer: Option<TSigner>,
    key_name: Option<String>,
    timeout: Duration,
    limits: BatchLimits,
}

impl std::fmt::Debug for Rfc2136Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rfc2136Provider")
            .field("zone", &self.zone)
            .field("server", &self.server)
            .field("key_name", &self.key_name)
            .field("timeout", &self.timeout)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Rfc2136Provider {
    /// A provider for `zone` on `server`, unsigned (most servers refuse unsigned updates:
    /// see [`with_tsig`](Self::with_tsig)), 5 s timeout, 50 record-set changes per UPDATE.
    pub fn new(zone: DnsName, server: SocketAddr) -> Self {
        Rfc2136Provider {
            name: format!("rfc2136 {server}"),
            zone,
            server,
            signer: None,
            key_name: None,
            timeout: Duration::from_secs(5),
            limits: BatchLimits {
                max_changes: 50,
                update_cost: 1,
                max_groups: None,
            },
        }
    }

    /// Signs every request with the TSIG key `name` (`algorithm` is `hmac-sha256`,
    /// `hmac-sha384` or `hmac-sha512`; `secret_base64` is the key as `tsig-keygen` prints it).
    pub fn with_tsig(
        mut self,
        name: &str,
        algorithm: &str,
        secret_base64: &str,
    ) -> Result<Self, ConfigError> {
        let invalid = |field: &str, message: String| ConfigError::Invalid {
            field: format!("provider.tsig.{field}"),
            message,
        };
        let alg = match algorithm.trim().to_ascii_lowercase().trim_end_matches('.') {
            "hmac-sha256" => TsigAlgorithm::HmacSha256,
            "hmac-sha384" => TsigAlgorithm::HmacSha384,
            "hmac-sha512" => TsigAlgorithm::HmacSha512,
            other => {
                return Err(invalid(
                    "algorithm",
                    format!(
                        "{other:?} is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512"
                    ),
                ));
            }
        };
        let key = data_encoding::BASE64
            .decode(secret_base64.trim().as_bytes())
            .map_err(|e| invalid("secret", format!("not valid base64: {e}")))?;
        let key_name = hrr::Name::from_ascii(name)
            .map_err(|e| invalid("name", format!("{name:?} is not a valid key name: {e}")))?;
        let signer = TSigner::new(key, alg, key_name, 300)
            .map_err(|e| invalid("algorithm", e.to_string()))?;
        self.signer = Some(signer);
        self.key_name = Some(name.trim_end_matches('.').to_owned());
        Ok(self)
    }

    /// Sets the time to wait for an answer.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the most record-set changes in one UPDATE message.
    #[must_use]
    pub fn with_batch_size(mut self, max_changes: usize) -> Self {
        self.limits.max_changes = max_changes.max(1);
        self
    }

    /// Builds a provider from its configuration section.
    pub fn from_config(zone: DnsName, config: &Rfc2136Config) -> Result<Self, ConfigError> {
        let mut p = Self::new(zone, config.server_addr()?).with_timeout(config.timeout());
        if let Some(size) = config.batch_size {
            p = p.with_batch_size(size);
        }
        if let Some(tsig) = &config.tsig {
            let secret = tsig.secret_base64()?;
            p = p.with_tsig(&tsig.name, &tsig.algorithm, secret.expose())?;
        }
        Ok(p)
    }

    /// The UPDATE message for `batch`: prerequisites, then deletes, updates and creates in
    /// group order.
    fn update_message(&self, batch: &[ChangeGroup]) -> Message {
        let origin = to_name(&self.zone);
        let mut message = Message::query();
        message.metadata.op_code = OpCode::Update;
        message.metadata.recursion_desired = false;
        let mut zone = Query::new();
        zone.set_name(origin)
            .set_query_class(DNSClass::IN)
            .set_query_type(hrr::RecordType::SOA);
        message.add_zone(zone);
        for group in batch {
            for rs in group.delete.iter().chain(&group.update_old) {
                for r in exists_prerequisite(rs) {
                    message.add_pre_requisite(r);
                }
            }
            for rs in &group.create {
                message.add_pre_requisite(absent(rs.name(), rs.rtype()));
                // A CNAME stands alone (RFC 1034 §3.6.2); some servers silently drop the
                // offending record instead of refusing, so make the server check it.
                let clashing: Vec<RecordType> = if *rs.rtype() == RecordType::Cname {
                    vec![RecordType::A, RecordType::Aaaa, RecordType::Txt]
                } else {
                    vec![RecordType::Cname]
                };
                for t in clashing {
                    let removed = group
                        .delete
                        .iter()
                        .any(|d| d.name() == rs.name() && *d.rtype() == t);
                    let created = group
                        .create
                        .iter()
                        .any(|c| c.name() == rs.name() && *c.rtype() == t);
                    if !removed && !created {
                        message.add_pre_requisite(absent(rs.name(), &t));
                    }
                }
            }
            for rs in group.delete.iter().chain(&group.update_old) {
                let mut r = Record::update0(to_name(rs.name()), 0, to_type(rs.rtype()));
                r.dns_class = DNSClass::ANY;
                message.add_update(r);
            }
            for rs in group.update_new.iter().chain(&group.create) {
                for r in to_records(rs) {
                    message.add_update(r);
                }
            }
        }
        message
    }

    async fn exchange_udp(&self, message: Message) -> Result<DnsResponse, NetError> {
        let stream = UdpClientStream::builder(self.server, TokioRuntimeProvider::default())
            .with_timeout(Some(self.timeout))
            .with_signer(self.signer.clone())
            .build();
        let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
        let bg = tokio::spawn(bg);
        let result = first(client.send(DnsRequest::from(message))).await;
        bg.abort();
        result
    }

    async fn tcp_client(
        &self,
    ) -> Result<(Client<TokioRuntimeProvider>, tokio::task::JoinHandle<()>), NetError> {
        let (connect, handle) = TcpClientStream::new(
            self.server,
            None,
            Some(self.timeout),
            TokioRuntimeProvider::default(),
        );
        let stream = tokio::time::timeout(self.timeout, connect)
            .await
            .map_err(|_| NetError::Timeout)??;
        let mut mux = DnsMultiplexer::new(stream, handle).with_timeout(self.timeout);
        if let Some(signer) = &self.signer {
            mux = mux.with_signer(signer.clone());
        }
        let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(mux);
        let bg = tokio::spawn(async move {
            let _ = bg.await;
        });
        Ok((client, bg))
    }

    async fn exchange_tcp(&self, message: Message) -> Result<DnsResponse, NetError> {
        let (client, bg) = self.tcp_client().await?;
        let result = first(client.send(DnsRequest::from(message))).await;
        bg.abort();
        result
    }

    /// Turns a failed exchange into a clear error.
    fn net_error(&self, what: &str, e: NetError) -> ProviderError {
        match e {
            NetError::Dns(DnsError::ResponseCode(code)) => self.rcode_error(what, code),
            NetError::Timeout => ProviderError::unavailable(
                &self.name,
                format!("{what}: no answer within {:?}", self.timeout),
            ),
            NetError::Io(io) => ProviderError::unavailable(
                &self.name,
                format!("{what}: cannot reach the server: {io}"),
            ),
            NetError::Busy | NetError::NoConnections => {
                ProviderError::unavailable(&self.name, format!("{what}: {e}"))
            }
            NetError::Proto(p) => {
                let text = p.to_string();
                if self.signer.is_some() && looks_like_tsig_failure(&text) {
                    self.tsig_rejected(what, None)
                } else {
                    ProviderError::other(&self.name, format!("{what}: unexpected answer: {text}"))
                }
            }
            other => {
                let text = other.to_string();
                if self.signer.is_some() && looks_like_tsig_failure(&text) {
                    self.tsig_rejected(what, None)
                } else if text.contains("onnection refused") || text.contains("reset") {
                    ProviderError::unavailable(
                        &self.name,
                        format!("{what}: cannot reach the server: {text}"),
                    )
                } else {
                    ProviderError::other(&self.name, format!("{what}: {text}"))
                }
            }
        }
    }

    fn tsig_rejected(&self, what: &str, code: Option<&str>) -> ProviderError {
        let key = self.key_name.as_deref().unwrap_or("-");
        let cause = match code {
            Some("BADKEY") => format!("the server does not know a key named {key}"),
            Some("BADSIG") => "the secret or the algorithm differs from the server's".to_owned(),
            Some("BADTIME") => "the clocks of this host and the server differ too much".to_owned(),
            _ => "the server does not know this key, or the secret or algorithm differs".to_owned(),
        };
        ProviderError::unauthorized(
            &self.name,
            format!(
                "{what}: TSIG key {key} rejected ({}): {cause}",
                code.unwrap_or("BADSIG/BADKEY")
            ),
        )
    }

    /// Whether a failed exchange means the server refused our TSIG signature (hickory reports
    /// the server's unsigned error answer as a MAC verification failure).
    fn is_tsig_failure(&self, e: &NetError) -> bool {
        self.signer.is_some() && looks_like_tsig_failure(&e.to_string())
    }

    /// Asks the server, with a signed SOA query (read-only), which TSIG error it reports.
    async fn tsig_diagnosis(&self) -> Option<&'static str> {
        let signer = self.signer.as_ref()?;
        let mut query = Message::query();
        query.metadata.id = rand::rngs::StdRng::from_os_rng().random();
        query.add_query(Query::query(to_name(&self.zone), hrr::RecordType::SOA));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        query.finalize(signer, now).ok()?;
        let bytes = query.to_vec().ok()?;
        let bind: SocketAddr = if self.server.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = tokio::net::UdpSocket::bind(bind).await.ok()?;
        socket.connect(self.server).await.ok()?;
        socket.send(&bytes).await.ok()?;
        let mut buf = vec![0u8; 4096];
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let n = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
                .await
                .ok()?
                .ok()?;
            let Ok(answer) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            if answer.metadata.id != query.metadata.id {
                continue;
            }
            return Some(match answer.signature?.data.error? {
                TsigError::BadSig => "BADSIG",
                TsigError::BadKey => "BADKEY",
                TsigError::BadTime => "BADTIME",
                TsigError::BadTrunc => "BADTRUNC",
                TsigError::Unknown(_) => return None,
            });
        }
    }

    /// The error of a failed exchange, asking the server for the TSIG error when the
    /// signature was refused.
    async fn exchange_error(&self, what: &str, e: NetError) -> ProviderError {
        if self.is_tsig_failure(&e) {
            let code = self.tsig_diagnosis().await;
            return self.tsig_rejected(what, code);
        }
        self.net_error(what, e)
    }

    fn rcode_error(&self, what: &str, code: ResponseCode) -> ProviderError {
        let zone = &self.zone;
        match code {
            ResponseCode::NotAuth if self.signer.is_some() => self.tsig_rejected(what, None),
            ResponseCode::NotAuth => ProviderError::unauthorized(
                &self.name,
                format!(
                    "{what}: NOTAUTH: the server is not authoritative for {zone}, or requires a TSIG key"
                ),
            ),
            ResponseCode::Refused => ProviderError::unauthorized(
                &self.name,
                format!(
                    "{what}: REFUSED: the server does not allow {} to change {zone} (check the update policy, or that it serves the zone)",
                    self.key_name
                        .as_deref()
                        .map(|k| format!("key {k}"))
                        .unwrap_or_else(|| "unsigned requests".into())
                ),
            ),
            ResponseCode::ServFail => ProviderError::unavailable(
                &self.name,
                format!("{what}: SERVFAIL: the server failed to process it"),
            ),
            ResponseCode::YXRRSet
            | ResponseCode::NXRRSet
            | ResponseCode::YXDomain
            | ResponseCode::NXDomain => ProviderError::conflict(
                &self.name,
                format!(
                    "{what}: {code}: the zone no longer holds what the change expected (a record set to create exists, or one to delete or update differs); list again"
                ),
            ),
            ResponseCode::NotZone => ProviderError::invalid(
                &self.name,
                format!("{what}: NOTZONE: a name lies outside {zone}"),
            ),
            ResponseCode::FormErr | ResponseCode::NotImp => ProviderError::invalid(
                &self.name,
                format!("{what}: {code}: the server does not accept this request"),
            ),
            ResponseCode::BADSIG => self.tsig_rejected(what, Some("BADSIG")),
            ResponseCode::BADKEY => self.tsig_rejected(what, Some("BADKEY")),
            ResponseCode::BADTIME => self.tsig_rejected(what, Some("BADTIME")),
            other => ProviderError::other(&self.name, format!("{what}: server answered {other}")),
        }
    }

    async fn send_update(&self, message: Message) -> Result<DnsResponse, ProviderError> {
        let size = message.to_vec().map(|v| v.len()).unwrap_or(usize::MAX);
        let what = "UPDATE";
        let response = if size > MAX_UDP_MESSAGE {
            self.exchange_tcp(message).await
        } else {
            match self.exchange_udp(message.clone()).await {
                Ok(r) if r.metadata.truncation => self.exchange_tcp(message).await,
                Err(NetError::Io(_)) => self.exchange_tcp(message).await,
                other => other,
            }
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => return Err(self.exchange_error(what, e).await),
        };
        match response.metadata.response_code {
            ResponseCode::NoError => Ok(response),
            code => Err(self.rcode_error(what, code)),
        }
    }
}

/// Waits for the first answer of a request.
async fn first<S>(mut responses: S) -> Result<DnsResponse, NetError>
where
    S: futures::Stream<Item = Result<DnsResponse, NetError>> + Unpin,
{
    responses.next().await.unwrap_or(Err(NetError::Timeout))
}

fn looks_like_tsig_failure(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("hmac") || t.contains("tsig") || t.contains("signature") || t.contains("badsig")
}

/// "RRset exists (value dependent)" prerequisites for `rs` (RFC 2136 §2.4.2), or "RRset
/// exists (value independent)" for data that cannot be represented exactly.
fn exists_prerequisite(rs: &RecordSet) -> Vec<Record> {
    let exact: Option<Vec<Record>> = rs
        .data()
        .iter()
        .map(|d| {
            to_rdata(rs.rtype(), d).map(|rdata| Record::from_rdata(to_name(rs.name()), 0, rdata))
        })
        .collect();
    match exact {
        Some(records) if !matches!(rs.rtype(), RecordType::Other(_)) => records,
        _ => {
            let mut r = Record::update0(to_name(rs.name()), 0, to_type(rs.rtype()));
            r.dns_class = DNSClass::ANY;
            vec![r]
        }
    }
}

/// "RRset does not exist" (RFC 2136 §2.4.3).
fn absent(name: &DnsName, rtype: &RecordType) -> Record {
    let mut r = Record::update0(to_name(name), 0, to_type(rtype));
    r.dns_class = DNSClass::NONE;
    r
}

/// Whether a listed record is server infrastructure rather than zone data.
fn is_infrastructure(zone: &DnsName, rs: &RecordSet) -> bool {
    match rs.rtype() {
        RecordType::Other(t) => {
            t == "SOA"
                || (t == "NS" && rs.name() == zone)
                || matches!(
                    t.as_str(),
                    "RRSIG"
                        | "NSEC"
                        | "NSEC3"
                        | "NSEC3PARAM"
                        | "DNSKEY"
                        | "CDS"
                        | "CDNSKEY"
                        | "ZONEMD"
                )
        }
        _ => false,
    }
}

#[async_trait]
impl DnsProvider for Rfc2136Provider {
    fn name(&self) -> &str {
        &self.name
    }

    fn zone(&self) -> &DnsName {
        &self.zone
    }

    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        let what = "AXFR";
        let (mut client, bg) = match self.tcp_client().await {
            Ok(c) => c,
            Err(e) => return Err(self.net_error(what, e)),
        };
        let mut stream = client.zone_transfer(to_name(&self.zone), None);
        let mut records: Vec<Record> = Vec::new();
        let outcome = loop {
            match tokio::time::timeout(self.timeout * 4, stream.next()).await {
                Err(_) => break Err(self.net_error(what, NetError::Timeout)),
                Ok(None) => break Ok(()),
                Ok(Some(Err(e))) => break Err(self.exchange_error(what, e).await),
                Ok(Some(Ok(response))) => {
                    let code = response.metadata.response_code;
                    if code != ResponseCode::NoError {
                        break Err(self.rcode_error(what, code));
                    }
                    records.extend(response.answers.iter().cloned());
                }
            }
        };
        bg.abort();
        outcome?;
        if !records
            .iter()
            .any(|r| r.record_type() == hrr::RecordType::SOA)
        {
            return Err(ProviderError::other(
                &self.name,
                format!("{what}: the transfer of {} returned no SOA", self.zone),
            ));
        }
        Ok(to_record_sets(&records)
            .into_iter()
            .filter(|rs| !is_infrastructure(&self.zone, rs))
            .collect())
    }

    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        check_batch(&self.name, &self.zone, batch)?;
        if batch.iter().all(ChangeGroup::is_empty) {
            return Ok(());
        }
        let message = self.update_message(batch);
        self.send_update(message).await.map(|_| ())
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }
}
