//! What `ensure_service` and `delete_service` did.

/// The result of propagating a service to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnsureOutcome {
    /// The service did not exist and was created.
    Created,
    /// A service of the same name that fedsvc did not manage was taken over and made to
    /// conform.
    Adopted,
    /// Our service existed and was changed to conform.
    Updated,
    /// Our service already conformed; nothing was written.
    Unchanged,
}

impl EnsureOutcome {
    /// Whether anything was written to the member.
    #[must_use]
    pub fn changed(self) -> bool {
        !matches!(self, Self::Unchanged)
    }
}

/// The result of removing a service from a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteOutcome {
    /// Our service was deleted.
    Deleted,
    /// There was no such service (of ours: a member that watches its services may answer
    /// this without looking for a same-name service that is not ours).
    NotFound,
    /// A service of that name exists but fedsvc does not manage it; it was left alone.
    NotManaged,
}
