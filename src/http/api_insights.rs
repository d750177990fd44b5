//! `GET /api/v1/reports/{chart}?from=&to=&format=json|csv`: one insights chart (see `/reports`).

use super::AppState;
use super::api_reports::{PeriodQuery, period};
use super::error::ApiError;
use super::web_reports::{ChartFormat, chart_response};
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;

/// The routes under `/api/v1`; they need `reports:read`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports/{chart}", get(chart))
        .route_layer(super::scope::require(
            crate::domain::token::Scope::ReportsRead,
        ))
}

async fn chart(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    period_q: Result<Query<PeriodQuery>, QueryRejection>,
    format_q: Result<Query<ChartFormat>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Query(q) = period_q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Query(f) = format_q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (from, to) = period(&q, state.engine.now())?;
    let chart = state.engine.insight(&name, from, to).await?;
    chart_response(&state, chart, f.format.as_deref(), false)
}
