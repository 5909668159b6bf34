//! Absolute, lower-case domain names.

use std::fmt;
use std::sync::Arc;

use crate::error::NameError;
use crate::label::{Label, MAX_LABEL_LEN};

/// The longest domain name in presentation form without the final dot (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 253;

/// An absolute, lower-case domain name, always written with its trailing dot.
///
/// Names are compared and ordered as their lower-case text. Each label is 1–63 octets of
/// letters, digits, `-`, `_` (for names such as `_fedsvc.…` or `_sip._tcp.…`) or a lone `*`
/// (wildcards found in zones we read); the whole name is at most 253 octets.
///
/// ```
/// use fedsvc_model::DnsName;
/// let n = DnsName::parse("Example.COM").unwrap();
/// assert_eq!(n.as_str(), "example.com.");
/// let child = n.prepend_str("svc").unwrap();
/// assert_eq!(child.to_string(), "svc.example.com.");
/// assert!(child.is_subdomain_of(&n));
/// ```
///
/// The text is shared: cloning a name copies a pointer, not the text, and two clones of one
/// name compare equal without comparing their text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsName(Arc<str>);

/// A name being built on the stack, so that a new name costs one allocation.
struct NameBuf {
    bytes: [u8; MAX_NAME_LEN + 2],
    len: usize,
}

impl NameBuf {
    fn new() -> Self {
        Self {
            bytes: [0; MAX_NAME_LEN + 2],
            len: 0,
        }
    }

    /// Appends `s`; the caller has checked that the whole name fits.
    fn push(&mut self, s: &str) {
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
    }

    /// Appends `s` folded to lower case.
    fn push_lowercase(&mut self, s: &str) {
        let start = self.len;
        self.push(s);
        self.bytes[start..self.len].make_ascii_lowercase();
    }

    fn finish(&self) -> DnsName {
        let text = std::str::from_utf8(&self.bytes[..self.len])
            .expect("names are built from whole strings of ASCII labels");
        DnsName(Arc::from(text))
    }
}

impl DnsName {
    /// Parses a domain name; a missing trailing dot is added and case is folded.
    pub fn parse(value: &str) -> Result<Self, NameError> {
        const KIND: &str = "DNS name";
        let trimmed = value.strip_suffix('.').unwrap_or(value);
        if trimmed.is_empty() {
            return Err(NameError::Empty { kind: KIND });
        }
        if trimmed.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong {
                kind: KIND,
                value: value.to_owned(),
                len: trimmed.len(),
                max: MAX_NAME_LEN,
            });
        }
        check_labels(trimmed).map_err(|reason| NameError::Invalid {
            kind: KIND,
            value: value.to_owned(),
            reason,
        })?;
        let mut s = NameBuf::new();
        s.push_lowercase(trimmed);
        s.push(".");
        Ok(s.finish())
    }

    /// `prefix.tail`: checks only the labels of `prefix` (a relative name such as
    /// `nginx.mynamespace`) and the total length, since `tail` is already valid. This is how
    /// names are built from validated parts without parsing them again.
    ///
    /// ```
    /// use fedsvc_model::DnsName;
    /// let zone = DnsName::parse("example.com").unwrap();
    /// assert_eq!(DnsName::concat("Www", &zone).unwrap().as_str(), "www.example.com.");
    /// assert!(DnsName::concat("a..b", &zone).is_err());
    /// ```
    pub fn concat(prefix: &str, tail: &DnsName) -> Result<Self, NameError> {
        const KIND: &str = "DNS name";
        if prefix.is_empty() {
            return Ok(tail.clone());
        }
        let len = prefix.len() + tail.0.len();
        if len > MAX_NAME_LEN + 1 {
            return Err(NameError::TooLong {
                kind: KIND,
                value: format!("{prefix}.{tail}"),
                len: len - 1,
                max: MAX_NAME_LEN,
            });
        }
        check_labels(prefix).map_err(|reason| NameError::Invalid {
            kind: KIND,
            value: format!("{prefix}.{tail}"),
            reason,
        })?;
        let mut s = NameBuf::new();
        s.push_lowercase(prefix);
        s.push(".");
        s.push(&tail.0);
        Ok(s.finish())
    }

    /// `head.tail` for two valid names: only the total length is checked.
    ///
    /// ```
    /// use fedsvc_model::DnsName;
    /// let head = DnsName::parse("nginx.mynamespace").unwrap();
    /// let tail = DnsName::parse("example.com").unwrap();
    /// assert_eq!(DnsName::join(&head, &tail).unwrap().as_str(), "nginx.mynamespace.example.com.");
    /// ```
    pub fn join(head: &DnsName, tail: &DnsName) -> Result<Self, NameError> {
        let h = head.without_dot();
        let len = h.len() + tail.0.len();
        if len > MAX_NAME_LEN + 1 {
            return Err(NameError::TooLong {
                kind: "DNS name",
                value: format!("{h}.{tail}"),
                len: len - 1,
                max: MAX_NAME_LEN,
            });
        }
        let mut s = NameBuf::new();
        s.push(h);
        s.push(".");
        s.push(&tail.0);
        Ok(s.finish())
    }

    /// The name with its trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without its trailing dot.
    pub fn without_dot(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// The labels, left to right.
    pub fn labels(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.without_dot().split('.')
    }

    /// How many labels the name has.
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// `label.self`, checking the length limits.
    pub fn prepend(&self, label: &Label) -> Result<Self, NameError> {
        self.prepend_str(label.as_str())
    }

    /// `label.self` for a raw label such as `_fedsvc`, checking syntax and length.
    pub fn prepend_str(&self, label: &str) -> Result<Self, NameError> {
        Self::parse(&format!("{label}.{}", self.0))
    }

    /// Whether `self` equals `other` or lies below it.
    pub fn is_subdomain_of(&self, other: &DnsName) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len() && self.0.ends_with(&format!(".{}", other.0)))
    }

    /// The labels of `self` left of `zone`, or `None` if `self` is not below `zone`.
    pub fn relative_to(&self, zone: &DnsName) -> Option<&str> {
        if self.0 == zone.0 {
            return Some("");
        }
        let head = self.0.strip_suffix(zone.as_str())?;
        head.strip_suffix('.')
    }

    /// The name one label up, or `None` for a top-level name.
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.0.split_once('.')?;
        if rest.is_empty() {
            None
        } else {
            Some(Self(Arc::from(rest)))
        }
    }
}

