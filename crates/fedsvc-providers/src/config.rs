//! The provider configuration file shared by `fedsvc` and `fedsvc-controller`.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fedsvc_model::DnsName;
use serde::Deserialize;

use crate::provider::DnsProvider;

/// Why a configuration could not be read or turned into a provider.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The document is not valid YAML (or JSON) of the configuration's shape.
    #[error("cannot parse provider configuration: {0}")]
    Parse(String),
    /// A file named by the configuration (or the configuration itself) cannot be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// A field holds a value that cannot be used.
    #[error("provider configuration: {field}: {message}")]
    Invalid {
        /// The field, for example `provider.tsig.secret`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The provider kind is valid but was not compiled into this build.
    #[error(
        "provider kind {kind:?} is not available in this build: rebuild with cargo feature `{kind}` of fedsvc-providers"
    )]
    NotCompiled {
        /// The kind, which is also the name of the cargo feature.
        kind: String,
    },
    /// The backend could not be started (for example, the embedded server's port is taken).
    #[error("cannot start provider {kind}: {message}")]
    Start {
        /// The kind.
        kind: String,
        /// The cause.
        message: String,
    },
}

/// A secret value read from the configuration; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which ownership registry the planner uses (`registry:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Registry {
    /// A TXT record beside each managed name records its owner (the default).
    #[default]
    Txt,
    /// No ownership records: everything under the federation's names is ours.
    None,
}

/// The provider configuration file (DESIGN §5).
///
/// ```
/// use fedsvc_providers::{Config, ProviderConfig};
/// let c = Config::from_yaml(r#"
/// zone: example.com
/// provider:
///   kind: rfc2136
///   server: 127.0.0.1:53
///   tsig: {name: ddns-key, algorithm: hmac-sha256, secret: c2VjcmV0}
/// "#).unwrap();
/// assert_eq!(c.owner_id, "fedsvc");
/// assert!(matches!(c.provider, ProviderConfig::Rfc2136(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The DNS zone the provider serves; the federation's DNS suffix lies inside it.
    pub zone: DnsName,
    /// The owner id written into ownership records (default `fedsvc`).
    #[serde(default = "default_owner_id")]
    pub owner_id: String,
    /// The ownership registry (default `txt`).
    #[serde(default)]
    pub registry: Registry,
    /// The backend and its settings.
    pub provider: ProviderConfig,
}

fn default_owner_id() -> String {
    "fedsvc".to_owned()
}

/// The backend, selected by `provider.kind`.
///
/// Deserialized from a mapping holding `kind` and the kind's settings. When `kind` comes
/// first, the settings are read as they stream by, so an error keeps the place of the key at
/// fault; otherwise they are read whole first. Either way the message of an error never holds
/// the value of a secret key. ([`Config::from_yaml`] gives the place for any order.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderConfig {
    /// `kind: memory`.
    Memory(MemoryConfig),
    /// `kind: rfc2136`.
    Rfc2136(Rfc2136Config),
    /// `kind: powerdns`.
    Powerdns(PowerDnsConfig),
    /// `kind: route53`.
    Route53(Route53Config),
    /// `kind: clouddns`.
    Clouddns(CloudDnsConfig),
}

impl ProviderConfig {
    /// The kind, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderConfig::Memory(_) => "memory",
            ProviderConfig::Rfc2136(_) => "rfc2136",
            ProviderConfig::Powerdns(_) => "powerdns",
            ProviderConfig::Route53(_) => "route53",
            ProviderConfig::Clouddns(_) => "clouddns",
        }
    }
}

impl<'de> Deserialize<'de> for ProviderConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ProviderVisitor)
    }
}

struct ProviderVisitor;

impl<'de> serde::de::Visitor<'de> for ProviderVisitor {
    type Value = ProviderConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping with `kind` and the kind's settings")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let Some(first) = map.next_key::<String>()? else {
            return Err(A::Error::missing_field("kind"));
        };
        if first == "kind" {
            let kind: String = map.next_value()?;
            return kind_section(&kind, WithoutKind(map));
        }
        // `kind` comes later: read the settings whole, then as the kind's.
        let mut settings = serde_json::Map::new();
        let mut kind = None;
        let mut key = Some(first);
        while let Some(k) = key {
            if k == "kind" {
                kind = Some(map.next_value::<String>()?);
            } else {
                let value: serde_json::Value = map.next_value()?;
                settings.insert(k, value);
            }
            key = map.next_key::<String>()?;
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field("kind"))?;
        let mut secrets = Vec::new();
        secret_leaves(&settings, false, &mut secrets);
        let settings = serde_json::Value::Object(settings);
        let parsed = match kind.as_str() {
            "memory" => serde_json::from_value(settings).map(ProviderConfig::Memory),
            "rfc2136" => serde_json::from_value(settings).map(ProviderConfig::Rfc2136),
            "powerdns" => serde_json::from_value(settings).map(ProviderConfig::Powerdns),
            "route53" => serde_json::from_value(settings).map(ProviderConfig::Route53),
            "clouddns" => serde_json::from_value(settings).map(ProviderConfig::Clouddns),
            other => return Err(A::Error::unknown_variant(other, &KINDS)),
        };
        parsed.map_err(|e| A::Error::custom(mask_values(&e.to_string(), secrets)))
    }
}

