//! Answers in Protocol Buffers: plain HTTP/1.1 requests with `Accept:
//! application/vnd.kubernetes.protobuf`, their bodies decoded with the Kubernetes API's
//! published bindings (`k8s-pb`), as a Go client would decode them.

use fedsvc_emulator::ApiServer;
use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::autoscaling::v1 as autoscaling;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// An answer: status code, `Content-Type` and body.
struct Answer {
    code: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    /// The message of a Protocol Buffers answer, after checking its envelope as a Go client
    /// reads it: `k8s\0`, then a `runtime.Unknown` of this `apiVersion` and kind.
    fn message<M: Message + Default>(&self, api_version: &str, kind: &str) -> M {
        assert_eq!(self.content_type, PROTOBUF, "{}", self.text());
        let envelope = self
            .body
            .strip_prefix(b"k8s\0")
            .unwrap_or_else(|| panic!("no k8s\\0 prefix: {:?}", self.body));
        let unknown = Unknown::decode(envelope).expect("a runtime.Unknown");
        let type_meta = unknown.type_meta.expect("typeMeta");
        assert_eq!(type_meta.api_version.as_deref(), Some(api_version));
        assert_eq!(type_meta.kind.as_deref(), Some(kind));
        assert_eq!(unknown.content_type.as_deref(), Some(""));
        M::decode(unknown.raw.expect("raw").as_slice()).expect("the object's message")
    }

    fn json(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "{}",
            self.content_type
        );
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one HTTP/1.1 request over a new connection and reads the whole answer.
async fn send(
    server: &ApiServer,
    method: &str,
    path: &str,
    accept: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    let mut conn = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\nConnection: close\r\n",
        server.addr()
    );
    let payload = match body {
        Some((content_type, bytes)) => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                bytes.len()
            ));
            bytes
        }
        None => Vec::new(),
    };
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&payload).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the end of the headers");
    let headers = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = headers.lines();
    let code = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut content_type = String::new();
    let mut chunked = false;
    for l in lines {
        let (k, v) = l.split_once(':').unwrap();
        match k.to_ascii_lowercase().as_str() {
            "content-type" => content_type = v.trim().to_owned(),
            "transfer-encoding" => chunked = v.trim() == "chunked",
            _ => {}
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        code,
        content_type,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw = &raw[line_end + 4 + size..];
    }
}

async fn get(server: &ApiServer, path: &str, accept: &str) -> Answer {
    send(server, "GET", path, accept, None).await
}

/// A Protocol Buffers request body, as kubectl's typed commands send it.
fn body(api_version: &str, kind: &str, message: &impl Message) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(message.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = b"k8s\0".to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

#[tokio::test]
async fn a_namespace_in_protobuf() {
    let server = ApiServer::start().await;
    server
        .create(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "demo", "labels": {"team": "dns"},
                "annotations": {"note": "hello"}, "finalizers": ["example.com/keep"]}}))
        .unwrap();
    let a = get(&server, "/api/v1/namespaces/demo", PROTOBUF).await;
    assert_eq!(a.code, 200);
    let ns: core::Namespace = a.message("v1", "Namespace");
    let m = ns.metadata.unwrap();
    assert_eq!(m.name.as_deref(), Some("demo"));
    assert_eq!(m.labels["team"], "dns");
    assert_eq!(m.annotations["note"], "hello");
    assert_eq!(m.finalizers, ["example.com/keep"]);
    assert!(m.uid.is_some_and(|u| u.len() == 36));
    assert!(
        m.resource_version
            .is_some_and(|rv| rv.parse::<u64>().is_ok())
    );
    assert!(m.creation_timestamp.unwrap().seconds.unwrap() > 1_700_000_000);
    assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Active"));

    // kubectl's header, JSON as a second choice: still Protocol Buffers, and recorded.
    let a = get(
        &server,
        "/api/v1/namespaces/demo",
        "application/vnd.kubernetes.protobuf, application/json",
    )
    .await;
    let _: core::Namespace = a.message("v1", "Namespace");
    let answered = server.protobuf_answers();
    assert_eq!(answered.len(), 2);
    assert_eq!(
        (answered[0].method.as_str(), answered[0].path.as_str()),
        ("GET", "/api/v1/namespaces/demo")
    );
    // JSON first, or no Accept at all: JSON.
    for accept in [
        "application/json, application/vnd.kubernetes.protobuf",
        "*/*",
    ] {
        let a = get(&server, "/api/v1/namespaces/demo", accept).await;
        assert_eq!(a.json()["metadata"]["name"], "demo");
    }
    assert_eq!(server.protobuf_answers().len(), 2);
}

