//! Bearer-token checks for the API.

use super::AppState;
use super::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `given` equals one of `accepted`, compared in constant time.
pub fn token_matches(given: &str, accepted: &[String]) -> bool {
    accepted.iter().fold(false, |ok, t| {
        ok | bool::from(t.as_bytes().ct_eq(given.as_bytes()))
    })
}

/// The API caller as the handlers see it (`Extension<Actor>`): `X-Warroom-User`, else `api`.
fn api_actor(headers: &HeaderMap) -> crate::domain::Actor {
    let id = headers
        .get("x-warroom-user")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 100 && !v.chars().any(char::is_control))
        .unwrap_or("api");
    crate::domain::Actor::named(id, id, "api")
}

/// `/api/v1` needs a configured bearer token; with none configured it is open to loopback clients only.
/// The caller is inserted as an `Extension<Actor>` for the handlers.
pub async fn require_api_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let actor = api_actor(req.headers());
    req.extensions_mut().insert(actor);
    let tokens = &state.config.api.tokens;
    if tokens.is_empty() {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>();
        let loopback = peer
            .map(|ConnectInfo(addr)| addr.ip().is_loopback())
            .unwrap_or(true);
        if !loopback {
            return Err(ApiError::unauthorized(
                "the API is open to loopback clients only until api.tokens is configured",
            ));
        }
        return Ok(next.run(req).await);
    }
    match bearer(req.headers()) {
        None => Err(ApiError::unauthorized(
            "missing `Authorization: Bearer <token>` header",
        )),
        Some(t) if token_matches(t, tokens) => Ok(next.run(req).await),
        Some(_) => Err(ApiError::unauthorized("invalid bearer token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_and_compared() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        assert!(token_matches("abc", &["x".into(), "abc".into()]));
        assert!(!token_matches("abd", &["abc".into()]));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
