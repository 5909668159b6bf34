//! The `MemberCluster` trait: everything the controller needs from a member cluster.

use async_trait::async_trait;
use fedsvc_model::{ClusterName, Label};
use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::Service;

use crate::ensure_outcome::{DeleteOutcome, EnsureOutcome};
use crate::error::MemberError;
use crate::health::Health;
use crate::locality::{Locality, LocalityOverride};
use crate::shard_event::ShardEvent;

/// A member cluster, as the federation controller uses it.
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
}
