//! `/healthz`, `/readyz` and `/metrics` over HTTP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, error};

use crate::shared::Shared;
use crate::state::FederationState;

/// What `/readyz` and `/healthz` answer.
///
/// - `/healthz` (and `/livez`) answers 200 until a task of the controller ends while it is
///   not shutting down (a panic, or a task that returns): then 500 for good, naming the task,
///   so that the kubelet restarts the pod.
/// - `/readyz` answers 200 once the federation API's services and clusters have been listed
///   (the caches every other task works from), as long as the federation API answers: when
///   its checks ([`Readiness::api_failed`]) have failed for longer than `api_unreachable_for`
///   in a row, 503 until it answers again. A task that ended makes it 503 too.
#[derive(Debug)]
pub(crate) struct Readiness {
    api_unreachable_for: Duration,
    api_failing_since: Mutex<Option<Instant>>,
    ended: Mutex<Option<String>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new(crate::config::DEFAULT_API_UNREACHABLE_FOR)
    }
}

impl Readiness {
    /// Not ready until listed; unready once the federation API fails for `api_unreachable_for`.
    pub(crate) fn new(api_unreachable_for: Duration) -> Self {
        Self {
            api_unreachable_for,
            api_failing_since: Mutex::new(None),
            ended: Mutex::new(None),
        }
    }

    /// A request to the federation API failed (the first failure in a row starts the clock).
    pub(crate) fn api_failed(&self) {
        self.api_failed_at(Instant::now());
    }

    fn api_failed_at(&self, now: Instant) {
        self.api_failing_since
            .lock()
            .expect("readiness lock")
            .get_or_insert(now);
    }

    /// A request to the federation API succeeded.
    pub(crate) fn api_answered(&self) {
        *self.api_failing_since.lock().expect("readiness lock") = None;
    }

    /// `task` ended unexpectedly (`how`: it panicked, with the message, or it returned):
    /// `/healthz` fails from now on. The first such task is the one reported.
    pub(crate) fn task_ended(&self, task: &str, how: &str) {
        self.ended
            .lock()
            .expect("readiness lock")
            .get_or_insert_with(|| format!("the {task} task {how}"));
    }

    /// `Ok` while alive, else why not (for `/healthz`).
    pub(crate) fn liveness(&self) -> Result<(), String> {
        match &*self.ended.lock().expect("readiness lock") {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    /// `Ok` when ready, else every reason why not (for `/readyz`).
    pub(crate) fn readiness(&self, state: &FederationState) -> Result<(), String> {
        self.readiness_at(state, Instant::now())
    }

    fn readiness_at(&self, state: &FederationState, now: Instant) -> Result<(), String> {
        let mut why = Vec::new();
        if let Err(e) = self.liveness() {
            why.push(e);
        }
        if !state.services_listed() {
            why.push("the federation API's services are not listed yet".to_owned());
        }
        if !state.clusters_listed() {
            why.push("the federation API's clusters are not listed yet".to_owned());
        }
        if let Some(since) = *self.api_failing_since.lock().expect("readiness lock") {
            let failing = now.saturating_duration_since(since);
            if failing >= self.api_unreachable_for {
                why.push(format!(
                    "the federation API has not answered for {}",
                    humantime::format_duration(Duration::from_secs(failing.as_secs()))
                ));
            }
        }
        if why.is_empty() {
            Ok(())
        } else {
            Err(why.join("; "))
        }
    }
}

/// Runs `task` as the task `name`; when it ends before `stop` turns true (it returned, or it
/// panicked), [`Readiness::task_ended`] is told, so that `/healthz` fails and the pod is
/// restarted rather than left running without it. The handle returned ends with the task.
pub(crate) fn supervise<F>(
    name: &'static str,
    readiness: Arc<Readiness>,
    stop: watch::Receiver<bool>,
    task: F,
) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let inner = tokio::spawn(task);
    tokio::spawn(async move {
        let outcome = inner.await;
        if *stop.borrow() {
            return;
        }
        let how = match outcome {
            Ok(()) => "returned".to_owned(),
            Err(e) if e.is_panic() => {
                let panic = e.into_panic();
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                format!("panicked: {message}")
            }
            Err(_) => "was cancelled".to_owned(),
        };
        error!(
            task = name,
            "the {name} task {how}: /healthz fails from now on"
        );
        readiness.task_ended(name, &how);
    })
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    ready: Arc<Readiness>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match req.uri().path() {
        "/healthz" | "/livez" => match ready.liveness() {
            Ok(()) => text(StatusCode::OK, "ok"),
            Err(why) => text(StatusCode::INTERNAL_SERVER_ERROR, why),
        },
        "/readyz" => {
            let answer = ready.readiness(&shared.state.lock().expect("state lock"));
            match answer {
                Ok(()) => text(StatusCode::OK, "ok"),
                Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, why),
            }
        }
        "/metrics" => {
            let mut r = text(StatusCode::OK, shared.metrics.encode());
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    })
}

