//! Integration tests of the API server emulator through kube-rs and plain HTTP.

mod crud;
mod http;
mod offline;
mod watch;
