//! [`Route53Provider`]: Amazon Route53 through the official AWS SDK.
//!
//! A batch is sent in as many `ChangeResourceRecordSets` requests as Route53's per-request
//! quotas (changes, record values, characters of values) need, each atomic on its own, after
//! reading only the names the batch touches to check it; see [`Route53Provider`].

use std::collections::{BTreeMap, BTreeSet};
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

use super::config::Route53Config;
use crate::error::{ConfigError, ProviderError, error_chain};
use crate::provider::{DnsProvider, RateHint};
use crate::zone_state::{check_against, check_batch, names_touched, server_owned};

/// Route53's quotas per `ChangeResourceRecordSets` request: changes, record values
/// (`ResourceRecord` elements) and characters in all values; an `UPSERT` counts twice in each.
const MAX_CHANGES: usize = 1000;
const MAX_VALUES: usize = 1000;
const MAX_VALUE_CHARS: usize = 32_000;

/// The default [`BatchLimits::max_changes`]: record sets of a federation hold a few values
/// each, so 300 changes usually stay within the quotas of one request.
const DEFAULT_BATCH: usize = 300;

/// Record sets per `ListResourceRecordSets` page when reading the names of a batch.
const READ_PAGE: i32 = 300;

/// The pause between two requests of one batch (Route53 accepts 5 requests per second).
const REQUEST_INTERVAL: Duration = Duration::from_millis(200);

/// Attempts for a request of a batch after its first one, which is not retried here (the
/// caller may retry the whole batch: nothing of it was applied).
const LATER_REQUEST_ATTEMPTS: u32 = 4;

/// What a `ChangeResourceRecordSets` request carries, as Route53 counts it against its quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct RequestCost {
    changes: usize,
    values: usize,
    chars: usize,
}

impl RequestCost {
    /// The cost of one change: an `UPSERT` counts twice (changes, values and characters).
    fn of(change: &Change) -> Self {
        let weight = if change.action() == &ChangeAction::Upsert {
            2
        } else {
            1
        };
        let records = change
            .resource_record_set()
            .map_or(&[][..], |rrs| rrs.resource_records());
        RequestCost {
            changes: weight,
            values: weight * records.len(),
            chars: weight
                * records
                    .iter()
                    .map(|r| r.value().chars().count())
                    .sum::<usize>(),
        }
    }

    fn plus(self, other: Self) -> Self {
        RequestCost {
            changes: self.changes + other.changes,
            values: self.values + other.values,
            chars: self.chars + other.chars,
        }
    }

    /// Whether one request may carry this much.
    fn fits(self) -> bool {
        self.changes <= MAX_CHANGES && self.values <= MAX_VALUES && self.chars <= MAX_VALUE_CHARS
    }
}

impl std::fmt::Display for RequestCost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} changes, {} record values, {} characters of values (Route53 accepts {MAX_CHANGES}, {MAX_VALUES} and {MAX_VALUE_CHARS} per request, an UPSERT counting twice)",
            self.changes, self.values, self.chars
        )
    }
}

/// One `ChangeResourceRecordSets` request of a batch: its changes and the names of its groups.
#[derive(Debug)]
struct Request {
    changes: Vec<Change>,
    names: Vec<DnsName>,
    cost: RequestCost,
}

