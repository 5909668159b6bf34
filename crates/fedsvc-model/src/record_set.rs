//! DNS record sets (RRsets) in canonical form.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::dns_name::DnsName;
use crate::error::NameError;

/// The type of a record set.
///
/// fedsvc manages `A`, `AAAA`, `CNAME` and (for ownership) `TXT`; any other type found in a
/// zone is kept as [`RecordType::Other`] with its mnemonic so that it can be recognised as
/// foreign and left alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Alias to another name.
    Cname,
    /// Text.
    Txt,
    /// Any other type, by its upper-case mnemonic (`MX`, `SRV`, `NS`, `SOA`, `TYPE65`, …).
    Other(String),
}

impl RecordType {
    /// The type's mnemonic, as in zone files.
    pub fn as_str(&self) -> &str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
            RecordType::Other(s) => s,
        }
    }

    /// Parses a mnemonic (case-insensitive).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "CNAME" => RecordType::Cname,
            "TXT" => RecordType::Txt,
            other => RecordType::Other(other.to_owned()),
        }
    }

    /// Whether fedsvc writes service records of this type (`A`, `AAAA`, `CNAME`).
    pub fn is_address_or_alias(&self) -> bool {
        matches!(self, RecordType::A | RecordType::Aaaa | RecordType::Cname)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RecordType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One record's data.
///
/// Ordering is by type, then value (addresses numerically, names and text as strings), which
/// gives the canonical order of data in a [`RecordSet`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// The target of an alias.
    Cname(DnsName),
    /// Text, as one string (the character-strings concatenated, without quotes). Shared: a
    /// zone holds the same ownership text at every name of a service, and a copy of a zone
    /// can keep one string for all of them.
    Txt(Arc<str>),
    /// Data of another type in presentation form, as read from a provider.
    Other(String),
}

impl RData {
    /// The data for an IP address: `A` for IPv4, `AAAA` for IPv6.
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => RData::A(v4),
            IpAddr::V6(v6) => RData::Aaaa(v6),
        }
    }

    /// Parses presentation-form data of type `rtype` (as found in zone files and provider
    /// APIs). TXT data may be quoted; quotes are removed and adjacent strings joined.
    pub fn parse(rtype: &RecordType, text: &str) -> Result<Self, NameError> {
        let invalid = |reason: &str| NameError::Invalid {
            kind: "record data",
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        match rtype {
            RecordType::A => text
                .trim()
                .parse()
                .map(RData::A)
                .map_err(|_| invalid("not an IPv4 address")),
            RecordType::Aaaa => text
                .trim()
                .parse()
                .map(RData::Aaaa)
                .map_err(|_| invalid("not an IPv6 address")),
            RecordType::Cname => DnsName::parse(text.trim()).map(RData::Cname),
            RecordType::Txt => Ok(RData::Txt(unquote_txt(text).into())),
            RecordType::Other(_) => Ok(RData::Other(text.trim().to_owned())),
        }
    }

    /// The record type this data belongs to; `Other` data reports `None`.
    pub fn record_type(&self) -> Option<RecordType> {
        match self {
            RData::A(_) => Some(RecordType::A),
            RData::Aaaa(_) => Some(RecordType::Aaaa),
            RData::Cname(_) => Some(RecordType::Cname),
            RData::Txt(_) => Some(RecordType::Txt),
            RData::Other(_) => None,
        }
    }

    /// The address, for `A` and `AAAA` data.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            RData::A(a) => Some(IpAddr::V4(*a)),
            RData::Aaaa(a) => Some(IpAddr::V6(*a)),
            _ => None,
        }
    }

    /// Presentation form as in a zone file: TXT quoted (split into 255-octet strings), names
    /// absolute.
    pub fn to_zone_text(&self) -> String {
        match self {
            RData::Txt(t) => quote_txt(t),
            other => other.to_string(),
        }
    }
}

/// Plain text of the data: addresses, names with trailing dot, TXT unquoted.
impl fmt::Display for RData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => a.fmt(f),
            RData::Aaaa(a) => a.fmt(f),
            RData::Cname(n) => n.fmt(f),
            RData::Txt(t) => f.write_str(t),
            RData::Other(t) => f.write_str(t),
        }
    }
}

