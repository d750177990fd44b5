//! Response hardening on every route: security headers with a per-request CSP nonce, one JSON error
//! body for every error (axum's plain-text rejections included), oversized bodies refused up front,
//! and a panic answered as a JSON 500 instead of a dropped connection.

use super::error::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The largest error body read back to turn into a JSON message.
const MAX_ERROR_TEXT: usize = 4096;

/// The policy for `nonce`: only our own scripts and styles, the inline ones carrying the nonce; forms
/// post to this site and to `form_targets` (the sign-in issuer, which a sign-in form redirects to).
pub fn content_security_policy(nonce: &str, form_targets: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; form-action 'self'{form_targets}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The extra `form-action` sources: the OpenID Connect issuer's origin, when sign-in uses one.
pub fn form_targets(config: &crate::config::Config) -> Arc<str> {
    let origin = config
        .auth
        .oidc
        .issuer
        .as_deref()
        .and_then(|i| reqwest::Url::parse(i).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null");
    match origin {
        Some(o) => format!(" {o}").into(),
        None => "".into(),
    }
}

/// Sets the CSP (with a fresh nonce the templates read as `csp_nonce()`), `X-Frame-Options: DENY`,
/// `X-Content-Type-Options: nosniff` and `Referrer-Policy` on every response.
pub async fn security_headers(
    State(form_targets): State<Arc<str>>,
    req: Request,
    next: Next,
) -> Response {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let mut response = crate::render::CSP_NONCE
        .scope(nonce.clone(), next.run(req))
        .await;
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce, &form_targets)) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Refuses a body whose declared length is over `server.max_body_bytes` before any handler reads it.
pub async fn body_limit(State(max): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > max as u64) {
        drain(req.into_body(), n).await;
        let mut response = too_large(max).into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    next.run(req).await
}

/// The most of an oversized body read and discarded before answering 413.
const MAX_DRAIN: u64 = 8 * 1024 * 1024;

/// Reads and discards a refused body (up to [`MAX_DRAIN`] bytes, for at most two seconds), so the
/// connection closes cleanly and the client reads the 413 instead of a reset.
async fn drain(body: Body, declared: u64) {
    if declared > MAX_DRAIN {
        return;
    }
    let mut data = body.into_data_stream();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        use futures::StreamExt;
        while let Some(Ok(_)) = data.next().await {}
    })
    .await;
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body is larger than the limit of {max} bytes (server.max_body_bytes)"),
    )
}

/// The stable code for an error status.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// Rewrites every error response that is not already JSON (axum's plain-text extractor rejections,
/// empty 405s, timeouts) into `{"error": {"code", "message"}}`, keeping its status and headers.
pub async fn json_errors(State(max): State<usize>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was not read to its end: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(max).message,
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this route".to_string(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long".to_string(),
        _ if status.is_server_error() && text.is_empty() => "internal error".to_string(),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_string(),
        _ => text,
    };
    let fresh = ApiError::new(status, code_for(status), message).into_response();
    let (fresh_parts, body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        fresh_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/json")),
    );
    Response::from_parts(parts, Body::new(body))
}

/// A handler panic becomes a JSON 500 (and an ERROR log line) rather than a reset connection.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_may_reach_the_sign_in_issuer_only() {
        let mut config = crate::config::Config::default();
        assert_eq!(&*form_targets(&config), "");
        config.auth.oidc.issuer = Some("https://login.example.com/realms/ops".into());
        let targets = form_targets(&config);
        assert_eq!(&*targets, " https://login.example.com");
        let csp = content_security_policy("abc", &targets);
        assert!(
            csp.contains("form-action 'self' https://login.example.com;"),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self' 'nonce-abc';"), "{csp}");
    }
}
