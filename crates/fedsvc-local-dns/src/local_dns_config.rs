//! What the responder answers for: cluster domain, federations, locality, TTL.

use fedsvc_dns_plan::SVC_LABEL;
use fedsvc_model::{DnsName, Label};

use crate::error::LocalDnsError;
use crate::federation_spec::FederationSpec;

/// The default TTL of the answers, in seconds: short, since local health changes fast.
pub const DEFAULT_TTL: u32 = 5;

/// The default cluster domain.
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local.";

/// The validated configuration of a [`Responder`](crate::Responder).
///
/// ```
/// use fedsvc_local_dns::{FederationSpec, LocalDnsConfig};
/// use fedsvc_model::{Label, LabelRules};
/// let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").unwrap();
/// let config = LocalDnsConfig::new(l("us-central1-f"), l("us-central1"))
///     .with_federation("myfederation=example.com".parse::<FederationSpec>().unwrap())
///     .with_ttl(5);
/// config.validate().unwrap();
/// assert_eq!(config.zone_apexes()[0].as_str(), "myfederation.svc.cluster.local.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDnsConfig {
    /// The cluster domain (`cluster.local.`).
    pub cluster_domain: DnsName,
    /// The federations answered for; each one makes the responder authoritative for
    /// `F.svc.<cluster domain>`.
    pub federations: Vec<FederationSpec>,
    /// This cluster's zone (where the pods asking are).
    pub zone: Label,
    /// This cluster's region.
    pub region: Label,
    /// TTL of the CNAME answers and of negative answers (SOA minimum), in seconds.
    pub ttl: u32,
}

impl LocalDnsConfig {
    /// A configuration in `cluster.local.` for a cluster in `zone` of `region`, with no
    /// federation yet and the [`DEFAULT_TTL`].
    #[must_use]
    pub fn new(zone: Label, region: Label) -> Self {
        Self {
            cluster_domain: DnsName::parse(DEFAULT_CLUSTER_DOMAIN).expect("a valid constant"),
            federations: Vec::new(),
            zone,
            region,
            ttl: DEFAULT_TTL,
        }
    }

    /// Adds a federation (one of the same name is replaced).
    #[must_use]
    pub fn with_federation(mut self, federation: FederationSpec) -> Self {
        self.federations.retain(|f| f.name != federation.name);
        self.federations.push(federation);
        self
    }

    /// Sets the cluster domain.
    #[must_use]
    pub fn with_cluster_domain(mut self, cluster_domain: DnsName) -> Self {
        self.cluster_domain = cluster_domain;
        self
    }

    /// Sets the TTL in seconds.
    #[must_use]
    pub fn with_ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// Checks that there is at least one federation, that no two share a name, that every
    /// zone apex is a valid name, and that the TTL fits a DNS record (≤ 2³¹ − 1).
    pub fn validate(&self) -> Result<(), LocalDnsError> {
        if self.federations.is_empty() {
            return Err(LocalDnsError::Config(
                "no federation configured; give at least one NAME=SUFFIX".into(),
            ));
        }
        for (i, f) in self.federations.iter().enumerate() {
            if self.federations[..i].iter().any(|g| g.name == f.name) {
                return Err(LocalDnsError::Config(format!(
                    "federation {} is given twice",
                    f.name
                )));
            }
            self.apex_of(f)?;
        }
        if self.ttl > i32::MAX as u32 {
            return Err(LocalDnsError::Config(format!(
                "TTL {} is above 2147483647",
                self.ttl
            )));
        }
        Ok(())
    }

    /// The zones the responder is authoritative for: `F.svc.<cluster domain>` for each
    /// federation, in configuration order.
    #[must_use]
    pub fn zone_apexes(&self) -> Vec<DnsName> {
        self.federations
            .iter()
            .filter_map(|f| self.apex_of(f).ok())
            .collect()
    }

    fn apex_of(&self, f: &FederationSpec) -> Result<DnsName, LocalDnsError> {
        self.cluster_domain
            .prepend_str(SVC_LABEL)
            .and_then(|n| n.prepend(&f.name))
            .map_err(|source| LocalDnsError::InvalidName {
                what: "federation zone",
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use fedsvc_model::LabelRules;

    use super::*;

    fn l(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "label").unwrap()
    }

    #[test]
    fn validation() {
        let base = LocalDnsConfig::new(l("z"), l("r"));
        assert!(matches!(base.validate(), Err(LocalDnsError::Config(_))));
        let one = base.with_federation("f=example.com".parse().unwrap());
        one.validate().unwrap();
        let mut twice = one.clone();
        twice
            .federations
            .push("f=example.org".parse::<FederationSpec>().unwrap());
        assert!(matches!(twice.validate(), Err(LocalDnsError::Config(m)) if m.contains("twice")));
        let replaced = one
            .clone()
            .with_federation("f=example.org".parse().unwrap());
        assert_eq!(replaced.federations.len(), 1);
        assert!(matches!(
            one.with_ttl(u32::MAX).validate(),
            Err(LocalDnsError::Config(_))
        ));
    }

    #[test]
    fn apexes_follow_the_cluster_domain() {
        let c = LocalDnsConfig::new(l("z"), l("r"))
            .with_cluster_domain(DnsName::parse("k8s.internal").unwrap())
            .with_federation("a=example.com".parse().unwrap())
            .with_federation("b=example.org".parse().unwrap());
        let apexes: Vec<String> = c.zone_apexes().iter().map(ToString::to_string).collect();
        assert_eq!(apexes, ["a.svc.k8s.internal.", "b.svc.k8s.internal."]);
    }
}
