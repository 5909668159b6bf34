//! What fedsvc last applied to each of its copies in a member (services, Deployments), next
//! to the version the member's watch last saw, so that making a copy conform costs no request
//! when it already does.
//!
//! A federated object is reconciled again and again: when it changes, when a member becomes
//! Ready, when any copy of it changes (its status shows the union of the members' ingress, or
//! the sum of their replicas), and every few minutes. With 10 000 services in 20 members,
//! sending each of those a `GET` and an apply would be hundreds of thousands of requests per
//! hour, and at a member's rate limit they would not even finish within the requeue period. So
//! a member remembers, per copy, a digest of the copy it applied and the *version* the apply
//! returned; its watch records the version of every copy of ours it sees. While the two
//! versions agree, nobody has touched the copy since it was applied, and a request for the
//! same desired copy is answered at once. A change by anyone else, a deletion, or a watch not
//! (yet) running makes the versions differ or go missing, and the copy is applied again.
//!
//! What a version is depends on the kind. A service's is its `resourceVersion`. A Deployment's
//! `resourceVersion` moves with every status change its controller writes, so its version is a
//! fingerprint of what fedsvc owns and others could change: the object less its status, the
//! server's bookkeeping and the deployment controller's annotations
//! (`kube_workload::fingerprint`).
//!
//! The watch's versions also let a restarted controller skip a read: a copy the watch lists as
//! ours (labelled with our federation) is applied without a `GET` first.
//!
//! Copies are keyed by a 64-bit hash of their namespace and name, one map per kind: a
//! collision can only make two copies share an entry, which costs an extra apply, never a
//! skipped one (the digest covers the name); at worst, one of them is applied without being
//! read first. Kinds no watch follows (ConfigMaps, Secrets) use the map for the digest alone.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU64;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// The version of a copy, as a number that is never zero, so that an absent one costs no
/// space (a member holds thousands of copies, and the controller tracks them all).
pub(crate) type Version = NonZeroU64;

/// Versions of one member copy.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Versions {
    /// The version the watch last saw (`None`: not seen, or deleted).
    seen: Option<Version>,
    /// The digest of the copy fedsvc last applied, and the version it got back.
    applied: Option<(u64, Version)>,
}

// An entry per copy and member: 200 000 of them for 10 000 services in 20 members. The
// object by that name that is not ours (another federation's copy) needs no field: its entry,
// with nothing seen and nothing applied, is what `certainly_absent` looks for.
const _: () = assert!(std::mem::size_of::<Versions>() == 24);

/// The member copies of one kind fedsvc applied, and what the watch sees of them.
#[derive(Debug, Default)]
pub(crate) struct Conformance {
    copies: Mutex<HashMap<u64, Versions>>,
    /// Whether the watch has listed the member's copies at least once.
    listed: AtomicBool,
}

fn hash_of(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// The key of copy `name` in `namespace`.
pub(crate) fn key(namespace: &str, name: &str) -> u64 {
    hash_of(&[namespace, name])
}

/// The key of the object with `meta`, when it has a namespace and a name.
pub(crate) fn meta_key(meta: &ObjectMeta) -> Option<u64> {
    Some(key(meta.namespace.as_deref()?, meta.name.as_deref()?))
}

/// A `resourceVersion` as a number (they are opaque strings; those that are not numbers are
/// hashed). Objects never carry `"0"`; were one to, it would read as `u64::MAX`.
pub(crate) fn version(rv: &str) -> Version {
    let n = rv.parse().unwrap_or_else(|_| hash_of(&[rv]));
    Version::new(n).unwrap_or(Version::MAX)
}

/// A 64-bit hash as a version (zero reads as `u64::MAX`).
pub(crate) fn version_of_hash(h: u64) -> Version {
    Version::new(h).unwrap_or(Version::MAX)
}

/// A digest of the member copy fedsvc wants.
pub(crate) fn digest(desired: &impl Serialize) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_vec(desired).unwrap_or_default().hash(&mut h);
    h.finish()
}

impl Conformance {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Versions>> {
        self.copies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The watch saw the copy `key` added or changed, at `version`; `None` when the object by
    /// that name is not a copy of ours (another federation's).
    pub(crate) fn seen(&self, key: u64, version: Option<Version>) {
        let mut map = self.lock();
        map.entry(key).or_default().seen = version;
    }

    /// The watch saw the copy `key` deleted.
    pub(crate) fn deleted(&self, key: u64) {
        forget_seen(&mut self.lock(), key);
    }

    /// The watch listed every copy again: `(key, version)`, the version `None` for those that
    /// are not ours.
    pub(crate) fn relisted(&self, listed: &[(u64, Option<Version>)]) {
        let mut map = self.lock();
        map.retain(|_, v| {
            v.seen = None;
            v.applied.is_some()
        });
        for (k, version) in listed {
            map.entry(*k).or_default().seen = *version;
        }
        self.listed.store(true, Ordering::Release);
    }