/// The settings of `kind`, read from `map` as it streams by.
fn kind_section<'de, M: serde::de::MapAccess<'de>>(
    kind: &str,
    map: M,
) -> Result<ProviderConfig, M::Error> {
    let settings = serde::de::value::MapAccessDeserializer::new(map);
    Ok(match kind {
        "memory" => ProviderConfig::Memory(Deserialize::deserialize(settings)?),
        "rfc2136" => ProviderConfig::Rfc2136(Deserialize::deserialize(settings)?),
        "powerdns" => ProviderConfig::Powerdns(Deserialize::deserialize(settings)?),
        "route53" => ProviderConfig::Route53(Deserialize::deserialize(settings)?),
        "clouddns" => ProviderConfig::Clouddns(Deserialize::deserialize(settings)?),
        other => return Err(serde::de::Error::unknown_variant(other, &KINDS)),
    })
}

/// Whether `key` names a secret (compared without case, `-` and `_`).
fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEYS.contains(&key.as_str())
}

/// Every scalar under a secret key of `settings` (all of them when `inside` one).
fn secret_leaves(
    settings: &serde_json::Map<String, serde_json::Value>,
    inside: bool,
    out: &mut Vec<String>,
) {
    fn leaves(value: &serde_json::Value, inside: bool, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => secret_leaves(map, inside, out),
            serde_json::Value::Array(items) => {
                for item in items {
                    leaves(item, inside, out);
                }
            }
            serde_json::Value::String(s) if inside => out.push(s.clone()),
            serde_json::Value::Number(n) if inside => out.push(n.to_string()),
            _ => {}
        }
    }
    for (key, value) in settings {
        leaves(value, inside || is_secret_key(key), out);
    }
}

/// Settings of the in-memory backend.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemoryConfig {
    /// Serve the zone over DNS on this address (UDP and TCP), for example `127.0.0.1:5353`.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
}

/// Settings of the RFC 2136 backend.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rfc2136Config {
    /// The primary server, `host:port` (port 53 if omitted).
    pub server: String,
    /// The TSIG key that signs updates and zone transfers.
    #[serde(default)]
    pub tsig: Option<TsigConfig>,
    /// Seconds to wait for an answer (default 5).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The most record-set changes in one batch (default 200); a batch too large for one DNS
    /// message is sent as several UPDATE messages, split between change groups.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// The most records a zone transfer may hold (default 10 000 000); a longer transfer is
    /// an error naming the limit.
    #[serde(default)]
    pub max_list_records: Option<u64>,
    /// The most bytes a zone transfer may take (default 2 GiB); a longer transfer is an error
    /// naming the limit.
    #[serde(default)]
    pub max_list_bytes: Option<u64>,
}

impl Rfc2136Config {
    /// The server's socket address (resolving a host name if needed).
    pub fn server_addr(&self) -> Result<SocketAddr, ConfigError> {
        let s = self.server.trim();
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(a);
        }
        if let Ok(ip) = s.parse::<std::net::IpAddr>() {
            return Ok(SocketAddr::new(ip, 53));
        }
        let with_port = if s.contains(':') {
            s.to_owned()
        } else {
            format!("{s}:53")
        };
        with_port
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
            .ok_or_else(|| ConfigError::Invalid {
                field: "provider.server".into(),
                message: format!("{s:?} is not an address or a resolvable host:port"),
            })
    }

    /// The timeout for one exchange.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.unwrap_or(5).max(1))
    }

    /// The limits of one zone transfer: `maxListRecords` and `maxListBytes`, or their defaults.
    #[cfg(feature = "rfc2136")]
    pub(crate) fn list_limits(&self) -> ListLimits {
        let default = ListLimits::default();
        ListLimits {
            max_records: self.max_list_records.unwrap_or(default.max_records).max(1),
            max_bytes: self.max_list_bytes.unwrap_or(default.max_bytes).max(1),
        }
    }
}

/// How much one listing of a zone may read before it stops with an error naming the limit,
/// so that a server streaming an endless zone transfer cannot make the process grow without
/// bound.
///
/// The defaults, 10 million records and 2 GiB, lie far above the largest zone fedsvc is
/// measured with (620 001 record sets: roughly 1.3 million records, on the order of 100 MB of
/// transfer), and below what would exhaust a typical host: 10 million record sets held as the
/// controller holds them take a few GB.
#[cfg(feature = "rfc2136")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListLimits {
    /// The most records (the zone's SOA included).
    pub(crate) max_records: u64,
    /// The most bytes of DNS messages.
    pub(crate) max_bytes: u64,
}

#[cfg(feature = "rfc2136")]
impl Default for ListLimits {
    fn default() -> Self {
        ListLimits {
            max_records: 10_000_000,
            max_bytes: 2 << 30,
        }
    }
}

/// The default most bytes of one PowerDNS answer (`maxResponseBytes`): 1 GiB, ten times the
/// whole-zone `GET` of the largest zone fedsvc is measured with (620 001 record sets, on the
/// order of 100 MB of JSON).
#[cfg(feature = "powerdns")]
pub(crate) const DEFAULT_POWERDNS_MAX_RESPONSE: u64 = 1 << 30;

