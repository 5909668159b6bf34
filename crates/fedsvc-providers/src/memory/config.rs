//! The settings of the in-memory backend (`kind: memory`).

use std::net::SocketAddr;

use serde::Deserialize;

/// Settings of the in-memory backend.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemoryConfig {
    /// Serve the zone over DNS on this address (UDP and TCP), for example `127.0.0.1:5353`.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}