#[tokio::test]
async fn a_config_map_list_in_protobuf() {
    let server = ApiServer::start().await;
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db")] {
        server
            .create(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "default", "labels": {"tier": tier}},
                "data": {"key": format!("value of {name}")}, "binaryData": {"bin": "AAEC"}}))
            .unwrap();
    }
    let a = get(
        &server,
        "/api/v1/namespaces/default/configmaps?labelSelector=tier%3Dweb",
        PROTOBUF,
    )
    .await;
    assert_eq!(a.code, 200);
    let list: core::ConfigMapList = a.message("v1", "ConfigMapList");
    assert_eq!(
        list.metadata.unwrap().resource_version,
        Some(server.resource_version().to_string())
    );
    let names: Vec<_> = list
        .items
        .iter()
        .map(|c| c.metadata.as_ref().unwrap().name.clone().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(list.items[1].data["key"], "value of b");
    assert_eq!(list.items[1].binary_data["bin"], [0, 1, 2]);

    // Pages carry their continue token.
    let a = get(
        &server,
        "/api/v1/namespaces/default/configmaps?limit=2",
        PROTOBUF,
    )
    .await;
    let page: core::ConfigMapList = a.message("v1", "ConfigMapList");
    let meta = page.metadata.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(meta.r#continue.as_deref(), Some("2"));
    assert_eq!(meta.remaining_item_count, Some(1));
}

#[tokio::test]
async fn errors_are_a_status_in_protobuf() {
    let server = ApiServer::start().await;
    let a = get(
        &server,
        "/api/v1/namespaces/default/configmaps/missing",
        PROTOBUF,
    )
    .await;
    assert_eq!(a.code, 404);
    let s: meta::Status = a.message("v1", "Status");
    assert_eq!(s.code, Some(404));
    assert_eq!(s.reason.as_deref(), Some("NotFound"));
    assert_eq!(s.status.as_deref(), Some("Failure"));
    assert_eq!(
        s.message.as_deref(),
        Some("configmaps \"missing\" not found")
    );
    let details = s.details.unwrap();
    assert_eq!(
        (details.name.as_deref(), details.kind.as_deref()),
        (Some("missing"), Some("configmaps"))
    );

    // A create in Protocol Buffers both ways, then 409 AlreadyExists.
    let ns = core::Namespace {
        metadata: Some(meta::ObjectMeta {
            name: Some("demo".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let post = || {
        send(
            &server,
            "POST",
            "/api/v1/namespaces",
            PROTOBUF,
            Some((PROTOBUF, body("v1", "Namespace", &ns))),
        )
    };
    let a = post().await;
    assert_eq!(a.code, 201);
    let created: core::Namespace = a.message("v1", "Namespace");
    assert!(created.metadata.unwrap().uid.is_some());
    let a = post().await;
    assert_eq!(a.code, 409);
    let s: meta::Status = a.message("v1", "Status");
    assert_eq!(
        (s.code, s.reason.as_deref()),
        (Some(409), Some("AlreadyExists"))
    );

    // A delete answers with the deleted object; a collection delete with the list.
    let a = send(&server, "DELETE", "/api/v1/namespaces/demo", PROTOBUF, None).await;
    assert_eq!(a.code, 200);
    let gone: core::Namespace = a.message("v1", "Namespace");
    assert_eq!(gone.metadata.unwrap().name.as_deref(), Some("demo"));
    server
        .create(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "default"}}))
        .unwrap();
    let a = send(
        &server,
        "DELETE",
        "/api/v1/namespaces/default/configmaps",
        PROTOBUF,
        None,
    )
    .await;
    let list: core::ConfigMapList = a.message("v1", "ConfigMapList");
    assert_eq!(list.items.len(), 1);
}

#[tokio::test]
async fn a_scale_in_protobuf() {
    let server = ApiServer::start().await;
    server
        .create(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}))
        .unwrap();
    let path = "/apis/apps/v1/namespaces/default/deployments/web/scale";
    let a = get(&server, path, PROTOBUF).await;
    assert_eq!(a.code, 200);
    let scale: autoscaling::Scale = a.message("autoscaling/v1", "Scale");
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(2));
    let status = scale.status.as_ref().unwrap();
    assert_eq!(status.replicas, Some(2));
    assert_eq!(status.selector.as_deref(), Some("app=web"));

    // Written back in Protocol Buffers, as client-go's scale client can.
    let mut next = scale.clone();
    next.spec = Some(autoscaling::ScaleSpec { replicas: Some(0) });
    let a = send(
        &server,
        "PUT",
        path,
        PROTOBUF,
        Some((PROTOBUF, body("autoscaling/v1", "Scale", &next))),
    )
    .await;
    assert_eq!(a.code, 200, "{}", a.text());
    let scaled: autoscaling::Scale = a.message("autoscaling/v1", "Scale");
    assert_eq!(scaled.spec.unwrap().replicas, Some(0));
    let d: apps::Deployment = get(
        &server,
        "/apis/apps/v1/namespaces/default/deployments/web",
        PROTOBUF,
    )
    .await
    .message("apps/v1", "Deployment");
    assert_eq!(d.spec.unwrap().replicas, Some(0));
    assert_eq!(d.status.unwrap().conditions.len(), 2);
}

