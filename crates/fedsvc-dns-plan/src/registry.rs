//! Who owns which names: the ownership registry.

use fedsvc_model::{DnsName, Label, NameError, RData, RecordSet, RecordType};

use crate::current::CurrentSet;
use crate::naming::Naming;
use crate::ownership::Ownership;

/// The default label in front of a managed name that holds its ownership record.
pub const DEFAULT_PREFIX: &str = "_fedsvc";

/// The default owner id.
pub const DEFAULT_OWNER_ID: &str = "fedsvc";

/// Why a registry cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The prefix is not a single DNS label.
    #[error("registry prefix {prefix:?} is not a single DNS label: {reason}")]
    InvalidPrefix {
        /// The prefix as given.
        prefix: String,
        /// Why it was refused.
        reason: String,
    },
    /// The owner id is empty or holds a character that would break the ownership record.
    #[error("owner id {owner_id:?} is invalid: {reason}")]
    InvalidOwnerId {
        /// The owner id as given.
        owner_id: String,
        /// Why it was refused.
        reason: String,
    },
}

/// How the plan knows which names it may write, ExternalDNS-style.
///
/// With [`Registry::Txt`], every managed name `N` has a TXT record at `<prefix>.N` whose value
/// is an [`Ownership`]; a name is ours when that record names our owner id and federation.
/// With [`Registry::None`], every name that parses as one of the federation's service names
/// (`S.N.F.svc.….D.`, any zone naming) is ours.
///
/// ```
/// use fedsvc_model::{DnsName, Label, LabelRules, RecordSet};
/// use fedsvc_dns_plan::Registry;
/// let fed = Label::parse("myfederation", LabelRules::Rfc1123, "federation").unwrap();
/// let registry = Registry::txt(fed);
/// let name = DnsName::parse("nginx.mynamespace.myfederation.svc.example.com").unwrap();
/// let txt = registry.ownership_record(&name, 180).unwrap().unwrap();
/// assert_eq!(txt.name().as_str(), "_fedsvc.nginx.mynamespace.myfederation.svc.example.com.");
/// assert_eq!(
///     txt.data()[0].to_string(),
///     "heritage=fedsvc,fedsvc/owner=fedsvc,fedsvc/federation=myfederation,\
///      fedsvc/resource=service/mynamespace/nginx",
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Registry {
    /// Ownership TXT records beside each managed name.
    Txt {
        /// The label in front of the managed name (default `_fedsvc`).
        prefix: String,
        /// This controller's owner id (default `fedsvc`).
        owner_id: String,
        /// The federation.
        federation: Label,
    },
    /// No ownership records: every name of the federation's shape is ours.
    None {
        /// The federation.
        federation: Label,
        /// The federation's DNS suffix.
        dns_suffix: DnsName,
    },
}

/// What the registry says about one managed name, given the current records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim<'a> {
    /// Ours; with the TXT registry, the ownership record as it is now.
    Ours(Option<CurrentSet<'a>>),
    /// Another owner's or federation's.
    Theirs(String),
    /// The ownership name holds TXT data that is not an ownership record.
    Blocked,
    /// Nobody's.
    Unclaimed,
}

impl Registry {
    /// The TXT registry with the default prefix and owner id.
    pub fn txt(federation: Label) -> Self {
        Registry::Txt {
            prefix: DEFAULT_PREFIX.to_owned(),
            owner_id: DEFAULT_OWNER_ID.to_owned(),
            federation,
        }
    }

    /// The TXT registry with a chosen prefix and owner id, both checked.
    pub fn txt_with(
        prefix: &str,
        owner_id: &str,
        federation: Label,
    ) -> Result<Self, RegistryError> {
        let invalid_prefix = |reason: String| RegistryError::InvalidPrefix {
            prefix: prefix.to_owned(),
            reason,
        };
        if prefix.contains('.') {
            return Err(invalid_prefix("it holds a dot".to_owned()));
        }
        let probe = DnsName::parse(&format!("{prefix}.example"))
            .map_err(|e| invalid_prefix(e.to_string()))?;
        let prefix = probe
            .labels()
            .next()
            .expect("a parsed name has labels")
            .to_owned();
        if owner_id.is_empty() {
            return Err(RegistryError::InvalidOwnerId {
                owner_id: owner_id.to_owned(),
                reason: "it is empty".to_owned(),
            });
        }
        if let Some(c) = owner_id
            .chars()
            .find(|c| matches!(c, ',' | '=' | '"' | '\\') || c.is_whitespace() || c.is_control())
        {
            return Err(RegistryError::InvalidOwnerId {
                owner_id: owner_id.to_owned(),
                reason: format!("{c:?} is not allowed"),
            });
        }
        Ok(Registry::Txt {
            prefix,
            owner_id: owner_id.to_owned(),
            federation,
        })
    }

