//! Joins services and EndpointSlices into shard observations, emitting only changes.
//!
//! A member may hold tens of thousands of services, and the controller keeps one tracker per
//! member, so the tracker keeps only what an observation needs, compactly: per service its
//! addresses, hostnames, federation (shared between services), ready endpoints summed over
//! its slices and what was last reported; per slice its service (most often as the length of
//! the slice name's prefix that names it) and ready count. During a (re-)list, objects are
//! reduced to [`ServiceItem`]s and [`SliceItem`]s as they arrive, so a listing is never held
//! as whole objects.

use std::collections::{BTreeMap, HashMap, hash_map};
use std::net::IpAddr;
use std::sync::Arc;

use fedsvc_model::{Addresses, DnsName, ServiceKey};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::member_service::{federation_of, is_managed};
use crate::shard_event::{ShardEvent, ShardObservation};

/// The label EndpointSlices carry with the name of their service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `namespace/name` of a service or a slice (neither part can hold a `/`).
type Key = Box<str>;

fn join(ns: &str, name: &str) -> Key {
    let mut k = String::with_capacity(ns.len() + 1 + name.len());
    k.push_str(ns);
    k.push('/');
    k.push_str(name);
    k.into_boxed_str()
}

/// The namespace part of a key.
fn namespace_of(key: &str) -> &str {
    key.split_once('/').map_or(key, |(ns, _)| ns)
}

/// The name part of a key.
fn name_of(key: &str) -> &str {
    key.split_once('/').map_or(key, |(_, name)| name)
}

/// The key of a valid service name, or `None` (with a warning, once per event).
fn service_key(ns: &str, name: &str, warn: bool) -> Option<Key> {
    match ServiceKey::parse(ns, name) {
        Ok(_) => Some(join(ns, name)),
        Err(e) => {
            if warn {
                tracing::warn!(namespace = %ns, name = %name, error = %e, "ignoring a service with an invalid name");
            }
            None
        }
    }
}

/// What the tracker keeps of one of our services.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServiceView {
    federation: Option<Arc<str>>,
    addresses: Addresses,
    hostnames: Box<[DnsName]>,
}

/// A service reduced to what the tracker keeps: its key, and its view when it is ours.
#[derive(Debug)]
pub(crate) struct ServiceItem {
    key: Key,
    view: Option<ServiceView>,
}

impl ServiceItem {
    /// The item of a service, `None` when its name is invalid.
    pub(crate) fn of(svc: &Service) -> Option<ServiceItem> {
        let (ns, name) = (
            svc.metadata.namespace.as_ref()?,
            svc.metadata.name.as_ref()?,
        );
        let key = service_key(ns, name, true)?;
        let view = is_managed(svc).then(|| view(svc));
        Some(ServiceItem { key, view })
    }
}

/// An EndpointSlice reduced to what the tracker keeps.
#[derive(Debug)]
pub(crate) struct SliceItem {
    /// `namespace/slice name`.
    key: Key,
    /// The name of its service.
    service: Box<str>,
    ready: u32,
}

impl SliceItem {
    /// The item of a slice, `None` when it names no service.
    pub(crate) fn of(slice: &EndpointSlice) -> Option<SliceItem> {
        let ns = slice.metadata.namespace.as_deref()?;
        let name = slice.metadata.name.as_deref()?;
        let service = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))?;
        Some(SliceItem {
            key: join(ns, name),
            service: service.as_str().into(),
            ready: ready_count(slice),
        })
    }
}

/// The service a slice belongs to, as filed. Nearly every slice is named after its service
/// (`<service>-<suffix>`, as the EndpointSlice controller names them): then only the length of
/// that prefix is kept, not a copy of the name.
#[derive(Debug)]
enum SliceService {
    /// The first this many bytes of the slice's name.
    Prefix(u8),
    /// A service whose name does not begin the slice's.
    Named(Box<str>),
}

impl SliceService {
    /// How the slice at `key` (`namespace/slice name`) files `service`.
    fn file(key: &str, service: Box<str>) -> Self {
        let slice = name_of(key);
        let n = service.len();
        match u8::try_from(n) {
            Ok(len)
                if slice.len() > n
                    && slice.starts_with(&*service)
                    && slice.as_bytes()[n] == b'-' =>
            {
                SliceService::Prefix(len)
            }
            _ => SliceService::Named(service),
        }
    }

