//! `deploy/controller/rbac.yaml` grants what the controller uses on the federation API, and
//! nothing more: a run against the Kubernetes API emulator (leader election, a federated
//! service created, propagated, given DNS records and deleted; a federated Deployment with a
//! ConfigMap and a Secret created, run and deleted) records every request, and the
//! verbs they need are compared with the rules of the ClusterRole and the Role.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

mod common;

use fedsvc_emulator::{ApiServer, RequestRecord};
use fedsvc_providers::{Counting, DnsProvider, MemoryProvider};
use serde_json::{Value, json};

const NS: &str = "mynamespace";
/// The controller's namespace (the Role's).
const OWN_NS: &str = "fedsvc-system";

/// Granted, though the run below cannot show them used, and why.
const GRANTED_BUT_NOT_SEEN: &[(&str, &str, &str)] = &[
    // An Event that repeats (same object, reason and note) is patched: its series count.
    ("events.k8s.io", "events", "patch"),
];

/// A request as RBAC sees it: API group, resource (with `/subresource`), namespace, verb.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Access {
    group: String,
    resource: String,
    namespace: Option<String>,
    verb: String,
}

fn access(r: &RequestRecord) -> Option<Access> {
    let segments: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    let (group, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => ((*group).to_owned(), rest),
        _ => return None, // discovery, /version, /openapi
    };
    if rest.is_empty() {
        return None;
    }
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some((*ns).to_owned()), tail),
        _ => (None, rest),
    };
    let (resource, name, sub) = (rest[0], rest.get(1), rest.get(2));
    let verb = match (r.method.as_str(), name) {
        ("GET", Some(_)) => "get",
        ("GET", None) if r.is_watch() => "watch",
        ("GET", None) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", Some(_)) => "delete",
        ("DELETE", None) => "deletecollection",
        _ => return None,
    };
    Some(Access {
        group,
        resource: match sub {
            Some(s) => format!("{resource}/{s}"),
            None => resource.to_owned(),
        },
        namespace,
        verb: verb.to_owned(),
    })
}

/// The rules of rbac.yaml: (group, resource, verb) → the namespace they hold in (`None`: a
/// ClusterRole's, everywhere).
fn granted() -> BTreeMap<(String, String, String), Option<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/controller/rbac.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = BTreeMap::new();
    for doc in text.split("\n---\n") {
        let v: Value = serde_saphyr::from_str(doc).unwrap();
        let kind = v["kind"].as_str().unwrap_or_default();
        if kind != "ClusterRole" && kind != "Role" {
            continue;
        }
        let ns = (kind == "Role").then(|| v["metadata"]["namespace"].as_str().unwrap().to_owned());
        for rule in v["rules"].as_array().unwrap() {
            for g in rule["apiGroups"].as_array().unwrap() {
                for r in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        let key = (
                            g.as_str().unwrap().to_owned(),
                            r.as_str().unwrap().to_owned(),
                            verb.as_str().unwrap().to_owned(),
                        );
                        assert!(
                            out.insert(key.clone(), ns.clone()).is_none(),
                            "{key:?} granted twice"
                        );
                    }
                }
            }
        }
    }
    out
}

