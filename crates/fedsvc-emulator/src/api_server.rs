//! The emulator's handle: start it, point clients at it, drive it from tests.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::EmulatorError;
use crate::handler;
use crate::request_record::RequestRecord;
use crate::resource::Resource;
use crate::shared::Shared;
use crate::store::PatchKind;

/// The bearer token written into kubeconfigs; the emulator accepts any token.
pub const TOKEN: &str = "fedsvc-emulator-token";

/// A running Kubernetes API server emulator on `127.0.0.1`, one per emulated cluster.
///
/// Dropping the handle stops the server and closes its connections.
pub struct ApiServer {
    shared: Arc<Shared>,
    reachable: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

async fn serve(shared: Arc<Shared>, stream: tokio::net::TcpStream) {
    let mut kill = shared.kill.subscribe();
    let svc_shared = shared.clone();
    let service = service_fn(move |req| handler::handle(svc_shared.clone(), req));
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.changed() => {}
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    first: TcpListener,
    mut reachable: watch::Receiver<bool>,
) {
    let mut listener = Some(first);
    loop {
        if !*reachable.borrow_and_update() {
            listener = None;
            if reachable.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => match TcpListener::bind(shared.addr).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, addr = %shared.addr, "cannot re-bind the emulator; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        tokio::select! {
            r = l.accept() => {
                if let Ok((stream, _)) = r {
                    tokio::spawn(serve(shared.clone(), stream));
                }
                listener = Some(l);
            }
            r = reachable.changed() => {
                if r.is_err() {
                    return;
                }
                listener = Some(l);
            }
        }
    }
}

impl ApiServer {
    /// Starts an emulator on a random port of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// When no port can be bound; use [`ApiServer::try_start`] to handle that.
    pub async fn start() -> Self {
        Self::try_start()
            .await
            .expect("start the API server emulator")
    }

    /// Starts an emulator on a random port of 127.0.0.1.
    pub async fn try_start() -> Result<Self, EmulatorError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(EmulatorError::Bind)?;
        let addr = listener.local_addr().map_err(EmulatorError::Bind)?;
        let shared = Arc::new(Shared::new(addr));
        let (reachable, rx) = watch::channel(true);
        let accept = tokio::spawn(accept_loop(shared.clone(), listener, rx));
        Ok(Self {
            shared,
            reachable,
            accept,
        })
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.shared.addr.port()
    }

