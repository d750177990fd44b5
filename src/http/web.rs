//! The built-in web war room: board, room page, messages and commands, and the live stream.

use super::AppState;
use super::error::ApiError;
use super::params::page_incident_path;
use super::session::WebUser;
use crate::domain::{Actor, IncidentType, Severity, TimelineEvent};
use crate::engine::{CommandContext, Declare};
use crate::store::{IncidentFilter, RoomPost};
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
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;

const NAME_COOKIE: &str = "warroom_name";

/// The web routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(board))
        .route("/name", post(set_name))
        .route("/incidents", post(declare))
        .route("/incidents/{id}", get(room))
        .route("/incidents/{id}/messages", post(say))
        .route("/incidents/{id}/stream", get(stream))
}

/// One line of the room: a timeline event or a bot post.
#[derive(Serialize)]
struct RoomItem {
    key: String,
    id: i64,
    kind: String,
    at: String,
    actor: Option<String>,
    text: Option<String>,
}

impl From<&TimelineEvent> for RoomItem {
    fn from(e: &TimelineEvent) -> RoomItem {
        RoomItem {
            key: format!("e{}", e.id),
            id: e.id,
            kind: e.kind.to_string(),
            at: e.at.to_rfc3339(),
            actor: e.actor.clone(),
            text: e.text.clone(),
        }
    }
}

impl From<&RoomPost> for RoomItem {
    fn from(p: &RoomPost) -> RoomItem {
        RoomItem {
            key: format!("p{}", p.id),
            id: p.id,
            kind: "bot".into(),
            at: p.posted_at.to_rfc3339(),
            actor: Some("warroom".into()),
            text: Some(p.text.clone()),
        }
    }
}

/// The display name kept in the cookie, if valid.
fn name_of(jar: &CookieJar) -> Option<String> {
    jar.get(NAME_COOKIE)
        .map(|c| c.value().to_string())
        .and_then(|n| valid_name(&n))
}

/// Who acts in the web room: the signed-in person, else (trusted-host mode) the chosen display name.
fn web_actor(user: &WebUser, jar: &CookieJar) -> Option<Actor> {
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

async fn board(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    let filter = IncidentFilter {
        limit: 200,
        ..IncidentFilter::default()
    };
    let incidents = state.engine.incidents(&filter).await?;
    let ctx = minijinja::context! { incidents => incidents, ..who(&user, &jar) };
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
    let (incident, events, posts) = state.engine.room_view(id, "web").await?;
    let (items, last_event, last_post) = merge(&events, &posts);
    let ctx = minijinja::context! {
        incident => incident, items => items, last_event => last_event, last_post => last_post,
        ..who(&user, &jar)
    };
    Ok(page(&state, "room.html", ctx))
}

/// Events and posts in time order, with the cursors after them.
fn merge(events: &[TimelineEvent], posts: &[RoomPost]) -> (Vec<RoomItem>, i64, i64) {
    let mut items: Vec<(chrono::DateTime<chrono::Utc>, RoomItem)> = events
        .iter()
        .map(|e| (e.recorded_at, RoomItem::from(e)))
        .chain(posts.iter().map(|p| (p.posted_at, RoomItem::from(p))))
        .collect();
    items.sort_by_key(|(t, _)| *t);
    let last_event = events.last().map(|e| e.id).unwrap_or(0);
    let last_post = posts.last().map(|p| p.id).unwrap_or(0);
    (
        items.into_iter().map(|(_, i)| i).collect(),
        last_event,
        last_post,
    )
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
        let reply = state.engine.run_command_in_room(text, &ctx, "web").await?;
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
    state.engine.incident(id).await?;
    let client = super::peer::client(peer.map(|c| c.0.0), &headers, &state.trusted_proxies);
    let permit = limits.acquire(client.ip)?;
    let engine = state.engine.clone();
    let mut wake = engine.hub().subscribe();
    let (mut after_event, mut after_post) = (q.after_event.unwrap_or(0), q.after_post.unwrap_or(0));
    let stream = async_stream::stream! {
        let _permit = permit;
        loop {
            let (events, posts) = engine
                .room_updates(id, "web", after_event, after_post)
                .await
                .unwrap_or_default();
            if !events.is_empty() || !posts.is_empty() {
                let (items, last_event, last_post) = merge(&events, &posts);
                after_event = after_event.max(last_event);
                after_post = after_post.max(last_post);
                for item in items {
                    yield Ok(Event::default().event("item").json_data(&item).unwrap_or_default());
                }
                if let Ok(incident) = engine.incident(id).await {
                    yield Ok(Event::default().event("incident").json_data(&incident).unwrap_or_default());
                }
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
