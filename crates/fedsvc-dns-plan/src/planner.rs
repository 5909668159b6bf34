//! The planner: a topology indexed once, then services planned one at a time.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::IpAddr;

use fedsvc_model::{
    ClusterName, Diagnostic, DnsName, Label, MAX_NAME_LEN, RData, RecordSet, RecordType, Service,
    ServiceKey, Shard, Snapshot, ZoneNaming,
};

use crate::explanation::Explanation;
use crate::level::Level;
use crate::naming::{Locality, Naming};
use crate::service_names::ServiceNames;
use crate::service_plan::ServicePlan;

/// Why a snapshot's topology cannot be planned at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// With `zoneNaming: zone`, one zone label occurs in two regions, so its zone name would
    /// stand for two different zones.
    #[error(
        "zone label {zone} occurs in region {first_region} (cluster {first_cluster}) and in region \
         {second_region} (cluster {second_cluster}); with `zoneNaming: zone` its zone names would \
         be ambiguous: set `zoneNaming: zone-region`"
    )]
    ZoneInTwoRegions {
        /// The zone label.
        zone: Label,
        /// The region it was first seen in.
        first_region: Label,
        /// A cluster of that region with the zone.
        first_cluster: ClusterName,
        /// The other region.
        second_region: Label,
        /// A cluster of the other region with the zone.
        second_cluster: ClusterName,
    },
    /// With `zoneNaming: zone`, a zone label equals a region label, so zone and region records
    /// would have the same name.
    #[error(
        "label {label} is both a zone (cluster {zone_cluster}) and a region (cluster \
         {region_cluster}); with `zoneNaming: zone` their names would be the same: set \
         `zoneNaming: zone-region`"
    )]
    ZoneIsRegion {
        /// The label used for both.
        label: Label,
        /// A cluster that has it as a zone.
        zone_cluster: ClusterName,
        /// A cluster that has it as its region.
        region_cluster: ClusterName,
    },
    /// The same cluster name appears twice in the topology.
    #[error("cluster {cluster} is listed twice in the topology")]
    DuplicateCluster {
        /// The cluster.
        cluster: ClusterName,
    },
}

/// A member cluster, indexed.
#[derive(Debug, Clone)]
struct ClusterSlot {
    name: ClusterName,
    ready: bool,
    zones: Vec<usize>,
}

/// A region or a zone: its level, the name suffix after the service prefix and the clusters
/// that count for it.
#[derive(Debug, Clone)]
struct LevelSlot {
    level: Level,
    suffix: String,
    /// `suffix` as a name (an error when it is too long for any name).
    tail: Result<DnsName, fedsvc_model::NameError>,
    clusters: Vec<usize>,
    /// For a zone, the index of its region; unused otherwise.
    region: usize,
}

/// Which slot an entry of the emission order refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Global,
    Region(usize),
    Zone(usize),
}

/// The topology of a snapshot, indexed once so that each service is planned in time linear in
/// the number of clusters.
///
/// Building the planner checks the naming (with [`ZoneNaming::Zone`], zone labels must be unique
/// across regions and differ from region labels) and precomputes, for every zone and region,
/// the clusters that count for it and the sorted order of all level names. A controller keeps
/// one planner per topology and calls [`Planner::plan_service`] whenever a service or its
/// shards change.
///
/// ```
/// use fedsvc_model::Snapshot;
/// use fedsvc_dns_plan::Planner;
/// let snapshot = Snapshot::from_yaml(r#"
/// federation: myfederation
/// dnsSuffix: example.com
/// clusters:
///   - {name: c1, region: us-central1, zones: [us-central1-a]}
///   - {name: c2, region: us-central1, zones: [us-central1-f]}
/// services:
///   - namespace: mynamespace
///     name: nginx
///     shards:
///       - {cluster: c1, addresses: ["104.197.247.191"], readyEndpoints: 3}
///       - {cluster: c2, addresses: ["104.197.1.1"], readyEndpoints: 0}
/// "#).unwrap().snapshot;
/// let planner = Planner::new(&snapshot).unwrap();
/// let plan = planner.plan_service(&snapshot.services[0]);
/// let f = plan.records.iter()
///     .find(|r| r.name().as_str() == "nginx.mynamespace.myfederation.svc.us-central1-f.example.com.")
///     .unwrap();
/// assert_eq!(
///     f.cname_target().unwrap().as_str(),
///     "nginx.mynamespace.myfederation.svc.us-central1.example.com.",
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Planner {
    naming: Naming,
    default_ttl: u32,
    clusters: Vec<ClusterSlot>,
    regions: Vec<LevelSlot>,
    zones: Vec<LevelSlot>,
    global_suffix: String,
    all_clusters: Vec<usize>,
    /// Every level, in the order of its names.
    order: Vec<Slot>,
    /// Where the global level is in `order`.
    global_pos: usize,
    /// Where each region is in `order`.
    region_pos: Vec<usize>,
    longest_suffix: usize,
    region_by_label: BTreeMap<Label, usize>,
    zone_by_labels: BTreeMap<(Label, Label), usize>,
    zone_by_label: BTreeMap<Label, usize>,
}

