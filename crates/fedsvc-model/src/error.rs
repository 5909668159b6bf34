//! Errors of the model: what is wrong, and where.

use thiserror::Error;

/// A value that failed validation.
///
/// The message names the offending value and why it was refused; callers wrap it in a
/// [`FieldError`] (or a [`SnapshotError`]) to say where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NameError {
    /// The value is empty.
    #[error("{kind} must not be empty")]
    Empty {
        /// What kind of value was expected (for example "DNS label").
        kind: &'static str,
    },
    /// The value is longer than allowed.
    #[error("{kind} {value:?} is {len} octets long; the limit is {max}")]
    TooLong {
        /// What kind of value was expected.
        kind: &'static str,
        /// The value as given.
        value: String,
        /// Its length in octets.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The value holds a character that is not allowed, or one in the wrong place.
    #[error("{kind} {value:?} is invalid: {reason}")]
    Invalid {
        /// What kind of value was expected.
        kind: &'static str,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
}

/// A validation error together with the path of the field at fault.
///
/// Displays as `path: message`, for example
/// `services[2] (shop/web): shards[0].addresses[1]: "10.0.0" is not an IP address`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Where the error is, for example `services[2] (shop/web): shards[0].addresses[1]`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// An error at `path` with `message`.
    pub fn new(path: impl Into<String>, message: impl ToString) -> Self {
        Self {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// An error that makes a whole snapshot unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The document is not valid YAML or JSON, or does not have the snapshot's shape.
    #[error("cannot parse snapshot: {0}")]
    Parse(String),
    /// A top-level field (federation, dnsSuffix, ttl, …) is invalid.
    #[error("invalid snapshot: {0}")]
    Field(#[from] FieldError),
}
