//! Server-side defaulting, as a real API server does it for the fields that matter here.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

/// Cluster IPs and node ports in use, and where to look for the next free one.
#[derive(Debug)]
pub(crate) struct Allocator {
    pub(crate) used_ips: HashSet<String>,
    pub(crate) used_ports: HashSet<i64>,
    next_ip: u32,
    next_port: i64,
}

/// The service CIDR, 10.96.0.0/12, as `kubeadm` sets it up.
const SERVICE_CIDR_BASE: u32 = 0x0a60_0000;
const SERVICE_CIDR_SIZE: u32 = 1 << 20;
const NODE_PORT_MIN: i64 = 30000;
const NODE_PORT_MAX: i64 = 32767;

impl Default for Allocator {
    fn default() -> Self {
        Self {
            used_ips: HashSet::new(),
            used_ports: HashSet::new(),
            next_ip: 10,
            next_port: NODE_PORT_MIN,
        }
    }
}

impl Allocator {
    fn cluster_ip(&mut self) -> String {
        for _ in 0..SERVICE_CIDR_SIZE {
            let ip = Ipv4Addr::from(SERVICE_CIDR_BASE + self.next_ip).to_string();
            self.next_ip = (self.next_ip + 1) % (SERVICE_CIDR_SIZE - 1);
            if self.next_ip == 0 {
                self.next_ip = 1;
            }
            if self.used_ips.insert(ip.clone()) {
                return ip;
            }
        }
        "10.96.0.1".to_owned()
    }

    fn node_port(&mut self) -> i64 {
        for _ in NODE_PORT_MIN..=NODE_PORT_MAX {
            let p = self.next_port;
            self.next_port = if p >= NODE_PORT_MAX {
                NODE_PORT_MIN
            } else {
                p + 1
            };
            if self.used_ports.insert(p) {
                return p;
            }
        }
        NODE_PORT_MIN
    }
}

/// Copies allocated values the update omitted (clusterIP(s), node ports, health check node
/// port) from the old service, as the real service registry does.
pub(crate) fn service_keep_allocated(new: &mut Value, old: &Value) {
    let (Some(ns), Some(os)) = (
        new.get_mut("spec").and_then(Value::as_object_mut),
        old.get("spec"),
    ) else {
        return;
    };
    let old_type = os["type"].as_str().unwrap_or("ClusterIP");
    let new_type = ns
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_owned();
    let new_type = new_type.as_str();
    if new_type != "ExternalName" && old_type != "ExternalName" {
        for k in ["clusterIP", "clusterIPs"] {
            if ns.get(k).is_none_or(|v| v.is_null() || v == "") && !os[k].is_null() {
                ns.insert(k.to_owned(), os[k].clone());
            }
        }
    }
    let keeps_node_ports = matches!(new_type, "NodePort" | "LoadBalancer");
    if keeps_node_ports {
        if let Some(ports) = ns.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports.iter_mut() {
                if p.get("nodePort").is_some_and(|v| !v.is_null()) {
                    continue;
                }
                let proto = p["protocol"].as_str().unwrap_or("TCP").to_owned();
                let found = os["ports"].as_array().into_iter().flatten().find(|op| {
                    op["port"] == p["port"] && op["protocol"].as_str().unwrap_or("TCP") == proto
                });
                if let Some(np) = found.and_then(|op| op.get("nodePort")) {
                    p["nodePort"] = np.clone();
                }
            }
        }
        if ns.get("healthCheckNodePort").is_none() && !os["healthCheckNodePort"].is_null() {
            ns.insert(
                "healthCheckNodePort".to_owned(),
                os["healthCheckNodePort"].clone(),
            );
        }
    }
}