/// A size in bytes in words: `2 GiB`, `64 MiB`, `1000 bytes`.
#[cfg(any(feature = "rfc2136", feature = "powerdns"))]
pub(crate) fn bytes_in_words(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// A TSIG key: `{name, algorithm, secret}` or `{name, algorithm, secretFile}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TsigConfig {
    /// The key's name, as the server knows it (for example `ddns-key`).
    pub name: String,
    /// `hmac-sha256` (default), `hmac-sha384` or `hmac-sha512`.
    #[serde(default = "default_tsig_algorithm")]
    pub algorithm: String,
    /// The secret, base64.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// A file holding the secret, base64 (alone, or as written by `tsig-keygen`).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

fn default_tsig_algorithm() -> String {
    "hmac-sha256".to_owned()
}

impl TsigConfig {
    /// The base64 secret, from `secret` or read from `secretFile`. A file written by
    /// `tsig-keygen` (a `key "…" { algorithm …; secret "…"; };` clause) is accepted too.
    pub fn secret_base64(&self) -> Result<Secret, ConfigError> {
        match (&self.secret, &self.secret_file) {
            (Some(s), None) => Ok(s.clone()),
            (None, Some(path)) => {
                let text = read_secret_file(path)?;
                Ok(Secret(extract_keygen_secret(&text).unwrap_or(text)))
            }
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                field: "provider.tsig".into(),
                message: "give either secret or secretFile, not both".into(),
            }),
            (None, None) => Err(ConfigError::Invalid {
                field: "provider.tsig".into(),
                message: "secret or secretFile is required".into(),
            }),
        }
    }
}

/// Reads a secret from a file, trimming surrounding white space.
pub(crate) fn read_secret_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| ConfigError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })
}

/// The secret of a `tsig-keygen` key clause, if `text` is one.
fn extract_keygen_secret(text: &str) -> Option<String> {
    let at = text.find("secret")?;
    let rest = &text[at + "secret".len()..];
    let start = rest.find('"')? + 1;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_owned())
}

/// Settings of the PowerDNS backend. `Debug` shows `url` without its user information.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PowerDnsConfig {
    /// The API's base URL, for example `http://127.0.0.1:8081`.
    pub url: String,
    /// The API key.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// A file holding the API key.
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// The server id in API paths (default `localhost`).
    #[serde(default = "default_server_id")]
    pub server_id: String,
    /// Seconds to wait for an answer (default 10).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The most bytes of one answer (default 1 GiB); a longer one is an error naming the limit.
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
}

impl fmt::Debug for PowerDnsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PowerDnsConfig")
            .field("url", &strip_userinfo(&self.url))
            .field("api_key", &self.api_key)
            .field("api_key_file", &self.api_key_file)
            .field("server_id", &self.server_id)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

fn default_server_id() -> String {
    "localhost".to_owned()
}

impl PowerDnsConfig {
    /// The API key, from `apiKey` or read from `apiKeyFile`.
    pub fn api_key(&self) -> Result<Secret, ConfigError> {
        match (&self.api_key, &self.api_key_file) {
            (Some(k), None) => Ok(k.clone()),
            (None, Some(path)) => read_secret_file(path).map(Secret),
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                field: "provider".into(),
                message: "give either apiKey or apiKeyFile, not both".into(),
            }),
            (None, None) => Err(ConfigError::Invalid {
                field: "provider".into(),
                message: "apiKey or apiKeyFile is required".into(),
            }),
        }
    }

    /// The timeout for one request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.unwrap_or(10).max(1))
    }
}

/// Settings of the Route53 backend. `Debug` shows `endpointUrl` without its user information.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route53Config {
    /// The hosted zone's id; looked up by the zone name when absent.
    #[serde(default)]
    pub hosted_zone_id: Option<String>,
    /// The AWS region.
    #[serde(default)]
    pub region: Option<String>,
    /// Another endpoint than AWS's (a local emulator).
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// Settings of the Google Cloud DNS backend. `Debug` shows `endpointUrl` without its user
/// information.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudDnsConfig {
    /// The Google Cloud project.
    pub project: String,
    /// The managed zone's name.
    pub managed_zone: String,
    /// A credentials file (service-account key, external account, gcloud user credentials,
    /// impersonation); without it, Application Default Credentials.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// Another endpoint than Google's (a local fake).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Refused when set: Google's client library reads each answer whole and offers no cap
    /// on its size.
    #[serde(default)]
    pub max_response_bytes: Option<u64>,
}

impl fmt::Debug for Route53Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route53Config")
            .field("hosted_zone_id", &self.hosted_zone_id)
            .field("region", &self.region)
            .field(
                "endpoint_url",
                &self.endpoint_url.as_deref().map(strip_userinfo),
            )
            .finish()
    }
}

