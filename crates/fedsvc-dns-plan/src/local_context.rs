//! What a cluster-local DNS server knows when it answers federated names.

use std::collections::BTreeMap;
use std::fmt;

use fedsvc_model::{DnsName, Label, ServiceKey, ZoneNaming};

/// A federation as the cluster-local DNS server knows it (kube-dns `--federations=F=D`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederationDomain {
    /// The federation's DNS suffix.
    pub dns_suffix: DnsName,
    /// How its zone names are built.
    pub zone_naming: ZoneNaming,
}

/// The cluster-local view used by [`local_answer`](crate::local_answer): the cluster domain,
/// the federations known, where this cluster is, and whether a service has a healthy local
/// shard.
///
/// The local lookup is a plain function (a closure over a set, or over the cluster's
/// informer cache), so answering stays pure.
///
/// ```
/// use std::collections::BTreeSet;
/// use fedsvc_model::{DnsName, Label, LabelRules, ServiceKey, ZoneNaming};
/// use fedsvc_dns_plan::LocalContext;
/// let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").unwrap();
/// let ready: BTreeSet<ServiceKey> = BTreeSet::new();
/// let lookup = |k: &ServiceKey| ready.contains(k);
/// let ctx = LocalContext::new(l("us-central1-f"), l("us-central1"), &lookup)
///     .with_federation(l("myfederation"), DnsName::parse("example.com").unwrap(), ZoneNaming::Zone);
/// assert_eq!(ctx.cluster_domain.as_str(), "cluster.local.");
/// ```
pub struct LocalContext<'a> {
    /// The cluster domain (`cluster.local.`).
    pub cluster_domain: DnsName,
    /// The federations this cluster serves names for, by name.
    pub federations: BTreeMap<Label, FederationDomain>,
    /// This cluster's zone (the pod's zone).
    pub zone: Label,
    /// This cluster's region.
    pub region: Label,
    /// Whether service `N/S` exists in this cluster with at least one ready endpoint.
    pub local_service_ready: &'a dyn Fn(&ServiceKey) -> bool,
}

impl<'a> LocalContext<'a> {
    /// A context in `cluster.local.` for a cluster in `zone` of `region`, with no federation
    /// yet.
    pub fn new(
        zone: Label,
        region: Label,
        local_service_ready: &'a dyn Fn(&ServiceKey) -> bool,
    ) -> Self {
        Self {
            cluster_domain: DnsName::parse("cluster.local.").expect("a valid constant name"),
            federations: BTreeMap::new(),
            zone,
            region,
            local_service_ready,
        }
    }

    /// Adds (or replaces) a federation.
    #[must_use]
    pub fn with_federation(
        mut self,
        name: Label,
        dns_suffix: DnsName,
        zone_naming: ZoneNaming,
    ) -> Self {
        self.federations.insert(
            name,
            FederationDomain {
                dns_suffix,
                zone_naming,
            },
        );
        self
    }

    /// Sets the cluster domain.
    #[must_use]
    pub fn with_cluster_domain(mut self, cluster_domain: DnsName) -> Self {
        self.cluster_domain = cluster_domain;
        self
    }
}

impl fmt::Debug for LocalContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalContext")
            .field("cluster_domain", &self.cluster_domain)
            .field("federations", &self.federations)
            .field("zone", &self.zone)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}
