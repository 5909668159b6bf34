//! The fedsvc federation controller.
//!
//! This crate will hold the reconcilers that propagate federated services to member clusters,
//! watch shard health, and keep zone, region and global DNS records in step through a DNS
//! provider, plus the thin `fedsvc-controller` binary. Today it holds the pure building blocks:
//! cluster health with hysteresis ([`health`]) and leader-election decisions ([`lease`]).

pub mod health;
pub mod lease;
pub mod state;
