//! Skip or fail: what a test does when a server or a tool is missing.

use std::path::PathBuf;

/// Whether missing servers and tools fail the tests instead of skipping them:
/// `FEDSVC_REQUIRE_REAL` is `1` (or `true`).
pub fn require_real() -> bool {
    std::env::var("FEDSVC_REQUIRE_REAL").is_ok_and(|v| v == "1" || v == "true")
}

/// Skips: prints `SKIPPED what: reason` and returns `None`. Under `FEDSVC_REQUIRE_REAL=1` it
/// panics instead, so that the test fails.
pub fn skip<T>(what: &str, reason: &str) -> Option<T> {
    if require_real() {
        panic!("{what}: {reason} (FEDSVC_REQUIRE_REAL=1 forbids skipping)");
    }
    eprintln!("SKIPPED {what}: {reason}");
    None
}

/// Whether every tool of `tools` (executables such as `kubectl`, `dig`) is on the machine (see
/// [`find_binary`]). When one is missing it [`skip`]s: prints why and returns `false`, or panics
/// under `FEDSVC_REQUIRE_REAL=1`.
pub fn tools_present(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_binary(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    skip::<()>(
        &missing.join(", "),
        "not installed (scripts/install-servers.sh installs the servers and tools the tests use)",
    );
    false
}

/// The path of an executable, looked up on `PATH` and in the `sbin` directories (where Debian
/// puts `named`, `knotd`, `pdns_server`).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/usr/local/sbin",
                "/usr/local/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
