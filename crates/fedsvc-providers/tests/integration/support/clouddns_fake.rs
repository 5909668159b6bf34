//! A local fake of the Google Cloud DNS REST API (`dns/v1`) and of Google's OAuth token
//! endpoint, strict like the real service: deletions must match exactly, additions must not
//! exist, a CNAME stands alone, names lie in the zone, and a change applies all or nothing.
//! No emulator of Cloud DNS exists; this fake follows the documented API.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Record sets by (name, type): (ttl, rrdatas).
type Sets = BTreeMap<(String, String), (u64, Vec<String>)>;

/// The fake's state.
#[derive(Default)]
pub(crate) struct FakeState {
    pub(crate) sets: Sets,
    pub(crate) changes: u64,
    pub(crate) lists: u64,
}

/// A running fake; stops when dropped.
pub(crate) struct CloudDnsFake {
    pub(crate) addr: SocketAddr,
    pub(crate) state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CloudDnsFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) const PROJECT: &str = "fedsvc-test";
pub(crate) const MANAGED_ZONE: &str = "example-com";
pub(crate) const ACCOUNT: &str = "fedsvc@fedsvc-test.iam.gserviceaccount.com";
pub(crate) const TOKEN: &str = "fake-access-token";

impl CloudDnsFake {
    /// Starts the fake for zone `example.com.` holding SOA, NS and `seed`.
    pub(crate) async fn start(seed: &[fedsvc_model::RecordSet]) -> CloudDnsFake {
        let mut state = FakeState::default();
        state.sets.insert(
            ("example.com.".into(), "SOA".into()),
            (21600, vec!["ns-cloud-a1.googledomains.com. cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300".into()]),
        );
        state.sets.insert(
            ("example.com.".into(), "NS".into()),
            (21600, vec!["ns-cloud-a1.googledomains.com.".into()]),
        );
        for rs in seed {
            state.sets.insert(
                (rs.name().to_string(), rs.rtype().to_string()),
                (
                    u64::from(rs.ttl()),
                    rs.data().iter().map(|d| d.to_zone_text()).collect(),
                ),
            );
        }
        let state = Arc::new(Mutex::new(state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        CloudDnsFake { addr, state, task }
    }

    /// The endpoint URL to configure.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<FakeState>>) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    let mut auth = String::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "authorization" => auth = v.trim().to_owned(),
                _ => {}
            }
        }
    }
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[header_end..]).to_string();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let (status, reply) = route(&method, &target, &auth, &body, &state);
    let text = reply.to_string();
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn error(code: u16, reason: &str, message: &str) -> (String, Value) {
    (
        format!("{code} {reason}"),
        json!({"error": {"code": code, "message": message, "errors": [{"reason": reason, "message": message}]}}),
    )
}

fn route(
    method: &str,
    target: &str,
    auth: &str,
    body: &str,
    state: &Mutex<FakeState>,
) -> (String, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method == "POST" && path == "/token" {
        return token(body);
    }
    if auth != format!("Bearer {TOKEN}") {
        return error(
            401,
            "unauthorized",
            "Request had invalid authentication credentials.",
        );
    }
    let base = format!("/dns/v1/projects/{PROJECT}/managedZones/{MANAGED_ZONE}");
    let Some(rest) = path.strip_prefix(&base) else {
        return error(
            404,
            "notFound",
            &format!("The 'parameters.managedZone' resource named '{path}' does not exist."),
        );
    };
    let mut st = state.lock().unwrap();
    match (method, rest) {
        ("GET", "/rrsets") => {
            st.lists += 1;
            // Pages of 3, to exercise paging.
            let start: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("pageToken="))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let all: Vec<Value> = st
                .sets
                .iter()
                .map(|((n, t), (ttl, d))| json!({"kind": "dns#resourceRecordSet", "name": n, "type": t, "ttl": ttl, "rrdatas": d}))
                .collect();
            let page: Vec<Value> = all.iter().skip(start).take(3).cloned().collect();
            let mut reply = json!({"kind": "dns#resourceRecordSetsListResponse", "rrsets": page});
            if start + 3 < all.len() {
                reply["nextPageToken"] = json!((start + 3).to_string());
            }
            ("200 OK".into(), reply)
        }
        ("POST", "/changes") => {
            let Ok(change) = serde_json::from_str::<Value>(body) else {
                return error(400, "invalid", "invalid JSON");
            };
            match apply(&st.sets, &change) {
                Ok(next) => {
                    st.sets = next;
                    st.changes += 1;
                    let id = st.changes.to_string();
                    let mut reply = change.clone();
                    reply["id"] = json!(id);
                    reply["status"] = json!("pending");
                    ("200 OK".into(), reply)
                }
                Err(e) => e,
            }
        }
        ("GET", r) if r.starts_with("/changes/") => {
            let id = r.trim_start_matches("/changes/");
            ("200 OK".into(), json!({"id": id, "status": "done"}))
        }
        _ => error(404, "notFound", "no such resource"),
    }
}

