//! Building the client of a member cluster: from the kubeconfig in its Secret
//! ([`KubeMemberFactory`]), or from members given in advance ([`StaticMembers`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use fedsvc_cluster::{
    ALLOWED_CREDENTIALS, KubeMember, KubeMemberOptions, MemberCluster, MemberError,
};
use fedsvc_model::ClusterName;

/// The `Ready` condition's reason when no client can be built for a member (no Secret, no
/// kubeconfig in it, or one that cannot be used).
pub const REASON_NOT_REACHABLE: &str = "ClusterNotReachable";
/// The `Ready` condition's reason when the member's kubeconfig uses a plugin, a file reference
/// or another field a stored kubeconfig may not (see `members.allowUnsafeKubeconfig`).
pub const REASON_UNSAFE_KUBECONFIG: &str = "UnsafeKubeconfig";

/// Why no client could be built for a member: the reason and message of its `Ready`
/// condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    /// The condition reason (`ClusterNotReachable`, `UnsafeKubeconfig`).
    pub reason: String,
    /// What is wrong, for the operator.
    pub message: String,
}

impl ConnectError {
    /// An error with `reason`.
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Self {
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<String> for ConnectError {
    /// A member that cannot be reached with what its Secret holds (`ClusterNotReachable`).
    fn from(message: String) -> Self {
        Self::new(REASON_NOT_REACHABLE, message)
    }
}

/// Builds the client of a member cluster from what its `Cluster` object references.
#[async_trait]
pub trait MemberFactory: Send + Sync {
    /// A member named `name`, reached with `kubeconfig` (the referenced Secret's content, if
    /// any).
    async fn connect(
        &self,
        name: &ClusterName,
        kubeconfig: Option<&str>,
    ) -> Result<Arc<dyn MemberCluster>, ConnectError>;
}

/// Real members, through kube-rs, from the kubeconfig in each Cluster's Secret.
///
/// The kubeconfig may hold only inline credentials unless
/// [`KubeMemberOptions::allow_unsafe_kubeconfig`] is set (`members.allowUnsafeKubeconfig`):
/// one with an `exec` or `auth-provider` plugin, a file reference or another refused field
/// fails with reason [`REASON_UNSAFE_KUBECONFIG`] before any client is built from it.
#[derive(Debug, Clone, Default)]
pub struct KubeMemberFactory {
    /// Client settings (rate limits, timeouts, whether unsafe kubeconfigs are allowed, the
    /// federation). Build them from the configuration with
    /// [`ControllerConfig::member_options`](crate::config::ControllerConfig::member_options):
    /// the defaults name no federation, and without one every member copy is read before it
    /// is applied.
    pub options: KubeMemberOptions,
}

#[async_trait]
impl MemberFactory for KubeMemberFactory {
    async fn connect(
        &self,
        name: &ClusterName,
        kubeconfig: Option<&str>,
    ) -> Result<Arc<dyn MemberCluster>, ConnectError> {
        let Some(kc) = kubeconfig else {
            return Err(format!(
                "cluster {name}: its Secret holds no kubeconfig under the referenced key"
            )
            .into());
        };
        let m = KubeMember::from_kubeconfig_yaml(name.clone(), kc, &self.options)
            .await
            .map_err(|e| match e {
                MemberError::UnsafeKubeconfig { .. } => ConnectError::new(
                    REASON_UNSAFE_KUBECONFIG,
                    format!(
                        "{e}; a kubeconfig stored in a Secret may hold only inline credentials \
                         ({ALLOWED_CREDENTIALS}); members.allowUnsafeKubeconfig in the \
                         controller's configuration lets it through, at the risk of running \
                         programs and reading files as the controller"
                    ),
                ),
                other => other.to_string().into(),
            })?;
        Ok(Arc::new(m))
    }
}

/// Members given in advance by name (simulated members for the demo and tests); the Secret is
/// not read.
#[derive(Default)]
pub struct StaticMembers {
    members: BTreeMap<ClusterName, Arc<dyn MemberCluster>>,
}

impl std::fmt::Debug for StaticMembers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.members.keys()).finish()
    }
}

impl StaticMembers {
    /// Adds a member under its own name.
    pub fn insert(&mut self, member: Arc<dyn MemberCluster>) {
        self.members.insert(member.name().clone(), member);
    }
}

#[async_trait]
impl MemberFactory for StaticMembers {
    async fn connect(
        &self,
        name: &ClusterName,
        _kubeconfig: Option<&str>,
    ) -> Result<Arc<dyn MemberCluster>, ConnectError> {
        self.members
            .get(name)
            .cloned()
            .ok_or_else(|| format!("cluster {name}: no such simulated member").into())
    }
}
