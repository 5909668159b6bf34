//! Google Cloud DNS through its REST API (feature `clouddns`).

use std::time::Duration;

use async_trait::async_trait;
use fedsvc_dns_plan::{BatchLimits, ChangeGroup};
use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{
    CloudDnsConfig, ConfigError, DEFAULT_CLOUDDNS_MAX_RESPONSE, bytes_in_words, strip_userinfo,
};
use crate::error::ProviderError;
use crate::http_body;
use crate::provider::{DnsProvider, RateHint};
use crate::zone_state::check_batch;

const DEFAULT_ENDPOINT: &str = "https://dns.googleapis.com";
const SCOPE: &str = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";

/// A Cloud DNS managed zone, through the REST API (`dns/v1`).
///
/// The zone is listed with `GET …/rrsets` (paged); each batch is one `POST …/changes` whose
/// `deletions` (deleted and replaced record sets, exactly as they are) and `additions` Cloud
/// DNS applies atomically; the provider waits until the change is `done`. Cloud DNS itself
/// refuses deletions that do not match, additions that exist and CNAMEs beside other data;
/// those refusals come back as [`ProviderError::Conflict`] or [`ProviderError::Invalid`].
///
/// Authentication: an OAuth token obtained with a service-account key file (`credentialsFile`,
/// else `GOOGLE_APPLICATION_CREDENTIALS`), by the JWT bearer flow against the key's
/// `token_uri`. Without a key file, requests carry no token (for local emulators only).
///
/// ```no_run
/// use fedsvc_providers::{CloudDnsConfig, CloudDnsProvider, DnsProvider};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = CloudDnsConfig {
///     project: "my-project".into(),
///     managed_zone: "example-com".into(),
///     credentials_file: Some("/etc/fedsvc/sa.json".into()),
///     endpoint_url: None,
///     max_response_bytes: None,
/// };
/// let p = CloudDnsProvider::from_config("example.com".parse()?, &config)?;
/// println!("{} holds {} record sets", p.zone(), p.list().await?.len());
/// # Ok(()) }
/// ```
pub struct CloudDnsProvider {
    name: String,
    zone: DnsName,
    base: String,
    client: reqwest::Client,
    account: Option<ServiceAccount>,
    token: Mutex<Option<(String, Instant)>>,
    limits: BatchLimits,
    /// The most bytes of one answer.
    max_response: u64,
}

/// Shows neither the access token nor the service account's key.
impl std::fmt::Debug for CloudDnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudDnsProvider")
            .field("name", &self.name)
            .field("zone", &self.zone)
            .field("base", &strip_userinfo(&self.base))
            .field("account", &self.account)
            .field("limits", &self.limits)
            .field("max_response", &self.max_response)
            .finish_non_exhaustive()
    }
}

/// A service-account key: who signs, with what, and where tokens come from.
struct ServiceAccount {
    email: String,
    key: ring::signature::RsaKeyPair,
    token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("email", &self.email)
            .field("token_uri", &strip_userinfo(&self.token_uri))
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: String,
    #[serde(default)]
    token_uri: Option<String>,
}

#[derive(Deserialize)]
struct TokenDoc {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RrsetDoc {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    ttl: u32,
    rrdatas: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RrsetPage {
    #[serde(default)]
    rrsets: Vec<RrsetDoc>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Serialize)]
struct ChangeDoc {
    additions: Vec<RrsetDoc>,
    deletions: Vec<RrsetDoc>,
}

#[derive(Deserialize)]
struct ChangeStatus {
    id: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
struct GoogleError {
    error: GoogleErrorBody,
}

#[derive(Deserialize)]
struct GoogleErrorBody {
    #[serde(default)]
    message: String,
}

fn rrset_doc(rs: &RecordSet) -> RrsetDoc {
    RrsetDoc {
        name: rs.name().to_string(),
        rtype: rs.rtype().to_string(),
        ttl: rs.ttl(),
        rrdatas: rs.data().iter().map(RData::to_zone_text).collect(),
    }
}

impl CloudDnsProvider {
    /// Builds a provider from its configuration section (reads the key file now).
    pub fn from_config(zone: DnsName, config: &CloudDnsConfig) -> Result<Self, ConfigError> {
        let endpoint = config
            .endpoint_url
            .as_deref()
            .unwrap_or(DEFAULT_ENDPOINT)
            .trim_end_matches('/');
        let key_path = config.credentials_file.clone().or_else(|| {
            std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").map(std::path::PathBuf::from)
        });
        let account = match key_path {
            Some(path) => Some(read_key_file(&path)?),
            None => None,
        };
        // reqwest is built without a default TLS crypto provider: use ring, once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ConfigError::Invalid {
                field: "provider".into(),
                message: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(CloudDnsProvider {
            name: format!("clouddns {}/{}", config.project, config.managed_zone),
            zone,
            base: format!(
                "{endpoint}/dns/v1/projects/{}/managedZones/{}",
                config.project, config.managed_zone
            ),
            client,
            account,
            token: Mutex::new(None),
            max_response: config
                .max_response_bytes
                .unwrap_or(DEFAULT_CLOUDDNS_MAX_RESPONSE)
                .max(1),
            limits: BatchLimits {
                max_changes: 1000,
                update_cost: 2,
                max_groups: None,
            },
        })
    }

