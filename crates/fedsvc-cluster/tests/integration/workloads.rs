//! Federated Deployments, ConfigMaps and Secrets in a member: the same checks against
//! `KubeMember` (on the API server emulator, whose Deployment controller and kubelet make pods
//! ready) and against `SimMember`.

use fedsvc_cluster::{
    ConfigKind, DeleteOutcome, EnsureOutcome, KubeMember, MemberCluster, MemberError, ObjectKey,
    ObjectKind, WorkloadEvent, WorkloadObservation,
};
use fedsvc_emulator::ApiServer;
use fedsvc_model::{Label, LabelRules};
use serde_json::{Value, json};

use crate::util::{
    PASSWORD, config_map, federated_deployment, federation, member, next_item, secret, wait_item,
};

/// What a check needs of a member besides the trait: objects put in it directly (as a user
/// would), objects read back, and its pods' readiness.
pub(crate) trait Backdoor {
    /// Puts a Deployment fedsvc does not manage.
    fn put_deployment(&self, obj: Value);
    /// Puts a ConfigMap or Secret fedsvc does not manage.
    fn put_config(&self, obj: Value);
    /// A Deployment, as JSON.
    fn deployment(&self, ns: &str, name: &str) -> Option<Value>;
    /// A ConfigMap or Secret, as JSON.
    fn config(&self, kind: ConfigKind, ns: &str, name: &str) -> Option<Value>;
    /// Holds the pods' readiness (true), or lets them become ready (false).
    fn hold_readiness(&self, hold: bool);
}

/// Creates `obj` in the emulator, and its namespace when missing.
fn create_in_namespace(server: &ApiServer, obj: Value) {
    let ns = obj["metadata"]["namespace"].as_str().unwrap();
    if server.get("v1", "Namespace", "", ns).is_err() {
        server
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            .unwrap();
    }
    server.create(obj).unwrap();
}

impl Backdoor for ApiServer {
    fn put_deployment(&self, obj: Value) {
        create_in_namespace(self, obj);
    }
    fn put_config(&self, obj: Value) {
        create_in_namespace(self, obj);
    }
    fn deployment(&self, ns: &str, name: &str) -> Option<Value> {
        self.get("apps/v1", "Deployment", ns, name).ok()
    }
    fn config(&self, kind: ConfigKind, ns: &str, name: &str) -> Option<Value> {
        let k = match kind {
            ConfigKind::ConfigMap => "ConfigMap",
            ConfigKind::Secret => "Secret",
        };
        self.get("v1", k, ns, name).ok()
    }
    fn hold_readiness(&self, hold: bool) {
        self.set_pods_ready(!hold);
    }
}

#[cfg(feature = "sim")]
impl Backdoor for fedsvc_cluster::SimMember {
    fn put_deployment(&self, obj: Value) {
        self.insert_deployment(serde_json::from_value(obj).unwrap());
    }
    fn put_config(&self, obj: Value) {
        use fedsvc_cluster::ConfigObject;
        let o = match obj["kind"].as_str() {
            Some("Secret") => ConfigObject::Secret(serde_json::from_value(obj).unwrap()),
            _ => ConfigObject::ConfigMap(serde_json::from_value(obj).unwrap()),
        };
        self.insert_config(o);
    }
    fn deployment(&self, ns: &str, name: &str) -> Option<Value> {
        fedsvc_cluster::SimMember::deployment(self, ns, name)
            .map(|d| serde_json::to_value(d).unwrap())
    }
    fn config(&self, kind: ConfigKind, ns: &str, name: &str) -> Option<Value> {
        use fedsvc_cluster::ConfigObject;
        fedsvc_cluster::SimMember::config(self, kind, ns, name).map(|c| match c {
            ConfigObject::ConfigMap(c) => serde_json::to_value(c).unwrap(),
            ConfigObject::Secret(s) => serde_json::to_value(s).unwrap(),
        })
    }
    fn hold_readiness(&self, hold: bool) {
        self.set_hold_readiness(hold);
    }
}

fn other_federation() -> Label {
    Label::parse("otherfed", LabelRules::Rfc1123, "federation").unwrap()
}

fn key(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::parse(ns, name).unwrap()
}

/// A Deployment as a user creates it in a member.
fn users_deployment(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"owner": "team-a"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "old", "image": "nginx:1.25"}]}}},
    })
}

