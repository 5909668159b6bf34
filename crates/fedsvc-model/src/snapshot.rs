//! The snapshot: everything the planner needs, as a file (`fedsvc plan -f`) or built in
//! memory by the controller.
//!
//! A snapshot is read in two steps: [`SnapshotDoc`] is the file's shape (plain strings, camelCase,
//! unknown fields refused), and [`Snapshot::from_doc`] validates it. Top-level fields that are
//! wrong make the whole snapshot unusable ([`SnapshotError`]); a wrong cluster, service, shard or
//! address is dropped with a [`Diagnostic`] that names it, and the rest is kept.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::diagnostic::Diagnostic;
use crate::dns_name::DnsName;
use crate::error::{FieldError, SnapshotError};
use crate::label::{Label, LabelRules};
use crate::names::{ClusterName, ServiceKey};
use crate::service::{Service, Shard};

/// The TTL used when neither the snapshot nor the service sets one, in seconds.
pub const DEFAULT_TTL: u32 = 180;

/// The largest TTL DNS allows (RFC 2181 §8).
pub const MAX_TTL: u32 = i32::MAX as u32;

/// How zone-level names are built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ZoneNaming {
    /// `S.N.F.svc.ZONE.SUFFIX.`, as in the user guide. Zone labels must be unique across
    /// regions and differ from every region label.
    #[default]
    #[serde(rename = "zone")]
    Zone,
    /// `S.N.F.svc.ZONE.REGION.SUFFIX.`, as the original controller did.
    #[serde(rename = "zone-region")]
    ZoneRegion,
}

/// The file form of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterDoc {
    /// The cluster's name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its zones (at least one).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Whether it is Ready; `true` when absent.
    #[serde(default = "yes")]
    pub ready: bool,
}

fn yes() -> bool {
    true
}

/// The file form of a shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShardDoc {
    /// The member cluster's name.
    pub cluster: String,
    /// IPv4 and IPv6 addresses.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Load-balancer hostnames.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Ready endpoints in that cluster.
    #[serde(default)]
    pub ready_endpoints: u32,
}

/// The file form of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceDoc {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// TTL override in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Shards.
    #[serde(default)]
    pub shards: Vec<ShardDoc>,
}

/// The snapshot file as written: YAML or JSON, camelCase.
///
/// ```yaml
/// federation: myfederation
/// dnsSuffix: example.com
/// zoneNaming: zone            # zone | zone-region ; default zone
/// ttl: 180                    # default 180
/// clusters:
///   - name: gce-us-central1-a
///     region: us-central1
///     zones: [us-central1-a]
///     ready: true
/// services:
///   - namespace: mynamespace
///     name: nginx
///     shards:
///       - cluster: gce-us-central1-a
///         addresses: ["104.197.247.191"]
///         readyEndpoints: 3
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnapshotDoc {
    /// The federation's name.
    pub federation: String,
    /// The DNS suffix under which records are made.
    pub dns_suffix: String,
    /// How zone-level names are built.
    #[serde(default)]
    pub zone_naming: ZoneNaming,
    /// Default TTL in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Joined clusters.
    #[serde(default)]
    pub clusters: Vec<ClusterDoc>,
    /// Federated services.
    #[serde(default)]
    pub services: Vec<ServiceDoc>,
}

/// A validated snapshot: clusters sorted by name, services sorted by key, all names checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The federation's name (an RFC 1123 label).
    pub federation: Label,
    /// The DNS suffix.
    pub dns_suffix: DnsName,
    /// How zone-level names are built.
    pub zone_naming: ZoneNaming,
    /// Default TTL in seconds.
    pub ttl: u32,
    /// Joined clusters, sorted by name, unique.
    pub clusters: Vec<Cluster>,
    /// Services, sorted by key, unique.
    pub services: Vec<Service>,
}

/// A snapshot with the diagnostics found while validating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// What was valid.
    pub snapshot: Snapshot,
    /// What was dropped, and why.
    pub diagnostics: Vec<Diagnostic>,
}

