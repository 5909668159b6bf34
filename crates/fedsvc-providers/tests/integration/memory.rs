//! The memory backend, with and without its embedded DNS server.

use std::time::Duration;

use fedsvc_providers::{Config, DnsProvider, MemoryProvider};

use crate::conformance::{self, LIMIT_3, foreign_records, n};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_without_server() {
    let p = MemoryProvider::new(n("example.com")).with_limits(LIMIT_3);
    p.seed(foreign_records());
    conformance::run_all(p, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_with_embedded_server() {
    let mut p = MemoryProvider::new(n("example.com")).with_limits(LIMIT_3);
    p.seed(foreign_records());
    let addr = p.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_eq!(p.served_at(), Some(addr));
    conformance::run_all(p, Some(addr)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_is_retryable_and_changes_nothing() {
    let p = std::sync::Arc::new(MemoryProvider::new(n("example.com")));
    p.seed(foreign_records());
    p.set_available(false);
    conformance::down_is_retryable(p.clone()).await;
    p.set_available(true);
    let mut listed = p.list().await.unwrap();
    listed.sort();
    let mut want = foreign_records();
    want.sort();
    assert_eq!(listed, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_from_config_serves_dns() {
    let port = fedsvc_test_support::free_port();
    let config = Config::from_yaml(&format!(
        "zone: example.com\nprovider:\n  kind: memory\n  listen: 127.0.0.1:{port}\n"
    ))
    .unwrap();
    let p = config.build().await.unwrap();
    assert_eq!(p.name(), "memory example.com");
    p.apply(&[conformance::create(vec![conformance::a(
        "www.example.com",
        60,
        &["192.0.2.7"],
    )])])
    .await
    .unwrap();
    // Ask with dig when it is installed: the answer reflects the apply at once.
    if let Some(dig) = fedsvc_test_support::find_binary("dig") {
        let out = tokio::process::Command::new(dig)
            .args([
                "@127.0.0.1",
                "-p",
                &port.to_string(),
                "+short",
                "+tries=1",
                "+time=2",
            ])
            .args(["www.example.com", "A"])
            .output()
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "192.0.2.7");
        let out = tokio::process::Command::new(fedsvc_test_support::find_binary("dig").unwrap())
            .args([
                "@127.0.0.1",
                "-p",
                &port.to_string(),
                "+tcp",
                "+tries=1",
                "+time=2",
            ])
            .args(["example.com", "SOA"])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("status: NOERROR") && text.contains("SOA"),
            "{text}"
        );
        let out = tokio::process::Command::new(fedsvc_test_support::find_binary("dig").unwrap())
            .args(["@127.0.0.1", "-p", &port.to_string(), "+tries=1", "+time=2"])
            .args(["nope.example.com", "A"])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("status: NXDOMAIN"), "{text}");
    } else {
        fedsvc_test_support::skip::<()>(
            "dig check",
            "dig not found (apt-get install bind9-dnsutils)",
        );
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The embedded server answers a zone transfer over TCP (in several messages for a large
/// zone), so an RFC 2136 provider without a key can list what the memory provider holds:
/// what `fedsvc records` does with the demo's DNS configuration.
#[cfg(feature = "rfc2136")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_server_answers_a_zone_transfer() {
    let mut p = MemoryProvider::new(n("example.com"));
    let mut sets = foreign_records();
    sets.extend((0..600).map(|i| {
        conformance::a(
            &format!("host{i}.example.com"),
            60,
            &[&format!("192.0.2.{}", i % 250 + 1)],
        )
    }));
    p.seed(sets.clone());
    let addr = p.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let reader = fedsvc_providers::Rfc2136Provider::new(n("example.com"), addr);
    let mut listed = reader.list().await.unwrap();
    // Beside the seeded sets, only the server's own apex records (NS) may be listed.
    listed.retain(|rs| sets.contains(rs) || rs.name().as_str() != "example.com.");
    let missing: Vec<_> = sets.iter().filter(|s| !listed.contains(s)).collect();
    let extra: Vec<_> = listed.iter().filter(|s| !sets.contains(s)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
}
