//! The object store: every object as generic JSON, one global resourceVersion counter, and a
//! bounded history of change events for watches.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::api_failure::ApiFailure;
use crate::defaults::{self, Allocator};
use crate::patch;
use crate::resource::Resource;
use crate::selector::Selector;

/// The type of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change of one object.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) rv: u64,
    pub(crate) ty: EventType,
    pub(crate) res: String,
    pub(crate) ns: String,
    pub(crate) object: Value,
    pub(crate) old: Option<Value>,
}

/// `(resource key, namespace, name)`; the namespace is empty for cluster-scoped objects.
pub(crate) type ObjKey = (String, String, String);

/// How a PATCH body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    Merge,
    Strategic,
    Json,
    Apply,
}

/// What a watch starts from: events to send first, and the version they bring the client to.
pub(crate) struct WatchStart {
    pub(crate) rx: broadcast::Receiver<Arc<Event>>,
    pub(crate) first: Vec<Arc<Event>>,
    pub(crate) last_rv: u64,
}

/// The store.
pub(crate) struct Store {
    rv: u64,
    objects: BTreeMap<ObjKey, Value>,
    history: VecDeque<Arc<Event>>,
    window: usize,
    compacted: u64,
    tx: broadcast::Sender<Arc<Event>>,
    alloc: Allocator,
    /// Whether `alloc` may still count an address or port no service holds any more.
    alloc_stale: bool,
    /// Objects written since the cluster's controllers last looked ([`crate::workloads`]).
    changed: Vec<Changed>,
    /// Pods made by ReplicaSets so far (their names and addresses derive from it).
    pods_made: u64,
    /// Whether pods the emulator makes are ready.
    pods_ready: bool,
    /// Whether the emulator plays a cluster's workload controllers.
    workload_controllers: bool,
}

/// An object written that one of the cluster's controllers ([`crate::workloads`]) follows: a
/// Deployment, ReplicaSet, Pod, Service or EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Changed {
    /// The resource's store key, as [`Resource::key`].
    pub(crate) res: String,
    pub(crate) ns: String,
    pub(crate) name: String,
    /// The names of its controlling owners, before and after the change.
    pub(crate) owners: Vec<String>,
    /// An EndpointSlice's service (`kubernetes.io/service-name`), before and after.
    pub(crate) services: Vec<String>,
}

/// The store keys of the resources [`Changed`] is recorded for.
const FOLLOWED: [&str; 5] = [
    "apps/deployments",
    "apps/replicasets",
    "/pods",
    "/services",
    "discovery.k8s.io/endpointslices",
];

/// The names of an object's controlling owners.
fn controller_names(obj: &Value) -> impl Iterator<Item = String> + '_ {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["controller"].as_bool() == Some(true))
        .filter_map(|o| o["name"].as_str().map(str::to_owned))
}

