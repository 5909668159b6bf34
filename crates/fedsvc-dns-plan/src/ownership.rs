//! The value of an ownership TXT record.

use std::fmt;

/// The `heritage` every ownership record carries.
pub const HERITAGE: &str = "fedsvc";

/// What an ownership TXT record says:
/// `heritage=fedsvc,fedsvc/owner=<owner>,fedsvc/federation=<F>,fedsvc/resource=service/<ns>/<name>`.
///
/// Parsing is tolerant: keys may come in any order, spaces around parts are ignored and
/// unknown keys are skipped; `heritage=fedsvc` is required.
///
/// ```
/// use fedsvc_dns_plan::Ownership;
/// let o = Ownership::parse(
///     "fedsvc/federation=myfederation, heritage=fedsvc, fedsvc/owner=fedsvc, x=y",
/// ).unwrap();
/// assert_eq!(o.owner, "fedsvc");
/// assert_eq!(o.federation, "myfederation");
/// assert_eq!(o.resource, None);
/// assert!(Ownership::parse("v=spf1 -all").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ownership {
    /// The owner id (`fedsvc/owner`), empty when absent.
    pub owner: String,
    /// The federation (`fedsvc/federation`), empty when absent.
    pub federation: String,
    /// The resource (`fedsvc/resource`), for example `service/mynamespace/nginx`.
    pub resource: Option<String>,
}

impl Ownership {
    /// Parses a TXT value; `None` unless it carries `heritage=fedsvc`.
    pub fn parse(text: &str) -> Option<Self> {
        let (owner, federation, resource) = fields(text)?;
        Some(Ownership {
            owner: owner.to_owned(),
            federation: federation.to_owned(),
            resource: resource.map(str::to_owned),
        })
    }

    /// Whether this record was written by `owner` for `federation`.
    pub fn is(&self, owner: &str, federation: &str) -> bool {
        self.owner == owner && self.federation == federation
    }
}

/// The owner, federation and resource of an ownership value, borrowed; `None` unless it carries
/// `heritage=fedsvc`.
pub(crate) fn fields(text: &str) -> Option<(&str, &str, Option<&str>)> {
    let mut heritage = false;
    let (mut owner, mut federation, mut resource) = ("", "", None);
    for part in text.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "heritage" => heritage = v == HERITAGE,
            "fedsvc/owner" => owner = v,
            "fedsvc/federation" => federation = v,
            "fedsvc/resource" => resource = Some(v),
            _ => {}
        }
    }
    heritage.then_some((owner, federation, resource))
}

/// The canonical form, keys in the documented order.
impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "heritage={HERITAGE},fedsvc/owner={},fedsvc/federation={}",
            self.owner, self.federation
        )?;
        if let Some(r) = &self.resource {
            write!(f, ",fedsvc/resource={r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_round_trips() {
        let o = Ownership {
            owner: "fedsvc".into(),
            federation: "myfederation".into(),
            resource: Some("service/mynamespace/nginx".into()),
        };
        let text = o.to_string();
        assert_eq!(
            text,
            "heritage=fedsvc,fedsvc/owner=fedsvc,fedsvc/federation=myfederation,\
             fedsvc/resource=service/mynamespace/nginx"
        );
        assert_eq!(Ownership::parse(&text), Some(o));
    }

    #[test]
    fn other_heritage_is_not_ours() {
        assert!(Ownership::parse("heritage=external-dns,external-dns/owner=default").is_none());
        assert!(Ownership::parse("heritage=fedsvcx,fedsvc/owner=fedsvc").is_none());
    }
}