/// Defaults a Service: type, cluster IP(s), IP families, ports, node ports, traffic policies,
/// session affinity and an empty load-balancer status.
pub(crate) fn service(obj: &mut Value, alloc: &mut Allocator) {
    if !obj["spec"].is_object() {
        obj["spec"] = json!({});
    }
    let spec = obj["spec"].as_object_mut().expect("object");
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_owned();
    spec.insert("type".into(), json!(ty));
    if ty != "ExternalName" {
        let ip = match spec.get("clusterIP").and_then(Value::as_str) {
            Some(ip) if !ip.is_empty() => ip.to_owned(),
            _ => {
                let ip = alloc.cluster_ip();
                spec.insert("clusterIP".into(), json!(ip));
                ip
            }
        };
        if spec.get("clusterIPs").is_none_or(|v| !v.is_array()) {
            spec.insert("clusterIPs".into(), json!([ip]));
        }
        spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
        spec.entry("ipFamilyPolicy").or_insert(json!("SingleStack"));
        spec.entry("internalTrafficPolicy")
            .or_insert(json!("Cluster"));
    }
    spec.entry("sessionAffinity").or_insert(json!("None"));
    let node_ports = matches!(ty.as_str(), "NodePort" | "LoadBalancer");
    if node_ports {
        spec.entry("externalTrafficPolicy")
            .or_insert(json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        spec.entry("allocateLoadBalancerNodePorts")
            .or_insert(json!(true));
    }
    let allocate = node_ports
        && !(ty == "LoadBalancer"
            && spec.get("allocateLoadBalancerNodePorts") == Some(&json!(false)));
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut() {
            let Some(p) = p.as_object_mut() else { continue };
            p.entry("protocol").or_insert(json!("TCP"));
            if let Some(port) = p.get("port").cloned() {
                p.entry("targetPort").or_insert(port);
            }
            if allocate && p.get("nodePort").is_none_or(Value::is_null) {
                p.insert("nodePort".into(), json!(alloc.node_port()));
            }
            if !node_ports {
                p.remove("nodePort");
            }
        }
    }
    if !obj["status"].is_object() {
        obj["status"] = json!({"loadBalancer": {}});
    }
}

/// Defaults a Secret as a real API server does: `type: Opaque` when none is given, and
/// `stringData` merged into `data` (base64) and not stored.
pub(crate) fn secret(obj: &mut Value) {
    if obj.get("type").is_none_or(Value::is_null) {
        obj["type"] = Value::String("Opaque".into());
    }
    let Some(string_data) = obj
        .as_object_mut()
        .and_then(|o| o.remove("stringData"))
        .and_then(|v| v.as_object().cloned())
    else {
        return;
    };
    if !obj["data"].is_object() {
        obj["data"] = Value::Object(serde_json::Map::new());
    }
    for (k, v) in string_data {
        let text = v.as_str().unwrap_or_default();
        obj["data"][k.as_str()] = Value::String(data_encoding::BASE64.encode(text.as_bytes()));
    }
}

/// Defaults a Deployment as a real API server does, so that clients that compare what they
/// sent with what is stored meet the same server-set fields: one replica, a rolling update of
/// 25 % / 25 %, ten old ReplicaSets kept, a 600 s progress deadline, and the pod template's
/// defaults ([`pod_template`]).
pub(crate) fn deployment(obj: &mut Value) {
    let spec = &mut obj["spec"];
    let set = |v: &mut Value, key: &str, default: Value| {
        if v.get(key).is_none_or(Value::is_null) {
            v[key] = default;
        }
    };
    set(spec, "replicas", json!(1));
    set(spec, "revisionHistoryLimit", json!(10));
    set(spec, "progressDeadlineSeconds", json!(600));
    if spec["strategy"].get("type").is_none_or(Value::is_null) {
        spec["strategy"]["type"] = json!("RollingUpdate");
    }
    if spec["strategy"]["type"] == "RollingUpdate" {
        let ru = &mut spec["strategy"]["rollingUpdate"];
        set(ru, "maxUnavailable", json!("25%"));
        set(ru, "maxSurge", json!("25%"));
    }
    pod_template(&mut spec["template"]);
}

