//! How the process is observed and kept small: Prometheus metrics, the HTTP endpoints
//! (`/healthz`, `/readyz`, `/metrics`), and the trimming of the heap after bursts of work.

pub(crate) mod http;
pub(crate) mod memory;
pub(crate) mod metrics;
