//! The checks a strict DNS server makes when changes arrive, shared by every backend: a zone's
//! record sets in memory with those checks (the memory backend's zone, and what PowerDNS and
//! Route53 check a batch against before writing), the checks of a batch alone, and which record
//! sets belong to the server rather than to the zone's data.

use std::collections::{BTreeMap, BTreeSet};

use fedsvc_dns_plan::ChangeGroup;
use fedsvc_model::{DnsName, RecordSet, RecordType};

use crate::error::ProviderError;

/// The record sets of one zone, keyed by name and type, with the checks of a strict server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ZoneState {
    sets: BTreeMap<(DnsName, RecordType), RecordSet>,
}

impl ZoneState {
    pub(crate) fn sets(&self) -> impl Iterator<Item = &RecordSet> {
        self.sets.values()
    }

    /// Inserts or replaces a set without any check (seeding foreign records).
    pub(crate) fn put(&mut self, rs: RecordSet) {
        self.sets.insert(key(&rs), rs);
    }

    /// Applies `batch` in order, checking every step; on error `self` is left half-changed, so
    /// callers apply to a copy and keep it only on success.
    pub(crate) fn apply_batch(
        &mut self,
        provider: &str,
        zone: &DnsName,
        batch: &[ChangeGroup],
    ) -> Result<(), ProviderError> {
        check_batch(provider, zone, batch)?;
        for group in batch {
            self.apply_group(provider, group)?;
        }
        Ok(())
    }

    fn apply_group(&mut self, provider: &str, group: &ChangeGroup) -> Result<(), ProviderError> {
        for rs in &group.delete {
            match self.sets.get(&key(rs)) {
                None => {
                    return Err(ProviderError::conflict(
                        provider,
                        format!(
                            "cannot delete {} {}: no such record set",
                            rs.name(),
                            rs.rtype()
                        ),
                    ));
                }
                Some(cur) if cur.data() != rs.data() => {
                    return Err(ProviderError::conflict(
                        provider,
                        format!(
                            "cannot delete {} {}: it holds {} now, not {}",
                            rs.name(),
                            rs.rtype(),
                            data_text(cur),
                            data_text(rs)
                        ),
                    ));
                }
                Some(_) => {
                    self.sets.remove(&key(rs));
                }
            }
        }
        for (old, new) in group.update_old.iter().zip(&group.update_new) {
            if key(old) != key(new) {
                return Err(ProviderError::invalid(
                    provider,
                    format!(
                        "an update must keep name and type: {} {} -> {} {}",
                        old.name(),
                        old.rtype(),
                        new.name(),
                        new.rtype()
                    ),
                ));
            }
            match self.sets.get(&key(old)) {
                Some(cur) if cur == old => {
                    self.sets.insert(key(new), new.clone());
                }
                Some(cur) => {
                    return Err(ProviderError::conflict(
                        provider,
                        format!(
                            "cannot update {} {}: it holds ttl {} {} now, not ttl {} {}",
                            old.name(),
                            old.rtype(),
                            cur.ttl(),
                            data_text(cur),
                            old.ttl(),
                            data_text(old)
                        ),
                    ));
                }
                None => {
                    return Err(ProviderError::conflict(
                        provider,
                        format!(
                            "cannot update {} {}: no such record set",
                            old.name(),
                            old.rtype()
                        ),
                    ));
                }
            }
        }
        for rs in &group.create {
            if self.sets.contains_key(&key(rs)) {
                return Err(ProviderError::conflict(
                    provider,
                    format!(
                        "cannot create {} {}: the record set already exists",
                        rs.name(),
                        rs.rtype()
                    ),
                ));
            }
            self.sets.insert(key(rs), rs.clone());
        }
        let touched: BTreeSet<&DnsName> = group
            .delete
            .iter()
            .chain(&group.update_new)
            .chain(&group.create)
            .map(RecordSet::name)
            .collect();
        for name in touched {
            self.check_cname_exclusive(provider, name)?;
        }
        Ok(())
    }