impl fmt::Debug for CloudDnsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudDnsConfig")
            .field("project", &self.project)
            .field("managed_zone", &self.managed_zone)
            .field("credentials_file", &self.credentials_file)
            .field(
                "endpoint_url",
                &self.endpoint_url.as_deref().map(strip_userinfo),
            )
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl Config {
    /// The ownership registry this configuration asks for, for the federation and names of
    /// `naming`: with `registry: txt`, TXT records `_fedsvc.<name>` carrying `ownerId`; with
    /// `registry: none`, everything under the federation's names. Both binaries build their
    /// registry here.
    pub fn registry(
        &self,
        naming: &fedsvc_dns_plan::Naming,
    ) -> Result<fedsvc_dns_plan::Registry, fedsvc_dns_plan::RegistryError> {
        match self.registry {
            Registry::None => Ok(fedsvc_dns_plan::Registry::none(naming)),
            Registry::Txt => fedsvc_dns_plan::Registry::txt_with(
                fedsvc_dns_plan::DEFAULT_PREFIX,
                &self.owner_id,
                naming.federation().clone(),
            ),
        }
    }

    /// Parses a configuration from YAML (JSON is YAML too).
    ///
    /// The document is read in two steps: first `provider.kind`, then the whole document with
    /// the kind's own settings, so that an error inside `provider:` gives the line and column
    /// of the key at fault. An error never shows the document itself, and values of secret
    /// keys (`secret`, `apiKey`, anything under `tsig`, passwords and tokens, the user
    /// information of URLs) are masked in its message.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let fail = |e: serde_saphyr::Error| parse_error(text, &e);
        let probe: Probe = serde_saphyr::from_str(text).map_err(fail)?;
        let has_provider = probe.provider.is_some();
        let kind = probe.provider.and_then(|p| p.kind);
        let config = match kind.as_ref().map(|k| k.value.as_str()) {
            Some("memory") => parse_as(text, ProviderConfig::Memory)?,
            Some("rfc2136") => parse_as(text, ProviderConfig::Rfc2136)?,
            Some("powerdns") => parse_as(text, ProviderConfig::Powerdns)?,
            Some("route53") => parse_as(text, ProviderConfig::Route53)?,
            Some("clouddns") => parse_as(text, ProviderConfig::Clouddns)?,
            Some(other) => {
                let kind = kind.as_ref().expect("matched Some");
                return Err(ConfigError::Parse(mask_secrets(
                    text,
                    &format!(
                        "line {} column {}: provider.kind: unknown kind {other:?}; expected one of {}",
                        kind.referenced.line(),
                        kind.referenced.column(),
                        KINDS.join(", ")
                    ),
                )));
            }
            None => {
                if !has_provider {
                    // Report what else is wrong, `provider:` missing included.
                    parse_as(text, ProviderConfig::Memory)?;
                }
                return Err(ConfigError::Invalid {
                    field: "provider.kind".into(),
                    message: format!("missing; one of {}", KINDS.join(", ")),
                });
            }
        };
        config.check()?;
        Ok(config)
    }

    /// Checks what the types alone do not: the zone is a host name (letters, digits and `-`,
    /// no `*` wildcard, no `_`). [`from_yaml`](Self::from_yaml) and [`build`](Self::build)
    /// call it.
    pub fn check(&self) -> Result<(), ConfigError> {
        DnsName::parse_host_name(self.zone.as_str())
            .map(drop)
            .map_err(|e| ConfigError::Invalid {
                field: "zone".into(),
                message: e.to_string(),
            })
    }

    /// Reads and parses a configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::from_yaml(&text)
    }

    /// Builds the configured provider. A `memory` provider with `listen` starts its embedded
    /// server on the current tokio runtime.
    pub async fn build(&self) -> Result<Box<dyn DnsProvider>, ConfigError> {
        self.check()?;
        #[allow(unused_variables)]
        let zone = || self.zone.clone();
        match &self.provider {
            #[cfg(feature = "memory")]
            ProviderConfig::Memory(m) => {
                let mut p = crate::memory::MemoryProvider::new(zone());
                if let Some(listen) = m.listen {
                    p.serve(listen).await.map_err(|e| ConfigError::Start {
                        kind: "memory".into(),
                        message: format!("cannot listen on {listen}: {e}"),
                    })?;
                }
                Ok(Box::new(p))
            }
            #[cfg(feature = "rfc2136")]
            ProviderConfig::Rfc2136(c) => Ok(Box::new(
                crate::rfc2136::Rfc2136Provider::from_config(zone(), c)?,
            )),
            #[cfg(feature = "powerdns")]
            ProviderConfig::Powerdns(c) => Ok(Box::new(
                crate::powerdns::PowerDnsProvider::from_config(zone(), c)?,
            )),
            #[cfg(feature = "route53")]
            ProviderConfig::Route53(c) => Ok(Box::new(
                crate::route53::Route53Provider::from_config(zone(), c).await?,
            )),
            #[cfg(feature = "clouddns")]
            ProviderConfig::Clouddns(c) => Ok(Box::new(
                crate::clouddns::CloudDnsProvider::from_config(zone(), c).await?,
            )),
            #[allow(unreachable_patterns)]
            other => Err(ConfigError::NotCompiled {
                kind: other.kind().into(),
            }),
        }
    }
}

