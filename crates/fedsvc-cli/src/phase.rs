//! Timing of a command's phases, for benchmarks: with `FEDSVC_TIMINGS=1` in the environment,
//! each phase prints `fedsvc: time: PHASE S.SSS s` on standard error when it ends.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FEDSVC_TIMINGS").is_some_and(|v| v == "1"))
}

/// A running phase; it reports when dropped.
pub(crate) struct Timer {
    phase: &'static str,
    start: Option<Instant>,
}

impl Timer {
    /// Starts timing `phase` (does nothing unless `FEDSVC_TIMINGS=1`).
    pub(crate) fn start(phase: &'static str) -> Self {
        Self {
            phase,
            start: enabled().then(Instant::now),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(start) = self.start {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "fedsvc: time: {} {:.3} s",
                self.phase,
                start.elapsed().as_secs_f64()
            );
        }
    }
}
