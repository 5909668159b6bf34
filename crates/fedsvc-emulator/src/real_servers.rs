//! Real servers for tests: the tools and servers a test needs, or a printed skip.
//!
//! Tests that need a real server skip with a printed reason when it is missing, unless
//! `FEDSVC_REQUIRE_REAL=1` (which CI sets), in which case they fail.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;

/// Whether `FEDSVC_REQUIRE_REAL=1` is set.
pub fn real_required() -> bool {
    std::env::var("FEDSVC_REQUIRE_REAL").as_deref() == Ok("1")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args([
            "-c",
            &format!("command -v {tool} || test -x /usr/sbin/{tool}"),
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether every tool is on the machine. When one is missing: panics under
/// `FEDSVC_REQUIRE_REAL=1`, else prints `skipped: …` and returns `false`.
pub fn tools_present(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !real_required(),
        "{missing:?} not installed and FEDSVC_REQUIRE_REAL=1"
    );
    eprintln!(
        "skipped: {missing:?} not installed (scripts/dns-servers/install.sh installs the servers)"
    );
    false
}

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/dns-servers")
}

/// A BIND 9 started by `scripts/dns-servers/start-bind.sh` for zone `example.com` on a free
/// loopback port, accepting RFC 2136 updates and transfers signed with the TSIG key `ddns-key`
/// (hmac-sha256). Stopped by PID on drop.
#[derive(Debug)]
pub struct Bind {
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
    /// The TSIG secret (base64).
    pub secret: String,
    pidfile: String,
    workdir: String,
    keys: Vec<(String, String)>,
}

impl Bind {
    /// Starts BIND, or skips (see [`tools_present`]) when `named` or one of `also` is missing.
    pub fn start_or_skip(also: &[&str]) -> Option<Bind> {
        let mut tools = vec!["named"];
        tools.extend_from_slice(also);
        if !tools_present(&tools) {
            return None;
        }
        Some(Self::start_with_keys(&[]))
    }

    /// Starts BIND (or skips, as [`start_or_skip`](Bind::start_or_skip)) with further TSIG
    /// keys named `keys` (hmac-sha256), each allowed what `ddns-key` is; see
    /// [`key_secret`](Bind::key_secret) and [`rfc2136_yaml_with_key`].
    pub fn start_with_keys_or_skip(also: &[&str], keys: &[&str]) -> Option<Bind> {
        let mut tools = vec!["named"];
        tools.extend_from_slice(also);
        if !tools_present(&tools) {
            return None;
        }
        Some(Self::start_with_keys(keys))
    }

    fn start_with_keys(keys: &[&str]) -> Bind {
        let env = ScriptEnv::start_with(
            "start-bind.sh",
            &[("BIND_EXTRA_KEYS", keys.join(" ").as_str())],
        );
        let keys = keys
            .iter()
            .map(|k| {
                let var: String = k
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                ((*k).to_owned(), env.get(&format!("TSIG_SECRET_{var}")))
            })
            .collect();
        Bind {
            addr: SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                env.get("DNS_PORT").parse().expect("a port"),
            ),
            secret: env.get("TSIG_SECRET"),
            pidfile: env.get("PIDFILE"),
            workdir: env.get("WORKDIR"),
            keys,
        }
    }

    /// The secret (base64) of the further key `name` it was started with.
    pub fn key_secret(&self, name: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, s)| s.as_str())
    }

    /// What the server logged so far (`named -g`: one line per event, each with its time;
    /// updates and transfers name the key that signed them, as `/key NAME`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(format!("{}/server.log", self.workdir)).unwrap_or_default()
    }

    /// The provider configuration (YAML) for this server, signing with `secret`.
    pub fn rfc2136_yaml(&self, secret: &str) -> String {
        rfc2136_yaml(&self.addr.to_string(), secret)
    }
}

/// The provider configuration (YAML) for zone `example.com` on the RFC 2136 server at `server`
/// (`host:port`), signing with TSIG key `ddns-key` (hmac-sha256) and the base64 `secret`, as
/// `scripts/dns-servers/start-bind.sh` sets the server up.
pub fn rfc2136_yaml(server: &str, secret: &str) -> String {
    format!(
        "zone: example.com\nprovider:\n  kind: rfc2136\n  server: {server}\n  tsig: {{name: ddns-key, algorithm: hmac-sha256, secret: \"{secret}\"}}\n"
    )
}

/// [`rfc2136_yaml`] signing with the key `key` instead of `ddns-key`.
pub fn rfc2136_yaml_with_key(server: &str, key: &str, secret: &str) -> String {
    format!(
        "zone: example.com\nprovider:\n  kind: rfc2136\n  server: {server}\n  tsig: {{name: {key}, algorithm: hmac-sha256, secret: \"{secret}\"}}\n"
    )
}

impl Drop for Bind {
    fn drop(&mut self) {
        stop(&self.pidfile);
    }
}

/// moto's server (an AWS emulator, for Route53) started by `scripts/dns-servers/start-moto.sh`
/// on a free loopback port. It accepts any credentials. Stopped by PID on drop.
#[derive(Debug)]
pub struct Moto {
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pidfile: String,
}

impl Moto {
    /// Starts moto, or skips (see [`tools_present`]) when `moto_server` is missing.
    pub fn start_or_skip() -> Option<Moto> {
        if !tools_present(&["moto_server"]) {
            return None;
        }
        let env = ScriptEnv::start("start-moto.sh");
        Some(Moto {
            endpoint: env.get("ENDPOINT_URL"),
            pidfile: env.get("PIDFILE"),
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        stop(&self.pidfile);
    }
}

/// The `KEY=value` file a `start-*.sh` script prints the path of.
struct ScriptEnv {
    path: String,
    text: String,
}

impl ScriptEnv {
    /// Runs `scripts/dns-servers/SCRIPT` and reads the env file it names.
    fn start(script: &str) -> ScriptEnv {
        Self::start_with(script, &[])
    }

    /// Runs `scripts/dns-servers/SCRIPT` with `env` set and reads the env file it names.
    fn start_with(script: &str, env: &[(&str, &str)]) -> ScriptEnv {
        let out = Command::new(scripts().join(script))
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("run {script}: {e}"));
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = String::from_utf8_lossy(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("the env file {path} of {script}: {e}"));
        ScriptEnv { path, text }
    }

    fn get(&self, key: &str) -> String {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in {}", self.path))
            .trim_matches('"')
            .to_owned()
    }
}

fn stop(pidfile: &str) {
    let _ = Command::new(scripts().join("stop.sh"))
        .arg(pidfile)
        .status();
}
