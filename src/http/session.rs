//! Who uses the web pages: with sign-in configured, the session of the cookie (pages without one go to
//! `/signin`, everything else gets 401, and every state-changing request must carry the session's CSRF
//! token); without sign-in, direct loopback clients only (trusted-host mode, the name cookie is the actor).

use super::AppState;
use super::error::ApiError;
use super::origin::changes_state;
use super::peer::client;
use crate::domain::Actor;
use crate::engine::WebSession;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// The session cookie (its value is the session id; the database keeps only its hash).
pub const SESSION_COOKIE: &str = "warroom_session";
/// The header the pages' JavaScript sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The hidden form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The web user of a request, put into its extensions by [`require_web_user`].
#[derive(Debug, Clone)]
pub enum WebUser {
    /// A signed-in person (or guest): the actor of everything they do.
    Signed(WebSession),
    /// No sign-in configured and a direct loopback client: the display-name cookie names the actor.
    TrustedHost,
}

impl WebUser {
    /// The signed-in actor, acting through the web room.
    pub fn actor(&self) -> Option<Actor> {
        match self {
            WebUser::Signed(s) => Some(Actor {
                platform: "web".into(),
                ..s.actor.clone()
            }),
            WebUser::TrustedHost => None,
        }
    }

    /// The CSRF token forms and scripts must send back.
    pub fn csrf(&self) -> Option<&str> {
        match self {
            WebUser::Signed(s) => Some(&s.csrf_token),
            WebUser::TrustedHost => None,
        }
    }
}

/// The session id of the request's cookie.
pub fn session_id(jar: &CookieJar) -> Option<String> {
    jar.get(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Whether `given` is the session's token, compared in constant time.
pub fn csrf_matches(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

fn csrf_refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "missing or wrong CSRF token (reload the page)",
    )
}

/// The CSRF token of a request: the `X-CSRF-Token` header, else the `csrf` field of a form body
/// (which is read, and put back for the handler).
async fn csrf_of(req: Request, limit: usize) -> Result<(Request, Option<String>), ApiError> {
    if let Some(h) = req.headers().get(CSRF_HEADER) {
        let token = h.to_str().ok().map(str::to_string);
        return Ok((req, token));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the form is larger than server.max_body_bytes ({limit} bytes)"),
        )
    })?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(k, _)| k == CSRF_FIELD))
        .map(|(_, v)| v);
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

/// Where an unsigned page request is sent: `/signin?next=<the page>`.
fn signin_redirect(req: &Request) -> Response {
    let next = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/signin?{query}")).into_response()
}

/// The middleware in front of every web page and web POST.
pub async fn require_web_user(
    State(state): State<AppState>,
    jar: CookieJar,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let config = &state.config;
    if !config.auth.signin_configured() {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| *a);
        let from = client(peer, req.headers(), &state.trusted_proxies);
        if !from.is_local() && !config.server.insecure_open {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "signin_required",
                "the web room answers clients on this host only until sign-in is configured \
                 (auth.local_accounts = true, or auth.oidc.issuer)",
            ));
        }
        let mut req = req;
        req.extensions_mut().insert(WebUser::TrustedHost);
        return Ok(next.run(req).await);
    }
    let session = match session_id(&jar) {
        Some(id) => state
            .engine
            .signin()
            .session(&id)
            .await
            .map_err(super::signin::signin_error)?,
        None => None,
    };
    let Some(session) = session else {
        if matches!(*req.method(), Method::GET | Method::HEAD) && wants_html(req.headers()) {
            return Ok(signin_redirect(&req));
        }
        return Err(ApiError::unauthorized("sign in first: /signin"));
    };
    let mut req = req;
    if changes_state(req.method()) {
        let (checked, token) = csrf_of(req, config.server.max_body_bytes).await?;
        if !csrf_matches(token.as_deref(), &session.csrf_token) {
            return Err(csrf_refused());
        }
        req = checked;
        if req.uri().path() == "/name" {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "signed_in",
                "sign-in is configured: you act as the person you signed in as, not a chosen name",
            ));
        }
    }
    req.extensions_mut().insert(WebUser::Signed(session));
    Ok(next.run(req).await)
}
