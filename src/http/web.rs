//! The built-in web war room: board, room page, messages and commands, and the live stream.

use super::AppState;
use super::error::ApiError;
use super::params::page_incident_path;
use super::session::WebUser;
use crate::domain::console::BoardFilter;
use crate::domain::{Actor, IncidentType, Severity};
use crate::engine::{CommandContext, Declare};
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use futures::Stream;
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;

const NAME_COOKIE: &str = "warroom_name";

/// The web routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(board))
        .route("/stream", get(board_stream))
        .route("/name", post(set_name))
        .route("/incidents", post(declare))
        .route("/incidents/{id}", get(room))
        .route("/incidents/{id}/messages", post(say))
        .route("/incidents/{id}/stream", get(stream))
        .route("/incidents/{id}/timeline.svg", get(timeline_svg))
}

/// The display name kept in the cookie, if valid.
fn name_of(jar: &CookieJar) -> Option<String> {
    jar.get(NAME_COOKIE)
        .map(|c| c.value().to_string())
        .and_then(|n| valid_name(&n))
}

/// Who acts in the web room: the signed-in person, else (trusted-host mode) the chosen display name.
pub(super) fn web_actor(user: &WebUser, jar: &CookieJar) -> Option<Actor> {
    user.actor()
        .or_else(|| name_of(jar).map(|n| Actor::named(&n, &n, "web")))
}

/// What every page shows of its user: `name` (the actor id), `user` when signed in, and `csrf`.
pub(super) fn who(user: &WebUser, jar: &CookieJar) -> minijinja::Value {
    let actor = web_actor(user, jar);
    let signed = user.actor().map(|a| {
        minijinja::context! { id => a.id, name => a.name, guest => a.is_guest() }
    });
    minijinja::context! { name => actor.map(|a| a.id), user => signed, csrf => user.csrf() }
}

fn valid_name(raw: &str) -> Option<String> {
    let n = raw.trim();
    let ok = !n.is_empty()
        && n.chars().count() <= 40
        && !n.chars().any(|c| c.is_control() || c == ';' || c == ',');
    ok.then(|| n.to_string())
}

pub(super) fn page(state: &AppState, template: &str, ctx: minijinja::Value) -> Response {
    match state.renderer.render(template, ctx) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, template, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
        }
    }
}

/// The board's query: `scope=open|all`, `severity=P0…P3`, `service=NAME`, `mine=1`.
#[derive(Deserialize, Default)]
struct BoardQuery {
    scope: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    mine: Option<String>,
}

impl BoardQuery {
    fn filter(&self) -> Result<BoardFilter, ApiError> {
        let all = match self.scope.as_deref().unwrap_or("open") {
            "open" => false,
            "all" => true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "scope: `{other}` is not one of open, all"
                )));
            }
        };
        let severity = match self.severity.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                s.parse::<Severity>()
                    .map_err(|e| ApiError::bad_request(format!("severity: {e}")))?,
            ),
            None => None,
        };
        Ok(BoardFilter {
            all,
            severity,
            service: self.service.clone().filter(|s| !s.is_empty()),
            mine: matches!(self.mine.as_deref(), Some("1" | "true" | "on")),
        })
    }
}

async fn board(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    query: Result<Query<BoardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = q.filter()?;
    let viewer = web_actor(&user, &jar);
    let board = state.engine.board(&filter, viewer.as_ref()).await?;
    let ctx = minijinja::context! {
        board => board,
        filter => minijinja::context! {
            all => filter.all, severity => filter.severity, service => filter.service, mine => filter.mine,
        },
        ..who(&user, &jar)
    };
    Ok(page(&state, "board.html", ctx))
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
    back: Option<String>,
}

async fn set_name(
    jar: CookieJar,
    form: Result<Form<NameForm>, FormRejection>,
) -> Result<(CookieJar, Redirect), ApiError> {
    let Form(form) = form.map_err(super::json::form_rejection)?;
    let name = valid_name(&form.name)
        .ok_or_else(|| ApiError::bad_request("name: 1 to 40 characters, no ; or ,"))?;
    let back = super::redirect::local_path(form.back.as_deref());
    let cookie = Cookie::build((NAME_COOKIE, name))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    Ok((jar.add(cookie), Redirect::to(&back)))
}

#[derive(Deserialize)]
struct DeclareForm {
    title: String,
    severity: Severity,
    #[serde(rename = "type")]
    kind: Option<IncidentType>,
    service: Option<String>,
}

