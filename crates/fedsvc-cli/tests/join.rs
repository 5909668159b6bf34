//! `fedsvc join`, `clusters` and `unjoin` across two API server emulators (a federation API
//! and a member), with a kubeconfig holding an admin context for each.

use std::process::{Command, Output};

use fedsvc_emulator::{ApiServer, TOKEN};

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
    fedsvc_emulator::install_crypto_provider();
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
    // Federated Deployments and the ConfigMaps and Secrets they reference, cluster-wide;
    // ConfigMaps and Secrets are never watched, and nothing is updated with a PUT.
    let granted = grants(&role);
    let verbs = |group: &str, resource: &str| -> Vec<String> {
        granted
            .iter()
            .filter(|(g, r, _)| g == group && r == resource)
            .map(|(_, _, v)| v.clone())
            .collect()
    };
    assert_eq!(
        verbs("apps", "deployments"),
        ["create", "delete", "get", "list", "patch", "watch"]
    );
    for resource in ["configmaps", "secrets"] {
        assert_eq!(
            verbs("", resource),
            ["create", "delete", "get", "list", "patch"],
            "{resource}"
        );
    }
    assert!(
        !granted.iter().any(|(_, _, v)| v == "update"),
        "{granted:?}"
    );
    assert!(verbs("", "pods").is_empty());
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
    fedsvc_emulator::install_crypto_provider();
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
    fedsvc_emulator::install_crypto_provider();
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

