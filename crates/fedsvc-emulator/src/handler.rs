//! Routing of HTTP requests to discovery, health, and the object store.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::api_failure::ApiFailure;
use crate::negotiate::{self, Choice, Encoding};
use crate::openapi;
use crate::patch;
use crate::protobuf;
use crate::request_record::RequestRecord;
use crate::resource::Resource;
use crate::selector::Selector;
use crate::shared::Shared;
use crate::store::PatchKind;
use crate::table;
use crate::watch::{self, WatchParams};

/// The response body type.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

fn full(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", content_type)
        .body(Full::new(body.into()).boxed())
        .expect("valid response")
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    full(
        StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
        "application/json",
        serde_json::to_vec(v).unwrap_or_default(),
    )
}

fn failure(f: &ApiFailure) -> Response<Body> {
    json_response(f.code, &f.to_status())
}

/// An answer of `apiVersion` and kind as given, in the encoding negotiated for the request.
/// An object whose stored JSON does not fit its Protocol Buffers message is answered in JSON
/// when the client accepts JSON too, and refused with 500 naming the field otherwise.
fn reply(req: &Req<'_>, code: u16, api_version: &str, kind: &str, v: &Value) -> Response<Body> {
    if req.choice.encoding == Encoding::Protobuf {
        match protobuf::encode(api_version, kind, v) {
            Ok(body) => {
                return full(
                    StatusCode::from_u16(code).unwrap_or(StatusCode::OK),
                    protobuf::MEDIA_TYPE,
                    body,
                );
            }
            Err(f) if req.choice.json_too => {
                tracing::warn!("answering in JSON: {}", f.message);
            }
            Err(f) => return reply_failure(req, &f),
        }
    }
    json_response(code, v)
}

/// A failed request's `metav1.Status`, in the encoding negotiated for the request (406 is
/// always written in JSON, as the API server does).
fn reply_failure(req: &Req<'_>, f: &ApiFailure) -> Response<Body> {
    if req.choice.encoding == Encoding::Protobuf
        && f.code != 406
        && let Ok(body) = protobuf::encode("v1", "Status", &f.to_status())
    {
        return full(
            StatusCode::from_u16(f.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            protobuf::MEDIA_TYPE,
            body,
        );
    }
    failure(f)
}

/// Discovery documents and `/version`, which the emulator writes in JSON only: refused with
/// 406 when the request does not accept JSON.
fn json_document(accept: &str, doc: impl FnOnce() -> Response<Body>) -> Response<Body> {
    match negotiate::negotiate(
        accept,
        Err("the emulator writes discovery documents and /version in JSON only".into()),
    ) {
        Ok(_) => doc(),
        Err(f) => failure(&f),
    }
}

/// Serves one request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let latency = shared.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    shared
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(RequestRecord {
            method: req.method().to_string(),
            path: path.clone(),
            query: query.clone(),
        });
    let q: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let accept = req
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let method = req.method().clone();
    let method_name = method.to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let trimmed = path.trim_end_matches('/');
    let segs: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();
    let req = Req {
        method,
        q,
        accept,
        content_type,
        body,
        path: &path,
        choice: Choice::JSON,
    };
    let response = route(&shared, &segs, req);
    if response
        .headers()
        .get("content-type")
        .is_some_and(|ct| ct == protobuf::MEDIA_TYPE)
    {
        shared
            .protobuf_answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(RequestRecord {
                method: method_name,
                path: path.clone(),
                query: query.clone(),
            });
    }
    Ok(response)
}

