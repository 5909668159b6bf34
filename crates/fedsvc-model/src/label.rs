//! A single validated DNS label.

use std::fmt;

use crate::error::NameError;

/// The longest DNS label, in octets (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Which syntax a [`Label`] must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelRules {
    /// RFC 1035 label, as Kubernetes requires for Service names: lower-case letters, digits and
    /// `-`, starting with a letter and ending with a letter or digit.
    Rfc1035,
    /// RFC 1123 label, as Kubernetes requires for namespaces: like RFC 1035 but it may start
    /// with a digit.
    Rfc1123,
}

/// A validated, lower-case DNS label of at most 63 octets.
///
/// Upper-case input is folded to lower case. Which characters are allowed depends on the
/// [`LabelRules`] it was parsed with; both allow only `a-z`, `0-9` and `-`.
///
/// ```
/// use fedsvc_model::{Label, LabelRules};
/// let l = Label::parse("US-Central1-A", LabelRules::Rfc1123, "zone label").unwrap();
/// assert_eq!(l.as_str(), "us-central1-a");
/// assert!(Label::parse("-bad", LabelRules::Rfc1123, "zone label").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

impl Label {
    /// Parses `value` as a label; `kind` names the value in errors ("service name", …).
    pub fn parse(value: &str, rules: LabelRules, kind: &'static str) -> Result<Self, NameError> {
        if value.is_empty() {
            return Err(NameError::Empty { kind });
        }
        if value.len() > MAX_LABEL_LEN {
            return Err(NameError::TooLong {
                kind,
                value: value.to_owned(),
                len: value.len(),
                max: MAX_LABEL_LEN,
            });
        }
        let lower = value.to_ascii_lowercase();
        let invalid = |reason: &str| NameError::Invalid {
            kind,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(c) = lower
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(invalid(&format!(
                "{c:?} is not allowed (only letters, digits and '-')"
            )));
        }
        let first = lower.as_bytes()[0];
        let last = lower.as_bytes()[lower.len() - 1];
        match rules {
            LabelRules::Rfc1035 if !first.is_ascii_lowercase() => {
                return Err(invalid("it must start with a letter"));
            }
            LabelRules::Rfc1123 if first == b'-' => {
                return Err(invalid("it must start with a letter or digit"));
            }
            _ => {}
        }
        if last == b'-' {
            return Err(invalid("it must end with a letter or digit"));
        }
        Ok(Self(lower))
    }

    /// The label as a lower-case string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Label {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_checks_ends() {
        assert_eq!(
            Label::parse("Nginx", LabelRules::Rfc1035, "service name")
                .unwrap()
                .as_str(),
            "nginx"
        );
        assert!(Label::parse("1abc", LabelRules::Rfc1035, "service name").is_err());
        assert!(Label::parse("1abc", LabelRules::Rfc1123, "namespace").is_ok());
        assert!(Label::parse("abc-", LabelRules::Rfc1123, "namespace").is_err());
        assert!(Label::parse("a_b", LabelRules::Rfc1123, "namespace").is_err());
        assert!(Label::parse("a.b", LabelRules::Rfc1123, "namespace").is_err());
    }

    #[test]
    fn length_limit_is_63_octets() {
        let ok = "a".repeat(63);
        let long = "a".repeat(64);
        assert!(Label::parse(&ok, LabelRules::Rfc1123, "x").is_ok());
        let err = Label::parse(&long, LabelRules::Rfc1123, "zone label").unwrap_err();
        assert!(err.to_string().contains("64 octets"), "{err}");
    }
}
