//! A minimal OpenAPI v3 description: one PATCH operation per resource, declaring the
//! `fieldValidation` query parameter, which is what `kubectl` checks before it leaves schema
//! validation to the server. No schemas are published.

use serde_json::{Map, Value, json};

use crate::resource::Resource;

fn gv_path(r: &Resource) -> String {
    if r.group.is_empty() {
        format!("api/{}", r.version)
    } else {
        format!("apis/{}/{}", r.group, r.version)
    }
}

fn hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

fn members<'a>(all: &'a [Resource], gv: &str) -> Vec<&'a Resource> {
    all.iter().filter(|r| gv_path(r) == gv).collect()
}

fn signature(rs: &[&Resource]) -> String {
    rs.iter()
        .map(|r| format!("{}:{}:{}", r.plural, r.kind, r.namespaced))
        .collect::<Vec<_>>()
        .join(",")
}

/// `/openapi/v3`: the group-versions and where their documents are.
pub(crate) fn root(all: &[Resource]) -> Value {
    let mut paths = Map::new();
    for r in all {
        let gv = gv_path(r);
        if paths.contains_key(&gv) {
            continue;
        }
        let h = hash(&signature(&members(all, &gv)));
        paths.insert(
            gv.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={h}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`.
pub(crate) fn group_version(all: &[Resource], rest: &[&str]) -> Option<Value> {
    let gv = rest.join("/");
    let rs = members(all, &gv);
    if rs.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for r in rs {
        let item = if r.namespaced {
            format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("/{gv}/{}/{{name}}", r.plural)
        };
        paths.insert(
            item,
            json!({
                "patch": {
                    "operationId": format!("patch{}", r.kind),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
                    "parameters": [
                        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true},
                         "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields."},
                        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
                    ],
                    "responses": {"200": {"description": "OK"}},
                },
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0-fedsvc-emulator"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// Appends a protobuf varint.
fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a length-delimited protobuf field.
fn field(buf: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    varint(buf, (number << 3) | 2);
    varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

fn message(fields: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut buf = Vec::new();
    for (n, b) in fields {
        field(&mut buf, *n, b);
    }
    buf
}

fn item_path(r: &Resource) -> String {
    let gv = gv_path(r);
    if r.namespaced {
        format!("/{gv}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
    } else {
        format!("/{gv}/{}/{{name}}", r.plural)
    }
}

/// `/openapi/v2` as the gnostic `openapi.v2.Document` protobuf, which is all older `kubectl`
/// versions (before 1.29) accept: one PATCH operation per resource with the GVK extension
/// and the `fieldValidation` query parameter, and no definitions.
pub(crate) fn v2_protobuf(all: &[Resource]) -> Vec<u8> {
    let query_param = |name: &str, ty: &str| {
        // ParametersItem{parameter: Parameter{non_body_parameter: NonBodyParameter{
        //   query_parameter_sub_schema: {in, name, type}}}}
        let sub = message(&[
            (2, b"query".to_vec()),
            (4, name.as_bytes().to_vec()),
            (6, ty.as_bytes().to_vec()),
        ]);
        let non_body = message(&[(3, sub)]);
        let parameter = message(&[(2, non_body)]);
        message(&[(1, parameter)])
    };
    let mut paths = Vec::new();
    for r in all {
        let gvk_yaml = format!(
            "group: \"{}\"\nkind: {}\nversion: {}\n",
            r.group, r.kind, r.version
        );
        let any = message(&[(2, gvk_yaml.into_bytes())]);
        let ext = message(&[(1, b"x-kubernetes-group-version-kind".to_vec()), (2, any)]);
        let mut op = message(&[(5, format!("patch{}", r.kind).into_bytes())]);
        for (name, ty) in [
            ("fieldValidation", "string"),
            ("fieldManager", "string"),
            ("dryRun", "string"),
            ("force", "boolean"),
        ] {
            field(&mut op, 8, &query_param(name, ty));
        }
        field(&mut op, 13, &ext);
        let path_item = message(&[(8, op)]);
        let named = message(&[(1, item_path(r).into_bytes()), (2, path_item)]);
        field(&mut paths, 2, &named);
    }
    let info = message(&[
        (1, b"Kubernetes".to_vec()),
        (2, b"v1.33.0-fedsvc-emulator".to_vec()),
    ]);
    message(&[(1, b"2.0".to_vec()), (2, info), (8, paths)])
}

/// `/openapi/v2` as JSON (Swagger 2.0), for clients that ask for JSON.
pub(crate) fn v2_json(all: &[Resource]) -> Value {
    let mut paths = Map::new();
    for r in all {
        paths.insert(
            item_path(r),
            json!({"patch": {
                "operationId": format!("patch{}", r.kind),
                "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": true},
                    {"name": "fieldManager", "in": "query", "type": "string", "uniqueItems": true},
                ],
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0-fedsvc-emulator"},
        "paths": paths,
        "definitions": {},
    })
}
