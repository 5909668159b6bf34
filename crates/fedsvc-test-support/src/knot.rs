//! Knot DNS (`knotd`).

use std::net::SocketAddr;
use std::process::Command;

use crate::server::{Kind, Server, free_port, random_secret, workdir, write};
use crate::{KEY_NAME, ZONE, find_binary, skip, zone_file};

impl Server {
    /// Knot DNS (`knotd`) serving [`ZONE`] from [`zone_file`]`(extra_zone_lines)` (Knot rewrites
    /// its zone file: each start has a pristine copy), accepting RFC 2136 updates and transfers
    /// signed with [`KEY_NAME`] (hmac-sha256). `None` (or a panic) as [`skip`] when `knotd` is
    /// missing.
    pub fn knot(extra_zone_lines: &[String]) -> Option<Server> {
        let Some(knotd) = find_binary("knotd") else {
            return skip("Knot", "knotd not found (apt-get install knot)");
        };
        let dir = workdir("knot");
        let w = dir.path();
        let port = free_port();
        let secret = random_secret();
        std::fs::create_dir_all(w.join("db")).unwrap();
        write(w, &format!("{ZONE}.zone"), &zone_file(extra_zone_lines));
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
        write(w, "knot.conf", &conf);
        let conf = w.join("knot.conf");
        Some(Server::spawn(
            "Knot",
            Kind::Knot,
            dir,
            Command::new(knotd).arg("-c").arg(conf),
            SocketAddr::from(([127, 0, 0, 1], port)),
            None,
            secret,
        ))
    }
}
