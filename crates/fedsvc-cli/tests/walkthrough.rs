//! The user guide, run as written: every command block of `docs/user-guide.md`, in order,
//! with the real `kubectl`, `dig` and `fedsvc` against the demo's federation API, member API
//! servers, controller and DNS server. Between the blocks the test waits, as a person reading
//! the page would, for what the previous block set off, and checks what each block printed.
//!
//! The guide's blocks are fenced `sh` blocks, each after a comment `<!-- walkthrough: STEP -->`
//! naming its step; the test fails on a block without one, on a step it does not know and on a
//! step the page lost. The one substitution: the demo's DNS port, 5353 in the page, is the free
//! port the test's demo listens on.
//!
//! kubectl and dig are needed; without them the test skips with a reason, unless
//! FEDSVC_REQUIRE_REAL=1.

#![cfg(feature = "demo")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fedsvc_cli::demo::{World, WorldOptions};

fn tools_present() -> bool {
    fedsvc_test_support::tools_present(&["kubectl", "dig"])
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn dig(world: &World, name: &str, t: &str) -> Vec<String> {
    let out = Command::new("dig")
        .args([
            &format!("@{}", world.dns_addr.ip()),
            "-p",
            &world.dns_addr.port().to_string(),
            "+short",
            name,
            t,
        ])
        .output()
        .expect("dig");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

const ZONE_A: &str = "nginx.mynamespace.myfederation.svc.us-central1-a.example.com";
const ZONE_F: &str = "nginx.mynamespace.myfederation.svc.us-central1-f.example.com";
const REGION: &str = "nginx.mynamespace.myfederation.svc.us-central1.example.com.";
const GLOBAL: &str = "nginx.mynamespace.myfederation.svc.example.com.";

/// The steps of the guide, in the order the page must give them.
const STEPS: [&str; 12] = [
    "env",
    "create",
    "member-service",
    "federated-status",
    "no-backends",
    "backends",
    "verify",
    "records",
    "resolve",
    "pod-failure",
    "pod-failure-dns",
    "clusters",
];

/// The guide's command blocks: (step, script), the ones marked `skip` left out.
fn guide_blocks() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/user-guide.md");
    let text = std::fs::read_to_string(&path).expect("docs/user-guide.md");
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("```sh") {
            let step = (0..i)
                .rev()
                .map(|j| lines[j].trim())
                .find(|l| !l.is_empty())
                .and_then(|l| l.strip_prefix("<!-- walkthrough: "))
                .and_then(|l| l.strip_suffix(" -->"))
                .unwrap_or_else(|| {
                    panic!(
                        "user-guide.md line {}: a sh block without a walkthrough step",
                        i + 1
                    )
                })
                .to_owned();
            let end = (i + 1..lines.len())
                .find(|&j| lines[j].trim_start().starts_with("```"))
                .expect("a closed block");
            if !step.starts_with("skip") {
                blocks.push((step, lines[i + 1..end].join("\n")));
            }
            i = end;
        }
        i += 1;
    }
    let steps: Vec<&str> = blocks.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(steps, STEPS, "the guide's steps");
    blocks
}

