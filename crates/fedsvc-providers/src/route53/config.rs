//! The settings of the Route53 backend (`kind: route53`).

use std::fmt;

use serde::Deserialize;

use crate::secret::strip_userinfo;

/// Settings of the Route53 backend. `Debug` shows `endpointUrl` without its user information.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route53Config {
    /// The hosted zone's id; looked up by the zone name when absent.
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// The AWS region.
    #[serde(default)]
    pub region: Option<String>,
    /// Another endpoint than AWS's (a local emulator).
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

impl fmt::Debug for Route53Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route53Config")
            .field("hosted_zone_id", &self.hosted_zone_id)
            .field("region", &self.region)
            .field(
                "endpoint_url",
                &self.endpoint_url.as_deref().map(strip_userinfo),
            )
            .finish()
    }
}
