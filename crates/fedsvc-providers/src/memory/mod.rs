//! The in-memory reference backend (`kind: memory`, feature `memory`): a zone kept in memory
//! that checks changes like a strict DNS server, optionally served over DNS.
//!
//! - `config.rs`: its settings, `MemoryConfig` (compiled without the feature too);
//! - `provider.rs`: `MemoryProvider`;
//! - `server.rs`: the embedded authoritative DNS server that serves the zone.

mod config;
#[cfg(feature = "memory")]
mod provider;
#[cfg(feature = "memory")]
mod server;

pub use config::MemoryConfig;
#[cfg(feature = "memory")]
pub use provider::MemoryProvider;
