//! Federated Deployments end to end: the controller over an emulated federation API (a control
//! plane alone: no workload controllers of its own) and four simulated members. Creation with
//! an even division, weights, scale, a placement change, a member outage and its return, a
//! ConfigMap dependency kept in step, deletion with cascade and with orphan.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::{ConfigKind, ConfigObject, MemberCluster, SimMember};
use fedsvc_controller::controller::Running;
use fedsvc_emulator::ApiServer;
use fedsvc_providers::{DnsProvider, MemoryProvider};
use serde_json::{Value, json};

const NS: &str = "shop";

struct World {
    host: ApiServer,
    members: Vec<SimMember>,
    running: Option<Running>,
}

async fn world() -> World {
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    host.set_workload_controllers(false);
    let members = common::members();
    common::register(&host, &members);
    host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    let dns: Arc<dyn DnsProvider> = Arc::new(MemoryProvider::new("example.com".parse().unwrap()));
    let running = common::start_over(&common::config(), &host, &members, dns).await;
    World {
        host,
        members,
        running: Some(running),
    }
}

impl World {
    fn member(&self, name: &str) -> &SimMember {
        self.members
            .iter()
            .find(|m| m.name().as_str() == name)
            .unwrap()
    }

    /// The replicas of each member's copy of `name` (members without a copy left out).
    fn copies(&self, name: &str) -> BTreeMap<String, i32> {
        self.members
            .iter()
            .filter_map(|m| {
                let d = m.deployment(NS, name)?;
                Some((
                    m.name().to_string(),
                    d.spec.and_then(|s| s.replicas).unwrap_or(-1),
                ))
            })
            .collect()
    }

    fn federated(&self, name: &str) -> Option<Value> {
        self.host.get("apps/v1", "Deployment", NS, name).ok()
    }

    fn patch(&self, name: &str, patch: Value) {
        self.host
            .merge_patch("apps/v1", "Deployment", NS, name, &patch, false)
            .unwrap();
    }
}

fn deployment(name: &str, replicas: i32, annotations: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": name, "image": "nginx:1.27",
                    "envFrom": [{"configMapRef": {"name": format!("{name}-config")}}],
                }]},
            },
        },
    })
}

fn copies_of(pairs: &[(&str, i32)]) -> BTreeMap<String, i32> {
    pairs.iter().map(|(n, r)| ((*n).to_owned(), *r)).collect()
}

