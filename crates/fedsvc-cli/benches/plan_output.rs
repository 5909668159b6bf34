//! The whole `fedsvc plan` command, per output form, against `jq -c .` on the same input.
//!
//! Generates a snapshot of 2 000 services × 100 clusters (33 regions × 3 zones plus one
//! cluster over the first region's zones; 10 % of clusters unready, 20 % of shards
//! unhealthy; about 18 MB of JSON), then runs the built `fedsvc plan -f snapshot.json -o FORM`
//! for FORM in json, yaml, table and zone, each writing to a real file, and `jq -c . < snapshot
//! > file`, interleaved, several rounds. Prints the median wall time of each and its ratio to
//! jq's, then one run of each form with `FEDSVC_TIMINGS=1` (the time of each phase).
//!
//! ```text
//! cargo bench -p fedsvc-cli --bench plan_output              # full size, 7 rounds
//! cargo test -p fedsvc-cli --bench plan_output               # smoke: 100 × 10, 1 round
//! ```
//!
//! Environment: `FEDSVC_BENCH_SERVICES` (default 2000; 100 in the smoke),
//! `FEDSVC_BENCH_ROUNDS` (default 7; 1 in the smoke), `FEDSVC_BENCH_BEFORE=/path/to/fedsvc`
//! to time another build of the command in the same rounds (a before/after comparison).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fedsvc_model::{ClusterDoc, ServiceDoc, ShardDoc, SnapshotDoc, ZoneNaming};

const FORMS: [&str; 4] = ["json", "yaml", "table", "zone"];

