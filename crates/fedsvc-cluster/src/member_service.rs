//! The member copy of a federated service: only the fields fedsvc owns.

use std::collections::BTreeMap;

use fedsvc_model::Label;
use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::error::MemberError;

/// The field manager of every server-side apply fedsvc sends.
pub const FIELD_MANAGER: &str = "fedsvc";
/// The label that marks member objects managed by fedsvc: copies of services, Deployments,
/// ConfigMaps and Secrets, and the namespaces made for them.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "fedsvc";
/// The label naming the federation a member copy belongs to.
pub const FEDERATION_LABEL: &str = "fedsvc.io/federation";
/// The load-balancer class that keeps a shared host's own cloud controller off federated
/// services; it is dropped when a service is propagated.
pub const FEDERATED_LB_CLASS: &str = "fedsvc.io/federated";
/// The label selector of the objects fedsvc manages.
pub const MANAGED_SELECTOR: &str = "app.kubernetes.io/managed-by=fedsvc";

/// Annotations never copied to members (client bookkeeping of the federation API).
const DROPPED_ANNOTATIONS: &[&str] = &[LAST_APPLIED_ANNOTATION];
/// kubectl's copy of the last applied object, in an annotation: never copied to members.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The service to apply in a member for `federated`: name, namespace, labels (plus ours),
/// annotations and the user's spec, without anything a server allocates or defaults per
/// cluster (`clusterIP(s)`, node ports, `healthCheckNodePort`, `ipFamilies`,
/// `ipFamilyPolicy`), without status and server metadata, and without
/// `loadBalancerClass: fedsvc.io/federated`.
///
/// Sent with server-side apply, these fields are all fedsvc owns, so the member's own
/// defaults never make the next apply differ.
pub fn member_service(federated: &Service, federation: &Label) -> Result<Service, MemberError> {
    let meta = &federated.metadata;
    let name = meta
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| MemberError::InvalidService("the service has no name".into()))?;
    let namespace = meta
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| MemberError::InvalidService(format!("service {name} has no namespace")))?;
    let mut labels: BTreeMap<String, String> = meta.labels.clone().unwrap_or_default();
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY_VALUE.into());
    labels.insert(FEDERATION_LABEL.into(), federation.to_string());
    let annotations: BTreeMap<String, String> = meta
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !DROPPED_ANNOTATIONS.contains(&k.as_str()))
        .collect();
    let mut spec: ServiceSpec = federated.spec.clone().unwrap_or_default();
    if spec.cluster_ip.as_deref() != Some("None") {
        spec.cluster_ip = None;
        spec.cluster_ips = None;
    } else {
        spec.cluster_ips = None;
    }
    spec.health_check_node_port = None;
    spec.ip_families = None;
    spec.ip_family_policy = None;
    if spec.load_balancer_class.as_deref() == Some(FEDERATED_LB_CLASS) {
        spec.load_balancer_class = None;
    }
    if let Some(ports) = spec.ports.as_mut() {
        for p in ports {
            p.node_port = None;
        }
    }
    Ok(Service {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

/// Whether a member service carries the managed-by label of fedsvc.
#[must_use]
pub fn is_managed(service: &Service) -> bool {
    service
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY_VALUE)
}

/// The federation label of a member service, if any.
#[must_use]
pub fn federation_of(service: &Service) -> Option<&str> {
    service
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(FEDERATION_LABEL))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::LabelRules;
    use k8s_openapi::api::core::v1::ServicePort;

    #[test]
    fn strips_server_fields_and_the_federated_class() {
        let fed = Service {
            metadata: ObjectMeta {
                name: Some("nginx".into()),
                namespace: Some("web".into()),
                resource_version: Some("42".into()),
                uid: Some("u".into()),
                annotations: Some(BTreeMap::from([(
                    "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
                    "{}".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".into()),
                cluster_ip: Some("10.0.0.1".into()),
                cluster_ips: Some(vec!["10.0.0.1".into()]),
                load_balancer_class: Some(FEDERATED_LB_CLASS.into()),
                ports: Some(vec![ServicePort {
                    port: 80,
                    node_port: Some(31000),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        let f = Label::parse("myfed", LabelRules::Rfc1123, "federation").unwrap();
        let m = member_service(&fed, &f).unwrap();
        let spec = m.spec.as_ref().unwrap();
        assert_eq!(spec.cluster_ip, None);
        assert_eq!(spec.load_balancer_class, None);
        assert_eq!(spec.ports.as_ref().unwrap()[0].node_port, None);
        assert_eq!(m.metadata.resource_version, None);
        assert_eq!(m.metadata.annotations, None);
        assert!(is_managed(&m));
        assert_eq!(federation_of(&m), Some("myfed"));
    }

    /// Traffic policies are the user's choice (`Local` keeps clients' source addresses), not
    /// allocations: they go to every member as the federated service has them.
    #[test]
    fn traffic_policies_are_propagated() {
        let fed = Service {
            metadata: ObjectMeta {
                name: Some("nginx".into()),
                namespace: Some("web".into()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                type_: Some("LoadBalancer".into()),
                external_traffic_policy: Some("Local".into()),
                internal_traffic_policy: Some("Local".into()),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        let f = Label::parse("myfed", LabelRules::Rfc1123, "federation").unwrap();
        let spec = member_service(&fed, &f).unwrap().spec.unwrap();
        assert_eq!(spec.external_traffic_policy.as_deref(), Some("Local"));
        assert_eq!(spec.internal_traffic_policy.as_deref(), Some("Local"));
    }
}
