//! Real servers for fedsvc's tests, benchmarks and examples (a dev-dependency only, not
//! published): BIND 9, Knot DNS, the PowerDNS authoritative server and moto's server (an AWS
//! emulator, for Route53).
//!
//! Each [`Server`] runs from a fresh temporary directory, in the foreground as a child process
//! of the test, on free high ports of `127.0.0.1` only, and is killed (by its PID) when dropped;
//! its directory, log included, is removed then. Nothing is started as a system service.
//!
//! When a server's binary, or a tool a test needs, is missing, the functions that start or look
//! for them print why and return `None` (or `false`), so that the test can skip — unless
//! `FEDSVC_REQUIRE_REAL=1` (CI sets it), in which case they panic: a missing server then fails
//! the test. `scripts/install-servers.sh` installs every server and tool.
//!
//! ```no_run
//! use fedsvc_test_support::{Server, tools_present};
//!
//! if !tools_present(&["dig"]) {
//!     return; // skipped, the reason printed
//! }
//! let Some(bind) = Server::bind(&[]) else {
//!     return;
//! };
//! // zone example.com on bind.addr, updates signed with TSIG key ddns-key and bind.secret
//! std::fs::write("/tmp/dns.yaml", bind.rfc2136_yaml()).unwrap();
//! ```
//!
//! By hand: `cargo run -p fedsvc-test-support --example real-server -- bind` starts one and
//! prints its address and secrets as shell `export` lines.

mod bind;
mod config;
mod knot;
mod moto;
mod powerdns;
mod server;
mod skip;

pub use config::{rfc2136_yaml, rfc2136_yaml_with_key, zone_file};
pub use server::{Server, free_port, random_secret};
pub use skip::{find_binary, require_real, skip, tools_present};

/// The zone every server serves.
pub const ZONE: &str = "example.com";

/// The TSIG key (hmac-sha256 unless chosen otherwise) that may update and transfer [`ZONE`] on
/// BIND and Knot.
pub const KEY_NAME: &str = "ddns-key";

/// A second key BIND knows (with the same secret as [`KEY_NAME`]), allowed to transfer the zone
/// but not to update it.
pub const READONLY_KEY: &str = "readonly-key";
