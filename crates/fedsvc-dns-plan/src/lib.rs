//! Pure, sans-IO planning of federated service DNS records.
//!
//! (Work in progress: the change-set types are here; planning, ownership, diff and resolution
//! follow.)

mod changes;

pub use changes::{BatchLimits, ChangeGroup, Changes, Conflict};