/// The YAML parser's options for a text of `len` bytes.
///
/// serde-saphyr's default budget (a million parser events, 250 000 nodes, 64 MiB of scalars)
/// refuses snapshots that JSON parses fine: 2 000 services × 20 clusters already breach it. A
/// snapshot is a plain tree, so events, nodes and scalar bytes are bounded by the text's
/// length: each event or node consumes at least one byte of input, except the closing event
/// of a collection, whose opening event did. The budget is therefore twice the length (and never
/// below the default). Aliases and anchors, which can make a short text expand without bound,
/// keep their default limits; so do nesting depth and the number of documents.
#[cfg(feature = "yaml")]
fn yaml_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    let by_len = len.saturating_mul(2);
    budget.max_events = budget.max_events.max(by_len);
    budget.max_nodes = budget.max_nodes.max(by_len);
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(len);
    budget.max_reader_input_bytes = budget.max_reader_input_bytes.map(|m| m.max(len));
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // One line per error, with its line and column: no source snippet under it, which would
    // repeat the message.
    options.with_snippet = false;
    options
}

fn check_ttl(ttl: u32, path: &str) -> Result<u32, FieldError> {
    if ttl > MAX_TTL {
        Err(FieldError::new(
            path,
            format!("{ttl} is larger than the largest TTL, {MAX_TTL}"),
        ))
    } else {
        Ok(ttl)
    }
}

impl Snapshot {
    /// An empty snapshot for federation `federation` under `dns_suffix`.
    pub fn new(federation: Label, dns_suffix: DnsName) -> Self {
        Self {
            federation,
            dns_suffix,
            zone_naming: ZoneNaming::Zone,
            ttl: DEFAULT_TTL,
            clusters: Vec::new(),
            services: Vec::new(),
        }
    }

    /// Parses a YAML snapshot and validates it.
    ///
    /// The YAML parser's budget grows with the text, so a YAML snapshot
    /// is accepted up to the same size as a JSON one; the caller bounds the text's size.
    #[cfg(feature = "yaml")]
    pub fn from_yaml(text: &str) -> Result<Validated, SnapshotError> {
        if text.trim().is_empty() {
            return Err(SnapshotError::Parse(
                "the document is empty (a snapshot needs at least federation and dnsSuffix)".into(),
            ));
        }
        let raw: RawSnapshot<'_> =
            serde_saphyr::from_str_with_options(text, yaml_options(text.len()))
                .map_err(|e| SnapshotError::Parse(e.to_string()))?;
        Self::validate(&raw)
    }

    /// Parses a JSON snapshot and validates it.
    #[cfg(feature = "json")]
    pub fn from_json(text: &str) -> Result<Validated, SnapshotError> {
        let raw: RawSnapshot<'_> =
            serde_json::from_str(text).map_err(|e| SnapshotError::Parse(e.to_string()))?;
        Self::validate(&raw)
    }

    /// Parses JSON when the text starts with `{`, YAML otherwise (JSON is YAML too, but the
    /// JSON parser gives better errors for it).
    #[cfg(all(feature = "json", feature = "yaml"))]
    pub fn from_text(text: &str) -> Result<Validated, SnapshotError> {
        if text.trim_start().starts_with('{') {
            Self::from_json(text)
        } else {
            Self::from_yaml(text)
        }
    }

    /// Validates a parsed document.
    pub fn from_doc(doc: SnapshotDoc) -> Result<Validated, SnapshotError> {
        Self::validate(&RawSnapshot::view(&doc))
    }

