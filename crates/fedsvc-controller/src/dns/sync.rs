//! Keeping one DNS zone in step with the federation.
//!
//! [`ZoneSync`] holds what it knows of the zone (read once by a full listing, then kept up to
//! date with every change it applies) and what it last planned for each service. A sync takes
//! the dirty set from [`FederationState`]: for each dirty service it plans that service alone,
//! diffs the result against the known records *at that service's names only*, and applies the
//! change groups in as few provider calls as the provider's limits allow. Steady state costs no
//! provider call at all; a full resync (at start, after an error, and periodically to repair
//! drift made by others) lists the zone once and diffs everything: a pass over every service,
//! [`PASS_CHUNK`] services per step, whose last step also deletes the names we own that no
//! service wants. The copy of the zone is built as the listing is read
//! ([`DnsProvider::list_each`]) and keeps each name's ownership record by the name itself.
//!
//! Safety rules:
//! - **Fail-static**: when every joined cluster looks down at once, the controller is most
//!   likely cut off, not the world; nothing is written and the records stay as last applied.
//! - A service whose plan has an error diagnostic keeps its old records untouched.
//! - After a failed apply the known state is dropped and the next sync lists the zone again,
//!   so nothing half-applied is left without a retry.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use fedsvc_dns_plan::{Changes, Conflict, PlanError, Planner, Registry, diff_sets};
use fedsvc_model::{Diagnostic, DnsName, RecordSet, RecordType, ServiceKey};
use fedsvc_providers::{ApplyError, ApplyReport, DnsProvider, ProviderError, Retrying};

use crate::dns::known_zone::{KnownZone, Node, ZoneBuilder, ZoneRefresh};
use crate::state::{Dirty, FederationState};

/// Why a sync failed. The dirty services are kept and the next sync lists the zone again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The zone could not be listed.
    #[error("cannot list zone {zone}: {source}")]
    List {
        /// The zone.
        zone: DnsName,
        /// The provider's error.
        #[source]
        source: ProviderError,
    },
    /// Changes could not be applied (earlier batches may have been).
    #[error("cannot apply changes to zone {zone}: {source}")]
    Apply {
        /// The zone.
        zone: DnsName,
        /// What was and was not applied.
        #[source]
        source: Box<ApplyError>,
    },
    /// The topology cannot be planned (for example a zone label clash).
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl SyncError {
    /// Whether trying again later can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::List { source, .. } => source.is_retryable(),
            SyncError::Apply { source, .. } => source.source.is_retryable(),
            SyncError::Plan(_) => false,
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Services planned.
    pub services_planned: usize,
    /// Whether the zone was listed.
    pub listed: bool,
    /// What was written (`None`: nothing needed writing).
    pub applied: Option<ApplyReport>,
    /// Names left alone because records there are not ours.
    pub conflicts: Vec<Conflict>,
    /// Problems with services, by name.
    pub diagnostics: Vec<Diagnostic>,
    /// Nothing was written because every cluster is down.
    pub fail_static: bool,
}

impl SyncOutcome {
    /// Adds what a further step of the same sync did.
    pub fn add(&mut self, step: SyncOutcome) {
        self.services_planned += step.services_planned;
        self.listed |= step.listed;
        self.applied = match (self.applied.take(), step.applied) {
            (Some(mut a), Some(b)) => {
                a.batches += b.batches;
                a.groups += b.groups;
                a.record_sets += b.record_sets;
                a.names.extend(b.names);
                a.attempts += b.attempts;
                Some(a)
            }
            (a, b) => a.or(b),
        };
        self.conflicts.extend(step.conflicts);
        self.diagnostics.extend(step.diagnostics);
        self.fail_static |= step.fail_static;
    }
}

/// The sync state of one DNS zone.
pub struct ZoneSync {
    provider: Retrying<Arc<dyn DnsProvider>>,
    registry: Registry,
    known: Option<KnownZone>,
    /// Whether the known zone must be brought in step with a new listing (a periodic
    /// resync) before the next plan.
    relist: bool,
    planner: Option<Planner>,
    /// The names each service was last planned to have (names, not records: the records are
    /// in `known`, and keeping them twice would double the controller's memory).
    desired: BTreeMap<ServiceKey, Vec<DnsName>>,
    /// The pass over every service under way, if any.
    pass: Option<Pass>,
    /// Services per step of a pass ([`PASS_CHUNK`]).
    pass_chunk: usize,
}

/// How many services one step of a pass plans: the change set of a whole zone (a first
/// start, a zone wiped) is never held at once, only that of a chunk.
pub const PASS_CHUNK: usize = 250;

