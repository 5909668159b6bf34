//! Load-balancer hostnames (AWS ELB and the like) resolved to addresses, and re-resolved when
//! their answers expire, so that a hostname's drifting addresses never go stale in DNS.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_model::DnsName;
use hickory_resolver::TokioResolver;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::debug;

use crate::shared::Shared;

/// The shortest and longest pause between two resolutions of one hostname.
const MIN_REFRESH: Duration = Duration::from_secs(5);
const MAX_REFRESH: Duration = Duration::from_secs(300);

/// Resolves every hostname the shards report, each again when its answer's TTL runs out,
/// until `shutdown`. A hostname that does not resolve keeps no addresses (so it makes no level
/// healthy on its own) and is tried again after five seconds.
pub(crate) async fn run(
    shared: Arc<Shared>,
    resolver: TokioResolver,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut due: BTreeMap<DnsName, Instant> = BTreeMap::new();
    loop {
        let now = Instant::now();
        let names = shared.state.lock().expect("state lock").hostnames();
        due.retain(|n, _| names.contains(n));
        for name in names {
            if due.get(&name).is_some_and(|t| *t > now) {
                continue;
            }
            let (addresses, next): (Vec<IpAddr>, Instant) = match resolver
                .lookup_ip(name.as_str())
                .await
            {
                Ok(lookup) => {
                    let until = Instant::from_std(lookup.valid_until());
                    let ips: Vec<IpAddr> = lookup.iter().collect();
                    let next = until.clamp(now + MIN_REFRESH, now + MAX_REFRESH);
                    (ips, next)
                }
                Err(e) => {
                    debug!(hostname = %name, error = %e, "load-balancer hostname does not resolve");
                    (Vec::new(), now + MIN_REFRESH)
                }
            };
            due.insert(name.clone(), next);
            shared.update(|s| s.set_resolved(name, addresses));
        }
        // Wake for the next expiry, and at least every MIN_REFRESH to pick up new hostnames.
        let wake = due
            .values()
            .min()
            .copied()
            .unwrap_or(now + MIN_REFRESH)
            .min(now + MIN_REFRESH);
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep_until(wake.max(now + Duration::from_millis(500))) => {}
        }
    }
}
