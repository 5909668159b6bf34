//! A standby replica writes no member: when a `Cluster` is deleted, only the leader deletes
//! the services fedsvc made there (the Kubernetes API emulator as the federation API, a
//! simulated member, the memory DNS provider, and a Lease held by another replica).

use std::sync::Arc;
use std::time::Duration;

mod common;

use fedsvc_cluster::MemberCluster;
use fedsvc_emulator::ApiServer;
use fedsvc_model::{Label, LabelRules};
use fedsvc_providers::MemoryProvider;
use k8s_openapi::api::core::v1::Service;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_leaves_the_services_of_an_unjoined_member_to_the_leader() {
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    let member = common::member(
        "gce-us-central1-a",
        "us-central1-a",
        "us-central1",
        [10, 1, 0, 1],
    );
    common::register(&host, std::slice::from_ref(&member));

    // The federated service, and its copy in the member, made by the leader.
    host.create(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}}),
    )
    .unwrap();
    let svc = host
        .create(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "nginx", "namespace": "mynamespace"},
            "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}]},
        }))
        .unwrap();
    let svc: Service = serde_json::from_value(svc).unwrap();
    let federation = Label::parse("myfederation", LabelRules::Rfc1123, "federation").unwrap();
    member.ensure_service(&svc, &federation).await.unwrap();
    assert!(member.service("mynamespace", "nginx").is_some());

    // Another replica holds the Lease, for long.
    host.create(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fedsvc-system"}}),
    )
    .unwrap();
    let now = k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    host.create(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "fedsvc-controller", "namespace": "fedsvc-system"},
        "spec": {"holderIdentity": "the-leader", "leaseDurationSeconds": 3600,
                 "acquireTime": now, "renewTime": now, "leaseTransitions": 0},
    }))
    .unwrap();

    let mut config = common::config();
    config.leader_election.enabled = true;
    config.leader_election.identity = Some("the-standby".into());
    let running = common::start_over(
        &config,
        &host,
        std::slice::from_ref(&member),
        Arc::new(MemoryProvider::new("example.com".parse().unwrap())),
    )
    .await;

    // The standby has seen the member and the service, then the Cluster goes.
    for _ in 0..400 {
        if running.shared.metrics.encode().contains("fedsvc_leader 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    host.delete("fedsvc.io/v1alpha1", "Cluster", "", "gce-us-central1-a")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert!(
        member.service("mynamespace", "nginx").is_some(),
        "a standby deleted the service of an unjoined member"
    );
    assert!(running.shared.metrics.encode().contains("fedsvc_leader 0"));
    running.shutdown(Duration::from_secs(5)).await;
}