    /// Whether the member certainly holds no copy by this key, ours or another federation's:
    /// the watch has listed the member's copies, has not seen this one since, and fedsvc has
    /// applied none that the watch could still be catching up with. (An object by that name
    /// that is no copy at all may exist: the watch does not see those.)
    pub(crate) fn certainly_absent(&self, key: u64) -> bool {
        self.listed.load(Ordering::Acquire) && !self.lock().contains_key(&key)
    }

    /// The version the watch last saw of a copy of ours, if it sees one.
    pub(crate) fn seen_version(&self, key: u64) -> Option<Version> {
        self.lock().get(&key).and_then(|v| v.seen)
    }

    /// The digest of the copy fedsvc last applied, if the apply succeeded.
    pub(crate) fn applied_digest(&self, key: u64) -> Option<u64> {
        self.lock()
            .get(&key)
            .and_then(|v| v.applied)
            .map(|(d, _)| d)
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

    /// The copy with `digest` was applied and the member answered with `version`; `None`:
    /// the apply failed, or its answer had no version, so what the member holds is unknown.
    pub(crate) fn applied(&self, key: u64, digest: u64, version: Option<Version>) {
        let mut map = self.lock();
        match version {
            Some(v) => map.entry(key).or_default().applied = Some((digest, v)),
            // The entry stays: an apply that timed out may still land, so the copy is not
            // certainly absent.
            None => map.entry(key).or_default().applied = None,
        }
    }

    /// Forgets what was applied to a copy (it was deleted by fedsvc).
    pub(crate) fn forget(&self, key: u64) {
        self.lock().remove(&key);
    }

    /// How many copies are tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
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

    fn v(n: u64) -> Option<Version> {
        Version::new(n)
    }

    #[test]
    fn conforms_only_while_the_watch_sees_what_was_applied() {
        let c = Conformance::default();
        let k = key("ns", "web");
        let d = digest(&"the copy");
        assert!(!c.conforms(k, d), "nothing applied yet");
        c.applied(k, d, v(7));
        assert_eq!(c.applied_digest(k), Some(d));
        assert!(!c.conforms(k, d), "the watch has not seen the copy yet");
        c.seen(k, v(6));
        assert!(!c.conforms(k, d), "the watch lags behind the apply");
        c.seen(k, v(7));
        assert!(c.conforms(k, d));
        assert!(!c.conforms(k, d ^ 1), "another desired copy");
        c.seen(k, v(8));
        assert!(!c.conforms(k, d), "someone else changed it");
        c.applied(k, d, v(9));
        c.seen(k, v(9));
        assert!(c.conforms(k, d));
        c.deleted(k);
        assert!(!c.conforms(k, d), "deleted");
        c.seen(k, v(9));
        c.seen(k, None);
        assert!(!c.conforms(k, d), "another federation's copy");
        assert_eq!(c.seen_version(k), None);
        c.applied(k, d, None);
        assert_eq!(
            c.applied_digest(k),
            None,
            "a failed apply forgets the digest"
        );
    }

    #[test]
    fn a_relist_replaces_what_the_watch_saw() {
        let c = Conformance::default();
        let (k, d) = (key("ns", "web"), 42);
        c.applied(k, d, v(5));
        c.seen(k, v(5));
        c.seen(key("ns", "other"), v(4));
        c.relisted(&[]);
        assert!(!c.conforms(k, d), "not in the listing: gone");
        c.relisted(&[(k, v(5))]);
        assert!(c.conforms(k, d));
        assert_eq!(
            c.len(),
            1,
            "entries of copies gone and never applied are dropped"
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
        c.applied(k, 1, v(3));
        assert!(
            !c.certainly_absent(k),
            "just applied: the watch may not have seen it"
        );
        c.forget(k);
        c.applied(k, 1, None);
        assert!(
            !c.certainly_absent(k),
            "an apply that failed may still land"
        );
        c.forget(k);
        c.seen(k, v(4));
        assert!(!c.certainly_absent(k), "seen");
        c.deleted(k);
        assert!(c.certainly_absent(k));
        c.seen(k, None);
        assert!(!c.certainly_absent(k), "another federation's copy");
        c.deleted(k);
        assert!(c.certainly_absent(k));
        c.relisted(&[(k, None)]);
        assert!(!c.certainly_absent(k), "another federation's copy, listed");
        c.relisted(&[]);
        assert!(c.certainly_absent(k));
    }

    #[test]
    fn keys_come_from_namespace_and_name() {
        let meta = ObjectMeta {
            name: Some("web".into()),
            namespace: Some("ns".into()),
            ..ObjectMeta::default()
        };
        assert_eq!(meta_key(&meta), Some(key("ns", "web")));
        assert_ne!(key("ns", "web"), key("nsw", "eb"));
        assert_eq!(meta_key(&ObjectMeta::default()), None);
        assert_eq!(version("12").get(), 12);
        assert_eq!(version("0"), Version::MAX);
        assert_eq!(version_of_hash(0), Version::MAX);
    }
}
