//! `GET /reports`: the report and the insights charts over a chosen period; `GET /reports/{chart}`
//! one chart as SVG (default), JSON or CSV (`?format=`), for the browser without an API token.

use super::AppState;
use super::api_reports::{PeriodQuery, period};
use super::error::ApiError;
use super::session::WebUser;
use super::web::{page, who};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// The routes of these pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(reports_page))
        .route("/reports/{chart}", get(chart))
}

/// `?format=`.
#[derive(Deserialize, Default)]
pub(super) struct ChartFormat {
    pub format: Option<String>,
}

/// A chart as the page shows it: its data and its SVG.
#[derive(Serialize)]
struct ChartCard {
    chart: crate::domain::chart::Chart,
    svg: String,
}

fn svg(state: &AppState, chart: &crate::domain::chart::Chart) -> Result<String, ApiError> {
    state.renderer.chart_svg(chart).map_err(|e| {
        tracing::error!(error = %e, chart = %chart.id, "chart template failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "template",
            format!("the chart_svg.html template failed: {e}"),
        )
    })
}

/// A chart as JSON, CSV or (when `svg_allowed`) SVG.
pub(super) fn chart_response(
    state: &AppState,
    chart: crate::domain::chart::Chart,
    format: Option<&str>,
    svg_allowed: bool,
) -> Result<Response, ApiError> {
    match format {
        Some("json") => Ok(Json(chart).into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}.csv\"", chart.id),
                ),
            ],
            chart.to_csv(),
        )
            .into_response()),
        Some("svg") | None if svg_allowed => Ok((
            [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
            svg(state, &chart)?,
        )
            .into_response()),
        None => Ok(Json(chart).into_response()),
        Some(other) => {
            let allowed = if svg_allowed {
                "svg, json, csv"
            } else {
                "json, csv"
            };
            Err(ApiError::bad_request(format!(
                "format: `{other}` is not one of {allowed}"
            )))
        }
    }
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
    chart_response(&state, chart, f.format.as_deref(), true)
}

async fn reports_page(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    query: Result<Query<PeriodQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (from, to) = period(&q, state.engine.now())?;
    let report = state.engine.report(from, to).await?;
    let mut charts = Vec::new();
    for chart in state.engine.insights(from, to).await? {
        let svg = svg(&state, &chart)?;
        charts.push(ChartCard { chart, svg });
    }
    let last_day = to - Duration::milliseconds(1);
    let from_date = from.format("%Y-%m-%d").to_string();
    let to_date = last_day.format("%Y-%m-%d").to_string();
    let presets: Vec<(String, String, i64)> = [7, 30, 90]
        .into_iter()
        .map(|days| {
            let start = (to - Duration::days(days)).format("%Y-%m-%d").to_string();
            (start, to_date.clone(), days)
        })
        .collect();
    let ctx = minijinja::context! {
        report => report,
        charts => charts,
        presets => presets,
        query => format!("from={from_date}&to={to_date}"),
        from_date => from_date,
        to_date => to_date,
        ..who(&user, &jar)
    };
    Ok(page(&state, "reports.html", ctx))
}
