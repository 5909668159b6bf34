//! Object semantics through kube-rs: create, conflicts, patches, apply, finalizers, selectors.

use fedsvc_emulator::ApiServer;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"},
    }))
    .unwrap()
}

#[tokio::test]
async fn create_get_conflicts_and_not_found() {
    let server = ApiServer::start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(server.client());
    let created = api
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    let err = api
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap_err();
    let kube::Error::Api(s) = err else { panic!() };
    assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));

    let mut stale = created.clone();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "w"}})),
    )
    .await
    .unwrap();
    stale.data = Some([("k".to_owned(), "x".to_owned())].into());
    let err = api
        .replace("a", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    let kube::Error::Api(s) = err else { panic!() };
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));

    let err = api.get("missing").await.unwrap_err();
    let kube::Error::Api(s) = err else { panic!() };
    assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
    assert_eq!(s.message, "configmaps \"missing\" not found");
    assert!(api.get_opt("missing").await.unwrap().is_none());
}

#[tokio::test]
async fn generate_name_json_patch_and_namespace_checks() {
    let server = ApiServer::start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(server.client());
    let mut obj = cm("", json!({}));
    obj.metadata.name = None;
    obj.metadata.generate_name = Some("gen-".into());
    let created = api.create(&PostParams::default(), &obj).await.unwrap();
    let name = created.metadata.name.unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::<()>::Json(
                serde_json::from_value(json!([
                    {"op": "add", "path": "/data/extra", "value": "1"},
                    {"op": "remove", "path": "/data/k"},
                ]))
                .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap().keys().collect::<Vec<_>>(), ["extra"]);

    let missing: Api<ConfigMap> = Api::namespaced(server.client(), "nope");
    let err = missing
        .create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap_err();
    let kube::Error::Api(s) = err else { panic!() };
    assert_eq!(s.code, 404);
    let ns: Api<Namespace> = Api::all(server.client());
    assert!(ns.get("default").await.is_ok());
}

#[tokio::test]
async fn server_side_apply_defaults_services_without_loops() {
    let server = ApiServer::start().await;
    let api: Api<Service> = Api::default_namespaced(server.client());
    let applied: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }))
    .unwrap();
    let pp = PatchParams::apply("test").force();
    let a = api
        .patch("web", &pp, &Patch::Apply(&applied))
        .await
        .unwrap();
    let spec = a.spec.clone().unwrap();
    assert!(spec.cluster_ip.unwrap().starts_with("10.96."));
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Cluster"));
    assert_eq!(spec.session_affinity.as_deref(), Some("None"));
    assert_eq!(spec.internal_traffic_policy.as_deref(), Some("Cluster"));
    assert_eq!(spec.ip_families.unwrap(), ["IPv4"]);
    assert!(spec.ports.unwrap()[0].node_port.is_some());
    let b = api
        .patch("web", &pp, &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(a.metadata.resource_version, b.metadata.resource_version);
    let mf = b.metadata.managed_fields.unwrap();
    assert_eq!(mf[0].manager.as_deref(), Some("test"));
}

#[tokio::test]
async fn status_subresource_and_finalizers() {
    let server = ApiServer::start().await;
    let api: Api<Service> = Api::default_namespaced(server.client());
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web", "finalizers": ["fedsvc.io/cleanup"]},
        "spec": {"ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &svc).await.unwrap();
    // Status is not taken from a create or from a main-resource patch.
    assert!(
        created
            .status
            .unwrap()
            .load_balancer
            .unwrap()
            .ingress
            .is_none()
    );
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}})),
        )
        .await
        .unwrap();
    assert!(
        patched
            .status
            .unwrap()
            .load_balancer
            .unwrap()
            .ingress
            .is_none()
    );
    let st = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        st.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0]
            .ip
            .as_deref(),
        Some("1.2.3.4")
    );

    api.delete("web", &DeleteParams::default()).await.unwrap();
    let marked = api.get("web").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("web").await.unwrap().is_none());
}

