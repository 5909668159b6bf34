//! The settings of the PowerDNS backend (`kind: powerdns`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;
use crate::secret::{Secret, read_secret_file, strip_userinfo};

/// The default most bytes of one PowerDNS answer (`maxResponseBytes`): 1 GiB, ten times the
/// whole-zone `GET` of the largest zone fedsvc is measured with (620 001 record sets, on the
/// order of 100 MB of JSON).
#[cfg(feature = "powerdns")]
pub(crate) const DEFAULT_MAX_RESPONSE: u64 = 1 << 30;

/// Settings of the PowerDNS backend. `Debug` shows `url` without its user information.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PowerDnsConfig {
    /// The API's base URL, for example `http://127.0.0.1:8081`.
    pub url: String,
    /// The API key.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// A file holding the API key.
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// The server id in API paths (default `localhost`).
    #[serde(default = "default_server_id")]
    pub server_id: String,
    /// Seconds to wait for an answer (default 10).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The most bytes of one answer (default 1 GiB); a longer one is an error naming the limit.
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
}

impl fmt::Debug for PowerDnsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PowerDnsConfig")
            .field("url", &strip_userinfo(&self.url))
            .field("api_key", &self.api_key)
            .field("api_key_file", &self.api_key_file)
            .field("server_id", &self.server_id)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

fn default_server_id() -> String {
    "localhost".to_owned()
}

impl PowerDnsConfig {
    /// The API key, from `apiKey` or read from `apiKeyFile`.
    pub fn api_key(&self) -> Result<Secret, ConfigError> {
        match (&self.api_key, &self.api_key_file) {
            (Some(k), None) => Ok(k.clone()),
            (None, Some(path)) => read_secret_file(path).map(Secret::new),
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                field: "provider".into(),
                message: "give either apiKey or apiKeyFile, not both".into(),
            }),
            (None, None) => Err(ConfigError::Invalid {
                field: "provider".into(),
                message: "apiKey or apiKeyFile is required".into(),
            }),
        }
    }

    /// The timeout for one request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.unwrap_or(10).max(1))
    }
}