/// A Route53 hosted zone.
///
/// **Writes.** An update is sent as `DELETE` of the old set plus `CREATE` of the new one (two
/// changes, as an `UPSERT` would count), so a zone that changed since it was read gives
/// [`ProviderError::Conflict`] instead of being overwritten. One `ChangeResourceRecordSets`
/// request may hold at most 1 000 changes, 1 000 record values (`ResourceRecord` elements) and
/// 32 000 characters of values, an `UPSERT` counting twice in all three. [`apply`] splits the
/// batch it is given into as many requests as these quotas need, at change-group boundaries
/// (a group is never split; a group that alone exceeds a quota is refused as
/// [`ProviderError::Invalid`] naming it). Route53 applies each request all or nothing, so **a
/// batch split into several requests is atomic per request, not as a whole**: if a later
/// request fails, the groups of the earlier ones stay applied and the error (not retryable)
/// says so; list the zone again before writing more. Requests are spaced for Route53's 5
/// requests per second, and a throttled or failed request after the first is retried on its
/// own. [`limits`](DnsProvider::limits) (300 changes by default) is chosen so that a batch
/// usually fits in one request.
///
/// **Checks.** Before writing, the batch is checked against the zone (CNAME exclusivity,
/// deletes and updates matching, creates absent), because not every Route53 implementation
/// (the moto emulator among them) enforces it. Only the names the batch touches are read:
/// `ListResourceRecordSets` from `StartRecordName` at the first such name, 300 record sets per
/// page (Route53's most); a page also answers for every later name of the batch up to the
/// last record set it returns, and the next page jumps to the next name still unanswered, so
/// a batch of neighbouring names costs one or a few pages and the read stops at the batch's
/// last name.
/// A name is taken as absent only when it lies between two record sets returned in sequence
/// under Route53's documented order (labels reversed, then a trailing dot:
/// `com.example.www.`) and under the same order without the trailing dot (moto's) alike;
/// otherwise it gets a read starting at itself.
///
/// [`apply`]: DnsProvider::apply
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
            name: format!(
                "route53 {} ({})",
                zone.without_dot(),
                crate::secret::strip_userinfo(endpoint)
            ),
            zone,
            // Retries happen once, in `Retrying`, for every backend alike.
            client: Client::from_conf(
                aws_sdk_route53::config::Builder::from(sdk)
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    .build(),
            ),
            hosted_zone_id: id_cell,
            limits: BatchLimits {
                max_changes: DEFAULT_BATCH,
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

    /// Sets the most changes in one batch (default 300, at most 1000: Route53's limit of
    /// changes per request). A batch whose record values exceed Route53's other quotas is
    /// still sent, in several requests.
    #[must_use]
    pub fn with_batch_size(mut self, max_changes: usize) -> Self {
        self.limits.max_changes = max_changes.clamp(1, MAX_CHANGES);
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
                let chain = error_chain(&e, &[]);
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
            .unwrap_or_else(|| error_chain(&e, &[]));
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
            _ => ProviderError::other(name, format!("{what}: {}", error_chain(&e, &[]))),
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

    /// A group's changes, in the order Route53 must apply them: deletes (and the old sides of
    /// updates) before creates (and the new sides), so that an `A` ↔ `CNAME` flip never meets
    /// both.
    fn group_changes(&self, group: &ChangeGroup) -> Result<Vec<Change>, ProviderError> {
        let mut changes = Vec::with_capacity(group.len() + group.update_old.len());
        for rs in group.delete.iter().chain(&group.update_old) {
            changes.push(self.change(ChangeAction::Delete, rs)?);
        }
        for rs in group.update_new.iter().chain(&group.create) {
            changes.push(self.change(ChangeAction::Create, rs)?);
        }
        Ok(changes)
    }

    /// Splits a batch into requests that each respect Route53's quotas, filling each request
    /// with whole groups in order. A group that alone exceeds a quota is refused.
    fn requests(&self, batch: &[ChangeGroup]) -> Result<Vec<Request>, ProviderError> {
        let mut out: Vec<Request> = Vec::new();
        let mut current = Request {
            changes: Vec::new(),
            names: Vec::new(),
            cost: RequestCost::default(),
        };
        for group in batch.iter().filter(|g| !g.is_empty()) {
            let changes = self.group_changes(group)?;
            let cost = changes
                .iter()
                .map(RequestCost::of)
                .fold(RequestCost::default(), RequestCost::plus);
            if !cost.fits() {
                return Err(ProviderError::invalid(
                    &self.name,
                    format!(
                        "the changes at {} cannot be sent in one ChangeResourceRecordSets request: {cost}",
                        group.name
                    ),
                ));
            }
            if !current.changes.is_empty() && !current.cost.plus(cost).fits() {
                let full = std::mem::replace(
                    &mut current,
                    Request {
                        changes: Vec::new(),
                        names: Vec::new(),
                        cost: RequestCost::default(),
                    },
                );
                out.push(full);
            }
            current.changes.extend(changes);
            current.names.push(group.name.clone());
            current.cost = current.cost.plus(cost);
        }
        if !current.changes.is_empty() {
            out.push(current);
        }
        Ok(out)
    }

    /// Sends one request.
    async fn send(&self, zone_id: &str, changes: Vec<Change>) -> Result<(), ProviderError> {
        let change_batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .comment("fedsvc")
            .build()
            .map_err(|e| ProviderError::invalid(&self.name, e.to_string()))?;
        self.client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(change_batch)
            .send()
            .await
            .map_err(|e| self.sdk_error("ChangeResourceRecordSets", e))?;
        Ok(())
    }

    /// A listed record set as ours, or `None` for the zone's SOA and apex NS and for what
    /// cannot be read.
    fn record_set_of(&self, rrs: &ResourceRecordSet) -> Option<RecordSet> {
        let name = DnsName::parse(&unescape_name(rrs.name())).ok()?;
        let type_text = rrs.r#type().as_str().to_owned();
        if let Some(alias) = rrs.alias_target() {
            // Alias sets are not fedsvc's: keep them visible as foreign data.
            let data = RData::Other(format!("{type_text} {}", alias.dns_name()));
            return RecordSet::new(name, RecordType::Other("ALIAS".into()), 0, vec![data]).ok();
        }
        let rtype = RecordType::parse(&type_text);
        if server_owned(&self.zone, &name, &rtype) {
            return None;
        }
        let data: Vec<RData> = rrs
            .resource_records()
            .iter()
            .filter_map(|r| RData::parse(&rtype, r.value()).ok())
            .collect();
        let ttl = rrs.ttl().and_then(|t| u32::try_from(t).ok()).unwrap_or(0);
        RecordSet::new(name, rtype, ttl, data).ok()
    }

    /// Every record set at `names` (and possibly a few more), read with as few
    /// `ListResourceRecordSets` pages as the names' positions in the zone allow.
    async fn read_names(&self, names: &BTreeSet<DnsName>) -> Result<Vec<RecordSet>, ProviderError> {
        let what = "ListResourceRecordSets";
        let zone_id = self.zone_id().await?;
        let mut pending: Vec<&DnsName> = names.iter().collect();
        pending.sort_by_cached_key(|n| route53_key(n));
        let mut found: BTreeMap<(DnsName, RecordType), RecordSet> = BTreeMap::new();
        // Where the next page starts: a name, and a type when resuming inside a name.
        let mut resume_type: Option<RrType> = None;
        while let Some(&start) = pending.first() {
            let out = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .start_record_name(start.as_str())
                .set_start_record_type(resume_type.take())
                .max_items(READ_PAGE)
                .send()
                .await
                .map_err(|e| self.sdk_error(what, e))?;
            for rrs in out.resource_record_sets() {
                if let Some(rs) = self.record_set_of(rrs)
                    && names.contains(rs.name())
                {
                    found.insert((rs.name().clone(), rs.rtype().clone()), rs);
                }
            }
            let next = match (
                out.is_truncated(),
                out.next_record_name(),
                out.next_record_type(),
            ) {
                (true, Some(n), Some(t)) => Some((DnsName::parse(&unescape_name(n)).ok(), t)),
                (true, _, _) => Some((None, &RrType::A)),
                (false, _, _) => None,
            };
            match &next {
                // Everything from `start` to the end of the zone was returned.
                None => pending.retain(|v| *v != start && !ordered(start, v, None)),
                Some((next_name, next_type)) => {
                    if next_name.as_ref() == Some(start) {
                        // More record sets at `start` than one page: go on inside it.
                        resume_type = Some((*next_type).clone());
                        continue;
                    }
                    pending.retain(|v| {
                        *v != start
                            && !next_name
                                .as_ref()
                                .is_some_and(|nx| ordered(start, v, Some(nx)))
                    });
                    // The next page starts at the next name still unanswered; if that is
                    // where this page stopped, resume at the exact record set.
                    if let (Some(&first), Some(nx)) = (pending.first(), next_name)
                        && first == nx
                    {
                        resume_type = Some((*next_type).clone());
                    }
                }
            }
        }
        Ok(found.into_values().collect())
    }
}

/// A name's position in Route53's listing order as documented: labels reversed, then the
/// trailing dot (`com.example.www.`); lowercase.
fn route53_key(name: &DnsName) -> String {
    let mut key: Vec<String> = name.labels().rev().map(str::to_ascii_lowercase).collect();
    key.push(String::new());
    key.join(".")
}

/// The same order without the trailing dot (`com.example.www`), as moto sorts; it differs from
/// [`route53_key`]'s only where one reversed name continues another with a character sorting
/// before `.` (`com.example.a` and `com.example.a-b`).
fn moto_key(name: &DnsName) -> String {
    let key: Vec<String> = name.labels().rev().map(str::to_ascii_lowercase).collect();
    key.join(".")
}

/// Whether a name can be placed safely in the listing order: letters, digits, `-` and `_`
/// only (escaped characters such as `*` may sort otherwise).
fn orderable(name: &DnsName) -> bool {
    name.as_str()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether `v` lies after `start` and before `end` (or anywhere after `start` without an
/// `end`) in both listing orders, so that a page from `start` that stopped at `end` answers
/// for it.
fn ordered(start: &DnsName, v: &DnsName, end: Option<&DnsName>) -> bool {
    if !orderable(start) || !orderable(v) || end.is_some_and(|e| !orderable(e)) {
        return false;
    }
    let after_start = route53_key(start) < route53_key(v) && moto_key(start) < moto_key(v);
    let before_end =
        end.is_none_or(|e| route53_key(v) < route53_key(e) && moto_key(v) < moto_key(e));
    after_start && before_end
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
            sets.extend(
                out.resource_record_sets()
                    .iter()
                    .filter_map(|rrs| self.record_set_of(rrs)),
            );
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
        let requests = self.requests(batch)?;
        // Check the batch against what the zone holds at the names it touches.
        let current = self.read_names(&names_touched(batch)).await?;
        check_against(&self.name, &self.zone, batch, current)?;

        // Route53 applies each request all or nothing; a batch split into several requests is
        // atomic per request only.
        let zone_id = self.zone_id().await?;
        let total = requests.len();
        let mut applied: Vec<DnsName> = Vec::new();
        for (i, request) in requests.into_iter().enumerate() {
            if i == 0 {
                // Nothing is applied yet: the caller may retry the whole batch.
                self.send(zone_id, request.changes).await?;
                applied.extend(request.names);
                continue;
            }
            let mut attempt = 0;
            loop {
                attempt += 1;
                tokio::time::sleep(REQUEST_INTERVAL).await;
                match self.send(zone_id, request.changes.clone()).await {
                    Ok(()) => break,
                    Err(e) if e.is_retryable() && attempt < LATER_REQUEST_ATTEMPTS => {
                        let wait = e
                            .retry_after()
                            .unwrap_or(REQUEST_INTERVAL * 2u32.pow(attempt));
                        tracing::info!(provider = %self.name, error = %e, ?wait, attempt, "retrying request {} of {total}", i + 1);
                        tokio::time::sleep(wait).await;
                    }
                    Err(e) => {
                        // Earlier requests are applied: retrying the batch would conflict.
                        return Err(ProviderError::other(
                            &self.name,
                            format!(
                                "request {} of {total} of a batch failed after the changes at {} names ({} … {}) were applied by the earlier requests; list the zone again before retrying: {}",
                                i + 1,
                                applied.len(),
                                applied.first().map(DnsName::as_str).unwrap_or("-"),
                                applied.last().map(DnsName::as_str).unwrap_or("-"),
                                e.message()
                            ),
                        ));
                    }
                }
            }
            applied.extend(request.names);
        }
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

    fn provider() -> Route53Provider {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Route53Provider::new("example.com".parse().unwrap(), &sdk, Some("Z1"))
    }

    fn n(s: &str) -> DnsName {
        s.parse().unwrap()
    }

    #[test]
    fn the_name_shows_no_password_of_the_endpoint() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url("http://user:hunter22@127.0.0.1:5000")
            .build();
        let p = Route53Provider::new(n("example.com"), &sdk, Some("Z1"));
        assert_eq!(p.name(), "route53 example.com (http://***@127.0.0.1:5000)");
    }

    /// An A set at `name` with `count` addresses.
    fn a(name: &str, count: u32) -> RecordSet {
        let data = (0..count)
            .map(|i| RData::A(std::net::Ipv4Addr::from(0x0a00_0000 + i)))
            .collect();
        RecordSet::new(n(name), RecordType::A, 60, data).unwrap()
    }

    fn txt(name: &str, len: usize) -> RecordSet {
        RecordSet::new(
            n(name),
            RecordType::Txt,
            60,
            vec![RData::Txt("x".repeat(len).into())],
        )
        .unwrap()
    }

    fn create(sets: Vec<RecordSet>) -> ChangeGroup {
        let mut g = ChangeGroup::new(sets[0].name().clone());
        g.create = sets;
        g
    }

    fn change(action: ChangeAction, values: &[&str]) -> Change {
        let records = values
            .iter()
            .map(|v| ResourceRecord::builder().value(*v).build().unwrap())
            .collect();
        let rrs = ResourceRecordSet::builder()
            .name("a.example.com.")
            .r#type(RrType::A)
            .ttl(60)
            .set_resource_records(Some(records))
            .build()
            .unwrap();
        Change::builder()
            .action(action)
            .resource_record_set(rrs)
            .build()
            .unwrap()
    }

    #[test]
    fn request_cost_counts_values_characters_and_upsert_twice() {
        let values = ["10.0.0.1", "10.0.0.22", "10.0.0.333"];
        let create = RequestCost::of(&change(ChangeAction::Create, &values));
        assert_eq!(
            create,
            RequestCost {
                changes: 1,
                values: 3,
                chars: 8 + 9 + 10
            }
        );
        assert_eq!(
            RequestCost::of(&change(ChangeAction::Delete, &values)),
            create
        );
        let upsert = RequestCost::of(&change(ChangeAction::Upsert, &values));
        assert_eq!(
            upsert,
            RequestCost {
                changes: 2,
                values: 6,
                chars: 54
            }
        );
        assert_eq!(
            create.plus(upsert),
            RequestCost {
                changes: 3,
                values: 9,
                chars: 81
            }
        );
        // The quotas are inclusive.
        let at = |changes, values, chars| RequestCost {
            changes,
            values,
            chars,
        };
        assert!(at(1000, 1000, 32_000).fits());
        assert!(!at(1001, 1, 1).fits());
        assert!(!at(1, 1001, 1).fits());
        assert!(!at(1, 1, 32_001).fits());
    }

    #[test]
    fn requests_respect_every_quota_without_splitting_groups() {
        let p = provider();
        // 300 groups of 13 addresses plus an ownership TXT: 4 200 values in 600 changes.
        let batch: Vec<ChangeGroup> = (0..300)
            .map(|i| {
                let name = format!("s{i:03}.example.com");
                create(vec![a(&name, 13), txt(&format!("_o.{name}"), 20)])
            })
            .collect();
        let requests = p.requests(&batch).unwrap();
        // 71 groups (994 values) per request.
        assert_eq!(requests.len(), 5);
        let mut names = Vec::new();
        for r in &requests {
            assert!(r.cost.fits(), "{}", r.cost);
            assert_eq!(r.changes.len(), 2 * r.names.len(), "a group was split");
            let recount = r
                .changes
                .iter()
                .map(RequestCost::of)
                .fold(RequestCost::default(), RequestCost::plus);
            assert_eq!(recount, r.cost);
            names.extend(r.names.iter().cloned());
        }
        assert_eq!(requests[0].cost.values, 71 * 14);
        assert_eq!(
            names,
            batch.iter().map(|g| g.name.clone()).collect::<Vec<_>>()
        );

        // Characters: 40 TXT values of 1 000 characters need two requests.
        let batch: Vec<ChangeGroup> = (0..40)
            .map(|i| create(vec![txt(&format!("t{i:02}.example.com"), 1000)]))
            .collect();
        let requests = p.requests(&batch).unwrap();
        let chars: Vec<usize> = requests.iter().map(|r| r.cost.chars).collect();
        // A TXT value is sent as quoted strings of up to 255 characters: 1 011 characters.
        let len = batch[0].create[0].data()[0].to_zone_text().len();
        assert_eq!(len, 1011);
        assert_eq!(chars, vec![31 * len, 9 * len]);

        // Updates are a DELETE and a CREATE: both sides count.
        let mut g = ChangeGroup::new(n("u.example.com"));
        g.update_old.push(a("u.example.com", 400));
        g.update_new.push(a("u.example.com", 400));
        let requests = p.requests(std::slice::from_ref(&g)).unwrap();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].cost.changes, 2);
        assert_eq!(requests[0].cost.values, 800);
        g.update_new[0] = a("u.example.com", 601);
        let e = p.requests(&[g]).unwrap_err();
        assert!(matches!(e, ProviderError::Invalid { .. }), "{e}");
        assert!(e.to_string().contains("u.example.com."), "{e}");
        assert!(e.to_string().contains("1001 record values"), "{e}");
    }

    #[test]
    fn listing_orders() {
        // Route53's documented order puts `a-b` before `a` (`-` sorts before the dot);
        // without the trailing dot, `a` comes first. Only names placed alike by both are
        // inferred.
        assert!(route53_key(&n("a-b.example.com")) < route53_key(&n("a.example.com")));
        assert!(moto_key(&n("a.example.com")) < moto_key(&n("a-b.example.com")));
        // Both put a zone's names before its region's when the zone label continues the
        // region label (`us-east1-b` and `us-east1`).
        let zone = n("s.svc.us-east1-b.example.com");
        let region = n("s.svc.us-east1.example.com");
        assert!(route53_key(&zone) < route53_key(&region));
        assert!(moto_key(&zone) < moto_key(&region));
        assert!(ordered(
            &n("r.svc.us-east1-b.example.com"),
            &zone,
            Some(&region)
        ));
        assert!(ordered(
            &n("a.example.com"),
            &n("b.example.com"),
            Some(&n("c.example.com"))
        ));
        assert!(ordered(&n("a.example.com"), &n("x.a.example.com"), None));
        assert!(!ordered(
            &n("a.example.com"),
            &n("a-b.example.com"),
            Some(&n("c.example.com"))
        ));
        assert!(!ordered(
            &n("a.example.com"),
            &n("c.example.com"),
            Some(&n("c.example.com"))
        ));
        assert!(!ordered(&n("a.example.com"), &n("*.b.example.com"), None));
        assert!(!ordered(&n("b.example.com"), &n("a.example.com"), None));
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(unescape_name("\\052.example.com."), "*.example.com.");
        assert_eq!(unescape_name("a.example.com."), "a.example.com.");
        assert_eq!(bare_zone_id("/hostedzone/Z123"), "Z123");
        assert_eq!(bare_zone_id("Z123"), "Z123");
    }
}
