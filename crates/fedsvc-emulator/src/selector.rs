//! Label and field selectors, as in `?labelSelector=` and `?fieldSelector=`: the model's
//! [`fedsvc_model::Selector`], matched against an object's labels or its dotted field paths.

use serde_json::Value;

/// A parsed label or field selector; all requirements must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selector(fedsvc_model::Selector);

impl Selector {
    /// Parses a selector; `Err` carries a message for a 400 Bad Request.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        fedsvc_model::Selector::parse(s)
            .map(Self)
            .map_err(|e| e.to_string())
    }

    /// Matches the object's `metadata.labels`.
    pub(crate) fn matches_labels(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        self.0.matches(|k| labels.get(k).and_then(Value::as_str))
    }

    /// Matches dotted field paths (`metadata.name`, `involvedObject.uid`, …) of the object.
    ///
    /// A field that is absent compares as the empty string, as on a real server; numbers and
    /// booleans compare as their JSON text.
    pub(crate) fn matches_fields(&self, obj: &Value) -> bool {
        self.0.matches(|path| {
            let mut v = obj;
            for part in path.split('.') {
                v = v.get(part).unwrap_or(&Value::Null);
            }
            Some(match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": {"app": "web", "tier": "fe"}}})
    }

    #[test]
    fn label_operators() {
        let o = obj();
        let m = |s: &str| Selector::parse(s).unwrap().matches_labels(&o);
        assert!(m("app=web"));
        assert!(m("app==web,tier"));
        assert!(!m("app!=web"));
        assert!(m("app in (web, api)"));
        assert!(!m("app notin (web)"));
        assert!(m("!missing"));
        assert!(!m("missing"));
        assert!(m(""));
    }

    #[test]
    fn field_selectors() {
        let o = obj();
        let s = Selector::parse("metadata.name=a,metadata.namespace!=other").unwrap();
        assert!(s.matches_fields(&o));
        assert!(
            !Selector::parse("metadata.name=b")
                .unwrap()
                .matches_fields(&o)
        );
    }
}
