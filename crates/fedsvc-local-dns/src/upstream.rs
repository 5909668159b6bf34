//! Completing CNAME answers with the records of their target, as kube-dns did.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use crate::error::LocalDnsError;

/// A recursive resolver asked for the target of each CNAME, so that the reply carries the
/// CNAME *and* the target's records ("KubeDNS actually returns both a CNAME and an A record
/// for local federated services", says the guide).
///
/// Stub resolvers (glibc, musl) do not follow a CNAME whose target is missing from the
/// answer, and CoreDNS's `forward` passes answers through unchanged; without completion a
/// pod asking for `A` would see the alias and no address. The usual upstream is the cluster
/// DNS itself (the pod's `/etc/resolv.conf`, see [`Upstream::system`]): it answers
/// `S.N.svc.cluster.local.` from its `kubernetes` plugin and forwards the federation's
/// public names out. When the lookup fails or times out the CNAME goes out alone.
pub struct Upstream {
    resolver: TokioResolver,
    timeout: Duration,
}

impl Upstream {
    /// The resolvers of the system configuration (`/etc/resolv.conf`).
    pub fn system(timeout: Duration) -> Result<Self, LocalDnsError> {
        let builder = TokioResolver::builder_tokio()
            .map_err(|e| LocalDnsError::Upstream(format!("cannot read /etc/resolv.conf: {e}")))?;
        Self::build(builder, timeout)
    }

    /// The resolvers at `servers` (UDP, then TCP on truncation).
    pub fn at(servers: &[SocketAddr], timeout: Duration) -> Result<Self, LocalDnsError> {
        if servers.is_empty() {
            return Err(LocalDnsError::Upstream("no upstream server given".into()));
        }
        let name_servers = servers
            .iter()
            .map(|addr| {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                ns
            })
            .collect();
        let builder = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(name_servers),
            TokioRuntimeProvider::default(),
        );
        Self::build(builder, timeout)
    }

    fn build(
        mut builder: hickory_resolver::ResolverBuilder<TokioRuntimeProvider>,
        timeout: Duration,
    ) -> Result<Self, LocalDnsError> {
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        // The answers we complete are short-lived; a small cache honouring TTLs is enough.
        opts.cache_size = 256;
        *builder.options_mut() = opts;
        let resolver = builder
            .build()
            .map_err(|e| LocalDnsError::Upstream(e.to_string()))?;
        Ok(Self { resolver, timeout })
    }

    /// The records of `target` for `qtype` (with any CNAMEs met on the way), or nothing
    /// when the lookup fails or takes longer than the timeout.
    pub async fn complete(&self, target: &Name, qtype: RecordType) -> Vec<Record> {
        let mut name = target.clone();
        name.set_fqdn(true);
        let lookup = tokio::time::timeout(self.timeout * 2, self.resolver.lookup(name, qtype));
        match lookup.await {
            Ok(Ok(found)) => found
                .answers()
                .iter()
                .filter(|r| r.record_type() == qtype || r.record_type() == RecordType::CNAME)
                .cloned()
                .collect(),
            Ok(Err(e)) => {
                tracing::debug!(%target, %qtype, error = %e, "CNAME target not completed");
                Vec::new()
            }
            Err(_) => {
                tracing::debug!(%target, %qtype, "CNAME target lookup timed out");
                Vec::new()
            }
        }
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
