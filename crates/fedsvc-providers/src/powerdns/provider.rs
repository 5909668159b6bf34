//! [`PowerDnsProvider`]: the PowerDNS authoritative server's HTTP API.
//!
//! One atomic `PATCH` per batch, checked first against the rrsets of the names the batch
//! touches (read by name, or the whole zone when that is cheaper); see [`PowerDnsProvider`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
use serde::{Deserialize, Serialize};

use super::config::{DEFAULT_MAX_RESPONSE, PowerDnsConfig};
use crate::error::{ConfigError, ProviderError};
use crate::http::{self, StatusClass, body};
use crate::provider::DnsProvider;
use crate::secret::{Secret, strip_userinfo};
use crate::zone_state::{check_against, check_batch, names_touched, server_owned};

/// A zone in PowerDNS, through its HTTP API (`/api/v1/servers/{server}/zones/{zone}`).
///
/// The zone is listed with one `GET`; each batch is one `PATCH` of rrsets (`REPLACE` and
/// `DELETE` changetypes), which PowerDNS applies in one database transaction, so a batch is
/// all or nothing.
///
/// PowerDNS replaces rrsets unconditionally, so before the `PATCH` the provider checks the
/// batch against what the zone holds at the names it touches: deleting or updating a record
/// set that differs, or creating one that exists, gives [`ProviderError::Conflict`], a CNAME
/// beside other data [`ProviderError::Invalid`], as with the other backends. Only those names
/// are read, one `GET …/zones/{zone}?rrset_name={name}` each (PowerDNS 4.6 and later), up to
/// 8 at a time, so the cost of a small batch does not grow with the zone. One such read costs
/// about as much as 60 record sets of a whole-zone `GET`; when a batch touches so
/// many names that its reads would cost more than one `GET` of the zone as last seen (its size
/// from the last listing, kept up to date by the batches applied since), the zone is read
/// once instead. A server that ignores the filter (older than 4.6) answers with the whole
/// zone; the provider then reads the whole zone once per batch. The reads and the `PATCH` are
/// not one transaction: a change made by someone else in between is not detected.
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
#[derive(Clone)]
pub struct PowerDnsProvider {
    /// `powerdns URL`, the URL without its user information.
    name: String,
    zone: DnsName,
    zone_url: String,
    api_key: Secret,
    client: reqwest::Client,
    limits: BatchLimits,
    /// The most bytes of one answer.
    max_response: u64,
    /// Set once the server answered a `rrset_name` read with other names (PowerDNS < 4.6).
    ignores_rrset_filter: Arc<AtomicBool>,
    /// Record sets in the zone as last seen ([`UNKNOWN_SIZE`] before the first listing).
    zone_size: Arc<AtomicUsize>,
}

impl std::fmt::Debug for PowerDnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerDnsProvider")
            .field("name", &self.name)
            .field("zone", &self.zone)
            .field("zone_url", &strip_userinfo(&self.zone_url))
            .field("api_key", &self.api_key)
            .field("limits", &self.limits)
            .field("max_response", &self.max_response)
            .finish_non_exhaustive()
    }
}

/// Concurrent `GET`s when reading the names of a batch.
const READ_CONCURRENCY: usize = 8;

/// What one `GET` filtered by name costs, in record sets of a whole-zone `GET` (PowerDNS 4.7,
/// sqlite, loopback, 8 reads at a time: about 1.5 ms against 25 µs).
const NAME_READ_COST: usize = 60;

