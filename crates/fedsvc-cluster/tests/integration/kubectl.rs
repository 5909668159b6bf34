//! The real `kubectl` against the API server emulator.
//!
//! Skipped (with a printed reason) when no kubectl is installed, unless
//! `FEDSVC_REQUIRE_REAL=1`. `FEDSVC_KUBECTL` selects the binary (default: `kubectl` on PATH).

use std::path::{Path, PathBuf};

use fedsvc_cluster::Cluster;
use fedsvc_emulator::ApiServer;
use serde_json::json;

fn find_kubectl() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FEDSVC_KUBECTL") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    })
}

fn require_real() -> bool {
    std::env::var("FEDSVC_REQUIRE_REAL").is_ok_and(|v| v == "1")
}

/// The kubectl binary, or `None` after printing why the test is skipped.
fn kubectl_or_skip(test: &str) -> Option<PathBuf> {
    match find_kubectl() {
        Some(p) => Some(p),
        None if require_real() => panic!("{test}: kubectl not found and FEDSVC_REQUIRE_REAL=1"),
        None => {
            eprintln!("SKIPPED {test}: kubectl not found on PATH (set FEDSVC_KUBECTL)");
            None
        }
    }
}

/// A kubectl bound to one emulator through a temporary kubeconfig and cache directory.
struct Kubectl {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Kubectl {
    fn new(bin: PathBuf, server: &ApiServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kubeconfig"),
            server.kubeconfig_yaml("emulator"),
        )
        .unwrap();
        Self { bin, dir }
    }

    fn file(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }

    async fn run(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env("HOME", self.dir.path())
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        stdout
    }
}

const SERVICE_YAML: &str = "apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels: {app: nginx}
spec:
  type: LoadBalancer
  selector: {app: nginx}
  ports:
  - name: http
    port: 80
    targetPort: 8080
";

#[tokio::test]
async fn kubectl_creates_gets_describes_applies_and_deletes_services() {
    let Some(bin) = kubectl_or_skip("kubectl_creates_gets_describes_applies_and_deletes_services")
    else {
        return;
    };
    let server = ApiServer::start().await;
    let k = Kubectl::new(bin, &server);
    let file = k.file("svc.yaml", SERVICE_YAML);
    let out = k.run(&["create", "-f", &file]).await;
    assert!(out.contains("service/nginx created"), "{out}");

    server
        .set_load_balancer_ingress("default", "nginx", &["203.0.113.7"], &[])
        .unwrap();
    let out = k.run(&["get", "services"]).await;
    let header = out.lines().next().unwrap_or_default();
    for col in [
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
    ] {
        assert!(header.contains(col), "{out}");
    }
    let row = out.lines().find(|l| l.starts_with("nginx")).expect(&out);
    assert!(
        row.contains("LoadBalancer") && row.contains("203.0.113.7"),
        "{row}"
    );
    assert!(row.contains("80:30000/TCP"), "{row}");

    let out = k.run(&["describe", "service", "nginx"]).await;
    assert!(
        out.contains("LoadBalancer Ingress:") || out.contains("203.0.113.7"),
        "{out}"
    );
    assert!(out.contains("External Traffic Policy:  Cluster"), "{out}");

    let web = k.file("web.yaml", &SERVICE_YAML.replace("nginx", "web"));
    let out = k.run(&["apply", "--server-side", "-f", &web]).await;
    assert!(out.contains("serverside-applied"), "{out}");
    let out = k.run(&["apply", "--server-side", "-f", &web]).await;
    assert!(out.contains("serverside-applied"), "{out}");
    let out = k
        .run(&[
            "get",
            "service",
            "web",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ])
        .await;
    assert_eq!(out.trim(), "kubectl");

    let out = k.run(&["delete", "-f", &file]).await;
    assert!(out.contains("deleted"), "{out}");
    assert!(server.get("v1", "Service", "default", "nginx").is_err());
}

fn crd_path() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/crds/clusters.fedsvc.io.yaml")
        .display()
        .to_string()
}

