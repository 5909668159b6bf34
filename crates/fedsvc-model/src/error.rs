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

impl NameError {
    /// The message without the kind of value, for after a field's name, where the field says
    /// what the value is: `"My_Fed" is invalid: '_' is not allowed …` reads well after
    /// `federation: `, where `federation name "My_Fed" is invalid …` would repeat it.
    pub fn field_message(&self) -> String {
        match self {
            NameError::Empty { .. } => "must not be empty".to_owned(),
            NameError::TooLong {
                value, len, max, ..
            } => format!("{value:?} is {len} octets long; the limit is {max}"),
            NameError::Invalid { value, reason, .. } => format!("{value:?} is invalid: {reason}"),
        }
    }
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
    ///
    /// The message holds the field's error; it is not also the error's `source`, so that a
    /// report of the whole chain (`anyhow`'s `{:#}`) does not print it twice.
    #[error("invalid snapshot: {0}")]
    Field(FieldError),
}

impl From<FieldError> for SnapshotError {
    fn from(e: FieldError) -> Self {
        SnapshotError::Field(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_error_is_said_once() {
        let e = SnapshotError::from(FieldError::new("ttl", "5000000000 is too large"));
        assert_eq!(
            e.to_string(),
            "invalid snapshot: ttl: 5000000000 is too large"
        );
        // A chain report (message, then each source's) must not print the field's text again.
        assert!(std::error::Error::source(&e).is_none());
    }
}
