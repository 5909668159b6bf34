//! What the controller's tasks share: the federation state, the wake-up of the DNS task, the
//! metrics, the leader state, and the removals of deleted services' records.

use std::collections::BTreeMap;
use std::sync::Mutex;

use fedsvc_model::{Label, ServiceKey};
use tokio::sync::Notify;

use crate::leader::LeaderState;
use crate::ops::metrics::Metrics;
use crate::state::FederationState;

/// What the controller's tasks share.
#[derive(Debug)]
pub struct Shared {
    /// The federation as watched.
    pub state: Mutex<FederationState>,
    /// Woken whenever something in `state` became dirty.
    pub dirty: Notify,
    /// The metrics.
    pub metrics: Metrics,
    /// Whether this replica may write.
    pub leader: LeaderState,
    /// The work done, for trimming the heap after a burst of it.
    pub activity: crate::ops::memory::Activity,
    /// Deleted federated services whose records must leave DNS before their finalizer goes.
    pub removals: Removals,
    /// The member copies of federated Deployments, as the members report them.
    pub(crate) copies: crate::state::copies::Copies,
}

impl Shared {
    /// Shared state around `state`.
    pub fn new(state: FederationState, leader: LeaderState) -> Self {
        let metrics = Metrics::new();
        // `fedsvc_leader` follows the election itself, not this task's wake-ups.
        leader.attach_gauge(metrics.leader.clone());
        Self {
            state: Mutex::new(state),
            dirty: Notify::new(),
            metrics,
            leader,
            activity: crate::ops::memory::Activity::default(),
            removals: Removals::default(),
            copies: Default::default(),
        }
    }

    /// The federation's name (the label on everything fedsvc writes to the members).
    pub fn federation(&self) -> Label {
        self.state.lock().expect("state lock").federation().clone()
    }

    /// Takes `key` out of the federation for good (its federated Service is being deleted)
    /// and says whether its records have left DNS.
    ///
    /// The first call removes the service from the state and marks it dirty, so that the
    /// DNS task deletes its records; each call after that only asks. The answer turns true
    /// once a sync planned after the first call has been written completely: not while DNS
    /// is held (fail-static), while this replica is not the leader, before the first sync,
    /// or while a sync keeps failing.
    pub fn remove_records(&self, key: &ServiceKey) -> bool {
        let mut state = self.state.lock().expect("state lock");
        let mut removals = self.removals.lock();
        match removals.get(key) {
            Some(Removal::Gone) => true,
            Some(_) => false,
            None => {
                state.remove_service(key);
                // Also when the state did not hold the service (a restart while it was being
                // deleted): the sync then confirms that nothing of it is left.
                state.restore_dirty(crate::state::Dirty {
                    services: std::iter::once(key.clone()).collect(),
                    ..Default::default()
                });
                removals.insert(key.clone(), Removal::Requested);
                drop(removals);
                drop(state);
                self.dirty.notify_one();
                false
            }
        }
    }

    /// Runs `f` on the state with the lock held, then wakes the DNS task.
    pub fn update<T>(&self, f: impl FnOnce(&mut FederationState) -> T) -> T {
        let out = f(&mut self.state.lock().expect("state lock"));
        self.dirty.notify_one();
        out
    }
}

/// Where the removal of a deleted service's records stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// Asked for; no sync has planned it yet.
    Requested,
    /// A sync has taken it up (the service was dirty when the sync planned).
    Planned,
    /// A sync that took it up was written completely: the records are gone.
    Gone,
}

/// Deleted federated services whose DNS records are being removed ([`Shared::remove_records`]).
#[derive(Debug, Default)]
pub struct Removals(Mutex<BTreeMap<ServiceKey, Removal>>);

impl Removals {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<ServiceKey, Removal>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets `key` (its finalizer is gone, or its Service was deleted).
    pub fn forget(&self, key: &ServiceKey) {
        self.lock().remove(key);
    }

    /// Whether the removal of `key`'s records was asked for and is not confirmed yet.
    pub fn is_pending(&self, key: &ServiceKey) -> bool {
        matches!(
            self.lock().get(key),
            Some(Removal::Requested | Removal::Planned)
        )
    }

    /// A sync took the dirty set: what was requested before is planned by it (or, if it fails,
    /// by a later one, the dirty set being given back).
    pub(crate) fn planned(&self) {
        for r in self.lock().values_mut() {
            if *r == Removal::Requested {
                *r = Removal::Planned;
            }
        }
    }

    /// A sync was written completely, no pass over every service left unfinished: every
    /// planned removal is done.
    pub(crate) fn written(&self) {
        for r in self.lock().values_mut() {
            if *r == Removal::Planned {
                *r = Removal::Gone;
            }
        }
    }
}