#[tokio::test]
async fn kubectl_gets_clusters_after_applying_the_crd() {
    let Some(bin) = kubectl_or_skip("kubectl_gets_clusters_after_applying_the_crd") else {
        return;
    };
    let server = ApiServer::start().await;
    let k = Kubectl::new(bin, &server);
    let out = k.run(&["apply", "-f", &crd_path()]).await;
    assert!(out.contains("clusters.fedsvc.io"), "{out}");
    let cluster = k.file(
        "cluster.yaml",
        "apiVersion: fedsvc.io/v1alpha1
kind: Cluster
metadata:
  name: gce-us-central1-a
  labels: {env: prod}
spec:
  secretRef: {name: gce-us-central1-a-kubeconfig, namespace: fedsvc-system}
",
    );
    let out = k.run(&["create", "-f", &cluster]).await;
    assert!(out.contains("created"), "{out}");
    server
        .merge_patch(
            "fedsvc.io/v1alpha1",
            "clusters",
            "",
            "gce-us-central1-a",
            &json!({"status": {
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "ClusterReady",
                     "message": "/readyz responded with ok",
                     "lastProbeTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                    {"type": "Offline", "status": "False", "reason": "ClusterReachable"},
                ],
                "zones": ["us-central1-a"],
                "region": "us-central1",
            }}),
            true,
        )
        .unwrap();
    let out = k.run(&["get", "clusters"]).await;
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    for col in ["NAME", "READY", "ZONES", "REGION", "AGE"] {
        assert!(header.contains(col), "{out}");
    }
    let row = lines.next().expect(&out);
    assert!(row.starts_with("gce-us-central1-a"), "{row}");
    assert!(
        row.contains("True") && row.contains("us-central1-a") && row.contains("us-central1"),
        "{row}"
    );

    let json = k
        .run(&["get", "cluster", "gce-us-central1-a", "-o", "json"])
        .await;
    let c: Cluster = serde_json::from_str(&json).unwrap();
    assert_eq!(c.spec.secret_ref.key, "kubeconfig");
    assert!(c.status.unwrap().is_ready());

    let out = k.run(&["delete", "cluster", "gce-us-central1-a"]).await;
    assert!(out.contains("deleted"), "{out}");
}

/// Every versioned kubectl the machine ships (`kubectl.1.27` … beside the dispatcher's real
/// binaries) can list and create services.
#[tokio::test]
async fn every_installed_kubectl_version_works() {
    let dir = Path::new("/usr/lib/google-cloud-sdk/bin");
    let mut bins: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("kubectl.1."))
                })
                .collect()
        })
        .unwrap_or_default();
    bins.sort();
    if bins.is_empty() {
        if require_real() && find_kubectl().is_none() {
            panic!("no kubectl found and FEDSVC_REQUIRE_REAL=1");
        }
        eprintln!(
            "SKIPPED every_installed_kubectl_version_works: no versioned kubectl in {}",
            dir.display()
        );
        return;
    }
    for bin in bins {
        let server = ApiServer::start().await;
        let name = bin.file_name().unwrap().to_string_lossy().into_owned();
        let k = Kubectl::new(bin, &server);
        let file = k.file("svc.yaml", SERVICE_YAML);
        let out = k.run(&["create", "-f", &file]).await;
        assert!(out.contains("created"), "{name}: {out}");
        let out = k.run(&["get", "services"]).await;
        assert!(
            out.contains("nginx") && out.contains("CLUSTER-IP"),
            "{name}: {out}"
        );
        let out = k.run(&["apply", "--server-side", "-f", &file]).await;
        assert!(out.contains("serverside-applied"), "{name}: {out}");
        let out = k.run(&["describe", "service", "nginx"]).await;
        assert!(
            out.contains("Type:") && out.contains("LoadBalancer"),
            "{name}: {out}"
        );
        let out = k.run(&["delete", "service", "nginx"]).await;
        assert!(out.contains("deleted"), "{name}: {out}");
        k.run(&["apply", "-f", &crd_path()]).await;
        let cluster = k.file(
            "cluster.yaml",
            "apiVersion: fedsvc.io/v1alpha1\nkind: Cluster\nmetadata: {name: c1}\nspec: {secretRef: {name: c1}}\n",
        );
        k.run(&["create", "-f", &cluster]).await;
        let out = k.run(&["get", "clusters"]).await;
        assert!(
            out.contains("READY") && out.contains("ZONES") && out.contains("c1"),
            "{name}: {out}"
        );
        eprintln!("{name}: create, get, apply --server-side, describe, delete, get clusters ok");
    }
}
