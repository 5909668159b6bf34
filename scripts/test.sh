#!/usr/bin/env bash
# The project's full check: installs the real servers the tests use, then formatting, lints,
# docs, the purity check of fedsvc-dns-plan, and every test. `.ci/run` calls this with
# FEDSVC_REQUIRE_REAL=1 so that no test that needs a real server can skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Incremental compilation only helps repeated edits; for one full run it doubles the disk
# used by the build. A developer may set CARGO_INCREMENTAL=1 to keep it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==> %s\n' "$*"; }
disk() { df -h . | awk 'NR==2 {print "disk: " $4 " free of " $2}'; }

if [ "${FEDSVC_SKIP_INSTALL:-0}" != 1 ]; then
  step "installing the DNS servers, moto and tools the tests use"
  scripts/dns-servers/install.sh
fi

disk
step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "cargo doc (-D warnings)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features --locked

step "purity of fedsvc-dns-plan"
scripts/check-dns-plan-purity.sh

step "tests (FEDSVC_REQUIRE_REAL=${FEDSVC_REQUIRE_REAL:-unset})"
cargo test --workspace --all-features --locked

# The controller benchmarks at a small scale, built like the tests: they must still run and
# their checks hold (a restart writes nothing, failover and outages are seen in DNS). Their
# figures come from full runs (docs/benchmarks.md), which take half an hour.
step "benchmark smoke runs (small scale, unoptimised)"
FEDSVC_RSS_SERVICES=200 FEDSVC_RSS_CLUSTERS=4 FEDSVC_RSS_NAMESPACES=10 \
  FEDSVC_RSS_FIRST_HOLD_SECS=15 FEDSVC_RSS_HOLD_SECS=15 FEDSVC_RSS_TIMEOUT_SECS=600 \
  cargo test -p fedsvc-controller --bench controller_rss --locked
FEDSVC_BENCH_FLIPS=5 FEDSVC_BENCH_OUTAGES=1 FEDSVC_BENCH_HANGS=1 FEDSVC_BENCH_STEADY_SECS=20 \
  cargo test -p fedsvc-controller --bench failover --locked
disk
