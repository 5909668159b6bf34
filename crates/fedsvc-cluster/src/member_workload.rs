//! Federated Deployments in a member: the copy of a Deployment and of the ConfigMaps and
//! Secrets its pods reference, what a member reports about its copies, and the names of
//! those objects.
//!
//! Like [`member_service`](crate::member_service), the copies carry only what fedsvc owns, so
//! that a forced server-side apply with field manager `fedsvc` never fights the member's own
//! defaults: the federated object's name, namespace, labels (plus the two of fedsvc),
//! annotations (less the federation's control annotations) and its spec or data, without
//! anything a server sets.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use fedsvc_model::{Label, NameError};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvFromSource, EnvVar, PodTemplateSpec, Secret, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::error::MemberError;
use crate::member_service::{
    FEDERATION_LABEL, LAST_APPLIED_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE,
};

/// The prefix of the federation's control annotations (`fedsvc.io/replica-weights`,
/// `fedsvc.io/cluster-selector`, …): they steer the federation and are not copied to members.
const CONTROL_ANNOTATION_PREFIX: &str = "fedsvc.io/";
/// The prefix of the annotations a Deployment controller keeps on its Deployments
/// (`deployment.kubernetes.io/revision`): each member's own controller sets them.
pub(crate) const DEPLOYMENT_CONTROLLER_PREFIX: &str = "deployment.kubernetes.io/";

/// The longest namespace (a DNS-1123 label).
const MAX_NAMESPACE_LEN: usize = 63;
/// The longest object name (a DNS-1123 subdomain).
const MAX_NAME_LEN: usize = 253;

/// `namespace/name` of a namespaced object: the namespace a DNS-1123 label, the name a
/// DNS-1123 subdomain, as Kubernetes requires for Deployments, ConfigMaps and Secrets.
///
/// Unlike [`Label`], nothing is case-folded: Kubernetes refuses upper-case names, and so
/// does [`ObjectKey::parse`].
///
/// ```
/// use fedsvc_cluster::ObjectKey;
/// let k = ObjectKey::parse("shop", "web.v2").unwrap();
/// assert_eq!(k.to_string(), "shop/web.v2");
/// assert!(ObjectKey::parse("shop", "Web").is_err());
/// assert!(ObjectKey::parse("my.shop", "web").is_err());
/// ```
///
/// A key is one shared allocation (`namespace/name`): clones are cheap, and the tables that
/// hold a key per member copy (200 000 of them for 10 000 Deployments in 20 members) hold
/// one pointer each. Keys order by namespace, then name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    /// `namespace/name`; neither part holds a `/`, so equal texts are equal keys.
    text: Arc<str>,
    /// The length of the namespace (at most 63).
    split: u8,
}

impl ObjectKey {
    /// Validates a namespace and an object name.
    pub fn parse(namespace: &str, name: &str) -> Result<Self, NameError> {
        check_label(namespace, "namespace")?;
        check_subdomain(name, "object name")?;
        let split = u8::try_from(namespace.len()).map_err(|_| NameError::TooLong {
            kind: "namespace",
            value: namespace.to_owned(),
            len: namespace.len(),
            max: MAX_NAMESPACE_LEN,
        })?;
        Ok(Self {
            text: Arc::from(format!("{namespace}/{name}")),
            split,
        })
    }

    /// The namespace.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.text[..usize::from(self.split)]
    }

    /// The name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.text[usize::from(self.split) + 1..]
    }
}

impl Ord for ObjectKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.namespace(), self.name()).cmp(&(other.namespace(), other.name()))
    }
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectKey")
            .field("namespace", &self.namespace())
            .field("name", &self.name())
            .finish()
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Checks one DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 octets.
fn check_label(value: &str, kind: &'static str) -> Result<(), NameError> {
    if value.len() > MAX_NAMESPACE_LEN {
        return Err(NameError::TooLong {
            kind,
            value: value.to_owned(),
            len: value.len(),
            max: MAX_NAMESPACE_LEN,
        });
    }
    check_part(value, value, kind, "'-'")
}

/// Checks a DNS-1123 subdomain: DNS-1123 labels joined by `.`, at most 253 octets.
fn check_subdomain(value: &str, kind: &'static str) -> Result<(), NameError> {
    if value.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            kind,
            value: value.to_owned(),
            len: value.len(),
            max: MAX_NAME_LEN,
        });
    }
    if value.is_empty() {
        return Err(NameError::Empty { kind });
    }
    value
        .split('.')
        .try_for_each(|part| check_part(part, value, kind, "'-' and '.'"))
}

