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
//! members: {qps: 20, burst: 40, requestTimeout: 30s}   # client of each member cluster
//! workers: 16                   # services reconciled at once
//! leaderElection: {enabled: true, leaseName: fedsvc-controller, leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 2s}
//! listen: 0.0.0.0:8080          # /healthz, /readyz, /metrics
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fedsvc_cluster::KubeMemberOptions;
use fedsvc_model::{DnsName, Label, LabelRules, ZoneNaming};
use serde::{Deserialize, Deserializer};

use crate::dns_loop::DnsLoopConfig;
use crate::health::HealthPolicy;
use crate::lease::LeaseTiming;

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
    /// The file is not a valid configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
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
            federation: federation.into(),
            dns_suffix: dns_suffix.into(),
            zone_naming: ZoneNaming::default(),
            ttl: default_ttl(),
            dns: Some(dns),
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
        }
    }

    /// Reads a YAML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// The validated federation name.
    pub fn federation_label(&self) -> Result<Label, ConfigError> {
        Label::parse(&self.federation, LabelRules::Rfc1123, "federation name").map_err(|e| {
            ConfigError::Invalid {
                field: "federation",
                message: e.to_string(),
            }
        })
    }

    /// The validated DNS suffix.
    pub fn suffix(&self) -> Result<DnsName, ConfigError> {
        DnsName::parse(&self.dns_suffix).map_err(|e| ConfigError::Invalid {
            field: "dnsSuffix",
            message: e.to_string(),
        })
    }

    /// The provider configuration (inline or from its file), checked against the suffix.
    pub fn provider_config(&self) -> Result<fedsvc_providers::Config, ConfigError> {
        let cfg = match (&self.dns, &self.dns_config_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    field: "dns",
                    message: "give either dns or dnsConfigFile, not both".into(),
                });
            }
            (Some(c), None) => c.clone(),
            (None, Some(path)) => {
                fedsvc_providers::Config::from_file(path).map_err(|e| ConfigError::Invalid {
                    field: "dnsConfigFile",
                    message: e.to_string(),
                })?
            }
            (None, None) => {
                return Err(ConfigError::Invalid {
                    field: "dns",
                    message: "no DNS provider configured (dns or dnsConfigFile)".into(),
                });
            }
        };
        let suffix = self.suffix()?;
        if !suffix.is_subdomain_of(&cfg.zone) {
            return Err(ConfigError::Invalid {
                field: "dnsSuffix",
                message: format!(
                    "{suffix} does not lie inside the provider's zone {}",
                    cfg.zone
                ),
            });
        }
        Ok(cfg)
    }

    /// Checks every field that can be checked without IO.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.federation_label()?;
        self.suffix()?;
        self.provider_config()?;
        if self.ttl > fedsvc_model::MAX_TTL {
            return Err(ConfigError::Invalid {
                field: "ttl",
                message: format!("{} is larger than {}", self.ttl, fedsvc_model::MAX_TTL),
            });
        }
        if self.health.failure_threshold == 0 || self.health.success_threshold == 0 {
            return Err(ConfigError::Invalid {
                field: "health",
                message: "thresholds must be at least 1".into(),
            });
        }
        if !(self.members.qps.is_finite() && self.members.qps >= 0.0) {
            return Err(ConfigError::Invalid {
                field: "members.qps",
                message: format!(
                    "{} is not a rate (0 or more requests per second)",
                    self.members.qps
                ),
            });
        }
        if self.members.qps > 0.0 && self.members.burst == 0 {
            return Err(ConfigError::Invalid {
                field: "members.burst",
                message: "must be at least 1 when members.qps limits the rate".into(),
            });
        }
        if self.workers == 0 {
            return Err(ConfigError::Invalid {
                field: "workers",
                message: "at least one service must be reconciled at a time".into(),
            });
        }
        if self.members.request_timeout.is_zero() {
            return Err(ConfigError::Invalid {
                field: "members.requestTimeout",
                message: "must be longer than zero".into(),
            });
        }
        if self.leader_election.enabled {
            self.leader_election
                .timing()
                .validate()
                .map_err(|message| ConfigError::Invalid {
                    field: "leaderElection",
                    message,
                })?;
        }
        Ok(())
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

    /// The health policy.
    pub fn health_policy(&self) -> HealthPolicy {
        HealthPolicy {
            failure_threshold: self.health.failure_threshold,
            success_threshold: self.health.success_threshold,
            period: self.health.period,
            timeout: self.health.timeout,
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
        c.validate().unwrap();
        assert_eq!((c.members.qps, c.workers), (20.0, 16));
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
}