    /// Refuses a CNAME beside other data at `name`.
    pub(crate) fn check_cname_exclusive(
        &self,
        provider: &str,
        name: &DnsName,
    ) -> Result<(), ProviderError> {
        let types: Vec<&RecordType> = self
            .sets
            .range((name.clone(), RecordType::A)..)
            .take_while(|((n, _), _)| n == name)
            .map(|((_, t), _)| t)
            .collect();
        if types.contains(&&RecordType::Cname) && types.len() > 1 {
            let others: Vec<&str> = types
                .iter()
                .filter(|t| ***t != RecordType::Cname)
                .map(|t| t.as_str())
                .collect();
            return Err(ProviderError::invalid(
                provider,
                format!(
                    "a CNAME at {name} cannot stand beside other data ({})",
                    others.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

fn key(rs: &RecordSet) -> (DnsName, RecordType) {
    (rs.name().clone(), rs.rtype().clone())
}

fn data_text(rs: &RecordSet) -> String {
    let parts: Vec<String> = rs.data().iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// The names at which `batch` expects something: where it deletes, updates or creates.
#[cfg(any(feature = "powerdns", feature = "route53"))]
pub(crate) fn names_touched(batch: &[ChangeGroup]) -> BTreeSet<DnsName> {
    batch
        .iter()
        .flat_map(|g| g.delete.iter().chain(&g.update_old).chain(&g.create))
        .map(|rs| rs.name().clone())
        .collect()
}

/// Checks `batch` as a strict server would, against `current`: what the zone holds at the
/// [names the batch touches](names_touched), read just before writing, for backends that
/// replace record sets unconditionally or do not enforce every check.
#[cfg(any(feature = "powerdns", feature = "route53"))]
pub(crate) fn check_against(
    provider: &str,
    zone: &DnsName,
    batch: &[ChangeGroup],
    current: Vec<RecordSet>,
) -> Result<(), ProviderError> {
    let mut state = ZoneState::default();
    for rs in current {
        state.put(rs);
    }
    state.apply_batch(provider, zone, batch)
}

/// Whether a record set at `name` of type `rtype` belongs to the server rather than to the zone's
/// data: the zone's SOA and its apex NS, which listings leave out.
#[cfg(any(
    feature = "rfc2136",
    feature = "powerdns",
    feature = "route53",
    feature = "clouddns"
))]
pub(crate) fn server_owned(zone: &DnsName, name: &DnsName, rtype: &RecordType) -> bool {
    matches!(rtype, RecordType::Other(t) if t == "SOA" || (t == "NS" && name == zone))
}

/// Checks that do not depend on the zone's content: names inside the zone, no record set twice
/// in one role, updates paired.
pub(crate) fn check_batch(
    provider: &str,
    zone: &DnsName,
    batch: &[ChangeGroup],
) -> Result<(), ProviderError> {
    for group in batch {
        if group.update_old.len() != group.update_new.len() {
            return Err(ProviderError::invalid(
                provider,
                format!(
                    "change group {} has {} old and {} new update record sets",
                    group.name,
                    group.update_old.len(),
                    group.update_new.len()
                ),
            ));
        }
        let mut deleted = BTreeSet::new();
        let mut written = BTreeSet::new();
        for rs in group.delete.iter().chain(&group.update_old) {
            check_in_zone(provider, zone, rs)?;
            if !deleted.insert(key(rs)) {
                return Err(duplicate(provider, rs));
            }
        }
        for rs in group.update_new.iter().chain(&group.create) {
            check_in_zone(provider, zone, rs)?;
            if !written.insert(key(rs)) {
                return Err(duplicate(provider, rs));
            }
        }
    }
    Ok(())
}

fn duplicate(provider: &str, rs: &RecordSet) -> ProviderError {
    ProviderError::invalid(
        provider,
        format!(
            "record set {} {} appears twice in one change",
            rs.name(),
            rs.rtype()
        ),
    )
}

fn check_in_zone(provider: &str, zone: &DnsName, rs: &RecordSet) -> Result<(), ProviderError> {
    if rs.name().is_subdomain_of(zone) {
        Ok(())
    } else {
        Err(ProviderError::invalid(
            provider,
            format!("{} lies outside the zone {zone}", rs.name()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::RData;

    fn n(s: &str) -> DnsName {
        s.parse().unwrap()
    }

    fn a(name: &str, ip: &str) -> RecordSet {
        RecordSet::new(
            n(name),
            RecordType::A,
            60,
            vec![RData::A(ip.parse().unwrap())],
        )
        .unwrap()
    }

    #[test]
    fn strict_checks() {
        let zone = n("example.com");
        let mut s = ZoneState::default();
        let mut g = ChangeGroup::new(n("x.example.com"));
        g.create.push(a("x.example.com", "10.0.0.1"));
        s.apply_batch("m", &zone, std::slice::from_ref(&g)).unwrap();
        // create again: conflict
        let e = s.clone().apply_batch("m", &zone, &[g.clone()]).unwrap_err();
        assert!(matches!(e, ProviderError::Conflict { .. }), "{e}");
        // CNAME beside A
        let mut c = ChangeGroup::new(n("x.example.com"));
        c.create
            .push(RecordSet::cname(n("x.example.com"), 60, n("y.example.com")));
        let e = s.clone().apply_batch("m", &zone, &[c]).unwrap_err();
        assert!(e.to_string().contains("CNAME at x.example.com."), "{e}");
        // outside the zone
        let mut o = ChangeGroup::new(n("x.example.org"));
        o.create.push(a("x.example.org", "10.0.0.1"));
        let e = s.clone().apply_batch("m", &zone, &[o]).unwrap_err();
        assert!(e.to_string().contains("outside the zone"), "{e}");
        // delete absent
        let mut d = ChangeGroup::new(n("z.example.com"));
        d.delete.push(a("z.example.com", "10.0.0.1"));
        assert!(s.clone().apply_batch("m", &zone, &[d]).is_err());
        // update_old mismatch
        let mut u = ChangeGroup::new(n("x.example.com"));
        u.update_old.push(a("x.example.com", "10.0.0.9"));
        u.update_new.push(a("x.example.com", "10.0.0.2"));
        assert!(s.clone().apply_batch("m", &zone, &[u]).is_err());
        // duplicate in one group
        let mut dup = ChangeGroup::new(n("w.example.com"));
        dup.create.push(a("w.example.com", "10.0.0.1"));
        dup.create.push(a("w.example.com", "10.0.0.2"));
        assert!(s.clone().apply_batch("m", &zone, &[dup]).is_err());
    }
}
