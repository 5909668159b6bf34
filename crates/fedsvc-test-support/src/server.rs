//! A running server process, and what starting one needs.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{KEY_NAME, ZONE};

/// Which server a [`Server`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bind,
    Knot,
    PowerDns,
    Moto,
}

/// A running server: a child process of this one, listening on `127.0.0.1` only, from a
/// temporary directory of its own. Killed (by its PID) when dropped; the directory goes with
/// it.
///
/// Started by [`Server::bind`] (and its variants), [`Server::knot`], [`Server::powerdns`] and
/// [`Server::moto`].
#[derive(Debug)]
pub struct Server {
    /// What it is, for messages: "BIND 9", "Knot", "PowerDNS" or "moto".
    pub what: &'static str,
    /// Its DNS address (UDP and TCP); for moto, its HTTP address.
    pub addr: SocketAddr,
    /// The HTTP API address, for PowerDNS.
    pub api: Option<SocketAddr>,
    /// The secret (base64) of TSIG key [`KEY_NAME`], or PowerDNS's API key; empty for moto.
    pub secret: String,
    /// The working directory: configuration, zone files, `server.log` (removed on drop).
    pub dir: tempfile::TempDir,
    pub(crate) kind: Kind,
    /// The algorithm of the TSIG keys (BIND and Knot).
    pub(crate) algorithm: String,
    /// Further TSIG keys: (name, secret).
    pub(crate) keys: Vec<(String, String)>,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Server {
    /// Spawns `cmd` in `dir`, its output going to `dir/server.log`, and waits until it accepts
    /// TCP connections on `api` (when given) and on `addr`.
    pub(crate) fn spawn(
        what: &'static str,
        kind: Kind,
        dir: tempfile::TempDir,
        cmd: &mut Command,
        addr: SocketAddr,
        api: Option<SocketAddr>,
        secret: String,
    ) -> Server {
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = cmd
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let mut s = Server {
            what,
            addr,
            api,
            secret,
            dir,
            kind,
            algorithm: "hmac-sha256".into(),
            keys: Vec::new(),
            child,
        };
        if let Some(api) = api {
            s.wait_tcp(api);
        }
        s.wait_tcp(addr);
        if matches!(kind, Kind::Bind | Kind::Knot) {
            // A server listens before it has loaded its zones, and answers SERVFAIL until then.
            s.wait_zone();
        }
        s
    }

    /// Waits until the server answers [`ZONE`]'s SOA with authority (UDP).
    fn wait_zone(&mut self) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let query = soa_query(0x5a17);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut answer = [0u8; 512];
        while Instant::now() < deadline {
            if socket.send_to(&query, self.addr).is_ok()
                && let Ok((n, _)) = socket.recv_from(&mut answer)
                && is_authoritative_answer(&answer[..n], 0x5a17)
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited with {status} before serving {ZONE}:\n{}",
                    self.what,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "{} did not serve {ZONE} within 20 s:\n{}",
            self.what,
            self.log()
        );
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

    /// The process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The path of the server's log (its standard output and error).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// What the server logged so far. BIND runs with `-g`: one line per event, each with its
    /// time; updates and transfers name the key that signed them (`/key NAME`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Kills the server (to test outages) and waits for it to exit; the directory stays until
    /// drop.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The secret (base64) of the further TSIG key `name` BIND was started with
    /// ([`Server::bind_with_keys`]).
    pub fn key_secret(&self, name: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, s)| s.as_str())
    }

    /// moto's endpoint, or the HTTP address of any server: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The provider configuration (YAML) for this BIND or Knot: [`ZONE`] over RFC 2136, signed
    /// with [`KEY_NAME`] and its secret.
    pub fn rfc2136_yaml(&self) -> String {
        crate::rfc2136_yaml(&self.addr.to_string(), &self.secret)
    }

    /// What a shell needs to reach the server, as `(name, value)` pairs: `SERVER`, `PID`,
    /// `WORKDIR`, `LOG`; for BIND and Knot `ZONE`, `DNS_ADDR`, `DNS_PORT`, `TSIG_NAME`,
    /// `TSIG_ALGORITHM`, `TSIG_SECRET` and, for each further key `k`, `TSIG_SECRET_k` (characters
    /// other than letters, digits and `_` become `_`); for PowerDNS `ZONE`, `DNS_ADDR`,
    /// `DNS_PORT`, `API_URL`, `API_KEY`; for moto `ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (moto accepts any credentials).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            ("SERVER".into(), self.what.into()),
            ("PID".into(), self.pid().to_string()),
            ("WORKDIR".into(), self.dir.path().display().to_string()),
            ("LOG".into(), self.log_path().display().to_string()),
        ];
        let dns = [
            ("ZONE".to_owned(), ZONE.to_owned()),
            ("DNS_ADDR".to_owned(), self.addr.to_string()),
            ("DNS_PORT".to_owned(), self.addr.port().to_string()),
        ];
        match self.kind {
            Kind::Bind | Kind::Knot => {
                env.extend(dns);
                env.push(("TSIG_NAME".into(), KEY_NAME.into()));
                env.push(("TSIG_ALGORITHM".into(), self.algorithm.clone()));
                env.push(("TSIG_SECRET".into(), self.secret.clone()));
                for (name, secret) in &self.keys {
                    let var: String = name
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    env.push((format!("TSIG_SECRET_{var}"), secret.clone()));
                }
            }
            Kind::PowerDns => {
                env.extend(dns);
                if let Some(api) = self.api {
                    env.push(("API_URL".into(), format!("http://{api}")));
                }
                env.push(("API_KEY".into(), self.secret.clone()));
            }
            Kind::Moto => {
                env.push(("ENDPOINT_URL".into(), self.endpoint()));
                env.push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
                env.push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
                env.push(("AWS_REGION".into(), "us-east-1".into()));
            }
        }
        env
    }
}

