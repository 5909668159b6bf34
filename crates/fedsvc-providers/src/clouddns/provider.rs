//! [`CloudDnsProvider`]: Google Cloud DNS through Google's official client library.

use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
use google_cloud_dns_v1::client::{Changes, ResourceRecordSets};
use google_cloud_dns_v1::model::{Change, ResourceRecordSet, change::Status};
use google_cloud_gax::retry_policy::NeverRetry;
use tokio::time::Instant;

use super::config::CloudDnsConfig;
use super::credentials::{self, cause_text};
use crate::error::{ConfigError, ProviderError};
use crate::http::{self, StatusClass};
use crate::provider::{DnsProvider, RateHint};
use crate::secret::strip_userinfo;
use crate::zone_state::{check_batch, server_owned};

/// How long one HTTP call (token requests included) may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// A Cloud DNS managed zone, through Google's client library `google-cloud-dns-v1` with
/// credentials from `google-cloud-auth`.
///
/// The zone is listed with `resourceRecordSets.list` (paged); each batch is one
/// `changes.create` whose `deletions` (deleted and replaced record sets, exactly as they are)
/// and `additions` Cloud DNS applies atomically; the provider waits until the change is
/// `done`. Cloud DNS itself refuses deletions that do not match, additions that exist and
/// CNAMEs beside other data; those refusals come back as [`ProviderError::Conflict`] or
/// [`ProviderError::Invalid`]. The library's own retries are off: [`Retrying`](crate::Retrying)
/// retries what can be retried.
///
/// Credentials: `credentialsFile` when given (any credentials file Google's tools write: a
/// service-account key, an external-account (workload identity federation) configuration,
/// gcloud user credentials, service-account impersonation), else Application Default
/// Credentials: the file named by `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's
/// `~/.config/gcloud/application_default_credentials.json`, then the metadata server (GCE,
/// GKE with Workload Identity). Errors name the source that was tried.
///
/// Answers are read whole by the library: unlike the other HTTP backend, no cap on the size
/// of one answer can be set (`maxResponseBytes` is refused); each call is bounded in time
/// (30 s), and a listing page holds at most 1 000 record sets.
///
/// ```no_run
/// use fedsvc_providers::{CloudDnsConfig, CloudDnsProvider, DnsProvider};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = CloudDnsConfig {
///     project: "my-project".into(),
///     managed_zone: "example-com".into(),
///     credentials_file: None, // Application Default Credentials
///     endpoint_url: None,
///     max_response_bytes: None,
/// };
/// let p = CloudDnsProvider::from_config("example.com".parse()?, &config).await?;
/// println!("{} holds {} record sets", p.zone(), p.list().await?.len());
/// # Ok(()) }
/// ```
pub struct CloudDnsProvider {
    name: String,
    zone: DnsName,
    project: String,
    managed_zone: String,
    endpoint: Option<String>,
    /// Where the credentials come from, in words (for errors and `Debug`).
    source: String,
    rrsets: ResourceRecordSets,
    changes: Changes,
    limits: BatchLimits,
}

/// Shows no token and no key: only where credentials come from.
impl std::fmt::Debug for CloudDnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudDnsProvider")
            .field("name", &self.name)
            .field("zone", &self.zone)
            .field("endpoint", &self.endpoint.as_deref().map(strip_userinfo))
            .field("credentials", &self.source)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn rrset(rs: &RecordSet) -> ResourceRecordSet {
    ResourceRecordSet::new()
        .set_name(rs.name().to_string())
        .set_type(rs.rtype().to_string())
        .set_ttl(i32::try_from(rs.ttl()).unwrap_or(i32::MAX))
        .set_rrdatas(rs.data().iter().map(RData::to_zone_text))
}

