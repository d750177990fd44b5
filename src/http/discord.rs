//! `POST /discord/interactions`: verify the Ed25519 signature and its age → parse → the Discord
//! adapter answers within Discord's 3 s (or defers).

use super::AppState;
use super::error::ApiError;
use crate::chat::discord::interaction::Interaction;
use crate::chat::discord::{interactions, verify};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// `/discord/interactions`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/discord/interactions", post(interactions_endpoint))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Refuses (401, nothing recorded) anything not signed with the application's key within 5 minutes.
fn check(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let Some(key) = state.config.discord.public_key.as_deref() else {
        return Err(ApiError::not_found(
            "Discord is not configured on this warroom (discord.public_key)",
        ));
    };
    let now = state.engine.now().timestamp();
    verify::PublicKey::from_hex(key)
        .and_then(|k| {
            k.verify(
                header(headers, "x-signature-timestamp"),
                header(headers, "x-signature-ed25519"),
                body,
                now,
            )
        })
        .map_err(|e| {
            tracing::warn!(reason = %e, "refused a Discord interaction");
            metrics::counter!("warroom_discord_refused_total").increment(1);
            ApiError::unauthorized(format!("Discord signature check failed: {e}"))
        })
}

#[tracing::instrument(name = "discord.interactions", skip_all, fields(interaction = tracing::field::Empty, kind = tracing::field::Empty))]
async fn interactions_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, &headers, &body)?;
    let interaction = Interaction::parse(&body)
        .map_err(|e| ApiError::bad_request(format!("interaction body: {e}")))?;
    let span = tracing::Span::current();
    span.record("interaction", interaction.id.as_str());
    span.record("kind", interaction.kind);
    let answer = interactions::handle(&state.engine, interaction).await?;
    Ok(Json(answer).into_response())
}
