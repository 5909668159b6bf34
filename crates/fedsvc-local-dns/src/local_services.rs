//! Where the responder learns whether a service is healthy in this cluster.

use std::fmt;

use fedsvc_model::ServiceKey;

/// The responder's view of this cluster's services: does `N/S` exist here with at least
/// one ready endpoint?
///
/// Answers must be cheap and must not block: they are asked on every query. Implementations
/// keep a cache fed from elsewhere ([`MemberServices`](crate::MemberServices) from a
/// member cluster's watches, [`StaticServices`](crate::StaticServices) from code).
pub trait LocalServices: Send + Sync + fmt::Debug {
    /// Whether service `key` exists in this cluster with at least one ready endpoint.
    fn is_ready(&self, key: &ServiceKey) -> bool;

    /// Whether the source has seen the cluster's complete state at least once (the
    /// responder's readiness). Always `true` for sources that need no listing.
    fn is_synced(&self) -> bool {
        true
    }
}
