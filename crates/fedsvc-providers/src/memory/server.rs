//! The embedded authoritative DNS server of the memory backend.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use fedsvc_model::{DnsName, RecordSet};
use hickory_proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{self as hrr, Name, Record};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::task::JoinHandle;

use crate::hickory_conv::{to_name, to_records};

const SYNTH_TTL: u32 = 60;

/// What the server answers from; replaced whole on every change.
#[derive(Debug)]
struct ServedZone {
    origin_key: String,
    soa: Record,
    ns: Vec<Record>,
    /// Lower-case absolute owner name → type → records.
    names: BTreeMap<String, BTreeMap<hrr::RecordType, Vec<Record>>>,
}

impl ServedZone {
    fn build<'a>(zone: &DnsName, serial: u32, sets: impl Iterator<Item = &'a RecordSet>) -> Self {
        let origin = to_name(zone);
        let ns_name = Name::from_ascii(format!("ns.{}", zone.as_str())).unwrap_or(origin.clone());
        let rname =
            Name::from_ascii(format!("hostmaster.{}", zone.as_str())).unwrap_or(origin.clone());
        let soa = Record::from_rdata(
            origin.clone(),
            SYNTH_TTL,
            hrr::RData::SOA(SOA::new(
                ns_name.clone(),
                rname,
                serial,
                3600,
                600,
                86400,
                SYNTH_TTL,
            )),
        );
        let ns = vec![Record::from_rdata(
            origin.clone(),
            SYNTH_TTL,
            hrr::RData::NS(NS(ns_name)),
        )];
        let mut names: BTreeMap<String, BTreeMap<hrr::RecordType, Vec<Record>>> = BTreeMap::new();
        for rs in sets {
            for r in to_records(rs) {
                names
                    .entry(rs.name().as_str().to_owned())
                    .or_default()
                    .entry(r.record_type())
                    .or_default()
                    .push(r);
            }
        }
        let apex = names.entry(zone.as_str().to_owned()).or_default();
        apex.insert(hrr::RecordType::SOA, vec![soa.clone()]);
        apex.entry(hrr::RecordType::NS)
            .or_insert_with(|| ns.clone());
        ServedZone {
            origin_key: zone.as_str().to_owned(),
            soa,
            ns,
            names,
        }
    }

    /// Whether `name` exists: it owns records or some name below it does (empty non-terminal).
    fn exists(&self, name: &str) -> bool {
        if self.names.contains_key(name) {
            return true;
        }
        let suffix = format!(".{name}");
        self.names
            .keys()
            .any(|k| k.len() > suffix.len() && k.ends_with(&suffix))
    }

    /// Answers a query: (rcode, answers, include SOA in authority).
    fn answer(&self, qname: &str, qtype: hrr::RecordType) -> Answer {
        let in_zone = qname == self.origin_key || qname.ends_with(&format!(".{}", self.origin_key));
        if !in_zone {
            return Answer::refused();
        }
        let mut answers = Vec::new();
        let mut name = qname.to_owned();
        // Follow CNAMEs inside the zone (at most 8 steps), as an authoritative server does.
        for _ in 0..8 {
            let Some(types) = self.names.get(&name) else {
                let code = if answers.is_empty() && !self.exists(&name) {
                    ResponseCode::NXDomain
                } else {
                    ResponseCode::NoError
                };
                return Answer {
                    code,
                    answers,
                    soa: true,
                };
            };
            if qtype == hrr::RecordType::ANY {
                answers.extend(types.values().flatten().cloned());
                return Answer::found(answers);
            }
            if let Some(rs) = types.get(&qtype) {
                answers.extend(rs.iter().cloned());
                return Answer::found(answers);
            }
            match types.get(&hrr::RecordType::CNAME).and_then(|c| c.first()) {
                Some(cname) => {
                    answers.push(cname.clone());
                    let hrr::RData::CNAME(target) = &cname.data else {
                        break;
                    };
                    let target = target.0.to_ascii().to_ascii_lowercase();
                    let inside = target == self.origin_key
                        || target.ends_with(&format!(".{}", self.origin_key));
                    if !inside {
                        return Answer::found(answers);
                    }
                    name = target;
                }
                None => break,
            }
        }
        Answer {
            code: ResponseCode::NoError,
            soa: answers.is_empty() || !answers.iter().any(|r| r.record_type() == qtype),
            answers,
        }
    }
}

struct Answer {
    code: ResponseCode,
    answers: Vec<Record>,
    soa: bool,
}

impl Answer {
    fn refused() -> Self {
        Answer {
            code: ResponseCode::Refused,
            answers: Vec::new(),
            soa: false,
        }
    }
    fn found(answers: Vec<Record>) -> Self {
        Answer {
            code: ResponseCode::NoError,
            answers,
            soa: false,
        }
    }
}