    /// The `none` registry for the federation of `naming`.
    pub fn none(naming: &Naming) -> Self {
        Registry::None {
            federation: naming.federation().clone(),
            dns_suffix: naming.dns_suffix().clone(),
        }
    }

    /// The federation the registry writes for.
    pub fn federation(&self) -> &Label {
        match self {
            Registry::Txt { federation, .. } | Registry::None { federation, .. } => federation,
        }
    }

    /// The name of the ownership record of `name` (`<prefix>.<name>`), for the TXT registry;
    /// `Ok(None)` for the `none` registry.
    pub fn ownership_name(&self, name: &DnsName) -> Result<Option<DnsName>, NameError> {
        match self {
            Registry::Txt { prefix, .. } => name.prepend_str(prefix).map(Some),
            Registry::None { .. } => Ok(None),
        }
    }

    /// The ownership value this registry writes for `name`.
    pub fn ownership_value(&self, name: &DnsName) -> Option<Ownership> {
        match self {
            Registry::Txt {
                owner_id,
                federation,
                ..
            } => {
                let mut labels = name.labels();
                let resource = match (labels.next(), labels.next()) {
                    (Some(s), Some(n)) => Some(format!("service/{n}/{s}")),
                    _ => None,
                };
                Some(Ownership {
                    owner: owner_id.clone(),
                    federation: federation.to_string(),
                    resource,
                })
            }
            Registry::None { .. } => None,
        }
    }

    /// The ownership TXT record for `name` with `ttl`; `Ok(None)` for the `none` registry;
    /// an error when `<prefix>.<name>` would be too long.
    pub fn ownership_record(
        &self,
        name: &DnsName,
        ttl: u32,
    ) -> Result<Option<RecordSet>, NameError> {
        let (Some(txt_name), Some(value)) =
            (self.ownership_name(name)?, self.ownership_value(name))
        else {
            return Ok(None);
        };
        Ok(Some(
            RecordSet::new(
                txt_name,
                RecordType::Txt,
                ttl,
                vec![RData::Txt(value.to_string().into())],
            )
            .expect("one TXT datum"),
        ))
    }