#[tokio::test]
async fn label_and_field_selectors() {
    let server = ApiServer::start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(server.client());
    for (n, tier) in [("a", "fe"), ("b", "be"), ("c", "db")] {
        api.create(
            &PostParams::default(),
            &cm(n, json!({"tier": tier, "app": "x"})),
        )
        .await
        .unwrap();
    }
    api.create(&PostParams::default(), &cm("d", json!({})))
        .await
        .unwrap();
    let names = |l: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect()
    };
    let q = |s: &str| ListParams::default().labels(s);
    assert_eq!(names(api.list(&q("tier=fe")).await.unwrap()), ["a"]);
    assert_eq!(
        names(api.list(&q("tier!=fe,app")).await.unwrap()),
        ["b", "c"]
    );
    assert_eq!(
        names(api.list(&q("tier in (fe,db)")).await.unwrap()),
        ["a", "c"]
    );
    assert_eq!(
        names(api.list(&q("tier notin (fe,db)")).await.unwrap()),
        ["b", "d"]
    );
    assert_eq!(names(api.list(&q("!app")).await.unwrap()), ["d"]);
    let f = ListParams::default().fields("metadata.name=b");
    assert_eq!(names(api.list(&f).await.unwrap()), ["b"]);
    let page = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.metadata.remaining_item_count, Some(2));
    let token = page.metadata.continue_.clone().unwrap();
    assert_eq!(names(page), ["a", "b"]);
    let rest = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert!(rest.metadata.continue_.is_none(), "the last page");
    assert_eq!(names(rest), ["c", "d"]);
    // Pages of a selection count only what matches.
    let page = api.list(&q("app").limit(1)).await.unwrap();
    assert_eq!(page.metadata.remaining_item_count, Some(2));
    let token = page.metadata.continue_.clone().unwrap();
    assert_eq!(names(page), ["a"]);
    let rest = api
        .list(&q("app").limit(5).continue_token(&token))
        .await
        .unwrap();
    assert!(rest.metadata.continue_.is_none(), "the last page");
    assert_eq!(names(rest), ["b", "c"]);
}

#[tokio::test]
async fn store_helpers_play_controllers() {
    let server = ApiServer::start().await;
    server
        .create(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}))
        .unwrap();
    server
        .set_load_balancer_ingress("default", "web", &["203.0.113.1"], &["a.example"])
        .unwrap();
    server.set_endpoints("default", "web", 2, 1).unwrap();
    let svc = server.get("v1", "Service", "default", "web").unwrap();
    assert_eq!(
        svc["status"]["loadBalancer"]["ingress"][1]["hostname"],
        "a.example"
    );
    let slices = server
        .list("discovery.k8s.io/v1", "EndpointSlice", Some("default"))
        .unwrap();
    assert_eq!(slices.len(), 1);
    assert_eq!(slices[0]["endpoints"].as_array().unwrap().len(), 3);
    server.add_node("n1", Some("z1"), Some("r1")).unwrap();
    assert_eq!(server.list("v1", "nodes", None).unwrap().len(), 1);
    assert!(server.get("v1", "Service", "default", "nope").is_err());
    assert!(
        server
            .put(json!({"apiVersion": "x/v1", "kind": "Nope", "metadata": {"name": "a"}}))
            .is_err()
    );
}

#[tokio::test]
async fn a_control_plane_alone_runs_no_workload_controllers() {
    let server = ApiServer::start().await;
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
        },
    });
    server.set_workload_controllers(false);
    server.create(deployment.clone()).unwrap();
    let stored = server
        .get("apps/v1", "Deployment", "default", "web")
        .unwrap();
    assert!(
        stored["status"].is_null() || stored["status"]["replicas"].is_null(),
        "{stored}"
    );
    assert!(
        server
            .list("apps/v1", "ReplicaSet", Some("default"))
            .unwrap()
            .is_empty()
    );
    assert!(
        server
            .list("v1", "Pod", Some("default"))
            .unwrap()
            .is_empty()
    );
    // A cluster's controllers, on again, act on what was written from then on.
    server.set_workload_controllers(true);
    let mut again = deployment;
    again["metadata"]["name"] = json!("api");
    server.create(again).unwrap();
    assert_eq!(server.list("v1", "Pod", Some("default")).unwrap().len(), 2);
}