/// A service's shards, placed by cluster index.
struct ShardView<'s> {
    shard: Vec<Option<&'s Shard>>,
    healthy: Vec<bool>,
}

/// What one level's clusters offer.
#[derive(Default)]
struct Gathered<'s> {
    v4: Vec<RData>,
    v6: Vec<RData>,
    hostnames: Vec<&'s DnsName>,
}

impl Gathered<'_> {
    fn clear(&mut self) {
        self.v4.clear();
        self.v6.clear();
        self.hostnames.clear();
    }
}

/// What a level's name becomes.
enum Outcome<'s> {
    /// A and/or AAAA sets.
    Addresses,
    /// A CNAME to the one healthy load-balancer hostname.
    Hostname(&'s DnsName),
    /// A CNAME to the enclosing level (or nothing for the global level).
    Fallback {
        /// How many distinct hostnames there were (0, or 2 and more).
        hostnames: usize,
    },
}

impl Planner {
    /// Indexes the snapshot's topology (federation, suffix, zone naming, default TTL and
    /// clusters; services are not looked at).
    pub fn new(snapshot: &Snapshot) -> Result<Self, PlanError> {
        let naming = Naming::from_snapshot(snapshot);
        let mut sorted: Vec<&fedsvc_model::Cluster> = snapshot.clusters.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = sorted.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(PlanError::DuplicateCluster {
                cluster: w[0].name.clone(),
            });
        }

        // Regions first (sorted by label), then zones (sorted by region, zone).
        let mut region_by_label: BTreeMap<Label, usize> = BTreeMap::new();
        let mut region_cluster: BTreeMap<Label, &ClusterName> = BTreeMap::new();
        for c in &sorted {
            region_cluster.entry(c.region.clone()).or_insert(&c.name);
        }
        let mut regions = Vec::new();
        for label in region_cluster.keys() {
            region_by_label.insert(label.clone(), regions.len());
            let level = Level::Region {
                region: label.clone(),
            };
            let suffix = naming.level_suffix(&level);
            regions.push(LevelSlot {
                tail: DnsName::parse(&suffix),
                suffix,
                level,
                clusters: Vec::new(),
                region: regions.len(),
            });
        }
        let mut pairs: BTreeMap<(Label, Label), &ClusterName> = BTreeMap::new();
        for c in &sorted {
            for z in &c.zones {
                pairs
                    .entry((c.region.clone(), z.clone()))
                    .or_insert(&c.name);
            }
        }
        if naming.zone_naming() == ZoneNaming::Zone {
            let mut seen: BTreeMap<&Label, (&Label, &ClusterName)> = BTreeMap::new();
            for ((region, zone), cluster) in &pairs {
                if let Some(region_cluster) = region_cluster.get(zone) {
                    return Err(PlanError::ZoneIsRegion {
                        label: zone.clone(),
                        zone_cluster: (*cluster).clone(),
                        region_cluster: (*region_cluster).clone(),
                    });
                }
                match seen.entry(zone) {
                    Entry::Occupied(o) => {
                        let (first_region, first_cluster) = *o.get();
                        return Err(PlanError::ZoneInTwoRegions {
                            zone: zone.clone(),
                            first_region: first_region.clone(),
                            first_cluster: first_cluster.clone(),
                            second_region: region.clone(),
                            second_cluster: (*cluster).clone(),
                        });
                    }
                    Entry::Vacant(v) => {
                        v.insert((region, cluster));
                    }
                }
            }
        }
        let mut zone_by_labels = BTreeMap::new();
        let mut zone_by_label = BTreeMap::new();
        let mut zones = Vec::new();
        for (region, zone) in pairs.keys() {
            let level = Level::Zone {
                zone: zone.clone(),
                region: region.clone(),
            };
            zone_by_labels.insert((zone.clone(), region.clone()), zones.len());
            zone_by_label.insert(zone.clone(), zones.len());
            let suffix = naming.level_suffix(&level);
            zones.push(LevelSlot {
                tail: DnsName::parse(&suffix),
                suffix,
                level,
                clusters: Vec::new(),
                region: region_by_label[region],
            });
        }

