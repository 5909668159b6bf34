//! The Cloud DNS backend, through Google's client library, against a local fake of the
//! documented REST API (no emulator of Cloud DNS exists). Every credential source is tested
//! for real against local fakes of Google's credential services (token endpoint, STS, IAM
//! credentials, metadata server): the token each one hands out must reach the DNS API.
//! Application Default Credentials read the process environment (`GOOGLE_APPLICATION_CREDENTIALS`,
//! `HOME`, `GCE_METADATA_HOST`); those tests run in a child process with an environment of their
//! own. Nothing beyond 127.0.0.1 is contacted.

use std::path::{Path, PathBuf};

use fedsvc_providers::{CloudDnsConfig, CloudDnsProvider, Config, DnsProvider, ProviderError};
use serde_json::json;

use crate::conformance::{self, foreign_records, n};
use crate::support::clouddns_fake::{
    ACCOUNT, CloudDnsFake, IMPERSONATED_TOKEN, MANAGED_ZONE, MDS_TOKEN, PROJECT, REFRESH_TOKEN,
    STS_TOKEN, SUBJECT_TOKEN, TOKEN,
};
use fedsvc_test_support::{find_binary, free_port, skip};

/// Writes a service-account key file for `email` (a new RSA key); the fake trusts the key's
/// self-signed tokens when `trusted`.
fn key_file(dir: &Path, fake: &CloudDnsFake, email: &str, trusted: bool) -> Option<PathBuf> {
    let Some(openssl) = find_binary("openssl") else {
        return skip(
            "Cloud DNS key",
            "openssl not found (apt-get install openssl)",
        );
    };
    let pem = dir.join("key.pem");
    let der = dir.join("key.pub.der");
    let run = |args: &[&str]| {
        let status = std::process::Command::new(&openssl)
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    let pem_s = pem.to_str().unwrap();
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        pem_s,
    ]);
    run(&[
        "rsa",
        "-in",
        pem_s,
        "-RSAPublicKey_out",
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    if trusted {
        fake.trust(email, std::fs::read(&der).unwrap());
    }
    let key = json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "client_email": email,
        "client_id": "1234567890",
        "private_key": std::fs::read_to_string(&pem).unwrap(),
        "token_uri": format!("{}/token", fake.url()),
    });
    let path = dir.join("sa.json");
    std::fs::write(&path, key.to_string()).unwrap();
    Some(path)
}

/// gcloud user credentials (`gcloud auth application-default login`) whose token endpoint is
/// the fake.
fn user_credentials(fake: &CloudDnsFake, refresh_token: &str) -> serde_json::Value {
    json!({
        "type": "authorized_user",
        "client_id": "fedsvc-client.apps.googleusercontent.com",
        "client_secret": "fedsvc-client-secret",
        "refresh_token": refresh_token,
        "token_uri": format!("{}/token", fake.url()),
    })
}

fn write_json(dir: &Path, name: &str, value: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path
}

fn config(fake: &CloudDnsFake, credentials: Option<PathBuf>) -> CloudDnsConfig {
    CloudDnsConfig {
        project: PROJECT.into(),
        managed_zone: MANAGED_ZONE.into(),
        credentials_file: credentials,
        endpoint_url: Some(fake.url()),
        max_response_bytes: None,
    }
}

async fn provider(fake: &CloudDnsFake, credentials: Option<PathBuf>) -> CloudDnsProvider {
    CloudDnsProvider::from_config(n("example.com"), &config(fake, credentials))
        .await
        .unwrap()
}

/// One write and one listing through `p`: both must succeed.
async fn write_and_list(p: &CloudDnsProvider, name: &str) {
    let rs = conformance::a(name, 60, &["10.0.0.7"]);
    p.apply(&[conformance::create(vec![rs.clone()])])
        .await
        .unwrap();
    assert!(p.list().await.unwrap().contains(&rs));
}

/// The claims of a self-signed service-account token (`Bearer header.claims.signature`).
fn jwt_claims(auth: &str) -> serde_json::Value {
    let token = auth.strip_prefix("Bearer ").unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let mut bits = 0u32;
    let mut acc = 0u32;
    let mut out = Vec::new();
    for c in claims.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {claims}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    serde_json::from_slice(&out).unwrap()
}

