//! The one HTTP error type: `{"error": {"code", "message"}}` with the right status.

use crate::engine::EngineError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// Extra fields inside `error` (e.g. the legal statuses of a refused transition).
    pub extra: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }

    /// 400 for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 for a missing or wrong credential.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404 for something that does not exist.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Some(extra), Some(obj)) = (self.extra, error.as_object_mut())
            && let Some(extra) = extra.as_object()
        {
            obj.extend(extra.clone());
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(super::outage::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            EngineError::Invalid { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            EngineError::Transition(t) => ApiError {
                status: StatusCode::CONFLICT,
                code: "illegal_transition",
                message: t.to_string(),
                extra: Some(json!({"from": t.from, "to": t.to, "legal": t.legal()})),
            },
            EngineError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            EngineError::Forbidden { action, reason, .. } => ApiError {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                message: reason,
                extra: Some(json!({"action": action})),
            },
            EngineError::Store(s) if s.is_unavailable() => {
                let _ = super::outage::unavailable(&s);
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry later",
                )
            }
            EngineError::Store(s) if s.is_refused_value() => {
                tracing::info!(error = %s, "the database refused a value from the request");
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_value",
                    "a value in the request cannot be stored (e.g. a NUL character in text)",
                )
            }
            EngineError::Store(s) => {
                tracing::error!(error = %s, "storage error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal storage error",
                )
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        EngineError::Store(e).into()
    }
}
