//! A list of record sets, indexed for lookups by name.

use std::collections::{BTreeMap, BTreeSet};

use fedsvc_model::{DnsName, RecordSet};

use crate::resolution::{Answer, Hop, MAX_CHAIN_LEN, Resolution};

/// Record sets indexed by name, for resolving many names against one list (see
/// [`resolve`](crate::resolve) for a single lookup).
#[derive(Debug, Clone, Default)]
pub struct RecordIndex<'a> {
    by_name: BTreeMap<&'a str, Vec<&'a RecordSet>>,
    /// Names that hold nothing themselves but have records below them (empty non-terminals).
    interior: BTreeSet<&'a str>,
}

impl<'a> RecordIndex<'a> {
    /// Indexes `records`.
    pub fn new(records: &'a [RecordSet]) -> Self {
        let mut by_name: BTreeMap<&'a str, Vec<&'a RecordSet>> = BTreeMap::new();
        for rs in records {
            by_name.entry(rs.name().as_str()).or_default().push(rs);
        }
        let mut interior = BTreeSet::new();
        for name in by_name.keys() {
            let mut rest: &'a str = name;
            while let Some((_, parent)) = rest.split_once('.') {
                if parent.is_empty() || !interior.insert(parent) {
                    break;
                }
                rest = parent;
            }
        }
        Self { by_name, interior }
    }

    /// The sets at `name`.
    pub fn lookup(&self, name: &DnsName) -> &[&'a RecordSet] {
        self.by_name
            .get(name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether `name` exists: it holds records, or records exist below it.
    pub fn exists(&self, name: &DnsName) -> bool {
        self.by_name.contains_key(name.as_str()) || self.interior.contains(name.as_str())
    }

    /// Resolves `name` for `rtype` like a stub resolver: follows CNAMEs (at most
    /// [`MAX_CHAIN_LEN`] hops, detecting loops) and reports the final data, `NoData` or
    /// `NxDomain`.
    pub fn resolve(&self, name: &DnsName, rtype: &fedsvc_model::RecordType) -> Resolution {
        let mut chain: Vec<Hop> = Vec::new();
        let mut at = name.clone();
        let answer = loop {
            let sets = self.lookup(&at);
            if let Some(found) = sets.iter().find(|r| r.rtype() == rtype) {
                break Answer::Records((*found).clone());
            }
            if let Some(target) = sets.iter().find_map(|r| r.cname_target()) {
                let ttl = sets
                    .iter()
                    .find(|r| r.cname_target().is_some())
                    .map_or(0, |r| r.ttl());
                if target == name || chain.iter().any(|h| &h.target == target) {
                    chain.push(Hop {
                        name: at,
                        target: target.clone(),
                        ttl,
                    });
                    break Answer::Loop {
                        name: target.clone(),
                    };
                }
                if chain.len() >= MAX_CHAIN_LEN {
                    break Answer::ChainTooLong {
                        limit: MAX_CHAIN_LEN,
                    };
                }
                chain.push(Hop {
                    name: at,
                    target: target.clone(),
                    ttl,
                });
                at = target.clone();
                continue;
            }
            if self.exists(&at) {
                break Answer::NoData { name: at };
            }
            break Answer::NxDomain { name: at };
        };
        Resolution {
            query: name.clone(),
            rtype: rtype.clone(),
            chain,
            answer,
        }
    }
}
