//! Opt-in: the member checks against real clusters. Set `FEDSVC_E2E_KUBECONFIG` to a
//! kubeconfig whose contexts are real member clusters you may create services in; every
//! context is checked (health, locality, conformance without update loops, deletion). Not run
//! in CI, which has no real cluster: without the variable the test returns at once.

use fedsvc_cluster::{
    DeleteOutcome, EnsureOutcome, KubeMember, KubeMemberOptions, LocalityOverride, MemberCluster,
};
use fedsvc_model::{ClusterName, Label, LabelRules};

#[tokio::test]
async fn real_members_when_a_kubeconfig_is_given() {
    let Ok(path) = std::env::var("FEDSVC_E2E_KUBECONFIG") else {
        eprintln!("skipped: FEDSVC_E2E_KUBECONFIG is not set (opt-in test against real clusters)");
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let text = std::fs::read_to_string(&path).expect("read FEDSVC_E2E_KUBECONFIG");
    let kc = kube::config::Kubeconfig::from_yaml(&text).expect("a kubeconfig");
    let federation = Label::parse("fedsvc-e2e", LabelRules::Rfc1123, "federation").unwrap();
    for ctx in kc.contexts.iter().map(|c| c.name.clone()) {
        let name = ClusterName::parse(&ctx.to_ascii_lowercase().replace('_', "-"))
            .expect("a usable context name");
        // The operator's own kubeconfig, not one read from a Secret: its plugins and files
        // (cloud credential helpers, certificate files) are as trusted as the test itself.
        let opts = KubeMemberOptions::default()
            .context(ctx.clone())
            .allow_unsafe_kubeconfig(true);
        let m = KubeMember::from_kubeconfig_yaml(name, &text, &opts)
            .await
            .expect("client");
        assert!(m.probe_health().await.is_ready(), "{ctx}: not Ready");
        let loc = m
            .locality(&LocalityOverride::default())
            .await
            .expect("locality");
        assert!(
            !loc.zones.is_empty() && loc.region.is_some(),
            "{ctx}: nodes carry no zone/region labels: {loc:?}"
        );
        let svc: k8s_openapi::api::core::v1::Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "fedsvc-e2e", "namespace": "default"},
            "spec": {"type": "ClusterIP", "ports": [{"port": 80}], "selector": {"app": "fedsvc-e2e"}},
        }))
        .unwrap();
        let first = m.ensure_service(&svc, &federation).await.expect("ensure");
        assert!(
            matches!(
                first,
                EnsureOutcome::Created | EnsureOutcome::Adopted | EnsureOutcome::Updated
            ),
            "{ctx}: {first:?}"
        );
        let second = m
            .ensure_service(&svc, &federation)
            .await
            .expect("ensure again");
        assert_eq!(second, EnsureOutcome::Unchanged, "{ctx}: an update loop");
        assert_eq!(
            m.delete_service("default", "fedsvc-e2e")
                .await
                .expect("delete"),
            DeleteOutcome::Deleted
        );
    }
}
