//! The PowerDNS authoritative server's HTTP API (feature `powerdns`).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, PowerDnsConfig, Secret};
use crate::error::ProviderError;
use crate::provider::DnsProvider;
use crate::zone_state::{ZoneState, check_batch};

/// A zone in PowerDNS, through its HTTP API (`/api/v1/servers/{server}/zones/{zone}`).
///
/// The zone is listed with one `GET`; each batch is one `PATCH` of rrsets (`REPLACE` and
/// `DELETE` changetypes), which PowerDNS applies in one database transaction, so a batch is
/// all or nothing. Before the `PATCH`, the provider checks the batch against the zone as it is
/// (one `GET`): deleting or updating a record set that differs, or creating one that exists,
/// gives [`ProviderError::Conflict`] as with the other backends.
///
/// ```no_run
/// use fedsvc_providers::{DnsProvider, PowerDnsProvider, Secret};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let p = PowerDnsProvider::new(
///     "example.com".parse()?,
///     "http://127.0.0.1:8081",
///     Secret::new("changeme"),
///     "localhost",
/// )?;
/// println!("{} holds {} record sets", p.zone(), p.list().await?.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PowerDnsProvider {
    name: String,
    zone: DnsName,
    zone_url: String,
    api_key: Secret,
    client: reqwest::Client,
    limits: BatchLimits,
}

#[derive(Debug, Deserialize)]
struct ZoneDoc {
    #[serde(default)]
    rrsets: Vec<RrsetDoc>,
}

#[derive(Debug, Deserialize)]
struct RrsetDoc {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(default)]
    ttl: u32,
    #[serde(default)]
    records: Vec<RecordDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RecordDoc {
    content: String,
    #[serde(default)]
    disabled: bool,
}

#[derive(Debug, Serialize)]
struct PatchDoc {
    rrsets: Vec<RrsetChange>,
}

#[derive(Debug, Serialize)]
struct RrsetChange {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    changetype: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<Vec<RecordDoc>>,
}

#[derive(Debug, Deserialize)]
struct ErrorDoc {
    error: String,
}

impl PowerDnsProvider {
    /// A provider for `zone` on the API at `url` (for example `http://127.0.0.1:8081`), server
    /// id `server_id` (usually `localhost`), 10 s timeout.
    pub fn new(
        zone: DnsName,
        url: &str,
        api_key: Secret,
        server_id: &str,
    ) -> Result<Self, ConfigError> {
        Self::with_timeout(zone, url, api_key, server_id, Duration::from_secs(10))
    }

