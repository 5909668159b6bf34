//! Handing memory freed after a burst back to the system.
//!
//! glibc's allocator returns freed memory to the system only from the top of its heap. After a
//! burst (a zone listed, thousands of services reconciled at start), the pages freed below
//! memory still in use stay resident: the controller's RSS stays at the burst's level although
//! its heap is smaller. Measured at 10 000 services × 20 clusters, a restarted controller held
//! 373 MiB of which 318 MiB in use; `malloc_trim(0)` brought it to 337 MiB. The controller
//! trims its heap once a burst of work is over, and at least once a minute ([`run`]); with
//! other allocators this does nothing. (The `fedsvc-controller` binary allocates with jemalloc
//! by default, feature `jemalloc`, whose background thread does this on its own.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How often the heap is trimmed at least.
pub(crate) const TRIM_PERIOD: Duration = Duration::from_secs(60);

/// How often [`run`] looks at the work done.
pub(crate) const CHECK_PERIOD: Duration = Duration::from_secs(5);

/// Units of work (services reconciled or planned) that make a burst worth trimming after.
pub(crate) const BURST: u64 = 1000;

/// A count of the work the controller's tasks did (services reconciled, services planned),
/// shared by them: [`run`] trims the heap as soon as a burst of it is over.
#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<AtomicU64>);

impl Activity {
    /// Counts `units` of work done.
    pub fn note(&self, units: u64) {
        self.0.fetch_add(units, Ordering::Relaxed);
    }

    fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// When to trim, from the work counted at each check.
#[derive(Debug)]
struct Schedule {
    /// The count at the last check.
    seen: u64,
    /// Work done since the last trim.
    pending: u64,
    last_trim: Instant,
}

impl Schedule {
    fn new(now: Instant) -> Self {
        Schedule {
            seen: 0,
            pending: 0,
            last_trim: now,
        }
    }

    /// Whether to trim at this check: after a burst of at least [`BURST`] units, at the
    /// first check that finds no new work (the burst is over); otherwise once a period.
    fn check(&mut self, total: u64, now: Instant, period: Duration) -> bool {
        let new = total.saturating_sub(self.seen);
        self.seen = total;
        let burst_over = new == 0 && self.pending >= BURST;
        self.pending = self.pending.saturating_add(new);
        if burst_over || now.duration_since(self.last_trim) >= period {
            self.pending = 0;
            self.last_trim = now;
            return true;
        }
        false
    }
}

/// Asks the allocator to return its free pages to the system; returns whether it returned
/// any. Only glibc on Linux has such a call; elsewhere this does nothing and returns `false`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn release_free_memory() -> bool {
    // SAFETY: `malloc_trim` takes no pointer and has no precondition; glibc locks each arena
    // while it walks it, so it is safe to call while other threads allocate.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Asks the allocator to return its free pages to the system; returns whether it returned
/// any. Only glibc on Linux has such a call; elsewhere this does nothing and returns `false`.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() -> bool {
    false
}

/// Trims the heap when a burst of `activity` is over, and at least every `period` (on a
/// blocking thread: walking a large heap takes a few milliseconds), until `shutdown` turns
/// true.
pub(crate) async fn run(activity: Activity, period: Duration, mut shutdown: watch::Receiver<bool>) {
    let check = CHECK_PERIOD.min(period);
    let mut tick = tokio::time::interval_at(Instant::now() + check, check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut schedule = Schedule::new(Instant::now());
    loop {
        if *shutdown.borrow() {
            return;
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tick.tick() => {
                if schedule.check(activity.total(), Instant::now(), period) {
                    let released = tokio::task::spawn_blocking(release_free_memory)
                        .await
                        .unwrap_or(false);
                    tracing::trace!(released, "heap trimmed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trims_until_shutdown() {
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(run(Activity::default(), Duration::from_millis(10), rx));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!task.is_finished());
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("stops at shutdown")
            .unwrap();
    }

    #[test]
    fn trims_once_a_burst_is_over_and_once_a_period_otherwise() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let period = Duration::from_secs(60);
        let mut s = Schedule::new(t0);
        // A burst, still going at each check: no trim yet.
        assert!(!s.check(600, at(5), period));
        assert!(!s.check(1500, at(10), period));
        // Over: trimmed at the first quiet check, and not again at the next.
        assert!(s.check(1500, at(15), period));
        assert!(!s.check(1500, at(20), period));
        // A little work does not make a burst; the period still trims.
        assert!(!s.check(1510, at(25), period));
        assert!(!s.check(1510, at(30), period));
        assert!(!s.check(1520, at(74), period));
        assert!(s.check(1520, at(75), period));
        assert!(!s.check(1520, at(80), period));
    }

    #[test]
    fn freed_memory_can_be_released() {
        // Many small blocks, nine in ten freed: whole pages below blocks still in use, which
        // glibc keeps until trimmed.
        let mut blocks: Vec<Vec<u8>> = (0..20_000u32).map(|i| vec![i as u8; 4000]).collect();
        let mut i = 0;
        blocks.retain(|_| {
            i += 1;
            i % 10 == 0
        });
        let released = release_free_memory();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(released, "glibc had free pages to return");
        } else {
            assert!(!released);
        }
        drop(blocks);
    }
}
