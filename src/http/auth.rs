//! Who calls `/api/v1`: the bearer token's owner (or the person an `act-as` token relays for), or, while no
//! token exists, a client on this host. The caller goes into the request extensions as an
//! [`Actor`](crate::domain::Actor) (handlers take `Extension<Actor>`) and a [`Grant`] of scopes.

use super::AppState;
use super::error::ApiError;
use super::peer;
use crate::domain::token::{Scopes, matches_any};
use crate::engine::tokens::{AuthError, Presented};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;

/// The scopes the caller of an `/api/v1` request holds (in the request extensions beside its `Actor`).
#[derive(Debug, Clone, PartialEq)]
pub struct Grant(pub Scopes);

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
    matches_any(given, accepted)
}

/// Whether the request came straight from this host (a proxied request never does).
pub fn is_local(state: &AppState, req_peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    peer::client(req_peer, headers, &state.trusted_proxies).is_local()
}

/// Resolves the caller of an `/api/v1` request: 401 without a valid credential, 403 for a refused `act-as`.
pub async fn api_caller(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let caller = {
        let headers = req.headers();
        let req_peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| *a);
        let presented = Presented {
            bearer: bearer(headers),
            act_as: headers.get("x-warroom-user").and_then(|v| v.to_str().ok()),
            local: is_local(&state, req_peer, headers),
        };
        state.engine.tokens().caller(presented).await
    };
    let caller = caller.map_err(refusal)?;
    tracing::debug!(actor = %caller.actor.id, scopes = %caller.scopes, "API caller");
    req.extensions_mut().insert(caller.actor);
    req.extensions_mut().insert(Grant(caller.scopes));
    Ok(next.run(req).await)
}

fn refusal(e: AuthError) -> ApiError {
    match e {
        AuthError::Unauthorized(m) => ApiError::unauthorized(m),
        AuthError::Forbidden {
            message,
            scope: Some(scope),
        } => super::scope::missing(scope, message),
        AuthError::Forbidden {
            message,
            scope: None,
        } => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
        AuthError::Store(s) => s.into(),
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
