//! Shared helpers.

use std::time::Duration;

use fedsvc_cluster::{KubeMember, KubeMemberOptions, ShardEvent};
use fedsvc_emulator::ApiServer;
use fedsvc_model::{ClusterName, Label, LabelRules};
use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::Service;

pub(crate) fn federation() -> Label {
    Label::parse("myfederation", LabelRules::Rfc1123, "federation").unwrap()
}

/// A federated Service as the federation API server holds it (already defaulted there).
pub(crate) fn federated_service(namespace: &str, name: &str) -> Service {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name},
            "annotations": {"fedsvc.io/dns-ttl": "60"},
            "resourceVersion": "123",
            "uid": "1d2f7a3e-0000-4000-8000-000000000001",
        },
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerClass": "fedsvc.io/federated",
            "clusterIP": "10.0.0.99",
            "clusterIPs": ["10.0.0.99"],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 31111}],
            "externalTrafficPolicy": "Cluster",
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.1"}]}},
    }))
    .unwrap()
}

pub(crate) async fn member(server: &ApiServer) -> KubeMember {
    member_with(server, KubeMemberOptions::default()).await
}

/// A member with `options`, probes given up after 500 ms.
pub(crate) async fn member_with(server: &ApiServer, options: KubeMemberOptions) -> KubeMember {
    fedsvc_emulator::install_crypto_provider();
    KubeMember::from_kubeconfig_yaml(
        ClusterName::parse("member-a").unwrap(),
        &server.kubeconfig_yaml("member-a"),
        &options.probe_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap()
}

/// The next event that is not an error, within 10 s.
pub(crate) async fn next_event(
    stream: &mut BoxStream<'static, Result<ShardEvent, fedsvc_cluster::MemberError>>,
) -> ShardEvent {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(e))) => return e,
            Ok(Some(Err(e))) => eprintln!("watch error (retrying): {e}"),
            Ok(None) => panic!("the shard stream ended"),
            Err(_) => panic!("no shard event within 10 s"),
        }
    }
}

/// Waits for an observation that satisfies `pred`.
pub(crate) async fn wait_for(
    stream: &mut BoxStream<'static, Result<ShardEvent, fedsvc_cluster::MemberError>>,
    pred: impl Fn(&ShardEvent) -> bool,
) -> ShardEvent {
    loop {
        let e = next_event(stream).await;
        if pred(&e) {
            return e;
        }
    }
}