    /// Sets the most changes in one call (default 1000).
    #[must_use]
    pub fn with_batch_size(mut self, max_changes: usize) -> Self {
        self.limits.max_changes = max_changes.max(1);
        self
    }

    /// A valid access token, fetched or refreshed when needed.
    async fn token(&self) -> Result<Option<String>, ProviderError> {
        let Some(account) = &self.account else {
            return Ok(None);
        };
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(Some(token.clone()));
        }
        let jwt = account.assertion().map_err(|e| {
            ProviderError::unauthorized(&self.name, format!("cannot sign the token request: {e}"))
        })?;
        let what = "token request";
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
        );
        let response = self
            .client
            .post(&account.token_uri)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(what, e))?;
        let status = response.status();
        if status.is_client_error() {
            let text = http_body::error_text(response).await;
            return Err(ProviderError::unauthorized(
                &self.name,
                format!(
                    "{what}: service account {} rejected (HTTP {status}): {}",
                    account.email,
                    text.trim().chars().take(200).collect::<String>()
                ),
            ));
        }
        if !status.is_success() {
            return Err(self.status_error(what, response).await);
        }
        let doc: TokenDoc = self.json_body(what, response).await?;
        let lifetime = Duration::from_secs(doc.expires_in.unwrap_or(3600).saturating_sub(60));
        *cached = Some((doc.access_token.clone(), Instant::now() + lifetime));
        Ok(Some(doc.access_token))
    }

    async fn request(
        &self,
        what: &str,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let builder = match self.token().await? {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        };
        let response = builder
            .send()
            .await
            .map_err(|e| self.transport_error(what, e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.status_error(what, response).await)
        }
    }

    fn transport_error(&self, what: &str, e: reqwest::Error) -> ProviderError {
        let cause = if e.is_timeout() {
            "no answer in time".to_owned()
        } else if e.is_connect() {
            "cannot connect to the API".to_owned()
        } else {
            strip_userinfo(&e.without_url().to_string())
        };
        ProviderError::unavailable(&self.name, format!("{what}: {cause}"))
    }

    /// The JSON document of a successful answer, read up to the response limit.
    async fn json_body<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        response: reqwest::Response,
    ) -> Result<T, ProviderError> {
        let body = http_body::read_capped(response, self.max_response)
            .await
            .map_err(|e| match e {
                http_body::BodyError::TooLarge { limit } => ProviderError::invalid(
                    &self.name,
                    format!(
                        "{what}: the answer is larger than {} (provider.maxResponseBytes)",
                        bytes_in_words(limit)
                    ),
                ),
                http_body::BodyError::Transport(e) => self.transport_error(what, e),
            })?;
        serde_json::from_slice(&body).map_err(|e| {
            ProviderError::other(&self.name, format!("{what}: unexpected answer: {e}"))
        })
    }

    async fn status_error(&self, what: &str, response: reqwest::Response) -> ProviderError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = http_body::error_text(response).await;
        let detail = serde_json::from_str::<GoogleError>(&body)
            .map(|e| e.error.message)
            .unwrap_or_else(|_| body.trim().chars().take(200).collect());
        let name = &self.name;
        let detail = format!("{what}: HTTP {status}: {detail}");
        match status.as_u16() {
            401 | 403 => ProviderError::unauthorized(
                name,
                format!("{detail} (check credentialsFile and the account's DNS permissions)"),
            ),
            404 if what == "list" => ProviderError::invalid(
                name,
                format!("{detail} (does the managed zone exist in this project?)"),
            ),
            404 | 409 | 412 => ProviderError::conflict(name, detail),
            429 => ProviderError::Throttled {
                provider: name.clone(),
                retry_after,
                message: detail,
            },
            500..=599 => ProviderError::unavailable(name, detail),
            400..=499 => ProviderError::invalid(name, detail),
            _ => ProviderError::other(name, detail),
        }
    }

    async fn wait_done(&self, mut change: ChangeStatus) -> Result<(), ProviderError> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut pause = Duration::from_millis(100);
        while change.status != "done" {
            if Instant::now() > deadline {
                return Err(ProviderError::unavailable(
                    &self.name,
                    format!("change {} still {} after 120 s", change.id, change.status),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            let url = format!("{}/changes/{}", self.base, change.id);
            let response = self.request("get change", self.client.get(url)).await?;
            change = self.json_body("get change", response).await?;
        }
        Ok(())
    }
}

impl ServiceAccount {
    /// A signed JWT asserting the account, for the token endpoint (RFC 7523).
    fn assertion(&self) -> Result<String, String> {
        let b64 = |data: &[u8]| data_encoding::BASE64URL_NOPAD.encode(data);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": self.email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let claims = b64(claims.to_string().as_bytes());
        let signing_input = format!("{header}.{claims}");
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "RSA signing failed".to_owned())?;
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }
}

