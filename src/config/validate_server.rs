//! Checks of the server's connection limits and of values that may carry credentials.

use super::load::Problem;
use super::sections::Config;

/// Problems with the timeouts and stream caps, by key.
pub fn validate_limits(config: &Config) -> Vec<Problem> {
    let s = &config.server;
    let mut p = Vec::new();
    for (key, value) in [
        ("server.header_timeout_secs", s.header_timeout_secs as usize),
        ("server.max_streams", s.max_streams),
        ("server.max_streams_per_client", s.max_streams_per_client),
    ] {
        if value == 0 {
            p.push(Problem {
                key: key.into(),
                message: "must be greater than 0".into(),
            });
        }
    }
    // Live streams send a keep-alive comment every 15 s: a shorter idle timeout would cut them.
    if s.idle_timeout_secs < 20 {
        p.push(Problem {
            key: "server.idle_timeout_secs".into(),
            message: "must be at least 20 (live streams are quiet for up to 15 s)".into(),
        });
    }
    if s.idle_timeout_secs < s.request_timeout_secs {
        p.push(Problem {
            key: "server.idle_timeout_secs".into(),
            message: format!(
                "must be at least server.request_timeout_secs ({}): a slow request would be cut",
                s.request_timeout_secs
            ),
        });
    }
    p
}

/// A URL with its user-info's password replaced by `***`, to name it in a problem.
pub fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = url[scheme + 3..at].split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_and_passwords_hidden() {
        let mut c = Config::default();
        assert!(validate_limits(&c).is_empty());
        c.server.idle_timeout_secs = 5;
        c.server.max_streams = 0;
        let keys: Vec<String> = validate_limits(&c).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "server.max_streams",
                "server.idle_timeout_secs",
                "server.idle_timeout_secs"
            ]
        );
        assert_eq!(without_password("mysql://u:pw@h/db"), "mysql://u:***@h/db");
        assert_eq!(without_password("mysql://x"), "mysql://x");
    }
}
