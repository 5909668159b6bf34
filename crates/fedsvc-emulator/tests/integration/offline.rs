//! The suite runs where nothing but loopback can be reached: `scripts/test.sh` (and so CI)
//! runs every test inside a network namespace whose only interface is `lo`
//! (`scripts/offline.sh`). This test proves it from inside: a connection to a TEST-NET
//! address fails at once with "network unreachable", while loopback still works.
//!
//! Outside such a namespace it never attempts the connection: it skips with a reason, or
//! fails under `FEDSVC_REQUIRE_REAL=1`.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use fedsvc_test_support::require_real;

/// The network interfaces of this process's network namespace.
fn interfaces() -> Vec<String> {
    let table = std::fs::read_to_string("/proc/self/net/dev").expect("read /proc/self/net/dev");
    table
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|name| name.trim().to_owned())
        .collect()
}

#[test]
fn only_loopback_is_reachable() {
    let interfaces = interfaces();
    if interfaces.iter().any(|i| i != "lo") {
        assert!(
            !require_real(),
            "the tests run with network interfaces {interfaces:?}; run them through scripts/offline.sh"
        );
        eprintln!(
            "skipped: not inside a loopback-only network namespace (interfaces {interfaces:?}); scripts/offline.sh makes one"
        );
        return;
    }
    assert_eq!(interfaces, ["lo"]);

    // TEST-NET-1 and the IPv6 documentation prefix: never routed anywhere.
    for target in ["192.0.2.1:80", "[2001:db8::1]:80"] {
        let addr: SocketAddr = target.parse().unwrap();
        let err = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .expect_err("a connection beyond loopback must fail");
        assert_eq!(err.kind(), ErrorKind::NetworkUnreachable, "{target}: {err}");

        let udp = UdpSocket::bind(if addr.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        })
        .expect("bind a loopback UDP socket");
        let err = udp
            .send_to(b"\0", addr)
            .expect_err("a datagram beyond loopback must fail");
        assert_eq!(err.kind(), ErrorKind::NetworkUnreachable, "{target}: {err}");
    }

    // Loopback works: the real servers the tests start listen there.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    TcpStream::connect(listener.local_addr().unwrap()).expect("connect on loopback");
}
