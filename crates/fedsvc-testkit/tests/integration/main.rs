//! Integration tests of the API server emulator through kube-rs and plain HTTP.

mod crud;
mod http;
mod kubectl;
mod offline;
mod watch;
