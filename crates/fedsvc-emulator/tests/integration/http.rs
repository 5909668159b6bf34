//! Discovery, health switches, reachability and latency.

use std::time::{Duration, Instant};

use fedsvc_emulator::ApiServer;

async fn get(server: &ApiServer, path: &str, accept: &str) -> Result<String, kube::Error> {
    let req = http::Request::get(path)
        .header("accept", accept)
        .body(Vec::new())
        .unwrap();
    server.client().request_text(req).await
}

#[tokio::test]
async fn discovery_documents() {
    let server = ApiServer::start().await;
    let api: serde_json::Value =
        serde_json::from_str(&get(&server, "/api", "application/json").await.unwrap()).unwrap();
    assert_eq!(api["versions"][0], "v1");
    let apis: serde_json::Value =
        serde_json::from_str(&get(&server, "/apis", "application/json").await.unwrap()).unwrap();
    let groups: Vec<&str> = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in [
        "discovery.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
        "fedsvc.io",
    ] {
        assert!(groups.contains(&g), "{g} missing from {groups:?}");
    }
    let core: serde_json::Value =
        serde_json::from_str(&get(&server, "/api/v1", "application/json").await.unwrap()).unwrap();
    let names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for r in [
        "namespaces",
        "services",
        "services/status",
        "nodes",
        "secrets",
        "serviceaccounts",
        "configmaps",
        "events",
    ] {
        assert!(names.contains(&r), "{r} missing");
    }
    let fed: serde_json::Value = serde_json::from_str(
        &get(&server, "/apis/fedsvc.io/v1alpha1", "application/json")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(fed["resources"][0]["name"], "clusters");
    assert_eq!(fed["resources"][0]["namespaced"], false);
    // kube's own discovery works against it.
    let d = kube::Discovery::new(server.client()).run().await.unwrap();
    assert!(d.has_group("fedsvc.io"));
}

#[tokio::test]
async fn tables_for_kubectl() {
    let server = ApiServer::start().await;
    server
        .create(serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]}}))
        .unwrap();
    let t: serde_json::Value = serde_json::from_str(
        &get(
            &server,
            "/api/v1/namespaces/default/services",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &cols[..6],
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age"
        ]
    );
    assert_eq!(t["rows"][0]["cells"][3], "<none>");
    assert_eq!(t["rows"][0]["cells"][4], "80:30000/TCP");
}

#[tokio::test]
async fn health_reachability_and_latency_switches() {
    let server = ApiServer::start().await;
    for p in ["/readyz", "/healthz", "/livez"] {
        assert_eq!(get(&server, p, "*/*").await.unwrap(), "ok");
    }
    server.set_healthy(false);
    let kube::Error::Api(s) = get(&server, "/readyz", "*/*").await.unwrap_err() else {
        panic!()
    };
    assert_eq!(s.code, 500);
    server.set_healthy(true);

    server.set_latency(Duration::from_millis(300));
    let t = Instant::now();
    get(&server, "/readyz", "*/*").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    server.set_latency(Duration::ZERO);

    server.set_reachable(false);
    let e = get(&server, "/readyz", "*/*").await.unwrap_err();
    assert!(!matches!(e, kube::Error::Api(_)), "{e:?}");
    assert!(tokio::net::TcpStream::connect(server.addr()).await.is_err());
    server.set_reachable(true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(&server, "/readyz", "*/*").await.unwrap(), "ok");
    assert!(server.requests().iter().any(|r| r.path == "/readyz"));
}
