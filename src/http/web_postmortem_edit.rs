//! The postmortem page's edits: a reviewer's sections and the action items, saved from plain HTML
//! forms (the session layer checks their CSRF field; the engine checks the permission).

use super::AppState;
use super::error::ApiError;
use super::session::WebUser;
use super::web::web_actor;
use crate::domain::Actor;
use crate::domain::postmortem_review::Section;
use crate::engine::ActionEdit;
use axum::Router;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Extension, Form, Path, State};
use axum::response::Redirect;
use axum::routing::post;
use axum_extra::extract::CookieJar;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

/// The routes of these forms.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/incidents/{id}/postmortem/sections", post(save_section))
        .route("/incidents/{id}/postmortem/actions", post(add_action))
        .route(
            "/incidents/{id}/postmortem/actions/{item}",
            post(edit_action),
        )
}

fn actor(user: &WebUser, jar: &CookieJar) -> Result<Actor, ApiError> {
    web_actor(user, jar).ok_or_else(|| ApiError::unauthorized("set your name first (POST /name)"))
}

fn back(id: i64, anchor: &str) -> Redirect {
    Redirect::to(&format!("/incidents/{id}/postmortem#{anchor}"))
}

/// A due date from the form: `YYYY-MM-DD` (the start of that day, UTC) or an RFC 3339 time; empty = none.
fn due(raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| ApiError::bad_request(format!("due: `{raw}` is not a date (YYYY-MM-DD)")))
}

#[derive(Deserialize)]
struct SectionForm {
    section: String,
    #[serde(default)]
    text: String,
}

async fn save_section(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<SectionForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let id = super::params::page_incident_path(path)?;
    let Form(form) = form.map_err(super::json::form_rejection)?;
    let section: Section =
        form.section
            .parse()
            .map_err(|e: crate::domain::postmortem_review::UnknownSection| {
                ApiError::bad_request(format!("section: {e}"))
            })?;
    let who = actor(&user, &jar)?;
    state
        .engine
        .save_postmortem_section(id, section, &form.text, &who)
        .await?;
    Ok(back(id, &format!("pm-{}", section.as_str())))
}

#[derive(Deserialize)]
struct ActionForm {
    text: String,
    owner: Option<String>,
    due: Option<String>,
    status: Option<String>,
}

async fn add_action(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let id = super::params::page_incident_path(path)?;
    let Form(form) = form.map_err(super::json::form_rejection)?;
    let who = actor(&user, &jar)?;
    let owner = form
        .owner
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    let due_at = due(form.due.as_deref())?;
    state
        .engine
        .add_action_item(id, &form.text, owner, due_at, &who)
        .await?;
    Ok(back(id, "pm-actions"))
}

async fn edit_action(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Result<Redirect, ApiError> {
    let Path((raw_id, raw_item)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = raw_id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no incident `{raw_id}`")))?;
    let item = raw_item
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no action item `{raw_item}`")))?;
    let Form(form) = form.map_err(super::json::form_rejection)?;
    let who = actor(&user, &jar)?;
    let edit = ActionEdit {
        text: Some(form.text),
        owner: Some(form.owner.filter(|o| !o.trim().is_empty())),
        status: form.status,
        due_at: Some(due(form.due.as_deref())?),
    };
    state.engine.edit_action_item(id, item, edit, &who).await?;
    Ok(back(id, &format!("action-{item}")))
}
