//! The binaries users get, through real scenarios.
//!
//! `scripts/test.sh` builds each binary on its own package with default features — as
//! `cargo install --path crates/…` and the Dockerfile do — into `target/shipped/`, and names that
//! folder in `FEDSVC_SHIPPED_BIN_DIR`. These tests drive those builds, not the test build of the
//! workspace (whose features are unified across every package and test): a provider missing
//! from a shipped build fails here.
//!
//! Without `FEDSVC_SHIPPED_BIN_DIR` they fall back to the binaries cargo built for the tests, and
//! say so; under `FEDSVC_REQUIRE_REAL=1` they refuse to.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fedsvc_test_support::{Server, require_real, tools_present};

const KINDS: [&str; 5] = ["memory", "rfc2136", "powerdns", "route53", "clouddns"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped binary `name`.
fn shipped(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("FEDSVC_SHIPPED_BIN_DIR") {
        let path = PathBuf::from(dir).join(name);
        assert!(path.is_file(), "{} is missing", path.display());
        return path;
    }
    assert!(
        !require_real(),
        "FEDSVC_SHIPPED_BIN_DIR is not set: scripts/test.sh builds the shipped binaries and sets it"
    );
    // The test build's own binaries: the fedsvc command, and beside it the others when built.
    let fedsvc = PathBuf::from(env!("CARGO_BIN_EXE_fedsvc"));
    let path = fedsvc.with_file_name(name);
    eprintln!(
        "note: FEDSVC_SHIPPED_BIN_DIR is not set; testing {} instead of a shipped build",
        path.display()
    );
    path
}

fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let path = shipped(bin);
    Command::new(&path)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()))
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn guide() -> String {
    repo()
        .join("examples/guide.yaml")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_binary_lists_all_five_providers() {
    for bin in ["fedsvc", "fedsvc-controller"] {
        if !shipped(bin).is_file() {
            assert!(!require_real(), "{bin} was not built");
            eprintln!("skipped: {bin} was not built (cargo build -p …)");
            continue;
        }
        let o = run(bin, &["--version"], &[]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{bin} --version: {err}");
        for kind in KINDS {
            assert!(out.contains(kind), "{bin} --version lacks {kind}: {out}");
        }
    }
}

#[test]
fn apply_against_bind() {
    if !tools_present(&["dig"]) {
        return;
    }
    let Some(bind) = Server::bind(&[]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dns = dir.path().join("dns.yaml");
    std::fs::write(&dns, bind.rfc2136_yaml()).unwrap();
    let dns = dns.to_str().unwrap();

    let o = run(
        "fedsvc",
        &["apply", "-f", &guide(), "--dns", dns, "--yes"],
        &[],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("Applied: 36 record sets"), "{out}");

    let dig = Command::new("dig")
        .args(["@127.0.0.1", "-p", &bind.addr.port().to_string(), "+short"])
        .args([
            "nginx.mynamespace.myfederation.svc.us-central1-a.example.com",
            "A",
        ])
        .output()
        .expect("dig");
    assert_eq!(
        String::from_utf8_lossy(&dig.stdout).trim(),
        "104.197.247.191"
    );

    let again = run(
        "fedsvc",
        &["apply", "-f", &guide(), "--dns", dns, "--yes"],
        &[],
    );
    let (out, err) = text(&again);
    assert!(again.status.success(), "{err}");
    assert!(out.contains("No changes"), "{out}");
}

/// Creates hosted zone `example.com.` in moto through Route53's REST API and gives its id.
/// moto checks no signature, but routes a request to a service by its Authorization header.
fn create_hosted_zone(endpoint: &str) -> String {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("http://");
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <CreateHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\">\
        <Name>example.com.</Name><CallerReference>shipped-test</CallerReference>\
        </CreateHostedZoneRequest>";
    let mut s = std::net::TcpStream::connect(addr).expect("connect to moto");
    write!(
        s,
        "POST /2013-04-01/hostedzone HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/xml\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/route53/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let start = answer.find("<Id>/hostedzone/").expect(&answer) + "<Id>/hostedzone/".len();
    let end = start + answer[start..].find("</Id>").expect(&answer);
    answer[start..end].to_owned()
}

/// The environment of a Route53 run: the given credentials, and nothing the SDK could fetch
/// from outside (instance metadata off, no profile files).
fn aws_env(home: &str, credentials: bool) -> Vec<(&str, &str)> {
    let mut env = vec![
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
        ("AWS_REGION", "us-east-1"),
        ("HOME", home),
    ];
    if credentials {
        env.extend([
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ]);
    }
    env
}

#[test]
fn apply_against_route53_in_moto() {
    let Some(moto) = Server::moto() else {
        return;
    };
    let id = create_hosted_zone(&moto.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let dns = dir.path().join("route53.yaml");
    std::fs::write(
        &dns,
        format!(
            "zone: example.com\nprovider:\n  kind: route53\n  hostedZoneId: {id}\n  region: us-east-1\n  endpointUrl: {}\n",
            moto.endpoint()
        ),
    )
    .unwrap();
    let dns = dns.to_str().unwrap();

    // With credentials (moto accepts any): the guide's records land in the hosted zone.
    let env = aws_env(home, true);
    let o = run(
        "fedsvc",
        &["apply", "-f", &guide(), "--dns", dns, "--yes"],
        &env,
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("Applied: 36 record sets"), "{out}");
    let o = run("fedsvc", &["records", "--dns", dns, "-o", "json"], &env);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let zone_a = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["name"] == "nginx.mynamespace.myfederation.svc.us-central1-a.example.com."
                && r["type"] == "A"
        })
        .unwrap_or_else(|| panic!("no zone record in {out}"));
    assert_eq!(zone_a["data"][0], "104.197.247.191");
    let again = run(
        "fedsvc",
        &["apply", "-f", &guide(), "--dns", dns, "--yes"],
        &env,
    );
    assert!(text(&again).0.contains("No changes"), "{}", text(&again).0);

    // Without credentials: a clear error, found without asking anything beyond loopback
    // (instance metadata is switched off; in the test namespace it is unreachable anyway).
    let o = run("fedsvc", &["records", "--dns", dns], &aws_env(home, false));
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(err.contains("route53 example.com"), "{err}");
    assert!(err.to_lowercase().contains("credential"), "{err}");
}

#[test]
fn controller_check_accepts_every_provider_kind() {
    if !tools_present(&[]) {
        return;
    }
    let controller = shipped("fedsvc-controller");
    if !controller.is_file() {
        assert!(!require_real(), "fedsvc-controller was not built");
        eprintln!("skipped: fedsvc-controller was not built (cargo build -p fedsvc-controller)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "c2VjcmV0LXZhbHVlLWZvci10ZXN0cw==\n").unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, "{}").unwrap();
    // Each provider's lines, as they stand under `dns.provider:`.
    let providers: [Vec<String>; 5] = [
        vec!["kind: memory".into()],
        vec![
            "kind: rfc2136".into(),
            "server: 127.0.0.1:53".into(),
            format!(
                "tsig: {{name: ddns-key, algorithm: hmac-sha256, secretFile: {}}}",
                secret.display()
            ),
        ],
        vec![
            "kind: powerdns".into(),
            "url: http://127.0.0.1:8081".into(),
            format!("apiKeyFile: {}", secret.display()),
        ],
        vec![
            "kind: route53".into(),
            "hostedZoneId: Z1".into(),
            "region: us-east-1".into(),
        ],
        vec![
            "kind: clouddns".into(),
            "project: p".into(),
            "managedZone: z".into(),
            format!("credentialsFile: {}", key.display()),
        ],
    ];
    for (kind, provider) in KINDS.iter().zip(&providers) {
        let config = dir.path().join(format!("{kind}.yaml"));
        let provider: String = provider.iter().map(|l| format!("    {l}\n")).collect();
        std::fs::write(
            &config,
            format!(
                "federation: myfederation\ndnsSuffix: example.com\ndns:\n  zone: example.com\n  provider:\n{provider}"
            ),
        )
        .unwrap();
        let o = Command::new(&controller)
            .args(["--check", "--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        let (out, err) = text(&o);
        assert!(
            o.status.success(),
            "--check of a {kind} configuration: {out}\n{err}"
        );
    }
}
