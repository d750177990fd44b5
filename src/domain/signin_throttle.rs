//! The back-off of failed password sign-ins: free attempts, then an exponentially growing wait.

use chrono::Duration;

/// Failed sign-ins (per account, per client address) allowed before the back-off starts.
pub const FREE_FAILURES: i64 = 5;
/// The wait after the first failure beyond the free ones; each further failure doubles it.
pub const FIRST_BACKOFF_SECS: i64 = 2;
/// The longest wait.
pub const MAX_BACKOFF_SECS: i64 = 15 * 60;
/// A count with no failure for this long starts again from zero.
pub const FORGET_AFTER_SECS: i64 = 60 * 60;

/// How long sign-in stays refused after the `failures`-th failure in a row (none while free).
pub fn backoff(failures: i64) -> Option<Duration> {
    let beyond = failures - FREE_FAILURES;
    if beyond <= 0 {
        return None;
    }
    let doublings = u32::try_from(beyond - 1).unwrap_or(u32::MAX).min(20);
    let secs = FIRST_BACKOFF_SECS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_BACKOFF_SECS);
    Some(Duration::seconds(secs))
}

/// The throttle keys of a sign-in: the account name, and the client address when known.
pub fn keys(account: &str, client: Option<std::net::IpAddr>) -> Vec<String> {
    let account: String = account.chars().take(200).collect();
    let mut keys = vec![format!("account:{account}")];
    keys.extend(client.map(|ip| format!("addr:{ip}")));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_free_failures_then_doubling_up_to_the_cap() {
        for n in 0..=FREE_FAILURES {
            assert_eq!(backoff(n), None, "{n}");
        }
        assert_eq!(backoff(6), Some(Duration::seconds(2)));
        assert_eq!(backoff(7), Some(Duration::seconds(4)));
        assert_eq!(backoff(8), Some(Duration::seconds(8)));
        assert_eq!(backoff(15), Some(Duration::seconds(MAX_BACKOFF_SECS)));
        assert_eq!(backoff(10_000), Some(Duration::seconds(MAX_BACKOFF_SECS)));
    }

    #[test]
    fn keys_name_the_account_and_the_address() {
        let ip = "203.0.113.9".parse().ok();
        assert_eq!(keys("dana", ip), ["account:dana", "addr:203.0.113.9"]);
        assert_eq!(keys("dana", None), ["account:dana"]);
    }
}
