//! The settings of the RFC 2136 backend (`kind: rfc2136`): the server, its TSIG key, and the
//! limits of one UPDATE message and of one zone transfer.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;
use crate::secret::{Secret, read_secret_file};

/// Settings of the RFC 2136 backend.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rfc2136Config {
    /// The primary server, `host:port` (port 53 if omitted).
    pub server: String,
    /// The TSIG key that signs updates and zone transfers.
    #[serde(default)]
    pub tsig: Option<TsigConfig>,
    /// Seconds to wait for an answer (default 5).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// The most record-set changes in one batch (default 200); a batch too large for one DNS
    /// message is sent as several UPDATE messages, split between change groups.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// The most records a zone transfer may hold (default 10 000 000); a longer transfer is
    /// an error naming the limit.
    #[serde(default)]
    pub max_list_records: Option<u64>,
    /// The most bytes a zone transfer may take (default 2 GiB); a longer transfer is an error
    /// naming the limit.
    #[serde(default)]
    pub max_list_bytes: Option<u64>,
}

impl Rfc2136Config {
    /// The server's socket address (resolving a host name if needed).
    pub fn server_addr(&self) -> Result<SocketAddr, ConfigError> {
        let s = self.server.trim();
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(a);
        }
        if let Ok(ip) = s.parse::<std::net::IpAddr>() {
            return Ok(SocketAddr::new(ip, 53));
        }
        let with_port = if s.contains(':') {
            s.to_owned()
        } else {
            format!("{s}:53")
        };
        with_port
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
            .ok_or_else(|| ConfigError::Invalid {
                field: "provider.server".into(),
                message: format!("{s:?} is not an address or a resolvable host:port"),
            })
    }

    /// The timeout for one exchange.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.unwrap_or(5).max(1))
    }

    /// The limits of one zone transfer: `maxListRecords` and `maxListBytes`, or their defaults.
    #[cfg(feature = "rfc2136")]
    pub(crate) fn list_limits(&self) -> ListLimits {
        let default = ListLimits::default();
        ListLimits {
            max_records: self.max_list_records.unwrap_or(default.max_records).max(1),
            max_bytes: self.max_list_bytes.unwrap_or(default.max_bytes).max(1),
        }
    }
}

/// How much one listing of a zone may read before it stops with an error naming the limit,
/// so that a server streaming an endless zone transfer cannot make the process grow without
/// bound.
///
/// The defaults, 10 million records and 2 GiB, lie far above the largest zone fedsvc is
/// measured with (620 001 record sets: roughly 1.3 million records, on the order of 100 MB of
/// transfer), and below what would exhaust a typical host: 10 million record sets held as the
/// controller holds them take a few GB.
#[cfg(feature = "rfc2136")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListLimits {
    /// The most records (the zone's SOA included).
    pub(crate) max_records: u64,
    /// The most bytes of DNS messages.
    pub(crate) max_bytes: u64,
}

#[cfg(feature = "rfc2136")]
impl Default for ListLimits {
    fn default() -> Self {
        ListLimits {
            max_records: 10_000_000,
            max_bytes: 2 << 30,
        }
    }
}

/// A TSIG key: `{name, algorithm, secret}` or `{name, algorithm, secretFile}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TsigConfig {
    /// The key's name, as the server knows it (for example `ddns-key`).
    pub name: String,
    /// `hmac-sha256` (default), `hmac-sha384` or `hmac-sha512`.
    #[serde(default = "default_tsig_algorithm")]
    pub algorithm: String,
    /// The secret, base64.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// A file holding the secret, base64 (alone, or as written by `tsig-keygen`).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

fn default_tsig_algorithm() -> String {
    "hmac-sha256".to_owned()
}

impl TsigConfig {
    /// The base64 secret, from `secret` or read from `secretFile`. A file written by
    /// `tsig-keygen` (a `key "…" { algorithm …; secret "…"; };` clause) is accepted too.
    pub fn secret_base64(&self) -> Result<Secret, ConfigError> {
        match (&self.secret, &self.secret_file) {
            (Some(s), None) => Ok(s.clone()),
            (None, Some(path)) => {
                let text = read_secret_file(path)?;
                Ok(Secret::new(extract_keygen_secret(&text).unwrap_or(text)))
            }
            (Some(_), Some(_)) => Err(ConfigError::Invalid {
                field: "provider.tsig".into(),
                message: "give either secret or secretFile, not both".into(),
            }),
            (None, None) => Err(ConfigError::Invalid {
                field: "provider.tsig".into(),
                message: "secret or secretFile is required".into(),
            }),
        }
    }
}

/// The secret of a `tsig-keygen` key clause, if `text` is one.
fn extract_keygen_secret(text: &str) -> Option<String> {
    let at = text.find("secret")?;
    let rest = &text[at + "secret".len()..];
    let start = rest.find('"')? + 1;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_from_files_and_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ddns.key");
        std::fs::write(
            &path,
            "key \"ddns-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n",
        )
        .unwrap();
        let t = TsigConfig {
            name: "ddns-key".into(),
            algorithm: default_tsig_algorithm(),
            secret: None,
            secret_file: Some(path),
        };
        assert_eq!(t.secret_base64().unwrap().expose(), "c2VjcmV0");
        assert!(!format!("{:?}", Secret::new("abc")).contains("abc"));
        let both = TsigConfig {
            secret: Some(Secret::new("x")),
            ..t
        };
        assert!(both.secret_base64().is_err());
    }

    #[test]
    fn server_addresses() {
        let c = |s: &str| Rfc2136Config {
            server: s.into(),
            tsig: None,
            timeout_seconds: None,
            batch_size: None,
            max_list_records: None,
            max_list_bytes: None,
        };
        assert_eq!(
            c("127.0.0.1").server_addr().unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            c("127.0.0.1:5300").server_addr().unwrap(),
            "127.0.0.1:5300".parse().unwrap()
        );
        assert!(c("no such host !").server_addr().is_err());
    }
}
