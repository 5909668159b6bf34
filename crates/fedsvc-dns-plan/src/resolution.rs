//! The outcome of resolving a name against a list of record sets.

use std::net::IpAddr;

use fedsvc_model::{DnsName, RecordSet, RecordType};

use crate::record_index::RecordIndex;

/// The most CNAME hops followed before giving up.
pub const MAX_CHAIN_LEN: usize = 16;

/// One CNAME followed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hop {
    /// The alias.
    pub name: DnsName,
    /// What it points at.
    pub target: DnsName,
    /// The CNAME's TTL.
    pub ttl: u32,
}

/// How a resolution ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum Answer {
    /// The final name holds a set of the asked type.
    Records(RecordSet),
    /// The final name exists (it holds other types, or has names below it) but has no set of
    /// the asked type.
    NoData {
        /// The final name.
        name: DnsName,
    },
    /// The final name does not exist.
    NxDomain {
        /// The final name.
        name: DnsName,
    },
    /// The CNAME chain comes back to a name it passed.
    Loop {
        /// The name seen twice.
        name: DnsName,
    },
    /// The chain is longer than [`MAX_CHAIN_LEN`].
    ChainTooLong {
        /// The limit.
        limit: usize,
    },
}

/// What a stub resolver would get for a query against a list of record sets: the CNAME hops
/// and the final answer.
///
/// Asking for `CNAME` returns the CNAME itself without following it.
///
/// ```
/// use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
/// use fedsvc_dns_plan::{resolve, Answer};
/// let n = |s: &str| DnsName::parse(s).unwrap();
/// let records = vec![
///     RecordSet::cname(n("z.example.com"), 60, n("r.example.com")),
///     RecordSet::new(n("r.example.com"), RecordType::A, 60,
///                    vec![RData::parse(&RecordType::A, "10.0.0.1").unwrap()]).unwrap(),
/// ];
/// let r = resolve(&records, &n("z.example.com"), &RecordType::A);
/// assert_eq!(r.chain.len(), 1);
/// assert_eq!(r.addresses(), vec!["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]);
/// assert!(matches!(resolve(&records, &n("x.example.com"), &RecordType::A).answer,
///                  Answer::NxDomain { .. }));
/// // example.com. holds nothing but has names below it: NODATA, not NXDOMAIN.
/// assert!(matches!(resolve(&records, &n("example.com"), &RecordType::A).answer,
///                  Answer::NoData { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resolution {
    /// The name asked for.
    pub query: DnsName,
    /// The type asked for.
    pub rtype: RecordType,
    /// The CNAMEs followed, in order.
    pub chain: Vec<Hop>,
    /// How it ended.
    pub answer: Answer,
}

impl Resolution {
    /// The addresses of the answer (empty unless it ended in A or AAAA records).
    pub fn addresses(&self) -> Vec<IpAddr> {
        match &self.answer {
            Answer::Records(rs) => rs.data().iter().filter_map(|d| d.ip()).collect(),
            _ => Vec::new(),
        }
    }

    /// The name the chain ended at.
    pub fn final_name(&self) -> &DnsName {
        self.chain.last().map_or(&self.query, |h| &h.target)
    }

    /// Whether the answer is NXDOMAIN.
    pub fn is_nxdomain(&self) -> bool {
        matches!(self.answer, Answer::NxDomain { .. })
    }
}

/// Resolves `name` for `rtype` against `records` (builds a [`RecordIndex`]; use the index
/// directly for many lookups).
pub fn resolve(records: &[RecordSet], name: &DnsName, rtype: &RecordType) -> Resolution {
    RecordIndex::new(records).resolve(name, rtype)
}
