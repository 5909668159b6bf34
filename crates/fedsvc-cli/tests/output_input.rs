//! The real `fedsvc` binary: its output path (buffered, streamed, quiet on a closed pipe), the
//! bounds on its snapshot input, and the text of its errors.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fedsvc"))
}

fn fedsvc(args: &[&str]) -> Output {
    bin().args(args).output().expect("run fedsvc")
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

/// A snapshot of `services` services over `clusters` clusters (one zone each, regions of 4),
/// as YAML when `yaml`, JSON otherwise.
fn snapshot(services: usize, clusters: usize, yaml: bool) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if yaml {
        s.push_str("federation: f\ndnsSuffix: example.com\nclusters:\n");
        for c in 0..clusters {
            writeln!(s, "  - {{name: c{c}, region: r{}, zones: [z{c}]}}", c / 4).unwrap();
        }
        s.push_str("services:\n");
        for i in 0..services {
            writeln!(
                s,
                "  - namespace: ns{}\n    name: svc{i}\n    shards:",
                i / 100
            )
            .unwrap();
            for c in 0..clusters {
                writeln!(
                    s,
                    "      - cluster: c{c}\n        addresses: [\"10.{}.{}.{c}\"]\n        readyEndpoints: {}",
                    i / 256,
                    i % 256,
                    (i + c) % 3
                )
                .unwrap();
            }
        }
    } else {
        s.push_str(r#"{"federation":"f","dnsSuffix":"example.com","clusters":["#);
        for c in 0..clusters {
            if c > 0 {
                s.push(',');
            }
            write!(
                s,
                r#"{{"name":"c{c}","region":"r{}","zones":["z{c}"]}}"#,
                c / 4
            )
            .unwrap();
        }
        s.push_str(r#"],"services":["#);
        for i in 0..services {
            if i > 0 {
                s.push(',');
            }
            write!(
                s,
                r#"{{"namespace":"ns{}","name":"svc{i}","shards":["#,
                i / 100
            )
            .unwrap();
            for c in 0..clusters {
                if c > 0 {
                    s.push(',');
                }
                write!(
                    s,
                    r#"{{"cluster":"c{c}","addresses":["10.{}.{}.{c}"],"readyEndpoints":{}}}"#,
                    i / 256,
                    i % 256,
                    (i + c) % 3
                )
                .unwrap();
            }
            s.push_str("]}");
        }
        s.push_str("]}");
    }
    s
}

/// Waits for `child` at most `limit`; kills it and fails if it is still running then.
fn wait_at_most(mut child: std::process::Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("fedsvc still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_closed_pipe_ends_every_form_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    // Several MB of output in every form: far more than a pipe holds.
    std::fs::write(&path, snapshot(400, 12, false)).unwrap();
    for form in ["json", "yaml", "table", "zone"] {
        let mut child = bin()
            .args(["plan", "-f", path.to_str().unwrap(), "-o", form])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read a little, as `head -c 100` would, then close the pipe.
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 100];
        out.read_exact(&mut first).unwrap();
        drop(out);
        let o = wait_at_most(child, Duration::from_secs(60));
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "-o {form}: {err}");
        assert_eq!(err, "", "-o {form}: nothing on stderr for a closed pipe");
        assert_eq!(o.status.code(), Some(0), "-o {form}");
    }
}

#[test]
fn output_is_complete_when_the_reader_reads_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    std::fs::write(&path, snapshot(300, 8, false)).unwrap();
    let json = fedsvc(&["plan", "-f", path.to_str().unwrap(), "-o", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let data: usize = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["data"].as_array().unwrap().len())
        .sum();
    let zone = fedsvc(&["plan", "-f", path.to_str().unwrap(), "-o", "zone"]);
    assert_eq!(stdout(&zone).lines().count(), data);
    assert!(stdout(&zone).ends_with('\n'));
    let yaml = fedsvc(&["plan", "-f", path.to_str().unwrap(), "-o", "yaml"]);
    let mut options = serde_saphyr::Options::default();
    options.budget = None;
    let y: serde_json::Value =
        serde_saphyr::from_slice_with_options(&yaml.stdout, options).unwrap();
    assert_eq!(y, v);
    let table = fedsvc(&["plan", "-f", path.to_str().unwrap(), "-o", "table"]);
    assert_eq!(
        stdout(&table).lines().count(),
        v["records"].as_array().unwrap().len() + 1
    );
}

#[test]
fn dev_zero_is_refused_at_once() {
    let start = Instant::now();
    let child = bin()
        .args(["plan", "-f", "/dev/zero"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_at_most(child, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "fedsvc: error: snapshot /dev/zero is not a YAML or JSON text: it holds a NUL byte at offset 0\n"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_snapshot_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.json");
    std::fs::write(&path, snapshot(100, 20, false)).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 64 * 1024);
    let o = fedsvc(&[
        "plan",
        "-f",
        path.to_str().unwrap(),
        "--max-input-size",
        "64KiB",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "fedsvc: error: snapshot {} is larger than 64 KiB (--max-input-size raises the limit)\n",
            path.display()
        )
    );
    // The same file under a limit it fits.
    let o = fedsvc(&[
        "plan",
        "-f",
        path.to_str().unwrap(),
        "--max-input-size",
        &len.to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Standard input that never ends stops at the limit.
    let mut child = bin()
        .args(["plan", "-f", "-", "--max-input-size", "1MiB"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let line = b"# a comment, again and again\n".repeat(1000);
        // Ends when fedsvc closes its standard input (or after 1 GiB, as a backstop).
        for _ in 0..40_000 {
            if stdin.write_all(&line).is_err() {
                return;
            }
        }
    });
    let o = wait_at_most(child, Duration::from_secs(30));
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "fedsvc: error: the snapshot on standard input is larger than 1 MiB (--max-input-size raises the limit)\n"
    );

    let bad = fedsvc(&["plan", "-f", "-", "--max-input-size", "12 parsecs"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--max-input-size"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn max_input_size_is_documented() {
    for cmd in ["plan", "diff", "apply"] {
        let help = stdout(&fedsvc(&[cmd, "--help"]));
        assert!(help.contains("--max-input-size <SIZE>"), "{cmd}: {help}");
        assert!(help.contains("[default: 1GiB]"), "{cmd}: {help}");
    }
}

/// serde-saphyr's default budget refused this size; the same data as JSON always planned.
#[test]
fn a_yaml_snapshot_of_2000_services_x_20_clusters_plans_like_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("snap.yaml");
    let json = dir.path().join("snap.json");
    std::fs::write(&yaml, snapshot(2000, 20, true)).unwrap();
    std::fs::write(&json, snapshot(2000, 20, false)).unwrap();
    let y = fedsvc(&["plan", "-f", yaml.to_str().unwrap(), "-o", "zone"]);
    assert!(y.status.success(), "{}", stderr(&y));
    let j = fedsvc(&["plan", "-f", json.to_str().unwrap(), "-o", "zone"]);
    assert!(j.status.success(), "{}", stderr(&j));
    assert!(stdout(&y).lines().count() > 2000 * 20);
    assert!(stdout(&y) == stdout(&j), "YAML and JSON plans differ");
}

#[test]
fn a_wildcard_dns_suffix_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.yaml");
    std::fs::write(&path, "federation: f\ndnsSuffix: \"*.example.com\"\n").unwrap();
    let o = fedsvc(&["plan", "-f", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "fedsvc: error: {}: invalid snapshot: dnsSuffix: \"*.example.com\" is invalid: label \"*\" holds '*' (only letters, digits and '-' are allowed)\n",
            path.display()
        )
    );
    assert_eq!(stdout(&o), "");
}

/// Words of `line`, lower-case, without punctuation or numbers.
fn words(line: &str) -> Vec<String> {
    line.split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect()
}

/// Words that two parallel phrases may share ("in region r1 … and in region r2").
const SMALL: &[&str] = &[
    "a", "an", "and", "as", "at", "be", "by", "for", "in", "is", "it", "its", "not", "of", "on",
    "or", "the", "to", "with",
];

/// What a person would read as repeated: a word twice in a row, or the same two words twice
/// (small words aside).
fn repetition(line: &str) -> Option<String> {
    let w = words(line);
    if let Some(p) = w.windows(2).find(|p| p[0] == p[1]) {
        return Some(format!("{:?} twice in a row", p[0]));
    }
    let pairs: Vec<(&str, &str)> = w
        .windows(2)
        .map(|p| (&*p[0], &*p[1]))
        .filter(|(a, b)| !SMALL.contains(a) && !SMALL.contains(b))
        .collect();
    for (i, p) in pairs.iter().enumerate() {
        if pairs[i + 1..].contains(p) {
            return Some(format!("{p:?} twice"));
        }
    }
    None
}

#[test]
fn the_repetition_check_finds_repetition() {
    assert!(repetition("invalid snapshot: ttl: ttl: too large").is_some());
    assert!(repetition("snapshot x: invalid snapshot: ttl: 5: invalid snapshot").is_some());
    assert!(repetition("federation: federation name \"x\" is invalid").is_some());
    assert!(repetition("snapshot a.yaml: the field ttl is invalid").is_none());
}

#[test]
fn error_texts_show_no_debug_text_and_no_repetition() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("federation: My_Fed\ndnsSuffix: example.com\n", "federation"),
        ("federation: f\ndnsSuffix: '*.example.com'\n", "dnsSuffix"),
        ("federation: f\ndnsSuffix: a_b.example.com\n", "dnsSuffix"),
        ("federation: f\ndnsSuffix: a..example.com\n", "dnsSuffix"),
        (
            "federation: f\ndnsSuffix: example.com\nttl: 4294967295\n",
            "ttl",
        ),
        (
            "federation: f\ndnsSuffix: example.com\nttl: 99999999999\n",
            "line 3",
        ),
        ("federation: f\ndnsSuffix: example.com\nttl: -1\n", "line 3"),
        ("federation: f\ndnsSufix: example.com\n", "dnsSufix"),
        ("federation: f\n", "dnsSuffix"),
        (
            "federation: f\ndnsSuffix: example.com\nzoneNaming: zones\n",
            "zones",
        ),
        ("federation: [f\n", "line"),
        ("{\"federation\": \"f\", \"dnsSuffix\": 5}", "column"),
        ("{\"federation\": \"f\",", "EOF"),
        ("", "federation"),
        (
            "federation: f\ndnsSuffix: example.com\nclusters:\n  - {name: bad_name, region: r, zones: [z]}\n  - {name: c2, region: Bad_R, zones: [z]}\n  - {name: c3, region: r, zones: [-z]}\n  - {name: c4, region: r, zones: []}\n  - {name: c5, region: r, zones: [z5]}\n  - {name: c5, region: r, zones: [z5]}\n",
            "bad_name",
        ),
        (
            "federation: f\ndnsSuffix: example.com\nclusters: [{name: c1, region: r, zones: [z]}]\nservices:\n  - {namespace: a, name: 1bad}\n  - {namespace: A_, name: ok}\n  - {namespace: a, name: ok, ttl: 4294967295}\n  - {namespace: a, name: ok2, shards: [{cluster: nope}, {cluster: c1}, {cluster: c1}, {cluster: Bad_C}]}\n  - namespace: a\n    name: ok3\n    shards: [{cluster: c1, addresses: [\"10.0.0\"], hostnames: [\"a..b\"]}]\n  - {namespace: a, name: ok3}\n",
            "nope",
        ),
        (
            "federation: f\ndnsSuffix: example.com\nclusters:\n  - {name: c1, region: r1, zones: [a]}\n  - {name: c2, region: r2, zones: [a]}\n",
            "zone-region",
        ),
    ];
    let mut lines = Vec::new();
    for (i, (text, expect)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        let o = fedsvc(&["plan", "-f", path.to_str().unwrap()]);
        assert_ne!(o.status.code(), Some(0), "case {i} was accepted: {text}");
        let err = stderr(&o);
        assert!(err.contains(expect), "case {i}: {expect:?} not in {err}");
        lines.extend(err.lines().map(|l| (i, l.to_owned())));
    }
    let missing = fedsvc(&["plan", "-f", dir.path().join("nope.yaml").to_str().unwrap()]);
    lines.extend(stderr(&missing).lines().map(|l| (99, l.to_owned())));
    let dns = dir.path().join("dns.yaml");
    std::fs::write(&dns, "zone: '*.example.com'\nprovider:\n  kind: memory\n").unwrap();
    let bad_zone = fedsvc(&[
        "diff",
        "-f",
        guide().to_str().unwrap(),
        "--dns",
        dns.to_str().unwrap(),
    ]);
    assert_eq!(bad_zone.status.code(), Some(1));
    let e = stderr(&bad_zone);
    assert!(
        e.contains("zone") && e.contains("host name") && e.contains("'*'"),
        "{e}"
    );
    lines.extend(stderr(&bad_zone).lines().map(|l| (100, l.to_owned())));
    let bad_suffix = fedsvc(&[
        "resolve",
        "--from-zone",
        "z",
        "--from-region",
        "r",
        "--dns-suffix",
        "*.example.com",
        "nginx.mynamespace.myfederation",
    ]);
    assert_eq!(bad_suffix.status.code(), Some(1));
    assert!(
        stderr(&bad_suffix).contains("--dns-suffix: host name"),
        "{}",
        stderr(&bad_suffix)
    );
    lines.extend(stderr(&bad_suffix).lines().map(|l| (101, l.to_owned())));

    let mut problems = Vec::new();
    for (i, line) in &lines {
        if line.contains("(\"") {
            problems.push(format!("case {i}: Debug text: {line}"));
        }
        if let Some(r) = repetition(line) {
            problems.push(format!("case {i}: {r}: {line}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn diff_zone_output_is_a_diff_of_zone_file_lines() {
    let dir = tempfile::tempdir().unwrap();
    let dns = dir.path().join("dns.yaml");
    // An empty zone in memory: every planned record is to be created.
    std::fs::write(&dns, "zone: example.com\nprovider:\n  kind: memory\n").unwrap();
    let diff = fedsvc(&[
        "diff",
        "-f",
        guide().to_str().unwrap(),
        "--dns",
        dns.to_str().unwrap(),
        "-o",
        "zone",
    ]);
    assert!(diff.status.success(), "{}", stderr(&diff));
    let text = stdout(&diff);
    let plan = fedsvc(&["plan", "-f", guide().to_str().unwrap(), "-o", "zone"]);
    let planned: Vec<String> = stdout(&plan).lines().map(|l| format!("+{l}")).collect();
    let added: Vec<&str> = text.lines().filter(|l| l.starts_with('+')).collect();
    // Every planned line is added, and so is one ownership TXT record per name.
    for line in &planned {
        assert!(added.contains(&line.as_str()), "{line} not in\n{text}");
    }
    let txt = added.iter().filter(|l| l.contains("\tIN\tTXT\t")).count();
    let names = text.lines().filter(|l| l.starts_with("; ")).count();
    assert_eq!(added.len(), planned.len() + txt);
    assert!(txt > 0 && names > 0);
    assert!(
        text.lines()
            .all(|l| l.starts_with("; ") || l.starts_with('+')),
        "{text}"
    );
    // The table form is different: it is not the zone form any more.
    let table = fedsvc(&[
        "diff",
        "-f",
        guide().to_str().unwrap(),
        "--dns",
        dns.to_str().unwrap(),
    ]);
    assert_ne!(stdout(&table), text);
    let help = stdout(&fedsvc(&["diff", "--help"]));
    assert!(
        help.contains("`zone` prints the change as a diff of zone-file lines"),
        "{help}"
    );
}

#[test]
fn version_lists_the_providers_compiled_in() {
    let o = fedsvc(&["--version"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        format!(
            "fedsvc {} (providers: {})\n",
            env!("CARGO_PKG_VERSION"),
            fedsvc_providers::COMPILED_KINDS.join(", ")
        )
    );
    // Built with the default features: all five.
    if cfg!(all(
        feature = "rfc2136",
        feature = "powerdns",
        feature = "route53",
        feature = "clouddns"
    )) {
        assert_eq!(
            stdout(&o),
            format!(
                "fedsvc {} (providers: memory, rfc2136, powerdns, route53, clouddns)\n",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}
