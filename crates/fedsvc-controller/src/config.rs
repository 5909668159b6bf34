//! The controller's configuration: a YAML file, overridden by flags and environment variables.
//!
//! ```yaml
//! federation: myfederation
//! dnsSuffix: example.com
//! zoneNaming: zone              # zone | zone-region
//! ttl: 180                      # default TTL of records, seconds
//! dns:                          # the provider configuration (docs/providers.md)
//!   zone: example.com
//!   provider: {kind: rfc2136, server: 10.0.0.53:53, tsig: {name: ddns-key, algorithm: hmac-sha256, secretFile: /etc/fedsvc/tsig}}
//! # dnsConfigFile: /etc/fedsvc/dns.yaml   (instead of dns:)
//! namespace: fedsvc-system      # Secrets of Clusters, the Lease, Events
//! namespaces: []                # federate only these namespaces (default: all)
//! excludeNamespaces: [kube-system, kube-public, kube-node-lease]
//! health: {period: 10s, timeout: 3s, failureThreshold: 3, successThreshold: 2}
//! sync: {coalesce: 200ms, resync: 5m}
//! members: {qps: 20, burst: 40, requestTimeout: 10s}   # client of each member cluster
//! workers: 16                   # services reconciled at once
//! leaderElection: {enabled: true, leaseName: fedsvc-controller, leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 2s}
//! listen: 0.0.0.0:8080          # /healthz, /readyz, /metrics
//! workloads: {enabled: true}    # federated Deployments (with their ConfigMaps and Secrets)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fedsvc_cluster::KubeMemberOptions;
use fedsvc_dns_plan::Registry;
use fedsvc_model::{DnsName, Label, LabelRules, ZoneNaming};
use serde::{Deserialize, Deserializer};

use crate::dns::DnsLoopConfig;
use crate::leader::lease::LeaseTiming;
use crate::members::health::HealthPolicy;

/// The largest configuration file read (and the largest provider configuration file): 16 MiB.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// How long the federation API may fail before `/readyz` stops answering 200, by default.
pub const DEFAULT_API_UNREACHABLE_FOR: Duration = Duration::from_secs(30);

/// The shortest period a periodic task is ever given, whatever the configuration says: a
/// zero period would make the task panic (tokio's intervals refuse it).
pub const MIN_TASK_PERIOD: Duration = Duration::from_millis(1);

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("{path}: the file is larger than {limit} bytes, the limit of a configuration file")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, bytes.
        limit: u64,
    },
    /// The file is not a valid configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong (never a secret value of the file).
        message: String,
    },
    /// A value is missing or wrong.
    #[error("configuration: {field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A value of the DNS provider's configuration is missing or wrong.
    #[error("configuration: {field}: {message}")]
    Provider {
        /// The field, for example `dns.provider.tsig.secretFile`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Several of the above, every one found.
    #[error("{}", several(.0))]
    Several(Vec<ConfigError>),
}

impl ConfigError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            field,
            message: message.into(),
        }
    }

    fn provider(field: &str, message: impl Into<String>) -> Self {
        ConfigError::Provider {
            field: format!("dns.{field}"),
            message: message.into(),
        }
    }

    /// The errors in one: those of [`ConfigError::Several`], or this one alone.
    pub fn errors(&self) -> Vec<&ConfigError> {
        match self {
            ConfigError::Several(all) => all.iter().flat_map(ConfigError::errors).collect(),
            one => vec![one],
        }
    }

    /// One error as a line of a list: the field and what is wrong.
    fn item(&self) -> String {
        match self {
            ConfigError::Invalid { field, message } => format!("{field}: {message}"),
            ConfigError::Provider { field, message } => format!("{field}: {message}"),
            other => other.to_string(),
        }
    }

    /// `Ok` without errors, the error alone, or [`ConfigError::Several`].
    fn from_list(mut errors: Vec<ConfigError>) -> Result<(), ConfigError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(ConfigError::Several(errors)),
        }
    }
}

fn several(errors: &[ConfigError]) -> String {
    let mut out = format!("{} errors in the configuration:", errors.len());
    for e in errors {
        out.push_str("\n  ");
        out.push_str(&e.item());
    }
    out
}

/// Reads a configuration file of at most [`MAX_CONFIG_BYTES`].
fn read_limited(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            limit: MAX_CONFIG_BYTES,
        });
    }
    Ok(text)
}

/// Keys whose values are secrets, in any case, with or without `_`.
const SECRET_KEYS: &[&str] = &["secret", "apikey", "password", "token", "privatekey"];

/// The values given to secret-looking keys in `text` (`secret: X`, `"apiKey": "X"`), as
/// written, so that an error message can be searched for them.
fn secret_values(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = text.to_ascii_lowercase().replace('_', "-");
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(at) = lower[from..].find(key) {
            let start = from + at;
            from = start + key.len();
            let rest = &text[from..];
            let rest = rest.trim_start_matches(['"', '\'']);
            let Some(rest) = rest.trim_start().strip_prefix(':') else {
                continue;
            };
            let rest = rest.trim_start_matches([' ', '\t', '"', '\'']);
            let end = rest
                .find([',', '}', ']', '\n', '\r', '"', '\'', ' ', '#'])
                .unwrap_or(rest.len());
            let value = &rest[..end];
            // Too short a value would mask ordinary words of the message.
            if value.len() >= 6 {
                found.push(value.to_owned());
            }
        }
    }
    found
}

