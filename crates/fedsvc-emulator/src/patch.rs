//! Patches: JSON merge patch, a strategic-merge approximation, JSON patch and server-side apply.

use serde_json::{Map, Value};

/// RFC 7386 JSON merge patch (`null` deletes, objects merge, everything else replaces).
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The keys lists of objects are merged by in a strategic merge patch, tried in this order: a
/// list merges by the first key that every element of both sides has (`name` for containers,
/// env, volumes; `mountPath` for volume mounts; `containerPort` and `port` for ports; `type`
/// for conditions). The API's own table of merge keys per field is approximated this way.
const MERGE_KEYS: [&str; 6] = ["name", "mountPath", "containerPort", "port", "type", "ip"];

/// Strategic merge patch, approximated: objects merge as in a merge patch; lists of objects
/// merge element by element by their merge key ([`MERGE_KEYS`]), an element with
/// `$patch: delete` is removed, new elements are appended; other lists are replaced; other
/// `$`-directives are ignored.
pub(crate) fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if k.starts_with('$') {
                    continue;
                }
                if v.is_null() {
                    t.remove(k);
                } else {
                    strategic_merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        Value::Array(items) => match (merge_key(target, items), target.as_array_mut()) {
            (Some(key), Some(list)) => {
                for item in items {
                    let at = list.iter().position(|e| e[key] == item[key]);
                    let delete = item["$patch"] == "delete";
                    match (at, delete) {
                        (Some(i), true) => {
                            list.remove(i);
                        }
                        (Some(i), false) => strategic_merge_patch(&mut list[i], item),
                        (None, true) => {}
                        (None, false) => {
                            let mut fresh = Value::Null;
                            strategic_merge_patch(&mut fresh, item);
                            list.push(fresh);
                        }
                    }
                }
            }
            _ => *target = Value::Array(items.iter().map(strip_directives).collect()),
        },
        other => *target = other.clone(),
    }
}

/// The merge key of two lists of objects, if they have one.
fn merge_key(target: &Value, patch: &[Value]) -> Option<&'static str> {
    let current = target.as_array()?;
    let all: Vec<&Value> = current.iter().chain(patch).collect();
    if all.is_empty() || !all.iter().all(|v| v.is_object()) {
        return None;
    }
    MERGE_KEYS
        .into_iter()
        .find(|k| all.iter().all(|v| v.get(*k).is_some_and(|x| !x.is_null())))
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn parent_and_key<'a>(root: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), String> {
    let tokens: Vec<String> = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?
        .split('/')
        .map(unescape)
        .collect();
    let (last, parents) = tokens.split_last().expect("one token at least");
    let mut cur = root;
    for t in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("path {path:?} does not exist"))?;
    }
    Ok((cur, last.clone()))
}

fn pointer_get(root: &Value, path: &str) -> Option<Value> {
    root.pointer(path).cloned()
}

fn add(root: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *root = value;
        return Ok(());
    }
    let (parent, key) = parent_and_key(root, path)?;
    match parent {
        Value::Object(m) => {
            m.insert(key, value);
            Ok(())
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(value);
                return Ok(());
            }
            let i: usize = key.parse().map_err(|_| format!("bad index {key:?}"))?;
            if i > a.len() {
                return Err(format!("index {i} out of range"));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("cannot add at {path:?}")),
    }
}

fn remove(root: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, key) = parent_and_key(root, path)?;
    match parent {
        Value::Object(m) => m
            .remove(&key)
            .ok_or_else(|| format!("path {path:?} does not exist")),
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| format!("bad index {key:?}"))?;
            if i >= a.len() {
                return Err(format!("index {i} out of range"));
            }
            Ok(a.remove(i))
        }
        _ => Err(format!("cannot remove {path:?}")),
    }
}

/// RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`).
pub(crate) fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops.as_array().ok_or("a JSON patch must be an array")?;
    for op in ops {
        let path = op["path"].as_str().ok_or("operation without path")?;
        match op["op"].as_str() {
            Some("add") => add(target, path, op["value"].clone())?,
            Some("remove") => {
                remove(target, path)?;
            }
            Some("replace") => {
                remove(target, path)?;
                add(target, path, op["value"].clone())?;
            }
            Some("move") => {
                let from = op["from"].as_str().ok_or("move without from")?;
                let v = remove(target, from)?;
                add(target, path, v)?;
            }
            Some("copy") => {
                let from = op["from"].as_str().ok_or("copy without from")?;
                let v = pointer_get(target, from).ok_or("copy source missing")?;
                add(target, path, v)?;
            }
            Some("test") => {
                if pointer_get(target, path).as_ref() != Some(&op["value"]) {
                    return Err(format!("test operation at {path:?} failed"));
                }
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

/// The set of fields of an applied object, in the `FieldsV1` form (`{"f:spec": {…}}`).
///
/// Lists are recorded as atomic (`{}`), which is coarser than a real server.
pub(crate) fn fields_v1(applied: &Value) -> Value {
    fn walk(v: &Value, top: bool) -> Value {
        let mut out = Map::new();
        if let Value::Object(m) = v {
            for (k, child) in m {
                if top && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                let sub = if child.is_object() {
                    walk(child, false)
                } else {
                    Value::Object(Map::new())
                };
                out.insert(format!("f:{k}"), sub);
            }
        }
        Value::Object(out)
    }
    let mut applied = applied.clone();
    if let Some(meta) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "name",
            "namespace",
            "resourceVersion",
            "uid",
            "managedFields",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    walk(&applied, true)
}

/// Merges an applied configuration into the live object, server-side apply style with a single
/// field manager: maps merge, lists and scalars replace, and fields the manager applied
/// before (`previous`, in `FieldsV1` form) but no longer applies are removed.
pub(crate) fn apply_merge(live: &mut Value, applied: &Value, previous: Option<&Value>) {
    fn merge(t: &mut Value, a: &Value) {
        match (t, a) {
            (Value::Object(t), Value::Object(a)) => {
                for (k, v) in a {
                    match t.get_mut(k) {
                        Some(tv) if tv.is_object() && v.is_object() => merge(tv, v),
                        _ => {
                            t.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            (t, a) => *t = a.clone(),
        }
    }
    fn prune(t: &mut Value, a: &Value, prev: &Value) {
        let (Value::Object(t), Value::Object(prev)) = (t, prev) else {
            return;
        };
        for (fk, sub) in prev {
            let Some(k) = fk.strip_prefix("f:") else {
                continue;
            };
            match a.get(k) {
                None => {
                    t.remove(k);
                }
                Some(av) if av.is_object() => {
                    if let Some(tv) = t.get_mut(k) {
                        prune(tv, av, sub);
                    }
                }
                Some(_) => {}
            }
        }
    }
    if let Some(prev) = previous {
        for (k, sub) in prev.as_object().into_iter().flatten() {
            if k == "f:metadata"
                && let (Some(tm), Some(am)) = (live.get_mut("metadata"), applied.get("metadata"))
            {
                prune(tm, am, sub);
            }
        }
        let mut top = prev.clone();
        if let Some(m) = top.as_object_mut() {
            m.remove("f:metadata");
        }
        prune(live, applied, &top);
    }
    let mut applied = applied.clone();
    if let Some(meta) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "resourceVersion",
            "uid",
            "managedFields",
            "creationTimestamp",
        ] {
            meta.remove(k);
        }
    }
    merge(live, &applied);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut d = serde_json::json!({"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1", "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "busybox"},
        ]}});
        strategic_merge_patch(
            &mut d,
            &serde_json::json!({"spec": {"containers": [
                {"name": "nginx", "image": "nginx:2"},
                {"name": "side", "$patch": "delete"},
                {"name": "new", "image": "x"},
            ]}}),
        );
        assert_eq!(
            d,
            serde_json::json!({"spec": {"containers": [
                {"name": "nginx", "image": "nginx:2", "ports": [{"containerPort": 80}]},
                {"name": "new", "image": "x"},
            ]}})
        );
        // Lists of scalars are replaced.
        let mut f = serde_json::json!({"metadata": {"finalizers": ["a", "b"]}});
        strategic_merge_patch(
            &mut f,
            &serde_json::json!({"metadata": {"finalizers": ["c"]}}),
        );
        assert_eq!(f["metadata"]["finalizers"], serde_json::json!(["c"]));
    }
    use serde_json::json;

    #[test]
    fn merge_patch_deletes_and_merges() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge_patch(&mut t, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(t, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
    }

    #[test]
    fn json_patch_ops() {
        let mut t = json!({"a": [1, 2], "b": {"c": 1}});
        json_patch(
            &mut t,
            &json!([
                {"op": "add", "path": "/a/-", "value": 3},
                {"op": "replace", "path": "/b/c", "value": 2},
                {"op": "remove", "path": "/a/0"},
                {"op": "test", "path": "/b/c", "value": 2},
            ]),
        )
        .unwrap();
        assert_eq!(t, json!({"a": [2, 3], "b": {"c": 2}}));
        assert!(json_patch(&mut t, &json!([{"op": "test", "path": "/b/c", "value": 9}])).is_err());
    }

    #[test]
    fn apply_removes_fields_no_longer_applied() {
        let first =
            json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "spec": {"p": 1}});
        let mut live =
            json!({"metadata": {"name": "x", "labels": {"other": "z"}}, "spec": {"q": 9}});
        apply_merge(&mut live, &first, None);
        let fields = fields_v1(&first);
        let second = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"p": 2}});
        apply_merge(&mut live, &second, Some(&fields));
        assert_eq!(
            live,
            json!({"metadata": {"name": "x", "labels": {"a": "1", "other": "z"}}, "spec": {"p": 2, "q": 9}})
        );
    }
}
