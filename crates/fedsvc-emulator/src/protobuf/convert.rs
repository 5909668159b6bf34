//! Conversions between the JSON the emulator stores and the Kubernetes API's prost messages,
//! both ways: [`ToJson`] for request bodies, [`FromJson`] for answers. Messages get both from
//! one list of fields (`messages!` in [`super::fields`]), so what one direction maps the other
//! maps too.

use std::collections::BTreeMap;
use std::fmt;

use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

/// A value as the API writes it in JSON; `None` leaves the field out (unset, or empty).
pub(super) trait ToJson {
    fn to_json(&self) -> Option<Value>;
}

/// A message (or field) from the JSON the API writes; a value of the wrong type is refused
/// with a [`Fault`] naming the field.
pub(super) trait FromJson: Sized {
    fn from_json(v: &Value) -> Result<Self, Fault>;
}

/// A JSON value that does not fit the field it is in: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The path from the field at fault up to the object, innermost first.
    path: Vec<String>,
    problem: String,
}

impl Fault {
    pub(super) fn expected(what: &str, found: &Value) -> Self {
        let found = match found {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => format!("{s:?}"),
            Value::Array(_) => "a list".to_owned(),
            Value::Object(_) => "an object".to_owned(),
        };
        Self {
            path: Vec::new(),
            problem: format!("expected {what}, found {found}"),
        }
    }

    /// The same fault, one level up: inside field (or `[index]`, `["key"]`) `segment`.
    pub(super) fn at(mut self, segment: impl Into<String>) -> Self {
        self.path.push(segment.into());
        self
    }

    /// The dotted path of the field at fault (`spec.ports[0].port`), empty for the object.
    pub(crate) fn field(&self) -> String {
        let mut out = String::new();
        for seg in self.path.iter().rev() {
            if !out.is_empty() && !seg.starts_with('[') {
                out.push('.');
            }
            out.push_str(seg);
        }
        out
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field() {
            field if field.is_empty() => f.write_str(&self.problem),
            field => write!(f, "{field}: {}", self.problem),
        }
    }
}

impl ToJson for String {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.clone()))
    }
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| Fault::expected("a string", v))
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        v.as_bool()
            .ok_or_else(|| Fault::expected("true or false", v))
    }
}

impl ToJson for i32 {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl FromJson for i32 {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        v.as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| Fault::expected("a 32-bit integer", v))
    }
}

impl ToJson for i64 {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(*self))
    }
}

impl FromJson for i64 {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        v.as_i64()
            .ok_or_else(|| Fault::expected("a 64-bit integer", v))
    }
}

/// Bytes, as the API writes them: base64.
impl ToJson for Vec<u8> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(data_encoding::BASE64.encode(self)))
    }
}

impl FromJson for Vec<u8> {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        let s = v.as_str().ok_or_else(|| Fault::expected("base64", v))?;
        data_encoding::BASE64
            .decode(s.as_bytes())
            .map_err(|_| Fault::expected("base64", v))
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Option<Value> {
        self.as_ref().and_then(ToJson::to_json)
    }
}

/// `null` is unset.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        if v.is_null() {
            return Ok(None);
        }
        T::from_json(v).map(Some)
    }
}

/// A list; an empty one is left out.
impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Option<Value> {
        if self.is_empty() {
            return None;
        }
        Some(Value::Array(
            self.iter()
                .map(|v| v.to_json().unwrap_or(Value::Null))
                .collect(),
        ))
    }
}

/// A list; `null` is an empty one.
impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| T::from_json(item).map_err(|f| f.at(format!("[{i}]"))))
                .collect(),
            other => Err(Fault::expected("a list", other)),
        }
    }
}

/// A map; an empty one is left out.
impl<T: ToJson> ToJson for BTreeMap<String, T> {
    fn to_json(&self) -> Option<Value> {
        if self.is_empty() {
            return None;
        }
        Some(Value::Object(
            self.iter()
                .filter_map(|(k, v)| v.to_json().map(|v| (k.clone(), v)))
                .collect(),
        ))
    }
}

/// A map; `null` is an empty one.
impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        match v {
            Value::Null => Ok(BTreeMap::new()),
            Value::Object(entries) => entries
                .iter()
                .map(|(k, item)| {
                    T::from_json(item)
                        .map(|t| (k.clone(), t))
                        .map_err(|f| f.at(format!("[{k:?}]")))
                })
                .collect(),
            other => Err(Fault::expected("an object", other)),
        }
    }
}

impl ToJson for Quantity {
    fn to_json(&self) -> Option<Value> {
        self.string.to_json()
    }
}

/// A quantity: a string (`"500m"`), or a plain number as YAML manifests often write it.
impl FromJson for Quantity {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        let string = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return Err(Fault::expected("a quantity", other)),
        };
        Ok(Quantity {
            string: Some(string),
        })
    }
}

impl ToJson for IntOrString {
    fn to_json(&self) -> Option<Value> {
        // Type 0 is an integer, 1 a string.
        if self.r#type == Some(1) {
            self.str_val.to_json()
        } else {
            self.int_val.to_json()
        }
    }
}

