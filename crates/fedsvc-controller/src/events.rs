//! Events on federated objects (`events.k8s.io/v1`), as `kubectl describe` shows them.
//!
//! An Event that repeats (the same object, type, reason and note within
//! [`SERIES_WINDOW`]) is not created again: the first one's series count goes up, as the API
//! conventions ask. Only an identical note repeats: `created in cluster a` and `created in
//! cluster b` are two Events. (kube's `Recorder` folds every Event of one reason on an object
//! into a single series that keeps the first note, so twenty members' `Created` would read as
//! the first member's, twenty times.)
//!
//! What is remembered for series is bounded: at most [`MAX_REMEMBERED`] Events, each a few
//! dozen bytes, and none older than the window. Past the bound a repeat is created as a new
//! Event, which costs a write and loses nothing.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
pub(crate) use kube::runtime::events::EventType;
use serde_json::json;

/// How long an Event stays open to repeats.
pub(crate) const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// How many Events are remembered for series.
pub(crate) const MAX_REMEMBERED: usize = 4096;
/// The longest note the API accepts (`note` is at most 1 kB).
const MAX_NOTE: usize = 1024;

/// An Event created and still open to repeats (in the namespace of what it regards).
#[derive(Debug)]
struct Open {
    name: String,
    count: i32,
    last: Instant,
}

/// Publishes Events for one controller.
pub(crate) struct Events {
    client: kube::Client,
    controller: String,
    instance: String,
    open: Mutex<HashMap<u64, Open>>,
}

/// What makes two Events the same one repeated.
fn identity(regarding: &ObjectReference, type_: EventType, reason: &str, note: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (
        &regarding.api_version,
        &regarding.kind,
        &regarding.namespace,
        &regarding.name,
        &regarding.uid,
    )
        .hash(&mut h);
    matches!(type_, EventType::Warning).hash(&mut h);
    reason.hash(&mut h);
    note.hash(&mut h);
    h.finish()
}