/// `message` without the string values serde quotes in it (`invalid type: string "…"`): a
/// secret indented one level too far, or pasted at the wrong key, would be one. The location
/// of the error stays.
fn without_string_values(message: &str) -> String {
    const QUOTED: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(QUOTED) {
        out.push_str(&rest[..at]);
        out.push_str("string");
        let after = &rest[at + QUOTED.len()..];
        // The value ends at the first quote not escaped by a backslash.
        let mut escaped = false;
        let end = after.char_indices().find_map(|(i, c)| {
            let close = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            close.then_some(i + 1)
        });
        rest = &after[end.unwrap_or(after.len())..];
    }
    out.push_str(rest);
    out
}

/// Parses YAML without ever quoting the document in the error: no snippet of the source, and
/// any value of a secret-looking key that the message would still hold is masked.
fn parse_yaml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let mut message = without_string_values(&e.to_string());
        for secret in secret_values(text) {
            message = message.replace(&secret, "***");
        }
        ConfigError::Parse {
            path: path.to_owned(),
            message,
        }
    })
}

/// Reads a DNS provider configuration file (`dnsConfigFile`, `--dns`): at most
/// [`MAX_CONFIG_BYTES`], and a parse error never quotes a secret of it.
pub fn provider_from_file(path: &Path) -> Result<fedsvc_providers::Config, ConfigError> {
    parse_yaml(path, &read_limited(path)?)
}

/// A secret given inline or in a file: exactly one of the two, the inline one not empty, the
/// file readable. `(parent, inline, file)` name the fields, as `("provider.tsig", "secret",
/// "secretFile")`.
fn check_secret_source(
    (parent, inline, file): (&str, &str, &str),
    value: Option<&fedsvc_providers::Secret>,
    path: Option<&Path>,
    out: &mut Vec<ConfigError>,
) {
    match (value, path) {
        (Some(v), None) if v.expose().trim().is_empty() => out.push(ConfigError::provider(
            &format!("{parent}.{inline}"),
            "must not be empty",
        )),
        (Some(_), None) => {}
        (None, Some(path)) => check_secret_file(&format!("{parent}.{file}"), path, out),
        (Some(_), Some(_)) => out.push(ConfigError::provider(
            parent,
            format!("give either {inline} or {file}, not both"),
        )),
        (None, None) => out.push(ConfigError::provider(
            parent,
            format!("{inline} or {file} is required"),
        )),
    }
}

/// Checks that a file named by the configuration can be read and is not empty, without
/// keeping (or ever printing) what it holds.
fn check_secret_file(field: &str, path: &Path, out: &mut Vec<ConfigError>) {
    use std::io::Read;
    let result = std::fs::File::open(path).and_then(|f| {
        let mut buf = Vec::new();
        f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut buf)?;
        Ok(buf.iter().all(u8::is_ascii_whitespace))
    });
    match result {
        Ok(false) => {}
        Ok(true) => out.push(ConfigError::provider(
            field,
            format!("{} is empty", path.display()),
        )),
        Err(e) => out.push(ConfigError::provider(
            field,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Checks a host name (letters, digits and `-` in each label; no wildcard, no `_`), as the
/// DNS suffix and a server's name must be.
fn check_host_name(value: &str) -> Result<DnsName, String> {
    let name = DnsName::parse(value).map_err(|e| e.to_string())?;
    if let Some(label) = name
        .as_str()
        .trim_end_matches('.')
        .split('.')
        .find(|l| l.contains(['*', '_']))
    {
        return Err(format!(
            "{value:?} is not a host name: label {label:?} holds '*' or '_'"
        ));
    }
    Ok(name)
}

/// Checks `host:port`, `ip`, `ip:port`, `[ipv6]:port` or `host` without resolving anything.
fn check_server(value: &str) -> Result<(), String> {
    let s = value.trim();
    if s.parse::<SocketAddr>().is_ok() || s.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p != 0)
    {
        return Err(format!("{s:?}: {p:?} is not a port"));
    }
    check_host_name(host)
        .map(|_| ())
        .map_err(|e| format!("{s:?} is not host:port: {e}"))
}

/// Checks an `http://` or `https://` URL with a host.
fn check_url(value: &str) -> Result<(), String> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))
        .ok_or_else(|| format!("{value:?} is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return Err(format!("{value:?} has no host"));
    }
    Ok(())
}