async fn creates_then_is_unchanged_then_follows_changes(m: &dyn MemberCluster, b: &dyn Backdoor) {
    let mut fed = federated_deployment("shop", "web", 12);
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 5).await.unwrap(),
        EnsureOutcome::Created
    );
    let live = b.deployment("shop", "web").unwrap();
    let labels = &live["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "fedsvc");
    assert_eq!(labels["fedsvc.io/federation"], "myfederation");
    assert_eq!(labels["app"], "web");
    let annotations = &live["metadata"]["annotations"];
    assert_eq!(annotations["team"], "shop");
    assert!(
        annotations.get("fedsvc.io/replica-weights").is_none(),
        "{live}"
    );
    assert!(
        annotations
            .get("kubectl.kubernetes.io/last-applied-configuration")
            .is_none()
    );
    assert_eq!(live["spec"]["replicas"], 5);
    assert_ne!(
        live["metadata"]["uid"],
        "1d2f7a3e-0000-4000-8000-000000000002"
    );
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    for _ in 0..3 {
        assert_eq!(
            m.ensure_deployment(&fed, &federation(), 5).await.unwrap(),
            EnsureOutcome::Unchanged
        );
    }

    // Another share of the replicas, then another template.
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 7).await.unwrap(),
        EnsureOutcome::Updated
    );
    assert_eq!(b.deployment("shop", "web").unwrap()["spec"]["replicas"], 7);
    fed.spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers[0]
        .image = Some("nginx:1.28".into());
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 7).await.unwrap(),
        EnsureOutcome::Updated
    );
    let live = b.deployment("shop", "web").unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 7).await.unwrap(),
        EnsureOutcome::Unchanged
    );
    // A label dropped from the federated Deployment goes from the copy too.
    fed.metadata.labels.as_mut().unwrap().remove("app");
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 7).await.unwrap(),
        EnsureOutcome::Updated
    );
    let live = b.deployment("shop", "web").unwrap();
    assert!(live["metadata"]["labels"].get("app").is_none(), "{live}");
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 7).await.unwrap(),
        EnsureOutcome::Unchanged
    );
}

async fn adopts_an_unmanaged_deployment_and_refuses_a_foreign_one(
    m: &dyn MemberCluster,
    b: &dyn Backdoor,
) {
    b.put_deployment(users_deployment("shop", "web"));
    let fed = federated_deployment("shop", "web", 3);
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 3).await.unwrap(),
        EnsureOutcome::Adopted
    );
    let live = b.deployment("shop", "web").unwrap();
    assert_eq!(
        live["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "fedsvc"
    );
    assert_eq!(live["spec"]["replicas"], 3);
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["name"],
        "web"
    );
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 3).await.unwrap(),
        EnsureOutcome::Unchanged
    );

    let err = m
        .ensure_deployment(&fed, &other_federation(), 3)
        .await
        .unwrap_err();
    match &err {
        MemberError::ForeignObject {
            kind,
            namespace,
            name,
            owner,
            federation,
            ..
        } => {
            assert_eq!(*kind, ObjectKind::Deployment);
            assert_eq!((namespace.as_str(), name.as_str()), ("shop", "web"));
            assert_eq!(
                (owner.as_str(), federation.as_str()),
                ("myfederation", "otherfed")
            );
        }
        other => panic!("expected ForeignObject, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("deployment shop/web")
            && (text.contains("member-a") || text.contains("sim-a")),
        "{text}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        b.deployment("shop", "web").unwrap()["metadata"]["labels"]["fedsvc.io/federation"],
        "myfederation",
        "left alone"
    );
}

