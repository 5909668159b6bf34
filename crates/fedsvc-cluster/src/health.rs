//! The result of a member health probe.

/// What a health probe of a member's API server found.
///
/// Reachability is an observation, not an error: the controller turns `Unreachable` into the
/// `Offline` condition and `NotReady` into `Ready=False`, as the original federation did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// `/readyz` (or `/healthz`) answered `ok`.
    Ready,
    /// The API server answered, but not `ok` (an HTTP error or another body).
    NotReady {
        /// What it answered.
        message: String,
    },
    /// No answer: connection refused or reset, or no answer within the probe timeout.
    Unreachable {
        /// Why.
        message: String,
    },
}

impl Health {
    /// Whether the probe found the member Ready.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Ready)
    }
}
