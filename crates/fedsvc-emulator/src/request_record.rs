//! What the emulator records of each request it serves.

/// One request the emulator received, for assertions in tests (for example, how many times a
/// client re-listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The HTTP method (`GET`, `PATCH`, …).
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (empty when there is none).
    pub query: String,
}

impl RequestRecord {
    /// Whether this is a watch request (`?watch=true` or `?watch=1`).
    #[must_use]
    pub fn is_watch(&self) -> bool {
        form_urlencoded::parse(self.query.as_bytes())
            .any(|(k, v)| k == "watch" && (v == "true" || v == "1"))
    }

    /// Whether this is a list (a GET of a collection that is not a watch) of `plural`.
    #[must_use]
    pub fn is_list_of(&self, plural: &str) -> bool {
        self.method == "GET" && !self.is_watch() && self.path.ends_with(&format!("/{plural}"))
    }
}
