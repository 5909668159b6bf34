//! Secrets in the configuration: the [`Secret`] type, reading one from a file, and keeping
//! secrets and the passwords of URLs out of messages.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::error::{ConfigError, read_file};

/// A secret value read from the configuration; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads a secret from a file, without the white space around it.
pub(crate) fn read_secret_file(path: &Path) -> Result<String, ConfigError> {
    read_file(path).map(|s| s.trim().to_owned())
}

/// Whether `key` names a secret (compared without case, `-` and `_`).
fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEYS.contains(&key.as_str())
}

/// Every scalar under a secret key of `settings` (all of them when `inside` one).
pub(crate) fn secret_leaves(
    settings: &serde_json::Map<String, serde_json::Value>,
    inside: bool,
    out: &mut Vec<String>,
) {
    fn leaves(value: &serde_json::Value, inside: bool, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => secret_leaves(map, inside, out),
            serde_json::Value::Array(items) => {
                for item in items {
                    leaves(item, inside, out);
                }
            }
            serde_json::Value::String(s) if inside => out.push(s.clone()),
            serde_json::Value::Number(n) if inside => out.push(n.to_string()),
            _ => {}
        }
    }
    for (key, value) in settings {
        leaves(value, inside || is_secret_key(key), out);
    }
}

/// Keys whose values are secrets (compared without case, `-` and `_`).
const SECRET_KEYS: [&str; 9] = [
    "secret",
    "apikey",
    "password",
    "token",
    "privatekey",
    "accesskey",
    "secretaccesskey",
    "credentials",
    "tsig",
];

/// Secret values shorter than this are not masked: masking one or two characters would
/// garble the message without hiding anything worth hiding.
const MIN_MASKED_LEN: usize = 4;

/// `message` with every secret found in the configuration `text` replaced by `***`: the
/// values of secret keys (`secret`, `apiKey`, `password`, `token`, `privateKey`,
/// `credentials`, and a `tsig` written as one value) in block or flow style, and the
/// `user:password` of URLs. Used for every parse error of a provider configuration, so that
/// a mistyped file never puts its secrets into a terminal or a log.
pub(crate) fn mask_secrets(text: &str, message: &str) -> String {
    let mut values: Vec<&str> = Vec::new();
    for line in text.lines() {
        let bytes = line.as_bytes();
        let mut at = 0;
        while let Some(colon) = line[at..].find(':').map(|i| i + at) {
            at = colon + 1;
            // The key before the colon: the word that ends there.
            let before = line[..colon].trim_end();
            let key_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map_or(0, |i| i + 1);
            if !is_secret_key(&before[key_start..]) {
                continue;
            }
            if bytes
                .get(colon + 1)
                .is_some_and(|b| !b.is_ascii_whitespace())
            {
                continue; // `a:b` is not a key
            }
            let rest = line[colon + 1..].trim_start();
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &rest[1..];
                    inner.find(q).map_or(inner, |end| &inner[..end])
                }
                Some('{' | '[' | '|' | '>' | '#') | None => continue,
                Some(_) => {
                    let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
                    let value = &rest[..end];
                    value.split(" #").next().unwrap_or(value).trim()
                }
            };
            values.push(value);
        }
    }
    mask_values(message, values)
}

/// `message` with each of `values` (at least [`MIN_MASKED_LEN`] long), as it is or escaped,
/// and the user information of URLs replaced by `***`.
pub(crate) fn mask_values<S: AsRef<str>>(message: &str, mut values: Vec<S>) -> String {
    let mut out = strip_userinfo(message);
    values.sort_by_key(|v| std::cmp::Reverse(v.as_ref().len()));
    for value in &values {
        let value = value.as_ref();
        if value.len() >= MIN_MASKED_LEN {
            out = out.replace(value, "***");
            let quoted = format!("{value:?}");
            let quoted = &quoted[1..quoted.len() - 1];
            if quoted != value {
                out = out.replace(quoted, "***");
            }
        }
    }
    out
}

/// `text` with the user information of every URL in it (`http://user:password@host`)
/// replaced by `***`, so that a URL can be shown in an error or a log.
pub(crate) fn strip_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"' || c == '\''
            })
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("***@");
                rest = &tail[at + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}