/// Every problem of the provider's settings that can be found without the network.
fn provider_problems(dns: &fedsvc_providers::Config, out: &mut Vec<ConfigError>) {
    use fedsvc_providers::ProviderConfig;
    let kind = dns.provider.kind();
    if !fedsvc_providers::COMPILED_KINDS.contains(&kind) {
        out.push(ConfigError::provider(
            "provider.kind",
            format!(
                "{kind} is not compiled into this build (compiled in: {}); rebuild with cargo feature `{kind}`",
                fedsvc_providers::COMPILED_KINDS.join(", ")
            ),
        ));
    }
    match &dns.provider {
        ProviderConfig::Rfc2136(c) => {
            if let Err(e) = check_server(&c.server) {
                out.push(ConfigError::provider("provider.server", e));
            }
            if let Some(t) = &c.tsig {
                let alg = t.algorithm.trim().to_ascii_lowercase();
                if !["hmac-sha256", "hmac-sha384", "hmac-sha512"]
                    .contains(&alg.trim_end_matches('.'))
                {
                    out.push(ConfigError::provider(
                        "provider.tsig.algorithm",
                        format!(
                            "{:?} is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512",
                            t.algorithm
                        ),
                    ));
                }
                if t.name.trim().is_empty() {
                    out.push(ConfigError::provider(
                        "provider.tsig.name",
                        "must not be empty",
                    ));
                }
                check_secret_source(
                    ("provider.tsig", "secret", "secretFile"),
                    t.secret.as_ref(),
                    t.secret_file.as_deref(),
                    out,
                );
            }
        }
        ProviderConfig::Powerdns(c) => {
            if let Err(e) = check_url(&c.url) {
                out.push(ConfigError::provider("provider.url", e));
            }
            check_secret_source(
                ("provider", "apiKey", "apiKeyFile"),
                c.api_key.as_ref(),
                c.api_key_file.as_deref(),
                out,
            );
        }
        ProviderConfig::Route53(c) => {
            if let Some(Err(e)) = c.endpoint_url.as_deref().map(check_url) {
                out.push(ConfigError::provider("provider.endpointUrl", e));
            }
        }
        ProviderConfig::Clouddns(c) => {
            if c.project.trim().is_empty() {
                out.push(ConfigError::provider(
                    "provider.project",
                    "must not be empty",
                ));
            }
            if c.managed_zone.trim().is_empty() {
                out.push(ConfigError::provider(
                    "provider.managedZone",
                    "must not be empty",
                ));
            }
            if let Some(path) = &c.credentials_file {
                check_secret_file("provider.credentialsFile", path, out);
            }
            if let Some(Err(e)) = c.endpoint_url.as_deref().map(check_url) {
                out.push(ConfigError::provider("provider.endpointUrl", e));
            }
        }
        _ => {}
    }
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}")))
}

/// Health probing (`health:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct HealthConfig {
    /// How often members are probed.
    #[serde(deserialize_with = "duration")]
    pub period: Duration,
    /// How long a probe may take.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// Failed probes in a row before a member is no longer Ready.
    pub failure_threshold: u32,
    /// Good probes in a row before it is Ready again.
    pub success_threshold: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        let p = HealthPolicy::default();
        Self {
            period: p.period,
            timeout: p.timeout,
            failure_threshold: p.failure_threshold,
            success_threshold: p.success_threshold,
        }
    }
}

/// DNS sync timing (`sync:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SyncConfig {
    /// How long changes are gathered before one sync.
    #[serde(deserialize_with = "duration")]
    pub coalesce: Duration,
    /// How often the zone is listed again to repair drift.
    #[serde(deserialize_with = "duration")]
    pub resync: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        let d = DnsLoopConfig::default();
        Self {
            coalesce: d.coalesce,
            resync: d.resync,
        }
    }
}

/// Member cluster clients (`members:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MembersConfig {
    /// Average requests per second to each member, watches and probes excluded; `0` for no
    /// limit.
    pub qps: f64,
    /// Requests allowed in a burst above `qps`.
    pub burst: u32,
    /// Connect timeout, and time allowed for each ordinary request (watches excluded).
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// Whether a member kubeconfig read from a Secret may use `exec` and `auth-provider`
    /// plugins and file references (`allowUnsafeKubeconfig`, default `false`). **Dangerous**:
    /// whoever may write those Secrets can then run programs as the controller and read its
    /// files. Without it such a `Cluster` is not Ready, with reason `UnsafeKubeconfig`.
    pub allow_unsafe_kubeconfig: bool,
}

impl Default for MembersConfig {
    fn default() -> Self {
        let o = KubeMemberOptions::default();
        Self {
            qps: o.qps,
            burst: o.burst,
            request_timeout: o.request_timeout,
            allow_unsafe_kubeconfig: o.allow_unsafe_kubeconfig,
        }
    }
}

/// Leader election (`leaderElection:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LeaderElectionConfig {
    /// Whether to elect a leader (off: this replica always writes).
    pub enabled: bool,
    /// The Lease's name, in `namespace`.
    pub lease_name: String,
    /// This replica's identity (default: `$POD_NAME`, else the host name and process id).
    pub identity: Option<String>,
    /// How long a lease is valid.
    #[serde(deserialize_with = "duration")]
    pub lease_duration: Duration,
    /// How long a leader acts without a renewal.
    #[serde(deserialize_with = "duration")]
    pub renew_deadline: Duration,
    /// How often to try to renew or acquire.
    #[serde(deserialize_with = "duration")]
    pub retry_period: Duration,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        let t = LeaseTiming::default();
        Self {
            enabled: true,
            lease_name: "fedsvc-controller".into(),
            identity: None,
            lease_duration: t.lease_duration,
            renew_deadline: t.renew_deadline,
            retry_period: t.retry_period,
        }
    }
}