impl FromJson for IntOrString {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        match v {
            Value::String(s) => Ok(IntOrString {
                r#type: Some(1),
                int_val: None,
                str_val: Some(s.clone()),
            }),
            other => Ok(IntOrString {
                r#type: Some(0),
                int_val: Some(
                    i32::from_json(other)
                        .map_err(|_| Fault::expected("a 32-bit integer or a string", other))?,
                ),
                str_val: None,
            }),
        }
    }
}

fn timestamp(v: &Value) -> Result<jiff::Timestamp, Fault> {
    v.as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .ok_or_else(|| Fault::expected("an RFC 3339 time", v))
}

/// A time, in RFC 3339 to the second; the zero time (what Go writes for an unset one) is unset.
impl ToJson for meta::Time {
    fn to_json(&self) -> Option<Value> {
        let seconds = self.seconds.filter(|s| *s != 0)?;
        let t = jiff::Timestamp::from_second(seconds).ok()?;
        Some(Value::String(t.to_string()))
    }
}

/// Seconds only: the API's `metav1.Time` drops fractions in Protocol Buffers as in JSON.
impl FromJson for meta::Time {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        Ok(meta::Time {
            seconds: Some(timestamp(v)?.as_second()),
            nanos: None,
        })
    }
}

/// A time to the microsecond (`metav1.MicroTime`): `2006-01-02T15:04:05.000000Z`.
impl ToJson for meta::MicroTime {
    fn to_json(&self) -> Option<Value> {
        let seconds = self.seconds.unwrap_or(0);
        let nanos = self.nanos.unwrap_or(0);
        if seconds == 0 && nanos == 0 {
            return None;
        }
        let whole = jiff::Timestamp::from_second(seconds).ok()?.to_string();
        let micros = nanos / 1000;
        Some(Value::String(format!(
            "{}.{micros:06}Z",
            whole.trim_end_matches('Z')
        )))
    }
}

impl FromJson for meta::MicroTime {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        let t = timestamp(v)?;
        Ok(meta::MicroTime {
            seconds: Some(t.as_second()),
            nanos: Some(t.subsec_nanosecond() / 1000 * 1000),
        })
    }
}

/// `managedFields[].fieldsV1`: the JSON document itself, carried as bytes.
impl ToJson for meta::FieldsV1 {
    fn to_json(&self) -> Option<Value> {
        serde_json::from_slice(self.raw.as_deref()?).ok()
    }
}

impl FromJson for meta::FieldsV1 {
    fn from_json(v: &Value) -> Result<Self, Fault> {
        Ok(meta::FieldsV1 {
            raw: Some(serde_json::to_vec(v).unwrap_or_default()),
        })
    }
}

/// The JSON name of a field: the Rust (snake case) name in lower camel case.
pub(super) fn camel(field: &str) -> String {
    let field = field.trim_start_matches("r#");
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a value is what Go writes for a plain (non-pointer) field that is unset: 0, false
/// or "". The API's JSON leaves those out (`omitempty`); a pointer field, or one the API always
/// writes (marked `: keep` in the field lists), keeps them.
pub(super) fn unset(v: &Value) -> bool {
    v.as_i64() == Some(0) || v.as_bool() == Some(false) || v.as_str() == Some("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_names() {
        assert_eq!(camel("generate_name"), "generateName");
        assert_eq!(camel("r#type"), "type");
        assert_eq!(camel("name"), "name");
    }

    #[test]
    fn faults_name_the_field() {
        let f = i32::from_json(&json!("80"))
            .unwrap_err()
            .at("[0]")
            .at("ports")
            .at("spec");
        assert_eq!(f.field(), "spec.ports[0]");
        assert_eq!(
            f.to_string(),
            "spec.ports[0]: expected a 32-bit integer, found \"80\""
        );
        let f = BTreeMap::<String, String>::from_json(&json!({"a.b/c": 1})).unwrap_err();
        assert_eq!(f.to_string(), "[\"a.b/c\"]: expected a string, found 1");
        assert!(i32::from_json(&json!(1_i64 << 40)).is_err());
        assert!(Vec::<u8>::from_json(&json!("not base64!")).is_err());
    }

    #[test]
    fn times() {
        let t = meta::Time::from_json(&json!("2026-03-04T05:06:07.89Z")).unwrap();
        assert_eq!(t.nanos, None, "metav1.Time keeps seconds only");
        assert_eq!(t.to_json(), Some(json!("2026-03-04T05:06:07Z")));
        let m = meta::MicroTime::from_json(&json!("2026-03-04T05:06:07.123456Z")).unwrap();
        assert_eq!(m.nanos, Some(123_456_000));
        assert_eq!(m.to_json(), Some(json!("2026-03-04T05:06:07.123456Z")));
        assert!(meta::Time::from_json(&json!("yesterday")).is_err());
    }

    #[test]
    fn int_or_string_and_quantities() {
        let port = IntOrString::from_json(&json!(8080)).unwrap();
        assert_eq!((port.r#type, port.int_val), (Some(0), Some(8080)));
        assert_eq!(port.to_json(), Some(json!(8080)));
        let named = IntOrString::from_json(&json!("http")).unwrap();
        assert_eq!(named.to_json(), Some(json!("http")));
        assert!(IntOrString::from_json(&json!(true)).is_err());
        assert_eq!(
            Quantity::from_json(&json!(2)).unwrap().to_json(),
            Some(json!("2"))
        );
    }
}
