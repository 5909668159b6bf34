//! Joining and unjoining: `Cluster` objects and the Secrets they reference are watched; a
//! member is joined when its Cluster appears or its Secret changes, and unjoined (its services
//! removed, its shards out of DNS) when its Cluster goes.

use std::sync::Arc;
use std::time::Duration;

use fedsvc_cluster::{Cluster as ClusterResource, LocalityOverride};
use fedsvc_model::{ClusterName, Label, LabelRules, ServiceKey};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::{ClusterManager, ConnectError, Entry, REASON_NOT_REACHABLE};
use crate::members::probe::MemberProbe;
use crate::state::FederationState;

impl ClusterManager {
    /// Watches `Cluster` objects until `shutdown`, joining and unjoining members, and the
    /// Secrets of the controller's namespace, joining a member again when its Secret appears,
    /// changes or goes.
    ///
    /// Secrets are watched for their metadata only (names and resourceVersions: a real API
    /// server sends no Secret data on this watch); a member's kubeconfig is read with a GET of
    /// its own Secret when it joins. This needs `list` and `watch` on Secrets in the
    /// controller's namespace. Secrets in other namespaces are read when their `Cluster`
    /// changes, not watched.
    pub async fn run_watch(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let api: Api<ClusterResource> = Api::all(self.host.clone());
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        let secrets: Api<PartialObjectMeta<Secret>> =
            Api::namespaced(self.host.clone(), &self.namespace);
        let mut secret_stream = watcher(secrets, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut seen: Vec<String> = Vec::new();
        loop {
            // One task handles both streams, so a member is never joined twice at once.
            let ev = tokio::select! {
                _ = shutdown.changed() => return,
                ev = stream.next() => ev,
                sev = secret_stream.next() => {
                    match sev {
                        Some(Ok(
                            watcher::Event::Apply(s) | watcher::Event::InitApply(s),
                        )) => {
                            self.secret_changed(
                                s.metadata.name.as_deref().unwrap_or(""),
                                s.metadata.resource_version.clone(),
                            )
                            .await;
                        }
                        Some(Ok(watcher::Event::Delete(s))) => {
                            self.secret_changed(s.metadata.name.as_deref().unwrap_or(""), None)
                                .await;
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            warn!(
                                namespace = %self.namespace,
                                error = %e,
                                "watching Secrets failed (the controller needs list and watch on Secrets in its namespace); retrying"
                            );
                        }
                        None => {
                            // Not expected; the Cluster watch goes on without it.
                            secret_stream = futures::stream::pending().boxed();
                        }
                    }
                    continue;
                }
            };
            match ev {
                None => return,
                Some(Err(e)) => {
                    warn!(error = %e, "watching Cluster objects failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Some(Ok(watcher::Event::Init)) => seen.clear(),
                Some(Ok(watcher::Event::InitApply(c))) => {
                    seen.push(c.metadata.name.clone().unwrap_or_default());
                    self.join(&c).await;
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    let mut gone: Vec<ClusterName> = self
                        .members
                        .lock()
                        .expect("members lock")
                        .keys()
                        .chain(self.clusters.lock().expect("clusters lock").keys())
                        .filter(|n| !seen.iter().any(|s| s == n.as_str()))
                        .cloned()
                        .collect();
                    gone.sort();
                    gone.dedup();
                    for name in gone {
                        self.unjoin(&name).await;
                    }
                    self.shared.update(FederationState::set_clusters_listed);
                }
                Some(Ok(watcher::Event::Apply(c))) => self.join(&c).await,
                Some(Ok(watcher::Event::Delete(c))) => {
                    if let Ok(name) = ClusterName::parse(c.metadata.name.as_deref().unwrap_or("")) {
                        self.unjoin(&name).await;
                    }
                }
            }
        }
    }

    /// The `Cluster` objects that refer to the Secret `name` of the controller's namespace
    /// and were not joined (or failed) with its `version`: joins each again.
    async fn secret_changed(self: &Arc<Self>, name: &str, version: Option<String>) {
        let referring: Vec<(ClusterName, ClusterResource)> = self
            .clusters
            .lock()
            .expect("clusters lock")
            .iter()
            .filter(|(_, c)| {
                let (ns, n, _) = secret_of(c, &self.namespace);
                ns == self.namespace && n == name
            })
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        for (cluster, c) in referring {
            let stale = match self.members.lock().expect("members lock").get(&cluster) {
                Some(e) => e.secret_version != version,
                None => self
                    .failures
                    .lock()
                    .expect("failures lock")
                    .get(&cluster)
                    .is_none_or(|a| a.version != version),
            };
            if stale {
                debug!(cluster = %cluster, secret = %name, "the member's Secret changed");
                self.join(&c).await;
            }
        }
    }

    async fn read_kubeconfig(&self, c: &ClusterResource) -> SecretRead {
        let (ns, name, key) = secret_of(c, &self.namespace);
        let api: Api<Secret> = Api::namespaced(self.host.clone(), &ns);
        match api.get_opt(&name).await {
            Ok(Some(s)) => {
                let version = s.metadata.resource_version.clone();
                let kubeconfig = s
                    .data
                    .as_ref()
                    .and_then(|d| d.get(&key))
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                    .or_else(|| s.string_data.as_ref().and_then(|d| d.get(&key)).cloned());
                SecretRead::Found {
                    kubeconfig,
                    version,
                }
            }
            Ok(None) => SecretRead::Missing(format!("Secret {ns}/{name} does not exist")),
            Err(e) => SecretRead::Failed(format!("cannot read Secret {ns}/{name}: {e}")),
        }
    }

    /// Forgets the member `name` after its credentials stopped working (its Secret is gone or
    /// now unusable): its client stops, and its shards leave DNS. Its services in the member
    /// are left alone; the `Cluster` still exists.
    fn drop_member(&self, name: &ClusterName) {
        let entry = self.members.lock().expect("members lock").remove(name);
        if entry.is_none() {
            return;
        }
        info!(cluster = %name, "member left: its credentials are no longer usable");
        self.shared
            .state
            .lock()
            .expect("state lock")
            .remove_cluster(name);
        self.shared.dirty.notify_one();
        self.forget_copies(name);
        self.notify_ready(true);
        self.shared
            .metrics
            .cluster_ready
            .get_or_create(&crate::ops::metrics::ClusterLabels {
                cluster: name.to_string(),
            })
            .set(0);
    }

    /// Records that `name` could not be joined with `attempt`, drops the member it was, and
    /// says why in its status.
    async fn join_failed(&self, name: &ClusterName, attempt: Attempt, reason: &str, msg: &str) {
        self.drop_member(name);
        self.failures
            .lock()
            .expect("failures lock")
            .insert(name.clone(), attempt);
        self.write_status_problem(name, reason, msg).await;
    }

    /// Joins (or updates) the member described by `c`.
    pub async fn join(self: &Arc<Self>, c: &ClusterResource) {
        let raw = c.metadata.name.clone().unwrap_or_default();
        let name = match ClusterName::parse(&raw) {
            Ok(n) => n,
            Err(e) => {
                warn!(cluster = %raw, error = %e, "Cluster name is not usable");
                return;
            }
        };
        self.clusters
            .lock()
            .expect("clusters lock")
            .insert(name.clone(), c.clone());
        let overrides = overrides_of(c);
        let labels = c.metadata.labels.clone().unwrap_or_default();
        let read = self.read_kubeconfig(c).await;
        if let SecretRead::Failed(msg) = &read
            && self
                .members
                .lock()
                .expect("members lock")
                .contains_key(&name)
        {
            // Most likely the federation API hiccuped: keep the member as it is.
            warn!(cluster = %name, "{msg}; the member keeps its client");
            return;
        }
        let (kubeconfig, version, read_problem) = match read {
            SecretRead::Found {
                kubeconfig,
                version,
            } => (kubeconfig, version, None),
            SecretRead::Missing(msg) | SecretRead::Failed(msg) => (None, None, Some(msg)),
        };
        let attempt = Attempt {
            secret: secret_of(c, &self.namespace),
            version: version.clone(),
            read_problem: read_problem.clone(),
        };
        let failed_before = self
            .failures
            .lock()
            .expect("failures lock")
            .get(&name)
            .is_some_and(|a| *a == attempt);
        if failed_before
            && !self
                .members
                .lock()
                .expect("members lock")
                .contains_key(&name)
        {
            // Nothing it was joined from changed (our own status write, or another field):
            // it fails the same way, and its status says so already.
            return;
        }
        if let Some(msg) = &read_problem {
            warn!(cluster = %name, "{msg}");
        }
        let reuse = {
            let mut members = self.members.lock().expect("members lock");
            match members.get_mut(&name) {
                Some(e) if e.secret_version == version => {
                    if e.overrides != overrides {
                        // Read the locality again at the next probe.
                        e.overrides = overrides.clone();
                        e.probe.forget_place();
                    }
                    if e.labels != labels {
                        e.labels = labels.clone();
                        // Placement may have changed: propagate every service again.
                        self.notify_ready(true);
                    }
                    true
                }
                _ => false,
            }
        };
        if reuse {
            // Our own status writes come back as watch events: probing here would count extra
            // probes for one member and let it cross a threshold before the others.
            return;
        }
        {
            let member = match self.factory.connect(&name, kubeconfig.as_deref()).await {
                Ok(m) => m,
                Err(e) => {
                    // Without its Secret, the Secret is what to report.
                    let e = match read_problem {
                        Some(msg) => ConnectError::new(REASON_NOT_REACHABLE, msg),
                        None => e,
                    };
                    warn!(cluster = %name, reason = %e.reason, "cannot build a client for the member: {e}");
                    self.join_failed(&name, attempt, &e.reason, &e.message)
                        .await;
                    return;
                }
            };
            self.failures.lock().expect("failures lock").remove(&name);
            let watch = self.spawn_shard_watch(name.clone(), member.clone());
            let workload_watch = self.spawn_workload_watch(name.clone(), member.clone());
            let entry = Entry {
                member,
                probe: MemberProbe::new(self.policy),
                overrides,
                labels,
                secret_version: version,
                watch,
                workload_watch,
            };
            info!(cluster = %name, "member joined");
            // Until its health and place are known, DNS does not start from a picture that
            // lacks it.
            self.shared
                .state
                .lock()
                .expect("state lock")
                .set_settled(&name, false);
            self.members
                .lock()
                .expect("members lock")
                .insert(name.clone(), entry);
        }
        if let Some(ready) = self.probe(&name, true).await {
            self.publish_to_state(&[(name, ready)]);
        }
    }

    /// Unjoins `name`: its shards leave DNS and the services fedsvc made there are deleted
    /// (when the member can still be reached).
    pub async fn unjoin(self: &Arc<Self>, name: &ClusterName) {
        self.clusters.lock().expect("clusters lock").remove(name);
        self.failures.lock().expect("failures lock").remove(name);
        let entry = self.members.lock().expect("members lock").remove(name);
        let Some(entry) = entry else { return };
        info!(cluster = %name, "member unjoined");
        let keys: Vec<ServiceKey> = {
            let mut state = self.shared.state.lock().expect("state lock");
            state.remove_cluster(name);
            state.service_keys().cloned().collect()
        };
        self.shared.dirty.notify_one();
        let copies = self.forget_copies(name);
        self.notify_ready(true);
        self.remove_copies(name, &entry, copies).await;
        for key in keys {
            // Only the leader writes members: a standby (or a replica that lost the Lease)
            // leaves the unjoined member's services to the leader, which unjoins it too.
            let deleted = self
                .shared
                .leader
                .fenced(
                    entry
                        .member
                        .delete_service(key.namespace.as_str(), key.name.as_str()),
                )
                .await;
            match deleted {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    warn!(cluster = %name, service = %key, error = %e, "could not remove the service from the unjoined member")
                }
                Err(fenced) => {
                    info!(cluster = %name, reason = %fenced, "the services left in the unjoined member are left to the leader");
                    break;
                }
            }
        }
    }
}

/// What a join that failed was made from: the Secret it read, at which version, and what went
/// wrong reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Attempt {
    /// `namespace/name` and key of the Secret.
    secret: (String, String, String),
    /// The Secret's resourceVersion (`None`: not read).
    version: Option<String>,
    /// Why the Secret could not be read.
    read_problem: Option<String>,
}

/// What reading a member's Secret found.
enum SecretRead {
    /// The Secret: the kubeconfig under the referenced key (if any), and its resourceVersion.
    Found {
        kubeconfig: Option<String>,
        version: Option<String>,
    },
    /// The Secret does not exist.
    Missing(String),
    /// The Secret could not be read (a retry may succeed).
    Failed(String),
}

/// The namespace, name and key of the Secret `c` refers to; Secrets without a namespace are in
/// `default_ns`.
fn secret_of(c: &ClusterResource, default_ns: &str) -> (String, String, String) {
    let r = &c.spec.secret_ref;
    (
        r.namespace.clone().unwrap_or_else(|| default_ns.to_owned()),
        r.name.clone(),
        r.key.clone(),
    )
}

fn overrides_of(c: &ClusterResource) -> LocalityOverride {
    let parse = |s: &str, kind| Label::parse(s, LabelRules::Rfc1123, kind).ok();
    LocalityOverride {
        zones: c
            .spec
            .zones
            .as_ref()
            .map(|zs| zs.iter().filter_map(|z| parse(z, "zone label")).collect()),
        region: c
            .spec
            .region
            .as_deref()
            .and_then(|r| parse(r, "region label")),
    }
}
