//! What the REST backends share about HTTP: PowerDNS over reqwest, Cloud DNS through Google's
//! client library (which reads answers itself).
//!
//! - this file: what an error status means, `Retry-After`, the detail of an error answer, a
//!   call that got no answer, and the TLS crypto provider;
//! - `body.rs`: reading a reqwest answer with a cap on its size, as JSON or as an error's text.

#[cfg(feature = "powerdns")]
pub(crate) mod body;

use std::time::Duration;

use crate::error::ProviderError;

/// What an HTTP error status means, the same for every REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// 401 or 403: the credentials were refused, or lack a permission.
    Unauthorized,
    /// 404: what the path names does not exist.
    NotFound,
    /// 429: too many requests.
    Throttled,
    /// Another 4xx: the API refused the request.
    ClientError,
    /// 5xx: the server failed.
    ServerError,
    /// Anything else.
    Other,
}

impl StatusClass {
    /// The class of `status`.
    pub(crate) fn of(status: u16) -> Self {
        match status {
            401 | 403 => StatusClass::Unauthorized,
            404 => StatusClass::NotFound,
            429 => StatusClass::Throttled,
            400..=499 => StatusClass::ClientError,
            500..=599 => StatusClass::ServerError,
            _ => StatusClass::Other,
        }
    }

    /// The error of this class saying `message`: `Unauthorized`, `Throttled` (after
    /// `retry_after`), `Unavailable` for a server error, `Invalid` for another client error,
    /// `Other` for anything else.
    pub(crate) fn error(
        self,
        provider: &str,
        retry_after: Option<Duration>,
        message: String,
    ) -> ProviderError {
        match self {
            StatusClass::Unauthorized => ProviderError::unauthorized(provider, message),
            StatusClass::Throttled => ProviderError::Throttled {
                provider: provider.to_owned(),
                retry_after,
                message,
            },
            StatusClass::ServerError => ProviderError::unavailable(provider, message),
            StatusClass::NotFound | StatusClass::ClientError => {
                ProviderError::invalid(provider, message)
            }
            StatusClass::Other => ProviderError::other(provider, message),
        }
    }
}

/// The wait a `Retry-After` header asks for, when it gives seconds.
pub(crate) fn retry_after(header: Option<&str>) -> Option<Duration> {
    header
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The detail of an error answer whose body is no document the backend knows: its first 200
/// characters.
pub(crate) fn body_detail(body: &str) -> String {
    body.trim().chars().take(200).collect()
}

/// The error of call `what` that got no answer: it ran out of time, or could not connect
/// (`None` when neither). Retryable.
pub(crate) fn no_answer(
    provider: &str,
    what: &str,
    timed_out: bool,
    connect_failed: bool,
) -> Option<ProviderError> {
    let cause = if timed_out {
        "no answer in time"
    } else if connect_failed {
        "cannot connect to the API"
    } else {
        return None;
    };
    Some(ProviderError::unavailable(
        provider,
        format!("{what}: {cause}"),
    ))
}

/// Installs ring as the process's TLS crypto provider, once: the HTTP clients are built
/// without one of their own (service-account keys are signed with it too).
pub(crate) fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_their_errors() {
        let kind = |status| {
            let e = StatusClass::of(status).error("p", Some(Duration::from_secs(3)), "m".into());
            (e.is_retryable(), e.retry_after(), e.to_string())
        };
        assert_eq!(kind(401), (false, None, "p: unauthorized: m".into()));
        assert_eq!(kind(403), (false, None, "p: unauthorized: m".into()));
        assert_eq!(
            kind(429),
            (true, Some(Duration::from_secs(3)), "p: throttled: m".into())
        );
        assert_eq!(kind(503), (true, None, "p: unavailable: m".into()));
        assert_eq!(kind(404), (false, None, "p: invalid: m".into()));
        assert_eq!(kind(400), (false, None, "p: invalid: m".into()));
        assert_eq!(kind(302), (false, None, "p: m".into()));
        assert_eq!(retry_after(Some(" 7 ")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(body_detail(&format!("  {}", "x".repeat(300))).len(), 200);
    }
}
