//! The PowerDNS backend (`kind: powerdns`, feature `powerdns`): the authoritative server's
//! HTTP API.
//!
//! - `config.rs`: its settings, `PowerDnsConfig` (compiled without the feature too);
//! - `provider.rs`: `PowerDnsProvider`.

mod config;
#[cfg(feature = "powerdns")]
mod provider;

pub use config::PowerDnsConfig;
#[cfg(feature = "powerdns")]
pub use provider::PowerDnsProvider;
