//! Web sign-in: the `/signin` page, local accounts, OpenID Connect, and `/signout`.

use super::AppState;
use super::error::ApiError;
use super::session::{CSRF_FIELD, SESSION_COOKIE, csrf_matches, session_id};
use super::web::page;
use crate::engine::{SignInError, Started, local_path};
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Router, routing::post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The sign-in routes (outside the session gate: they are how one gets a session).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin", get(signin_page).post(signin_local))
        .route("/signin/oidc", get(oidc_start))
        .route("/signin/oidc/callback", get(oidc_callback))
        .route("/signout", post(signout))
}

/// Maps a sign-in failure to its answer; only a storage failure is a 5xx.
pub fn signin_error(e: SignInError) -> ApiError {
    match e {
        SignInError::BadCredentials => ApiError::unauthorized(e.to_string()),
        SignInError::Throttled { .. } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            e.to_string(),
        ),
        SignInError::Disabled(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "account_disabled", e.to_string())
        }
        SignInError::NotConfigured(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_configured", e.to_string())
        }
        SignInError::Invalid { .. } | SignInError::UnknownAttempt => {
            ApiError::bad_request(e.to_string())
        }
        SignInError::Oidc(inner) => {
            tracing::warn!(error = %inner, "OpenID Connect sign-in failed");
            ApiError::new(StatusCode::UNAUTHORIZED, "signin_failed", inner.to_string())
        }
        SignInError::Store(inner) => ApiError::from(crate::engine::EngineError::Store(inner)),
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|u| u.to_str().ok())
}

/// The session cookie: HttpOnly, SameSite=Lax, `Path=/`, `Secure` when `server.public_url` is https.
/// It lives as long as the browser session; the server ends it at `auth.session_hours` of disuse.
fn session_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let secure = state
        .config
        .server
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

/// Sets the new session's cookie (ending the session the browser had before, if any) and redirects.
async fn signed_in(state: &AppState, jar: CookieJar, started: Started) -> Response {
    if let Some(old) = session_id(&jar)
        && let Err(e) = state.engine.signin().sign_out(&old).await
    {
        tracing::warn!(error = %e, "could not end the previous session");
    }
    let jar = jar.add(session_cookie(state, started.session_id));
    (jar, Redirect::to(&started.return_to)).into_response()
}

/// The sign-in page with `error` (and its status), for browsers; JSON for everything else.
fn signin_answer(state: &AppState, headers: &HeaderMap, next: &str, error: ApiError) -> Response {
    if !wants_html(headers) {
        return error.into_response();
    }
    let mut page = render_signin(state, next, Some(&error.message));
    *page.status_mut() = error.status;
    page
}

fn render_signin(state: &AppState, next: &str, error: Option<&str>) -> Response {
    let auth = &state.config.auth;
    let oidc_name = auth.oidc.issuer.as_ref().map(|_| {
        auth.oidc
            .display_name
            .clone()
            .unwrap_or_else(|| "single sign-on".into())
    });
    let ctx = minijinja::context! {
        local => auth.local_accounts, oidc_name => oidc_name, next => next, error => error,
    };
    page(state, "signin.html", ctx)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn signin_page(
    State(state): State<AppState>,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Response {
    let next = query.ok().and_then(|Query(q)| q.next);
    render_signin(&state, &local_path(next.as_deref()), None)
}

#[derive(Deserialize)]
struct LocalForm {
    name: String,
    password: String,
    next: Option<String>,
}

async fn signin_local(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<LocalForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        let e = ApiError::bad_request("name and password are required (a form post)");
        return signin_answer(&state, &headers, "/", e);
    };
    let next = local_path(form.next.as_deref());
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let client = super::peer::client(peer, &headers, &state.trusted_proxies);
    match state
        .engine
        .signin()
        .sign_in_local(
            &form.name,
            &form.password,
            Some(client.ip),
            user_agent(&headers),
            Some(&next),
        )
        .await
    {
        Ok(started) => signed_in(&state, jar, started).await,
        Err(e) => {
            let retry_after = match &e {
                SignInError::Throttled { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            };
            let mut answer = signin_answer(&state, &headers, &next, signin_error(e));
            if let Some(secs) = retry_after {
                answer
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            answer
        }
    }
}

async fn oidc_start(
    State(state): State<AppState>,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Result<Redirect, ApiError> {
    let next = query.ok().and_then(|Query(q)| q.next);
    let url = state
        .engine
        .signin()
        .begin_oidc(next.as_deref())
        .await
        .map_err(|e| match e {
            SignInError::Oidc(crate::signin::oidc::OidcError::Issuer(m)) => {
                tracing::warn!(error = %m, "OpenID Connect issuer unavailable");
                ApiError::new(StatusCode::BAD_GATEWAY, "issuer_unavailable", m)
            }
            other => signin_error(other),
        })?;
    Ok(Redirect::to(&url))
}

async fn oidc_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(error) = q.get("error") {
        let detail = q.get("error_description").unwrap_or(error);
        let e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signin_refused",
            format!("the issuer refused the sign-in: {detail}"),
        );
        return signin_answer(&state, &headers, "/", e);
    }
    let (Some(code), Some(st)) = (q.get("code"), q.get("state")) else {
        let e = ApiError::bad_request("code and state: both are required");
        return signin_answer(&state, &headers, "/", e);
    };
    match state
        .engine
        .signin()
        .finish_oidc(st, code, user_agent(&headers))
        .await
    {
        Ok(started) => signed_in(&state, jar, started).await,
        Err(e) => signin_answer(&state, &headers, "/", signin_error(e)),
    }
}

#[derive(Deserialize)]
struct SignoutForm {
    #[serde(rename = "csrf")]
    token: Option<String>,
}

async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    form: Result<Form<SignoutForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Some(id) = session_id(&jar) else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let signin = state.engine.signin();
    if let Some(session) = signin.session(&id).await.map_err(signin_error)? {
        let given = headers
            .get(super::session::CSRF_HEADER)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| form.ok().and_then(|Form(f)| f.token));
        if !csrf_matches(given.as_deref(), &session.csrf_token) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                format!("missing or wrong CSRF token (the `{CSRF_FIELD}` field)"),
            ));
        }
        signin.sign_out(&id).await.map_err(signin_error)?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/signin")).into_response())
}
