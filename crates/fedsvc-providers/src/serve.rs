//! Serving DNS with hickory-server on one address over UDP and TCP (feature `serve`), as the
//! memory backend's embedded server and `fedsvc-local-dns` do.
//!
//! ```no_run
//! # async fn run<H: hickory_server::server::RequestHandler>(handler: H) -> std::io::Result<()> {
//! let (mut server, addr) = fedsvc_providers::serve::udp_and_tcp("127.0.0.1:0".parse().unwrap(), handler).await?;
//! println!("serving on {addr}");
//! server.block_until_done().await.map_err(std::io::Error::other)?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::server::RequestHandler;
use tokio::net::{TcpListener, UdpSocket};

/// How long an idle TCP connection is kept open.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// The bytes buffered for the responses of one TCP connection.
const TCP_RESPONSE_BUFFER: usize = 64 * 1024;

/// A hickory-server [`Server`] answering with `handler` on `listen`, over UDP and TCP (idle
/// TCP connections closed after [`TCP_TIMEOUT`]), and the address bound: with port 0, a port
/// free for both protocols. The sockets are served from the current tokio runtime; the caller
/// keeps the server, runs it with [`Server::block_until_done`], and stops it with its
/// [shutdown token](Server::shutdown_token) or by dropping the task that runs it.
pub async fn udp_and_tcp<H: RequestHandler>(
    listen: SocketAddr,
    handler: H,
) -> std::io::Result<(Server<H>, SocketAddr)> {
    let (udp, tcp) = bind_pair(listen).await?;
    let addr = udp.local_addr()?;
    let mut server = Server::new(handler);
    server.register_socket(udp);
    server.register_listener(tcp, TCP_TIMEOUT, TCP_RESPONSE_BUFFER);
    Ok((server, addr))
}

/// Binds UDP and TCP on the same address; with port 0, tries free ports until both bind.
pub async fn bind_pair(listen: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut last = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind(listen).await?;
        let addr = udp.local_addr()?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if listen.port() == 0 => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no port free for both UDP and TCP")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn port_zero_binds_one_port_for_both() {
        let (udp, tcp) = bind_pair("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = udp.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        assert_eq!(tcp.local_addr().unwrap(), addr);
        // The address is taken now: binding it again fails, without trying other ports.
        assert!(bind_pair(addr).await.is_err());
    }
}
