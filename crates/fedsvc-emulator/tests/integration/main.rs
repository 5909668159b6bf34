//! Integration tests of the API server emulator through kube-rs, plain HTTP and kubectl.

mod crud;
mod http;
mod kubectl;
mod offline;
mod protobuf;
mod watch;