/// Checks one part of a name (`value`, reported whole).
fn check_part(
    part: &str,
    value: &str,
    kind: &'static str,
    punctuation: &str,
) -> Result<(), NameError> {
    let invalid = |reason: String| NameError::Invalid {
        kind,
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() {
        return Err(NameError::Empty { kind });
    }
    if let Some(c) = part
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(invalid(format!(
            "{c:?} is not allowed (only lower-case letters, digits and {punctuation})"
        )));
    }
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let bytes = part.as_bytes();
    if !alnum(bytes.first()) || !alnum(bytes.last()) {
        return Err(invalid(
            "each part must start and end with a lower-case letter or digit".into(),
        ));
    }
    Ok(())
}

/// Replica counts of a member's copy of a Deployment, from its status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaCounts {
    /// Pods of the Deployment (`status.replicas`), of any template.
    pub replicas: u32,
    /// Ready pods (`status.readyReplicas`).
    pub ready: u32,
    /// Pods ready for at least `minReadySeconds` (`status.availableReplicas`).
    pub available: u32,
    /// Pods of the current template (`status.updatedReplicas`).
    pub updated: u32,
}

/// The state of one of our Deployment copies in one member, as last seen by the watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadObservation {
    /// The Deployment.
    pub key: ObjectKey,
    /// The federation named by the copy's `fedsvc.io/federation` label.
    pub federation: Option<String>,
    /// `spec.replicas` of the copy.
    pub desired: u32,
    /// What the copy's status counts.
    pub counts: ReplicaCounts,
    /// `status.observedGeneration >= metadata.generation`: the member's Deployment controller
    /// has seen the copy's latest spec, so the counts are about it.
    pub up_to_date: bool,
}

/// One change reported by
/// [`MemberCluster::watch_deployments`](crate::MemberCluster::watch_deployments).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkloadEvent {
    /// A copy was seen for the first time, or its replicas or status changed.
    Observed(WorkloadObservation),
    /// The copy is gone from the member (or no longer labelled as fedsvc's).
    Gone(ObjectKey),
    /// The initial listing is complete: every copy of ours in the member has been reported.
    /// Sent once per stream.
    Synced,
}

/// The kinds of objects a federated Deployment's pods may reference and that go along with
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigKind {
    /// A core `ConfigMap`.
    ConfigMap,
    /// A core `Secret`.
    Secret,
}

impl ConfigKind {
    /// The kind in lower case, as in messages (`configmap`, `secret`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfigMap => "configmap",
            Self::Secret => "secret",
        }
    }
}

impl fmt::Display for ConfigKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of objects fedsvc copies to members along with federated Deployments, in
/// errors ([`MemberError::ForeignObject`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// An `apps/v1` Deployment.
    Deployment,
    /// A core `ConfigMap`.
    ConfigMap,
    /// A core `Secret`.
    Secret,
}

impl ObjectKind {
    /// The kind in lower case, as in messages (`deployment`, `configmap`, `secret`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "deployment",
            Self::ConfigMap => "configmap",
            Self::Secret => "secret",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ConfigKind> for ObjectKind {
    fn from(kind: ConfigKind) -> Self {
        match kind {
            ConfigKind::ConfigMap => Self::ConfigMap,
            ConfigKind::Secret => Self::Secret,
        }
    }
}

/// A ConfigMap or a Secret.
///
/// Its `Debug` shows the kind, namespace and name only: a Secret's data never reaches a log.
#[derive(Clone)]
pub enum ConfigObject {
    /// A ConfigMap.
    ConfigMap(ConfigMap),
    /// A Secret.
    Secret(Secret),
}

impl ConfigObject {
    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> ConfigKind {
        match self {
            Self::ConfigMap(_) => ConfigKind::ConfigMap,
            Self::Secret(_) => ConfigKind::Secret,
        }
    }

    /// Its metadata.
    #[must_use]
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::ConfigMap(c) => &c.metadata,
            Self::Secret(s) => &s.metadata,
        }
    }

    /// Its namespace and name, validated.
    pub fn key(&self) -> Result<ObjectKey, MemberError> {
        let meta = self.metadata();
        object_key(self.kind().as_str(), meta)
    }
}

