//! Joins services and EndpointSlices into shard observations, emitting only changes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use fedsvc_model::ServiceKey;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::member_service::{federation_of, is_managed};
use crate::shard_event::{ShardEvent, ShardObservation};

/// The label EndpointSlices carry with the name of their service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What the tracker keeps of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServiceView {
    federation: Option<String>,
    addresses: Vec<IpAddr>,
    hostnames: Vec<String>,
}

/// State of the shard watches of one member.
#[derive(Debug, Default)]
pub(crate) struct ShardTracker {
    services: BTreeMap<ServiceKey, ServiceView>,
    /// `(namespace, slice name)` → (service name, ready endpoints).
    slices: BTreeMap<(String, String), (String, u32)>,
    /// Ready endpoints per service, summed over its slices and kept in step with `slices`, so
    /// that an observation costs a lookup, not a pass over every slice of the member.
    ready: BTreeMap<ServiceKey, u64>,
    emitted: BTreeMap<ServiceKey, ShardObservation>,
}

fn key_of(ns: Option<&String>, name: Option<&String>) -> Option<ServiceKey> {
    let (ns, name) = (ns?, name?);
    match ServiceKey::parse(ns, name) {
        Ok(k) => Some(k),
        Err(e) => {
            tracing::warn!(namespace = %ns, name = %name, error = %e, "ignoring a service with an invalid name");
            None
        }
    }
}

