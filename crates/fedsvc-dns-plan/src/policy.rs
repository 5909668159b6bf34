//! Policies: which kinds of change may be applied.

use std::fmt;
use std::str::FromStr;

use crate::changes::{Changes, Conflict};

/// Why a policy name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The name is none of `sync`, `upsert-only`, `create-only`.
    #[error("unknown policy {0:?}: expected sync, upsert-only or create-only")]
    Unknown(String),
}

/// Which changes may be applied, as ExternalDNS's `--policy`.
///
/// A policy is a pass over [`Changes`]. It never leaves a name in a state no DNS server
/// accepts: when dropping deletions would leave old A/AAAA/CNAME sets beside new ones (an
/// `A` ↔ `CNAME` flip under `upsert-only`), the whole group is dropped and reported as a
/// conflict.
///
/// ```
/// use fedsvc_dns_plan::Policy;
/// assert_eq!("upsert-only".parse::<Policy>().unwrap(), Policy::UpsertOnly);
/// assert_eq!(Policy::CreateOnly.to_string(), "create-only");
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Policy {
    /// Create, update and delete (the default).
    #[default]
    Sync,
    /// Create and update; never delete.
    UpsertOnly,
    /// Only create.
    CreateOnly,
}

impl Policy {
    /// Applies the policy to `changes`.
    #[must_use]
    pub fn apply(self, mut changes: Changes) -> Changes {
        if self == Policy::Sync {
            return changes;
        }
        let mut kept = Vec::with_capacity(changes.groups.len());
        for mut g in changes.groups {
            let dropped_records = g.delete.iter().any(|r| r.rtype().is_address_or_alias());
            let creates_records = g.create.iter().any(|r| r.rtype().is_address_or_alias());
            if dropped_records && creates_records {
                changes.conflicts.push(Conflict {
                    name: g.name,
                    reason: format!(
                        "policy {self} forbids removing the old records that the new ones \
                         replace; the name is left as it is"
                    ),
                });
                continue;
            }
            g.delete.clear();
            if self == Policy::CreateOnly {
                g.update_old.clear();
                g.update_new.clear();
            }
            if !g.is_empty() {
                kept.push(g);
            }
        }
        changes.groups = kept;
        changes.conflicts.sort();
        changes
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Sync => "sync",
            Policy::UpsertOnly => "upsert-only",
            Policy::CreateOnly => "create-only",
        })
    }
}

impl FromStr for Policy {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sync" => Ok(Policy::Sync),
            "upsert-only" => Ok(Policy::UpsertOnly),
            "create-only" => Ok(Policy::CreateOnly),
            other => Err(PolicyError::Unknown(other.to_owned())),
        }
    }
}