/// Binds `addr`; returns the bound address and the serving task.
pub(crate) async fn serve(
    addr: SocketAddr,
    shared: Arc<Shared>,
    ready: Arc<Readiness>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                _ = shutdown.changed() => return,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        debug!(error = %e, "accept failed");
                        continue;
                    }
                },
            };
            let shared = shared.clone();
            let ready = ready.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    handle(req, shared.clone(), ready.clone())
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok((local, task))
}

#[cfg(test)]
mod tests {
    use fedsvc_model::{DnsName, Label, LabelRules, Snapshot};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::leader::LeaderState;

    fn state() -> FederationState {
        FederationState::new(Snapshot::new(
            Label::parse("fed", LabelRules::Rfc1123, "federation").unwrap(),
            DnsName::parse("example.com").unwrap(),
        ))
    }

    /// `GET path` on `addr`: the status and the body.
    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
        (status, body)
    }

    #[test]
    fn ready_once_listed_and_while_the_api_answers() {
        let r = Readiness::new(Duration::from_secs(30));
        let mut s = state();
        let t0 = Instant::now();
        assert_eq!(
            r.readiness_at(&s, t0).unwrap_err(),
            "the federation API's services are not listed yet; the federation API's clusters are not listed yet"
        );
        s.set_services_listed();
        assert_eq!(
            r.readiness_at(&s, t0).unwrap_err(),
            "the federation API's clusters are not listed yet"
        );
        s.set_clusters_listed();
        r.readiness_at(&s, t0).unwrap();
        // Failing, but not for long enough yet; a second failure does not restart the clock.
        r.api_failed_at(t0);
        r.api_failed_at(t0 + Duration::from_secs(20));
        r.readiness_at(&s, t0 + Duration::from_secs(29)).unwrap();
        assert_eq!(
            r.readiness_at(&s, t0 + Duration::from_secs(31))
                .unwrap_err(),
            "the federation API has not answered for 31s"
        );
        r.api_answered();
        r.readiness_at(&s, t0 + Duration::from_secs(40)).unwrap();
        r.liveness().unwrap();
        r.task_ended("DNS sync", "returned");
        r.task_ended("member probe", "returned");
        assert_eq!(r.liveness().unwrap_err(), "the DNS sync task returned");
        assert_eq!(
            r.readiness_at(&s, t0).unwrap_err(),
            "the DNS sync task returned"
        );
    }

    #[tokio::test]
    async fn a_task_that_ends_before_the_stop_fails_liveness() {
        let (stop, stop_rx) = watch::channel(false);
        let r = Arc::new(Readiness::default());
        let panics = supervise("DNS sync", r.clone(), stop_rx.clone(), async {
            let period = Duration::ZERO;
            let _ = tokio::time::interval(period);
        });
        panics.await.unwrap();
        let why = r.liveness().unwrap_err();
        assert!(
            why.starts_with("the DNS sync task panicked: ") && why.contains("must be non-zero"),
            "{why}"
        );

        let r = Arc::new(Readiness::default());
        supervise("service reconciler", r.clone(), stop_rx.clone(), async {})
            .await
            .unwrap();
        assert_eq!(
            r.liveness().unwrap_err(),
            "the service reconciler task returned"
        );

        // Ending because of the stop is no failure.
        let r = Arc::new(Readiness::default());
        let mut wait = stop_rx.clone();
        let task = supervise("Cluster watch", r.clone(), stop_rx, async move {
            let _ = wait.wait_for(|s| *s).await;
        });
        stop.send(true).unwrap();
        task.await.unwrap();
        r.liveness().unwrap();
    }

    #[tokio::test]
    async fn the_endpoints_answer_what_readiness_says() {
        let shared = Arc::new(Shared::new(state(), LeaderState::always()));
        let r = Arc::new(Readiness::default());
        let (_stop, stop_rx) = watch::channel(false);
        let (addr, _task) = serve(
            "127.0.0.1:0".parse().unwrap(),
            shared.clone(),
            r.clone(),
            stop_rx,
        )
        .await
        .unwrap();
        assert_eq!(get(addr, "/healthz").await, (200, "ok".into()));
        let (status, body) = get(addr, "/readyz").await;
        assert_eq!(status, 503);
        assert!(body.contains("services are not listed yet"), "{body}");
        shared.update(|s| {
            s.set_services_listed();
            s.set_clusters_listed();
        });
        assert_eq!(get(addr, "/readyz").await, (200, "ok".into()));
        r.task_ended("member probe", "panicked: boom");
        assert_eq!(
            get(addr, "/healthz").await,
            (500, "the member probe task panicked: boom".into())
        );
        assert_eq!(get(addr, "/livez").await.0, 500);
        assert_eq!(get(addr, "/readyz").await.0, 503);
    }
}
