//! Federated services and their shards.

use std::net::IpAddr;

use crate::dns_name::DnsName;
use crate::names::{ClusterName, ServiceKey};

/// What one member cluster reports for one federated service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shard {
    /// The member cluster.
    pub cluster: ClusterName,
    /// Externally reachable addresses (load-balancer ingress IPs, `spec.externalIPs`, and
    /// addresses that load-balancer hostnames resolved to), sorted and unique.
    pub addresses: Vec<IpAddr>,
    /// Load-balancer ingress hostnames, sorted and unique.
    pub hostnames: Vec<DnsName>,
    /// How many ready endpoints the service has in that cluster.
    pub ready_endpoints: u32,
}

impl Shard {
    /// A shard; addresses and hostnames are sorted and deduplicated.
    pub fn new(
        cluster: ClusterName,
        mut addresses: Vec<IpAddr>,
        mut hostnames: Vec<DnsName>,
        ready_endpoints: u32,
    ) -> Self {
        addresses.sort();
        addresses.dedup();
        hostnames.sort();
        hostnames.dedup();
        Self {
            cluster,
            addresses,
            hostnames,
            ready_endpoints,
        }
    }
}

/// A federated service: its identity, optional TTL override and shards (at most one per
/// cluster, sorted by cluster name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Namespace and name.
    #[serde(flatten)]
    pub key: ServiceKey,
    /// TTL override for this service's records, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// The shards, sorted by cluster, one per cluster.
    pub shards: Vec<Shard>,
}

impl Service {
    /// A service; shards are sorted by cluster. Returns the name of a cluster that appears
    /// twice as the error.
    pub fn new(
        key: ServiceKey,
        ttl: Option<u32>,
        mut shards: Vec<Shard>,
    ) -> Result<Self, ClusterName> {
        shards.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        if let Some(w) = shards.windows(2).find(|w| w[0].cluster == w[1].cluster) {
            return Err(w[0].cluster.clone());
        }
        Ok(Self { key, ttl, shards })
    }

    /// The shard in `cluster`, if any.
    pub fn shard(&self, cluster: &ClusterName) -> Option<&Shard> {
        self.shards
            .binary_search_by(|s| s.cluster.cmp(cluster))
            .ok()
            .map(|i| &self.shards[i])
    }
}
