//! The retry layer shared by every backend: batching, backoff, rate spacing.

use std::fmt;
use std::sync::Arc;
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

/// Asked before every write attempt, first attempts and retries alike: whether this writer
/// may still write (a controller: whether it holds its lease with time enough left for the
/// attempt to end before another replica can take it over).
pub trait WriteFence: Send + Sync + fmt::Debug {
    /// Whether an attempt that may last up to `attempt` may start now. `None` refuses it: the
    /// attempt is not sent. The [`Admission`] is held while the attempt runs.
    fn admit(&self, attempt: Duration) -> Option<Admission>;
}

/// A write attempt let through by a [`WriteFence`], held while it runs. When it is dropped,
/// its fence learns whether the provider answered (the write can no longer land later) or not
/// (timed out, or abandoned: it might still land until its deadline).
pub struct Admission {
    done: Option<Box<dyn FnOnce(bool) + Send>>,
}

impl Admission {
    /// An admission that calls `done` with whether the provider answered, once the attempt
    /// is over.
    pub fn new(done: impl FnOnce(bool) + Send + 'static) -> Self {
        Admission {
            done: Some(Box::new(done)),
        }
    }

    /// Ends the attempt: `answered` says whether the provider answered it.
    pub fn finish(mut self, answered: bool) {
        if let Some(done) = self.done.take() {
            done(answered);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            done(false);
        }
    }
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission").finish_non_exhaustive()
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
    fence: Option<(Arc<dyn WriteFence>, Duration)>,
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
            fence: None,
        }
    }

    /// Asks `fence` before every write attempt, and gives up an attempt not answered within
    /// `attempt_timeout` (a retryable error): an attempt the fence let through is over, one
    /// way or the other, by then. A refused attempt is not sent, and not retried: the call
    /// fails with a permanent error.
    pub fn fenced(mut self, fence: Arc<dyn WriteFence>, attempt_timeout: Duration) -> Self {
        self.fence = Some((fence, attempt_timeout));
        self
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

    /// One write attempt, through the fence if there is one.
    async fn attempt(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        let Some((fence, timeout)) = &self.fence else {
            return self.inner.apply(batch).await;
        };
        let Some(admission) = fence.admit(*timeout) else {
            return Err(ProviderError::other(
                self.inner.name(),
                "write not sent: this writer may no longer write (not the leader, or too \
                 little of its lease left for the attempt)",
            ));
        };
        match tokio::time::timeout(*timeout, self.inner.apply(batch)).await {
            Ok(result) => {
                // An unavailable provider (no connection, its own timeout) did not answer:
                // the write might still land.
                let answered = !matches!(result, Err(ProviderError::Unavailable { .. }));
                admission.finish(answered);
                result
            }
            Err(_) => {
                admission.finish(false);
                Err(ProviderError::unavailable(
                    self.inner.name(),
                    format!("no answer within {timeout:?}"),
                ))
            }
        }
    }

    async fn apply_with_retries(&self, batch: &[ChangeGroup]) -> (Result<(), ProviderError>, u32) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace().await;
            match self.attempt(batch).await {
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

    /// A fence that admits while `open`, counting what it was asked and what ended.
    #[derive(Debug, Default)]
    struct Gate {
        open: std::sync::atomic::AtomicBool,
        asked: AtomicU32,
        answered: AtomicU32,
        unanswered: AtomicU32,
    }

    impl WriteFence for Arc<Gate> {
        fn admit(&self, attempt: Duration) -> Option<Admission> {
            assert_eq!(attempt, Duration::from_millis(100));
            self.asked.fetch_add(1, Ordering::SeqCst);
            if !self.open.load(Ordering::SeqCst) {
                return None;
            }
            let gate = self.clone();
            Some(Admission::new(move |answered| {
                let n = if answered {
                    &gate.answered
                } else {
                    &gate.unanswered
                };
                n.fetch_add(1, Ordering::SeqCst);
            }))
        }
    }

    fn gated(failures: u32, gate: &Arc<Gate>) -> Retrying<Flaky> {
        Retrying::with_policy(
            flaky(failures, ProviderError::unavailable("flaky", "down")),
            fast(),
        )
        .fenced(Arc::new(gate.clone()), Duration::from_millis(100))
    }

    #[tokio::test]
    async fn a_fence_is_asked_before_every_attempt() {
        let gate = Arc::new(Gate::default());
        gate.open.store(true, Ordering::SeqCst);
        let r = gated(2, &gate);
        r.apply_changes(&changes(1)).await.unwrap();
        assert_eq!(gate.asked.load(Ordering::SeqCst), 3);
        assert_eq!(gate.answered.load(Ordering::SeqCst), 1);
        // "unavailable" is no answer: those writes might still land.
        assert_eq!(gate.unanswered.load(Ordering::SeqCst), 2);
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_closed_fence_sends_nothing() {
        let gate = Arc::new(Gate::default());
        let r = gated(0, &gate);
        let err = r.apply_changes(&changes(3)).await.unwrap_err();
        assert!(!err.source.is_retryable(), "{err}");
        assert!(err.to_string().contains("write not sent"), "{err}");
        assert_eq!(
            (err.applied.batches, err.failed.len(), err.not_attempted),
            (0, 2, 1)
        );
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 0);
        assert_eq!(gate.asked.load(Ordering::SeqCst), 1);
    }

    /// Fails its first call, closing the gate meanwhile (the lease is lost while the write
    /// is retried).
    #[derive(Debug)]
    struct ClosesGate {
        zone: DnsName,
        gate: Arc<Gate>,
        calls: AtomicU32,
    }

    #[async_trait]
    impl DnsProvider for ClosesGate {
        fn name(&self) -> &str {
            "closes"
        }
        fn zone(&self) -> &DnsName {
            &self.zone
        }
        async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
            Ok(Vec::new())
        }
        async fn apply(&self, _batch: &[ChangeGroup]) -> Result<(), ProviderError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.gate.open.store(false, Ordering::SeqCst);
            Err(ProviderError::unavailable("closes", "timed out"))
        }
    }

    #[tokio::test]
    async fn a_revoked_permit_stops_the_retries_without_sending() {
        let gate = Arc::new(Gate::default());
        gate.open.store(true, Ordering::SeqCst);
        let r = Retrying::with_policy(
            ClosesGate {
                zone: "example.com".parse().unwrap(),
                gate: gate.clone(),
                calls: AtomicU32::new(0),
            },
            RetryPolicy {
                max_attempts: 5,
                ..fast()
            },
        )
        .fenced(Arc::new(gate.clone()), Duration::from_millis(100));
        let err = r.apply_changes(&changes(1)).await.unwrap_err();
        assert!(err.to_string().contains("write not sent"), "{err}");
        // One attempt sent; the retry found the fence closed and sent nothing.
        assert_eq!(r.inner().calls.load(Ordering::SeqCst), 1);
        assert_eq!(gate.asked.load(Ordering::SeqCst), 2);
    }

    /// Never answers.
    #[derive(Debug)]
    struct Hangs(DnsName);

    #[async_trait]
    impl DnsProvider for Hangs {
        fn name(&self) -> &str {
            "hangs"
        }
        fn zone(&self) -> &DnsName {
            &self.0
        }
        async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
            Ok(Vec::new())
        }
        async fn apply(&self, _batch: &[ChangeGroup]) -> Result<(), ProviderError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn an_attempt_is_given_up_at_its_timeout() {
        let gate = Arc::new(Gate::default());
        gate.open.store(true, Ordering::SeqCst);
        let r = Retrying::with_policy(Hangs("example.com".parse().unwrap()), fast())
            .fenced(Arc::new(gate.clone()), Duration::from_millis(100));
        let start = std::time::Instant::now();
        let err = r.apply_changes(&changes(1)).await.unwrap_err();
        assert!(err.source.is_retryable(), "{err}");
        assert_eq!(gate.unanswered.load(Ordering::SeqCst), 3);
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert!(start.elapsed() < Duration::from_secs(2));
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