/// The request handler: reads the current zone snapshot for every query.
struct Handler {
    current: Arc<RwLock<Arc<ServedZone>>>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let zone = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = false;
        let builder = MessageResponseBuilder::from_message_request(request);
        let queries = request.queries.queries();
        let fallback = ResponseInfo::from(Header {
            metadata,
            counts: HeaderCounts::default(),
        });
        let (answer, ok_opcode) = match (queries, request.metadata.op_code) {
            ([q], hickory_proto::op::OpCode::Query) if q.query_type() == hrr::RecordType::AXFR => {
                let qname = q.name().to_string().to_ascii_lowercase();
                let whole_zone =
                    qname.trim_end_matches('.') == zone.origin_key.trim_end_matches('.');
                if whole_zone && request.protocol() == hickory_server::net::xfer::Protocol::Tcp {
                    return transfer(&zone, request, metadata, response_handle, fallback).await;
                }
                (Answer::refused(), true)
            }
            ([q], hickory_proto::op::OpCode::Query) => {
                let qname = q.name().to_string().to_ascii_lowercase();
                let qname = if qname.ends_with('.') {
                    qname
                } else {
                    format!("{qname}.")
                };
                (zone.answer(&qname, q.query_type()), true)
            }
            _ => (Answer::refused(), false),
        };
        metadata.response_code = if ok_opcode {
            answer.code
        } else {
            ResponseCode::NotImp
        };
        metadata.authoritative = answer.code != ResponseCode::Refused;
        let soa: Vec<&Record> = if answer.soa {
            vec![&zone.soa]
        } else {
            Vec::new()
        };
        let ns: Vec<&Record> = if answer.code == ResponseCode::NoError && !answer.soa {
            zone.ns.iter().collect()
        } else {
            Vec::new()
        };
        let response = builder.build(metadata, answer.answers.iter(), ns, soa, std::iter::empty());
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, "embedded DNS server could not send a response");
                fallback
            }
        }
    }
}

/// Records per message of a zone transfer: well inside a TCP message's 64 KiB.
const TRANSFER_CHUNK: usize = 200;

/// Answers an AXFR (over TCP) with the whole zone: its SOA, every record, the SOA again, in
/// messages of at most [`TRANSFER_CHUNK`] records, as `fedsvc records` and `dig AXFR` read it.
async fn transfer<R: ResponseHandler>(
    zone: &ServedZone,
    request: &Request,
    mut metadata: Metadata,
    mut response_handle: R,
    fallback: ResponseInfo,
) -> ResponseInfo {
    metadata.response_code = ResponseCode::NoError;
    metadata.authoritative = true;
    let mut all: Vec<&Record> = vec![&zone.soa];
    all.extend(
        zone.names
            .values()
            .flat_map(|types| types.iter())
            .filter(|(t, _)| **t != hrr::RecordType::SOA)
            .flat_map(|(_, records)| records.iter()),
    );
    all.push(&zone.soa);
    let mut info = fallback;
    for chunk in all.chunks(TRANSFER_CHUNK) {
        let builder = MessageResponseBuilder::from_message_request(request);
        let response = builder.build(
            metadata,
            chunk.iter().copied(),
            std::iter::empty(),
            std::iter::empty(),
            std::iter::empty(),
        );
        match response_handle.send_response(response).await {
            Ok(sent) => info = sent,
            Err(e) => {
                tracing::debug!(error = %e, "embedded DNS server could not send a transfer");
                break;
            }
        }
    }
    info
}

/// A running embedded server; stops when dropped.
#[derive(Debug)]
pub(crate) struct EmbeddedServer {
    zone: DnsName,
    addr: SocketAddr,
    serial: std::sync::atomic::AtomicU32,
    current: Arc<RwLock<Arc<ServedZone>>>,
    task: JoinHandle<()>,
}

impl EmbeddedServer {
    pub(crate) async fn start(zone: &DnsName, listen: SocketAddr) -> std::io::Result<Self> {
        let current = Arc::new(RwLock::new(Arc::new(ServedZone::build(
            zone,
            1,
            std::iter::empty(),
        ))));
        let handler = Handler {
            current: current.clone(),
        };
        let (mut server, addr) = crate::serve::udp_and_tcp(listen, handler).await?;
        let task = tokio::spawn(async move {
            if let Err(e) = server.block_until_done().await {
                tracing::warn!(error = %e, "embedded DNS server stopped");
            }
        });
        tracing::info!(%addr, zone = %zone, "embedded DNS server listening (UDP and TCP)");
        Ok(EmbeddedServer {
            zone: zone.clone(),
            addr,
            serial: std::sync::atomic::AtomicU32::new(1),
            current,
            task,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the served content with `sets` in one step.
    pub(crate) fn publish<'a>(&self, sets: impl Iterator<Item = &'a RecordSet>) {
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            .wrapping_add(1);
        let next = Arc::new(ServedZone::build(&self.zone, serial, sets));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next;
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
