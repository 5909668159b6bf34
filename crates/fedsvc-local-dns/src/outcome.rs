//! Which kind of answer a query got, for logs, metrics and tests.

use std::fmt;

/// How the responder classified a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// `S.N.F.svc.<cluster domain>` with a healthy local shard: CNAME to
    /// `S.N.svc.<cluster domain>`.
    Local,
    /// `S.N.F.svc.<cluster domain>` without a healthy local shard: CNAME to the federated
    /// name of this cluster's zone.
    Federated,
    /// The apex `F.svc.<cluster domain>`: its SOA, or no data (NOERROR) for other types.
    ZoneApex,
    /// `N.F.svc.<cluster domain>`: exists (names below it do) but holds no data, so NOERROR
    /// with no answer.
    EmptyNonTerminal,
    /// Inside a federation zone but not a federated form (too many labels, or labels that
    /// cannot be a namespace or a service name): NXDOMAIN.
    NoSuchName,
    /// Outside every federation zone served, or not class IN: REFUSED.
    NotOurs,
}

impl Outcome {
    /// A short lower-case name (`local`, `federated`, `apex`, `ent`, `nxdomain`, `refused`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Federated => "federated",
            Self::ZoneApex => "apex",
            Self::EmptyNonTerminal => "ent",
            Self::NoSuchName => "nxdomain",
            Self::NotOurs => "refused",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
