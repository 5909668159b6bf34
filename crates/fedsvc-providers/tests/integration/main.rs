//! Integration tests: one conformance suite, run against every backend (the real servers are
//! started by `fedsvc-test-support`).

mod conformance;
mod support;

#[cfg(feature = "clouddns")]
mod clouddns;
#[cfg(feature = "powerdns")]
mod http_limits;
#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "powerdns")]
mod powerdns;
#[cfg(feature = "rfc2136")]
mod rfc2136;
#[cfg(feature = "route53")]
mod route53;