    /// Validates the file's shape, as parsed or as viewed from a [`SnapshotDoc`].
    fn validate(doc: &RawSnapshot<'_>) -> Result<Validated, SnapshotError> {
        let federation = Label::parse(&doc.federation, LabelRules::Rfc1123, "federation name")
            .map_err(|e| field("federation", &e))?;
        let dns_suffix =
            DnsName::parse_host_name(&doc.dns_suffix).map_err(|e| field("dnsSuffix", &e))?;
        let ttl = check_ttl(doc.ttl.unwrap_or(DEFAULT_TTL), "ttl")?;
        let mut diagnostics = Vec::new();

        let mut clusters: BTreeMap<ClusterName, Cluster> = BTreeMap::new();
        for (i, c) in doc.clusters.iter().enumerate() {
            let subject = format!("clusters[{i}] ({})", c.name);
            match validate_cluster(c) {
                Ok(cluster) => {
                    if clusters.contains_key(&cluster.name) {
                        diagnostics.push(Diagnostic::error(
                            subject,
                            "name: an earlier entry has the same name; this one is ignored",
                        ));
                    } else {
                        clusters.insert(cluster.name.clone(), cluster);
                    }
                }
                Err(e) => diagnostics.push(Diagnostic::error(
                    subject,
                    format!("{e}; the cluster is ignored"),
                )),
            }
        }

        // Shards name joined clusters: each shard shares its cluster's name (one lookup of the
        // text as written, no new allocation), and a second shard in a cluster is found by
        // the cluster's index.
        let joined = Joined {
            clusters: clusters.values().collect(),
            by_name: clusters
                .values()
                .enumerate()
                .map(|(i, c)| (c.name.as_str(), i))
                .collect(),
            seen: vec![usize::MAX; clusters.len()].into(),
        };
        let mut services: BTreeMap<ServiceKey, Service> = BTreeMap::new();
        for (i, s) in doc.services.iter().enumerate() {
            let subject = format!("services[{i}] ({}/{})", s.namespace, s.name);
            match validate_service(i, s, &joined, &subject, &mut diagnostics) {
                Ok(service) => {
                    if services.contains_key(&service.key) {
                        diagnostics.push(Diagnostic::error(
                            subject,
                            "an earlier entry has the same namespace and name; this one is ignored",
                        ));
                    } else {
                        services.insert(service.key.clone(), service);
                    }
                }
                Err(e) => diagnostics.push(Diagnostic::error(
                    subject,
                    format!("{e}; the service is ignored"),
                )),
            }
        }

        drop(joined);
        Ok(Validated {
            snapshot: Snapshot {
                federation,
                dns_suffix,
                zone_naming: doc.zone_naming,
                ttl,
                clusters: clusters.into_values().collect(),
                services: services.into_values().collect(),
            },
            diagnostics,
        })
    }

    /// The cluster named `name`, if joined.
    pub fn cluster(&self, name: &ClusterName) -> Option<&Cluster> {
        self.clusters
            .binary_search_by(|c| c.name.cmp(name))
            .ok()
            .map(|i| &self.clusters[i])
    }

    /// The service with key `key`, if any.
    pub fn service(&self, key: &ServiceKey) -> Option<&Service> {
        self.services
            .binary_search_by(|s| s.key.cmp(key))
            .ok()
            .map(|i| &self.services[i])
    }

