//! Member credentials end to end: the controller against API emulators (one for the federation
//! API, one per member), with members reached through kube-rs from the kubeconfigs stored in
//! Secrets. A stored kubeconfig may not run programs or read files unless the configuration
//! allows it, and a member's Secret is watched: one created after its `Cluster`, or changed,
//! is used within moments.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::KubeMemberFactory;
use fedsvc_emulator::ApiServer;
use fedsvc_providers::MemoryProvider;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

const NS: &str = "fedsvc-system";

/// How long anything the tests wait for may take: far more than it needs (probes run every
/// 100 ms); the bound only keeps a broken build from hanging.
const DEADLINE: Duration = Duration::from_secs(20);

struct World {
    host: ApiServer,
    running: Running,
}

async fn world(tune: impl FnOnce(&mut ControllerConfig)) -> World {
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    host.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .unwrap();
    let mut config = common::config();
    tune(&mut config);
    let running = start(
        &config,
        Parts {
            host: host.client(),
            members: Arc::new(KubeMemberFactory {
                options: config.member_options(),
            }),
            provider: Some(Arc::new(MemoryProvider::new(
                "example.com".parse().unwrap(),
            ))),
            resolver: None,
        },
    )
    .await
    .unwrap();
    World { host, running }
}

impl World {
    fn create_cluster(&self, name: &str) {
        self.host
            .create(json!({
                "apiVersion": "fedsvc.io/v1alpha1", "kind": "Cluster",
                "metadata": {"name": name},
                "spec": {"secretRef": {"name": format!("{name}-kubeconfig"), "namespace": NS}},
            }))
            .unwrap();
    }

    /// Stores `kubeconfig` in the Secret of cluster `name` (creating or replacing it).
    fn store_kubeconfig(&self, name: &str, kubeconfig: &str) {
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(format!("{name}-kubeconfig")),
                namespace: Some(NS.into()),
                ..ObjectMeta::default()
            },
            data: Some(
                [(
                    "kubeconfig".to_owned(),
                    ByteString(kubeconfig.as_bytes().to_vec()),
                )]
                .into(),
            ),
            type_: Some("Opaque".into()),
            ..Secret::default()
        };
        let mut obj = serde_json::to_value(&secret).unwrap();
        obj["apiVersion"] = "v1".into();
        obj["kind"] = "Secret".into();
        self.host.put(obj).unwrap();
    }

    /// The `Ready` condition of cluster `name`'s status.
    fn ready_condition(&self, name: &str) -> Option<Value> {
        let c = self
            .host
            .get("fedsvc.io/v1alpha1", "Cluster", "", name)
            .ok()?;
        c["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|x| x["type"] == "Ready")
            .cloned()
    }

    /// Waits (bounded) until the `Ready` condition of `name` satisfies `check`; returns it.
    async fn wait_ready_condition(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = tokio::time::Instant::now();
        loop {
            if let Some(c) = self.ready_condition(name)
                && check(&c)
            {
                return c;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{name}: never {what}; Ready condition: {:?}",
                self.ready_condition(name)
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn wait_ready(&self, name: &str) -> Value {
        self.wait_ready_condition(name, "Ready", |c| c["status"] == "True")
            .await
    }

    async fn stop(self) {
        self.running.shutdown(Duration::from_secs(5)).await;
    }
}

/// A kubeconfig for `server` whose user gets its token from an exec plugin that first creates
/// `marker`: if the controller ever runs it, the marker exists.
fn exec_kubeconfig(server: &ApiServer, marker: &Path) -> String {
    let script = format!(
        "touch '{}'; echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"from-exec\"}}}}'",
        marker.display()
    );
    let exec = json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "/bin/sh",
        "args": ["-c", script],
        "interactiveMode": "Never",
    });
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: {}\ncontexts:\n- name: m\n  context: {{cluster: m, user: m}}\ncurrent-context: m\nusers:\n- name: m\n  user:\n    exec: {exec}\n",
        server.url()
    )
}

/// How many health probes `server` has answered.
fn probes(server: &ApiServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/readyz" || r.path == "/healthz")
        .count()
}

