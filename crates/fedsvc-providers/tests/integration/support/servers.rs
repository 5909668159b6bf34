//! Real DNS servers for tests: each one runs from a fresh temporary directory on a free
//! loopback port, in the foreground as a child process, and is killed when dropped.
//!
//! When a server's binary is missing, `start` returns `None` after printing why, unless
//! `FEDSVC_REQUIRE_REAL=1`, in which case it panics.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The zone every server test uses.
pub(crate) const ZONE: &str = "example.com";
/// The TSIG key name every server test uses.
pub(crate) const KEY_NAME: &str = "ddns-key";

/// A second key BIND knows (with the same secret), allowed to transfer the zone but not to
/// update it.
pub(crate) const READONLY_KEY: &str = "readonly-key";

/// Whether missing servers fail the tests instead of skipping them.
pub(crate) fn require_real() -> bool {
    std::env::var("FEDSVC_REQUIRE_REAL").is_ok_and(|v| v == "1" || v == "true")
}

/// Skips (prints and returns `None`) or, under `FEDSVC_REQUIRE_REAL=1`, fails.
pub(crate) fn skip<T>(what: &str, reason: &str) -> Option<T> {
    if require_real() {
        panic!("{what}: {reason} (FEDSVC_REQUIRE_REAL=1 forbids skipping)");
    }
    eprintln!("SKIPPED {what}: {reason}");
    None
}

