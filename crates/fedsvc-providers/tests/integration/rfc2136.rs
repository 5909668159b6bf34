//! The RFC 2136 backend against real BIND 9 and Knot.

use fedsvc_providers::{Config, DnsProvider, ProviderError, Rfc2136Provider};

use crate::conformance::{self, foreign_zone_lines, n};
use crate::support::servers::{KEY_NAME, Server, ZONE, free_port};

fn provider(server: &Server, batch: usize) -> Rfc2136Provider {
    Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig(KEY_NAME, "hmac-sha256", &server.secret)
        .unwrap()
        .with_batch_size(batch)
}

async fn conformance_on(server: Option<Server>) {
    let Some(server) = server else { return };
    let addr = server.addr;
    conformance::run_all(provider(&server, 3), Some(addr)).await;
    drop(server);
}

async fn wrong_key_on(server: Option<Server>) {
    let Some(server) = server else { return };
    conformance::wait_listable(&provider(&server, 50)).await;
    let wrong = Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig(
            KEY_NAME,
            "hmac-sha256",
            "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=",
        )
        .unwrap();
    let err = wrong
        .apply(&[conformance::create(vec![conformance::a(
            "x.example.com",
            60,
            &["10.0.0.1"],
        )])])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{text}");
    assert!(text.contains(&format!("rfc2136 {}", server.addr)), "{text}");
    assert!(
        text.contains("TSIG key ddns-key rejected (BADSIG)"),
        "{text}"
    );
    let err = wrong.list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");

    let unknown = Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig("other-key", "hmac-sha256", &server.secret)
        .unwrap();
    let err = unknown
        .apply(&[conformance::create(vec![conformance::a(
            "x.example.com",
            60,
            &["10.0.0.1"],
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("TSIG key other-key rejected (BADKEY)"),
        "{err}"
    );
    let err = unknown.list().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("TSIG key other-key rejected (BADKEY)"),
        "{err}"
    );

    let unsigned = Rfc2136Provider::new(n(ZONE), server.addr);
    let err = unsigned
        .apply(&[conformance::create(vec![conformance::a(
            "x.example.com",
            60,
            &["10.0.0.1"],
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    println!("wrong key: {text}\nunsigned: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_conformance() {
    conformance_on(Server::bind(&foreign_zone_lines())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_wrong_key() {
    wrong_key_on(Server::bind(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_conformance() {
    conformance_on(Server::knot(&foreign_zone_lines())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_wrong_key() {
    wrong_key_on(Server::knot(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_is_retryable() {
    let addr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = Rfc2136Provider::new(n(ZONE), addr)
        .with_tsig(KEY_NAME, "hmac-sha256", "c2VjcmV0")
        .unwrap()
        .with_timeout(std::time::Duration::from_millis(500));
    conformance::down_is_retryable(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_bind_is_retryable_and_keeps_zone() {
    let Some(mut server) = Server::bind(&foreign_zone_lines()) else {
        return;
    };
    let p = provider(&server, 50).with_timeout(std::time::Duration::from_millis(500));
    conformance::wait_listable(&p).await;
    server.kill();
    conformance::down_is_retryable(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_from_config_with_secret_file() {
    let Some(server) = Server::bind(&[]) else {
        return;
    };
    let key_file = server.dir.path().join("fedsvc.key");
    std::fs::write(&key_file, format!("{}\n", server.secret)).unwrap();
    let config = Config::from_yaml(&format!(
        "zone: {ZONE}\nprovider:\n  kind: rfc2136\n  server: {}\n  tsig: {{name: {KEY_NAME}, algorithm: hmac-sha256, secretFile: {}}}\n",
        server.addr,
        key_file.display()
    ))
    .unwrap();
    let p = config.build().await.unwrap();
    assert_eq!(p.name(), format!("rfc2136 {}", server.addr));
    conformance::wait_listable(&*p).await;
    p.apply(&[conformance::create(vec![conformance::a(
        "cfg.example.com",
        60,
        &["10.0.0.9"],
    )])])
    .await
    .unwrap();
    assert!(p.list().await.unwrap().contains(&conformance::a(
        "cfg.example.com",
        60,
        &["10.0.0.9"]
    )));
}

/// A zone too big for one AXFR message: the signed, multi-message transfer is read whole.
async fn large_zone_on(server: Option<Server>) {
    let Some(server) = server else { return };
    let p = fedsvc_providers::Retrying::new(provider(&server, 200));
    conformance::wait_listable(&p).await;
    let groups: Vec<_> = (0..1500)
        .map(|i| {
            conformance::create(vec![conformance::txt(
                &format!("n{i}.bulk.example.com"),
                60,
                &format!("heritage=fedsvc,fedsvc/owner=test,record number {i:05} padding padding"),
            )])
        })
        .collect();
    let report = p
        .apply_changes(&conformance::changes(groups))
        .await
        .unwrap();
    assert_eq!(report.batches, 8);
    let listed = p.list().await.unwrap();
    let bulk = listed
        .iter()
        .filter(|r| r.name().as_str().ends_with(".bulk.example.com."))
        .count();
    assert_eq!(bulk, 1500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_large_zone() {
    large_zone_on(Server::bind(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_large_zone() {
    large_zone_on(Server::knot(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_hmac_sha384_and_sha512() {
    for algorithm in ["hmac-sha384", "hmac-sha512"] {
        let Some(server) = Server::bind_with(&[], algorithm) else {
            return;
        };
        let p = Rfc2136Provider::new(n(ZONE), server.addr)
            .with_tsig(KEY_NAME, algorithm, &server.secret)
            .unwrap();
        conformance::wait_listable(&p).await;
        let rs = conformance::a("alg.example.com", 60, &["10.0.0.5"]);
        p.apply(&[conformance::create(vec![rs.clone()])])
            .await
            .unwrap();
        assert!(p.list().await.unwrap().contains(&rs), "{algorithm}");
        // The right secret under another algorithm is refused.
        let other = if algorithm == "hmac-sha384" {
            "hmac-sha512"
        } else {
            "hmac-sha384"
        };
        let wrong = Rfc2136Provider::new(n(ZONE), server.addr)
            .with_tsig(KEY_NAME, other, &server.secret)
            .unwrap();
        let err = wrong.list().await.unwrap_err();
        assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    }
    assert!(
        Rfc2136Provider::new(n(ZONE), "127.0.0.1:53".parse().unwrap())
            .with_tsig(KEY_NAME, "hmac-md5", "c2VjcmV0")
            .unwrap_err()
            .to_string()
            .contains("hmac-md5")
    );
}
