//! The scope each `/api/v1` route group needs: `.route_layer(scope::require(Scope::IncidentsRead))`.

use super::auth::Grant;
use super::error::ApiError;
use crate::domain::token::Scope;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{FromFnLayer, Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;

/// The middleware function behind [`require`].
pub type ScopeCheck =
    fn(State<Scope>, Request, Next) -> Pin<Box<dyn Future<Output = Response> + Send>>;

/// A route layer that answers 403 naming `scope` unless the caller's [`Grant`] allows it.
pub fn require(scope: Scope) -> FromFnLayer<ScopeCheck, Scope, (State<Scope>, Request)> {
    from_fn_with_state(scope, check as ScopeCheck)
}

fn check(
    State(scope): State<Scope>,
    req: Request,
    next: Next,
) -> Pin<Box<dyn Future<Output = Response> + Send>> {
    Box::pin(async move {
        match ensure(req.extensions().get::<Grant>(), scope) {
            Ok(()) => next.run(req).await,
            Err(e) => e.into_response(),
        }
    })
}

/// Inside a handler: 403 naming `scope` unless `grant` allows it (a body field that needs more than the route).
pub fn ensure(grant: Option<&Grant>, scope: Scope) -> Result<(), ApiError> {
    if grant.is_some_and(|Grant(g)| g.allows(scope)) {
        Ok(())
    } else {
        Err(missing(
            scope,
            format!("this request needs a token with the `{scope}` scope"),
        ))
    }
}

/// 403 `missing_scope` with `error.scope` naming it.
pub fn missing(scope: Scope, message: String) -> ApiError {
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: "missing_scope",
        message,
        extra: Some(serde_json::json!({ "scope": scope.as_str() })),
    }
}
