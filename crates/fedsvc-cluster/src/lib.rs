//! Member cluster access for fedsvc.
//!
//! The controller sees every member cluster through one small trait, [`MemberCluster`]:
//! probe its health, read its locality from node labels, make its copy of a federated Service
//! conform, delete that copy, and watch the shards (load-balancer addresses and ready
//! endpoints of our services). For federated Deployments, it makes the member's copy of a
//! Deployment conform with the member's share of the replicas ([`member_deployment`]), copies
//! the ConfigMaps and Secrets its pods reference ([`template_dependencies`],
//! [`member_config`]), deletes them, and watches the copies' replica counts
//! ([`WorkloadEvent`]). Two backends implement it:
//!
//! - [`KubeMember`]: a real API server through kube-rs, built from the kubeconfig held in the
//!   member's Secret. Propagation is a forced server-side apply with field manager `fedsvc`
//!   that carries only the fields fedsvc owns ([`member_service`]), so the member's defaults
//!   (cluster IP, node ports, `externalTrafficPolicy`, …) never cause update loops. Shards and
//!   Deployment copies are watched, not polled, with kube-runtime watchers that re-list after
//!   `410 Gone`. A Secret's data never reaches a log, an error or a `Debug` output.
//! - `SimMember` (cargo feature `sim`, off by default): in memory and scriptable (endpoints,
//!   ingress, health, outages, latency), for tests and embedders; no binary carries it.
//!
//! The crate also defines the [`Cluster`] custom resource (`clusters.fedsvc.io/v1alpha1`)
//! by which members are joined; its CRD is generated from the Rust type
//! ([`cluster_crd_yaml`]). Placement labels are the `Cluster` object's own
//! `metadata.labels`.
//!
//! ```no_run
//! use fedsvc_cluster::{KubeMember, KubeMemberOptions, MemberCluster, ShardEvent};
//! use fedsvc_model::{ClusterName, Label, LabelRules};
//! use futures::StreamExt;
//!
//! # async fn demo(kubeconfig: &str, svc: k8s_openapi::api::core::v1::Service) -> Result<(), Box<dyn std::error::Error>> {
//! let member = KubeMember::from_kubeconfig_yaml(
//!     ClusterName::parse("gce-us-central1-a")?,
//!     kubeconfig,
//!     &KubeMemberOptions::default(),
//! )
//! .await?;
//! println!("{:?}", member.probe_health().await);
//! let federation = Label::parse("myfederation", LabelRules::Rfc1123, "federation")?;
//! let outcome = member.ensure_service(&svc, &federation).await?;
//! println!("changed: {}", outcome.changed());
//! let mut shards = member.watch_shards();
//! while let Some(event) = shards.next().await {
//!     if let Ok(ShardEvent::Observed(o)) = event {
//!         println!("{}: {:?}, {} ready", o.key, o.addresses, o.ready_endpoints);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod cluster_resource;
mod cluster_status;
mod conformance;
mod ensure_outcome;
mod error;
mod health;
mod kube_member;
mod kube_workload;
mod locality;
mod member_cluster;
mod member_service;
mod member_workload;
mod rate_limiter;
mod shard_event;
mod shard_tracker;
#[cfg(feature = "sim")]
mod sim_member;
mod stored_kubeconfig;

pub use cluster_resource::{
    Cluster, ClusterSpec, DEFAULT_KUBECONFIG_KEY, SecretRef, cluster_crd_yaml,
};
pub use cluster_status::{CONDITION_OFFLINE, CONDITION_READY, ClusterCondition, ClusterStatus};
pub use ensure_outcome::{DeleteOutcome, EnsureOutcome};
pub use error::MemberError;
pub use health::Health;
pub use kube_member::{KubeMember, KubeMemberOptions};
pub use locality::{
    LEGACY_REGION_LABEL, LEGACY_ZONE_LABEL, Locality, LocalityOverride, REGION_LABEL, ZONE_LABEL,
};
pub use member_cluster::MemberCluster;
pub use member_service::{
    FEDERATED_LB_CLASS, FEDERATION_LABEL, FIELD_MANAGER, LAST_APPLIED_ANNOTATION, MANAGED_BY_LABEL,
    MANAGED_BY_VALUE, MANAGED_SELECTOR, federation_of, is_managed, member_service,
};
pub use member_workload::{
    ConfigKind, ConfigObject, ObjectKey, ObjectKind, ReplicaCounts, WorkloadEvent,
    WorkloadObservation, member_config, member_deployment, template_dependencies,
};
pub use shard_event::{ShardEvent, ShardObservation};
#[cfg(feature = "sim")]
pub use sim_member::SimMember;
pub use stored_kubeconfig::{
    ALLOWED_CREDENTIALS, MAX_STORED_KUBECONFIG_BYTES, UnsafeKubeconfig, check_stored_kubeconfig,
    check_stored_kubeconfig_size,
};