    /// The service's name, for the slice at `key`.
    fn name<'a>(&'a self, key: &'a str) -> &'a str {
        match self {
            SliceService::Prefix(len) => &name_of(key)[..usize::from(*len)],
            SliceService::Named(name) => name,
        }
    }
}

/// One service: its view while it is ours, its ready endpoints, and what was reported.
#[derive(Debug, Default)]
struct Entry {
    view: Option<ServiceView>,
    /// Ready endpoints summed over the service's slices.
    ready: u64,
    /// The ready endpoints of the last `Observed`; `None` when nothing was reported or the
    /// last report was `Gone`.
    reported: Option<u32>,
    /// Whether `view` is as last reported.
    view_reported: bool,
}

impl Entry {
    fn is_empty(&self) -> bool {
        self.view.is_none() && self.ready == 0 && self.reported.is_none()
    }

    fn set_view(&mut self, view: Option<ServiceView>) {
        if self.view != view {
            self.view = view;
            self.view_reported = false;
        }
    }
}

/// State of the shard watches of one member.
#[derive(Debug, Default)]
pub(crate) struct ShardTracker {
    services: BTreeMap<Key, Entry>,
    /// `namespace/slice name` → (its service, ready endpoints).
    slices: HashMap<Key, (SliceService, u32)>,
    /// Federation names, shared by the views that carry them.
    federations: Vec<Arc<str>>,
}

fn view(svc: &Service) -> ServiceView {
    let mut addresses = Vec::new();
    let mut hostnames: Vec<DnsName> = Vec::new();
    if let Some(spec) = &svc.spec {
        for ip in spec.external_ips.iter().flatten() {
            if let Ok(ip) = ip.parse::<IpAddr>() {
                addresses.push(ip);
            }
        }
    }
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    for i in ingress.into_iter().flatten() {
        if let Some(ip) = i.ip.as_deref().and_then(|ip| ip.parse::<IpAddr>().ok()) {
            addresses.push(ip);
        }
        if let Some(h) = i.hostname.as_deref().filter(|h| !h.is_empty()) {
            // Validated where it enters: a hostname that is not a host name cannot be the
            // target of a record, so it is left out, and said so.
            match DnsName::parse(h) {
                Ok(name) => hostnames.push(name),
                Err(e) => tracing::warn!(
                    service = %format_args!(
                        "{}/{}",
                        svc.metadata.namespace.as_deref().unwrap_or_default(),
                        svc.metadata.name.as_deref().unwrap_or_default()
                    ),
                    hostname = %h,
                    error = %e,
                    "load-balancer hostname left out: not a host name"
                ),
            }
        }
    }
    hostnames.sort_unstable();
    hostnames.dedup();
    ServiceView {
        federation: federation_of(svc).map(Arc::from),
        addresses: Addresses::from(addresses),
        hostnames: hostnames.into(),
    }
}

