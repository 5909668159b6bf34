//! What the controller knows about the federation, and which services need re-planning.
//!
//! [`FederationState`] is fed by the watches (clusters, services, shard observations, resolved
//! load-balancer hostnames) and turns them into a [`Snapshot`] for the planner. Every change marks
//! what it affects as dirty: one service when one of its shards changes, every service when a
//! cluster's readiness or locality changes. The DNS sync takes the dirty set, re-plans only those
//! services, and applies the difference. The type is pure: no IO, no clock.
//!
//! `copies` keeps the member copies of federated Deployments, as the members' watches report
//! them, for the workload reconciler to sum into each federated object's status.

pub(crate) mod copies;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use fedsvc_model::{
    Addresses, Cluster, ClusterName, DnsName, Label, Service, ServiceKey, Shard, Snapshot,
};

pub use fedsvc_cluster::ShardObservation;

/// The services whose records must be planned again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dirty {
    /// Every service (topology or readiness changed).
    pub all: bool,
    /// The topology changed (clusters joined or left, zones or regions changed): the planner
    /// must be rebuilt.
    pub topology: bool,
    /// These services (when `all` is false).
    pub services: BTreeSet<ServiceKey>,
}

impl Dirty {
    /// Whether anything is dirty.
    pub fn is_empty(&self) -> bool {
        !self.all && !self.topology && self.services.is_empty()
    }
}

/// A shard observation as held (hundreds of thousands of them): the addresses sorted, unique
/// and, when there is one, inline; the hostnames sorted and unique.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeldShard {
    addresses: Addresses,
    hostnames: Box<[DnsName]>,
    ready_endpoints: u32,
}

impl From<ShardObservation> for HeldShard {
    fn from(o: ShardObservation) -> Self {
        // Sorted and unique already when it comes from a member's watch.
        let mut hostnames = o.hostnames;
        hostnames.sort();
        hostnames.dedup();
        HeldShard {
            addresses: Addresses::from(o.addresses),
            hostnames: hostnames.into_boxed_slice(),
            ready_endpoints: o.ready_endpoints,
        }
    }
}

/// A service's shards, by cluster: a vector sorted by cluster name. A service has one shard
/// per member, tens of them; a B-tree map of that size, filled one member at a time, takes
/// twice the memory (nodes of eleven entries, a third of them empty, and an inner node).
#[derive(Debug, Clone, Default)]
struct Shards(Vec<(ClusterName, HeldShard)>);

impl Shards {
    fn find(&self, cluster: &ClusterName) -> Result<usize, usize> {
        self.0.binary_search_by(|(c, _)| c.cmp(cluster))
    }

    fn get_mut(&mut self, cluster: &ClusterName) -> Option<&mut HeldShard> {
        let i = self.find(cluster).ok()?;
        Some(&mut self.0[i].1)
    }

    fn insert(&mut self, cluster: ClusterName, shard: HeldShard) {
        match self.find(&cluster) {
            Ok(i) => self.0[i].1 = shard,
            Err(i) => {
                if self.0.len() == self.0.capacity() {
                    // Grown by a quarter, not doubled: most services stop at the number of
                    // members, and what doubling leaves spare would stay spare.
                    self.0.reserve_exact((self.0.len() / 4).max(2));
                }
                self.0.insert(i, (cluster, shard));
            }
        }
    }

