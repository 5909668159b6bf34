//! The everyday kubectl commands against the emulator, with the real kubectl binaries: the
//! typed ones send Protocol Buffers bodies (`create namespace`, `create secret generic`,
//! `create configmap`, `create service`) and, like `describe`, get Protocol Buffers answers;
//! the others send JSON patches and read JSON.
//!
//! Skipped with a printed reason when kubectl is missing, unless `FEDSVC_REQUIRE_REAL=1`.

use std::path::Path;
use std::process::{Command, Output};

use fedsvc_emulator::ApiServer;
use fedsvc_test_support::tools_present;
use serde_json::Value;

struct Kubectl {
    dir: tempfile::TempDir,
}

impl Kubectl {
    fn new(server: &ApiServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kubeconfig"),
            server.kubeconfig_yaml("emulator"),
        )
        .unwrap();
        Kubectl { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn output(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.path("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.path("cache"))
            .args(args)
            .env("HOME", self.dir.path())
            .envs(env.iter().copied())
            .output()
            .expect("run kubectl")
    }

    /// Runs kubectl and gives its standard output; fails the test when kubectl fails.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, &[])
    }

    fn ok_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.output(args, env);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&args)).expect("kubectl -o json")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_commands_send_protobuf_and_work() {
    if !tools_present(&["kubectl"]) {
        return;
    }
    let server = ApiServer::start().await;
    let kubectl = Kubectl::new(&server);
    let k = move |f: &dyn Fn(&Kubectl)| f(&kubectl);

    tokio::task::spawn_blocking(move || {
        k(&|k| {
            // Namespaces.
            assert!(
                k.ok(&["create", "namespace", "demo"])
                    .contains("namespace/demo created")
            );
            assert_eq!(
                k.json(&["get", "namespace", "demo"])["metadata"]["name"],
                "demo"
            );

            // A secret from a file, as docs/operations.md creates the provider's secret.
            let secret = Path::new(&k.path("tsig")).to_owned();
            std::fs::write(&secret, b"c2VjcmV0\n").unwrap();
            k.ok(&[
                "-n",
                "demo",
                "create",
                "secret",
                "generic",
                "fedsvc-dns",
                &format!("--from-file=tsig-secret={}", secret.display()),
            ]);
            let s = k.json(&["-n", "demo", "get", "secret", "fedsvc-dns"]);
            assert_eq!(s["type"], "Opaque");
            assert_eq!(s["data"]["tsig-secret"], "YzJWamNtVjAK");
            assert!(s["metadata"].get("generateName").is_none(), "{s}");

            // A config map, then label, annotate, patch and edit it.
            k.ok(&[
                "-n",
                "demo",
                "create",
                "configmap",
                "cfg",
                "--from-literal=a=b",
            ]);
            k.ok(&["-n", "demo", "label", "configmap", "cfg", "tier=web"]);
            k.ok(&["-n", "demo", "annotate", "configmap", "cfg", "note=hello"]);
            k.ok(&[
                "-n",
                "demo",
                "patch",
                "configmap",
                "cfg",
                "-p",
                r#"{"data":{"c":"d"}}"#,
            ]);
            // A non-interactive editor: a script that edits the file kubectl gives it.
            let editor = k.path("editor.sh");
            std::fs::write(
                &editor,
                "#!/bin/sh\nsed -i 's/^  c: d$/  c: edited/' \"$1\"\n",
            )
            .unwrap();
            std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            k.ok_with(
                &["-n", "demo", "edit", "configmap", "cfg"],
                &[("EDITOR", editor.as_str())],
            );
            let c = k.json(&["-n", "demo", "get", "configmap", "cfg"]);
            assert_eq!(c["data"]["a"], "b");
            assert_eq!(c["data"]["c"], "edited", "{c}");
            assert_eq!(c["metadata"]["labels"]["tier"], "web");
            assert_eq!(c["metadata"]["annotations"]["note"], "hello");
            let yaml = k.ok(&["-n", "demo", "get", "configmap", "cfg", "-o", "yaml"]);
            assert!(yaml.contains("c: edited"), "{yaml}");
            let wide = k.ok(&["-n", "demo", "get", "configmap", "-o", "wide"]);
            assert!(wide.contains("cfg"), "{wide}");
            let described = k.ok(&["-n", "demo", "describe", "configmap", "cfg"]);
            assert!(described.contains("tier=web"), "{described}");

            // A service from the generator.
            k.ok(&[
                "-n",
                "demo",
                "create",
                "service",
                "clusterip",
                "web",
                "--tcp=80:8080",
            ]);
            let svc = k.json(&["-n", "demo", "get", "service", "web"]);
            assert_eq!(svc["spec"]["ports"][0]["port"], 80);
            assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
            assert!(svc["spec"]["clusterIP"].is_string(), "{svc}");

            // Deletion.
            k.ok(&["-n", "demo", "delete", "configmap", "cfg"]);
            let gone = k.output(&["-n", "demo", "get", "configmap", "cfg"], &[]);
            assert!(!gone.status.success());
            assert!(String::from_utf8_lossy(&gone.stderr).contains("not found"));
        })
    })
    .await
    .unwrap();
}

