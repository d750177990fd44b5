//! iCalendar subscriptions: `GET /oncall/{schedule}.ics` and `GET /oncall/people/{id}.ics`.
//!
//! Calendar apps cannot send a bearer token, so with `oncall.calendar_secret` set each calendar has
//! its own read-only key in the URL (`?key=…`, an HMAC of the path); a bearer token of `api.tokens`
//! works as well. Without the secret the calendars are protected exactly like `/api/v1`.

use super::AppState;
use super::auth;
use super::error::ApiError;
use crate::config::Config;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The calendar routes (outside `/api/v1`), behind their own access check.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/oncall/people/{file}", get(person))
        .route("/oncall/{file}", get(schedule))
        .route_layer(axum::middleware::from_fn_with_state(state, require_access))
}

/// The key of the calendar at `path`: 32 hex digits of HMAC-SHA256(secret, path).
pub fn key(secret: &str, path: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(path.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

fn url(config: &Config, path: String) -> String {
    match config.oncall.calendar_secret.as_deref() {
        Some(secret) => format!("{path}?key={}", key(secret, &path)),
        None => path,
    }
}

/// The subscription path of a schedule's calendar (with its key when keys are configured).
pub fn schedule_url(config: &Config, schedule: &str) -> String {
    url(config, format!("/oncall/{schedule}.ics"))
}

/// The subscription path of a person's calendar.
pub fn person_url(config: &Config, person: &str) -> String {
    url(config, format!("/oncall/people/{person}.ics"))
}

/// The `key` query parameter, if any.
fn given_key(req: &Request) -> Option<String> {
    let q = req.uri().query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .ok()?
        .into_iter()
        .find_map(|(k, v)| (k == "key").then_some(v))
}

/// A matching calendar key lets the request in; otherwise the API's bearer-token rule decides.
async fn require_access(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let (Some(secret), Some(given)) = (
        state.config.oncall.calendar_secret.as_deref(),
        given_key(&req),
    ) {
        let expected = key(secret, req.uri().path());
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Ok(next.run(req).await);
        }
        return Err(ApiError::unauthorized("invalid calendar key"));
    }
    auth::api_caller(State(state), req, next).await
}

/// `NAME.ics` → `NAME`; anything else is not a calendar.
fn stem(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(file) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    file.strip_suffix(".ics")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::not_found(format!("no calendar `{file}`: calendars end in .ics")))
}

fn ics(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

async fn schedule(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let name = stem(path)?;
    Ok(ics(state.engine.schedule_calendar(&name).await?))
}

async fn person(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = stem(path)?;
    match state.engine.person_calendar(&id).await {
        Err(crate::engine::oncall::OncallError::UnknownPerson(p)) => {
            Err(ApiError::not_found(format!("no person `{p}`")))
        }
        other => Ok(ics(other?)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_differ_per_calendar_and_secret() {
        let a = super::key("s1", "/oncall/a.ics");
        assert_eq!(a.len(), 32);
        assert_ne!(a, super::key("s1", "/oncall/b.ics"));
        assert_ne!(a, super::key("s2", "/oncall/a.ics"));
    }
}