impl LeaderElectionConfig {
    /// The timing as the election uses it.
    pub fn timing(&self) -> LeaseTiming {
        LeaseTiming {
            lease_duration: self.lease_duration,
            renew_deadline: self.renew_deadline,
            retry_period: self.retry_period,
        }
    }
}

/// The controller's own readiness (`readiness:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReadinessConfig {
    /// How long the federation API may fail (its watch erroring, nothing listed) before
    /// `/readyz` answers 503 (default 30 s).
    #[serde(deserialize_with = "duration")]
    pub api_unreachable_for: Duration,
}

impl Default for ReadinessConfig {
    fn default() -> Self {
        Self {
            api_unreachable_for: DEFAULT_API_UNREACHABLE_FOR,
        }
    }
}

/// Federated Deployments (`workloads:`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct WorkloadsConfig {
    /// Whether `apps/v1` Deployments on the federation API are federated: copied to the
    /// members with their replicas divided, their ConfigMaps and Secrets along (default
    /// `true`). Off, the controller neither reads Deployments, ConfigMaps nor Secrets on the
    /// federation API nor watches Deployments in the members.
    pub enabled: bool,
}

impl Default for WorkloadsConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControllerConfig {
    /// The federation's name.
    pub federation: String,
    /// The DNS suffix of the records.
    pub dns_suffix: String,
    /// How zone names are built.
    #[serde(default)]
    pub zone_naming: ZoneNaming,
    /// Default TTL, seconds.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The DNS provider, inline.
    #[serde(default)]
    pub dns: Option<fedsvc_providers::Config>,
    /// The DNS provider, from a file.
    #[serde(default)]
    pub dns_config_file: Option<PathBuf>,
    /// The controller's namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Federate only these namespaces (empty: all).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Never federate these namespaces (the controller's own is always excluded).
    #[serde(default = "default_excluded")]
    pub exclude_namespaces: Vec<String>,
    /// Health probing.
    #[serde(default)]
    pub health: HealthConfig,
    /// DNS sync timing.
    #[serde(default)]
    pub sync: SyncConfig,
    /// Member cluster clients.
    #[serde(default)]
    pub members: MembersConfig,
    /// How many federated services are reconciled at once.
    #[serde(default = "default_workers")]
    pub workers: u16,
    /// Leader election.
    #[serde(default)]
    pub leader_election: LeaderElectionConfig,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// When `/readyz` answers 200.
    #[serde(default)]
    pub readiness: ReadinessConfig,
    /// Federated Deployments.
    #[serde(default)]
    pub workloads: WorkloadsConfig,
}

fn default_ttl() -> u32 {
    fedsvc_model::DEFAULT_TTL
}

fn default_workers() -> u16 {
    16
}

fn default_namespace() -> String {
    "fedsvc-system".into()
}

fn default_excluded() -> Vec<String> {
    ["kube-system", "kube-public", "kube-node-lease"]
        .map(String::from)
        .to_vec()
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}

impl ControllerConfig {
    /// A configuration with defaults for everything but the federation, suffix and provider.
    pub fn new(federation: &str, dns_suffix: &str, dns: fedsvc_providers::Config) -> Self {
        Self {
            dns: Some(dns),
            ..Self::defaults(federation, dns_suffix)
        }
    }

    /// A configuration with defaults for everything but the federation and suffix, whose
    /// provider is read from `dns_config_file` (flags without a configuration file).
    pub fn with_dns_file(federation: &str, dns_suffix: &str, dns_config_file: &Path) -> Self {
        Self {
            dns_config_file: Some(dns_config_file.to_owned()),
            ..Self::defaults(federation, dns_suffix)
        }
    }

    /// Defaults for everything but the federation and suffix, with no provider yet.
    fn defaults(federation: &str, dns_suffix: &str) -> Self {
        Self {
            federation: federation.into(),
            dns_suffix: dns_suffix.into(),
            zone_naming: ZoneNaming::default(),
            ttl: default_ttl(),
            dns: None,
            dns_config_file: None,
            namespace: default_namespace(),
            namespaces: Vec::new(),
            exclude_namespaces: default_excluded(),
            health: HealthConfig::default(),
            sync: SyncConfig::default(),
            members: MembersConfig::default(),
            workers: default_workers(),
            leader_election: LeaderElectionConfig::default(),
            listen: default_listen(),
            readiness: ReadinessConfig::default(),
            workloads: WorkloadsConfig::default(),
        }
    }