/// `note` cut to what the API accepts, at a character boundary.
fn bounded(note: &str) -> &str {
    &note[..note.floor_char_boundary(MAX_NOTE)]
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("controller", &self.controller)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Events {
    /// Events reported as `controller` (`reportingController`) by `instance`
    /// (`reportingInstance`, the controller name when `None`).
    pub(crate) fn new(client: kube::Client, controller: &str, instance: Option<String>) -> Self {
        Self {
            client,
            controller: controller.to_owned(),
            instance: instance.unwrap_or_else(|| controller.to_owned()),
            open: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes an Event on `regarding`: a new one, or a repeat of the same one within
    /// [`SERIES_WINDOW`].
    pub(crate) async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let note = bounded(note);
        let id = identity(regarding, type_, reason, note);
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let now = Instant::now();
        let repeat = {
            let mut open = self.lock();
            match open.get_mut(&id) {
                Some(o) if now.duration_since(o.last) < SERIES_WINDOW => {
                    o.count += 1;
                    o.last = now;
                    Some((o.name.clone(), o.count))
                }
                _ => None,
            }
        };
        if let Some((name, count)) = repeat {
            let series = json!({"series": {
                "count": count,
                "lastObservedTime": MicroTime(Timestamp::now()),
            }});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                .await
            {
                Ok(_) => return Ok(()),
                // Expired or deleted on the server: created anew below.
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let event = self.event(regarding, type_, reason, note);
        let created = api.create(&PostParams::default(), &event).await?;
        let name = created.metadata.name.unwrap_or_default();
        let mut open = self.lock();
        if open.len() >= MAX_REMEMBERED {
            open.retain(|_, o| now.duration_since(o.last) < SERIES_WINDOW);
        }
        if open.len() < MAX_REMEMBERED {
            open.insert(
                id,
                Open {
                    name,
                    count: 1,
                    last: now,
                },
            );
        }
        Ok(())
    }

    fn event(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: &str,
    ) -> Event {
        let now = Timestamp::now();
        let prefix = regarding.name.as_deref().unwrap_or(&self.controller);
        Event {
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!("{prefix}.{:x}", now.as_nanosecond())),
                ..ObjectMeta::default()
            },
            action: Some("Propagate".to_owned()),
            event_time: Some(MicroTime(now)),
            note: Some(note.to_owned()),
            reason: Some(reason.to_owned()),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(
                match type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            ..Event::default()
        }
    }

    /// How many Events are open to repeats.
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_emulator::ApiServer;

    fn regarding(name: &str) -> ObjectReference {
        ObjectReference {
            api_version: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
            namespace: Some("ns".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        }
    }

    /// An API server with the namespace `ns`.
    async fn server() -> ApiServer {
        let api = ApiServer::start().await;
        api.create(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"},
        }))
        .expect("namespace");
        api
    }

    async fn listed(client: &kube::Client) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(client.clone(), "ns");
        let mut events = api.list(&Default::default()).await.expect("list").items;
        events.sort_by_key(|e| (e.note.clone(), e.series.as_ref().map(|s| s.count)));
        events
    }

    #[tokio::test]
    async fn only_an_identical_note_repeats_into_a_series() {
        let api = server().await;
        let client = api.client();
        let events = Events::new(client.clone(), "fedsvc-controller", None);
        let web = regarding("web");
        for cluster in ["a", "b"] {
            events
                .publish(
                    &web,
                    EventType::Normal,
                    "Created",
                    &format!("created in cluster {cluster}"),
                )
                .await
                .expect("publish");
        }
        events
            .publish(&web, EventType::Normal, "Created", "created in cluster a")
            .await
            .expect("publish");
        events
            .publish(
                &regarding("other"),
                EventType::Normal,
                "Created",
                "created in cluster a",
            )
            .await
            .expect("publish");
        let all = listed(&client).await;
        let notes: Vec<(Option<&str>, Option<i32>)> = all
            .iter()
            .map(|e| (e.note.as_deref(), e.series.as_ref().map(|s| s.count)))
            .collect();
        assert_eq!(
            notes,
            vec![
                (Some("created in cluster a"), None),
                (Some("created in cluster a"), Some(2)),
                (Some("created in cluster b"), None),
            ],
            "one Event per member and object, the repeat counted: {all:#?}"
        );
        let a = all
            .iter()
            .find(|e| e.series.is_some())
            .expect("the repeated one");
        assert_eq!(
            a.regarding.as_ref().and_then(|r| r.name.as_deref()),
            Some("web")
        );
        assert_eq!(a.reporting_controller.as_deref(), Some("fedsvc-controller"));
        assert_eq!(a.reporting_instance.as_deref(), Some("fedsvc-controller"));
        assert_eq!(events.remembered(), 3);
    }

    #[tokio::test]
    async fn a_repeat_of_an_event_gone_from_the_server_is_created_again() {
        let api = server().await;
        let client = api.client();
        let events = Events::new(client.clone(), "fedsvc-controller", Some("pod-1".into()));
        let web = regarding("web");
        let failed = || {
            events.publish(
                &web,
                EventType::Warning,
                "PropagationFailed",
                "cluster a: refused",
            )
        };
        failed().await.expect("publish");
        let ev: Api<Event> = Api::namespaced(client.clone(), "ns");
        let first = listed(&client).await.remove(0);
        ev.delete(
            first.metadata.name.as_deref().expect("named"),
            &Default::default(),
        )
        .await
        .expect("delete");
        failed().await.expect("publish again");
        let all = listed(&client).await;
        assert_eq!(all.len(), 1, "{all:#?}");
        assert_eq!(all[0].type_.as_deref(), Some("Warning"));
        assert_eq!(all[0].reporting_instance.as_deref(), Some("pod-1"));
    }

    #[test]
    fn notes_are_cut_to_what_the_api_accepts() {
        let long = "é".repeat(MAX_NOTE);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_NOTE && cut.len() > MAX_NOTE - 2);
        // A two-byte character across the limit is left out whole.
        let odd = format!("a{long}");
        assert_eq!(bounded(&odd).len(), MAX_NOTE - 1);
        assert_eq!(bounded("short"), "short");
    }
}
