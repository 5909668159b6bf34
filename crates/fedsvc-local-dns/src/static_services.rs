//! A [`LocalServices`] source set from code, for tests and clusterless runs.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use fedsvc_model::ServiceKey;

use crate::local_services::LocalServices;

/// Ready-endpoint counts set by hand. Clones share the same table, so a test can hand one
/// clone to the responder and flip health through another while it runs.
///
/// ```
/// use fedsvc_local_dns::{LocalServices, StaticServices};
/// use fedsvc_model::ServiceKey;
/// let key = ServiceKey::parse("mynamespace", "nginx").unwrap();
/// let services = StaticServices::new().with_ready_endpoints(key.clone(), 3);
/// assert!(services.is_ready(&key));
/// services.set_ready_endpoints(key.clone(), 0);
/// assert!(!services.is_ready(&key));
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticServices {
    ready: Arc<RwLock<BTreeMap<ServiceKey, u32>>>,
}

impl StaticServices {
    /// An empty table: no service is local.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key` with `ready` ready endpoints.
    #[must_use]
    pub fn with_ready_endpoints(self, key: ServiceKey, ready: u32) -> Self {
        self.set_ready_endpoints(key, ready);
        self
    }

    /// Sets the ready endpoints of `key` (the service exists from now on).
    pub fn set_ready_endpoints(&self, key: ServiceKey, ready: u32) {
        self.ready
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, ready);
    }

    /// Removes `key`: the service no longer exists here.
    pub fn remove(&self, key: &ServiceKey) {
        self.ready
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

impl LocalServices for StaticServices {
    fn is_ready(&self, key: &ServiceKey) -> bool {
        self.ready
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .is_some_and(|n| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_and_zero_or_absent_is_not_ready() {
        let k = ServiceKey::parse("ns", "svc").unwrap();
        let a = StaticServices::new();
        let b = a.clone();
        assert!(!a.is_ready(&k));
        b.set_ready_endpoints(k.clone(), 1);
        assert!(a.is_ready(&k));
        b.set_ready_endpoints(k.clone(), 0);
        assert!(!a.is_ready(&k));
        b.set_ready_endpoints(k.clone(), 2);
        b.remove(&k);
        assert!(!a.is_ready(&k));
        assert!(a.is_synced());
    }
}
