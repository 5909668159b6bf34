//! Federated Deployments driven with the real `kubectl`, as `docs/workloads.md` describes them,
//! against the demo's federation API and its 13 member API servers (which run Deployments,
//! ReplicaSets and pods), with the real controller in the process.
//!
//! One scenario, in order: a Deployment created on the federation API with a ConfigMap its pods
//! use; its copies and their replicas in every member, the ConfigMap along, the summed READY
//! column; `kubectl scale`; weights; placement by Cluster labels; a member that stops
//! answering and comes back; the ConfigMap replaced; an orphaned Deployment deleted; and the
//! cascade when the first one is deleted. Every expected division is computed with
//! `fedsvc_model::replicas::divide`, and compared with the annotation
//! `fedsvc.io/replica-division` and with what each member runs, read with `kubectl` there.
//!
//! kubectl is needed; without it the test skips with a reason, unless FEDSVC_REQUIRE_REAL=1.

#![cfg(feature = "demo")]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fedsvc_cli::demo::{World, WorldOptions};
use fedsvc_model::ClusterName;
use fedsvc_model::replicas::{Division, Member, Placement, Weights, divide};
use serde_json::Value;

const FED: &str = "--context=federation-cluster";
const NS: &str = "shop";
const A: &str = "gce-us-central1-a";
const B: &str = "gce-us-central1-b";
const DIVISION: &str = "fedsvc.io/replica-division";
/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(40);

/// The real kubectl, with the demo's kubeconfig and a home of its own (its discovery cache).
struct Kubectl {
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Kubectl {
    /// Runs kubectl on a blocking thread (the runtime's two workers serve the API servers and
    /// the controller), `stdin` as its input.
    async fn output(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let kubeconfig = self.kubeconfig.clone();
        let home = self.home.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let stdin = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new("kubectl")
                .env("KUBECONFIG", &kubeconfig)
                .env("HOME", &home)
                .args(&args)
                .stdin(if stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("kubectl starts");
            if let Some(input) = stdin {
                let mut pipe = child.stdin.take().expect("kubectl's stdin");
                pipe.write_all(input.as_bytes())
                    .expect("kubectl reads its input");
            }
            child.wait_with_output().expect("kubectl runs")
        })
        .await
        .expect("the kubectl thread")
    }

    /// Runs kubectl, fails the test unless it succeeds, and returns what it printed.
    async fn run_with(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.output(args, stdin).await;
        assert!(
            out.status.success(),
            "kubectl {} failed ({}):\n--- stderr\n{}\n--- stdout\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
        );
        String::from_utf8(out.stdout).expect("kubectl prints UTF-8")
    }

    async fn run(&self, args: &[&str]) -> String {
        self.run_with(args, None).await
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let text = self.run(&all).await;
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("kubectl {}: not JSON ({e}):\n{text}", args.join(" ")))
    }

    /// Fails the test unless `kubectl ARGS` fails with NotFound.
    async fn assert_not_found(&self, args: &[&str]) {
        let out = self.output(args, None).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("NotFound"),
            "kubectl {}: expected NotFound, got {}:\n--- stderr\n{stderr}\n--- stdout\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
        );
    }

    /// A Deployment of the federation API.
    async fn federated(&self, name: &str) -> Value {
        self.json(&[FED, "get", "deployment", name, "-n", NS]).await
    }

    /// The READY column of `kubectl get deployment NAME` on the federation, as printed.
    async fn ready_column(&self, name: &str) -> String {
        let table = self.run(&[FED, "get", "deployment", name, "-n", NS]).await;
        let mut lines = table.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let col = header
            .iter()
            .position(|h| *h == "READY")
            .unwrap_or_else(|| panic!("no READY column:\n{table}"));
        lines
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|row| row.first() == Some(&name))
            .and_then(|row| row.get(col).map(|s| (*s).to_owned()))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
    }
}

