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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
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

/// Settings of the PowerDNS backend.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

/// Settings of the Route53 backend.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

/// Settings of the Google Cloud DNS backend.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloudDnsConfig {
    /// The Google Cloud project.
    pub project: String,
    /// The managed zone's name.
    pub managed_zone: String,
    /// A service-account JSON key file.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// Another endpoint than Google's (a local fake).
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

impl Config {
    /// Parses a configuration from YAML (JSON is YAML too).
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))
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
                crate::clouddns::CloudDnsProvider::from_config(zone(), c)?,
            )),
            #[allow(unreachable_patterns)]
            other => Err(ConfigError::NotCompiled {
                kind: other.kind().into(),
            }),
        }
    }
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

    #[test]
    fn server_addresses() {
        let c = |s: &str| Rfc2136Config {
            server: s.into(),
            tsig: None,
            timeout_seconds: None,
            batch_size: None,
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