/// Runs one block of the guide with bash in `dir`, as a reader would in their shell.
fn run_block(dir: &Path, bin_dir: &Path, dns_port: u16, step: &str, script: &str) -> String {
    let script = script
        .replace("127.0.0.1 -p 5353", &format!("127.0.0.1 -p {dns_port}"))
        .replace("127.0.0.1:5353", &format!("127.0.0.1:{dns_port}"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin_dir.to_owned()];
    paths.extend(std::env::split_paths(&path));
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir)
        .env("PATH", std::env::join_paths(paths).unwrap())
        .env("KUBECONFIG", dir.join("fedsvc-demo.kubeconfig"))
        .env("HOME", dir)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "step {step} of the user guide failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_guide_runs_as_written() {
    if !tools_present() {
        return;
    }
    let blocks = guide_blocks();
    // `fedsvc demo --empty`, in this process: the same world, a free DNS port, faster probes.
    let opts = WorldOptions {
        dns_listen: "127.0.0.1:0".parse().unwrap(),
        probe_period: Duration::from_millis(500),
        ..WorldOptions::default()
    };
    let world = World::start(&opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("fedsvc-demo.kubeconfig");
    world.write_kubeconfig(&kc).unwrap();
    world
        .write_dns_config(&dir.path().join("fedsvc-demo.dns.yaml"))
        .unwrap();
    for (_, api) in &world.members {
        let _ = api.create(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}
        }));
    }
    let bin_dir: PathBuf = Path::new(env!("CARGO_BIN_EXE_fedsvc"))
        .parent()
        .unwrap()
        .to_owned();
    let port = world.dns_addr.port();

    for (step, script) in &blocks {
        // Wait for what the previous steps set off, as a reader would.
        match step.as_str() {
            "member-service" => {
                for (spec, _) in &world.members {
                    let ctx = format!("--context={}", spec.name);
                    eventually(&format!("nginx in {}", spec.name), || {
                        Command::new("kubectl")
                            .env("KUBECONFIG", &kc)
                            .args([
                                ctx.as_str(),
                                "get",
                                "services",
                                "nginx",
                                "-n",
                                "mynamespace",
                            ])
                            .output()
                            .is_ok_and(|o| {
                                String::from_utf8_lossy(&o.stdout)
                                    .contains(&spec.first_ip.to_string())
                            })
                    })
                    .await;
                }
            }
            "federated-status" => {
                eventually("the federated service's ingress is the union", || {
                    let d = kubectl(
                        &kc,
                        &[
                            "--context=federation-cluster",
                            "get",
                            "services",
                            "nginx",
                            "-n",
                            "mynamespace",
                            "-o",
                            "json",
                        ],
                    );
                    world
                        .members
                        .iter()
                        .all(|(s, _)| d.contains(&s.first_ip.to_string()))
                })
                .await;
            }
            "verify" => {
                eventually("us-central1 holds both healthy shards", || {
                    let mut a = dig(&world, REGION, "A");
                    a.sort();
                    a == ["104.197.244.180", "104.197.247.191"]
                })
                .await;
            }
            "pod-failure-dns" => {
                eventually("us-central1-a fails over to its region", || {
                    dig(&world, ZONE_A, "CNAME") == [REGION]
                })
                .await;
            }
            "clusters" => {
                // A whole cluster stops answering (the test's part: the demo has no command).
                world
                    .member("gce-us-central1-b")
                    .unwrap()
                    .set_reachable(false);
                eventually("us-central1-b is not Ready", || {
                    kubectl(&kc, &["--context=federation-cluster", "get", "clusters"])
                        .lines()
                        .any(|l| l.starts_with("gce-us-central1-b") && l.contains("False"))
                })
                .await;
            }
            _ => {}
        }

        let out = run_block(dir.path(), &bin_dir, port, step, script);

        // What the block printed, as the page shows it.
        let lines: Vec<&str> = out.lines().collect();
        match step.as_str() {
            "member-service" => {
                assert!(out.contains("LoadBalancer"), "{out}");
                assert!(out.contains("130.211.57.243"), "{out}");
            }
            "federated-status" => assert!(out.contains("LoadBalancer Ingress:"), "{out}"),
            // No global record; the zone is a CNAME to its region.
            "no-backends" => assert_eq!(lines, [REGION], "{out}"),
            "verify" => {
                let region: Vec<&str> = lines[..2].to_vec();
                assert_eq!(region.len(), 2, "{out}");
                assert!(region.contains(&"104.197.244.180"), "{out}");
                assert!(region.contains(&"104.197.247.191"), "{out}");
                assert_eq!(lines[2], REGION, "{out}");
                assert_eq!(lines.len(), 5, "{out}");
            }
            "records" => {
                let global = lines
                    .iter()
                    .find(|l| l.starts_with(GLOBAL))
                    .unwrap_or_else(|| panic!("no global record:\n{out}"));
                assert!(global.contains("104.197.244.180"), "{global}");
                assert!(out.contains(&format!("{ZONE_F}.")), "{out}");
            }
            "resolve" => {
                assert!(out.contains(&format!("is sent to {ZONE_F}.")), "{out}");
                assert!(out.contains(&format!("CNAME {REGION}")), "{out}");
                assert!(out.contains("104.197.247.191"), "{out}");
            }
            "pod-failure-dns" => assert_eq!(lines, [REGION], "{out}"),
            "clusters" => {
                let row = lines
                    .iter()
                    .find(|l| l.starts_with("gce-us-central1-b"))
                    .unwrap_or_else(|| panic!("{out}"));
                assert_eq!(row.split_whitespace().nth(1), Some("False"), "{out}");
            }
            _ => {}
        }
    }

    // The cluster's shard left DNS.
    eventually("us-central1-b's shard leaves the region", || {
        dig(&world, REGION, "A").is_empty() || dig(&world, REGION, "CNAME") == [GLOBAL]
    })
    .await;
    world.stop().await;
}

