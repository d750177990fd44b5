//! Database outages: one warning when an outage starts, not an ERROR line per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// An outage is over when no request has met an unavailable database for this long.
const QUIET_MS: u64 = 30_000;

/// When a request last met an unavailable database (ms since the epoch; 0 = never).
static LAST_FAILURE_MS: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Records that a request met an unavailable database; warns only when this starts an outage
/// (returns whether it did).
pub fn unavailable(error: &dyn std::fmt::Display) -> bool {
    starts_outage(&LAST_FAILURE_MS, now_ms(), error)
}

fn starts_outage(last: &AtomicU64, now: u64, error: &dyn std::fmt::Display) -> bool {
    let before = last.swap(now, Ordering::Relaxed);
    let starts = now.saturating_sub(before) > QUIET_MS;
    if starts {
        tracing::warn!(error = %error, "database unavailable: answering 503 with Retry-After until it is back");
    } else {
        tracing::debug!(error = %error, "database still unavailable");
    }
    starts
}

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u64 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_outage() {
        let last = AtomicU64::new(0);
        let t0 = 1_000_000_000;
        assert!(starts_outage(&last, t0, &"down"));
        assert!(!starts_outage(&last, t0 + 10, &"down"));
        assert!(!starts_outage(&last, t0 + 20_000, &"down"));
        assert!(!starts_outage(&last, t0 + 40_000, &"still down"));
        assert!(starts_outage(
            &last,
            t0 + 40_000 + QUIET_MS + 1,
            &"down again"
        ));
    }
}
