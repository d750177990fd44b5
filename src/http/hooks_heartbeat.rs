//! `POST /hooks/heartbeat/{name}`: a dead man's switch beats (an empty body, or Alertmanager's
//! always-firing Watchdog alert routed here); authenticated like the alert hooks.

use super::AppState;
use super::error::ApiError;
use super::hooks::{body_or_error, is_local, verify};
use crate::domain::heartbeat::{BeatBody, classify_body};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::net::SocketAddr;
use tracing::Instrument;

/// The heartbeat hook route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/hooks/heartbeat/{name}", post(beat))
}

async fn beat(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let token = state.config.ingest.heartbeat.token.as_ref();
    verify(
        "heartbeat",
        token,
        &headers,
        is_local(&state, &peer, &headers),
    )?;
    let body = body_or_error(body)?;
    if state.engine.catalog().heartbeat(&name).is_none() {
        return Err(ApiError::not_found(format!(
            "no [[heartbeat]] named `{name}` in the catalog"
        )));
    }
    let kind = classify_body(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()))?;
    if kind == BeatBody::AlertmanagerResolved {
        // Alertmanager says the Watchdog stopped firing: that is silence, not a beat.
        return Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({"status": "ignored", "heartbeat": name,
                "reason": "every alert of the body is resolved: not a beat (set send_resolved: false on the Watchdog receiver)"})),
        )
            .into_response());
    }
    let span = tracing::info_span!("heartbeat.beat", heartbeat = %name, source = kind.source());
    match state
        .engine
        .heartbeat_beat(&name, kind)
        .instrument(span)
        .await?
    {
        Some(view) => Ok((
            StatusCode::OK,
            axum::Json(json!({"status": "success", "heartbeat": view})),
        )
            .into_response()),
        None => Err(ApiError::not_found(format!(
            "no [[heartbeat]] named `{name}` in the catalog"
        ))),
    }
}
