//! `SimMember`: each script action.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use fedsvc_cluster::{
    DeleteOutcome, EnsureOutcome, Health, LocalityOverride, MemberCluster, MemberError, ShardEvent,
    SimMember,
};
use fedsvc_model::{ClusterName, DnsName, Label, LabelRules};
use k8s_openapi::api::core::v1::Service;

use crate::util::{federated_service, federation, next_event, wait_for};

fn sim() -> SimMember {
    SimMember::new(
        ClusterName::parse("sim-a").unwrap(),
        &["us-central1-a", "us-central1-b"],
        "us-central1",
    )
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn ensure_creates_then_is_unchanged_and_strips_server_fields() {
    let m = sim();
    let fed = federated_service("shop", "nginx");
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Created
    );
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
    assert_eq!(m.writes(), 1);
    let svc = m.service("shop", "nginx").unwrap();
    let spec = svc.spec.unwrap();
    assert_eq!(spec.cluster_ip, None);
    assert_eq!(spec.load_balancer_class, None);
    assert_eq!(spec.ports.unwrap()[0].node_port, None);
}

#[tokio::test]
async fn adopts_an_existing_service() {
    let m = sim();
    let mut existing: Service = federated_service("default", "web");
    existing.metadata.labels = None;
    m.insert_service(existing);
    let fed = federated_service("default", "web");
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Adopted
    );
    assert_eq!(
        m.ensure_service(&fed, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
    let other = Label::parse("otherfed", LabelRules::Rfc1123, "federation").unwrap();
    let err = m.ensure_service(&fed, &other).await.unwrap_err();
    assert!(matches!(err, MemberError::ForeignService { .. }), "{err}");
}

#[tokio::test]
async fn delete_leaves_unmanaged_services_alone() {
    let m = sim();
    let mut theirs = federated_service("default", "theirs");
    theirs.metadata.labels = None;
    m.insert_service(theirs);
    assert_eq!(
        m.delete_service("default", "theirs").await.unwrap(),
        DeleteOutcome::NotManaged
    );
    m.ensure_service(&federated_service("default", "ours"), &federation())
        .await
        .unwrap();
    assert_eq!(
        m.delete_service("default", "ours").await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        m.delete_service("default", "ours").await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(m.services().len(), 1);
}

#[tokio::test]
async fn endpoints_and_ingress_scripts_reach_the_watch() {
    let m = sim();
    m.ensure_service(&federated_service("default", "nginx"), &federation())
        .await
        .unwrap();
    let mut shards = m.watch_shards();
    let first = next_event(&mut shards).await;
    assert!(
        matches!(&first, ShardEvent::Observed(o) if o.ready_endpoints == 0 && o.addresses.is_empty()),
        "{first:?}"
    );
    assert_eq!(next_event(&mut shards).await, ShardEvent::Synced);

    assert!(m.set_ready_endpoints("default", "nginx", 3));
    let e = next_event(&mut shards).await;
    assert!(
        matches!(&e, ShardEvent::Observed(o) if o.ready_endpoints == 3),
        "{e:?}"
    );

    assert!(m.set_ingress(
        "default",
        "nginx",
        &[ip("203.0.113.2"), ip("2001:db8::1")],
        &["lb.example.net"]
    ));
    let e = next_event(&mut shards).await;
    let ShardEvent::Observed(o) = e else {
        panic!("{e:?}")
    };
    assert_eq!(o.addresses, vec![ip("203.0.113.2"), ip("2001:db8::1")]);
    assert_eq!(o.hostnames, vec![DnsName::parse("lb.example.net").unwrap()]);

    assert!(m.set_ready_endpoints("default", "nginx", 0));
    let e = next_event(&mut shards).await;
    assert!(
        matches!(&e, ShardEvent::Observed(o) if o.ready_endpoints == 0),
        "{e:?}"
    );
    assert!(!m.set_ready_endpoints("default", "missing", 1));

    m.delete_service("default", "nginx").await.unwrap();
    assert!(matches!(next_event(&mut shards).await, ShardEvent::Gone(_)));
}

#[tokio::test]
async fn outage_fails_calls_and_the_watch_resumes() {
    let m = sim();
    m.ensure_service(&federated_service("default", "nginx"), &federation())
        .await
        .unwrap();
    let mut shards = m.watch_shards();
    wait_for(&mut shards, |e| matches!(e, ShardEvent::Synced)).await;
    m.set_reachable(false);
    assert!(matches!(m.probe_health().await, Health::Unreachable { .. }));
    let err = m
        .ensure_service(&federated_service("default", "x"), &federation())
        .await
        .unwrap_err();
    assert!(
        matches!(err, MemberError::Unreachable { .. }) && err.is_retryable(),
        "{err}"
    );
    assert!(m.locality(&LocalityOverride::default()).await.is_err());
    let item = tokio::time::timeout(
        Duration::from_secs(5),
        futures::StreamExt::next(&mut shards),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        matches!(item, Err(MemberError::Unreachable { .. })),
        "{item:?}"
    );
    m.set_ready_endpoints("default", "nginx", 2);
    m.set_reachable(true);
    let e = next_event(&mut shards).await;
    assert!(
        matches!(&e, ShardEvent::Observed(o) if o.ready_endpoints == 2),
        "{e:?}"
    );
}

#[tokio::test]
async fn health_and_latency_scripts() {
    let m = sim();
    assert_eq!(m.probe_health().await, Health::Ready);
    m.set_healthy(false);
    assert!(matches!(m.probe_health().await, Health::NotReady { .. }));
    m.set_healthy(true);
    m.set_latency(Duration::from_millis(150));
    let t = Instant::now();
    assert_eq!(m.probe_health().await, Health::Ready);
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn locality_latency_slows_the_node_listing_alone() {
    let m = sim();
    m.set_locality_latency(Duration::from_secs(3600));
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), m.probe_health())
            .await
            .expect("the probe is not slowed"),
        Health::Ready
    );
    let listing = tokio::time::timeout(
        Duration::from_millis(100),
        m.locality(&LocalityOverride::default()),
    )
    .await;
    assert!(listing.is_err(), "the node listing hangs");
    assert_eq!(m.locality_reads(), 1, "a listing given up still counts");
    m.set_locality_latency(Duration::ZERO);
    assert!(m.locality(&LocalityOverride::default()).await.is_ok());
    assert_eq!(m.locality_reads(), 2);
}

