//! DNS providers for fedsvc.
//!
//! This crate will hold the `DnsProvider` trait (list a managed zone, apply a batch of change
//! groups atomically where the backend allows, state its limits, and say whether an error can be
//! retried), the ownership and retry layers that wrap any provider, and one backend per cargo
//! feature: `memory`, `rfc2136`, `powerdns`, `route53` and `clouddns`.
//!
//! It holds nothing yet: no provider can be used from it.
