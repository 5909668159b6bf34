//! moto's server (`moto_server`): an AWS emulator, used for Route53.

use std::net::SocketAddr;
use std::process::Command;

use crate::server::{Kind, Server, free_port, workdir};
use crate::{find_binary, skip};

impl Server {
    /// moto's server (an AWS emulator, for Route53) at [`Server::endpoint`]. It accepts any
    /// credentials and starts with no hosted zone. `None` (or a panic) as [`skip`] when
    /// `moto_server` is missing.
    pub fn moto() -> Option<Server> {
        let Some(moto) = find_binary("moto_server") else {
            return skip("moto", "moto_server not found (pip install 'moto[server]')");
        };
        let port = free_port();
        Some(Server::spawn(
            "moto",
            Kind::Moto,
            workdir("moto"),
            Command::new(moto)
                .args(["-H", "127.0.0.1", "-p"])
                .arg(port.to_string()),
            SocketAddr::from(([127, 0, 0, 1], port)),
            None,
            String::new(),
        ))
    }
}
