//! The user guide's walkthrough, automated: the real `kubectl` against the demo's federation
//! API and member API servers, the real controller, and `dig` against the DNS server.
//!
//! kubectl and dig are needed; without them the test skips with a reason, unless
//! FEDSVC_REQUIRE_REAL=1.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fedsvc_cli::demo::{NGINX_YAML, World, WorldOptions};

fn tools_present() -> bool {
    fedsvc_testkit::real_servers::tools_present(&["kubectl", "dig"])
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

const ZONE_F: &str = "nginx.mynamespace.myfederation.svc.us-central1-f.example.com";
const REGION: &str = "nginx.mynamespace.myfederation.svc.us-central1.example.com.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_guide_with_kubectl_and_dig() {
    if !tools_present() {
        return;
    }
    let opts = WorldOptions {
        dns_listen: "127.0.0.1:0".parse().unwrap(),
        probe_period: Duration::from_millis(500),
        ..WorldOptions::default()
    };
    let world = World::start(&opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    world.write_kubeconfig(&kc).unwrap();
    let nginx = dir.path().join("nginx.yaml");
    std::fs::write(&nginx, NGINX_YAML).unwrap();

    // Creating a federated service: kubectl --context=federation-cluster create -f nginx.yaml
    let ns = dir.path().join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mynamespace\n",
    )
    .unwrap();
    kubectl(
        &kc,
        &[
            "--context=federation-cluster",
            "create",
            "-f",
            ns.to_str().unwrap(),
        ],
    );
    kubectl(
        &kc,
        &[
            "--context=federation-cluster",
            "create",
            "-f",
            nginx.to_str().unwrap(),
        ],
    );

    // It appears in every member: kubectl --context=gce-asia-east1-a get services nginx
    for (spec, _) in &world.members {
        let ctx = format!("--context={}", spec.name);
        let mut out = String::new();
        eventually(&format!("nginx in {}", spec.name), || {
            out = Command::new("kubectl")
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
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            out.contains(&spec.first_ip.to_string())
        })
        .await;
        assert!(out.contains("LoadBalancer"), "{out}");
    }

    // The federated service's status shows every member's load-balancer ingress.
    let mut described = String::new();
    eventually("LoadBalancer Ingress union", || {
        described = kubectl(
            &kc,
            &[
                "--context=federation-cluster",
                "describe",
                "services",
                "nginx",
                "-n",
                "mynamespace",
            ],
        );
        world
            .members
            .iter()
            .all(|(s, _)| described.contains(&s.first_ip.to_string()))
    })
    .await;
    assert!(described.contains("LoadBalancer Ingress:"), "{described}");

    // No backends yet: no healthy shard, so no global record, and zones lead to regions.
    assert_eq!(
        dig(
            &world,
            "nginx.mynamespace.myfederation.svc.example.com",
            "A"
        ),
        Vec::<String>::new()
    );
    assert_eq!(dig(&world, ZONE_F, "CNAME"), [REGION]);

    // Adding backend pods: kubectl --context=$CLUSTER run nginx --image=nginx:1.11.1-alpine --port=80
    for cluster in ["gce-us-central1-a", "gce-us-central1-b"] {
        kubectl(
            &kc,
            &[
                &format!("--context={cluster}"),
                "run",
                "nginx",
                "-n",
                "mynamespace",
                "--image=nginx:1.11.1-alpine",
                "--port=80",
                "--labels=run=nginx",
            ],
        );
    }
    eventually("us-central1 holds both healthy shards", || {
        let mut a = dig(&world, REGION, "A");
        a.sort();
        a == ["104.197.244.180", "104.197.247.191"]
    })
    .await;
    // us-central1-f has no backends: its name is a CNAME to the region and resolves through it.
    let answer = dig(&world, ZONE_F, "A");
    assert_eq!(answer[0], REGION, "{answer:?}");
    assert_eq!(answer.len(), 3, "{answer:?}");

    // A backend in us-central1-f makes its zone answer with its own shard.
    kubectl(
        &kc,
        &[
            "--context=gce-us-central1-f",
            "run",
            "nginx",
            "-n",
            "mynamespace",
            "--image=nginx:1.11.1-alpine",
            "--labels=run=nginx",
        ],
    );
    eventually("us-central1-f answers with its own address", || {
        dig(&world, ZONE_F, "A") == ["104.197.243.12"]
    })
    .await;

    // Handling failures: the pods in us-central1-f go away; the zone fails over to the region.
    kubectl(
        &kc,
        &[
            "--context=gce-us-central1-f",
            "delete",
            "pod",
            "nginx",
            "-n",
            "mynamespace",
        ],
    );
    eventually("us-central1-f fails over", || {
        dig(&world, ZONE_F, "CNAME") == [REGION]
    })
    .await;

    // A whole cluster goes down: its shard leaves DNS after the health threshold.
    world
        .member("gce-us-central1-b")
        .unwrap()
        .set_reachable(false);
    eventually("us-central1-b's shard leaves the region", || {
        dig(&world, REGION, "A") == ["104.197.247.191"]
    })
    .await;
    let clusters = kubectl(&kc, &["--context=federation-cluster", "get", "clusters"]);
    let row = clusters
        .lines()
        .find(|l| l.starts_with("gce-us-central1-b"))
        .unwrap()
        .to_owned();
    assert!(row.split_whitespace().nth(1) == Some("False"), "{clusters}");

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
    assert_eq!(summary.len(), 6, "{text}");
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