async fn deletes_only_deployments_it_manages(m: &dyn MemberCluster, b: &dyn Backdoor) {
    b.put_deployment(users_deployment("shop", "theirs"));
    assert_eq!(
        m.delete_deployment("shop", "theirs").await.unwrap(),
        DeleteOutcome::NotManaged
    );
    assert!(b.deployment("shop", "theirs").is_some());
    m.ensure_deployment(&federated_deployment("shop", "ours", 2), &federation(), 2)
        .await
        .unwrap();
    assert_eq!(
        m.delete_deployment("shop", "ours").await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(b.deployment("shop", "ours").is_none());
    assert_eq!(
        m.delete_deployment("shop", "ours").await.unwrap(),
        DeleteOutcome::NotFound
    );
    // Created again after a deletion.
    assert_eq!(
        m.ensure_deployment(&federated_deployment("shop", "ours", 2), &federation(), 2)
            .await
            .unwrap(),
        EnsureOutcome::Created
    );
}

fn observed(e: &WorkloadEvent) -> Option<&WorkloadObservation> {
    match e {
        WorkloadEvent::Observed(o) => Some(o),
        _ => None,
    }
}

/// Whether `e` reports `name` with `desired` replicas, all ready, available and updated.
fn all_ready(e: &WorkloadEvent, name: &str, desired: u32) -> bool {
    observed(e).is_some_and(|o| {
        o.key.name() == name
            && o.desired == desired
            && o.up_to_date
            && o.counts.replicas == desired
            && o.counts.ready == desired
            && o.counts.available == desired
            && o.counts.updated == desired
    })
}

async fn the_watch_reports_counts_reaching_desired_and_removal(
    m: &dyn MemberCluster,
    b: &dyn Backdoor,
) {
    m.ensure_deployment(&federated_deployment("shop", "web", 9), &federation(), 3)
        .await
        .unwrap();
    // Not ours: never reported.
    b.put_deployment(users_deployment("shop", "theirs"));
    let mut events = m.watch_deployments();
    let first = next_item(&mut events).await;
    let o = observed(&first).unwrap_or_else(|| panic!("{first:?}"));
    assert_eq!(o.key, key("shop", "web"));
    assert_eq!(o.federation.as_deref(), Some("myfederation"));
    assert_eq!(o.desired, 3);
    let mut synced = false;
    let mut ready = all_ready(&first, "web", 3);
    while !(synced && ready) {
        let e = next_item(&mut events).await;
        assert!(
            observed(&e).is_none_or(|o| o.key.name() == "web"),
            "only our copies: {e:?}"
        );
        if e == WorkloadEvent::Synced {
            assert!(!synced, "Synced once");
            synced = true;
        }
        ready |= all_ready(&e, "web", 3);
    }

    // Scaled: the counts follow.
    m.ensure_deployment(&federated_deployment("shop", "web", 9), &federation(), 5)
        .await
        .unwrap();
    wait_item(&mut events, |e| all_ready(e, "web", 5)).await;

    // A copy whose pods are not ready yet, then are.
    b.hold_readiness(true);
    m.ensure_deployment(&federated_deployment("shop", "api", 9), &federation(), 2)
        .await
        .unwrap();
    let e = wait_item(&mut events, |e| {
        observed(e).is_some_and(|o| o.key.name() == "api" && o.counts.replicas == 2)
    })
    .await;
    let o = observed(&e).unwrap();
    assert_eq!(
        (o.desired, o.counts.ready, o.counts.available),
        (2, 0, 0),
        "{o:?}"
    );
    b.hold_readiness(false);
    wait_item(&mut events, |e| all_ready(e, "api", 2)).await;

    m.delete_deployment("shop", "web").await.unwrap();
    let e = wait_item(&mut events, |e| matches!(e, WorkloadEvent::Gone(_))).await;
    assert_eq!(e, WorkloadEvent::Gone(key("shop", "web")));
}

async fn configs_are_created_adopted_updated_and_deleted(m: &dyn MemberCluster, b: &dyn Backdoor) {
    let cm = config_map("shop", "web-config", "fast");
    assert_eq!(
        m.ensure_config(&cm, &federation()).await.unwrap(),
        EnsureOutcome::Created
    );
    let live = b
        .config(ConfigKind::ConfigMap, "shop", "web-config")
        .unwrap();
    assert_eq!(live["data"]["mode"], "fast");
    assert_eq!(
        live["metadata"]["labels"]["fedsvc.io/federation"],
        "myfederation"
    );
    assert_eq!(live["metadata"]["labels"]["app"], "web");
    assert_eq!(
        m.ensure_config(&cm, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
    let cm2 = config_map("shop", "web-config", "safe");
    assert_eq!(
        m.ensure_config(&cm2, &federation()).await.unwrap(),
        EnsureOutcome::Updated
    );
    assert_eq!(
        b.config(ConfigKind::ConfigMap, "shop", "web-config")
            .unwrap()["data"]["mode"],
        "safe"
    );

    let s = secret("shop", "web-secret", "admin");
    assert_eq!(
        m.ensure_config(&s, &federation()).await.unwrap(),
        EnsureOutcome::Created
    );
    let live = b.config(ConfigKind::Secret, "shop", "web-secret").unwrap();
    assert_eq!(live["type"], "kubernetes.io/basic-auth");
    assert_eq!(live["data"]["username"], "YWRtaW4=");
    assert_eq!(
        m.ensure_config(&s, &federation()).await.unwrap(),
        EnsureOutcome::Unchanged
    );
    assert_eq!(
        m.ensure_config(&secret("shop", "web-secret", "root"), &federation())
            .await
            .unwrap(),
        EnsureOutcome::Updated
    );
    assert_eq!(
        b.config(ConfigKind::Secret, "shop", "web-secret").unwrap()["data"]["username"],
        "cm9vdA=="
    );

    // A user's Secret of the same name is adopted; another federation's is refused, and the
    // error shows no data.
    b.put_config(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "users", "namespace": "shop"}, "data": {"k": "dg=="}}));
    assert_eq!(
        m.ensure_config(&secret("shop", "users", "admin"), &federation())
            .await
            .unwrap(),
        EnsureOutcome::Adopted
    );
    let err = m
        .ensure_config(&secret("shop", "users", "admin"), &other_federation())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            MemberError::ForeignObject {
                kind: ObjectKind::Secret,
                ..
            }
        ),
        "{err}"
    );
    let text = format!("{err} {err:?}");
    assert!(text.contains("secret shop/users"), "{text}");
    assert!(
        !text.contains(PASSWORD) && !text.contains("Y29ycmVjd"),
        "{text}"
    );
    let err = m
        .ensure_config(&config_map("shop", "web-config", "x"), &other_federation())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            MemberError::ForeignObject {
                kind: ObjectKind::ConfigMap,
                ..
            }
        ),
        "{err}"
    );

    // Listing: both kinds, the federation's only, sorted; a user's object is not listed.
    b.put_config(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "theirs", "namespace": "shop"}, "data": {"a": "b"}}));
    m.ensure_config(&config_map("web", "a-config", "x"), &federation())
        .await
        .unwrap();
    m.ensure_config(&config_map("web", "other-fed", "x"), &other_federation())
        .await
        .unwrap();
    assert_eq!(
        m.list_managed_configs(&federation()).await.unwrap(),
        [
            (ConfigKind::ConfigMap, key("shop", "web-config")),
            (ConfigKind::ConfigMap, key("web", "a-config")),
            (ConfigKind::Secret, key("shop", "users")),
            (ConfigKind::Secret, key("shop", "web-secret")),
        ]
    );
    assert_eq!(
        m.list_managed_configs(&other_federation()).await.unwrap(),
        [(ConfigKind::ConfigMap, key("web", "other-fed"))]
    );

    // Deletion: ours only.
    assert_eq!(
        m.delete_config(ConfigKind::ConfigMap, "shop", "theirs")
            .await
            .unwrap(),
        DeleteOutcome::NotManaged
    );
    assert!(b.config(ConfigKind::ConfigMap, "shop", "theirs").is_some());
    assert_eq!(
        m.delete_config(ConfigKind::Secret, "shop", "web-secret")
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(b.config(ConfigKind::Secret, "shop", "web-secret").is_none());
    assert_eq!(
        m.delete_config(ConfigKind::Secret, "shop", "web-secret")
            .await
            .unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        m.delete_config(ConfigKind::ConfigMap, "shop", "web-config")
            .await
            .unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        m.delete_config(ConfigKind::Secret, "shop", "web-config")
            .await
            .unwrap(),
        DeleteOutcome::NotFound,
        "the kinds are apart"
    );
    assert_eq!(
        m.list_managed_configs(&federation()).await.unwrap(),
        [
            (ConfigKind::ConfigMap, key("web", "a-config")),
            (ConfigKind::Secret, key("shop", "users")),
        ]
    );
}

