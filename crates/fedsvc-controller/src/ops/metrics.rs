//! Prometheus metrics of the controller.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels naming a DNS provider.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    /// The provider's name (kind and address).
    pub provider: String,
}

/// Labels naming a member cluster.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    /// The cluster's name.
    pub cluster: String,
}

/// Labels naming a federated service.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    /// `namespace/name`.
    pub service: String,
}

/// Labels naming a reconciler.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcilerLabels {
    /// `dns`, `service` or `cluster`.
    pub reconciler: String,
}

/// Every metric the controller exports, registered under the `fedsvc` prefix.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Seconds spent per reconcile pass.
    pub reconcile_duration: Family<ReconcilerLabels, Histogram>,
    /// Record sets written (deleted, updated or created).
    pub dns_changes: Family<ProviderLabels, Counter>,
    /// Provider write calls.
    pub dns_writes: Family<ProviderLabels, Counter>,
    /// Zone listings.
    pub dns_lists: Family<ProviderLabels, Counter>,
    /// Failed syncs.
    pub dns_errors: Family<ProviderLabels, Counter>,
    /// Names left alone because records there are not ours.
    pub dns_conflicts: Gauge,
    /// 1 for a Ready cluster, 0 otherwise.
    pub cluster_ready: Family<ClusterLabels, Gauge>,
    /// Healthy shards per service.
    pub healthy_shards: Family<ServiceLabels, Gauge>,
    /// 1 while DNS is held as last applied because every cluster is down.
    pub fail_static: Gauge,
    /// Unix time of the last successful DNS sync.
    pub last_sync: Gauge,
    /// 1 while this replica is the leader.
    pub leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("fedsvc");
        let reconcile_duration =
            Family::<ReconcilerLabels, Histogram>::new_with_constructor(|| {
                Histogram::new([
                    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
            });
        let m = Self {
            reconcile_duration,
            dns_changes: Family::default(),
            dns_writes: Family::default(),
            dns_lists: Family::default(),
            dns_errors: Family::default(),
            dns_conflicts: Gauge::default(),
            cluster_ready: Family::default(),
            healthy_shards: Family::default(),
            fail_static: Gauge::default(),
            last_sync: Gauge::default(),
            leader: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile pass",
            m.reconcile_duration.clone(),
        );
        registry.register(
            "dns_record_changes",
            "DNS record sets deleted, updated or created",
            m.dns_changes.clone(),
        );
        registry.register(
            "dns_write_calls",
            "DNS provider write calls",
            m.dns_writes.clone(),
        );
        registry.register("dns_list_calls", "DNS zone listings", m.dns_lists.clone());
        registry.register("dns_sync_errors", "Failed DNS syncs", m.dns_errors.clone());
        registry.register(
            "dns_conflicts",
            "Names left alone because records there are not owned by this controller",
            m.dns_conflicts.clone(),
        );
        registry.register(
            "cluster_ready",
            "1 when the member cluster is Ready",
            m.cluster_ready.clone(),
        );
        registry.register(
            "healthy_shards",
            "Healthy shards of a federated service",
            m.healthy_shards.clone(),
        );
        registry.register(
            "dns_fail_static",
            "1 while DNS is held as last applied because every cluster looks down",
            m.fail_static.clone(),
        );
        registry.register(
            "dns_last_sync_timestamp_seconds",
            "Unix time of the last successful DNS sync",
            m.last_sync.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica is the leader",
            m.leader.clone(),
        );
        Self { registry, ..m }
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_what_it_counts() {
        let m = Metrics::new();
        let p = ProviderLabels {
            provider: "memory".into(),
        };
        m.dns_writes.get_or_create(&p).inc();
        m.fail_static.set(1);
        m.reconcile_duration
            .get_or_create(&ReconcilerLabels {
                reconciler: "dns".into(),
            })
            .observe(0.02);
        let text = m.encode();
        assert!(
            text.contains("fedsvc_dns_write_calls_total{provider=\"memory\"} 1"),
            "{text}"
        );
        assert!(text.contains("fedsvc_dns_fail_static 1"), "{text}");
        assert!(
            text.contains(
                "fedsvc_reconcile_duration_seconds_bucket{le=\"0.05\",reconciler=\"dns\"} 1"
            ),
            "{text}"
        );
    }
}