/// Waits (bounded) until `check` holds.
async fn eventually<F: FnMut() -> bool>(what: &str, mut check: F) {
    for _ in 0..400 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

const A: &str = "gce-us-central1-a";
const B: &str = "gce-us-central1-b";
const C: &str = "gce-europe-west1-b";
const D: &str = "gce-europe-west1-c";

#[tokio::test]
async fn a_deployment_runs_in_every_member_with_its_replicas_divided() {
    let w = world().await;
    w.host
        .create(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web-config", "namespace": NS},
            "data": {"GREETING": "hello"},
        }))
        .unwrap();
    w.host.create(deployment("web", 8, json!({}))).unwrap();

    // Even: 2 each; the ConfigMap went along; the status sums the members.
    eventually("2 replicas in each member", || {
        w.copies("web") == copies_of(&[(A, 2), (B, 2), (C, 2), (D, 2)])
    })
    .await;
    for m in &w.members {
        let Some(ConfigObject::ConfigMap(cm)) = m.config(ConfigKind::ConfigMap, NS, "web-config")
        else {
            panic!("no web-config in {}", m.name())
        };
        assert_eq!(cm.data.unwrap()["GREETING"], "hello");
    }
    eventually("status 8/8 on the federation", || {
        w.federated("web")
            .is_some_and(|d| d["status"]["readyReplicas"] == 8 && d["status"]["replicas"] == 8)
    })
    .await;
    // One `Created` Event per member, each naming its member (not one series showing the first).
    let created: BTreeSet<String> = w
        .host
        .list("events.k8s.io/v1", "Event", Some(NS))
        .unwrap()
        .into_iter()
        .filter(|e| e["reason"] == "Created" && e["regarding"]["name"] == "web")
        .map(|e| e["note"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        created,
        [A, B, C, D]
            .iter()
            .map(|m| format!("created in cluster {m} with 2 replicas"))
            .collect::<BTreeSet<_>>(),
    );
    let d = w.federated("web").unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["fedsvc.io/replica-division"],
        format!("{C}=2,{D}=2,{A}=2,{B}=2")
    );
    assert!(
        d["metadata"]["finalizers"]
            .as_array()
            .unwrap()
            .contains(&json!("fedsvc.io/cleanup"))
    );

    // Weights: a=3, the others 1: 8 × 3/6 = 4 for a, the rest by largest remainder in name order.
    w.patch(
        "web",
        json!({"metadata": {"annotations": {"fedsvc.io/replica-weights": format!("{A}=3,*=1")}}}),
    );
    eventually("weighted division", || {
        w.copies("web") == copies_of(&[(A, 4), (B, 1), (C, 2), (D, 1)])
    })
    .await;

    // Scale on the federation: the division follows.
    w.patch("web", json!({"spec": {"replicas": 12}}));
    eventually("scaled to 12", || {
        w.copies("web") == copies_of(&[(A, 6), (B, 2), (C, 2), (D, 2)])
    })
    .await;
    eventually("status 12/12", || {
        w.federated("web")
            .is_some_and(|d| d["status"]["readyReplicas"] == 12)
    })
    .await;

    // A ConfigMap change reaches the members.
    w.host
        .merge_patch(
            "v1",
            "ConfigMap",
            NS,
            "web-config",
            &json!({"data": {"GREETING": "bonjour"}}),
            false,
        )
        .unwrap();
    eventually("the new ConfigMap data in every member", || {
        w.members.iter().all(|m| {
            matches!(
                m.config(ConfigKind::ConfigMap, NS, "web-config"),
                Some(ConfigObject::ConfigMap(cm)) if cm.data.as_ref().is_some_and(|d| d["GREETING"] == "bonjour")
            )
        })
    })
    .await;

    // Placement: us-central1 only; the European copies go, and so does their ConfigMap.
    w.patch(
        "web",
        json!({"metadata": {"annotations": {
            "fedsvc.io/replica-weights": null,
            "fedsvc.io/cluster-selector": format!("fedsvc.io/region=us-central1"),
        }}}),
    );
    // The Cluster objects carry no labels in these tests: label two of them.
    for name in [A, B] {
        w.host
            .merge_patch(
                "fedsvc.io/v1alpha1",
                "Cluster",
                "",
                name,
                &json!({"metadata": {"labels": {"fedsvc.io/region": "us-central1"}}}),
                false,
            )
            .unwrap();
    }
    eventually("only the us-central1 members run web", || {
        w.copies("web") == copies_of(&[(A, 6), (B, 6)])
    })
    .await;
    eventually("the ConfigMap left the European members", || {
        w.member(C)
            .config(ConfigKind::ConfigMap, NS, "web-config")
            .is_none()
            && w.member(D)
                .config(ConfigKind::ConfigMap, NS, "web-config")
                .is_none()
    })
    .await;
    assert!(
        w.member(A)
            .config(ConfigKind::ConfigMap, NS, "web-config")
            .is_some()
    );

    // Deletion cascades: the copies, then the ConfigMap copies, then the finalizer.
    w.host.delete("apps/v1", "Deployment", NS, "web").unwrap();
    eventually("the federated deployment is gone", || {
        w.federated("web").is_none()
    })
    .await;
    assert!(w.copies("web").is_empty(), "{:?}", w.copies("web"));
    assert!(
        w.members
            .iter()
            .all(|m| m.config(ConfigKind::ConfigMap, NS, "web-config").is_none())
    );
    w.running.unwrap().shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_outage_moves_a_members_share_to_the_others_and_its_return_brings_it_back() {
    let w = world().await;
    w.host.create(deployment("api", 8, json!({}))).unwrap();
    eventually("2 replicas in each member", || {
        w.copies("api") == copies_of(&[(A, 2), (B, 2), (C, 2), (D, 2)])
    })
    .await;

    // Member a stops answering: after the health hysteresis its 2 replicas go to the others
    // (one replica at a time to the member with the fewest, ties in name order: europe-west1-b,
    // then europe-west1-c); its copy is left as it is.
    w.member(A).set_reachable(false);
    eventually("a's share divided over the others", || {
        w.copies("api") == copies_of(&[(A, 2), (B, 2), (C, 3), (D, 3)])
    })
    .await;
    // The division annotation is written after the copies, at the end of the reconcile.
    let division = format!("{C}=3,{D}=3,{A}=keep,{B}=2");
    eventually("the division annotation shows a kept", || {
        w.federated("api").is_some_and(|d| {
            d["metadata"]["annotations"]["fedsvc.io/replica-division"] == division.as_str()
        })
    })
    .await;
    // The kept copy is not counted: the status shows what the Ready members run, 8, not 10.
    eventually("status 8/8 without the kept copy", || {
        w.federated("api")
            .is_some_and(|d| d["status"]["readyReplicas"] == 8 && d["status"]["replicas"] == 8)
    })
    .await;

    // Back: the first division again.
    w.member(A).set_reachable(true);
    eventually("the first division again", || {
        w.copies("api") == copies_of(&[(A, 2), (B, 2), (C, 2), (D, 2)])
    })
    .await;

    // Orphaned: the copies stay when the federated deployment goes.
    w.patch(
        "api",
        json!({"metadata": {"annotations": {"fedsvc.io/orphan": "true"}}}),
    );
    w.host.delete("apps/v1", "Deployment", NS, "api").unwrap();
    eventually("the federated deployment is gone", || {
        w.federated("api").is_none()
    })
    .await;
    assert_eq!(w.copies("api").len(), 4);
    w.running.unwrap().shutdown(Duration::from_secs(5)).await;
}
