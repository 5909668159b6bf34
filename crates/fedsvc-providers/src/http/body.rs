//! Reading a reqwest answer with a cap on its size, so that a server streaming an endless or
//! oversized answer cannot make the process grow without bound; and the errors of a reqwest
//! call.

use crate::error::{ProviderError, bytes_in_words};
use crate::secret::strip_userinfo;

/// The most bytes of an error answer kept for its message.
pub(crate) const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Why a body could not be read.
#[derive(Debug)]
enum BodyError {
    /// The body is longer than the limit (said by `Content-Length`, or seen while reading).
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Reading failed.
    Transport(reqwest::Error),
}

/// The body of `response`, read as it arrives; at most `limit` bytes, more is
/// [`BodyError::TooLarge`] (the rest is not read).
async fn read_capped(mut response: reqwest::Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The text of an error answer: its first [`MAX_ERROR_BODY`] bytes at most.
pub(crate) async fn error_text(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = (MAX_ERROR_BODY as usize).saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() as u64 >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The error of call `what` of `provider` that failed before an answer was read whole:
/// retryable, naming the cause (never the URL's user information).
pub(crate) fn transport_error(provider: &str, what: &str, e: reqwest::Error) -> ProviderError {
    super::no_answer(provider, what, e.is_timeout(), e.is_connect()).unwrap_or_else(|| {
        let cause = strip_userinfo(&e.without_url().to_string());
        ProviderError::unavailable(provider, format!("{what}: {cause}"))
    })
}

/// The JSON document of the successful answer to call `what` of `provider`, read up to
/// `limit` bytes: a longer answer is an error naming the limit (`provider.maxResponseBytes`).
pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
    provider: &str,
    what: &str,
    response: reqwest::Response,
    limit: u64,
) -> Result<T, ProviderError> {
    let body = read_capped(response, limit).await.map_err(|e| match e {
        BodyError::TooLarge { limit } => ProviderError::invalid(
            provider,
            format!(
                "{what}: the answer is larger than {} (provider.maxResponseBytes); raise the limit if the zone is that large",
                bytes_in_words(limit)
            ),
        ),
        BodyError::Transport(e) => transport_error(provider, what, e),
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| ProviderError::other(provider, format!("{what}: unexpected answer: {e}")))
}