    fn with_timeout(
        zone: DnsName,
        url: &str,
        api_key: Secret,
        server_id: &str,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let base = url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                field: "provider.url".into(),
                message: format!("{url:?} is not an http:// or https:// URL"),
            });
        }
        // reqwest is built without a default TLS crypto provider: use ring, once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ConfigError::Invalid {
                field: "provider".into(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(PowerDnsProvider {
            name: format!("powerdns {base}"),
            zone_url: format!("{base}/api/v1/servers/{server_id}/zones/{}", zone.as_str()),
            zone,
            api_key,
            client,
            limits: BatchLimits {
                max_changes: 1000,
                update_cost: 1,
                max_groups: None,
            },
        })
    }

    /// Sets the most record-set changes in one `PATCH` (default 1000).
    #[must_use]
    pub fn with_batch_size(mut self, max_changes: usize) -> Self {
        self.limits.max_changes = max_changes.max(1);
        self
    }

    /// Builds a provider from its configuration section.
    pub fn from_config(zone: DnsName, config: &PowerDnsConfig) -> Result<Self, ConfigError> {
        Self::with_timeout(
            zone,
            &config.url,
            config.api_key()?,
            &config.server_id,
            config.timeout(),
        )
    }

    /// Maps a failed request to an error naming the cause.
    fn transport_error(&self, what: &str, e: reqwest::Error) -> ProviderError {
        let cause = if e.is_timeout() {
            "no answer in time".to_owned()
        } else if e.is_connect() {
            "cannot connect to the API".to_owned()
        } else {
            e.to_string()
        };
        ProviderError::unavailable(&self.name, format!("{what}: {cause}"))
    }

    /// Maps an HTTP error status to an error naming the cause.
    async fn status_error(&self, what: &str, response: reqwest::Response) -> ProviderError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<ErrorDoc>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| body.trim().chars().take(200).collect());
        let name = &self.name;
        match status.as_u16() {
            401 | 403 => ProviderError::unauthorized(
                name,
                format!("{what}: API key rejected (HTTP {status}): check apiKey/apiKeyFile"),
            ),
            404 => ProviderError::invalid(
                name,
                format!(
                    "{what}: zone {} not found (HTTP 404): create it in PowerDNS first ({detail})",
                    self.zone
                ),
            ),
            422 => ProviderError::invalid(name, format!("{what}: refused: {detail}")),
            429 => ProviderError::Throttled {
                provider: name.clone(),
                retry_after,
                message: format!("{what}: HTTP 429 {detail}"),
            },
            500..=599 => {
                ProviderError::unavailable(name, format!("{what}: HTTP {status}: {detail}"))
            }
            _ => ProviderError::other(name, format!("{what}: HTTP {status}: {detail}")),
        }
    }

    async fn get_zone(&self) -> Result<Vec<RecordSet>, ProviderError> {
        let what = "GET zone";
        let response = self
            .client
            .get(&self.zone_url)
            .header("X-API-Key", self.api_key.expose())
            .send()
            .await
            .map_err(|e| self.transport_error(what, e))?;
        if !response.status().is_success() {
            return Err(self.status_error(what, response).await);
        }
        let doc: ZoneDoc = response.json().await.map_err(|e| {
            ProviderError::other(&self.name, format!("{what}: unexpected answer: {e}"))
        })?;
        let mut sets = Vec::new();
        for rr in doc.rrsets {
            let rtype = RecordType::parse(&rr.rtype);
            let Ok(name) = DnsName::parse(&rr.name) else {
                continue;
            };
            let is_infra = match &rtype {
                RecordType::Other(t) => t == "SOA" || (t == "NS" && name == self.zone),
                _ => false,
            };
            if is_infra {
                continue;
            }
            let data: Vec<RData> = rr
                .records
                .iter()
                .filter(|r| !r.disabled)
                .filter_map(|r| RData::parse(&rtype, &r.content).ok())
                .collect();
            if let Ok(rs) = RecordSet::new(name, rtype, rr.ttl, data) {
                sets.push(rs);
            }
        }
        sets.sort();
        Ok(sets)
    }

    /// The rrset changes of a batch, last change per (name, type) winning, in order.
    fn patch(batch: &[ChangeGroup]) -> PatchDoc {
        let mut changes: BTreeMap<(String, String), RrsetChange> = BTreeMap::new();
        for group in batch {
            for rs in group.delete.iter().chain(&group.update_old) {
                let key = (rs.name().to_string(), rs.rtype().to_string());
                changes.insert(
                    key.clone(),
                    RrsetChange {
                        name: key.0,
                        rtype: key.1,
                        changetype: "DELETE",
                        ttl: None,
                        records: None,
                    },
                );
            }
            for rs in group.update_new.iter().chain(&group.create) {
                let key = (rs.name().to_string(), rs.rtype().to_string());
                let records = rs
                    .data()
                    .iter()
                    .map(|d| RecordDoc {
                        content: d.to_zone_text(),
                        disabled: false,
                    })
                    .collect();
                changes.insert(
                    key.clone(),
                    RrsetChange {
                        name: key.0,
                        rtype: key.1,
                        changetype: "REPLACE",
                        ttl: Some(rs.ttl()),
                        records: Some(records),
                    },
                );
            }
        }
        // Deletes first, so that a CNAME replacing an A set never meets it.
        let (deletes, replaces): (Vec<_>, Vec<_>) = changes
            .into_values()
            .partition(|c| c.changetype == "DELETE");
        PatchDoc {
            rrsets: deletes.into_iter().chain(replaces).collect(),
        }
    }
}

#[async_trait]
impl DnsProvider for PowerDnsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn zone(&self) -> &DnsName {
        &self.zone
    }

    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        self.get_zone().await
    }

    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        check_batch(&self.name, &self.zone, batch)?;
        if batch.iter().all(ChangeGroup::is_empty) {
            return Ok(());
        }
        // PowerDNS replaces record sets unconditionally: check what the batch expects first.
        let mut state = ZoneState::default();
        for rs in self.get_zone().await? {
            state.put(rs);
        }
        state.apply_batch(&self.name, &self.zone, batch)?;

        let what = "PATCH zone";
        let response = self
            .client
            .patch(&self.zone_url)
            .header("X-API-Key", self.api_key.expose())
            .json(&Self::patch(batch))
            .send()
            .await
            .map_err(|e| self.transport_error(what, e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.status_error(what, response).await)
        }
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }
}
