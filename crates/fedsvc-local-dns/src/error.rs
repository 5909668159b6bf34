//! The crate's error type.

use std::net::SocketAddr;

use fedsvc_cluster::MemberError;
use fedsvc_model::NameError;

/// What can go wrong while configuring or running the local responder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalDnsError {
    /// A federation was not given as `NAME=SUFFIX[:zone|:zone-region]`.
    #[error("invalid federation {value:?}: {reason} (expected NAME=SUFFIX[:zone|:zone-region])")]
    InvalidFederation {
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A name or label in the configuration is not valid.
    #[error("invalid {what}: {source}")]
    InvalidName {
        /// Which setting held it ("cluster domain", "zone", …).
        what: &'static str,
        /// The validation error.
        #[source]
        source: NameError,
    },
    /// The configuration is incomplete or contradicts itself.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The UDP or TCP socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The cluster's zone or region could not be found out.
    #[error("cannot determine the cluster's {what}: {reason}")]
    Locality {
        /// `zone` or `region`.
        what: &'static str,
        /// Why not.
        reason: String,
    },
    /// The member cluster's API failed (boxed: a member error is large, and this one is rare).
    #[error("member cluster: {0}")]
    Member(Box<MemberError>),
    /// The Kubernetes client could not be built (kubeconfig, in-cluster configuration).
    #[error("kubernetes client: {0}")]
    Kube(String),
    /// The upstream resolver used to complete CNAME answers could not be set up.
    #[error("upstream resolver: {0}")]
    Upstream(String),
    /// The DNS server stopped with an error.
    #[error("DNS server failed: {0}")]
    Server(String),
}

impl LocalDnsError {
    /// Whether trying again later may help (transient network or API trouble), as opposed
    /// to a configuration mistake that needs fixing first.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Member(e) => !matches!(
                **e,
                MemberError::ForeignService { .. }
                    | MemberError::ForeignObject { .. }
                    | MemberError::Kubeconfig { .. }
            ),
            Self::Locality { .. } | Self::Kube(_) | Self::Server(_) | Self::Bind { .. } => true,
            Self::InvalidFederation { .. }
            | Self::InvalidName { .. }
            | Self::Config(_)
            | Self::Upstream(_) => false,
        }
    }
}

impl From<MemberError> for LocalDnsError {
    fn from(e: MemberError) -> Self {
        Self::Member(Box::new(e))
    }
}