/// SplitMix64: a fixed, well-mixed hash, so the snapshot is the same on every run.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `services` services over `regions` × 3 single-zone clusters plus one multi-zone cluster.
fn snapshot(services: usize, regions: usize) -> SnapshotDoc {
    let mut clusters = Vec::new();
    for r in 0..regions {
        for z in ["a", "b", "c"] {
            clusters.push(ClusterDoc {
                name: format!("c-region{r}-{z}"),
                region: format!("region{r}"),
                zones: vec![format!("region{r}-{z}")],
                ready: true,
            });
        }
    }
    clusters.push(ClusterDoc {
        name: "c-multi".into(),
        region: "region0".into(),
        zones: ["a", "b", "c"].map(|z| format!("region0-{z}")).into(),
        ready: true,
    });
    for (i, c) in clusters.iter_mut().enumerate() {
        c.ready = i % 10 != 9;
    }
    let services = (0..services)
        .map(|s| ServiceDoc {
            namespace: format!("ns{}", s / 100),
            name: format!("svc{s}"),
            ttl: None,
            shards: clusters
                .iter()
                .enumerate()
                .map(|(c, cl)| {
                    let h = mix((s as u64) << 32 | c as u64);
                    let n = (s * 128 + c) as u32;
                    let mut addresses =
                        vec![std::net::Ipv4Addr::from(0x0a00_0000 | (n & 0xff_ffff)).to_string()];
                    if h.is_multiple_of(7) {
                        addresses.push(format!("2001:db8::{:x}:{:x}", n >> 16, n & 0xffff));
                    }
                    ShardDoc {
                        cluster: cl.name.clone(),
                        addresses,
                        hostnames: Vec::new(),
                        ready_endpoints: if (h >> 8) % 100 < 20 {
                            0
                        } else {
                            1 + (s + c) as u32 % 5
                        },
                    }
                })
                .collect(),
        })
        .collect();
    SnapshotDoc {
        federation: "bench".into(),
        dns_suffix: "example.com".into(),
        zone_naming: ZoneNaming::Zone,
        ttl: None,
        clusters,
        services,
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One timed run of `cmd` with standard input `input` (if any) and standard output `out`.
fn time(mut cmd: Command, input: Option<&Path>, out: &Path) -> Duration {
    if let Some(i) = input {
        cmd.stdin(File::open(i).expect("open the input"));
    }
    cmd.stdout(File::create(out).expect("create the output file"))
        .stderr(Stdio::piped());
    let start = Instant::now();
    let o = cmd.output().expect("run the command");
    let took = start.elapsed();
    assert!(
        o.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --bench plan_output` does not: a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let services = env_usize("FEDSVC_BENCH_SERVICES", if full { 2000 } else { 100 });
    let regions = if full || services >= 1000 { 33 } else { 3 };
    let rounds = env_usize("FEDSVC_BENCH_ROUNDS", if full { 7 } else { 1 }).max(1);
    let fedsvc = PathBuf::from(env!("CARGO_BIN_EXE_fedsvc"));
    let before = std::env::var_os("FEDSVC_BENCH_BEFORE").map(PathBuf::from);
    let jq = Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());

    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a scratch directory");
    let input = dir.path().join("snapshot.json");
    let doc = snapshot(services, regions);
    serde_json::to_writer(
        std::io::BufWriter::new(File::create(&input).expect("create the snapshot")),
        &doc,
    )
    .expect("write the snapshot");
    let in_size = std::fs::metadata(&input).expect("snapshot").len();
    println!(
        "fedsvc plan: {services} services × {} clusters, snapshot {:.1} MB, rounds: {rounds}{}",
        doc.clusters.len(),
        in_size as f64 / 1e6,
        if jq { "" } else { " (jq not found: no ratio)" }
    );

    // (label, binary) pairs to time, each for every form.
    let mut builds = vec![("fedsvc", fedsvc.clone())];
    if let Some(b) = before {
        builds.push(("before", b));
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); builds.len() * FORMS.len()];
    let mut jq_times = Vec::new();
    let mut sizes = vec![0u64; FORMS.len()];
    for _ in 0..rounds {
        if jq {
            let mut cmd = Command::new("jq");
            cmd.args(["-c", "."]);
            jq_times.push(time(cmd, Some(&input), &dir.path().join("jq.out")));
        }
        for (b, (_, bin)) in builds.iter().enumerate() {
            for (f, form) in FORMS.iter().enumerate() {
                let out = dir.path().join(format!("plan.{form}"));
                let mut cmd = Command::new(bin);
                cmd.arg("plan").arg("-f").arg(&input).args(["-o", form]);
                times[b * FORMS.len() + f].push(time(cmd, None, &out));
                sizes[f] = std::fs::metadata(&out).expect("output").len();
            }
        }
    }

    let jq_median = (!jq_times.is_empty()).then(|| median(jq_times));
    println!("\n| command | output | median | ratio to jq |");
    println!("|---|---|---|---|");
    if let Some(j) = jq_median {
        println!(
            "| `jq -c . < snapshot.json` | {:.1} MB | {:.3} s | 1.00 |",
            in_size as f64 / 1e6,
            j.as_secs_f64()
        );
    }
    for (b, (label, _)) in builds.iter().enumerate() {
        for (f, form) in FORMS.iter().enumerate() {
            let m = median(times[b * FORMS.len() + f].clone());
            let ratio = jq_median.map_or("—".into(), |j| {
                format!("{:.2}", m.as_secs_f64() / j.as_secs_f64())
            });
            println!(
                "| {label} `plan -o {form}` | {:.1} MB | {:.3} s | {ratio} |",
                sizes[f] as f64 / 1e6,
                m.as_secs_f64()
            );
        }
    }

    // Where the time goes: one run per form with the command's phase timer.
    println!("\nPhases (FEDSVC_TIMINGS=1, one run each):");
    for form in FORMS {
        let out = dir.path().join(format!("plan.{form}"));
        let o = Command::new(&fedsvc)
            .env("FEDSVC_TIMINGS", "1")
            .arg("plan")
            .arg("-f")
            .arg(&input)
            .args(["-o", form])
            .stdout(File::create(&out).expect("create the output file"))
            .output()
            .expect("run fedsvc");
        let phases: Vec<String> = String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter_map(|l| l.strip_prefix("fedsvc: time: "))
            .map(str::to_owned)
            .collect();
        println!("  -o {form}: {}", phases.join(", "));
    }

    // The outputs hold the plan: the JSON document parses and lists as many records as the
    // zone form has lines.
    let json: serde_json::Value = serde_json::from_reader(std::io::BufReader::new(
        File::open(dir.path().join("plan.json")).expect("json output"),
    ))
    .expect("the JSON output parses");
    let data: usize = json["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["data"].as_array().expect("data").len())
        .sum();
    let zone_lines = std::fs::read_to_string(dir.path().join("plan.zone"))
        .expect("zone output")
        .lines()
        .count();
    assert_eq!(data, zone_lines, "zone lines and JSON records disagree");
    assert!(data > services, "the plan holds records for every service");
    println!("\n{data} records checked in the JSON and zone outputs");
}