/// kubectl's typed commands and `describe` ask for Protocol Buffers first: they get them, and
/// work on them as on a real server's answers, errors included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_commands_read_protobuf_answers() {
    if !tools_present(&["kubectl"]) {
        return;
    }
    let server = std::sync::Arc::new(ApiServer::start().await);
    let api = server.clone();
    tokio::task::spawn_blocking(move || {
        let k = Kubectl::new(&api);
        // Which requests were answered in Protocol Buffers since the last call.
        let answered = || {
            let got: Vec<String> = api
                .protobuf_answers()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            api.clear_requests();
            got
        };
        let has = |got: &[String], want: &str| {
            assert!(
                got.iter().any(|g| g == want),
                "{want} was not answered in Protocol Buffers: {got:?}"
            );
        };

        let out = k.ok(&["create", "namespace", "demo"]);
        assert!(out.contains("namespace/demo created"), "{out}");
        has(&answered(), "POST /api/v1/namespaces");
        // A 409 Status in Protocol Buffers, read as kubectl reads a real server's.
        let again = k.output(&["create", "namespace", "demo"], &[]);
        assert!(!again.status.success());
        let err = String::from_utf8_lossy(&again.stderr);
        assert!(
            err.contains(r#"Error from server (AlreadyExists): namespaces "demo" already exists"#),
            "{err}"
        );
        has(&answered(), "POST /api/v1/namespaces");

        let secret = k.path("tsig");
        std::fs::write(&secret, b"c2VjcmV0\n").unwrap();
        let out = k.ok(&[
            "-n",
            "demo",
            "create",
            "secret",
            "generic",
            "fedsvc-dns",
            &format!("--from-file=tsig-secret={secret}"),
        ]);
        assert!(out.contains("secret/fedsvc-dns created"), "{out}");
        let out = k.ok(&[
            "-n",
            "demo",
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=b",
        ]);
        assert!(out.contains("configmap/cfg created"), "{out}");
        let out = k.ok(&[
            "-n",
            "demo",
            "create",
            "deployment",
            "nginx",
            "--image=nginx:1.27",
            "--replicas=2",
            "--port=80",
        ]);
        assert!(out.contains("deployment.apps/nginx created"), "{out}");
        let out = k.ok(&[
            "-n",
            "demo",
            "create",
            "service",
            "clusterip",
            "web",
            "--tcp=80:8080",
        ]);
        assert!(out.contains("service/web created"), "{out}");
        let got = answered();
        for want in [
            "POST /api/v1/namespaces/demo/secrets",
            "POST /api/v1/namespaces/demo/configmaps",
            "POST /apis/apps/v1/namespaces/demo/deployments",
            "POST /api/v1/namespaces/demo/services",
        ] {
            has(&got, want);
        }
        let s = k.json(&["-n", "demo", "get", "secret", "fedsvc-dns"]);
        assert_eq!(s["data"]["tsig-secret"], "YzJWamNtVjAK");

        // The commands that read and write JSON still work beside them.
        k.ok(&["-n", "demo", "scale", "deployment", "nginx", "--replicas=3"]);
        k.ok(&["-n", "demo", "label", "configmap", "cfg", "tier=web"]);
        k.ok(&["-n", "demo", "annotate", "configmap", "cfg", "note=hello"]);
        k.ok(&[
            "-n",
            "demo",
            "patch",
            "configmap",
            "cfg",
            "-p",
            r#"{"data":{"c":"d"}}"#,
        ]);
        let c = k.json(&["-n", "demo", "get", "configmap", "cfg"]);
        assert_eq!(c["data"], serde_json::json!({"a": "b", "c": "d"}));
        assert_eq!(c["metadata"]["labels"]["tier"], "web");
        assert_eq!(c["metadata"]["annotations"]["note"], "hello");
        let yaml = k.ok(&["-n", "demo", "get", "deployment", "nginx", "-o", "yaml"]);
        assert!(yaml.contains("availableReplicas: 3"), "{yaml}");
        let wide = k.ok(&["-n", "demo", "get", "deployment", "nginx", "-o", "wide"]);
        assert!(wide.lines().nth(1).unwrap().contains("3/3"), "{wide}");
        assert!(answered().is_empty(), "JSON and Tables only");

        // describe reads typed objects and lists in Protocol Buffers.
        // Its output with each run of spaces as one.
        let describe = |args: &[&str]| {
            let mut all = vec!["-n", "demo", "describe"];
            all.extend(args);
            k.ok(&all).split_whitespace().collect::<Vec<_>>().join(" ")
        };
        let d = describe(&["deployment", "nginx"]);
        for want in [
            "Replicas: 3 desired | 3 updated | 3 total | 3 available | 0 unavailable",
            "RollingUpdateStrategy: 25% max unavailable, 25% max surge",
            "Image: nginx:1.27",
            "Available True MinimumReplicasAvailable",
            "NewReplicaSet: nginx-",
        ] {
            assert!(d.contains(want), "{want:?} missing from\n{d}");
        }
        let got = answered();
        for want in [
            "GET /apis/apps/v1/namespaces/demo/deployments/nginx",
            "GET /apis/apps/v1/namespaces/demo/replicasets",
            "GET /api/v1/namespaces/demo/events",
        ] {
            has(&got, want);
        }
        let p = describe(&["pods"]);
        assert_eq!(p.matches("Status: Running").count(), 3, "{p}");
        assert!(p.contains("Controlled By: ReplicaSet/nginx-"), "{p}");
        assert!(p.contains("Image: nginx:1.27"), "{p}");
        assert!(p.contains("ContainersReady True Ready True"), "{p}");
        let s = describe(&["service", "web"]);
        assert!(
            s.contains("Port: 80-8080 80/TCP TargetPort: 8080/TCP"),
            "{s}"
        );
        let s = describe(&["secret", "fedsvc-dns"]);
        assert!(
            s.contains("Type: Opaque") && s.contains("tsig-secret: 9 bytes"),
            "{s}"
        );
        let c = describe(&["configmap", "cfg"]);
        assert!(
            c.contains("Labels: tier=web") && c.contains("Annotations: note: hello"),
            "{c}"
        );
        let n = describe(&["namespace", "demo"]);
        assert!(
            n.contains("Name: demo") && n.contains("Status: Active"),
            "{n}"
        );
        let h = k.ok(&["-n", "demo", "rollout", "history", "deployment/nginx"]);
        assert!(h.contains("REVISION"), "{h}");
        let got = answered();
        for want in [
            "GET /api/v1/namespaces/demo/services/web",
            "GET /api/v1/namespaces/demo/secrets/fedsvc-dns",
            "GET /api/v1/namespaces/demo/configmaps/cfg",
            "GET /api/v1/namespaces/demo",
            "GET /apis/apps/v1/namespaces/demo/deployments/nginx",
        ] {
            has(&got, want);
        }
        assert!(
            got.iter()
                .any(|g| g.starts_with("GET /api/v1/namespaces/demo/pods/nginx-"))
        );

        k.ok(&["-n", "demo", "delete", "configmap", "cfg"]);
        k.ok(&["-n", "demo", "delete", "deployment", "nginx"]);
        let left = k.json(&["-n", "demo", "get", "configmaps,deployments,pods"]);
        assert_eq!(left["items"].as_array().unwrap().len(), 0, "{left}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_run_as_a_cluster_runs_them() {
    if !tools_present(&["kubectl"]) {
        return;
    }
    let server = std::sync::Arc::new(ApiServer::start().await);
    let api = server.clone();
    tokio::task::spawn_blocking(move || {
        let k = Kubectl::new(&api);
        k.ok(&["create", "namespace", "demo"]);
        k.ok(&[
            "-n",
            "demo",
            "create",
            "deployment",
            "nginx",
            "--image=nginx:1.27",
            "--replicas=2",
            "--port=80",
        ]);

        // A ReplicaSet and two running, ready pods, as `kubectl get` shows them.
        let d = k.json(&["-n", "demo", "get", "deployment", "nginx"]);
        assert_eq!(
            d["spec"]["strategy"]["type"], "RollingUpdate",
            "server defaults"
        );
        assert_eq!(d["status"]["readyReplicas"], 2, "{d}");
        let pods = k.ok(&["-n", "demo", "get", "pods", "-o", "wide"]);
        let lines: Vec<&str> = pods.lines().collect();
        assert!(
            lines[0]
                .split_whitespace()
                .eq(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"])
        );
        assert_eq!(lines.len(), 3, "{pods}");
        for l in &lines[1..] {
            let cells: Vec<&str> = l.split_whitespace().collect();
            assert!(cells[0].starts_with("nginx-"), "{l}");
            assert_eq!(&cells[1..4], ["1/1", "Running", "0"], "{l}");
            assert!(cells[5].starts_with("10.244."), "{l}");
        }
        let table = k.ok(&["-n", "demo", "get", "deployment", "nginx"]);
        assert!(table.lines().nth(1).unwrap().contains("2/2"), "{table}");

        // kubectl scale goes through the scale subresource.
        k.ok(&["-n", "demo", "scale", "deployment", "nginx", "--replicas=3"]);
        let d = k.json(&["-n", "demo", "get", "deployment", "nginx"]);
        assert_eq!(d["status"]["availableReplicas"], 3, "{d}");
        let rs = k.json(&["-n", "demo", "get", "replicasets"]);
        assert_eq!(rs["items"].as_array().unwrap().len(), 1);

        // A new template replaces the pods; the container keeps its port (merged by name).
        k.ok(&[
            "-n",
            "demo",
            "set",
            "image",
            "deployment/nginx",
            "nginx=nginx:1.28",
        ]);
        let d = k.json(&["-n", "demo", "get", "deployment", "nginx"]);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1.28");
        assert_eq!(c["ports"][0]["containerPort"], 80, "{c}");
        assert!(c.get("stdin").is_none(), "unset fields stay unset: {c}");
        let pods = k.json(&["-n", "demo", "get", "pods"]);
        let images: Vec<&str> = pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["spec"]["containers"][0]["image"].as_str().unwrap())
            .collect();
        assert_eq!(images, ["nginx:1.28"; 3]);

        // Pods that are not ready show in the Deployment's status.
        api.set_pods_ready(false);
        let d = k.json(&["-n", "demo", "get", "deployment", "nginx"]);
        assert!(d["status"].get("readyReplicas").is_none(), "{d}");
        assert_eq!(d["status"]["unavailableReplicas"], 3, "{d}");
        api.set_pods_ready(true);

        // Core Endpoints follow the EndpointSlices.
        k.ok(&["-n", "demo", "expose", "deployment", "nginx", "--port=80"]);
        api.set_endpoints("demo", "nginx", 2, 1).unwrap();
        let ep = k.ok(&["-n", "demo", "get", "endpoints", "nginx"]);
        assert!(ep.contains("10.244.0.1:80,10.244.0.2:80"), "{ep}");
        let described = k.ok(&["-n", "demo", "describe", "service", "nginx"]);
        assert!(
            described.contains("Endpoints:") && described.contains("10.244.0.1:80"),
            "{described}"
        );

        // Deleting the Deployment deletes its ReplicaSets and pods.
        k.ok(&["-n", "demo", "delete", "deployment", "nginx"]);
        let left = k.json(&["-n", "demo", "get", "replicasets,pods"]);
        assert_eq!(left["items"].as_array().unwrap().len(), 0, "{left}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deploy_folder_applies() {
    if !tools_present(&["kubectl"]) {
        return;
    }
    let server = ApiServer::start().await;
    let kubectl = Kubectl::new(&server);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    tokio::task::spawn_blocking(move || {
        for dir in ["deploy", "deploy/local-dns"] {
            kubectl.ok(&["apply", "-k", &format!("{root}/{dir}")]);
        }
        let d = kubectl.json(&["-n", "fedsvc-system", "get", "deployments"]);
        let ready: Vec<(&str, i64)> = d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["metadata"]["name"].as_str().unwrap(),
                    d["status"]["readyReplicas"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(ready, [("fedsvc-controller", 2), ("fedsvc-local-dns", 2)]);
    })
    .await
    .unwrap();
}
