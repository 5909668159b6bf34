//! Member cluster access for fedsvc.
//!
//! This crate will hold the `MemberCluster` abstraction (health probes, locality from node
//! labels, server-side apply of member services, and shard observations from watches), its
//! kube-rs and simulated backends, and the `Cluster` custom resource type.
//!
//! It holds nothing yet: no member cluster can be reached through it.
