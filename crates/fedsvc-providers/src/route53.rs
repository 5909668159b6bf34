//! Amazon Route53 through the official AWS SDK (feature `route53`).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53::Client;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
use tokio::sync::OnceCell;

use crate::config::{ConfigError, Route53Config};
use crate::error::ProviderError;
use crate::provider::{DnsProvider, RateHint};
use crate::zone_state::{ZoneState, check_batch};

/// A Route53 hosted zone.
///
/// Each batch is one `ChangeResourceRecordSets` call, which Route53 applies all or nothing;
/// an update is sent as `DELETE` of the old set plus `CREATE` of the new one (two changes, as
/// an `UPSERT` would count), so a zone that changed since it was listed gives
/// [`ProviderError::Conflict`] instead of being overwritten. Batches hold at most 1000
/// changes; calls are spaced for Route53's 5 requests per second. Before each write the zone
/// is read and the batch checked against it (CNAME exclusivity, deletes and updates matching,
/// creates absent), because not every Route53 implementation (the moto emulator among them)
/// enforces it.
///
/// Credentials, region and endpoint come from the usual AWS configuration chain (environment,
/// profile, instance role); the configuration file may set the region and an endpoint.
///
/// ```no_run
/// use fedsvc_providers::{DnsProvider, Route53Provider};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let p = Route53Provider::new("example.com".parse()?, &sdk, None);
/// println!("{} holds {} record sets", p.zone(), p.list().await?.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Route53Provider {
    name: String,
    zone: DnsName,
    client: Client,
    hosted_zone_id: OnceCell<String>,
    limits: BatchLimits,
}

impl Route53Provider {
    /// A provider for `zone` with the SDK configuration `sdk`; the hosted zone is looked up by
    /// name on first use unless `hosted_zone_id` is given.
    pub fn new(zone: DnsName, sdk: &aws_config::SdkConfig, hosted_zone_id: Option<&str>) -> Self {
        let endpoint = sdk.endpoint_url().unwrap_or("aws");
        let id_cell = OnceCell::new();
        if let Some(id) = hosted_zone_id {
            let _ = id_cell.set(bare_zone_id(id).to_owned());
        }
        Route53Provider {
            name: format!("route53 {} ({endpoint})", zone.without_dot()),
            zone,
            // Retries happen once, in `Retrying`, for every backend alike.
            client: Client::from_conf(
                aws_sdk_route53::config::Builder::from(sdk)
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    .build(),
            ),
            hosted_zone_id: id_cell,
            limits: BatchLimits {
                max_changes: 1000,
                update_cost: 2,
                max_groups: None,
            },
        }
    }

    /// Builds a provider from its configuration section, loading the AWS configuration chain.
    pub async fn from_config(zone: DnsName, config: &Route53Config) -> Result<Self, ConfigError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(
            aws_config::Region::new(
                config
                    .region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".to_owned()),
            ),
        );
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        Ok(Self::new(zone, &sdk, config.hosted_zone_id.as_deref()))
    }

    /// Sets the most changes in one call (default 1000, Route53's limit).
    #[must_use]
    pub fn with_batch_size(mut self, max_changes: usize) -> Self {
        self.limits.max_changes = max_changes.clamp(1, 1000);
        self
    }

    /// The hosted zone's id, looked up by name once.
    async fn zone_id(&self) -> Result<&str, ProviderError> {
        self.hosted_zone_id
            .get_or_try_init(|| async {
                let what = "ListHostedZonesByName";
                let out = self
                    .client
                    .list_hosted_zones_by_name()
                    .dns_name(self.zone.as_str())
                    .max_items(10)
                    .send()
                    .await
                    .map_err(|e| self.sdk_error(what, e))?;
                out.hosted_zones()
                    .iter()
                    .find(|z| DnsName::parse(z.name()).is_ok_and(|n| n == self.zone))
                    .map(|z| bare_zone_id(z.id()).to_owned())
                    .ok_or_else(|| {
                        ProviderError::invalid(
                            &self.name,
                            format!(
                                "{what}: no hosted zone named {}: create it, or set hostedZoneId",
                                self.zone
                            ),
                        )
                    })
            })
            .await
            .map(String::as_str)
    }

    /// Maps an SDK error to a clear error.
    fn sdk_error<E, R>(&self, what: &str, e: SdkError<E, R>) -> ProviderError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let name = &self.name;
        match &e {
            SdkError::TimeoutError(_) => {
                return ProviderError::unavailable(name, format!("{what}: no answer in time"));
            }
            SdkError::DispatchFailure(_) => {
                let chain = error_chain(&e);
                if chain.contains("credentials") {
                    return ProviderError::unauthorized(
                        name,
                        format!(
                            "{what}: no usable AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or an instance role): {chain}"
                        ),
                    );
                }
                return ProviderError::unavailable(
                    name,
                    format!("{what}: cannot reach the endpoint: {chain}"),
                );
            }
            _ => {}
        }
        let code = e.code().unwrap_or("").to_owned();
        let message = e
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| error_chain(&e));
        let detail = format!("{what}: {code}: {message}");
        match code.as_str() {
            "Throttling"
            | "ThrottlingException"
            | "PriorRequestNotComplete"
            | "RequestLimitExceeded" => ProviderError::Throttled {
                provider: name.clone(),
                retry_after: Some(Duration::from_secs(1)),
                message: detail,
            },
            "AccessDenied"
            | "AccessDeniedException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "ExpiredToken"
            | "MissingAuthenticationToken" => ProviderError::unauthorized(
                name,
                format!("{detail} (check the AWS credentials and their Route53 permissions)"),
            ),
            "InvalidChangeBatch" => {
                let m = message.to_ascii_lowercase();
                if m.contains("not found")
                    || m.contains("already exists")
                    || m.contains("values provided do not match")
                {
                    ProviderError::conflict(name, detail)
                } else {
                    ProviderError::invalid(name, detail)
                }
            }
            "NoSuchHostedZone" | "InvalidInput" | "InvalidDomainName" => {
                ProviderError::invalid(name, detail)
            }
            "ServiceUnavailable" | "InternalFailure" | "InternalError" => {
                ProviderError::unavailable(name, detail)
            }
            _ => ProviderError::other(name, format!("{what}: {}", error_chain(&e))),
        }
    }

    fn to_rrset(&self, rs: &RecordSet) -> Result<ResourceRecordSet, ProviderError> {
        let records = rs
            .data()
            .iter()
            .map(|d| ResourceRecord::builder().value(d.to_zone_text()).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProviderError::invalid(&self.name, e.to_string()))?;
        ResourceRecordSet::builder()
            .name(rs.name().as_str())
            .r#type(RrType::from(rs.rtype().as_str()))
            .ttl(i64::from(rs.ttl()))
            .set_resource_records(Some(records))
            .build()
            .map_err(|e| ProviderError::invalid(&self.name, e.to_string()))
    }

    fn change(&self, action: ChangeAction, rs: &RecordSet) -> Result<Change, ProviderError> {
        Change::builder()
            .action(action)
            .resource_record_set(self.to_rrset(rs)?)
            .build()
            .map_err(|e| ProviderError::invalid(&self.name, e.to_string()))
    }
}

