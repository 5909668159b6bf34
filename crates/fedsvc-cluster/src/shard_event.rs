//! What a member reports about the shards of federated services.

use std::net::IpAddr;

use fedsvc_model::{DnsName, ServiceKey};

/// The state of one of our services in one member, as last seen by the watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardObservation {
    /// The service.
    pub key: ServiceKey,
    /// The federation named by the service's `fedsvc.io/federation` label.
    pub federation: Option<String>,
    /// Externally reachable addresses: load-balancer ingress IPs and `spec.externalIPs`,
    /// sorted and unique.
    pub addresses: Vec<IpAddr>,
    /// Load-balancer ingress hostnames (AWS ELB style), sorted and unique; validated where
    /// they are read (one that is not a host name is left out, with a warning).
    pub hostnames: Vec<DnsName>,
    /// Endpoints whose `ready` condition is true or absent, summed over the service's
    /// EndpointSlices.
    pub ready_endpoints: u32,
}

impl ShardObservation {
    /// An observation of `key` carrying no federation label; `hostnames` are sorted and made
    /// unique.
    pub fn new(
        key: ServiceKey,
        addresses: Vec<IpAddr>,
        mut hostnames: Vec<DnsName>,
        ready_endpoints: u32,
    ) -> Self {
        hostnames.sort();
        hostnames.dedup();
        Self {
            key,
            federation: None,
            addresses,
            hostnames,
            ready_endpoints,
        }
    }
}

/// One change reported by [`MemberCluster::watch_shards`](crate::MemberCluster::watch_shards).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShardEvent {
    /// A service was seen for the first time, or something about it changed.
    Observed(ShardObservation),
    /// The service is gone from the member.
    Gone(ServiceKey),
    /// The initial listing is complete: every service of ours in the member has been
    /// reported. Sent once per stream.
    Synced,
}
