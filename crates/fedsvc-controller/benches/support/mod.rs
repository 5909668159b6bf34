//! What the controller's benchmarks share.

/// The whole number in environment variable `name`, or `default` when it is unset; a value
/// that is not a whole number stops the benchmark with a message naming the variable.
pub(crate) fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}