/// An error and its sources, as one line without repetitions.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// `/hostedzone/Z123` → `Z123`.
fn bare_zone_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// Route53 writes `*` and other special characters as octal escapes (`\052`).
fn unescape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let digits: String = chars.clone().take(3).collect();
            if digits.len() == 3
                && digits.chars().all(|d| d.is_digit(8))
                && let Ok(v) = u8::from_str_radix(&digits, 8)
            {
                out.push(char::from(v));
                for _ in 0..3 {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[async_trait]
impl DnsProvider for Route53Provider {
    fn name(&self) -> &str {
        &self.name
    }

    fn zone(&self) -> &DnsName {
        &self.zone
    }

    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        let what = "ListResourceRecordSets";
        let zone_id = self.zone_id().await?;
        let mut sets = Vec::new();
        let mut next: Option<(String, RrType, Option<String>)> = None;
        loop {
            let mut req = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id);
            if let Some((name, rtype, ident)) = next.take() {
                req = req
                    .start_record_name(name)
                    .start_record_type(rtype)
                    .set_start_record_identifier(ident);
            }
            let out = req.send().await.map_err(|e| self.sdk_error(what, e))?;
            for rrs in out.resource_record_sets() {
                let Ok(name) = DnsName::parse(&unescape_name(rrs.name())) else {
                    continue;
                };
                let type_text = rrs.r#type().as_str().to_owned();
                if let Some(alias) = rrs.alias_target() {
                    // Alias sets are not fedsvc's: keep them visible as foreign data.
                    let data = RData::Other(format!("{type_text} {}", alias.dns_name()));
                    if let Ok(rs) =
                        RecordSet::new(name, RecordType::Other("ALIAS".into()), 0, vec![data])
                    {
                        sets.push(rs);
                    }
                    continue;
                }
                let rtype = RecordType::parse(&type_text);
                if matches!(&rtype, RecordType::Other(t) if t == "SOA" || (t == "NS" && name == self.zone))
                {
                    continue;
                }
                let data: Vec<RData> = rrs
                    .resource_records()
                    .iter()
                    .filter_map(|r| RData::parse(&rtype, r.value()).ok())
                    .collect();
                let ttl = rrs.ttl().and_then(|t| u32::try_from(t).ok()).unwrap_or(0);
                if let Ok(rs) = RecordSet::new(name, rtype, ttl, data) {
                    sets.push(rs);
                }
            }
            if !out.is_truncated() {
                break;
            }
            match (out.next_record_name(), out.next_record_type()) {
                (Some(n), Some(t)) => {
                    next = Some((
                        n.to_owned(),
                        t.clone(),
                        out.next_record_identifier().map(str::to_owned),
                    ));
                }
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
        let mut state = ZoneState::default();
        for rs in self.list().await? {
            state.put(rs);
        }
        state.apply_batch(&self.name, &self.zone, batch)?;

        let mut changes = Vec::new();
        for group in batch {
            for rs in group.delete.iter().chain(&group.update_old) {
                changes.push(self.change(ChangeAction::Delete, rs)?);
            }
            for rs in group.update_new.iter().chain(&group.create) {
                changes.push(self.change(ChangeAction::Create, rs)?);
            }
        }
        let change_batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .comment("fedsvc")
            .build()
            .map_err(|e| ProviderError::invalid(&self.name, e.to_string()))?;
        let zone_id = self.zone_id().await?;
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(change_batch)
            .send()
            .await
            .map_err(|e| self.sdk_error("ChangeResourceRecordSets", e))?;
        Ok(())
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }

    fn rate(&self) -> RateHint {
        RateHint::per_second(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert_eq!(unescape_name("\\052.example.com."), "*.example.com.");
        assert_eq!(unescape_name("a.example.com."), "a.example.com.");
        assert_eq!(bare_zone_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_zone_id("Z123"), "Z123");
    }
}
