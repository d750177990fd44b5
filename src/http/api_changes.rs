//! `/api/v1/changes…`, the gate, freezes, error budgets and the change risk report.

use super::AppState;
use super::auth::Grant;
use super::error::ApiError;
use super::json::ApiJson;
use super::params::api_incident_id;
use super::scope;
use crate::domain::Actor;
use crate::domain::change::{ChangeKind, ChangeStatus, parse_ref};
use crate::domain::token::Scope;
use crate::engine::{EngineError, GateOverride, Recorded, Unfreeze};
use crate::ingest::changes as native;
use crate::store::ChangeFilter;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// The routes under `/api/v1`: reads and the gate need `changes:read`, changes `changes:write`, the change
/// risk report `reports:read`.
pub fn routes() -> Router<AppState> {
    let read = Router::new()
        .route("/changes", get(list))
        .route("/changes/gate", post(gate))
        .route("/changes/freezes", get(freezes))
        .route("/changes/{id}", get(show))
        .route("/incidents/{id}/changes", get(linked))
        .route_layer(scope::require(Scope::ChangesRead));
    let write = Router::new()
        .route("/changes", post(create))
        .route("/changes/freezes", post(add_freeze))
        .route("/changes/freezes/{id}", axum::routing::delete(lift_freeze))
        .route("/changes/unfreeze", post(unfreeze))
        .route("/changes/{id}", patch(update))
        .route("/changes/{id}/approve", post(approve))
        .route("/services/{name}/error-budget", put(budget))
        .route("/incidents/{id}/correlate", post(correlate))
        .route_layer(scope::require(Scope::ChangesWrite));
    let reports = Router::new()
        .route("/reports/changes", get(report))
        .route_layer(scope::require(Scope::ReportsRead));
    read.merge(write).merge(reports)
}

fn change_id(raw: &str) -> Result<i64, ApiError> {
    parse_ref(raw)
        .ok_or_else(|| ApiError::bad_request(format!("change id `{raw}` is not like chg-42 or 42")))
}

fn bad_field(e: EngineError) -> ApiError {
    match e {
        EngineError::Invalid { field, message } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("{field}: {message}"),
        ),
        e => e.into(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    service: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = q
        .status
        .map(|s| {
            s.parse::<ChangeStatus>()
                .map_err(|e| ApiError::bad_request(format!("status: {e}")))
        })
        .transpose()?;
    let filter = ChangeFilter {
        service: q.service,
        status,
        limit: q.limit.unwrap_or(50),
    };
    let changes = state.engine.changes(&filter).await?;
    Ok(Json(json!({ "changes": changes })))
}

async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let report = native::parse(&body, "api")
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", e.to_string()))?;
    match state
        .engine
        .record_change(report, &who)
        .await
        .map_err(bad_field)?
    {
        Recorded::Created(c) => Ok((StatusCode::CREATED, Json(json!(c))).into_response()),
        Recorded::Updated(c) | Recorded::Unchanged(c) => Ok(Json(json!(c)).into_response()),
        Recorded::Duplicate => Ok(Json(json!({"result": "duplicate"})).into_response()),
    }
}

