//! The current records as [`diff`](crate::diff) reads them: whole record sets, or ownership
//! records kept compactly by the name they stand for.

use std::sync::Arc;

use fedsvc_model::{DnsName, RData, RecordSet, RecordType};

use crate::registry::Registry;

/// An ownership record kept by the managed name it stands for: the TXT set of one string at
/// that name's ownership name (`<prefix>.name` under the TXT registry), without a
/// [`RecordSet`] of its own.
///
/// Every managed name has an ownership record, so a copy of a large zone holds as many of
/// them as it holds names. Kept this way, each costs its TTL and a shared text instead of a
/// record set with a name of its own. [`diff`](crate::diff) takes it like the record set it
/// stands for (see [`CurrentSet`]).
///
/// ```
/// use fedsvc_model::{DnsName, Label, LabelRules};
/// use fedsvc_dns_plan::{CompactOwnership, Registry};
/// let registry = Registry::txt(Label::parse("fed", LabelRules::Rfc1123, "federation").unwrap());
/// let name = DnsName::parse("web.ns.fed.svc.example.com").unwrap();
/// let txt = registry.ownership_record(&name, 60).unwrap().unwrap();
/// let compact = CompactOwnership::from_record_set(&txt, &registry).unwrap();
/// assert_eq!(compact.name, name);
/// assert_eq!(compact.to_record_set(&registry), Some(txt));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompactOwnership {
    /// The managed name (not the ownership name). Its ownership name must be a valid name,
    /// as it is for a record read from a zone ([`from_record_set`](Self::from_record_set)
    /// checks it): one that is not stands for nothing and is never deleted.
    pub name: DnsName,
    /// The TTL of the TXT set.
    pub ttl: u32,
    /// Its one string.
    pub text: Arc<str>,
}

impl CompactOwnership {
    /// `rs` kept compactly, when it is a TXT set of one string at an ownership name of
    /// `registry`; `None` otherwise (such a set is kept as it is).
    pub fn from_record_set(rs: &RecordSet, registry: &Registry) -> Option<Self> {
        let managed = Self::managed_name(rs, registry)?;
        let [RData::Txt(text)] = rs.data() else {
            return None;
        };
        Some(CompactOwnership {
            name: DnsName::parse(managed).ok()?,
            ttl: rs.ttl(),
            text: text.clone(),
        })
    }

    /// The managed name whose ownership record `rs` can be kept as (see
    /// [`from_record_set`](Self::from_record_set)), without building anything.
    pub fn managed_name<'r>(rs: &'r RecordSet, registry: &Registry) -> Option<&'r str> {
        if rs.rtype() != &RecordType::Txt || !matches!(rs.data(), [RData::Txt(_)]) {
            return None;
        }
        registry.managed_name(rs.name().as_str())
    }

    /// The record set this stands for; `None` when `registry` keeps no ownership records or
    /// the ownership name would not be a valid name (then it stands for nothing).
    pub fn to_record_set(&self, registry: &Registry) -> Option<RecordSet> {
        let name = registry.ownership_name(&self.name).ok()??;
        RecordSet::new(
            name,
            RecordType::Txt,
            self.ttl,
            vec![RData::Txt(self.text.clone())],
        )
        .ok()
    }
}

/// One set of the current records, as [`diff`](crate::diff) takes them: a record set, or an
/// ownership record kept compactly. `&RecordSet` and `&CompactOwnership` convert into it, so
/// `diff` takes either (or a mix, through this type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentSet<'a> {
    /// A record set.
    Set(&'a RecordSet),
    /// An ownership record kept by its managed name.
    Ownership(&'a CompactOwnership),
}

impl<'a> From<&'a RecordSet> for CurrentSet<'a> {
    fn from(rs: &'a RecordSet) -> Self {
        CurrentSet::Set(rs)
    }
}

impl<'a> From<&'a CompactOwnership> for CurrentSet<'a> {
    fn from(o: &'a CompactOwnership) -> Self {
        CurrentSet::Ownership(o)
    }
}

impl<'a> CurrentSet<'a> {
    /// The TXT strings.
    pub(crate) fn texts(self) -> impl Iterator<Item = &'a str> {
        let (sets, one) = match self {
            CurrentSet::Set(rs) => (rs.data(), None),
            CurrentSet::Ownership(o) => (&[][..], Some(&*o.text)),
        };
        sets.iter()
            .filter_map(|d| match d {
                RData::Txt(t) => Some(&**t),
                _ => None,
            })
            .chain(one)
    }

    /// The only TXT string, if the set holds exactly one datum and it is text.
    pub(crate) fn single_text(self) -> Option<&'a str> {
        match self {
            CurrentSet::Set(rs) => match rs.data() {
                [RData::Txt(t)] => Some(t),
                _ => None,
            },
            CurrentSet::Ownership(o) => Some(&o.text),
        }
    }

    /// The TTL.
    pub(crate) fn ttl(self) -> u32 {
        match self {
            CurrentSet::Set(rs) => rs.ttl(),
            CurrentSet::Ownership(o) => o.ttl,
        }
    }

    /// The record set, built for a compact ownership record (`None` if it stands for
    /// nothing, see [`CompactOwnership::to_record_set`]).
    pub(crate) fn to_record_set(self, registry: &Registry) -> Option<RecordSet> {
        match self {
            CurrentSet::Set(rs) => Some(rs.clone()),
            CurrentSet::Ownership(o) => o.to_record_set(registry),
        }
    }
}
