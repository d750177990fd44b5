//! Liveness, readiness, metrics, request accounting and the 404 fallback.

use super::AppState;
use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers and every migration is applied.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.engine.readiness().await {
        Ok(true) => (StatusCode::OK, "ready").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text, with incident and outbox gauges read at scrape time.
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(counts) = state.engine.incident_counts().await {
        for status in crate::domain::Status::ALL {
            let n = counts
                .iter()
                .find(|(s, _)| *s == status)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            metrics::gauge!("warroom_incidents", "status" => status.as_str()).set(n as f64);
        }
    }
    if let Ok(counts) = state.engine.outbox_counts().await {
        metrics::gauge!("warroom_outbox_pending").set(counts.pending as f64);
        metrics::gauge!("warroom_outbox_retrying").set(counts.retrying as f64);
        metrics::gauge!("warroom_outbox_failed").set(counts.failed as f64);
    }
    if let Ok(heartbeats) = state.engine.heartbeats().await {
        for hb in heartbeats {
            let up = hb.status == crate::domain::heartbeat::Status::Ok;
            metrics::gauge!("warroom_heartbeat_up", "heartbeat" => hb.name.clone()).set(if up {
                1.0
            } else {
                0.0
            });
            if let Some(t) = hb.last_beat {
                metrics::gauge!("warroom_heartbeat_last_beat_timestamp_seconds", "heartbeat" => hb.name)
                    .set(t.timestamp_millis() as f64 / 1000.0);
            }
        }
    }
    if let Ok(counts) = state.engine.job_counts().await {
        metrics::gauge!("warroom_jobs_pending").set(counts.pending as f64);
        metrics::gauge!("warroom_jobs_retrying").set(counts.retrying as f64);
        metrics::gauge!("warroom_jobs_failed").set(counts.failed as f64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Counts and times every request by route and status, inside a tracing span.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = route_label(&req);
    let span = tracing::info_span!("http.request", %method, route = %route);
    let response = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let status = response.status().as_u16().to_string();
    let elapsed = start.elapsed().as_secs_f64();
    metrics::counter!("warroom_http_requests_total", "method" => method.to_string(), "route" => route.clone(),
        "status" => status.clone())
    .increment(1);
    metrics::histogram!("warroom_http_request_duration_seconds", "route" => route).record(elapsed);
    tracing::debug!(parent: &span, status = %status, elapsed_ms = elapsed * 1000.0, "request done");
    response
}

/// Unknown paths.
pub async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

/// The label for every request that matched no route (a bounded label set whatever clients send).
pub const UNMATCHED: &str = "(unmatched)";

/// The route template (`/api/v1/incidents/{id}`), never the raw path.
fn route_label(req: &Request) -> String {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.to_string())
}