/// A pod template's server-set defaults: restart policy, DNS policy, scheduler, grace period,
/// security context; each container's termination message, pull policy and port protocol.
fn pod_template(template: &mut Value) {
    let spec = &mut template["spec"];
    let set = |v: &mut Value, key: &str, default: Value| {
        if v.get(key).is_none_or(Value::is_null) {
            v[key] = default;
        }
    };
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "securityContext", json!({}));
    for c in spec["containers"].as_array_mut().into_iter().flatten() {
        let image = c["image"].as_str().unwrap_or_default();
        let tag = image.rsplit('/').next().unwrap_or_default();
        let latest = !tag.contains(':') || tag.ends_with(":latest");
        set(
            c,
            "imagePullPolicy",
            json!(if latest { "Always" } else { "IfNotPresent" }),
        );
        set(c, "terminationMessagePath", json!("/dev/termination-log"));
        set(c, "terminationMessagePolicy", json!("File"));
        set(c, "resources", json!({}));
        for p in c["ports"].as_array_mut().into_iter().flatten() {
            set(p, "protocol", json!("TCP"));
        }
    }
}

/// Defaults a Namespace (`status.phase: Active`).
pub(crate) fn namespace(obj: &mut Value) {
    if obj["status"]["phase"].is_null() {
        obj["status"] = json!({"phase": "Active"});
    }
}

/// Marks a CRD Established and NamesAccepted, as the CRD controllers do at once.
pub(crate) fn crd(obj: &mut Value, now: &str) {
    let names = obj["spec"]["names"].clone();
    obj["status"] = json!({
        "acceptedNames": names,
        "storedVersions": obj["spec"]["versions"]
            .as_array()
            .map(|vs| vs.iter().filter(|v| v["storage"] == json!(true)).map(|v| v["name"].clone()).collect::<Vec<_>>())
            .unwrap_or_default(),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults() {
        let mut d = serde_json::json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "reg:5000/app:1.2", "imagePullPolicy": "Never"},
        ]}}, "strategy": {"type": "Recreate"}}});
        deployment(&mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["strategy"],
            serde_json::json!({"type": "Recreate"})
        );
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["imagePullPolicy"], "Always");
        assert_eq!(c[0]["ports"][0]["protocol"], "TCP");
        assert_eq!(c[1]["imagePullPolicy"], "Never");
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
        let mut r = serde_json::json!({"spec": {"replicas": 0}});
        deployment(&mut r);
        assert_eq!(r["spec"]["replicas"], 0);
        assert_eq!(r["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    }

    #[test]
    fn secret_string_data_becomes_data() {
        let mut s =
            serde_json::json!({"stringData": {"k": "hello", "e": ""}, "data": {"x": "eQ=="}});
        secret(&mut s);
        assert!(s.get("stringData").is_none());
        assert_eq!(s["data"]["k"], "aGVsbG8=");
        assert_eq!(s["data"]["e"], "");
        assert_eq!(s["data"]["x"], "eQ==");
        let mut t = serde_json::json!({"stringData": {"k": "ab"}, "type": "kubernetes.io/tls"});
        secret(&mut t);
        assert_eq!(t["data"]["k"], "YWI=");
        assert_eq!(t["type"], "kubernetes.io/tls");
        assert_eq!(s["type"], "Opaque");
    }

    #[test]
    fn load_balancer_defaults() {
        let mut alloc = Allocator::default();
        let mut svc = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        service(&mut svc, &mut alloc);
        let spec = &svc["spec"];
        assert!(spec["clusterIP"].as_str().unwrap().starts_with("10.96."));
        assert_eq!(spec["externalTrafficPolicy"], "Cluster");
        assert_eq!(spec["ports"][0]["targetPort"], 80);
        assert_eq!(spec["ports"][0]["nodePort"], 30000);
        assert_eq!(spec["sessionAffinity"], "None");
    }

    #[test]
    fn update_keeps_allocated_values() {
        let mut alloc = Allocator::default();
        let mut old = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
        service(&mut old, &mut alloc);
        let mut new =
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP"}]}});
        service_keep_allocated(&mut new, &old);
        service(&mut new, &mut alloc);
        assert_eq!(new["spec"]["clusterIP"], old["spec"]["clusterIP"]);
        assert_eq!(new["spec"]["ports"], old["spec"]["ports"]);
    }
}
