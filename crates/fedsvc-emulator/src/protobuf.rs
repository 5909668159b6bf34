//! Kubernetes' Protocol Buffers encoding (`application/vnd.kubernetes.protobuf`), both ways:
//! request bodies as `kubectl` sends them for its typed commands (`create namespace`, `create
//! secret generic`, `create configmap`, `create deployment` …), and answers for the clients
//! that prefer it (kubectl's typed commands and `describe` ask for it first).
//!
//! The wire format is the API server's: the four bytes `k8s\0`, then a `runtime.Unknown`
//! message whose `typeMeta` names the kind and whose `raw` holds the object's own message.
//! The messages are the Kubernetes API's published Protocol Buffers bindings (`k8s-pb`,
//! generated for `prost`, which does the encoding); each is turned into the JSON object the
//! emulator stores, or built from it, field by field under the JSON names the API uses, from
//! one list of fields per message (`protobuf/fields.rs`). The kinds mapped are in `kinds!`
//! below; what the fields leave out is listed in the crate's README. A body of another kind is
//! refused with 415, and an answer of another kind is written in JSON (or refused with 406 when
//! the client accepts Protocol Buffers only), each with a message that names the kind.

mod convert;
mod fields;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::autoscaling::v1 as autoscaling;
use k8s_pb::api::coordination::v1 as coordination;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::discovery::v1 as discovery;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;
use serde_json::{Map, Value};

use crate::api_failure::ApiFailure;
use convert::{FromJson, ToJson};

/// The media type of Kubernetes' Protocol Buffers encoding.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The prefix of every Protocol Buffers body.
const MAGIC: &[u8] = b"k8s\0";

/// Whether a `Content-Type` header names the Protocol Buffers encoding.
pub(crate) fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(MEDIA_TYPE))
}

/// The kinds mapped, by `apiVersion` and kind, with their message: `bodies` are decoded from
/// request bodies and encoded in answers, `answers` (lists and `Status`) only encoded.
macro_rules! kinds {
    (
        bodies { $($api:pat, $kind:pat => $ty:ty;)* }
        answers { $($a_api:pat, $a_kind:pat => $a_ty:ty;)* }
    ) => {
        /// The object a body's message stands for, or `None` for a kind not mapped.
        fn decode_message(
            api_version: &str,
            kind: &str,
            raw: &[u8],
        ) -> Option<Result<Value, ApiFailure>> {
            Some(match (api_version, kind) {
                $(($api, $kind) => message::<$ty>(raw, kind),)*
                _ => return None,
            })
        }

        /// The message of an object, or `None` for a kind not mapped.
        fn encode_message(
            api_version: &str,
            kind: &str,
            object: &Value,
        ) -> Option<Result<Vec<u8>, convert::Fault>> {
            Some(match (api_version, kind) {
                $(($api, $kind) => <$ty>::from_json(object).map(|m| m.encode_to_vec()),)*
                $(($a_api, $a_kind) => <$a_ty>::from_json(object).map(|m| m.encode_to_vec()),)*
                _ => return None,
            })
        }

        /// Whether objects of this `apiVersion` and kind can be answered in Protocol Buffers.
        pub(crate) fn encodes(api_version: &str, kind: &str) -> bool {
            match (api_version, kind) {
                $(($api, $kind) => true,)*
                $(($a_api, $a_kind) => true,)*
                _ => false,
            }
        }
    };
}

kinds! {
    bodies {
        "v1", "Namespace" => core::Namespace;
        "v1", "Node" => core::Node;
        "v1", "Secret" => core::Secret;
        "v1", "ConfigMap" => core::ConfigMap;
        "v1", "Service" => core::Service;
        "v1", "Endpoints" => core::Endpoints;
        "v1", "Pod" => core::Pod;
        "v1", "ServiceAccount" => core::ServiceAccount;
        "v1", "Event" => core::Event;
        "v1", "ResourceQuota" => core::ResourceQuota;
        "v1", "LimitRange" => core::LimitRange;
        "apps/v1", "Deployment" => apps::Deployment;
        "apps/v1", "ReplicaSet" => apps::ReplicaSet;
        "autoscaling/v1", "Scale" => autoscaling::Scale;
        "coordination.k8s.io/v1", "Lease" => coordination::Lease;
        "discovery.k8s.io/v1", "EndpointSlice" => discovery::EndpointSlice;
        "meta.k8s.io/v1" | "v1", "DeleteOptions" => meta::DeleteOptions;
    }
    answers {
        "v1", "Status" => meta::Status;
        "v1", "NamespaceList" => core::NamespaceList;
        "v1", "NodeList" => core::NodeList;
        "v1", "SecretList" => core::SecretList;
        "v1", "ConfigMapList" => core::ConfigMapList;
        "v1", "ServiceList" => core::ServiceList;
        "v1", "EndpointsList" => core::EndpointsList;
        "v1", "PodList" => core::PodList;
        "v1", "ServiceAccountList" => core::ServiceAccountList;
        "v1", "EventList" => core::EventList;
        "v1", "ResourceQuotaList" => core::ResourceQuotaList;
        "v1", "LimitRangeList" => core::LimitRangeList;
        "apps/v1", "DeploymentList" => apps::DeploymentList;
        "apps/v1", "ReplicaSetList" => apps::ReplicaSetList;
        "coordination.k8s.io/v1", "LeaseList" => coordination::LeaseList;
        "discovery.k8s.io/v1", "EndpointSliceList" => discovery::EndpointSliceList;
    }
}