/// [`PowerDnsProvider::zone_size`] before the zone was listed.
const UNKNOWN_SIZE: usize = usize::MAX;

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
                message: format!(
                    "{:?} is not an http:// or https:// URL",
                    strip_userinfo(url)
                ),
            });
        }
        http::install_ring();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| ConfigError::Invalid {
                field: "provider".into(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(PowerDnsProvider {
            name: format!("powerdns {}", strip_userinfo(base)),
            zone_url: format!("{base}/api/v1/servers/{server_id}/zones/{}", zone.as_str()),
            zone,
            api_key,
            client,
            ignores_rrset_filter: Arc::new(AtomicBool::new(false)),
            zone_size: Arc::new(AtomicUsize::new(UNKNOWN_SIZE)),
            max_response: DEFAULT_MAX_RESPONSE,
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

    /// Sets the most bytes of one answer (default 1 GiB): a longer answer is an error naming
    /// the limit, read no further.
    #[must_use]
    pub fn with_max_response_bytes(mut self, max: u64) -> Self {
        self.max_response = max.max(1);
        self
    }

    /// Builds a provider from its configuration section.
    pub fn from_config(zone: DnsName, config: &PowerDnsConfig) -> Result<Self, ConfigError> {
        let p = Self::with_timeout(
            zone,
            &config.url,
            config.api_key()?,
            &config.server_id,
            config.timeout(),
        )?;
        Ok(match config.max_response_bytes {
            Some(max) => p.with_max_response_bytes(max),
            None => p,
        })
    }

    /// Maps an HTTP error status to an error naming the cause.
    async fn status_error(&self, what: &str, response: reqwest::Response) -> ProviderError {
        let status = response.status();
        let retry_after = http::retry_after(
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let body = body::error_text(response).await;
        let detail = serde_json::from_str::<ErrorDoc>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| http::body_detail(&body));
        let class = StatusClass::of(status.as_u16());
        let message = match class {
            StatusClass::Unauthorized => {
                format!("{what}: API key rejected (HTTP {status}): check apiKey/apiKeyFile")
            }
            StatusClass::NotFound => format!(
                "{what}: zone {} not found (HTTP 404): create it in PowerDNS first ({detail})",
                self.zone
            ),
            StatusClass::Throttled => format!("{what}: HTTP 429 {detail}"),
            _ if status == 422 => format!("{what}: refused: {detail}"),
            _ => format!("{what}: HTTP {status}: {detail}"),
        };
        match class {
            // PowerDNS refuses a change with 422; another client error is unexpected.
            StatusClass::ClientError if status != 422 => ProviderError::other(&self.name, message),
            class => class.error(&self.name, retry_after, message),
        }
    }

    async fn get_zone(&self) -> Result<Vec<RecordSet>, ProviderError> {
        let response = self
            .client
            .get(&self.zone_url)
            .header("X-API-Key", self.api_key.expose())
            .send()
            .await;
        let mut sets = self.zone_doc("GET zone", response).await?;
        self.zone_size.store(sets.len(), Ordering::Relaxed);
        sets.sort();
        Ok(sets)
    }

    /// The record sets of a zone document (without the zone's SOA and apex NS).
    async fn zone_doc(
        &self,
        what: &str,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Vec<RecordSet>, ProviderError> {
        let response = response.map_err(|e| body::transport_error(&self.name, what, e))?;
        if !response.status().is_success() {
            return Err(self.status_error(what, response).await);
        }
        let doc: ZoneDoc = body::read_json(&self.name, what, response, self.max_response).await?;
        let mut sets = Vec::new();
        for rr in doc.rrsets {
            let rtype = RecordType::parse(&rr.rtype);
            let Ok(name) = DnsName::parse(&rr.name) else {
                continue;
            };
            if server_owned(&self.zone, &name, &rtype) {
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
        Ok(sets)
    }

    /// Every record set at `names`: one filtered `GET` per name, [`READ_CONCURRENCY`] at a
    /// time; the whole zone when the server does not filter.
    async fn read_names(&self, names: &BTreeSet<DnsName>) -> Result<Vec<RecordSet>, ProviderError> {
        let size = self.zone_size.load(Ordering::Relaxed);
        if self.ignores_rrset_filter.load(Ordering::Relaxed)
            || (size != UNKNOWN_SIZE && names.len().saturating_mul(NAME_READ_COST) > size)
        {
            return self.get_zone().await;
        }
        let mut pending = names.iter();
        let mut running = tokio::task::JoinSet::new();
        let mut found = Vec::new();
        loop {
            while running.len() < READ_CONCURRENCY {
                let Some(name) = pending.next() else { break };
                let request = self
                    .client
                    .get(format!(
                        "{}?rrset_name={}",
                        self.zone_url,
                        query_escape(name.as_str())
                    ))
                    .header("X-API-Key", self.api_key.expose());
                let name = name.clone();
                running.spawn(async move { (name, request.send().await) });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (name, response) = done.map_err(|e| {
                ProviderError::other(&self.name, format!("GET rrsets: task failed: {e}"))
            })?;
            let sets = self
                .zone_doc(&format!("GET rrsets of {name}"), response)
                .await?;
            if sets.iter().any(|rs| rs.name() != &name) {
                // The filter was ignored: this answer is the whole zone.
                self.ignores_rrset_filter.store(true, Ordering::Relaxed);
                running.abort_all();
                return Ok(sets);
            }
            found.extend(sets);
        }
        Ok(found)
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

/// Percent-encodes a name for a query string (letters, digits, `-`, `_` and `.` stay).
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
        // PowerDNS replaces record sets unconditionally: check what the batch expects first,
        // against what the zone holds at the names the batch touches.
        let current = self.read_names(&names_touched(batch)).await?;
        check_against(&self.name, &self.zone, batch, current)?;

        let what = "PATCH zone";
        let response = self
            .client
            .patch(&self.zone_url)
            .header("X-API-Key", self.api_key.expose())
            .json(&Self::patch(batch))
            .send()
            .await
            .map_err(|e| body::transport_error(&self.name, what, e))?;
        if response.status().is_success() {
            let created: usize = batch.iter().map(|g| g.create.len()).sum();
            let deleted: usize = batch.iter().map(|g| g.delete.len()).sum();
            let _ = self
                .zone_size
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |size| {
                    (size != UNKNOWN_SIZE).then(|| (size + created).saturating_sub(deleted))
                });
            Ok(())
        } else {
            Err(self.status_error(what, response).await)
        }
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_keeps_names_readable() {
        assert_eq!(query_escape("a-b_c.example.com."), "a-b_c.example.com.");
        assert_eq!(query_escape("*.example.com."), "%2A.example.com.");
        assert_eq!(query_escape("a b&c"), "a%20b%26c");
    }
}
