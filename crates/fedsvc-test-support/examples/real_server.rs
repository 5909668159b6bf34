//! Starts one real server on loopback, as the tests do, prints what reaches it as shell
//! `export` lines, and runs until Ctrl-C or SIGTERM; then the server is stopped and its
//! directory removed.
//!
//! ```text
//! cargo run -p fedsvc-test-support --example real-server -- bind [KEY...]
//! cargo run -p fedsvc-test-support --example real-server -- knot
//! cargo run -p fedsvc-test-support --example real-server -- pdns
//! cargo run -p fedsvc-test-support --example real-server -- moto
//! ```
//!
//! `bind` serves zone `example.com` with updates and transfers signed by TSIG key `ddns-key`
//! (hmac-sha256), and by each further `KEY` given; `knot` the same zone and key; `pdns` (or
//! `powerdns`) creates the zone through its HTTP API; `moto` (Route53) starts empty. In the
//! background, with the lines kept in a file:
//!
//! ```text
//! cargo run -q -p fedsvc-test-support --example real-server -- bind > /tmp/bind.env &
//! until [ -s /tmp/bind.env ]; do sleep 1; done; . /tmp/bind.env
//! dig @127.0.0.1 -p "$DNS_PORT" example.com SOA
//! kill "$!"
//! ```

use std::io::{Read, Write};
use std::net::TcpStream;

use fedsvc_test_support::{Server, ZONE};

const USAGE: &str = "usage: real-server bind [KEY...] | knot | pdns | moto";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(kind) = args.first() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let keys: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    if kind != "bind" && !keys.is_empty() {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let server = match kind.as_str() {
        "bind" => Server::bind_with_keys(&keys),
        "knot" => Server::knot(&[]),
        "pdns" | "powerdns" => Server::powerdns().inspect(create_zone),
        "moto" => Server::moto(),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let Some(server) = server else {
        // The reason is printed already.
        std::process::exit(1);
    };
    let mut out = std::io::stdout().lock();
    for (name, value) in server.env() {
        writeln!(out, "export {name}='{value}'").expect("write to stdout");
    }
    out.flush().expect("write to stdout");
    drop(out);
    eprintln!(
        "{} runs (PID {}); Ctrl-C or SIGTERM stops it",
        server.what,
        server.pid()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("listen for SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("stopping {}", server.what);
    drop(server);
}

/// Creates [`ZONE`] (SOA, NS) through PowerDNS's HTTP API.
fn create_zone(server: &Server) {
    let api = server.api.expect("PowerDNS has an API address");
    let body = format!(r#"{{"name":"{ZONE}.","kind":"Native","nameservers":["ns.{ZONE}."]}}"#);
    let request = format!(
        "POST /api/v1/servers/localhost/zones HTTP/1.1\r\nHost: {api}\r\nX-API-Key: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.secret,
        body.len()
    );
    let mut stream = TcpStream::connect(api).expect("connect to the PowerDNS API");
    stream
        .write_all(request.as_bytes())
        .expect("send to the PowerDNS API");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the PowerDNS API's answer");
    let status = response.lines().next().unwrap_or_default();
    assert!(
        status.contains(" 201 "),
        "creating {ZONE} in PowerDNS: {response}"
    );
}
