//! Plans the large generated snapshot (10 000 services × 100 clusters) three times and prints
//! the record count, the time of each run and the peak resident set size (`VmHWM`).
//!
//! Run with `cargo run --release -p fedsvc-dns-plan --example peak_rss`.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../tests/common/generator.rs"]
#[allow(dead_code)]
mod generator;

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".to_owned())
}

/// Time this thread has spent on a CPU, in seconds (from `/proc/thread-self/schedstat`), so
/// that a busy machine does not inflate the figure the way wall-clock time is.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

fn main() {
    let snapshot = generator::snapshot(&generator::Spec::LARGE);
    println!("after generating the snapshot: VmHWM {}", vm_hwm());
    let mut runs = Vec::new();
    let mut cpu = Vec::new();
    let mut plan = fedsvc_dns_plan::Plan::default();
    for _ in 0..3 {
        drop(plan);
        let start = std::time::Instant::now();
        let cpu_start = cpu_seconds();
        plan = fedsvc_dns_plan::plan(&snapshot).expect("plannable");
        cpu.push(cpu_seconds() - cpu_start);
        runs.push(start.elapsed().as_secs_f64());
    }
    println!(
        "planned {} services × {} clusters: {} record sets, {} diagnostics\n  wall-clock seconds per run (first is cold): {:.3?}\n  CPU seconds per run: {:.3?}",
        snapshot.services.len(),
        snapshot.clusters.len(),
        plan.records.len(),
        plan.diagnostics.len(),
        runs,
        cpu
    );
    println!("peak RSS (VmHWM) with snapshot and plan: {}", vm_hwm());
}
