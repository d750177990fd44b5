//! `GET /api/v1/outbox?state=retrying|failed`: deliveries that keep failing or were given up on;
//! `GET /api/v1/jobs?state=retrying|failed`: the same for durable jobs.

use super::AppState;
use super::error::ApiError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// The outbox and jobs operations routes (nested under `/api/v1`); it needs `incidents:read`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/outbox", get(list))
        .route("/jobs", get(jobs))
        .route_layer(super::scope::require(
            crate::domain::token::Scope::IncidentsRead,
        ))
}

#[derive(Debug, Deserialize)]
struct OutboxQuery {
    state: Option<String>,
    limit: Option<i64>,
}

/// Retrying (default) or failed entries with their attempts, last error and whether they are poisoned.
async fn list(
    State(state): State<AppState>,
    query: Result<Query<OutboxQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let which = q.state.as_deref().unwrap_or("retrying");
    let entries = state.engine.troubled_outbox(which, q.limit).await?;
    let counts = state.engine.outbox_counts().await?;
    Ok(Json(json!({ "entries": entries, "counts": counts })))
}

/// Retrying (default) or failed jobs with their failures in a row, last error and next run.
async fn jobs(
    State(state): State<AppState>,
    query: Result<Query<OutboxQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let which = q.state.as_deref().unwrap_or("retrying");
    let jobs = state.engine.troubled_jobs(which, q.limit).await?;
    let counts = state.engine.job_counts().await?;
    Ok(Json(json!({ "jobs": jobs, "counts": counts })))
}
