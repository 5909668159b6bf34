//! The PowerDNS authoritative server (`pdns_server`) with the sqlite backend and its HTTP API.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use crate::server::{Kind, Server, free_port, random_secret, workdir, write};
use crate::{find_binary, skip};

/// The schema of the sqlite backend, as Debian's `pdns-backend-sqlite3` installs it.
const SCHEMA: &str = "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql";

impl Server {
    /// PowerDNS (`pdns_server`, sqlite backend) with its HTTP API on [`Server::api`] and the API
    /// key in [`Server::secret`]. It starts with no zone: [`ZONE`](crate::ZONE) is created
    /// (SOA, NS) through the API by whoever uses it. `None` (or a panic) as [`skip`] when
    /// `pdns_server`, `sqlite3` or the sqlite schema is missing.
    pub fn powerdns() -> Option<Server> {
        let Some(pdns) = find_binary("pdns_server") else {
            return skip(
                "PowerDNS",
                "pdns_server not found (apt-get install pdns-server pdns-backend-sqlite3)",
            );
        };
        let schema = Path::new(SCHEMA);
        if !schema.is_file() {
            return skip(
                "PowerDNS",
                "sqlite schema missing (apt-get install pdns-backend-sqlite3)",
            );
        }
        let Some(sqlite3) = find_binary("sqlite3") else {
            return skip("PowerDNS", "sqlite3 not found (apt-get install sqlite3)");
        };
        let dir = workdir("pdns");
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
        write(w, "pdns.conf", &conf);
        let config_dir = format!("--config-dir={}", w.display());
        Some(Server::spawn(
            "PowerDNS",
            Kind::PowerDns,
            dir,
            Command::new(pdns).arg(config_dir),
            SocketAddr::from(([127, 0, 0, 1], port)),
            Some(SocketAddr::from(([127, 0, 0, 1], api_port))),
            key,
        ))
    }
}
