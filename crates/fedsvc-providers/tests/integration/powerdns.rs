//! The PowerDNS backend against a real pdns-server (sqlite backend).

use fedsvc_model::RecordSet;
use fedsvc_providers::{Config, DnsProvider, PowerDnsProvider, ProviderError, Secret};
use serde_json::json;

use crate::conformance::{self, foreign_records, n};
use crate::support::servers::{Server, ZONE, free_port};

fn url(server: &Server) -> String {
    format!("http://{}", server.api.unwrap())
}

/// Creates the zone through the API and seeds the foreign records.
async fn create_zone(server: &Server, foreign: &[RecordSet]) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let zones = format!("{}/api/v1/servers/localhost/zones", url(server));
    let r = http
        .post(&zones)
        .header("X-API-Key", &server.secret)
        .json(&json!({"name": format!("{ZONE}."), "kind": "Native", "nameservers": [format!("ns.{ZONE}.")]}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "create zone: {} {}",
        r.status(),
        r.text().await.unwrap()
    );
    let rrsets: Vec<_> = foreign
        .iter()
        .map(|rs| {
            json!({
                "name": rs.name().as_str(),
                "type": rs.rtype().as_str(),
                "ttl": rs.ttl(),
                "changetype": "REPLACE",
                "records": rs.data().iter().map(|d| json!({"content": d.to_zone_text(), "disabled": false})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let r = http
        .patch(format!("{zones}/{ZONE}."))
        .header("X-API-Key", &server.secret)
        .json(&json!({ "rrsets": rrsets }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "seed zone: {} {}",
        r.status(),
        r.text().await.unwrap()
    );
}

fn provider(server: &Server) -> PowerDnsProvider {
    PowerDnsProvider::new(
        n(ZONE),
        &url(server),
        Secret::new(server.secret.clone()),
        "localhost",
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_conformance() {
    let Some(server) = Server::powerdns() else {
        return;
    };
    create_zone(&server, &foreign_records()).await;
    conformance::run_all(provider(&server).with_batch_size(3), Some(server.addr)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_wrong_key_and_missing_zone() {
    let Some(server) = Server::powerdns() else {
        return;
    };
    let wrong =
        PowerDnsProvider::new(n(ZONE), &url(&server), Secret::new("wrong"), "localhost").unwrap();
    let err = wrong.list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("powerdns {}", url(&server))),
        "{err}"
    );
    assert!(err.to_string().contains("API key rejected"), "{err}");
    // The zone does not exist yet.
    let err = provider(&server).list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("example.com. not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_down_is_retryable() {
    let p = PowerDnsProvider::new(
        n(ZONE),
        &format!("http://127.0.0.1:{}", free_port()),
        Secret::new("k"),
        "localhost",
    )
    .unwrap();
    conformance::down_is_retryable(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_built_from_config_with_key_file() {
    let Some(server) = Server::powerdns() else {
        return;
    };
    create_zone(&server, &[]).await;
    let key_file = server.dir.path().join("api.key");
    std::fs::write(&key_file, format!("{}\n", server.secret)).unwrap();
    let config = Config::from_yaml(&format!(
        "zone: {ZONE}\nprovider:\n  kind: powerdns\n  url: {}\n  apiKeyFile: {}\n",
        url(&server),
        key_file.display()
    ))
    .unwrap();
    let p = config.build().await.unwrap();
    let rs = conformance::a("cfg.example.com", 60, &["10.0.0.9"]);
    p.apply(&[conformance::create(vec![rs.clone()])])
        .await
        .unwrap();
    assert!(p.list().await.unwrap().contains(&rs));
}
