//! Integration tests of fedsvc-local-dns: a running responder asked over the wire.

mod binary;
mod member;
mod static_source;
mod upstream;
mod util;