async fn show(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = change_id(&raw)?;
    let (change, history) = state
        .engine
        .change_with_history(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("change {raw} not found")))?;
    Ok(Json(json!({"change": change, "history": history})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: ChangeStatus,
    note: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Extension(who): Extension<Actor>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    let id = change_id(&raw)?;
    let c = state
        .engine
        .set_change_status(id, body.status, &who, body.note.as_deref())
        .await
        .map_err(bad_field)?;
    Ok(Json(json!(c)))
}

async fn approve(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Extension(who): Extension<Actor>,
) -> Result<Json<Value>, ApiError> {
    let c = state
        .engine
        .approve_change(change_id(&raw)?, &who)
        .await
        .map_err(bad_field)?;
    Ok(Json(json!(c)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    /// Accepted for old clients; the override is made by the caller, and a different name is refused.
    by: Option<String>,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GateBody {
    service: String,
    kind: Option<String>,
    #[serde(rename = "override")]
    override_: Option<OverrideBody>,
}

async fn gate(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    grant: Option<Extension<Grant>>,
    ApiJson(body): ApiJson<GateBody>,
) -> Result<Json<Value>, ApiError> {
    if body.override_.is_some() {
        // Asking the gate is a read; overriding it is a change.
        scope::ensure(grant.as_ref().map(|Extension(g)| g), Scope::ChangesWrite)?;
    }
    let kind = body
        .kind
        .map(|k| {
            k.parse::<ChangeKind>()
                .map_err(|e| ApiError::bad_request(format!("kind: {e}")))
        })
        .transpose()?;
    if let Some(o) = &body.override_ {
        if o.reason.trim().is_empty() {
            return Err(ApiError::bad_request("override.reason: must not be empty"));
        }
        if let Some(by) = o.by.as_deref().map(|b| b.trim().trim_start_matches('@'))
            && !by.eq_ignore_ascii_case(&who.id)
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "override.by: `{by}` is not the caller ({}); an override is made by whoever calls, so leave `by` out",
                    who.id
                ),
            ));
        }
    }
    let o = body.override_.map(|o| GateOverride {
        by: who.clone(),
        reason: o.reason,
    });
    let answer = state
        .engine
        .gate(&body.service, kind, o)
        .await
        .map_err(bad_field)?;
    Ok(Json(json!(answer)))
}

async fn freezes(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"freezes": state.engine.active_freezes().await?}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreezeBody {
    scope: String,
    duration: String,
    reason: String,
}

async fn add_freeze(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    ApiJson(body): ApiJson<FreezeBody>,
) -> Result<Response, ApiError> {
    let d = humantime::parse_duration(&body.duration).map_err(|_| {
        ApiError::bad_request(format!(
            "duration: `{}` is not like 30m, 2h, 1d",
            body.duration
        ))
    })?;
    let f = state
        .engine
        .freeze(&body.scope, d, &body.reason, &who, None)
        .await
        .map_err(bad_field)?;
    Ok((StatusCode::CREATED, Json(json!(f))).into_response())
}

async fn lift_freeze(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = raw
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::bad_request(format!("freeze id `{raw}` is not a number")))?;
    let lifted = state
        .engine
        .unfreeze(&Unfreeze::Id(id), &who, None)
        .await
        .map_err(bad_field)?;
    Ok(Json(json!({ "lifted": lifted })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnfreezeBody {
    scope: String,
}

async fn unfreeze(
    State(state): State<AppState>,
    Extension(who): Extension<Actor>,
    ApiJson(body): ApiJson<UnfreezeBody>,
) -> Result<Json<Value>, ApiError> {
    let target = Unfreeze::parse(&body.scope).map_err(bad_field)?;
    let lifted = state
        .engine
        .unfreeze(&target, &who, None)
        .await
        .map_err(bad_field)?;
    Ok(Json(json!({ "lifted": lifted })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetBody {
    remaining: f64,
}

async fn budget(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Extension(who): Extension<Actor>,
    ApiJson(body): ApiJson<BudgetBody>,
) -> Result<Json<Value>, ApiError> {
    state
        .engine
        .set_error_budget(&name, body.remaining, &who)
        .await
        .map_err(bad_field)?;
    Ok(Json(json!({"service": name, "remaining": body.remaining})))
}

async fn linked(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = api_incident_id(&raw)?;
    state.engine.incident(id).await?;
    Ok(Json(
        json!({"changes": state.engine.linked_changes(id).await?}),
    ))
}

async fn correlate(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = api_incident_id(&raw)?;
    Ok(Json(json!({"suspects": state.engine.correlate(id).await?})))
}

#[derive(Deserialize)]
struct ReportQuery {
    days: Option<i64>,
}

async fn report(
    State(state): State<AppState>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let days = q.days.unwrap_or(90);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::bad_request("days: must be between 1 and 3650"));
    }
    Ok(Json(json!(state.engine.change_report(days).await?)))
}