/// The cluster IP and node ports a stored service holds.
fn allocations(obj: &Value) -> (Vec<String>, Vec<i64>) {
    let ips = obj["spec"]["clusterIP"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    let ports = obj["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["nodePort"].as_i64())
        .collect();
    (ips, ports)
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

fn pseudo_random() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = jiff::Timestamp::now().as_nanosecond() as u64;
    let mut x = t ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x
}

/// A random-looking UUID (version 4 layout).
fn uid() -> String {
    let a = pseudo_random();
    let b = pseudo_random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = pseudo_random();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// Now, as RFC 3339 with whole seconds (`2026-01-02T03:04:05Z`).
pub(crate) fn now() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .expect("valid time")
        .to_string()
}

fn meta(obj: &Value, field: &str) -> Option<String> {
    obj["metadata"][field].as_str().map(str::to_owned)
}

fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

fn has_finalizers(obj: &Value) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

/// Default number of events kept for watches that resume from an older resourceVersion.
pub(crate) const DEFAULT_WINDOW: usize = 10_000;

impl Store {
    pub(crate) fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        let mut s = Self {
            rv: 1,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            window: DEFAULT_WINDOW,
            compacted: 1,
            tx,
            alloc: Allocator::default(),
            alloc_stale: true,
            changed: Vec::new(),
            pods_made: 0,
            pods_ready: true,
            workload_controllers: true,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let mut obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
            });
            s.stamp_new(&mut obj, ns);
            defaults::namespace(&mut obj);
            s.commit(
                ("/namespaces".into(), String::new(), ns.into()),
                Some(obj),
                None,
            );
        }
        s.compacted = s.rv;
        s.history.clear();
        s
    }

    /// The current resourceVersion.
    pub(crate) fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Keeps only the last `window` events for resuming watches.
    pub(crate) fn set_window(&mut self, window: usize) {
        self.window = window;
        self.trim();
    }

    /// Forgets every event: any watch from an older resourceVersion gets 410 Gone.
    pub(crate) fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }

    fn trim(&mut self) {
        while self.history.len() > self.window {
            if let Some(e) = self.history.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    fn stamp_new(&mut self, obj: &mut Value, name: &str) {
        let m = &mut obj["metadata"];
        m["name"] = json!(name);
        m["uid"] = json!(uid());
        m["creationTimestamp"] = json!(now());
        m["generation"] = json!(1);
        if let Some(map) = m.as_object_mut() {
            map.remove("deletionTimestamp");
            map.remove("resourceVersion");
        }
    }

    /// Writes (or removes, with `None`) an object and records the event.
    fn commit(&mut self, key: ObjKey, new: Option<Value>, ty: Option<EventType>) -> Value {
        self.rv += 1;
        let rv = self.rv;
        let old = self.objects.get(&key).cloned();
        if key.0 == "/services" {
            self.note_allocations(old.as_ref(), new.as_ref());
        }
        if FOLLOWED.contains(&key.0.as_str()) {
            let both = || old.iter().chain(new.as_ref());
            let mut owners: Vec<String> = both().flat_map(controller_names).collect();
            owners.dedup();
            let mut services: Vec<String> = both()
                .filter_map(|o| o["metadata"]["labels"]["kubernetes.io/service-name"].as_str())
                .map(str::to_owned)
                .collect();
            services.dedup();
            self.changed.push(Changed {
                res: key.0.clone(),
                ns: key.1.clone(),
                name: key.2.clone(),
                owners,
                services,
            });
        }
        let (ty, object) = match new {
            Some(mut obj) => {
                obj["metadata"]["resourceVersion"] = json!(rv.to_string());
                self.objects.insert(key.clone(), obj.clone());
                (
                    ty.unwrap_or(if old.is_some() {
                        EventType::Modified
                    } else {
                        EventType::Added
                    }),
                    obj,
                )
            }
            None => {
                let mut obj = self.objects.remove(&key).unwrap_or(Value::Null);
                obj["metadata"]["resourceVersion"] = json!(rv.to_string());
                (EventType::Deleted, obj)
            }
        };
        let event = Arc::new(Event {
            rv,
            ty,
            res: key.0,
            ns: key.1,
            object: object.clone(),
            old,
        });
        self.history.push_back(event.clone());
        self.trim();
        let _ = self.tx.send(event);
        object
    }

    /// Brings the allocator's view of used cluster IPs and node ports up to date: only after a
    /// service released one (deleted, or updated without it) are all services looked at again;
    /// new allocations are noted as services are written ([`Store::commit`]).
    fn refresh_alloc(&mut self) {
        if !self.alloc_stale {
            return;
        }
        self.alloc.used_ips.clear();
        self.alloc.used_ports.clear();
        let start = ("/services".to_owned(), String::new(), String::new());
        for (_, obj) in self
            .objects
            .range(start..)
            .take_while(|((res, _, _), _)| res == "/services")
        {
            let (ips, ports) = allocations(obj);
            self.alloc.used_ips.extend(ips);
            self.alloc.used_ports.extend(ports);
        }
        self.alloc_stale = false;
    }

    /// Keeps the allocator in step with a service written (`new`) in place of `old`.
    fn note_allocations(&mut self, old: Option<&Value>, new: Option<&Value>) {
        let (ips, ports) = new.map(allocations).unwrap_or_default();
        if let Some(old) = old {
            let (old_ips, old_ports) = allocations(old);
            if old_ips.iter().any(|ip| !ips.contains(ip))
                || old_ports.iter().any(|p| !ports.contains(p))
            {
                self.alloc_stale = true;
            }
        }
        self.alloc.used_ips.extend(ips);
        self.alloc.used_ports.extend(ports);
    }

    fn apply_defaults(&mut self, res: &Resource, obj: &mut Value, old: Option<&Value>) {
        match res.key().as_str() {
            "/services" => {
                if let Some(old) = old {
                    defaults::service_keep_allocated(obj, old);
                }
                self.refresh_alloc();
                defaults::service(obj, &mut self.alloc);
            }
            "/namespaces" => defaults::namespace(obj),
            "/secrets" => defaults::secret(obj),
            "apps/deployments" => defaults::deployment(obj),
            "apiextensions.k8s.io/customresourcedefinitions" => {
                let now = now();
                defaults::crd(obj, &now);
            }
            _ => {}
        }
    }

    fn validate(
        res: &Resource,
        name: &str,
        obj: &Value,
        old: Option<&Value>,
    ) -> Result<(), ApiFailure> {
        if res.key() == "/services" {
            let ty = obj["spec"]["type"].as_str().unwrap_or("ClusterIP");
            if !matches!(
                ty,
                "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
            ) {
                return Err(ApiFailure::invalid(
                    res,
                    name,
                    &format!("spec.type: Unsupported value: {ty:?}"),
                ));
            }
            if let Some(old) = old {
                let (n, o) = (&obj["spec"]["clusterIP"], &old["spec"]["clusterIP"]);
                if o.as_str().is_some_and(|o| !o.is_empty())
                    && n.as_str().is_some_and(|n| !n.is_empty())
                    && n != o
                {
                    return Err(ApiFailure::invalid(
                        res,
                        name,
                        "spec.clusterIPs[0]: Invalid value: field is immutable",
                    ));
                }
            }
        }
        Ok(())
    }

    fn key(res: &Resource, ns: &str, name: &str) -> ObjKey {
        let ns = if res.namespaced { ns } else { "" };
        (res.key(), ns.to_owned(), name.to_owned())
    }

    /// Reads one object.
    pub(crate) fn get(&self, res: &Resource, ns: &str, name: &str) -> Result<Value, ApiFailure> {
        self.objects
            .get(&Self::key(res, ns, name))
            .cloned()
            .ok_or_else(|| ApiFailure::not_found(res, name))
    }

    /// The stored objects of a resource that match both selectors, in one namespace or all.
    fn matching<'a>(
        &'a self,
        res: &Resource,
        ns: Option<&'a str>,
        labels: &'a Selector,
        fields: &'a Selector,
    ) -> impl Iterator<Item = &'a Value> {
        let rk = res.key();
        let start = (rk.clone(), ns.unwrap_or_default().to_owned(), String::new());
        self.objects
            .range(start..)
            .take_while(move |((r, n, _), _)| *r == rk && ns.is_none_or(|ns| ns == n))
            .filter(|(_, o)| labels.matches_labels(o) && fields.matches_fields(o))
            .map(|(_, o)| o)
    }

    /// The objects written since the last call that the cluster's controllers follow.
    pub(crate) fn take_changed(&mut self) -> Vec<Changed> {
        std::mem::take(&mut self.changed)
    }

    /// Whether objects the cluster's controllers follow were written since they last looked.
    pub(crate) fn has_changed(&self) -> bool {
        !self.changed.is_empty()
    }

    /// A number for the next pod a ReplicaSet makes.
    pub(crate) fn next_pod_number(&mut self) -> u64 {
        self.pods_made += 1;
        self.pods_made
    }

    /// Whether Deployments, ReplicaSets and pods are acted on ([`crate::workloads`]).
    pub(crate) fn workload_controllers(&self) -> bool {
        self.workload_controllers
    }

    /// Turns the workload controllers on or off.
    pub(crate) fn set_workload_controllers(&mut self, on: bool) {
        self.workload_controllers = on;
    }

    /// Whether pods the emulator makes are ready.
    pub(crate) fn pods_ready(&self) -> bool {
        self.pods_ready
    }

    /// Makes the pods the emulator runs ready or not, those that run and those to come.
    pub(crate) fn set_pods_ready(&mut self, ready: bool) {
        self.pods_ready = ready;
        let flag = if ready { "True" } else { "False" };
        let made: Vec<(ObjKey, Value)> = self
            .objects
            .range(("/pods".to_owned(), String::new(), String::new())..)
            .take_while(|((r, _, _), _)| r == "/pods")
            .filter(|(_, p)| p["status"]["phase"] == "Running")
            .filter(|(_, p)| crate::workloads::pod_ready(p) != ready)
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect();
        for (key, mut pod) in made {
            for c in pod["status"]["conditions"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if c["type"] == "Ready" || c["type"] == "ContainersReady" {
                    c["status"] = json!(flag);
                    c["lastTransitionTime"] = json!(now());
                }
            }
            for c in pod["status"]["containerStatuses"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                c["ready"] = json!(ready);
            }
            self.commit(key, Some(pod), None);
        }
    }

    /// The name of the first stored node, if any.
    pub(crate) fn first_node_name(&self) -> Option<String> {
        self.objects
            .range(("/nodes".to_owned(), String::new(), String::new())..)
            .take_while(|((r, _, _), _)| r == "/nodes")
            .map(|((_, _, name), _)| name.clone())
            .next()
    }

    /// The objects of a resource in namespace `ns` whose names start with `prefix`.
    pub(crate) fn with_prefix<'a>(
        &'a self,
        res: &Resource,
        ns: &'a str,
        prefix: &'a str,
    ) -> impl Iterator<Item = &'a Value> {
        let rk = res.key();
        let start = (rk.clone(), ns.to_owned(), prefix.to_owned());
        self.objects
            .range(start..)
            .take_while(move |((r, n, name), _)| *r == rk && n == ns && name.starts_with(prefix))
            .map(|(_, o)| o)
    }

    /// The objects of a resource in namespace `ns`.
    pub(crate) fn in_namespace<'a>(
        &'a self,
        res: &Resource,
        ns: &'a str,
    ) -> impl Iterator<Item = &'a Value> {
        self.with_prefix(res, ns, "")
    }

    /// Lists objects of a resource, in one namespace or all.
    pub(crate) fn list(
        &self,
        res: &Resource,
        ns: Option<&str>,
        labels: &Selector,
        fields: &Selector,
    ) -> Vec<Value> {
        self.matching(res, ns, labels, fields).cloned().collect()
    }

    /// One page of [`Self::list`]: the `limit` (all when `None`) matching objects after the
    /// first `offset`, and how many match in all. Only the page is copied, so that listing a
    /// large collection page by page does not copy all of it for every page.
    pub(crate) fn list_page(
        &self,
        res: &Resource,
        ns: Option<&str>,
        (labels, fields): (&Selector, &Selector),
        offset: usize,
        limit: Option<usize>,
    ) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut total = 0;
        for o in self.matching(res, ns, labels, fields) {
            if total >= offset && limit.is_none_or(|l| items.len() < l) {
                items.push(o.clone());
            }
            total += 1;
        }
        (items, total)
    }

    /// Every stored CRD object.
    pub(crate) fn crds(&self) -> Vec<Value> {
        const CRDS: &str = "apiextensions.k8s.io/customresourcedefinitions";
        let start = (CRDS.to_owned(), String::new(), String::new());
        self.objects
            .range(start..)
            .take_while(|((r, _, _), _)| r == CRDS)
            .map(|(_, o)| o.clone())
            .collect()
    }

    fn check_namespace(&self, res: &Resource, ns: &str) -> Result<(), ApiFailure> {
        if res.namespaced
            && !self
                .objects
                .contains_key(&("/namespaces".to_owned(), String::new(), ns.to_owned()))
        {
            return Err(ApiFailure {
                code: 404,
                reason: "NotFound".into(),
                message: format!("namespaces \"{ns}\" not found"),
                ..ApiFailure::bad_request("")
            });
        }
        Ok(())
    }

    /// Creates an object (`POST`).
    pub(crate) fn create(
        &mut self,
        res: &Resource,
        ns: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, ApiFailure> {
        if !obj.is_object() {
            return Err(ApiFailure::bad_request("the body must be a JSON object"));
        }
        if res.namespaced {
            if let Some(body_ns) = meta(&obj, "namespace")
                && body_ns != ns
            {
                return Err(ApiFailure::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            self.check_namespace(res, ns)?;
            obj["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        let name = match (meta(&obj, "name"), meta(&obj, "generateName")) {
            (Some(n), _) if !n.is_empty() => n,
            (_, Some(g)) if !g.is_empty() => format!("{g}{}", name_suffix()),
            _ => {
                return Err(ApiFailure::invalid(
                    res,
                    "",
                    "metadata.name: Required value: name or generateName is required",
                ));
            }
        };
        let key = Self::key(res, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiFailure::already_exists(res, &name));
        }
        obj["apiVersion"] = json!(res.api_version());
        obj["kind"] = json!(res.kind);
        self.stamp_new(&mut obj, &name);
        if res.status
            && res.key() != "/namespaces"
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        self.apply_defaults(res, &mut obj, None);
        Self::validate(res, &name, &obj, None)?;
        if dry_run {
            return Ok(obj);
        }
        Ok(self.commit(key, Some(obj), None))
    }

    /// Replaces an object (`PUT`), or its status with `status_only`.
    pub(crate) fn update(
        &mut self,
        res: &Resource,
        ns: &str,
        name: &str,
        new: Value,
        status_only: bool,
        dry_run: bool,
    ) -> Result<Value, ApiFailure> {
        let old = self.get(res, ns, name)?;
        if let Some(rv) = meta(&new, "resourceVersion")
            && !rv.is_empty()
            && Some(rv) != meta(&old, "resourceVersion")
        {
            return Err(ApiFailure::conflict(res, name));
        }
        if let Some(n) = meta(&new, "name")
            && n != name
        {
            return Err(ApiFailure::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        self.finish_update(res, ns, name, old, new, status_only, dry_run)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_update(
        &mut self,
        res: &Resource,
        ns: &str,
        name: &str,
        old: Value,
        new: Value,
        status_only: bool,
        dry_run: bool,
    ) -> Result<Value, ApiFailure> {
        if !new.is_object() {
            return Err(ApiFailure::bad_request("the body must be a JSON object"));
        }
        let mut obj = if status_only {
            let mut o = old.clone();
            o["status"] = new["status"].clone();
            o
        } else {
            let mut o = new;
            if res.status {
                match old.get("status") {
                    Some(s) => o["status"] = s.clone(),
                    None => {
                        if let Some(m) = o.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            o
        };
        obj["apiVersion"] = json!(res.api_version());
        obj["kind"] = json!(res.kind);
        {
            let m = &mut obj["metadata"];
            if !m.is_object() {
                *m = json!({});
            }
            for k in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
                "resourceVersion",
            ] {
                match old["metadata"].get(k) {
                    Some(v) => m[k] = v.clone(),
                    None => {
                        if let Some(map) = m.as_object_mut() {
                            map.remove(k);
                        }
                    }
                }
            }
            if m.get("managedFields").is_none()
                && let Some(mf) = old["metadata"].get("managedFields")
            {
                m["managedFields"] = mf.clone();
            }
        }
        self.apply_defaults(res, &mut obj, Some(&old));
        Self::validate(res, name, &obj, Some(&old))?;
        if spec_part(&obj) != spec_part(&old) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0);
            obj["metadata"]["generation"] = json!(g + 1);
        }
        let key = Self::key(res, ns, name);
        let finalized = !obj["metadata"]["deletionTimestamp"].is_null() && !has_finalizers(&obj);
        if dry_run {
            return Ok(obj);
        }
        if finalized {
            self.objects.insert(key.clone(), obj);
            let gone = self.commit(key, None, None);
            self.cascade(res, name);
            return Ok(gone);
        }
        if obj == old {
            return Ok(old);
        }
        Ok(self.commit(key, Some(obj), None))
    }

    /// Patches an object (`PATCH`); server-side apply creates it when missing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn patch(
        &mut self,
        res: &Resource,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &Value,
        status_only: bool,
        manager: &str,
        dry_run: bool,
    ) -> Result<(Value, bool), ApiFailure> {
        let old = match self.get(res, ns, name) {
            Ok(o) => o,
            Err(e) if kind == PatchKind::Apply && !status_only => {
                let _ = e;
                let mut obj = body.clone();
                if let Some(n) = meta(&obj, "name")
                    && n != name
                {
                    return Err(ApiFailure::bad_request(format!(
                        "the name of the object ({n}) does not match the name on the URL ({name})"
                    )));
                }
                obj["metadata"]["name"] = json!(name);
                obj["metadata"]["managedFields"] =
                    json!([managed_entry(manager, res, &patch::fields_v1(body))]);
                let created = self.create(res, ns, obj, dry_run)?;
                return Ok((created, true));
            }
            Err(e) => return Err(e),
        };
        let mut new = old.clone();
        match kind {
            PatchKind::Merge => patch::merge_patch(&mut new, body),
            PatchKind::Strategic => patch::strategic_merge_patch(&mut new, body),
            PatchKind::Json => patch::json_patch(&mut new, body).map_err(|m| ApiFailure {
                code: 422,
                reason: "Invalid".into(),
                ..ApiFailure::bad_request(m)
            })?,
            PatchKind::Apply => {
                let entries = old["metadata"]["managedFields"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let sub = if status_only { "status" } else { "" };
                let previous = entries
                    .iter()
                    .find(|e| {
                        e["manager"] == json!(manager)
                            && e["operation"] == json!("Apply")
                            && e["subresource"].as_str().unwrap_or("") == sub
                    })
                    .map(|e| e["fieldsV1"].clone());
                patch::apply_merge(&mut new, body, previous.as_ref());
                let fields = patch::fields_v1(body);
                let mut entries: Vec<Value> = entries
                    .into_iter()
                    .filter(|e| {
                        !(e["manager"] == json!(manager)
                            && e["operation"] == json!("Apply")
                            && e["subresource"].as_str().unwrap_or("") == sub)
                    })
                    .collect();
                let mut entry = match previous {
                    Some(p) if p == fields => old["metadata"]["managedFields"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|e| {
                            e["manager"] == json!(manager)
                                && e["operation"] == json!("Apply")
                                && e["subresource"].as_str().unwrap_or("") == sub
                        })
                        .cloned()
                        .unwrap_or_else(|| managed_entry(manager, res, &fields)),
                    _ => managed_entry(manager, res, &fields),
                };
                if status_only {
                    entry["subresource"] = json!("status");
                }
                entries.push(entry);
                new["metadata"]["managedFields"] = json!(entries);
            }
        }
        if kind != PatchKind::Apply
            && let Some(rv) = meta(body, "resourceVersion")
            && Some(rv) != meta(&old, "resourceVersion")
        {
            return Err(ApiFailure::conflict(res, name));
        }
        let updated = self.finish_update(res, ns, name, old, new, status_only, dry_run)?;
        Ok((updated, false))
    }

    /// Deletes an object, or marks it for deletion while it has finalizers.
    pub(crate) fn delete(
        &mut self,
        res: &Resource,
        ns: &str,
        name: &str,
        dry_run: bool,
    ) -> Result<Value, ApiFailure> {
        let mut obj = self.get(res, ns, name)?;
        let key = Self::key(res, ns, name);
        if dry_run {
            return Ok(obj);
        }
        if has_finalizers(&obj) {
            if obj["metadata"]["deletionTimestamp"].is_null() {
                obj["metadata"]["deletionTimestamp"] = json!(now());
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                return Ok(self.commit(key, Some(obj), None));
            }
            return Ok(obj);
        }
        let gone = self.commit(key, None, None);
        self.cascade(res, name);
        Ok(gone)
    }

    /// Deleting a namespace deletes what is in it.
    fn cascade(&mut self, res: &Resource, name: &str) {
        if res.key() != "/namespaces" {
            return;
        }
        let keys: Vec<ObjKey> = self
            .objects
            .keys()
            .filter(|(_, ns, _)| ns == name)
            .cloned()
            .collect();
        for k in keys {
            self.commit(k, None, None);
        }
    }

    /// Puts an object as given (no defaulting, no checks), creating or replacing it.
    pub(crate) fn put_raw(&mut self, res: &Resource, mut obj: Value) -> Value {
        let name = meta(&obj, "name").unwrap_or_default();
        let ns = meta(&obj, "namespace").unwrap_or_default();
        let key = Self::key(res, &ns, &name);
        obj["apiVersion"] = json!(res.api_version());
        obj["kind"] = json!(res.kind);
        if obj["metadata"]["uid"].is_null() {
            obj["metadata"]["uid"] = json!(uid());
        }
        if obj["metadata"]["creationTimestamp"].is_null() {
            obj["metadata"]["creationTimestamp"] = json!(now());
        }
        self.commit(key, Some(obj), None)
    }

    /// Subscribes to changes and collects what a watch from `from` must send first.
    ///
    /// `from == None` (or `sendInitialEvents`) starts with synthetic ADDED events of every
    /// current object of the resource.
    pub(crate) fn watch_start(
        &self,
        res: &Resource,
        ns: Option<&str>,
        from: Option<u64>,
    ) -> Result<WatchStart, ApiFailure> {
        let rx = self.tx.subscribe();
        let rk = res.key();
        let first = match from {
            None => self
                .objects
                .range((rk.clone(), ns.unwrap_or_default().to_owned(), String::new())..)
                .take_while(|((r, n, _), _)| *r == rk && ns.is_none_or(|ns| ns == n))
                .map(|((r, n, _), o)| {
                    Arc::new(Event {
                        rv: o["metadata"]["resourceVersion"]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0),
                        ty: EventType::Added,
                        res: r.clone(),
                        ns: n.clone(),
                        object: o.clone(),
                        old: None,
                    })
                })
                .collect(),
            Some(rv) => {
                if rv < self.compacted {
                    return Err(ApiFailure::gone(rv, self.compacted));
                }
                self.history
                    .iter()
                    .filter(|e| e.rv > rv && e.res == rk && ns.is_none_or(|ns| ns == e.ns))
                    .cloned()
                    .collect()
            }
        };
        Ok(WatchStart {
            rx,
            first,
            last_rv: self.rv,
        })
    }
}

fn managed_entry(manager: &str, res: &Resource, fields: &Value) -> Value {
    json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": res.api_version(),
        "time": now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::builtins;

    fn svc_res() -> Resource {
        builtins()
            .into_iter()
            .find(|r| r.plural == "services")
            .unwrap()
    }

    #[test]
    fn create_conflict_and_stale_update() {
        let mut s = Store::new();
        let r = svc_res();
        let obj = json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}});
        let created = s.create(&r, "default", obj.clone(), false).unwrap();
        assert_eq!(s.create(&r, "default", obj, false).unwrap_err().code, 409);
        let mut stale = created.clone();
        stale["metadata"]["resourceVersion"] = json!("1");
        stale["metadata"]["labels"] = json!({"a": "b"});
        let err = s
            .update(&r, "default", "web", stale, false, false)
            .unwrap_err();
        assert_eq!(err.reason, "Conflict");
    }

    #[test]
    fn finalizers_delay_deletion() {
        let mut s = Store::new();
        let r = svc_res();
        let obj = json!({"metadata": {"name": "web", "finalizers": ["x"]}, "spec": {}});
        s.create(&r, "default", obj, false).unwrap();
        let marked = s.delete(&r, "default", "web", false).unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        let patch = json!({"metadata": {"finalizers": null}});
        s.patch(
            &r,
            "default",
            "web",
            PatchKind::Merge,
            &patch,
            false,
            "t",
            false,
        )
        .unwrap();
        assert_eq!(s.get(&r, "default", "web").unwrap_err().code, 404);
    }

    #[test]
    fn apply_twice_is_a_no_op() {
        let mut s = Store::new();
        let r = svc_res();
        let applied = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        let (a, created) = s
            .patch(
                &r,
                "default",
                "web",
                PatchKind::Apply,
                &applied,
                false,
                "m",
                false,
            )
            .unwrap();
        assert!(created);
        let (b, _) = s
            .patch(
                &r,
                "default",
                "web",
                PatchKind::Apply,
                &applied,
                false,
                "m",
                false,
            )
            .unwrap();
        assert_eq!(
            a["metadata"]["resourceVersion"],
            b["metadata"]["resourceVersion"]
        );
        assert_eq!(
            a["spec"]["ports"][0]["nodePort"],
            b["spec"]["ports"][0]["nodePort"]
        );
    }
}
