//! What the REST backends share about HTTP.
//!
//! - `body.rs`: reading an answer's body with a cap on its size.

#[cfg(feature = "powerdns")]
pub(crate) mod body;
