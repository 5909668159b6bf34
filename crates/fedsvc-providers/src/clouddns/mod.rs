//! The Google Cloud DNS backend (`kind: clouddns`, feature `clouddns`), through Google's
//! client library.
//!
//! - `config.rs`: its settings, `CloudDnsConfig` (compiled without the feature too);
//! - `credentials.rs`: where the credentials come from (a credentials file or Application
//!   Default Credentials);
//! - `provider.rs`: `CloudDnsProvider`.

mod config;
#[cfg(feature = "clouddns")]
mod credentials;
#[cfg(feature = "clouddns")]
mod provider;

pub use config::CloudDnsConfig;
#[cfg(feature = "clouddns")]
pub use provider::CloudDnsProvider;
