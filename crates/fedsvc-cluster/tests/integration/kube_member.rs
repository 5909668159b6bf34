//! `KubeMember` against the API server emulator.

use std::net::IpAddr;
use std::time::Duration;

use fedsvc_cluster::{
    DeleteOutcome, EnsureOutcome, Health, KubeMemberOptions, LocalityOverride, MemberCluster,
    MemberError, ShardEvent,
};
use fedsvc_emulator::ApiServer;
use fedsvc_model::{DnsName, Label, LabelRules};
use futures::StreamExt;
use serde_json::json;

use crate::util::{federated_service, federation, member, member_with, next_event, wait_for};

#[tokio::test]
async fn creates_namespace_and_service_then_second_apply_changes_nothing() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    let fed = federated_service("shop", "nginx");
    let first = m.ensure_service(&fed, &federation()).await.unwrap();
    assert_eq!(first, EnsureOutcome::Created);
    let ns = server.get("v1", "Namespace", "", "shop").unwrap();
    assert_eq!(
        ns["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "fedsvc"
    );
    let live = server.get("v1", "Service", "shop", "nginx").unwrap();
    let spec = &live["spec"];
    // Server-defaulted and allocated, not copied from the federation.
    assert_ne!(spec["clusterIP"], "10.0.0.99");
    assert!(spec["clusterIP"].as_str().unwrap().starts_with("10.96."));
    assert_ne!(spec["ports"][0]["nodePort"], 31111);
    assert!(spec["ports"][0]["nodePort"].as_i64().unwrap() >= 30000);
    assert_eq!(spec["externalTrafficPolicy"], "Cluster");
    assert!(spec.get("loadBalancerClass").is_none());
    assert_eq!(
        live["metadata"]["labels"]["fedsvc.io/federation"],
        "myfederation"
    );
    assert_eq!(live["metadata"]["annotations"]["fedsvc.io/dns-ttl"], "60");
    assert_eq!(live["status"], json!({"loadBalancer": {}}));
    let rv = live["metadata"]["resourceVersion"].clone();

    for _ in 0..3 {
        let again = m.ensure_service(&fed, &federation()).await.unwrap();
        assert_eq!(again, EnsureOutcome::Unchanged);
    }
    let live2 = server.get("v1", "Service", "shop", "nginx").unwrap();
    assert_eq!(live2["metadata"]["resourceVersion"], rv);
    assert_eq!(live2["spec"], live["spec"]);
    let managers: Vec<&str> = live2["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["fedsvc"]);
}

#[tokio::test]
async fn adopts_an_existing_service_and_makes_it_conform() {
    let server = ApiServer::start().await;
    server
        .create(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "nginx", "namespace": "default", "labels": {"team": "web"}},
            "spec": {"type": "ClusterIP", "ports": [{"port": 8080}]},
        }))
        .unwrap();
    let m = member(&server).await;
    let fed = federated_service("default", "nginx");
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Adopted
    );
    let live = server.get("v1", "Service", "default", "nginx").unwrap();
    assert_eq!(live["spec"]["type"], "LoadBalancer");
    assert_eq!(live["spec"]["ports"].as_array().unwrap().len(), 1);
    assert_eq!(live["spec"]["ports"][0]["port"], 80);
    assert_eq!(
        live["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "fedsvc"
    );
    assert_eq!(live["metadata"]["labels"]["team"], "web");
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
}