/// The provider kinds, as written in `provider.kind`.
const KINDS: [&str; 5] = ["memory", "rfc2136", "powerdns", "route53", "clouddns"];

/// The first reading of a configuration: only `provider.kind`, with its place in the text.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    provider: Option<KindProbe>,
}

#[derive(Deserialize)]
struct KindProbe {
    #[serde(default)]
    kind: Option<serde_saphyr::Spanned<String>>,
}

/// The second reading: the whole configuration, with the settings of one kind `P`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Typed<P> {
    zone: DnsName,
    #[serde(default = "default_owner_id")]
    owner_id: String,
    #[serde(default)]
    registry: Registry,
    provider: KindSection<P>,
}

/// Reads `text` as a configuration whose provider settings are a `P`.
fn parse_as<P: serde::de::DeserializeOwned>(
    text: &str,
    wrap: fn(P) -> ProviderConfig,
) -> Result<Config, ConfigError> {
    let typed: Typed<P> = serde_saphyr::from_str(text).map_err(|e| parse_error(text, &e))?;
    Ok(Config {
        zone: typed.zone,
        owner_id: typed.owner_id,
        registry: typed.registry,
        provider: wrap(typed.provider.0),
    })
}

/// The settings of one kind, read from the `provider:` mapping without its `kind` key. The
/// mapping is read as it streams by (never buffered), so an error keeps the place of the key
/// or value at fault.
struct KindSection<P>(P);

impl<'de, P: Deserialize<'de>> Deserialize<'de> for KindSection<P> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SectionVisitor<P>(std::marker::PhantomData<P>);
        impl<'de, P: Deserialize<'de>> serde::de::Visitor<'de> for SectionVisitor<P> {
            type Value = KindSection<P>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of provider settings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                P::deserialize(serde::de::value::MapAccessDeserializer::new(WithoutKind(
                    map,
                )))
                .map(KindSection)
            }
        }
        deserializer.deserialize_map(SectionVisitor(std::marker::PhantomData))
    }
}

/// A mapping with its `kind` entry left out.
struct WithoutKind<A>(A);

impl<'de, A: serde::de::MapAccess<'de>> serde::de::MapAccess<'de> for WithoutKind<A> {
    type Error = A::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        loop {
            match self.0.next_key_seed(KeyUnlessKind(&mut seed))? {
                None => return Ok(None),
                Some(Some(key)) => return Ok(Some(key)),
                Some(None) => {
                    self.0.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Reads a key with `seed`, unless it is `kind` (then `None`, and the seed is kept).
struct KeyUnlessKind<'a, K>(&'a mut Option<K>);

impl<'de, K: serde::de::DeserializeSeed<'de>> serde::de::DeserializeSeed<'de>
    for KeyUnlessKind<'_, K>
{
    type Value = Option<K::Value>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: serde::de::DeserializeSeed<'de>> serde::de::Visitor<'de> for KeyUnlessKind<'_, K> {
    type Value = Option<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a setting's name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == "kind" {
            return Ok(None);
        }
        let seed = self.0.take().ok_or_else(|| E::custom("key read twice"))?;
        seed.deserialize(serde::de::IntoDeserializer::<E>::into_deserializer(key))
            .map(Some)
    }
}

/// The message of a parse error: its place (line and column) and cause, without the snippet
/// of the document serde-saphyr would show, and with the values of secret keys masked.
fn parse_error(text: &str, e: &serde_saphyr::Error) -> ConfigError {
    use serde_saphyr::MessageFormatter;
    let message: String = serde_saphyr::UserMessageFormatter
        .format_message(e)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let full = match e.location() {
        Some(at) if at.line() > 0 => {
            let (line, column) = (at.line(), at.column());
            match key_at(text, line, column) {
                Some(key) if !message.contains(&format!("`{key}`")) => {
                    format!("line {line} column {column}: {key}: {message}")
                }
                _ => format!("line {line} column {column}: {message}"),
            }
        }
        _ => message,
    };
    ConfigError::Parse(mask_secrets(text, &full))
}

/// The key whose value starts at `line` and `column` (both from 1) of `text`, if the text
/// there reads `key: value`.
fn key_at(text: &str, line: u64, column: u64) -> Option<&str> {
    let line = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(column).ok()?.checked_sub(1)?;
    let before = line.get(
        ..line
            .char_indices()
            .nth(column)
            .map_or(line.len(), |(i, _)| i),
    )?;
    let before = before.trim_end().strip_suffix(':')?.trim_end();
    let before = before.strip_suffix(['"', '\'']).unwrap_or(before);
    let start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    Some(&before[start..]).filter(|k| !k.is_empty())
}

/// Keys whose values are secrets (compared without case, `-` and `_`).
const SECRET_KEYS: [&str; 9] = [
    "secret",
    "apikey",
    "password",
    "token",
    "privatekey",
    "accesskey",
    "secretaccesskey",
    "credentials",
    "tsig",
];

/// Secret values shorter than this are not masked: masking one or two characters would
/// garble the message without hiding anything worth hiding.
const MIN_MASKED_LEN: usize = 4;

