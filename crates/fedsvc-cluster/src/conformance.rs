//! What fedsvc last applied to each of its services in a member, next to the version the
//! member's watch last saw, so that making a service conform costs no request when it already
//! does.
//!
//! A federated service is reconciled again and again: when it changes, when a member becomes
//! Ready, when any shard of it changes (its status shows the union of the members' ingress),
//! and every few minutes. With 10 000 services in 20 members, sending each of those a `GET`
//! and an apply would be hundreds of thousands of requests per hour, and at a member's rate
//! limit they would not even finish within the requeue period. So a member remembers, per
//! service, a digest of the copy it applied and the `resourceVersion` the apply returned; its
//! shard watch records the `resourceVersion` of every managed service it sees. While the two
//! versions agree, nobody has touched the copy since it was applied, and a request for the
//! same desired copy is answered at once. A change by anyone else, a deletion, or a watch not
//! (yet) running makes the versions differ or go missing, and the copy is applied again.
//!
//! The watch's versions also let a restarted controller skip a read: a copy the watch lists as
//! ours (labelled with our federation) is applied without a `GET` first.
//!
//! Services are keyed by a 64-bit hash of their namespace and name: a collision can only make
//! two services share an entry, which costs an extra apply, never a skipped one (the digest
//! covers the name); at worst, one of them is applied without being read first.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU64;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::Service;

/// A `resourceVersion`, as a number that is never zero, so that an absent one costs no
/// space (a member holds thousands of services, and the controller tracks them all).
pub(crate) type Version = NonZeroU64;

/// Versions of one member service.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Versions {
    /// The `resourceVersion` the watch last saw (`None`: not seen, or deleted).
    seen: Option<Version>,
    /// The digest of the copy fedsvc last applied, and the `resourceVersion` it got back.
    applied: Option<(u64, Version)>,
}

/// The member services fedsvc applied, and what the watch sees of them.
#[derive(Debug, Default)]
pub(crate) struct Conformance {
    services: Mutex<HashMap<u64, Versions>>,
    /// Whether the watch has listed the member's managed services at least once.
    listed: AtomicBool,
}

fn hash_of(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// The key of service `name` in `namespace`.
pub(crate) fn key(namespace: &str, name: &str) -> u64 {
    hash_of(&[namespace, name])
}

/// A `resourceVersion` as a number (they are opaque strings; those that are not numbers are
/// hashed). Objects never carry `"0"`; were one to, it would read as `u64::MAX`.
pub(crate) fn version(rv: &str) -> Version {
    let n = rv.parse().unwrap_or_else(|_| hash_of(&[rv]));
    Version::new(n).unwrap_or(Version::MAX)
}

/// A digest of the member copy fedsvc wants.
pub(crate) fn digest(desired: &Service) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_vec(desired).unwrap_or_default().hash(&mut h);
    h.finish()
}

fn service_key(svc: &Service) -> Option<u64> {
    Some(key(
        svc.metadata.namespace.as_deref()?,
        svc.metadata.name.as_deref()?,
    ))
}