#[tokio::test]
async fn what_is_not_encoded_is_json_or_refused_naming_it() {
    let server = ApiServer::start().await;
    // A kind not mapped: JSON when the client takes it, else 406 naming the kind.
    let roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles";
    let a = get(&server, roles, PROTOBUF).await;
    assert_eq!(a.code, 406);
    let s = a.json();
    assert_eq!(s["reason"], "NotAcceptable");
    let msg = s["message"].as_str().unwrap();
    assert!(
        msg.contains("rbac.authorization.k8s.io/v1 RoleList"),
        "{msg}"
    );
    let a = get(
        &server,
        roles,
        "application/vnd.kubernetes.protobuf, application/json",
    )
    .await;
    assert_eq!(a.json()["kind"], "RoleList");
    // Nothing was created when a create is refused for its answer.
    let role = serde_json::to_vec(&json!({"apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role", "metadata": {"name": "r"}, "rules": []}))
    .unwrap();
    let a = send(
        &server,
        "POST",
        roles,
        PROTOBUF,
        Some(("application/json", role)),
    )
    .await;
    assert_eq!(a.code, 406);
    assert!(
        server
            .get("rbac.authorization.k8s.io/v1", "Role", "default", "r")
            .is_err()
    );

    // Watches and Tables are JSON.
    let watch = "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1";
    let a = get(&server, watch, PROTOBUF).await;
    assert_eq!(a.code, 406);
    assert!(a.json()["message"].as_str().unwrap().contains("watch"));
    let a = get(
        &server,
        watch,
        "application/vnd.kubernetes.protobuf, application/json",
    )
    .await;
    assert_eq!((a.code, a.content_type.as_str()), (200, "application/json"));
    let table = "application/json;as=Table;v=v1;g=meta.k8s.io, application/vnd.kubernetes.protobuf";
    let a = get(&server, "/api/v1/namespaces", table).await;
    assert_eq!(a.json()["kind"], "Table");
    let a = get(
        &server,
        "/api/v1/namespaces",
        "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
    )
    .await;
    assert_eq!(a.code, 406);

    // Discovery is JSON only.
    let a = get(&server, "/api/v1", PROTOBUF).await;
    assert_eq!(a.code, 406);
    assert!(a.json()["message"].as_str().unwrap().contains("discovery"));
    assert_eq!(get(&server, "/api/v1", "application/json").await.code, 200);

    // Stored JSON that does not fit the message (the emulator does not validate what it
    // stores): JSON for a client that takes it, else a 500 Status naming the field.
    server
        .put(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "odd", "namespace": "default"},
            "spec": {"ports": [{"port": "eighty"}]}}))
        .unwrap();
    let odd = "/api/v1/namespaces/default/services/odd";
    let a = get(&server, odd, PROTOBUF).await;
    assert_eq!(a.code, 500);
    let s: meta::Status = a.message("v1", "Status");
    let msg = s.message.unwrap();
    assert!(
        msg.contains("spec.ports[0].port: expected a 32-bit integer, found \"eighty\""),
        "{msg}"
    );
    let a = get(
        &server,
        odd,
        "application/vnd.kubernetes.protobuf, application/json",
    )
    .await;
    assert_eq!(a.json()["spec"]["ports"][0]["port"], "eighty");
}