        let mut clusters = Vec::with_capacity(sorted.len());
        for (i, c) in sorted.iter().enumerate() {
            let region = region_by_label[&c.region];
            regions[region].clusters.push(i);
            let mut zs = Vec::with_capacity(c.zones.len());
            for z in &c.zones {
                let zi = zone_by_labels[&(z.clone(), c.region.clone())];
                if !zs.contains(&zi) {
                    zs.push(zi);
                    zones[zi].clusters.push(i);
                }
            }
            clusters.push(ClusterSlot {
                name: c.name.clone(),
                ready: c.ready,
                zones: zs,
            });
        }

        let global_suffix = naming.level_suffix(&Level::Global);
        let mut order: Vec<Slot> = std::iter::once(Slot::Global)
            .chain((0..regions.len()).map(Slot::Region))
            .chain((0..zones.len()).map(Slot::Zone))
            .collect();
        let suffix_of = |s: &Slot| -> &str {
            match *s {
                Slot::Global => &global_suffix,
                Slot::Region(i) => &regions[i].suffix,
                Slot::Zone(i) => &zones[i].suffix,
            }
        };
        order.sort_by(|a, b| suffix_of(a).cmp(suffix_of(b)));
        let longest_suffix = order.iter().map(|s| suffix_of(s).len()).max().unwrap_or(0);
        let global_pos = order
            .iter()
            .position(|s| *s == Slot::Global)
            .expect("the global level is in the order");
        let mut region_pos = vec![0; regions.len()];
        for (k, s) in order.iter().enumerate() {
            if let Slot::Region(i) = s {
                region_pos[*i] = k;
            }
        }

