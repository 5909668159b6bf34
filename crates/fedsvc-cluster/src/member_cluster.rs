//! The `MemberCluster` trait: everything the controller needs from a member cluster.

use async_trait::async_trait;
use fedsvc_model::{ClusterName, Label};
use futures::stream::BoxStream;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;

use crate::ensure_outcome::{DeleteOutcome, EnsureOutcome};
use crate::error::MemberError;
use crate::health::Health;
use crate::locality::{Locality, LocalityOverride};
use crate::member_workload::{ConfigKind, ConfigObject, ObjectKey, WorkloadEvent};
use crate::shard_event::ShardEvent;

/// A member cluster, as the federation controller uses it: the copies of federated
/// Services and their shards, and the copies of federated Deployments, of the ConfigMaps and
/// Secrets their pods reference, and the Deployments' replica counts.
///
/// Implemented by [`KubeMember`](crate::KubeMember) (a real API server through kube-rs) and
/// `SimMember` (in memory, scriptable; cargo feature `sim`).
#[async_trait]
pub trait MemberCluster: Send + Sync {
    /// The member's name (the `Cluster` object's name).
    fn name(&self) -> &ClusterName;

    /// Probes the API server: `GET /readyz`, falling back to `/healthz` when the former is
    /// not served, within the probe timeout.
    async fn probe_health(&self) -> Health;

    /// Reads zones and region from the nodes' labels; `overrides` (from the `Cluster` spec)
    /// win over what the nodes say.
    async fn locality(&self, overrides: &LocalityOverride) -> Result<Locality, MemberError>;

    /// Makes the member's copy of `federated` conform (server-side apply, field manager
    /// `fedsvc`, forced), labelled as managed by fedsvc for `federation`. A same-name
    /// service that fedsvc does not manage is adopted; one of another federation is refused.
    /// Creates the namespace when it is missing.
    async fn ensure_service(
        &self,
        federated: &Service,
        federation: &Label,
    ) -> Result<EnsureOutcome, MemberError>;

    /// Deletes the member's service, only when it is labelled as managed by fedsvc.
    async fn delete_service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError>;

    /// Watches (does not poll) our services and their EndpointSlices, and reports each
    /// service's addresses and ready endpoints as they change.
    ///
    /// The stream never ends by itself; transport errors are yielded as `Err` items and the
    /// watches are resumed (with a re-list when the server says the version is too old).
    fn watch_shards(&self) -> BoxStream<'static, Result<ShardEvent, MemberError>>;

    /// Makes the member's copy of the federated Deployment `federated` conform, running
    /// `replicas` pods ([`member_deployment`](crate::member_deployment)): server-side apply,
    /// field manager `fedsvc`, forced. A same-name Deployment that fedsvc does not manage is
    /// adopted; one of another federation is refused ([`MemberError::ForeignObject`]).
    /// Creates the namespace when it is missing. A copy that already conforms is reported
    /// [`EnsureOutcome::Unchanged`] (the fields the member defaults are not fedsvc's and do not
    /// count).
    async fn ensure_deployment(
        &self,
        federated: &Deployment,
        federation: &Label,
        replicas: u32,
    ) -> Result<EnsureOutcome, MemberError>;

    /// Deletes the member's Deployment (and so its pods), only when it is labelled as managed
    /// by fedsvc.
    async fn delete_deployment(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError>;

    /// Watches (does not poll) the member's Deployments labelled as managed by fedsvc, and
    /// reports each one's desired replicas and status counts as they change, then
    /// [`WorkloadEvent::Gone`] when it goes. [`WorkloadEvent::Synced`] follows the initial
    /// listing, once.
    ///
    /// The stream never ends by itself; transport errors are yielded as `Err` items and the
    /// watch is resumed (with a re-list when the server says the version is too old).
    fn watch_deployments(&self) -> BoxStream<'static, Result<WorkloadEvent, MemberError>>;

    /// Makes the member's copy of a ConfigMap or Secret conform
    /// ([`member_config`](crate::member_config)), as
    /// [`ensure_deployment`](Self::ensure_deployment) does a Deployment's.
    async fn ensure_config(
        &self,
        object: &ConfigObject,
        federation: &Label,
    ) -> Result<EnsureOutcome, MemberError>;

    /// Deletes the member's ConfigMap or Secret, only when it is labelled as managed by
    /// fedsvc.
    async fn delete_config(
        &self,
        kind: ConfigKind,
        namespace: &str,
        name: &str,
    ) -> Result<DeleteOutcome, MemberError>;

    /// The ConfigMaps and Secrets of the member, in every namespace, labelled as managed by
    /// fedsvc for `federation`, sorted (their data is not read).
    async fn list_managed_configs(
        &self,
        federation: &Label,
    ) -> Result<Vec<(ConfigKind, ObjectKey)>, MemberError>;
}
