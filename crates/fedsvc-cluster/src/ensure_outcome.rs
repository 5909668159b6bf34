//! What `ensure_service`, `delete_service` and the other `ensure_…` and `delete_…` calls did.

/// The result of propagating a service (or a Deployment, ConfigMap or Secret) to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnsureOutcome {
    /// The object did not exist and was created.
    Created,
    /// An object of the same name that fedsvc did not manage was taken over and made to
    /// conform.
    Adopted,
    /// Our copy existed and was changed to conform.
    Updated,
    /// Our copy already conformed; nothing was changed.
    Unchanged,
}

impl EnsureOutcome {
    /// Whether anything was written to the member.
    #[must_use]
    pub fn changed(self) -> bool {
        !matches!(self, Self::Unchanged)
    }
}

/// The result of removing a service (or a Deployment, ConfigMap or Secret) from a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteOutcome {
    /// Our copy was deleted.
    Deleted,
    /// There was no such object (of ours: a member that watches its services may answer
    /// this without looking for a same-name service that is not ours).
    NotFound,
    /// An object of that name exists but fedsvc does not manage it; it was left alone.
    NotManaged,
}