fn view(svc: &Service) -> ServiceView {
    let mut addresses = BTreeSet::new();
    let mut hostnames = BTreeSet::new();
    if let Some(spec) = &svc.spec {
        for ip in spec.external_ips.iter().flatten() {
            if let Ok(ip) = ip.parse::<IpAddr>() {
                addresses.insert(ip);
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
            addresses.insert(ip);
        }
        if let Some(h) = i.hostname.as_deref().filter(|h| !h.is_empty()) {
            hostnames.insert(h.to_ascii_lowercase());
        }
    }
    ServiceView {
        federation: federation_of(svc).map(str::to_owned),
        addresses: addresses.into_iter().collect(),
        hostnames: hostnames.into_iter().collect(),
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
    fn observe(&mut self, key: &ServiceKey) -> Option<ShardEvent> {
        match self.services.get(key) {
            Some(v) => {
                let ready = self.ready.get(key).copied().unwrap_or(0);
                let ready = u32::try_from(ready).unwrap_or(u32::MAX);
                let obs = ShardObservation {
                    key: key.clone(),
                    federation: v.federation.clone(),
                    addresses: v.addresses.clone(),
                    hostnames: v.hostnames.clone(),
                    ready_endpoints: ready,
                };
                if self.emitted.get(key) == Some(&obs) {
                    return None;
                }
                self.emitted.insert(key.clone(), obs.clone());
                Some(ShardEvent::Observed(obs))
            }
            None => self
                .emitted
                .remove(key)
                .map(|_| ShardEvent::Gone(key.clone())),
        }
    }

    /// A service was added or changed.
    pub(crate) fn apply_service(&mut self, svc: &Service) -> Option<ShardEvent> {
        let key = key_of(svc.metadata.namespace.as_ref(), svc.metadata.name.as_ref())?;
        if is_managed(svc) {
            self.services.insert(key.clone(), view(svc));
        } else {
            self.services.remove(&key);
        }
        self.observe(&key)
    }

    /// A service was deleted.
    pub(crate) fn delete_service(&mut self, svc: &Service) -> Option<ShardEvent> {
        let key = key_of(svc.metadata.namespace.as_ref(), svc.metadata.name.as_ref())?;
        self.services.remove(&key);
        self.observe(&key)
    }

    fn slice_target(slice: &EndpointSlice) -> Option<(String, String, String)> {
        let ns = slice.metadata.namespace.clone()?;
        let name = slice.metadata.name.clone()?;
        let svc = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
            .cloned()?;
        Some((ns, name, svc))
    }

    fn service_key(ns: &str, svc: &str) -> Option<ServiceKey> {
        ServiceKey::parse(ns, svc).ok()
    }

    /// Files slice `name` of `ns` under service `svc` with `ready` endpoints, in place of what
    /// it held before (returned), keeping the per-service sums in step.
    fn insert_slice(
        &mut self,
        ns: &str,
        name: String,
        svc: &str,
        ready: u32,
    ) -> Option<(String, u32)> {
        let previous = self
            .slices
            .insert((ns.to_owned(), name), (svc.to_owned(), ready));
        if let Some((old_svc, old_ready)) = &previous {
            self.count(ns, old_svc, *old_ready, false);
        }
        self.count(ns, svc, ready, true);
        previous
    }

    /// Adds a slice's ready endpoints to its service's sum, or takes them away.
    fn count(&mut self, ns: &str, svc: &str, ready: u32, add: bool) {
        let Some(key) = Self::service_key(ns, svc) else {
            return;
        };
        let sum = self.ready.entry(key.clone()).or_insert(0);
        *sum = if add {
            sum.saturating_add(u64::from(ready))
        } else {
            sum.saturating_sub(u64::from(ready))
        };
        if *sum == 0 {
            self.ready.remove(&key);
        }
    }

    /// An EndpointSlice was added or changed.
    pub(crate) fn apply_slice(&mut self, slice: &EndpointSlice) -> Vec<ShardEvent> {
        let Some((ns, name, svc)) = Self::slice_target(slice) else {
            return Vec::new();
        };
        let previous = self.insert_slice(&ns, name, &svc, ready_count(slice));
        let mut keys: Vec<ServiceKey> = Self::service_key(&ns, &svc).into_iter().collect();
        if let Some((old_svc, _)) = previous
            && old_svc != svc
        {
            keys.extend(Self::service_key(&ns, &old_svc));
        }
        keys.iter().filter_map(|k| self.observe(k)).collect()
    }

    /// An EndpointSlice was deleted.
    pub(crate) fn delete_slice(&mut self, slice: &EndpointSlice) -> Vec<ShardEvent> {
        let (Some(ns), Some(name)) = (
            slice.metadata.namespace.clone(),
            slice.metadata.name.clone(),
        ) else {
            return Vec::new();
        };
        match self.slices.remove(&(ns.clone(), name)) {
            Some((svc, ready)) => {
                self.count(&ns, &svc, ready, false);
                Self::service_key(&ns, &svc)
                    .and_then(|k| self.observe(&k))
                    .into_iter()
                    .collect()
            }
            None => Vec::new(),
        }
    }

    /// Replaces every service with a fresh listing (after a (re-)list).
    pub(crate) fn resync_services(&mut self, all: &[Service]) -> Vec<ShardEvent> {
        let before: Vec<ServiceKey> = self.services.keys().cloned().collect();
        self.services.clear();
        for svc in all.iter().filter(|s| is_managed(s)) {
            if let Some(k) = key_of(svc.metadata.namespace.as_ref(), svc.metadata.name.as_ref()) {
                self.services.insert(k, view(svc));
            }
        }
        let mut keys: BTreeSet<ServiceKey> = before.into_iter().collect();
        keys.extend(self.services.keys().cloned());
        keys.extend(self.emitted.keys().cloned());
        keys.iter().filter_map(|k| self.observe(k)).collect()
    }

    /// Replaces every EndpointSlice with a fresh listing (after a (re-)list).
    pub(crate) fn resync_slices(&mut self, all: &[EndpointSlice]) -> Vec<ShardEvent> {
        self.slices.clear();
        self.ready.clear();
        for s in all {
            // The same slice twice in one listing: the later one stands.
            if let Some((ns, name, svc)) = Self::slice_target(s) {
                self.insert_slice(&ns, name, &svc, ready_count(s));
            }
        }
        let keys: Vec<ServiceKey> = self.services.keys().cloned().collect();
        keys.iter().filter_map(|k| self.observe(k)).collect()
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
        let ev = t.resync_slices(&[
            slice_of("a", "web", 1),
            slice_of("c", "api", 4),
            slice_of("c", "api", 5),
        ]);
        assert_eq!(ready_of(&ev, "web"), Some(1));
        assert_eq!(ready_of(&ev, "api"), Some(5));
        let ev = t.delete_slice(&slice_of("c", "api", 0));
        assert_eq!(ready_of(&ev, "api"), Some(0));
    }

    #[test]
    fn resync_reports_services_gone_meanwhile() {
        let mut t = ShardTracker::default();
        t.apply_service(&svc("1.2.3.4"));
        let ev = t.resync_services(&[]);
        assert!(matches!(ev.as_slice(), [ShardEvent::Gone(_)]));
    }
}
