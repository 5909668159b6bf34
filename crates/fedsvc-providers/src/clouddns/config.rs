//! The settings of the Google Cloud DNS backend (`kind: clouddns`).

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::secret::strip_userinfo;

/// Settings of the Google Cloud DNS backend. `Debug` shows `endpointUrl` without its user
/// information.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudDnsConfig {
    /// The Google Cloud project.
    pub project: String,
    /// The managed zone's name.
    pub managed_zone: String,
    /// A credentials file (service-account key, external account, gcloud user credentials,
    /// impersonation); without it, Application Default Credentials.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// Another endpoint than Google's (a local fake).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Refused when set: Google's client library reads each answer whole and offers no cap
    /// on its size.
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
}

impl fmt::Debug for CloudDnsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudDnsConfig")
            .field("project", &self.project)
            .field("managed_zone", &self.managed_zone)
            .field("credentials_file", &self.credentials_file)
            .field(
                "endpoint_url",
                &self.endpoint_url.as_deref().map(strip_userinfo),
            )
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}
