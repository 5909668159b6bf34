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

/// The Secret `join` stored for `name`, decoded.
fn stored_kubeconfig(host: &ApiServer, name: &str) -> String {
    let secret = host
        .get(
            "v1",
            "Secret",
            "fedsvc-system",
            &format!("{name}-kubeconfig"),
        )
        .unwrap();
    let encoded = secret["data"]["kubeconfig"].as_str().unwrap();
    String::from_utf8(data_encoding::BASE64.decode(encoded.as_bytes()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_context_that_skips_tls_verification_needs_the_flag() {
    fedsvc_testkit::install_crypto_provider();
    let host = ApiServer::start().await;
    let member = ApiServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let text = kubeconfig(&host, &member).replace(
        &format!("    server: {}\n", member.url()),
        &format!(
            "    server: {}\n    insecure-skip-tls-verify: true\n",
            member.url()
        ),
    );
    assert!(text.contains("insecure-skip-tls-verify"), "{text}");
    std::fs::write(&kc, text).unwrap();
    let kc = kc.to_str().unwrap().to_owned();
    let join = |extra: &[&str]| {
        let mut args = vec![
            "join",
            "member-a",
            "--cluster-context",
            "member-a",
            "--host-context",
            "host",
            "--kubeconfig",
            &kc,
        ];
        args.extend_from_slice(extra);
        fedsvc(&args)
    };

    // Refused, before anything is created anywhere.
    let o = join(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("context member-a skips TLS verification")
            && err.contains("--insecure-skip-tls-verify"),
        "{err}"
    );
    assert!(
        member
            .get("v1", "ServiceAccount", "fedsvc-system", "fedsvc-member")
            .is_err()
    );
    assert!(
        host.get("v1", "Secret", "fedsvc-system", "member-a-kubeconfig")
            .is_err()
    );

    // With the flag: joined, with a warning, and the stored kubeconfig skips verification too.
    let o = join(&["--insecure-skip-tls-verify"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning:") && err.contains("will not verify the member's certificate"),
        "{err}"
    );
    let stored = stored_kubeconfig(&host, "member-a");
    let parsed = kube::config::Kubeconfig::from_yaml(&stored).unwrap();
    assert_eq!(
        parsed.clusters[0]
            .cluster
            .as_ref()
            .unwrap()
            .insecure_skip_tls_verify,
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_kubeconfig_is_one_the_controller_accepts() {
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
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning"),
        "no warning for a verifying context"
    );
    let stored = stored_kubeconfig(&host, "member-a");
    let parsed = kube::config::Kubeconfig::from_yaml(&stored).unwrap();
    fedsvc_cluster::check_stored_kubeconfig(&parsed).unwrap();
    let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(cluster.server.as_deref(), Some(member.url().as_str()));
    assert_eq!(cluster.insecure_skip_tls_verify, None);
    let user = parsed.auth_infos[0].auth_info.as_ref().unwrap();
    assert!(user.exec.is_none() && user.token_file.is_none());
}
