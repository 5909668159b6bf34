//! `fedsvc join`, `clusters` and `unjoin` across two API server emulators (a federation API
//! and a member), with a kubeconfig holding an admin context for each.

use std::process::{Command, Output};

use fedsvc_testkit::{ApiServer, TOKEN};

fn fedsvc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args(args)
        .output()
        .expect("run fedsvc")
}

fn kubeconfig(host: &ApiServer, member: &ApiServer) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: host\n  cluster:\n    server: {}\n- name: member\n  cluster:\n    server: {}\ncontexts:\n- name: host\n  context: {{cluster: host, user: admin}}\n- name: member-a\n  context: {{cluster: member, user: admin}}\ncurrent-context: host\nusers:\n- name: admin\n  user:\n    token: {TOKEN}\n",
        host.url(),
        member.url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_creates_a_dedicated_account_and_unjoin_removes_it() {
    fedsvc_testkit::install_crypto_provider();
    let host = ApiServer::start().await;
    let member = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, kubeconfig(&host, &member)).unwrap();
    let kc = kc.to_str().unwrap().to_owned();

    let o = fedsvc(&[
        "join",
        "member-a",
        "--cluster-context",
        "member-a",
        "--host-context",
        "host",
        "--kubeconfig",
        &kc,
        "--region",
        "us-east1",
        "--zone",
        "us-east1-b",
        "--label",
        "tier=gold",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // In the member: the account and its least-privilege role.
    member
        .get("v1", "ServiceAccount", "fedsvc-system", "fedsvc-member")
        .unwrap();
    let role = member
        .get(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "",
            "fedsvc-member",
        )
        .unwrap();
    let rules = role["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .all(|r| r["verbs"].as_array().unwrap().iter().all(|v| v != "*"))
    );
    assert!(!rules.iter().any(|r| {
        r["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "secrets")
    }));
    member
        .get(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "",
            "fedsvc-member",
        )
        .unwrap();

    // On the host: the Cluster and a Secret whose kubeconfig uses the member account's token,
    // not the user's own credentials.
    let cluster = host
        .get("fedsvc.io/v1alpha1", "Cluster", "", "member-a")
        .unwrap();
    assert_eq!(cluster["spec"]["region"], "us-east1");
    assert_eq!(cluster["spec"]["zones"][0], "us-east1-b");
    assert_eq!(cluster["metadata"]["labels"]["tier"], "gold");
    let secret = host
        .get("v1", "Secret", "fedsvc-system", "member-a-kubeconfig")
        .unwrap();
    let encoded = secret["data"]["kubeconfig"].as_str().unwrap();
    let stored =
        String::from_utf8(data_encoding::BASE64.decode(encoded.as_bytes()).unwrap()).unwrap();
    assert!(stored.contains(&member.url()), "{stored}");
    assert!(
        !stored.contains(TOKEN),
        "the user's own token must not be stored"
    );
    assert!(stored.contains("token:"), "{stored}");

    // The stored kubeconfig works for the member.
    let m = fedsvc_cluster::KubeMember::from_kubeconfig_yaml(
        "member-a".parse().unwrap(),
        &stored,
        &Default::default(),
    )
    .await
    .unwrap();
    use fedsvc_cluster::MemberCluster;
    assert!(m.probe_health().await.is_ready());

    let list = fedsvc(&["clusters", "--host-context", "host", "--kubeconfig", &kc]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.lines().any(|l| l.starts_with("member-a")), "{text}");

    let o = fedsvc(&[
        "unjoin",
        "member-a",
        "--cluster-context",
        "member-a",
        "--host-context",
        "host",
        "--kubeconfig",
        &kc,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        host.get("fedsvc.io/v1alpha1", "Cluster", "", "member-a")
            .is_err()
    );
    assert!(
        host.get("v1", "Secret", "fedsvc-system", "member-a-kubeconfig")
            .is_err()
    );
    assert!(
        member
            .get("v1", "ServiceAccount", "fedsvc-system", "fedsvc-member")
            .is_err()
    );
    assert!(
        member
            .get(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                "",
                "fedsvc-member"
            )
            .is_err()
    );
}

#[test]
fn errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\nusers:\n- name: u\n  user:\n    token: {TOKEN}\n"
        ),
    )
    .unwrap();
    let kc = kc.to_str().unwrap();
    let o = fedsvc(&["join", "x", "--cluster-context", "nope", "--kubeconfig", kc]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("\"nope\"") && err.contains("gone"), "{err}");
    let o = fedsvc(&["join", "x", "--cluster-context", "gone", "--kubeconfig", kc]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("member context gone cannot be reached"),
        "{err}"
    );
}
