//! Who the client is on the network: the socket peer, or the forwarded client when a trusted proxy relayed it.

use crate::config::ServerConfig;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The trusted proxies of `server.trusted_proxies`, parsed once.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

/// A `server.trusted_proxies` entry that is not an address or CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IP address or CIDR (`10.0.0.0/8`)")]
pub struct BadProxy(pub String);

impl TrustedProxies {
    /// Parses addresses (`127.0.0.1`) and CIDRs (`10.0.0.0/8`).
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, BadProxy> {
        let nets = entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadProxy(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets })
    }

    /// From the server section; entries that do not parse are refused by `check-config` and at start-up.
    pub fn from_config(server: &ServerConfig) -> TrustedProxies {
        TrustedProxies::parse(&server.trusted_proxies).unwrap_or_default()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The client's address: the forwarded one when a trusted proxy relayed the request.
    pub ip: IpAddr,
    /// Whether a proxy relayed it (then it is never a loopback client).
    pub proxied: bool,
}

impl Client {
    /// Whether the client is on this host and came straight to the socket: the only clients served
    /// without sign-in when none is configured.
    pub fn is_local(&self) -> bool {
        !self.proxied && self.ip.is_loopback()
    }
}

/// The client of a request from `peer`: `X-Forwarded-For` (right-most untrusted hop) is read only when the
/// peer is a trusted proxy; any forwarding header at all marks the request as proxied.
pub fn client(peer: Option<SocketAddr>, headers: &HeaderMap, proxies: &TrustedProxies) -> Client {
    // A request without a socket peer (in-process router tests) is the host itself.
    let peer_ip = peer.map(|p| p.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let forwarded = headers.contains_key("x-forwarded-for")
        || headers.contains_key("forwarded")
        || headers.contains_key("x-real-ip");
    if !proxies.trusts(peer_ip) {
        // Forwarding headers from an untrusted peer are ignored for the address, but a loopback peer that
        // sends them is a proxy on this host: never treated as loopback.
        return Client {
            ip: peer_ip,
            proxied: forwarded && peer_ip.is_loopback(),
        };
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .collect();
    let ip = hops
        .iter()
        .rev()
        .find(|ip| !proxies.trusts(**ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer_ip);
    // A trusted proxy's host calling without forwarding headers came straight to the socket.
    Client {
        ip,
        proxied: forwarded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = xff {
            h.insert("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn loopback_only_when_direct() {
        let none = TrustedProxies::default();
        assert!(client(addr("127.0.0.1:5000"), &headers(None), &none).is_local());
        assert!(!client(addr("10.1.2.3:5000"), &headers(None), &none).is_local());
        // A proxy on this host without trust configured: proxied, so not local.
        let via = client(addr("127.0.0.1:5000"), &headers(Some("203.0.113.9")), &none);
        assert!(!via.is_local());
        assert_eq!(via.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let trusted = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        let c = client(
            addr("10.0.0.5:1"),
            &headers(Some("127.0.0.1, 198.51.100.7, 10.0.0.9")),
            &trusted,
        );
        assert_eq!(c.ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(!c.is_local(), "a proxied request is never local");
        let direct = client(addr("127.0.0.1:1"), &headers(None), &trusted);
        assert!(
            direct.is_local(),
            "the proxy's own host calling directly is local"
        );
        let spoofed = client(
            addr("198.51.100.7:1"),
            &headers(Some("127.0.0.1")),
            &trusted,
        );
        assert_eq!(spoofed.ip, "198.51.100.7".parse::<IpAddr>().unwrap());
        assert!(!spoofed.is_local());
        assert_eq!(
            TrustedProxies::parse(&["nope".into()])
                .unwrap_err()
                .to_string(),
            "`nope` is not an IP address or CIDR (`10.0.0.0/8`)"
        );
    }
}
