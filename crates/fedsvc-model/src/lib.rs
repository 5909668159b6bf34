//! The vocabulary of fedsvc: validated names, topology, services and shards, the snapshot
//! file, and DNS record sets in canonical order.
//!
//! Everything here is plain data with validation at the edges: once a value of these types
//! exists it is valid (lower-case, length-checked, sorted where order does not matter), so the
//! planner and the providers never re-check it. Parsing errors name the object and field at
//! fault, for example
//! `services[2] (shop/web): shards[0].addresses[1]: "10.0.0" is not an IP address`.
//!
//! The [`replicas`] module divides a federated Deployment's replicas over its member clusters.
//!
//! The crate depends on `serde` and `thiserror` only; the `json` and `yaml` features (on by
//! default) add the snapshot parsers.
//!
//! ```
//! # #[cfg(feature = "yaml")] {
//! use fedsvc_model::Snapshot;
//! let v = Snapshot::from_yaml(r#"
//! federation: myfederation
//! dnsSuffix: example.com
//! clusters:
//!   - {name: gce-us-central1-a, region: us-central1, zones: [us-central1-a]}
//! services:
//!   - namespace: mynamespace
//!     name: nginx
//!     shards:
//!       - {cluster: gce-us-central1-a, addresses: ["104.197.247.191"], readyEndpoints: 3}
//! "#).unwrap();
//! assert!(v.diagnostics.is_empty());
//! assert_eq!(v.snapshot.services[0].key.to_string(), "mynamespace/nginx");
//! # }
//! ```

mod addresses;
mod cluster;
mod diagnostic;
mod dns_name;
mod error;
mod host_name;
mod label;
mod names;
mod packing;
mod record_set;
pub mod replicas;
mod selector;
mod service;
mod snapshot;

pub use addresses::Addresses;
pub use cluster::Cluster;
pub use diagnostic::{Diagnostic, Severity};
pub use dns_name::{DnsName, MAX_NAME_LEN};
pub use error::{FieldError, NameError, SnapshotError};
pub use label::{Label, LabelRules, MAX_LABEL_LEN};
pub use names::{ClusterName, ServiceKey};
pub use packing::repack;
pub use record_set::{RData, RecordSet, RecordSetError, RecordType};
pub use selector::{Selector, SelectorError};
pub use service::{Service, Shard};
pub use snapshot::{
    ClusterDoc, DEFAULT_TTL, MAX_TTL, ServiceDoc, ShardDoc, Snapshot, SnapshotDoc, Validated,
    ZoneNaming,
};