/// Waits, up to [`WAIT`], until `check` says yes; fails with what it saw last otherwise.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(seen) if start.elapsed() > WAIT => {
                panic!("after {WAIT:?}, still not so: {what}\nlast seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// The Deployments and ConfigMaps of namespace `shop` in one member, by name.
#[derive(Debug, Default)]
struct MemberShop {
    deployments: BTreeMap<String, Value>,
    configmaps: BTreeMap<String, Value>,
}

/// What `kubectl --context=MEMBER get deployments,configmaps -n shop` shows in each member.
async fn member_shops(k: &Kubectl, members: &[String]) -> BTreeMap<String, MemberShop> {
    let reads = members.iter().map(|m| async move {
        let ctx = format!("--context={m}");
        let list = k
            .json(&[&ctx, "get", "deployments,configmaps", "-n", NS])
            .await;
        let mut shop = MemberShop::default();
        for item in list["items"].as_array().cloned().unwrap_or_default() {
            let name = item["metadata"]["name"].as_str().unwrap_or("").to_owned();
            match item["kind"].as_str() {
                Some("Deployment") => shop.deployments.insert(name, item),
                Some("ConfigMap") => shop.configmaps.insert(name, item),
                other => panic!("{m}: unexpected kind {other:?} in {item}"),
            };
        }
        (m.clone(), shop)
    });
    futures::future::join_all(reads).await.into_iter().collect()
}

fn cluster(name: &str) -> ClusterName {
    ClusterName::parse(name).expect("a cluster name")
}

/// The division the documentation promises for `total` replicas with `weights` over the
/// `selected` members, those in `not_ready` not Ready.
fn expected(total: u32, weights: &Weights, selected: &[String], not_ready: &[&str]) -> Division {
    let members: Vec<Member> = selected
        .iter()
        .map(|m| Member {
            name: cluster(m),
            ready: !not_ready.contains(&m.as_str()),
        })
        .collect();
    divide(total, weights, &members)
}

/// Whether a pod template references the ConfigMap `name` (env valueFrom or envFrom).
fn template_uses_configmap(dep: &Value, name: &str) -> bool {
    let containers = dep["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    containers.iter().any(|c| {
        let env = c["env"].as_array().cloned().unwrap_or_default();
        let env_from = c["envFrom"].as_array().cloned().unwrap_or_default();
        env.iter()
            .any(|e| e["valueFrom"]["configMapKeyRef"]["name"] == name)
            || env_from.iter().any(|e| e["configMapRef"]["name"] == name)
    })
}