/// The path of an executable, looked up on PATH and in the sbin directories.
pub(crate) fn find_binary(name: &str) -> Option<PathBuf> {
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

/// A loopback port free for both TCP and UDP.
pub(crate) fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A random TSIG secret (32 octets, base64).
pub(crate) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        ^ u128::from(std::process::id());
    let mut x = seed as u64 | 1;
    for b in &mut bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    base64(&bytes)
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The zone file every server starts from: SOA, NS, and foreign records that tests check
/// survive (`extra` adds more lines).
pub(crate) fn zone_file(extra: &[String]) -> String {
    let mut z = format!(
        "$ORIGIN {ZONE}.\n$TTL 300\n@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60\n@ IN NS ns.{ZONE}.\nns IN A 127.0.0.1\n"
    );
    for l in extra {
        z.push_str(l);
        z.push('\n');
    }
    z
}

/// A running server process.
pub(crate) struct Server {
    /// What it is, for messages ("BIND 9", "Knot", "PowerDNS").
    pub(crate) what: &'static str,
    /// The DNS address (UDP and TCP).
    pub(crate) addr: SocketAddr,
    /// The HTTP API address, for PowerDNS.
    pub(crate) api: Option<SocketAddr>,
    /// The TSIG secret (base64) or the PowerDNS API key.
    pub(crate) secret: String,
    /// The working directory (removed on drop).
    pub(crate) dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the server (to test outages); the directory stays until drop.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn spawn(what: &'static str, dir: &Path, cmd: &mut Command) -> Child {
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"))
    }

    fn wait_tcp(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before listening:\n{}",
                    self.what,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "{} did not listen on {addr} within 20 s:\n{}",
            self.what,
            self.log()
        );
    }

    /// BIND 9 (`named`) serving [`ZONE`] with dynamic updates by [`KEY_NAME`].
    pub(crate) fn bind(extra_zone_lines: &[String]) -> Option<Server> {
        Self::bind_with(extra_zone_lines, "hmac-sha256")
    }

    /// BIND 9 as [`Server::bind`], with a TSIG key of `algorithm`.
    pub(crate) fn bind_with(extra_zone_lines: &[String], algorithm: &str) -> Option<Server> {
        let Some(named) = find_binary("named") else {
            return skip("BIND 9", "named not found (apt-get install bind9)");
        };
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path();
        let port = free_port();
        let secret = random_secret();
        std::fs::write(w.join(format!("{ZONE}.zone")), zone_file(extra_zone_lines)).unwrap();
        let conf = format!(
            r#"key "{KEY_NAME}" {{ algorithm {algorithm}; secret "{secret}"; }};
key "{READONLY_KEY}" {{ algorithm {algorithm}; secret "{secret}"; }};
options {{
    directory "{w}";
    pid-file "{w}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-transfer {{ key "{KEY_NAME}"; key "{READONLY_KEY}"; }};
    notify no;
}};
controls {{ }};
zone "{ZONE}" {{
    type primary;
    file "{ZONE}.zone";
    update-policy {{ grant {KEY_NAME} zonesub ANY; }};
}};
"#,
            w = w.display()
        );
        std::fs::write(w.join("named.conf"), conf).unwrap();
        let child = Self::spawn(
            "BIND 9",
            w,
            Command::new(named)
                .arg("-g")
                .arg("-c")
                .arg(w.join("named.conf")),
        );
        let mut s = Server {
            what: "BIND 9",
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            api: None,
            secret,
            dir,
            child,
        };
        s.wait_tcp(s.addr);
        Some(s)
    }

    /// Knot DNS (`knotd`) serving [`ZONE`] with dynamic updates by [`KEY_NAME`].
    pub(crate) fn knot(extra_zone_lines: &[String]) -> Option<Server> {
        let Some(knotd) = find_binary("knotd") else {
            return skip("Knot", "knotd not found (apt-get install knot)");
        };
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path();
        let port = free_port();
        let secret = random_secret();
        std::fs::create_dir_all(w.join("db")).unwrap();
        std::fs::write(w.join(format!("{ZONE}.zone")), zone_file(extra_zone_lines)).unwrap();
        let conf = format!(
            r#"server:
    rundir: "{w}"
    listen: 127.0.0.1@{port}
log:
  - target: stderr
    any: info
key:
  - id: {KEY_NAME}
    algorithm: hmac-sha256
    secret: {secret}
acl:
  - id: fedsvc
    key: {KEY_NAME}
    action: [update, transfer]
database:
    storage: "{w}/db"
template:
  - id: default
    storage: "{w}"
    file: "%s.zone"
zone:
  - domain: {ZONE}
    acl: fedsvc
"#,
            w = w.display()
        );
        std::fs::write(w.join("knot.conf"), conf).unwrap();
        let child = Self::spawn(
            "Knot",
            w,
            Command::new(knotd).arg("-c").arg(w.join("knot.conf")),
        );
        let mut s = Server {
            what: "Knot",
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            api: None,
            secret,
            dir,
            child,
        };
        s.wait_tcp(s.addr);
        Some(s)
    }

    /// PowerDNS (`pdns_server`, sqlite backend) with its HTTP API; [`ZONE`] is created empty
    /// (SOA, NS) by the test through the API.
    pub(crate) fn powerdns() -> Option<Server> {
        let Some(pdns) = find_binary("pdns_server") else {
            return skip(
                "PowerDNS",
                "pdns_server not found (apt-get install pdns-server pdns-backend-sqlite3)",
            );
        };
        let schema = Path::new("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql");
        if !schema.is_file() {
            return skip(
                "PowerDNS",
                "sqlite schema missing (apt-get install pdns-backend-sqlite3)",
            );
        }
        let Some(sqlite3) = find_binary("sqlite3") else {
            return skip("PowerDNS", "sqlite3 not found (apt-get install sqlite3)");
        };
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path();
        let port = free_port();
        let api_port = free_port();
        let key = random_secret().replace(['+', '/', '='], "x");
        let db = w.join("pdns.sqlite3");
        let status = Command::new(sqlite3)
            .arg(&db)
            .stdin(std::fs::File::open(schema).unwrap())
            .status()
            .unwrap();
        assert!(status.success(), "cannot create the PowerDNS database");
        let conf = format!(
            "launch=gsqlite3\ngsqlite3-database={db}\nlocal-address=127.0.0.1:{port}\nsocket-dir={w}\ndaemon=no\nguardian=no\nsecurity-poll-suffix=\napi=yes\napi-key={key}\nwebserver=yes\nwebserver-address=127.0.0.1\nwebserver-port={api_port}\nwebserver-allow-from=127.0.0.0/8\nloglevel=4\n",
            db = db.display(),
            w = w.display()
        );
        std::fs::write(w.join("pdns.conf"), conf).unwrap();
        let child = Self::spawn(
            "PowerDNS",
            w,
            Command::new(pdns).arg(format!("--config-dir={}", w.display())),
        );
        let api = SocketAddr::from(([127, 0, 0, 1], api_port));
        let mut s = Server {
            what: "PowerDNS",
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            api: Some(api),
            secret: key,
            dir,
            child,
        };
        s.wait_tcp(api);
        s.wait_tcp(s.addr);
        Some(s)
    }

    /// moto's server (AWS emulator, for Route53) on a free port.
    pub(crate) fn moto() -> Option<Server> {
        let Some(moto) = find_binary("moto_server") else {
            return skip("moto", "moto_server not found (pip install 'moto[server]')");
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Self::spawn(
            "moto",
            dir.path(),
            Command::new(moto)
                .args(["-H", "127.0.0.1", "-p"])
                .arg(port.to_string()),
        );
        let mut s = Server {
            what: "moto",
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            api: None,
            secret: String::new(),
            dir,
            child,
        };
        s.wait_tcp(s.addr);
        Some(s)
    }
}
