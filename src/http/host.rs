//! The `Host` allowlist (DNS rebinding): `server.public_url`'s host, loopback names when listening on
//! loopback, and IP literals (a browser that typed an address is on that address's own origin).
//! Others get 421 JSON. A request that names no host at all (HTTP/1.0, in-process router tests) is not a
//! browser's and passes: DNS rebinding needs the browser's `Host` header.

use super::AppState;
use super::error::ApiError;
use crate::config::ServerConfig;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// The host name of an authority (`name:port`, `[::1]:port`), lower-cased, without brackets.
fn host_name(authority: &str) -> String {
    let name = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn listens_on_loopback(listen: &str) -> bool {
    match listen.parse::<SocketAddr>() {
        Ok(addr) => addr.ip().is_loopback(),
        Err(_) => host_name(listen) == "localhost",
    }
}

/// Whether a request for `authority` may be served.
pub fn allowed(server: &ServerConfig, authority: &str) -> bool {
    let name = host_name(authority);
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let public = server
        .public_url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(host_name));
    if public.as_deref() == Some(name.as_str()) {
        return true;
    }
    let loopback = listens_on_loopback(&server.listen);
    if loopback && (name == "localhost" || name.ends_with(".localhost")) {
        return true;
    }
    // Listening beyond loopback with no public URL: there is no name to hold requests to.
    public.is_none() && !loopback
}

/// The middleware.
pub async fn allowed_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let authority = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match authority {
        None => next.run(req).await,
        Some(a) if allowed(&state.config.server, &a) => next.run(req).await,
        Some(a) => {
            tracing::warn!(host = %a, "request for a host this server does not serve refused");
            ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown_host",
                format!(
                    "this server does not answer for host `{}`: it serves server.public_url's host",
                    host_name(&a)
                ),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_held_to_the_public_url_and_loopback() {
        let mut server = ServerConfig {
            listen: "127.0.0.1:8080".into(),
            ..ServerConfig::default()
        };
        assert!(allowed(&server, "127.0.0.1:8080"));
        assert!(allowed(&server, "localhost:8080"));
        assert!(allowed(&server, "[::1]:8080"));
        assert!(!allowed(&server, "evil.example:8080"));
        server.public_url = Some("https://warroom.example.com".into());
        assert!(allowed(&server, "WarRoom.example.com"));
        assert!(!allowed(&server, "evil.example"));
        server.listen = "0.0.0.0:8080".into();
        assert!(!allowed(&server, "localhost:8080"));
        assert!(allowed(&server, "10.0.0.5:8080"));
        server.public_url = None;
        assert!(allowed(&server, "anything.example"));
    }
}
