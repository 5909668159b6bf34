//! `fedsvc status SERVICE -n NAMESPACE`: where a federated service stands, per cluster and per
//! DNS name, and why; and, when a federated Deployment of the same name exists, how its replicas
//! are divided and what each member's copy runs.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use fedsvc_cluster::{
    Cluster, KubeMember, MemberCluster, ObjectKey, ShardEvent, WorkloadEvent, WorkloadObservation,
};
use fedsvc_dns_plan::Planner;
use fedsvc_model::{
    Cluster as ModelCluster, ClusterName, DnsName, Label, LabelRules, Service, ServiceKey, Shard,
    Snapshot, ZoneNaming,
};
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service as KubeService};
use kube::api::Api;

use crate::StatusArgs;

/// What one member reports for the service.
struct Row {
    cluster: String,
    ready: bool,
    shard: Option<fedsvc_cluster::ShardObservation>,
    /// The member's copy of the federated Deployment of the same name (when there is one).
    copy: Option<WorkloadObservation>,
    problem: Option<String>,
}

/// Reads a member's watch until its initial listing is complete (`synced`), for at most 10 s,
/// and returns the last object `pick` took out of the events before that.
async fn listed<E, T>(
    mut stream: impl Stream<Item = Result<E, impl std::fmt::Display>> + Unpin,
    synced: impl Fn(&E) -> bool,
    mut pick: impl FnMut(E) -> Option<T>,
) -> Result<Option<T>, String> {
    let mut found = None;
    let read = async {
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(ev) if synced(&ev) => return Ok(()),
                Ok(ev) => {
                    if let Some(o) = pick(ev) {
                        found = Some(o);
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .map_err(|_| "no answer within 10 s".to_owned())??;
    Ok(found)
}

/// The member's copy of the federated Deployment `key`, as its watch lists it.
async fn observe_copy(
    member: &KubeMember,
    key: &ObjectKey,
) -> Result<Option<WorkloadObservation>, String> {
    listed(
        member.watch_deployments(),
        |ev| matches!(ev, WorkloadEvent::Synced),
        |ev| match ev {
            WorkloadEvent::Observed(o) if &o.key == key => Some(o),
            _ => None,
        },
    )
    .await
}

/// The state of the service `key` in the member, as its watch lists it.
async fn observe(
    member: &KubeMember,
    key: &ServiceKey,
) -> Result<Option<fedsvc_cluster::ShardObservation>, String> {
    listed(
        member.watch_shards(),
        |ev| matches!(ev, ShardEvent::Synced),
        |ev| match ev {
            ShardEvent::Observed(o) if &o.key == key => Some(o),
            _ => None,
        },
    )
    .await
}

pub(crate) async fn run(args: &StatusArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let kc = match &args.kubeconfig {
        Some(p) => kube::config::Kubeconfig::read_from(p)?,
        None => kube::config::Kubeconfig::read()?,
    };
    let opts = kube::config::KubeConfigOptions {
        context: args.host_context.clone(),
        ..Default::default()
    };
    let host = kube::Client::try_from(kube::Config::from_custom_kubeconfig(kc, &opts).await?)?;
    let key = ServiceKey::parse(&args.namespace, &args.service)?;
    let federated = Api::<KubeService>::namespaced(host.clone(), &args.namespace)
        .get_opt(&args.service)
        .await?
        .with_context(|| format!("service {key} does not exist on the federation API"))?;
    // A federated Deployment of the same name, if any (and if this user may read it).
    let deployment = Api::<Deployment>::namespaced(host.clone(), &args.namespace)
        .get_opt(&args.service)
        .await
        .ok()
        .flatten();
    let workload = ObjectKey::parse(&args.namespace, &args.service).ok();
    let federation = Label::parse(&args.federation, LabelRules::Rfc1123, "federation name")?;
    let suffix = DnsName::parse_host_name(&args.dns_suffix).context("--dns-suffix")?;

    let clusters = Api::<Cluster>::all(host.clone())
        .list(&Default::default())
        .await?;
    let mut rows = Vec::new();
    let mut model_clusters = Vec::new();
    for c in &clusters.items {
        let name = c.metadata.name.clone().unwrap_or_default();
        let status = c.status.clone().unwrap_or_default();
        let ready = status.is_ready();
        let r = &c.spec.secret_ref;
        let ns = r
            .namespace
            .clone()
            .unwrap_or_else(|| "fedsvc-system".into());
        let kubeconfig = Api::<Secret>::namespaced(host.clone(), &ns)
            .get_opt(&r.name)
            .await
            .ok()
            .flatten()
            .and_then(|s| s.data)
            .and_then(|d| {
                d.get(&r.key)
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            });
        let (shard, copy, problem) = match (ClusterName::parse(&name), kubeconfig) {
            (Ok(cn), Some(kc)) => {
                match KubeMember::from_kubeconfig_yaml(cn, &kc, &Default::default()).await {
                    Ok(m) => {
                        let copy = match (&deployment, &workload) {
                            (Some(_), Some(w)) => observe_copy(&m, w).await.ok().flatten(),
                            _ => None,
                        };
                        match observe(&m, &key).await {
                            Ok(s) => (s, copy, None),
                            Err(e) => (None, copy, Some(format!("cannot read the member: {e}"))),
                        }
                    }
                    Err(e) => (None, None, Some(e.to_string())),
                }
            }
            (_, None) => (
                None,
                None,
                Some(format!("no kubeconfig in Secret {ns}/{}", r.name)),
            ),
            (Err(e), _) => (None, None, Some(e.to_string())),
        };
        if let (Ok(cn), Some(region)) = (ClusterName::parse(&name), status.region.as_deref()) {
            let zones = status
                .zones
                .iter()
                .filter_map(|z| Label::parse(z, LabelRules::Rfc1123, "zone").ok())
                .collect();
            if let Ok(region) = Label::parse(region, LabelRules::Rfc1123, "region")
                && let Some(mc) = ModelCluster::new(cn, region, zones, ready)
            {
                model_clusters.push(mc);
            }
        }
        rows.push(Row {
            cluster: name,
            ready,
            shard,
            copy,
            problem,
        });
    }

    writeln!(
        out,
        "Service {key} (federation {federation}, suffix {suffix})\n"
    )?;
    writeln!(out, "Clusters:")?;
    let mut shards = Vec::new();
    for r in &rows {
        let state = match (&r.problem, &r.shard) {
            (Some(p), _) => format!("unknown: {p}"),
            (None, None) => "no shard (the service is not in this cluster)".to_owned(),
            (None, Some(s)) => {
                let mut ingress: Vec<String> =
                    s.addresses.iter().map(ToString::to_string).collect();
                ingress.extend(s.hostnames.iter().map(ToString::to_string));
                let healthy = r.ready && s.ready_endpoints > 0 && !ingress.is_empty();
                let why = if healthy {
                    "healthy".to_owned()
                } else if !r.ready {
                    "not healthy: the cluster is not Ready".to_owned()
                } else if s.ready_endpoints == 0 {
                    "not healthy: no ready endpoint".to_owned()
                } else {
                    "not healthy: no external address".to_owned()
                };
                if let Ok(cn) = ClusterName::parse(&r.cluster) {
                    let hostnames = s.hostnames.clone();
                    shards.push(Shard::new(
                        cn,
                        s.addresses.clone(),
                        hostnames,
                        s.ready_endpoints,
                    ));
                }
                format!(
                    "{why}; ingress {}; {} ready endpoints",
                    if ingress.is_empty() {
                        "none".to_owned()
                    } else {
                        ingress.join(", ")
                    },
                    s.ready_endpoints
                )
            }
        };
        writeln!(
            out,
            "  {:<24} {:<9} {state}",
            r.cluster,
            if r.ready { "Ready" } else { "NotReady" }
        )?;
        if deployment.is_some() {
            match &r.copy {
                Some(c) => writeln!(
                    out,
                    "  {:<34} deployment: {} of {} replicas ready",
                    "", c.counts.ready, c.desired
                )?,
                None => writeln!(out, "  {:<34} deployment: no copy", "")?,
            }
        }
    }

    if let Some(d) = &deployment {
        let status = d.status.clone().unwrap_or_default();
        let division = d
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("fedsvc.io/replica-division"))
            .map_or("(not divided yet)", String::as_str);
        writeln!(
            out,
            "\nDeployment {}/{}: {} of {} replicas ready; divided: {division}",
            args.namespace,
            args.service,
            status.ready_replicas.unwrap_or(0),
            d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        )?;
    }

    let union: Vec<String> = federated
        .status
        .and_then(|s| s.load_balancer)
        .and_then(|lb| lb.ingress)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.ip.or(i.hostname))
        .collect();
    writeln!(
        out,
        "\nLoadBalancer ingress (union): {}",
        if union.is_empty() {
            "none".into()
        } else {
            union.join(", ")
        }
    )?;

    let mut snapshot = Snapshot::new(federation, suffix);
    snapshot.zone_naming = if args.zone_region {
        ZoneNaming::ZoneRegion
    } else {
        ZoneNaming::Zone
    };
    model_clusters.sort_by(|a, b| a.name.cmp(&b.name));
    snapshot.clusters = model_clusters;
    let planner = Planner::new(&snapshot)?;
    let service = Service::new(key.clone(), None, shards)
        .map_err(|c| anyhow::anyhow!("two shards for {c}"))?;
    writeln!(out, "\nDNS names:")?;
    for e in planner.explain_service(&service) {
        let held: Vec<String> = e
            .records
            .iter()
            .map(|r| {
                let data: Vec<String> = r.data().iter().map(ToString::to_string).collect();
                format!("{} {}", r.rtype(), data.join(", "))
            })
            .collect();
        writeln!(
            out,
            "  {}  {}",
            e.name,
            if held.is_empty() {
                "(no record)".into()
            } else {
                held.join("; ")
            }
        )?;
        for reason in &e.reasons {
            writeln!(out, "      {reason}")?;
        }
    }
    Ok(0)
}
