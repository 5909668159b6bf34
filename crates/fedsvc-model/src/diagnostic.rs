//! Diagnostics: problems with one part of the input that do not stop the rest.

use std::fmt;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Something was ignored or assumed; the output is still complete.
    Warning,
    /// Part of the input was refused; the output lacks what it would have produced.
    Error,
}

/// A problem with one object of the input (a cluster, a service, a shard), reported while the
/// rest is still processed.
///
/// `subject` names the object (`services[2] (shop/web)`, `clusters[0] (gce-us-east1-b)`), and
/// `message` says what is wrong with which field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// The object at fault.
    pub subject: String,
    /// What is wrong, naming the field.
    pub message: String,
}

impl Diagnostic {
    /// An error about `subject`.
    pub fn error(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            subject: subject.into(),
            message: message.into(),
        }
    }

    /// A warning about `subject`.
    pub fn warning(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            subject: subject.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}: {}: {}", self.subject, self.message)
    }
}