impl CloudDnsProvider {
    /// Builds a provider from its configuration section: finds and loads the credentials now
    /// (a file that cannot be read or used is an error naming it); tokens are fetched on first
    /// use.
    pub async fn from_config(zone: DnsName, config: &CloudDnsConfig) -> Result<Self, ConfigError> {
        if config.max_response_bytes.is_some() {
            return Err(ConfigError::Invalid {
                field: "provider.maxResponseBytes".into(),
                message: "not supported by the clouddns backend: Google's client library reads \
                          each answer whole and offers no cap on its size"
                    .into(),
            });
        }
        http::install_ring();
        let (credentials, source) = credentials::load(config.credentials_file.as_deref())?;
        let start = |e: google_cloud_gax::client_builder::Error| ConfigError::Start {
            kind: "clouddns".into(),
            message: format!("cannot build the Cloud DNS client: {}", cause_text(&e)),
        };
        macro_rules! client {
            ($client:ty) => {{
                let mut b = <$client>::builder()
                    .with_credentials(credentials.clone())
                    .with_retry_policy(NeverRetry)
                    .with_attempt_timeout(ATTEMPT_TIMEOUT);
                if let Some(endpoint) = &config.endpoint_url {
                    b = b.with_endpoint(endpoint.trim_end_matches('/'));
                }
                b.build().await.map_err(start)?
            }};
        }
        let rrsets = client!(ResourceRecordSets);
        let changes = client!(Changes);
        Ok(CloudDnsProvider {
            name: format!("clouddns {}/{}", config.project, config.managed_zone),
            zone,
            project: config.project.clone(),
            managed_zone: config.managed_zone.clone(),
            endpoint: config.endpoint_url.clone(),
            source,
            rrsets,
            changes,
            limits: BatchLimits {
                max_changes: 1000,
                update_cost: 2,
                max_groups: None,
            },
        })
    }

    /// Sets the most changes in one call (default 1000).
    #[must_use]
    pub fn with_batch_size(mut self, max_changes: usize) -> Self {
        self.limits.max_changes = max_changes.max(1);
        self
    }

    /// Where the credentials come from, in words (for example `the metadata server
    /// (metadata.google.internal)`).
    pub fn credentials_source(&self) -> &str {
        &self.source
    }