/// The answer to a request, by its path.
fn route(shared: &Arc<Shared>, segs: &[&str], req: Req<'_>) -> Response<Body> {
    let accept = req.accept.as_str();
    let path = req.path;
    match segs {
        [h, ..] if matches!(*h, "healthz" | "readyz" | "livez") => health(shared, h),
        ["version"] => json_document(accept, || {
            json_response(
                200,
                &json!({
                    "major": "1", "minor": "33", "gitVersion": "v1.33.0-fedsvc-emulator",
                    "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                    "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64",
                }),
            )
        }),
        ["api"] => json_document(accept, || {
            json_response(
                200,
                &json!({
                    "kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}],
                }),
            )
        }),
        ["apis"] => json_document(accept, || apis(shared)),
        ["openapi", "v2"] | ["swagger-2.0.0.pb-v1"] => {
            if accept.contains("protobuf") || segs[0].starts_with("swagger") {
                full(
                    StatusCode::OK,
                    "application/octet-stream",
                    openapi::v2_protobuf(&shared.resources()),
                )
            } else {
                json_response(200, &openapi::v2_json(&shared.resources()))
            }
        }
        ["openapi", "v3"] => json_response(200, &openapi::root(&shared.resources())),
        ["openapi", "v3", rest @ ..] => match openapi::group_version(&shared.resources(), rest) {
            Some(doc) => json_response(200, &doc),
            None => failure(&ApiFailure::no_route(path)),
        },
        ["apis", group] => json_document(accept, || match group_doc(shared, group) {
            Some(g) => json_response(200, &g),
            None => failure(&ApiFailure::no_route(path)),
        }),
        ["api", "v1"] => json_document(accept, || resource_list(shared, "", "v1", path)),
        ["apis", group, version] => {
            json_document(accept, || resource_list(shared, group, version, path))
        }
        ["api", "v1", rest @ ..] => objects(shared, "", "v1", rest, req),
        ["apis", group, version, rest @ ..] => objects(shared, group, version, rest, req),
        _ => failure(&ApiFailure::no_route(path)),
    }
}

fn health(shared: &Shared, which: &str) -> Response<Body> {
    if shared.healthy.load(Ordering::Relaxed) {
        full(StatusCode::OK, "text/plain; charset=utf-8", "ok")
    } else {
        full(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("[-]etcd failed: reason withheld\n{which} check failed\n"),
        )
    }
}

fn groups(shared: &Shared) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in shared.resources() {
        if r.group.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, vs)) => {
                if !vs.contains(&r.version) {
                    vs.push(r.version.clone());
                }
            }
            None => out.push((r.group.clone(), vec![r.version.clone()])),
        }
    }
    out
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

fn apis(shared: &Shared) -> Response<Body> {
    let groups: Vec<Value> = groups(shared)
        .iter()
        .map(|(g, vs)| group_json(g, vs))
        .collect();
    json_response(
        200,
        &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
    )
}

fn group_doc(shared: &Shared, group: &str) -> Option<Value> {
    groups(shared)
        .into_iter()
        .find(|(g, _)| g == group)
        .map(|(g, vs)| {
            let mut doc = group_json(&g, &vs);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        })
}

fn resource_list(shared: &Shared, group: &str, version: &str, path: &str) -> Response<Body> {
    let rs: Vec<Value> = shared
        .resources()
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .flat_map(Resource::discovery)
        .collect();
    if rs.is_empty() {
        return failure(&ApiFailure::no_route(path));
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json_response(
        200,
        &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs}),
    )
}

/// The parts of a request the handlers need.
struct Req<'a> {
    method: Method,
    q: HashMap<String, String>,
    accept: String,
    content_type: String,
    body: Bytes,
    path: &'a str,
    /// The encoding of the answer (JSON until [`objects`] negotiates it).
    choice: Choice,
}

impl Req<'_> {
    fn param(&self, k: &str) -> Option<&str> {
        self.q.get(k).map(String::as_str)
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.param(k), Some("true" | "1"))
    }

    fn dry_run(&self) -> bool {
        self.param("dryRun") == Some("All")
    }

    fn wants_table(&self) -> bool {
        self.accept.contains("as=Table")
    }

    fn object(&self) -> Result<Value, ApiFailure> {
        if protobuf::is_protobuf(&self.content_type) {
            return protobuf::decode(&self.body);
        }
        let text = std::str::from_utf8(&self.body)
            .map_err(|_| ApiFailure::bad_request("the request body is not UTF-8"))?;
        if text.trim().is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_str(text)
            .or_else(|_| serde_saphyr::from_str::<Value>(text))
            .map_err(|e| ApiFailure::bad_request(format!("cannot decode the request body: {e}")))
    }
}

