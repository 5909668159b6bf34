//! Errors of member cluster access.

use thiserror::Error;

/// What went wrong talking to a member cluster. Every variant names the cluster.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MemberError {
    /// The member's API server could not be reached (connection refused or reset, timeout,
    /// TLS failure). A retry may help.
    #[error("cluster {cluster}: API server unreachable: {message}")]
    Unreachable {
        /// The member cluster.
        cluster: String,
        /// What the transport said.
        message: String,
    },
    /// The member's API server refused the request with a `metav1.Status`.
    #[error("cluster {cluster}: API error {code} {reason}: {message}")]
    Api {
        /// The member cluster.
        cluster: String,
        /// The HTTP status code.
        code: u16,
        /// The Status reason (`NotFound`, `Conflict`, `Forbidden`, …).
        reason: String,
        /// The Status message.
        message: String,
    },
    /// The kubeconfig could not be parsed or does not describe a usable client.
    #[error("cluster {cluster}: invalid kubeconfig: {message}")]
    Kubeconfig {
        /// The member cluster.
        cluster: String,
        /// Why it is unusable.
        message: String,
    },
    /// The kubeconfig uses a field a stored kubeconfig may not: one that runs a program or
    /// reads a file of the controller, or one not known to be safe
    /// ([`check_stored_kubeconfig`](crate::check_stored_kubeconfig)). It is refused before any
    /// client is built from it.
    #[error("cluster {cluster}: unsafe kubeconfig: {field} {problem}")]
    UnsafeKubeconfig {
        /// The member cluster.
        cluster: String,
        /// The field at fault (`users[0].user.exec`).
        field: String,
        /// Why it is refused.
        problem: String,
    },
    /// A service of the same name exists in the member and belongs to another federation;
    /// it is left alone.
    #[error(
        "cluster {cluster}: service {namespace}/{name} belongs to federation {owner:?}, not {federation:?}; leaving it alone"
    )]
    ForeignService {
        /// The member cluster.
        cluster: String,
        /// The service namespace.
        namespace: String,
        /// The service name.
        name: String,
        /// The federation that owns it.
        owner: String,
        /// The federation that asked.
        federation: String,
    },
    /// The federated service cannot be propagated (no name or namespace, for example).
    #[error("invalid federated service: {0}")]
    InvalidService(String),
    /// An object of the same name as a federated Deployment, ConfigMap or Secret exists in
    /// the member and belongs to another federation; it is left alone.
    #[error(
        "cluster {cluster}: {kind} {namespace}/{name} belongs to federation {owner:?}, not {federation:?}; leaving it alone"
    )]
    ForeignObject {
        /// The member cluster.
        cluster: String,
        /// The kind of object.
        kind: crate::ObjectKind,
        /// The object's namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// The federation that owns it.
        owner: String,
        /// The federation that asked.
        federation: String,
    },
    /// The federated Deployment, ConfigMap or Secret cannot be propagated (no name, an
    /// invalid namespace, no spec, for example); the message names the object.
    #[error("invalid federated object: {0}")]
    InvalidObject(String),
    /// Anything else the client reported (undecodable response, request building). A retry
    /// is unlikely to help.
    #[error("cluster {cluster}: {message}")]
    Other {
        /// The member cluster.
        cluster: String,
        /// The client's message.
        message: String,
    },
}

impl MemberError {
    /// Whether retrying the same call later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Api { code, .. } => *code == 409 || *code == 429 || *code >= 500,
            _ => false,
        }
    }

    /// Maps a kube client error for `cluster`.
    pub(crate) fn from_kube(cluster: &str, e: kube::Error) -> Self {
        let cluster = cluster.to_owned();
        match e {
            kube::Error::Api(s) => Self::Api {
                cluster,
                code: s.code,
                reason: s.reason.clone(),
                message: s.message.clone(),
            },
            kube::Error::HyperError(_)
            | kube::Error::Service(_)
            | kube::Error::ReadEvents(_)
            | kube::Error::RustlsTls(_) => Self::Unreachable {
                cluster,
                message: error_chain(&e),
            },
            other => Self::Other {
                cluster,
                message: error_chain(&other),
            },
        }
    }

    /// Says which object a call was about: `cluster X: API error 403 Forbidden: deployment
    /// shop/web: …`. The variant stays what it was (an unreachable member is still
    /// [`MemberError::Unreachable`]); the object goes into its message.
    pub(crate) fn about(self, kind: &str, namespace: &str, name: &str) -> Self {
        let prefix = |message: String| format!("{kind} {namespace}/{name}: {message}");
        match self {
            Self::Unreachable { cluster, message } => Self::Unreachable {
                cluster,
                message: prefix(message),
            },
            Self::Api {
                cluster,
                code,
                reason,
                message,
            } => Self::Api {
                cluster,
                code,
                reason,
                message: prefix(message),
            },
            Self::Other { cluster, message } => Self::Other {
                cluster,
                message: prefix(message),
            },
            other => other,
        }
    }

    /// The HTTP code of an API error, if this is one.
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