/// Calls `ensure_service` until the member answers without a request (bounded).
async fn until_answered_without_a_request(
    server: &ApiServer,
    m: &fedsvc_cluster::KubeMember,
    fed: &k8s_openapi::api::core::v1::Service,
) -> EnsureOutcome {
    for _ in 0..250 {
        server.clear_requests();
        let outcome = m.ensure_service(fed, &federation()).await.unwrap();
        if server.take_requests().is_empty() {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("every call still sends requests");
}

/// Calls `ensure_service` until it applies something (the watch has seen the member copy
/// change), bounded; returns the last outcome.
async fn until_applied(
    m: &fedsvc_cluster::KubeMember,
    fed: &k8s_openapi::api::core::v1::Service,
) -> EnsureOutcome {
    let mut outcome = EnsureOutcome::Unchanged;
    for _ in 0..250 {
        outcome = m.ensure_service(fed, &federation()).await.unwrap();
        if outcome != EnsureOutcome::Unchanged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    outcome
}

#[tokio::test]
async fn a_conforming_service_costs_no_request_while_the_watch_runs() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    let fed = federated_service("default", "web");
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Created
    );
    server.clear_requests();
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
    assert!(
        !server.take_requests().is_empty(),
        "without a watch, the member itself is asked"
    );
    server.clear_requests();
    assert_eq!(
        m.delete_service("default", "never-created").await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert!(!server.take_requests().is_empty());

    let mut shards = m.watch_shards();
    let pump = tokio::spawn(async move { while shards.next().await.is_some() {} });
    assert_eq!(
        until_answered_without_a_request(&server, &m, &fed).await,
        EnsureOutcome::Unchanged
    );
    server.clear_requests();
    assert_eq!(
        m.delete_service("default", "never-created").await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert!(
        server.take_requests().is_empty(),
        "the watch knows the member holds no such service of ours"
    );

    // Someone else changes the copy: once the watch has seen it, the copy is applied again.
    server
        .merge_patch(
            "v1",
            "Service",
            "default",
            "web",
            &json!({"spec": {"ports": [{"port": 9, "protocol": "TCP"}]}}),
            false,
        )
        .unwrap();
    assert_eq!(until_applied(&m, &fed).await, EnsureOutcome::Updated);
    let live = server.get("v1", "Service", "default", "web").unwrap();
    assert_eq!(live["spec"]["ports"][0]["port"], 80, "{live}");
    assert_eq!(
        until_answered_without_a_request(&server, &m, &fed).await,
        EnsureOutcome::Unchanged
    );

    // A new desired copy is applied at once.
    let mut changed = fed.clone();
    changed.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 81;
    assert_eq!(
        m.ensure_service(&changed, &federation()).await.unwrap(),
        EnsureOutcome::Updated
    );

    // Deleted by someone else: created again.
    server.delete("v1", "Service", "default", "web").unwrap();
    assert_eq!(until_applied(&m, &changed).await, EnsureOutcome::Created);
    pump.abort();
}

#[tokio::test]
async fn follows_changes_of_the_federated_service() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    let mut fed = federated_service("default", "web");
    m.ensure_service(&fed, &federation()).await.unwrap();
    let before = server.get("v1", "Service", "default", "web").unwrap();
    fed.metadata.labels.as_mut().unwrap().remove("app");
    fed.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 81;
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Updated
    );
    let live = server.get("v1", "Service", "default", "web").unwrap();
    assert!(
        live["metadata"]["labels"].get("app").is_none(),
        "label dropped: {live}"
    );
    assert_eq!(live["spec"]["ports"][0]["port"], 81);
    assert_eq!(live["spec"]["clusterIP"], before["spec"]["clusterIP"]);
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
}

/// The requests `server` received other than watches, as `METHOD path`.
fn calls(server: &ApiServer) -> Vec<String> {
    server
        .take_requests()
        .into_iter()
        .filter(|r| !r.is_watch())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn a_restarted_member_applies_copies_it_lists_as_ours_without_reading_them() {
    let server = ApiServer::start().await;
    let options = KubeMemberOptions::default().federation("myfederation");
    let fed = federated_service("shop", "web");
    let before = member_with(&server, options.clone()).await;
    assert_eq!(
        before.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Created
    );
    // Another federation's copy of a second service.
    let other_fed = federated_service("shop", "other");
    let other = Label::parse("otherfed", LabelRules::Rfc1123, "federation").unwrap();
    before.ensure_service(&other_fed, &other).await.unwrap();
    drop(before);

    // A new process: nothing applied yet, but the watch lists the copies.
    let m = member_with(&server, options).await;
    let mut shards = m.watch_shards();
    wait_for(&mut shards, |e| matches!(e, ShardEvent::Synced)).await;
    let pump = tokio::spawn(async move { while shards.next().await.is_some() {} });
    server.clear_requests();
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
    assert_eq!(
        calls(&server),
        ["PATCH /api/v1/namespaces/shop/services/web"],
        "one apply, no read"
    );
    // The other federation's copy is not listed as ours: it is read, and refused.
    let err = m
        .ensure_service(&other_fed, &federation())
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::ForeignService { .. }), "{err}");
    assert_eq!(
        calls(&server),
        ["GET /api/v1/namespaces/shop/services/other"]
    );
    // A desired copy that differs is applied without a read too, and reported as an update.
    let mut changed = fed.clone();
    changed.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 81;
    let m2 = member_with(
        &server,
        KubeMemberOptions::default().federation("myfederation"),
    )
    .await;
    let mut shards2 = m2.watch_shards();
    wait_for(&mut shards2, |e| matches!(e, ShardEvent::Synced)).await;
    server.clear_requests();
    assert_eq!(
        m2.ensure_service(&changed, &federation()).await.unwrap(),
        EnsureOutcome::Updated
    );
    assert_eq!(
        calls(&server),
        ["PATCH /api/v1/namespaces/shop/services/web"]
    );
    assert_eq!(
        server.get("v1", "Service", "shop", "web").unwrap()["spec"]["ports"][0]["port"],
        81
    );
    // New copies, by names the watch has seen no copy by: applied without being read; the
    // namespace is read for the first only.
    for (name, first) in [("new", true), ("newer", false)] {
        assert_eq!(
            m.ensure_service(&federated_service("shop", name), &federation())
                .await
                .unwrap(),
            EnsureOutcome::Created
        );
        let path = format!("PATCH /api/v1/namespaces/shop/services/{name}");
        let want: Vec<String> = if first {
            vec!["GET /api/v1/namespaces/shop".into(), path]
        } else {
            vec![path]
        };
        assert_eq!(calls(&server), want);
    }
    pump.abort();

    // Without the federation given, a copy is read before it is applied, as before.
    let plain = member(&server).await;
    let mut shards3 = plain.watch_shards();
    wait_for(&mut shards3, |e| matches!(e, ShardEvent::Synced)).await;
    server.clear_requests();
    plain.ensure_service(&changed, &federation()).await.unwrap();
    assert_eq!(
        calls(&server),
        [
            "GET /api/v1/namespaces/shop/services/web",
            "PATCH /api/v1/namespaces/shop/services/web"
        ]
    );
}

