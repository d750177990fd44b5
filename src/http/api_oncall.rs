//! `/api/v1/oncall…`: who is on call now and next, and overrides.

use super::AppState;
use super::calendar;
use super::error::ApiError;
use super::json::ApiJson;
use crate::domain::Actor;
use crate::domain::token::Scope;
use crate::engine::oncall::{OncallError, OverrideRequest, ScheduleNow};
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// How many days of shifts `GET /api/v1/oncall/{schedule}` lists by default.
const SHIFT_DAYS: i64 = 7;
/// The longest shift listing one request may ask for.
const MAX_SHIFT_DAYS: i64 = 366;

/// The routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    let read = Router::new()
        .route("/oncall", get(list))
        .route("/oncall/people/{id}", get(person))
        .route("/oncall/{schedule}", get(show))
        .route("/oncall/{schedule}/overrides", get(overrides))
        .route_layer(super::scope::require(Scope::IncidentsRead));
    let write = Router::new()
        .route("/oncall/{schedule}/overrides", post(add_override))
        .route("/oncall/{schedule}/overrides/{id}", delete(remove_override))
        .route_layer(super::scope::require(Scope::IncidentsWrite));
    read.merge(write)
}

impl From<OncallError> for ApiError {
    fn from(e: OncallError) -> ApiError {
        match e {
            OncallError::UnknownSchedule(_) | OncallError::NoOverride(_) => {
                ApiError::not_found(e.to_string())
            }
            OncallError::UnknownPerson(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!("person: {e}"),
            ),
            OncallError::Invalid { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                e.to_string(),
            ),
            OncallError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            OncallError::Store(s) => s.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AtQuery {
    at: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// An RFC 3339 time from a query or body field; 400 naming the field.
fn time(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|r| {
        DateTime::parse_from_rfc3339(r.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "{field}: `{r}` is not an RFC 3339 time like 2026-12-01T09:00:00Z"
                ))
            })
    })
    .transpose()
}

fn query(q: Result<Query<AtQuery>, QueryRejection>) -> Result<AtQuery, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// One schedule as the API shows it: `next` entries carry `person` (the first) and `people`.
fn schedule_json(state: &AppState, s: &ScheduleNow) -> Value {
    let next: Vec<Value> = s
        .next
        .iter()
        .map(|h| json!({"at": h.at, "person": h.people.first(), "people": h.people}))
        .collect();
    json!({
        "name": s.name,
        "timezone": s.timezone,
        "on_call": s.on_call,
        "source": s.source,
        "until": s.until,
        "next": next,
        "calendar": calendar::schedule_url(&state.config, &s.name),
    })
}

async fn list(
    State(state): State<AppState>,
    q: Result<Query<AtQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let at = time("at", q.at.as_deref())?.unwrap_or_else(|| state.engine.now());
    let all = state.engine.oncall_status(None, at).await?;
    let schedules: Vec<Value> = all.iter().map(|s| schedule_json(&state, s)).collect();
    Ok(Json(json!({"at": at, "schedules": schedules})))
}

fn name_path(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(n)| n)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<AtQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let name = name_path(path)?;
    let q = query(q)?;
    let at = time("at", q.at.as_deref())?.unwrap_or_else(|| state.engine.now());
    let from = time("from", q.from.as_deref())?.unwrap_or(at);
    let to = time("to", q.to.as_deref())?.unwrap_or(from + Duration::days(SHIFT_DAYS));
    if to <= from || to - from > Duration::days(MAX_SHIFT_DAYS) {
        return Err(ApiError::bad_request(
            "to: must be after `from` and at most 366 days later",
        ));
    }
    let status = state.engine.oncall_status(Some(&name), at).await?;
    let shifts = state.engine.schedule_shifts(&name, from, to).await?;
    let overrides = state.engine.current_overrides(&name).await?;
    let mut body = status
        .first()
        .map(|s| schedule_json(&state, s))
        .unwrap_or_default();
    body["shifts"] = json!(shifts);
    body["overrides"] = json!(overrides);
    Ok(Json(body))
}

async fn person(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = name_path(path)?;
    let p = state
        .engine
        .catalog()
        .directory()
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no person `{id}`")))?;
    Ok(Json(json!({
        "person": p.id,
        "calendar": calendar::person_url(&state.config, &p.id),
    })))
}

async fn overrides(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let name = name_path(path)?;
    let list = state.engine.current_overrides(&name).await?;
    Ok(Json(json!({"overrides": list})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    person: String,
    from: Option<String>,
    until: Option<String>,
    duration: Option<String>,
    reason: Option<String>,
}

async fn add_override(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<OverrideBody>,
) -> Result<Response, ApiError> {
    let name = name_path(path)?;
    let duration = body
        .duration
        .as_deref()
        .map(|d| {
            humantime::parse_duration(d.trim())
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "duration: `{d}` is not a duration like 4h, 30m or 2d"
                    ))
                })
        })
        .transpose()?;
    let req = OverrideRequest {
        person: body.person,
        from: time("from", body.from.as_deref())?,
        until: time("until", body.until.as_deref())?,
        duration,
        reason: body.reason,
    };
    let o = state.engine.add_override(&name, req, &actor).await?;
    Ok((StatusCode::CREATED, Json(json!(o))).into_response())
}

async fn remove_override(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path((name, raw)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = raw.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| {
        ApiError::bad_request(format!("override id `{raw}` is not a positive number"))
    })?;
    let removed = state.engine.remove_override(&name, id, &actor).await?;
    Ok(Json(json!(removed)))
}
