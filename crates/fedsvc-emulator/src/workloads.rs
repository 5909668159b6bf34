//! The controllers a cluster runs, as far as the emulator plays them: Deployments make
//! ReplicaSets, ReplicaSets make Pods, every pod is scheduled and running (ready unless told
//! otherwise) as soon as it exists, deleting an owner deletes what it owns, and every Service's
//! core `Endpoints` mirror its EndpointSlices.
//!
//! They run synchronously: whenever the store lock is released after a write to a Deployment,
//! ReplicaSet, Pod, Service or EndpointSlice ([`crate::shared::StoreGuard`]), [`settle`] looks
//! at just the objects written, and writes what follows from them, until nothing more changes.
//! A client therefore sees a Deployment's pods as soon as its create call has returned.
//!
//! Not played: scheduling constraints, image pulls, probes, rolling updates step by step (a new
//! template replaces the old ReplicaSet's pods at once), the EndpointSlice controller (slices
//! come from the test or the demo, [`crate::ApiServer::set_endpoints`]), and pods that fail
//! (see [`crate::ApiServer::set_pods_ready`] for pods that never become ready).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::resource::{self, Resource};
use crate::store::{Store, now};

/// At most this many rounds of writes follow one change (a Deployment → its ReplicaSet → its
/// pods → the ReplicaSet's status → the Deployment's status is five).
const MAX_ROUNDS: usize = 16;

/// The label a ReplicaSet and its pods carry to tell templates apart.
const HASH_LABEL: &str = "pod-template-hash";

/// The annotation marking Endpoints this module writes.
const MIRRORED: &str = "endpoints.fedsvc.io/mirrored-from-slices";

struct Kinds {
    deployments: Resource,
    replicasets: Resource,
    pods: Resource,
    services: Resource,
    endpoints: Resource,
    slices: Resource,
}

fn kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| {
        let all = resource::builtins();
        let find = |key: &str| {
            all.iter()
                .find(|r| r.key() == key)
                .cloned()
                .unwrap_or_else(|| panic!("built-in resource {key}"))
        };
        Kinds {
            deployments: find("apps/deployments"),
            replicasets: find("apps/replicasets"),
            pods: find("/pods"),
            services: find("/services"),
            endpoints: find("/endpoints"),
            slices: find("discovery.k8s.io/endpointslices"),
        }
    })
}

/// Plays the controllers for what was written since they last looked, until nothing changes.
pub(crate) fn settle(store: &mut Store) {
    let k = kinds();
    for _ in 0..MAX_ROUNDS {
        let changed = store.take_changed();
        if changed.is_empty() {
            return;
        }
        let mut deployments = BTreeSet::new();
        let mut replicasets = BTreeSet::new();
        let mut services = BTreeSet::new();
        let mut pods = BTreeSet::new();
        for c in changed {
            let here = |name: &String| (c.ns.clone(), name.clone());
            match c.res.as_str() {
                "apps/deployments" => {
                    deployments.insert(here(&c.name));
                }
                "apps/replicasets" => {
                    replicasets.insert(here(&c.name));
                    deployments.extend(c.owners.iter().map(here));
                }
                "/pods" => {
                    replicasets.extend(c.owners.iter().map(here));
                    pods.insert(here(&c.name));
                }
                "/services" => {
                    services.insert(here(&c.name));
                }
                _ => {
                    services.extend(c.services.iter().map(here));
                }
            }
        }
        // A control plane alone (a federation's API server) runs no workload controllers.
        if store.workload_controllers() {
            for (ns, name) in &deployments {
                deployment(store, k, ns, name);
            }
            for (ns, name) in &replicasets {
                replica_set(store, k, ns, name);
            }
            for (ns, name) in &pods {
                kubelet(store, k, ns, name);
            }
        }
        for (ns, name) in &services {
            endpoints(store, k, ns, name);
        }
    }
    tracing::warn!("the emulated controllers did not settle in {MAX_ROUNDS} rounds");
}

fn owned_by<'a>(obj: &'a Value, kind: &'a str, name: &'a str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| o["kind"] == kind && o["name"] == name && o["controller"] == true)
}

fn owner_reference(owner: &Value) -> Value {
    json!([{
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    }])
}

fn deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

