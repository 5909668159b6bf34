//! Names of Kubernetes objects used by fedsvc: clusters and services.

use std::fmt;
use std::sync::Arc;

use crate::error::NameError;
use crate::label::{Label, LabelRules};

/// The name of a member cluster: an RFC 1123 subdomain (lower-case letters, digits, `-` and
/// `.`, at most 253 octets), as Kubernetes requires for cluster-scoped object names. Cheap to
/// clone: clones share the text (a controller files every shard under its cluster's name).
///
/// ```
/// use fedsvc_model::ClusterName;
/// assert_eq!(ClusterName::parse("GCE-us-central1-a").unwrap().as_str(), "gce-us-central1-a");
/// assert!(ClusterName::parse("bad_name").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterName(Arc<str>);

impl ClusterName {
    /// Parses a cluster name, folding case.
    pub fn parse(value: &str) -> Result<Self, NameError> {
        const KIND: &str = "cluster name";
        if value.is_empty() {
            return Err(NameError::Empty { kind: KIND });
        }
        if value.len() > 253 {
            return Err(NameError::TooLong {
                kind: KIND,
                value: value.to_owned(),
                len: value.len(),
                max: 253,
            });
        }
        for part in value.split('.') {
            Label::parse(part, LabelRules::Rfc1123, KIND).map_err(|_| NameError::Invalid {
                kind: KIND,
                value: value.to_owned(),
                reason: "it must be lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit".into(),
            })?;
        }
        Ok(Self(value.to_ascii_lowercase().into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClusterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ClusterName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for ClusterName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A service's identity: its namespace (an RFC 1123 label) and name (an RFC 1035 label).
///
/// Displays as `namespace/name`; serializes as the two fields `namespace` and `name`.
///
/// ```
/// use fedsvc_model::ServiceKey;
/// let k = ServiceKey::parse("mynamespace", "nginx").unwrap();
/// assert_eq!(k.to_string(), "mynamespace/nginx");
/// assert!(ServiceKey::parse("mynamespace", "1nginx").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ServiceKey {
    /// The namespace.
    pub namespace: Label,
    /// The service name.
    pub name: Label,
}

impl ServiceKey {
    /// Validates a namespace and a service name.
    pub fn parse(namespace: &str, name: &str) -> Result<Self, NameError> {
        Ok(Self {
            namespace: Label::parse(namespace, LabelRules::Rfc1123, "namespace")?,
            name: Label::parse(name, LabelRules::Rfc1035, "service name")?,
        })
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
