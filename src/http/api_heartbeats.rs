//! `GET /api/v1/heartbeats`: every heartbeat of the catalog with its state.

use super::AppState;
use super::error::ApiError;
use crate::domain::token::Scope;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// The routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/heartbeats", get(list))
        .route_layer(super::scope::require(Scope::IncidentsRead))
}

async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let heartbeats = state.engine.heartbeats().await?;
    Ok(Json(json!({ "heartbeats": heartbeats })))
}
