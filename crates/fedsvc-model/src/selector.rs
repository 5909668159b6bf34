//! Kubernetes label (and field) selectors in their string form, parsed once and matched
//! against any lookup of keys.
//!
//! The same type serves placement (`fedsvc.io/cluster-selector` on a federated object, matched
//! against a Cluster's labels) and the API emulator (`?labelSelector=` against an object's
//! labels, `?fieldSelector=` against its dotted field paths).

use std::collections::BTreeMap;

use thiserror::Error;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A selector that could not be parsed: the requirement at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot parse selector requirement {requirement:?}: {reason}")]
pub struct SelectorError {
    /// The requirement as written.
    pub requirement: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// A parsed selector, `env=prod,tier!=edge,region in (us,eu),!legacy,gpu`: every requirement
/// must hold. The empty selector selects everything.
///
/// ```
/// use std::collections::BTreeMap;
/// use fedsvc_model::Selector;
/// let s = Selector::parse("env=prod, region in (us, eu), !legacy").unwrap();
/// let labels = BTreeMap::from([
///     ("env".to_string(), "prod".to_string()),
///     ("region".to_string(), "eu".to_string()),
/// ]);
/// assert!(s.matches_labels(&labels));
/// assert!(Selector::parse("env in prod").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Parses the string form.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for part in split_top(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let err = |reason| SelectorError {
                requirement: part.to_owned(),
                reason,
            };
            let req = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(key.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                let set = set(rest).ok_or_else(|| err("expected a set in parentheses"))?;
                Requirement::NotIn(k.trim().to_owned(), set)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                let set = set(rest).ok_or_else(|| err("expected a set in parentheses"))?;
                Requirement::In(k.trim().to_owned(), set)
            } else if part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                Requirement::Exists(part.to_owned())
            } else {
                return Err(err(
                    "expected key, !key, key=value, key!=value, key in (…) or key notin (…)",
                ));
            };
            requirements.push(req);
        }
        Ok(Self { requirements })
    }

    /// Whether it selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether every requirement holds for the values `lookup` finds for its keys (labels, or
    /// field paths); the lookup may lend (`&str`) or make (`String`) each value.
    pub fn matches<S: AsRef<str>>(&self, lookup: impl Fn(&str) -> Option<S>) -> bool {
        let value = |k: &str| lookup(k);
        let is = |found: Option<S>, v: &str| found.is_some_and(|x| x.as_ref() == v);
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => is(value(k), v),
            Requirement::NotEquals(k, v) => !is(value(k), v),
            Requirement::In(k, vs) => value(k).is_some_and(|x| vs.iter().any(|v| v == x.as_ref())),
            Requirement::NotIn(k, vs) => {
                value(k).is_none_or(|x| !vs.iter().any(|v| v == x.as_ref()))
            }
            Requirement::Exists(k) => value(k).is_some(),
            Requirement::DoesNotExist(k) => value(k).is_none(),
        })
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches(|k| labels.get(k).map(String::as_str))
    }
}

/// The values of `(a, b, c)`.
fn set(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// Splits on commas outside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
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

    #[test]
    fn each_operator() {
        let l = labels(&[("env", "prod"), ("region", "eu")]);
        for (sel, want) in [
            ("", true),
            ("env=prod", true),
            ("env==prod", true),
            ("env!=prod", false),
            ("region in (us, eu)", true),
            ("region notin (us, eu)", false),
            ("gpu notin (a)", true),
            ("env", true),
            ("gpu", false),
            ("!gpu", true),
            ("env=prod,region=us", false),
        ] {
            assert_eq!(
                Selector::parse(sel).unwrap().matches_labels(&l),
                want,
                "{sel}"
            );
        }
        assert!(Selector::parse("").unwrap().is_empty());
    }

    #[test]
    fn errors_name_the_requirement() {
        let e = Selector::parse("env=prod, a b c").unwrap_err();
        assert_eq!(e.requirement, "a b c");
        assert_eq!(
            e.to_string(),
            "cannot parse selector requirement \"a b c\": expected key, !key, key=value, \
             key!=value, key in (…) or key notin (…)"
        );
        let e = Selector::parse("env in prod").unwrap_err();
        assert_eq!(e.reason, "expected a set in parentheses");
    }

    #[test]
    fn field_paths_through_a_lookup() {
        let s = Selector::parse("metadata.name=a,metadata.namespace!=other").unwrap();
        let fields = |k: &str| match k {
            "metadata.name" => Some("a"),
            "metadata.namespace" => Some("ns"),
            _ => None,
        };
        assert!(s.matches(fields));
    }
}