    /// Reads a YAML file of at most [`MAX_CONFIG_BYTES`]; a parse error never quotes the
    /// file (which may hold the provider's secrets).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        parse_yaml(path, &read_limited(path)?)
    }

    /// The validated federation name.
    pub fn federation_label(&self) -> Result<Label, ConfigError> {
        Label::parse(&self.federation, LabelRules::Rfc1123, "federation name")
            .map_err(|e| ConfigError::invalid("federation", e.to_string()))
    }

    /// The validated DNS suffix: a host name.
    pub fn suffix(&self) -> Result<DnsName, ConfigError> {
        check_host_name(&self.dns_suffix).map_err(|e| ConfigError::invalid("dnsSuffix", e))
    }

    /// The provider configuration, inline or read from its file.
    fn provider_source(&self) -> Result<fedsvc_providers::Config, ConfigError> {
        match (&self.dns, &self.dns_config_file) {
            (Some(_), Some(_)) => Err(ConfigError::invalid(
                "dns",
                "give either dns or dnsConfigFile, not both",
            )),
            (Some(c), None) => Ok(c.clone()),
            (None, Some(path)) => provider_from_file(path)
                .map_err(|e| ConfigError::invalid("dnsConfigFile", e.to_string())),
            (None, None) => Err(ConfigError::invalid(
                "dns",
                "no DNS provider configured (dns or dnsConfigFile)",
            )),
        }
    }

    /// The provider configuration (inline or from its file), checked against the suffix.
    pub fn provider_config(&self) -> Result<fedsvc_providers::Config, ConfigError> {
        let cfg = self.provider_source()?;
        let suffix = self.suffix()?;
        if !suffix.is_subdomain_of(&cfg.zone) {
            return Err(ConfigError::invalid(
                "dnsSuffix",
                format!(
                    "{suffix} does not lie inside the provider's zone {}",
                    cfg.zone
                ),
            ));
        }
        Ok(cfg)
    }

    /// Every problem of the configuration, each naming its field; empty when it can be used.
    /// Nothing is resolved or contacted: files named by the configuration (the provider's,
    /// its secrets) are read to see that they can be, and what they hold is never shown.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut out = Vec::new();
        let federation = self.federation_label().map_err(|e| out.push(e)).ok();
        let suffix = self.suffix().map_err(|e| out.push(e)).ok();
        // How long one DNS write attempt may last: it must fit in a lease.
        let mut attempt = None;
        match self.provider_source() {
            Ok(dns) => {
                attempt = Some(crate::leader::attempt_timeout(&dns.provider));
                if let Some(suffix) = &suffix
                    && !suffix.is_subdomain_of(&dns.zone)
                {
                    out.push(ConfigError::invalid(
                        "dnsSuffix",
                        format!(
                            "{suffix} does not lie inside the provider's zone {}",
                            dns.zone
                        ),
                    ));
                }
                if dns.registry != fedsvc_providers::Registry::None
                    && let Some(f) = &federation
                    && let Err(e) = Registry::txt_with(
                        fedsvc_dns_plan::DEFAULT_PREFIX,
                        &dns.owner_id,
                        f.clone(),
                    )
                {
                    out.push(ConfigError::provider("ownerId", e.to_string()));
                }
                provider_problems(&dns, &mut out);
            }
            Err(e) => out.push(e),
        }
        if self.ttl > fedsvc_model::MAX_TTL {
            out.push(ConfigError::invalid(
                "ttl",
                format!("{} is larger than {}", self.ttl, fedsvc_model::MAX_TTL),
            ));
        }
        if let Err(e) = Label::parse(&self.namespace, LabelRules::Rfc1123, "namespace") {
            out.push(ConfigError::invalid("namespace", e.to_string()));
        }
        for (field, list) in [
            ("namespaces", &self.namespaces),
            ("excludeNamespaces", &self.exclude_namespaces),
        ] {
            for ns in list {
                if let Err(e) = Label::parse(ns, LabelRules::Rfc1123, "namespace") {
                    out.push(ConfigError::invalid(field, e.to_string()));
                }
            }
        }
        let positive = |out: &mut Vec<ConfigError>, field: &'static str, d: Duration| {
            if d.is_zero() {
                out.push(ConfigError::invalid(field, "must be longer than zero"));
            }
        };
        positive(&mut out, "health.period", self.health.period);
        positive(&mut out, "health.timeout", self.health.timeout);
        if self.health.failure_threshold == 0 {
            out.push(ConfigError::invalid(
                "health.failureThreshold",
                "must be at least 1",
            ));
        }
        if self.health.success_threshold == 0 {
            out.push(ConfigError::invalid(
                "health.successThreshold",
                "must be at least 1",
            ));
        }
        positive(&mut out, "sync.resync", self.sync.resync);
        if !self.sync.resync.is_zero() && self.sync.coalesce >= self.sync.resync {
            out.push(ConfigError::invalid(
                "sync.coalesce",
                format!(
                    "{} must be shorter than sync.resync ({})",
                    humantime::format_duration(self.sync.coalesce),
                    humantime::format_duration(self.sync.resync)
                ),
            ));
        }
        if !(self.members.qps.is_finite() && self.members.qps >= 0.0) {
            out.push(ConfigError::invalid(
                "members.qps",
                format!(
                    "{} is not a rate (0 or more requests per second)",
                    self.members.qps
                ),
            ));
        } else if self.members.qps > 0.0 && self.members.burst == 0 {
            out.push(ConfigError::invalid(
                "members.burst",
                "must be at least 1 when members.qps limits the rate",
            ));
        }
        positive(
            &mut out,
            "members.requestTimeout",
            self.members.request_timeout,
        );
        if self.workers == 0 {
            out.push(ConfigError::invalid(
                "workers",
                "at least one service must be reconciled at a time",
            ));
        }
        let le = &self.leader_election;
        if le.enabled {
            if let Err(e) = Label::parse(&le.lease_name, LabelRules::Rfc1123, "lease name") {
                out.push(ConfigError::invalid(
                    "leaderElection.leaseName",
                    e.to_string(),
                ));
            }
            if le.identity.as_deref().is_some_and(|i| i.trim().is_empty()) {
                out.push(ConfigError::invalid(
                    "leaderElection.identity",
                    "must not be empty when given",
                ));
            }
            let zero = [
                ("leaderElection.leaseDuration", le.lease_duration),
                ("leaderElection.renewDeadline", le.renew_deadline),
                ("leaderElection.retryPeriod", le.retry_period),
            ];
            let mut any_zero = false;
            for (field, d) in zero {
                any_zero |= d.is_zero();
                positive(&mut out, field, d);
            }
            if !any_zero && let Err(message) = le.timing().validate() {
                out.push(ConfigError::Invalid {
                    field: "leaderElection",
                    message,
                });
            } else {
                if !any_zero
                    && let Some(attempt) = attempt
                    && let Err(message) = le.timing().check_attempt(attempt)
                {
                    out.push(ConfigError::Invalid {
                        field: "leaderElection",
                        message,
                    });
                }
                let longest = le.timing().longest_attempt();
                if !any_zero && self.members.request_timeout > longest {
                    out.push(ConfigError::invalid(
                        "members.requestTimeout",
                        format!(
                            "{} cannot fit in a lease: with leader election a member write must be able to end before the lease can be taken, so it may last at most leaseDuration - retryPeriod - (leaseDuration - renewDeadline) / 2 = {}; shorten requestTimeout or lengthen leaderElection.leaseDuration",
                            humantime::format_duration(self.members.request_timeout),
                            humantime::format_duration(longest),
                        ),
                    ));
                }
            }
        }
        positive(
            &mut out,
            "readiness.apiUnreachableFor",
            self.readiness.api_unreachable_for,
        );
        out
    }

    /// Checks the whole configuration ([`ControllerConfig::problems`]): the one error, or
    /// [`ConfigError::Several`] naming every one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ConfigError::from_list(self.problems())
    }

    /// Settings that work but likely not as meant.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.health.period.is_zero() && self.health.timeout > self.health.period {
            out.push(format!(
                "health.timeout ({}) is longer than health.period ({}): a round of probes waits for its slowest member, so an unreachable member is probed only every {}",
                humantime::format_duration(self.health.timeout),
                humantime::format_duration(self.health.period),
                humantime::format_duration(self.health.timeout),
            ));
        }
        out
    }

    /// A one-line description of a valid configuration, without any secret.
    pub fn summary(&self) -> String {
        let provider = self
            .provider_source()
            .map(|d| format!("{} (zone {})", d.provider.kind(), d.zone))
            .unwrap_or_else(|_| "none".into());
        let election = if self.leader_election.enabled {
            format!(
                "leader election on Lease {}/{}",
                self.namespace, self.leader_election.lease_name
            )
        } else {
            "no leader election".into()
        };
        format!(
            "federation {}, dnsSuffix {}, provider {provider}, namespace {}, {election}, listen {}",
            self.federation,
            self.suffix()
                .map_or_else(|_| self.dns_suffix.clone(), |s| s.to_string()),
            self.namespace,
            self.listen
        )
    }

    /// The client settings of member clusters: `members:`, with `health.timeout` as the probe
    /// timeout.
    pub fn member_options(&self) -> KubeMemberOptions {
        KubeMemberOptions::default()
            .rate_limit(self.members.qps, self.members.burst)
            .request_timeout(self.members.request_timeout)
            .probe_timeout(self.health.timeout)
            .federation(&self.federation)
            .allow_unsafe_kubeconfig(self.members.allow_unsafe_kubeconfig)
    }

    /// The timing of the DNS task; never a zero resync period, even from a configuration not
    /// validated (the task's interval would panic).
    pub fn dns_loop_config(&self) -> DnsLoopConfig {
        let resync = self.sync.resync.max(MIN_TASK_PERIOD);
        DnsLoopConfig {
            coalesce: self.sync.coalesce.min(resync),
            resync,
            ..DnsLoopConfig::default()
        }
    }

    /// The health policy (never a zero period).
    pub fn health_policy(&self) -> HealthPolicy {
        // Never zero, even from a configuration not validated: the probe task's interval
        // would panic.
        HealthPolicy {
            failure_threshold: self.health.failure_threshold.max(1),
            success_threshold: self.health.success_threshold.max(1),
            period: self.health.period.max(MIN_TASK_PERIOD),
            timeout: self.health.timeout.max(MIN_TASK_PERIOD),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example_and_checks_it() {
        let doc = r#"
federation: myfederation
dnsSuffix: example.com
dns:
  zone: example.com
  provider: {kind: memory}
health: {period: 5s, timeout: 1s}
sync: {coalesce: 100ms, resync: 10m}
leaderElection: {enabled: false}
"#;
        let c: ControllerConfig = serde_saphyr::from_str(doc).unwrap();
        c.validate().unwrap();
        assert_eq!(c.health.period, Duration::from_secs(5));
        assert_eq!(c.health.failure_threshold, 3);
        assert_eq!(c.sync.coalesce, Duration::from_millis(100));
        assert_eq!(c.sync.resync, Duration::from_secs(600));
        assert!(!c.leader_election.enabled);
        assert_eq!(c.namespace, "fedsvc-system");
        assert_eq!(
            c.members.qps, 20.0,
            "the member rate limit defaults to the client's"
        );
        assert_eq!(c.workers, 16);
        let m: ControllerConfig =
            serde_saphyr::from_str(&format!("{doc}members: {{qps: 0, requestTimeout: 10s}}\n"))
                .unwrap();
        m.validate().unwrap();
        let o = m.member_options();
        assert_eq!((o.qps, o.request_timeout), (0.0, Duration::from_secs(10)));
        assert_eq!(o.probe_timeout, Duration::from_secs(1), "health.timeout");
    }

    #[test]
    fn the_deployed_configuration_parses_and_checks() {
        let map = include_str!("../../../deploy/controller/config.yaml");
        let (_, block) = map
            .split_once("config.yaml: |\n")
            .expect("the config.yaml key");
        let doc: String = block
            .lines()
            .map(|l| l.strip_prefix("    ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let c: ControllerConfig = serde_saphyr::from_str(&doc).unwrap();
        // Its one problem here: the secret is mounted only in the pod.
        let problems: Vec<String> = c.problems().iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "configuration: dns.provider.tsig.secretFile: cannot read /etc/fedsvc/dns/"
            ),
            "{problems:?}"
        );
        assert_eq!((c.members.qps, c.workers), (20.0, 16));
    }

    #[test]
    fn a_member_request_must_fit_in_a_lease() {
        let dns =
            fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")
                .unwrap();
        let mut c = ControllerConfig::new("fed", "example.com", dns);
        // The defaults fit: 15 s - 2 s - 2.5 s = 10.5 s for a 10 s request.
        c.validate().unwrap();
        c.members.request_timeout = Duration::from_secs(11);
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("members.requestTimeout") && e.contains("10s 500ms"),
            "{e}"
        );
        c.leader_election.lease_duration = Duration::from_secs(20);
        c.validate().unwrap();
        c.leader_election.enabled = false;
        c.members.request_timeout = Duration::from_secs(60);
        c.validate().unwrap();
    }

    #[test]
    fn a_dns_write_attempt_must_fit_in_a_lease() {
        let dns = fedsvc_providers::Config::from_yaml(
            "zone: example.com\nprovider: {kind: rfc2136, server: 127.0.0.1:53, timeoutSeconds: 5}\n",
        )
        .unwrap();
        let mut c = ControllerConfig::new("fed", "example.com", dns);
        c.validate().unwrap();
        c.leader_election.lease_duration = Duration::from_secs(6);
        c.leader_election.renew_deadline = Duration::from_secs(4);
        c.leader_election.retry_period = Duration::from_secs(1);
        let e = c.validate().unwrap_err().to_string();
        for field in [
            "leaderElection",
            "leaseDuration",
            "retryPeriod",
            "timeoutSeconds",
        ] {
            assert!(e.contains(field), "{e}");
        }
        c.leader_election.enabled = false;
        c.validate().unwrap();
    }

    #[test]
    fn errors_name_the_field() {
        let mut c = ControllerConfig::new(
            "fed",
            "example.org",
            fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")
                .unwrap(),
        );
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("dnsSuffix") && e.contains("example.com"), "{e}");
        c.dns_suffix = "example.com".into();
        c.validate().unwrap();
        c.leader_election.renew_deadline = Duration::from_secs(30);
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("leaderElection")
        );
        c.leader_election = LeaderElectionConfig::default();
        c.members.qps = -1.0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("members.qps"), "{e}");
        c.members.qps = 5.0;
        c.members.burst = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("members.burst"), "{e}");
        c.members.burst = 10;
        c.validate().unwrap();
        c.workers = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("workers"), "{e}");
        c.workers = 4;
        let bad: Result<ControllerConfig, _> =
            serde_saphyr::from_str("federation: f\ndnsSuffix: a.b\nhealth: {period: soon}\n");
        assert!(bad.unwrap_err().to_string().contains("soon"));
    }

    fn memory() -> ControllerConfig {
        ControllerConfig::new(
            "fed",
            "example.com",
            fedsvc_providers::Config::from_yaml("zone: example.com\nprovider: {kind: memory}\n")
                .unwrap(),
        )
    }

    #[test]
    fn every_problem_is_collected_each_naming_its_field() {
        let mut c = memory();
        c.sync.resync = Duration::ZERO;
        c.health.period = Duration::ZERO;
        c.namespace = "Not A Label".into();
        c.leader_election.lease_name = "a.b".into();
        c.workers = 0;
        let fields: Vec<String> = c
            .problems()
            .iter()
            .map(|e| match e {
                ConfigError::Invalid { field, .. } => (*field).to_owned(),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(
            fields,
            [
                "namespace",
                "health.period",
                "sync.resync",
                "workers",
                "leaderElection.leaseName"
            ]
        );
        let e = c.validate().unwrap_err();
        assert_eq!(e.errors().len(), 5);
        let text = e.to_string();
        assert!(
            text.starts_with("5 errors in the configuration:\n  namespace: "),
            "{text}"
        );
        assert!(
            text.contains("\n  sync.resync: must be longer than zero"),
            "{text}"
        );
    }

    #[test]
    fn durations_relate_sensibly() {
        let mut c = memory();
        c.sync.coalesce = Duration::from_secs(300);
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("sync.coalesce: 5m must be shorter than sync.resync (5m)"),
            "{e}"
        );
        c.sync.coalesce = Duration::ZERO;
        c.validate().unwrap();
        c.leader_election.retry_period = Duration::ZERO;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("leaderElection.retryPeriod"), "{e}");
        c.leader_election.enabled = false;
        c.validate().unwrap();
        // A probe timeout past the period works (a round waits for its slowest member), and
        // is said.
        c.health.timeout = Duration::from_secs(20);
        c.validate().unwrap();
        assert!(
            c.warnings()[0].starts_with("health.timeout (20s) is longer than health.period (10s)")
        );
    }

    #[test]
    fn the_tasks_never_get_a_zero_period() {
        let mut c = memory();
        c.sync.resync = Duration::ZERO;
        c.sync.coalesce = Duration::from_secs(1);
        c.health.period = Duration::ZERO;
        c.health.timeout = Duration::ZERO;
        assert!(c.validate().is_err());
        let d = c.dns_loop_config();
        assert!(!d.resync.is_zero() && d.coalesce <= d.resync, "{d:?}");
        let h = c.health_policy();
        assert!(!h.period.is_zero() && !h.timeout.is_zero(), "{h:?}");
        // The intervals the tasks build from them do not panic.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let _ = tokio::time::interval(h.period);
            let _ = tokio::time::interval(d.resync);
        });
    }

    #[test]
    fn a_suffix_must_be_a_host_name() {
        let mut c = memory();
        for bad in ["*.example.com", "_x.example.com", "a..example.com", ""] {
            c.dns_suffix = bad.into();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.starts_with("configuration: dnsSuffix: "), "{bad}: {e}");
        }
        c.dns_suffix = "Fed.Example.COM".into();
        c.validate().unwrap();
    }

    #[test]
    fn servers_are_checked_without_resolving() {
        for good in [
            "10.0.0.53",
            "10.0.0.53:53",
            "[::1]:5353",
            "::1",
            "ns1.example.com",
            "ns1.fedsvc.invalid:53",
        ] {
            check_server(good).unwrap();
        }
        for bad in [
            "ns1..example.com",
            "ns1.example.com:0",
            "ns1.example.com:x",
            "a b:53",
        ] {
            assert!(check_server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_errors_quote_no_string_value() {
        assert_eq!(
            without_string_values(
                r#"invalid type: string "c2VjcmV0\"x", expected struct TsigConfig at line 5"#
            ),
            "invalid type: string, expected struct TsigConfig at line 5"
        );
        let text = "dns: {provider: {kind: powerdns, apiKey: 's3cr3t-key'}}\ntsig:\n  secret: \"b64b64==\"\n";
        assert_eq!(secret_values(text), ["b64b64==", "s3cr3t-key"]);
        let doc = "federation: f\ndnsSuffix: example.com\ndns:\n  zone: example.com\n  provider: {kind: rfc2136, server: x, tsig: S3CR3TVALUE}\n";
        let e = parse_yaml::<ControllerConfig>(Path::new("c.yaml"), doc)
            .unwrap_err()
            .to_string();
        // The provider's own parser names the place (a mapping was expected for `tsig`).
        assert!(e.starts_with("c.yaml: ") && e.contains("line 5"), "{e}");
        assert!(!e.contains("S3CR3T"), "{e}");
    }

    /// Run by a build without that provider: `cargo test -p fedsvc-controller
    /// --no-default-features --features memory --lib`.
    #[cfg(not(feature = "clouddns"))]
    #[test]
    fn a_provider_kind_not_compiled_in_is_refused() {
        let dns = fedsvc_providers::Config::from_yaml(
            "zone: example.com\nprovider: {kind: clouddns, project: p, managedZone: z}\n",
        )
        .unwrap();
        let c = ControllerConfig::new("fed", "example.com", dns);
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.starts_with(
                "configuration: dns.provider.kind: clouddns is not compiled into this build (compiled in: memory"
            ),
            "{e}"
        );
    }
}