/// A pass over every service (after a listing, or when every service is dirty), planned and
/// written [`PASS_CHUNK`] services at a time.
#[derive(Debug)]
enum Pass {
    /// The zone was listed: the pass starts at the next [`ZoneSync::prepare`].
    Listed,
    /// Services are being planned.
    Planning {
        /// The services still to plan, the next ones last.
        keys: Vec<ServiceKey>,
        /// Whether the pass follows a listing: with the last services, names we own that no
        /// service wants are deleted.
        orphans: bool,
    },
}

/// Changes found by [`ZoneSync::prepare`], waiting for [`ZoneSync::apply`], together with the
/// dirty set they cover (taken from the state: it goes back there if they are not written).
#[derive(Debug)]
#[must_use = "changes that are neither applied nor given back leave their services clean but unsynced"]
pub struct Pending {
    changes: Changes,
    desired: Vec<DesiredUpdate>,
    outcome: SyncOutcome,
    dirty: Dirty,
}

/// What [`ZoneSync::apply`] did with a [`Pending`]; [`FederationState::settle`] takes it back
/// and, if the write failed, puts the dirty set back itself.
#[derive(Debug)]
#[must_use = "the outcome of a write must be settled with FederationState::settle"]
pub struct Applied {
    pub(crate) outcome: Result<SyncOutcome, SyncError>,
    pub(crate) dirty: Dirty,
}

/// The names a service is planned to have (`None`: it is no longer federated).
type DesiredUpdate = (ServiceKey, Option<Vec<DnsName>>);

impl Pending {
    /// The changes to write.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The dirty set these changes cover.
    pub fn dirty(&self) -> &Dirty {
        &self.dirty
    }

    /// Whether nothing will be written because every cluster is down.
    pub fn outcome_fail_static(&self) -> bool {
        self.outcome.fail_static
    }

    /// Not written (this replica may no longer write): the dirty set goes back to the state.
    pub fn give_back(self, state: &mut FederationState) {
        state.restore_dirty(self.dirty);
    }
}

impl FederationState {
    /// Takes back the outcome of a write: when it failed, the dirty set it covered is put
    /// back and every service marked dirty (the zone is listed again before the next plan),
    /// so nothing half-applied is left without a retry.
    pub fn settle(&mut self, applied: Applied) -> Result<SyncOutcome, SyncError> {
        if applied.outcome.is_err() {
            self.restore_dirty(applied.dirty);
            self.mark_all_dirty();
        }
        applied.outcome
    }
}

impl std::fmt::Debug for ZoneSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneSync")
            .field("provider", &self.provider.inner().name())
            .field("known_names", &self.known.as_ref().map(KnownZone::len))
            .field("services", &self.desired.len())
            .finish()
    }
}

/// A desired record set: one of the known zone that is planned as it stands, or the plan's
/// own (by its index among the planned sets kept).
enum Desired<'k> {
    Known(&'k RecordSet),
    Planned(usize),
}

