//! The binary's work: validated flags → source, responder, server; serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::{KubeMember, KubeMemberOptions, LocalityOverride, MemberCluster};
use fedsvc_model::{ClusterName, DnsName, Label, LabelRules, ServiceKey};

use crate::error::LocalDnsError;
use crate::flags::Flags;
use crate::local_dns_config::LocalDnsConfig;
use crate::local_dns_server::LocalDnsServer;
use crate::local_services::LocalServices;
use crate::member_services::MemberServices;
use crate::responder::Responder;
use crate::static_services::StaticServices;
use crate::upstream::Upstream;

/// Runs the responder described by `flags` until `shutdown` completes, then stops
/// gracefully.
///
/// Without `--no-cluster`/`--static-ready` it connects to the cluster, reads the zone and
/// region from the nodes when not given, waits for the first listing of the federated
/// services, and only then binds, so that a TCP readiness probe on the port says "synced" —
/// or "`--sync-timeout` passed": a listing that takes longer (the API server unreachable, RBAC
/// missing) does not keep the cluster's pods without answers. Until it completes, every answer
/// is the federated CNAME of this cluster's zone, which is right, only never the local
/// shortcut; the log says `services not listed yet; serving anyway`, then `local services
/// listed` once it completes.
pub async fn run(flags: Flags, shutdown: impl Future<Output = ()>) -> Result<(), LocalDnsError> {
    let cluster_domain =
        DnsName::parse(&flags.cluster_domain).map_err(|source| LocalDnsError::InvalidName {
            what: "cluster domain",
            source,
        })?;
    let zone = flags
        .zone
        .as_deref()
        .map(|z| label(z, "zone"))
        .transpose()?;
    let region = flags
        .region
        .as_deref()
        .map(|r| label(r, "region"))
        .transpose()?;
    let upstream = upstream(&flags)?;

    let clusterless = flags.no_cluster || !flags.static_ready.is_empty();
    let (services, zone, region): (Arc<dyn LocalServices>, Label, Label) = if clusterless {
        let services = StaticServices::new();
        for s in &flags.static_ready {
            let (ns, name) = s.split_once('/').ok_or_else(|| {
                LocalDnsError::Config(format!("--static-ready {s:?}: expected NAMESPACE/NAME"))
            })?;
            let key = ServiceKey::parse(ns, name).map_err(|source| LocalDnsError::InvalidName {
                what: "--static-ready service",
                source,
            })?;
            services.set_ready_endpoints(key, 1);
        }
        let (Some(zone), Some(region)) = (zone, region) else {
            return Err(LocalDnsError::Config(
                "without a cluster, --zone and --region are required".into(),
            ));
        };
        (Arc::new(services), zone, region)
    } else {
        let member = connect(&flags).await?;
        let (zone, region) = cluster_locality(&member, zone, region).await?;
        let services = MemberServices::spawn(&member);
        let timeout = Duration::from_secs(flags.sync_timeout);
        if !services.wait_synced(timeout).await {
            tracing::warn!(
                ?timeout,
                "services not listed yet; serving anyway (federated answers until then)"
            );
        }
        (Arc::new(services), zone, region)
    };

    let mut config = LocalDnsConfig::new(zone, region)
        .with_cluster_domain(cluster_domain)
        .with_ttl(flags.ttl);
    for f in flags.federations {
        config = config.with_federation(f);
    }
    tracing::info!(
        zone = %config.zone,
        region = %config.region,
        federations = ?config.federations.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "configured"
    );
    let responder = Arc::new(Responder::new(config, services)?);
    let server = LocalDnsServer::start(flags.listen, responder, upstream).await?;
    shutdown.await;
    tracing::info!("shutting down");
    server.shutdown().await
}

fn label(value: &str, what: &'static str) -> Result<Label, LocalDnsError> {
    Label::parse(value, LabelRules::Rfc1123, what)
        .map_err(|source| LocalDnsError::InvalidName { what, source })
}

fn upstream(flags: &Flags) -> Result<Option<Arc<Upstream>>, LocalDnsError> {
    let timeout = Duration::from_millis(flags.upstream_timeout_ms);
    match flags.upstream.as_str() {
        "none" => Ok(None),
        "system" => Upstream::system(timeout).map(|u| Some(Arc::new(u))),
        list => {
            let servers = list
                .split(',')
                .map(|s| {
                    s.trim().parse::<SocketAddr>().map_err(|e| {
                        LocalDnsError::Config(format!("--upstream {s:?}: {e} (expected IP:PORT)"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Upstream::at(&servers, timeout).map(|u| Some(Arc::new(u)))
        }
    }
}

async fn connect(flags: &Flags) -> Result<KubeMember, LocalDnsError> {
    let name =
        ClusterName::parse(&flags.cluster_name).map_err(|source| LocalDnsError::InvalidName {
            what: "cluster name",
            source,
        })?;
    let mut options = KubeMemberOptions::default();
    if let Some(c) = &flags.context {
        options = options.context(c.clone());
    }
    if let Some(path) = &flags.kubeconfig {
        let yaml = std::fs::read_to_string(path)
            .map_err(|e| LocalDnsError::Kube(format!("cannot read {}: {e}", path.display())))?;
        return Ok(KubeMember::from_kubeconfig_yaml(name, &yaml, &options).await?);
    }
    let config = match &flags.context {
        // A context names an entry of a kubeconfig ($KUBECONFIG, else ~/.kube/config): never
        // fall back to the in-cluster account or the current context (another cluster).
        Some(context) => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
            context: Some(context.clone()),
            ..Default::default()
        })
        .await
        .map_err(|e| LocalDnsError::Kube(format!("context {context:?}: {e}")))?,
        None => kube::Config::infer()
            .await
            .map_err(|e| LocalDnsError::Kube(e.to_string()))?,
    };
    let client = kube::Client::try_from(config).map_err(|e| LocalDnsError::Kube(e.to_string()))?;
    Ok(KubeMember::new(name, client, &options))
}

/// This cluster's zone and region: `zone` and `region` when given, else read from the
/// member's node labels ([`MemberCluster::locality`]). A cluster spanning several zones is
/// placed in the first one (sorted), with a warning, as kube-dns did.
pub async fn cluster_locality(
    member: &dyn MemberCluster,
    zone: Option<Label>,
    region: Option<Label>,
) -> Result<(Label, Label), LocalDnsError> {
    if let (Some(z), Some(r)) = (&zone, &region) {
        return Ok((z.clone(), r.clone()));
    }
    let overrides = LocalityOverride {
        zones: zone.map(|z| vec![z]),
        region,
    };
    let found = member.locality(&overrides).await?;
    for w in &found.warnings {
        tracing::warn!("{w}");
    }
    if found.zones.len() > 1 {
        tracing::warn!(
            zones = ?found.zones.iter().map(Label::as_str).collect::<Vec<_>>(),
            "the cluster spans several zones; pods are sent to the first one (give --zone to choose)"
        );
    }
    let zone = found
        .zones
        .into_iter()
        .next()
        .ok_or(LocalDnsError::Locality {
            what: "zone",
            reason: "no node carries topology.kubernetes.io/zone; give --zone".into(),
        })?;
    let region = found.region.ok_or(LocalDnsError::Locality {
        what: "region",
        reason: "no node carries topology.kubernetes.io/region; give --region".into(),
    })?;
    Ok((zone, region))
}
