//! What the controller's end-to-end tests share: four simulated members in two regions, and
//! their `Cluster` objects on the federation API.

use std::net::Ipv4Addr;

use fedsvc_cluster::{MemberCluster, SimMember};
use fedsvc_model::ClusterName;
use fedsvc_testkit::ApiServer;
use serde_json::json;

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