/// Decodes a Protocol Buffers request body into the JSON object it stands for.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiFailure> {
    let envelope = body.strip_prefix(MAGIC).ok_or_else(|| {
        ApiFailure::bad_request("the Protocol Buffers body does not start with k8s\\0")
    })?;
    let unknown = Unknown::decode(envelope).map_err(|e| {
        ApiFailure::bad_request(format!("cannot decode the Protocol Buffers envelope: {e}"))
    })?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    if unknown
        .content_encoding
        .as_deref()
        .is_some_and(|e| !e.is_empty())
    {
        return Err(ApiFailure::unsupported_media_type(format!(
            "{kind}: content encoding {:?} is not supported",
            unknown.content_encoding.unwrap_or_default()
        )));
    }
    let raw = unknown.raw.unwrap_or_default();
    let Some(object) = decode_message(&api_version, &kind, &raw) else {
        return Err(ApiFailure::unsupported_media_type(format!(
            "the emulator does not decode {api_version} {kind} from Protocol Buffers; send it as JSON"
        )));
    };
    let mut object = match object? {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(object))
}

fn message<M: Message + Default + ToJson>(raw: &[u8], kind: &str) -> Result<Value, ApiFailure> {
    let m = M::decode(raw).map_err(|e| {
        ApiFailure::bad_request(format!("cannot decode {kind} from Protocol Buffers: {e}"))
    })?;
    Ok(m.to_json().unwrap_or_else(|| Value::Object(Map::new())))
}

