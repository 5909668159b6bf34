//! `fedsvc-controller --check`: the whole configuration checked without contacting anything,
//! every error named by its field; the same checks before a normal start; secrets never
//! printed; `--version` naming the providers compiled in.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fedsvc-controller");

/// Secrets written to the tempdir; none may ever be printed.
const TSIG_SECRET: &str = "dHNpZy1zZWNyZXQtZm9yLXRoZS1jaGVjaw==";
const PDNS_KEY: &str = "pdns-api-key-0f3c9a";
const GCP_KEY: &str = "gcp-private-key-7d1e2b";

/// Runs the binary with `args` (none of the environment's FEDSVC_* settings), killing it
/// after a generous minute: a check never takes that long, a start that should have been
/// refused would run until then.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "FEDSVC_CONFIG",
        "FEDSVC_FEDERATION",
        "FEDSVC_DNS_SUFFIX",
        "FEDSVC_DNS_CONFIG",
        "POD_NAMESPACE",
        "FEDSVC_LISTEN",
        "FEDSVC_HOST_CONTEXT",
        "FEDSVC_LOG_JSON",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    // No kubeconfig anywhere: a start that got as far as the federation API fails there.
    cmd.env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run fedsvc-controller");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A directory with the providers' secret files.
fn secrets() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tsig"), format!("{TSIG_SECRET}\n")).unwrap();
    std::fs::write(dir.path().join("pdns-key"), PDNS_KEY).unwrap();
    std::fs::write(
        dir.path().join("gcp.json"),
        format!(r#"{{"type": "service_account", "private_key": "{GCP_KEY}"}}"#),
    )
    .unwrap();
    dir
}

/// The `provider:` of each kind, its secret files in `dir`; servers by names that resolve
/// nowhere (`.invalid`), so that a check that resolved or connected would fail.
fn providers(dir: &Path) -> Vec<(&'static str, String)> {
    let d = dir.display();
    vec![
        ("memory", "{kind: memory}".to_owned()),
        (
            "rfc2136",
            format!(
                "{{kind: rfc2136, server: 'ns1.fedsvc.invalid:53', tsig: {{name: ddns-key, algorithm: hmac-sha256, secretFile: {d}/tsig}}}}"
            ),
        ),
        (
            "powerdns",
            format!(
                "{{kind: powerdns, url: 'http://pdns.fedsvc.invalid:8081', apiKeyFile: {d}/pdns-key}}"
            ),
        ),
        (
            "route53",
            "{kind: route53, hostedZoneId: Z0123456789, region: us-east-1, endpointUrl: 'http://route53.fedsvc.invalid:5000'}".to_owned(),
        ),
        (
            "clouddns",
            format!(
                "{{kind: clouddns, project: my-project, managedZone: example-com, credentialsFile: {d}/gcp.json, endpointUrl: 'http://clouddns.fedsvc.invalid'}}"
            ),
        ),
    ]
}

fn good(provider: &str) -> String {
    format!(
        "federation: myfederation
dnsSuffix: fed.example.com
dns:
  zone: example.com
  provider: {provider}
namespace: fedsvc-system
health: {{period: 10s, timeout: 3s}}
sync: {{coalesce: 200ms, resync: 5m}}
leaderElection: {{leaseName: fedsvc-controller}}
listen: 127.0.0.1:0
"
    )
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

fn assert_no_secret(out: &Output) {
    let (stdout, stderr) = text(out);
    for secret in [TSIG_SECRET, PDNS_KEY, GCP_KEY] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret was printed:\nstdout: {stdout}\nstderr: {stderr}"
        );
    }
}

#[test]
fn a_good_configuration_of_every_provider_kind_checks_without_the_network() {
    let dir = secrets();
    for (kind, provider) in providers(dir.path()) {
        let config = write(dir.path(), &format!("{kind}.yaml"), &good(&provider));
        let started = Instant::now();
        let out = run(&["--check", "--config", &config], &[]);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "{kind}: {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        assert!(
            stdout.starts_with(
                "configuration OK: federation myfederation, dnsSuffix fed.example.com."
            ) && stdout.contains(&format!("provider {kind} (zone example.com.)")),
            "{kind}: {stdout}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{kind}: the check waited on something"
        );
        assert_no_secret(&out);
    }
}