impl fmt::Debug for ConfigObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = self.metadata();
        f.debug_struct(match self {
            Self::ConfigMap(_) => "ConfigMap",
            Self::Secret(_) => "Secret",
        })
        .field("namespace", &meta.namespace.as_deref().unwrap_or(""))
        .field("name", &meta.name.as_deref().unwrap_or(""))
        .finish_non_exhaustive()
    }
}

/// The validated key of an object about to be propagated.
fn object_key(kind: &str, meta: &ObjectMeta) -> Result<ObjectKey, MemberError> {
    let name = meta
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| MemberError::InvalidObject(format!("the {kind} has no name")))?;
    let namespace = meta
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| MemberError::InvalidObject(format!("{kind} {name} has no namespace")))?;
    ObjectKey::parse(namespace, name)
        .map_err(|e| MemberError::InvalidObject(format!("{kind} {namespace}/{name}: {e}")))
}

/// The metadata of a member copy: name, namespace, labels plus fedsvc's, and annotations
/// less those `keep` refuses.
fn member_meta(
    key: &ObjectKey,
    meta: &ObjectMeta,
    federation: &Label,
    keep: impl Fn(&str) -> bool,
) -> ObjectMeta {
    let mut labels: BTreeMap<String, String> = meta.labels.clone().unwrap_or_default();
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY_VALUE.into());
    labels.insert(FEDERATION_LABEL.into(), federation.to_string());
    let annotations: BTreeMap<String, String> = meta
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| {
            k.as_str() != LAST_APPLIED_ANNOTATION
                && !k.starts_with(CONTROL_ANNOTATION_PREFIX)
                && keep(k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ObjectMeta {
        name: Some(key.name().to_owned()),
        namespace: Some(key.namespace().to_owned()),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

/// The Deployment to apply in a member for `federated`, running `replicas` pods.
///
/// It has the federated Deployment's name, namespace, labels (plus
/// `app.kubernetes.io/managed-by: fedsvc` and `fedsvc.io/federation: <federation>`) and
/// annotations, less kubectl's last-applied configuration, the federation's `fedsvc.io/*`
/// control annotations (`fedsvc.io/replica-weights`, `fedsvc.io/cluster-selector`, …) and
/// the `deployment.kubernetes.io/*` annotations a Deployment controller keeps. Its spec is the
/// federated one with `spec.replicas` set to `replicas`. No status, and none of the metadata a
/// server sets (uid, resourceVersion, generation, creationTimestamp, managedFields,
/// ownerReferences, finalizers).
pub fn member_deployment(
    federated: &Deployment,
    federation: &Label,
    replicas: u32,
) -> Result<Deployment, MemberError> {
    let key = object_key("deployment", &federated.metadata)?;
    let replicas = i32::try_from(replicas).map_err(|_| {
        MemberError::InvalidObject(format!(
            "deployment {key}: {replicas} replicas is more than a Deployment can hold"
        ))
    })?;
    let mut spec = federated
        .spec
        .clone()
        .ok_or_else(|| MemberError::InvalidObject(format!("deployment {key} has no spec")))?;
    spec.replicas = Some(replicas);
    Ok(Deployment {
        metadata: member_meta(&key, &federated.metadata, federation, |k| {
            !k.starts_with(DEPLOYMENT_CONTROLLER_PREFIX)
        }),
        spec: Some(spec),
        status: None,
    })
}

/// The ConfigMap or Secret to apply in a member for `object`: its name, namespace, labels
/// (plus fedsvc's two) and annotations (less kubectl's last-applied configuration and the
/// federation's `fedsvc.io/*` control annotations), and its data as is: `data`,
/// `binaryData` and `immutable` of a ConfigMap; `data`, `type` and `immutable` of a Secret,
/// whose write-only `stringData` (were it given) is merged into `data`, as an API server
/// would.
pub fn member_config(
    object: &ConfigObject,
    federation: &Label,
) -> Result<ConfigObject, MemberError> {
    let key = object.key()?;
    let meta = member_meta(&key, object.metadata(), federation, |_| true);
    Ok(match object {
        ConfigObject::ConfigMap(c) => ConfigObject::ConfigMap(ConfigMap {
            metadata: meta,
            data: c.data.clone(),
            binary_data: c.binary_data.clone(),
            immutable: c.immutable,
        }),
        ConfigObject::Secret(s) => {
            let mut data = s.data.clone();
            if let Some(strings) = &s.string_data {
                let d = data.get_or_insert_with(BTreeMap::new);
                for (k, v) in strings {
                    d.insert(k.clone(), k8s_openapi::ByteString(v.clone().into_bytes()));
                }
            }
            ConfigObject::Secret(Secret {
                metadata: meta,
                data,
                string_data: None,
                type_: s.type_.clone(),
                immutable: s.immutable,
            })
        }
    })
}

/// The ConfigMaps and Secrets a pod template references, by name, sorted and unique:
///
/// - `env[].valueFrom.configMapKeyRef` and `.secretKeyRef`, `envFrom[].configMapRef` and
///   `.secretRef`, of containers, init containers and ephemeral containers;
/// - volumes: `configMap`, `secret`, `projected` sources (`configMap`, `secret`), and the
///   Secrets of volume plugins (`csi.nodePublishSecretRef`, `azureFile.secretName`, and the
///   `secretRef` of `cephfs`, `rbd`, `iscsi`, `flexVolume`, `scaleIO` and `storageos`);
/// - `imagePullSecrets`.
///
/// References marked `optional` are included: whether to copy those is the caller's choice.
#[must_use]
pub fn template_dependencies(template: &PodTemplateSpec) -> Vec<(ConfigKind, String)> {
    let mut out: Vec<(ConfigKind, String)> = Vec::new();
    let Some(spec) = &template.spec else {
        return out;
    };
    let mut add = |kind: ConfigKind, name: &str| {
        if !name.is_empty() {
            out.push((kind, name.to_owned()));
        }
    };
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .map(|c: &Container| (c.env.as_deref(), c.env_from.as_deref()));
    let ephemeral = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .map(|c| (c.env.as_deref(), c.env_from.as_deref()));
    for (env, env_from) in containers.chain(ephemeral) {
        env_dependencies(
            env.unwrap_or_default(),
            env_from.unwrap_or_default(),
            &mut add,
        );
    }
    for v in spec.volumes.iter().flatten() {
        volume_dependencies(v, &mut add);
    }
    for s in spec.image_pull_secrets.iter().flatten() {
        add(ConfigKind::Secret, &s.name);
    }
    out.sort();
    out.dedup();
    out
}

fn env_dependencies(
    env: &[EnvVar],
    env_from: &[EnvFromSource],
    add: &mut impl FnMut(ConfigKind, &str),
) {
    for source in env.iter().filter_map(|e| e.value_from.as_ref()) {
        if let Some(r) = &source.config_map_key_ref {
            add(ConfigKind::ConfigMap, &r.name);
        }
        if let Some(r) = &source.secret_key_ref {
            add(ConfigKind::Secret, &r.name);
        }
    }
    for source in env_from {
        if let Some(r) = &source.config_map_ref {
            add(ConfigKind::ConfigMap, &r.name);
        }
        if let Some(r) = &source.secret_ref {
            add(ConfigKind::Secret, &r.name);
        }
    }
}

fn volume_dependencies(v: &Volume, add: &mut impl FnMut(ConfigKind, &str)) {
    if let Some(c) = &v.config_map {
        add(ConfigKind::ConfigMap, &c.name);
    }
    if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) {
        add(ConfigKind::Secret, name);
    }
    for p in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
        if let Some(c) = &p.config_map {
            add(ConfigKind::ConfigMap, &c.name);
        }
        if let Some(s) = &p.secret {
            add(ConfigKind::Secret, &s.name);
        }
    }
    if let Some(a) = &v.azure_file {
        add(ConfigKind::Secret, &a.secret_name);
    }
    let plugin_refs = [
        v.csi
            .as_ref()
            .and_then(|s| s.node_publish_secret_ref.as_ref()),
        v.cephfs.as_ref().and_then(|s| s.secret_ref.as_ref()),
        v.rbd.as_ref().and_then(|s| s.secret_ref.as_ref()),
        v.iscsi.as_ref().and_then(|s| s.secret_ref.as_ref()),
        v.flex_volume.as_ref().and_then(|s| s.secret_ref.as_ref()),
        v.scale_io.as_ref().map(|s| &s.secret_ref),
        v.storageos.as_ref().and_then(|s| s.secret_ref.as_ref()),
    ];
    for r in plugin_refs.into_iter().flatten() {
        add(ConfigKind::Secret, &r.name);
    }
}

/// Whether an object's labels mark it as managed by fedsvc.
pub(crate) fn meta_is_managed(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY_VALUE)
}