async fn invalid_objects_are_refused_before_any_request(m: &dyn MemberCluster) {
    let mut fed = federated_deployment("shop", "web", 1);
    fed.metadata.namespace = None;
    let err = m
        .ensure_deployment(&fed, &federation(), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::InvalidObject(_)), "{err}");
    let err = m
        .ensure_config(&config_map("shop", "Bad_Name", "x"), &federation())
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::InvalidObject(_)), "{err}");
    assert!(err.to_string().contains("configmap shop/Bad_Name"), "{err}");
}

/// The same checks against both members.
macro_rules! on_both_members {
    ($($check:ident),* $(,)?) => {
        mod kube {
            $(
                #[tokio::test]
                async fn $check() {
                    let server = super::ApiServer::start().await;
                    let m: super::KubeMember = super::member(&server).await;
                    super::$check(&m, &server).await;
                }
            )*
        }
        #[cfg(feature = "sim")]
        mod sim {
            $(
                #[tokio::test]
                async fn $check() {
                    let m = fedsvc_cluster::SimMember::new(
                        fedsvc_model::ClusterName::parse("sim-a").unwrap(),
                        &["zone-a"],
                        "region",
                    );
                    super::$check(&m, &m).await;
                }
            )*
        }
    };
}

on_both_members!(
    creates_then_is_unchanged_then_follows_changes,
    adopts_an_unmanaged_deployment_and_refuses_a_foreign_one,
    deletes_only_deployments_it_manages,
    the_watch_reports_counts_reaching_desired_and_removal,
    configs_are_created_adopted_updated_and_deleted,
);