impl Conformance {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Versions>> {
        self.services.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The watch saw `svc` added or changed (`managed`: labelled as fedsvc's).
    pub(crate) fn seen(&self, svc: &Service, managed: bool) {
        let Some(k) = service_key(svc) else {
            return;
        };
        let rv = svc
            .metadata
            .resource_version
            .as_deref()
            .filter(|_| managed)
            .map(version);
        let mut map = self.lock();
        match rv {
            Some(v) => map.entry(k).or_default().seen = Some(v),
            None => forget_seen(&mut map, k),
        }
    }

    /// The watch saw `svc` deleted.
    pub(crate) fn deleted(&self, svc: &Service) {
        if let Some(k) = service_key(svc) {
            forget_seen(&mut self.lock(), k);
        }
    }

    /// The watch listed every managed service again: `(key, resourceVersion)`.
    pub(crate) fn relisted(&self, listed: &[(u64, Version)]) {
        let mut map = self.lock();
        map.retain(|_, v| {
            v.seen = None;
            v.applied.is_some()
        });
        for (k, rv) in listed {
            map.entry(*k).or_default().seen = Some(*rv);
        }
        self.listed.store(true, Ordering::Release);
    }

    /// Whether the member certainly holds no copy of ours of the service: the watch has
    /// listed the member's managed services, has not seen this one since, and fedsvc has
    /// applied none that the watch could still be catching up with.
    pub(crate) fn certainly_absent(&self, key: u64) -> bool {
        self.listed.load(Ordering::Acquire) && !self.lock().contains_key(&key)
    }

    /// The `(key, resourceVersion)` of a listed service, when it is managed.
    pub(crate) fn listed(svc: &Service, managed: bool) -> Option<(u64, Version)> {
        let rv = svc
            .metadata
            .resource_version
            .as_deref()
            .filter(|_| managed)?;
        Some((service_key(svc)?, version(rv)))
    }

    /// The `resourceVersion` the watch last saw of a service of ours, if it sees one.
    pub(crate) fn seen_version(&self, key: u64) -> Option<Version> {
        self.lock().get(&key).and_then(|v| v.seen)
    }

    /// Whether the copy with `digest` was applied and nobody touched it since.
    pub(crate) fn conforms(&self, key: u64, digest: u64) -> bool {
        self.lock()
            .get(&key)
            .is_some_and(|v| match (v.applied, v.seen) {
                (Some((d, applied)), Some(seen)) => d == digest && applied == seen,
                _ => false,
            })
    }

    /// The copy with `digest` was applied and the member answered with `rv`.
    pub(crate) fn applied(&self, key: u64, digest: u64, rv: Option<&str>) {
        let mut map = self.lock();
        match rv.map(version) {
            Some(v) => map.entry(key).or_default().applied = Some((digest, v)),
            None => {
                if let Some(e) = map.get_mut(&key) {
                    e.applied = None;
                }
            }
        }
    }

    /// Forgets what was applied to a service (it was deleted by fedsvc).
    pub(crate) fn forget(&self, key: u64) {
        self.lock().remove(&key);
    }
}

fn forget_seen(map: &mut HashMap<u64, Versions>, k: u64) {
    if let Some(v) = map.get_mut(&k) {
        v.seen = None;
        if v.applied.is_none() {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn svc(rv: &str) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                resource_version: Some(rv.into()),
                ..ObjectMeta::default()
            },
            ..Service::default()
        }
    }

    #[test]
    fn conforms_only_while_the_watch_sees_what_was_applied() {
        let c = Conformance::default();
        let k = key("ns", "web");
        let d = digest(&svc("1"));
        assert!(!c.conforms(k, d), "nothing applied yet");
        c.applied(k, d, Some("7"));
        assert!(!c.conforms(k, d), "the watch has not seen the copy yet");
        c.seen(&svc("6"), true);
        assert!(!c.conforms(k, d), "the watch lags behind the apply");
        c.seen(&svc("7"), true);
        assert!(c.conforms(k, d));
        assert!(!c.conforms(k, d ^ 1), "another desired copy");
        c.seen(&svc("8"), true);
        assert!(!c.conforms(k, d), "someone else changed it");
        c.applied(k, d, Some("9"));
        c.seen(&svc("9"), true);
        assert!(c.conforms(k, d));
        c.deleted(&svc("9"));
        assert!(!c.conforms(k, d), "deleted");
        c.seen(&svc("9"), true);
        c.seen(&svc("9"), false);
        assert!(!c.conforms(k, d), "no longer labelled as fedsvc's");
    }

    #[test]
    fn a_relist_replaces_what_the_watch_saw() {
        let c = Conformance::default();
        let (k, d) = (key("ns", "web"), 42);
        c.applied(k, d, Some("5"));
        c.seen(&svc("5"), true);
        c.seen(&other("4"), true);
        c.relisted(&[]);
        assert!(!c.conforms(k, d), "not in the listing: gone");
        c.relisted(&[Conformance::listed(&svc("5"), true).unwrap()]);
        assert!(c.conforms(k, d));
        assert_eq!(
            c.lock().len(),
            1,
            "entries of services gone and never applied are dropped"
        );
        c.forget(k);
        assert!(!c.conforms(k, d));
    }

    #[test]
    fn absent_only_once_listed_and_while_nothing_is_known() {
        let c = Conformance::default();
        let k = key("ns", "web");
        assert!(!c.certainly_absent(k), "not listed yet");
        c.relisted(&[]);
        assert!(c.certainly_absent(k));
        c.applied(k, 1, Some("3"));
        assert!(
            !c.certainly_absent(k),
            "just applied: the watch may not have seen it"
        );
        c.forget(k);
        c.seen(&svc("4"), true);
        assert!(!c.certainly_absent(k), "seen");
        c.deleted(&svc("4"));
        assert!(c.certainly_absent(k));
    }

    fn other(rv: &str) -> Service {
        let mut s = svc(rv);
        s.metadata.name = Some("other".into());
        s
    }
}
