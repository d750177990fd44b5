//! `/api/v1/incidents/{id}/pages` (list, page a target) and `/api/v1/pages/{id}/ack`, and the
//! gateways' signed callback `POST /hooks/pages/{id}/ack`. Verify → parse → engine → answer.

use super::AppState;
use super::error::ApiError;
use super::json::ApiJson;
use super::params::api_incident_path;
use super::scope;
use crate::domain::Actor;
use crate::domain::token::Scope;
use crate::engine::CallbackError;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// The API routes: reads need `incidents:read`, paging and acknowledging `incidents:write`.
pub fn routes() -> Router<AppState> {
    let read = Router::new()
        .route("/incidents/{id}/pages", get(list))
        .route_layer(scope::require(Scope::IncidentsRead));
    let write = Router::new()
        .route("/incidents/{id}/pages", post(create))
        .route("/pages/{id}/ack", post(acknowledge))
        .route_layer(scope::require(Scope::IncidentsWrite));
    read.merge(write)
}

/// The callback route (authenticated by the gateway's signature, not a token).
pub fn hook_routes() -> Router<AppState> {
    Router::new().route("/hooks/pages/{id}/ack", post(callback))
}

fn page_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("page id `{raw}` is not a positive number")))
}

async fn list(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = api_incident_path(path)?;
    let pages = state.engine.pages(id).await?;
    Ok(Json(json!({"pages": pages})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageBody {
    target: String,
}

async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<PageBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = api_incident_path(path)?;
    let pages = state.engine.page(id, &body.target, &who).await?;
    Ok((StatusCode::CREATED, Json(json!({"pages": pages}))))
}

async fn acknowledge(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = page_id(path)?;
    let page = state
        .engine
        .page_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("page {id} not found")))?;
    let applied = state.engine.acknowledge(page.incident_id, &who).await?;
    Ok(Json(json!({"incident": applied.incident})))
}

async fn callback(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = page_id(path)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let result = state
        .engine
        .acknowledge_by_callback(
            id,
            header("x-warroom-timestamp"),
            header("x-warroom-signature"),
            &body,
        )
        .await;
    match result {
        Ok(applied) => Ok(Json(
            json!({"ok": true, "incident": applied.incident.id, "status": applied.incident.status}),
        )),
        // Unknown pages and bad signatures look alike to a caller without the secret.
        Err(CallbackError::NoPage(_) | CallbackError::NoGateway(_)) => Err(ApiError::unauthorized(
            "the callback is not signed for a page warroom sent through a gateway",
        )),
        Err(CallbackError::Signature(e)) => Err(ApiError::unauthorized(e.to_string())),
        Err(CallbackError::Engine(e)) => Err(e.into()),
    }
}
