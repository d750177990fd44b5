//! `GET /api/v1/incidents/{id}/postmortem?format=md|json`: the draft as JSON or Markdown.

use super::AppState;
use super::error::ApiError;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

/// The routes under `/api/v1`; they need `incidents:read`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/postmortem", get(postmortem))
        .route_layer(super::scope::require(
            crate::domain::token::Scope::IncidentsRead,
        ))
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

async fn postmortem(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<FormatQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = super::params::api_incident_path(path)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let format = q.format.unwrap_or_else(|| "json".into());
    if format != "json" && format != "md" {
        return Err(ApiError::bad_request(format!(
            "format: `{format}` is not one of md, json"
        )));
    }
    let pm = state.engine.postmortem(id).await?;
    if format == "json" {
        return Ok(Json(pm).into_response());
    }
    match state.renderer.postmortem_markdown(&pm) {
        Ok(md) => {
            Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, incident = id, "postmortem template failed");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "template",
                format!("the postmortem.md template failed: {e}"),
            ))
        }
    }
}
