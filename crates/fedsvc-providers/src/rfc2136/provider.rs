//! [`Rfc2136Provider`]: DNS UPDATE (RFC 2136) with TSIG (RFC 8945), listing by AXFR.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RecordSet, RecordType};
use futures::StreamExt;
use hickory_net::client::Client;
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

use super::axfr;
use super::config::{ListLimits, Rfc2136Config};
use crate::error::{ConfigError, ProviderError, bytes_in_words};
use crate::hickory_conv::{SetStream, merge_pieces, to_name, to_rdata, to_records, to_type};
use crate::provider::DnsProvider;
use crate::zone_state::{check_batch, server_owned};

/// UPDATE messages larger than this go over TCP (a safe UDP size without fragmentation).
const MAX_UDP_MESSAGE: usize = 1232;

/// The largest UPDATE message sent, before its TSIG record (under 200 bytes): a DNS message
/// over TCP holds at most 65 535 bytes, and servers answer a larger one with misleading errors
/// (a message cut short fails its TSIG check: BADSIG or BADKEY).
const MAX_UPDATE_MESSAGE: usize = 60_000;

/// The default most record-set changes in one UPDATE message. Measured with hickory's
/// encoding (the `message_sizes` test), per record-set change: ~160 bytes to create a
/// one-address A set or its TXT ownership record (with their "absent" prerequisites), ~200 to
/// update a two-address A set, ~650 to update a 13-address one (the old set travels as a
/// prerequisite). 200 creates or small updates fit one message (32 000–40 000 bytes) with room
/// to spare; a batch of large updates is split into several messages by size instead.
const DEFAULT_BATCH_SIZE: usize = 200;

/// A zone on a primary server that accepts DNS UPDATE (BIND 9, Knot, PowerDNS, hickory…).
///
/// Each batch is sent as one UPDATE message when it fits in 60 000 bytes, so the server
/// applies it all or nothing; a larger batch is split into several messages at change-group
/// boundaries, each applied all or nothing (every group stays atomic, the batch as a whole
/// does not). Every group carries prerequisites (RFC 2136 §2.4): each record set to delete or
/// update must hold exactly the expected data, each one to create must not exist; a zone that
/// changed since it was listed therefore gives [`ProviderError::Conflict`] and changes nothing.
/// Updates are signed with TSIG (`hmac-sha256`, `hmac-sha384`, `hmac-sha512`); UPDATEs go over
/// UDP, or TCP when the message is large or the answer is truncated. The zone is listed by a
/// signed AXFR over TCP, read to its closing SOA with the signature of every message verified;
/// a transfer that ends early is an error, never a partial listing.
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
    /// How much one zone transfer may read.
    list_limits: ListLimits,
    /// UPDATE messages sent (shared by clones).
    messages_sent: Arc<AtomicU64>,
}

impl std::fmt::Debug for Rfc2136Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rfc2136Provider")
            .field("zone", &self.zone)
            .field("server", &self.server)
            .field("key_name", &self.key_name)
            .field("timeout", &self.timeout)
            .field("limits", &self.limits)
            .field("list_limits", &self.list_limits)
            .finish_non_exhaustive()
    }
}

