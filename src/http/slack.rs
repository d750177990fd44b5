//! Slack's three endpoints: verify the v0 signature → parse → hand to the Slack adapter / engine.

use super::AppState;
use super::error::ApiError;
use crate::chat::slack::{commands, events, interactions, verify};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// `/slack/events`, `/slack/commands`, `/slack/interactions`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/slack/events", post(events_endpoint))
        .route("/slack/commands", post(commands_endpoint))
        .route("/slack/interactions", post(interactions_endpoint))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Refuses (401) anything not signed with the signing secret within the 5-minute window.
fn check(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: &str,
) -> Result<(), ApiError> {
    let Some(secret) = state.config.slack.signing_secret.as_deref() else {
        return Err(ApiError::not_found(
            "Slack is not configured on this warroom (slack.signing_secret)",
        ));
    };
    let now = state.engine.now().timestamp();
    verify::verify(
        secret,
        header(headers, "x-slack-request-timestamp"),
        header(headers, "x-slack-signature"),
        body,
        now,
    )
    .map_err(|e| {
        tracing::warn!(endpoint, reason = %e, "refused a Slack request");
        metrics::counter!("warroom_slack_refused_total", "endpoint" => endpoint.to_string())
            .increment(1);
        ApiError::unauthorized(format!("Slack signature check failed: {e}"))
    })
}

#[tracing::instrument(name = "slack.events", skip_all, fields(retry = tracing::field::Empty))]
async fn events_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, &headers, &body, "events")?;
    if let Some(n) = header(&headers, "x-slack-retry-num") {
        tracing::Span::current().record("retry", n);
    }
    let envelope: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not JSON: {e}")))?;
    match envelope["type"].as_str() {
        Some("url_verification") => {
            let challenge = envelope["challenge"].as_str().unwrap_or_default();
            Ok(Json(json!({"challenge": challenge})).into_response())
        }
        Some("event_callback") => {
            let outcome = events::handle(&state.engine, &envelope).await?;
            tracing::debug!(?outcome, "Slack event handled");
            Ok(Json(json!({"ok": true})).into_response())
        }
        other => Err(ApiError::bad_request(format!(
            "unsupported Slack callback type `{}`",
            other.unwrap_or("(missing)")
        ))),
    }
}

#[tracing::instrument(name = "slack.commands", skip_all)]
async fn commands_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, &headers, &body, "commands")?;
    let cmd = commands::parse_form(&body)
        .map_err(|e| ApiError::bad_request(format!("slash command form: {e}")))?;
    let answer = commands::handle(&state.engine, state.slack.as_ref(), cmd).await?;
    Ok(Json(answer).into_response())
}

#[tracing::instrument(name = "slack.interactions", skip_all)]
async fn interactions_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, &headers, &body, "interactions")?;
    let payload = interactions::parse_form(&body).map_err(ApiError::bad_request)?;
    match interactions::handle(&state.engine, state.slack.as_ref(), &payload).await? {
        Some(answer) => Ok(Json(answer).into_response()),
        None => Ok(axum::http::StatusCode::OK.into_response()),
    }
}
