//! Host names: domain names under which fedsvc makes records (a federation's DNS suffix, a
//! provider's zone).

use crate::dns_name::DnsName;
use crate::error::NameError;

impl DnsName {
    /// Parses `value` as a host name: a [`DnsName`] whose every label is letters, digits and
    /// `-` only (RFC 952 / RFC 1123 §2.1), so no `*` wildcard and no `_`. Empty labels, labels
    /// longer than 63 octets and names longer than 253 are refused as by [`DnsName::parse`].
    ///
    /// Use it for the names fedsvc builds records under: the snapshot's `dnsSuffix`, a DNS
    /// provider's `zone`, the controller's `--dns-suffix`. The error names the value; the
    /// caller names the field.
    ///
    /// ```
    /// use fedsvc_model::DnsName;
    /// assert_eq!(DnsName::parse_host_name("Example.COM").unwrap().as_str(), "example.com.");
    /// let e = DnsName::parse_host_name("*.example.com").unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     r#"host name "*.example.com" is invalid: label "*" holds '*' (only letters, digits and '-' are allowed)"#
    /// );
    /// assert!(DnsName::parse_host_name("_tcp.example.com").is_err());
    /// assert!(DnsName::parse_host_name("a..example.com").is_err());
    /// ```
    pub fn parse_host_name(value: &str) -> Result<Self, NameError> {
        const KIND: &str = "host name";
        let name = Self::parse(value).map_err(|e| match e {
            NameError::Empty { .. } => NameError::Empty { kind: KIND },
            NameError::TooLong {
                value, len, max, ..
            } => NameError::TooLong {
                kind: KIND,
                value,
                len,
                max,
            },
            NameError::Invalid { value, reason, .. } => NameError::Invalid {
                kind: KIND,
                value,
                reason,
            },
        })?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-';
        for label in name.labels() {
            if let Some(c) = label.chars().find(|c| !allowed(*c)) {
                return Err(NameError::Invalid {
                    kind: KIND,
                    value: value.to_owned(),
                    reason: format!(
                        "label {label:?} holds {c:?} (only letters, digits and '-' are allowed)"
                    ),
                });
            }
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use crate::{DnsName, NameError};

    #[test]
    fn host_names_are_letters_digits_and_hyphens() {
        for ok in [
            "example.com",
            "EXAMPLE.com.",
            "a-1.b2.c",
            "1a.example.com",
            "com",
        ] {
            assert!(DnsName::parse_host_name(ok).is_ok(), "{ok}");
        }
        for (bad, what) in [
            ("*.example.com", "'*'"),
            ("_fedsvc.example.com", "'_'"),
            ("a.*.example.com", "'*'"),
            ("a..example.com", "empty label"),
            (".example.com", "empty label"),
            ("-a.example.com", "'-'"),
            ("a b.example.com", "' '"),
        ] {
            let e = DnsName::parse_host_name(bad).unwrap_err().to_string();
            assert!(e.starts_with("host name "), "{e}");
            assert!(e.contains(what), "{bad}: {e}");
            assert!(!e.contains("(\""), "{e}");
        }
        assert_eq!(
            DnsName::parse_host_name("").unwrap_err(),
            NameError::Empty { kind: "host name" }
        );
        let e = DnsName::parse_host_name(&"a".repeat(64))
            .unwrap_err()
            .to_string();
        assert!(e.contains("64 octets long; the limit is 63"), "{e}");
        let e = DnsName::parse_host_name(&["a"; 128].join("."))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("host name ") && e.contains("the limit is 253"),
            "{e}"
        );
    }
}