#[test]
fn the_flag_only_mode_is_checked_too() {
    let dir = secrets();
    let providers = providers(dir.path());
    let dns = write(
        dir.path(),
        "dns.yaml",
        &format!("zone: example.com\nprovider: {}\n", providers[1].1),
    );
    let args = |suffix: &'static str| {
        vec![
            "--check".to_owned(),
            "--federation".to_owned(),
            "myfederation".to_owned(),
            "--dns-suffix".to_owned(),
            suffix.to_owned(),
            "--dns".to_owned(),
            dns.clone(),
        ]
    };
    let ok = args("example.com");
    let out = run(&ok.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("provider rfc2136 (zone example.com.)"),
        "{stdout}"
    );
    assert_no_secret(&out);

    let bad = args("example.org");
    let out = run(&bad.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "dnsSuffix: example.org. does not lie inside the provider's zone example.com."
        ),
        "{stderr}"
    );

    // The provider's file in flag mode: a missing secret file is named by its field.
    std::fs::remove_file(dir.path().join("tsig")).unwrap();
    let out = run(&ok.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("dns.provider.tsig.secretFile: cannot read"),
        "{stderr}"
    );
}

/// Each bad value alone: the exit code is non-zero and the field is named.
#[test]
fn each_bad_value_is_named_by_its_field() {
    let dir = secrets();
    let rfc2136 = providers(dir.path()).remove(1).1;
    let base = good(&rfc2136);
    let cases: Vec<(&str, String)> = vec![
        ("sync.resync", base.replace("resync: 5m", "resync: 0s")),
        ("health.period", base.replace("period: 10s", "period: 0s")),
        ("health.timeout", base.replace("timeout: 3s", "timeout: 0s")),
        (
            "sync.coalesce",
            base.replace("coalesce: 200ms", "coalesce: 10m"),
        ),
        (
            "namespace",
            base.replace("namespace: fedsvc-system", "namespace: Fedsvc_System"),
        ),
        (
            "leaderElection.leaseName",
            base.replace(
                "leaseName: fedsvc-controller",
                "leaseName: fedsvc.controller",
            ),
        ),
        (
            "leaderElection.retryPeriod",
            base.replace(
                "leaderElection: {leaseName: fedsvc-controller}",
                "leaderElection: {retryPeriod: 0s}",
            ),
        ),
        (
            "leaderElection",
            base.replace(
                "leaderElection: {leaseName: fedsvc-controller}",
                "leaderElection: {renewDeadline: 30s}",
            ),
        ),
        (
            "dnsSuffix",
            base.replace("dnsSuffix: fed.example.com", "dnsSuffix: '*.example.com'"),
        ),
        (
            "dnsSuffix",
            base.replace("dnsSuffix: fed.example.com", "dnsSuffix: fed.example.org"),
        ),
        (
            "dns.provider.tsig.secretFile",
            base.replace("/tsig}", "/missing-tsig}"),
        ),
        (
            "dns.provider.tsig.algorithm",
            base.replace("hmac-sha256", "hmac-md5"),
        ),
        (
            "dns.provider.server",
            base.replace("ns1.fedsvc.invalid:53", "ns1.fedsvc.invalid:99999"),
        ),
        ("federation", base.replace("myfederation", "My_Federation")),
        (
            "readiness.apiUnreachableFor",
            format!("{base}readiness: {{apiUnreachableFor: 0s}}\n"),
        ),
    ];
    for (i, (field, body)) in cases.iter().enumerate() {
        assert_ne!(body, &base, "case {field} changed nothing");
        let config = write(dir.path(), &format!("bad{i}.yaml"), body);
        let out = run(&["--check", "--config", &config], &[]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{field}: accepted: {stdout}");
        assert!(
            stderr.contains(&format!("configuration: {field}: ")),
            "{field} is not named: {stderr}"
        );
        assert!(!stdout.contains("configuration OK"), "{stdout}");
        assert!(
            !stderr.contains("Label(") && !stderr.contains("Some("),
            "{stderr}"
        );
        assert_no_secret(&out);
    }
}

#[test]
fn every_error_of_a_configuration_is_reported_at_once() {
    let dir = secrets();
    let rfc2136 = providers(dir.path()).remove(1).1;
    let body = good(&rfc2136)
        .replace("resync: 5m", "resync: 0s")
        .replace("period: 10s", "period: 0s")
        .replace("namespace: fedsvc-system", "namespace: -bad-")
        .replace("leaseName: fedsvc-controller", "leaseName: UPPER_lease")
        .replace("/tsig}", "/missing-tsig}")
        .replace("dnsSuffix: fed.example.com", "dnsSuffix: fed.example.org");
    let config = write(dir.path(), "many.yaml", &body);
    let out = run(&["--check", "--config", &config], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("6 errors in the configuration:"),
        "{stderr}"
    );
    for field in [
        "sync.resync",
        "health.period",
        "namespace",
        "leaderElection.leaseName",
        "dns.provider.tsig.secretFile",
        "dnsSuffix",
    ] {
        assert!(
            stderr.contains(&format!("\n  {field}: ")),
            "{field} is not reported: {stderr}"
        );
    }
    assert_eq!(
        stderr.matches("configuration:").count(),
        1,
        "the list does not repeat itself: {stderr}"
    );
}

/// A normal start runs the same checks first, before any request: the error is the
/// configuration's, not that the federation API cannot be reached.
#[test]
fn a_start_refuses_a_bad_configuration_before_any_network_call() {
    let dir = secrets();
    let body = good("{kind: memory}")
        .replace("resync: 5m", "resync: 0s")
        .replace("period: 10s", "period: 0s");
    let config = write(dir.path(), "zero.yaml", &body);
    let out = run(&["--config", &config], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("sync.resync: must be longer than zero")
            && stderr.contains("health.period: must be longer than zero"),
        "{stderr}"
    );
    assert!(!stderr.contains("federation API"), "{stderr}");
}

#[test]
fn a_configuration_file_over_the_size_limit_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = good("{kind: memory}");
    body.push_str(&format!("# {}\n", "x".repeat(16 * 1024 * 1024)));
    let config = write(dir.path(), "huge.yaml", &body);
    let out = run(&["--check", "--config", &config], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr
            .contains("the file is larger than 16777216 bytes, the limit of a configuration file"),
        "{stderr}"
    );
}