/// A short stable hash of a pod template (FNV-1a), as the `pod-template-hash` label.
fn template_hash(template: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| ALPHABET[((h >> (i * 6)) % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// Writes `obj` unless the stored object already equals it (so that settling ends).
fn put_if_changed(store: &mut Store, res: &Resource, stored: Option<&Value>, obj: Value) {
    if stored != Some(&obj) {
        store.put_raw(res, obj);
    }
}

fn replicas(obj: &Value) -> i64 {
    obj["spec"]["replicas"].as_i64().unwrap_or(1).max(0)
}

/// A Deployment: one ReplicaSet per template, the current one at `spec.replicas`, the others
/// at 0 (a new template replaces the old pods at once); the status sums its ReplicaSets.
/// Once it is gone its ReplicaSets go too.
fn deployment(store: &mut Store, k: &Kinds, ns: &str, name: &str) {
    let owned: Vec<Value> = store
        .in_namespace(&k.replicasets, ns)
        .filter(|rs| owned_by(rs, "Deployment", name))
        .cloned()
        .collect();
    let Ok(d) = store.get(&k.deployments, ns, name) else {
        for rs in owned {
            let rs_name = rs["metadata"]["name"].as_str().unwrap_or_default();
            let _ = store.delete(&k.replicasets, ns, rs_name, false);
        }
        return;
    };
    if deleting(&d) {
        return;
    }
    let mut template = d["spec"]["template"].clone();
    let hash = template_hash(&template);
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    let current = format!("{name}-{hash}");
    let mut selector = d["spec"]["selector"].clone();
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut rs_labels = template["metadata"]["labels"].clone();
    if !rs_labels.is_object() {
        rs_labels = json!({});
    }

    let want = replicas(&d);
    let mut found = false;
    let mut revision = (owned.len() + 1).to_string();
    for rs in &owned {
        let rs_name = rs["metadata"]["name"].as_str().unwrap_or_default();
        let target = if rs_name == current {
            found = true;
            if let Some(r) = rs["metadata"]["annotations"][REVISION].as_str() {
                revision = r.to_owned();
            }
            want
        } else {
            0
        };
        if replicas(rs) != target {
            let mut next = rs.clone();
            next["spec"]["replicas"] = json!(target);
            store.put_raw(&k.replicasets, next);
        }
    }
    if !found {
        let rs = json!({
            "metadata": {
                "name": current,
                "namespace": ns,
                "labels": rs_labels,
                "annotations": {REVISION: revision},
                "ownerReferences": owner_reference(&d),
                "generation": 1,
            },
            "spec": {"replicas": want, "selector": selector, "template": template},
            "status": {"replicas": 0},
        });
        store.put_raw(&k.replicasets, rs);
    }

    // The status, from the ReplicaSets as they are now.
    let sets: Vec<Value> = store
        .in_namespace(&k.replicasets, ns)
        .filter(|rs| owned_by(rs, "Deployment", name))
        .cloned()
        .collect();
    let sum = |field: &str| -> i64 {
        sets.iter()
            .map(|rs| rs["status"][field].as_i64().unwrap_or(0))
            .sum()
    };
    let updated = sets
        .iter()
        .find(|rs| rs["metadata"]["name"] == current.as_str())
        .map_or(0, |rs| rs["status"]["replicas"].as_i64().unwrap_or(0));
    let (total, ready, available) = (
        sum("replicas"),
        sum("readyReplicas"),
        sum("availableReplicas"),
    );
    let complete = available >= want && updated == want && total == want;
    let mut status = json!({
        "observedGeneration": d["metadata"]["generation"],
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "conditions": [
            condition(&d, "Available", available >= want,
                if available >= want { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                if available >= want { "Deployment has minimum availability." } else { "Deployment does not have minimum availability." }),
            condition(&d, "Progressing", true,
                if complete { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
                &format!("ReplicaSet \"{current}\" {}", if complete { "has successfully progressed." } else { "is progressing." })),
        ],
    });
    if total - available > 0 {
        status["unavailableReplicas"] = json!(total - available);
    }
    drop_zero_counts(&mut status);
    // Like the Deployment controller, the revision of the current ReplicaSet goes on the
    // Deployment too.
    if d["status"] != status || d["metadata"]["annotations"][REVISION] != revision.as_str() {
        let mut next = d.clone();
        next["status"] = status;
        if !next["metadata"]["annotations"].is_object() {
            next["metadata"]["annotations"] = json!({});
        }
        next["metadata"]["annotations"][REVISION] = json!(revision);
        store.put_raw(&k.deployments, next);
    }
}

/// The annotation with which the Deployment controller numbers a Deployment's templates.
const REVISION: &str = "deployment.kubernetes.io/revision";

/// The API leaves counts of 0 out of a status.
fn drop_zero_counts(status: &mut Value) {
    if let Some(m) = status.as_object_mut() {
        m.retain(|_, v| v.as_i64() != Some(0));
    }
}

/// A condition, keeping its transition time while its status stays the same.
fn condition(owner: &Value, type_: &str, ok: bool, reason: &str, message: &str) -> Value {
    let status = if ok { "True" } else { "False" };
    let previous = owner["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_);
    let since = match previous {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(now()),
    };
    let updated = match previous {
        Some(p) if p["status"] == status && p["reason"] == reason => p["lastUpdateTime"].clone(),
        _ => json!(now()),
    };
    json!({
        "type": type_, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": since, "lastUpdateTime": updated,
    })
}

/// A ReplicaSet: `spec.replicas` pods from its template, ready at once unless the emulator is
/// told otherwise; the status counts them. Once it is gone its pods go too.
fn replica_set(store: &mut Store, k: &Kinds, ns: &str, name: &str) {
    let pods: Vec<Value> = store
        .in_namespace(&k.pods, ns)
        .filter(|p| owned_by(p, "ReplicaSet", name))
        .cloned()
        .collect();
    let delete_pod = |store: &mut Store, p: &Value| {
        let pod = p["metadata"]["name"].as_str().unwrap_or_default();
        let _ = store.delete(&k.pods, ns, pod, false);
    };
    let Ok(rs) = store.get(&k.replicasets, ns, name) else {
        for p in &pods {
            delete_pod(store, p);
        }
        return;
    };
    if deleting(&rs) {
        return;
    }
    let live: Vec<&Value> = pods.iter().filter(|p| !deleting(p)).collect();
    let want = usize::try_from(replicas(&rs)).unwrap_or(0);
    if live.len() > want {
        // The newest go first.
        let mut by_age = live.clone();
        by_age.sort_by(|a, b| {
            b["metadata"]["creationTimestamp"]
                .as_str()
                .cmp(&a["metadata"]["creationTimestamp"].as_str())
                .then(
                    b["metadata"]["name"]
                        .as_str()
                        .cmp(&a["metadata"]["name"].as_str()),
                )
        });
        for p in &by_age[..live.len() - want] {
            delete_pod(store, p);
        }
    }
    for _ in live.len()..want {
        let pod = new_pod(store, &rs, ns, name);
        store.put_raw(&k.pods, pod);
    }

    let pods: Vec<Value> = store
        .in_namespace(&k.pods, ns)
        .filter(|p| owned_by(p, "ReplicaSet", name) && !deleting(p))
        .cloned()
        .collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let mut status = json!({
        "observedGeneration": rs["metadata"]["generation"],
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
    });
    drop_zero_counts(&mut status);
    if status["replicas"].is_null() {
        status["replicas"] = json!(0);
    }
    let mut next = rs.clone();
    next["status"] = status;
    put_if_changed(store, &k.replicasets, Some(&rs), next);
}

/// Whether a pod's `Ready` condition is true.
pub(crate) fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// A pod of ReplicaSet `rs`, as its template says; [`kubelet`] starts it.
fn new_pod(store: &mut Store, rs: &Value, ns: &str, rs_name: &str) -> Value {
    let template = &rs["spec"]["template"];
    let n = store.next_pod_number();
    let mut metadata = template["metadata"].clone();
    if !metadata.is_object() {
        metadata = Value::Object(Map::new());
    }
    metadata["name"] = json!(format!("{rs_name}-{}", pod_suffix(n)));
    metadata["namespace"] = json!(ns);
    metadata["ownerReferences"] = owner_reference(rs);
    let mut pod = json!({"metadata": metadata, "spec": template["spec"].clone()});
    start(store, &mut pod);
    pod
}

/// Plays the scheduler and the kubelet for a pod that has no status yet (one made by a
/// ReplicaSet, or created directly as `kubectl run` does): on the emulated node, running, and
/// ready unless [`Store::pods_ready`] says otherwise.
fn kubelet(store: &mut Store, k: &Kinds, ns: &str, name: &str) {
    let Ok(pod) = store.get(&k.pods, ns, name) else {
        return;
    };
    if deleting(&pod) || !pod["status"]["phase"].is_null() {
        return;
    }
    let mut next = pod.clone();
    start(store, &mut next);
    store.put_raw(&k.pods, next);
}

/// Gives `pod` a node, an address and a running status.
fn start(store: &mut Store, pod: &mut Value) {
    let n = store.next_pod_number();
    let ip = format!("10.244.{}.{}", (n / 250) % 256, n % 250 + 1);
    let ready = store.pods_ready();
    let now = now();
    if pod["spec"]["nodeName"].is_null() {
        pod["spec"]["nodeName"] = json!(
            store
                .first_node_name()
                .unwrap_or_else(|| "emulated-node".to_owned())
        );
    }
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({
                "name": c["name"], "image": c["image"], "imageID": "",
                "ready": ready, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            })
        })
        .collect();
    let flag = if ready { "True" } else { "False" };
    let cond = |t: &str, s: &str| json!({"type": t, "status": s, "lastTransitionTime": now});
    pod["status"] = json!({
        "phase": "Running",
        "podIP": ip, "podIPs": [{"ip": ip}],
        "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}],
        "startTime": now,
        "conditions": [
            cond("PodScheduled", "True"), cond("Initialized", "True"),
            cond("ContainersReady", flag), cond("Ready", flag),
        ],
        "containerStatuses": containers,
        "qosClass": "BestEffort",
    });
}

/// Five characters from a pod's number, as the real controller's random suffixes look.
fn pod_suffix(n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5bd1_e995;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// A Service's core `Endpoints`, mirrored from its EndpointSlices (those named after it, as
/// the EndpointSlice controller and [`crate::ApiServer::set_endpoints`] name them): ready
/// addresses and the others, with the slices' ports. Endpoints written by a client are left
/// alone.
fn endpoints(store: &mut Store, k: &Kinds, ns: &str, service: &str) {
    let stored = store.get(&k.endpoints, ns, service).ok();
    if stored
        .as_ref()
        .is_some_and(|e| e["metadata"]["annotations"][MIRRORED].is_null())
    {
        return;
    }
    let slices: Vec<Value> = store
        .with_prefix(&k.slices, ns, service)
        .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == service)
        .cloned()
        .collect();
    if slices.is_empty() || store.get(&k.services, ns, service).is_err() {
        if stored.is_some() {
            let _ = store.delete(&k.endpoints, ns, service, false);
        }
        return;
    }
    let mut ready = Vec::new();
    let mut not_ready = Vec::new();
    let mut ports = Vec::new();
    for s in &slices {
        for e in s["endpoints"].as_array().into_iter().flatten() {
            let is_ready = e["conditions"]["ready"].as_bool() != Some(false);
            for a in e["addresses"].as_array().into_iter().flatten() {
                let mut addr = json!({"ip": a});
                if let Some(node) = e["nodeName"].as_str() {
                    addr["nodeName"] = json!(node);
                }
                if let Some(t) = e["targetRef"].as_object() {
                    addr["targetRef"] = Value::Object(t.clone());
                }
                if is_ready {
                    ready.push(addr);
                } else {
                    not_ready.push(addr);
                }
            }
        }
        for p in s["ports"].as_array().into_iter().flatten() {
            let mut port = json!({"port": p["port"], "protocol": p["protocol"]});
            if let Some(n) = p["name"].as_str().filter(|n| !n.is_empty()) {
                port["name"] = json!(n);
            }
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
    }
    let mut subset = json!({"ports": ports});
    if !ready.is_empty() {
        subset["addresses"] = json!(ready);
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = json!(not_ready);
    }
    let mut obj = stored.clone().unwrap_or_else(|| {
        json!({
            "metadata": {
                "name": service, "namespace": ns,
                "annotations": {MIRRORED: "true"},
            },
        })
    });
    obj["subsets"] = if ready.is_empty() && not_ready.is_empty() {
        json!([])
    } else {
        json!([subset])
    };
    if let Some(labels) = slices[0]["metadata"]["labels"].as_object() {
        let mut labels = labels.clone();
        labels.remove("kubernetes.io/service-name");
        labels.remove("endpointslice.kubernetes.io/managed-by");
        if !labels.is_empty() {
            obj["metadata"]["labels"] = Value::Object(labels);
        }
    }
    put_if_changed(store, &k.endpoints, stored.as_ref(), obj);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hashes_are_stable_and_differ() {
        let a = json!({"spec": {"containers": [{"image": "nginx:1"}]}});
        let b = json!({"spec": {"containers": [{"image": "nginx:2"}]}});
        assert_eq!(template_hash(&a), template_hash(&a.clone()));
        assert_ne!(template_hash(&a), template_hash(&b));
        assert_eq!(template_hash(&a).len(), 10);
        assert_ne!(pod_suffix(1), pod_suffix(2));
    }
}
