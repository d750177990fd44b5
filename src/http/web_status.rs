//! `GET /status`: the stakeholder status page — ongoing incidents with only their public updates,
//! readable without sign-in when `status_page.enabled` (else it does not exist: 404).

use super::AppState;
use super::error::ApiError;
use super::web::page;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

/// The route; it sits outside the sign-in layer.
pub fn routes() -> Router<AppState> {
    Router::new().route("/status", get(status_page))
}

async fn status_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let config = &state.config.status_page;
    if !config.enabled {
        return Err(ApiError::not_found("no route for GET /status"));
    }
    let incidents = state.engine.status_page().await?;
    let title = config.title.as_deref().unwrap_or("Service status");
    let ctx = minijinja::context! { incidents => incidents, title => title };
    Ok(page(&state, "status.html", ctx))
}