impl Rfc2136Provider {
    /// A provider for `zone` on `server`, unsigned (most servers refuse unsigned updates:
    /// see [`with_tsig`](Self::with_tsig)), 5 s timeout, at most 200 record-set changes per
    /// UPDATE message (fewer when their encoding would exceed 60 000 bytes).
    pub fn new(zone: DnsName, server: SocketAddr) -> Self {
        Rfc2136Provider {
            name: format!("rfc2136 {server}"),
            zone,
            server,
            signer: None,
            key_name: None,
            timeout: Duration::from_secs(5),
            list_limits: ListLimits::default(),
            messages_sent: Arc::new(AtomicU64::new(0)),
            limits: BatchLimits {
                max_changes: DEFAULT_BATCH_SIZE,
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

    /// Sets the most record-set changes in one UPDATE message (an upper bound: a batch whose
    /// message would exceed 60 000 bytes is sent as several messages, never splitting a group).
    #[must_use]
    pub fn with_batch_size(mut self, max_changes: usize) -> Self {
        self.limits.max_changes = max_changes.max(1);
        self
    }

    /// Sets the most records (default 10 000 000) and bytes (default 2 GiB) one zone transfer
    /// may read: a listing of a larger zone, or from a server that never ends its transfer,
    /// stops there with an error naming the limit.
    #[must_use]
    pub fn with_list_limits(mut self, max_records: u64, max_bytes: u64) -> Self {
        self.list_limits = ListLimits {
            max_records: max_records.max(1),
            max_bytes: max_bytes.max(1),
        };
        self
    }

    /// How many UPDATE messages this provider (and its clones) sent, successful or not. One
    /// [`apply`](DnsProvider::apply) sends one message, or several when the batch is too large
    /// for one.
    pub fn update_messages_sent(&self) -> u64 {
        self.messages_sent.load(Ordering::Relaxed)
    }

    /// Splits `batch` into UPDATE messages of at most [`MAX_UPDATE_MESSAGE`] bytes, at group
    /// boundaries, in order: each with the range of groups it carries. A group too large for
    /// one message is refused before anything is sent.
    fn update_messages(
        &self,
        batch: &[ChangeGroup],
    ) -> Result<Vec<(std::ops::Range<usize>, Message)>, ProviderError> {
        let base = encoded_len(&self.update_message(&[])).unwrap_or(0);
        // Each group's size alone: name compression makes it a close estimate of its share of
        // a larger message (not an exact one: pointers cannot reach past 16 KiB), so every
        // message is encoded again before it is sent.
        let mut estimates = Vec::with_capacity(batch.len());
        for group in batch {
            let message = self.update_message(std::slice::from_ref(group));
            match encoded_len(&message) {
                Some(len) if len <= MAX_UPDATE_MESSAGE => estimates.push(len.saturating_sub(base)),
                len => return Err(self.group_too_large(group, len)),
            }
        }
        let mut out = Vec::new();
        let mut start = 0;
        while start < batch.len() {
            let mut end = start + 1;
            let mut size = base + estimates[start];
            while end < batch.len() && size + estimates[end] <= MAX_UPDATE_MESSAGE {
                size += estimates[end];
                end += 1;
            }
            loop {
                let message = self.update_message(&batch[start..end]);
                let len = encoded_len(&message);
                let count = end - start;
                match len {
                    Some(len) if len <= MAX_UPDATE_MESSAGE => {
                        out.push((start..end, message));
                        break;
                    }
                    _ if count == 1 => return Err(self.group_too_large(&batch[start], len)),
                    _ => {
                        let fewer = len.map_or(count / 2, |l| count * MAX_UPDATE_MESSAGE / l);
                        end = start + fewer.clamp(1, count - 1);
                    }
                }
            }
            start = end;
        }
        Ok(out)
    }

    fn group_too_large(&self, group: &ChangeGroup, len: Option<usize>) -> ProviderError {
        let size = len.map_or_else(|| "more than 65 535".to_owned(), |l| l.to_string());
        ProviderError::invalid(
            &self.name,
            format!(
                "UPDATE: the changes to {} ({} record sets) need a message of {size} bytes, more than the {MAX_UPDATE_MESSAGE} bytes one DNS UPDATE message may carry; they cannot be split without losing atomicity: use fewer or smaller records at this name",
                group.name,
                group.len()
            ),
        )
    }

    /// The error of UPDATE message `part` (counted from 1) of a batch whose earlier messages,
    /// carrying `applied`, succeeded. Retrying the same batch cannot help (its first groups
    /// are applied and their prerequisites no longer hold), so a retryable cause becomes a
    /// conflict: list again and plan again.
    fn partial_failure(
        &self,
        e: ProviderError,
        part: usize,
        parts: usize,
        applied: &[ChangeGroup],
    ) -> ProviderError {
        let (first, last) = match (applied.first(), applied.last()) {
            (Some(f), Some(l)) => (f.name.to_string(), l.name.to_string()),
            _ => (String::new(), String::new()),
        };
        let message = format!(
            "{} (UPDATE message {part} of {parts} of this batch; the {} change groups before it, {first} … {last}, were applied by the earlier messages: list the zone again before retrying)",
            e.message(),
            applied.len()
        );
        match e {
            ProviderError::Unauthorized { .. } => ProviderError::unauthorized(&self.name, message),
            ProviderError::Invalid { .. } => ProviderError::invalid(&self.name, message),
            ProviderError::Other { .. } => ProviderError::other(&self.name, message),
            _ => ProviderError::conflict(&self.name, message),
        }
    }

    /// Builds a provider from its configuration section.
    pub fn from_config(zone: DnsName, config: &Rfc2136Config) -> Result<Self, ConfigError> {
        let limits = config.list_limits();
        let mut p = Self::new(zone, config.server_addr()?)
            .with_timeout(config.timeout())
            .with_list_limits(limits.max_records, limits.max_bytes);
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
        let message = match code {
            Some("BADSIG") => {
                format!("the server rejected TSIG key {key} (BADSIG): wrong secret or algorithm")
            }
            Some("BADKEY") => format!(
                "the server rejected TSIG key {key} (BADKEY): it knows no key of this name and algorithm"
            ),
            Some("BADTIME") => format!(
                "the server rejected TSIG key {key} (BADTIME): the clocks of this host and the server differ too much"
            ),
            Some(other) => format!("the server rejected TSIG key {key} ({other})"),
            None => format!(
                "the server rejected TSIG key {key}: unknown key, wrong secret or wrong algorithm"
            ),
        };
        ProviderError::unauthorized(&self.name, format!("{what}: {message}"))
    }

    /// The zone is not served by the server.
    fn not_served(&self, what: &str, code: ResponseCode) -> ProviderError {
        ProviderError::invalid(
            &self.name,
            format!(
                "{what}: the server does not serve zone {} ({}): check the zone name and the server",
                self.zone.without_dot(),
                rcode_name(code)
            ),
        )
    }

    /// The server refused the request (REFUSED or NOTAUTH without a TSIG error): asks it, with
    /// a read-only SOA query, whether it serves the zone and accepts the key, and names the
    /// cause: the zone is not served, the key is rejected, or the key may not do `what`.
    async fn refusal(&self, what: &str, code: ResponseCode) -> ProviderError {
        match self.diagnosis().await {
            Diagnosis::Tsig(tsig) => return self.tsig_rejected(what, Some(tsig)),
            Diagnosis::NotServed(_) => return self.not_served(what, code),
            Diagnosis::Served | Diagnosis::Unknown => {}
        }
        let zone = self.zone.without_dot();
        let who = self
            .key_name
            .as_deref()
            .map(|k| format!("key {k}"))
            .unwrap_or_else(|| "an unsigned request".into());
        let (verb, check) = if what == "AXFR" {
            ("transfer", "allow-transfer, or the acl")
        } else {
            ("update", "update-policy, or the acl")
        };
        match code {
            ResponseCode::NotAuth if self.signer.is_none() => ProviderError::unauthorized(
                &self.name,
                format!("{what}: NOTAUTH: the server requires a TSIG key to {verb} zone {zone}"),
            ),
            _ => ProviderError::unauthorized(
                &self.name,
                format!(
                    "{what}: {}: {who} may not {verb} zone {zone} (check the server's {check})",
                    rcode_name(code)
                ),
            ),
        }
    }

    /// Whether a failed exchange means the server refused our TSIG signature (hickory reports
    /// the server's unsigned error answer as a MAC verification failure).
    fn is_tsig_failure(&self, e: &NetError) -> bool {
        self.signer.is_some() && looks_like_tsig_failure(&e.to_string())
    }

    /// Asks the server, with a SOA query for the zone (read-only, signed when we have a key),
    /// whether it accepts the key and serves the zone.
    async fn diagnosis(&self) -> Diagnosis {
        self.query_soa().await.unwrap_or(Diagnosis::Unknown)
    }

    async fn query_soa(&self) -> Option<Diagnosis> {
        let mut query = Message::query();
        query.metadata.id = rand::rngs::StdRng::from_os_rng().random();
        query.metadata.recursion_desired = false;
        query.add_query(Query::query(to_name(&self.zone), hrr::RecordType::SOA));
        if let Some(signer) = &self.signer {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            query.finalize(signer, now).ok()?;
        }
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
            if let Some(error) = answer.signature().and_then(|s| s.data.error) {
                return Some(match error {
                    TsigError::BadSig => Diagnosis::Tsig("BADSIG"),
                    TsigError::BadKey => Diagnosis::Tsig("BADKEY"),
                    TsigError::BadTime => Diagnosis::Tsig("BADTIME"),
                    TsigError::BadTrunc => Diagnosis::Tsig("BADTRUNC"),
                    TsigError::Unknown(_) => return None,
                });
            }
            let code = answer.metadata.response_code;
            return Some(match code {
                ResponseCode::NoError if answer.metadata.authoritative => Diagnosis::Served,
                ResponseCode::NoError
                | ResponseCode::Refused
                | ResponseCode::NotAuth
                | ResponseCode::NXDomain => Diagnosis::NotServed(code),
                _ => Diagnosis::Unknown,
            });
        }
    }

    /// The error of a failed exchange, asking the server for the TSIG error when the
    /// signature was refused.
    async fn exchange_error(&self, what: &str, e: NetError) -> ProviderError {
        if self.is_tsig_failure(&e) {
            return match self.diagnosis().await {
                Diagnosis::Tsig(code) => self.tsig_rejected(what, Some(code)),
                // The key is fine for a query: the refusal was the zone's.
                Diagnosis::NotServed(code) => self.not_served(what, code),
                Diagnosis::Served | Diagnosis::Unknown => self.tsig_rejected(what, None),
            };
        }
        if let NetError::Dns(DnsError::ResponseCode(
            code @ (ResponseCode::Refused | ResponseCode::NotAuth),
        )) = e
        {
            return self.refusal(what, code).await;
        }
        self.net_error(what, e)
    }

    /// The error of a failed zone transfer. Everything but a refusal is retryable: a transfer
    /// cut short or answered with nonsense is tried again, never taken as the whole zone.
    fn axfr_error(&self, e: axfr::AxfrError) -> ProviderError {
        let what = "AXFR";
        let zone = &self.zone;
        match e {
            axfr::AxfrError::Io(io) => ProviderError::unavailable(
                &self.name,
                format!("{what}: cannot reach the server: {io}"),
            ),
            axfr::AxfrError::Timeout => ProviderError::unavailable(
                &self.name,
                format!(
                    "{what}: no answer within {:?} during the transfer of {zone}",
                    self.timeout
                ),
            ),
            axfr::AxfrError::Incomplete { messages, records } => ProviderError::unavailable(
                &self.name,
                format!(
                    "{what}: the server closed the connection after {messages} messages ({records} records) of {zone}, before the closing SOA: the transfer is incomplete"
                ),
            ),
            axfr::AxfrError::Rcode {
                tsig: Some(error), ..
            } if self.signer.is_some() => self.tsig_rejected(
                what,
                match error {
                    TsigError::BadSig => Some("BADSIG"),
                    TsigError::BadKey => Some("BADKEY"),
                    TsigError::BadTime => Some("BADTIME"),
                    TsigError::BadTrunc | TsigError::Unknown(_) => None,
                },
            ),
            axfr::AxfrError::Rcode {
                code: ResponseCode::Refused,
                ..
            } => ProviderError::unauthorized(
                &self.name,
                format!(
                    "{what}: REFUSED: the server does not allow {} to transfer {zone} (check allow-transfer / the acl, or that it serves the zone)",
                    self.key_name
                        .as_deref()
                        .map(|k| format!("key {k}"))
                        .unwrap_or_else(|| "unsigned requests".into())
                ),
            ),
            axfr::AxfrError::Rcode { code, .. } => self.rcode_error(what, code),
            axfr::AxfrError::BadResponseSignature(cause) => ProviderError::unavailable(
                &self.name,
                format!("{what}: the answer for {zone} fails TSIG verification: {cause}"),
            ),
            axfr::AxfrError::Malformed(cause) => ProviderError::unavailable(
                &self.name,
                format!("{what}: invalid transfer of {zone}: {cause}"),
            ),
            axfr::AxfrError::TooLarge(exceeded) => {
                let (limit, setting) = match exceeded {
                    axfr::Exceeded::Records(n) => (format!("{n} records"), "maxListRecords"),
                    axfr::Exceeded::Bytes(n) => (bytes_in_words(n), "maxListBytes"),
                };
                ProviderError::invalid(
                    &self.name,
                    format!(
                        "{what}: the transfer of {zone} goes on past {limit}, the limit of one listing (provider.{setting}); the transfer was stopped: raise the limit if the zone is that large"
                    ),
                )
            }
        }
    }

    fn rcode_error(&self, what: &str, code: ResponseCode) -> ProviderError {
        let zone = &self.zone;
        match code {
            ResponseCode::NotAuth => ProviderError::unauthorized(
                &self.name,
                format!(
                    "{what}: NOTAUTH: the server does not serve zone {}, or refuses {}",
                    zone.without_dot(),
                    self.key_name
                        .as_deref()
                        .map(|k| format!("key {k}"))
                        .unwrap_or_else(|| "unsigned requests".into())
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
                format!(
                    "{what}: NOTZONE: the server says a name of the change lies outside zone {}",
                    zone.without_dot()
                ),
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
            code @ (ResponseCode::Refused | ResponseCode::NotAuth) => {
                Err(self.refusal(what, code).await)
            }
            code => Err(self.rcode_error(what, code)),
        }
    }
}

/// The mnemonic of a response code, as `dig` prints it.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        other => other.to_string(),
    }
}

/// What a SOA query for the zone tells about a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Diagnosis {
    /// The server rejects the key, with this TSIG error.
    Tsig(&'static str),
    /// The key is accepted, but the server does not answer for the zone with authority.
    NotServed(ResponseCode),
    /// The key is accepted and the zone served.
    Served,
    /// No answer, or one that tells nothing.
    Unknown,
}

/// The size of `message` on the wire (without TSIG), or `None` when it cannot be encoded in
/// one DNS message.
fn encoded_len(message: &Message) -> Option<usize> {
    message.to_vec().ok().map(|v| v.len())
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

/// Whether a listed record is server infrastructure rather than zone data: the zone's SOA and
/// apex NS, and the records of DNSSEC signing.
fn is_infrastructure(zone: &DnsName, rs: &RecordSet) -> bool {
    server_owned(zone, rs.name(), rs.rtype())
        || matches!(
            rs.rtype(),
            RecordType::Other(t) if matches!(
                t.as_str(),
                "RRSIG" | "NSEC" | "NSEC3" | "NSEC3PARAM" | "DNSKEY" | "CDS" | "CDNSKEY" | "ZONEMD"
            )
        )
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
        let mut sets = Vec::new();
        self.list_each(&mut |rs| sets.push(rs)).await?;
        Ok(merge_pieces(sets))
    }

    /// Each run of records of one name and type is handed over as soon as the transfer ends
    /// it: a large zone is never held here, neither as wire records (which take several times
    /// the room of the record sets) nor as sets.
    async fn list_each(
        &self,
        each: &mut (dyn FnMut(RecordSet) + Send),
    ) -> Result<(), ProviderError> {
        let mut stream = SetStream::default();
        let zone = &self.zone;
        let mut hand = |rs: RecordSet| {
            if !is_infrastructure(zone, &rs) {
                each(rs);
            }
        };
        let transferred = axfr::transfer(
            self.server,
            &to_name(&self.zone),
            self.signer.as_ref(),
            self.timeout,
            self.list_limits,
            |r| {
                if let Some(rs) = stream.add(&r) {
                    hand(rs);
                }
            },
        )
        .await;
        match transferred {
            Err(axfr::AxfrError::Rcode {
                code: code @ (ResponseCode::Refused | ResponseCode::NotAuth),
                tsig: None,
            }) => return Err(self.refusal("AXFR", code).await),
            Err(e) => return Err(self.axfr_error(e)),
            Ok(()) => {}
        }
        if let Some(rs) = stream.finish() {
            hand(rs);
        }
        Ok(())
    }

    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        check_batch(&self.name, &self.zone, batch)?;
        if batch.iter().all(ChangeGroup::is_empty) {
            return Ok(());
        }
        let messages = self.update_messages(batch)?;
        let parts = messages.len();
        for (i, (groups, message)) in messages.into_iter().enumerate() {
            let first_group = groups.start;
            self.messages_sent.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.send_update(message).await {
                if i == 0 {
                    return Err(e);
                }
                return Err(self.partial_failure(e, i + 1, parts, &batch[..first_group]));
            }
        }
        Ok(())
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::RData;

    fn n(s: &str) -> DnsName {
        s.parse().unwrap()
    }

    fn a(name: &str, count: usize, third: u8) -> RecordSet {
        let data = (0..count)
            .map(|i| {
                RData::A(std::net::Ipv4Addr::new(
                    10,
                    third,
                    (i / 250) as u8,
                    (i % 250) as u8 + 1,
                ))
            })
            .collect();
        RecordSet::new(n(name), RecordType::A, 60, data).unwrap()
    }

    fn owner(name: &str) -> RecordSet {
        RecordSet::new(
            n(name),
            RecordType::Txt,
            300,
            vec![RData::Txt(
                "heritage=fedsvc,fedsvc/owner=fedsvc,fedsvc/resource=service/default/nginx".into(),
            )],
        )
        .unwrap()
    }

    fn provider() -> Rfc2136Provider {
        Rfc2136Provider::new(n("example.com"), "127.0.0.1:53".parse().unwrap())
    }

    fn create(i: usize, addresses: usize) -> ChangeGroup {
        let name = format!("nginx{i}.default.fed.svc.example.com");
        let mut g = ChangeGroup::new(n(&name));
        g.create = vec![a(&name, addresses, 1), owner(&name)];
        g
    }

    fn update(i: usize, addresses: usize) -> ChangeGroup {
        let name = format!("nginx{i}.default.fed.svc.us-central1.example.com");
        let mut g = ChangeGroup::new(n(&name));
        g.update_old = vec![a(&name, addresses, 1)];
        g.update_new = vec![a(&name, addresses - 1, 2)];
        g
    }

    fn share(p: &Rfc2136Provider, groups: &[ChangeGroup]) -> usize {
        let base = encoded_len(&p.update_message(&[])).unwrap();
        let changes: usize = groups.iter().map(ChangeGroup::len).sum();
        (encoded_len(&p.update_message(groups)).unwrap() - base) / changes
    }

    /// The sizes behind `DEFAULT_BATCH_SIZE` (printed with `--nocapture`).
    #[test]
    fn message_sizes() {
        let p = provider();
        let creates: Vec<_> = (0..100).map(|i| create(i, 1)).collect();
        let small: Vec<_> = (0..100).map(|i| update(i, 2)).collect();
        let large: Vec<_> = (0..100).map(|i| update(i, 13)).collect();
        let (c, s, l) = (share(&p, &creates), share(&p, &small), share(&p, &large));
        println!(
            "bytes per record-set change: create {c}, 2-address update {s}, 13-address update {l}"
        );
        assert!(c * DEFAULT_BATCH_SIZE < MAX_UPDATE_MESSAGE, "{c}");
        assert!(s * DEFAULT_BATCH_SIZE < MAX_UPDATE_MESSAGE, "{s}");
        assert!(l * DEFAULT_BATCH_SIZE > MAX_UPDATE_MESSAGE, "{l}");
    }

    #[test]
    fn transfer_errors_are_clear_and_retryable() {
        let p = provider();
        for (e, words) in [
            (
                axfr::AxfrError::Incomplete {
                    messages: 3,
                    records: 150,
                },
                "closed the connection after 3 messages (150 records) of example.com., before the closing SOA",
            ),
            (axfr::AxfrError::Timeout, "no answer within"),
            (
                axfr::AxfrError::Rcode {
                    code: ResponseCode::ServFail,
                    tsig: None,
                },
                "SERVFAIL",
            ),
        ] {
            let err = p.axfr_error(e);
            let text = err.to_string();
            assert!(err.is_retryable(), "{text}");
            assert!(
                text.starts_with("rfc2136 127.0.0.1:53: unavailable: AXFR: "),
                "{text}"
            );
            assert!(text.contains(words), "{text}");
        }
        let err = p.axfr_error(axfr::AxfrError::Rcode {
            code: ResponseCode::Refused,
            tsig: None,
        });
        assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
        assert!(
            err.to_string().contains("to transfer example.com."),
            "{err}"
        );
    }

    #[test]
    fn list_limits_come_from_the_configuration() {
        let config = Rfc2136Config {
            server: "127.0.0.1:53".into(),
            tsig: None,
            timeout_seconds: None,
            batch_size: None,
            max_list_records: Some(7),
            max_list_bytes: Some(4096),
        };
        let p = Rfc2136Provider::from_config(n("example.com"), &config).unwrap();
        assert_eq!(
            p.list_limits,
            ListLimits {
                max_records: 7,
                max_bytes: 4096
            }
        );
        let defaults = Rfc2136Config {
            max_list_records: None,
            max_list_bytes: None,
            ..config
        };
        let p = Rfc2136Provider::from_config(n("example.com"), &defaults).unwrap();
        assert_eq!(
            p.list_limits,
            ListLimits {
                max_records: 10_000_000,
                max_bytes: 2 << 30
            }
        );
    }

    #[test]
    fn a_transfer_over_the_limits_names_the_limit() {
        let p = provider();
        for (exceeded, words) in [
            (
                axfr::Exceeded::Records(1000),
                "past 1000 records, the limit of one listing (provider.maxListRecords)",
            ),
            (
                axfr::Exceeded::Bytes(2 << 30),
                "past 2 GiB, the limit of one listing (provider.maxListBytes)",
            ),
        ] {
            let err = p.axfr_error(axfr::AxfrError::TooLarge(exceeded));
            assert!(!err.is_retryable(), "{err}");
            let text = err.to_string();
            assert!(
                text.starts_with(
                    "rfc2136 127.0.0.1:53: invalid: AXFR: the transfer of example.com. goes on "
                ),
                "{text}"
            );
            assert!(text.contains(words), "{text}");
        }
    }

    #[test]
    fn splits_at_group_boundaries_by_size() {
        let p = provider();
        let batch: Vec<_> = (0..300).map(|i| update(i, 13)).collect();
        let messages = p.update_messages(&batch).unwrap();
        assert!(messages.len() >= 3, "{}", messages.len());
        let mut next = 0;
        for (range, message) in &messages {
            assert_eq!(range.start, next);
            next = range.end;
            let len = encoded_len(message).unwrap();
            assert!(len <= MAX_UPDATE_MESSAGE, "{len}");
            assert_eq!(
                len,
                encoded_len(&p.update_message(&batch[range.clone()])).unwrap()
            );
        }
        assert_eq!(next, batch.len());
        // Small batches stay one message.
        let small: Vec<_> = (0..DEFAULT_BATCH_SIZE / 2).map(|i| create(i, 1)).collect();
        assert_eq!(p.update_messages(&small).unwrap().len(), 1);
    }

    #[test]
    fn a_group_too_large_for_one_message_is_invalid() {
        let p = provider();
        let mut batch: Vec<_> = (0..3).map(|i| create(i, 1)).collect();
        batch.push(create(99, 5000));
        let err = p.update_messages(&batch).unwrap_err();
        assert!(matches!(err, ProviderError::Invalid { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("nginx99.default.fed.svc.example.com"),
            "{err}"
        );
    }
}
