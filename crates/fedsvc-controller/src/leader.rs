//! Who may write: the leader-election state shared by the controller's tasks.

use std::sync::Mutex;
use std::time::SystemTime;

use crate::lease::{Fence, LeaseTiming};

/// Whether this replica may write DNS and member clusters now.
///
/// With leader election off, the replica always may ([`LeaderState::always`]). With it on, the
/// election task records each successful renewal, and the replica may write only within
/// `renew_deadline` of the last one (see [`Fence`]).
#[derive(Debug)]
pub struct LeaderState {
    fence: Option<Mutex<Fence>>,
}

impl LeaderState {
    /// A replica that is always the leader (leader election disabled).
    pub fn always() -> Self {
        Self { fence: None }
    }

    /// A replica that must win the election first.
    pub fn elected(timing: &LeaseTiming) -> Self {
        Self {
            fence: Some(Mutex::new(Fence::new(timing))),
        }
    }

    /// Whether this replica may write at `now`.
    pub fn may_write_at(&self, now: SystemTime) -> bool {
        match &self.fence {
            None => true,
            Some(f) => f.lock().expect("fence lock").may_write(now),
        }
    }

    /// Whether this replica may write now.
    pub fn may_write(&self) -> bool {
        self.may_write_at(SystemTime::now())
    }

    /// Records a successful acquire or renewal at `at`.
    pub fn renewed(&self, at: SystemTime) {
        if let Some(f) = &self.fence {
            f.lock().expect("fence lock").renewed(at);
        }
    }

    /// Stops writing at once.
    pub fn revoke(&self) {
        if let Some(f) = &self.fence {
            f.lock().expect("fence lock").revoke();
        }
    }
}
