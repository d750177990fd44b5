//! `/pages`: the web notification of a page, the signed-in person's open pages with an Acknowledge
//! button each (`POST /pages/{id}/ack`, which acknowledges the page's incident as that person).

use super::AppState;
use super::error::ApiError;
use super::session::WebUser;
use super::web::{page, web_actor, who};
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;

/// The routes of the page list.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pages", get(list))
        .route("/pages/{id}/ack", post(acknowledge))
}

async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    let pages = match web_actor(&user, &jar) {
        Some(a) => state.engine.open_pages_of(&a.id).await?,
        None => Vec::new(),
    };
    let ctx = minijinja::context! { pages => pages, ..who(&user, &jar) };
    Ok(page(&state, "pages.html", ctx))
}

async fn acknowledge(
    State(state): State<AppState>,
    Extension(user): Extension<WebUser>,
    jar: CookieJar,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id: i64 = raw
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("no page `{raw}`")))?;
    let actor = web_actor(&user, &jar).ok_or_else(|| {
        ApiError::unauthorized("sign in (or choose a name on the board) to acknowledge")
    })?;
    let p = state
        .engine
        .page_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no page {id}")))?;
    state.engine.acknowledge(p.incident_id, &actor).await?;
    Ok(Redirect::to("/pages").into_response())
}
