//! Runs the real `fedsvc` binary with provider configurations that are mistyped, or that
//! point at a server refusing them, around known secrets: no secret may appear on standard
//! output or standard error, whatever the log level.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
const API_KEY: &str = "pdns-api-key-4f9a1c";
const PASSWORD: &str = "url-password-77e2";
const AWS_SECRET: &str = "aws-secret-key-b81d";

fn guide() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/guide.yaml")
}

/// Runs `fedsvc` with `args`, logging everything, with static AWS credentials and no
/// instance metadata (nothing but 127.0.0.1 is ever reached).
fn fedsvc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args(args)
        .env("RUST_LOG", "trace")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("AWS_REGION", "us-east-1")
        .env_remove("FEDSVC_DNS_CONFIG")
        .output()
        .expect("run fedsvc")
}

/// Runs `records` and `diff` with the configuration `yaml`; both must fail without showing
/// a secret; returns their standard error.
fn refused_without_secrets(case: &str, yaml: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("BAD.yaml");
    std::fs::write(&path, yaml).unwrap();
    let dns = path.to_str().unwrap();
    let guide = guide();
    let runs = [
        fedsvc(&["records", "--dns", dns]),
        fedsvc(&["diff", "-f", guide.to_str().unwrap(), "--dns", dns]),
    ];
    runs.iter()
        .map(|o| {
            let out = String::from_utf8_lossy(&o.stdout);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{case}: succeeded\n{out}\n{err}");
            for secret in [SECRET, API_KEY, PASSWORD, AWS_SECRET] {
                assert!(
                    !out.contains(secret),
                    "{case}: stdout shows {secret}:\n{out}"
                );
                assert!(
                    !err.contains(secret),
                    "{case}: stderr shows {secret}:\n{err}"
                );
            }
            assert!(!err.trim().is_empty(), "{case}: no error message");
            err.into_owned()
        })
        .collect()
}

#[test]
fn mistyped_configurations_show_no_secret() {
    let head = "zone: example.com\nprovider:\n";
    let cases = [
        (
            "rfc2136, a mistyped key beside the secret",
            format!(
                "{head}  kind: rfc2136\n  server: 127.0.0.1:53\n  tsig:\n    name: ddns-key\n    secret: {SECRET}\n    algoritm: hmac-sha256\n"
            ),
            "line 8",
        ),
        (
            "rfc2136, the secret where the key belongs",
            format!("{head}  kind: rfc2136\n  server: 127.0.0.1:53\n  tsig: {SECRET}\n"),
            "line 5",
        ),
        (
            "rfc2136, flow style",
            format!(
                "{head}  kind: rfc2136\n  server: 127.0.0.1:53\n  tsig: {{name: k, secret: \"{SECRET}\", algo: x}}\n"
            ),
            "line 5",
        ),
        (
            "powerdns, a mistyped key beside the API key",
            format!(
                "{head}  kind: powerdns\n  url: http://admin:{PASSWORD}@127.0.0.1:8081\n  apiKey: {API_KEY}\n  timeoutSecond: 5\n"
            ),
            "line 6",
        ),
        (
            "powerdns, the API key of the wrong type",
            format!(
                "{head}  kind: powerdns\n  url: http://127.0.0.1:8081\n  apiKey: [{API_KEY}]\n"
            ),
            "line 5",
        ),
        (
            "powerdns, a URL of the wrong type",
            format!(
                "{head}  kind: powerdns\n  url: [http://admin:{PASSWORD}@127.0.0.1:8081]\n  apiKey: {API_KEY}\n"
            ),
            "line 4",
        ),
        (
            "clouddns, a key pasted inline",
            format!(
                "{head}  kind: clouddns\n  project: p\n  managedZone: z\n  credentials: {SECRET}\n"
            ),
            "line 6",
        ),
        (
            "route53, AWS keys in the file",
            format!(
                "{head}  kind: route53\n  region: us-east-1\n  secretAccessKey: {AWS_SECRET}\n"
            ),
            "line 5",
        ),
        (
            "a syntax error after the secret",
            format!("{head}  kind: powerdns\n  apiKey: {API_KEY}\n  url: [\n"),
            "line ",
        ),
    ];
    for (case, yaml, line) in &cases {
        for err in refused_without_secrets(case, yaml) {
            assert!(
                err.contains(line),
                "{case}: the error does not say {line:?}:\n{err}"
            );
        }
    }
}

/// A PowerDNS API on 127.0.0.1 that refuses every request (HTTP 401); its port.
fn refusing_api() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let body = r#"{"error": "Unauthorized"}"#;
            let _ = write!(
                conn,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn provider_errors_show_no_secret() {
    let port = refusing_api();
    let yaml = format!(
        "zone: example.com\nprovider:\n  kind: powerdns\n  url: http://admin:{PASSWORD}@127.0.0.1:{port}\n  apiKey: {API_KEY}\n"
    );
    for err in refused_without_secrets("powerdns refusing the key", &yaml) {
        assert!(err.contains("API key rejected (HTTP 401"), "{err}");
        assert!(
            err.contains(&format!("http://***@127.0.0.1:{port}")),
            "{err}"
        );
    }
}
