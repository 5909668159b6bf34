//! The fedsvc federation controller.
//!
//! A federated Service created once on the federation API appears in every selected member
//! cluster; the health of every cluster and shard is watched; and zone, region and global DNS
//! records are kept in a DNS provider so that every client reaches the closest healthy shard.
//!
//! The pieces, each usable and tested on its own:
//!
//! - [`state`]: what the controller knows (clusters, services, shard observations), turned into
//!   a snapshot for the planner, with a dirty set so only affected services are re-planned.
//! - [`dns_sync`]: one DNS zone kept in step, listing it once and then applying only the
//!   difference; fail-static when every cluster looks down.
//! - [`dns_loop`]: the task that coalesces changes and syncs, with a periodic full resync.
//! - [`health`] and [`members`]: member clusters joined from `Cluster` objects, probed with
//!   hysteresis, their shards watched.
//! - [`services`]: the reconciler that propagates services, keeps their status and cleans up.
//! - [`lease`], [`election`], [`leader`]: leader election on a Lease with a write fence.
//! - [`metrics`], [`http`]: Prometheus metrics and `/healthz`, `/readyz`, `/metrics`.
//! - [`controller`]: everything started together.
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
pub mod dns_loop;
pub mod dns_sync;
pub mod election;
pub mod health;
pub mod http;
mod known_zone;
pub mod leader;
pub mod lease;
pub mod members;
pub mod memory;
pub mod metrics;
pub mod resolve_hostnames;
pub mod services;
pub mod state;
