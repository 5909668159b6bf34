//! `fedsvc-local-dns` refuses a federation given twice on its command line, before it binds
//! or connects to anything: the second `--federation` would otherwise silently win.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fedsvc-local-dns");

#[test]
fn a_federation_given_twice_is_a_usage_error_naming_it() {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--no-cluster",
            "--zone",
            "us-central1-a",
            "--region",
            "us-central1",
            "--upstream",
            "none",
            "--federation",
            "myfederation=example.com",
            "--federation",
            "other=example.net",
            "--federation",
            "myfederation=example.org",
        ])
        .env_remove("FEDSVC_LOCAL_DNS_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fedsvc-local-dns");
    // Accepted, the responder would serve until stopped: give it a generous while to refuse.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fedsvc-local-dns accepted a federation given twice and served");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a usage error: {stderr}");
    assert!(
        stderr.contains("--federation myfederation is given twice"),
        "{stderr}"
    );
    assert!(
        stderr.contains("myfederation=example.com:zone")
            && stderr.contains("myfederation=example.org:zone"),
        "both values are named: {stderr}"
    );
    assert!(!stderr.contains("other"), "only the duplicate: {stderr}");
}
