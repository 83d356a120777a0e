//! Palette's request rate per tenant: past it, Palette answers 429 with a
//! `Retry-After`. Off by default; `--rate-limit N` or `POST /lab/rate-limit
//! {"per_second": N, "burst": B}` turns it on (`DELETE` turns it off, `GET`
//! says how many requests were throttled). The lab serves one tenant, so
//! one token bucket holds every /v1 request, whatever its key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Bucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct Throttle {
    bucket: Mutex<Option<Bucket>>,
    throttled: AtomicU64,
}

impl Throttle {
    /// `per_second` requests a second with bursts of `burst`; `None`: no
    /// limit.
    pub fn set(&self, limit: Option<(f64, f64)>) {
        *self.bucket.lock().expect("throttle lock") = limit.map(|(per_second, burst)| Bucket {
            per_second,
            burst: burst.max(1.0),
            tokens: burst.max(1.0),
            last: Instant::now(),
        });
    }

    /// The limit in force, as (per second, burst).
    pub fn limit(&self) -> Option<(f64, f64)> {
        self.bucket
            .lock()
            .expect("throttle lock")
            .as_ref()
            .map(|b| (b.per_second, b.burst))
    }

    /// Takes a token at `now`; when there is none, how long until there is.
    pub fn take(&self, now: Instant) -> Option<Duration> {
        let mut guard = self.bucket.lock().expect("throttle lock");
        let b = guard.as_mut()?;
        let refill = now.saturating_duration_since(b.last).as_secs_f64() * b.per_second;
        b.tokens = (b.tokens + refill).min(b.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return None;
        }
        self.throttled.fetch_add(1, Ordering::Relaxed);
        Some(Duration::from_secs_f64(
            (1.0 - b.tokens) / b.per_second.max(f64::MIN_POSITIVE),
        ))
    }

    /// Requests answered 429 since the lab started.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

/// `Retry-After` in whole seconds, at least one, as Palette sends it.
pub fn retry_after(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds_and_retry_after_says_when() {
        let t = Throttle::default();
        let start = Instant::now();
        assert_eq!(t.take(start), None, "no limit, no throttling");
        t.set(Some((2.0, 3.0)));
        for _ in 0..3 {
            assert_eq!(t.take(start), None);
        }
        let wait = t.take(start).expect("the burst is spent");
        assert_eq!(retry_after(wait), 1);
        assert_eq!(t.throttled(), 1);
        // Half a second later, one more token at two a second.
        assert_eq!(t.take(start + Duration::from_millis(500)), None);
        assert!(t.take(start + Duration::from_millis(500)).is_some());
        t.set(None);
        assert_eq!(t.take(start), None);
        assert_eq!(t.limit(), None);
    }
}
