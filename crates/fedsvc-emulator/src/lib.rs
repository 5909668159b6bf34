//! An in-process, plain-HTTP emulation of a Kubernetes API server, for demos, tests and local
//! experiments (not published, not for production): no kubelet, scheduler or container
//! runtime behind it.
//!
//! [`ApiServer`] is an HTTP/1.1 server on `127.0.0.1` (one per emulated cluster) that kube-rs
//! and the real `kubectl` talk to; `fedsvc demo` runs a federation of them. It keeps every
//! object as generic JSON in one store keyed by resource, namespace and name, with one global
//! resourceVersion counter, and serves discovery, health endpoints, get / list / create /
//! update / delete / merge, strategic-merge and JSON patches, server-side apply, watches with
//! bookmarks and 410 Gone, label and field selectors, finalizers, Service defaulting (cluster
//! IPs, node ports, traffic policies), `meta.k8s.io` Tables for `kubectl get` and Protocol
//! Buffers answers; it plays Deployments, ReplicaSets, pods and Endpoints at once.
//!
//! No real kube-apiserver can run on the machines this project is built on; the emulator is
//! what lets the member-cluster code be tested against real HTTP, real watches and real
//! `kubectl`. What it emulates, and what it does not do, is listed in the crate's README.
//!
//! Tests drive it directly: flip health, make it unreachable or slow, play the cloud
//! load-balancer controller and the EndpointSlice controller, and force watch expiry.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fedsvc_emulator::EmulatorError> {
//! use fedsvc_emulator::ApiServer;
//!
//! let server = ApiServer::start().await;
//! let client = server.client();
//! std::fs::write("/tmp/kubeconfig", server.kubeconfig_yaml("member-a")).unwrap();
//! server.create(serde_json::json!({
//!     "apiVersion": "v1", "kind": "Service",
//!     "metadata": {"name": "nginx", "namespace": "default"},
//!     "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
//! }))?;
//! server.set_load_balancer_ingress("default", "nginx", &["203.0.113.7"], &[])?;
//! server.set_endpoints("default", "nginx", 3, 0)?;
//! server.set_healthy(false);
//! # drop(client);
//! # Ok(())
//! # }
//! ```

mod api_failure;
mod api_server;
mod defaults;
mod error;
mod handler;
mod negotiate;
mod openapi;
mod patch;
mod protobuf;
mod request_record;
mod resource;
mod selector;
mod shared;
mod store;
mod table;
mod watch;
mod workloads;

pub use api_server::{ApiServer, TOKEN};
pub use error::EmulatorError;
pub use request_record::RequestRecord;

/// Installs ring as the process-wide rustls crypto provider, once; later calls do nothing.
///
/// Building a kube client panics when several providers are compiled in and none is
/// installed, so tests and binaries call this before building one.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
