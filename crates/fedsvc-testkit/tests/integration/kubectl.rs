//! The everyday kubectl commands against the emulator, with the real kubectl binaries: the
//! typed ones send Protocol Buffers bodies (`create namespace`, `create secret generic`,
//! `create configmap`, `create service`), the others JSON patches.
//!
//! Skipped with a printed reason when kubectl is missing, unless `FEDSVC_REQUIRE_REAL=1`.

use std::path::Path;
use std::process::{Command, Output};

use fedsvc_testkit::ApiServer;
use fedsvc_testkit::real_servers::tools_present;
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