#[tokio::test]
async fn refuses_a_service_of_another_federation() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    let fed = federated_service("default", "web");
    let other = Label::parse("otherfed", LabelRules::Rfc1123, "federation").unwrap();
    m.ensure_service(&fed, &other).await.unwrap();
    let err = m.ensure_service(&fed, &federation()).await.unwrap_err();
    assert!(matches!(err, MemberError::ForeignService { .. }), "{err}");
    assert!(err.to_string().contains("otherfed"), "{err}");
}

#[tokio::test]
async fn deletes_only_services_it_manages() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    server
        .create(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "theirs", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        }))
        .unwrap();
    assert_eq!(
        m.delete_service("default", "theirs").await.unwrap(),
        DeleteOutcome::NotManaged
    );
    assert!(server.get("v1", "Service", "default", "theirs").is_ok());
    m.ensure_service(&federated_service("default", "ours"), &federation())
        .await
        .unwrap();
    assert_eq!(
        m.delete_service("default", "ours").await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(server.get("v1", "Service", "default", "ours").is_err());
    assert_eq!(
        m.delete_service("default", "ours").await.unwrap(),
        DeleteOutcome::NotFound
    );
}

#[tokio::test]
async fn health_probe_ready_not_ready_unreachable_and_slow() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    assert_eq!(m.probe_health().await, Health::Ready);
    server.set_healthy(false);
    assert!(matches!(m.probe_health().await, Health::NotReady { .. }));
    server.set_healthy(true);
    server.set_latency(Duration::from_secs(2));
    let slow = m.probe_health().await;
    assert!(
        matches!(&slow, Health::Unreachable { message } if message.contains("within")),
        "{slow:?}"
    );
    server.set_latency(Duration::ZERO);
    server.set_reachable(false);
    let down = m.probe_health().await;
    assert!(matches!(down, Health::Unreachable { .. }), "{down:?}");
    server.set_reachable(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(m.probe_health().await, Health::Ready);
}

#[tokio::test]
async fn unreachable_member_gives_a_clear_error() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    server.set_reachable(false);
    let err = m
        .ensure_service(&federated_service("default", "web"), &federation())
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.contains("member-a") && msg.contains("unreachable"),
        "{msg}"
    );
}

#[tokio::test]
async fn locality_from_node_labels_with_overrides() {
    let server = ApiServer::start().await;
    server
        .add_node("n1", Some("us-central1-b"), Some("us-central1"))
        .unwrap();
    server
        .add_node("n2", Some("us-central1-a"), Some("us-central1"))
        .unwrap();
    server.add_node("bare", None, None).unwrap();
    let m = member(&server).await;
    let l = m.locality(&LocalityOverride::default()).await.unwrap();
    let zones: Vec<&str> = l.zones.iter().map(|z| z.as_str()).collect();
    assert_eq!(zones, ["us-central1-a", "us-central1-b"]);
    assert_eq!(l.region.as_ref().unwrap().as_str(), "us-central1");
    assert!(
        l.warnings.iter().any(|w| w.contains("bare")),
        "{:?}",
        l.warnings
    );
    let o = LocalityOverride {
        zones: None,
        region: Some(Label::parse("europe-west1", LabelRules::Rfc1123, "region").unwrap()),
    };
    let l = m.locality(&o).await.unwrap();
    assert_eq!(l.region.unwrap().as_str(), "europe-west1");
    assert_eq!(l.zones.len(), 2);
}

