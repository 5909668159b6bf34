#!/usr/bin/env bash
# The project's full check. First, with the network: installs the real servers the tests use
# and fetches every crate. Then, inside a network namespace that has only a loopback interface
# (scripts/offline.sh): formatting, lints, docs, the purity check of fedsvc-dns-plan, the
# binaries as users build them, and every test. `.ci/run` calls this with
# FEDSVC_REQUIRE_REAL=1 so that no test that needs a real server can skip, and so that the
# suite fails rather than run where it could reach the network.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Incremental compilation only helps repeated edits; for one full run it doubles the disk
# used by the build. A developer may set CARGO_INCREMENTAL=1 to keep it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==> %s\n' "$*"; }
disk() { df -h . | awk 'NR==2 {print "disk: " $4 " free of " $2}'; }

if [ "${1:-}" != "--offline-phase" ]; then
    if [ "${FEDSVC_SKIP_INSTALL:-0}" != 1 ]; then
        step "installing the DNS servers, moto and tools the tests use"
        scripts/install-servers.sh
    fi
    step "cargo fetch (the last step with a network)"
    cargo fetch --locked
    step "the rest runs in a loopback-only network namespace"
    exec scripts/offline.sh "$0" --offline-phase
fi

# From here on: no network but loopback (scripts/offline.sh), cargo offline.
if [ "${FEDSVC_OFFLINE:-}" != 1 ]; then
    echo "test.sh: not inside the loopback-only namespace" >&2
    [ "${FEDSVC_REQUIRE_REAL:-}" = 1 ] && exit 1
fi
export CARGO_NET_OFFLINE=true
disk

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "cargo doc (-D warnings)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features --locked

step "purity of fedsvc-dns-plan"
scripts/check-dns-plan-purity.sh

# What users get: each binary built on its own package with default features, as the README
# (`cargo install --path crates/…`) and the Dockerfile build them; no feature of another
# package or of a test can leak into them. They are kept in target/shipped/ and the tests in
# crates/fedsvc-cli/tests/shipped.rs run real scenarios through them.
step "the binaries as users build them (each package alone, default features)"
mkdir -p target/shipped
for pkg_bin in fedsvc-cli:fedsvc fedsvc-controller:fedsvc-controller fedsvc-local-dns:fedsvc-local-dns; do
    pkg=${pkg_bin%%:*}
    bin=${pkg_bin##*:}
    cargo build --locked -p "$pkg" --bin "$bin"
    cp "target/debug/$bin" "target/shipped/$bin"
done
export FEDSVC_SHIPPED_BIN_DIR="$PWD/target/shipped"

step "tests (FEDSVC_REQUIRE_REAL=${FEDSVC_REQUIRE_REAL:-unset})"
cargo test --workspace --all-features --locked

# The controller benchmarks at a small scale, built like the tests (same packages, features
# and profile, so nothing is compiled twice): they must still run and their checks hold (a
# restart writes nothing, failover and outages are seen in DNS). Their figures come from full
# runs (docs/benchmarks.md), which take half an hour.
step "benchmark smoke runs (small scale, unoptimised)"
FEDSVC_RSS_SERVICES=200 FEDSVC_RSS_CLUSTERS=4 FEDSVC_RSS_NAMESPACES=10 \
    FEDSVC_RSS_FIRST_HOLD_SECS=15 FEDSVC_RSS_HOLD_SECS=15 FEDSVC_RSS_TIMEOUT_SECS=600 \
    cargo test --workspace --all-features --locked --bench controller_rss
FEDSVC_BENCH_FLIPS=5 FEDSVC_BENCH_OUTAGES=1 FEDSVC_BENCH_HANGS=1 FEDSVC_BENCH_STEADY_SECS=20 \
    cargo test --workspace --all-features --locked --bench failover
cargo test --workspace --all-features --locked --bench plan_output --bench workloads
disk
du -sh target 2>/dev/null | awk '{print "target/: " $1}'
