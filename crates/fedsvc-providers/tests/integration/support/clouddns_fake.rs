//! A local fake of the Google Cloud DNS REST API (`dns/v1`), strict like the real service:
//! deletions must match exactly, additions must not exist, a CNAME stands alone, names lie in
//! the zone, and a change applies all or nothing. No emulator of Cloud DNS exists; this fake
//! follows the documented API.
//!
//! It also plays the parts of Google that hand out credentials, so that every credential source
//! is tested for real: an OAuth token endpoint (`/token`: refresh tokens of gcloud user
//! credentials, and the STS token exchange of external accounts), the IAM credentials API
//! (`…:generateAccessToken`, service-account impersonation) and the GCE/GKE metadata server
//! (`/computeMetadata/v1/…`). Service-account keys sign their own tokens (self-signed JWTs):
//! the fake checks their RSA signature against the public keys it trusts. Every request's
//! `Authorization` header is recorded.

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
    /// Service accounts whose self-signed tokens are accepted: (email, RSA public key, PKCS#1
    /// DER).
    pub(crate) keys: Vec<(String, Vec<u8>)>,
    /// The `Authorization` header of every DNS API request, in order.
    pub(crate) auths: Vec<String>,
    /// The paths of every credential request (token endpoint, IAM, metadata server).
    pub(crate) token_requests: Vec<String>,
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
/// The access token of the token endpoint (gcloud user credentials).
pub(crate) const TOKEN: &str = "fake-access-token";
/// The refresh token the token endpoint accepts.
pub(crate) const REFRESH_TOKEN: &str = "fake-refresh-token";
/// The access token of the STS exchange (external accounts).
pub(crate) const STS_TOKEN: &str = "fake-sts-token";
/// The subject token (an OIDC token of another identity provider) the STS exchange accepts.
pub(crate) const SUBJECT_TOKEN: &str = "fake-subject-token";
/// The access token of the metadata server (GCE, GKE Workload Identity).
pub(crate) const MDS_TOKEN: &str = "fake-metadata-token";
/// The access token of impersonation (IAM `generateAccessToken`).
pub(crate) const IMPERSONATED_TOKEN: &str = "fake-impersonated-token";

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

    /// Accepts the self-signed tokens of `email`, signed by the key whose public half is `der`
    /// (RSA, PKCS#1 DER).
    pub(crate) fn trust(&self, email: &str, der: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .keys
            .push((email.to_owned(), der));
    }

    /// The `Authorization` headers the DNS API saw.
    pub(crate) fn auths(&self) -> Vec<String> {
        self.state.lock().unwrap().auths.clone()
    }

    /// The paths of the credential requests the fake answered.
    pub(crate) fn token_requests(&self) -> Vec<String> {
        self.state.lock().unwrap().token_requests.clone()
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
    let mut flavor = String::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "authorization" => auth = v.trim().to_owned(),
                "metadata-flavor" => flavor = v.trim().to_owned(),
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
    let (status, reply) = route(&method, &target, &auth, &flavor, &body, &state);
    // A string is sent as plain text (the metadata server's answers), anything else as JSON.
    let (kind, text) = match reply {
        Value::String(text) => ("text/plain", text),
        reply => ("application/json", reply.to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
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
    flavor: &str,
    body: &str,
    state: &Mutex<FakeState>,
) -> (String, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/token"
        || path.starts_with("/computeMetadata/")
        || path.ends_with(":generateAccessToken")
    {
        state.lock().unwrap().token_requests.push(path.to_owned());
    }
    if method == "POST" && path == "/token" {
        return token(body);
    }
    if method == "POST" && path.ends_with(":generateAccessToken") {
        if auth != format!("Bearer {TOKEN}") {
            return error(
                401,
                "unauthenticated",
                "The caller has no valid credentials.",
            );
        }
        return (
            "200 OK".into(),
            json!({"accessToken": IMPERSONATED_TOKEN, "expireTime": "2099-01-01T00:00:00Z"}),
        );
    }
    if let Some(md) = path.strip_prefix("/computeMetadata/v1/") {
        if flavor != "Google" {
            return (
                "403 Forbidden".into(),
                json!("Missing Metadata-Flavor:Google header."),
            );
        }
        return match md {
            "instance/service-accounts/default/token" => (
                "200 OK".into(),
                json!({"access_token": MDS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
            ),
            "universe/universe-domain" => ("200 OK".into(), json!("googleapis.com")),
            _ => ("404 Not Found".into(), json!("Not Found")),
        };
    }
    state.lock().unwrap().auths.push(auth.to_owned());
    if !authorized(auth, state) {
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

/// Whether `auth` carries a token the fake handed out, or a self-signed token of a trusted
/// service account whose signature verifies.
fn authorized(auth: &str, state: &Mutex<FakeState>) -> bool {
    let Some(token) = auth.strip_prefix("Bearer ") else {
        return false;
    };
    if [TOKEN, STS_TOKEN, MDS_TOKEN, IMPERSONATED_TOKEN].contains(&token) {
        return true;
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return false;
    };
    let Some(claims) =
        data_encoding_decode(claims).and_then(|c| serde_json::from_slice::<Value>(&c).ok())
    else {
        return false;
    };
    let Some(signature) = data_encoding_decode(signature) else {
        return false;
    };
    let signed = format!("{header}.{}", parts[1]);
    let st = state.lock().unwrap();
    st.keys.iter().any(|(email, der)| {
        claims["iss"] == email.as_str()
            && ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                der,
            )
            .verify(signed.as_bytes(), &signature)
            .is_ok()
    })
}

/// The value of `key` in a form-encoded body (the fake's values need no decoding).
fn form<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// The OAuth token endpoint: refresh tokens (gcloud user credentials) and the STS token
/// exchange (external accounts).
fn token(body: &str) -> (String, Value) {
    let invalid = |description: &str| {
        (
            "400 Bad Request".into(),
            json!({"error": "invalid_grant", "error_description": description}),
        )
    };
    // A refresh comes as JSON, the STS exchange form-encoded.
    let refresh: Value = serde_json::from_str(body).unwrap_or_default();
    let grant = refresh["grant_type"]
        .as_str()
        .or_else(|| form(body, "grant_type"));
    match grant {
        Some("refresh_token") => match refresh["refresh_token"].as_str() {
            Some(REFRESH_TOKEN) => (
                "200 OK".into(),
                json!({"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
            ),
            _ => invalid("Token has been expired or revoked."),
        },
        Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange") => {
            match form(body, "subject_token") {
                Some(SUBJECT_TOKEN) => (
                    "200 OK".into(),
                    json!({
                        "access_token": STS_TOKEN,
                        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                        "token_type": "Bearer",
                        "expires_in": 3599,
                    }),
                ),
                _ => invalid("The subject token is invalid."),
            }
        }
        _ => invalid("unsupported grant"),
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
