//! `GET /api/v1/alerts`, `GET /api/v1/alerts/groups` and `GET /api/v1/services`.

use super::AppState;
use super::error::ApiError;
use crate::domain::alert::AlertStatus;
use crate::domain::token::Scope;
use crate::store::AlertFilter;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The alert and catalog API routes (nested under `/api/v1`); they need `alerts:read`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(list))
        .route("/alerts/groups", get(groups))
        .route("/services", get(services))
        .route_layer(super::scope::require(Scope::AlertsRead))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    service: Option<String>,
    fingerprint: Option<String>,
    incident: Option<i64>,
    limit: Option<i64>,
}

/// Alerts, filtered by `status`, `service`, `fingerprint`, `incident`; `limit` (default 100, at most 1000).
async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<AlertStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("status: {e}")))?;
    let filter = AlertFilter {
        status,
        service: q.service,
        fingerprint: q.fingerprint,
        incident: q.incident,
        limit: q.limit.unwrap_or(100),
    };
    let alerts = state.engine.alerts(&filter).await?;
    Ok(Json(json!({ "alerts": alerts })))
}

/// Alert groups with their incident and timers.
async fn groups(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let groups = state.engine.alert_groups(1000).await?;
    Ok(Json(json!({ "groups": groups })))
}

/// The service catalog with each service's dependents and open incidents.
async fn services(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let catalog = state.engine.catalog();
    let mut open: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (service, id) in state.engine.open_incidents_by_service().await? {
        open.entry(service).or_default().push(id);
    }
    let services: Vec<Value> = catalog
        .services()
        .map(|s| {
            let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("dependents".into(), json!(catalog.dependents(&s.name)));
                o.insert(
                    "open_incidents".into(),
                    json!(open.get(&s.name).cloned().unwrap_or_default()),
                );
            }
            v
        })
        .collect();
    Ok(Json(json!({ "services": services })))
}
