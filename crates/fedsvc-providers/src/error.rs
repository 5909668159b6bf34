//! The errors of providers and of their configuration, and the pieces of their messages
//! that several backends make alike.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// Why a provider call failed.
///
/// Every message names the provider (as [`DnsProvider::name`](crate::DnsProvider::name)
/// returns it) and the cause in words, for example
/// `rfc2136 127.0.0.1:15353: unauthorized: UPDATE: the server rejected TSIG key ddns-key (BADSIG):
/// wrong secret or algorithm`.
/// [`ProviderError::is_retryable`] tells whether trying the same call again later can help.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The backend asks us to slow down (HTTP 429, Route53 `Throttling`). Retryable.
    #[error("{provider}: throttled: {message}")]
    Throttled {
        /// The provider that answered.
        provider: String,
        /// How long the backend asked us to wait, if it said.
        retry_after: Option<Duration>,
        /// What the backend said.
        message: String,
    },
    /// The backend could not be reached, timed out, or failed on its side (connection refused,
    /// SERVFAIL, HTTP 5xx). Nothing was changed, or the backend rolled back. Retryable.
    #[error("{provider}: unavailable: {message}")]
    Unavailable {
        /// The provider that failed.
        provider: String,
        /// The cause.
        message: String,
    },
    /// The credentials were refused (bad TSIG key, API key, token) or do not allow this zone.
    #[error("{provider}: unauthorized: {message}")]
    Unauthorized {
        /// The provider that refused.
        provider: String,
        /// The cause.
        message: String,
    },
    /// The zone does not hold what the change expected (a record set to delete is absent, an
    /// update's old value does not match, a record set to create already exists). Listing
    /// again and re-planning resolves it; retrying the same change does not.
    #[error("{provider}: conflict: {message}")]
    Conflict {
        /// The provider that refused the change.
        provider: String,
        /// What did not match.
        message: String,
    },
    /// The change or the configuration is invalid (a CNAME beside other data, a name outside
    /// the zone, a zone the server does not serve, a malformed request).
    #[error("{provider}: invalid: {message}")]
    Invalid {
        /// The provider that refused.
        provider: String,
        /// What is invalid.
        message: String,
    },
    /// Anything else.
    #[error("{provider}: {message}")]
    Other {
        /// The provider that failed.
        provider: String,
        /// The cause.
        message: String,
    },
}

impl ProviderError {
    /// Whether the same call may succeed later: `Throttled` and `Unavailable`.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::Throttled { .. } | ProviderError::Unavailable { .. }
        )
    }

    /// How long the backend asked us to wait, for `Throttled`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The provider the error comes from.
    pub fn provider(&self) -> &str {
        match self {
            ProviderError::Throttled { provider, .. }
            | ProviderError::Unavailable { provider, .. }
            | ProviderError::Unauthorized { provider, .. }
            | ProviderError::Conflict { provider, .. }
            | ProviderError::Invalid { provider, .. }
            | ProviderError::Other { provider, .. } => provider,
        }
    }

    /// The cause, without the provider name.
    pub fn message(&self) -> &str {
        match self {
            ProviderError::Throttled { message, .. }
            | ProviderError::Unavailable { message, .. }
            | ProviderError::Unauthorized { message, .. }
            | ProviderError::Conflict { message, .. }
            | ProviderError::Invalid { message, .. }
            | ProviderError::Other { message, .. } => message,
        }
    }

    /// An [`Unavailable`](ProviderError::Unavailable) error.
    pub fn unavailable(provider: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError::Unavailable {
            provider: provider.into(),
            message: message.into(),
        }
    }

    /// An [`Unauthorized`](ProviderError::Unauthorized) error.
    pub fn unauthorized(provider: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError::Unauthorized {
            provider: provider.into(),
            message: message.into(),
        }
    }

    /// A [`Conflict`](ProviderError::Conflict) error.
    pub fn conflict(provider: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError::Conflict {
            provider: provider.into(),
            message: message.into(),
        }
    }

    /// An [`Invalid`](ProviderError::Invalid) error.
    pub fn invalid(provider: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError::Invalid {
            provider: provider.into(),
            message: message.into(),
        }
    }

    /// An [`Other`](ProviderError::Other) error.
    pub fn other(provider: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError::Other {
            provider: provider.into(),
            message: message.into(),
        }
    }
}

/// Why a configuration could not be read or turned into a provider.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The document is not valid YAML (or JSON) of the configuration's shape.
    #[error("cannot parse provider configuration: {0}")]
    Parse(String),
    /// A file named by the configuration (or the configuration itself) cannot be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// A field holds a value that cannot be used.
    #[error("provider configuration: {field}: {message}")]
    Invalid {
        /// The field, for example `provider.tsig.secret`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The provider kind is valid but was not compiled into this build.
    #[error(
        "provider kind {kind:?} is not available in this build: rebuild with cargo feature `{kind}` of fedsvc-providers"
    )]
    NotCompiled {
        /// The kind, which is also the name of the cargo feature.
        kind: String,
    },
    /// The backend could not be started (for example, the embedded server's port is taken).
    #[error("cannot start provider {kind}: {message}")]
    Start {
        /// The kind.
        kind: String,
        /// The cause.
        message: String,
    },
}

/// The text of the file at `path`, or [`ConfigError::Io`] naming it.
pub(crate) fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// An error and its sources, joined by `: ` into one line, each text once: a source whose
/// text an earlier one already holds is left out, and so is every `noise` phrase (boilerplate
/// a library repeats at each level).
#[cfg(any(feature = "route53", feature = "clouddns"))]
pub(crate) fn error_chain(e: &dyn std::error::Error, noise: &[&str]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let mut text = c.to_string();
        for phrase in noise {
            text = text.replace(phrase, "");
        }
        let text = text.trim().to_owned();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    parts.join(": ")
}

/// A size in bytes in words, for messages naming a limit: `2 GiB`, `64 MiB`, `1000 bytes`.
#[cfg(any(feature = "rfc2136", feature = "powerdns"))]
pub(crate) fn bytes_in_words(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_provider() {
        let e = ProviderError::unauthorized("rfc2136 127.0.0.1:53", "TSIG key k rejected (BADSIG)");
        assert_eq!(
            e.to_string(),
            "rfc2136 127.0.0.1:53: unauthorized: TSIG key k rejected (BADSIG)"
        );
        assert!(!e.is_retryable());
        assert!(ProviderError::unavailable("p", "down").is_retryable());
        let t = ProviderError::Throttled {
            provider: "p".into(),
            retry_after: Some(Duration::from_secs(2)),
            message: "slow down".into(),
        };
        assert!(t.is_retryable());
        assert_eq!(t.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(t.provider(), "p");
        assert_eq!(t.message(), "slow down");
    }
}
