//! The names of a federated service's records, and the way back from a name to its service.

use fedsvc_model::{DnsName, Label, LabelRules, NameError, ServiceKey, Snapshot, ZoneNaming};

use crate::level::Level;

/// The fixed label between the federation name and the locality labels (`S.N.F.svc.…`).
pub const SVC_LABEL: &str = "svc";

/// What the labels between `svc` and the DNS suffix of a name say, before the topology is
/// consulted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Locality {
    /// No label: the global name.
    Global,
    /// One label: a region, or (with [`ZoneNaming::Zone`]) possibly a zone; only the topology
    /// tells which (see [`Planner::level_of`](crate::Planner::level_of)).
    Single(Label),
    /// Two labels, zone then region (only with [`ZoneNaming::ZoneRegion`]).
    ZoneRegion {
        /// The zone label.
        zone: Label,
        /// The region label.
        region: Label,
    },
}

/// A name recognised as one of a federated service's names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParsedName {
    /// The service the name belongs to.
    pub key: ServiceKey,
    /// What the locality labels say.
    pub locality: Locality,
}

/// How a federation names its records: `S.N.F.svc.[Z.][R.]D.`.
///
/// ```
/// use fedsvc_model::{DnsName, Label, LabelRules, ServiceKey, ZoneNaming};
/// use fedsvc_dns_plan::{Level, Locality, Naming};
///
/// let fed = Label::parse("myfederation", LabelRules::Rfc1123, "federation").unwrap();
/// let naming = Naming::new(fed, DnsName::parse("example.com").unwrap(), ZoneNaming::Zone);
/// let key = ServiceKey::parse("mynamespace", "nginx").unwrap();
/// let zone = Label::parse("us-central1-f", LabelRules::Rfc1123, "zone").unwrap();
/// let region = Label::parse("us-central1", LabelRules::Rfc1123, "region").unwrap();
/// let name = naming.name(&key, &Level::Zone { zone: zone.clone(), region }).unwrap();
/// assert_eq!(name.as_str(), "nginx.mynamespace.myfederation.svc.us-central1-f.example.com.");
/// let parsed = naming.parse(&name).unwrap();
/// assert_eq!(parsed.key, key);
/// assert_eq!(parsed.locality, Locality::Single(zone));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Naming {
    federation: Label,
    dns_suffix: DnsName,
    zone_naming: ZoneNaming,
}

impl Naming {
    /// The naming of federation `federation` under `dns_suffix`.
    pub fn new(federation: Label, dns_suffix: DnsName, zone_naming: ZoneNaming) -> Self {
        Self {
            federation,
            dns_suffix,
            zone_naming,
        }
    }