    /// The managed name an ownership-record name stands for (`<prefix>.N` → `N`), for the TXT
    /// registry.
    pub fn managed_name<'n>(&self, ownership_name: &'n str) -> Option<&'n str> {
        match self {
            Registry::Txt { prefix, .. } => {
                let rest = ownership_name
                    .strip_prefix(prefix.as_str())?
                    .strip_prefix('.')?;
                (!rest.is_empty()).then_some(rest)
            }
            Registry::None { .. } => None,
        }
    }

    /// Whether `rs` is an ownership record of this registry (ours: owner and federation
    /// match).
    pub fn is_own_ownership_record(&self, rs: &RecordSet) -> bool {
        rs.rtype() == &RecordType::Txt
            && self.managed_name(rs.name().as_str()).is_some()
            && matches!(
                self.claim_from_txt(Some(CurrentSet::Set(rs))),
                Claim::Ours(_)
            )
    }

    /// `desired` plus the ownership record of every name in it, sorted by name then type.
    /// Each ownership record takes the smallest TTL of its name's sets. Names whose ownership
    /// name would be too long get no ownership record (the diff reports them as conflicts).
    pub fn with_ownership(&self, desired: &[RecordSet]) -> Vec<RecordSet> {
        let mut out: Vec<RecordSet> = desired.to_vec();
        let mut i = 0;
        while i < desired.len() {
            let name = desired[i].name();
            let mut ttl = desired[i].ttl();
            let mut j = i + 1;
            while j < desired.len() && desired[j].name() == name {
                ttl = ttl.min(desired[j].ttl());
                j += 1;
            }
            if let Ok(Some(txt)) = self.ownership_record(name, ttl) {
                out.push(txt);
            }
            i = j;
        }
        out.sort_by(|a, b| (a.name(), a.rtype()).cmp(&(b.name(), b.rtype())));
        out
    }

    /// Reads an ownership TXT record set (or its absence) as a claim.
    pub(crate) fn claim_from_txt<'a>(&self, txt: Option<CurrentSet<'a>>) -> Claim<'a> {
        let Registry::Txt {
            owner_id,
            federation,
            ..
        } = self
        else {
            return Claim::Unclaimed;
        };
        let Some(rs) = txt else {
            return Claim::Unclaimed;
        };
        let mut theirs = None;
        for text in rs.texts() {
            // Fast path: our own canonical form.
            let canonical = [
                "heritage=",
                crate::ownership::HERITAGE,
                ",fedsvc/owner=",
                owner_id,
                ",fedsvc/federation=",
                federation.as_str(),
            ]
            .iter()
            .try_fold(text, |rest, part| rest.strip_prefix(part));
            if canonical.is_some_and(|rest| rest.is_empty() || rest.starts_with(',')) {
                return Claim::Ours(Some(rs));
            }
            if let Some((owner, fed, _)) = crate::ownership::fields(text) {
                if owner == owner_id && fed == federation.as_str() {
                    return Claim::Ours(Some(rs));
                }
                theirs.get_or_insert((owner, fed));
            }
        }
        match theirs {
            Some((owner, fed)) => {
                Claim::Theirs(format!("owned by owner {owner:?} of federation {fed:?}"))
            }
            None => Claim::Blocked,
        }
    }

    /// Whether `have` is exactly the ownership record this registry writes for `name` with
    /// `ttl` (checked without building that record).
    pub(crate) fn is_current_ownership(
        &self,
        have: CurrentSet<'_>,
        name: &DnsName,
        ttl: u32,
    ) -> bool {
        let Registry::Txt {
            owner_id,
            federation,
            ..
        } = self
        else {
            return false;
        };
        let Some(text) = have.single_text() else {
            return false;
        };
        if have.ttl() != ttl {
            return false;
        }
        let mut labels = name.labels();
        let (Some(svc), Some(ns)) = (labels.next(), labels.next()) else {
            return false;
        };
        let expected = [
            "heritage=",
            crate::ownership::HERITAGE,
            ",fedsvc/owner=",
            owner_id,
            ",fedsvc/federation=",
            federation.as_str(),
            ",fedsvc/resource=service/",
            ns,
            "/",
            svc,
        ];
        let mut rest = text;
        for part in expected {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The claim on a managed name under the `none` registry: ours when the name has the
    /// federation's shape.
    pub(crate) fn claim_by_shape(&self, name: &DnsName) -> Claim<'static> {
        match self {
            Registry::None {
                federation,
                dns_suffix,
            } => {
                let naming = Naming::new(
                    federation.clone(),
                    dns_suffix.clone(),
                    fedsvc_model::ZoneNaming::ZoneRegion,
                );
                if naming.parse_any_naming(name).is_some() {
                    Claim::Ours(None)
                } else {
                    Claim::Unclaimed
                }
            }
            Registry::Txt { .. } => Claim::Unclaimed,
        }
    }

    /// A short description of who "we" are, for conflict messages.
    pub(crate) fn describe_self(&self) -> String {
        match self {
            Registry::Txt {
                owner_id,
                federation,
                ..
            } => format!("owner {owner_id:?} of federation \"{federation}\""),
            Registry::None { federation, .. } => format!("federation \"{federation}\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedsvc_model::LabelRules;

    fn fed() -> Label {
        Label::parse("fed", LabelRules::Rfc1123, "f").unwrap()
    }

    #[test]
    fn prefix_and_owner_are_checked() {
        assert!(Registry::txt_with("_own", "team-a", fed()).is_ok());
        assert!(matches!(
            Registry::txt_with("a.b", "x", fed()),
            Err(RegistryError::InvalidPrefix { .. })
        ));
        assert!(matches!(
            Registry::txt_with("_p", "a,b", fed()),
            Err(RegistryError::InvalidOwnerId { .. })
        ));
        assert!(matches!(
            Registry::txt_with("_p", "", fed()),
            Err(RegistryError::InvalidOwnerId { .. })
        ));
    }

    #[test]
    fn describe_self_names_the_federation_as_text() {
        let r = Registry::txt_with("_p", "team-a", fed()).unwrap();
        assert_eq!(r.describe_self(), r#"owner "team-a" of federation "fed""#);
    }

    #[test]
    fn managed_name_strips_exactly_the_prefix() {
        let r = Registry::txt(fed());
        assert_eq!(r.managed_name("_fedsvc.a.b."), Some("a.b."));
        assert_eq!(r.managed_name("_fedsvcx.a.b."), None);
        assert_eq!(r.managed_name("a.b."), None);
    }

    #[test]
    fn other_owner_is_theirs() {
        let r = Registry::txt(fed());
        let other = Registry::txt_with("_fedsvc", "other", fed()).unwrap();
        let name = DnsName::parse("web.ns.fed.svc.example.com").unwrap();
        let txt = other.ownership_record(&name, 60).unwrap().unwrap();
        assert!(matches!(
            r.claim_from_txt(Some(CurrentSet::Set(&txt))),
            Claim::Theirs(_)
        ));
        assert!(!r.is_own_ownership_record(&txt));
        assert!(other.is_own_ownership_record(&txt));
    }
}
