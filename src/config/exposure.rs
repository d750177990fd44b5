//! Safe defaults: a listen address off this host needs sign-in (or `server.insecure_open`), and every
//! `server.trusted_proxies` entry must be an address or CIDR.

use super::load::Problem;
use super::sections::Config;
use crate::http::peer::TrustedProxies;
use std::net::SocketAddr;

/// The problems of `server.listen` and `server.trusted_proxies`, by key.
pub fn problems(config: &Config) -> Vec<Problem> {
    let mut p: Vec<Problem> = config
        .server
        .trusted_proxies
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            TrustedProxies::parse(std::slice::from_ref(entry))
                .err()
                .map(|e| Problem {
                    key: format!("server.trusted_proxies[{i}]"),
                    message: e.to_string(),
                })
        })
        .collect();
    p.extend(open_listen(config));
    p
}

/// Why warroom must not listen where `server.listen` says, if it must not.
pub fn open_listen(config: &Config) -> Option<Problem> {
    let addr: SocketAddr = config.server.listen.parse().ok()?;
    if addr.ip().is_loopback() || config.auth.signin_configured() || config.server.insecure_open {
        return None;
    }
    Some(Problem {
        key: "server.listen".into(),
        message: format!(
            "`{addr}` is reachable from other hosts but no sign-in is configured: set auth.local_accounts = true \
             or auth.oidc.issuer (with auth.oidc.client_id and auth.oidc.client_secret), or set \
             server.insecure_open = true to let everyone who reaches it act; or listen on 127.0.0.1"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(c: &Config) -> Vec<String> {
        problems(c).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn off_host_listen_needs_signin_or_insecure_open() {
        let mut c = Config::default();
        assert!(keys(&c).is_empty(), "127.0.0.1 is fine");
        for open in ["0.0.0.0:8080", "[::]:8080", "192.168.1.20:8080"] {
            c.server.listen = open.into();
            assert_eq!(keys(&c), ["server.listen"], "{open}");
        }
        c.server.listen = "[::1]:8080".into();
        assert!(keys(&c).is_empty());
        c.server.listen = "0.0.0.0:8080".into();
        c.auth.local_accounts = true;
        assert!(keys(&c).is_empty());
        c.auth.local_accounts = false;
        c.auth.oidc.issuer = Some("https://id.example.com".into());
        assert!(keys(&c).is_empty());
        c.auth.oidc.issuer = None;
        c.server.insecure_open = true;
        assert!(keys(&c).is_empty());
    }

    #[test]
    fn bad_proxy_entries_are_named() {
        let mut c = Config::default();
        c.server.trusted_proxies = vec!["10.0.0.0/8".into(), "proxy.local".into(), "::1".into()];
        let p = problems(&c);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "server.trusted_proxies[1]");
        assert!(p[0].message.contains("`proxy.local`"), "{}", p[0].message);
    }
}