        Ok(Self {
            naming,
            default_ttl: snapshot.ttl,
            all_clusters: (0..clusters.len()).collect(),
            clusters,
            regions,
            zones,
            global_suffix,
            order,
            global_pos,
            region_pos,
            longest_suffix,
            region_by_label,
            zone_by_labels,
            zone_by_label,
        })
    }

    /// How many levels (names per service) the topology has.
    pub(crate) fn levels_len(&self) -> usize {
        self.order.len()
    }

    /// The naming in use.
    pub fn naming(&self) -> &Naming {
        &self.naming
    }

    /// The TTL used for services without an override.
    pub fn default_ttl(&self) -> u32 {
        self.default_ttl
    }

    /// Every level of the topology (global, each region, each zone), in the order of their
    /// names.
    pub fn levels(&self) -> Vec<Level> {
        self.order.iter().map(|s| self.slot(*s).0.clone()).collect()
    }

    /// Every name of `key` with its level, sorted by name; fails when the names would be too
    /// long.
    pub fn service_names(
        &self,
        key: &ServiceKey,
    ) -> Result<Vec<(Level, DnsName)>, fedsvc_model::NameError> {
        let prefix = self.naming.service_prefix(key);
        self.order
            .iter()
            .map(|s| {
                let (level, suffix) = self.slot(*s);
                Ok((level.clone(), DnsName::parse(&format!("{prefix}{suffix}"))?))
            })
            .collect()
    }

    /// Which service and level `name` is a name of, in this topology (`None` for names of
    /// other federations, or localities no joined cluster has).
    pub fn level_of(&self, name: &DnsName) -> Option<(ServiceKey, Level)> {
        let parsed = self.naming.parse(name)?;
        let level = match parsed.locality {
            Locality::Global => Level::Global,
            Locality::Single(label) => {
                if let Some(&r) = self.region_by_label.get(&label) {
                    self.regions[r].level.clone()
                } else if self.naming.zone_naming() == ZoneNaming::Zone {
                    self.zones[*self.zone_by_label.get(&label)?].level.clone()
                } else {
                    return None;
                }
            }
            Locality::ZoneRegion { zone, region } => self.zones
                [*self.zone_by_labels.get(&(zone, region))?]
            .level
            .clone(),
        };
        Some((parsed.key, level))
    }

    fn slot(&self, s: Slot) -> (&Level, &str) {
        static GLOBAL: Level = Level::Global;
        match s {
            Slot::Global => (&GLOBAL, &self.global_suffix),
            Slot::Region(i) => (&self.regions[i].level, &self.regions[i].suffix),
            Slot::Zone(i) => (&self.zones[i].level, &self.zones[i].suffix),
        }
    }

    fn slot_clusters(&self, s: Slot) -> &[usize] {
        match s {
            Slot::Global => &self.all_clusters,
            Slot::Region(i) => &self.regions[i].clusters,
            Slot::Zone(i) => &self.zones[i].clusters,
        }
    }

    fn cluster_index(&self, name: &ClusterName) -> Option<usize> {
        self.clusters.binary_search_by(|c| c.name.cmp(name)).ok()
    }

    /// Places the shards; `Err` carries the diagnostic that makes the service unplannable.
    fn view<'s>(
        &self,
        service: &'s Service,
        key: &ServiceKey,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<ShardView<'s>, Diagnostic> {
        let n = self.clusters.len();
        let mut view = ShardView {
            shard: vec![None; n],
            healthy: vec![false; n],
        };
        // Shards normally come sorted by cluster, like the clusters: walk both, and fall back
        // to a binary search when the next cluster is not the expected one.
        let mut next = 0;
        for shard in &service.shards {
            let hit = match self.clusters.get(next) {
                Some(c) if c.name == shard.cluster => Some(next),
                _ => self.cluster_index(&shard.cluster),
            };
            let Some(i) = hit else {
                diagnostics.push(Diagnostic::warning(
                    Self::subject(key),
                    format!(
                        "shards: cluster {} is not joined; its shard is ignored",
                        shard.cluster
                    ),
                ));
                continue;
            };
            if view.shard[i].is_some() {
                return Err(Diagnostic::error(
                    Self::subject(key),
                    format!(
                        "shards: two shards for cluster {}; the service is skipped",
                        shard.cluster
                    ),
                ));
            }
            next = i + 1;
            view.shard[i] = Some(shard);
            view.healthy[i] = self.clusters[i].ready
                && shard.ready_endpoints > 0
                && !(shard.addresses.is_empty() && shard.hostnames.is_empty());
        }
        Ok(view)
    }

    fn gather<'s>(&self, view: &ShardView<'s>, clusters: &[usize], out: &mut Gathered<'s>) {
        out.clear();
        for &c in clusters {
            if !view.healthy[c] {
                continue;
            }
            let Some(shard) = view.shard[c] else { continue };
            for ip in &shard.addresses {
                match ip {
                    IpAddr::V4(a) => out.v4.push(RData::A(*a)),
                    IpAddr::V6(a) => out.v6.push(RData::Aaaa(*a)),
                }
            }
            out.hostnames.extend(shard.hostnames.iter());
        }
        out.hostnames.sort();
        out.hostnames.dedup();
    }

    fn outcome<'s>(g: &Gathered<'s>) -> Outcome<'s> {
        if !g.v4.is_empty() || !g.v6.is_empty() {
            Outcome::Addresses
        } else if let [one] = g.hostnames.as_slice() {
            Outcome::Hostname(one)
        } else {
            Outcome::Fallback {
                hostnames: g.hostnames.len(),
            }
        }
    }

    fn subject(key: &ServiceKey) -> String {
        format!("service {key}")
    }

    /// Checks the length of the service's longest name.
    fn check_length(&self, prefix: &str, key: &ServiceKey) -> Result<(), Diagnostic> {
        let len = prefix.len() + self.longest_suffix - 1;
        if len > MAX_NAME_LEN {
            return Err(Diagnostic::error(
                Self::subject(key),
                format!(
                    "its longest DNS name would be {len} octets long (limit {MAX_NAME_LEN}); \
                     the service is skipped"
                ),
            ));
        }
        Ok(())
    }

    /// Plans one service: its records, sorted by name then type, and diagnostics.
    ///
    /// A service whose names would be too long, or that has two shards for one cluster, gets
    /// no records and an error diagnostic.
    pub fn plan_service(&self, service: &Service) -> ServicePlan {
        let mut out = ServicePlan {
            key: service.key.clone(),
            records: Vec::with_capacity(self.order.len() + 4),
            diagnostics: Vec::new(),
        };
        self.plan_into(service, None, &mut out.records, &mut out.diagnostics);
        out
    }

    /// Like [`Planner::plan_service`], but takes the service's names from `names` (made by
    /// [`Planner::names_for`] of this planner) instead of building them, which makes re-planning
    /// a service that changes often cheaper. Names made for another service, or by a planner
    /// of another topology, are not used.
    pub fn plan_service_with(&self, service: &Service, names: &ServiceNames) -> ServicePlan {
        let mut out = ServicePlan {
            key: service.key.clone(),
            records: Vec::with_capacity(self.order.len() + 4),
            diagnostics: Vec::new(),
        };
        self.plan_into(service, Some(names), &mut out.records, &mut out.diagnostics);
        out
    }

    /// Every name of the service `key`, built and checked once, for
    /// [`Planner::plan_service_with`].
    pub fn names_for(&self, key: &ServiceKey) -> Result<ServiceNames, fedsvc_model::NameError> {
        Ok(ServiceNames {
            key: key.clone(),
            names: self
                .service_names(key)?
                .into_iter()
                .map(|(_, n)| n)
                .collect(),
        })
    }

    /// Plans one service, appending its records to `records` (nothing when it is skipped) and
    /// its diagnostics to `diagnostics`.
    pub(crate) fn plan_into(
        &self,
        service: &Service,
        cache: Option<&ServiceNames>,
        records: &mut Vec<RecordSet>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let start = records.len();
        let prefix = self.naming.service_prefix(&service.key);
        if let Err(d) = self.check_length(&prefix, &service.key) {
            diagnostics.push(d);
            return;
        }
        let subject = || Self::subject(&service.key);
        let view = match self.view(service, &service.key, diagnostics) {
            Ok(v) => v,
            Err(d) => {
                diagnostics.push(d);
                return;
            }
        };
        let ttl = service.ttl.unwrap_or(self.default_ttl);
        // The prefix `S.N.F.svc` is checked once; each name joins it to a level's suffix, which
        // was checked when the planner was built, so only lengths are checked here.
        let head = match DnsName::parse(&prefix) {
            Ok(h) => h,
            Err(e) => {
                diagnostics.push(Diagnostic::error(
                    subject(),
                    format!("{e}; the service is skipped"),
                ));
                return;
            }
        };
        let parse = |tail: &Result<DnsName, fedsvc_model::NameError>| match tail {
            Ok(t) => DnsName::join(&head, t),
            Err(e) => Err(e.clone()),
        };
        let cached = cache.filter(|c| c.key == service.key && c.names.len() == self.order.len());
        let names = match cached {
            Some(c) => Ok((
                c.names[self.global_pos].clone(),
                self.region_pos
                    .iter()
                    .map(|&p| c.names[p].clone())
                    .collect(),
            )),
            None => (|| -> Result<_, fedsvc_model::NameError> {
                let global = DnsName::join(&head, self.naming.dns_suffix())?;
                let regions = self
                    .regions
                    .iter()
                    .map(|r| parse(&r.tail))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((global, regions))
            })(),
        };
        let (global, region_names): (DnsName, Vec<DnsName>) = match names {
            Ok(n) => n,
            Err(e) => {
                diagnostics.push(Diagnostic::error(
                    subject(),
                    format!("{e}; the service is skipped"),
                ));
                return;
            }
        };
        let mut g = Gathered::default();
        for (k, &slot) in self.order.iter().enumerate() {
            let name = match (slot, cached) {
                (Slot::Global, _) => global.clone(),
                (Slot::Region(i), _) => region_names[i].clone(),
                (Slot::Zone(_), Some(c)) => c.names[k].clone(),
                (Slot::Zone(i), None) => match parse(&self.zones[i].tail) {
                    Ok(n) => n,
                    Err(e) => {
                        diagnostics.push(Diagnostic::error(
                            subject(),
                            format!("{e}; the service is skipped"),
                        ));
                        records.truncate(start);
                        return;
                    }
                },
            };
            self.gather(&view, self.slot_clusters(slot), &mut g);
            match Self::outcome(&g) {
                Outcome::Addresses => {
                    if !g.v4.is_empty() {
                        let data = g.v4.clone();
                        records.push(
                            RecordSet::new(name.clone(), RecordType::A, ttl, data)
                                .expect("non-empty A data"),
                        );
                    }
                    if !g.v6.is_empty() {
                        let data = g.v6.clone();
                        records.push(
                            RecordSet::new(name, RecordType::Aaaa, ttl, data)
                                .expect("non-empty AAAA data"),
                        );
                    }
                }
                Outcome::Hostname(h) => {
                    records.push(RecordSet::cname(name, ttl, h.clone()));
                }
                Outcome::Fallback { hostnames } => {
                    let target = match slot {
                        Slot::Global => None,
                        Slot::Region(_) => Some(&global),
                        Slot::Zone(i) => Some(&region_names[self.zones[i].region]),
                    };
                    if hostnames > 1 {
                        let list: Vec<&str> = g.hostnames.iter().map(|h| h.as_str()).collect();
                        let then = match target {
                            Some(t) => format!("it is a CNAME to {t} instead"),
                            None => "it gets no record".to_owned(),
                        };
                        diagnostics.push(Diagnostic::warning(
                            subject(),
                            format!(
                                "{name}: no address but {hostnames} load-balancer hostnames ({}); \
                                 a CNAME can point at only one and unresolved hostnames are not \
                                 used, so {then}",
                                list.join(", ")
                            ),
                        ));
                    }
                    if let Some(t) = target {
                        records.push(RecordSet::cname(name, ttl, t.clone()));
                    }
                }
            }
        }
    }

    /// Explains, for every name of `service` (sorted), why it holds what it holds.
    pub fn explain_service(&self, service: &Service) -> Vec<Explanation> {
        let mut ignored = Vec::new();
        let prefix = self.naming.service_prefix(&service.key);
        if let Err(d) = self.check_length(&prefix, &service.key) {
            return vec![Explanation::unplanned(&prefix, d.message)];
        }
        let view = match self.view(service, &service.key, &mut ignored) {
            Ok(v) => v,
            Err(d) => return vec![Explanation::unplanned(&prefix, d.message)],
        };
        let plan = self.plan_service(service);
        let Ok(names) = self.service_names(&service.key) else {
            return Vec::new();
        };
        let mut g = Gathered::default();
        let mut out = Vec::with_capacity(names.len());
        for (&slot, (level, name)) in self.order.iter().zip(names) {
            let clusters = self.slot_clusters(slot);
            self.gather(&view, clusters, &mut g);
            let records: Vec<RecordSet> = plan
                .records
                .iter()
                .filter(|r| r.name() == &name)
                .cloned()
                .collect();
            let where_ = level.describe();
            let mut reasons = Vec::new();
            let (healthy, unhealthy): (Vec<usize>, Vec<usize>) =
                clusters.iter().partition(|&&c| view.healthy[c]);
            match Self::outcome(&g) {
                Outcome::Addresses => {
                    reasons.push(format!("healthy shards in {where_}:"));
                    for &c in &healthy {
                        reasons.push(format!("  {}", self.describe_healthy(&view, c)));
                    }
                }
                Outcome::Hostname(h) => {
                    reasons.push(format!(
                        "no address in {where_}, but one load-balancer hostname: CNAME to {h}"
                    ));
                    for &c in &healthy {
                        reasons.push(format!("  {}", self.describe_healthy(&view, c)));
                    }
                }
                Outcome::Fallback { hostnames } => {
                    if hostnames > 1 {
                        reasons.push(format!(
                            "no address in {where_} but {hostnames} load-balancer hostnames; a \
                             CNAME can point at only one"
                        ));
                    } else if clusters.is_empty() {
                        reasons.push(format!("no cluster in {where_}"));
                    } else {
                        let why: Vec<String> = unhealthy
                            .iter()
                            .map(|&c| self.why_unhealthy(&view, c))
                            .collect();
                        reasons.push(format!("no healthy shard in {where_}: {}", why.join("; ")));
                    }
                    reasons.push(match records.first().and_then(|r| r.cname_target()) {
                        Some(t) => format!("CNAME to the enclosing level {t}"),
                        None => "no record: the name does not exist (NXDOMAIN)".to_owned(),
                    });
                }
            }
            if !matches!(Self::outcome(&g), Outcome::Fallback { .. }) {
                for &c in &unhealthy {
                    reasons.push(format!("  left out: {}", self.why_unhealthy(&view, c)));
                }
            }
            out.push(Explanation {
                name,
                level,
                records,
                reasons,
            });
        }
        out
    }

    fn describe_healthy(&self, view: &ShardView<'_>, c: usize) -> String {
        let name = &self.clusters[c].name;
        let Some(shard) = view.shard[c] else {
            return format!("cluster {name}");
        };
        let mut what: Vec<String> = shard.addresses.iter().map(ToString::to_string).collect();
        what.extend(shard.hostnames.iter().map(ToString::to_string));
        format!(
            "cluster {name}: {} ({} ready endpoints)",
            what.join(", "),
            shard.ready_endpoints
        )
    }

    fn why_unhealthy(&self, view: &ShardView<'_>, c: usize) -> String {
        let cluster = &self.clusters[c];
        let name = &cluster.name;
        match view.shard[c] {
            _ if !cluster.ready => format!("cluster {name} is not Ready"),
            None => format!("cluster {name} has no shard of the service"),
            Some(s) if s.ready_endpoints == 0 => format!("cluster {name} has 0 ready endpoints"),
            Some(_) => format!("cluster {name} has no load-balancer address or hostname"),
        }
    }

    /// The zones a cluster counts in, as levels.
    pub fn cluster_zones(&self, cluster: &ClusterName) -> Vec<Level> {
        self.cluster_index(cluster)
            .map(|i| {
                self.clusters[i]
                    .zones
                    .iter()
                    .map(|&z| self.zones[z].level.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::LabelRules;

    fn l(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "t").unwrap()
    }

    fn snapshot(zn: ZoneNaming, clusters: &[(&str, &str, &[&str])]) -> Snapshot {
        let mut s = Snapshot::new(l("fed"), DnsName::parse("example.com").unwrap());
        s.zone_naming = zn;
        for (name, region, zones) in clusters {
            s.clusters.push(
                fedsvc_model::Cluster::new(
                    ClusterName::parse(name).unwrap(),
                    l(region),
                    zones.iter().map(|z| l(z)).collect(),
                    true,
                )
                .unwrap(),
            );
        }
        s
    }

    #[test]
    fn zone_in_two_regions_is_refused_naming_the_label() {
        let s = snapshot(
            ZoneNaming::Zone,
            &[("c1", "r1", &["a"]), ("c2", "r2", &["a"])],
        );
        let err = Planner::new(&s).unwrap_err();
        assert!(matches!(&err, PlanError::ZoneInTwoRegions { zone, .. } if zone.as_str() == "a"));
        let msg = err.to_string();
        assert!(msg.contains("zone label a") && msg.contains("zoneNaming: zone-region"));
        let s = snapshot(
            ZoneNaming::ZoneRegion,
            &[("c1", "r1", &["a"]), ("c2", "r2", &["a"])],
        );
        assert_eq!(Planner::new(&s).unwrap().zones.len(), 2);
    }

    #[test]
    fn zone_equal_to_region_is_refused() {
        let s = snapshot(
            ZoneNaming::Zone,
            &[("c1", "r1", &["r2"]), ("c2", "r2", &["b"])],
        );
        let err = Planner::new(&s).unwrap_err();
        assert!(matches!(&err, PlanError::ZoneIsRegion { label, .. } if label.as_str() == "r2"));
        assert!(err.to_string().contains("zoneNaming: zone-region"));
    }

    #[test]
    fn order_follows_names() {
        let s = snapshot(
            ZoneNaming::Zone,
            &[("c1", "us", &["us-b", "us-a"]), ("c2", "eu", &["eu-1"])],
        );
        let p = Planner::new(&s).unwrap();
        let key = ServiceKey::parse("ns", "web").unwrap();
        let names: Vec<DnsName> = p
            .service_names(&key)
            .unwrap()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 1 + 2 + 3);
        assert_eq!(
            p.level_of(&names[0]).map(|(k, _)| k),
            Some(key),
            "{names:?}"
        );
    }
}