/// A mistyped configuration around a secret: the parse error names the place, never the
/// secret, even with every log on, with `--check` and with a normal start.
#[test]
fn a_parse_error_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let head = "federation: myfederation\ndnsSuffix: example.com\ndns:\n  zone: example.com\n  provider:\n";
    let mistyped = [
        // A misspelt key beside the secret.
        format!(
            "{head}    kind: rfc2136\n    server: 127.0.0.1:53\n    tsig: {{name: k, secret: {TSIG_SECRET}, algoritm: hmac-sha256}}\n"
        ),
        // The secret where a mapping belongs.
        format!("{head}    kind: rfc2136\n    server: 127.0.0.1:53\n    tsig: {TSIG_SECRET}\n"),
        // A flow mapping left open.
        format!("{head}    {{kind: powerdns, url: 'http://127.0.0.1:8081', apiKey: {PDNS_KEY}\n"),
        // A quoted string left open.
        format!(
            "{head}    kind: powerdns\n    url: 'http://127.0.0.1:8081'\n    apiKey: \"{PDNS_KEY}\n"
        ),
        // A mis-indented line after the secret.
        format!(
            "{head}    kind: powerdns\n    url: 'http://127.0.0.1:8081'\n    apiKey: {PDNS_KEY}\n   bogus: 1\n"
        ),
        // The secret as a list.
        format!(
            "{head}    kind: powerdns\n    url: 'http://127.0.0.1:8081'\n    apiKey: [{PDNS_KEY}]\n"
        ),
        // A secret pasted where a number belongs.
        format!("{head}    kind: memory\nttl: {PDNS_KEY}\n"),
    ];
    for (i, body) in mistyped.iter().enumerate() {
        let config = write(dir.path(), &format!("mistyped{i}.yaml"), body);
        for check in [true, false] {
            let mut args = vec!["--config", config.as_str()];
            if check {
                args.insert(0, "--check");
            }
            let out = run(&args, &[("RUST_LOG", "trace")]);
            let (stdout, stderr) = text(&out);
            assert!(!out.status.success(), "case {i} accepted: {stdout}{stderr}");
            assert!(
                stderr.contains(&format!("mistyped{i}.yaml")),
                "case {i}: the error names the file: {stderr}"
            );
            assert_no_secret(&out);
        }
    }
}

/// A valid configuration with its secrets inline: the summary and the log of a check name
/// none of them.
#[test]
fn a_check_prints_no_inline_secret() {
    let dir = tempfile::tempdir().unwrap();
    for provider in [
        format!(
            "{{kind: rfc2136, server: '127.0.0.1:53', tsig: {{name: ddns-key, secret: '{TSIG_SECRET}'}}}}"
        ),
        format!("{{kind: powerdns, url: 'http://127.0.0.1:8081', apiKey: '{PDNS_KEY}'}}"),
    ] {
        let config = write(dir.path(), "inline.yaml", &good(&provider));
        let out = run(&["--check", "--config", &config], &[("RUST_LOG", "trace")]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert_no_secret(&out);
    }
}

#[test]
fn a_missing_file_is_named_once_with_its_cause() {
    let out = run(&["--check", "--config", "/nonexistent/fedsvc.yaml"], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert_eq!(
        stderr.trim(),
        "fedsvc-controller: error: cannot read /nonexistent/fedsvc.yaml: No such file or directory (os error 2)"
    );
}

#[test]
fn version_lists_the_providers_compiled_in() {
    let out = run(&["--version"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!(
            "fedsvc-controller {} (providers: {})",
            env!("CARGO_PKG_VERSION"),
            fedsvc_providers::COMPILED_KINDS.join(", ")
        )
    );
    assert!(
        stdout.contains("memory"),
        "memory is always compiled in: {stdout}"
    );
}
