//! Test infrastructure for fedsvc (not published).
//!
//! This crate will hold a Kubernetes API server emulator that kube-rs and `kubectl` can talk
//! to, and helpers that start real DNS servers (BIND, Knot, PowerDNS) and moto on loopback.
//!
//! It holds nothing yet.
