//! Request bodies in Protocol Buffers, as `kubectl` sends them for its typed commands
//! (`create namespace`, `create secret generic`, `create configmap`, `create deployment`,
//! `scale`, `delete` …): `Content-Type: application/vnd.kubernetes.protobuf`.
//!
//! The wire format is the API server's: the four bytes `k8s\0`, then a `runtime.Unknown`
//! message whose `typeMeta` names the kind and whose `raw` holds the object's own message.
//! The messages are decoded with the Kubernetes API's published Protocol Buffers bindings
//! (`k8s-pb`, generated for `prost`); each is then turned into the JSON object the emulator
//! stores, field by field, under the JSON names the API uses. Every kind, and every field of it,
//! that this module does not map is refused or left out as documented in the crate's README;
//! an unknown kind is refused with 415 and a message that names it.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::autoscaling::v1 as autoscaling;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::{Map, Value};

use crate::api_failure::ApiFailure;

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
    let object = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Namespace") => message::<core::Namespace>(&raw, &kind)?,
        ("v1", "Secret") => message::<core::Secret>(&raw, &kind)?,
        ("v1", "ConfigMap") => message::<core::ConfigMap>(&raw, &kind)?,
        ("v1", "Service") => message::<core::Service>(&raw, &kind)?,
        ("v1", "Pod") => message::<core::Pod>(&raw, &kind)?,
        ("v1", "ServiceAccount") => message::<core::ServiceAccount>(&raw, &kind)?,
        ("apps/v1", "Deployment") => message::<apps::Deployment>(&raw, &kind)?,
        ("autoscaling/v1", "Scale") => message::<autoscaling::Scale>(&raw, &kind)?,
        ("meta.k8s.io/v1" | "v1", "DeleteOptions") => message::<meta::DeleteOptions>(&raw, &kind)?,
        _ => {
            return Err(ApiFailure::unsupported_media_type(format!(
                "the emulator does not decode {api_version} {kind} from Protocol Buffers; send it as JSON"
            )));
        }
    };
    let mut object = match object {
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

/// A value as the API writes it in JSON; `None` leaves the field out (unset, or empty).
trait ToJson {
    fn to_json(&self) -> Option<Value>;
}

/// A string; empty is unset (Go writes every plain string field, empty or not, and the API's
/// JSON leaves empty ones out).
impl ToJson for String {
    fn to_json(&self) -> Option<Value> {
        (!self.is_empty()).then(|| Value::String(self.clone()))
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

impl ToJson for i32 {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl ToJson for i64 {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

/// Bytes, as the API writes them: base64.
impl ToJson for Vec<u8> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(data_encoding::BASE64.encode(self)))
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Option<Value> {
        self.as_ref().and_then(ToJson::to_json)
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Option<Value> {
        if self.is_empty() {
            return None;
        }
        Some(Value::Array(
            self.iter()
                .map(|v| v.to_json().unwrap_or(Value::Null))
                .collect(),
        ))
    }
}

impl<T: ToJson> ToJson for BTreeMap<String, T> {
    fn to_json(&self) -> Option<Value> {
        if self.is_empty() {
            return None;
        }
        Some(Value::Object(
            self.iter()
                .filter_map(|(k, v)| v.to_json().map(|v| (k.clone(), v)))
                .collect(),
        ))
    }
}

impl ToJson for Quantity {
    fn to_json(&self) -> Option<Value> {
        self.string.to_json()
    }
}

impl ToJson for IntOrString {
    fn to_json(&self) -> Option<Value> {
        // Type 0 is an integer, 1 a string.
        if self.r#type == Some(1) {
            self.str_val.to_json()
        } else {
            self.int_val.to_json()
        }
    }
}

/// A time, in RFC 3339; the zero time (what Go writes for an unset one) is unset.
impl ToJson for meta::Time {
    fn to_json(&self) -> Option<Value> {
        let seconds = self.seconds.filter(|s| *s != 0)?;
        let t = jiff::Timestamp::from_second(seconds).ok()?;
        Some(Value::String(t.to_string()))
    }
}

/// The JSON name of a field: the Rust (snake case) name in lower camel case.
fn camel(field: &str) -> String {
    let field = field.trim_start_matches("r#");
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a value is what Go writes for a plain (non-pointer) field that is unset: 0 or false.
/// The API's JSON leaves those out; a pointer field (marked `: keep` below) is written only
/// when set, so its 0 or false is kept.
fn unset(v: &Value) -> bool {
    v.as_i64() == Some(0) || v.as_bool() == Some(false)
}

/// Whether a field's value is left out: never when the field is marked `keep`.
macro_rules! dropped {
    ($v:ident keep) => {
        false
    };
    ($v:ident) => {
        unset(&$v)
    };
}

/// `ToJson` for a message: each listed field under its JSON name (the camel-case form of the
/// Rust name, or the name given after `=>`), without 0 and false unless marked `: keep`; the
/// fields after `+` are embedded (inlined) structs whose own fields are merged in, as Go's
/// embedded structs are in the API's JSON.
macro_rules! to_json {
    ($($ty:ty {
        $($field:ident $(: $keep:ident)? $(=> $json:literal)?),* $(,)?
    } $(+ $($inline:ident),+)? ;)*) => {
        $(impl ToJson for $ty {
            fn to_json(&self) -> Option<Value> {
                let mut map = Map::new();
                $($(if let Some(Value::Object(inner)) = self.$inline.to_json() {
                    map.extend(inner);
                })+)?
                $(if let Some(v) = self.$field.to_json() {
                    #[allow(unused_variables)]
                    let name = camel(stringify!($field));
                    $(let name = String::from($json);)?
                    if !dropped!(v $($keep)?) {
                        map.insert(name, v);
                    }
                })*
                Some(Value::Object(map))
            }
        })*
    };
}

to_json! {
    meta::ObjectMeta {
        name, generate_name, namespace, uid, resource_version, generation, creation_timestamp,
        labels, annotations, owner_references, finalizers,
    };
    meta::OwnerReference {
        api_version, kind, name, uid, controller: keep, block_owner_deletion: keep,
    };
    meta::LabelSelector { match_labels, match_expressions };
    meta::LabelSelectorRequirement { key, operator, values };
    meta::DeleteOptions {
        grace_period_seconds: keep, preconditions, orphan_dependents: keep, propagation_policy,
        dry_run,
    };
    meta::Preconditions { uid, resource_version };

    core::Namespace { metadata, spec };
    core::NamespaceSpec { finalizers };
    core::Secret { metadata, immutable: keep, data, string_data, r#type };
    core::ConfigMap { metadata, immutable: keep, data, binary_data };
    core::ServiceAccount {
        metadata, secrets, image_pull_secrets, automount_service_account_token: keep,
    };
    core::ObjectReference { kind, namespace, name, uid, api_version, resource_version, field_path };
    core::Service { metadata, spec };
    core::ServiceSpec {
        ports, selector, cluster_ip => "clusterIP", cluster_ips => "clusterIPs", r#type,
        external_ips => "externalIPs", session_affinity, load_balancer_ip => "loadBalancerIP",
        load_balancer_source_ranges, external_name, external_traffic_policy, health_check_node_port,
        publish_not_ready_addresses, ip_families, ip_family_policy,
        allocate_load_balancer_node_ports: keep, load_balancer_class, internal_traffic_policy,
        traffic_distribution,
    };
    core::ServicePort { name, protocol, app_protocol, port, target_port, node_port };
    core::Pod { metadata, spec };
    core::PodTemplateSpec { metadata, spec };
    core::PodSpec {
        volumes, init_containers, containers, restart_policy, termination_grace_period_seconds:
        keep, active_deadline_seconds: keep, dns_policy, node_selector, service_account_name,
        service_account, automount_service_account_token: keep, node_name, host_network, host_pid,
        host_ipc, share_process_namespace: keep, image_pull_secrets, hostname, subdomain,
        scheduler_name, tolerations, priority_class_name, priority: keep, runtime_class_name,
        enable_service_links: keep, preemption_policy, set_hostname_as_fqdn: keep,
    };
    core::Container {
        name, image, command, args, working_dir, ports, env_from, env, resources, volume_mounts,
        liveness_probe, readiness_probe, startup_probe, termination_message_path,
        termination_message_policy, image_pull_policy, stdin, stdin_once, tty,
    };
    core::ContainerPort { name, host_port, container_port, protocol, host_ip => "hostIP" };
    core::EnvVar { name, value, value_from };
    core::EnvVarSource { field_ref, resource_field_ref, config_map_key_ref, secret_key_ref };
    core::ObjectFieldSelector { api_version, field_path };
    core::ResourceFieldSelector { container_name, resource, divisor };
    core::ConfigMapKeySelector { key, optional } + local_object_reference;
    core::SecretKeySelector { key, optional } + local_object_reference;
    core::EnvFromSource { prefix, config_map_ref, secret_ref };
    core::ConfigMapEnvSource { optional } + local_object_reference;
    core::SecretEnvSource { optional } + local_object_reference;
    core::LocalObjectReference { name };
    core::ResourceRequirements { limits, requests };
    core::VolumeMount { name, read_only, mount_path, sub_path, sub_path_expr, mount_propagation };
    core::Volume { name } + volume_source;
    core::VolumeSource {
        host_path, empty_dir, secret, persistent_volume_claim, config_map, projected,
    };
    core::HostPathVolumeSource { path, r#type };
    core::EmptyDirVolumeSource { medium, size_limit };
    core::SecretVolumeSource { secret_name, items, default_mode: keep, optional };
    core::ConfigMapVolumeSource { items, default_mode: keep, optional } + local_object_reference;
    core::PersistentVolumeClaimVolumeSource { claim_name, read_only };
    core::ProjectedVolumeSource { sources, default_mode: keep };
    core::VolumeProjection { secret, config_map };
    core::SecretProjection { items, optional } + local_object_reference;
    core::ConfigMapProjection { items, optional } + local_object_reference;
    core::KeyToPath { key, path, mode: keep };
    core::Toleration { key, operator, value, effect, toleration_seconds: keep };
    core::Probe {
        initial_delay_seconds, timeout_seconds, period_seconds, success_threshold,
        failure_threshold, termination_grace_period_seconds: keep,
    } + handler;
    core::ProbeHandler { exec, http_get, tcp_socket, grpc };
    core::ExecAction { command };
    core::HttpGetAction { path, port, host, scheme, http_headers };
    core::HttpHeader { name, value };
    core::TcpSocketAction { port, host };
    core::GrpcAction { port, service };

    apps::Deployment { metadata, spec };
    apps::DeploymentSpec {
        replicas: keep, selector, template, strategy, min_ready_seconds, revision_history_limit:
        keep, paused, progress_deadline_seconds: keep,
    };
    apps::DeploymentStrategy { r#type, rolling_update };
    apps::RollingUpdateDeployment { max_unavailable, max_surge };

    autoscaling::Scale { metadata, spec };
    autoscaling::ScaleSpec { replicas: keep };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
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
        let e = decode(&envelope("v1", "Node", vec![])).unwrap_err();
        assert_eq!(e.code, 415);
        assert!(e.message.contains("v1 Node"), "{}", e.message);
        let e = decode(&envelope("v1", "Namespace", vec![0xff, 0xff])).unwrap_err();
        assert!(
            e.message.contains("cannot decode Namespace"),
            "{}",
            e.message
        );
    }

    #[test]
    fn json_names() {
        assert_eq!(camel("generate_name"), "generateName");
        assert_eq!(camel("r#type"), "type");
        assert_eq!(camel("name"), "name");
    }
}
