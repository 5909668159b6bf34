//! The Route53 backend (`kind: route53`, feature `route53`): Amazon Route53 through the
//! official AWS SDK.
//!
//! - `config.rs`: its settings, `Route53Config` (compiled without the feature too);
//! - `provider.rs`: `Route53Provider`, the requests of a batch within Route53's quotas.

mod config;
#[cfg(feature = "route53")]
mod provider;

pub use config::Route53Config;
#[cfg(feature = "route53")]
pub use provider::Route53Provider;
