//! Why a name holds what it holds.

use fedsvc_model::{DnsName, RecordSet};

use crate::level::Level;

/// The reasons behind one name of the plan, for `fedsvc plan --explain` and `fedsvc status`.
///
/// For an address name, the reasons list the shards (clusters) that contributed and those left
/// out; for a CNAME they say why the level has no healthy shard, for example
/// `no healthy shard in zone us-central1-f: cluster gce-us-central1-f has 0 ready endpoints`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The name explained.
    pub name: DnsName,
    /// Its level.
    #[serde(flatten)]
    pub level: Level,
    /// The records planned at the name (none for a global name without healthy shards).
    pub records: Vec<RecordSet>,
    /// One line per reason, in reading order.
    pub reasons: Vec<String>,
}

impl Explanation {
    /// The explanation for a service that could not be planned: its name prefix (`S.N.F.svc.`
    /// without a suffix, as far as it can be a name) and the reason.
    pub(crate) fn unplanned(prefix: &str, reason: String) -> Self {
        let name = DnsName::parse(prefix)
            .unwrap_or_else(|_| DnsName::parse("invalid.").expect("a valid constant name"));
        Self {
            name,
            level: Level::Global,
            records: Vec::new(),
            reasons: vec![reason],
        }
    }
}