    /// The naming a snapshot uses.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        Self::new(
            snapshot.federation.clone(),
            snapshot.dns_suffix.clone(),
            snapshot.zone_naming,
        )
    }

    /// The federation's name.
    pub fn federation(&self) -> &Label {
        &self.federation
    }

    /// The DNS suffix.
    pub fn dns_suffix(&self) -> &DnsName {
        &self.dns_suffix
    }

    /// How zone names are built.
    pub fn zone_naming(&self) -> ZoneNaming {
        self.zone_naming
    }

    /// `S.N.F.svc.` for `key`, the part every name of the service starts with.
    pub fn service_prefix(&self, key: &ServiceKey) -> String {
        format!(
            "{}.{}.{}.{SVC_LABEL}.",
            key.name, key.namespace, self.federation
        )
    }

    /// The part of a name after the service prefix for `level`: `D.`, `R.D.`, `Z.D.` or
    /// `Z.R.D.`.
    pub fn level_suffix(&self, level: &Level) -> String {
        match level {
            Level::Global => self.dns_suffix.to_string(),
            Level::Region { region } => format!("{region}.{}", self.dns_suffix),
            Level::Zone { zone, region } => match self.zone_naming {
                ZoneNaming::ZoneRegion => format!("{zone}.{region}.{}", self.dns_suffix),
                _ => format!("{zone}.{}", self.dns_suffix),
            },
        }
    }

    /// The name of `key`'s record at `level`; fails only when the name would be too long.
    pub fn name(&self, key: &ServiceKey, level: &Level) -> Result<DnsName, NameError> {
        // The labels are validated already: only the total length needs checking, which
        // DnsName::concat does without parsing the suffix again.
        let mut s = String::with_capacity(96);
        for part in [
            key.name.as_str(),
            key.namespace.as_str(),
            self.federation.as_str(),
        ] {
            s.push_str(part);
            s.push('.');
        }
        s.push_str(SVC_LABEL);
        match level {
            Level::Global => {}
            Level::Region { region } => {
                s.push('.');
                s.push_str(region.as_str());
            }
            Level::Zone { zone, region } => {
                s.push('.');
                s.push_str(zone.as_str());
                if self.zone_naming == ZoneNaming::ZoneRegion {
                    s.push('.');
                    s.push_str(region.as_str());
                }
            }
        }
        DnsName::concat(&s, &self.dns_suffix)
    }

    /// The global name `S.N.F.svc.D.` of `key`.
    pub fn global(&self, key: &ServiceKey) -> Result<DnsName, NameError> {
        self.name(key, &Level::Global)
    }

    /// The name `S.N.F.svc.R.D.` of `key` in region `region`.
    pub fn region(&self, key: &ServiceKey, region: &Label) -> Result<DnsName, NameError> {
        self.name(
            key,
            &Level::Region {
                region: region.clone(),
            },
        )
    }

    /// The name of `key` in zone `zone` of region `region` (`S.N.F.svc.Z.D.` or
    /// `S.N.F.svc.Z.R.D.`, by the zone naming).
    pub fn zone(
        &self,
        key: &ServiceKey,
        zone: &Label,
        region: &Label,
    ) -> Result<DnsName, NameError> {
        self.name(
            key,
            &Level::Zone {
                zone: zone.clone(),
                region: region.clone(),
            },
        )
    }

    /// Which service (and locality) `name` is a name of, if it has the shape
    /// `S.N.F.svc.[X.[Y.]]D.` with this federation and suffix. Two locality labels are
    /// accepted only with [`ZoneNaming::ZoneRegion`].
    pub fn parse(&self, name: &DnsName) -> Option<ParsedName> {
        let parsed = self.parse_any_naming(name)?;
        match (&parsed.locality, self.zone_naming) {
            (Locality::ZoneRegion { .. }, ZoneNaming::Zone) => None,
            _ => Some(parsed),
        }
    }

    /// Like [`Naming::parse`], but accepts names of either zone naming (used by the `none`
    /// registry, which owns every name under the federation's names).
    pub fn parse_any_naming(&self, name: &DnsName) -> Option<ParsedName> {
        let head = name.relative_to(&self.dns_suffix)?;
        if head.is_empty() {
            return None;
        }
        let mut labels = head.split('.');
        let service = labels.next()?;
        let namespace = labels.next()?;
        if labels.next()? != self.federation.as_str() || labels.next()? != SVC_LABEL {
            return None;
        }
        let key = ServiceKey::parse(namespace, service).ok()?;
        let rest: Vec<&str> = labels.collect();
        let label = |s: &str| Label::parse(s, LabelRules::Rfc1123, "locality label").ok();
        let locality = match rest.as_slice() {
            [] => Locality::Global,
            [one] => Locality::Single(label(one)?),
            [zone, region] => Locality::ZoneRegion {
                zone: label(zone)?,
                region: label(region)?,
            },
            _ => return None,
        };
        Some(ParsedName { key, locality })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "test").unwrap()
    }

    fn naming(zn: ZoneNaming) -> Naming {
        Naming::new(l("fed"), DnsName::parse("example.com").unwrap(), zn)
    }

    #[test]
    fn zone_region_names_carry_both_labels() {
        let n = naming(ZoneNaming::ZoneRegion);
        let key = ServiceKey::parse("ns", "web").unwrap();
        let z = n.zone(&key, &l("z1"), &l("r1")).unwrap();
        assert_eq!(z.as_str(), "web.ns.fed.svc.z1.r1.example.com.");
        assert_eq!(
            n.parse(&z).unwrap().locality,
            Locality::ZoneRegion {
                zone: l("z1"),
                region: l("r1")
            }
        );
        assert_eq!(naming(ZoneNaming::Zone).parse(&z), None);
        assert!(naming(ZoneNaming::Zone).parse_any_naming(&z).is_some());
    }

    #[test]
    fn foreign_names_do_not_parse() {
        let n = naming(ZoneNaming::Zone);
        for s in [
            "example.com",
            "web.ns.other.svc.example.com",
            "web.ns.fed.svc.example.org",
            "web.ns.fed.svcx.example.com",
            "web.ns.fed.example.com",
            "1web.ns.fed.svc.example.com",
            "_x.ns.fed.svc.example.com",
            "web.ns.fed.svc.a.b.c.example.com",
        ] {
            assert_eq!(n.parse(&DnsName::parse(s).unwrap()), None, "{s}");
        }
    }

    #[test]
    fn too_long_names_are_errors() {
        let suffix = DnsName::parse(&format!("{}.com", "d".repeat(63))).unwrap();
        let n = Naming::new(l(&"f".repeat(63)), suffix, ZoneNaming::Zone);
        let key = ServiceKey::parse(&"n".repeat(63), &"s".repeat(63)).unwrap();
        assert!(n.global(&key).is_err());
    }
}