#[tokio::test]
async fn invalid_objects_are_refused_by_both() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    server.clear_requests();
    invalid_objects_are_refused_before_any_request(&m).await;
    assert!(server.take_requests().is_empty());
    #[cfg(feature = "sim")]
    {
        let sim = fedsvc_cluster::SimMember::new(
            fedsvc_model::ClusterName::parse("sim-a").unwrap(),
            &["zone-a"],
            "region",
        );
        invalid_objects_are_refused_before_any_request(&sim).await;
        assert_eq!(sim.writes(), 0);
    }
}

/// Copies made at once in a namespace the member does not have yet (the first reconciles of
/// many federated Deployments): the namespace is read and created once between them.
#[tokio::test]
async fn copies_made_at_once_create_their_namespace_once() {
    let server = ApiServer::start().await;
    // The watch keeps running: it is what tells the member that no copy exists yet.
    let (m, _watch) = watched_member(&server).await;

    let copies: Vec<_> = (0..8)
        .map(|i| federated_deployment("shop", &format!("web-{i}"), 2))
        .collect();
    let fed = federation();
    let made =
        futures::future::join_all(copies.iter().map(|d| m.ensure_deployment(d, &fed, 1))).await;
    assert!(
        made.iter().all(|r| matches!(r, Ok(EnsureOutcome::Created))),
        "{made:?}"
    );
    let calls = calls(&server);
    let namespace_calls: Vec<&String> = calls
        .iter()
        .filter(|c| !c.contains("/deployments/"))
        .collect();
    assert_eq!(
        namespace_calls,
        ["GET /api/v1/namespaces/shop", "POST /api/v1/namespaces"],
        "{calls:?}"
    );
    assert_eq!(
        calls.len(),
        2 + copies.len(),
        "one apply per copy: {calls:?}"
    );
}

/// Someone scales the member's copy `shop/web` by hand.
fn scale_by_hand(server: &ApiServer, replicas: i32) {
    server
        .merge_patch(
            "apps/v1",
            "Deployment",
            "shop",
            "web",
            &json!({"spec": {"replicas": replicas}}),
            false,
        )
        .unwrap();
}

/// A member of this federation on `server`, once its Deployment watch has listed, with the
/// requests so far forgotten.
async fn watched_member(server: &ApiServer) -> (KubeMember, Watch) {
    let m = crate::util::member_with(
        server,
        fedsvc_cluster::KubeMemberOptions::default().federation("myfederation"),
    )
    .await;
    let mut events = m.watch_deployments();
    wait_item(&mut events, |e| *e == WorkloadEvent::Synced).await;
    server.clear_requests();
    (m, events)
}

/// A member's Deployment watch.
type Watch = futures::stream::BoxStream<'static, Result<WorkloadEvent, MemberError>>;

