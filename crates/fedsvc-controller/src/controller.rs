//! The whole controller: every task started together, stopped together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_dns_plan::Naming;
use fedsvc_model::Snapshot;
use fedsvc_providers::{DnsProvider, Retrying};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use kube::runtime::reflector;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller as KubeController, WatchStreamExt, watcher};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::{ConfigError, ControllerConfig};
use crate::dns::ZoneSync;
use crate::dns::task;
use crate::events::Events;
use crate::federated::NamespaceFilter;
use crate::leader::LeaderState;
use crate::members::{ClusterManager, MemberFactory};
use crate::ops::http::{self, Readiness};
use crate::services::{self, Context, ServiceFilter};
use crate::shared::Shared;
use crate::state::FederationState;

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The DNS provider could not be built.
    #[error("DNS provider: {0}")]
    Provider(#[from] fedsvc_providers::ConfigError),
    /// The HTTP endpoint could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A running controller.
pub struct Running {
    /// State, metrics, leadership.
    pub shared: Arc<Shared>,
    /// The members.
    pub clusters: Arc<ClusterManager>,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub http_addr: SocketAddr,
    /// The DNS provider.
    pub provider: Arc<dyn DnsProvider>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The election task, stopped after the writers (it releases the lease).
    election: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("http_addr", &self.http_addr)
            .field("provider", &self.provider.name())
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Stops every task: no write starts any more, the service reconciler finishes what it
    /// is doing, the DNS task ends once its write under way is answered or given up, and
    /// then a leader releases its lease (see `docs/operations.md`). Waits at most `grace`.
    pub async fn shutdown(self, grace: Duration) {
        self.shared.leader.stop();
        let _ = self.stop.send(true);
        let until = tokio::time::Instant::now() + grace;
        let all = futures::future::join_all(self.tasks);
        if tokio::time::timeout_at(until, all).await.is_err() {
            warn!("some tasks did not stop within {grace:?}");
        }
        self.shared.leader.writers_stopped();
        if let Some(election) = self.election
            && tokio::time::timeout_at(until, election).await.is_err()
        {
            warn!("the leader election did not stop within {grace:?}");
        }
    }
}

/// A task of the controller, as [`http::supervise`] runs it.
type BoxedTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Where the members come from and where DNS goes, for [`start`].
pub struct Parts {
    /// The federation API.
    pub host: kube::Client,
    /// How member clients are made.
    pub members: Arc<dyn MemberFactory>,
    /// A provider to use instead of building one from the configuration.
    pub provider: Option<Arc<dyn DnsProvider>>,
    /// A resolver for load-balancer hostnames (`None`: the system's).
    pub resolver: Option<hickory_resolver::TokioResolver>,
}

/// Starts every task of the controller.
pub async fn start(config: &ControllerConfig, parts: Parts) -> Result<Running, StartError> {
    config.validate()?;
    let federation = config.federation_label()?;
    let suffix = config.suffix()?;
    let dns = config.provider_config()?;
    let provider: Arc<dyn DnsProvider> = match parts.provider {
        Some(p) => p,
        None => Arc::from(dns.build().await?),
    };
    let mut base = Snapshot::new(federation.clone(), suffix);
    base.zone_naming = config.zone_naming;
    base.ttl = config.ttl;
    let registry =
        dns.registry(&Naming::from_snapshot(&base))
            .map_err(|e| ConfigError::Invalid {
                field: "dns.ownerId",
                message: e.to_string(),
            })?;
    let leader = if config.leader_election.enabled {
        fenced_leader(config, &dns)?
    } else {
        LeaderState::always()
    };
    let shared = Arc::new(Shared::new(FederationState::new(base), leader));
    let (stop, stop_rx) = watch::channel(false);
    let readiness = Arc::new(Readiness::new(config.readiness.api_unreachable_for));
    let supervised = |name: &'static str, task: BoxedTask| {
        http::supervise(name, readiness.clone(), stop_rx.clone(), task)
    };
    let mut tasks = Vec::new();

    let (http_addr, http_task) = http::serve(
        config.listen,
        shared.clone(),
        readiness.clone(),
        stop_rx.clone(),
    )
    .await
    .map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    tasks.push(http_task);

    let mut election = None;
    if config.leader_election.enabled {
        let identity = config
            .leader_election
            .identity
            .clone()
            .unwrap_or_else(default_identity);
        info!(%identity, lease = %config.leader_election.lease_name, "joining leader election");
        election = Some(supervised(
            "leader election",
            Box::pin(crate::leader::election::run(
                parts.host.clone(),
                config.namespace.clone(),
                config.leader_election.lease_name.clone(),
                identity,
                config.leader_election.timing(),
                handover_drain(config, &dns),
                shared.clone(),
                stop_rx.clone(),
            )),
        ));
    }

    let mut workload_rx = None;
    let (clusters, ready_rx, shard_rx) = ClusterManager::new(
        parts.host.clone(),
        config.namespace.clone(),
        parts.members,
        shared.clone(),
        config.health_policy(),
        config.workloads.enabled.then_some(&mut workload_rx),
    );
    tasks.push(supervised(
        "memory trim",
        Box::pin(crate::ops::memory::run(
            shared.activity.clone(),
            crate::ops::memory::TRIM_PERIOD,
            stop_rx.clone(),
        )),
    ));
    tasks.push(supervised(
        "federation API check",
        Box::pin(check_api(
            parts.host.clone(),
            readiness.clone(),
            api_check_period(config.readiness.api_unreachable_for),
            stop_rx.clone(),
        )),
    ));
    tasks.push(supervised(
        "Cluster watch",
        Box::pin(clusters.clone().run_watch(stop_rx.clone())),
    ));
    tasks.push(supervised(
        "member probe",
        Box::pin(clusters.clone().run_probes(stop_rx.clone())),
    ));

    let mut retrying = Retrying::new(provider.clone());
    if let Some(fence) = shared.leader.fence() {
        retrying = retrying.fenced(fence, crate::leader::attempt_timeout(&dns.provider));
    }
    let sync = ZoneSync::new(retrying, registry);
    tasks.push(supervised(
        "DNS sync",
        Box::pin(task::run(
            shared.clone(),
            sync,
            config.dns_loop_config(),
            stop_rx.clone(),
        )),
    ));

    let resolver = match parts.resolver {
        Some(r) => Some(r),
        None => hickory_resolver::TokioResolver::builder_tokio()
            .map(|b| b.build())
            .map_err(|e| warn!(error = %e, "no system resolver: load-balancer hostnames are not resolved"))
            .ok()
            .and_then(Result::ok),
    };
    if let Some(resolver) = resolver {
        tasks.push(supervised(
            "hostname resolution",
            Box::pin(crate::dns::resolve_hostnames::run(
                shared.clone(),
                resolver,
                stop_rx.clone(),
            )),
        ));
    }

    let mut exclude = config.exclude_namespaces.clone();
    exclude.push(config.namespace.clone());
    let filter = ServiceFilter(NamespaceFilter {
        namespaces: config.namespaces.clone(),
        exclude_namespaces: exclude,
    });
    let events = Arc::new(Events::new(
        parts.host.clone(),
        "fedsvc-controller",
        std::env::var("POD_NAME").ok(),
    ));
    let ingress = Arc::new(services::IngressSeen::default());
    let ctx = Arc::new(Context {
        host: parts.host.clone(),
        clusters: clusters.clone(),
        shared: shared.clone(),
        filter: filter.clone(),
        events: events.clone(),
        requeue: Duration::from_secs(300),
        ingress: ingress.clone(),
    });
    let services_api: Api<Service> = Api::all(parts.host.clone());
    // The reconciler's cache of federated services keeps what propagation needs: not the
    // server's field-manager bookkeeping, nor kubectl's copy of the whole object in an
    // annotation (neither is sent to members), which can be most of a Service's size; nor
    // the status, whose load-balancer ingress (one per member) is kept aside as JSON.
    let (reader, writer) = reflector::store();
    let (state_filter, state_shared) = (filter.clone(), shared.clone());
    let (seen, forget) = (ingress.clone(), ingress);
    let services = watcher(services_api, watcher::Config::default())
        .default_backoff()
        .modify(move |svc: &mut Service| {
            seen.observe(svc, false);
            svc.status = None;
            let meta = &mut svc.metadata;
            meta.managed_fields = None;
            if let Some(annotations) = &mut meta.annotations {
                annotations.remove(fedsvc_cluster::LAST_APPLIED_ANNOTATION);
                // An emptied map still holds a node: drop it.
                if annotations.is_empty() {
                    meta.annotations = None;
                }
            }
        })
        .inspect(move |ev| {
            let (f, s) = (&state_filter, &state_shared);
            match ev {
                Ok(watcher::Event::InitApply(svc) | watcher::Event::Apply(svc)) => {
                    services::observe(f, svc, false, s);
                }
                Ok(watcher::Event::Delete(svc)) => {
                    services::observe(f, svc, true, s);
                    forget.observe(svc, true);
                }
                Ok(watcher::Event::InitDone) => s.update(FederationState::set_services_listed),
                _ => {}
            }
        })
        .reflect(writer)
        .applied_objects();
    let mut stop_for_kube = stop_rx.clone();
    // Bounded: an unbounded number of reconciles at once would open a connection to every
    // member for each of thousands of services when the controller starts.
    let controller = KubeController::for_stream(services, reader)
        .with_config(kube::runtime::controller::Config::default().concurrency(config.workers))
        .reconcile_all_on(ready_rx)
        .reconcile_on(
            shard_rx.map(|key| ObjectRef::new(key.name.as_str()).within(key.namespace.as_str())),
        )
        .graceful_shutdown_on(async move {
            let _ = stop_for_kube.wait_for(|s| *s).await;
        });
    let activity = shared.activity.clone();
    tasks.push(supervised(
        "service reconciler",
        Box::pin(async move {
            controller
                .run(services::reconcile, services::error_policy, ctx)
                .for_each(|_| {
                    activity.note(1);
                    async {}
                })
                .await;
        }),
    ));

    if let Some(copies) = workload_rx {
        let start = crate::workloads::Start {
            host: parts.host.clone(),
            clusters: clusters.clone(),
            shared: shared.clone(),
            filter: filter.0.clone(),
            events,
            workers: config.workers,
            ready: clusters.subscribe(crate::members::Changes::Any),
            copies,
        };
        tasks.push(supervised(
            "workload reconciler",
            Box::pin(crate::workloads::run(start, stop_rx.clone())),
        ));
    }

    info!(%http_addr, provider = %provider.name(), "fedsvc-controller started");
    Ok(Running {
        shared,
        clusters,
        http_addr,
        provider,
        stop,
        tasks,
        election,
    })
}