#[tokio::test]
async fn watch_reports_ingress_endpoints_and_removal() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    m.ensure_service(&federated_service("default", "nginx"), &federation())
        .await
        .unwrap();
    // Not ours: never reported.
    server
        .create(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "other", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]},
        }))
        .unwrap();
    server.set_endpoints("default", "other", 5, 0).unwrap();
    let mut shards = m.watch_shards();
    let first = next_event(&mut shards).await;
    let ShardEvent::Observed(o) = &first else {
        panic!("{first:?}")
    };
    assert_eq!(o.key.to_string(), "default/nginx");
    assert!(o.addresses.is_empty());
    assert_eq!(o.ready_endpoints, 0);
    assert_eq!(o.federation.as_deref(), Some("myfederation"));
    wait_for(&mut shards, |e| matches!(e, ShardEvent::Synced)).await;

    server
        .set_load_balancer_ingress("default", "nginx", &["203.0.113.7"], &["lb.example.net"])
        .unwrap();
    let e = wait_for(
        &mut shards,
        |e| matches!(e, ShardEvent::Observed(o) if !o.addresses.is_empty()),
    )
    .await;
    let ShardEvent::Observed(o) = e else {
        unreachable!()
    };
    assert_eq!(o.addresses, vec!["203.0.113.7".parse::<IpAddr>().unwrap()]);
    assert_eq!(o.hostnames, vec![DnsName::parse("lb.example.net").unwrap()]);

    server.set_endpoints("default", "nginx", 2, 1).unwrap();
    let e = wait_for(
        &mut shards,
        |e| matches!(e, ShardEvent::Observed(o) if o.ready_endpoints > 0),
    )
    .await;
    let ShardEvent::Observed(o) = e else {
        unreachable!()
    };
    assert_eq!(o.ready_endpoints, 2);

    m.delete_service("default", "nginx").await.unwrap();
    let e = wait_for(&mut shards, |e| matches!(e, ShardEvent::Gone(_))).await;
    assert_eq!(e, ShardEvent::Gone(o.key));
}

#[tokio::test]
async fn watch_relists_after_410_gone() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    m.ensure_service(&federated_service("default", "nginx"), &federation())
        .await
        .unwrap();
    let mut shards = m.watch_shards();
    wait_for(&mut shards, |e| matches!(e, ShardEvent::Synced)).await;
    let lists_before = server
        .requests()
        .iter()
        .filter(|r| r.is_list_of("services"))
        .count();
    assert_eq!(lists_before, 1);

    // Wait until the watch of services is open.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !server
        .requests()
        .iter()
        .any(|r| r.is_watch() && r.path.ends_with("/services"))
    {
        let _ = tokio::time::timeout(
            Duration::from_millis(50),
            futures::StreamExt::next(&mut shards),
        )
        .await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watch never started"
        );
    }
    // Every open watch ends with a 410 ERROR event and the history is compacted, so the
    // watcher must list again; a change made afterwards must still arrive.
    server.expire_watches();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        // Drive the stream so that the watcher can re-list.
        if let Ok(Some(item)) = tokio::time::timeout(
            Duration::from_millis(50),
            futures::StreamExt::next(&mut shards),
        )
        .await
        {
            eprintln!("while waiting for the re-list: {item:?}");
        }
        let lists = server
            .requests()
            .iter()
            .filter(|r| r.is_list_of("services"))
            .count();
        if lists >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no re-list after 410 Gone"
        );
    }
    server
        .set_load_balancer_ingress("default", "nginx", &["203.0.113.9"], &[])
        .unwrap();
    let e = wait_for(
        &mut shards,
        |e| matches!(e, ShardEvent::Observed(o) if !o.addresses.is_empty()),
    )
    .await;
    let ShardEvent::Observed(o) = e else {
        unreachable!()
    };
    assert_eq!(o.addresses, vec!["203.0.113.9".parse::<IpAddr>().unwrap()]);
    let lists_after = server
        .requests()
        .iter()
        .filter(|r| r.is_list_of("services"))
        .count();
    assert!(
        lists_after >= 2,
        "expected a re-list, saw {lists_after} lists"
    );
}

