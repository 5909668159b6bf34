//! The response to one query, before it is put on the wire.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, Record};

use crate::outcome::Outcome;

/// What the responder sends back for one question.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reply {
    /// The response code.
    pub code: ResponseCode,
    /// The answer section (the CNAME, possibly followed by the records of its target).
    pub answers: Vec<Record>,
    /// The authority section (the zone's SOA on negative answers).
    pub authority: Vec<Record>,
    /// Whether the AA bit is set (every answer from a served zone).
    pub authoritative: bool,
    /// How the query was classified.
    pub outcome: Outcome,
}

impl Reply {
    /// REFUSED, not authoritative, nothing else.
    #[must_use]
    pub fn refused() -> Self {
        Self {
            code: ResponseCode::Refused,
            answers: Vec::new(),
            authority: Vec::new(),
            authoritative: false,
            outcome: Outcome::NotOurs,
        }
    }

    /// The CNAME target, when the answer starts with a CNAME.
    #[must_use]
    pub fn cname_target(&self) -> Option<String> {
        self.answers.first().and_then(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii().to_ascii_lowercase()),
            _ => None,
        })
    }
}
