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

/// The Deployment scripts: ready pods, whole statuses, held readiness, outages.
#[tokio::test]
async fn deployment_scripts_reach_the_watch() {
    use fedsvc_cluster::{ObjectKey, ReplicaCounts, WorkloadEvent};

    use crate::util::{federated_deployment, next_item, wait_item};

    let m = sim();
    let fed = federated_deployment("shop", "web", 10);
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 4).await.unwrap(),
        EnsureOutcome::Created
    );
    assert_eq!(m.writes(), 1);
    let d = m.deployment("shop", "web").unwrap();
    let status = d.status.unwrap();
    assert_eq!(status.ready_replicas, Some(4), "ready at once by default");
    assert_eq!(d.metadata.generation, status.observed_generation);
    assert_eq!(m.deployments().len(), 1);

    let mut events = m.watch_deployments();
    let WorkloadEvent::Observed(o) = next_item(&mut events).await else {
        panic!("expected an observation")
    };
    assert_eq!((o.desired, o.counts.ready, o.up_to_date), (4, 4, true));
    assert_eq!(next_item(&mut events).await, WorkloadEvent::Synced);

    assert!(m.set_deployment_ready("shop", "web", 1));
    let WorkloadEvent::Observed(o) = next_item(&mut events).await else {
        panic!()
    };
    assert_eq!((o.counts.ready, o.counts.available), (1, 1));
    let counts = ReplicaCounts {
        replicas: 5,
        ready: 2,
        available: 2,
        updated: 3,
    };
    assert!(m.set_deployment_counts("shop", "web", counts, false));
    let WorkloadEvent::Observed(o) = next_item(&mut events).await else {
        panic!()
    };
    assert_eq!((o.counts, o.up_to_date), (counts, false));
    assert!(!m.set_deployment_ready("shop", "nope", 1));

    // Held: a new share gets its pods, not ready beyond what was.
    m.set_hold_readiness(true);
    m.ensure_deployment(&fed, &federation(), 6).await.unwrap();
    let e = wait_item(
        &mut events,
        |e| matches!(e, WorkloadEvent::Observed(o) if o.desired == 6),
    )
    .await;
    let WorkloadEvent::Observed(o) = e else {
        unreachable!()
    };
    assert_eq!(
        (o.counts.replicas, o.counts.ready, o.up_to_date),
        (6, 2, true)
    );
    m.set_hold_readiness(false);
    wait_item(
        &mut events,
        |e| matches!(e, WorkloadEvent::Observed(o) if o.counts.ready == 6),
    )
    .await;

    // An outage: calls fail, the watch reports it once and resumes.
    m.set_reachable(false);
    let err = m
        .ensure_deployment(&fed, &federation(), 6)
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::Unreachable { .. }), "{err}");
    assert!(
        m.list_managed_configs(&federation()).await.is_err(),
        "listing fails too"
    );
    let item = tokio::time::timeout(
        Duration::from_secs(5),
        futures::StreamExt::next(&mut events),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(item.is_err(), "{item:?}");
    m.set_reachable(true);
    m.delete_deployment("shop", "web").await.unwrap();
    assert_eq!(
        wait_item(&mut events, |e| matches!(e, WorkloadEvent::Gone(_))).await,
        WorkloadEvent::Gone(ObjectKey::parse("shop", "web").unwrap())
    );
}

/// A Secret held by a SimMember never shows its data in a Debug output.
#[tokio::test]
async fn a_sim_members_debug_shows_no_secret_data() {
    use crate::util::{PASSWORD, secret};
    let m = sim();
    m.ensure_config(&secret("shop", "db", "admin"), &federation())
        .await
        .unwrap();
    let text = format!("{m:?}");
    assert!(text.contains("db"), "{text}");
    let bytes = format!("{:?}", PASSWORD.as_bytes());
    assert!(
        !text.contains(PASSWORD) && !text.contains(&bytes[1..20]),
        "{text}"
    );
}
