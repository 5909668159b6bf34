//! The `Cluster` custom resource (`clusters.fedsvc.io/v1alpha1`): a joined member cluster.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cluster_status::ClusterStatus;

/// The default key of the kubeconfig in the referenced Secret.
pub const DEFAULT_KUBECONFIG_KEY: &str = "kubeconfig";

fn default_key() -> String {
    DEFAULT_KUBECONFIG_KEY.to_owned()
}

/// Where the member's kubeconfig is: a key of a Secret on the federation API server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// The Secret's name.
    pub name: String,
    /// The Secret's namespace; defaults to the namespace the controller runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The key holding the kubeconfig YAML (default `kubeconfig`).
    #[serde(default = "default_key")]
    pub key: String,
}

/// A member cluster joined to the federation (cluster-scoped, `fedsvc.io/v1alpha1`).
///
/// Placement uses the object's own `metadata.labels`; the spec holds no separate label set.
/// `zones` and `region`, when given, override what is read from the member's node labels.
#[derive(CustomResource, Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "fedsvc.io",
    version = "v1alpha1",
    kind = "Cluster",
    plural = "clusters",
    status = "ClusterStatus",
    derive = "PartialEq",
    doc = "A member cluster joined to the federation.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Zones", "type": "string", "jsonPath": ".status.zones"}"#,
    printcolumn = r#"{"name": "Region", "type": "string", "jsonPath": ".status.region"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    /// The Secret holding the member's kubeconfig.
    pub secret_ref: SecretRef,
    /// Zones of the member, overriding its node labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<Vec<String>>,
    /// Region of the member, overriding its node labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The `CustomResourceDefinition` of [`Cluster`] as YAML, as checked in under
/// `deploy/crds/clusters.fedsvc.io.yaml`.
#[must_use]
pub fn cluster_crd_yaml() -> String {
    use kube::CustomResourceExt;
    let body = serde_saphyr::to_string(&Cluster::crd()).expect("a CRD serializes");
    format!(
        "# Generated from the Cluster type of fedsvc-cluster; do not edit.\n# Regenerate with: UPDATE_CRDS=1 cargo test -p fedsvc-cluster --test integration crd\n{body}"
    )
}