    fn remove(&mut self, cluster: &ClusterName) -> Option<HeldShard> {
        let i = self.find(cluster).ok()?;
        Some(self.0.remove(i).1)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = (&ClusterName, &HeldShard)> {
        self.0.iter().map(|(c, s)| (c, s))
    }

    fn values(&self) -> impl Iterator<Item = &HeldShard> {
        self.0.iter().map(|(_, s)| s)
    }
}

#[derive(Debug, Clone, Default)]
struct ServiceEntry {
    /// Whether the federation API holds the service (shards may be seen before it is).
    federated: bool,
    ttl: Option<u32>,
    shards: Shards,
}

/// The controller's picture of the federation.
#[derive(Debug, Clone)]
pub struct FederationState {
    base: Snapshot,
    clusters: BTreeMap<ClusterName, Cluster>,
    services: BTreeMap<ServiceKey, ServiceEntry>,
    resolved: BTreeMap<DnsName, Vec<IpAddr>>,
    dirty: Dirty,
    /// Whether the federation API's services have been listed since the start.
    services_listed: bool,
    /// Clusters whose shard watch has listed the member's services since it started.
    shards_synced: BTreeSet<ClusterName>,
    /// Whether the federation API's clusters have been listed (and joined) since the start.
    clusters_listed: bool,
    /// Joined clusters whose health or place is not known yet (see [`Self::set_settled`]).
    unsettled: BTreeSet<ClusterName>,
}

impl FederationState {
    /// An empty state; `base` gives the federation, suffix, zone naming and default TTL (its
    /// clusters and services are ignored).
    pub fn new(base: Snapshot) -> Self {
        let base = Snapshot {
            clusters: Vec::new(),
            services: Vec::new(),
            ..base
        };
        Self {
            base,
            clusters: BTreeMap::new(),
            services: BTreeMap::new(),
            resolved: BTreeMap::new(),
            dirty: Dirty::default(),
            services_listed: false,
            shards_synced: BTreeSet::new(),
            clusters_listed: false,
            unsettled: BTreeSet::new(),
        }
    }

    /// The federation API's services have all been listed (and upserted).
    pub fn set_services_listed(&mut self) {
        self.services_listed = true;
    }

    /// Whether `cluster`'s shard watch has listed the member (`false` when it starts again).
    pub fn set_shards_synced(&mut self, cluster: &ClusterName, synced: bool) {
        if synced {
            self.shards_synced.insert(cluster.clone());
        } else {
            self.shards_synced.remove(cluster);
        }
    }

    /// The federation API's clusters have all been listed, and each was joined (or found
    /// unusable).
    pub fn set_clusters_listed(&mut self) {
        self.clusters_listed = true;
    }

    /// Whether the federation API's services have been listed since the start.
    pub fn services_listed(&self) -> bool {
        self.services_listed
    }

    /// Whether the federation API's clusters have been listed since the start.
    pub fn clusters_listed(&self) -> bool {
        self.clusters_listed
    }

    /// Whether `cluster` is settled: its health is decided (Ready, or past a threshold of failed
    /// probes), and when Ready, its zones and region have been read (or found missing). A
    /// cluster that joins starts unsettled.
    pub fn set_settled(&mut self, cluster: &ClusterName, settled: bool) {
        if settled {
            self.unsettled.remove(cluster);
        } else {
            self.unsettled.insert(cluster.clone());
        }
    }

    /// Whether the state is complete enough to write DNS from: every federated service and
    /// every joined cluster has been listed, every cluster is settled, and the shard watch of
    /// every Ready cluster has reported its first listing. Before that, a sync would delete the
    /// records of services not seen yet and shrink the records of clusters not heard from yet,
    /// only to write them back moments later.
    pub fn is_complete(&self) -> bool {
        self.missing().is_empty()
    }

