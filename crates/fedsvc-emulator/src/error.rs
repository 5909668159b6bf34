//! Errors of the test kit.

use thiserror::Error;

/// What can go wrong when starting or driving the emulator.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be bound on 127.0.0.1.
    #[error("cannot bind the API server emulator on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// A kube client for the emulator could not be built.
    #[error("cannot build a kube client for the emulator: {0}")]
    Client(String),
    /// The emulator does not serve this `apiVersion` and `kind` (or plural).
    #[error("the emulator serves no resource {api_version} {kind}")]
    UnknownResource {
        /// The `apiVersion` asked for.
        api_version: String,
        /// The kind or plural asked for.
        kind: String,
    },
    /// The store refused the operation, as a real API server would.
    #[error("{code} {reason}: {message}")]
    Api {
        /// The HTTP status code (404, 409, 422, …).
        code: u16,
        /// The `metav1.Status` reason (`NotFound`, `AlreadyExists`, …).
        reason: String,
        /// The message.
        message: String,
    },
}

impl From<crate::api_failure::ApiFailure> for EmulatorError {
    fn from(f: crate::api_failure::ApiFailure) -> Self {
        Self::Api {
            code: f.code,
            reason: f.reason,
            message: f.message,
        }
    }
}