/// The federation label of an object, if any.
pub(crate) fn meta_federation(meta: &ObjectMeta) -> Option<&str> {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(FEDERATION_LABEL))
        .map(String::as_str)
}

/// A status count as a `u32` (a negative count, which no server sends, reads as 0).
fn count(n: Option<i32>) -> u32 {
    n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

/// The observation of a member's Deployment, `None` when it has no valid namespace and name.
pub(crate) fn observation_of(d: &Deployment) -> Option<WorkloadObservation> {
    let (ns, name) = (
        d.metadata.namespace.as_deref()?,
        d.metadata.name.as_deref()?,
    );
    let key = match ObjectKey::parse(ns, name) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(namespace = %ns, name = %name, error = %e, "ignoring a deployment with an invalid name");
            return None;
        }
    };
    let status = d.status.as_ref();
    // The API defaults spec.replicas to 1.
    let desired = count(d.spec.as_ref().map(|s| s.replicas.unwrap_or(1)));
    let counts = ReplicaCounts {
        replicas: count(status.and_then(|s| s.replicas)),
        ready: count(status.and_then(|s| s.ready_replicas)),
        available: count(status.and_then(|s| s.available_replicas)),
        updated: count(status.and_then(|s| s.updated_replicas)),
    };
    let observed = status.and_then(|s| s.observed_generation);
    let up_to_date = match (observed, d.metadata.generation) {
        (Some(o), Some(g)) => o >= g,
        (Some(_), None) => true,
        (None, _) => false,
    };
    Some(WorkloadObservation {
        key,
        federation: meta_federation(&d.metadata).map(str::to_owned),
        desired,
        counts,
        up_to_date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::LabelRules;
    use serde_json::json;

    fn federation() -> Label {
        Label::parse("myfed", LabelRules::Rfc1123, "federation").unwrap()
    }

    fn deployment() -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "shop",
                "uid": "u-1", "resourceVersion": "42", "generation": 3,
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "finalizers": ["fedsvc.io/cleanup"],
                "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u-0"}],
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
                "labels": {"app": "web"},
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{}",
                    "fedsvc.io/replica-weights": "a=1,b=2",
                    "fedsvc.io/cluster-selector": "tier=gold",
                    "deployment.kubernetes.io/revision": "4",
                    "team": "shop",
                },
            },
            "spec": {
                "replicas": 9,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate"},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
            "status": {"replicas": 9, "readyReplicas": 9, "observedGeneration": 3},
        }))
        .unwrap()
    }

    #[test]
    fn a_member_deployment_keeps_the_spec_and_sets_the_replicas() {
        let fed = deployment();
        let m = member_deployment(&fed, &federation(), 4).unwrap();
        let meta = &m.metadata;
        assert_eq!(meta.name.as_deref(), Some("web"));
        assert_eq!(meta.namespace.as_deref(), Some("shop"));
        assert_eq!(
            (
                meta.uid.as_ref(),
                meta.resource_version.as_ref(),
                meta.generation
            ),
            (None, None, None)
        );
        assert!(meta.creation_timestamp.is_none());
        assert!(meta.finalizers.is_none() && meta.owner_references.is_none());
        assert!(meta.managed_fields.is_none());
        let labels = meta.labels.as_ref().unwrap();
        assert_eq!(labels["app"], "web");
        assert_eq!(labels[MANAGED_BY_LABEL], "fedsvc");
        assert_eq!(labels[FEDERATION_LABEL], "myfed");
        assert_eq!(
            meta.annotations,
            Some(BTreeMap::from([("team".to_owned(), "shop".to_owned())])),
            "control, kubectl and Deployment controller annotations dropped"
        );
        assert!(m.status.is_none());
        let spec = m.spec.unwrap();
        assert_eq!(spec.replicas, Some(4));
        let mut expected = fed.spec.clone().unwrap();
        expected.replicas = Some(4);
        assert_eq!(spec, expected, "the rest of the spec as is");
        assert_eq!(
            member_deployment(&fed, &federation(), 0)
                .unwrap()
                .spec
                .unwrap()
                .replicas,
            Some(0)
        );
    }

    #[test]
    fn a_member_deployment_needs_a_valid_name_and_a_spec() {
        let mut d = deployment();
        d.metadata.namespace = None;
        let e = member_deployment(&d, &federation(), 1).unwrap_err();
        assert!(
            e.to_string().contains("deployment web has no namespace"),
            "{e}"
        );
        let mut d = deployment();
        d.metadata.name = Some("Web".into());
        let e = member_deployment(&d, &federation(), 1).unwrap_err();
        assert!(matches!(e, MemberError::InvalidObject(_)), "{e}");
        assert!(e.to_string().contains("deployment shop/Web"), "{e}");
        let mut d = deployment();
        d.spec = None;
        assert!(member_deployment(&d, &federation(), 1).is_err());
        let e = member_deployment(&deployment(), &federation(), u32::MAX).unwrap_err();
        assert!(e.to_string().contains("replicas"), "{e}");
    }

    fn secret() -> Secret {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {
                "name": "db", "namespace": "shop", "uid": "u", "resourceVersion": "7",
                "labels": {"app": "web"},
                "annotations": {"fedsvc.io/replica-weights": "x", "note": "kept"},
            },
            "type": "kubernetes.io/basic-auth",
            "data": {"username": "YWRtaW4="},
            "stringData": {"password": "hunter2"},
        }))
        .unwrap()
    }

    #[test]
    fn a_member_secret_keeps_its_data_and_type() {
        let m = member_config(&ConfigObject::Secret(secret()), &federation()).unwrap();
        let ConfigObject::Secret(s) = &m else {
            panic!("{m:?}")
        };
        assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
        let data = s.data.as_ref().unwrap();
        assert_eq!(data["username"].0, b"admin");
        assert_eq!(
            data["password"].0, b"hunter2",
            "stringData merged into data"
        );
        assert!(s.string_data.is_none());
        assert_eq!(s.metadata.uid, None);
        assert_eq!(s.metadata.resource_version, None);
        assert_eq!(
            s.metadata.labels.as_ref().unwrap()[MANAGED_BY_LABEL],
            "fedsvc"
        );
        assert_eq!(
            s.metadata.annotations,
            Some(BTreeMap::from([("note".to_owned(), "kept".to_owned())]))
        );
        assert_eq!(m.kind(), ConfigKind::Secret);
        assert_eq!(m.key().unwrap().to_string(), "shop/db");
    }

    #[test]
    fn a_member_configmap_keeps_its_data() {
        let c: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop", "resourceVersion": "3",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "data": {"a": "1"},
            "binaryData": {"b": "AAE="},
            "immutable": true,
        }))
        .unwrap();
        let m = member_config(&ConfigObject::ConfigMap(c.clone()), &federation()).unwrap();
        let ConfigObject::ConfigMap(out) = m else {
            panic!()
        };
        assert_eq!(out.data, c.data);
        assert_eq!(out.binary_data, c.binary_data);
        assert_eq!(out.immutable, Some(true));
        assert_eq!(out.metadata.annotations, None);
        assert_eq!(out.metadata.resource_version, None);
        assert_eq!(out.metadata.labels.unwrap()[FEDERATION_LABEL], "myfed");
    }

    #[test]
    fn the_debug_of_a_secret_shows_no_data() {
        let text = format!("{:?}", ConfigObject::Secret(secret()));
        assert!(
            text.contains("Secret") && text.contains("shop") && text.contains("db"),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("YWRtaW4") && !text.contains("97"),
            "{text}"
        );
        let member = member_config(&ConfigObject::Secret(secret()), &federation()).unwrap();
        let text = format!("{member:?}");
        assert!(!text.contains("hunter2") && !text.contains("104"), "{text}");
    }

    #[test]
    fn every_kind_of_reference_is_found_once_and_sorted() {
        let t: PodTemplateSpec = serde_json::from_value(json!({
            "spec": {
                "containers": [
                    {"name": "a", "env": [
                        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "x"}}},
                        {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s-env", "key": "y", "optional": true}}},
                        {"name": "Z", "value": "plain"},
                        {"name": "P", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    ],
                    "envFrom": [{"configMapRef": {"name": "cm-from"}}, {"secretRef": {"name": "s-from"}}]},
                    {"name": "b", "envFrom": [{"configMapRef": {"name": "cm-env"}}]},
                ],
                "initContainers": [
                    {"name": "init", "env": [{"name": "I", "valueFrom": {"secretKeyRef": {"name": "s-init", "key": "i"}}}]},
                ],
                "ephemeralContainers": [
                    {"name": "debug", "envFrom": [{"configMapRef": {"name": "cm-debug"}}]},
                ],
                "volumes": [
                    {"name": "v1", "configMap": {"name": "cm-vol"}},
                    {"name": "v2", "secret": {"secretName": "s-vol"}},
                    {"name": "v3", "projected": {"sources": [
                        {"configMap": {"name": "cm-proj"}},
                        {"secret": {"name": "s-proj"}},
                        {"serviceAccountToken": {"path": "token"}},
                    ]}},
                    {"name": "v4", "emptyDir": {}},
                    {"name": "v5", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "s-csi"}}},
                    {"name": "v6", "azureFile": {"secretName": "s-azure", "shareName": "x"}},
                    {"name": "v7", "secret": {"secretName": "s-env"}},
                ],
                "imagePullSecrets": [{"name": "s-pull"}, {"name": ""}],
            },
        }))
        .unwrap();
        let deps = template_dependencies(&t);
        let cm = |n: &str| (ConfigKind::ConfigMap, n.to_owned());
        let s = |n: &str| (ConfigKind::Secret, n.to_owned());
        assert_eq!(
            deps,
            [
                cm("cm-debug"),
                cm("cm-env"),
                cm("cm-from"),
                cm("cm-proj"),
                cm("cm-vol"),
                s("s-azure"),
                s("s-csi"),
                s("s-env"),
                s("s-from"),
                s("s-init"),
                s("s-proj"),
                s("s-pull"),
                s("s-vol"),
            ]
        );
        assert!(template_dependencies(&PodTemplateSpec::default()).is_empty());
    }

    #[test]
    fn object_keys_order_by_namespace_then_name() {
        let key = |ns: &str, name: &str| ObjectKey::parse(ns, name).unwrap();
        // As text, "a-b/x" sorts before "a/y" ('-' < '/'); as keys, namespace "a" comes first.
        let mut keys = [
            key("a-b", "x"),
            key("a", "y"),
            key("a", "x-1"),
            key("a", "x"),
        ];
        keys.sort();
        let shown: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["a/x", "a/x-1", "a/y", "a-b/x"]);
        assert_eq!(key("a", "x"), key("a", "x").clone());
        assert_ne!(key("a", "bc"), key("ab", "c"));
        assert_eq!(
            format!("{:?}", key("shop", "web")),
            r#"ObjectKey { namespace: "shop", name: "web" }"#
        );
    }

    #[test]
    fn object_keys_are_validated_as_kubernetes_does() {
        let k = ObjectKey::parse("shop", "web-1.v2").unwrap();
        assert_eq!((k.namespace(), k.name()), ("shop", "web-1.v2"));
        assert_eq!(k.to_string(), "shop/web-1.v2");
        ObjectKey::parse("0ns", "0name").unwrap();
        ObjectKey::parse(&"n".repeat(63), &"a".repeat(253)).unwrap();
        for (ns, name) in [
            ("", "web"),
            ("shop", ""),
            ("Shop", "web"),
            ("shop", "Web"),
            ("sh.op", "web"),
            ("-shop", "web"),
            ("shop-", "web"),
            ("shop", "web-"),
            ("shop", ".web"),
            ("shop", "web..v2"),
            ("shop", "we_b"),
            ("shop", "web/x"),
            (&"n".repeat(64), "web"),
            ("shop", &"a".repeat(254)),
        ] {
            assert!(ObjectKey::parse(ns, name).is_err(), "{ns}/{name}");
        }
        let e = ObjectKey::parse("shop", "We").unwrap_err();
        assert!(e.to_string().contains("\"We\""), "{e}");
    }

    #[test]
    fn observations_read_replicas_and_counts() {
        let mut d = deployment();
        d.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(FEDERATION_LABEL.into(), "myfed".into());
        let o = observation_of(&d).unwrap();
        assert_eq!(o.key.to_string(), "shop/web");
        assert_eq!(o.federation.as_deref(), Some("myfed"));
        assert_eq!(o.desired, 9);
        assert_eq!(
            o.counts,
            ReplicaCounts {
                replicas: 9,
                ready: 9,
                available: 0,
                updated: 0
            }
        );
        assert!(o.up_to_date);
        d.metadata.generation = Some(4);
        assert!(!observation_of(&d).unwrap().up_to_date);
        d.status = None;
        let o = observation_of(&d).unwrap();
        assert!(!o.up_to_date);
        assert_eq!(o.counts, ReplicaCounts::default());
        d.metadata.name = Some("Bad".into());
        assert!(observation_of(&d).is_none());
    }
}