/// `message` with every secret found in the configuration `text` replaced by `***`: the
/// values of secret keys (`secret`, `apiKey`, `password`, `token`, `privateKey`,
/// `credentials`, and a `tsig` written as one value) in block or flow style, and the
/// `user:password` of URLs. Used for every parse error of a provider configuration, so that
/// a mistyped file never puts its secrets into a terminal or a log.
pub(crate) fn mask_secrets(text: &str, message: &str) -> String {
    let mut values: Vec<&str> = Vec::new();
    for line in text.lines() {
        let bytes = line.as_bytes();
        let mut at = 0;
        while let Some(colon) = line[at..].find(':').map(|i| i + at) {
            at = colon + 1;
            // The key before the colon: the word that ends there.
            let before = line[..colon].trim_end();
            let key_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map_or(0, |i| i + 1);
            if !is_secret_key(&before[key_start..]) {
                continue;
            }
            if bytes
                .get(colon + 1)
                .is_some_and(|b| !b.is_ascii_whitespace())
            {
                continue; // `a:b` is not a key
            }
            let rest = line[colon + 1..].trim_start();
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &rest[1..];
                    inner.find(q).map_or(inner, |end| &inner[..end])
                }
                Some('{' | '[' | '|' | '>' | '#') | None => continue,
                Some(_) => {
                    let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
                    let value = &rest[..end];
                    value.split(" #").next().unwrap_or(value).trim()
                }
            };
            values.push(value);
        }
    }
    mask_values(message, values)
}

/// `message` with each of `values` (at least [`MIN_MASKED_LEN`] long), as it is or escaped,
/// and the user information of URLs replaced by `***`.
fn mask_values<S: AsRef<str>>(message: &str, mut values: Vec<S>) -> String {
    let mut out = strip_userinfo(message);
    values.sort_by_key(|v| std::cmp::Reverse(v.as_ref().len()));
    for value in &values {
        let value = value.as_ref();
        if value.len() >= MIN_MASKED_LEN {
            out = out.replace(value, "***");
            let quoted = format!("{value:?}");
            let quoted = &quoted[1..quoted.len() - 1];
            if quoted != value {
                out = out.replace(quoted, "***");
            }
        }
    }
    out
}

