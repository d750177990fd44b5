//! Cross-site request refusal for every state-changing request, app-wide (hooks and API included):
//! a browser that sends `Origin` from another site, or `Sec-Fetch-Site: cross-site`, is refused, so a
//! `text/plain` form POST from another page cannot record an alert. Requests without `Origin` (curl,
//! Alertmanager, Slack) pass: they are not browsers acting for someone.

use super::AppState;
use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use reqwest::Url;

/// Whether a method changes state (everything but GET, HEAD, OPTIONS and TRACE).
pub fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `scheme://host:port` of a URL, with the scheme's default port filled in.
fn origin_of(url: &Url) -> Option<(String, String, u16)> {
    Some((
        url.scheme().to_ascii_lowercase(),
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?,
    ))
}

/// Whether `origin` (the header's value) is this site: `server.public_url`'s origin, or the
/// authority the request itself was sent to (`Host`).
pub fn is_this_site(origin: &str, public_url: Option<&str>, headers: &HeaderMap) -> bool {
    let Ok(url) = Url::parse(origin) else {
        return false; // includes `null` (sandboxed frames, file: pages, cross-origin redirects)
    };
    let public = public_url.and_then(|p| Url::parse(p).ok());
    if let (Some(public), Some(given)) = (public.as_ref().and_then(origin_of), origin_of(&url))
        && public == given
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (host, url.host_str()) {
        (Some(host), Some(name)) => {
            let authority = match url.port() {
                Some(port) => format!("{name}:{port}"),
                None => name.to_string(),
            };
            authority.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

/// The middleware: refuses cross-site state-changing requests with 403 `cross_origin`.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if changes_state(req.method()) {
        let headers = req.headers();
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
        let foreign_origin = headers.get(header::ORIGIN).is_some_and(|o| {
            !is_this_site(
                o.to_str().unwrap_or("null"),
                state.config.server.public_url.as_deref(),
                headers,
            )
        });
        if cross_site || foreign_origin {
            tracing::warn!(method = %req.method(), path = %req.uri().path(), "cross-site request refused");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "cross-site requests are refused: the Origin is not this site",
            )
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, h.parse().unwrap());
        m
    }

    #[test]
    fn only_this_sites_origin_passes() {
        let public = Some("https://warroom.example.com");
        assert!(is_this_site(
            "https://warroom.example.com",
            public,
            &host("x")
        ));
        assert!(is_this_site(
            "https://WARROOM.example.com:443",
            public,
            &host("x")
        ));
        assert!(!is_this_site(
            "http://warroom.example.com",
            public,
            &host("x")
        ));
        assert!(is_this_site(
            "http://127.0.0.1:8080",
            None,
            &host("127.0.0.1:8080")
        ));
        assert!(!is_this_site(
            "http://127.0.0.1:9999",
            None,
            &host("127.0.0.1:8080")
        ));
        assert!(!is_this_site(
            "https://evil.example",
            public,
            &host("warroom.example.com")
        ));
        assert!(!is_this_site("null", public, &host("warroom.example.com")));
        assert!(!changes_state(&Method::GET));
        assert!(changes_state(&Method::POST));
    }
}