async fn declare(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    form: Result<Form<DeclareForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let Form(form) = form.map_err(super::json::form_rejection)?;
    let actor = web_actor(&user, &jar).map_or_else(|| "web".into(), |a| a.id);
    let req = Declare {
        title: form.title,
        severity: form.severity,
        kind: form.kind.unwrap_or_default(),
        service: form.service,
    };
    let actor = crate::domain::Actor::named(&actor, &actor, "web");
    let incident = state.engine.declare(req, &actor).await?;
    Ok(Redirect::to(&format!("/incidents/{}", incident.id)))
}

async fn room(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = page_incident_path(path)?;
    let viewer = web_actor(&user, &jar);
    let room = state.engine.war_room(id, viewer.as_ref()).await?;
    let ctx = minijinja::context! { room => room, incident => room.incident, ..who(&user, &jar) };
    Ok(page(&state, "room.html", ctx))
}

/// The causal chain of the incident as SVG.
async fn timeline_svg(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = page_incident_path(path)?;
    let chain = state.engine.causal_chain(id).await?;
    match state.renderer.causal_chain_svg(&chain) {
        Ok(svg) => Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "image/svg+xml; charset=utf-8",
            )],
            svg,
        )
            .into_response()),
        Err(e) => {
            tracing::error!(error = %e, incident = id, "causal chain rendering failed");
            Ok((StatusCode::INTERNAL_SERVER_ERROR, "chart rendering failed").into_response())
        }
    }
}

#[derive(Deserialize)]
struct SayBody {
    text: String,
}

async fn say(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<SayBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let id = page_incident_path(path)?;
    let Json(body) = body.map_err(super::json::json_rejection)?;
    let actor = web_actor(&user, &jar)
        .ok_or_else(|| ApiError::unauthorized("set your name first (POST /name)"))?;
    let text = body.text.trim();
    if text.starts_with('/') {
        let ctx = CommandContext {
            actor: actor.clone(),
            incident_id: Some(id),
        };
        // The command's timeline event carries the reply: the room folds it in there.
        let reply = state.engine.run_command(text, &ctx).await?;
        return Ok(Json(json!({"ok": reply.ok, "reply": reply})).into_response());
    }
    let event = state
        .engine
        .record_message(id, "web", &actor.id, text, None, None)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"ok": true, "event": event})),
    )
        .into_response())
}

#[derive(Deserialize)]
struct StreamQuery {
    after_event: Option<i64>,
    after_post: Option<i64>,
}

async fn stream(
    State(state): State<AppState>,
    axum::Extension(limits): axum::Extension<super::stream_guard::StreamLimits>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    q: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = page_incident_path(path)?;
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if !state.engine.incident_exists(id).await? {
        return Err(ApiError::not_found(format!("incident {id} not found")));
    }
    let client = super::peer::client(peer.map(|c| c.0.0), &headers, &state.trusted_proxies);
    let permit = limits.acquire(client.ip)?;
    let engine = state.engine.clone();
    let mut wake = engine.hub().subscribe();
    let (mut after_event, mut after_post) = (q.after_event.unwrap_or(0), q.after_post.unwrap_or(0));
    let stream = async_stream::stream! {
        let _permit = permit;
        loop {
            match engine.room_update(id, after_event, after_post).await {
                Ok(Some(update)) => {
                    after_event = after_event.max(update.last_event);
                    after_post = after_post.max(update.last_post);
                    for item in update.items {
                        yield Ok(Event::default().event("item").json_data(&item).unwrap_or_default());
                    }
                    yield Ok(Event::default().event("incident").json_data(&update.incident).unwrap_or_default());
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, incident = id, "room stream read failed"),
            }
            // Woken by this replica's commits; the timeout catches other replicas' writes.
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Ok(changed) = wake.recv().await {
                    if changed == id { break; }
                }
            }).await;
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The board's live stream: a `changed` event whenever an incident is declared or changes.
async fn board_stream(
    State(state): State<AppState>,
    axum::Extension(limits): axum::Extension<super::stream_guard::StreamLimits>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let client = super::peer::client(peer.map(|c| c.0.0), &headers, &state.trusted_proxies);
    let permit = limits.acquire(client.ip)?;
    let engine = state.engine.clone();
    let mut wake = engine.hub().subscribe();
    let mut seen = engine.board_stamp().await?;
    let stream = async_stream::stream! {
        let _permit = permit;
        loop {
            // Woken by this replica's commits; the timeout catches other replicas' writes.
            let _ = tokio::time::timeout(Duration::from_secs(3), wake.recv()).await;
            match engine.board_stamp().await {
                Ok(now) if now != seen => {
                    seen = now;
                    yield Ok(Event::default().event("changed").data(now.1.to_string()));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "board stream read failed"),
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
