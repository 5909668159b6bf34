//! The demo's federation on one machine: a federation API, one API server per member
//! cluster, a simulated cloud, the real controller, and the embedded DNS server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, Running, start};
use fedsvc_controller::members::KubeMemberFactory;
use fedsvc_emulator::{ApiServer, TOKEN};
use fedsvc_model::RecordSet;
use fedsvc_providers::{DnsProvider, MemoryProvider};
use serde_json::json;

use super::cloud::Cloud;

/// The context name of the federation API in the demo's kubeconfig (as in the user guide).
pub const FEDERATION_CONTEXT: &str = "federation-cluster";
/// The namespace of the controller (Cluster Secrets, Events).
pub const SYSTEM_NAMESPACE: &str = "fedsvc-system";

/// One member cluster of the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    /// Cluster (and kubeconfig context) name.
    pub name: String,
    /// Its zone.
    pub zone: String,
    /// Its region.
    pub region: String,
    /// The first load-balancer address the simulated cloud hands out there.
    pub first_ip: std::net::Ipv4Addr,
}

/// The user guide's 13 GCE clusters, one per zone, with the guide's addresses where it shows
/// them.
pub fn guide_members() -> Vec<MemberSpec> {
    let rows: [(&str, &str, [u8; 4]); 13] = [
        ("asia-east1", "a", [130, 211, 57, 243]),
        ("asia-east1", "b", [130, 211, 58, 14]),
        ("asia-east1", "c", [130, 211, 56, 221]),
        ("europe-west1", "b", [104, 155, 10, 21]),
        ("europe-west1", "c", [104, 155, 11, 22]),
        ("europe-west1", "d", [104, 155, 12, 23]),
        ("us-central1", "a", [104, 197, 247, 191]),
        ("us-central1", "b", [104, 197, 244, 180]),
        ("us-central1", "c", [104, 197, 245, 170]),
        ("us-central1", "f", [104, 197, 243, 12]),
        ("us-east1", "b", [104, 196, 14, 231]),
        ("us-east1", "c", [104, 197, 246, 190]),
        ("us-east1", "d", [104, 199, 136, 89]),
    ];
    rows.iter()
        .map(|(region, z, ip)| MemberSpec {
            name: format!("gce-{region}-{z}"),
            zone: format!("{region}-{z}"),
            region: (*region).to_owned(),
            first_ip: std::net::Ipv4Addr::from(*ip),
        })
        .collect()
}

/// Options of the demo.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// Where the embedded authoritative DNS server listens.
    pub dns_listen: SocketAddr,
    /// The member clusters.
    pub members: Vec<MemberSpec>,
    /// How often member health is probed (the demo uses 2 s to make failover visible fast).
    pub probe_period: Duration,
    /// Record TTL.
    pub ttl: u32,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            dns_listen: "127.0.0.1:5353".parse().expect("an address"),
            members: guide_members(),
            probe_period: Duration::from_secs(2),
            ttl: 30,
        }
    }
}

/// A running demo federation.
pub struct World {
    /// The federation API.
    pub federation: ApiServer,
    /// The members' API servers, in the order of the options.
    pub members: Vec<(MemberSpec, Arc<ApiServer>)>,
    /// The DNS provider (memory, served on `dns_addr`).
    pub dns: Arc<MemoryProvider>,
    /// Where DNS is served.
    pub dns_addr: SocketAddr,
    /// The controller.
    pub controller: Option<Running>,
    cloud: Cloud,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("federation", &self.federation.url())
            .field("dns_addr", &self.dns_addr)
            .finish_non_exhaustive()
    }
}

