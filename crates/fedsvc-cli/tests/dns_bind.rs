//! `fedsvc apply`, `diff`, `records` and `resolve` against a real BIND 9 over RFC 2136.
//!
//! BIND is started by `fedsvc-test-support` on a free loopback port and killed when dropped.
//! Without BIND the tests skip with a reason, unless FEDSVC_REQUIRE_REAL=1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// BIND with the helpers these tests need.
struct Bind(fedsvc_test_support::Server);

impl Bind {
    fn start() -> Option<Bind> {
        if !fedsvc_test_support::tools_present(&["dig", "nsupdate"]) {
            return None;
        }
        fedsvc_test_support::Server::bind(&[]).map(Bind)
    }

    fn port(&self) -> u16 {
        self.0.addr.port()
    }

    fn config(&self, dir: &Path, secret: &str) -> PathBuf {
        let p = dir.join(format!("dns-{}.yaml", secret.len()));
        let server = self.0.addr.to_string();
        std::fs::write(&p, fedsvc_test_support::rfc2136_yaml(&server, secret)).unwrap();
        p
    }

    fn dig(&self, args: &[&str]) -> String {
        let out = Command::new("dig")
            .args(["@127.0.0.1", "-p", &self.port().to_string(), "+short"])
            .args(args)
            .output()
            .expect("dig");
        String::from_utf8(out.stdout).unwrap()
    }

    fn serial(&self) -> String {
        self.dig(&["example.com", "SOA"])
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_owned()
    }

    fn nsupdate(&self, script: &str) {
        let mut child = Command::new("nsupdate")
            .args(["-y", &format!("hmac-sha256:ddns-key:{}", self.0.secret)])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("nsupdate");
        use std::io::Write;
        let full = format!(
            "server 127.0.0.1 {}\nzone example.com\n{script}\nsend\n",
            self.port()
        );
        child
            .stdin
            .take()
            .unwrap()
            .write_all(full.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
}

fn fedsvc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args(args)
        .output()
        .expect("run fedsvc")
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
fn apply_is_idempotent_and_served_by_bind() {
    let Some(bind) = Bind::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dns = bind.config(dir.path(), &bind.0.secret);
    let dns = dns.to_str().unwrap();

    let first = fedsvc(&["apply", "-f", &guide(), "--dns", dns, "--yes"]);
    let (out, err) = text(&first);
    assert!(first.status.success(), "{out}\n{err}");
    assert!(out.contains("Applied: 36 record sets"), "{out}");
    assert_eq!(
        bind.dig(&[
            "nginx.mynamespace.myfederation.svc.us-central1-a.example.com",
            "A"
        ])
        .trim(),
        "104.197.247.191"
    );

    // A second apply of the same snapshot writes nothing, not even a serial bump.
    let serial = bind.serial();
    let second = fedsvc(&["apply", "-f", &guide(), "--dns", dns, "--yes"]);
    let (out, _) = text(&second);
    assert!(second.status.success());
    assert!(out.contains("No changes"), "{out}");
    assert_eq!(bind.serial(), serial);
    let diff = fedsvc(&["diff", "-f", &guide(), "--dns", dns, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(v["groups"].as_array().unwrap().len(), 0);

    // records shows what BIND holds: the planned records and their ownership records.
    let rec = fedsvc(&["records", "--dns", dns, "-o", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&rec.stdout).unwrap();
    let records = v["records"].as_array().unwrap();
    let txt = records.iter().filter(|r| r["type"] == "TXT").count();
    let ours = records
        .iter()
        .filter(|r| r["name"].as_str().unwrap().starts_with("nginx."))
        .count();
    assert_eq!((ours, txt), (18, 18));

    // resolve follows the hierarchy through BIND.
    let server = format!("127.0.0.1:{}", bind.port());
    let r = fedsvc(&[
        "resolve",
        "--server",
        &server,
        "--json",
        "nginx.mynamespace.myfederation.svc.europe-west1-d.example.com",
    ]);
    assert!(r.status.success(), "{}", text(&r).1);
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["cnames"].as_array().unwrap().len(), 2);
    assert_eq!(v["addresses"].as_array().unwrap().len(), 8);

    // As a pod in us-central1-f is answered when its own shard is not healthy.
    let pod = fedsvc(&[
        "resolve",
        "--server",
        &server,
        "nginx.mynamespace.myfederation",
        "--from-zone",
        "us-central1-f",
        "--from-region",
        "us-central1",
        "--dns-suffix",
        "example.com",
    ]);
    let (out, err) = text(&pod);
    assert!(pod.status.success(), "{err}");
    assert!(
        out.contains("is sent to nginx.mynamespace.myfederation.svc.us-central1-f.example.com."),
        "{out}"
    );
    assert!(
        out.contains("CNAME nginx.mynamespace.myfederation.svc.us-central1.example.com."),
        "{out}"
    );
    assert!(out.contains("104.197.247.191"), "{out}");
}

#[test]
fn conflicts_are_reported_and_foreign_records_survive() {
    let Some(bind) = Bind::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dns = bind.config(dir.path(), &bind.0.secret);
    let zone_a = "nginx.mynamespace.myfederation.svc.us-central1-a.example.com.";
    bind.nsupdate(&format!(
        "update add {zone_a} 60 A 198.51.100.7\nupdate add www.example.com. 60 A 192.0.2.1"
    ));
    let o = fedsvc(&[
        "apply",
        "-f",
        &guide(),
        "--dns",
        dns.to_str().unwrap(),
        "--yes",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(err.contains(&format!("conflict: {zone_a}")), "{err}");
    assert_eq!(bind.dig(&[zone_a, "A"]).trim(), "198.51.100.7");
    assert_eq!(bind.dig(&["www.example.com", "A"]).trim(), "192.0.2.1");
}

#[test]
fn mass_deletion_needs_force() {
    let Some(bind) = Bind::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let dns = bind.config(dir.path(), &bind.0.secret);
    let dns = dns.to_str().unwrap();
    assert!(
        fedsvc(&["apply", "-f", &guide(), "--dns", dns, "--yes"])
            .status
            .success()
    );
    // Every backend gone: every address record would change.
    let snap = std::fs::read_to_string(guide())
        .unwrap()
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("readyEndpoints:") {
                "        readyEndpoints: 0".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.path().join("down.yaml");
    std::fs::write(&path, snap).unwrap();
    let p = path.to_str().unwrap();
    let refused = fedsvc(&["apply", "-f", p, "--dns", dns, "--yes"]);
    let (_, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        bind.dig(&[
            "nginx.mynamespace.myfederation.svc.us-central1-a.example.com",
            "A"
        ])
        .trim(),
        "104.197.247.191",
        "nothing applied"
    );
    let forced = fedsvc(&["apply", "-f", p, "--dns", dns, "--yes", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced).1);
    assert_eq!(
        bind.dig(&["nginx.mynamespace.myfederation.svc.example.com", "A"])
            .trim(),
        ""
    );
}

#[test]
fn a_wrong_key_is_named_in_the_error() {
    let Some(bind) = Bind::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wrong = bind.config(dir.path(), "d3JvbmcgIHNlY3JldCBrZXkgZm9yIHRlc3Rz");
    let o = fedsvc(&[
        "apply",
        "-f",
        &guide(),
        "--dns",
        wrong.to_str().unwrap(),
        "--yes",
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("ddns-key"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{}", bind.port())), "{err}");
}