    /// Its address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// A kubeconfig (YAML) with one cluster, user (bearer token) and context, all named
    /// `context`, namespace `default`; usable by `kubectl` and kube-rs.
    #[must_use]
    pub fn kubeconfig_yaml(&self, context: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- name: {context}\n  cluster:\n    server: {url}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\ncurrent-context: {context}\nusers:\n- name: {context}\n  user:\n    token: {TOKEN}\n",
            url = self.url()
        )
    }

    /// A kube client for the emulator (default namespace `default`).
    ///
    /// Installs the ring rustls provider first (see [`crate::install_crypto_provider`]).
    ///
    /// # Panics
    ///
    /// When the client cannot be built (it never touches the network to be built).
    #[must_use]
    pub fn client(&self) -> kube::Client {
        crate::install_crypto_provider();
        let url = self.url().parse().expect("valid URL");
        let mut config = kube::Config::new(url);
        config.default_namespace = "default".into();
        config.read_timeout = Some(Duration::from_secs(30));
        kube::Client::try_from(config).expect("kube client for the emulator")
    }

    /// Whether `/readyz`, `/healthz` and `/livez` answer `ok` (default) or 500.
    pub fn set_healthy(&self, healthy: bool) {
        self.shared.healthy.store(healthy, Ordering::Relaxed);
    }

    /// `false` closes the listening socket and every open connection (clients see
    /// "connection refused"); `true` listens again on the same port.
    pub fn set_reachable(&self, reachable: bool) {
        self.reachable.send_replace(reachable);
        if !reachable {
            self.shared.kill.send_modify(|g| *g += 1);
        }
    }

    /// Adds `latency` before every response (zero to turn it off).
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.shared.latency_ms.store(ms, Ordering::Relaxed);
    }

    /// Keeps only the last `events` change events for watches that resume from an older
    /// resourceVersion (default 10 000); older versions get 410 Gone.
    pub fn set_history_window(&self, events: usize) {
        self.shared.store().set_window(events);
    }

    /// Forgets all change events: any watch resuming from a version before now gets 410 Gone.
    pub fn compact_history(&self) {
        self.shared.store().compact();
    }

    /// Compacts the history and ends every open watch with an `ERROR` event holding a 410
    /// Status, forcing clients to re-list.
    pub fn expire_watches(&self) {
        self.compact_history();
        self.shared.expire.send_modify(|g| *g += 1);
    }

    /// The current (global) resourceVersion.
    #[must_use]
    pub fn resource_version(&self) -> u64 {
        self.shared.store().resource_version()
    }

    /// Every request served so far.
    #[must_use]
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every request served since the last call (or since the start), forgetting them: for
    /// counting requests over long runs without holding every record.
    pub fn take_requests(&self) -> Vec<RequestRecord> {
        std::mem::take(
            &mut *self
                .shared
                .requests
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Every request answered in Protocol Buffers (`application/vnd.kubernetes.protobuf`) so
    /// far, errors included; [`ApiServer::clear_requests`] forgets them too.
    #[must_use]
    pub fn protobuf_answers(&self) -> Vec<RequestRecord> {
        self.shared
            .protobuf_answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared
            .protobuf_answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn resource(&self, api_version: &str, kind: &str) -> Result<Resource, EmulatorError> {
        self.shared
            .find(api_version, kind)
            .ok_or_else(|| EmulatorError::UnknownResource {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
            })
    }

    fn resource_of(&self, obj: &Value) -> Result<Resource, EmulatorError> {
        self.resource(
            obj["apiVersion"].as_str().unwrap_or("v1"),
            obj["kind"].as_str().unwrap_or(""),
        )
    }

    /// Stores `obj` as given (by its `apiVersion`, `kind`, namespace and name), creating or
    /// replacing it without defaulting or checks, and notifies watches. Returns it as stored.
    pub fn put(&self, obj: Value) -> Result<Value, EmulatorError> {
        let res = self.resource_of(&obj)?;
        Ok(self.shared.store().put_raw(&res, obj))
    }

    /// Creates `obj` as a client's POST would (defaulting, name generation, conflicts).
    pub fn create(&self, obj: Value) -> Result<Value, EmulatorError> {
        let res = self.resource_of(&obj)?;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        Ok(self.shared.store().create(&res, &ns, obj, false)?)
    }

    /// Reads an object; `kind` may be the kind or the plural. `namespace` is ignored for
    /// cluster-scoped resources.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, EmulatorError> {
        let res = self.resource(api_version, kind)?;
        Ok(self.shared.store().get(&res, namespace, name)?)
    }

    /// Lists the objects of a resource (all namespaces when `namespace` is `None`).
    pub fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, EmulatorError> {
        let res = self.resource(api_version, kind)?;
        let none = crate::selector::Selector::default();
        Ok(self.shared.store().list(&res, namespace, &none, &none))
    }

    /// Deletes an object as a client's DELETE would (finalizers only mark it).
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, EmulatorError> {
        let res = self.resource(api_version, kind)?;
        Ok(self.shared.store().delete(&res, namespace, name, false)?)
    }

    /// Applies a JSON merge patch to an object (or to its status with `status`).
    pub fn merge_patch(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
        status: bool,
    ) -> Result<Value, EmulatorError> {
        let res = self.resource(api_version, kind)?;
        let (out, _) = self.shared.store().patch(
            &res,
            namespace,
            name,
            PatchKind::Merge,
            patch,
            status,
            "fedsvc-emulator",
            false,
        )?;
        Ok(out)
    }

    /// Plays the cloud load-balancer controller: sets `status.loadBalancer.ingress` of a
    /// Service to the given IPs and hostnames (both empty clears it).
    pub fn set_load_balancer_ingress(
        &self,
        namespace: &str,
        name: &str,
        ips: &[&str],
        hostnames: &[&str],
    ) -> Result<Value, EmulatorError> {
        let mut ingress: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
        ingress.extend(hostnames.iter().map(|h| json!({"hostname": h})));
        let lb = if ingress.is_empty() {
            json!({})
        } else {
            json!({"ingress": ingress})
        };
        let mut svc = self.get("v1", "Service", namespace, name)?;
        svc["status"]["loadBalancer"] = lb;
        let res = self.resource("v1", "Service")?;
        Ok(self
            .shared
            .store()
            .update(&res, namespace, name, svc, true, false)?)
    }

    /// Whether the pods this emulator runs (made by ReplicaSets or created directly) are ready
    /// (the default) or not: a failure to inject. Running pods follow at once, as do their
    /// ReplicaSets' and Deployments' statuses.
    pub fn set_pods_ready(&self, ready: bool) {
        self.shared.store().set_pods_ready(ready);
    }

    /// Whether this emulator plays a cluster's workload controllers: Deployments make
    /// ReplicaSets, ReplicaSets make pods, the kubelet runs them (the default). Off, it is an
    /// API server alone, as a federation's control plane is: Deployments are stored and their
    /// status is left to whoever writes it.
    pub fn set_workload_controllers(&self, on: bool) {
        self.shared.store().set_workload_controllers(on);
    }

    /// Plays the EndpointSlice controller: replaces the slice `<service>-emulator` of a service
    /// with `ready` ready and `not_ready` unready endpoints (addresses 10.244.0.x).
    pub fn set_endpoints(
        &self,
        namespace: &str,
        service: &str,
        ready: u32,
        not_ready: u32,
    ) -> Result<Value, EmulatorError> {
        let endpoints: Vec<Value> = (0..ready + not_ready)
            .map(|i| {
                json!({
                    "addresses": [format!("10.244.{}.{}", i / 250, i % 250 + 1)],
                    "conditions": {"ready": i < ready, "serving": i < ready, "terminating": false},
                })
            })
            .collect();
        let slice = json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": format!("{service}-emulator"),
                "namespace": namespace,
                "labels": {
                    "kubernetes.io/service-name": service,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"name": "", "port": 80, "protocol": "TCP"}],
        });
        let res = self.resource("discovery.k8s.io/v1", "EndpointSlice")?;
        let name = format!("{service}-emulator");
        let mut store = self.shared.store();
        match store.get(&res, namespace, &name) {
            Ok(_) => Ok(store.update(&res, namespace, &name, slice, false, false)?),
            Err(_) => Ok(store.create(&res, namespace, slice, false)?),
        }
    }

    /// Adds (or replaces) a Ready node with the given zone and region labels
    /// (`topology.kubernetes.io/*`); `None` leaves a label out.
    pub fn add_node(
        &self,
        name: &str,
        zone: Option<&str>,
        region: Option<&str>,
    ) -> Result<Value, EmulatorError> {
        let mut labels = json!({"kubernetes.io/hostname": name});
        if let Some(z) = zone {
            labels["topology.kubernetes.io/zone"] = json!(z);
        }
        if let Some(r) = region {
            labels["topology.kubernetes.io/region"] = json!(r);
        }
        self.put(json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }))
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.kill.send_modify(|g| *g += 1);
    }
}