/// `text` with the user information of every URL in it (`http://user:password@host`)
/// replaced by `***`, so that a URL can be shown in an error or a log.
pub(crate) fn strip_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        let c = Config::from_yaml(
            "zone: example.com\nownerId: me\nregistry: none\nprovider:\n  kind: memory\n  listen: 127.0.0.1:5353\n",
        )
        .unwrap();
        assert_eq!(c.zone.as_str(), "example.com.");
        assert_eq!(c.owner_id, "me");
        assert_eq!(c.registry, Registry::None);
        assert_eq!(
            c.provider,
            ProviderConfig::Memory(MemoryConfig {
                listen: Some("127.0.0.1:5353".parse().unwrap())
            })
        );
        let c = Config::from_yaml(
            "zone: example.com\nprovider:\n  kind: powerdns\n  url: http://127.0.0.1:8081\n  apiKeyFile: /tmp/k\n",
        )
        .unwrap();
        let ProviderConfig::Powerdns(p) = &c.provider else {
            panic!()
        };
        assert_eq!(p.server_id, "localhost");
        assert_eq!(c.registry, Registry::Txt);
        let c = Config::from_yaml(
            "zone: example.com\nprovider: {kind: route53, hostedZoneId: Z1, region: us-east-1, endpointUrl: 'http://127.0.0.1:5000'}\n",
        )
        .unwrap();
        assert_eq!(c.provider.kind(), "route53");
        let c = Config::from_yaml(
            "zone: example.com\nprovider: {kind: clouddns, project: p, managedZone: z, credentialsFile: /x.json}\n",
        )
        .unwrap();
        assert_eq!(c.provider.kind(), "clouddns");
    }

    #[test]
    fn refuses_unknown_keys_and_kinds() {
        let e = Config::from_yaml("zone: example.com\nprovider: {kind: bind}\n").unwrap_err();
        assert!(e.to_string().contains("bind"), "{e}");
        let e = Config::from_yaml(
            "zone: example.com\nprovider: {kind: rfc2136, server: 127.0.0.1:53, sever: x}\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("sever"), "{e}");
    }

    #[test]
    fn secrets_from_files_and_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ddns.key");
        std::fs::write(
            &path,
            "key \"ddns-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n",
        )
        .unwrap();
        let t = TsigConfig {
            name: "ddns-key".into(),
            algorithm: default_tsig_algorithm(),
            secret: None,
            secret_file: Some(path),
        };
        assert_eq!(t.secret_base64().unwrap().expose(), "c2VjcmV0");
        assert!(!format!("{:?}", Secret::new("abc")).contains("abc"));
        let both = TsigConfig {
            secret: Some(Secret::new("x")),
            ..t
        };
        assert!(both.secret_base64().is_err());
    }

    #[tokio::test]
    async fn kinds_not_compiled_in_are_named() {
        let kinds = [
            ("memory", cfg!(feature = "memory"), ""),
            (
                "rfc2136",
                cfg!(feature = "rfc2136"),
                ", server: 127.0.0.1:53",
            ),
            (
                "powerdns",
                cfg!(feature = "powerdns"),
                ", url: 'http://127.0.0.1:1', apiKey: k",
            ),
            (
                "clouddns",
                cfg!(feature = "clouddns"),
                ", project: p, managedZone: z",
            ),
        ];
        for (kind, compiled, extra) in kinds {
            let c = Config::from_yaml(&format!(
                "zone: example.com\nprovider: {{kind: {kind}{extra}}}\n"
            ))
            .unwrap();
            match c.build().await {
                Ok(p) => assert!(compiled && p.name().starts_with(kind), "{kind}"),
                Err(e) => {
                    assert!(!compiled, "{kind}: {e}");
                    assert_eq!(e, ConfigError::NotCompiled { kind: kind.into() });
                    assert!(e.to_string().contains(&format!("cargo feature `{kind}`")));
                }
            }
        }
    }

    const SECRET: &str = "S3cr3tValue+/xyz=";

    /// Asserts that `SECRET` shows in neither the Display nor the Debug text of `e`.
    fn assert_hidden(e: &ConfigError, case: &str) {
        let (display, debug) = (e.to_string(), format!("{e:?}"));
        for text in [&display, &debug] {
            assert!(!text.contains(SECRET), "{case}: {text}");
            assert!(!text.contains("hunter22"), "{case}: {text}");
        }
    }

    #[test]
    fn parse_errors_never_show_secrets() {
        let head = "zone: example.com\nprovider:\n";
        let cases = [
            // rfc2136: a mistyped key next to the secret, block and flow style, quoted or not.
            format!(
                "{head}  kind: rfc2136\n  server: 127.0.0.1:53\n  tsig:\n    name: k\n    secret: {SECRET}\n    algoritm: hmac-sha256\n"
            ),
            format!(
                "{head}  kind: rfc2136\n  server: 127.0.0.1:53\n  tsig: {{name: k, secret: \"{SECRET}\", algo: x}}\n"
            ),
            // The secret where a mapping belongs: serde's message would quote the value.
            format!("{head}  kind: rfc2136\n  server: 127.0.0.1:53\n  tsig: {SECRET}\n"),
            format!(
                "{head}  kind: rfc2136\n  server: 127.0.0.1:53\n  tsig:\n    name: k\n    secret: '{SECRET}'\n  timeoutSeconds: soon\n"
            ),
            // powerdns: the API key, and a password in the URL.
            format!(
                "{head}  kind: powerdns\n  url: http://127.0.0.1:8081\n  apiKey: {SECRET}\n  timeoutSecond: 5\n"
            ),
            format!("{head}  kind: powerdns\n  url: http://127.0.0.1:8081\n  apiKey: [{SECRET}]\n"),
            format!(
                "{head}  kind: powerdns\n  url: http://admin:hunter22@127.0.0.1:8081\n  apiKey: {SECRET}\n  serverId: [x]\n"
            ),
            format!("{head}  kind: powerdns\n  url: [http://admin:hunter22@127.0.0.1:8081]\n"),
            // clouddns: its credentials live in a file; a key pasted inline is refused unseen.
            format!(
                "{head}  kind: clouddns\n  project: p\n  managedZone: z\n  credentials: {SECRET}\n"
            ),
            format!(
                "{head}  kind: clouddns\n  project: p\n  managedZone: z\n  privateKey: \"{SECRET}\"\n"
            ),
            // route53 takes no secret in its settings; AWS keys put there are refused unseen.
            format!("{head}  kind: route53\n  secretAccessKey: {SECRET}\n"),
            // A syntax error on the secret's own line.
            format!("{head}  kind: powerdns\n  apiKey: {SECRET}\n  url: [\n"),
            format!("{head}  kind: bind\n  secret: {SECRET}\n"),
        ];
        for case in &cases {
            let e = Config::from_yaml(case).unwrap_err();
            assert_hidden(&e, case);
            assert!(matches!(e, ConfigError::Parse(_)), "{case}: {e}");
            assert!(e.to_string().contains("line "), "{case}: {e}");
        }
    }

    #[test]
    fn parse_errors_give_the_line_of_the_key_at_fault() {
        // `kind` anywhere in the mapping; the error names the line of the mistyped key.
        let text = "zone: example.com\nprovider:\n  server: 127.0.0.1:53\n  kind: rfc2136\n  timeoutSeconds: 5\n  batchSise: 10\n";
        let e = Config::from_yaml(text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse provider configuration: line 6 column 3: unknown field `batchSise`, expected one of server, tsig, timeoutSeconds, batchSize, maxListRecords, maxListBytes"
        );
        let text = "zone: example.com\nprovider:\n  kind: powerdns\n  url: http://127.0.0.1:8081\n  apiKey: k\n  timeoutSeconds: soon\n";
        let e = Config::from_yaml(text).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "cannot parse provider configuration: line 6 column 19: timeoutSeconds: "
            ),
            "{e}"
        );
        let text = "zone: example.com\nprovider:\n  kind: rfc2136\n  server: x\n  tsig:\n    name: k\n    secret: c2VjcmV0\n    secretfile: /k\n";
        let e = Config::from_yaml(text).unwrap_err().to_string();
        assert!(
            e.contains("line 8 column 5: unknown field `secretfile`"),
            "{e}"
        );
        let e = Config::from_yaml("zone: example.com\nprovider:\n  listen: x\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "provider configuration: provider.kind: missing; one of memory, rfc2136, powerdns, route53, clouddns"
        );
    }

    /// The `Deserialize` of a [`Config`] embedded in another document (the controller's
    /// `dns:`), without [`Config::from_yaml`]'s masking.
    fn embedded(text: &str) -> Result<Config, String> {
        #[derive(Deserialize)]
        struct Outer {
            dns: Config,
        }
        serde_saphyr::from_str::<Outer>(text)
            .map(|o| o.dns)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn embedded_configurations_keep_places_and_secrets() {
        let head = "dns:\n  zone: example.com\n  provider:\n";
        // `kind` first: read as it streams by; the error is at the key at fault.
        let e = embedded(&format!(
            "{head}    kind: rfc2136\n    server: 127.0.0.1:53\n    tsig: {SECRET}\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 6 column"), "{e}");
        let e = embedded(&format!(
            "{head}    kind: rfc2136\n    server: x\n    batchSise: 3\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 6 column 5"), "{e}");
        assert!(e.contains("unknown field `batchSise`"), "{e}");
        // `kind` later: read whole first; the message shows no secret value.
        for bad in [
            format!("    server: x\n    tsig: {SECRET}\n    kind: rfc2136\n"),
            format!(
                "    server: x\n    tsig: {{name: k, secret: [{SECRET}]}}\n    kind: rfc2136\n"
            ),
            format!("    url: http://h\n    apiKey: [{SECRET}]\n    kind: powerdns\n"),
        ] {
            let e = embedded(&format!("{head}{bad}")).unwrap_err();
            let message = e.lines().next().unwrap();
            assert!(!message.contains(SECRET), "{message}");
        }
        let c = embedded(&format!(
            "{head}    server: 127.0.0.1:53\n    tsig: {{name: k, secret: {SECRET}}}\n    kind: rfc2136\n"
        ))
        .unwrap();
        let ProviderConfig::Rfc2136(r) = &c.provider else {
            panic!("{c:?}")
        };
        assert_eq!(
            r.tsig.as_ref().unwrap().secret.as_ref().unwrap().expose(),
            SECRET
        );
        let e = embedded(&format!("{head}    kind: bind\n")).unwrap_err();
        assert!(e.contains("unknown variant `bind`"), "{e}");
    }

    #[test]
    fn zones_are_host_names() {
        for (zone, bad) in [("'*.example.com'", "'*'"), ("_dmarc.example.com", "'_'")] {
            let e = Config::from_yaml(&format!("zone: {zone}\nprovider: {{kind: memory}}\n"))
                .unwrap_err();
            let text = e.to_string();
            assert!(text.starts_with("provider configuration: zone: "), "{text}");
            assert!(text.contains(bad), "{text}");
            assert!(matches!(e, ConfigError::Invalid { ref field, .. } if field == "zone"));
        }
        Config::from_yaml("zone: a-1.Example.com.\nprovider: {kind: memory}\n").unwrap();
    }

    #[test]
    fn user_information_is_stripped_and_secrets_masked() {
        assert_eq!(
            strip_userinfo("GET http://u:p@h:1/x failed; see https://h2/ and a://b@c"),
            "GET http://***@h:1/x failed; see https://h2/ and a://***@c"
        );
        assert_eq!(
            mask_secrets(
                "apiKey: abcdef\nx: {secret: 'ghijkl', n: 1}\n",
                "abcdef ghijkl"
            ),
            "*** ***"
        );
        let c = Config::from_yaml(
            "zone: example.com\nprovider: {kind: powerdns, url: 'http://admin:hunter22@h:8081', apiKey: S3cr3tValue+/xyz=}\n",
        )
        .unwrap();
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("hunter22") && !debug.contains(SECRET),
            "{debug}"
        );
        assert!(debug.contains("http://***@h:8081"), "{debug}");
        for provider in [
            "{kind: route53, endpointUrl: 'http://admin:hunter22@h:5000'}",
            "{kind: clouddns, project: p, managedZone: z, endpointUrl: 'http://admin:hunter22@h:1'}",
        ] {
            let c =
                Config::from_yaml(&format!("zone: example.com\nprovider: {provider}\n")).unwrap();
            let debug = format!("{c:?}");
            assert!(!debug.contains("hunter22"), "{debug}");
            assert!(debug.contains("http://***@h:"), "{debug}");
        }
    }

    #[test]
    fn server_addresses() {
        let c = |s: &str| Rfc2136Config {
            server: s.into(),
            tsig: None,
            timeout_seconds: None,
            batch_size: None,
            max_list_records: None,
            max_list_bytes: None,
        };
        assert_eq!(
            c("127.0.0.1").server_addr().unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            c("127.0.0.1:5300").server_addr().unwrap(),
            "127.0.0.1:5300".parse().unwrap()
        );
        assert!(c("no such host !").server_addr().is_err());
    }
}