fn token(body: &str) -> (String, Value) {
    let Some(jwt) = body.split('&').find_map(|kv| kv.strip_prefix("assertion=")) else {
        return error(400, "invalid_request", "no assertion");
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let claims = parts
        .get(1)
        .and_then(|c| data_encoding_decode(c))
        .and_then(|c| serde_json::from_slice::<Value>(&c).ok());
    match claims {
        Some(c) if parts.len() == 3 && c["iss"] == ACCOUNT && !parts[2].is_empty() => (
            "200 OK".into(),
            json!({"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}),
        ),
        _ => (
            "400 Bad Request".into(),
            json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
        ),
    }
}

fn data_encoding_decode(s: &str) -> Option<Vec<u8>> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = T.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn apply(sets: &Sets, change: &Value) -> Result<Sets, (String, Value)> {
    let mut next = sets.clone();
    let rrsets = |key: &str| change[key].as_array().cloned().unwrap_or_default();
    let parse = |v: &Value| -> (String, String, u64, Vec<String>) {
        (
            v["name"].as_str().unwrap_or_default().to_owned(),
            v["type"].as_str().unwrap_or_default().to_owned(),
            v["ttl"].as_u64().unwrap_or(0),
            v["rrdatas"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    for (i, d) in rrsets("deletions").iter().enumerate() {
        let (name, t, ttl, data) = parse(d);
        match next.get(&(name.clone(), t.clone())) {
            None => {
                return Err(error(
                    404,
                    "notFound",
                    &format!(
                        "The 'entity.change.deletions[{i}]' resource named '{name} ({t})' does not exist."
                    ),
                ));
            }
            Some((cur_ttl, cur)) if *cur_ttl != ttl || cur != &data => {
                return Err(error(
                    412,
                    "conditionNotMet",
                    &format!("Precondition not met for 'entity.change.deletions[{i}]'"),
                ));
            }
            Some(_) => {
                next.remove(&(name, t));
            }
        }
    }
    for (i, a) in rrsets("additions").iter().enumerate() {
        let (name, t, ttl, data) = parse(a);
        if !(name == "example.com." || name.ends_with(".example.com.")) {
            return Err(error(
                400,
                "invalid",
                &format!(
                    "The resource 'entity.change.additions[{i}]' named '{name}' is not in the zone."
                ),
            ));
        }
        if next.contains_key(&(name.clone(), t.clone())) {
            return Err(error(
                409,
                "alreadyExists",
                &format!(
                    "The resource 'entity.change.additions[{i}]' named '{name} ({t})' already exists"
                ),
            ));
        }
        next.insert((name, t), (ttl, data));
    }
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (n, t) in next.keys() {
        by_name.entry(n).or_default().push(t);
    }
    for (n, types) in by_name {
        if types.contains(&"CNAME") && types.len() > 1 {
            return Err(error(
                400,
                "cnameResourceRecordSetConflict",
                &format!(
                    "The resource record set 'entity.change.additions' named '{n} (CNAME)' is invalid because a resource record set with the same name exists."
                ),
            ));
        }
    }
    Ok(next)
}
