//! The fields mapped between JSON and each message: one list per message, used both ways.
//!
//! A field of a message that is not listed here is dropped, both when a request body is
//! decoded and when an answer is encoded; the crate's README says which.

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::autoscaling::v1 as autoscaling;
use k8s_pb::api::coordination::v1 as coordination;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::discovery::v1 as discovery;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::{Map, Value};

use super::convert::{Fault, FromJson, ToJson, camel, unset};

/// Whether a field's value is left out of the JSON: never when the field is marked `keep`.
macro_rules! dropped {
    ($v:ident keep) => {
        false
    };
    ($v:ident) => {
        unset(&$v)
    };
}

/// [`ToJson`] and [`FromJson`] for messages: each listed field under its JSON name (the
/// camel-case form of the Rust name, or the name given after `=>`), without 0, false and ""
/// unless marked `: keep`; the fields after `+` are embedded (inlined) structs whose own fields
/// are merged in, as Go's embedded structs are in the API's JSON.
macro_rules! messages {
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
        }

        impl FromJson for $ty {
            fn from_json(v: &Value) -> Result<Self, Fault> {
                let Some(object) = v.as_object() else {
                    return Err(Fault::expected("an object", v));
                };
                #[allow(unused_mut)]
                let mut m = <$ty>::default();
                $($(m.$inline = FromJson::from_json(v)?;)+)?
                $({
                    #[allow(unused_variables)]
                    let name = camel(stringify!($field));
                    $(let name = String::from($json);)?
                    if let Some(x) = object.get(&name) {
                        m.$field = FromJson::from_json(x).map_err(|f| f.at(name))?;
                    }
                })*
                let _ = object;
                Ok(m)
            }
        })*
    };
}

