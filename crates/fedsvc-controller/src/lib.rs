//! The fedsvc federation controller.
//!
//! This crate will hold the reconcilers that propagate federated services to member clusters,
//! watch shard health, and keep zone, region and global DNS records in step through a DNS
//! provider, plus the thin `fedsvc-controller` binary.
//!
//! It holds nothing yet: there is no controller to run.
