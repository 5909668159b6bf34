//! A token bucket limiting the request rate to one member's API server.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Allows `qps` requests per second on average and bursts of `burst`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A limiter; `qps <= 0` means no limit.
    pub(crate) fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            qps,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits for a token.
    pub(crate) async fn acquire(&self) {
        if self.qps <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(s.1).as_secs_f64() * self.qps;
                s.0 = (s.0 + refill).min(self.burst);
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.0) / self.qps)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bursts_then_paces() {
        let l = RateLimiter::new(10.0, 3);
        let start = Instant::now();
        for _ in 0..3 {
            l.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(100));
        l.acquire().await;
        l.acquire().await;
        let e = start.elapsed();
        assert!(e >= Duration::from_millis(150), "{e:?}");
    }

    #[tokio::test]
    async fn zero_qps_is_unlimited() {
        let l = RateLimiter::new(0.0, 1);
        let start = Instant::now();
        for _ in 0..1000 {
            l.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
