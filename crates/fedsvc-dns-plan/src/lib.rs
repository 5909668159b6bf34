//! Pure, sans-IO planning of federated service DNS records.
//!
//! This crate is the heart of fedsvc: it turns a [`Snapshot`](fedsvc_model::Snapshot) (the
//! clusters of a federation, their zones and regions, and every service's shards) into the
//! zone, region and global records that lead each client to the closest healthy shard; it
//! compares those with what a DNS zone holds and yields the change set, grouped per name; it
//! keeps track of which names are ours; and it answers names the way a resolver (or a
//! cluster-local DNS server) would.
//!
//! # Design: pure functions, no IO
//!
//! Nothing here reads the clock, the network, files or the environment, and nothing is random:
//! every input comes in as an argument, every output is plain data, and the same input always
//! gives the same output, whatever the order of clusters, services, shards or addresses. That
//! makes the rules testable exhaustively (scenario tests, property tests, fuzzing) and lets any
//! program use them cheaply: the dependency tree is `fedsvc-model`, `serde` and `thiserror`,
//! with no async runtime and no TLS stack. The workspace checks this with
//! `scripts/check-dns-plan-purity.sh` and with clippy's `disallowed-methods` (`clippy.toml`).
//!
//! # The pieces
//!
//! - [`plan`] (and [`Planner`] for one service at a time): snapshot → records. For service
//!   `S` in namespace `N`, federation `F`, suffix `D`, the global name is `S.N.F.svc.D.`, a
//!   region's `S.N.F.svc.R.D.`, a zone's `S.N.F.svc.Z.D.` (or `S.N.F.svc.Z.R.D.`, see
//!   [`Naming`]). A level with healthy addresses gets `A`/`AAAA` sets; a zone without one is a
//!   `CNAME` to its region, a region without one a `CNAME` to the global name, and the global
//!   name without one has no record.
//! - [`explain`]: why each name holds what it holds.
//! - [`Registry`]: which names are ours (ExternalDNS-style ownership TXT records, or `none`).
//! - [`diff`]: current records + desired records → [`Changes`], one [`ChangeGroup`] per name;
//!   [`Policy`] filters them; [`apply_changes`] is their effect; [`Changes::batches`] splits
//!   them for a provider's limits without splitting a group.
//! - Incremental use, when one shard of one service changed: [`Planner::plan_service_with`]
//!   re-plans the service with its [`ServiceNames`] built once ([`Planner::names_for`]), and
//!   [`diff_replanned`] diffs only the names where the new plan differs from the applied one
//!   (about 25 µs together for a service with 134 names; see `docs/benchmarks.md`).
//! - A large copy of a zone: [`diff_sets`] takes the current records as [`CurrentSet`]s, where
//!   an ownership record may be kept as a [`CompactOwnership`] by the name it stands for (a
//!   TTL and a shared text instead of a record set with a name of its own).
//! - [`resolve`] / [`RecordIndex`]: follow CNAME chains over a record list.
//! - [`local_answer`]: what a cluster-local DNS server answers for `S.N.F.svc.cluster.local.`.
//!
//! # Example
//!
//! Another program planning a snapshot and printing what an empty zone would need:
//!
//! ```
//! use fedsvc_model::Snapshot;
//! use fedsvc_dns_plan::{apply_changes, diff, plan, Registry};
//!
//! let snapshot = Snapshot::from_yaml(r#"
//! federation: myfederation
//! dnsSuffix: example.com
//! clusters:
//!   - {name: gce-us-central1-a, region: us-central1, zones: [us-central1-a]}
//!   - {name: gce-us-central1-f, region: us-central1, zones: [us-central1-f]}
//! services:
//!   - namespace: mynamespace
//!     name: nginx
//!     shards:
//!       - {cluster: gce-us-central1-a, addresses: ["104.197.247.191"], readyEndpoints: 3}
//!       - {cluster: gce-us-central1-f, addresses: ["104.197.1.1"], readyEndpoints: 0}
//! "#).expect("a valid snapshot").snapshot;
//!
//! let plan = plan(&snapshot).expect("an unambiguous topology");
//! for rs in &plan.records {
//!     for line in rs.to_zone_lines() {
//!         println!("{line}");
//!     }
//! }
//!
//! let registry = Registry::txt(snapshot.federation.clone());
//! let changes = diff(&[], &plan.records, &registry);
//! assert!(changes.conflicts.is_empty());
//! // One group per name: global, region, two zones.
//! assert_eq!(changes.groups.len(), 4);
//! let zone = apply_changes(&[], &changes);
//! // Applying the diff and diffing again gives nothing to do.
//! assert!(diff(&zone, &plan.records, &registry).is_empty());
//! ```

mod apply;
mod changes;
mod current;
mod diff;
mod explanation;
mod level;
mod local_answer;
mod local_context;
mod naming;
mod ownership;
mod plan;
mod planner;
mod policy;
mod record_index;
mod registry;
mod resolution;
mod service_names;
mod service_plan;

pub use apply::{ApplyError, apply_changes, try_apply_changes};
pub use changes::{BatchLimits, ChangeGroup, Changes, Conflict};
pub use current::{CompactOwnership, CurrentSet};
pub use diff::{diff, diff_replanned, diff_sets};
pub use explanation::Explanation;
pub use level::Level;
pub use local_answer::{LocalAnswer, local_answer};
pub use local_context::{FederationDomain, LocalContext};
pub use naming::{Locality, Naming, ParsedName, SVC_LABEL};
pub use ownership::{HERITAGE, Ownership};
pub use plan::{Plan, explain, plan};
pub use planner::{PlanError, Planner};
pub use policy::{Policy, PolicyError};
pub use record_index::RecordIndex;
pub use registry::{DEFAULT_OWNER_ID, DEFAULT_PREFIX, Registry, RegistryError};
pub use resolution::{Answer, Hop, MAX_CHAIN_LEN, Resolution, resolve};
pub use service_names::ServiceNames;
pub use service_plan::ServicePlan;