impl World {
    /// Starts everything: API servers, nodes with zone and region labels, Secrets with
    /// member kubeconfigs and Cluster objects (what `fedsvc join` writes), the simulated cloud,
    /// the DNS server and the controller.
    pub async fn start(opts: &WorldOptions) -> anyhow::Result<World> {
        fedsvc_emulator::install_crypto_provider();
        let federation = ApiServer::try_start()
            .await
            .context("cannot start the federation API")?;
        // A federation's control plane runs no workload controllers: its Deployments run in
        // the members.
        federation.set_workload_controllers(false);
        federation
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}}))
            .context("federation API")?;
        let mut members = Vec::new();
        for spec in &opts.members {
            let api = ApiServer::try_start()
                .await
                .with_context(|| format!("cannot start the API server of {}", spec.name))?;
            api.add_node(
                &format!("{}-node-1", spec.name),
                Some(&spec.zone),
                Some(&spec.region),
            )?;
            federation.create(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("{}-kubeconfig", spec.name), "namespace": SYSTEM_NAMESPACE},
                "stringData": {"kubeconfig": api.kubeconfig_yaml(&spec.name)},
            }))?;
            federation.create(json!({
                "apiVersion": "fedsvc.io/v1alpha1", "kind": "Cluster",
                "metadata": {"name": spec.name},
                "spec": {"secretRef": {"name": format!("{}-kubeconfig", spec.name), "namespace": SYSTEM_NAMESPACE}},
            }))?;
            members.push((spec.clone(), Arc::new(api)));
        }
        let mut provider = MemoryProvider::new("example.com".parse().expect("a name"));
        let dns_addr = provider
            .serve(opts.dns_listen)
            .await
            .with_context(|| format!("cannot serve DNS on {}", opts.dns_listen))?;
        let dns = Arc::new(provider);
        let cloud = Cloud::start(&members);

        let dns_config =
            fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")?;
        let mut config = ControllerConfig::new("myfederation", "example.com", dns_config);
        config.ttl = opts.ttl;
        config.namespace = SYSTEM_NAMESPACE.into();
        config.leader_election.enabled = false;
        config.listen = "127.0.0.1:0".parse()?;
        config.health.period = opts.probe_period;
        config.health.timeout = Duration::from_secs(1);
        let controller = start(
            &config,
            Parts {
                host: federation.client(),
                members: Arc::new(KubeMemberFactory {
                    options: config.member_options(),
                }),
                provider: Some(dns.clone()),
                resolver: None,
            },
        )
        .await?;
        Ok(World {
            federation,
            members,
            dns,
            dns_addr,
            controller: Some(controller),
            cloud,
        })
    }

    /// A kubeconfig with the context `federation-cluster` and one context per member.
    pub fn kubeconfig(&self) -> String {
        let mut all: Vec<(String, String)> =
            vec![(FEDERATION_CONTEXT.to_owned(), self.federation.url())];
        all.extend(
            self.members
                .iter()
                .map(|(s, api)| (s.name.clone(), api.url())),
        );
        let mut out = String::from("apiVersion: v1\nkind: Config\npreferences: {}\nclusters:\n");
        for (name, url) in &all {
            out.push_str(&format!("- name: {name}\n  cluster:\n    server: {url}\n"));
        }
        out.push_str("contexts:\n");
        for (name, _) in &all {
            out.push_str(&format!(
                "- name: {name}\n  context:\n    cluster: {name}\n    user: fedsvc-demo\n    namespace: default\n"
            ));
        }
        out.push_str(&format!(
            "current-context: {FEDERATION_CONTEXT}\nusers:\n- name: fedsvc-demo\n  user:\n    token: {TOKEN}\n"
        ));
        out
    }

    /// Writes [`World::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.kubeconfig())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The provider configuration of the demo's zone (`fedsvc records --dns FILE`): its embedded
    /// server answers zone transfers, so an RFC 2136 provider without a key can list it. It
    /// refuses updates: the controller alone writes the zone.
    pub fn dns_config(&self) -> String {
        let addr = self.dns_addr;
        [
            format!("# The zone of `fedsvc demo`, served by its embedded DNS server on {addr}."),
            "# Read it with: fedsvc records --dns THIS_FILE (the server refuses updates).".into(),
            "zone: example.com".into(),
            "provider:".into(),
            "  kind: rfc2136".into(),
            format!("  server: {addr}"),
            String::new(),
        ]
        .join("\n")
    }

    /// Writes [`World::dns_config`] to `path`.
    pub fn write_dns_config(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.dns_config())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The member called `name`.
    pub fn member(&self, name: &str) -> anyhow::Result<&ApiServer> {
        self.members
            .iter()
            .find(|(s, _)| s.name == name)
            .map(|(_, a)| a.as_ref())
            .with_context(|| format!("no member cluster {name}"))
    }

    /// Starts `n` backend pods labelled `run=<app>` in `namespace` of member `cluster` (what
    /// `kubectl --context=<cluster> run <app>` does; the simulated cloud counts them as
    /// ready endpoints).
    pub fn add_backends(
        &self,
        cluster: &str,
        namespace: &str,
        app: &str,
        n: u32,
    ) -> anyhow::Result<()> {
        let api = self.member(cluster)?;
        for i in 0..n {
            api.create(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("{app}-{i}"), "namespace": namespace, "labels": {"run": app}},
                "spec": {"containers": [{"name": app, "image": "nginx:1.11.1-alpine", "ports": [{"containerPort": 80}]}]},
            }))?;
        }
        Ok(())
    }

    /// Deletes every pod labelled `run=<app>` in `namespace` of member `cluster`.
    pub fn remove_backends(&self, cluster: &str, namespace: &str, app: &str) -> anyhow::Result<()> {
        let api = self.member(cluster)?;
        for pod in api.list("v1", "Pod", Some(namespace))? {
            if pod["metadata"]["labels"]["run"] == app {
                let name = pod["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                api.delete("v1", "Pod", namespace, &name)?;
            }
        }
        Ok(())
    }

    /// The service records the DNS server holds (without ownership records).
    pub async fn records(&self) -> Vec<RecordSet> {
        let mut all = self.dns.list().await.unwrap_or_default();
        all.retain(|r| !r.name().as_str().starts_with("_fedsvc."));
        all
    }

    /// Stops the controller and the simulated cloud.
    pub async fn stop(mut self) {
        self.cloud.stop();
        if let Some(c) = self.controller.take() {
            c.shutdown(Duration::from_secs(5)).await;
        }
    }
}
