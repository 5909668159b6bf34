//! The workload reconciler's task: federated Deployments watched on the federation API, each
//! reconciled when it changes, when a member becomes Ready or leaves, when a member's copy of
//! it changes, and when a ConfigMap or Secret it references changes.

use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::{ConfigKind, ObjectKey};
use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use tokio::sync::watch;

use super::{Context, deps, error_policy, reconcile};
use crate::events::Events;
use crate::federated::NamespaceFilter;
use crate::members::ClusterManager;
use crate::shared::Shared;

/// What the task is started with.
pub(crate) struct Start {
    pub(crate) host: kube::Client,
    pub(crate) clusters: Arc<ClusterManager>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) filter: NamespaceFilter,
    /// Publishes Events.
    pub(crate) events: Arc<Events>,
    pub(crate) workers: u16,
    /// Told when a member becomes Ready or leaves.
    pub(crate) ready: UnboundedReceiver<()>,
    /// Told which Deployment's member copies changed.
    pub(crate) copies: UnboundedReceiver<ObjectKey>,
}

/// The Deployments of `store` whose pod template references `kind` `namespace/name`.
fn referencing(
    store: &Store<Deployment>,
    kind: ConfigKind,
    namespace: Option<String>,
    name: String,
) -> Vec<ObjectRef<Deployment>> {
    let Ok(key) = ObjectKey::parse(&namespace.unwrap_or_default(), &name) else {
        return Vec::new();
    };
    store
        .state()
        .iter()
        .filter(|d| deps::of(d).iter().any(|(k, o)| *k == kind && *o == key))
        .map(|d| ObjectRef::from_obj(d.as_ref()))
        .collect()
}

/// Runs the workload reconciler until `stop` turns true.
pub(crate) async fn run(start: Start, mut stop: watch::Receiver<bool>) {
    let Start {
        host,
        clusters,
        shared,
        filter,
        events,
        workers,
        ready,
        copies,
    } = start;
    // The cache keeps what propagation and the status need: not the server's field-manager
    // bookkeeping nor kubectl's copy of the whole object in an annotation.
    let (reader, writer) = reflector::store();
    let deployments = watcher(
        Api::<Deployment>::all(host.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .modify(|d: &mut Deployment| {
        let meta = &mut d.metadata;
        meta.managed_fields = None;
        if let Some(annotations) = &mut meta.annotations {
            annotations.remove(fedsvc_cluster::LAST_APPLIED_ANNOTATION);
            if annotations.is_empty() {
                meta.annotations = None;
            }
        }
    })
    .reflect(writer)
    .applied_objects();
    let ctx = Arc::new(Context {
        host: host.clone(),
        clusters,
        shared: shared.clone(),
        filter,
        events,
        requeue: Duration::from_secs(300),
        store: reader.clone(),
    });
    let (for_maps, for_secrets) = (reader.clone(), reader.clone());
    let controller = Controller::for_stream(deployments, reader)
        .with_config(kube::runtime::controller::Config::default().concurrency(workers))
        .reconcile_all_on(ready)
        .reconcile_on(copies.map(|key| ObjectRef::new(key.name()).within(key.namespace())))
        .watches(
            Api::<ConfigMap>::all(host.clone()),
            watcher::Config::default(),
            move |cm: ConfigMap| {
                referencing(
                    &for_maps,
                    ConfigKind::ConfigMap,
                    cm.namespace(),
                    cm.name_any(),
                )
            },
        )
        .watches(
            Api::<Secret>::all(host),
            watcher::Config::default(),
            move |s: Secret| {
                referencing(
                    &for_secrets,
                    ConfigKind::Secret,
                    s.meta().namespace.clone(),
                    s.name_any(),
                )
            },
        )
        .graceful_shutdown_on(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
    let activity = shared.activity.clone();
    controller
        .run(reconcile, error_policy, ctx)
        .for_each(|_| {
            activity.note(1);
            async {}
        })
        .await;
}
