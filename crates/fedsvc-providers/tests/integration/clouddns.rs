//! The Cloud DNS backend against a local fake of the documented REST API (no emulator of
//! Cloud DNS exists), with the real service-account token flow.

use fedsvc_providers::{CloudDnsConfig, CloudDnsProvider, Config, DnsProvider, ProviderError};

use crate::conformance::{self, foreign_records, n};
use crate::support::clouddns_fake::{ACCOUNT, CloudDnsFake, MANAGED_ZONE, PROJECT, TOKEN};
use crate::support::servers::{find_binary, free_port, skip};

/// Writes a service-account key file for `email` whose token endpoint is the fake.
fn key_file(dir: &std::path::Path, fake_url: &str, email: &str) -> Option<std::path::PathBuf> {
    let Some(openssl) = find_binary("openssl") else {
        return skip(
            "Cloud DNS key",
            "openssl not found (apt-get install openssl)",
        );
    };
    let pem = dir.join("key.pem");
    let status = std::process::Command::new(openssl)
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&pem)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": PROJECT,
        "client_email": email,
        "private_key": std::fs::read_to_string(&pem).unwrap(),
        "token_uri": format!("{fake_url}/token"),
    });
    let path = dir.join("sa.json");
    std::fs::write(&path, key.to_string()).unwrap();
    Some(path)
}

fn config(fake: &CloudDnsFake, key: Option<std::path::PathBuf>) -> CloudDnsConfig {
    CloudDnsConfig {
        project: PROJECT.into(),
        managed_zone: MANAGED_ZONE.into(),
        credentials_file: key,
        endpoint_url: Some(fake.url()),
        max_response_bytes: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_conformance() {
    let fake = CloudDnsFake::start(&foreign_records()).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(dir.path(), &fake.url(), ACCOUNT) else {
        return;
    };
    let p = CloudDnsProvider::from_config(n("example.com"), &config(&fake, Some(key)))
        .unwrap()
        .with_batch_size(3);
    conformance::run_all(p, None).await;
    assert!(fake.state.lock().unwrap().lists > 1, "listing is paged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_debug_shows_neither_token_nor_key() {
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(dir.path(), &fake.url(), ACCOUNT) else {
        return;
    };
    let pem = std::fs::read_to_string(dir.path().join("key.pem")).unwrap();
    let key_body = pem.lines().nth(1).unwrap().to_owned();
    let p = CloudDnsProvider::from_config(n("example.com"), &config(&fake, Some(key))).unwrap();
    p.list().await.unwrap(); // fetches and keeps a token
    let debug = format!("{p:?}");
    assert!(debug.contains(ACCOUNT), "{debug}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(!debug.contains(&key_body), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_wrong_account_and_no_token() {
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(
        dir.path(),
        &fake.url(),
        "intruder@elsewhere.iam.gserviceaccount.com",
    ) else {
        return;
    };
    let p = CloudDnsProvider::from_config(n("example.com"), &config(&fake, Some(key))).unwrap();
    let err = p.list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("clouddns fedsvc-test/example-com: "),
        "{text}"
    );
    assert!(text.contains("intruder@elsewhere"), "{text}");

    let anonymous = CloudDnsProvider::from_config(n("example.com"), &config(&fake, None)).unwrap();
    let err = anonymous.list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_down_and_config() {
    let down = CloudDnsConfig {
        project: PROJECT.into(),
        managed_zone: MANAGED_ZONE.into(),
        credentials_file: None,
        endpoint_url: Some(format!("http://127.0.0.1:{}", free_port())),
        max_response_bytes: None,
    };
    conformance::down_is_retryable(CloudDnsProvider::from_config(n("example.com"), &down).unwrap())
        .await;

    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(dir.path(), &fake.url(), ACCOUNT) else {
        return;
    };
    let c = Config::from_yaml(&format!(
        "zone: example.com\nprovider: {{kind: clouddns, project: {PROJECT}, managedZone: {MANAGED_ZONE}, credentialsFile: {}, endpointUrl: '{}'}}\n",
        key.display(),
        fake.url()
    ))
    .unwrap();
    let p = c.build().await.unwrap();
    let rs = conformance::a("cfg.example.com", 60, &["10.0.0.9"]);
    p.apply(&[conformance::create(vec![rs.clone()])])
        .await
        .unwrap();
    assert!(p.list().await.unwrap().contains(&rs));
}
