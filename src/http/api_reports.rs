//! `GET /api/v1/reports?from=&to=`: MTTA/MTTR, counts, time in status and action items over a period.

use super::AppState;
use super::error::ApiError;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

/// The routes under `/api/v1`; they need `reports:read`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(reports))
        .route_layer(super::scope::require(
            crate::domain::token::Scope::ReportsRead,
        ))
}

/// `?from=&to=`: RFC 3339 times or `YYYY-MM-DD` dates (a `to` date includes that whole day).
#[derive(Deserialize, Default)]
pub(super) struct PeriodQuery {
    pub from: Option<String>,
    pub to: Option<String>,
}

fn parse_bound(field: &str, raw: &str, end: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let d = if end { d + Duration::days(1) } else { d };
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(ApiError::bad_request(format!(
        "{field}: `{raw}` is not a date (YYYY-MM-DD) or an RFC 3339 time"
    )))
}

/// The period asked for; by default the 30 days up to `now`.
pub(super) fn period(
    q: &PeriodQuery,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = match q.to.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => parse_bound("to", raw, true)?,
        None => now,
    };
    let from = match q.from.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => parse_bound("from", raw, false)?,
        None => to - Duration::days(30),
    };
    if from >= to {
        return Err(ApiError::bad_request("from: must be before `to`"));
    }
    Ok((from, to))
}

async fn reports(
    State(state): State<AppState>,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Json<crate::domain::report::Report>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (from, to) = period(&q, state.engine.now())?;
    Ok(Json(state.engine.report(from, to).await?))
}