#[tokio::test]
async fn watch_survives_an_outage() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    m.ensure_service(&federated_service("default", "nginx"), &federation())
        .await
        .unwrap();
    let mut shards = m.watch_shards();
    wait_for(&mut shards, |e| matches!(e, ShardEvent::Synced)).await;
    server.set_reachable(false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.set_reachable(true);
    server.set_endpoints("default", "nginx", 3, 0).unwrap();
    let e = wait_for(
        &mut shards,
        |e| matches!(e, ShardEvent::Observed(o) if o.ready_endpoints == 3),
    )
    .await;
    assert!(matches!(e, ShardEvent::Observed(_)));
}

#[tokio::test]
async fn a_slow_member_times_out_as_unreachable() {
    let server = ApiServer::start().await;
    fedsvc_emulator::install_crypto_provider();
    let m = fedsvc_cluster::KubeMember::from_kubeconfig_yaml(
        fedsvc_model::ClusterName::parse("slow").unwrap(),
        &server.kubeconfig_yaml("slow"),
        &fedsvc_cluster::KubeMemberOptions::default()
            .request_timeout(Duration::from_millis(300))
            .rate_limit(5.0, 1),
    )
    .await
    .unwrap();
    server.set_latency(Duration::from_secs(2));
    let err = m
        .ensure_service(&federated_service("default", "web"), &federation())
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("no answer within"), "{err}");
}

#[tokio::test]
async fn bad_kubeconfig_is_reported() {
    fedsvc_emulator::install_crypto_provider();
    let err = fedsvc_cluster::KubeMember::from_kubeconfig_yaml(
        fedsvc_model::ClusterName::parse("bad").unwrap(),
        "this: is: not: a kubeconfig",
        &fedsvc_cluster::KubeMemberOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, MemberError::Kubeconfig { .. }), "{err:?}");
    assert!(err.to_string().contains("bad"), "{err}");
}

/// A kubeconfig for `server` whose user gets its token from an exec plugin that first creates
/// `marker`.
fn exec_kubeconfig(server: &ApiServer, marker: &std::path::Path) -> String {
    let script = format!(
        "touch '{}'; echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"from-exec\"}}}}'",
        marker.display()
    );
    let exec = json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "/bin/sh",
        "args": ["-c", script],
        "interactiveMode": "Never",
    });
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: {}\ncontexts:\n- name: m\n  context: {{cluster: m, user: m}}\ncurrent-context: m\nusers:\n- name: m\n  user:\n    exec: {exec}\n",
        server.url()
    )
}

#[tokio::test]
async fn an_exec_plugin_in_a_stored_kubeconfig_never_runs() {
    fedsvc_emulator::install_crypto_provider();
    let server = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("exec-ran");
    let kc = exec_kubeconfig(&server, &marker);
    let err = fedsvc_cluster::KubeMember::from_kubeconfig_yaml(
        fedsvc_model::ClusterName::parse("exec").unwrap(),
        &kc,
        &KubeMemberOptions::default(),
    )
    .await
    .unwrap_err();
    match &err {
        MemberError::UnsafeKubeconfig { cluster, field, .. } => {
            assert_eq!(
                (cluster.as_str(), field.as_str()),
                ("exec", "users[0].user.exec")
            );
        }
        other => panic!("expected UnsafeKubeconfig, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("users[0].user.exec") && text.contains("runs a program"),
        "{text}"
    );
    assert!(!text.contains("touch"), "the command is not echoed: {text}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!marker.exists(), "the exec plugin ran");

    // With the explicit opt-in the same kubeconfig is used, and its plugin does run: the
    // check above is what kept it from running.
    let m = fedsvc_cluster::KubeMember::from_kubeconfig_yaml(
        fedsvc_model::ClusterName::parse("exec").unwrap(),
        &kc,
        &KubeMemberOptions::default().allow_unsafe_kubeconfig(true),
    )
    .await
    .unwrap();
    assert!(m.probe_health().await.is_ready());
    assert!(marker.exists(), "with the opt-in the plugin runs");
}

#[tokio::test]
async fn a_token_file_in_a_stored_kubeconfig_is_refused() {
    fedsvc_emulator::install_crypto_provider();
    let server = ApiServer::start().await;
    let kc = server.kubeconfig_yaml("m").replace(
        &format!("token: {}", fedsvc_emulator::TOKEN),
        "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
    );
    let err = fedsvc_cluster::KubeMember::from_kubeconfig_yaml(
        fedsvc_model::ClusterName::parse("m").unwrap(),
        &kc,
        &KubeMemberOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, MemberError::UnsafeKubeconfig { field, .. } if field == "users[0].user.tokenFile"),
        "{err}"
    );
    assert!(!err.to_string().contains("/var/run"), "{err}");
}