/// Whether the answer to this request can be written in Protocol Buffers, or why not: the
/// kind it answers with is not mapped, or it is a watch or a Table, which are JSON only.
fn protobuf_offer(t: &Target, req: &Req<'_>) -> Result<(), String> {
    let get = req.method == Method::GET;
    let (api_version, kind) = match (&t.name, t.sub.as_deref()) {
        (None, _) if get && req.flag("watch") => {
            return Err(
                "the emulator writes watch streams in JSON only (no Protocol Buffers framing)"
                    .into(),
            );
        }
        (None, _) | (Some(_), None) if get && req.wants_table() => {
            return Err("the emulator writes Tables in JSON only".into());
        }
        (None, _) if req.method != Method::POST => {
            (t.res.api_version(), format!("{}List", t.res.kind))
        }
        (Some(_), Some("scale")) => ("autoscaling/v1".to_owned(), "Scale".to_owned()),
        (Some(_), Some("token")) => (
            "authentication.k8s.io/v1".to_owned(),
            "TokenRequest".to_owned(),
        ),
        _ => (t.res.api_version(), t.res.kind.clone()),
    };
    if protobuf::encodes(&api_version, &kind) {
        Ok(())
    } else {
        Err(format!(
            "the emulator does not encode {api_version} {kind} in Protocol Buffers"
        ))
    }
}

/// Where an object path points: a resource, a namespace (if any), a name and a subresource.
struct Target {
    res: Resource,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn locate(shared: &Shared, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let all = shared.resources();
    let find = |plural: &str| {
        all.iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    };
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && let Some(res) = find(rest[2]).filter(|r| r.namespaced)
    {
        return Some(Target {
            res,
            ns: Some(rest[1].to_owned()),
            name: rest.get(3).map(|s| (*s).to_owned()),
            sub: rest.get(4).map(|s| (*s).to_owned()),
        });
    }
    let res = find(rest.first()?)?;
    Some(Target {
        res,
        ns: None,
        name: rest.get(1).map(|s| (*s).to_owned()),
        sub: rest.get(2).map(|s| (*s).to_owned()),
    })
}

fn objects(
    shared: &Arc<Shared>,
    group: &str,
    version: &str,
    rest: &[&str],
    mut req: Req<'_>,
) -> Response<Body> {
    let Some(t) = locate(shared, group, version, rest) else {
        return failure(&ApiFailure::no_route(req.path));
    };
    // Negotiated before acting, so that a write is not made and then refused.
    req.choice = match negotiate::negotiate(&req.accept, protobuf_offer(&t, &req)) {
        Ok(choice) => choice,
        Err(f) => return failure(&f),
    };
    let result = match (&t.name, &t.sub) {
        (None, _) => collection(shared, &t, &req),
        (Some(name), None) => item(shared, &t, name, false, &req),
        (Some(name), Some(sub)) if sub == "status" && t.res.status => {
            item(shared, &t, name, true, &req)
        }
        (Some(name), Some(sub)) if sub == "scale" && t.res.scale => scale(shared, &t, name, &req),
        (Some(name), Some(sub))
            if sub == "token"
                && t.res.plural == "serviceaccounts"
                && req.method == Method::POST =>
        {
            token_request(shared, &t, name, &req)
        }
        _ => Err(ApiFailure::no_route(req.path)),
    };
    result.unwrap_or_else(|f| reply_failure(&req, &f))
}

/// The `autoscaling/v1` Scale of a Deployment or ReplicaSet.
fn scale_view(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let selector: Vec<String> = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector.join(","),
        },
    })
}

