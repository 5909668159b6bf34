//! Test support: the Cloud DNS fake. (The real servers come from `fedsvc-test-support`.)

#[cfg(feature = "clouddns")]
pub(crate) mod clouddns_fake;