/// Encodes `object` (of `apiVersion` and kind as given; its own `apiVersion` and `kind` fields
/// are not read) as an answer body: `k8s\0`, then a `runtime.Unknown` naming the kind with the
/// object's message in `raw`, and empty `contentEncoding` and `contentType`, as the API server
/// writes them.
///
/// Fails with 406 for a kind not mapped, and with 500 naming the field for an object whose
/// JSON does not fit its message (the emulator stores what clients send without validating
/// it).
pub(crate) fn encode(api_version: &str, kind: &str, object: &Value) -> Result<Vec<u8>, ApiFailure> {
    let raw = match encode_message(api_version, kind, object) {
        None => {
            return Err(ApiFailure::not_acceptable(format!(
                "the emulator does not encode {api_version} {kind} in Protocol Buffers; accept application/json"
            )));
        }
        Some(Err(fault)) => {
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            return Err(ApiFailure::internal(format!(
                "cannot encode {kind} {name:?} in Protocol Buffers: {fault}"
            )));
        }
        Some(Ok(raw)) => raw,
    };
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.to_owned()),
            kind: Some(kind.to_owned()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = Vec::with_capacity(MAGIC.len() + unknown.encoded_len());
    body.extend_from_slice(MAGIC);
    unknown
        .encode(&mut body)
        .expect("a Vec grows to fit the message");
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::resource::{Resource, builtins};
    use crate::selector::Selector;
    use crate::store::Store;
    use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
    use serde_json::json;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some(api_version.into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw),
            content_encoding: None,
            content_type: None,
        };
        let mut body = MAGIC.to_vec();
        body.extend(unknown.encode_to_vec());
        body
    }

    /// The envelope of an answer, checked as the API server writes it; gives its `raw`.
    fn open(body: &[u8], api_version: &str, kind: &str) -> Vec<u8> {
        let unknown = Unknown::decode(body.strip_prefix(MAGIC).expect("k8s\\0 first")).unwrap();
        let tm = unknown.type_meta.unwrap();
        assert_eq!(tm.api_version.as_deref(), Some(api_version));
        assert_eq!(tm.kind.as_deref(), Some(kind));
        assert_eq!(unknown.content_type.as_deref(), Some(""));
        assert_eq!(unknown.content_encoding.as_deref(), Some(""));
        unknown.raw.unwrap()
    }

    /// JSON → Protocol Buffers (as answered) → JSON (as a body is decoded).
    fn round_trip(v: &Value) -> Value {
        let api_version = v["apiVersion"].as_str().unwrap();
        let kind = v["kind"].as_str().unwrap();
        let body = encode(api_version, kind, v).unwrap();
        open(&body, api_version, kind);
        decode(&body).unwrap()
    }

    /// The same for answers only (lists, Status): back through message `M`.
    fn round_trip_answer<M: Message + Default + ToJson>(v: &Value) -> Value {
        let api_version = v["apiVersion"].as_str().unwrap();
        let kind = v["kind"].as_str().unwrap();
        let raw = open(&encode(api_version, kind, v).unwrap(), api_version, kind);
        let mut back = M::decode(raw.as_slice()).unwrap().to_json().unwrap();
        back["apiVersion"] = json!(api_version);
        back["kind"] = json!(kind);
        back
    }

    /// Metadata with every field the emulator keeps.
    fn metadata(name: &str, namespace: Option<&str>) -> Value {
        let mut m = json!({
            "name": name,
            "generateName": format!("{name}-"),
            "uid": "0b5f2a6e-3c1d-4e8f-9a7b-6c5d4e3f2a1b",
            "resourceVersion": "42",
            "generation": 3,
            "creationTimestamp": "2026-01-02T03:04:05Z",
            "labels": {"app.kubernetes.io/name": "web", "empty": ""},
            "annotations": {"note": "hello, world", "json": "{\"a\": [1, 2]}"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4cf56db6",
                "uid": "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "controller": true,
                "blockOwnerDeletion": false,
            }],
            "finalizers": ["example.com/keep"],
            "managedFields": [{
                "manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
                "time": "2026-01-02T03:04:05Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}}},
            }],
        });
        if let Some(ns) = namespace {
            m["namespace"] = json!(ns);
        }
        m
    }

    fn pod_template() -> Value {
        json!({
            "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
            "spec": {
                "serviceAccountName": "web",
                "terminationGracePeriodSeconds": 0,
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "hostPID": true,
                "setHostnameAsFQDN": false,
                "securityContext": {
                    "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                    "fsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"},
                },
                "affinity": {"podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchExpressions": [
                                {"key": "app", "operator": "In", "values": ["web"]},
                            ]},
                        },
                    }],
                }},
                "topologySpreadConstraints": [{
                    "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app": "web"}},
                }],
                "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute",
                    "tolerationSeconds": 30}],
                "overhead": {"cpu": "10m"},
                "schedulingGates": [{"name": "example.com/wait"}],
                "containers": [{
                    "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                    "command": ["nginx"], "args": ["-g", "daemon off;"],
                    "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k",
                            "optional": false}}},
                    ],
                    "envFrom": [{"configMapRef": {"name": "cfg"}}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                        "limits": {"memory": "512Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"},
                        "periodSeconds": 5},
                    "livenessProbe": {"tcpSocket": {"port": 80}, "failureThreshold": 6},
                    "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
                    "securityContext": {"allowPrivilegeEscalation": false,
                        "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"name": "conf", "mountPath": "/etc/nginx", "readOnly": true}],
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                }],
                "volumes": [
                    {"name": "conf", "configMap": {"name": "cfg", "defaultMode": 420}},
                    {"name": "tmp", "emptyDir": {}},
                    {"name": "token", "projected": {"sources": [
                        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                        {"downwardAPI": {"items": [{"path": "ns",
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                    ]}},
                ],
            },
        })
    }

    /// One representative object of every kind decoded from bodies.
    fn objects() -> Vec<Value> {
        let m = |name: &str| metadata(name, Some("demo"));
        let cluster = |name: &str| metadata(name, None);
        let mut deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": m("web"),
            "spec": {
                "replicas": 0, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": pod_template(),
            },
            "status": {
                "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2,
                "readyReplicas": 1, "availableReplicas": 1, "unavailableReplicas": 1,
                "conditions": [{"type": "Available", "status": "False",
                    "reason": "MinimumReplicasUnavailable", "message": "not yet",
                    "lastUpdateTime": "2026-01-02T03:04:05Z",
                    "lastTransitionTime": "2026-01-02T03:04:06Z"}],
            },
        });
        deployment["metadata"]["deletionTimestamp"] = json!("2026-01-03T00:00:00Z");
        deployment["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": cluster("demo"),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active", "conditions": [{"type": "Deleting",
                    "status": "False", "lastTransitionTime": "2026-01-02T03:04:05Z"}]}}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": cluster("node-a"),
            "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"],
                "providerID": "kind://node-a", "unschedulable": true,
                "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {
                "capacity": {"cpu": "2", "pods": "110"}, "allocatable": {"cpu": "1900m"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                    "lastHeartbeatTime": "2026-01-02T03:04:05Z"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b",
                    "kernelVersion": "6.1", "osImage": "Debian", "containerRuntimeVersion": "c",
                    "kubeletVersion": "v1.33.0", "kubeProxyVersion": "", "operatingSystem": "linux",
                    "architecture": "amd64"},
            }}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": m("creds"),
                "type": "Opaque", "immutable": false,
                "data": {"tsig-secret": "AP9rZXk=", "empty": ""}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": m("cfg"),
                "data": {"a": "b", "multi": "line 1\nline 2\n", "blank": ""},
                "binaryData": {"bin": "AAEC"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": m("web"),
            "spec": {
                "type": "LoadBalancer", "selector": {"app": "web"},
                "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "http", "protocol": "TCP", "port": 80,
                    "targetPort": "http", "nodePort": 30080},
                    {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 5353}],
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Cluster",
                "healthCheckNodePort": 32000, "allocateLoadBalancerNodePorts": false,
                "externalIPs": ["198.51.100.1"], "loadBalancerSourceRanges": ["0.0.0.0/0"],
            },
            "status": {"loadBalancer": {"ingress": [
                {"ip": "203.0.113.7", "ipMode": "VIP",
                    "ports": [{"port": 80, "protocol": "TCP"}]},
                {"hostname": "lb.example.com"},
            ]}}}),
            json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": m("web"),
            "subsets": [{
                "addresses": [{"ip": "10.244.0.1", "nodeName": "node-a",
                    "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "demo"}}],
                "notReadyAddresses": [{"ip": "10.244.0.2"}],
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
            }]}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": m("web-1"),
            "spec": pod_template()["spec"].clone(),
            "status": {
                "phase": "Running", "qosClass": "Burstable",
                "podIP": "10.244.0.1", "podIPs": [{"ip": "10.244.0.1"}],
                "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}],
                "startTime": "2026-01-02T03:04:05Z",
                "conditions": [{"type": "Ready", "status": "True",
                    "lastTransitionTime": "2026-01-02T03:04:05Z"}],
                "containerStatuses": [{
                    "name": "web", "image": "nginx:1.27", "imageID": "", "ready": false,
                    "started": true, "restartCount": 0,
                    "allocatedResources": {"cpu": "100m"},
                    "state": {"running": {"startedAt": "2026-01-02T03:04:05Z"}},
                    "lastState": {"terminated": {"exitCode": 0, "reason": "Completed",
                        "finishedAt": "2026-01-02T03:04:04Z"}},
                }],
            }}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": m("web"),
                "secrets": [{"name": "web-token"}], "imagePullSecrets": [{"name": "registry"}],
                "automountServiceAccountToken": false}),
            json!({"apiVersion": "v1", "kind": "Event", "metadata": m("web.1"),
                "involvedObject": {"kind": "Pod", "namespace": "demo", "name": "web-1",
                    "uid": "u", "apiVersion": "v1", "resourceVersion": "7",
                    "fieldPath": "spec.containers{web}"},
                "reason": "Pulled", "message": "Container image pulled", "type": "Normal",
                "source": {"component": "kubelet", "host": "node-a"}, "count": 2,
                "firstTimestamp": "2026-01-02T03:04:05Z", "lastTimestamp": "2026-01-02T03:05:05Z",
                "eventTime": "2026-01-02T03:04:05.123456Z",
                "reportingComponent": "", "reportingInstance": ""}),
            json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": m("quota"),
                "spec": {"hard": {"pods": "10", "requests.cpu": "4"}, "scopes": ["NotTerminating"]},
                "status": {"hard": {"pods": "10"}, "used": {"pods": "2"}}}),
            json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": m("limits"),
                "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                    "defaultRequest": {"cpu": "100m"}, "max": {"memory": "1Gi"}}]}}),
            deployment,
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": m("web-6d4cf56db6"),
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "template": pod_template()},
                "status": {"replicas": 0, "observedGeneration": 1}}),
            json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": m("web"),
                "spec": {"replicas": 0}, "status": {"replicas": 2, "selector": "app=web"}}),
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": m("leader"),
                "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15,
                    "acquireTime": "2026-01-02T03:04:05.000000Z",
                    "renewTime": "2026-01-02T03:04:15.250000Z", "leaseTransitions": 0}}),
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": m("web-abcde"), "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.0.1"],
                    "conditions": {"ready": true, "serving": true, "terminating": false},
                    "nodeName": "node-a", "zone": "a",
                    "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "demo"},
                    "hints": {"forZones": [{"name": "a"}]}}],
                "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}),
            json!({"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "propagationPolicy": "Foreground", "dryRun": ["All"],
                "preconditions": {"uid": "u", "resourceVersion": "7"}}),
        ]
    }

    #[test]
    fn every_kind_survives_the_round_trip() {
        let all = objects();
        let mut kinds: Vec<&str> = all.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        for o in &all {
            assert_eq!(round_trip(o), *o, "{}", o["kind"]);
        }
        // One representative for every kind a body may hold.
        kinds.sort_unstable();
        for (api_version, kind) in [
            ("v1", "Namespace"),
            ("v1", "Node"),
            ("v1", "Secret"),
            ("v1", "ConfigMap"),
            ("v1", "Service"),
            ("v1", "Endpoints"),
            ("v1", "Pod"),
            ("v1", "ServiceAccount"),
            ("v1", "Event"),
            ("v1", "ResourceQuota"),
            ("v1", "LimitRange"),
            ("apps/v1", "Deployment"),
            ("apps/v1", "ReplicaSet"),
            ("autoscaling/v1", "Scale"),
            ("coordination.k8s.io/v1", "Lease"),
            ("discovery.k8s.io/v1", "EndpointSlice"),
            ("v1", "DeleteOptions"),
        ] {
            assert!(encodes(api_version, kind), "{kind}");
            assert!(
                kinds.binary_search(&kind).is_ok(),
                "no representative {kind}"
            );
            assert!(
                encodes(api_version, &format!("{kind}List"))
                    || kind == "Scale"
                    || kind == "DeleteOptions",
                "{kind}List"
            );
        }
    }

    #[test]
    fn a_field_of_a_message_is_the_field_prost_sees() {
        // Through prost's own types, not only back through the emulator's JSON.
        let ns = objects().remove(0);
        let raw = open(&encode("v1", "Namespace", &ns).unwrap(), "v1", "Namespace");
        let msg = core::Namespace::decode(raw.as_slice()).unwrap();
        let m = msg.metadata.unwrap();
        assert_eq!(m.name.as_deref(), Some("demo"));
        assert_eq!(m.labels["app.kubernetes.io/name"], "web");
        assert_eq!(m.labels["empty"], "");
        assert_eq!(m.annotations["note"], "hello, world");
        assert_eq!(m.finalizers, ["example.com/keep"]);
        assert_eq!(m.resource_version.as_deref(), Some("42"));
        assert_eq!(
            m.uid.as_deref(),
            Some("0b5f2a6e-3c1d-4e8f-9a7b-6c5d4e3f2a1b")
        );
        assert_eq!(m.creation_timestamp.unwrap().seconds, Some(1_767_323_045));
        let owner = &m.owner_references[0];
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(false))
        );
        let fields: Value = serde_json::from_slice(
            m.managed_fields[0]
                .fields_v1
                .as_ref()
                .unwrap()
                .raw
                .as_deref()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            fields["f:metadata"]["f:labels"],
            json!({"f:app.kubernetes.io/name": {}})
        );
        assert_eq!(msg.status.unwrap().phase.as_deref(), Some("Active"));
        assert_eq!(msg.spec.unwrap().finalizers, ["kubernetes"]);
    }

    #[test]
    fn lists_survive_the_round_trip() {
        let all = objects();
        let of = |kind: &str| -> Vec<Value> {
            all.iter()
                .filter(|o| o["kind"] == kind)
                .map(|o| {
                    // Items carry no apiVersion and kind in Protocol Buffers.
                    let mut o = o.clone();
                    let m = o.as_object_mut().unwrap();
                    m.remove("apiVersion");
                    m.remove("kind");
                    o
                })
                .collect()
        };
        let list = |api_version: &str, kind: &str| {
            json!({
                "apiVersion": api_version, "kind": format!("{kind}List"),
                "metadata": {"resourceVersion": "42", "continue": "2", "remainingItemCount": 0},
                "items": of(kind),
            })
        };
        macro_rules! check {
            ($($api:literal $kind:literal => $ty:ty),* $(,)?) => {$(
                let l = list($api, $kind);
                assert_eq!(l["items"].as_array().unwrap().len(), 1, $kind);
                assert_eq!(round_trip_answer::<$ty>(&l), l, "{}List", $kind);
            )*};
        }
        check! {
            "v1" "Namespace" => core::NamespaceList,
            "v1" "Node" => core::NodeList,
            "v1" "Secret" => core::SecretList,
            "v1" "ConfigMap" => core::ConfigMapList,
            "v1" "Service" => core::ServiceList,
            "v1" "Endpoints" => core::EndpointsList,
            "v1" "Pod" => core::PodList,
            "v1" "ServiceAccount" => core::ServiceAccountList,
            "v1" "Event" => core::EventList,
            "v1" "ResourceQuota" => core::ResourceQuotaList,
            "v1" "LimitRange" => core::LimitRangeList,
            "apps/v1" "Deployment" => apps::DeploymentList,
            "apps/v1" "ReplicaSet" => apps::ReplicaSetList,
            "coordination.k8s.io/v1" "Lease" => coordination::LeaseList,
            "discovery.k8s.io/v1" "EndpointSlice" => discovery::EndpointSliceList,
        }
        // An empty list, as `kubectl describe` gets for events.
        let empty = json!({"apiVersion": "v1", "kind": "EventList",
            "metadata": {"resourceVersion": "42"}, "items": []});
        assert_eq!(
            round_trip_answer::<core::EventList>(&empty)["items"],
            Value::Null
        );
    }

    #[test]
    fn a_status_survives_the_round_trip() {
        let res = builtins()
            .into_iter()
            .find(|r| r.plural == "configmaps")
            .unwrap();
        let status = ApiFailure::not_found(&res, "cfg").to_status();
        assert_eq!(round_trip_answer::<meta::Status>(&status), status);
        let raw = open(&encode("v1", "Status", &status).unwrap(), "v1", "Status");
        let s = meta::Status::decode(raw.as_slice()).unwrap();
        assert_eq!(s.code, Some(404));
        assert_eq!(s.reason.as_deref(), Some("NotFound"));
        assert_eq!(s.status.as_deref(), Some("Failure"));
        assert_eq!(s.details.unwrap().name.as_deref(), Some("cfg"));
        let full = json!({"apiVersion": "v1", "kind": "Status", "metadata": {},
            "status": "Failure", "reason": "Invalid", "code": 422, "message": "bad",
            "details": {"name": "web", "kind": "services", "uid": "u", "retryAfterSeconds": 1,
                "causes": [{"reason": "FieldValueInvalid", "field": "spec.ports[0].port",
                    "message": "must be between 1 and 65535"}]}});
        assert_eq!(round_trip_answer::<meta::Status>(&full), full);
    }

    /// What the emulated cluster makes of the project's own manifests (deployments, services,
    /// service accounts, namespaces), and the pods, replica sets, endpoints and slices its
    /// controllers make, all survive the round trip: the emulator writes nothing its Protocol
    /// Buffers answers drop.
    #[test]
    fn what_the_emulated_cluster_stores_survives_the_round_trip() {
        let res = builtins();
        let find = |kind: &str| -> Resource {
            res.iter()
                .find(|r| r.kind == kind && r.group != "events.k8s.io")
                .unwrap()
                .clone()
        };
        let mut store = Store::new();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");
        let mut created = 0;
        for dir in ["controller", "local-dns"] {
            let mut files: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(&f).unwrap();
                for doc in text.split("\n---") {
                    let v: Value = serde_saphyr::from_str(doc).unwrap();
                    let (Some(api_version), Some(kind)) =
                        (v["apiVersion"].as_str(), v["kind"].as_str())
                    else {
                        continue;
                    };
                    if !encodes(api_version, kind) {
                        continue;
                    }
                    let ns = v["metadata"]["namespace"].as_str().unwrap_or("").to_owned();
                    if kind == "Namespace" {
                        let _ = store.create(&find(kind), "", v, false);
                    } else {
                        let _ = store.create(
                            &find("Namespace"),
                            "",
                            json!({"metadata": {"name": ns}}),
                            false,
                        );
                        store.create(&find(kind), &ns, v, false).unwrap();
                    }
                    created += 1;
                }
            }
        }
        assert!(created >= 6, "{created} objects from deploy/");
        let svc = json!({"metadata": {"name": "fedsvc-local-dns-lb"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "x"},
                "ports": [{"port": 53, "protocol": "UDP"}]}});
        store
            .create(&find("Service"), "fedsvc-system", svc, false)
            .unwrap();
        // A slice, as `ApiServer::set_endpoints` writes it, which the Endpoints mirror; a node
        // as `ApiServer::add_node` writes it.
        let slice = json!({"metadata": {"name": "fedsvc-local-dns-lb-emulator",
                "labels": {"kubernetes.io/service-name": "fedsvc-local-dns-lb"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.1"], "conditions": {"ready": true},
                "nodeName": "node-a"}],
            "ports": [{"port": 53, "protocol": "UDP", "name": ""}]});
        store
            .create(&find("EndpointSlice"), "fedsvc-system", slice, false)
            .unwrap();
        let node = json!({"metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        store.create(&find("Node"), "", node, false).unwrap();
        crate::workloads::settle(&mut store);

        let everything = Selector::parse("").unwrap();
        let mut checked = BTreeMap::<String, usize>::new();
        for r in &res {
            let api_version = r.api_version();
            if !encodes(&api_version, &r.kind) {
                continue;
            }
            for o in store.list(r, None, &everything, &everything) {
                let o = without_nulls(o);
                assert_eq!(round_trip(&o), o, "{} {}", r.kind, o["metadata"]["name"]);
                *checked.entry(r.kind.clone()).or_default() += 1;
            }
        }
        for kind in [
            "Namespace",
            "Deployment",
            "ReplicaSet",
            "Pod",
            "Service",
            "ServiceAccount",
            "Endpoints",
            "EndpointSlice",
            "Node",
        ] {
            assert!(checked.contains_key(kind), "no {kind} checked: {checked:?}");
        }
    }

    /// `null` fields are unset; Protocol Buffers has no other way to say so.
    fn without_nulls(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, without_nulls(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
            other => other,
        }
    }

    #[test]
    fn what_the_encoding_leaves_out() {
        // Unmapped fields, fractions of seconds, and empty or unset values of fields the API
        // leaves out when empty.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "creationTimestamp": "2026-01-02T03:04:05.5Z",
                "labels": {}, "generation": 0},
            "data": {"a": "b"}, "unknownField": 1});
        assert_eq!(
            round_trip(&cm),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cfg", "creationTimestamp": "2026-01-02T03:04:05Z"},
                "data": {"a": "b"}})
        );
    }

    #[test]
    fn json_that_does_not_fit_is_refused_naming_the_field() {
        let svc = json!({"metadata": {"name": "web"},
            "spec": {"ports": [{"port": 80}, {"port": "eighty"}]}});
        let e = encode("v1", "Service", &svc).unwrap_err();
        assert_eq!(e.code, 500);
        assert!(
            e.message.contains("Service \"web\"")
                && e.message
                    .contains("spec.ports[1].port: expected a 32-bit integer, found \"eighty\""),
            "{}",
            e.message
        );
        let secret = json!({"metadata": {"name": "s"}, "data": {"k": "not base64!"}});
        let e = encode("v1", "Secret", &secret).unwrap_err();
        assert!(
            e.message.contains("data[\"k\"]: expected base64"),
            "{}",
            e.message
        );
        let e = encode("rbac.authorization.k8s.io/v1", "Role", &json!({})).unwrap_err();
        assert_eq!(e.code, 406);
        assert!(
            e.message.contains("rbac.authorization.k8s.io/v1 Role"),
            "{}",
            e.message
        );
        assert!(!encodes("v1", "Table"));
    }

    fn meta(name: &str) -> Option<meta::ObjectMeta> {
        Some(meta::ObjectMeta {
            name: Some(name.into()),
            // As Go writes them: every plain field, set or not.
            generate_name: Some(String::new()),
            creation_timestamp: Some(meta::Time {
                seconds: Some(0),
                nanos: Some(0),
            }),
            ..Default::default()
        })
    }

    #[test]
    fn a_namespace() {
        let ns = core::Namespace {
            metadata: meta("mynamespace"),
            ..Default::default()
        };
        let v = decode(&envelope("v1", "Namespace", ns.encode_to_vec())).unwrap();
        // The empty generateName and the zero creationTimestamp Go writes are left out.
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}})
        );
    }

    #[test]
    fn a_secret_keeps_its_bytes_as_base64() {
        let secret = core::Secret {
            metadata: meta("fedsvc-dns"),
            data: [("tsig-secret".to_owned(), b"\x00\xffkey".to_vec())].into(),
            r#type: Some("Opaque".into()),
            ..Default::default()
        };
        let v = decode(&envelope("v1", "Secret", secret.encode_to_vec())).unwrap();
        assert_eq!(v["data"]["tsig-secret"], "AP9rZXk=");
        assert_eq!(v["type"], "Opaque");
    }

    #[test]
    fn a_deployment_with_its_pod_template() {
        let labels: BTreeMap<String, String> = [("app".to_owned(), "nginx".to_owned())].into();
        let d = apps::Deployment {
            metadata: meta("nginx"),
            spec: Some(apps::DeploymentSpec {
                replicas: Some(3),
                selector: Some(meta::LabelSelector {
                    match_labels: labels.clone(),
                    ..Default::default()
                }),
                template: Some(core::PodTemplateSpec {
                    metadata: Some(meta::ObjectMeta {
                        labels,
                        ..Default::default()
                    }),
                    spec: Some(core::PodSpec {
                        containers: vec![core::Container {
                            name: Some("nginx".into()),
                            image: Some("nginx:1.27".into()),
                            ports: vec![core::ContainerPort {
                                container_port: Some(80),
                                host_ip: Some("0.0.0.0".into()),
                                ..Default::default()
                            }],
                            resources: Some(core::ResourceRequirements::default()),
                            ..Default::default()
                        }],
                        volumes: vec![core::Volume {
                            name: Some("conf".into()),
                            volume_source: Some(core::VolumeSource {
                                config_map: Some(core::ConfigMapVolumeSource {
                                    local_object_reference: Some(core::LocalObjectReference {
                                        name: Some("nginx-conf".into()),
                                    }),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }),
                        }],
                        ..Default::default()
                    }),
                }),
                strategy: Some(apps::DeploymentStrategy {
                    rolling_update: Some(apps::RollingUpdateDeployment {
                        max_surge: Some(IntOrString {
                            r#type: Some(1),
                            str_val: Some("25%".into()),
                            int_val: None,
                        }),
                        max_unavailable: Some(IntOrString {
                            r#type: Some(0),
                            int_val: Some(1),
                            str_val: None,
                        }),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = decode(&envelope("apps/v1", "Deployment", d.encode_to_vec())).unwrap();
        assert_eq!(v["spec"]["replicas"], 3);
        assert_eq!(
            v["spec"]["selector"],
            json!({"matchLabels": {"app": "nginx"}})
        );
        let c = &v["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1.27");
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 80, "hostIP": "0.0.0.0"}])
        );
        assert_eq!(c["resources"], json!({}));
        assert_eq!(
            v["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "conf", "configMap": {"name": "nginx-conf"}}])
        );
        assert_eq!(
            v["spec"]["strategy"]["rollingUpdate"],
            json!({"maxSurge": "25%", "maxUnavailable": 1})
        );
    }

    #[test]
    fn zero_is_unset_unless_the_field_is_a_pointer() {
        let d = apps::Deployment {
            spec: Some(apps::DeploymentSpec {
                replicas: Some(0),
                min_ready_seconds: Some(0),
                paused: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        let v = decode(&envelope("apps/v1", "Deployment", d.encode_to_vec())).unwrap();
        assert_eq!(v["spec"], json!({"replicas": 0}));
    }

    #[test]
    fn bad_bodies_are_refused_with_the_reason() {
        let e = decode(b"{\"kind\":\"Namespace\"}").unwrap_err();
        assert!(e.message.contains("k8s\\0"), "{}", e.message);
        let e = decode(&envelope("rbac.authorization.k8s.io/v1", "Role", vec![])).unwrap_err();
        assert_eq!(e.code, 415);
        assert!(
            e.message.contains("rbac.authorization.k8s.io/v1 Role"),
            "{}",
            e.message
        );
        let e = decode(&envelope("v1", "NamespaceList", vec![])).unwrap_err();
        assert_eq!(e.code, 415, "lists are answers, not bodies");
        let e = decode(&envelope("v1", "Namespace", vec![0xff, 0xff])).unwrap_err();
        assert!(
            e.message.contains("cannot decode Namespace"),
            "{}",
            e.message
        );
    }
}
