//! BIND 9 (`named`).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::Command;

use crate::server::{Kind, Server, free_port, random_secret, workdir, write};
use crate::{KEY_NAME, READONLY_KEY, ZONE, find_binary, skip, zone_file};

impl Server {
    /// BIND 9 (`named -g`) serving [`ZONE`] from [`zone_file`]`(extra_zone_lines)`, accepting
    /// RFC 2136 updates and transfers signed with [`KEY_NAME`] (hmac-sha256), and transfers
    /// signed with [`READONLY_KEY`]. `None` (or a panic) as [`skip`] when `named` is missing.
    pub fn bind(extra_zone_lines: &[String]) -> Option<Server> {
        Self::start_bind(extra_zone_lines, "hmac-sha256", &[])
    }

    /// BIND 9 as [`Server::bind`], with TSIG keys of `algorithm` (`hmac-sha512`, …).
    pub fn bind_with(extra_zone_lines: &[String], algorithm: &str) -> Option<Server> {
        Self::start_bind(extra_zone_lines, algorithm, &[])
    }

    /// BIND 9 as [`Server::bind`], with further hmac-sha256 TSIG keys named `keys`, each with a
    /// secret of its own ([`Server::key_secret`]) and allowed what [`KEY_NAME`] is: to update
    /// and transfer the zone. The log then says which key signed each update and transfer.
    pub fn bind_with_keys(keys: &[&str]) -> Option<Server> {
        Self::start_bind(&[], "hmac-sha256", keys)
    }

    fn start_bind(extra_zone_lines: &[String], algorithm: &str, keys: &[&str]) -> Option<Server> {
        let Some(named) = find_binary("named") else {
            return skip("BIND 9", "named not found (apt-get install bind9)");
        };
        let dir = workdir("bind");
        let w = dir.path();
        let port = free_port();
        let secret = random_secret();
        let keys: Vec<(String, String)> = keys
            .iter()
            .map(|k| ((*k).to_owned(), random_secret()))
            .collect();
        let (mut key_lines, mut transfer, mut grants) =
            (String::new(), String::new(), String::new());
        for (k, s) in &keys {
            let _ = write!(
                key_lines,
                "\nkey \"{k}\" {{ algorithm {algorithm}; secret \"{s}\"; }};"
            );
            let _ = write!(transfer, " key \"{k}\";");
            let _ = write!(grants, " grant {k} zonesub ANY;");
        }
        write(w, &format!("{ZONE}.zone"), &zone_file(extra_zone_lines));
        let conf = format!(
            r#"key "{KEY_NAME}" {{ algorithm {algorithm}; secret "{secret}"; }};
key "{READONLY_KEY}" {{ algorithm {algorithm}; secret "{secret}"; }};{key_lines}
options {{
    directory "{w}";
    pid-file "{w}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-transfer {{ key "{KEY_NAME}"; key "{READONLY_KEY}";{transfer} }};
    notify no;
}};
controls {{ }};
zone "{ZONE}" {{
    type primary;
    file "{ZONE}.zone";
    update-policy {{ grant {KEY_NAME} zonesub ANY;{grants} }};
}};
"#,
            w = w.display()
        );
        write(w, "named.conf", &conf);
        let conf = w.join("named.conf");
        let mut s = Server::spawn(
            "BIND 9",
            Kind::Bind,
            dir,
            Command::new(named).arg("-g").arg("-c").arg(conf),
            SocketAddr::from(([127, 0, 0, 1], port)),
            None,
            secret,
        );
        s.algorithm = algorithm.to_owned();
        s.keys = keys;
        Some(s)
    }
}
