//! Alert ingest hooks: verify the source's credential, parse its format, hand the alerts to the engine.

use super::AppState;
use super::auth::{bearer, token_matches};
use super::error::ApiError;
use super::json::too_large;
use crate::domain::alert::AlertSource;
use crate::ingest::{self, IngestError, pagerduty};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::net::SocketAddr;

/// The alert hook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/alertmanager", post(alertmanager))
        .route("/hooks/grafana", post(grafana))
        .route("/hooks/alerts", post(native))
        .route("/hooks/pagerduty/v2/enqueue", post(pagerduty_enqueue))
}

/// Whether the request came straight from this host (a proxied one never does).
pub(super) fn is_local(
    state: &AppState,
    ConnectInfo(peer): &ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
) -> bool {
    super::auth::is_local(state, Some(*peer), headers)
}

/// A source with a token needs `Authorization: Bearer <token>`; without one, only local clients may post.
pub(super) fn verify(
    source: &str,
    token: Option<&String>,
    headers: &HeaderMap,
    local: bool,
) -> Result<(), ApiError> {
    match token {
        None if local => Ok(()),
        None => Err(ApiError::unauthorized(format!(
            "ingest.{source}.token is not configured: only clients on this host (not through a proxy) may post"
        ))),
        Some(t) => match bearer(headers) {
            None => Err(ApiError::unauthorized(
                "missing `Authorization: Bearer <token>` header",
            )),
            Some(given) if token_matches(given, std::slice::from_ref(t)) => Ok(()),
            Some(_) => Err(ApiError::unauthorized("invalid bearer token")),
        },
    }
}

/// The body, or the JSON error a too-large or unreadable one gets.
pub(super) fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request(e.body_text())
        }
    })
}

fn invalid(e: IngestError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string())
}

async fn ingest_batch(
    state: &AppState,
    batch: Result<ingest::Batch, IngestError>,
) -> Result<Response, ApiError> {
    let batch = batch.map_err(invalid)?;
    if batch.truncated > 0 {
        tracing::warn!(
            truncated = batch.truncated,
            "the sender truncated alerts of a group"
        );
        metrics::counter!("warroom_alerts_truncated_total").increment(batch.truncated);
    }
    let truncated = batch.truncated;
    let out = state.engine.ingest_alerts(batch.alerts).await?;
    Ok((
        StatusCode::OK,
        axum::Json(Accepted {
            changed: out.changed,
            duplicates: out.duplicates,
            received: out.received,
            stale: out.stale,
            status: "success",
            truncated,
        }),
    )
        .into_response())
}

/// The answer to an accepted batch, serialised without building a JSON tree (fields in the key order
/// the answer always had).
#[derive(serde::Serialize)]
struct Accepted {
    changed: usize,
    duplicates: usize,
    received: usize,
    stale: usize,
    status: &'static str,
    truncated: u64,
}

/// `POST /hooks/alertmanager`: Alertmanager webhook v4.
async fn alertmanager(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let token = state.config.ingest.alertmanager.token.as_ref();
    verify(
        "alertmanager",
        token,
        &headers,
        is_local(&state, &peer, &headers),
    )?;
    let body = body_or_error(body)?;
    let cfg = &state.config.alerts;
    let now = state.engine.now();
    let batch = ingest::alertmanager::parse(
        &body,
        AlertSource::Alertmanager,
        &cfg.service_label,
        cfg.max_batch,
        now,
    );
    ingest_batch(&state, batch).await
}

/// `POST /hooks/grafana`: Grafana unified-alerting webhook.
async fn grafana(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let token = state.config.ingest.grafana.token.as_ref();
    verify(
        "grafana",
        token,
        &headers,
        is_local(&state, &peer, &headers),
    )?;
    let body = body_or_error(body)?;
    let cfg = &state.config.alerts;
    let now = state.engine.now();
    let batch = ingest::grafana::parse(&body, &cfg.service_label, cfg.max_batch, now);
    ingest_batch(&state, batch).await
}

/// `POST /hooks/alerts`: warroom's own JSON.
async fn native(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let token = state.config.ingest.alerts.token.as_ref();
    verify("alerts", token, &headers, is_local(&state, &peer, &headers))?;
    let body = body_or_error(body)?;
    let cfg = &state.config.alerts;
    let now = state.engine.now();
    let batch = ingest::native::parse(&body, &cfg.service_label, cfg.max_batch, now);
    ingest_batch(&state, batch).await
}

/// A PagerDuty-shaped answer (`status`, `message`, `errors`) that also carries warroom's `error` object.
fn pd_error(status: StatusCode, pd_status: &str, message: &str, error: &str) -> Response {
    let code = if status == StatusCode::UNAUTHORIZED {
        "unauthorized"
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        "payload_too_large"
    } else {
        "invalid_body"
    };
    (
        status,
        axum::Json(
            json!({"status": pd_status, "message": message, "errors": [error],
            "error": {"code": code, "message": error}}),
        ),
    )
        .into_response()
}

/// `POST /hooks/pagerduty/v2/enqueue`: PagerDuty Events API v2.
async fn pagerduty_enqueue(
    State(state): State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return pd_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid event",
                "Request too large",
                "request body is larger than the limit",
            );
        }
        Err(e) => {
            return pd_error(
                StatusCode::BAD_REQUEST,
                "invalid event",
                "Event object is invalid",
                &e.body_text(),
            );
        }
    };
    let keys = &state.config.ingest.pagerduty.routing_keys;
    let now = state.engine.now();
    let parsed = pagerduty::parse(
        &body,
        |k| keys.get(k).cloned(),
        || hex::encode(rand::random::<[u8; 16]>()),
        now,
    );
    let event = match parsed {
        Ok(e) => e,
        Err(e) => {
            return pd_error(
                StatusCode::BAD_REQUEST,
                "invalid event",
                "Event object is invalid",
                &format!("'{}' {}", e.field, e.message),
            );
        }
    };
    let known_key = keys.contains_key(&event.routing_key);
    let open_on_loopback = keys.is_empty() && is_local(&state, &peer, &headers);
    if !(known_key || open_on_loopback) {
        return pd_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid routing key",
            "routing_key is not configured in ingest.pagerduty.routing_keys",
        );
    }
    let result = match (event.action, event.alert) {
        (pagerduty::Action::Acknowledge, _) => state
            .engine
            .acknowledge_alert(&event.dedup_key)
            .await
            .map(|_| ()),
        (_, Some(alert)) => state.engine.ingest_alerts(vec![alert]).await.map(|_| ()),
        (_, None) => Ok(()),
    };
    match result {
        Ok(()) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({"status": "success", "message": "Event processed",
                "dedup_key": event.dedup_key})),
        )
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