    /// A [`ProviderError`] for a failed call `what`.
    fn api_error(&self, what: &str, e: &google_cloud_dns_v1::Error) -> ProviderError {
        let name = &self.name;
        if e.is_authentication() {
            // No token: the source refused (not retried), or could not be reached (retried).
            let transient =
                std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |c| {
                    c.source()
                })
                .find_map(|c| c.downcast_ref::<google_cloud_auth::errors::CredentialsError>())
                .is_some_and(|c| c.is_transient());
            let hint = if self.source.starts_with("the metadata server") {
                " (outside Google Cloud, set provider.credentialsFile or \
                 GOOGLE_APPLICATION_CREDENTIALS)"
            } else {
                ""
            };
            let message = format!(
                "{what}: no token from {}: {}{hint}",
                self.source,
                cause_text(e)
            );
            return if transient {
                ProviderError::unavailable(name, message)
            } else {
                ProviderError::unauthorized(name, message)
            };
        }
        if let Some(error) = http::no_answer(name, what, e.is_timeout(), e.is_connect()) {
            return error;
        }
        let Some(status) = e.http_status_code() else {
            if e.is_io() || e.is_transport() || e.is_exhausted() {
                return ProviderError::unavailable(name, format!("{what}: {}", cause_text(e)));
            }
            if e.is_deserialization() {
                return ProviderError::other(
                    name,
                    format!("{what}: unexpected answer: {}", cause_text(e)),
                );
            }
            return ProviderError::other(name, format!("{what}: {}", cause_text(e)));
        };
        let message = e
            .status()
            .map(|s| s.message.clone())
            .or_else(|| {
                e.http_payload()
                    .map(|b| http::body_detail(&String::from_utf8_lossy(b)))
            })
            .unwrap_or_default();
        let detail = format!("{what}: HTTP {status}: {message}");
        let retry_after = http::retry_after(
            e.http_headers()
                .and_then(|h| h.get("retry-after"))
                .and_then(|v| v.to_str().ok()),
        );
        match StatusClass::of(status) {
            class @ StatusClass::Unauthorized => class.error(
                name,
                retry_after,
                format!(
                    "{detail} (credentials: {}; the account needs roles/dns.admin or the \
                     permissions listed in docs/providers.md)",
                    self.source
                ),
            ),
            StatusClass::NotFound if what == "list" => ProviderError::invalid(
                name,
                format!("{detail} (does the managed zone exist in this project?)"),
            ),
            // A record set to delete is absent or differs, or one to add exists.
            StatusClass::NotFound => ProviderError::conflict(name, detail),
            StatusClass::ClientError if matches!(status, 409 | 412) => {
                ProviderError::conflict(name, detail)
            }
            class => class.error(name, retry_after, detail),
        }
    }

    async fn wait_done(&self, mut change: Change) -> Result<(), ProviderError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut pause = Duration::from_millis(100);
        let id = change.id.clone().unwrap_or_default();
        while change.status != Some(Status::Done) {
            let status = change
                .status
                .as_ref()
                .and_then(Status::name)
                .unwrap_or("without status")
                .to_owned();
            if id.is_empty() {
                return Err(ProviderError::other(
                    &self.name,
                    format!("create change: the answer names no change ({status})"),
                ));
            }
            if Instant::now() > deadline {
                return Err(ProviderError::unavailable(
                    &self.name,
                    format!("change {id} still {status} after 120 s"),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            change = self
                .changes
                .get()
                .set_project(&self.project)
                .set_managed_zone(&self.managed_zone)
                .set_change_id(&id)
                .send()
                .await
                .map_err(|e| self.api_error("get change", &e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl DnsProvider for CloudDnsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn zone(&self) -> &DnsName {
        &self.zone
    }

    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        let mut sets = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let page = self
                .rrsets
                .list()
                .set_project(&self.project)
                .set_managed_zone(&self.managed_zone)
                .set_max_results(1000)
                .set_or_clear_page_token(page_token.take())
                .send()
                .await
                .map_err(|e| self.api_error("list", &e))?;
            for rr in page.rrsets {
                let Some(Ok(name)) = rr.name.as_deref().map(DnsName::parse) else {
                    continue;
                };
                let rtype = RecordType::parse(rr.r#type.as_deref().unwrap_or_default());
                if server_owned(&self.zone, &name, &rtype) {
                    continue;
                }
                let data = rr
                    .rrdatas
                    .iter()
                    .filter_map(|d| RData::parse(&rtype, d).ok())
                    .collect();
                let ttl = u32::try_from(rr.ttl.unwrap_or(0)).unwrap_or(0);
                if let Ok(rs) = RecordSet::new(name, rtype, ttl, data) {
                    sets.push(rs);
                }
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => page_token = Some(t),
                _ => break,
            }
        }
        sets.sort();
        Ok(sets)
    }

    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        check_batch(&self.name, &self.zone, batch)?;
        if batch.iter().all(ChangeGroup::is_empty) {
            return Ok(());
        }
        let change = Change::new()
            .set_deletions(
                batch
                    .iter()
                    .flat_map(|g| g.delete.iter().chain(&g.update_old))
                    .map(rrset),
            )
            .set_additions(
                batch
                    .iter()
                    .flat_map(|g| g.update_new.iter().chain(&g.create))
                    .map(rrset),
            );
        let change = self
            .changes
            .create()
            .set_project(&self.project)
            .set_managed_zone(&self.managed_zone)
            .set_body(change)
            .send()
            .await
            .map_err(|e| self.api_error("create change", &e))?;
        self.wait_done(change).await
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }

    fn rate(&self) -> RateHint {
        RateHint::per_second(10)
    }
}