impl serde::Serialize for RData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Joins the quoted character-strings of TXT presentation data into one string.
fn unquote_txt(text: &str) -> String {
    let t = text.trim();
    if !t.starts_with('"') {
        return t.to_owned();
    }
    let mut out = String::new();
    let mut in_quotes = false;
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\\' if in_quotes => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c if in_quotes => out.push(c),
            _ => {}
        }
    }
    out
}

/// Quotes TXT data for a zone file, splitting it into strings of at most 255 octets.
fn quote_txt(text: &str) -> String {
    let escaped: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|c| {
            let s = String::from_utf8_lossy(c);
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    if escaped.is_empty() {
        "\"\"".to_owned()
    } else {
        escaped.join(" ")
    }
}

/// A record set: every record of one type at one name, with one TTL.
///
/// Constructed through [`RecordSet::new`], which puts the data in canonical order (sorted,
/// without duplicates) and checks that every datum matches the type, so two record sets with
/// the same records always compare equal.
///
/// ```
/// use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
/// let name = DnsName::parse("nginx.ns.fed.svc.example.com").unwrap();
/// let rs = RecordSet::new(
///     name,
///     RecordType::A,
///     180,
///     vec![RData::parse(&RecordType::A, "10.0.0.2").unwrap(),
///          RData::parse(&RecordType::A, "10.0.0.1").unwrap(),
///          RData::parse(&RecordType::A, "10.0.0.2").unwrap()],
/// ).unwrap();
/// assert_eq!(rs.data().len(), 2);
/// assert_eq!(rs.to_zone_lines(), vec![
///     "nginx.ns.fed.svc.example.com.\t180\tIN\tA\t10.0.0.1".to_string(),
///     "nginx.ns.fed.svc.example.com.\t180\tIN\tA\t10.0.0.2".to_string(),
/// ]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RecordSet {
    name: DnsName,
    #[serde(rename = "type")]
    rtype: RecordType,
    ttl: u32,
    data: Vec<RData>,
}

/// Why a [`RecordSet`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordSetError {
    /// A record set holds at least one record.
    #[error("record set {name} {rtype} has no data")]
    Empty {
        /// The owner name.
        name: DnsName,
        /// The type.
        rtype: RecordType,
    },
    /// A datum does not belong to the set's type.
    #[error("record set {name} {rtype} holds {datum:?}, which is not {rtype} data")]
    TypeMismatch {
        /// The owner name.
        name: DnsName,
        /// The type.
        rtype: RecordType,
        /// The datum at fault, in presentation form.
        datum: String,
    },
    /// A CNAME set holds exactly one target.
    #[error("CNAME at {name} has {count} targets; a CNAME has exactly one")]
    CnameNotSingle {
        /// The owner name.
        name: DnsName,
        /// How many targets were given.
        count: usize,
    },
}

impl RecordSet {
    /// A record set with the data in canonical order and duplicates removed.
    pub fn new(
        name: DnsName,
        rtype: RecordType,
        ttl: u32,
        mut data: Vec<RData>,
    ) -> Result<Self, RecordSetError> {
        data.sort();
        data.dedup();
        // Record sets are held by the hundred thousand (a controller's copy of a zone): no
        // spare capacity, such as a vector grown by pushes or shortened by `dedup` keeps.
        data.shrink_to_fit();
        if data.is_empty() {
            return Err(RecordSetError::Empty { name, rtype });
        }
        for d in &data {
            let ok = match (&rtype, d) {
                (RecordType::Other(_), RData::Other(_)) => true,
                (t, d) => d.record_type().as_ref() == Some(t),
            };
            if !ok {
                let datum = d.to_string();
                return Err(RecordSetError::TypeMismatch { name, rtype, datum });
            }
        }
        if rtype == RecordType::Cname && data.len() != 1 {
            let count = data.len();
            return Err(RecordSetError::CnameNotSingle { name, count });
        }
        Ok(Self {
            name,
            rtype,
            ttl,
            data,
        })
    }

    /// A CNAME from `name` to `target`.
    pub fn cname(name: DnsName, ttl: u32, target: DnsName) -> Self {
        Self {
            name,
            rtype: RecordType::Cname,
            ttl,
            data: vec![RData::Cname(target)],
        }
    }

    /// The owner name.
    pub fn name(&self) -> &DnsName {
        &self.name
    }

    /// The type.
    pub fn rtype(&self) -> &RecordType {
        &self.rtype
    }

