//! The real `fedsvc-local-dns` binary: without a cluster, and against the Kubernetes API
//! emulator; stopped with SIGTERM.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::Stdio;
use std::time::Duration;

use fedsvc_emulator::ApiServer;
use hickory_proto::rr::RecordType;
use serde_json::json;
use tokio::process::{Child, Command};

use crate::util::{LOCAL_TARGET, QNAME, ZONE_TARGET, ask, dig, dig_available, eventually, summary};

const BIN: &str = env!("CARGO_BIN_EXE_fedsvc-local-dns");

/// A loopback port free for both UDP and TCP right now.
fn free_port() -> SocketAddr {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free port");
}

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start fedsvc-local-dns")
}

/// Waits until the server accepts TCP connections (it binds only once it is ready).
async fn wait_listening(addr: SocketAddr, child: &mut Child) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("fedsvc-local-dns exited early: {status}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "server never listened on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends SIGTERM and checks a clean exit with a shutdown log line.
async fn terminate(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        e.read_to_string(&mut stderr).await.unwrap();
    }
    assert!(exit.success(), "exit {exit}: {stderr}");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
}

#[tokio::test]
async fn clusterless_binary_answers_and_stops_on_sigterm() {
    let addr = free_port();
    let listen = addr.to_string();
    let mut child = spawn(&[
        "--listen",
        &listen,
        "--federation",
        "myfederation=example.com",
        "--zone",
        "us-central1-f",
        "--region",
        "us-central1",
        "--static-ready",
        "mynamespace/nginx",
        "--upstream",
        "none",
    ]);
    wait_listening(addr, &mut child).await;
    let r = ask(addr, QNAME, RecordType::A, false).await;
    assert_eq!(summary(&r).1.as_deref(), Some(LOCAL_TARGET));
    let other = "web.mynamespace.myfederation.svc.cluster.local.";
    let r = ask(addr, other, RecordType::A, true).await;
    assert_eq!(
        summary(&r).1.as_deref(),
        Some("web.mynamespace.myfederation.svc.us-central1-f.example.com.")
    );
    if dig_available() {
        let d = dig(addr, QNAME, "A", &[]).await;
        assert_eq!(d.answers[0].3, LOCAL_TARGET);
    }
    terminate(child).await;
}

#[tokio::test]
async fn usage_and_configuration_errors_exit_2() {
    for args in [
        &["--federation", "nope"][..],
        &["--federation", "f=example.com", "--no-cluster"][..],
        &[
            "--federation",
            "f=example.com",
            "--no-cluster",
            "--zone",
            "z",
            "--region",
            "r",
            "--upstream",
            "nonsense",
        ][..],
    ] {
        let out = Command::new(BIN).args(args).output().await.unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn managed_service(namespace: &str, name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "fedsvc",
                "fedsvc.io/federation": "myfederation",
            },
        },
        "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": 80, "protocol": "TCP"}]},
    })
}

#[tokio::test]
async fn binary_watches_a_cluster_and_reads_its_zone_from_the_nodes() {
    let api = ApiServer::start().await;
    api.add_node("node-a", Some("us-central1-f"), Some("us-central1"))
        .unwrap();
    api.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}}))
        .unwrap();
    api.create(managed_service("mynamespace", "nginx")).unwrap();
    api.set_endpoints("mynamespace", "nginx", 2, 0).unwrap();
    let dir = std::env::temp_dir().join(format!("fedsvc-local-dns-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig_yaml("member")).unwrap();

    let addr = free_port();
    let listen = addr.to_string();
    let mut child = spawn(&[
        "--listen",
        &listen,
        "--federation",
        "myfederation=example.com",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--upstream",
        "none",
        "--sync-timeout",
        "10",
    ]);
    wait_listening(addr, &mut child).await;
    let r = ask(addr, QNAME, RecordType::A, false).await;
    assert_eq!(summary(&r).1.as_deref(), Some(LOCAL_TARGET));

    api.set_endpoints("mynamespace", "nginx", 0, 2).unwrap();
    eventually(
        "the binary to see the endpoints go unready",
        || async move {
            summary(&ask(addr, QNAME, RecordType::A, false).await)
                .1
                .as_deref()
                == Some(ZONE_TARGET)
        },
    )
    .await;
    terminate(child).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a TCP readiness probe on the port means: the port opens once the first listing of the
/// cluster's services is complete, or once `--sync-timeout` has passed without it. From then on
/// the answers are the federated CNAMEs of the zone until the listing completes, and the local
/// CNAME after.
#[tokio::test]
async fn without_a_listing_the_port_opens_at_the_sync_timeout_with_federated_answers() {
    let api = ApiServer::start().await;
    api.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}}))
        .unwrap();
    api.create(managed_service("mynamespace", "nginx")).unwrap();
    api.set_endpoints("mynamespace", "nginx", 2, 0).unwrap();
    // The member's API refuses connections: no listing can complete.
    api.set_reachable(false);
    let dir = std::env::temp_dir().join(format!(
        "fedsvc-local-dns-sync-timeout-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig_yaml("member")).unwrap();

    let addr = free_port();
    let listen = addr.to_string();
    let started = tokio::time::Instant::now();
    let mut child = spawn(&[
        "--listen",
        &listen,
        "--federation",
        "myfederation=example.com",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--zone",
        "us-central1-f",
        "--region",
        "us-central1",
        "--upstream",
        "none",
        "--sync-timeout",
        "3",
    ]);
    // Not Ready while the first listing may still finish.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port opened before the listing or the timeout"
    );
    wait_listening(addr, &mut child).await;
    assert!(started.elapsed() >= Duration::from_secs(3));
    // Ready without a listing: the service's local endpoints are not known, so the answer is
    // the zone's federated name.
    let r = ask(addr, QNAME, RecordType::A, false).await;
    assert_eq!(summary(&r).1.as_deref(), Some(ZONE_TARGET));

    // The API answers again: the listing completes and the local shard is used.
    api.set_reachable(true);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = ask(addr, QNAME, RecordType::A, false).await;
        if summary(&r).1.as_deref() == Some(LOCAL_TARGET) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listing never completed after the API came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    terminate(child).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--context` alone picks a context of `$KUBECONFIG`: an unknown one is an error naming it,
/// never the current context (another cluster) or the in-cluster account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_alone_is_honoured() {
    let api = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig_yaml("member")).unwrap();
    let addr = free_port();
    let listen = addr.to_string();
    let base = [
        "--listen",
        listen.as_str(),
        "--federation",
        "myfederation=example.com",
        "--upstream",
        "none",
        "--zone",
        "z",
        "--region",
        "r",
    ];

    let out = Command::new(BIN)
        .args(base)
        .args(["--context", "nonexistent"])
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir.path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("\"nonexistent\""), "{stderr}");

    let mut child = Command::new(BIN)
        .args(base)
        .args(["--context", "member", "--sync-timeout", "10"])
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir.path())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_listening(addr, &mut child).await;
    terminate(child).await;
}