fn read_key_file(path: &std::path::Path) -> Result<ServiceAccount, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        field: "provider.credentialsFile".into(),
        message: format!("{}: {message}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let key: KeyFile = serde_json::from_str(&text)
        .map_err(|e| invalid(format!("not a service-account key file: {e}")))?;
    let body: String = key
        .private_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = data_encoding::BASE64
        .decode(body.trim().as_bytes())
        .map_err(|e| invalid(format!("private_key is not PEM: {e}")))?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| invalid(format!("private_key is not an RSA PKCS#8 key: {e}")))?;
    Ok(ServiceAccount {
        email: key.client_email,
        key: pair,
        token_uri: key
            .token_uri
            .unwrap_or_else(|| "https://oauth2.googleapis.com/token".to_owned()),
    })
}

#[async_trait]
impl DnsProvider for CloudDnsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn zone(&self) -> &DnsName {
        &self.zone
    }

    async fn list(&self) -> Result<Vec<RecordSet>, ProviderError> {
        let mut sets = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut url = format!("{}/rrsets?maxResults=1000", self.base);
            if let Some(t) = &page_token {
                url.push_str("&pageToken=");
                url.push_str(t);
            }
            let response = self.request("list", self.client.get(url)).await?;
            let page: RrsetPage = self.json_body("list", response).await?;
            for rr in page.rrsets {
                let Ok(name) = DnsName::parse(&rr.name) else {
                    continue;
                };
                let rtype = RecordType::parse(&rr.rtype);
                if matches!(&rtype, RecordType::Other(t) if t == "SOA" || (t == "NS" && name == self.zone))
                {
                    continue;
                }
                let data = rr
                    .rrdatas
                    .iter()
                    .filter_map(|d| RData::parse(&rtype, d).ok())
                    .collect();
                if let Ok(rs) = RecordSet::new(name, rtype, rr.ttl, data) {
                    sets.push(rs);
                }
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => page_token = Some(t),
                _ => break,
            }
        }
        sets.sort();
        Ok(sets)
    }

    async fn apply(&self, batch: &[ChangeGroup]) -> Result<(), ProviderError> {
        check_batch(&self.name, &self.zone, batch)?;
        if batch.iter().all(ChangeGroup::is_empty) {
            return Ok(());
        }
        let doc = ChangeDoc {
            deletions: batch
                .iter()
                .flat_map(|g| g.delete.iter().chain(&g.update_old))
                .map(rrset_doc)
                .collect(),
            additions: batch
                .iter()
                .flat_map(|g| g.update_new.iter().chain(&g.create))
                .map(rrset_doc)
                .collect(),
        };
        let url = format!("{}/changes", self.base);
        let response = self
            .request("create change", self.client.post(url).json(&doc))
            .await?;
        let change: ChangeStatus = self.json_body("create change", response).await?;
        self.wait_done(change).await
    }

    fn limits(&self) -> BatchLimits {
        self.limits
    }

    fn rate(&self) -> RateHint {
        RateHint::per_second(10)
    }
}
