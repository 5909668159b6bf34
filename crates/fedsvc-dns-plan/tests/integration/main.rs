//! Integration tests of fedsvc-dns-plan, one module per topic.

mod diff;
mod fixtures;
mod guide;
mod local;
mod props;
mod regressions;
mod resolve;
mod scenarios;

#[path = "../common/generator.rs"]
#[allow(dead_code)]
mod generator;
