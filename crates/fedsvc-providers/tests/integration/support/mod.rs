//! Test support: real servers on loopback.

#[cfg(feature = "clouddns")]
pub(crate) mod clouddns_fake;
pub(crate) mod servers;