async fn wait_probes(server: &ApiServer, at_least: usize, what: &str) {
    let start = tokio::time::Instant::now();
    while probes(server) < at_least {
        assert!(start.elapsed() < DEADLINE, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_kubeconfig_in_a_secret_never_runs_and_the_cluster_says_why() {
    let w = world(|_| {}).await;
    let member = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("exec-ran");

    // A cluster with an ordinary token kubeconfig, to see the controller at work.
    w.store_kubeconfig("good", &member.kubeconfig_yaml("good"));
    w.create_cluster("good");
    // And one whose kubeconfig would run a command.
    w.store_kubeconfig("sneaky", &exec_kubeconfig(&member, &marker));
    w.create_cluster("sneaky");

    w.wait_ready("good").await;
    let c = w
        .wait_ready_condition("sneaky", "refused as unsafe", |c| {
            c["reason"] == "UnsafeKubeconfig"
        })
        .await;
    assert_eq!(c["status"], "False");
    let message = c["message"].as_str().unwrap();
    assert!(
        message.contains("users[0].user.exec") && message.contains("allowUnsafeKubeconfig"),
        "{message}"
    );
    assert!(
        !message.contains("touch"),
        "the command is not echoed: {message}"
    );
    // Many probe rounds later, the plugin has still not run, and the cluster is still refused.
    let seen = probes(&member);
    wait_probes(&member, seen + 10, "ten more probes of the good cluster").await;
    assert!(
        !marker.exists(),
        "the exec plugin of a stored kubeconfig ran"
    );
    assert_eq!(
        w.ready_condition("sneaky").unwrap()["reason"],
        "UnsafeKubeconfig"
    );
    assert!(
        !w.running
            .clusters
            .members()
            .iter()
            .any(|m| m.name.as_str() == "sneaky"),
        "a refused cluster is not a member"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_changed_to_an_unsafe_kubeconfig_takes_the_member_out() {
    let w = world(|_| {}).await;
    let member = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("exec-ran");
    w.store_kubeconfig("m", &member.kubeconfig_yaml("m"));
    w.create_cluster("m");
    w.wait_ready("m").await;

    w.store_kubeconfig("m", &exec_kubeconfig(&member, &marker));
    w.wait_ready_condition("m", "refused as unsafe", |c| {
        c["reason"] == "UnsafeKubeconfig" && c["status"] == "False"
    })
    .await;
    assert!(
        w.running.clusters.members().is_empty(),
        "the member built from the old Secret is gone"
    );
    assert!(
        !marker.exists(),
        "the exec plugin of a stored kubeconfig ran"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_opt_in_an_exec_kubeconfig_is_used() {
    let doc = "federation: myfederation\ndnsSuffix: example.com\ndns: {zone: example.com, provider: {kind: memory}}\nmembers: {allowUnsafeKubeconfig: true}\n";
    let parsed: ControllerConfig = serde_saphyr::from_str(doc).unwrap();
    assert!(parsed.members.allow_unsafe_kubeconfig);
    assert!(parsed.member_options().allow_unsafe_kubeconfig);
    let default: ControllerConfig = serde_saphyr::from_str(
        doc.replace("members: {allowUnsafeKubeconfig: true}\n", "")
            .as_str(),
    )
    .unwrap();
    assert!(
        !default.member_options().allow_unsafe_kubeconfig,
        "off by default"
    );

    let w = world(|c| c.members.allow_unsafe_kubeconfig = true).await;
    let member = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("exec-ran");
    w.store_kubeconfig("trusted", &exec_kubeconfig(&member, &marker));
    w.create_cluster("trusted");
    w.wait_ready("trusted").await;
    assert!(
        marker.exists(),
        "with the opt-in the plugin provides the token"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_created_after_its_cluster_is_picked_up() {
    let w = world(|_| {}).await;
    let member = ApiServer::start().await;
    w.create_cluster("late");
    let c = w
        .wait_ready_condition("late", "reported without its Secret", |c| {
            c["status"] == "False"
        })
        .await;
    assert_eq!(c["reason"], "ClusterNotReachable");
    assert!(
        c["message"].as_str().unwrap().contains("does not exist"),
        "{c}"
    );
    // Let the controller see its own status write come back, so that only the Secret's
    // arrival can make it try again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(probes(&member), 0);

    w.store_kubeconfig("late", &member.kubeconfig_yaml("late"));
    w.wait_ready("late").await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_is_used_without_the_cluster_changing() {
    // Probes 30 s apart: nothing but the Secret's change can bring the new kubeconfig into use
    // within the test's deadline (a member is probed at once when it joins).
    let w = world(|c| c.health.period = Duration::from_secs(30)).await;
    let old = ApiServer::start().await;
    let new = ApiServer::start().await;
    w.store_kubeconfig("m", &old.kubeconfig_yaml("m"));
    w.create_cluster("m");
    wait_probes(&old, 1, "the member probed when it joins").await;
    w.wait_ready_condition("m", "probed once", |_| true).await;
    // Let the controller see its own status write come back, so that only the Secret's
    // change can make it read the Secret again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let generation = w
        .host
        .get("fedsvc.io/v1alpha1", "Cluster", "", "m")
        .unwrap()["metadata"]["generation"]
        .clone();

    // A Secret no Cluster refers to changes nothing: the member is not joined again (which
    // would probe it at once).
    let before = probes(&old);
    w.store_kubeconfig("unrelated", &new.kubeconfig_yaml("unrelated"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        probes(&old),
        before,
        "an unrelated Secret made the member join again"
    );
    assert_eq!(probes(&new), 0);

    // `fedsvc join` again: a new token, here also a new address, so that the requests show
    // which client the controller uses.
    w.store_kubeconfig(
        "m",
        &new.kubeconfig_yaml("m")
            .replace(fedsvc_emulator::TOKEN, "rotated-token"),
    );
    wait_probes(&new, 1, "the member probed with the rotated kubeconfig").await;
    assert_eq!(probes(&old), before, "the old client probed again");
    let m = w.running.clusters.members();
    assert_eq!(m.len(), 1);
    assert_eq!(
        w.host
            .get("fedsvc.io/v1alpha1", "Cluster", "", "m")
            .unwrap()["metadata"]["generation"],
        generation,
        "the Cluster's spec never changed"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_secret_takes_the_member_out() {
    let w = world(|_| {}).await;
    let member = ApiServer::start().await;
    w.store_kubeconfig("m", &member.kubeconfig_yaml("m"));
    w.create_cluster("m");
    w.wait_ready("m").await;
    w.host.delete("v1", "Secret", NS, "m-kubeconfig").unwrap();
    let c = w
        .wait_ready_condition("m", "out without its Secret", |c| c["status"] == "False")
        .await;
    assert_eq!(c["reason"], "ClusterNotReachable");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("m-kubeconfig does not exist"),
        "{c}"
    );
    assert!(w.running.clusters.members().is_empty());
    // It comes back with its Secret.
    w.store_kubeconfig("m", &member.kubeconfig_yaml("m"));
    w.wait_ready("m").await;
    w.stop().await;
}
