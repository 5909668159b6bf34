//! The federated service's `status.loadBalancer.ingress`: the union of its members' ingress,
//! written only when it differs from what the watch last saw.

use std::collections::{BTreeSet, HashMap};

use fedsvc_model::ServiceKey;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, Service};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};

use super::{Context, ReconcileError};

/// The `status.loadBalancer.ingress` of each federated service as the watch last saw it, in
/// its JSON form.
///
/// The reconciler compares it with the union of the members' ingress to know whether the
/// status needs writing. The services cache does not keep the status itself: with one ingress
/// per member it is most of a cached Service's size (each entry is a structure of four
/// optional fields), while its JSON is a few hundred bytes.
#[derive(Debug, Default)]
pub(crate) struct IngressSeen(std::sync::Mutex<HashMap<ServiceKey, Box<str>>>);

impl IngressSeen {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ServiceKey, Box<str>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers the ingress of `svc` (or forgets it, for a deleted service); the watch calls
    /// it for every service it sees, before the service is cached without its status.
    pub(crate) fn observe(&self, svc: &Service, deleted: bool) {
        let Ok(key) = ServiceKey::parse(&svc.namespace().unwrap_or_default(), &svc.name_any())
        else {
            return;
        };
        if deleted {
            self.lock().remove(&key);
            return;
        }
        let json = ingress_json(
            svc.status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_deref())
                .unwrap_or_default(),
        );
        self.lock().insert(key, json.into_boxed_str());
    }

    /// Whether the watch last saw `ingress` on service `key`.
    pub(crate) fn is(&self, key: &ServiceKey, ingress: &[LoadBalancerIngress]) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|seen| **seen == *ingress_json(ingress))
    }
}

fn ingress_json(ingress: &[LoadBalancerIngress]) -> String {
    serde_json::to_string(ingress).unwrap_or_default()
}

/// Writes `status.loadBalancer.ingress` as the sorted union of the members' ingress.
pub(super) async fn update_ingress(
    svc: &Service,
    key: &ServiceKey,
    ctx: &Context,
    api: &Api<Service>,
) -> Result<(), ReconcileError> {
    let (ips, hosts) = ctx.shared.state.lock().expect("state lock").ingress(key);
    let ips: BTreeSet<String> = ips.iter().map(ToString::to_string).collect();
    let hosts: BTreeSet<String> = hosts.iter().map(|h| h.without_dot().to_owned()).collect();
    let wanted: Vec<LoadBalancerIngress> = ips
        .into_iter()
        .map(|ip| LoadBalancerIngress {
            ip: Some(ip),
            ..Default::default()
        })
        .chain(hosts.into_iter().map(|h| LoadBalancerIngress {
            hostname: Some(h),
            ..Default::default()
        }))
        .collect();
    if ctx.ingress.is(key, &wanted) {
        return Ok(());
    }
    let patch = serde_json::json!({"status": {"loadBalancer": {"ingress": wanted}}});
    api.patch_status(
        &svc.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{LoadBalancerStatus, ServiceStatus};
    use kube::api::ObjectMeta;

    use super::*;

    fn ip(ip: &str) -> LoadBalancerIngress {
        LoadBalancerIngress {
            ip: Some(ip.into()),
            ..Default::default()
        }
    }

    fn service(ingress: Option<Vec<LoadBalancerIngress>>) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("nginx".into()),
                namespace: Some("mynamespace".into()),
                ..Default::default()
            },
            spec: None,
            status: ingress.map(|ingress| ServiceStatus {
                load_balancer: Some(LoadBalancerStatus {
                    ingress: Some(ingress),
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn the_ingress_seen_is_compared_exactly() {
        let seen = IngressSeen::default();
        let key = ServiceKey::parse("mynamespace", "nginx").unwrap();
        let two = vec![ip("10.0.0.1"), ip("10.0.0.2")];
        // Never seen: differs from anything, so the status is written.
        assert!(!seen.is(&key, &[]));
        seen.observe(&service(Some(two.clone())), false);
        assert!(seen.is(&key, &two));
        assert!(!seen.is(&key, &[ip("10.0.0.1")]));
        assert!(!seen.is(&key, &[ip("10.0.0.2"), ip("10.0.0.1")]));
        // A field fedsvc does not write makes it differ too.
        let mut moded = two.clone();
        moded[0].ip_mode = Some("VIP".into());
        assert!(!seen.is(&key, &moded));
        // No status is no ingress.
        seen.observe(&service(None), false);
        assert!(seen.is(&key, &[]));
        seen.observe(&service(None), true);
        assert!(!seen.is(&key, &[]));
    }
}
