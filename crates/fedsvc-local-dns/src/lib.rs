//! In-cluster DNS for federated services: what kube-dns `--federations` did.
//!
//! A pod in a member cluster asks for `nginx.mynamespace.myfederation`; its resolver's search
//! path turns that into `nginx.mynamespace.myfederation.svc.cluster.local.`, which the
//! cluster DNS (CoreDNS) forwards here. The answer is a CNAME:
//!
//! - to `nginx.mynamespace.svc.cluster.local.` when the service has at least one ready
//!   endpoint in **this** cluster (the cluster DNS then gives its cluster IP), or
//! - to the federated name of this cluster's zone, `nginx.mynamespace.myfederation.svc.
//!   ZONE.example.com.` (or `…ZONE.REGION.example.com.` with `zone-region` naming), which the
//!   public DNS hierarchy kept by the fedsvc controller resolves to the closest healthy shard.
//!
//! The decision is [`fedsvc_dns_plan::local_answer`], pure; this crate is the IO around it:
//! a [`Responder`] maps a DNS question to a [`Reply`] (it is authoritative for
//! `F.svc.<cluster domain>` only and REFUSES everything else), a [`LocalDnsServer`] serves it
//! over UDP and TCP with hickory-server, an optional [`Upstream`] completes each CNAME with
//! its target's records (stub resolvers do not chase CNAMEs themselves), and a
//! [`LocalServices`] source says which services are healthy here: [`MemberServices`], kept
//! current by a member cluster's shard watches, or [`StaticServices`], set from code.
//! Short TTLs (default 5 s) let the answer follow local health quickly.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fedsvc_cluster::SimMember;
//! use fedsvc_local_dns::{LocalDnsConfig, LocalDnsServer, MemberServices, Responder};
//! use fedsvc_model::{ClusterName, Label, LabelRules};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").unwrap();
//! let member = SimMember::new(ClusterName::parse("gce-us-central1-f")?, &["us-central1-f"], "us-central1");
//! let services = MemberServices::spawn(&member);
//! let config = LocalDnsConfig::new(l("us-central1-f"), l("us-central1"))
//!     .with_federation("myfederation=example.com".parse()?);
//! let responder = Arc::new(Responder::new(config, Arc::new(services))?);
//! let server = LocalDnsServer::start("127.0.0.1:5353".parse()?, responder, None).await?;
//! // dig @127.0.0.1 -p 5353 nginx.mynamespace.myfederation.svc.cluster.local A
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod app;
mod error;
mod federation_spec;
mod flags;
mod local_dns_config;
mod local_dns_server;
mod local_services;
mod member_services;
mod outcome;
mod reply;
mod request_handler;
mod responder;
mod static_services;
mod upstream;

pub use app::{cluster_locality, run};
pub use error::LocalDnsError;
pub use federation_spec::FederationSpec;
pub use flags::Flags;
pub use local_dns_config::{DEFAULT_CLUSTER_DOMAIN, DEFAULT_TTL, LocalDnsConfig};
pub use local_dns_server::LocalDnsServer;
pub use local_services::LocalServices;
pub use member_services::MemberServices;
pub use outcome::Outcome;
pub use reply::Reply;
pub use responder::Responder;
pub use static_services::StaticServices;
pub use upstream::Upstream;