/// The leader state of an elected replica: each DNS write attempt must fit in its lease
/// (refused here when even one attempt of the provider's timeout cannot).
fn fenced_leader(
    config: &ControllerConfig,
    dns: &fedsvc_providers::Config,
) -> Result<LeaderState, ConfigError> {
    let timing = config.leader_election.timing();
    let attempt = crate::leader::attempt_timeout(&dns.provider);
    timing
        .check_attempt(attempt)
        .map_err(|message| ConfigError::Invalid {
            field: "leaderElection",
            message,
        })?;
    Ok(LeaderState::elected_with_budget(&timing, attempt))
}

/// How long a leader that is stopping waits for its writers before it releases the lease:
/// an attempt under way is answered or given up within the provider's timeout; the margin
/// on top is for the reconciler's member writes.
fn handover_drain(config: &ControllerConfig, dns: &fedsvc_providers::Config) -> Duration {
    crate::leader::attempt_timeout(&dns.provider) + config.leader_election.timing().margin()
}

/// How often the federation API is checked: a few times within `unreachable_for`, at most
/// every 10 s.
fn api_check_period(unreachable_for: Duration) -> Duration {
    (unreachable_for / 4).clamp(Duration::from_millis(100), Duration::from_secs(10))
}

/// Asks the federation API for its version every `period` until `stop`, telling `readiness`
/// whether it answered (within `period`, at least a second).
async fn check_api(
    host: kube::Client,
    readiness: Arc<Readiness>,
    period: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let timeout = period.max(Duration::from_secs(1));
    loop {
        match tokio::time::timeout(timeout, host.apiserver_version()).await {
            Ok(Ok(_)) => readiness.api_answered(),
            Ok(Err(e)) => {
                debug!(error = %e, "the federation API did not answer");
                readiness.api_failed();
            }
            Err(_) => {
                debug!(?timeout, "the federation API did not answer in time");
                readiness.api_failed();
            }
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(period) => {}
        }
    }
}

fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME") {
        return pod;
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "fedsvc".into());
    format!("{host}-{}", std::process::id())
}
