//! The provider configuration file shared by `fedsvc` and `fedsvc-controller`: the zone, the
//! ownership registry, and `provider:`, whose `kind` selects the backend whose own settings
//! type (in the backend's folder) reads the rest. [`Config::build`] hands each backend its
//! settings.

use std::fmt;
use std::path::Path;

use fedsvc_model::DnsName;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::clouddns::CloudDnsConfig;
use crate::error::{ConfigError, read_file};
use crate::memory::MemoryConfig;
use crate::powerdns::PowerDnsConfig;
use crate::provider::DnsProvider;
use crate::rfc2136::Rfc2136Config;
use crate::route53::Route53Config;
use crate::secret::{mask_secrets, mask_values, secret_leaves};

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
        let settings = BufferedSettings(serde_json::Value::Object(settings));
        let parsed =
            with_kind(&kind, settings).ok_or_else(|| A::Error::unknown_variant(&kind, &KINDS))?;
        parsed.map_err(|e| A::Error::custom(mask_values(&e.to_string(), secrets)))
    }
}

/// The settings of `kind`, read from `map` as it streams by.
fn kind_section<'de, M: serde::de::MapAccess<'de>>(
    kind: &str,
    map: M,
) -> Result<ProviderConfig, M::Error> {
    with_kind(kind, StreamedSettings(map, std::marker::PhantomData))
        .unwrap_or_else(|| Err(serde::de::Error::unknown_variant(kind, &KINDS)))
}

/// Something done with the settings of one kind, whatever their type.
trait KindReader {
    /// What it gives.
    type Out;

    /// Reads the settings as a `P`, the type of the kind's settings, and wraps them.
    fn read<P: DeserializeOwned>(self, wrap: fn(P) -> ProviderConfig) -> Self::Out;
}

/// `reader` applied to the settings type of `kind`, or `None` for an unknown kind: the one
/// place that maps a kind's name to the type of its settings.
fn with_kind<R: KindReader>(kind: &str, reader: R) -> Option<R::Out> {
    Some(match kind {
        "memory" => reader.read(ProviderConfig::Memory),
        "rfc2136" => reader.read(ProviderConfig::Rfc2136),
        "powerdns" => reader.read(ProviderConfig::Powerdns),
        "route53" => reader.read(ProviderConfig::Route53),
        "clouddns" => reader.read(ProviderConfig::Clouddns),
        _ => return None,
    })
}

/// The settings of a `provider:` mapping that comes with `kind` first, read as they stream by.
struct StreamedSettings<'de, M>(M, std::marker::PhantomData<&'de ()>);

impl<'de, M: serde::de::MapAccess<'de>> KindReader for StreamedSettings<'de, M> {
    type Out = Result<ProviderConfig, M::Error>;

    fn read<P: DeserializeOwned>(self, wrap: fn(P) -> ProviderConfig) -> Self::Out {
        P::deserialize(serde::de::value::MapAccessDeserializer::new(self.0)).map(wrap)
    }
}

/// The settings of a `provider:` mapping whose `kind` came later, read whole first.
struct BufferedSettings(serde_json::Value);

impl KindReader for BufferedSettings {
    type Out = Result<ProviderConfig, serde_json::Error>;

    fn read<P: DeserializeOwned>(self, wrap: fn(P) -> ProviderConfig) -> Self::Out {
        serde_json::from_value(self.0).map(wrap)
    }
}

/// A whole configuration document, read with the settings type of its kind.
struct Document<'a>(&'a str);

impl KindReader for Document<'_> {
    type Out = Result<Config, ConfigError>;

    fn read<P: DeserializeOwned>(self, wrap: fn(P) -> ProviderConfig) -> Self::Out {
        parse_as(self.0, wrap)
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
        let config = match &kind {
            Some(kind) => match with_kind(&kind.value, Document(text)) {
                Some(config) => config?,
                None => {
                    return Err(ConfigError::Parse(mask_secrets(
                        text,
                        &format!(
                            "line {} column {}: provider.kind: unknown kind {:?}; expected one of {}",
                            kind.referenced.line(),
                            kind.referenced.column(),
                            kind.value,
                            KINDS.join(", ")
                        ),
                    )));
                }
            },
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
        Self::from_yaml(&read_file(path.as_ref())?)
    }

    /// Builds the configured provider. A `memory` provider with `listen` starts its embedded
    /// server on the current tokio runtime.
    pub async fn build(&self) -> Result<Box<dyn DnsProvider>, ConfigError> {
        self.check()?;
        #[allow(unused_variables)]
        let zone = || self.zone.clone();
        match &self.provider {
            #[cfg(feature = "memory")]
            ProviderConfig::Memory(c) => Ok(Box::new(
                crate::memory::MemoryProvider::from_config(zone(), c).await?,
            )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::strip_userinfo;

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
}
