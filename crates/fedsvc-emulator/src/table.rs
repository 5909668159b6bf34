//! `meta.k8s.io/v1` Table rendering, for `kubectl get`.

use serde_json::{Value, json};

use crate::resource::{Column, Printer, Resource};

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`.
pub(crate) fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(ts: &Value) -> Value {
    let Some(t) = ts.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()) else {
        return Value::Null;
    };
    let secs = jiff::Timestamp::now().as_second() - t.as_second();
    json!(human_duration(secs))
}

/// Evaluates the simple JSONPath forms used in printer columns: `.a.b`, `.a[0]`, `.a[*].b`
/// and `.a[?(@.k=="v")].b`. Returns every match.
pub(crate) fn json_path<'a>(obj: &'a Value, path: &str) -> Vec<&'a Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let path = path.strip_prefix('$').unwrap_or(path);
    let mut cur = vec![obj];
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let field = &r[..end];
            rest = &r[end..];
            if field.is_empty() {
                continue;
            }
            cur = cur.into_iter().filter_map(|v| v.get(field)).collect();
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { break };
            let inner = &r[..end];
            rest = &r[end + 1..];
            let items = cur
                .into_iter()
                .filter_map(Value::as_array)
                .flat_map(|a| a.iter());
            cur = if inner == "*" {
                items.collect()
            } else if let Ok(i) = inner.parse::<usize>() {
                items.skip(i).take(1).collect()
            } else if let Some(filter) =
                inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')'))
            {
                let (field, want) = filter.split_once("==").unwrap_or((filter, ""));
                let want = want.trim().trim_matches('"').trim_matches('\'');
                items
                    .filter(|item| {
                        let v = json_path(item, &format!(".{}", field.trim()));
                        v.first().is_some_and(|v| match v {
                            Value::String(s) => s == want,
                            other => *other == want,
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
        } else {
            break;
        }
    }
    cur
}

/// A cell from the first JSONPath match, printed as the real server prints it.
fn cell(obj: &Value, col: &Column) -> Value {
    let Some(v) = json_path(obj, &col.json_path).into_iter().next() else {
        return Value::Null;
    };
    match col.type_.as_str() {
        "date" => age(v),
        "integer" | "number" | "boolean" => v.clone(),
        _ => match v {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            Value::Array(_) | Value::Object(_) => json!(v.to_string()),
            other => json!(other.to_string()),
        },
    }
}

fn service_cells(obj: &Value) -> Vec<Value> {
    let spec = &obj["spec"];
    let ty = spec["type"].as_str().unwrap_or("ClusterIP");
    let cluster_ip = spec["clusterIP"].as_str().unwrap_or("<none>");
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()
    };
    let mut external = strs(&spec["externalIPs"]);
    if ty == "LoadBalancer" {
        for i in obj["status"]["loadBalancer"]["ingress"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(ip) = i["ip"].as_str() {
                external.push(ip.to_owned());
            } else if let Some(h) = i["hostname"].as_str() {
                external.push(h.to_owned());
            }
        }
    }
    let external = match (ty, external.is_empty()) {
        ("ExternalName", _) => spec["externalName"].as_str().unwrap_or("").to_owned(),
        ("LoadBalancer", true) => "<pending>".to_owned(),
        (_, true) => "<none>".to_owned(),
        _ => external.join(","),
    };
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) if ty != "ClusterIP" => format!("{}:{np}/{proto}", p["port"]),
                _ => format!("{}/{proto}", p["port"]),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_owned()
    } else {
        ports.join(",")
    };
    let selector = spec["selector"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<none>".into());
    vec![
        json!(obj["metadata"]["name"]),
        json!(ty),
        json!(cluster_ip),
        json!(external),
        json!(ports),
        age(&obj["metadata"]["creationTimestamp"]),
        json!(selector),
    ]
}

/// A printer whose cells are computed from the whole object, as the API server's own
/// printers for pods, deployments, replica sets and endpoints are.
#[derive(Debug)]
pub(crate) struct Custom {
    /// Name, type and priority (1: shown by `-o wide` only) of each column after `Name`.
    columns: &'static [(&'static str, &'static str, i64)],
    /// The cells after `Name`.
    cells: fn(&Value) -> Vec<Value>,
}

/// `kubectl get pods`: READY, STATUS, RESTARTS, AGE; with `-o wide` IP and NODE.
pub(crate) static POD: Custom = Custom {
    columns: &[
        ("Ready", "string", 0),
        ("Status", "string", 0),
        ("Restarts", "string", 0),
        ("Age", "string", 0),
        ("IP", "string", 1),
        ("Node", "string", 1),
    ],
    cells: pod_cells,
};

fn count(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn pod_cells(pod: &Value) -> Vec<Value> {
    let statuses = pod["status"]["containerStatuses"].as_array();
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses
        .into_iter()
        .flatten()
        .filter(|c| c["ready"] == true)
        .count();
    let restarts: i64 = statuses
        .into_iter()
        .flatten()
        .map(|c| count(&c["restartCount"]))
        .sum();
    let status = if !pod["metadata"]["deletionTimestamp"].is_null() {
        "Terminating"
    } else {
        pod["status"]["reason"]
            .as_str()
            .or_else(|| pod["status"]["phase"].as_str())
            .unwrap_or("Pending")
    };
    let or_none = |v: &Value| json!(v.as_str().unwrap_or("<none>"));
    vec![
        json!(format!("{ready}/{total}")),
        json!(status),
        json!(restarts.to_string()),
        age(&pod["metadata"]["creationTimestamp"]),
        or_none(&pod["status"]["podIP"]),
        or_none(&pod["spec"]["nodeName"]),
    ]
}

/// `kubectl get deployments`: READY, UP-TO-DATE, AVAILABLE, AGE; with `-o wide` CONTAINERS,
/// IMAGES and SELECTOR.
pub(crate) static DEPLOYMENT: Custom = Custom {
    columns: &[
        ("Ready", "string", 0),
        ("Up-to-date", "integer", 0),
        ("Available", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ],
    cells: deployment_cells,
};

fn containers(template: &Value, field: &str) -> Value {
    let names: Vec<&str> = template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c[field].as_str())
        .collect();
    json!(names.join(","))
}

fn selector_text(selector: &Value) -> Value {
    let labels: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    json!(if labels.is_empty() {
        "<none>".to_owned()
    } else {
        labels.join(",")
    })
}

fn deployment_cells(d: &Value) -> Vec<Value> {
    let status = &d["status"];
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    vec![
        json!(format!("{}/{want}", count(&status["readyReplicas"]))),
        json!(count(&status["updatedReplicas"])),
        json!(count(&status["availableReplicas"])),
        age(&d["metadata"]["creationTimestamp"]),
        containers(&d["spec"]["template"], "name"),
        containers(&d["spec"]["template"], "image"),
        selector_text(&d["spec"]["selector"]),
    ]
}

/// `kubectl get replicasets`: DESIRED, CURRENT, READY, AGE.
pub(crate) static REPLICA_SET: Custom = Custom {
    columns: &[
        ("Desired", "integer", 0),
        ("Current", "integer", 0),
        ("Ready", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ],
    cells: replica_set_cells,
};

fn replica_set_cells(rs: &Value) -> Vec<Value> {
    vec![
        json!(rs["spec"]["replicas"].as_i64().unwrap_or(1)),
        json!(count(&rs["status"]["replicas"])),
        json!(count(&rs["status"]["readyReplicas"])),
        age(&rs["metadata"]["creationTimestamp"]),
        containers(&rs["spec"]["template"], "name"),
        containers(&rs["spec"]["template"], "image"),
        selector_text(&rs["spec"]["selector"]),
    ]
}

/// `kubectl get endpoints`: ENDPOINTS (ready `ip:port` pairs, three and a count), AGE.
pub(crate) static ENDPOINTS: Custom = Custom {
    columns: &[("Endpoints", "string", 0), ("Age", "string", 0)],
    cells: endpoints_cells,
};

fn endpoints_cells(ep: &Value) -> Vec<Value> {
    let mut pairs = Vec::new();
    for subset in ep["subsets"].as_array().into_iter().flatten() {
        let ports: Vec<i64> = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["port"].as_i64())
            .collect();
        for a in subset["addresses"].as_array().into_iter().flatten() {
            let ip = a["ip"].as_str().unwrap_or_default();
            if ports.is_empty() {
                pairs.push(ip.to_owned());
            }
            pairs.extend(ports.iter().map(|p| format!("{ip}:{p}")));
        }
    }
    let text = match pairs.len() {
        0 => "<none>".to_owned(),
        1..=3 => pairs.join(","),
        n => format!("{} + {} more...", pairs[..3].join(","), n - 3),
    };
    vec![json!(text), age(&ep["metadata"]["creationTimestamp"])]
}

fn column_def(name: &str, type_: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({"name": name, "type": type_, "format": format, "description": description, "priority": priority})
}

/// The Table of `objects`; `include` is `None`, `Metadata` (default) or `Object`.
pub(crate) fn render(res: &Resource, objects: &[Value], rv: u64, include: &str) -> Value {
    let (defs, rows): (Vec<Value>, Vec<Vec<Value>>) = match res.printer {
        Printer::Service => (
            vec![
                column_def("Name", "string", "name", "Name of the service", 0),
                column_def("Type", "string", "", "The type of the service", 0),
                column_def("Cluster-IP", "string", "", "The cluster IP", 0),
                column_def("External-IP", "string", "", "External IP addresses", 0),
                column_def("Port(s)", "string", "", "The ports of the service", 0),
                column_def("Age", "string", "", "Time since creation", 0),
                column_def("Selector", "string", "", "The selector", 1),
            ],
            objects.iter().map(service_cells).collect(),
        ),
        Printer::Custom(custom) => {
            let mut defs = vec![column_def(
                "Name",
                "string",
                "name",
                "Name must be unique within a namespace.",
                0,
            )];
            defs.extend(
                custom
                    .columns
                    .iter()
                    .map(|(name, ty, priority)| column_def(name, ty, "", "", *priority)),
            );
            let rows = objects
                .iter()
                .map(|o| {
                    let mut cells = vec![o["metadata"]["name"].clone()];
                    cells.extend((custom.cells)(o));
                    cells
                })
                .collect();
            (defs, rows)
        }
        Printer::Columns => {
            let mut defs = vec![column_def(
                "Name",
                "string",
                "name",
                "Name must be unique within a namespace.",
                0,
            )];
            let has_age = res.columns.iter().any(|c| c.type_ == "date");
            for c in &res.columns {
                let ty = if c.type_ == "date" {
                    "string"
                } else {
                    &c.type_
                };
                defs.push(column_def(&c.name, ty, "", &c.description, c.priority));
            }
            if !has_age {
                defs.push(column_def("Age", "string", "", "Time since creation", 0));
            }
            let rows = objects
                .iter()
                .map(|o| {
                    let mut cells = vec![o["metadata"]["name"].clone()];
                    cells.extend(res.columns.iter().map(|c| cell(o, c)));
                    if !has_age {
                        cells.push(age(&o["metadata"]["creationTimestamp"]));
                    }
                    cells
                })
                .collect();
            (defs, rows)
        }
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .zip(objects)
        .map(|(cells, o)| {
            let object = match include {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                }),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": defs,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(185), "3m5s");
        assert_eq!(human_duration(3600 * 3 + 60), "3h1m");
        assert_eq!(human_duration(86400 * 3), "3d");
    }

    #[test]
    fn json_path_filters() {
        let o = json!({"status": {"conditions": [
            {"type": "Offline", "status": "False"}, {"type": "Ready", "status": "True"}],
            "zones": ["a", "b"]}});
        let v = json_path(&o, ".status.conditions[?(@.type==\"Ready\")].status");
        assert_eq!(v, vec![&json!("True")]);
        assert_eq!(json_path(&o, ".status.zones[*]").len(), 2);
        let col = Column {
            name: "Zones".into(),
            type_: "string".into(),
            json_path: ".status.zones".into(),
            description: String::new(),
            priority: 0,
        };
        assert_eq!(cell(&o, &col), json!("[\"a\",\"b\"]"));
    }
}