impl ZoneSync {
    /// A zone sync writing through `provider` (wrapped in the retry layer) with `registry`.
    pub fn new(provider: Retrying<Arc<dyn DnsProvider>>, registry: Registry) -> Self {
        Self {
            provider,
            registry,
            known: None,
            relist: false,
            planner: None,
            desired: BTreeMap::new(),
            pass: None,
            pass_chunk: PASS_CHUNK,
        }
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn DnsProvider> {
        self.provider.inner()
    }

    /// Forgets the known zone content: the next sync lists the zone and re-plans everything.
    pub fn invalidate(&mut self) {
        self.known = None;
    }

    /// Asks for a new listing before the next plan, as [`invalidate`](ZoneSync::invalidate)
    /// does, but keeps the known zone to bring it in step with the listing in place: a
    /// listing of an unchanged zone then allocates nothing that lasts. For the periodic
    /// resync; after an error, [`invalidate`](ZoneSync::invalidate).
    pub fn relist(&mut self) {
        self.relist = true;
    }

    /// The zone as this sync knows it, sorted like a listing (empty before the first listing).
    pub fn known_records(&self) -> Vec<RecordSet> {
        self.known
            .as_ref()
            .map(KnownZone::records)
            .unwrap_or_default()
    }

    /// Whether the zone content is known (listed and kept up to date since).
    pub fn is_listed(&self) -> bool {
        self.known.is_some()
    }

    /// The names last planned for `key`.
    pub fn desired_names(&self, key: &ServiceKey) -> Option<&[DnsName]> {
        self.desired.get(key).map(Vec::as_slice)
    }

    /// Whether a pass over every service is under way: [`prepare`](ZoneSync::prepare) and
    /// [`apply`](ZoneSync::apply) have more to do, even with nothing dirty.
    pub fn has_more(&self) -> bool {
        self.pass.is_some()
    }

    /// Lists the zone when its content is not known (at start, after an error or
    /// [`invalidate`](ZoneSync::invalidate)); returns whether it listed.
    pub async fn list_if_needed(&mut self) -> Result<bool, SyncError> {
        if self.known.is_some() && !self.relist {
            return Ok(false);
        }
        let zone = self.provider.inner().zone().clone();
        match &mut self.known {
            Some(known) => {
                // Refreshed in place as the sets are read; a failed listing leaves a copy
                // that is neither the old zone nor the new one, so it is dropped.
                let mut refresh = ZoneRefresh::new(known);
                let listed = self.provider.list_each(&mut |rs| refresh.add(rs)).await;
                if let Err(source) = listed {
                    self.known = None;
                    self.relist = false;
                    return Err(SyncError::List { zone, source });
                }
                refresh.finish();
            }
            None => {
                // The copy is built as the sets are read: a large zone is never held twice.
                let mut builder = ZoneBuilder::new(self.registry.clone());
                self.provider
                    .list_each(&mut |rs| builder.add(rs))
                    .await
                    .map_err(|source| SyncError::List { zone, source })?;
                self.known = Some(builder.finish());
            }
        }
        self.relist = false;
        self.pass = Some(Pass::Listed);
        Ok(true)
    }

    /// Takes the dirty set from `state`, plans what it names and diffs it against the known
    /// zone, without IO (call it with the state locked, then release the lock for
    /// [`apply`](ZoneSync::apply)). The dirty set travels with the changes; when nothing is to
    /// be written (every cluster down: fail-static) or planning fails, it goes back to the
    /// state at once.
    ///
    /// After a listing, or when every service is dirty, a pass over every service starts: each
    /// call plans the next [`PASS_CHUNK`] of them (besides what is dirty) until
    /// [`has_more`](ZoneSync::has_more) says the pass is done. A pass after a listing ends with
    /// a step that deletes the names we own that no service wants any more.
    pub fn prepare(&mut self, state: &mut FederationState) -> Result<Pending, SyncError> {
        let dirty = state.take_dirty();
        let mut outcome = SyncOutcome::default();
        if state.all_clusters_down() {
            outcome.fail_static = true;
            state.restore_dirty(dirty);
            return Ok(Pending {
                changes: Changes::default(),
                desired: Vec::new(),
                outcome,
                dirty: Dirty::default(),
            });
        }
        // The planner indexes clusters with their readiness: rebuild it when either changes.
        if self.planner.is_none() || dirty.topology || dirty.all {
            match Planner::new(&state.snapshot()) {
                Ok(planner) => self.planner = Some(planner),
                Err(e) => {
                    state.restore_dirty(dirty);
                    return Err(e.into());
                }
            }
        }
        let mut keys: BTreeSet<ServiceKey> = BTreeSet::new();
        let listed = matches!(self.pass, Some(Pass::Listed));
        if !dirty.all && !listed {
            keys.clone_from(&dirty.services);
        } else {
            // A pass starts over: after a listing it ends with the names nobody wants.
            let orphans = listed || matches!(self.pass, Some(Pass::Planning { orphans: true, .. }));
            let all: BTreeSet<ServiceKey> = state
                .service_keys()
                .cloned()
                .chain(self.desired.keys().cloned())
                .collect();
            self.pass = Some(Pass::Planning {
                keys: all.into_iter().rev().collect(),
                orphans,
            });
        }
        let mut orphan_step = false;
        self.pass = match self.pass.take() {
            Some(Pass::Planning {
                keys: mut rest,
                orphans,
            }) => {
                keys.extend(rest.drain(rest.len().saturating_sub(self.pass_chunk)..));
                if rest.is_empty() {
                    orphan_step = orphans;
                    None
                } else {
                    Some(Pass::Planning {
                        keys: rest,
                        orphans,
                    })
                }
            }
            other => other,
        };
        let (mut changes, desired) = self.diff_services(state, &keys, &mut outcome);
        if orphan_step {
            let orphans = self.diff_orphans(&desired);
            changes.groups.extend(orphans.groups);
            changes.groups.sort_by(|a, b| a.name.cmp(&b.name));
            changes.conflicts.extend(orphans.conflicts);
        }
        Ok(Pending {
            changes,
            desired,
            outcome,
            dirty,
        })
    }

    /// Writes what [`prepare`](ZoneSync::prepare) found and remembers the result; hand what
    /// it returns to [`FederationState::settle`].
    pub async fn apply(&mut self, mut pending: Pending) -> Applied {
        let dirty = std::mem::take(&mut pending.dirty);
        Applied {
            outcome: self.write(pending).await,
            dirty,
        }
    }

    async fn write(&mut self, pending: Pending) -> Result<SyncOutcome, SyncError> {
        let Pending {
            changes,
            desired,
            mut outcome,
            dirty: _,
        } = pending;
        if !changes.is_empty() {
            let report = self.provider.apply_changes(&changes).await.map_err(|e| {
                self.known = None;
                SyncError::Apply {
                    zone: self.provider.inner().zone().clone(),
                    source: Box::new(e),
                }
            })?;
            // Update the known zone in place: only the names that changed are touched, so the
            // cost follows the change, not the zone. The written sets move into it.
            let known = self
                .known
                .get_or_insert_with(|| KnownZone::new(self.registry.clone()));
            for g in changes.groups {
                for rs in g.delete.iter().chain(&g.update_old) {
                    known.remove(rs);
                }
                // A name's own sets before its ownership record: its entry is then keyed by
                // the text its sets hold, not by a second copy of it.
                let (owners, sets): (Vec<_>, Vec<_>) = g
                    .update_new
                    .into_iter()
                    .chain(g.create)
                    .partition(|rs| rs.rtype() == &RecordType::Txt);
                for rs in sets.into_iter().chain(owners) {
                    known.put(rs);
                }
            }
            outcome.applied = Some(report);
        }
        for (key, records) in desired {
            match records {
                Some(r) => self.desired.insert(key, r),
                None => self.desired.remove(&key),
            };
        }
        if let Some(known) = &mut self.known {
            // A first sync fills the copy one write at a time: as it grows, the copy is
            // repacked to the size of one built from a listing.
            known.pack_if_grown();
        }
        outcome.conflicts = changes.conflicts;
        Ok(outcome)
    }

    fn diff_services(
        &self,
        state: &FederationState,
        keys: &BTreeSet<ServiceKey>,
        outcome: &mut SyncOutcome,
    ) -> (Changes, Vec<DesiredUpdate>) {
        let planner = self.planner.as_ref().expect("planner built before prepare");
        let known = self.known.as_ref().expect("zone listed before prepare");
        // The desired record sets, in the order planned. A planned set that the zone holds as it
        // is takes part as the zone's own (equal) set and the plan's copy is dropped at once, so
        // that a pass over a zone in step does not hold a second copy of it.
        let mut desired: Vec<Desired<'_>> = Vec::new();
        let mut planned_sets: Vec<RecordSet> = Vec::new();
        // The names concerned: the diff looks at the zone there only.
        let mut names: BTreeSet<DnsName> = BTreeSet::new();
        let mut new_desired = Vec::with_capacity(keys.len());
        for key in keys {
            let old = self.desired.get(key);
            let service = state.service(key);
            let federated = service.is_some();
            let records = match service {
                None => Vec::new(),
                Some(service) => {
                    let plan = planner.plan_service(&service);
                    outcome.services_planned += 1;
                    let complete = plan.is_complete();
                    outcome.diagnostics.extend(plan.diagnostics);
                    if !complete {
                        // Keep whatever stands for this service.
                        for n in old.into_iter().flatten() {
                            if let Some(node) = known.get(n) {
                                desired.extend(
                                    node.sets()
                                        .iter()
                                        .filter(|r| r.rtype().is_address_or_alias())
                                        .map(Desired::Known),
                                );
                            }
                            names.insert(n.clone());
                        }
                        continue;
                    }
                    plan.records
                }
            };
            // The names to remember, sharing the text of the known zone's names where they
            // stand already (the plan's own copies are dropped with the plan).
            let mut planned: Vec<DnsName> = Vec::with_capacity(records.len());
            for rs in records {
                let at = known.get_key_value(rs.name());
                if planned.last() != Some(rs.name()) {
                    planned.push(at.map_or(rs.name(), |(k, _)| k).clone());
                }
                match at.and_then(|(_, node)| node.sets().iter().find(|x| **x == rs)) {
                    Some(same) => desired.push(Desired::Known(same)),
                    None => {
                        desired.push(Desired::Planned(planned_sets.len()));
                        planned_sets.push(rs);
                    }
                }
            }
            planned.shrink_to_fit();
            names.extend(old.into_iter().flatten().cloned());
            names.extend(planned.iter().cloned());
            new_desired.push((key.clone(), federated.then_some(planned)));
        }
        let desired = desired.iter().map(|d| match d {
            Desired::Known(rs) => *rs,
            Desired::Planned(i) => &planned_sets[*i],
        });
        // Sets at an ownership name that are not kept by the name they stand for (a CNAME, a
        // TXT of several strings) are looked at too.
        let owners: Vec<DnsName> = names
            .iter()
            .filter_map(|n| self.registry.ownership_name(n).ok().flatten())
            .collect();
        names.extend(owners);
        // The known zone takes part by reference.
        let current = names
            .iter()
            .filter_map(|n| known.get(n))
            .flat_map(Node::current);
        (diff_sets(current, desired, &self.registry), new_desired)
    }

    /// With the last step of a pass after a listing: the names no service wants (neither as
    /// last planned nor in `updates`, the plans of this step) and the ownership names that
    /// stand for them are diffed against nothing, so that those we own are deleted. Names of
    /// the services of this step are not among them: their diff covers them.
    fn diff_orphans(&self, updates: &[DesiredUpdate]) -> Changes {
        let known = self.known.as_ref().expect("zone listed before prepare");
        let wanted: HashSet<&str> = self
            .desired
            .values()
            .chain(updates.iter().filter_map(|(_, names)| names.as_ref()))
            .flatten()
            .map(DnsName::as_str)
            .collect();
        let unwanted = |name: &DnsName| {
            let n = name.as_str();
            !wanted.contains(n)
                && !self
                    .registry
                    .managed_name(n)
                    .is_some_and(|m| wanted.contains(m))
        };
        let current = known
            .entries()
            .filter(|(name, _)| unwanted(name))
            .flat_map(|(_, node)| node.current());
        diff_sets(current, std::iter::empty(), &self.registry)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use fedsvc_dns_plan::Registry;
    use fedsvc_model::{
        Cluster, ClusterName, DnsName, Label, LabelRules, RData, RecordSet, RecordType, ServiceKey,
        Snapshot,
    };
    use fedsvc_providers::{Counting, DnsProvider, MemoryProvider, Retrying};

    use super::*;
    use crate::state::{FederationState, ShardObservation};

    fn label(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "test").unwrap()
    }

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    fn cn(s: &str) -> ClusterName {
        ClusterName::parse(s).unwrap()
    }

    fn nginx() -> ServiceKey {
        ServiceKey::parse("mynamespace", "nginx").unwrap()
    }

    /// Four clusters in two regions, nginx healthy everywhere.
    fn two_regions() -> FederationState {
        let mut s = FederationState::new(Snapshot::new(label("myfederation"), name("example.com")));
        for (c, r, z) in [
            ("c-a", "r1", "r1-a"),
            ("c-b", "r1", "r1-b"),
            ("c-c", "r2", "r2-a"),
            ("c-d", "r2", "r2-b"),
        ] {
            s.upsert_cluster(Cluster::new(cn(c), label(r), vec![label(z)], true).unwrap());
        }
        s.upsert_service(nginx(), None);
        for (i, c) in ["c-a", "c-b", "c-c", "c-d"].iter().enumerate() {
            s.observe_shard(
                &nginx(),
                &cn(c),
                Some(obs(&nginx(), &format!("10.0.0.{}", i + 1), 2)),
            );
        }
        s
    }

    fn obs(key: &ServiceKey, ip: &str, ready: u32) -> ShardObservation {
        ShardObservation::new(key.clone(), vec![ip.parse().unwrap()], vec![], ready)
    }

    struct Fixture {
        counting: Arc<Counting<MemoryProvider>>,
        sync: ZoneSync,
    }

    fn fixture() -> Fixture {
        let counting = Arc::new(Counting::new(MemoryProvider::new(name("example.com"))));
        let dynp: Arc<dyn DnsProvider> = counting.clone();
        let sync = ZoneSync::new(Retrying::new(dynp), Registry::txt(label("myfederation")));
        Fixture { counting, sync }
    }

    /// One sync through the loop the DNS task runs.
    async fn run(f: &mut Fixture, state: &mut FederationState) -> SyncOutcome {
        try_sync(&mut f.sync, state).await.unwrap()
    }

    async fn try_sync(
        sync: &mut ZoneSync,
        state: &mut FederationState,
    ) -> Result<SyncOutcome, SyncError> {
        let locked = std::sync::Mutex::new(state.clone());
        let out = crate::dns::sync_once(&locked, sync).await;
        *state = locked.into_inner().unwrap();
        out
    }

    /// An A set of one address.
    fn a(n: &str, ttl: u32, ip: &str) -> RecordSet {
        RecordSet::new(
            name(n),
            RecordType::A,
            ttl,
            vec![RData::A(ip.parse().unwrap())],
        )
        .unwrap()
    }

    fn at<'a>(records: &'a [RecordSet], n: &str) -> Vec<&'a RecordSet> {
        records.iter().filter(|r| r.name().as_str() == n).collect()
    }

    const ZONE_R1A: &str = "nginx.mynamespace.myfederation.svc.r1-a.example.com.";

    #[tokio::test]
    async fn converges_then_costs_nothing_in_steady_state() {
        let mut f = fixture();
        let mut state = two_regions();
        let first = run(&mut f, &mut state).await;
        assert!(first.listed);
        assert_eq!(first.applied.as_ref().unwrap().batches, 1);
        let stats = f.counting.stats();
        assert_eq!((stats.lists, stats.writes), (1, 1));
        let zone = f.counting.list().await.unwrap();
        assert_eq!(
            at(&zone, ZONE_R1A)[0].data(),
            &[RData::A("10.0.0.1".parse().unwrap())]
        );
        // 1 global + 2 regions + 4 zones, each with an ownership record.
        assert_eq!(zone.len(), 14);

        f.counting.reset();
        let again = run(&mut f, &mut state).await;
        assert_eq!(again, SyncOutcome::default());
        // A periodic resync marks everything dirty: it plans, but writes nothing.
        state.mark_all_dirty();
        let resync = run(&mut f, &mut state).await;
        assert!(resync.applied.is_none());
        let stats = f.counting.stats();
        assert_eq!((stats.lists, stats.writes), (0, 0));
    }

    /// The ownership texts of the known zone, one per TXT set.
    fn texts(sync: &ZoneSync) -> Vec<Arc<str>> {
        sync.known_records()
            .iter()
            .flat_map(|rs| rs.data().to_vec())
            .filter_map(|d| match d {
                RData::Txt(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn the_known_zone_holds_a_services_ownership_text_once() {
        let mut f = fixture();
        let mut state = two_regions();
        run(&mut f, &mut state).await;
        let written = texts(&f.sync);
        assert_eq!(written.len(), 7, "one ownership record per name");
        assert!(written.iter().all(|t| Arc::ptr_eq(t, &written[0])));
        // After a listing (a restart, a periodic resync) too.
        f.sync.invalidate();
        state.mark_all_dirty();
        run(&mut f, &mut state).await;
        let listed = texts(&f.sync);
        assert_eq!(listed.len(), 7);
        assert!(listed.iter().all(|t| Arc::ptr_eq(t, &listed[0])));
    }

    #[tokio::test]
    async fn a_pass_writes_a_chunk_at_a_time_and_deletes_orphans_last() {
        let registry = Registry::txt(label("myfederation"));
        // An owned name of a service that is gone (written by an earlier controller), and a
        // record of someone else's.
        let gone = a(
            "gone.mynamespace.myfederation.svc.example.com",
            60,
            "192.0.2.7",
        );
        let other = a("www.example.com", 300, "192.0.2.1");
        let mut seed = registry.with_ownership(std::slice::from_ref(&gone));
        seed.push(other.clone());
        let mut state = two_regions();
        for i in 0..4 {
            let key = ServiceKey::parse("mynamespace", &format!("web-{i}")).unwrap();
            state.upsert_service(key.clone(), None);
            for c in ["c-a", "c-c"] {
                state.observe_shard(&key, &cn(c), Some(obs(&key, &format!("10.1.0.{i}"), 1)));
            }
        }
        let mut zones = Vec::new();
        for chunk in [2, PASS_CHUNK] {
            let mut f = fixture();
            f.sync.pass_chunk = chunk;
            f.counting.inner().seed(seed.clone());
            let mut state = state.clone();
            state.mark_all_dirty();
            let out = run(&mut f, &mut state).await;
            assert_eq!(out.services_planned, 5);
            assert!(!f.sync.has_more());
            // 5 services by 2: three steps, the last deleting the orphan too; or one step.
            let writes = if chunk == 2 { 3 } else { 1 };
            assert_eq!(f.counting.stats().writes, writes, "chunk {chunk}");
            let zone = f.counting.list().await.unwrap();
            assert!(zone.contains(&other));
            assert!(!zone.iter().any(|r| r.name().as_str().contains("gone.")));
            assert_eq!(f.sync.known_records(), zone);
            // In step: a pass after a new listing writes nothing.
            f.sync.invalidate();
            state.mark_all_dirty();
            run(&mut f, &mut state).await;
            assert_eq!(f.counting.stats().writes, writes, "chunk {chunk}");
            zones.push(zone);
        }
        assert_eq!(zones[0], zones[1]);
    }

    #[tokio::test]
    async fn a_periodic_relisting_repairs_drift_in_the_copy_it_keeps() {
        let mut f = fixture();
        let mut state = two_regions();
        run(&mut f, &mut state).await;
        let synced = f.counting.list().await.unwrap();
        let writes = f.counting.stats().writes;
        // Someone deletes one of our sets, changes another and adds a name of their own.
        let ours: Vec<RecordSet> = synced
            .iter()
            .filter(|r| r.rtype() == &RecordType::A)
            .take(2)
            .cloned()
            .collect();
        let mut deleted = fedsvc_dns_plan::ChangeGroup::new(ours[0].name().clone());
        deleted.delete.push(ours[0].clone());
        let inner = f.counting.inner();
        inner.apply(&[deleted]).await.unwrap();
        inner.seed([
            a(ours[1].name().as_str(), ours[1].ttl(), "192.0.2.99"),
            a("www.example.com", 300, "192.0.2.1"),
        ]);
        // A relisting keeps the copy and brings it in step: the drift is repaired.
        f.sync.relist();
        state.mark_all_dirty();
        let out = run(&mut f, &mut state).await;
        assert!(out.listed);
        assert_eq!(f.counting.stats().writes, writes + 1);
        let mut want = synced.clone();
        want.push(a("www.example.com", 300, "192.0.2.1"));
        want.sort();
        let zone = f.counting.list().await.unwrap();
        assert_eq!(zone, want);
        assert_eq!(f.sync.known_records(), zone);
        // A relisting that fails drops the copy: the next sync lists the zone afresh.
        f.sync.relist();
        f.counting.inner().set_available(false);
        assert!(try_sync(&mut f.sync, &mut state).await.is_err());
        assert!(!f.sync.is_listed());
        f.counting.inner().set_available(true);
        state.mark_all_dirty();
        assert!(run(&mut f, &mut state).await.listed);
        assert_eq!(f.sync.known_records(), zone);
    }

    #[tokio::test]
    async fn the_known_zone_holds_each_name_once() {
        let mut f = fixture();
        let mut state = two_regions();
        // Written (the diff puts a name's ownership record first), then listed.
        for listed in [false, true] {
            if listed {
                f.sync.invalidate();
                state.mark_all_dirty();
            }
            run(&mut f, &mut state).await;
            let known = f.sync.known.as_ref().unwrap();
            let records = f.sync.known_records();
            let mut checked = 0;
            for rs in records.iter().filter(|r| r.rtype() != &RecordType::Txt) {
                let (key, node) = known.get_key_value(rs.name()).unwrap();
                let held = &node.sets()[0];
                assert!(
                    std::ptr::eq(key.as_str(), held.name().as_str()),
                    "{} held twice (listed: {listed})",
                    rs.name()
                );
                checked += 1;
            }
            assert_eq!(checked, 7);
        }
    }

    #[tokio::test]
    async fn a_zone_without_endpoints_flips_to_a_cname_in_one_write() {
        let mut f = fixture();
        let mut state = two_regions();
        run(&mut f, &mut state).await;
        f.counting.reset();
        state.observe_shard(&nginx(), &cn("c-a"), Some(obs(&nginx(), "10.0.0.1", 0)));
        let out = run(&mut f, &mut state).await;
        assert_eq!(out.services_planned, 1);
        assert_eq!(f.counting.stats().writes, 1);
        assert_eq!(f.counting.stats().lists, 0);
        let zone = f.counting.list().await.unwrap();
        // What the sync knows of the zone is exactly what the provider holds.
        let known: Vec<RecordSet> = f.sync.known_records();
        assert_eq!(known, zone);
        let rs = at(&zone, ZONE_R1A);
        assert_eq!(rs.len(), 1);
        assert_eq!(
            rs[0].cname_target().unwrap().as_str(),
            "nginx.mynamespace.myfederation.svc.r1.example.com."
        );
    }

    #[tokio::test]
    async fn fail_static_when_every_cluster_is_down() {
        let mut f = fixture();
        let mut state = two_regions();
        run(&mut f, &mut state).await;
        let before = f.counting.list().await.unwrap();
        f.counting.reset();
        for c in ["c-a", "c-b", "c-c", "c-d"] {
            state.set_ready(&cn(c), false);
        }
        let out = run(&mut f, &mut state).await;
        assert!(out.fail_static);
        assert_eq!(f.counting.stats().writes, 0);
        assert_eq!(f.counting.list().await.unwrap(), before);
        // One cluster back: its shards are the only healthy ones left.
        state.set_ready(&cn("c-c"), true);
        run(&mut f, &mut state).await;
        let zone = f.counting.list().await.unwrap();
        let global = at(&zone, "nginx.mynamespace.myfederation.svc.example.com.");
        assert_eq!(global[0].data(), &[RData::A("10.0.0.3".parse().unwrap())]);
    }

    #[tokio::test]
    async fn deleting_a_service_removes_every_record_and_keeps_foreign_ones() {
        let mut f = fixture();
        let foreign = RecordSet::new(
            name(ZONE_R1A),
            RecordType::Txt,
            300,
            vec![RData::Txt("google-site-verification=abc".into())],
        )
        .unwrap();
        let other = a("www.example.com", 300, "192.0.2.1");
        f.counting.inner().seed([foreign.clone(), other.clone()]);
        let mut state = two_regions();
        // Make one zone a CNAME so that deletion must remove CNAMEs too.
        state.observe_shard(&nginx(), &cn("c-b"), Some(obs(&nginx(), "10.0.0.2", 0)));
        run(&mut f, &mut state).await;
        state.remove_service(&nginx());
        run(&mut f, &mut state).await;
        let zone = f.counting.list().await.unwrap();
        assert_eq!(zone, vec![foreign, other]);
    }

    #[tokio::test]
    async fn a_restarted_controller_converges_without_writes_or_orphans() {
        let mut f = fixture();
        let mut state = two_regions();
        run(&mut f, &mut state).await;
        // A second service is created, then deleted while the controller is down.
        let web = ServiceKey::parse("shop", "web").unwrap();
        state.upsert_service(web.clone(), None);
        state.observe_shard(&web, &cn("c-a"), Some(obs(&web, "10.9.0.1", 1)));
        run(&mut f, &mut state).await;
        state.remove_service(&web);
        state.take_dirty();

        let dynp: Arc<dyn DnsProvider> = f.counting.clone();
        let mut restarted =
            ZoneSync::new(Retrying::new(dynp), Registry::txt(label("myfederation")));
        f.counting.reset();
        let mut fresh = two_regions();
        let out = try_sync(&mut restarted, &mut fresh).await.unwrap();
        assert!(out.listed);
        // The orphaned records of shop/web are found by their ownership records and deleted.
        let zone = f.counting.list().await.unwrap();
        assert!(
            zone.iter().all(|r| !r.name().as_str().contains("web.shop")),
            "{zone:#?}"
        );
        assert_eq!(zone.len(), 14);
        assert_eq!(f.counting.stats().writes, 1);
        // And from then on nothing.
        f.counting.reset();
        fresh.mark_all_dirty();
        try_sync(&mut restarted, &mut fresh).await.unwrap();
        assert_eq!(f.counting.stats().writes, 0);
    }

    #[tokio::test]
    async fn records_of_others_at_our_names_are_conflicts() {
        let mut f = fixture();
        let squatter = RecordSet::new(
            name(ZONE_R1A),
            RecordType::A,
            60,
            vec![RData::A("198.51.100.7".parse().unwrap())],
        )
        .unwrap();
        f.counting.inner().seed([squatter.clone()]);
        let mut state = two_regions();
        let out = run(&mut f, &mut state).await;
        assert_eq!(out.conflicts.len(), 1);
        assert_eq!(out.conflicts[0].name.as_str(), ZONE_R1A);
        let zone = f.counting.list().await.unwrap();
        assert_eq!(at(&zone, ZONE_R1A), vec![&squatter]);
    }

    #[tokio::test]
    async fn a_failed_write_gives_its_dirty_set_back() {
        let mut f = fixture();
        let mut state = two_regions();
        let dynp: Arc<dyn DnsProvider> = f.counting.clone();
        f.sync = ZoneSync::new(
            Retrying::with_policy(
                dynp,
                fedsvc_providers::RetryPolicy {
                    max_attempts: 1,
                    ..Default::default()
                },
            ),
            Registry::txt(label("myfederation")),
        );
        run(&mut f, &mut state).await;
        // The zone is known: the next sync writes without listing, and that write fails.
        state.observe_shard(&nginx(), &cn("c-a"), Some(obs(&nginx(), "10.0.0.9", 2)));
        f.counting.inner().set_available(false);
        assert!(matches!(
            try_sync(&mut f.sync, &mut state).await,
            Err(SyncError::Apply { .. })
        ));
        let dirty = state.take_dirty();
        assert!(dirty.all && dirty.services.contains(&nginx()), "{dirty:?}");
        state.restore_dirty(dirty);
        f.counting.inner().set_available(true);
        let out = run(&mut f, &mut state).await;
        assert!(out.listed);
        let zone = f.counting.list().await.unwrap();
        assert_eq!(at(&zone, ZONE_R1A), vec![&a(ZONE_R1A, 180, "10.0.0.9")]);
    }

    #[tokio::test]
    async fn a_failed_write_is_retried_after_relisting() {
        let mut f = fixture();
        let mut state = two_regions();
        f.counting.inner().set_available(false);
        let dynp: Arc<dyn DnsProvider> = f.counting.clone();
        f.sync = ZoneSync::new(
            Retrying::with_policy(
                dynp,
                fedsvc_providers::RetryPolicy {
                    max_attempts: 1,
                    ..Default::default()
                },
            ),
            Registry::txt(label("myfederation")),
        );
        let err = try_sync(&mut f.sync, &mut state).await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        // Nothing is given back by hand: the loop kept the dirty set in the state.
        f.counting.inner().set_available(true);
        let out = run(&mut f, &mut state).await;
        assert!(out.listed);
        assert_eq!(f.counting.list().await.unwrap().len(), 14);
    }
}