/// `…/deployments/NAME/scale` (and replica sets): read or change `spec.replicas` through an
/// `autoscaling/v1` Scale, as `kubectl scale` does.
fn scale(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Req<'_>,
) -> Result<Response<Body>, ApiFailure> {
    let ns = t.ns.as_deref().unwrap_or("");
    let obj = shared.store().get(&t.res, ns, name)?;
    let view = scale_view(&obj);
    let next = match req.method {
        Method::GET => return Ok(reply(req, 200, "autoscaling/v1", "Scale", &view)),
        Method::PUT => req.object()?,
        Method::PATCH => {
            let body = req.object()?;
            let mut next = view.clone();
            match req.content_type.split(';').next().unwrap_or("").trim() {
                "application/merge-patch+json" => patch::merge_patch(&mut next, &body),
                "application/strategic-merge-patch+json" => {
                    patch::strategic_merge_patch(&mut next, &body);
                }
                "application/json-patch+json" => {
                    patch::json_patch(&mut next, &body).map_err(ApiFailure::bad_request)?
                }
                other => return Err(ApiFailure::unsupported_media(other)),
            }
            next
        }
        _ => return Err(ApiFailure::method_not_allowed()),
    };
    let replicas = next["spec"]["replicas"]
        .as_i64()
        .filter(|r| (0..=i64::from(i32::MAX)).contains(r))
        .ok_or_else(|| {
            ApiFailure::invalid(
                &t.res,
                name,
                "spec.replicas: Invalid value: must be a whole number of 0 or more",
            )
        })?;
    if let Some(rv) = next["metadata"]["resourceVersion"].as_str()
        && !rv.is_empty()
        && Some(rv) != obj["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiFailure::conflict(&t.res, name));
    }
    let mut changed = obj.clone();
    changed["spec"]["replicas"] = json!(replicas);
    changed["metadata"]["resourceVersion"] = json!("");
    shared
        .store()
        .update(&t.res, ns, name, changed, false, req.dry_run())?;
    let now = shared.store().get(&t.res, ns, name)?;
    Ok(reply(
        req,
        200,
        "autoscaling/v1",
        "Scale",
        &scale_view(&now),
    ))
}

/// `POST …/serviceaccounts/NAME/token` (TokenRequest): issues a token for an existing
/// ServiceAccount. The emulator accepts every token, so the token is only a recognisable
/// string naming the account; `expirationSeconds` is echoed.
fn token_request(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    req: &Req<'_>,
) -> Result<Response<Body>, ApiFailure> {
    let ns = t.ns.as_deref().unwrap_or("default");
    shared.store().get(&t.res, ns, name)?;
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiFailure::bad_request(format!("cannot decode the TokenRequest: {e}")))?
    };
    let seconds = body["spec"]["expirationSeconds"].as_i64().unwrap_or(3600);
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    let out = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"audiences": body["spec"]["audiences"].clone(), "expirationSeconds": seconds},
        "status": {
            "token": format!("fedsvc-emulator-sa-{ns}-{name}-{}", shared.store().resource_version()),
            "expirationTimestamp": expires.to_string(),
        },
    });
    Ok(reply(
        req,
        201,
        "authentication.k8s.io/v1",
        "TokenRequest",
        &out,
    ))
}

fn selectors(req: &Req<'_>) -> Result<(Selector, Selector), ApiFailure> {
    let labels = Selector::parse(req.param("labelSelector").unwrap_or(""))
        .map_err(ApiFailure::bad_request)?;
    let fields = Selector::parse(req.param("fieldSelector").unwrap_or(""))
        .map_err(ApiFailure::bad_request)?;
    Ok((labels, fields))
}

