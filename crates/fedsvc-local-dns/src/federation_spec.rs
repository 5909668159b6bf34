//! One federation the responder answers for, as given on the command line.

use std::fmt;
use std::str::FromStr;

use fedsvc_model::{DnsName, Label, LabelRules, ZoneNaming};

use crate::error::LocalDnsError;

/// A federation: its name, DNS suffix and zone naming (kube-dns `--federations=F=D`).
///
/// Parsed from `NAME=SUFFIX[:zone|:zone-region]`; the naming defaults to `zone`, the
/// guide's `S.N.F.svc.ZONE.SUFFIX.`.
///
/// ```
/// use fedsvc_local_dns::FederationSpec;
/// use fedsvc_model::ZoneNaming;
/// let f: FederationSpec = "myfederation=example.com:zone-region".parse().unwrap();
/// assert_eq!(f.name.as_str(), "myfederation");
/// assert_eq!(f.dns_suffix.as_str(), "example.com.");
/// assert_eq!(f.zone_naming, ZoneNaming::ZoneRegion);
/// assert!("myfederation".parse::<FederationSpec>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederationSpec {
    /// The federation's name, the `F` in `S.N.F.svc.cluster.local.`.
    pub name: Label,
    /// The federation's DNS suffix (`example.com.`).
    pub dns_suffix: DnsName,
    /// How its zone-level names are built.
    pub zone_naming: ZoneNaming,
}

impl FederationSpec {
    /// A federation with the default `zone` naming.
    #[must_use]
    pub fn new(name: Label, dns_suffix: DnsName) -> Self {
        Self {
            name,
            dns_suffix,
            zone_naming: ZoneNaming::Zone,
        }
    }

    /// Sets the zone naming.
    #[must_use]
    pub fn with_zone_naming(mut self, zone_naming: ZoneNaming) -> Self {
        self.zone_naming = zone_naming;
        self
    }
}

impl FromStr for FederationSpec {
    type Err = LocalDnsError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| LocalDnsError::InvalidFederation {
            value: value.to_owned(),
            reason,
        };
        let (name, rest) = value
            .split_once('=')
            .ok_or_else(|| invalid("no '='".into()))?;
        let (suffix, naming) = match rest.rsplit_once(':') {
            Some((s, n)) => (s, Some(n)),
            None => (rest, None),
        };
        let zone_naming = match naming {
            None | Some("zone") => ZoneNaming::Zone,
            Some("zone-region") => ZoneNaming::ZoneRegion,
            Some(other) => {
                return Err(invalid(format!(
                    "unknown zone naming {other:?}; use zone or zone-region"
                )));
            }
        };
        let name = Label::parse(name.trim(), LabelRules::Rfc1123, "federation name")
            .map_err(|e| invalid(e.to_string()))?;
        let dns_suffix = DnsName::parse(suffix.trim()).map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            name,
            dns_suffix,
            zone_naming,
        })
    }
}

impl fmt::Display for FederationSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let naming = match self.zone_naming {
            ZoneNaming::ZoneRegion => "zone-region",
            _ => "zone",
        };
        write!(
            f,
            "{}={}:{naming}",
            self.name,
            self.dns_suffix.without_dot()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_and_round_trips() {
        let f: FederationSpec = "MyFederation=Example.com.".parse().unwrap();
        assert_eq!(f.to_string(), "myfederation=example.com:zone");
        let g: FederationSpec = f.to_string().parse().unwrap();
        assert_eq!(f, g);
        let h: FederationSpec = "f=example.com:zone-region".parse().unwrap();
        assert_eq!(h.zone_naming, ZoneNaming::ZoneRegion);
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "",
            "myfederation",
            "=example.com",
            "my_fed=example.com",
            "f=",
            "f=example.com:region",
            "f=exa mple.com",
        ] {
            let err = bad.parse::<FederationSpec>().unwrap_err();
            assert!(
                matches!(err, LocalDnsError::InvalidFederation { .. }),
                "{bad:?}: {err}"
            );
        }
    }
}
