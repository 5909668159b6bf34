//! What the reconcilers of federated objects (Services and Deployments) share: the annotations
//! users set on them, the finalizer, which namespaces are federated, the members an object is
//! placed in, and the Events published on it.

use std::fmt::Debug;

use fedsvc_model::Selector;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::debug;

use crate::events::{EventType, Events};

/// The finalizer fedsvc puts on federated objects.
pub(crate) const FINALIZER: &str = "fedsvc.io/cleanup";
/// Annotation: a label selector over `Cluster` labels choosing the members.
pub(crate) const CLUSTER_SELECTOR: &str = "fedsvc.io/cluster-selector";
/// Annotation: `"true"` keeps the member copies when the federated object is deleted.
pub(crate) const ORPHAN: &str = "fedsvc.io/orphan";

/// Which namespaces hold federated objects.
#[derive(Debug, Clone, Default)]
pub(crate) struct NamespaceFilter {
    /// Only these namespaces (empty: all).
    pub(crate) namespaces: Vec<String>,
    /// Never these namespaces.
    pub(crate) exclude_namespaces: Vec<String>,
}

impl NamespaceFilter {
    /// Whether objects in `namespace` are federated.
    pub(crate) fn accepts(&self, namespace: &str) -> bool {
        !self.exclude_namespaces.iter().any(|n| n == namespace)
            && (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == namespace))
    }
}

/// The members `obj` is placed in: its `fedsvc.io/cluster-selector` (every member when it
/// has none), or a message saying what is wrong with the annotation.
pub(crate) fn placement(obj: &impl ResourceExt) -> Result<Selector, String> {
    match obj.annotations().get(CLUSTER_SELECTOR) {
        None => Ok(Selector::default()),
        Some(text) => {
            Selector::parse(text).map_err(|e| format!("annotation {CLUSTER_SELECTOR}: {e}"))
        }
    }
}

/// Whether `obj`'s member copies stay when it is deleted (`fedsvc.io/orphan: "true"`).
pub(crate) fn orphaned(obj: &impl ResourceExt) -> bool {
    obj.annotations().get(ORPHAN).is_some_and(|v| v == "true")
}

/// Whether `obj` carries fedsvc's finalizer.
pub(crate) fn has_finalizer(obj: &impl ResourceExt) -> bool {
    obj.finalizers().iter().any(|f| f == FINALIZER)
}

/// Adds fedsvc's finalizer to `obj` (a merge patch that fails if `obj` changed meanwhile).
pub(crate) async fn add_finalizer<K>(api: &Api<K>, obj: &K) -> Result<(), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Serialize + Debug,
{
    let mut all: Vec<String> = obj.finalizers().to_vec();
    all.push(FINALIZER.to_owned());
    patch_finalizers(api, obj, all).await
}

/// Removes fedsvc's finalizer from `obj`, keeping the others.
pub(crate) async fn remove_finalizer<K>(api: &Api<K>, obj: &K) -> Result<(), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Serialize + Debug,
{
    let rest: Vec<String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    patch_finalizers(api, obj, rest).await
}

async fn patch_finalizers<K>(
    api: &Api<K>,
    obj: &K,
    finalizers: Vec<String>,
) -> Result<(), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Serialize + Debug,
{
    let patch = serde_json::json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}
    });
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Publishes an Event about `obj` (action `Propagate`); a failure to publish is only logged.
pub(crate) async fn event<K>(events: &Events, obj: &K, type_: EventType, reason: &str, note: String)
where
    K: Resource<DynamicType = ()>,
{
    if let Err(e) = events
        .publish(&obj.object_ref(&()), type_, reason, &note)
        .await
    {
        debug!(error = %e, "cannot publish Event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Service;
    use kube::api::ObjectMeta;

    fn with_annotations(pairs: &[(&str, &str)]) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                annotations: Some(
                    pairs
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..Service::default()
        }
    }

    #[test]
    fn namespaces_are_filtered_by_the_lists() {
        let all = NamespaceFilter::default();
        assert!(all.accepts("shop"));
        let some = NamespaceFilter {
            namespaces: vec!["shop".into(), "blog".into()],
            exclude_namespaces: vec!["blog".into()],
        };
        assert!(some.accepts("shop"));
        assert!(!some.accepts("blog"), "an excluded namespace loses");
        assert!(!some.accepts("other"));
    }

    #[test]
    fn placement_and_orphan_come_from_the_annotations() {
        let everywhere = with_annotations(&[]);
        assert!(
            placement(&everywhere)
                .unwrap()
                .matches_labels(&Default::default())
        );
        assert!(!orphaned(&everywhere));
        let bad = with_annotations(&[(CLUSTER_SELECTOR, "region in (")]);
        let e = placement(&bad).unwrap_err();
        assert!(
            e.starts_with("annotation fedsvc.io/cluster-selector: "),
            "{e}"
        );
        assert!(orphaned(&with_annotations(&[(ORPHAN, "true")])));
        assert!(!orphaned(&with_annotations(&[(ORPHAN, "yes")])));
    }
}