    /// The document form of this snapshot (for writing it back out).
    pub fn to_doc(&self) -> SnapshotDoc {
        SnapshotDoc {
            federation: self.federation.to_string(),
            dns_suffix: self.dns_suffix.to_string(),
            zone_naming: self.zone_naming,
            ttl: Some(self.ttl),
            clusters: self
                .clusters
                .iter()
                .map(|c| ClusterDoc {
                    name: c.name.to_string(),
                    region: c.region.to_string(),
                    zones: c.zones.iter().map(ToString::to_string).collect(),
                    ready: c.ready,
                })
                .collect(),
            services: self
                .services
                .iter()
                .map(|s| ServiceDoc {
                    namespace: s.key.namespace.to_string(),
                    name: s.key.name.to_string(),
                    ttl: s.ttl,
                    shards: s
                        .shards
                        .iter()
                        .map(|sh| ShardDoc {
                            cluster: sh.cluster.to_string(),
                            addresses: sh.addresses.iter().map(ToString::to_string).collect(),
                            hostnames: sh.hostnames.iter().map(ToString::to_string).collect(),
                            ready_endpoints: sh.ready_endpoints,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The error of `field`, whose value `e` refused.
fn field(field: impl Into<String>, e: &crate::error::NameError) -> FieldError {
    FieldError::new(field, e.field_message())
}

fn validate_cluster(c: &RawCluster<'_>) -> Result<Cluster, FieldError> {
    let name = ClusterName::parse(&c.name).map_err(|e| field("name", &e))?;
    let region = Label::parse(&c.region, LabelRules::Rfc1123, "region label")
        .map_err(|e| field("region", &e))?;
    let mut zones = Vec::with_capacity(c.zones.len());
    for (j, z) in c.zones.iter().enumerate() {
        zones.push(
            Label::parse(&z.0, LabelRules::Rfc1123, "zone label")
                .map_err(|e| field(format!("zones[{j}]"), &e))?,
        );
    }
    Cluster::new(name, region, zones, c.ready)
        .ok_or_else(|| FieldError::new("zones", "a cluster needs at least one zone"))
}

/// The joined clusters, for the shards of the services.
struct Joined<'c> {
    /// Sorted by name.
    clusters: Vec<&'c Cluster>,
    /// Index in `clusters` by name.
    by_name: HashMap<&'c str, usize>,
    /// For each cluster, the index of the last service that had a shard in it.
    seen: std::cell::RefCell<Vec<usize>>,
}

impl Joined<'_> {
    /// The index of the joined cluster that `text` names, or why there is none.
    fn find(&self, text: &str) -> Result<usize, String> {
        if let Some(i) = self.by_name.get(text) {
            return Ok(*i);
        }
        let name = ClusterName::parse(text).map_err(|e| e.field_message())?;
        self.by_name
            .get(name.as_str())
            .copied()
            .ok_or_else(|| format!("{name} is not a joined cluster"))
    }
}

fn validate_service(
    index: usize,
    s: &RawService<'_>,
    joined: &Joined<'_>,
    subject: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Service, FieldError> {
    let key = ServiceKey::parse(&s.namespace, &s.name).map_err(|e| {
        let which = if ServiceKey::parse(&s.namespace, "x").is_err() {
            "namespace"
        } else {
            "name"
        };
        field(which, &e)
    })?;
    let ttl = s.ttl.map(|t| check_ttl(t, "ttl")).transpose()?;
    let mut seen = joined.seen.borrow_mut();
    let mut shards: Vec<Shard> = Vec::with_capacity(s.shards.len());
    for (j, sh) in s.shards.iter().enumerate() {
        let c = match joined.find(&sh.cluster) {
            Ok(c) => c,
            Err(why) => {
                diagnostics.push(Diagnostic::error(
                    subject,
                    format!("shards[{j}].cluster: {why}; the shard is ignored"),
                ));
                continue;
            }
        };
        let cluster = &joined.clusters[c].name;
        if seen[c] == index {
            diagnostics.push(Diagnostic::error(
                subject,
                format!("shards[{j}].cluster: a second shard in {cluster}; it is ignored"),
            ));
            continue;
        }
        seen[c] = index;
        let mut addresses: Vec<IpAddr> = Vec::with_capacity(sh.addresses.len());
        for (k, a) in sh.addresses.iter().enumerate() {
            match a.0.trim().parse::<IpAddr>() {
                Ok(ip) => addresses.push(ip),
                Err(_) => diagnostics.push(Diagnostic::error(
                    subject,
                    format!(
                        "shards[{j}].addresses[{k}]: {:?} is not an IP address; it is ignored",
                        a.0
                    ),
                )),
            }
        }
        let mut hostnames = Vec::with_capacity(sh.hostnames.len());
        for (k, h) in sh.hostnames.iter().enumerate() {
            match DnsName::parse(&h.0) {
                Ok(n) => hostnames.push(n),
                Err(e) => diagnostics.push(Diagnostic::error(
                    subject,
                    format!(
                        "shards[{j}].hostnames[{k}]: {}; it is ignored",
                        e.field_message()
                    ),
                )),
            }
        }
        shards.push(Shard::new(
            cluster.clone(),
            addresses,
            hostnames,
            sh.ready_endpoints,
        ));
    }
    Service::new(key, ttl, shards)
        .map_err(|c| FieldError::new("shards", format!("two shards for cluster {c}")))
}

/// A string of the file, borrowed from the text when it holds no escape.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'a> Text<'a> {
    fn view(s: &'a str) -> Self {
        Text(Cow::Borrowed(s))
    }
}

/// The file's shape as [`SnapshotDoc`], with its strings borrowed from the text where they can
/// be: parsing a snapshot of 200 000 shards makes no string per shard.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSnapshot<'a> {
    #[serde(borrow)]
    federation: Cow<'a, str>,
    #[serde(borrow)]
    dns_suffix: Cow<'a, str>,
    #[serde(default)]
    zone_naming: ZoneNaming,
    #[serde(default)]
    ttl: Option<u32>,
    #[serde(default, borrow)]
    clusters: Vec<RawCluster<'a>>,
    #[serde(default, borrow)]
    services: Vec<RawService<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawCluster<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    region: Cow<'a, str>,
    #[serde(default, borrow)]
    zones: Vec<Text<'a>>,
    #[serde(default = "yes")]
    ready: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawShard<'a> {
    #[serde(borrow)]
    cluster: Cow<'a, str>,
    #[serde(default, borrow)]
    addresses: Vec<Text<'a>>,
    #[serde(default, borrow)]
    hostnames: Vec<Text<'a>>,
    #[serde(default)]
    ready_endpoints: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawService<'a> {
    #[serde(borrow)]
    namespace: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    ttl: Option<u32>,
    #[serde(default, borrow)]
    shards: Vec<RawShard<'a>>,
}

impl<'a> RawSnapshot<'a> {
    /// A view of `doc`, borrowing its strings.
    fn view(doc: &'a SnapshotDoc) -> Self {
        let texts = |v: &'a [String]| v.iter().map(|s| Text::view(s)).collect();
        RawSnapshot {
            federation: Cow::Borrowed(&doc.federation),
            dns_suffix: Cow::Borrowed(&doc.dns_suffix),
            zone_naming: doc.zone_naming,
            ttl: doc.ttl,
            clusters: doc
                .clusters
                .iter()
                .map(|c| RawCluster {
                    name: Cow::Borrowed(&c.name),
                    region: Cow::Borrowed(&c.region),
                    zones: texts(&c.zones),
                    ready: c.ready,
                })
                .collect(),
            services: doc
                .services
                .iter()
                .map(|s| RawService {
                    namespace: Cow::Borrowed(&s.namespace),
                    name: Cow::Borrowed(&s.name),
                    ttl: s.ttl,
                    shards: s
                        .shards
                        .iter()
                        .map(|sh| RawShard {
                            cluster: Cow::Borrowed(&sh.cluster),
                            addresses: texts(&sh.addresses),
                            hostnames: texts(&sh.hostnames),
                            ready_endpoints: sh.ready_endpoints,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
federation: MyFederation
dnsSuffix: example.com
clusters:
  - name: c1
    region: r1
    zones: [z1b, z1a, z1a]
  - name: c2
    region: r2
    zones: [z2]
    ready: false
services:
  - namespace: shop
    name: web
    ttl: 60
    shards:
      - cluster: c2
        addresses: ["10.0.0.2", "2001:db8::1", "10.0.0.2"]
        readyEndpoints: 1
      - cluster: c1
        addresses: ["10.0.0.1"]
        hostnames: [LB.example.net]
        readyEndpoints: 3
"#;

    #[cfg(feature = "yaml")]
    #[test]
    fn parses_and_normalises() {
        let v = Snapshot::from_yaml(GOOD).unwrap();
        assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
        let s = v.snapshot;
        assert_eq!(s.federation.as_str(), "myfederation");
        assert_eq!(s.dns_suffix.as_str(), "example.com.");
        assert_eq!(s.ttl, DEFAULT_TTL);
        assert_eq!(s.zone_naming, ZoneNaming::Zone);
        assert_eq!(s.clusters[0].zones.len(), 2);
        assert!(!s.clusters[1].ready);
        let svc = &s.services[0];
        assert_eq!(svc.ttl, Some(60));
        assert_eq!(svc.shards[0].cluster.as_str(), "c1");
        assert_eq!(svc.shards[0].hostnames[0].as_str(), "lb.example.net.");
        assert_eq!(svc.shards[1].addresses.len(), 2);
    }

    #[cfg(all(feature = "yaml", feature = "json"))]
    #[test]
    fn json_and_yaml_agree_and_round_trip() {
        let y = Snapshot::from_yaml(GOOD).unwrap().snapshot;
        let json = serde_json::to_string(&y.to_doc()).unwrap();
        let j = Snapshot::from_text(&json).unwrap().snapshot;
        assert_eq!(y, j);
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn bad_address_is_named_by_path() {
        let text = r#"
federation: f
dnsSuffix: example.com
clusters: [{name: c1, region: r, zones: [z]}]
services:
  - {namespace: a, name: one}
  - {namespace: a, name: two}
  - namespace: shop
    name: web
    shards:
      - cluster: c1
        addresses: ["10.0.0.1", "10.0.0"]
        readyEndpoints: 1
"#;
        let v = Snapshot::from_yaml(text).unwrap();
        assert_eq!(v.diagnostics.len(), 1);
        assert_eq!(
            v.diagnostics[0].to_string(),
            r#"error: services[2] (shop/web): shards[0].addresses[1]: "10.0.0" is not an IP address; it is ignored"#
        );
        assert_eq!(v.snapshot.services.len(), 3);
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn bad_objects_are_dropped_with_a_diagnostic() {
        let text = r#"
federation: f
dnsSuffix: example.com
clusters:
  - {name: c1, region: r, zones: [z]}
  - {name: c1, region: r, zones: [z]}
  - {name: c3, region: "bad region", zones: [z]}
  - {name: c4, region: r, zones: []}
services:
  - {namespace: a, name: 1bad}
  - {namespace: a, name: ok, shards: [{cluster: nope}, {cluster: c1}, {cluster: c1}]}
  - {namespace: a, name: ok}
"#;
        let v = Snapshot::from_yaml(text).unwrap();
        let msgs: Vec<String> = v.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 7, "{msgs:#?}");
        assert!(msgs[0].contains("clusters[1] (c1)") && msgs[0].contains("the same name"));
        assert!(msgs[1].contains("clusters[2]") && msgs[1].contains("region"));
        assert!(msgs[2].contains("clusters[3]") && msgs[2].contains("at least one zone"));
        assert!(msgs[3].contains("services[0] (a/1bad): name"));
        assert!(
            msgs[4].contains("nope is not a joined cluster"),
            "{}",
            msgs[4]
        );
        assert!(msgs[5].contains("second shard"));
        assert!(msgs[6].contains("services[2]") && msgs[6].contains("the same namespace and name"));
        assert_eq!(v.snapshot.clusters.len(), 1);
        assert_eq!(v.snapshot.services.len(), 1);
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn top_level_errors_are_fatal() {
        let e = Snapshot::from_yaml("federation: f\ndnsSuffix: 'a..b'\n").unwrap_err();
        assert!(e.to_string().contains("dnsSuffix"), "{e}");
        let e =
            Snapshot::from_yaml("federation: f\ndnsSuffix: a.b\nttl: 4294967295\n").unwrap_err();
        assert!(e.to_string().contains("ttl"), "{e}");
        let e = Snapshot::from_yaml("federation: f\ndnsSufix: a.b\n").unwrap_err();
        assert!(e.to_string().contains("dnsSufix"), "{e}");
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn an_empty_document_says_so() {
        for text in ["", "  \n\n"] {
            assert_eq!(
                Snapshot::from_yaml(text).unwrap_err().to_string(),
                "cannot parse snapshot: the document is empty (a snapshot needs at least federation and dnsSuffix)"
            );
        }
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn dns_suffix_must_be_a_host_name() {
        for bad in ["'*.example.com'", "_x.example.com", "a..example.com"] {
            let e = Snapshot::from_yaml(&format!("federation: f\ndnsSuffix: {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("invalid snapshot: dnsSuffix: \"") && e.contains(" is invalid: "),
                "{e}"
            );
        }
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn messages_show_names_not_debug_text() {
        let text = r#"
federation: My_Fed
dnsSuffix: example.com
"#;
        let e = Snapshot::from_yaml(text).unwrap_err().to_string();
        assert_eq!(
            e,
            r#"invalid snapshot: federation: "My_Fed" is invalid: '_' is not allowed (only letters, digits and '-')"#
        );
        let text = r#"
federation: f
dnsSuffix: example.com
clusters: [{name: c1, region: r, zones: [z]}]
services:
  - {namespace: a, name: ok, shards: [{cluster: nope}, {cluster: c1}, {cluster: c1}]}
"#;
        let v = Snapshot::from_yaml(text).unwrap();
        let msgs: Vec<String> = v.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "error: services[0] (a/ok): shards[0].cluster: nope is not a joined cluster; the shard is ignored",
                "error: services[0] (a/ok): shards[2].cluster: a second shard in c1; it is ignored",
            ]
        );
    }

    /// Strings are borrowed from the text when they can be; escaped ones are still read, and a
    /// shard may name its cluster in another case.
    #[cfg(feature = "json")]
    #[test]
    fn escaped_strings_and_folded_cluster_names_are_read() {
        let text = r#"{"federation": "f", "dnsSuffix": "example.com",
            "clusters": [{"name": "c\u0031", "region": "r", "zones": ["\u007a"]}],
            "services": [{"namespace": "a", "name": "web", "shards": [
                {"cluster": "C1", "addresses": ["10.0.0.\u0031"], "readyEndpoints": 1}]}]}"#;
        let v = Snapshot::from_json(text).unwrap();
        assert!(v.diagnostics.is_empty(), "{:?}", v.diagnostics);
        let s = &v.snapshot;
        assert_eq!(s.clusters[0].name.as_str(), "c1");
        assert_eq!(s.clusters[0].zones[0].as_str(), "z");
        let shard = &s.services[0].shards[0];
        assert_eq!(shard.cluster, s.clusters[0].name);
        assert_eq!(shard.addresses, ["10.0.0.1".parse::<IpAddr>().unwrap()]);
        // The document form validates the same.
        assert_eq!(Snapshot::from_doc(s.to_doc()).unwrap().snapshot, *s);
    }

    /// serde-saphyr's default budget refused this (a million events); JSON parsed it.
    #[cfg(all(feature = "yaml", feature = "json"))]
    #[test]
    fn a_large_yaml_snapshot_parses_like_its_json() {
        use std::fmt::Write;
        let mut y = String::from("federation: f\ndnsSuffix: example.com\nclusters:\n");
        for c in 0..20 {
            writeln!(y, "  - {{name: c{c}, region: r{}, zones: [z{c}]}}", c / 4).unwrap();
        }
        y.push_str("services:\n");
        for s in 0..2000 {
            writeln!(
                y,
                "  - namespace: ns{}\n    name: svc{s}\n    shards:",
                s / 100
            )
            .unwrap();
            for c in 0..20 {
                writeln!(
                    y,
                    "      - cluster: c{c}\n        addresses: [\"10.{}.{}.{c}\"]\n        readyEndpoints: 1",
                    s / 256,
                    s % 256
                )
                .unwrap();
            }
        }
        let v = Snapshot::from_yaml(&y).unwrap();
        assert!(v.diagnostics.is_empty());
        assert_eq!(v.snapshot.services.len(), 2000);
        let json = serde_json::to_string(&v.snapshot.to_doc()).unwrap();
        assert_eq!(Snapshot::from_json(&json).unwrap().snapshot, v.snapshot);
    }
}
