//! The lab's clock. With `--time-scale S` every lifecycle delay is S times
//! its real length, so the times the lab shows must run 1/S times as fast
//! for the two to agree: a deletion that started "15 minutes ago" on the
//! lab's clock is one the lab's force-delete rule accepts. Every time the
//! lab writes (object timestamps, events, the `Date` header) comes from
//! here, which lets a client measure ages on Palette's clock exactly as it
//! would against real Palette, with no switch of its own.
//!
//! Lab time = start + (wall clock - start) / S, with start the wall clock
//! when the lab started. Instants before the start (kept in a data file by
//! an earlier run) stretch backwards the same way, so the time the lab was
//! down counts scaled too, and every comparison within one run agrees.

use std::time::{SystemTime, UNIX_EPOCH};

/// A scale below this is treated as this: "0" means "as fast as
/// possible", not a clock that jumps to infinity.
const MIN_SCALE: f64 = 1e-6;

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Wall clock at the lab's start, in milliseconds since the epoch.
    start_ms: u64,
    /// Lab milliseconds per wall-clock millisecond (1 / time scale).
    speed: f64,
}

impl Default for Clock {
    /// Real time.
    fn default() -> Self {
        Clock::new(1.0)
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn wall_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

impl Clock {
    /// A clock starting now at `time_scale` (see the module docs).
    pub fn new(time_scale: f64) -> Clock {
        let scale = if time_scale.is_finite() {
            time_scale.max(MIN_SCALE)
        } else {
            1.0
        };
        Clock {
            start_ms: wall_millis(),
            speed: 1.0 / scale,
        }
    }

    /// Lab time, in milliseconds since the epoch, of a wall-clock instant.
    pub fn at(&self, wall_ms: u64) -> i64 {
        let offset = wall_ms as f64 - self.start_ms as f64;
        self.start_ms as i64 + (offset * self.speed) as i64
    }

    /// Lab milliseconds between two wall-clock instants (none when `to` is
    /// earlier, as after a wall clock set back).
    pub fn elapsed(&self, from_wall_ms: u64, to_wall_ms: u64) -> u64 {
        (self.at(to_wall_ms) - self.at(from_wall_ms)).max(0) as u64
    }

    /// RFC 3339 in UTC, to the second, of a wall-clock instant: the form
    /// of Palette's `metadata` timestamps.
    pub fn rfc3339(&self, wall_ms: u64) -> String {
        timestamp(self.at(wall_ms)).to_string()
    }

    /// [`Clock::rfc3339`] of now.
    pub fn now(&self) -> String {
        self.rfc3339(wall_millis())
    }

    /// Now as an HTTP date (the `Date` header, RFC 9110).
    pub fn http_date(&self) -> String {
        jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&timestamp(self.at(wall_millis())))
            .unwrap_or_default()
    }
}

/// Whole seconds, clamped into what a timestamp can hold (a tiny time
/// scale run for a long time would otherwise leave the calendar).
fn timestamp(ms: i64) -> jiff::Timestamp {
    let secs = ms.div_euclid(1000).clamp(
        jiff::Timestamp::MIN.as_second(),
        jiff::Timestamp::MAX.as_second(),
    );
    jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_is_the_wall_clock() {
        let c = Clock::new(1.0);
        let w = wall_millis();
        assert!((c.at(w) - w as i64).abs() < 5);
        assert_eq!(c.elapsed(w, w + 60_000), 60_000);
    }

    #[test]
    fn a_scaled_clock_runs_fast_both_ways_from_its_start() {
        let c = Clock {
            start_ms: 1_000_000,
            speed: 1000.0,
        };
        // 0.9 s of wall clock is 15 lab minutes at time scale 0.001.
        assert_eq!(c.elapsed(1_000_000, 1_000_900), 900_000);
        assert_eq!(c.at(999_000), 1_000_000 - 1_000_000);
        assert_eq!(c.elapsed(1_000_900, 1_000_000), 0);
    }

    #[test]
    fn times_print_as_palette_and_http_write_them() {
        let c = Clock {
            start_ms: 1_796_196_146_000,
            speed: 1.0,
        };
        assert_eq!(c.rfc3339(1_796_196_146_700), "2026-12-02T07:22:26Z");
        let d = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&timestamp(c.at(1_796_196_146_000)))
            .unwrap();
        assert_eq!(d, "Wed, 02 Dec 2026 07:22:26 GMT");
    }

    #[test]
    fn a_zero_scale_is_fast_not_infinite() {
        let c = Clock::new(0.0);
        let w = wall_millis();
        assert!(c.elapsed(w, w + 1) >= 1000);
        assert!(!c.rfc3339(w + 3_600_000).is_empty());
    }
}