/// Checks that the members run `web` as `division` says (a copy with its share where it has
/// one, none where it has none; members it keeps as they are, not looked at), each copy with
/// the ConfigMap `web-config` (GREETING=`greeting`) beside it, and no ConfigMap copy where
/// there is no Deployment copy. Returns every difference.
fn check_web(
    shops: &BTreeMap<String, MemberShop>,
    division: &Division,
    greeting: &str,
) -> Result<(), String> {
    let mut wrong = Vec::new();
    for (member, shop) in shops {
        let placement = division.placement(&cluster(member));
        let web = shop.deployments.get("web");
        let config = shop.configmaps.get("web-config");
        match placement {
            Some(Placement::Keep) => {}
            Some(Placement::Run(n)) => {
                let Some(web) = web else {
                    wrong.push(format!(
                        "{member}: no deployment web (expected {n} replicas)"
                    ));
                    continue;
                };
                let replicas = &web["spec"]["replicas"];
                if replicas != &Value::from(n.get()) {
                    wrong.push(format!(
                        "{member}: web has {replicas} replicas, expected {n}"
                    ));
                }
                let labels = &web["metadata"]["labels"];
                if labels["app.kubernetes.io/managed-by"] != "fedsvc" {
                    wrong.push(format!(
                        "{member}: web is not labelled as fedsvc's: {labels}"
                    ));
                }
                if !template_uses_configmap(web, "web-config") {
                    wrong.push(format!(
                        "{member}: web's pod template does not use web-config: {}",
                        web["spec"]["template"]
                    ));
                }
                match config {
                    None => wrong.push(format!("{member}: no configmap web-config")),
                    Some(c) if c["data"]["GREETING"] != greeting => wrong.push(format!(
                        "{member}: web-config holds {}, expected GREETING={greeting}",
                        c["data"]
                    )),
                    Some(_) => {}
                }
            }
            Some(Placement::NoCopy) | None => {
                if let Some(web) = web {
                    wrong.push(format!(
                        "{member}: has deployment web ({} replicas), expected none",
                        web["spec"]["replicas"]
                    ));
                }
                if config.is_some() {
                    wrong.push(format!("{member}: has configmap web-config, expected none"));
                }
            }
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n"))
    }
}

/// Waits until the federated Deployment `name` shows `division` in its annotation.
async fn wait_division(k: &Kubectl, name: &str, division: &Division) {
    let want = division.to_string();
    eventually(
        &format!("deployment {name} on the federation has {DIVISION}={want}"),
        async || {
            let dep = k.federated(name).await;
            let shown = &dep["metadata"]["annotations"][DIVISION];
            if shown == want.as_str() {
                Ok(())
            } else {
                Err(format!("{DIVISION}={shown}"))
            }
        },
    )
    .await;
}

/// Waits until the division annotation of `web` is `division` and the members run `web` as it
/// says (every member in `members` is read with kubectl).
async fn wait_web(k: &Kubectl, members: &[String], division: &Division, greeting: &str) {
    wait_division(k, "web", division).await;
    eventually(
        &format!("the members run web as {division} (web-config GREETING={greeting})"),
        async || check_web(&member_shops(k, members).await, division, greeting),
    )
    .await;
}

/// Waits until `kubectl get deployment NAME` on the federation shows READY `want`.
async fn wait_ready(k: &Kubectl, name: &str, want: &str) {
    eventually(
        &format!("kubectl get deployment {name} on the federation shows READY {want}"),
        async || {
            let ready = k.ready_column(name).await;
            if ready == want {
                Ok(())
            } else {
                Err(format!("READY {ready}"))
            }
        },
    )
    .await;
}

/// Every entry of the division annotation `text` is `member=replicas` (13 of them).
fn assert_every_member_runs(text: &str, members: &[String], replicas: u32) {
    let entries: Vec<&str> = text.split(',').collect();
    assert_eq!(entries.len(), members.len(), "{DIVISION}={text}");
    for m in members {
        let entry = format!("{m}={replicas}");
        assert!(
            entries.contains(&entry.as_str()),
            "no {entry} in {DIVISION}={text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_deployments_with_the_real_kubectl() {
    if !fedsvc_test_support::tools_present(&["kubectl"]) {
        return;
    }
    let opts = WorldOptions {
        dns_listen: "127.0.0.1:0".parse().unwrap(),
        probe_period: Duration::from_millis(300),
        ..WorldOptions::default()
    };
    let world = World::start(&opts).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    world.write_kubeconfig(&kubeconfig).unwrap();
    let k = Kubectl {
        kubeconfig,
        home: dir.path().to_owned(),
    };
    let all: Vec<String> = world.members.iter().map(|(s, _)| s.name.clone()).collect();
    assert_eq!(all.len(), 13, "the demo's members");
    let even = Weights::even();

    // 1. The namespace and the ConfigMap, on the federation API.
    k.assert_not_found(&[FED, "get", "namespace", NS]).await;
    k.run(&[FED, "create", "namespace", NS]).await;
    k.run(&[
        FED,
        "create",
        "configmap",
        "web-config",
        "-n",
        NS,
        "--from-literal=GREETING=hello",
    ])
    .await;

    // 2. The Deployment, then its pods take their environment from the ConfigMap.
    k.run(&[
        FED,
        "create",
        "deployment",
        "web",
        "-n",
        NS,
        "--image=nginx",
        "--replicas=26",
    ])
    .await;
    k.run(&[
        FED,
        "set",
        "env",
        "deployment/web",
        "-n",
        NS,
        "--from=configmap/web-config",
    ])
    .await;
    let web = k.federated("web").await;
    assert!(template_uses_configmap(&web, "web-config"), "{web}");

    // 3. 26 over 13: 2 each, the ConfigMap along, 26/26 ready on the federation.
    let division = expected(26, &even, &all, &[]);
    wait_web(&k, &all, &division, "hello").await;
    let web = k.federated("web").await;
    let shown = web["metadata"]["annotations"][DIVISION].as_str().unwrap();
    assert_every_member_runs(shown, &all, 2);
    let finalizers = web["metadata"]["finalizers"].as_array().cloned();
    assert!(
        finalizers.is_some_and(|f| f.iter().any(|f| f == "fedsvc.io/cleanup")),
        "no finalizer fedsvc.io/cleanup: {}",
        web["metadata"]
    );
    wait_ready(&k, "web", "26/26").await;

    // 4. kubectl scale on the federation: 39 over 13, 3 each.
    k.run(&[FED, "scale", "deployment", "web", "-n", NS, "--replicas=39"])
        .await;
    let division = expected(39, &even, &all, &[]);
    wait_web(&k, &all, &division, "hello").await;
    assert_every_member_runs(&division.to_string(), &all, 3);
    wait_ready(&k, "web", "39/39").await;

    // 5. Weights: gce-us-central1-a counts twice.
    let weights_text = format!("{A}=2,*=1");
    k.run(&[
        FED,
        "annotate",
        "deployment",
        "web",
        "-n",
        NS,
        &format!("fedsvc.io/replica-weights={weights_text}"),
        "--overwrite",
    ])
    .await;
    let weights = Weights::parse(&weights_text).unwrap();
    let division = expected(39, &weights, &all, &[]);
    assert_eq!(division.scheduled(), 39, "{division}");
    wait_web(&k, &all, &division, "hello").await;
    wait_ready(&k, "web", "39/39").await;

    // 6. Placement: only the clusters labelled tier=front, evenly again.
    k.run(&[FED, "label", "cluster", A, B, "tier=front"]).await;
    k.run(&[
        FED,
        "annotate",
        "deployment",
        "web",
        "-n",
        NS,
        "fedsvc.io/replica-weights-",
    ])
    .await;
    k.run(&[
        FED,
        "annotate",
        "deployment",
        "web",
        "-n",
        NS,
        "fedsvc.io/cluster-selector=tier=front",
        "--overwrite",
    ])
    .await;
    let front = vec![A.to_owned(), B.to_owned()];
    let division = expected(39, &even, &front, &[]);
    wait_web(&k, &all, &division, "hello").await;
    let shops = member_shops(&k, &all).await;
    for (member, shop) in &shops {
        let has = shop.deployments.contains_key("web");
        assert_eq!(has, front.contains(member), "{member}: deployment web");
    }
    wait_ready(&k, "web", "39/39").await;

    // 7. gce-us-central1-b stops answering: after the hysteresis its share goes to
    // gce-us-central1-a, and its copy is kept as it was; then it answers again.
    let b_share = division
        .placement(&cluster(B))
        .and_then(Placement::replicas)
        .unwrap();
    world.member(B).unwrap().set_reachable(false);
    let outage = expected(39, &even, &front, &[B]);
    assert_eq!(
        outage.placement(&cluster(A)).and_then(Placement::replicas),
        Some(39),
        "{outage}"
    );
    assert_eq!(outage.placement(&cluster(B)), Some(Placement::Keep));
    let reachable: Vec<String> = all.iter().filter(|m| *m != B).cloned().collect();
    wait_web(&k, &reachable, &outage, "hello").await;
    let kept = world
        .member(B)
        .unwrap()
        .get("apps/v1", "Deployment", NS, "web")
        .expect("gce-us-central1-b keeps its copy while it does not answer");
    assert_eq!(
        kept["spec"]["replicas"],
        Value::from(b_share),
        "gce-us-central1-b's copy is neither scaled nor deleted"
    );
    world.member(B).unwrap().set_reachable(true);
    wait_web(&k, &all, &division, "hello").await;
    wait_ready(&k, "web", "39/39").await;

    // 8. The ConfigMap replaced on the federation: the member copies follow.
    let yaml = k
        .run(&[
            FED,
            "create",
            "configmap",
            "web-config",
            "-n",
            NS,
            "--from-literal=GREETING=bonjour",
            "--dry-run=client",
            "-o",
            "yaml",
        ])
        .await;
    k.run_with(&[FED, "replace", "-f", "-"], Some(&yaml)).await;
    eventually(
        "the members running web hold web-config GREETING=bonjour",
        async || check_web(&member_shops(&k, &all).await, &division, "bonjour"),
    )
    .await;

    // 9. An orphaned Deployment leaves its copies behind; web, deleted, takes its copies and
    // the ConfigMap copies with it.
    k.run(&[
        FED,
        "create",
        "deployment",
        "api",
        "-n",
        NS,
        "--image=nginx",
        "--replicas=2",
    ])
    .await;
    let api_division = expected(2, &even, &all, &[]);
    wait_division(&k, "api", &api_division).await;
    let api_members: BTreeMap<String, u32> = api_division
        .iter()
        .filter_map(|(m, p)| match p {
            Placement::Run(n) => Some((m.to_string(), n.get())),
            _ => None,
        })
        .collect();
    let api_copies = async || -> Result<(), String> {
        let shops = member_shops(&k, &all).await;
        let mut wrong = Vec::new();
        for (member, shop) in &shops {
            let replicas = shop
                .deployments
                .get("api")
                .map(|d| d["spec"]["replicas"].clone());
            let want = api_members.get(member).map(|n| Value::from(*n));
            if replicas != want {
                wrong.push(format!(
                    "{member}: api replicas {replicas:?}, expected {want:?}"
                ));
            }
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("\n"))
        }
    };
    eventually(
        &format!("the members run api as {api_division}"),
        async || api_copies().await,
    )
    .await;
    k.run(&[
        FED,
        "annotate",
        "deployment",
        "api",
        "-n",
        NS,
        "fedsvc.io/orphan=true",
    ])
    .await;
    k.run(&[
        FED,
        "delete",
        "deployment",
        "api",
        "-n",
        NS,
        "--timeout=40s",
    ])
    .await;
    k.assert_not_found(&[FED, "get", "deployment", "api", "-n", NS])
        .await;
    // The finalizer went after the cleanup: what the members hold now is what stays.
    api_copies()
        .await
        .unwrap_or_else(|e| panic!("the orphaned copies of api stay:\n{e}"));

    k.run(&[
        FED,
        "delete",
        "deployment",
        "web",
        "-n",
        NS,
        "--timeout=40s",
    ])
    .await;
    k.assert_not_found(&[FED, "get", "deployment", "web", "-n", NS])
        .await;
    let nowhere = expected(0, &even, &all, &[]);
    eventually("no member has web or web-config any more", async || {
        check_web(&member_shops(&k, &all).await, &nowhere, "bonjour")
    })
    .await;
    api_copies()
        .await
        .unwrap_or_else(|e| panic!("the orphaned copies of api stay:\n{e}"));
    let config = k
        .json(&[FED, "get", "configmap", "web-config", "-n", NS])
        .await;
    assert_eq!(config["data"]["GREETING"], "bonjour", "{config}");

    world.stop().await;
}