/// The requests `server` received other than watches, as `METHOD path`.
fn calls(server: &ApiServer) -> Vec<String> {
    server
        .take_requests()
        .into_iter()
        .filter(|r| !r.is_watch())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

const WEB: &str = "/apis/apps/v1/namespaces/shop/deployments/web";

/// The emulator defaults the copy as a real server would (strategy, history limit, the pod
/// template's pull policy …): those fields are not fedsvc's, so a conforming copy costs one
/// read and no write, and a restarted member's first apply changes nothing.
#[tokio::test]
async fn kube_member_does_not_fight_the_members_defaults() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    let fed = federated_deployment("shop", "web", 6);
    server.clear_requests();
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 2).await.unwrap(),
        EnsureOutcome::Created
    );
    assert_eq!(
        calls(&server),
        [
            &format!("GET {WEB}"),
            "GET /api/v1/namespaces/shop",
            "POST /api/v1/namespaces",
            &format!("PATCH {WEB}"),
        ]
    );
    let live = server.get("apps/v1", "Deployment", "shop", "web").unwrap();
    assert_eq!(
        live["spec"]["revisionHistoryLimit"], 10,
        "defaulted: {live}"
    );
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    let rv = server.resource_version();
    for _ in 0..3 {
        assert_eq!(
            m.ensure_deployment(&fed, &federation(), 2).await.unwrap(),
            EnsureOutcome::Unchanged
        );
        assert_eq!(calls(&server), [format!("GET {WEB}")], "one read, no write");
    }
    assert_eq!(server.resource_version(), rv, "nothing written");

    // A new process knows nothing of what was applied: it applies once, which changes
    // nothing, then only reads.
    let again = member(&server).await;
    assert_eq!(
        again
            .ensure_deployment(&fed, &federation(), 2)
            .await
            .unwrap(),
        EnsureOutcome::Unchanged
    );
    assert_eq!(
        calls(&server),
        [format!("GET {WEB}"), format!("PATCH {WEB}")]
    );
    assert_eq!(server.resource_version(), rv);
    assert_eq!(
        again
            .ensure_deployment(&fed, &federation(), 2)
            .await
            .unwrap(),
        EnsureOutcome::Unchanged
    );
    assert_eq!(calls(&server), [format!("GET {WEB}")]);

    // Scaled in the member by someone else: fedsvc's share is applied again.
    scale_by_hand(&server, 5);
    assert_eq!(
        m.ensure_deployment(&fed, &federation(), 2).await.unwrap(),
        EnsureOutcome::Updated
    );
    let live = server.get("apps/v1", "Deployment", "shop", "web").unwrap();
    assert_eq!(live["spec"]["replicas"], 2);
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["manager"].as_str())
        .collect();
    assert!(managers.contains(&"fedsvc"), "{managers:?}");
}

