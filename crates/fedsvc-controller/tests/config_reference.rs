//! Every key of the controller's configuration file is documented in `docs/operations.md`'s
//! configuration reference (the `## Configuration` section): as a key of its YAML example, or
//! in backticks (`leaderElection.identity`, or the key alone).
//!
//! The keys come from the code: each configuration struct's `Deserialize` is asked for the
//! names of its fields (as serde sees them, camelCase), so a new key fails this test until the
//! page names it.

use std::collections::BTreeSet;
use std::path::Path;

use fedsvc_controller::config::{
    ControllerConfig, HealthConfig, LeaderElectionConfig, MembersConfig, ReadinessConfig,
    SyncConfig, WorkloadsConfig,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A deserializer that only records the field names a struct asks for, then stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("only the field names were wanted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The keys of the configuration struct `T`.
fn keys<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    assert!(
        !fields.is_empty(),
        "{} has no named fields",
        std::any::type_name::<T>()
    );
    fields.to_vec()
}

/// Every key of the file: top-level keys, and `parent.child` for the sections.
fn config_keys() -> Vec<String> {
    let mut all: Vec<String> = keys::<ControllerConfig>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let sections: [(&str, Vec<&str>); 6] = [
        ("health", keys::<HealthConfig>()),
        ("sync", keys::<SyncConfig>()),
        ("members", keys::<MembersConfig>()),
        ("leaderElection", keys::<LeaderElectionConfig>()),
        ("readiness", keys::<ReadinessConfig>()),
        ("workloads", keys::<WorkloadsConfig>()),
    ];
    for (section, fields) in sections {
        assert!(
            all.iter().any(|k| k == section),
            "`{section}` is no longer a key of the configuration: update this test"
        );
        all.extend(fields.into_iter().map(|f| format!("{section}.{f}")));
    }
    all
}

/// The `## Configuration` section of docs/operations.md.
fn configuration_section() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operations.md");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let start = text
        .find("\n## Configuration\n")
        .expect("docs/operations.md has a `## Configuration` section");
    let rest = &text[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_owned()
}

/// What the section documents: the keys of its YAML blocks (`key:`, also inside `{…}`), and
/// every backticked word or dotted path (`leaderElection.identity`), with each of its parts.
fn documented(section: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let is_key_char = |c: char| c.is_ascii_alphanumeric();
    let mut in_yaml = false;
    for line in section.lines() {
        let fence = line.trim_start().starts_with("```");
        if fence {
            in_yaml = !in_yaml && line.trim_start().starts_with("```yaml");
            continue;
        }
        if in_yaml {
            // `key:` anywhere on the line: at its start, after `{`, `,` or in a comment.
            let bytes: Vec<char> = line.chars().collect();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i].is_ascii_alphabetic() && (i == 0 || !is_key_char(bytes[i - 1])) {
                    let start = i;
                    while i < bytes.len() && is_key_char(bytes[i]) {
                        i += 1;
                    }
                    if bytes.get(i) == Some(&':') {
                        found.insert(bytes[start..i].iter().collect::<String>());
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            for (n, quoted) in line.split('`').enumerate() {
                if n % 2 == 1 {
                    let word = quoted.trim_end_matches(':');
                    if word.chars().all(|c| is_key_char(c) || c == '.') {
                        found.insert(word.to_owned());
                        found.extend(word.split('.').map(str::to_owned));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn every_configuration_key_is_in_the_reference() {
    let section = configuration_section();
    let documented = documented(&section);
    let missing: Vec<String> = config_keys()
        .into_iter()
        .filter(|path| {
            // `health.period` is documented by `period:` in the example's `health: {…}`
            // line, or by `health.period` in backticks.
            let leaf = path.rsplit('.').next().unwrap_or(path);
            !documented.contains(path.as_str()) && !documented.contains(leaf)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/operations.md's configuration reference does not name {missing:?}"
    );
}

#[test]
fn the_key_list_comes_from_the_code() {
    let keys = config_keys();
    for k in [
        "federation",
        "dnsSuffix",
        "dnsConfigFile",
        "excludeNamespaces",
        "health.failureThreshold",
        "members.requestTimeout",
        "leaderElection.identity",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} not in {keys:?}");
    }
    let doc = documented(
        "## Configuration\n\n```yaml\nttl: 180 # x\nhealth: {period: 10s, failureThreshold: 3}\n```\n\n`leaderElection.identity` and `workers:`\n",
    );
    for k in [
        "ttl",
        "health",
        "period",
        "failureThreshold",
        "leaderElection",
        "identity",
        "leaderElection.identity",
        "workers",
    ] {
        assert!(doc.contains(k), "{k} not in {doc:?}");
    }
    assert!(!doc.contains("x"));
}
