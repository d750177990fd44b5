//! `GET /api/v1/audit`: who did what, allowed or refused, oldest first, paged by `after`.

use super::AppState;
use super::error::ApiError;
use crate::domain::token::Scope;
use crate::store::AuditFilter;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// The routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit))
        .route_layer(super::scope::require(Scope::AuditRead))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<i64>,
    actor: Option<String>,
    allowed: Option<bool>,
}

async fn audit(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit: must be between 1 and 500"));
    }
    let filter = AuditFilter {
        after: q.after.unwrap_or(0),
        limit,
        actor: q.actor.filter(|a| !a.trim().is_empty()),
        allowed: q.allowed,
    };
    let entries = state.engine.audit_log(filter).await?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(json!({"entries": entries, "next": next})))
}
