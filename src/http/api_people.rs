//! `GET /api/v1/people` and `GET /api/v1/teams`: the directory, guests included.

use super::AppState;
use super::error::ApiError;
use crate::domain::token::Scope;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

/// The people API routes (nested under `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(people))
        .route("/teams", get(teams))
        .route_layer(super::scope::require(Scope::PeopleRead))
}

/// Every person of the directory, then every guest (`"guest": true`).
#[tracing::instrument(name = "api.people", skip_all)]
async fn people(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let people = state.engine.people().list().await?;
    Ok(Json(json!({ "people": people })))
}

/// Every team with its member ids.
#[tracing::instrument(name = "api.teams", skip_all)]
async fn teams(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "teams": state.engine.people().teams() }))
}