#[test]
fn the_tour_runs_to_its_summary() {
    let out = Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args([
            "demo",
            "--tour",
            "--pause",
            "0",
            "--dns-listen",
            "127.0.0.1:0",
        ])
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Summary"))
        .skip(1)
        .collect();
    assert_eq!(summary.len(), 7, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_explains_each_cluster_and_name() {
    let opts = WorldOptions {
        dns_listen: "127.0.0.1:0".parse().unwrap(),
        probe_period: Duration::from_millis(300),
        ..WorldOptions::default()
    };
    let world = World::start(&opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    world.write_kubeconfig(&kc).unwrap();
    fedsvc_cli::demo::create_nginx(&world).unwrap();
    for (spec, api) in &world.members {
        let _ = api.create(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}
        }));
        if spec.name == "gce-us-central1-a" {
            world
                .add_backends(&spec.name, "mynamespace", "nginx", 2)
                .unwrap();
        }
    }
    eventually("us-central1-a healthy in DNS", || {
        dig(
            &world,
            "nginx.mynamespace.myfederation.svc.us-central1-a.example.com",
            "A",
        ) == ["104.197.247.191"]
    })
    .await;
    let out = Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args([
            "status",
            "nginx",
            "-n",
            "mynamespace",
            "--federation",
            "myfederation",
            "--dns-suffix",
            "example.com",
            "--host-context",
            "federation-cluster",
            "--kubeconfig",
        ])
        .arg(&kc)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no line for {prefix}:\n{text}"))
            .to_owned()
    };
    let a = line("gce-us-central1-a");
    assert!(
        a.contains("healthy; ingress 104.197.247.191; 2 ready endpoints"),
        "{a}"
    );
    let f = line("gce-us-central1-f");
    assert!(f.contains("not healthy: no ready endpoint"), "{f}");
    let zone_f = line("nginx.mynamespace.myfederation.svc.us-central1-f.example.com.");
    assert!(
        zone_f.contains("CNAME nginx.mynamespace.myfederation.svc.us-central1.example.com."),
        "{zone_f}"
    );
    let global = line("nginx.mynamespace.myfederation.svc.example.com.");
    assert!(global.contains("A 104.197.247.191"), "{global}");
    assert!(text.contains("LoadBalancer ingress (union): "), "{text}");
    world.stop().await;
}

#[test]
fn the_demo_writes_its_kubeconfig_and_dns_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args([
            "demo",
            "--empty",
            "--exit-after",
            "1",
            "--dns-listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("fedsvc-demo.kubeconfig").is_file());
    let dns = std::fs::read_to_string(dir.path().join("fedsvc-demo.dns.yaml")).unwrap();
    let config = fedsvc_providers::Config::from_yaml(&dns).expect("a provider configuration");
    assert_eq!(config.zone.as_str(), "example.com.");
    assert!(
        text.contains("fedsvc records --dns fedsvc-demo.dns.yaml"),
        "{text}"
    );
    assert!(text.contains("TTL of 30 s"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_how_a_deployments_replicas_are_divided() {
    let opts = WorldOptions {
        dns_listen: "127.0.0.1:0".parse().unwrap(),
        probe_period: Duration::from_millis(300),
        ..WorldOptions::default()
    };
    let world = World::start(&opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    world.write_kubeconfig(&kc).unwrap();
    fedsvc_cli::demo::create_nginx(&world).unwrap();
    world
        .federation
        .create(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx", "namespace": "mynamespace", "annotations": {
                "fedsvc.io/replica-weights": "gce-us-central1-a=2,gce-us-central1-b=1"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"run": "nginx"}},
                "template": {"metadata": {"labels": {"run": "nginx"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}},
        }))
        .unwrap();
    // Members join one by one: the division settles once both named ones are in.
    eventually(
        "3 replicas ready on the federation, divided 2 and 1",
        || {
            world
                .federation
                .get("apps/v1", "Deployment", "mynamespace", "nginx")
                .is_ok_and(|d| {
                    d["status"]["readyReplicas"] == 3
                        && d["metadata"]["annotations"]["fedsvc.io/replica-division"]
                            .as_str()
                            .is_some_and(|t| t.contains("gce-us-central1-b=1"))
                })
        },
    )
    .await;
    let out = Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args([
            "status",
            "nginx",
            "-n",
            "mynamespace",
            "--federation",
            "myfederation",
            "--dns-suffix",
            "example.com",
            "--host-context",
            "federation-cluster",
            "--kubeconfig",
        ])
        .arg(&kc)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let copy_of = |cluster: &str| {
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with(cluster))
            .unwrap_or_else(|| panic!("no row for {cluster}:\n{text}"));
        lines[i + 1].trim().to_owned()
    };
    assert_eq!(
        copy_of("gce-us-central1-a"),
        "deployment: 2 of 2 replicas ready",
        "{text}"
    );
    assert_eq!(
        copy_of("gce-us-central1-b"),
        "deployment: 1 of 1 replicas ready",
        "{text}"
    );
    assert_eq!(
        copy_of("gce-us-central1-c"),
        "deployment: no copy",
        "{text}"
    );
    let summary = lines
        .iter()
        .find(|l| l.starts_with("Deployment mynamespace/nginx: "))
        .unwrap_or_else(|| panic!("no deployment summary:\n{text}"));
    assert!(summary.contains("3 of 3 replicas ready"), "{summary}");
    assert!(
        summary.contains("gce-us-central1-a=2") && summary.contains("gce-us-central1-b=1"),
        "{summary}"
    );
    world.stop().await;
}
