//! The `DnsProvider` trait, its rate hint, and the call-counting wrapper.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RecordSet};

use crate::error::ProviderError;

/// A DNS zone held by some backend: list it, apply change groups to it.
///
/// A provider manages exactly one zone. [`list`](DnsProvider::list) returns every record set
/// in it (paging handled) except the zone's own SOA and apex NS sets, which the server keeps;
/// records that fedsvc did not write are returned too, so that callers can leave them alone.
///
/// [`apply`](DnsProvider::apply) applies one batch of [`ChangeGroup`]s, atomically where the
/// backend allows it (one DNS UPDATE message, one PowerDNS PATCH, one in-memory swap). Inside
/// a group the order is: `delete`, then `update_old` → `update_new`, then `create`. A batch
/// respects [`limits`](DnsProvider::limits); splitting a [`Changes`](fedsvc_dns_plan::Changes)
/// into batches and retrying is the job of [`Retrying`](crate::Retrying), once for all
/// backends.
#[async_trait]
pub trait DnsProvider: Send + Sync {
    /// A short description naming the kind and the endpoint, for example
    /// `rfc2136 127.0.0.1:15353`; every error message starts with it.
    fn name(&self) -> &str;

    /// The zone this provider manages.
    fn zone(&self) -> &DnsName;

    /// Every record set in the zone (without the zone's SOA and apex NS).
    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError>;

    /// The record sets of [`list`](DnsProvider::list), handed to `each` as they are read
    /// instead of returned at once, so that a caller keeping a large zone in a form of its
    /// own never holds it twice.
    ///
    /// The sets come in no particular order, and one set may come in more than one piece
    /// (pieces of the same name and type): the set is their union, with the smallest TTL. A
    /// zone transfer is read this way, record by record. On error, what `each` received is
    /// incomplete and must be dropped.
    ///
    /// The default hands over the sets of [`list`](DnsProvider::list), whole.
    async fn list_each(
        &self,
        each: &mut (dyn FnMut(RecordSet) + Send),
    ) -> Result<(), ProviderError> {
        self.list().await?.into_iter().for_each(each);
        Ok(())
    }

    /// Applies one batch of change groups, all or nothing where the backend allows it.
    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError>;

    /// The most one [`apply`](DnsProvider::apply) call may carry.
    fn limits(&self) -> BatchLimits {
        BatchLimits::UNLIMITED
    }

    /// How fast calls may be made.
    fn rate(&self) -> RateHint {
        RateHint::UNLIMITED
    }
}

/// How fast a backend accepts calls; [`Retrying`](crate::Retrying) spaces write calls by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHint {
    /// The shortest pause between two write calls (Route53: 200 ms for its 5 requests/s).
    pub min_interval: Duration,
}

impl RateHint {
    /// No pause between calls.
    pub const UNLIMITED: RateHint = RateHint {
        min_interval: Duration::ZERO,
    };

    /// At most `n` calls per second (`n` of 0 is taken as 1).
    pub fn per_second(n: u32) -> Self {
        RateHint {
            min_interval: Duration::from_secs(1) / n.max(1),
        }
    }
}

impl Default for RateHint {
    fn default() -> Self {
        Self::UNLIMITED
    }
}

#[async_trait]
impl<P: DnsProvider + ?Sized> DnsProvider for Box<P> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn zone(&self) -> &DnsName {
        (**self).zone()
    }
    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        (**self).list().await
    }
    async fn list_each(
        &self,
        each: &mut (dyn FnMut(RecordSet) + Send),
    ) -> Result<(), ProviderError> {
        (**self).list_each(each).await
    }
    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        (**self).apply(batch).await
    }
    fn limits(&self) -> BatchLimits {
        (**self).limits()
    }
    fn rate(&self) -> RateHint {
        (**self).rate()
    }
}

#[async_trait]
impl<P: DnsProvider + ?Sized> DnsProvider for Arc<P> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn zone(&self) -> &DnsName {
        (**self).zone()
    }
    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        (**self).list().await
    }
    async fn list_each(
        &self,
        each: &mut (dyn FnMut(RecordSet) + Send),
    ) -> Result<(), ProviderError> {
        (**self).list_each(each).await
    }
    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        (**self).apply(batch).await
    }
    fn limits(&self) -> BatchLimits {
        (**self).limits()
    }
    fn rate(&self) -> RateHint {
        (**self).rate()
    }
}

/// How many calls reached a provider, as counted by [`Counting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// [`apply`](DnsProvider::apply) calls (successful or not).
    pub writes: u64,
    /// [`list`](DnsProvider::list) calls (successful or not).
    pub lists: u64,
}

/// A wrapper that counts the calls made to any provider, for tests and benchmarks.
///
/// ```
/// # #[cfg(feature = "memory")] {
/// use fedsvc_providers::{Counting, DnsProvider, MemoryProvider, Stats};
/// let zone = "example.com".parse().unwrap();
/// let p = Counting::new(MemoryProvider::new(zone));
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// p.list().await.unwrap();
/// assert_eq!(p.stats(), Stats { writes: 0, lists: 1 });
/// # });
/// # }
/// ```
#[derive(Debug)]
pub struct Counting<P> {
    inner: P,
    writes: AtomicU64,
    lists: AtomicU64,
}

impl<P> Counting<P> {
    /// Wraps `inner` with both counters at zero.
    pub fn new(inner: P) -> Self {
        Counting {
            inner,
            writes: AtomicU64::new(0),
            lists: AtomicU64::new(0),
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        Stats {
            writes: self.writes.load(Ordering::Relaxed),
            lists: self.lists.load(Ordering::Relaxed),
        }
    }

    /// Sets both counters back to zero.
    pub fn reset(&self) {
        self.writes.store(0, Ordering::Relaxed);
        self.lists.store(0, Ordering::Relaxed);
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

#[async_trait]
impl<P: DnsProvider> DnsProvider for Counting<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn zone(&self) -> &DnsName {
        self.inner.zone()
    }
    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        self.lists.fetch_add(1, Ordering::Relaxed);
        self.inner.list().await
    }
    async fn list_each(
        &self,
        each: &mut (dyn FnMut(RecordSet) + Send),
    ) -> Result<(), ProviderError> {
        self.lists.fetch_add(1, Ordering::Relaxed);
        self.inner.list_each(each).await
    }
    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.apply(batch).await
    }
    fn limits(&self) -> BatchLimits {
        self.inner.limits()
    }
    fn rate(&self) -> RateHint {
        self.inner.rate()
    }
}
