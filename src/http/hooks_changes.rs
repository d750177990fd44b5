//! Change ingest: native, PagerDuty change events, GitHub deployments, Argo CD notifications.
//! Verify → parse (`ingest/`) → `Engine::record_change` → answer.

use super::AppState;
use super::auth::{bearer, token_matches};
use super::error::ApiError;
use crate::domain::change::NewChange;
use crate::engine::{EngineError, Recorded};
use crate::ingest::{argocd, changes, github, pagerduty_change};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::net::SocketAddr;

/// The change-ingest routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/changes", post(native))
        .route("/hooks/pagerduty/v2/change/enqueue", post(pagerduty))
        .route("/hooks/github", post(github_hook))
        .route("/hooks/argocd", post(argocd_hook))
}

/// A bearer token when one is configured; local clients only (never through a proxy) when none is.
fn authenticate(
    token: Option<&String>,
    source: &str,
    headers: &HeaderMap,
    local: bool,
) -> Result<(), ApiError> {
    match token.filter(|t| !t.is_empty()) {
        None if local => Ok(()),
        None => Err(ApiError::unauthorized(format!(
            "{source} ingest accepts clients on this host only (not through a proxy) until ingest.{source}.token is configured"
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

fn field_error(e: changes::FieldError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", e.to_string())
}

/// Records a report and maps the outcome: 201 created, 200 updated/unchanged/duplicate.
/// The actor is the ingest source (a service account), never the `author` the body names.
async fn record(state: &AppState, report: NewChange, source: &str) -> Result<Response, ApiError> {
    let actor = crate::domain::Actor::service(source, "hooks");
    match state.engine.record_change(report, &actor).await {
        Ok(Recorded::Created(c)) => Ok((
            StatusCode::CREATED,
            Json(json!({"result": "created", "change": c})),
        )
            .into_response()),
        Ok(Recorded::Updated(c)) => {
            Ok(Json(json!({"result": "updated", "change": c})).into_response())
        }
        Ok(Recorded::Unchanged(c)) => {
            Ok(Json(json!({"result": "unchanged", "change": c})).into_response())
        }
        Ok(Recorded::Duplicate) => Ok(Json(json!({"result": "duplicate"})).into_response()),
        Err(EngineError::Invalid { field, message }) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("{field}: {message}"),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn native(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authenticate(
        state.config.ingest.changes.token.as_ref(),
        "changes",
        &headers,
        super::auth::is_local(&state, Some(peer), &headers),
    )?;
    let report = changes::parse(&body, "native").map_err(field_error)?;
    record(&state, report, "native").await
}

async fn pagerduty(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let event = pagerduty_change::parse(&body).map_err(field_error)?;
    let keys = &state.config.ingest.pagerduty.routing_keys;
    let known = keys
        .keys()
        .find(|k| token_matches(&event.routing_key, std::slice::from_ref(*k)));
    let Some(service) = known.and_then(|k| keys.get(k)) else {
        return Err(ApiError::unauthorized(
            "routing_key is not configured in ingest.pagerduty.routing_keys",
        ));
    };
    let mut report = event.change;
    if !report.services.contains(service) {
        report.services.insert(0, service.clone());
    }
    record(&state, report, "pagerduty").await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Change event processed"})),
    )
        .into_response())
}

async fn github_hook(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match state
        .config
        .ingest
        .github
        .secret
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        Some(secret) => {
            if !github::signature_valid(secret, &body, header("x-hub-signature-256")) {
                return Err(ApiError::unauthorized(
                    "X-Hub-Signature-256 is missing or does not match",
                ));
            }
        }
        None if super::auth::is_local(&state, Some(peer), &headers) => {}
        None => {
            return Err(ApiError::unauthorized(
                "GitHub ingest accepts clients on this host only (not through a proxy) until ingest.github.secret is configured",
            ));
        }
    }
    let event = header("x-github-event")
        .ok_or_else(|| ApiError::bad_request("X-GitHub-Event header is required"))?;
    let delivery = header("x-github-delivery")
        .filter(|d| !d.is_empty() && d.len() <= 100)
        .ok_or_else(|| ApiError::bad_request("X-GitHub-Delivery header is required"))?
        .to_string();
    match github::parse(event, &body).map_err(field_error)? {
        // `ping` and events warroom does not act on: a 200 no-op, which GitHub shows as delivered.
        github::Delivery::Ignored(what) => Ok((
            StatusCode::OK,
            Json(json!({"result": "ignored", "reason": what})),
        )
            .into_response()),
        github::Delivery::Change(mut report) => {
            report.delivery = Some(("github".into(), delivery));
            record(&state, *report, "github").await
        }
    }
}

async fn argocd_hook(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authenticate(
        state.config.ingest.argocd.token.as_ref(),
        "argocd",
        &headers,
        super::auth::is_local(&state, Some(peer), &headers),
    )?;
    match argocd::parse(&body).map_err(field_error)? {
        argocd::Notification::Ignored(what) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"result": "ignored", "reason": what})),
        )
            .into_response()),
        argocd::Notification::Change(report) => record(&state, *report, "argocd").await,
    }
}
