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

/// Records that a request met an unavailable database; warns only when this starts an outage.
pub fn unavailable(error: &dyn std::fmt::Display) {
    let now = now_ms();
    let before = LAST_FAILURE_MS.swap(now, Ordering::Relaxed);
    if now.saturating_sub(before) > QUIET_MS {
        tracing::warn!(error = %error, "database unavailable: answering 503 with Retry-After until it is back");
    } else {
        tracing::debug!(error = %error, "database still unavailable");
    }
}

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u64 = 2;