/// With its Deployment watch running, a member of a known federation trusts what the watch
/// sees: a copy that conforms costs no request, whatever its status does; a copy the watch
/// lists is applied without being read, and so is one by a name the watch has seen no copy
/// by (created, or an object that was no copy adopted); a namespace is read once; a copy the
/// watch never saw is not looked for when deleting. Another federation's copy, which the
/// watch sees, is read first and refused.
#[tokio::test]
async fn kube_member_trusts_its_watch_of_deployments() {
    let server = ApiServer::start().await;
    let (m, mut events) = watched_member(&server).await;

    let web = federated_deployment("shop", "web", 6);
    assert_eq!(
        m.ensure_deployment(&web, &federation(), 2).await.unwrap(),
        EnsureOutcome::Created
    );
    assert_eq!(
        calls(&server),
        [
            "GET /api/v1/namespaces/shop",
            "POST /api/v1/namespaces",
            &format!("PATCH {WEB}"),
        ]
    );
    let api = federated_deployment("shop", "api", 6);
    assert_eq!(
        m.ensure_deployment(&api, &federation(), 1).await.unwrap(),
        EnsureOutcome::Created
    );
    let api_path = "/apis/apps/v1/namespaces/shop/deployments/api";
    assert_eq!(
        calls(&server),
        [format!("PATCH {api_path}")],
        "the namespace is known to exist"
    );

    // Once the watch has seen the copy, with its pods ready (a status written by the member's
    // controllers, and their revision annotation), it conforms: no request at all.
    wait_item(&mut events, |e| all_ready(e, "web", 2)).await;
    wait_item(&mut events, |e| all_ready(e, "api", 1)).await;
    let live = server.get("apps/v1", "Deployment", "shop", "web").unwrap();
    assert!(
        live["metadata"]["annotations"]["deployment.kubernetes.io/revision"].is_string(),
        "{live}"
    );
    let rv = server.resource_version();
    for _ in 0..3 {
        assert_eq!(
            m.ensure_deployment(&web, &federation(), 2).await.unwrap(),
            EnsureOutcome::Unchanged
        );
    }
    assert_eq!(calls(&server), Vec::<String>::new(), "no request");
    assert_eq!(server.resource_version(), rv, "nothing written");

    // A new share: one apply, no read.
    assert_eq!(
        m.ensure_deployment(&web, &federation(), 3).await.unwrap(),
        EnsureOutcome::Updated
    );
    assert_eq!(calls(&server), [format!("PATCH {WEB}")]);
    wait_item(&mut events, |e| all_ready(e, "web", 3)).await;

    // Scaled in the member by someone else: the watch sees it, and the share is applied
    // again, without a read.
    scale_by_hand(&server, 5);
    wait_item(&mut events, |e| {
        observed(e).is_some_and(|o| o.key.name() == "web" && o.desired == 5)
    })
    .await;
    calls(&server);
    assert_eq!(
        m.ensure_deployment(&web, &federation(), 3).await.unwrap(),
        EnsureOutcome::Updated
    );
    assert_eq!(calls(&server), [format!("PATCH {WEB}")]);
    let live = server.get("apps/v1", "Deployment", "shop", "web").unwrap();
    assert_eq!(live["spec"]["replicas"], 3);

    // Deleted by someone else: the watch sees it go, and the copy is made again, read first
    // (what fedsvc applied before could be what the watch is catching up with).
    server
        .delete("apps/v1", "Deployment", "shop", "api")
        .unwrap();
    wait_item(&mut events, |e| {
        *e == WorkloadEvent::Gone(key("shop", "api"))
    })
    .await;
    calls(&server);
    assert_eq!(
        m.ensure_deployment(&api, &federation(), 1).await.unwrap(),
        EnsureOutcome::Created
    );
    assert_eq!(
        calls(&server),
        [format!("GET {api_path}"), format!("PATCH {api_path}")]
    );

    // A Deployment of the user's by the name of a new copy: the watch does not see it, the
    // apply takes it over, and the answer (not 201 Created) tells it was adopted.
    create_in_namespace(&server, users_deployment("shop", "mine"));
    calls(&server);
    let mine = federated_deployment("shop", "mine", 6);
    assert_eq!(
        m.ensure_deployment(&mine, &federation(), 1).await.unwrap(),
        EnsureOutcome::Adopted
    );
    let mine_path = "/apis/apps/v1/namespaces/shop/deployments/mine";
    assert_eq!(calls(&server), [format!("PATCH {mine_path}")]);

    // Another federation's copy: the watch sees it, so it is read first, and refused.
    let mut theirs = users_deployment("shop", "theirs");
    theirs["metadata"]["labels"] = json!({
        "app.kubernetes.io/managed-by": "fedsvc", "fedsvc.io/federation": "otherfed"});
    create_in_namespace(&server, theirs);
    wait_item(&mut events, |e| {
        observed(e).is_some_and(|o| o.key.name() == "theirs")
    })
    .await;
    calls(&server);
    let err = m
        .ensure_deployment(&federated_deployment("shop", "theirs", 6), &federation(), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MemberError::ForeignObject { owner, .. } if owner == "otherfed"),
        "{err:?}"
    );
    let theirs_path = "/apis/apps/v1/namespaces/shop/deployments/theirs";
    assert_eq!(calls(&server), [format!("GET {theirs_path}")]);

    // A copy the watch never saw is not looked for.
    assert_eq!(
        m.delete_deployment("shop", "never").await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(calls(&server), Vec::<String>::new());

    // The namespace deleted by someone else: the apply that finds it gone forgets it, and the
    // next one creates it again.
    server.delete("v1", "Namespace", "", "shop").unwrap();
    let other = federated_deployment("shop", "other", 6);
    let err = m
        .ensure_deployment(&other, &federation(), 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("deployment shop/other"), "{err}");
    calls(&server);
    assert_eq!(
        m.ensure_deployment(&other, &federation(), 1).await.unwrap(),
        EnsureOutcome::Created
    );
    assert!(
        calls(&server).contains(&"POST /api/v1/namespaces".to_owned()),
        "the namespace is created again"
    );
}

