//! The demo's simulated cloud: what a cloud provider and the EndpointSlice controller would
//! do in each member cluster.
//!
//! Every LoadBalancer service gets an external address (the next one from the member's
//! range), and every service's endpoints are the pods in its namespace that match its selector,
//! ready when the pod is — so `kubectl --context=<member> run nginx --image=nginx` (or a
//! Deployment) makes a shard healthy, as in the user guide.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use fedsvc_emulator::ApiServer;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::world::MemberSpec;

/// The running simulated cloud (one task for all members).
#[derive(Debug)]
pub(crate) struct Cloud {
    task: JoinHandle<()>,
}

/// The cloud of one member: what it assigned and last reported.
struct MemberCloud {
    api: Arc<ApiServer>,
    next_ip: u32,
    assigned: BTreeMap<(String, String), String>,
    /// The (ready, not ready) endpoints last published per service.
    endpoints: BTreeMap<(String, String), (u32, u32)>,
}

fn selector_matches(selector: &Value, labels: &Value) -> bool {
    match selector.as_object() {
        None => false,
        Some(sel) if sel.is_empty() => false,
        Some(sel) => sel.iter().all(|(k, v)| labels.get(k) == Some(v)),
    }
}

/// Whether a pod's `Ready` condition is true (the emulator runs every pod, ready unless a
/// test says otherwise).
fn pod_ready(pod: &serde_json::Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

impl MemberCloud {
    fn step(&mut self) {
        let Ok(services) = self.api.list("v1", "Service", None) else {
            return;
        };
        let pods = self.api.list("v1", "Pod", None).unwrap_or_default();
        for svc in services {
            let ns = svc["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let name = svc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let key = (ns.clone(), name.clone());
            if svc["spec"]["type"] == "LoadBalancer"
                && svc["status"]["loadBalancer"]["ingress"]
                    .as_array()
                    .is_none_or(Vec::is_empty)
            {
                let ip = self
                    .assigned
                    .entry(key.clone())
                    .or_insert_with(|| {
                        let ip = Ipv4Addr::from(self.next_ip).to_string();
                        self.next_ip += 1;
                        ip
                    })
                    .clone();
                let _ = self
                    .api
                    .set_load_balancer_ingress(&ns, &name, &[ip.as_str()], &[]);
            }
            let backends: Vec<&serde_json::Value> = pods
                .iter()
                .filter(|p| p["metadata"]["namespace"] == ns.as_str())
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .filter(|p| selector_matches(&svc["spec"]["selector"], &p["metadata"]["labels"]))
                .collect();
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            let ready = backends.iter().filter(|p| pod_ready(p)).count();
            let counts = (count(ready), count(backends.len() - ready));
            if self.endpoints.get(&key) != Some(&counts)
                && self
                    .api
                    .set_endpoints(&ns, &name, counts.0, counts.1)
                    .is_ok()
            {
                self.endpoints.insert(key, counts);
            }
        }
    }
}

impl Cloud {
    /// Starts the cloud for `members`.
    pub(crate) fn start(members: &[(MemberSpec, Arc<ApiServer>)]) -> Cloud {
        let mut clouds: Vec<MemberCloud> = members
            .iter()
            .map(|(spec, api)| MemberCloud {
                api: api.clone(),
                next_ip: u32::from(spec.first_ip),
                assigned: BTreeMap::new(),
                endpoints: BTreeMap::new(),
            })
            .collect();
        let task = tokio::spawn(async move {
            loop {
                for c in &mut clouds {
                    c.step();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Cloud { task }
    }

    /// Stops it.
    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}