/// Checks every label of a relative name (no trailing dot), byte by byte.
fn check_labels(name: &str) -> Result<(), String> {
    name.split('.').try_for_each(check_label)
}

fn check_label(label: &str) -> Result<(), String> {
    let bytes = label.as_bytes();
    if bytes.is_empty() {
        return Err("it has an empty label (two dots in a row, or a leading dot)".into());
    }
    if bytes.len() > MAX_LABEL_LEN {
        return Err(format!(
            "label {label:?} is {} octets long; the limit is {MAX_LABEL_LEN}",
            bytes.len()
        ));
    }
    if bytes == b"*" {
        return Ok(());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !bytes.iter().all(|b| allowed(char::from(*b))) {
        let c = label.chars().find(|c| !allowed(*c)).unwrap_or('?');
        return Err(format!("label {label:?} holds {c:?}"));
    }
    if bytes[0] == b'-' || bytes[bytes.len() - 1] == b'-' {
        return Err(format!("label {label:?} starts or ends with '-'"));
    }
    Ok(())
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A map or set keyed by names can be searched with their text (`map.get("a.example.com.")`):
/// names compare, order and hash as their text.
impl std::borrow::Borrow<str> for DnsName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for DnsName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for DnsName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for DnsName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for DnsName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_lower_case() {
        assert_eq!(DnsName::parse("A.b.C.").unwrap().as_str(), "a.b.c.");
        assert_eq!(DnsName::parse("a.b.c").unwrap().as_str(), "a.b.c.");
        assert!(DnsName::parse("").is_err());
        assert!(DnsName::parse(".").is_err());
        assert!(DnsName::parse("a..b").is_err());
        assert!(DnsName::parse("a.-b.c").is_err());
        assert!(DnsName::parse("_fedsvc.a.b").is_ok());
        assert!(DnsName::parse("*.a.b").is_ok());
        assert!(DnsName::parse("a b.c").is_err());
        let e = DnsName::parse("bü.c").unwrap_err().to_string();
        assert!(e.contains("'ü'"), "{e}");
    }

    #[test]
    fn length_limits() {
        let label63 = "a".repeat(63);
        let name = [label63.as_str(); 4].join(".");
        assert_eq!(name.len(), 255);
        assert!(DnsName::parse(&name).is_err());
        let name = format!("{}.{}", [label63.as_str(); 3].join("."), "a".repeat(61));
        assert_eq!(name.len(), 253);
        assert!(DnsName::parse(&name).is_ok());
        assert!(DnsName::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn relations() {
        let zone = DnsName::parse("example.com").unwrap();
        let n = DnsName::parse("x.y.example.com").unwrap();
        assert!(n.is_subdomain_of(&zone));
        assert!(
            !DnsName::parse("badexample.com")
                .unwrap()
                .is_subdomain_of(&zone)
        );
        assert_eq!(n.relative_to(&zone), Some("x.y"));
        assert_eq!(zone.relative_to(&zone), Some(""));
        assert_eq!(n.parent().unwrap().as_str(), "y.example.com.");
        assert_eq!(DnsName::parse("com").unwrap().parent(), None);
    }
}
