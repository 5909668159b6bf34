//! Benchmarks of the planner: the full plan of a large snapshot, and the incremental plan and
//! diff of one service after one of its shards changed.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fedsvc_dns_plan::{Planner, Registry, diff, diff_replanned, plan};

#[path = "../tests/common/generator.rs"]
#[allow(dead_code)]
mod generator;

use generator::Spec;

fn full_plan(c: &mut Criterion) {
    let snapshot = generator::snapshot(&Spec::LARGE);
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    // The plan's 1.5 million record sets are dropped outside the measurement.
    group.bench_function("full_10000_services_x_100_clusters", |b| {
        b.iter_with_large_drop(|| plan(black_box(&snapshot)).expect("plannable"));
    });
    group.finish();
}

fn incremental(c: &mut Criterion) {
    let snapshot = generator::snapshot(&Spec::LARGE);
    let planner = Planner::new(&snapshot).expect("plannable");
    let registry = Registry::txt(snapshot.federation.clone());
    let before = &snapshot.services[snapshot.services.len() / 2];
    let before_records = planner.plan_service(before).records;
    let current = registry.with_ownership(&before_records);
    // One shard changes: the first healthy one loses its endpoints.
    let mut after = before.clone();
    let shard = after
        .shards
        .iter_mut()
        .find(|s| s.ready_endpoints > 0)
        .expect("a healthy shard");
    shard.ready_endpoints = 0;
    let check = diff(&current, &planner.plan_service(&after).records, &registry);
    assert!(!check.is_empty() && check.conflicts.is_empty());
    let names = planner.names_for(&after.key).expect("names fit");
    assert_eq!(
        diff_replanned(
            &current,
            &before_records,
            &planner.plan_service(&after).records,
            &registry
        ),
        check
    );
    // What a controller does: re-plan the service and diff only the names whose records
    // changed against the plan it applied before.
    c.bench_function("incremental_one_service_plan_and_diff_replanned", |b| {
        b.iter(|| {
            let desired = planner.plan_service_with(black_box(&after), &names);
            diff_replanned(
                black_box(&current),
                &before_records,
                &desired.records,
                &registry,
            )
        });
    });
    c.bench_function("incremental_one_service_plan_and_diff", |b| {
        b.iter(|| {
            let desired = planner.plan_service_with(black_box(&after), &names);
            diff(black_box(&current), &desired.records, &registry)
        });
    });
    c.bench_function(
        "incremental_one_service_plan_and_diff_uncached_names",
        |b| {
            b.iter(|| {
                let desired = planner.plan_service(black_box(&after));
                diff(black_box(&current), &desired.records, &registry)
            });
        },
    );
    c.bench_function("incremental_one_service_plan_only", |b| {
        b.iter(|| planner.plan_service_with(black_box(&after), &names));
    });
    let desired = planner.plan_service(&after).records;
    c.bench_function("incremental_one_service_diff_only", |b| {
        b.iter(|| diff(black_box(&current), black_box(&desired), &registry));
    });
    c.bench_function("planner_new_100_clusters", |b| {
        b.iter(|| Planner::new(black_box(&snapshot)).expect("plannable"));
    });
}

criterion_group!(benches, full_plan, incremental);
criterion_main!(benches);
