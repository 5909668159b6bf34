//! The retry layer shared by every backend: batching, backoff, rate spacing.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup, Changes};
use fedsvc_model::{DnsName, RecordSet};
use rand::{Rng, SeedableRng};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::ProviderError;
use crate::provider::{DnsProvider, RateHint};

/// How [`Retrying`] retries a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts per call, the first one included (at least 1).
    pub max_attempts: u32,
    /// The pause before the first retry; it doubles at each further retry.
    pub initial_backoff: Duration,
    /// The longest pause between two attempts (a backend's `retry_after` may exceed it).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts, 200 ms doubling up to 10 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (1 for the first retry): exponential backoff with
    /// "equal jitter" (half fixed, half random), so that many controllers do not retry in step.
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(20);
        let base = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let half = base / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 {
            0
        } else {
            rand::rngs::StdRng::from_os_rng().random_range(0..=nanos)
        };
        half + Duration::from_nanos(jitter)
    }
}

/// What [`Retrying::apply_changes`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// Batches applied (one write call each, not counting retries).
    pub batches: usize,
    /// Change groups applied.
    pub groups: usize,
    /// Record sets deleted, updated or created.
    pub record_sets: usize,
    /// The names of the groups applied, in order.
    pub names: Vec<DnsName>,
    /// Write attempts made, retries included.
    pub attempts: u32,
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} record sets at {} names in {} batches",
            self.record_sets, self.groups, self.batches
        )
    }
}

/// [`Retrying::apply_changes`] stopped at a batch that failed; earlier batches were applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{source} (applied before the failure: {applied}; failed batch: {} names starting at {}; {not_attempted} groups after it not attempted)",
    failed.len(),
    failed.first().map(DnsName::as_str).unwrap_or("-")
)]
pub struct ApplyError {
    /// What was applied before the failing batch.
    pub applied: ApplyReport,
    /// The names of the groups in the batch that failed (not applied, where the backend is
    /// atomic).
    pub failed: Vec<DnsName>,
    /// Groups in later batches, not attempted.
    pub not_attempted: usize,
    /// Why the batch failed (after retries, for a retryable error).
    #[source]
    pub source: ProviderError,
}

/// Wraps any provider: splits [`Changes`] into batches by the provider's
/// [`limits`](DnsProvider::limits), spaces write calls by its [`rate`](DnsProvider::rate), and
/// retries retryable errors with exponential backoff and jitter (honouring
/// [`ProviderError::Throttled`]'s `retry_after`) up to a bounded number of attempts.
///
/// It is itself a [`DnsProvider`], whose `list` and `apply` retry.
///
/// ```no_run
/// # #[cfg(feature = "memory")] {
/// use fedsvc_dns_plan::Changes;
/// use fedsvc_providers::{MemoryProvider, Retrying};
/// # async fn run(changes: Changes) {
/// let provider = Retrying::new(MemoryProvider::new("example.com".parse().unwrap()));
/// match provider.apply_changes(&changes).await {
///     Ok(report) => println!("applied {report}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// # }
/// ```
#[derive(Debug)]
pub struct Retrying<P> {
    inner: P,
    policy: RetryPolicy,
    last_write: Mutex<Option<Instant>>,
}

impl<P: DnsProvider> Retrying<P> {
    /// Wraps `inner` with the default [`RetryPolicy`].
    pub fn new(inner: P) -> Self {
        Self::with_policy(inner, RetryPolicy::default())
    }

    /// Wraps `inner` with `policy`.
    pub fn with_policy(inner: P, policy: RetryPolicy) -> Self {
        Retrying {
            inner,
            policy,
            last_write: Mutex::new(None),
        }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The retry policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Applies `changes` batch by batch (`changes.batches(limits)`), in order, retrying each
    /// batch on retryable errors, and stops at the first batch that cannot be applied.
    ///
    /// Empty changes write nothing.
    pub async fn apply_changes(&self, changes: &Changes) -> Result<ApplyReport, ApplyError> {
        let batches = changes.batches(&self.inner.limits());
        let total: usize = batches.iter().map(Vec::len).sum();
        let mut report = ApplyReport::default();
        for batch in &batches {
            let (result, attempts) = self.apply_with_retries(batch).await;
            report.attempts += attempts;
            if let Err(source) = result {
                let failed: Vec<DnsName> = batch.iter().map(|g| g.name.clone()).collect();
                let not_attempted = total - report.groups - failed.len();
                tracing::warn!(provider = self.inner.name(), error = %source, "batch failed");
                return Err(ApplyError {
                    applied: report,
                    failed,
                    not_attempted,
                    source,
                });
            }
            report.batches += 1;
            report.groups += batch.len();
            report.record_sets += batch.iter().map(ChangeGroup::len).sum::<usize>();
            report.names.extend(batch.iter().map(|g| g.name.clone()));
        }
        Ok(report)
    }

    async fn pace(&self) {
        let rate = self.inner.rate();
        let mut last = self.last_write.lock().await;
        if let Some(at) = *last {
            let next = at + rate.min_interval;
            if next > Instant::now() {
                tokio::time::sleep_until(next).await;
            }
        }
        *last = Some(Instant::now());
    }

    async fn apply_with_retries(&self, batch: &[ChangeGroup]) -> (Result<(), ProviderError>, u32) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace().await;
            match self.inner.apply(batch).await {
                Ok(()) => return (Ok(()), attempt),
                Err(e) if e.is_retryable() && attempt < self.policy.max_attempts.max(1) => {
                    let wait = e
                        .retry_after()
                        .unwrap_or_else(|| self.policy.backoff(attempt));
                    tracing::info!(provider = self.inner.name(), error = %e, ?wait, attempt, "retrying write");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return (Err(e), attempt),
            }
        }
    }
}