/// Endpoints of a slice whose `ready` condition is true or absent.
pub(crate) fn ready_count(slice: &EndpointSlice) -> u32 {
    let n = slice
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ShardTracker {
    /// `view` with its federation name shared with the other views.
    fn intern(&mut self, mut view: ServiceView) -> ServiceView {
        if let Some(f) = &view.federation {
            match self.federations.iter().find(|k| k[..] == f[..]) {
                Some(k) => view.federation = Some(k.clone()),
                None => self.federations.push(f.clone()),
            }
        }
        view
    }

    /// Reports the service at `key` when what it looks like differs from what was reported.
    fn observe(&mut self, key: &str) -> Option<ShardEvent> {
        let e = self.services.get_mut(key)?;
        let event = match &e.view {
            Some(v) => {
                let ready = u32::try_from(e.ready).unwrap_or(u32::MAX);
                if e.view_reported && e.reported == Some(ready) {
                    None
                } else {
                    e.view_reported = true;
                    e.reported = Some(ready);
                    let (ns, name) = key.split_once('/')?;
                    Some(ShardEvent::Observed(ShardObservation {
                        key: ServiceKey::parse(ns, name).ok()?,
                        federation: v.federation.as_deref().map(str::to_owned),
                        addresses: v.addresses.to_vec(),
                        hostnames: v.hostnames.to_vec(),
                        ready_endpoints: ready,
                    }))
                }
            }
            None => match e.reported.take() {
                Some(_) => {
                    e.view_reported = false;
                    let (ns, name) = key.split_once('/')?;
                    Some(ShardEvent::Gone(ServiceKey::parse(ns, name).ok()?))
                }
                None => None,
            },
        };
        if e.is_empty() {
            self.services.remove(key);
        }
        event
    }

    /// A service was added or changed.
    pub(crate) fn apply_service(&mut self, svc: &Service) -> Option<ShardEvent> {
        let item = ServiceItem::of(svc)?;
        let view = item.view.map(|v| self.intern(v));
        match self.services.get_mut(&item.key) {
            Some(e) => e.set_view(view),
            None if view.is_some() => {
                let mut e = Entry::default();
                e.set_view(view);
                self.services.insert(item.key.clone(), e);
            }
            None => return None,
        }
        self.observe(&item.key)
    }

    /// A service was deleted.
    pub(crate) fn delete_service(&mut self, svc: &Service) -> Option<ShardEvent> {
        let (ns, name) = (
            svc.metadata.namespace.as_ref()?,
            svc.metadata.name.as_ref()?,
        );
        let key = service_key(ns, name, false)?;
        self.services.get_mut(&key)?.set_view(None);
        self.observe(&key)
    }

    /// Adds a slice's ready endpoints to its service's sum, or takes them away.
    fn count(&mut self, ns: &str, svc: &str, ready: u32, add: bool) {
        if ready == 0 {
            return;
        }
        let Some(key) = service_key(ns, svc, false) else {
            return;
        };
        let e = self.services.entry(key).or_default();
        e.ready = if add {
            e.ready.saturating_add(u64::from(ready))
        } else {
            e.ready.saturating_sub(u64::from(ready))
        };
    }

    /// Files a slice in place of what it held before (returned), keeping the per-service
    /// sums in step.
    fn insert_slice(&mut self, item: SliceItem) -> Option<(Box<str>, u32)> {
        let ns = namespace_of(&item.key).to_owned();
        self.count(&ns, &item.service, item.ready, true);
        let filed = SliceService::file(&item.key, item.service);
        let (old_svc, old_ready) = match self.slices.entry(item.key) {
            hash_map::Entry::Occupied(mut e) => {
                let (old, ready) = std::mem::replace(e.get_mut(), (filed, item.ready));
                (Box::<str>::from(old.name(e.key())), ready)
            }
            hash_map::Entry::Vacant(e) => {
                e.insert((filed, item.ready));
                return None;
            }
        };
        self.count(&ns, &old_svc, old_ready, false);
        Some((old_svc, old_ready))
    }

    /// Observes the services at `keys` (`namespace`, service name), in order, once each.
    fn observe_all<'a>(
        &mut self,
        ns: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Vec<ShardEvent> {
        let mut out = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for name in names {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            if let Some(ev) = service_key(ns, name, false).and_then(|k| self.observe(&k)) {
                out.push(ev);
            }
        }
        out
    }

    /// An EndpointSlice was added or changed.
    pub(crate) fn apply_slice(&mut self, slice: &EndpointSlice) -> Vec<ShardEvent> {
        let Some(item) = SliceItem::of(slice) else {
            return Vec::new();
        };
        let ns = namespace_of(&item.key).to_owned();
        let svc = item.service.clone();
        let previous = self.insert_slice(item);
        let old = previous.as_ref().map(|(s, _)| &**s);
        self.observe_all(&ns, std::iter::once(&*svc).chain(old))
    }

    /// An EndpointSlice was deleted.
    pub(crate) fn delete_slice(&mut self, slice: &EndpointSlice) -> Vec<ShardEvent> {
        let (Some(ns), Some(name)) = (
            slice.metadata.namespace.as_deref(),
            slice.metadata.name.as_deref(),
        ) else {
            return Vec::new();
        };
        let key = join(ns, name);
        match self.slices.remove(&key) {
            Some((svc, ready)) => {
                let svc = svc.name(&key);
                self.count(ns, svc, ready, false);
                self.observe_all(ns, [svc])
            }
            None => Vec::new(),
        }
    }

    /// Replaces every service with a fresh listing (after a (re-)list).
    pub(crate) fn resync_services(&mut self, all: Vec<ServiceItem>) -> Vec<ShardEvent> {
        let mut fresh: HashMap<Key, ServiceView> = HashMap::with_capacity(all.len());
        for item in all {
            match item.view {
                Some(v) => {
                    let v = self.intern(v);
                    fresh.insert(item.key, v);
                }
                None => {
                    fresh.remove(&item.key);
                }
            }
        }
        for (key, e) in &mut self.services {
            e.set_view(fresh.remove(key));
        }
        for (key, view) in fresh {
            let mut e = Entry::default();
            e.set_view(Some(view));
            self.services.insert(key, e);
        }
        self.observe_every()
    }

    /// Replaces every EndpointSlice with a fresh listing (after a (re-)list).
    pub(crate) fn resync_slices(&mut self, all: Vec<SliceItem>) -> Vec<ShardEvent> {
        self.slices.clear();
        for e in self.services.values_mut() {
            e.ready = 0;
        }
        for item in all {
            // The same slice twice in one listing: the later one stands.
            self.insert_slice(item);
        }
        self.observe_every()
    }

    /// Observes every service (after a listing), in key order.
    fn observe_every(&mut self) -> Vec<ShardEvent> {
        let keys: Vec<Key> = self.services.keys().cloned().collect();
        let events = keys.iter().filter_map(|k| self.observe(k)).collect();
        // A listing fills the map one entry at a time, leaving its nodes a third empty or
        // more: repacked, it takes what a map built at once does.
        fedsvc_model::repack(&mut self.services);
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn svc(ip: &str) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/managed-by".to_owned(),
                    "fedsvc".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: Some(vec![LoadBalancerIngress {
                        ip: Some(ip.into()),
                        ..LoadBalancerIngress::default()
                    }]),
                }),
                ..ServiceStatus::default()
            }),
        }
    }

    fn slice(name: &str, ready: &[Option<bool>]) -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                labels: Some(BTreeMap::from([(
                    SERVICE_NAME_LABEL.to_owned(),
                    "web".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            address_type: "IPv4".into(),
            endpoints: ready
                .iter()
                .map(|r| Endpoint {
                    addresses: vec!["10.0.0.1".into()],
                    conditions: Some(EndpointConditions {
                        ready: *r,
                        ..EndpointConditions::default()
                    }),
                    ..Endpoint::default()
                })
                .collect(),
            ports: None,
        }
    }

    #[test]
    fn sums_ready_endpoints_and_dedups_events() {
        let mut t = ShardTracker::default();
        assert!(matches!(
            t.apply_service(&svc("1.2.3.4")),
            Some(ShardEvent::Observed(_))
        ));
        assert!(t.apply_service(&svc("1.2.3.4")).is_none());
        t.apply_slice(&slice("a", &[Some(true), None, Some(false)]));
        let ev = t.apply_slice(&slice("b", &[Some(true)]));
        let ShardEvent::Observed(o) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(o.ready_endpoints, 3);
        let ev = t.delete_slice(&slice("a", &[]));
        let ShardEvent::Observed(o) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(o.ready_endpoints, 1);
        assert!(matches!(
            t.delete_service(&svc("1.2.3.4")),
            Some(ShardEvent::Gone(_))
        ));
    }

    fn slice_of(name: &str, service: &str, ready: usize) -> EndpointSlice {
        let mut s = slice(name, &vec![Some(true); ready]);
        s.metadata.labels = Some(BTreeMap::from([(
            SERVICE_NAME_LABEL.to_owned(),
            service.to_owned(),
        )]));
        s
    }

    fn ready_of(ev: &[ShardEvent], name: &str) -> Option<u32> {
        ev.iter().find_map(|e| match e {
            ShardEvent::Observed(o) if o.key.name.as_str() == name => Some(o.ready_endpoints),
            _ => None,
        })
    }

    #[test]
    fn a_slice_that_moves_to_another_service_is_counted_there_only() {
        let mut t = ShardTracker::default();
        let mut other = svc("1.2.3.5");
        other.metadata.name = Some("api".into());
        t.apply_service(&svc("1.2.3.4"));
        t.apply_service(&other);
        t.apply_slice(&slice_of("a", "web", 2));
        t.apply_slice(&slice_of("b", "web", 1));
        t.apply_slice(&slice_of("c", "api", 4));
        // Slice b is relabelled from web to api: both services are observed again.
        let ev = t.apply_slice(&slice_of("b", "api", 3));
        assert_eq!(ready_of(&ev, "web"), Some(2));
        assert_eq!(ready_of(&ev, "api"), Some(7));
        // A listing replaces everything, and a slice listed twice counts once.
        let ev = t.resync_slices(
            [
                slice_of("a", "web", 1),
                slice_of("c", "api", 4),
                slice_of("c", "api", 5),
            ]
            .iter()
            .filter_map(SliceItem::of)
            .collect(),
        );
        assert_eq!(ready_of(&ev, "web"), Some(1));
        assert_eq!(ready_of(&ev, "api"), Some(5));
        let ev = t.delete_slice(&slice_of("c", "api", 0));
        assert_eq!(ready_of(&ev, "api"), Some(0));
    }

    #[test]
    fn a_slice_is_counted_for_its_service_whether_or_not_named_after_it() {
        let mut t = ShardTracker::default();
        let mut other = svc("1.2.3.5");
        other.metadata.name = Some("api".into());
        t.apply_service(&svc("1.2.3.4"));
        t.apply_service(&other);
        // Named after its service, named like it but not after it, and named as it exactly.
        t.apply_slice(&slice_of("web-x1", "web", 1));
        t.apply_slice(&slice_of("webby-1", "web", 2));
        let ev = t.apply_slice(&slice_of("web", "web", 4));
        assert_eq!(ready_of(&ev, "web"), Some(7));
        assert!(matches!(
            t.slices.get("ns/web-x1"),
            Some((SliceService::Prefix(3), 1))
        ));
        assert!(matches!(
            t.slices.get("ns/webby-1"),
            Some((SliceService::Named(_), 2))
        ));
        // A slice named after one service moves to another, and back.
        let ev = t.apply_slice(&slice_of("web-x1", "api", 8));
        assert_eq!(ready_of(&ev, "web"), Some(6));
        assert_eq!(ready_of(&ev, "api"), Some(8));
        let ev = t.apply_slice(&slice_of("web-x1", "web", 1));
        assert_eq!(ready_of(&ev, "web"), Some(7));
        assert_eq!(ready_of(&ev, "api"), Some(0));
        for (name, left) in [("web-x1", 6), ("webby-1", 4), ("web", 0)] {
            let ev = t.delete_slice(&slice_of(name, "ignored", 0));
            assert_eq!(ready_of(&ev, "web"), Some(left), "{name}");
        }
        assert!(t.slices.is_empty());
    }

    #[test]
    fn a_service_of_several_addresses_or_none_reports_them_all() {
        for ips in [vec![], vec!["10.0.0.2", "10.0.0.1", "10.0.0.2"]] {
            let mut t = ShardTracker::default();
            let mut s = svc("1.2.3.4");
            s.status = None;
            s.spec = Some(k8s_openapi::api::core::v1::ServiceSpec {
                external_ips: Some(ips.iter().map(|ip| ip.to_string()).collect()),
                ..Default::default()
            });
            let Some(ShardEvent::Observed(o)) = t.apply_service(&s) else {
                panic!("not observed")
            };
            let mut want: Vec<IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
            want.sort();
            want.dedup();
            assert_eq!(o.addresses, want);
        }
    }

    #[test]
    fn resync_reports_services_gone_meanwhile() {
        let mut t = ShardTracker::default();
        t.apply_service(&svc("1.2.3.4"));
        let ev = t.resync_services(Vec::new());
        assert!(matches!(ev.as_slice(), [ShardEvent::Gone(_)]));
    }
    #[test]
    fn hostnames_are_validated_where_they_are_read() {
        let mut s = svc("203.0.113.7");
        let ingress = s
            .status
            .as_mut()
            .and_then(|st| st.load_balancer.as_mut())
            .and_then(|lb| lb.ingress.as_mut())
            .unwrap();
        for h in ["LB.example.net", "not a host name!", "lb.example.net", ""] {
            ingress.push(LoadBalancerIngress {
                hostname: Some(h.into()),
                ..LoadBalancerIngress::default()
            });
        }
        let v = view(&s);
        // Lower-cased, made unique; the one that is not a host name is left out.
        assert_eq!(
            v.hostnames.to_vec(),
            vec![DnsName::parse("lb.example.net").unwrap()]
        );
        assert_eq!(
            v.addresses.to_vec(),
            vec!["203.0.113.7".parse::<IpAddr>().unwrap()]
        );
    }
}
