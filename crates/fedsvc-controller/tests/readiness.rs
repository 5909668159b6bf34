//! `/readyz` tells the truth: not ready before the federation API's services and clusters are
//! listed, nor while that API does not answer; ready against a working API (the emulator).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::StaticMembers;
use fedsvc_emulator::ApiServer;
use fedsvc_providers::MemoryProvider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` on `addr`: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// Polls `/readyz` until `want` holds of its answer; the bound (a minute) only keeps a broken
/// build from hanging.
async fn readyz_until(running: &Running, what: &str, want: impl Fn(u16, &str) -> bool) {
    let mut last = (0, String::new());
    for _ in 0..600 {
        last = get(running.http_addr, "/readyz").await;
        if want(last.0, &last.1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never {what}; last answer {last:?}");
}

/// A controller (memory DNS, no members, no election) on `host`; the federation API counts as
/// unreachable after `unreachable_for`.
async fn controller(host: kube::Client, unreachable_for: Duration) -> Running {
    fedsvc_emulator::install_crypto_provider();
    let dns = fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")
        .unwrap();
    let mut config = ControllerConfig::new("myfederation", "example.com", dns);
    config.leader_election.enabled = false;
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.readiness.api_unreachable_for = unreachable_for;
    start(
        &config,
        Parts {
            host,
            members: Arc::new(StaticMembers::default()),
            provider: Some(Arc::new(MemoryProvider::new(
                "example.com".parse().unwrap(),
            ))),
            resolver: None,
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_the_federation_api_is_unreachable() {
    fedsvc_emulator::install_crypto_provider();
    // A loopback port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut kube = kube::Config::new(format!("http://{closed}").parse().unwrap());
    kube.connect_timeout = Some(Duration::from_secs(1));
    let host = kube::Client::try_from(kube).unwrap();
    let running = controller(host, Duration::from_secs(1)).await;

    // Never ready: nothing is listed, and after a second the API counts as unreachable.
    readyz_until(&running, "said the API does not answer", |status, body| {
        status == 503 && body.contains("the federation API has not answered for")
    })
    .await;
    let (status, body) = get(running.http_addr, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("the federation API's services are not listed yet"),
        "{body}"
    );
    // Alive all the same: restarting would not bring the API back.
    assert_eq!(get(running.http_addr, "/healthz").await, (200, "ok".into()));
    running.shutdown(Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_against_the_api_then_not_while_it_is_gone() {
    let api = ApiServer::start().await;
    let running = controller(api.client(), Duration::from_secs(1)).await;
    readyz_until(&running, "became ready", |status, body| {
        status == 200 && body == "ok"
    })
    .await;

    api.set_reachable(false);
    readyz_until(&running, "noticed the API is gone", |status, body| {
        status == 503 && body.starts_with("the federation API has not answered for")
    })
    .await;
    assert_eq!(get(running.http_addr, "/healthz").await.0, 200);

    api.set_reachable(true);
    readyz_until(&running, "became ready again", |status, _| status == 200).await;
    running.shutdown(Duration::from_secs(10)).await;
}
