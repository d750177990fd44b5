//! The HTTP surface: verify, parse, call the engine, map the result. No business rules here.

mod api_alerts;
mod api_audit;
mod api_changes;
mod api_heartbeats;
mod api_incidents;
mod api_insights;
mod api_oncall;
mod api_outbox;
mod api_pages;
mod api_people;
mod api_postmortem;
mod api_reports;
mod auth;
mod calendar;
mod discord;
pub mod error;
mod hardening;
mod hooks;
mod hooks_changes;
mod hooks_heartbeat;
mod host;
pub mod json;
mod ops;
mod origin;
mod outage;
mod params;
pub mod peer;
mod redirect;
mod scope;
pub mod serve;
pub mod session;
mod signin;
mod slack;
mod stream_guard;
mod web;
mod web_pages;
mod web_postmortem;
mod web_postmortem_edit;
mod web_reports;
mod web_status;

use crate::config::Config;
use crate::engine::Engine;
use crate::render::Renderer;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The use-cases.
    pub engine: Engine,
    /// The configuration.
    pub config: Arc<Config>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Page and message templates.
    pub renderer: Arc<Renderer>,
    /// The Slack Web API client, when Slack is configured (for the inline `views.open` only).
    pub slack: Option<crate::chat::slack::SlackClient>,
    /// `server.trusted_proxies`, parsed once: whose forwarded headers count.
    pub trusted_proxies: peer::TrustedProxies,
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let api = api_incidents::routes()
        .merge(api_changes::routes())
        .merge(api_postmortem::routes())
        .merge(api_reports::routes())
        .merge(api_insights::routes())
        .merge(api_alerts::routes())
        .merge(api_people::routes())
        .merge(api_audit::routes())
        .merge(api_outbox::routes())
        .merge(api_oncall::routes())
        .merge(api_pages::routes())
        .merge(api_heartbeats::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::api_caller,
        ));
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .nest("/api/v1", api)
        .merge(
            web::routes()
                .merge(web_postmortem::routes())
                .merge(web_reports::routes())
                .merge(web_postmortem_edit::routes())
                .merge(web_pages::routes())
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    session::require_web_user,
                )),
        )
        .merge(signin::routes())
        .merge(web_status::routes())
        .merge(calendar::routes(state.clone()))
        .merge(hooks_changes::routes())
        .merge(slack::routes())
        .merge(discord::routes())
        .merge(hooks::routes())
        .merge(hooks_heartbeat::routes())
        .merge(api_pages::hook_routes())
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::refuse_cross_site,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            host::allowed_host,
        ))
        .layer(axum::Extension(stream_guard::StreamLimits::new(
            state.config.server.max_streams,
            state.config.server.max_streams_per_client,
        )))
        .layer(axum::middleware::from_fn(ops::track_requests))
        .layer(DefaultBodyLimit::max(state.config.server.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.server.request_timeout_secs),
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.config.server.max_body_bytes,
            hardening::json_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.config.server.max_body_bytes,
            hardening::body_limit,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            hardening::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            hardening::form_targets(&state.config),
            hardening::security_headers,
        ))
        .with_state(state)
}
