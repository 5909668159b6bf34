//! The `Cluster` objects' status: conditions, zones and region, written by the leader.

use std::time::SystemTime;

use fedsvc_cluster::{Cluster as ClusterResource, ClusterCondition, ClusterStatus};
use fedsvc_model::ClusterName;
use kube::api::{Api, Patch, PatchParams};
use tracing::debug;

use super::ClusterManager;
use crate::members::probe::to_time;

impl ClusterManager {
    pub(super) async fn write_status(&self, name: &ClusterName) {
        let status = {
            let members = self.members.lock().expect("members lock");
            let Some(status) = members.get(name).and_then(|e| e.probe.status()) else {
                return;
            };
            status
        };
        if !self.shared.leader.may_write() {
            return;
        }
        let api: Api<ClusterResource> = Api::all(self.host.clone());
        let patch = serde_json::json!({ "status": status });
        if let Err(e) = api
            .patch_status(
                name.as_str(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            debug!(cluster = %name, error = %e, "cannot write Cluster status");
        }
    }

    pub(super) async fn write_status_problem(
        &self,
        name: &ClusterName,
        reason: &str,
        message: &str,
    ) {
        if !self.shared.leader.may_write() {
            return;
        }
        let now = to_time(SystemTime::now());
        let status = ClusterStatus {
            conditions: vec![ClusterCondition {
                type_: fedsvc_cluster::CONDITION_READY.into(),
                status: "False".into(),
                reason: Some(reason.into()),
                message: Some(message.into()),
                last_probe_time: Some(now.clone()),
                last_transition_time: Some(now),
            }],
            zones: Vec::new(),
            region: None,
        };
        let api: Api<ClusterResource> = Api::all(self.host.clone());
        let patch = serde_json::json!({ "status": status });
        let _ = api
            .patch_status(
                name.as_str(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await;
    }
}