/// Waits (bounded) until `check` holds.
async fn eventually<F: FnMut() -> bool>(what: &str, mut check: F) {
    for _ in 0..800 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

/// A whole life of a federated service under an elected controller; every request it sent.
async fn recorded_run() -> BTreeSet<Access> {
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    // A federation's API server runs no workload controllers of its own.
    host.set_workload_controllers(false);
    let members = common::members();
    common::register(&host, &members);
    host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OWN_NS}}))
        .unwrap();
    let dns = Arc::new(Counting::new(MemoryProvider::new(
        "example.com".parse().unwrap(),
    )));
    let mut config = common::config();
    config.leader_election.enabled = true;
    config.leader_election.lease_duration = Duration::from_millis(1500);
    config.leader_election.renew_deadline = Duration::from_millis(1000);
    config.leader_election.retry_period = Duration::from_millis(200);
    config.members.request_timeout = Duration::from_millis(500);
    let running = common::start_over(&config, &host, &members, dns.clone()).await;

    host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    host.create(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "nginx", "namespace": NS},
        "spec": {"type": "LoadBalancer", "selector": {"run": "nginx"}, "ports": [{"port": 80}]},
    }))
    .unwrap();
    eventually("the status shows every member's ingress", || {
        host.get("v1", "Service", NS, "nginx").ok().and_then(|s| {
            s["status"]["loadBalancer"]["ingress"]
                .as_array()
                .map(Vec::len)
        }) == Some(4)
    })
    .await;
    // A renewal or two of the Lease.
    tokio::time::sleep(Duration::from_millis(600)).await;
    host.delete("v1", "Service", NS, "nginx").unwrap();
    eventually("the deleted service is gone", || {
        host.get("v1", "Service", NS, "nginx").is_err()
    })
    .await;
    let mut left = false;
    for _ in 0..200 {
        if dns.list().await.unwrap().is_empty() {
            left = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(left, "records left after the deletion");

    // A federated Deployment's whole life, with a ConfigMap and a Secret going along.
    host.create(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web-config", "namespace": NS}, "data": {"A": "1"}}))
        .unwrap();
    host.create(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "web-secret", "namespace": NS}, "data": {"B": "Mg=="}}))
        .unwrap();
    host.create(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "web", "image": "nginx",
                "envFrom": [{"configMapRef": {"name": "web-config"}},
                            {"secretRef": {"name": "web-secret"}}]}]}}},
    }))
    .unwrap();
    eventually("the federated deployment shows 4 ready replicas", || {
        host.get("apps/v1", "Deployment", NS, "web")
            .is_ok_and(|d| d["status"]["readyReplicas"] == 4)
    })
    .await;
    host.delete("apps/v1", "Deployment", NS, "web").unwrap();
    eventually("the deleted deployment is gone", || {
        host.get("apps/v1", "Deployment", NS, "web").is_err()
    })
    .await;
    running.shutdown(Duration::from_secs(5)).await;
    host.requests().iter().filter_map(access).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_role_grants_exactly_the_verbs_it_uses() {
    let granted = granted();
    let used = recorded_run().await;
    assert!(!used.is_empty());

    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for a in &used {
        let key = (a.group.clone(), a.resource.clone(), a.verb.clone());
        match granted.get(&key) {
            None => missing.push(format!("{a:?}")),
            Some(Some(ns)) if a.namespace.as_deref() != Some(ns) => {
                missing.push(format!("{a:?} (granted in namespace {ns} only)"));
            }
            Some(_) => {}
        }
        seen.insert(key);
    }
    assert!(missing.is_empty(), "used but not granted: {missing:#?}");

    let unused: Vec<_> = granted
        .keys()
        .filter(|k| !seen.contains(*k))
        .filter(|(g, r, v)| {
            !GRANTED_BUT_NOT_SEEN
                .iter()
                .any(|(g2, r2, v2)| g == g2 && r == r2 && v == v2)
        })
        .collect();
    assert!(
        unused.is_empty(),
        "granted but never used: {unused:?}\nused: {used:#?}"
    );
}

#[test]
fn requests_map_to_rbac_verbs() {
    let r = |method: &str, path: &str, query: &str| RequestRecord {
        method: method.into(),
        path: path.into(),
        query: query.into(),
    };
    let a = |g: &str, res: &str, ns: Option<&str>, verb: &str| Access {
        group: g.into(),
        resource: res.into(),
        namespace: ns.map(Into::into),
        verb: verb.into(),
    };
    assert_eq!(
        access(&r(
            "GET",
            "/api/v1/services",
            "watch=true&resourceVersion=1"
        )),
        Some(a("", "services", None, "watch"))
    );
    assert_eq!(
        access(&r("PATCH", "/api/v1/namespaces/ns/services/web/status", "")),
        Some(a("", "services/status", Some("ns"), "patch"))
    );
    assert_eq!(
        access(&r(
            "PUT",
            "/apis/coordination.k8s.io/v1/namespaces/fedsvc-system/leases/x",
            ""
        )),
        Some(a(
            "coordination.k8s.io",
            "leases",
            Some("fedsvc-system"),
            "update"
        ))
    );
    assert_eq!(
        access(&r("GET", "/apis/fedsvc.io/v1alpha1/clusters", "")),
        Some(a("fedsvc.io", "clusters", None, "list"))
    );
    assert_eq!(
        access(&r("GET", "/api/v1/namespaces", "")),
        Some(a("", "namespaces", None, "list"))
    );
    assert_eq!(access(&r("GET", "/version", "")), None);
}