#[async_trait]
impl<P: DnsProvider> DnsProvider for Retrying<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn zone(&self) -> &DnsName {
        self.inner.zone()
    }

    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.inner.list().await {
                Err(e) if e.is_retryable() && attempt < self.policy.max_attempts.max(1) => {
                    let wait = e
                        .retry_after()
                        .unwrap_or_else(|| self.policy.backoff(attempt));
                    tracing::info!(provider = self.inner.name(), error = %e, ?wait, attempt, "retrying list");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// Retried like [`list`](DnsProvider::list) as long as no set was handed over yet: once
    /// `each` has received some, an error is returned at once (the caller must drop what it
    /// received, and can list again).
    async fn list_each(
        &self,
        each: &mut (dyn FnMut(RecordSet) + Send),
    ) -> Result<(), ProviderError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut handed = false;
            let result = self
                .inner
                .list_each(&mut |rs| {
                    handed = true;
                    each(rs);
                })
                .await;
            match result {
                Err(e)
                    if !handed && e.is_retryable() && attempt < self.policy.max_attempts.max(1) =>
                {
                    let wait = e
                        .retry_after()
                        .unwrap_or_else(|| self.policy.backoff(attempt));
                    tracing::info!(provider = self.inner.name(), error = %e, ?wait, attempt, "retrying list");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        self.apply_with_retries(batch).await.0
    }

    fn limits(&self) -> BatchLimits {
        self.inner.limits()
    }

    fn rate(&self) -> RateHint {
        self.inner.rate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Flaky {
        zone: DnsName,
        failures: AtomicU32,
        error: ProviderError,
        calls: AtomicU32,
    }

    #[async_trait]
    impl DnsProvider for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn zone(&self) -> &DnsName {
            &self.zone
        }
        async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
            Ok(Vec::new())
        }
        async fn apply(&self, _batch: &[ChangeGroup]) -> Result<(), ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                return Err(self.error.clone());
            }
            Ok(())
        }
        fn limits(&self) -> BatchLimits {
            BatchLimits {
                max_changes: 2,
                update_cost: 1,
                max_groups: None,
            }
        }
    }

    fn changes(n: usize) -> Changes {
        let groups = (0..n)
            .map(|i| {
                let name: DnsName = format!("n{i}.example.com").parse().unwrap();
                let mut g = ChangeGroup::new(name.clone());
                g.create
                    .push(RecordSet::cname(name, 60, "t.example.com".parse().unwrap()));
                g
            })
            .collect();
        Changes {
            groups,
            conflicts: Vec::new(),
        }
    }

    fn flaky(failures: u32, error: ProviderError) -> Flaky {
        Flaky {
            zone: "example.com".parse().unwrap(),
            failures: AtomicU32::new(failures),
            error,
            calls: AtomicU32::new(0),
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        }
    }

    #[tokio::test]
    async fn retries_retryable_errors_and_batches() {
        let r = Retrying::with_policy(
            flaky(2, ProviderError::unavailable("flaky", "down")),
            fast(),
        );
        let report = r.apply_changes(&changes(5)).await.unwrap();
        assert_eq!(report.batches, 3);
        assert_eq!(report.groups, 5);
        assert_eq!(report.attempts, 5);
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn stops_at_first_permanent_error() {
        let r = Retrying::with_policy(flaky(1, ProviderError::conflict("flaky", "exists")), fast());
        let err = r.apply_changes(&changes(5)).await.unwrap_err();
        assert_eq!(err.applied.batches, 0);
        assert_eq!(err.failed.len(), 2);
        assert_eq!(err.not_attempted, 3);
        assert!(err.to_string().contains("flaky: conflict: exists"), "{err}");
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let r = Retrying::with_policy(
            flaky(10, ProviderError::unavailable("flaky", "down")),
            fast(),
        );
        let err = r.apply_changes(&changes(1)).await.unwrap_err();
        assert_eq!(err.applied.attempts, 3);
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 3);
        assert!(err.source.is_retryable());
    }

    #[tokio::test]
    async fn honours_retry_after() {
        let e = ProviderError::Throttled {
            provider: "flaky".into(),
            retry_after: Some(Duration::from_millis(50)),
            message: "rate exceeded".into(),
        };
        let r = Retrying::with_policy(flaky(1, e), fast());
        let start = std::time::Instant::now();
        r.apply_changes(&changes(1)).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[tokio::test]
    async fn empty_changes_write_nothing() {
        let r = Retrying::new(flaky(0, ProviderError::other("flaky", "x")));
        let report = r.apply_changes(&Changes::default()).await.unwrap();
        assert_eq!(report, ApplyReport::default());
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        for retry in 1..10 {
            let b = p.backoff(retry);
            assert!(b <= Duration::from_secs(1));
            assert!(b >= Duration::from_millis(50));
        }
        assert!(p.backoff(6) >= Duration::from_millis(500));
    }
}