fn collection(
    shared: &Arc<Shared>,
    t: &Target,
    req: &Req<'_>,
) -> Result<Response<Body>, ApiFailure> {
    let ns = t.ns.as_deref();
    match req.method {
        Method::GET if req.flag("watch") => {
            let (labels, fields) = selectors(req)?;
            let from = match req.param("resourceVersion") {
                None | Some("" | "0") => None,
                Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                    ApiFailure::bad_request(format!("invalid resourceVersion {rv:?}"))
                })?),
            };
            let timeout = req
                .param("timeoutSeconds")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1800);
            let rx = watch::start(
                shared.clone(),
                WatchParams {
                    res: t.res.clone(),
                    ns: ns.map(str::to_owned),
                    labels,
                    fields,
                    from,
                    bookmarks: req.flag("allowWatchBookmarks"),
                    send_initial: req.flag("sendInitialEvents"),
                    timeout: Duration::from_secs(timeout),
                },
            );
            let body = StreamBody::new(rx.map(|b| Ok::<_, Infallible>(Frame::data(b))));
            Ok(Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("transfer-encoding", "chunked")
                .body(BodyExt::boxed(body))
                .expect("valid response"))
        }
        Method::GET => {
            let (labels, fields) = selectors(req)?;
            let offset: usize = req
                .param("continue")
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let limit: Option<usize> = req
                .param("limit")
                .and_then(|l| l.parse().ok())
                .filter(|l| *l > 0);
            let ((items, total), rv) = {
                let store = shared.store();
                (
                    store.list_page(&t.res, ns, (&labels, &fields), offset, limit),
                    store.resource_version(),
                )
            };
            let remaining = total.saturating_sub(offset + items.len());
            let cont = (remaining > 0).then(|| (offset + items.len()).to_string());
            if req.wants_table() {
                let mut tbl = table::render(
                    &t.res,
                    &items,
                    rv,
                    req.param("includeObject").unwrap_or("Metadata"),
                );
                if let Some(c) = cont {
                    tbl["metadata"]["continue"] = json!(c);
                }
                return Ok(json_response(200, &tbl));
            }
            let mut meta = json!({"resourceVersion": rv.to_string()});
            if let Some(c) = cont {
                meta["continue"] = json!(c);
                meta["remainingItemCount"] = json!(remaining);
            }
            let kind = format!("{}List", t.res.kind);
            let api_version = t.res.api_version();
            let list = json!({
                "kind": kind,
                "apiVersion": api_version,
                "metadata": meta,
                "items": items,
            });
            Ok(reply(req, 200, &api_version, &kind, &list))
        }
        Method::POST => {
            let obj = req.object()?;
            let created = shared
                .store()
                .create(&t.res, ns.unwrap_or(""), obj, req.dry_run())?;
            Ok(reply(req, 201, &t.res.api_version(), &t.res.kind, &created))
        }
        Method::DELETE => {
            let (labels, fields) = selectors(req)?;
            let mut store = shared.store();
            let items = store.list(&t.res, ns, &labels, &fields);
            let mut deleted = Vec::new();
            for o in items {
                let name = o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let ons = o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                deleted.push(store.delete(&t.res, &ons, &name, req.dry_run())?);
            }
            let rv = store.resource_version();
            drop(store);
            let kind = format!("{}List", t.res.kind);
            let api_version = t.res.api_version();
            let list = json!({
                "kind": kind,
                "apiVersion": api_version,
                "metadata": {"resourceVersion": rv.to_string()},
                "items": deleted,
            });
            Ok(reply(req, 200, &api_version, &kind, &list))
        }
        _ => Err(ApiFailure::method_not_allowed()),
    }
}

fn item(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    status: bool,
    req: &Req<'_>,
) -> Result<Response<Body>, ApiFailure> {
    let ns = t.ns.as_deref().unwrap_or("");
    match req.method {
        Method::GET => {
            let (obj, rv) = {
                let store = shared.store();
                (store.get(&t.res, ns, name)?, store.resource_version())
            };
            if req.wants_table() && !status {
                let include = req.param("includeObject").unwrap_or("Metadata");
                return Ok(json_response(
                    200,
                    &table::render(&t.res, &[obj], rv, include),
                ));
            }
            Ok(reply(req, 200, &t.res.api_version(), &t.res.kind, &obj))
        }
        Method::PUT => {
            let obj = req.object()?;
            let out = shared
                .store()
                .update(&t.res, ns, name, obj, status, req.dry_run())?;
            Ok(reply(req, 200, &t.res.api_version(), &t.res.kind, &out))
        }
        Method::PATCH => {
            let ct = req.content_type.split(';').next().unwrap_or("").trim();
            let kind = match ct {
                "application/merge-patch+json" => PatchKind::Merge,
                "application/strategic-merge-patch+json" => PatchKind::Strategic,
                "application/json-patch+json" => PatchKind::Json,
                "application/apply-patch+yaml" | "application/apply-patch+json" => PatchKind::Apply,
                other => return Err(ApiFailure::unsupported_media(other)),
            };
            if kind == PatchKind::Apply && req.param("fieldManager").is_none_or(str::is_empty) {
                return Err(ApiFailure::bad_request(
                    "PATCH requests with apply content type require fieldManager to be set",
                ));
            }
            let body = req.object()?;
            let manager = req.param("fieldManager").unwrap_or("unknown");
            let (out, created) = shared.store().patch(
                &t.res,
                ns,
                name,
                kind,
                &body,
                status,
                manager,
                req.dry_run(),
            )?;
            let code = if created { 201 } else { 200 };
            Ok(reply(req, code, &t.res.api_version(), &t.res.kind, &out))
        }
        Method::DELETE => {
            let out = shared.store().delete(&t.res, ns, name, req.dry_run())?;
            Ok(reply(req, 200, &t.res.api_version(), &t.res.kind, &out))
        }
        _ => Err(ApiFailure::method_not_allowed()),
    }
}
