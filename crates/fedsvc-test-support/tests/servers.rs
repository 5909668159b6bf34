//! Each server starts on loopback, says how to reach it, and is gone with its directory once
//! dropped.

use std::path::Path;

use fedsvc_test_support::Server;

/// Drops `server` and checks that its process and directory are gone.
fn stops_on_drop(server: Server) {
    let pid = server.pid();
    let dir = server.dir.path().to_owned();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(server);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "process {pid} still runs"
    );
    assert!(!dir.exists(), "{} is left", dir.display());
}

fn env(server: &Server, name: &str) -> String {
    server
        .env()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", server.env()))
        .1
}

#[test]
fn bind_with_keys() {
    let Some(bind) = Server::bind_with_keys(&["replica-a", "replica-b"]) else {
        return;
    };
    assert!(bind.addr.ip().is_loopback());
    assert!(bind.addr.port() >= 1024);
    let a = bind.key_secret("replica-a").unwrap();
    let b = bind.key_secret("replica-b").unwrap();
    assert_ne!(a, b);
    assert_ne!(a, bind.secret);
    assert_eq!(bind.key_secret("replica-c"), None);
    assert_eq!(env(&bind, "DNS_ADDR"), bind.addr.to_string());
    assert_eq!(env(&bind, "TSIG_NAME"), "ddns-key");
    assert_eq!(env(&bind, "TSIG_SECRET"), bind.secret);
    assert_eq!(env(&bind, "TSIG_SECRET_replica_a"), a);
    let conf = std::fs::read_to_string(bind.dir.path().join("named.conf")).unwrap();
    assert!(conf.contains("grant replica-b zonesub ANY;"), "{conf}");
    assert!(bind.rfc2136_yaml().contains(&bind.secret));
    stops_on_drop(bind);
}

#[test]
fn knot() {
    let Some(knot) = Server::knot(&[]) else {
        return;
    };
    assert!(knot.addr.ip().is_loopback());
    assert_eq!(env(&knot, "TSIG_ALGORITHM"), "hmac-sha256");
    stops_on_drop(knot);
}

#[test]
fn powerdns() {
    let Some(pdns) = Server::powerdns() else {
        return;
    };
    let api = pdns.api.unwrap();
    assert!(api.ip().is_loopback());
    assert_eq!(env(&pdns, "API_URL"), format!("http://{api}"));
    assert_eq!(env(&pdns, "API_KEY"), pdns.secret);
    stops_on_drop(pdns);
}

#[test]
fn moto() {
    let Some(moto) = Server::moto() else {
        return;
    };
    assert_eq!(moto.endpoint(), format!("http://{}", moto.addr));
    assert_eq!(env(&moto, "ENDPOINT_URL"), moto.endpoint());
    stops_on_drop(moto);
}

#[test]
fn a_killed_server_can_be_dropped() {
    let Some(mut bind) = Server::bind(&[]) else {
        return;
    };
    bind.kill();
    assert!(std::net::TcpStream::connect(bind.addr).is_err());
    stops_on_drop_after_kill(bind);
}

fn stops_on_drop_after_kill(server: Server) {
    let dir = server.dir.path().to_owned();
    drop(server);
    assert!(!dir.exists());
}
