//! Web page: the postmortem draft of an incident.

use super::AppState;
use super::error::ApiError;
use super::session::WebUser;
use super::web::{page, who};
use crate::domain::postmortem_review::Section;
use axum::Json;
use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

/// The routes of these pages.
pub fn routes() -> Router<AppState> {
    Router::new().route("/incidents/{id}/postmortem", get(postmortem_page))
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

/// The draft as a page, or with `?format=md|json` as a download the browser can open without an API token.
async fn postmortem_page(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<FormatQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = super::params::page_incident_path(path)?;
    let pm = state.engine.postmortem(id).await?;
    match q.format.as_deref() {
        None | Some("html") => {}
        Some("json") => return Ok(Json(pm).into_response()),
        Some("md") => {
            return match state.renderer.postmortem_markdown(&pm) {
                Ok(md) => Ok(
                    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response(),
                ),
                Err(e) => {
                    tracing::error!(error = %e, incident = id, "postmortem template failed");
                    Ok((
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "postmortem.md template failed",
                    )
                        .into_response())
                }
            };
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format: `{other}` is not one of html, md, json"
            )));
        }
    }
    let may_edit = match super::web::web_actor(&user, &jar) {
        Some(actor) => state.engine.may_edit_postmortem(id, &actor).await?,
        None => false,
    };
    let sections: Vec<(&str, &str)> = Section::ALL
        .iter()
        .map(|s| (s.as_str(), s.title()))
        .collect();
    Ok(page(
        &state,
        "postmortem.html",
        minijinja::context! { pm => pm, may_edit => may_edit, sections => sections, ..who(&user, &jar) },
    ))
}