/// A DNS query (id `id`, no recursion) for the SOA record of [`ZONE`].
fn soa_query(id: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    // Flags 0 (a standard query), one question, no other records.
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in ZONE.split('.') {
        q.push(u8::try_from(label.len()).expect("a short label"));
        q.extend_from_slice(label.as_bytes());
    }
    // The root, then QTYPE SOA (6) and QCLASS IN (1).
    q.extend_from_slice(&[0, 0, 6, 0, 1]);
    q
}

/// Whether `msg` answers query `id` authoritatively (AA), with NOERROR and at least one answer.
fn is_authoritative_answer(msg: &[u8], id: u16) -> bool {
    msg.len() >= 12
        && msg[..2] == id.to_be_bytes()
        && msg[2] & 0x80 != 0
        && msg[2] & 0x04 != 0
        && msg[3] & 0x0f == 0
        && u16::from_be_bytes([msg[6], msg[7]]) >= 1
}

/// A fresh temporary directory for a server, named after it.
pub(crate) fn workdir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("fedsvc-{name}."))
        .tempdir()
        .unwrap()
}

/// Writes `text` to `dir/name`.
pub(crate) fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text)
        .unwrap_or_else(|e| panic!("write {}: {e}", dir.join(name).display()));
}

/// A loopback port free for both TCP and UDP (the kernel picks it among the high ports).
pub fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A random TSIG secret: 32 octets from `/dev/urandom`, in base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
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

#[cfg(test)]
mod tests {
    use super::{base64, is_authoritative_answer, soa_query};

    #[test]
    fn soa_query_of_the_zone() {
        let q = soa_query(7);
        assert_eq!(q[..12], [0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x07example\x03com\x00\x00\x06\x00\x01");
        // The query itself is no answer; the same with QR, AA and one answer record is.
        assert!(!is_authoritative_answer(&q, 7));
        let mut answer = q.clone();
        answer[2] = 0x84;
        answer[7] = 1;
        assert!(is_authoritative_answer(&answer, 7));
        assert!(!is_authoritative_answer(&answer, 8));
        answer[3] = 2; // SERVFAIL
        assert!(!is_authoritative_answer(&answer, 7));
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
    }
}
