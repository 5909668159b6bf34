//! Runs the real `fedsvc` binary in temporary directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fedsvc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsvc"))
        .args(args)
        .output()
        .expect("run fedsvc")
}

fn guide() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/guide.yaml")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn plan_json_has_the_documented_shape_and_order() {
    let o = fedsvc(&["plan", "-f", guide().to_str().unwrap(), "-o", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let records = v["records"].as_array().unwrap();
    assert!(v["diagnostics"].as_array().unwrap().is_empty());
    // Sorted by name, then type; each record has exactly name, type, ttl, data.
    let keys: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            let obj = r.as_object().unwrap();
            let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
            fields.sort();
            assert_eq!(fields, ["data", "name", "ttl", "type"]);
            (
                r["name"].as_str().unwrap().to_owned(),
                r["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // The guide's rows.
    let find = |name: &str| {
        records
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no record at {name}"))
    };
    let zone_a = find("nginx.mynamespace.myfederation.svc.us-central1-a.example.com.");
    assert_eq!(zone_a["type"], "A");
    assert_eq!(zone_a["ttl"], 180);
    assert_eq!(zone_a["data"], serde_json::json!(["104.197.247.191"]));
    let zone_f = find("nginx.mynamespace.myfederation.svc.us-central1-f.example.com.");
    assert_eq!(zone_f["type"], "CNAME");
    assert_eq!(
        zone_f["data"],
        serde_json::json!(["nginx.mynamespace.myfederation.svc.us-central1.example.com."])
    );
    let eu = find("nginx.mynamespace.myfederation.svc.europe-west1.example.com.");
    assert_eq!(
        eu["data"],
        serde_json::json!(["nginx.mynamespace.myfederation.svc.example.com."])
    );
    // Plan output never includes the ownership registry.
    assert!(records.iter().all(|r| r["type"] != "TXT"));
}

#[test]
fn plan_table_and_zone_outputs_agree_with_json() {
    let file = guide();
    let json = fedsvc(&["plan", "-f", file.to_str().unwrap(), "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let n_data: usize = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"].as_array().unwrap().len())
        .sum();

    let zone = fedsvc(&["plan", "-f", file.to_str().unwrap(), "-o", "zone"]);
    assert!(zone.status.success());
    let lines: Vec<String> = stdout(&zone).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), n_data, "one zone line per record");
    assert!(
        lines
            .iter()
            .all(|l| l.split('\t').count() == 5 && l.contains("\tIN\t"))
    );

    let table = fedsvc(&["plan", "-f", file.to_str().unwrap()]);
    assert!(table.status.success());
    let t = stdout(&table);
    let mut rows = t.lines();
    let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "TYPE", "TTL", "DATA"]);
    assert_eq!(rows.count(), v["records"].as_array().unwrap().len());
}

#[test]
fn plan_yaml_round_trips_to_the_json_document() {
    let file = guide();
    let json = fedsvc(&["plan", "-f", file.to_str().unwrap(), "-o", "json"]);
    let yaml = fedsvc(&["plan", "-f", file.to_str().unwrap(), "-o", "yaml"]);
    assert!(yaml.status.success(), "{}", stderr(&yaml));
    let a: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let b: serde_json::Value = serde_saphyr::from_str(&stdout(&yaml)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn explain_says_why_a_zone_is_a_cname() {
    let o = fedsvc(&["plan", "-f", guide().to_str().unwrap(), "--explain"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let row = out
        .lines()
        .position(|l| {
            l.starts_with("nginx.mynamespace.myfederation.svc.us-central1-f.example.com.")
        })
        .unwrap();
    let why = out.lines().nth(row + 1).unwrap();
    assert!(why.trim_start().starts_with('#'), "{why}");
    assert!(why.contains("gce-us-central1-f"), "{why}");
}

#[test]
fn bad_input_is_named_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.yaml");
    std::fs::write(
        &path,
        r#"
federation: f
dnsSuffix: example.com
clusters: [{name: c1, region: r, zones: [z]}]
services:
  - namespace: shop
    name: web
    shards: [{cluster: c1, addresses: ["10.0.0.1", "10.0.0"], readyEndpoints: 1}]
"#,
    )
    .unwrap();
    let o = fedsvc(&["plan", "-f", path.to_str().unwrap(), "-o", "json"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            r#"services[0] (shop/web): shards[0].addresses[1]: "10.0.0" is not an IP address"#
        ),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["diagnostics"][0]["severity"], "error");
    // The valid address is still planned.
    assert!(stdout(&o).contains("10.0.0.1"));

    let missing = fedsvc(&["plan", "-f", dir.path().join("nope.yaml").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("nope.yaml"),
        "{}",
        stderr(&missing)
    );

    std::fs::write(
        &path,
        "federation: f\ndnsSuffix: example.com\nzoneNaming: zones\n",
    )
    .unwrap();
    let bad = fedsvc(&["plan", "-f", path.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("zoneNaming") || stderr(&bad).contains("zones"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn zone_label_clash_suggests_zone_region() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.yaml");
    std::fs::write(
        &path,
        "federation: f\ndnsSuffix: example.com\nclusters:\n  - {name: c1, region: r1, zones: [a]}\n  - {name: c2, region: r2, zones: [a]}\n",
    )
    .unwrap();
    let o = fedsvc(&["plan", "-f", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("zone-region") && e.contains('a'), "{e}");
}

#[test]
fn completions_name_every_command() {
    let o = fedsvc(&["completions", "bash"]);
    assert!(o.status.success());
    let script = stdout(&o);
    for cmd in [
        "plan", "diff", "apply", "records", "resolve", "join", "unjoin", "clusters", "demo",
    ] {
        assert!(
            script.contains(cmd),
            "{cmd} missing from the completion script"
        );
    }
}
