//! Watches through kube-rs and raw HTTP: events, selectors, bookmarks, 410 Gone.

use std::time::Duration;

use fedsvc_emulator::ApiServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::json;

fn cm(name: &str, app: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": app}}})).unwrap()
}

async fn next<T>(s: &mut (impl futures::Stream<Item = Result<T, kube::Error>> + Unpin)) -> T {
    tokio::time::timeout(Duration::from_secs(5), s.try_next())
        .await
        .expect("an event within 5 s")
        .unwrap()
        .expect("the stream goes on")
}

#[tokio::test]
async fn watch_from_a_version_sees_changes_with_selectors() {
    let server = ApiServer::start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(server.client());
    let list = api.list(&Default::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let wp = WatchParams::default().labels("app=web").timeout(30);
    let mut s = api.watch(&wp, &rv).await.unwrap().boxed();
    api.create(&PostParams::default(), &cm("other", "db"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("a", "web"))
        .await
        .unwrap();
    let WatchEvent::Added(o) = next(&mut s).await else {
        panic!()
    };
    assert_eq!(o.metadata.name.as_deref(), Some("a"));
    // Leaving the selection is a DELETED event.
    api.patch(
        "a",
        &Default::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})),
    )
    .await
    .unwrap();
    let WatchEvent::Deleted(o) = next(&mut s).await else {
        panic!()
    };
    assert_eq!(o.metadata.name.as_deref(), Some("a"));
}

#[tokio::test]
async fn watch_from_a_compacted_version_gets_410() {
    let server = ApiServer::start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(server.client());
    let old = server.resource_version().to_string();
    server.set_history_window(1);
    for n in ["a", "b", "c"] {
        api.create(&PostParams::default(), &cm(n, "x"))
            .await
            .unwrap();
    }
    let mut s = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    let WatchEvent::Error(e) = next(&mut s).await else {
        panic!()
    };
    assert_eq!(e.code, 410);
}

#[tokio::test]
async fn bookmarks_and_expiry() {
    let server = ApiServer::start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(server.client());
    let rv = server.resource_version().to_string();
    let wp = WatchParams::default();
    assert!(wp.bookmarks);
    let mut s = api.watch(&wp, &rv).await.unwrap().boxed();
    let WatchEvent::Bookmark(b) = next(&mut s).await else {
        panic!()
    };
    assert!(!b.metadata.resource_version.is_empty());
    server.expire_watches();
    loop {
        match next(&mut s).await {
            WatchEvent::Error(e) => {
                assert_eq!(e.code, 410);
                break;
            }
            WatchEvent::Bookmark(_) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn watch_times_out_and_supports_watch_1() {
    let server = ApiServer::start().await;
    let url = format!(
        "{}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1",
        server.url()
    );
    let started = std::time::Instant::now();
    let body = raw_get(&server, &url).await;
    assert!(body.is_empty(), "{body}");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

async fn raw_get(server: &ApiServer, url: &str) -> String {
    let client = server.client();
    let req = http::Request::get(url.trim_start_matches(&server.url()))
        .body(Vec::new())
        .unwrap();
    client.request_text(req).await.unwrap()
}