/// What a ClusterRole grants, as `(group, resource, verb)`, sorted.
fn grants(role: &serde_json::Value) -> std::collections::BTreeSet<(String, String, String)> {
    let mut granted = std::collections::BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for g in rule["apiGroups"].as_array().unwrap() {
            for r in rule["resources"].as_array().unwrap() {
                for v in rule["verbs"].as_array().unwrap() {
                    granted.insert((
                        g.as_str().unwrap().to_owned(),
                        r.as_str().unwrap().to_owned(),
                        v.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    granted
}

/// Re-running `join` on a member joined by an older version replaces its ClusterRole: rules it
/// no longer grants go, the new ones come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_again_upgrades_an_older_member_role() {
    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    let member = ApiServer::start().await;
    // The role as an older `join` made it, plus a rule it should not have.
    member
        .create(serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "fedsvc-member",
                "labels": {"app.kubernetes.io/managed-by": "fedsvc"}},
            "rules": [
                {"apiGroups": [""], "resources": ["services"],
                    "verbs": ["get", "list", "watch", "create", "patch", "delete"]},
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "create"]},
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                    "verbs": ["list", "watch"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
            ],
        }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, kubeconfig(&host, &member)).unwrap();
    let join = || {
        fedsvc(&[
            "join",
            "member-a",
            "--cluster-context",
            "member-a",
            "--host-context",
            "host",
            "--kubeconfig",
            kc.to_str().unwrap(),
        ])
    };
    let o = join();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let role = || {
        member
            .get(
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                "",
                "fedsvc-member",
            )
            .unwrap()
    };
    let upgraded = grants(&role());
    let has = |g: &str, r: &str, v: &str| upgraded.contains(&(g.into(), r.into(), v.into()));
    assert!(has("apps", "deployments", "watch"), "{upgraded:?}");
    assert!(has("", "secrets", "patch"), "{upgraded:?}");
    assert!(has("", "configmaps", "delete"), "{upgraded:?}");
    assert!(has("", "services", "patch"), "{upgraded:?}");
    assert!(!has("", "pods", "list"), "the old extra rule is gone");
    // Joined again with the current version: the same role.
    let o = join();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(grants(&role()), upgraded);
}

/// The verbs a request of the emulator's log stands for, as `(group, resource, verb)`;
/// discovery, health and version requests stand for none.
fn verb_of(r: &fedsvc_emulator::RequestRecord) -> Option<(String, String, String)> {
    let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    // namespaces/NS/RESOURCE[/NAME[/SUB]] or RESOURCE[/NAME[/SUB]]
    let (resource, name) = match rest {
        ["namespaces", _, resource, name, ..] => (*resource, Some(*name)),
        ["namespaces", _, resource] => (*resource, None),
        [resource, name, ..] => (*resource, Some(*name)),
        [resource] => (*resource, None),
        [] => return None,
    };
    let watch = r
        .query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    let verb = match (r.method.as_str(), name, watch) {
        ("GET", _, true) => "watch",
        ("GET", Some(_), false) => "get",
        ("GET", None, false) => "list",
        ("POST", ..) => "create",
        ("PUT", ..) => "update",
        ("PATCH", ..) => "patch",
        ("DELETE", Some(_), _) => "delete",
        ("DELETE", None, _) => "deletecollection",
        _ => return None,
    };
    Some((group.to_owned(), resource.to_owned(), verb.to_owned()))
}

/// The member role `fedsvc join` grants is exactly what the controller's member client uses
/// over a service's whole life (probe, locality, propagation creating the namespace, update,
/// deletion, the shard watches) and a federated Deployment's (its copy, its ConfigMaps and
/// Secrets, the listing of those, the watch of the copies, deletion).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_role_grants_exactly_what_the_controller_uses() {
    use std::collections::BTreeSet;

    use fedsvc_cluster::{
        ConfigKind, ConfigObject, KubeMember, KubeMemberOptions, LocalityOverride, MemberCluster,
    };
    use fedsvc_model::{ClusterName, Label, LabelRules};
    use futures::StreamExt;

    fedsvc_emulator::install_crypto_provider();
    let host = ApiServer::start().await;
    let member = ApiServer::start().await;
    member
        .add_node("node-a", Some("us-east1-b"), Some("us-east1"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, kubeconfig(&host, &member)).unwrap();
    let o = fedsvc(&[
        "join",
        "member-a",
        "--cluster-context",
        "member-a",
        "--host-context",
        "host",
        "--kubeconfig",
        kc.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let role = member
        .get(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "",
            "fedsvc-member",
        )
        .unwrap();
    let granted = grants(&role);

    // A service's whole life in the member, through the controller's client.
    member.clear_requests();
    let client = KubeMember::from_kubeconfig_yaml(
        ClusterName::parse("member-a").unwrap(),
        &member.kubeconfig_yaml("member-a"),
        &KubeMemberOptions::default(),
    )
    .await
    .unwrap();
    let _ = client.probe_health().await;
    client.locality(&LocalityOverride::default()).await.unwrap();
    let federation = Label::parse("myfederation", LabelRules::Rfc1123, "federation").unwrap();
    let mut svc: k8s_openapi::api::core::v1::Service = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "nginx", "namespace": "mynamespace"},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80}]},
    }))
    .unwrap();
    client.ensure_service(&svc, &federation).await.unwrap();
    svc.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 8080;
    client.ensure_service(&svc, &federation).await.unwrap();
    let mut shards = client.watch_shards();
    let drain = tokio::spawn(async move { while shards.next().await.is_some() {} });
    let watching = |resource: &str| {
        member
            .requests()
            .iter()
            .filter_map(verb_of)
            .any(|(_, r, v)| r == resource && v == "watch")
    };
    for _ in 0..200 {
        if watching("services") && watching("endpointslices") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    drain.abort();
    client.delete_service("mynamespace", "nginx").await.unwrap();

    // A federated Deployment's whole life, with a ConfigMap and a Secret it references.
    let mut deployment: k8s_openapi::api::apps::v1::Deployment =
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
        }))
        .unwrap();
    let config: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web-config", "namespace": "shop"}, "data": {"mode": "fast"},
    }))
    .unwrap();
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "web-secret", "namespace": "shop"}, "data": {"k": "dg=="},
    }))
    .unwrap();
    let config = ConfigObject::ConfigMap(config);
    let secret = ConfigObject::Secret(secret);
    client.ensure_config(&config, &federation).await.unwrap();
    client.ensure_config(&secret, &federation).await.unwrap();
    client
        .ensure_deployment(&deployment, &federation, 2)
        .await
        .unwrap();
    deployment
        .spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers[0]
        .image = Some("nginx:1.28".into());
    client
        .ensure_deployment(&deployment, &federation, 2)
        .await
        .unwrap();
    let mut deployments = client.watch_deployments();
    let drain = tokio::spawn(async move { while deployments.next().await.is_some() {} });
    for _ in 0..200 {
        if watching("deployments") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    drain.abort();
    client.list_managed_configs(&federation).await.unwrap();
    client.delete_deployment("shop", "web").await.unwrap();
    client
        .delete_config(ConfigKind::ConfigMap, "shop", "web-config")
        .await
        .unwrap();
    client
        .delete_config(ConfigKind::Secret, "shop", "web-secret")
        .await
        .unwrap();

    let mut used: BTreeSet<(String, String, String)> =
        member.requests().iter().filter_map(verb_of).collect();
    // A server-side apply that creates the object is also authorized as `create` by a real
    // API server, though the request is a PATCH.
    for (group, resource) in [
        ("", "services"),
        ("apps", "deployments"),
        ("", "configmaps"),
        ("", "secrets"),
    ] {
        used.insert((group.into(), resource.into(), "create".into()));
    }
    assert!(
        used.is_subset(&granted),
        "used but not granted: {:?}",
        used.difference(&granted).collect::<Vec<_>>()
    );
    assert_eq!(
        granted,
        used,
        "granted but never used: {:?}",
        granted.difference(&used).collect::<Vec<_>>()
    );
}