fn assert_unauthorized(err: &ProviderError, needles: &[&str]) {
    let text = err.to_string();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{text}");
    assert!(!err.is_retryable(), "{text}");
    assert!(
        text.starts_with("clouddns fedsvc-test/example-com: unauthorized: "),
        "{text}"
    );
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_conformance() {
    let fake = CloudDnsFake::start(&foreign_records()).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(dir.path(), &fake, ACCOUNT, true) else {
        return;
    };
    let p = provider(&fake, Some(key)).await.with_batch_size(3);
    assert!(
        p.credentials_source().starts_with("service-account key "),
        "{}",
        p.credentials_source()
    );
    conformance::run_all(p, None).await;
    assert!(fake.state.lock().unwrap().lists > 1, "listing is paged");
    // The key signs its own tokens: no token endpoint is asked, and every call carried a
    // token of the account, which the fake verified with the account's public key.
    assert!(
        fake.token_requests().is_empty(),
        "{:?}",
        fake.token_requests()
    );
    let auths = fake.auths();
    assert!(auths.len() > 10);
    for auth in auths {
        assert_eq!(jwt_claims(&auth)["iss"], ACCOUNT, "{auth}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_user_credentials() {
    // gcloud user credentials: a refresh token exchanged at the file's token_uri.
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(
        dir.path(),
        "adc.json",
        &user_credentials(&fake, REFRESH_TOKEN),
    );
    let p = provider(&fake, Some(file.clone())).await;
    assert_eq!(
        p.credentials_source(),
        format!("gcloud user credentials {}", file.display())
    );
    write_and_list(&p, "user.example.com").await;
    assert!(fake.auths().iter().all(|a| *a == format!("Bearer {TOKEN}")));
    assert_eq!(fake.token_requests(), ["/token"], "the token is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_external_account() {
    // Workload identity federation: another provider's token, in a file, exchanged at STS.
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let subject = dir.path().join("subject.jwt");
    std::fs::write(&subject, SUBJECT_TOKEN).unwrap();
    let file = write_json(
        dir.path(),
        "wif.json",
        &json!({
            "type": "external_account",
            "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/fedsvc/providers/k8s",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": format!("{}/token", fake.url()),
            "credential_source": {"file": subject},
        }),
    );
    let p = provider(&fake, Some(file)).await;
    assert!(
        p.credentials_source()
            .starts_with("external-account (workload identity federation) file "),
        "{}",
        p.credentials_source()
    );
    write_and_list(&p, "wif.example.com").await;
    assert!(
        fake.auths()
            .iter()
            .all(|a| *a == format!("Bearer {STS_TOKEN}"))
    );

    // A subject token STS refuses: the error names the file.
    std::fs::write(&subject, "stolen-token").unwrap();
    let p = provider(&fake, Some(dir.path().join("wif.json"))).await;
    let err = p.list().await.unwrap_err();
    assert_unauthorized(&err, &["no token from external-account", "wif.json"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_impersonation() {
    // Service-account impersonation: the user's token buys one of the target account at IAM.
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = "dns-writer@fedsvc-test.iam.gserviceaccount.com";
    let file = write_json(
        dir.path(),
        "impersonate.json",
        &json!({
            "type": "impersonated_service_account",
            "service_account_impersonation_url": format!(
                "{}/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
                fake.url()
            ),
            "source_credentials": user_credentials(&fake, REFRESH_TOKEN),
            "delegates": [],
        }),
    );
    let p = provider(&fake, Some(file)).await;
    assert!(
        p.credentials_source().ends_with(&format!("({target})")),
        "{}",
        p.credentials_source()
    );
    write_and_list(&p, "impersonated.example.com").await;
    assert!(
        fake.auths()
            .iter()
            .all(|a| *a == format!("Bearer {IMPERSONATED_TOKEN}"))
    );
    let requests = fake.token_requests();
    assert_eq!(requests[0], "/token");
    assert!(
        requests[1].ends_with(":generateAccessToken"),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_debug_shows_neither_token_nor_key() {
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(dir.path(), &fake, ACCOUNT, true) else {
        return;
    };
    let pem = std::fs::read_to_string(dir.path().join("key.pem")).unwrap();
    let key_body = pem.lines().nth(1).unwrap().to_owned();
    let p = provider(&fake, Some(key)).await;
    p.list().await.unwrap(); // makes and keeps a token
    let debug = format!("{p:?}");
    assert!(debug.contains(ACCOUNT), "{debug}");
    assert!(!debug.contains(&key_body), "{debug}");
    let jwt = fake.auths()[0].clone();
    assert!(
        !debug.contains(jwt.trim_start_matches("Bearer ")),
        "{debug}"
    );

    let user = write_json(
        dir.path(),
        "adc.json",
        &user_credentials(&fake, REFRESH_TOKEN),
    );
    let p = provider(&fake, Some(user)).await;
    p.list().await.unwrap();
    let debug = format!("{p:?}");
    assert!(debug.contains("gcloud user credentials"), "{debug}");
    for secret in [TOKEN, REFRESH_TOKEN, "fedsvc-client-secret"] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_rejected_credentials_name_their_source() {
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    // A key the service does not know: the API refuses its token.
    let intruder = "intruder@elsewhere.iam.gserviceaccount.com";
    let Some(key) = key_file(dir.path(), &fake, intruder, false) else {
        return;
    };
    let err = provider(&fake, Some(key)).await.list().await.unwrap_err();
    assert_unauthorized(
        &err,
        &["list: HTTP 401", "service-account key", "sa.json", intruder],
    );

    // A revoked refresh token: the token endpoint refuses it, the API is never asked.
    let user = write_json(
        dir.path(),
        "revoked.json",
        &user_credentials(&fake, "revoked"),
    );
    let before = fake.auths().len();
    let err = provider(&fake, Some(user)).await.list().await.unwrap_err();
    assert_unauthorized(
        &err,
        &[
            "list: no token from gcloud user credentials",
            "revoked.json",
        ],
    );
    assert_eq!(fake.auths().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_bad_credentials_files_are_configuration_errors() {
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let build = |path: PathBuf| {
        let c = config(&fake, Some(path));
        async move {
            CloudDnsProvider::from_config(n("example.com"), &c)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let missing = dir.path().join("missing.json");
    let text = build(missing.clone()).await;
    assert!(text.contains(&missing.display().to_string()), "{text}");

    let text = build(write_json(dir.path(), "odd.json", &json!({"type": "odd"}))).await;
    assert!(text.contains("provider.credentialsFile"), "{text}");
    assert!(text.contains("\"odd\" are not supported"), "{text}");

    let broken = json!({"type": "service_account", "client_email": ACCOUNT, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"});
    let text = build(write_json(dir.path(), "broken.json", &broken)).await;
    assert!(text.contains("provider.credentialsFile"), "{text}");
    assert!(text.contains("broken.json"), "{text}");

    // No cap on an answer's size can be set through Google's client: the key is refused.
    let mut c = config(&fake, None);
    c.max_response_bytes = Some(1 << 20);
    let text = CloudDnsProvider::from_config(n("example.com"), &c)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("provider.maxResponseBytes"), "{text}");
    assert!(text.contains("reads each answer whole"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_down_and_config() {
    let fake = CloudDnsFake::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(dir.path(), &fake, ACCOUNT, true) else {
        return;
    };
    let down = CloudDnsConfig {
        endpoint_url: Some(format!("http://127.0.0.1:{}", free_port())),
        ..config(&fake, Some(key.clone()))
    };
    conformance::down_is_retryable(
        CloudDnsProvider::from_config(n("example.com"), &down)
            .await
            .unwrap(),
    )
    .await;

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

/// Runs [`clouddns_adc_child`] in a child process of this test binary with `env` (and no
/// `GOOGLE_APPLICATION_CREDENTIALS`, `HOME` an empty directory unless `env` sets them): Application
/// Default Credentials are found in the child's environment, not ours.
fn run_adc_child(fake: &CloudDnsFake, home: &Path, expect: &str, env: &[(&str, String)]) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "clouddns::clouddns_adc_child",
        "--exact",
        "--ignored",
        "--nocapture",
    ])
    .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
    .env_remove("CLOUDSDK_CONFIG")
    .env("HOME", home)
    .env("FEDSVC_CLOUDDNS_CHILD_ENDPOINT", fake.url())
    .env("FEDSVC_CLOUDDNS_CHILD_EXPECT", expect);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child ({expect}) failed:\n{stdout}\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouddns_application_default_credentials() {
    let fake = CloudDnsFake::start(&[]).await;
    let home = tempfile::tempdir().unwrap();
    let mds = ("GCE_METADATA_HOST", fake.addr.to_string());

    // GCE, GKE with Workload Identity: no file anywhere, the metadata server's token.
    tokio::task::block_in_place(|| {
        run_adc_child(
            &fake,
            home.path(),
            &format!(
                "ok:the metadata server at {} (GCE_METADATA_HOST)",
                fake.addr
            ),
            std::slice::from_ref(&mds),
        )
    });
    assert!(!fake.auths().is_empty());
    assert!(
        fake.auths()
            .iter()
            .all(|a| *a == format!("Bearer {MDS_TOKEN}")),
        "{:?}",
        fake.auths()
    );
    assert!(
        fake.token_requests()
            .contains(&"/computeMetadata/v1/instance/service-accounts/default/token".to_owned())
    );

    // gcloud's well-known file comes before the metadata server.
    let gcloud = home.path().join(".config/gcloud");
    std::fs::create_dir_all(&gcloud).unwrap();
    write_json(
        &gcloud,
        "application_default_credentials.json",
        &user_credentials(&fake, REFRESH_TOKEN),
    );
    let before = fake.auths().len();
    tokio::task::block_in_place(|| {
        run_adc_child(
            &fake,
            home.path(),
            "ok:gcloud user credentials",
            std::slice::from_ref(&mds),
        )
    });
    assert!(
        fake.auths()[before..]
            .iter()
            .all(|a| *a == format!("Bearer {TOKEN}"))
    );

    // GOOGLE_APPLICATION_CREDENTIALS comes first of all.
    let dir = tempfile::tempdir().unwrap();
    let Some(key) = key_file(dir.path(), &fake, ACCOUNT, true) else {
        return;
    };
    let before = fake.auths().len();
    tokio::task::block_in_place(|| {
        run_adc_child(
            &fake,
            home.path(),
            "ok:(from GOOGLE_APPLICATION_CREDENTIALS)",
            &[
                mds.clone(),
                ("GOOGLE_APPLICATION_CREDENTIALS", key.display().to_string()),
            ],
        )
    });
    assert!(
        fake.auths()[before..]
            .iter()
            .all(|a| jwt_claims(a)["iss"] == ACCOUNT)
    );

    // Off Google Cloud, nothing found: the error names the metadata server that was asked.
    let empty = tempfile::tempdir().unwrap();
    let closed = format!("127.0.0.1:{}", free_port());
    let before = fake.auths().len();
    tokio::task::block_in_place(|| {
        run_adc_child(
            &fake,
            empty.path(),
            &format!("missing:no token from the metadata server at {closed} (GCE_METADATA_HOST)"),
            &[("GCE_METADATA_HOST", closed.clone())],
        )
    });
    assert_eq!(fake.auths().len(), before, "no request without a token");
}

/// The child of [`clouddns_application_default_credentials`]; does nothing when run on its own.
/// `FEDSVC_CLOUDDNS_CHILD_EXPECT` is `ok:<text in the credential source>` (a write and a
/// listing must succeed) or `missing:<text in the error>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by clouddns_application_default_credentials in a child process"]
async fn clouddns_adc_child() {
    let (Ok(endpoint), Ok(expect)) = (
        std::env::var("FEDSVC_CLOUDDNS_CHILD_ENDPOINT"),
        std::env::var("FEDSVC_CLOUDDNS_CHILD_EXPECT"),
    ) else {
        return;
    };
    let config = CloudDnsConfig {
        project: PROJECT.into(),
        managed_zone: MANAGED_ZONE.into(),
        credentials_file: None,
        endpoint_url: Some(endpoint),
        max_response_bytes: None,
    };
    let p = CloudDnsProvider::from_config(n("example.com"), &config)
        .await
        .unwrap();
    println!("credentials: {}", p.credentials_source());
    match expect.split_once(':').unwrap() {
        ("ok", source) => {
            assert!(
                p.credentials_source().contains(source),
                "{source:?} not in {:?}",
                p.credentials_source()
            );
            write_and_list(&p, &format!("adc-{}.example.com", std::process::id())).await;
        }
        ("missing", message) => {
            // The metadata server cannot be reached: retryable (on GKE it may be starting).
            let err = p.list().await.unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, ProviderError::Unavailable { .. }), "{text}");
            for needle in [
                message,
                "Connection refused",
                "set provider.credentialsFile or GOOGLE_APPLICATION_CREDENTIALS",
            ] {
                assert!(text.contains(needle), "{needle:?} not in {text}");
            }
        }
        other => panic!("unknown expectation {other:?}"),
    }
}