messages! {
    meta::ObjectMeta {
        name, generate_name, namespace, self_link, uid, resource_version, generation,
        creation_timestamp, deletion_timestamp, deletion_grace_period_seconds: keep, labels,
        annotations, owner_references, finalizers, managed_fields,
    };
    meta::ListMeta { self_link, resource_version, r#continue, remaining_item_count: keep };
    meta::OwnerReference {
        api_version, kind, name, uid, controller: keep, block_owner_deletion: keep,
    };
    meta::ManagedFieldsEntry {
        manager, operation, api_version, time, fields_type, fields_v1, subresource,
    };
    meta::LabelSelector { match_labels, match_expressions };
    meta::LabelSelectorRequirement { key, operator, values };
    meta::Condition { r#type, status, observed_generation, last_transition_time, reason, message };
    meta::DeleteOptions {
        grace_period_seconds: keep, preconditions, orphan_dependents: keep, propagation_policy,
        dry_run,
    };
    meta::Preconditions { uid, resource_version };
    meta::Status { metadata, status, message, reason, details, code };
    meta::StatusDetails { name, group, kind, uid, causes, retry_after_seconds };
    meta::StatusCause { reason, message, field };

    core::Namespace { metadata, spec, status };
    core::NamespaceList { metadata, items };
    core::NamespaceSpec { finalizers };
    core::NamespaceStatus { phase, conditions };
    core::NamespaceCondition { r#type, status, last_transition_time, reason, message };
    core::Node { metadata, spec, status };
    core::NodeList { metadata, items };
    core::NodeSpec {
        pod_cidr => "podCIDR", pod_cid_rs => "podCIDRs", provider_id => "providerID", unschedulable,
        taints,
    };
    core::Taint { key, value, effect, time_added };
    core::NodeStatus {
        capacity, allocatable, phase, conditions, addresses, daemon_endpoints, node_info,
        volumes_in_use,
    };
    core::NodeCondition {
        r#type, status, last_heartbeat_time, last_transition_time, reason, message,
    };
    core::NodeAddress { r#type, address };
    core::NodeDaemonEndpoints { kubelet_endpoint };
    core::DaemonEndpoint { port: keep => "Port" };
    core::NodeSystemInfo {
        machine_id: keep => "machineID", system_uuid: keep => "systemUUID",
        boot_id: keep => "bootID", kernel_version: keep, os_image: keep => "osImage",
        container_runtime_version: keep, kubelet_version: keep, kube_proxy_version: keep,
        operating_system: keep, architecture: keep,
    };
    core::Secret { metadata, immutable: keep, data, string_data, r#type };
    core::SecretList { metadata, items };
    core::ConfigMap { metadata, immutable: keep, data, binary_data };
    core::ConfigMapList { metadata, items };
    core::ServiceAccount {
        metadata, secrets, image_pull_secrets, automount_service_account_token: keep,
    };
    core::ServiceAccountList { metadata, items };
    core::ObjectReference { kind, namespace, name, uid, api_version, resource_version, field_path };
    core::Event {
        metadata, involved_object, reason, message, source, first_timestamp, last_timestamp, count,
        r#type, event_time, series, action, related, reporting_component: keep,
        reporting_instance: keep,
    };
    core::EventList { metadata, items };
    core::EventSource { component, host };
    core::EventSeries { count, last_observed_time };
    core::ResourceQuota { metadata, spec, status };
    core::ResourceQuotaList { metadata, items };
    core::ResourceQuotaSpec { hard, scopes, scope_selector };
    core::ScopeSelector { match_expressions };
    core::ScopedResourceSelectorRequirement { scope_name, operator, values };
    core::ResourceQuotaStatus { hard, used };
    core::LimitRange { metadata, spec };
    core::LimitRangeList { metadata, items };
    core::LimitRangeSpec { limits };
    core::LimitRangeItem { r#type, max, min, default, default_request, max_limit_request_ratio };

    core::Service { metadata, spec, status };
    core::ServiceList { metadata, items };
    core::ServiceSpec {
        ports, selector, cluster_ip => "clusterIP", cluster_ips => "clusterIPs", r#type,
        external_ips => "externalIPs", session_affinity, load_balancer_ip => "loadBalancerIP",
        load_balancer_source_ranges, external_name, external_traffic_policy, health_check_node_port,
        publish_not_ready_addresses, session_affinity_config, ip_families, ip_family_policy: keep,
        allocate_load_balancer_node_ports: keep, load_balancer_class: keep,
        internal_traffic_policy: keep, traffic_distribution: keep,
    };
    core::ServicePort {
        name, protocol, app_protocol: keep, port: keep, target_port: keep, node_port,
    };
    core::SessionAffinityConfig { client_ip => "clientIP" };
    core::ClientIpConfig { timeout_seconds: keep };
    core::ServiceStatus { load_balancer, conditions };
    core::LoadBalancerStatus { ingress };
    core::LoadBalancerIngress { ip, hostname, ip_mode: keep, ports };
    core::PortStatus { port: keep, protocol, error };
    core::Endpoints { metadata, subsets };
    core::EndpointsList { metadata, items };
    core::EndpointSubset { addresses, not_ready_addresses, ports };
    core::EndpointAddress { ip: keep, hostname, node_name, target_ref };
    core::EndpointPort { name, port: keep, protocol, app_protocol: keep };

    core::Pod { metadata, spec, status };
    core::PodList { metadata, items };
    core::PodTemplateSpec { metadata, spec };
    core::PodSpec {
        volumes, init_containers, containers, restart_policy,
        termination_grace_period_seconds:         keep, active_deadline_seconds: keep, dns_policy,
        node_selector, service_account_name, service_account, automount_service_account_token: keep,
        node_name, host_network, host_pid => "hostPID", host_ipc => "hostIPC",
        share_process_namespace: keep, security_context, image_pull_secrets, hostname, subdomain,
        affinity, scheduler_name, tolerations, host_aliases, priority_class_name, priority: keep,
        dns_config, readiness_gates, runtime_class_name: keep, enable_service_links: keep,
        preemption_policy: keep, topology_spread_constraints,
        set_hostname_as_fqdn: keep => "setHostnameAsFQDN", os, host_users: keep, overhead,
        scheduling_gates, resources, hostname_override: keep,
    };
    core::PodSchedulingGate { name };
    core::PodStatus {
        observed_generation, phase, conditions, message, reason, nominated_node_name,
        host_ip => "hostIP", host_ips => "hostIPs", pod_ip => "podIP", pod_ips => "podIPs",
        start_time, init_container_statuses, container_statuses, qos_class => "qosClass",
        ephemeral_container_statuses, resize, resources,
    };
    core::HostIp { ip };
    core::PodIp { ip };
    core::PodCondition {
        r#type, observed_generation, status, last_probe_time, last_transition_time, reason, message,
    };
    core::ContainerStatus {
        name: keep, state, last_state, ready: keep, restart_count: keep, image: keep,
        image_id: keep => "imageID", container_id => "containerID", started: keep,
        allocated_resources, resources, stop_signal,
    };
    core::ContainerState { waiting, running, terminated };
    core::ContainerStateWaiting { reason, message };
    core::ContainerStateRunning { started_at };
    core::ContainerStateTerminated {
        exit_code: keep, signal, reason, message, started_at, finished_at,
        container_id => "containerID",
    };
    core::Container {
        name, image, command, args, working_dir, ports, env_from, env, resources, resize_policy,
        restart_policy: keep, volume_mounts, liveness_probe, readiness_probe, startup_probe,
        lifecycle, termination_message_path, termination_message_policy, image_pull_policy,
        security_context, stdin, stdin_once, tty,
    };
    core::ContainerPort { name, host_port, container_port: keep, protocol, host_ip => "hostIP" };
    core::ContainerResizePolicy { resource_name, restart_policy };
    core::EnvVar { name, value, value_from };
    core::EnvVarSource { field_ref, resource_field_ref, config_map_key_ref, secret_key_ref };
    core::ObjectFieldSelector { api_version, field_path };
    core::ResourceFieldSelector { container_name, resource, divisor };
    core::ConfigMapKeySelector { key, optional: keep } + local_object_reference;
    core::SecretKeySelector { key, optional: keep } + local_object_reference;
    core::EnvFromSource { prefix, config_map_ref, secret_ref };
    core::ConfigMapEnvSource { optional: keep } + local_object_reference;
    core::SecretEnvSource { optional: keep } + local_object_reference;
    core::LocalObjectReference { name };
    core::ResourceRequirements { limits, requests, claims };
    core::ResourceClaim { name, request };
    core::VolumeMount {
        name, read_only, recursive_read_only: keep, mount_path, sub_path, mount_propagation: keep,
        sub_path_expr,
    };
    core::Volume { name } + volume_source;
    core::VolumeSource {
        host_path, empty_dir, secret, persistent_volume_claim, downward_api => "downwardAPI",
        config_map, projected,
    };
    core::HostPathVolumeSource { path, r#type: keep };
    core::EmptyDirVolumeSource { medium, size_limit };
    core::SecretVolumeSource { secret_name, items, default_mode: keep, optional: keep };
    core::ConfigMapVolumeSource {
        items, default_mode: keep, optional: keep,
    } + local_object_reference;
    core::PersistentVolumeClaimVolumeSource { claim_name, read_only };
    core::DownwardAPIVolumeSource { items, default_mode: keep };
    core::DownwardAPIVolumeFile { path, field_ref, resource_field_ref, mode: keep };
    core::DownwardAPIProjection { items };
    core::ProjectedVolumeSource { sources, default_mode: keep };
    core::VolumeProjection {
        secret, downward_api => "downwardAPI", config_map, service_account_token,
    };
    core::SecretProjection { items, optional: keep } + local_object_reference;
    core::ConfigMapProjection { items, optional: keep } + local_object_reference;
    core::ServiceAccountTokenProjection { audience, expiration_seconds: keep, path };
    core::KeyToPath { key, path, mode: keep };
    core::Toleration { key, operator, value, effect, toleration_seconds: keep };
    core::Probe {
        initial_delay_seconds, timeout_seconds, period_seconds, success_threshold,
        failure_threshold, termination_grace_period_seconds: keep,
    } + handler;
    core::ProbeHandler { exec, http_get, tcp_socket, grpc };
    core::Lifecycle { post_start, pre_stop, stop_signal };
    core::LifecycleHandler { exec, http_get, tcp_socket, sleep };
    core::SleepAction { seconds: keep };
    core::ExecAction { command };
    core::HttpGetAction { path, port: keep, host, scheme, http_headers };
    core::HttpHeader { name, value: keep };
    core::TcpSocketAction { port: keep, host };
    core::GrpcAction { port: keep, service: keep };
    core::PodSecurityContext {
        se_linux_options, run_as_user: keep, run_as_group: keep, run_as_non_root: keep,
        supplemental_groups, supplemental_groups_policy: keep, fs_group: keep, sysctls,
        fs_group_change_policy: keep, seccomp_profile, app_armor_profile,
        se_linux_change_policy: keep,
    };
    core::SecurityContext {
        capabilities, privileged: keep, se_linux_options, run_as_user: keep, run_as_group: keep,
        run_as_non_root: keep, read_only_root_filesystem: keep, allow_privilege_escalation: keep,
        proc_mount: keep, seccomp_profile, app_armor_profile,
    };
    core::Capabilities { add, drop };
    core::SeLinuxOptions { user, role, r#type, level };
    core::SeccompProfile { r#type, localhost_profile: keep };
    core::AppArmorProfile { r#type, localhost_profile: keep };
    core::Sysctl { name, value };
    core::Affinity { node_affinity, pod_affinity, pod_anti_affinity };
    core::NodeAffinity {
        required_during_scheduling_ignored_during_execution,
        preferred_during_scheduling_ignored_during_execution,
    };
    core::NodeSelector { node_selector_terms };
    core::NodeSelectorTerm { match_expressions, match_fields };
    core::NodeSelectorRequirement { key, operator, values };
    core::PreferredSchedulingTerm { weight: keep, preference };
    core::PodAffinity {
        required_during_scheduling_ignored_during_execution,
        preferred_during_scheduling_ignored_during_execution,
    };
    core::PodAntiAffinity {
        required_during_scheduling_ignored_during_execution,
        preferred_during_scheduling_ignored_during_execution,
    };
    core::PodAffinityTerm {
        label_selector, namespaces, topology_key, namespace_selector, match_label_keys,
        mismatch_label_keys,
    };
    core::WeightedPodAffinityTerm { weight: keep, pod_affinity_term };
    core::TopologySpreadConstraint {
        max_skew: keep, topology_key, when_unsatisfiable, label_selector, min_domains: keep,
        node_affinity_policy: keep, node_taints_policy: keep, match_label_keys,
    };
    core::HostAlias { ip, hostnames };
    core::PodDnsConfig { nameservers, searches, options };
    core::PodDnsConfigOption { name, value };
    core::PodReadinessGate { condition_type };
    core::PodOs { name };

    apps::Deployment { metadata, spec, status };
    apps::DeploymentList { metadata, items };
    apps::DeploymentSpec {
        replicas: keep, selector, template, strategy, min_ready_seconds,
        revision_history_limit:         keep, paused, progress_deadline_seconds: keep,
    };
    apps::DeploymentStrategy { r#type, rolling_update };
    apps::RollingUpdateDeployment { max_unavailable: keep, max_surge: keep };
    apps::DeploymentStatus {
        observed_generation, replicas, updated_replicas, ready_replicas, available_replicas,
        unavailable_replicas, terminating_replicas: keep, conditions, collision_count: keep,
    };
    apps::DeploymentCondition {
        r#type, status, last_update_time, last_transition_time, reason, message,
    };
    apps::ReplicaSet { metadata, spec, status };
    apps::ReplicaSetList { metadata, items };
    apps::ReplicaSetSpec { replicas: keep, min_ready_seconds, selector, template };
    apps::ReplicaSetStatus {
        replicas: keep, fully_labeled_replicas, ready_replicas, available_replicas,
        terminating_replicas: keep, observed_generation, conditions,
    };
    apps::ReplicaSetCondition { r#type, status, last_transition_time, reason, message };

    autoscaling::Scale { metadata, spec, status };
    autoscaling::ScaleSpec { replicas: keep };
    autoscaling::ScaleStatus { replicas: keep, selector };

    coordination::Lease { metadata, spec };
    coordination::LeaseList { metadata, items };
    coordination::LeaseSpec {
        holder_identity: keep, lease_duration_seconds: keep, acquire_time, renew_time,
        lease_transitions: keep, strategy: keep, preferred_holder: keep,
    };

    discovery::EndpointSlice { metadata, address_type, endpoints, ports };
    discovery::EndpointSliceList { metadata, items };
    discovery::Endpoint {
        addresses, conditions, hostname: keep, target_ref, deprecated_topology, node_name: keep,
        zone: keep, hints,
    };
    discovery::EndpointConditions { ready: keep, serving: keep, terminating: keep };
    discovery::EndpointHints { for_zones, for_nodes };
    discovery::ForZone { name };
    discovery::ForNode { name };
    discovery::EndpointPort { name: keep, protocol: keep, port: keep, app_protocol: keep };
}
