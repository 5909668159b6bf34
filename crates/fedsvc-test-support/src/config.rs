//! The zone the servers start from, and the provider configurations that reach them.

use crate::{KEY_NAME, ZONE};

/// The zone file every DNS server starts from: SOA, NS and the name server's address, then
/// `extra` (one record per line, e.g. foreign records a test checks survive).
pub fn zone_file(extra: &[String]) -> String {
    let mut z = format!(
        "$ORIGIN {ZONE}.\n$TTL 300\n@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 60\n@ IN NS ns.{ZONE}.\nns IN A 127.0.0.1\n"
    );
    for l in extra {
        z.push_str(l);
        z.push('\n');
    }
    z
}

/// The provider configuration (YAML) for [`ZONE`] on the RFC 2136 server at `server`
/// (`host:port`), signing with TSIG key [`KEY_NAME`] (hmac-sha256) and the base64 `secret`.
pub fn rfc2136_yaml(server: &str, secret: &str) -> String {
    rfc2136_yaml_with_key(server, KEY_NAME, secret)
}

/// [`rfc2136_yaml`] signing with the key `key` (hmac-sha256) instead of [`KEY_NAME`].
pub fn rfc2136_yaml_with_key(server: &str, key: &str, secret: &str) -> String {
    format!(
        "zone: {ZONE}\nprovider:\n  kind: rfc2136\n  server: {server}\n  tsig: {{name: {key}, algorithm: hmac-sha256, secret: \"{secret}\"}}\n"
    )
}