    /// The TTL in seconds.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// The data, sorted and without duplicates (never empty).
    pub fn data(&self) -> &[RData] {
        &self.data
    }

    /// Stores each TXT string as the equal string `share` hands back, so that many sets can
    /// hold one copy of the same text (a zone carries a service's ownership text at each of
    /// its names). A string `share` returns that is not equal is ignored: the data never
    /// change.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
    /// let text: Arc<str> = Arc::from("heritage=fedsvc");
    /// let mut rs = RecordSet::new(
    ///     DnsName::parse("_fedsvc.a.example.com").unwrap(),
    ///     RecordType::Txt,
    ///     180,
    ///     vec![RData::Txt("heritage=fedsvc".into())],
    /// )
    /// .unwrap();
    /// rs.share_text(|_| text.clone());
    /// let RData::Txt(held) = &rs.data()[0] else { unreachable!() };
    /// assert!(Arc::ptr_eq(held, &text));
    /// ```
    pub fn share_text(&mut self, mut share: impl FnMut(&Arc<str>) -> Arc<str>) {
        for d in &mut self.data {
            if let RData::Txt(t) = d {
                let shared = share(t);
                if *shared == **t {
                    *t = shared;
                }
            }
        }
    }

    /// The same records with another TTL.
    pub fn with_ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// The CNAME target, for a CNAME set.
    pub fn cname_target(&self) -> Option<&DnsName> {
        match (&self.rtype, self.data.first()) {
            (RecordType::Cname, Some(RData::Cname(t))) => Some(t),
            _ => None,
        }
    }

    /// One RFC 1035 zone-file line per record: `name<TAB>ttl<TAB>IN<TAB>type<TAB>data`.
    pub fn to_zone_lines(&self) -> Vec<String> {
        self.data
            .iter()
            .map(|d| {
                format!(
                    "{}\t{}\tIN\t{}\t{}",
                    self.name,
                    self.ttl,
                    self.rtype,
                    d.to_zone_text()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).unwrap()
    }

    #[test]
    fn addresses_sort_numerically() {
        let rs = RecordSet::new(
            name("a.example.com"),
            RecordType::A,
            60,
            ["10.0.0.10", "10.0.0.9", "9.0.0.1"]
                .iter()
                .map(|s| RData::parse(&RecordType::A, s).unwrap())
                .collect(),
        )
        .unwrap();
        let texts: Vec<String> = rs.data().iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["9.0.0.1", "10.0.0.9", "10.0.0.10"]);
    }

    #[test]
    fn refuses_mixed_and_empty_sets() {
        let a = RData::parse(&RecordType::A, "10.0.0.1").unwrap();
        let six = RData::parse(&RecordType::Aaaa, "2001:db8::1").unwrap();
        let err = RecordSet::new(name("a.b"), RecordType::A, 60, vec![a, six]).unwrap_err();
        assert!(err.to_string().contains("2001:db8::1"), "{err}");
        assert!(RecordSet::new(name("a.b"), RecordType::A, 60, vec![]).is_err());
        let t1 = RData::Cname(name("x.b"));
        let t2 = RData::Cname(name("y.b"));
        assert!(RecordSet::new(name("a.b"), RecordType::Cname, 60, vec![t1, t2]).is_err());
    }

    #[test]
    fn txt_round_trip() {
        let d = RData::parse(&RecordType::Txt, r#""heritage=fedsvc,a" "b\"c""#).unwrap();
        assert_eq!(d.to_string(), "heritage=fedsvc,ab\"c");
        assert_eq!(d.to_zone_text(), r#""heritage=fedsvc,ab\"c""#);
        let long = RData::Txt("x".repeat(300).into());
        assert_eq!(long.to_zone_text().matches('"').count(), 4);
        assert_eq!(
            RData::parse(&RecordType::Txt, &long.to_zone_text()).unwrap(),
            long
        );
    }

    #[test]
    fn json_shape() {
        let rs = RecordSet::cname(name("a.b"), 180, name("c.b"));
        #[cfg(feature = "json")]
        assert_eq!(
            serde_json::to_string(&rs).unwrap(),
            r#"{"name":"a.b.","type":"CNAME","ttl":180,"data":["c.b."]}"#
        );
        assert_eq!(rs.cname_target().unwrap().as_str(), "c.b.");
    }
}
