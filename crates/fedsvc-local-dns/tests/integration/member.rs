//! A responder fed by a simulated member cluster's shard watches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::{MemberCluster, SimMember};
use fedsvc_local_dns::{LocalServices, MemberServices};
use fedsvc_model::ClusterName;
use hickory_proto::rr::RecordType;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::util::{
    LOCAL_TARGET, QNAME, ZONE_TARGET, ask, eventually, label, nginx, start, summary,
};

fn nginx_service() -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("nginx".into()),
            namespace: Some("mynamespace".into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            selector: Some(BTreeMap::from([("app".into(), "nginx".into())])),
            ports: Some(vec![ServicePort {
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

#[tokio::test]
async fn ready_endpoints_in_the_member_decide_the_answer() {
    let member = SimMember::new(
        ClusterName::parse("gce-us-central1-f").unwrap(),
        &["us-central1-f"],
        "us-central1",
    )
    .with_auto_endpoints(2);
    let services = MemberServices::spawn(&member);
    assert!(services.wait_synced(Duration::from_secs(5)).await);
    let server = start(Arc::new(services.clone()), None).await;
    let addr = server.local_addr();

    // not there yet: zone-level name
    let r = ask(addr, QNAME, RecordType::A, false).await;
    assert_eq!(summary(&r).1.as_deref(), Some(ZONE_TARGET));

    member
        .ensure_service(&nginx_service(), &label("myfederation"))
        .await
        .unwrap();
    eventually("the service to be seen with ready endpoints", || {
        let s = services.clone();
        async move { s.is_ready(&nginx()) }
    })
    .await;
    assert_eq!(services.ready_endpoints(&nginx()), Some(2));
    let r = ask(addr, QNAME, RecordType::A, false).await;
    assert_eq!(summary(&r).1.as_deref(), Some(LOCAL_TARGET));

    assert!(member.set_ready_endpoints("mynamespace", "nginx", 0));
    eventually("the answer to move to the zone-level name", || async move {
        summary(&ask(addr, QNAME, RecordType::A, false).await)
            .1
            .as_deref()
            == Some(ZONE_TARGET)
    })
    .await;

    assert!(member.set_ready_endpoints("mynamespace", "nginx", 1));
    eventually(
        "the answer to come back to the local service",
        || async move {
            summary(&ask(addr, QNAME, RecordType::AAAA, true).await)
                .1
                .as_deref()
                == Some(LOCAL_TARGET)
        },
    )
    .await;

    member.delete_service("mynamespace", "nginx").await.unwrap();
    eventually("a deleted service to count as not local", || async move {
        summary(&ask(addr, QNAME, RecordType::A, false).await)
            .1
            .as_deref()
            == Some(ZONE_TARGET)
    })
    .await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn zone_and_region_come_from_the_member_unless_given() {
    use fedsvc_local_dns::{LocalDnsError, cluster_locality};
    let member = SimMember::new(
        ClusterName::parse("aws-eu").unwrap(),
        &["eu-west-1b", "eu-west-1a"],
        "eu-west-1",
    );
    let (z, r) = cluster_locality(&member, None, None).await.unwrap();
    assert_eq!((z.as_str(), r.as_str()), ("eu-west-1a", "eu-west-1"));
    let (z, r) = cluster_locality(&member, Some(label("eu-west-1b")), None)
        .await
        .unwrap();
    assert_eq!((z.as_str(), r.as_str()), ("eu-west-1b", "eu-west-1"));
    let (z, r) = cluster_locality(&member, None, Some(label("europe")))
        .await
        .unwrap();
    assert_eq!((z.as_str(), r.as_str()), ("eu-west-1a", "europe"));

    member.set_nodes(&[("bare", None, None)]);
    let err = cluster_locality(&member, None, None).await.unwrap_err();
    assert!(
        matches!(err, LocalDnsError::Locality { what: "zone", .. }),
        "{err}"
    );
    member.set_reachable(false);
    let err = cluster_locality(&member, None, None).await.unwrap_err();
    assert!(matches!(err, LocalDnsError::Member(_)), "{err}");
    assert!(err.is_retryable());
}
