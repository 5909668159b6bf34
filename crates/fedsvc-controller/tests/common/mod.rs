//! What the controller's end-to-end tests share: four simulated members in two regions, their
//! `Cluster` objects on the federation API, and a controller's configuration and start.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::{MemberCluster, SimMember};
use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::StaticMembers;
use fedsvc_emulator::ApiServer;
use fedsvc_model::ClusterName;
use fedsvc_providers::DnsProvider;
use serde_json::json;

/// The tests' controller configuration: federation `myfederation` under `example.com` with the
/// memory provider, no leader election, a free port, probes every 100 ms (500 ms timeout), DNS
/// synced 20 ms after a change.
pub(crate) fn config() -> ControllerConfig {
    let dns_config =
        fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")
            .unwrap();
    let mut config = ControllerConfig::new("myfederation", "example.com", dns_config);
    config.leader_election.enabled = false;
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.health.period = Duration::from_millis(100);
    config.health.timeout = Duration::from_millis(500);
    config.sync.coalesce = Duration::from_millis(20);
    config
}

/// Starts a controller with `config` on the federation API `host`, over `members` (given in
/// advance: their Secrets are not read), writing DNS to `provider`.
pub(crate) async fn start_over(
    config: &ControllerConfig,
    host: &ApiServer,
    members: &[SimMember],
    provider: Arc<dyn DnsProvider>,
) -> Running {
    let mut factory = StaticMembers::default();
    for m in members {
        factory.insert(Arc::new(m.clone()));
    }
    start(
        config,
        Parts {
            host: host.client(),
            members: Arc::new(factory),
            provider: Some(provider),
            resolver: None,
        },
    )
    .await
    .unwrap()
}

/// A simulated member in one zone whose cloud hands out load-balancer addresses from `first`
/// and whose services start with 2 ready endpoints.
pub(crate) fn member(name: &str, zone: &str, region: &str, first: [u8; 4]) -> SimMember {
    SimMember::new(ClusterName::parse(name).unwrap(), &[zone], region)
        .with_auto_ingress(Ipv4Addr::from(first))
        .with_auto_endpoints(2)
}

/// us-central1-a, us-central1-b, europe-west1-b and europe-west1-c, in that order.
pub(crate) fn members() -> Vec<SimMember> {
    vec![
        member(
            "gce-us-central1-a",
            "us-central1-a",
            "us-central1",
            [10, 1, 0, 1],
        ),
        member(
            "gce-us-central1-b",
            "us-central1-b",
            "us-central1",
            [10, 2, 0, 1],
        ),
        member(
            "gce-europe-west1-b",
            "europe-west1-b",
            "europe-west1",
            [10, 3, 0, 1],
        ),
        member(
            "gce-europe-west1-c",
            "europe-west1-c",
            "europe-west1",
            [10, 4, 0, 1],
        ),
    ]
}

/// Registers each member as a `Cluster` on `host` (its Secret is not read by the tests'
/// static member factory).
pub(crate) fn register(host: &ApiServer, members: &[SimMember]) {
    for m in members {
        host.create(json!({
            "apiVersion": "fedsvc.io/v1alpha1", "kind": "Cluster",
            "metadata": {"name": m.name().as_str()},
            "spec": {"secretRef": {"name": format!("{}-kubeconfig", m.name())}},
        }))
        .unwrap();
    }
}
