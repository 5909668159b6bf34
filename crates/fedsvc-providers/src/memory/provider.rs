//! [`MemoryProvider`]: the in-memory reference backend.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RecordSet};

use super::config::MemoryConfig;
use super::server::EmbeddedServer;
use crate::error::{ConfigError, ProviderError};
use crate::provider::DnsProvider;
use crate::zone_state::ZoneState;

/// A zone kept in memory that checks changes like a strict DNS server and applies each batch
/// all or nothing; optionally served over DNS by an embedded authoritative server.
///
/// It refuses, with the same [`ProviderError`] kinds as the real backends: a CNAME beside
/// other data at a name, a record set twice in one change, names outside the zone, deleting
/// or updating a record set that is absent or holds other data, and creating one that exists.
///
/// ```no_run
/// use fedsvc_providers::{DnsProvider, MemoryProvider};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut provider = MemoryProvider::new("example.com".parse()?);
/// let addr = provider.serve("127.0.0.1:5353".parse()?).await?;
/// // `dig @127.0.0.1 -p 5353 name.example.com A` now answers from the provider's records.
/// println!("serving {} on {addr}", provider.zone());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MemoryProvider {
    name: String,
    zone: DnsName,
    limits: BatchLimits,
    state: Mutex<ZoneState>,
    available: AtomicBool,
    server: Option<EmbeddedServer>,
}

impl MemoryProvider {
    /// An empty zone, without limits, not served.
    pub fn new(zone: DnsName) -> Self {
        MemoryProvider {
            name: format!("memory {}", zone.without_dot()),
            zone,
            limits: BatchLimits::UNLIMITED,
            state: Mutex::new(ZoneState::default()),
            available: AtomicBool::new(true),
            server: None,
        }
    }

    /// Sets the limits the provider reports (and enforces) for one batch.
    #[must_use]
    pub fn with_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Puts record sets into the zone without any check, as if someone else had written them
    /// (pre-existing or foreign records). Replaces sets of the same name and type.
    pub fn seed(&self, sets: impl IntoIterator<Item = RecordSet>) {
        let mut state = self.lock();
        for rs in sets {
            state.put(rs);
        }
        self.publish(&state);
    }

    /// Makes the provider behave as if its backend were down (`false`): every call then fails
    /// with [`ProviderError::Unavailable`] and changes nothing. For tests of outages.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// Serves the zone over DNS (UDP and TCP) on `listen` (port 0 picks a free port) from the
    /// current tokio runtime, and returns the address bound. SOA and NS are synthesized at the
    /// zone apex; every successful `apply` is visible to the next query (the served content is
    /// swapped atomically). The server stops when the provider is dropped.
    pub async fn serve(&mut self, listen: SocketAddr) -> std::io::Result<SocketAddr> {
        let server = EmbeddedServer::start(&self.zone, listen).await?;
        let addr = server.local_addr();
        self.server = Some(server);
        self.publish(&self.lock());
        Ok(addr)
    }

    /// Builds a provider from its configuration section: with `listen`, its embedded server
    /// starts on the current tokio runtime.
    pub(crate) async fn from_config(
        zone: DnsName,
        config: &MemoryConfig,
    ) -> Result<Self, ConfigError> {
        let mut p = Self::new(zone);
        if let Some(listen) = config.listen {
            p.serve(listen).await.map_err(|e| ConfigError::Start {
                kind: "memory".into(),
                message: format!("cannot listen on {listen}: {e}"),
            })?;
        }
        Ok(p)
    }

    /// The address the embedded server listens on, if serving.
    pub fn served_at(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(EmbeddedServer::local_addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ZoneState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, state: &ZoneState) {
        if let Some(server) = &self.server {
            server.publish(state.sets());
        }
    }

    fn check_available(&self) -> Result<(), ProviderError> {
        if self.available.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ProviderError::unavailable(
                &self.name,
                "backend marked unavailable",
            ))
        }
    }
}

#[async_trait]
impl DnsProvider for MemoryProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn zone(&self) -> &DnsName {
        &self.zone
    }

    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        self.check_available()?;
        Ok(self.lock().sets().cloned().collect())
    }

    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        self.check_available()?;
        let cost: usize = batch.iter().map(|g| g.cost(&self.limits)).sum();
        if batch.len() > 1 && cost > self.limits.max_changes {
            return Err(ProviderError::invalid(
                &self.name,
                format!(
                    "batch of {cost} changes exceeds the limit of {}",
                    self.limits.max_changes
                ),
            ));
        }
        if let Some(max) = self.limits.max_groups
            && batch.len() > max
        {
            return Err(ProviderError::invalid(
                &self.name,
                format!("batch of {} names exceeds the limit of {max}", batch.len()),
            ));
        }
        let mut state = self.lock();
        let mut next = state.clone();
        next.apply_batch(&self.name, &self.zone, batch)?;
        *state = next;
        self.publish(&state);
        Ok(())
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::{RData, RecordType};

    fn n(s: &str) -> DnsName {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn all_or_nothing() {
        let p = MemoryProvider::new(n("example.com"));
        let mut ok = ChangeGroup::new(n("a.example.com"));
        ok.create.push(
            RecordSet::new(
                n("a.example.com"),
                RecordType::A,
                60,
                vec![RData::A("10.0.0.1".parse().unwrap())],
            )
            .unwrap(),
        );
        let mut bad = ChangeGroup::new(n("b.example.com"));
        bad.delete
            .push(RecordSet::cname(n("b.example.com"), 60, n("a.example.com")));
        let err = p.apply(&[ok.clone(), bad]).await.unwrap_err();
        assert!(matches!(err, ProviderError::Conflict { .. }), "{err}");
        assert!(err.to_string().starts_with("memory example.com: "), "{err}");
        assert!(p.list().await.unwrap().is_empty());
        p.apply(&[ok]).await.unwrap();
        assert_eq!(p.list().await.unwrap().len(), 1);
        p.set_available(false);
        assert!(p.list().await.unwrap_err().is_retryable());
    }
}