#[tokio::test]
async fn locality_from_scripted_nodes_and_overrides() {
    let m = sim();
    let l = m.locality(&LocalityOverride::default()).await.unwrap();
    assert_eq!(l.zones.len(), 2);
    assert_eq!(l.region.unwrap().as_str(), "us-central1");
    m.set_nodes(&[("n1", Some("eu-b"), Some("eu")), ("n2", None, None)]);
    let l = m.locality(&LocalityOverride::default()).await.unwrap();
    assert_eq!(
        l.zones.iter().map(|z| z.as_str()).collect::<Vec<_>>(),
        ["eu-b"]
    );
    assert!(l.warnings.iter().any(|w| w.contains("n2")));
    let o = LocalityOverride {
        zones: Some(vec![
            Label::parse("z1", LabelRules::Rfc1123, "zone").unwrap(),
        ]),
        region: None,
    };
    let l = m.locality(&o).await.unwrap();
    assert_eq!(
        l.zones.iter().map(|z| z.as_str()).collect::<Vec<_>>(),
        ["z1"]
    );
}

#[tokio::test]
async fn auto_ingress_and_endpoints_play_the_cloud() {
    let m = sim()
        .with_auto_ingress(Ipv4Addr::new(198, 51, 100, 10))
        .with_auto_endpoints(2);
    m.ensure_service(&federated_service("default", "a"), &federation())
        .await
        .unwrap();
    m.ensure_service(&federated_service("default", "b"), &federation())
        .await
        .unwrap();
    let mut shards = m.watch_shards();
    let a = next_event(&mut shards).await;
    let b = next_event(&mut shards).await;
    let (ShardEvent::Observed(a), ShardEvent::Observed(b)) = (a, b) else {
        panic!("expected two observations")
    };
    assert_eq!(a.addresses, vec![ip("198.51.100.10")]);
    assert_eq!(b.addresses, vec![ip("198.51.100.11")]);
    assert_eq!(a.ready_endpoints, 2);
}