    /// What the picture still lacks (see [`Self::is_complete`]), one item per thing awaited,
    /// naming the clusters at fault; empty once it is complete.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if !self.services_listed {
            missing.push("the federation API's services are not listed yet".to_owned());
        }
        if !self.clusters_listed {
            missing.push("the federation API's clusters are not listed yet".to_owned());
        }
        let names = |it: &mut dyn Iterator<Item = &ClusterName>| {
            it.map(ClusterName::as_str).collect::<Vec<_>>().join(", ")
        };
        if !self.unsettled.is_empty() {
            missing.push(format!(
                "health or zones not known yet: {}",
                names(&mut self.unsettled.iter())
            ));
        }
        let unlisted = names(
            &mut self
                .clusters
                .values()
                .filter(|c| c.ready && !self.shards_synced.contains(&c.name))
                .map(|c| &c.name),
        );
        if !unlisted.is_empty() {
            missing.push(format!("shards not listed yet: {unlisted}"));
        }
        missing
    }

    /// Adds or changes a joined cluster.
    pub fn upsert_cluster(&mut self, cluster: Cluster) {
        match self.clusters.get(&cluster.name) {
            Some(old) if *old == cluster => {}
            Some(old) if old.zones == cluster.zones && old.region == cluster.region => {
                self.dirty.all = true;
                self.clusters.insert(cluster.name.clone(), cluster);
            }
            _ => {
                self.dirty.all = true;
                self.dirty.topology = true;
                self.clusters.insert(cluster.name.clone(), cluster);
            }
        }
    }

    /// Sets a cluster's readiness; returns whether it changed.
    pub fn set_ready(&mut self, name: &ClusterName, ready: bool) -> bool {
        match self.clusters.get_mut(name) {
            Some(c) if c.ready != ready => {
                c.ready = ready;
                self.dirty.all = true;
                true
            }
            _ => false,
        }
    }

    /// Removes an unjoined cluster and every shard it reported.
    pub fn remove_cluster(&mut self, name: &ClusterName) {
        self.shards_synced.remove(name);
        self.unsettled.remove(name);
        if self.clusters.remove(name).is_some() {
            self.dirty.all = true;
            self.dirty.topology = true;
        }
        for entry in self.services.values_mut() {
            entry.shards.remove(name);
        }
    }

    /// The joined clusters.
    pub fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        self.clusters.values()
    }

    /// Whether every joined cluster is not Ready (and there is at least one): the controller is
    /// probably cut off, and DNS must stay as it is.
    pub fn all_clusters_down(&self) -> bool {
        !self.clusters.is_empty() && self.clusters.values().all(|c| !c.ready)
    }

    /// Adds a federated service, or changes its TTL override.
    pub fn upsert_service(&mut self, key: ServiceKey, ttl: Option<u32>) {
        let entry = self.services.entry(key.clone()).or_default();
        if entry.ttl != ttl || !entry.federated {
            entry.ttl = ttl;
            entry.federated = true;
            self.dirty.services.insert(key);
        }
    }

    /// Removes a federated service (its records will be deleted).
    pub fn remove_service(&mut self, key: &ServiceKey) {
        if let Some(entry) = self.services.get_mut(key) {
            if entry.federated {
                self.dirty.services.insert(key.clone());
            }
            self.services.remove(key);
        }
    }

    /// The federated services.
    pub fn service_keys(&self) -> impl Iterator<Item = &ServiceKey> {
        self.services
            .iter()
            .filter(|(_, e)| e.federated)
            .map(|(k, _)| k)
    }

    /// Records what `cluster` reports for `key` (`None`: the member has no such service).
    /// Observations for services not (yet) federated are kept, so that one arriving before the
    /// service's own event is not lost. Returns whether a federated service changed.
    pub fn observe_shard(
        &mut self,
        key: &ServiceKey,
        cluster: &ClusterName,
        obs: Option<ShardObservation>,
    ) -> bool {
        let changed = match obs {
            Some(o) => {
                let o = HeldShard::from(o);
                let entry = self.services.entry(key.clone()).or_default();
                match entry.shards.get_mut(cluster) {
                    Some(held) if *held == o => false,
                    Some(held) => {
                        *held = o;
                        entry.federated
                    }
                    None => {
                        entry.shards.insert(cluster.clone(), o);
                        entry.federated
                    }
                }
            }
            None => match self.services.get_mut(key) {
                Some(entry) => {
                    let removed = entry.shards.remove(cluster).is_some();
                    let federated = entry.federated;
                    if !federated && entry.shards.is_empty() {
                        self.services.remove(key);
                    }
                    federated && removed
                }
                None => false,
            },
        };
        if changed {
            self.dirty.services.insert(key.clone());
        }
        changed
    }

    /// Load-balancer hostnames currently reported by any shard.
    pub fn hostnames(&self) -> BTreeSet<DnsName> {
        self.services
            .values()
            .flat_map(|e| e.shards.values())
            .flat_map(|o| o.hostnames.iter().cloned())
            .collect()
    }

    /// Records the addresses `hostname` resolved to; the services using it become dirty when
    /// they change.
    pub fn set_resolved(&mut self, hostname: DnsName, mut addresses: Vec<IpAddr>) {
        addresses.sort();
        addresses.dedup();
        if self.resolved.get(&hostname) == Some(&addresses) {
            return;
        }
        for (key, entry) in &self.services {
            if entry
                .shards
                .values()
                .any(|o| o.hostnames.contains(&hostname))
            {
                self.dirty.services.insert(key.clone());
            }
        }
        if addresses.is_empty() {
            self.resolved.remove(&hostname);
        } else {
            self.resolved.insert(hostname, addresses);
        }
    }

    /// Takes the dirty set, leaving it empty.
    pub fn take_dirty(&mut self) -> Dirty {
        std::mem::take(&mut self.dirty)
    }

    /// Gives back a dirty set that could not be synced, merging it with what became dirty since.
    pub fn restore_dirty(&mut self, dirty: Dirty) {
        self.dirty.all |= dirty.all;
        self.dirty.topology |= dirty.topology;
        self.dirty.services.extend(dirty.services);
    }

    /// Marks every service dirty (for a full resync).
    pub fn mark_all_dirty(&mut self) {
        self.dirty.all = true;
    }

    /// The model service for `key` as the planner needs it, or `None` if it is not federated.
    pub fn service(&self, key: &ServiceKey) -> Option<Service> {
        let entry = self.services.get(key).filter(|e| e.federated)?;
        let shards = entry
            .shards
            .iter()
            .filter(|(c, _)| self.clusters.contains_key(*c))
            .map(|(c, o)| {
                let mut addresses = o.addresses.to_vec();
                for h in &o.hostnames {
                    if let Some(ips) = self.resolved.get(h) {
                        addresses.extend(ips.iter().copied());
                    }
                }
                Shard::new(
                    c.clone(),
                    addresses,
                    o.hostnames.to_vec(),
                    o.ready_endpoints,
                )
            })
            .collect();
        Service::new(key.clone(), entry.ttl, shards).ok()
    }

    /// How many shards of `key` are healthy: Ready cluster, a ready endpoint, an address or
    /// hostname.
    pub fn healthy_shards(&self, key: &ServiceKey) -> usize {
        let Some(entry) = self.services.get(key) else {
            return 0;
        };
        entry
            .shards
            .iter()
            .filter(|(c, o)| {
                self.clusters.get(*c).is_some_and(|c| c.ready)
                    && o.ready_endpoints > 0
                    && (!o.addresses.is_empty() || !o.hostnames.is_empty())
            })
            .count()
    }

    /// The load-balancer ingress of every member's shard of `key`: addresses and hostnames,
    /// sorted and unique.
    pub fn ingress(&self, key: &ServiceKey) -> (Vec<IpAddr>, Vec<DnsName>) {
        let mut ips: BTreeSet<IpAddr> = BTreeSet::new();
        let mut hosts: BTreeSet<DnsName> = BTreeSet::new();
        if let Some(entry) = self.services.get(key) {
            for o in entry.shards.values() {
                ips.extend(o.addresses.iter().copied());
                hosts.extend(o.hostnames.iter().cloned());
            }
        }
        (ips.into_iter().collect(), hosts.into_iter().collect())
    }

    /// The whole snapshot.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            clusters: self.clusters.values().cloned().collect(),
            services: self
                .services
                .keys()
                .filter_map(|k| self.service(k))
                .collect(),
            ..self.base.clone()
        }
    }

    /// The federation's name.
    pub fn federation(&self) -> &Label {
        &self.base.federation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(s: &str) -> Label {
        Label::parse(s, fedsvc_model::LabelRules::Rfc1123, "test").unwrap()
    }

    fn cluster(name: &str, zone: &str, ready: bool) -> Cluster {
        Cluster::new(
            ClusterName::parse(name).unwrap(),
            label("r1"),
            vec![label(zone)],
            ready,
        )
        .unwrap()
    }

    fn state() -> FederationState {
        FederationState::new(Snapshot::new(
            label("fed"),
            DnsName::parse("example.com").unwrap(),
        ))
    }

    fn key(n: &str) -> ServiceKey {
        ServiceKey::parse("ns", n).unwrap()
    }

    fn obs(key: &ServiceKey, ip: &str, ready: u32) -> ShardObservation {
        ShardObservation::new(key.clone(), vec![ip.parse().unwrap()], vec![], ready)
    }

    #[test]
    fn shard_changes_dirty_one_service_and_repeats_do_not() {
        let mut s = state();
        s.upsert_cluster(cluster("c1", "z1", true));
        s.upsert_service(key("a"), None);
        s.upsert_service(key("b"), None);
        let d = s.take_dirty();
        assert!(d.all && d.topology);
        let c1 = ClusterName::parse("c1").unwrap();
        assert!(s.observe_shard(&key("a"), &c1, Some(obs(&key("a"), "10.0.0.1", 1))));
        assert!(!s.observe_shard(&key("a"), &c1, Some(obs(&key("a"), "10.0.0.1", 1))));
        let d = s.take_dirty();
        assert!(!d.all);
        assert_eq!(d.services.into_iter().collect::<Vec<_>>(), vec![key("a")]);
        assert!(s.take_dirty().is_empty());
    }

    #[test]
    fn the_picture_is_complete_once_every_service_and_cluster_is_known() {
        let mut s = state();
        let (c1, c2) = (
            ClusterName::parse("c1").unwrap(),
            ClusterName::parse("c2").unwrap(),
        );
        s.set_services_listed();
        // Nothing joined yet: the clusters are not listed, so no cluster is not the same as
        // no cluster heard from.
        assert_eq!(
            s.missing(),
            ["the federation API's clusters are not listed yet"]
        );
        // c1 joined, Ready and placed, its shards listed; c2 joined but not probed yet.
        s.set_settled(&c1, false);
        s.set_settled(&c2, false);
        s.set_clusters_listed();
        s.upsert_cluster(cluster("c1", "z1", true));
        s.set_settled(&c1, true);
        s.set_shards_synced(&c1, true);
        assert_eq!(s.missing(), ["health or zones not known yet: c2"]);
        // c2 Ready and placed, but its shards not listed yet.
        s.upsert_cluster(cluster("c2", "z2", true));
        s.set_settled(&c2, true);
        assert_eq!(s.missing(), ["shards not listed yet: c2"]);
        s.set_shards_synced(&c2, true);
        assert!(s.is_complete());
        // A cluster that is unjoined no longer counts.
        s.set_settled(&c2, false);
        assert!(!s.is_complete());
        s.remove_cluster(&c2);
        assert!(s.is_complete());
    }

    #[test]
    fn readiness_dirties_all_but_not_topology() {
        let mut s = state();
        s.upsert_cluster(cluster("c1", "z1", true));
        s.take_dirty();
        let c1 = ClusterName::parse("c1").unwrap();
        assert!(s.set_ready(&c1, false));
        assert!(!s.set_ready(&c1, false));
        let d = s.take_dirty();
        assert!(d.all && !d.topology);
        assert!(s.all_clusters_down());
        s.upsert_cluster(cluster("c1", "z2", false));
        assert!(s.take_dirty().topology);
    }

    #[test]
    fn snapshot_merges_resolved_hostnames_and_drops_unjoined_clusters() {
        let mut s = state();
        s.upsert_cluster(cluster("c1", "z1", true));
        s.upsert_cluster(cluster("c2", "z2", true));
        s.upsert_service(key("a"), Some(30));
        let c1 = ClusterName::parse("c1").unwrap();
        let c2 = ClusterName::parse("c2").unwrap();
        let elb = DnsName::parse("lb-1.elb.example.net").unwrap();
        s.observe_shard(
            &key("a"),
            &c1,
            Some(ShardObservation::new(
                key("a"),
                vec![],
                vec![elb.clone()],
                2,
            )),
        );
        s.observe_shard(&key("a"), &c2, Some(obs(&key("a"), "10.0.0.2", 1)));
        s.take_dirty();
        s.set_resolved(
            elb.clone(),
            vec!["10.1.0.1".parse().unwrap(), "10.1.0.1".parse().unwrap()],
        );
        assert_eq!(s.take_dirty().services.len(), 1);
        s.set_resolved(elb.clone(), vec!["10.1.0.1".parse().unwrap()]);
        assert!(s.take_dirty().is_empty(), "same answer, nothing dirty");
        let snap = s.snapshot();
        let svc = &snap.services[0];
        assert_eq!(svc.ttl, Some(30));
        assert_eq!(
            svc.shards[0].addresses,
            vec!["10.1.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(svc.shards[0].hostnames, vec![elb]);
        s.remove_cluster(&c2);
        let snap = s.snapshot();
        assert_eq!(snap.clusters.len(), 1);
        assert_eq!(snap.services[0].shards.len(), 1);
    }

    #[test]
    fn shards_seen_before_their_service_are_kept() {
        let mut s = state();
        s.upsert_cluster(cluster("c1", "z1", true));
        s.take_dirty();
        let c1 = ClusterName::parse("c1").unwrap();
        assert!(!s.observe_shard(&key("early"), &c1, Some(obs(&key("early"), "10.0.0.9", 1))));
        assert!(s.take_dirty().is_empty());
        assert_eq!(s.service_keys().count(), 0);
        s.upsert_service(key("early"), None);
        assert!(s.take_dirty().services.contains(&key("early")));
        assert_eq!(s.service(&key("early")).unwrap().shards.len(), 1);
        assert_eq!(s.healthy_shards(&key("early")), 1);
    }

    #[test]
    fn shards_are_held_by_cluster_whatever_order_they_come_in() {
        let mut s = state();
        let names = ["c3", "c1", "c5", "c2", "c4"];
        for (i, n) in names.iter().enumerate() {
            s.upsert_cluster(cluster(n, &format!("z{i}"), true));
        }
        s.upsert_service(key("web"), None);
        for (i, n) in names.iter().enumerate() {
            let c = ClusterName::parse(n).unwrap();
            assert!(s.observe_shard(
                &key("web"),
                &c,
                Some(obs(&key("web"), &format!("10.0.0.{i}"), 1))
            ));
        }
        let c2 = ClusterName::parse("c2").unwrap();
        // A new observation replaces the one held; the same one again changes nothing.
        assert!(s.observe_shard(&key("web"), &c2, Some(obs(&key("web"), "10.0.9.9", 2))));
        assert!(!s.observe_shard(&key("web"), &c2, Some(obs(&key("web"), "10.0.9.9", 2))));
        let c4 = ClusterName::parse("c4").unwrap();
        assert!(s.observe_shard(&key("web"), &c4, None));
        assert!(!s.observe_shard(&key("web"), &c4, None));
        let svc = s.service(&key("web")).unwrap();
        let held: Vec<(String, String)> = svc
            .shards
            .iter()
            .map(|sh| (sh.cluster.to_string(), sh.addresses[0].to_string()))
            .collect();
        let want = [
            ("c1", "10.0.0.1"),
            ("c2", "10.0.9.9"),
            ("c3", "10.0.0.0"),
            ("c5", "10.0.0.2"),
        ];
        assert_eq!(
            held,
            want.map(|(c, ip)| (c.to_owned(), ip.to_owned())).to_vec()
        );
        assert_eq!(s.healthy_shards(&key("web")), 4);
    }

    #[test]
    fn removing_a_service_dirties_it_for_deletion() {
        let mut s = state();
        s.upsert_service(key("a"), None);
        s.take_dirty();
        s.remove_service(&key("a"));
        assert!(s.take_dirty().services.contains(&key("a")));
        assert!(s.service(&key("a")).is_none());
    }
}
