//! State shared by the emulator's connections and its test handle.

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use crate::request_record::RequestRecord;
use crate::resource::{self, Resource};
use crate::store::Store;

/// Everything a connection needs.
pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) healthy: AtomicBool,
    pub(crate) latency_ms: AtomicU64,
    pub(crate) addr: SocketAddr,
    /// Bumped to drop every open connection.
    pub(crate) kill: watch::Sender<u64>,
    /// Bumped to end every open watch with a 410 Gone error event.
    pub(crate) expire: watch::Sender<u64>,
    pub(crate) requests: Mutex<Vec<RequestRecord>>,
    /// The requests answered in Protocol Buffers.
    pub(crate) protobuf_answers: Mutex<Vec<RequestRecord>>,
}

impl Shared {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            store: Mutex::new(Store::new()),
            healthy: AtomicBool::new(true),
            latency_ms: AtomicU64::new(0),
            addr,
            kill: watch::channel(0).0,
            expire: watch::channel(0).0,
            requests: Mutex::new(Vec::new()),
            protobuf_answers: Mutex::new(Vec::new()),
        }
    }

    /// The store, even if a panicking thread poisoned the lock. When the guard is dropped after
    /// writes the cluster's controllers follow, they run before the lock is released
    /// ([`crate::workloads::settle`]).
    pub(crate) fn store(&self) -> StoreGuard<'_> {
        StoreGuard(self.store.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Every served resource (built-ins and those of stored CRDs).
    pub(crate) fn resources(&self) -> Vec<Resource> {
        let crds = self.store().crds();
        resource::merge(&crds)
    }

    /// Finds a resource by `apiVersion` and kind, plural or singular name.
    pub(crate) fn find(&self, api_version: &str, kind: &str) -> Option<Resource> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.resources().into_iter().find(|r| {
            r.group == group
                && r.version == version
                && (r.kind == kind || r.plural == kind || r.singular == kind)
        })
    }
}

/// The locked store; see [`Shared::store`].
pub(crate) struct StoreGuard<'a>(MutexGuard<'a, Store>);

impl Deref for StoreGuard<'_> {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.0
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.0
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        if self.0.has_changed() {
            crate::workloads::settle(&mut self.0);
        }
    }
}
