//! The hickory-server request handler around a [`Responder`].

use std::sync::Arc;

use hickory_proto::op::{Edns, Header, HeaderCounts, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use crate::reply::Reply;
use crate::responder::Responder;
use crate::upstream::Upstream;

/// Puts a [`Responder`]'s replies on the wire, completing CNAMEs through the upstream.
pub(crate) struct Handler {
    pub(crate) responder: Arc<Responder>,
    pub(crate) upstream: Option<Arc<Upstream>>,
}

impl Handler {
    async fn reply(&self, request: &Request) -> Result<Reply, ResponseCode> {
        if request.metadata.op_code != OpCode::Query {
            return Err(ResponseCode::NotImp);
        }
        let [query] = request.queries.queries() else {
            return Err(ResponseCode::FormErr);
        };
        let qtype = query.query_type();
        let mut reply = self
            .responder
            .answer(query.original().name(), query.query_class(), qtype);
        let completes = !matches!(qtype, RecordType::CNAME | RecordType::ANY);
        let target = match reply.answers.first().map(|r| &r.data) {
            Some(RData::CNAME(target)) => Some(target.0.clone()),
            _ => None,
        };
        if let (Some(upstream), Some(target), true) = (&self.upstream, target, completes) {
            let more = upstream.complete(&target, qtype).await;
            reply.answers.extend(more);
        }
        tracing::debug!(
            src = %request.src(),
            qname = %query.name(),
            %qtype,
            outcome = %reply.outcome,
            target = reply.cname_target().unwrap_or_default(),
            "answered"
        );
        Ok(reply)
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut builder = MessageResponseBuilder::from_message_request(request);
        // RFC 6891: a request with OPT gets OPT back (version 0, our payload size).
        let edns = request.edns.as_ref().map(|req| {
            let mut edns = Edns::new();
            edns.set_max_payload(req.max_payload().max(512));
            edns.set_version(0);
            (edns, req.version())
        });
        if let Some((edns, _)) = &edns {
            builder.edns(edns);
        }
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = false;
        let fallback = ResponseInfo::from(Header {
            metadata,
            counts: HeaderCounts::default(),
        });
        let result = match edns {
            Some((_, version)) if version > 0 => Err(ResponseCode::BADVERS),
            _ => self.reply(request).await,
        };
        let sent = match result {
            Ok(reply) => {
                metadata.response_code = reply.code;
                metadata.authoritative = reply.authoritative;
                let none: [&Record; 0] = [];
                let response = builder.build(
                    metadata,
                    reply.answers.iter(),
                    none,
                    reply.authority.iter(),
                    std::iter::empty(),
                );
                response_handle.send_response(response).await
            }
            Err(code) => {
                let response = builder.error_msg(&request.metadata, code);
                response_handle.send_response(response).await
            }
        };
        match sent {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(error = %e, "could not send a DNS response");
                fallback
            }
        }
    }
}
