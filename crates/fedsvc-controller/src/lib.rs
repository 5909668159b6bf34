//! The fedsvc federation controller.
//!
//! A federated Service created once on the federation API appears in every selected member
//! cluster, and a federated Deployment runs there with its replicas divided among them; the
//! health of every cluster and shard is watched; and zone, region and global DNS records are
//! kept in a DNS provider so that every client reaches the closest healthy shard.
//!
//! Where things live, one folder per concern:
//!
//! - [`config`]: the configuration file, its defaults and its checks (`--check`).
//! - [`controller`]: every task started together ([`controller::start`]), and the handle that
//!   shuts them down in order.
//! - [`state`]: what the controller knows (clusters, services, shard observations, the member
//!   copies of federated Deployments), turned into a snapshot for the planner, with a dirty set
//!   so only affected services are re-planned;
//!   `shared`: the state and what every task shares around it.
//! - `members/`: member clusters joined from `Cluster` objects, probed with hysteresis
//!   (`health`, a pure state machine), their shards watched and their status written;
//!   [`members::KubeMemberFactory`] connects to real members, [`members::StaticMembers`] takes
//!   a fixed set (tests, benchmarks).
//! - `services/`: the reconciler that propagates federated services, keeps their status and
//!   cleans up behind a finalizer; `federated`: what the reconcilers of federated objects
//!   share (the finalizer, placement by cluster selector, orphaning, namespaces, Events).
//! - `workloads/`: the reconciler of federated Deployments: placement, the division of their
//!   replicas over the members ([`fedsvc_model::replicas`]), the ConfigMaps and Secrets their
//!   pods reference, the status summed over the members' copies, deletion.
//! - [`dns`]: the DNS task (coalescing, the periodic resync, the retry pause), the one zone sync
//!   it runs ([`dns::ZoneSync`]: list once, then plan and write only the difference;
//!   fail-static when every cluster looks down), the copy of the zone it keeps, and the
//!   resolution of load-balancer host names.
//! - `leader/`: leader election on a Lease (`lease`, pure rules; `election`, the task) and
//!   the write fence every writer asks before each write.
//! - `ops/`: Prometheus metrics, the `/healthz`, `/readyz` and `/metrics` endpoints, and the
//!   trimming of the heap after bursts of work.
//!
//! ```no_run
//! # async fn run(host: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use fedsvc_controller::config::ControllerConfig;
//! use fedsvc_controller::controller::{start, Parts};
//! use fedsvc_controller::members::KubeMemberFactory;
//!
//! let dns = fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")?;
//! let config = ControllerConfig::new("myfederation", "example.com", dns);
//! let running = start(&config, Parts {
//!     host,
//!     members: Arc::new(KubeMemberFactory::default()),
//!     provider: None,
//!     resolver: None,
//! }).await?;
//! println!("metrics on http://{}/metrics", running.http_addr);
//! running.shutdown(std::time::Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod controller;
pub mod dns;
mod events;
mod federated;
mod leader;
pub mod members;
mod ops;
mod services;
mod shared;
pub mod state;
mod workloads;