#[tokio::test]
async fn kube_member_errors_name_the_object_and_time_out() {
    let server = ApiServer::start().await;
    let m = crate::util::member_with(
        &server,
        fedsvc_cluster::KubeMemberOptions::default()
            .request_timeout(std::time::Duration::from_millis(300))
            .rate_limit(5.0, 1),
    )
    .await;
    server.set_latency(std::time::Duration::from_secs(2));
    let err = m
        .ensure_deployment(&federated_deployment("shop", "web", 1), &federation(), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::Unreachable { .. }), "{err:?}");
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("member-a")
            && text.contains("deployment shop/web")
            && text.contains("no answer within"),
        "{text}"
    );
    let err = m
        .ensure_config(&secret("shop", "db", "admin"), &federation())
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("secret shop/db"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    server.set_latency(std::time::Duration::ZERO);

    // Unreachable: the object is named and the variant kept.
    server.set_reachable(false);
    let err = m
        .delete_config(ConfigKind::ConfigMap, "shop", "cfg")
        .await
        .unwrap_err();
    assert!(matches!(err, MemberError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("configmap shop/cfg"), "{err}");
}

#[tokio::test]
async fn kube_member_watch_relists_after_410_gone() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    m.ensure_deployment(&federated_deployment("shop", "web", 3), &federation(), 3)
        .await
        .unwrap();
    let mut events = m.watch_deployments();
    wait_item(&mut events, |e| *e == WorkloadEvent::Synced).await;
    let lists = |server: &ApiServer| {
        server
            .requests()
            .iter()
            .filter(|r| r.is_list_of("deployments"))
            .count()
    };
    assert_eq!(lists(&server), 1);
    // Wait until the watch is open, then end it with 410 Gone.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server
        .requests()
        .iter()
        .any(|r| r.is_watch() && r.path.ends_with("/deployments"))
    {
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            futures::StreamExt::next(&mut events),
        )
        .await;
        assert!(tokio::time::Instant::now() < deadline, "no watch");
    }
    server.expire_watches();
    m.ensure_deployment(&federated_deployment("shop", "web", 3), &federation(), 4)
        .await
        .unwrap();
    wait_item(&mut events, |e| all_ready(e, "web", 4)).await;
    assert!(lists(&server) >= 2, "a re-list");
    m.delete_deployment("shop", "web").await.unwrap();
    assert_eq!(
        wait_item(&mut events, |e| matches!(e, WorkloadEvent::Gone(_))).await,
        WorkloadEvent::Gone(key("shop", "web"))
    );
}

/// Managed objects are listed page by page, metadata only, in every namespace.
#[tokio::test]
async fn kube_member_lists_managed_configs_page_by_page() {
    let server = ApiServer::start().await;
    let m = member(&server).await;
    for ns in ["a", "b"] {
        server
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
            .unwrap();
    }
    let labels =
        json!({"app.kubernetes.io/managed-by": "fedsvc", "fedsvc.io/federation": "myfederation"});
    for i in 0..620 {
        let ns = if i % 2 == 0 { "a" } else { "b" };
        server
            .create(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i:04}"), "namespace": ns, "labels": labels}}))
            .unwrap();
    }
    server
        .create(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "a", "labels": labels},
            "data": {"password": "c2VjcmV0"}}))
        .unwrap();
    server.clear_requests();
    let listed = m.list_managed_configs(&federation()).await.unwrap();
    assert_eq!(listed.len(), 621);
    assert_eq!(listed[0], (ConfigKind::ConfigMap, key("a", "cm-0000")));
    assert_eq!(listed[620], (ConfigKind::Secret, key("a", "s")));
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "sorted");
    let requests = server.take_requests();
    let pages: Vec<_> = requests
        .iter()
        .filter(|r| r.is_list_of("configmaps"))
        .collect();
    assert_eq!(pages.len(), 2, "{requests:?}");
    assert!(pages.iter().all(|r| r.query.contains("limit=500")));
    assert!(pages[1].query.contains("continue="));
    assert!(
        requests
            .iter()
            .all(|r| r.path == "/api/v1/configmaps" || r.path == "/api/v1/secrets"),
        "cluster-wide: {requests:?}"
    );
}
