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

/// A federated Deployment as the federation API server holds it: server metadata, a control
/// annotation, a status, and a pod template that references a ConfigMap and a Secret.
pub(crate) fn federated_deployment(
    namespace: &str,
    name: &str,
    replicas: u32,
) -> k8s_openapi::api::apps::v1::Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name},
            "annotations": {
                "fedsvc.io/replica-weights": "member-a=1",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
                "team": "shop",
            },
            "resourceVersion": "77",
            "generation": 4,
            "uid": "1d2f7a3e-0000-4000-8000-000000000002",
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "web",
                    "image": "nginx:1.27",
                    "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "mode"}}}],
                    "envFrom": [{"secretRef": {"name": "web-secret"}}],
                }]},
            },
        },
        "status": {"replicas": 12, "readyReplicas": 12, "observedGeneration": 4},
    }))
    .unwrap()
}

/// A ConfigMap of the federation API.
pub(crate) fn config_map(namespace: &str, name: &str, mode: &str) -> fedsvc_cluster::ConfigObject {
    fedsvc_cluster::ConfigObject::ConfigMap(
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": "9",
                "labels": {"app": "web"}},
            "data": {"mode": mode},
        }))
        .unwrap(),
    )
}

/// The password every test Secret holds; it must never show in an error or a Debug output.
pub(crate) const PASSWORD: &str = "correct-horse-battery-staple";

/// A Secret of the federation API holding [`PASSWORD`] and `user`.
pub(crate) fn secret(namespace: &str, name: &str, user: &str) -> fedsvc_cluster::ConfigObject {
    use k8s_openapi::ByteString;
    let mut s: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "uid": "u-3"},
        "type": "kubernetes.io/basic-auth",
    }))
    .unwrap();
    s.data = Some(
        [
            (
                "password".to_owned(),
                ByteString(PASSWORD.as_bytes().to_vec()),
            ),
            ("username".to_owned(), ByteString(user.as_bytes().to_vec())),
        ]
        .into(),
    );
    fedsvc_cluster::ConfigObject::Secret(s)
}

/// The next item of a member stream that is not an error, within 10 s.
pub(crate) async fn next_item<T>(
    stream: &mut BoxStream<'static, Result<T, fedsvc_cluster::MemberError>>,
) -> T {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(e))) => return e,
            Ok(Some(Err(e))) => eprintln!("watch error (retrying): {e}"),
            Ok(None) => panic!("the stream ended"),
            Err(_) => panic!("no event within 10 s"),
        }
    }
}

/// Waits for an item that satisfies `pred`.
pub(crate) async fn wait_item<T: std::fmt::Debug>(
    stream: &mut BoxStream<'static, Result<T, fedsvc_cluster::MemberError>>,
    pred: impl Fn(&T) -> bool,
) -> T {
    loop {
        let e = next_item(stream).await;
        if pred(&e) {
            return e;
        }
        eprintln!("skipping {e:?}");
    }
}
