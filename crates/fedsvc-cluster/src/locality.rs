//! Where a member cluster is: zones and region from node labels, or from overrides.

use std::collections::{BTreeMap, BTreeSet};

use fedsvc_model::{Label, LabelRules};

/// The node label holding the zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The deprecated node label holding the zone, read when [`ZONE_LABEL`] is absent.
pub const LEGACY_ZONE_LABEL: &str = "failure-domain.beta.kubernetes.io/zone";
/// The node label holding the region.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// The deprecated node label holding the region, read when [`REGION_LABEL`] is absent.
pub const LEGACY_REGION_LABEL: &str = "failure-domain.beta.kubernetes.io/region";

/// Zones and region given on the `Cluster` object; each one, when set, wins over node labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalityOverride {
    /// The zones to use instead of the node labels.
    pub zones: Option<Vec<Label>>,
    /// The region to use instead of the node labels.
    pub region: Option<Label>,
}

/// The locality of a member cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locality {
    /// Zones, sorted and unique (possibly empty when no node says and no override is given).
    pub zones: Vec<Label>,
    /// The region, if known.
    pub region: Option<Label>,
    /// Things worth reporting that did not stop the computation: nodes without labels,
    /// invalid label values, nodes that disagree on the region.
    pub warnings: Vec<String>,
}

impl Locality {
    /// Computes the locality from `(node name, node labels)` pairs and the overrides.
    ///
    /// Zones are the sorted set of the nodes' zone labels; the region is the one most nodes
    /// carry (ties go to the smallest). Nodes without labels are reported in `warnings`.
    pub fn from_nodes<'a, I>(nodes: I, overrides: &LocalityOverride) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a BTreeMap<String, String>)>,
    {
        let mut zones = BTreeSet::new();
        let mut regions: BTreeMap<Label, usize> = BTreeMap::new();
        let mut warnings = Vec::new();
        let mut unlabelled = Vec::new();
        for (node, labels) in nodes {
            let zone = labels
                .get(ZONE_LABEL)
                .or_else(|| labels.get(LEGACY_ZONE_LABEL));
            let region = labels
                .get(REGION_LABEL)
                .or_else(|| labels.get(LEGACY_REGION_LABEL));
            if zone.is_none() && region.is_none() {
                unlabelled.push(node.to_owned());
                continue;
            }
            if let Some(z) = zone {
                match Label::parse(z, LabelRules::Rfc1123, "zone label") {
                    Ok(l) => {
                        zones.insert(l);
                    }
                    Err(e) => warnings.push(format!("node {node}: {e}")),
                }
            } else {
                warnings.push(format!("node {node} has no zone label"));
            }
            if let Some(r) = region {
                match Label::parse(r, LabelRules::Rfc1123, "region label") {
                    Ok(l) => *regions.entry(l).or_default() += 1,
                    Err(e) => warnings.push(format!("node {node}: {e}")),
                }
            } else {
                warnings.push(format!("node {node} has no region label"));
            }
        }
        if !unlabelled.is_empty() {
            warnings.push(format!(
                "nodes without zone or region labels: {}",
                unlabelled.join(", ")
            ));
        }
        if regions.len() > 1 {
            let all: Vec<String> = regions.keys().map(ToString::to_string).collect();
            warnings.push(format!(
                "nodes disagree on the region ({}); using the most common",
                all.join(", ")
            ));
        }
        let region = regions
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(r, _)| r.clone());
        let mut out = Self {
            zones: zones.into_iter().collect(),
            region,
            warnings,
        };
        if let Some(z) = &overrides.zones {
            let mut z = z.clone();
            z.sort();
            z.dedup();
            out.zones = z;
        }
        if let Some(r) = &overrides.region {
            out.region = Some(r.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn label(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "test").unwrap()
    }

    #[test]
    fn zones_sorted_legacy_fallback_and_unlabelled_reported() {
        let a = labels(&[(ZONE_LABEL, "us-b"), (REGION_LABEL, "us")]);
        let b = labels(&[(LEGACY_ZONE_LABEL, "us-a"), (LEGACY_REGION_LABEL, "us")]);
        let c = labels(&[]);
        let l = Locality::from_nodes(
            [("a", &a), ("b", &b), ("c", &c)],
            &LocalityOverride::default(),
        );
        assert_eq!(l.zones, vec![label("us-a"), label("us-b")]);
        assert_eq!(l.region, Some(label("us")));
        assert!(
            l.warnings.iter().any(|w| w.contains("c")),
            "{:?}",
            l.warnings
        );
    }

    #[test]
    fn overrides_win() {
        let a = labels(&[(ZONE_LABEL, "us-b"), (REGION_LABEL, "us")]);
        let o = LocalityOverride {
            zones: Some(vec![label("z2"), label("z1")]),
            region: Some(label("r")),
        };
        let l = Locality::from_nodes([("a", &a)], &o);
        assert_eq!(l.zones, vec![label("z1"), label("z2")]);
        assert_eq!(l.region, Some(label("r")));
    }
}
