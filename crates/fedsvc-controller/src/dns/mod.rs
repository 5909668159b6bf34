//! DNS: the task that keeps the zone in step with the federation, and the sync it runs.
//!
//! - `task`: waits for changes, coalesces them, lists the zone again periodically, pauses
//!   after failures, and runs [`sync_once`] while this replica may write.
//! - `sync`: [`ZoneSync`], the sync state of one zone: listed once, then planned and written
//!   only where something changed.
//! - `known_zone`: the copy of the zone a [`ZoneSync`] keeps, compact and updated in place.
//! - `resolve_hostnames`: resolves load-balancer host names to addresses for the planner.

mod known_zone;
pub(crate) mod resolve_hostnames;
mod sync;
pub(crate) mod task;

pub use sync::{Applied, PASS_CHUNK, Pending, SyncError, SyncOutcome, ZoneSync};
pub use task::{DnsLoopConfig, sync_once};
