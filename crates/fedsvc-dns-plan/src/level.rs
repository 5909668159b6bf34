//! Levels of the record hierarchy: global, region, zone.

use fedsvc_model::Label;

/// The level of a record in the hierarchy, with the localities that name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "level")]
#[non_exhaustive]
pub enum Level {
    /// `S.N.F.svc.D.`: every healthy shard.
    Global,
    /// `S.N.F.svc.R.D.`: the healthy shards of region `R`.
    Region {
        /// The region label.
        region: Label,
    },
    /// `S.N.F.svc.Z.D.` or `S.N.F.svc.Z.R.D.`: the healthy shards of zone `Z` in region `R`.
    Zone {
        /// The zone label.
        zone: Label,
        /// The region the zone lies in.
        region: Label,
    },
}

impl Level {
    /// `global`, `region us-central1` or `zone us-central1-f`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Level::Global => "global".to_owned(),
            Level::Region { region } => format!("region {region}"),
            Level::Zone { zone, .. } => format!("zone {zone}"),
        }
    }
}
