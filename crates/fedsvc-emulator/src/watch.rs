//! `?watch=true`: newline-delimited watch events, bookmarks, timeouts and 410 Gone.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt;
use futures::channel::mpsc;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::api_failure::ApiFailure;
use crate::resource::Resource;
use crate::selector::Selector;
use crate::shared::Shared;
use crate::store::{Event, EventType};

/// How often bookmarks are sent to watches that allow them.
const BOOKMARK_PERIOD: Duration = Duration::from_secs(2);

/// What a watch asked for.
pub(crate) struct WatchParams {
    pub(crate) res: Resource,
    pub(crate) ns: Option<String>,
    pub(crate) labels: Selector,
    pub(crate) fields: Selector,
    pub(crate) from: Option<u64>,
    pub(crate) bookmarks: bool,
    pub(crate) send_initial: bool,
    pub(crate) timeout: Duration,
}

fn line(ty: &str, object: &Value) -> Bytes {
    let mut s = serde_json::to_string(&json!({"type": ty, "object": object})).unwrap_or_default();
    s.push('\n');
    Bytes::from(s)
}

/// The event to send for a store event, given the selectors (an object that leaves the
/// selection is sent as DELETED, one that enters it as ADDED).
fn translate(p: &WatchParams, ev: &Event) -> Option<Bytes> {
    if ev.res != p.res.key() || p.ns.as_deref().is_some_and(|ns| ns != ev.ns) {
        return None;
    }
    let matches = |o: &Value| p.labels.matches_labels(o) && p.fields.matches_fields(o);
    let now = matches(&ev.object);
    let ty = match ev.ty {
        EventType::Added if now => EventType::Added,
        EventType::Deleted if now => EventType::Deleted,
        EventType::Modified => {
            let before = ev.old.as_ref().is_some_and(matches);
            match (before, now) {
                (true, true) => EventType::Modified,
                (false, true) => EventType::Added,
                (true, false) => EventType::Deleted,
                (false, false) => return None,
            }
        }
        _ => return None,
    };
    let mut obj = ev.object.clone();
    if obj["apiVersion"].is_null() {
        obj["apiVersion"] = json!(p.res.api_version());
    }
    Some(line(ty.as_str(), &obj))
}

fn bookmark(p: &WatchParams, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        &json!({"kind": p.res.kind, "apiVersion": p.res.api_version(), "metadata": meta}),
    )
}

fn gone(f: &ApiFailure) -> Bytes {
    line("ERROR", &f.to_status())
}

/// Starts a watch; returns the stream of lines of the response body.
pub(crate) fn start(shared: Arc<Shared>, p: WatchParams) -> mpsc::Receiver<Bytes> {
    let (mut tx, rx) = mpsc::channel::<Bytes>(256);
    let start = {
        let store = shared.store();
        let from = if p.send_initial { None } else { p.from };
        store.watch_start(&p.res, p.ns.as_deref(), from)
    };
    let mut expire = shared.expire.subscribe();
    tokio::spawn(async move {
        let start = match start {
            Ok(s) => s,
            Err(f) => {
                let _ = tx.send(gone(&f)).await;
                return;
            }
        };
        let mut rx = start.rx;
        let last_rv = start.last_rv;
        let mut seen = last_rv;
        for ev in &start.first {
            if let Some(l) = translate(&p, ev)
                && tx.send(l).await.is_err()
            {
                return;
            }
        }
        if p.send_initial && tx.send(bookmark(&p, last_rv, true)).await.is_err() {
            return;
        }
        let deadline = tokio::time::sleep(p.timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(BOOKMARK_PERIOD);
        tick.tick().await;
        loop {
            tokio::select! {
                biased;
                () = &mut deadline => break,
                _ = expire.changed() => {
                    let _ = tx.send(gone(&ApiFailure::gone(seen, seen))).await;
                    break;
                }
                _ = tick.tick() => {
                    if tx.is_closed() {
                        break;
                    }
                    if p.bookmarks && tx.send(bookmark(&p, seen, false)).await.is_err() {
                        break;
                    }
                }
                r = rx.recv() => match r {
                    Ok(ev) => {
                        if ev.rv <= last_rv {
                            continue;
                        }
                        seen = ev.rv;
                        if let Some(l) = translate(&p, &ev)
                            && tx.send(l).await.is_err() {
                                break;
                            }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let _ = tx.send(gone(&ApiFailure::gone(seen, seen))).await;
                        break;
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    });
    rx
}
