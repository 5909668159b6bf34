//! The RFC 2136 backend (`kind: rfc2136`, feature `rfc2136`): DNS UPDATE signed with TSIG,
//! listing by AXFR (BIND 9, Knot, …).
//!
//! - `config.rs`: its settings, `Rfc2136Config` and `TsigConfig` (compiled without the
//!   feature too), and the limits of one zone transfer;
//! - `provider.rs`: `Rfc2136Provider`, the UPDATE messages and their answers;
//! - `axfr.rs`: the signed zone transfer that lists the zone.

#[cfg(feature = "rfc2136")]
mod axfr;
mod config;
#[cfg(feature = "rfc2136")]
mod provider;

pub use config::{Rfc2136Config, TsigConfig};
#[cfg(feature = "rfc2136")]
pub use provider::Rfc2136Provider;
