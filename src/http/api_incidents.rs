//! `/api/v1/incidents…`: list, create, get, update, timeline, notes.

use super::AppState;
use super::error::ApiError;
use super::json::ApiJson;
use super::params::api_incident_path;
use super::scope;
use crate::domain::token::Scope;
use crate::domain::{Actor, EventKind, IncidentType, Role, Severity, Status, TimelineEvent};
use crate::engine::{Declare, Patch};
use crate::store::IncidentFilter;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The routes under `/api/v1`: reads need `incidents:read`, changes `incidents:write`.
pub fn routes() -> Router<AppState> {
    let read = Router::new()
        .route("/incidents", get(list))
        .route("/incidents/{id}", get(show))
        .route("/incidents/{id}/timeline", get(timeline))
        .route_layer(scope::require(Scope::IncidentsRead));
    let write = Router::new()
        .route("/incidents", post(create))
        .route("/incidents/{id}", patch(update))
        .route("/incidents/{id}/timeline", post(add_note))
        .route_layer(scope::require(Scope::IncidentsWrite));
    read.merge(write)
}

fn parse_list<T: std::str::FromStr>(field: &str, raw: Option<&str>) -> Result<Vec<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| ApiError::bad_request(format!("{field}: {e}")))
        })
        .collect()
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut statuses: Vec<Status> = Vec::new();
    for s in parse_list::<String>("status", q.status.as_deref())? {
        if s == "open" {
            statuses.extend(Status::ALL.into_iter().filter(|s| s.is_open()));
        } else {
            statuses.push(
                s.parse()
                    .map_err(|e| ApiError::bad_request(format!("status: {e}")))?,
            );
        }
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit: must be between 1 and 500"));
    }
    let filter = IncidentFilter {
        statuses,
        severities: parse_list("severity", q.severity.as_deref())?,
        service: q.service.filter(|s| !s.is_empty()),
        before_id: q.before,
        limit,
    };
    let incidents = state.engine.incidents(&filter).await?;
    let next = (incidents.len() as i64 == limit)
        .then(|| incidents.last().map(|i| i.id))
        .flatten();
    Ok(Json(json!({"incidents": incidents, "next": next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    severity: Severity,
    service: Option<String>,
    #[serde(rename = "type")]
    kind: Option<IncidentType>,
}

async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let req = Declare {
        title: body.title,
        severity: body.severity,
        kind: body.kind.unwrap_or_default(),
        service: body.service,
    };
    let incident = state.engine.declare(req, &who).await?;
    let location = format!("/api/v1/incidents/{}", incident.id);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(incident),
    ))
}

async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = api_incident_path(path)?;
    let incident = state.engine.incident(id).await?;
    let mut value = serde_json::to_value(&incident).unwrap_or_default();
    value["mtta_seconds"] = json!(incident.mtta().map(|d| d.num_seconds()));
    value["mttr_seconds"] = json!(incident.mttr().map(|d| d.num_seconds()));
    value["action_items"] = json!(state.engine.action_items(id).await?);
    Ok(Json(value))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    status: Option<Status>,
    severity: Option<Severity>,
    roles: Option<BTreeMap<Role, Option<String>>>,
}

async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let id = api_incident_path(path)?;
    if body.status.is_none()
        && body.severity.is_none()
        && body.roles.as_ref().is_none_or(|r| r.is_empty())
    {
        return Err(ApiError::bad_request(
            "nothing to change: give status, severity or roles",
        ));
    }
    let patch = Patch {
        status: body.status,
        severity: body.severity,
        roles: body.roles.unwrap_or_default(),
    };
    let applied = state.engine.patch(id, patch, &who).await?;
    Ok(Json(
        serde_json::to_value(&applied.incident).unwrap_or_default(),
    ))
}

#[derive(Deserialize)]
struct TimelineQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn timeline(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<TimelineQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = api_incident_path(path)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit: must be between 1 and 1000"));
    }
    let events: Vec<TimelineEvent> = state
        .engine
        .timeline_page(id, q.after.unwrap_or(0), limit)
        .await?;
    let next = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(Json(json!({"events": events, "next": next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

async fn add_note(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<NoteBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = api_incident_path(path)?;
    let applied = state
        .engine
        .add_text(id, EventKind::Note, &body.text, &who)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(applied.events.first()))))
}
