//! Renders a rollback hook's request from its templates, encoding every spliced value for where it goes.
//!
//! The escaping is minijinja auto-escaping by format (a custom formatter), not a pre-encoded context:
//! the URL template escapes each value as a percent-encoded path segment / query value (RFC 3986
//! unreserved characters stay, everything else is `%XX`, and a bare `.` or `..` is refused); the body
//! template escapes each string value as the inside of a JSON string (write `"{{ change.version }}"`)
//! and `| tojson` gives a whole JSON value; header templates splice values as they are, but a rendered
//! header value with a control character (CR, LF, NUL…) is refused. Nothing rendered is stored: the
//! outbox entry keeps the template context and names the hook, and the webhook deliverer renders the
//! URL, headers and body from the configuration when it sends ([`render_request`]), so credentials
//! (a token in the query, a header, a body field; literal or `file:`) never reach the outbox table.

use super::EngineError;
use crate::config::RollbackHook;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, Value as JinjaValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const URL: &str = "url";
const BODY: &str = "body";

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The text of a value as the template shows it (strings without quotes).
fn plain(value: &JinjaValue) -> String {
    value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string())
}

/// Writes `value` escaped for the template's format.
fn format_value(
    out: &mut minijinja::Output,
    state: &State,
    value: &JinjaValue,
) -> Result<(), Error> {
    let text = plain(value);
    if value.is_safe() {
        return out.write_str(&text).map_err(Error::from);
    }
    let escaped = match state.auto_escape() {
        AutoEscape::Custom(URL) => {
            if text == "." || text == ".." {
                return Err(invalid(format!(
                    "`{text}` cannot be spliced into a URL (a dot segment)"
                )));
            }
            utf8_percent_encode(&text, COMPONENT).to_string()
        }
        AutoEscape::Custom(BODY) => {
            if value.is_number()
                || value.is_none()
                || value.is_undefined()
                || value.kind() == minijinja::value::ValueKind::Bool
            {
                serde_json::to_string(value).map_err(|e| invalid(e.to_string()))?
            } else {
                let quoted = serde_json::to_string(&text).map_err(|e| invalid(e.to_string()))?;
                quoted[1..quoted.len() - 1].to_string()
            }
        }
        _ => text,
    };
    out.write_str(&escaped).map_err(Error::from)
}

/// `| tojson`: the whole JSON value, unescaped in a body, percent-encoded anywhere else.
fn tojson(state: &State, v: JinjaValue) -> Result<JinjaValue, Error> {
    let json = serde_json::to_string(&v).map_err(|e| invalid(e.to_string()))?;
    Ok(match state.auto_escape() {
        AutoEscape::Custom(BODY) => JinjaValue::from_safe_string(json),
        _ => JinjaValue::from(json),
    })
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| match name {
        URL => AutoEscape::Custom(URL),
        BODY => AutoEscape::Custom(BODY),
        _ => AutoEscape::None,
    });
    env.set_formatter(format_value);
    env.add_filter("tojson", tojson);
    env
}

/// A header value that HTTP can carry as it is (no CR, LF or other control character but tab).
pub fn check_header_value(name: &str, value: &str) -> Result<(), String> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        Err(format!(
            "rollback hook header {name}: the rendered value contains a control character (CR/LF); refused"
        ))
    } else {
        Ok(())
    }
}

/// The hook's headers rendered with `ctx` (the request's stored context), each checked for CR/LF.
pub fn render_headers(hook: &RollbackHook, ctx: &Value) -> Result<Vec<(String, String)>, String> {
    let env = environment();
    hook.headers
        .iter()
        .map(|(k, v)| {
            let value = env
                .render_named_str("header", v, ctx)
                .map_err(|e| format!("rollback hook header {k} template: {e}"))?;
            check_header_value(k, &value)?;
            Ok((k.clone(), value))
        })
        .collect()
}

/// A hook request rendered from the configuration: what the deliverer sends (never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRequest {
    /// The HTTP method (upper case).
    pub method: String,
    /// The URL, query string included.
    pub url: String,
    /// The headers, in name order.
    pub headers: Vec<(String, String)>,
    /// The JSON body, if the hook has one.
    pub body: Option<String>,
}

impl HookRequest {
    /// The values to keep out of logs and stored results: header values and the URL's query values.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.headers.iter().map(|(_, v)| v.clone()).collect();
        if let Ok(u) = reqwest::Url::parse(&self.url) {
            out.extend(u.query_pairs().map(|(_, v)| v.into_owned()));
            out.extend(u.query().map(str::to_string));
            out.extend(u.password().map(str::to_string));
        }
        out
    }
}

/// The whole request of `hook` rendered with `ctx`: URL (http(s) only), headers (CR/LF refused) and
/// body (valid JSON). The engine renders it to refuse a bad hook at once; the deliverer renders it
/// again from the configuration when it sends.
pub fn render_request(hook: &RollbackHook, ctx: &Value) -> Result<HookRequest, String> {
    let env = environment();
    let render = |name: &str, field: &str, t: &str| {
        env.render_named_str(name, t, ctx)
            .map_err(|e| format!("rollback hook {field} template: {e}"))
    };
    let url = render(URL, "url", &hook.url)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("rollback hook url is not http(s)".to_string());
    }
    let headers = render_headers(hook, ctx)?;
    let body = hook
        .body
        .as_deref()
        .map(|b| render(BODY, "body", b))
        .transpose()?;
    if let Some(b) = &body
        && serde_json::from_str::<Value>(b).is_err()
    {
        return Err("rollback hook body template: the rendered body is not valid JSON".to_string());
    }
    let method = hook
        .method
        .clone()
        .unwrap_or_else(|| "POST".into())
        .to_ascii_uppercase();
    Ok(HookRequest {
        method,
        url,
        headers,
        body,
    })
}

/// The URL as logs, rooms and the API may show it: no query string, fragment or credentials.
pub fn public_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

/// The outbox payload of the hook request for `service`: `{method, hook, context, header_names,
/// shown_url}`. It names the hook and keeps the template context; the URL (whose query may carry a
/// token), the headers and the body are rendered from the configuration when the request is sent,
/// so no secret of the hook's configuration reaches the outbox table or what shows it.
pub fn render_hook(service: &str, hook: &RollbackHook, ctx: &Value) -> Result<Value, EngineError> {
    let request = render_request(hook, ctx).map_err(EngineError::Conflict)?;
    let header_names: Vec<&str> = request.headers.iter().map(|(k, _)| k.as_str()).collect();
    Ok(
        json!({"method": request.method, "hook": service, "context": ctx,
        "header_names": header_names, "shown_url": public_url(&request.url)}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn hook() -> RollbackHook {
        RollbackHook {
            url: "https://deploy.example/rollback/{{ change.service }}?to={{ change.version }}"
                .into(),
            method: Some("put".into()),
            headers: [
                ("X-Ref".to_string(), "{{ change.version }}".to_string()),
                ("Authorization".to_string(), "Bearer s3cr3t".to_string()),
            ]
            .into(),
            body: Some(r#"{"by": "{{ actor }}", "incident": {{ incident.id }}, "v": "{{ change.version }}", "why": {{ change.summary | tojson }}}"#.into()),
        }
    }

    #[test]
    fn templates_render_and_nothing_rendered_is_stored() {
        let ctx = json!({"change": {"service": "checkout", "version": "v2", "summary": "say \"hi\""},
            "incident": {"id": 7}, "actor": "bob"});
        let hook = RollbackHook {
            url: format!("{}&token=q-s3cr3t", hook().url),
            ..hook()
        };
        let stored = render_hook("checkout", &hook, &ctx).unwrap();
        assert_eq!(
            stored["shown_url"],
            "https://deploy.example/rollback/checkout"
        );
        assert_eq!(stored["method"], "PUT");
        assert_eq!(stored["header_names"], json!(["Authorization", "X-Ref"]));
        for leak in ["s3cr3t", "to=v2", "\"by\""] {
            assert!(
                !stored.to_string().contains(leak),
                "{leak} stored: {stored}"
            );
        }
        let r = render_request(&hook, &stored["context"]).unwrap();
        assert_eq!(
            r.url,
            "https://deploy.example/rollback/checkout?to=v2&token=q-s3cr3t"
        );
        assert_eq!(r.method, "PUT");
        assert_eq!(
            r.headers,
            [
                ("Authorization".to_string(), "Bearer s3cr3t".to_string()),
                ("X-Ref".to_string(), "v2".to_string())
            ]
        );
        assert_eq!(
            r.body.as_deref(),
            Some(r#"{"by": "bob", "incident": 7, "v": "v2", "why": "say \"hi\""}"#)
        );
        let secrets = r.secrets();
        assert!(secrets.contains(&"q-s3cr3t".to_string()), "{secrets:?}");
        assert!(
            secrets.contains(&"Bearer s3cr3t".to_string()),
            "{secrets:?}"
        );
        let bad = RollbackHook {
            url: "{{ nope }}".into(),
            ..hook.clone()
        };
        assert!(render_hook("checkout", &bad, &ctx).is_err());
    }

    #[test]
    fn spliced_values_are_data_not_syntax() {
        let ctx = json!({"change": {"service": "../../admin/wipe?x=", "version": "v1\", \"force\": true, \"x\": \"",
            "summary": "s"}, "incident": {"id": 7}, "actor": "a&b=c"});
        let hook = RollbackHook {
            headers: BTreeMap::new(),
            ..hook()
        };
        let r = render_request(&hook, &ctx).unwrap();
        assert_eq!(
            r.url,
            "https://deploy.example/rollback/..%2F..%2Fadmin%2Fwipe%3Fx%3D?to=v1%22%2C%20%22force%22%3A%20true%2C%20%22x%22%3A%20%22"
        );
        let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["v"], "v1\", \"force\": true, \"x\": \"");
        assert_eq!(body["by"], "a&b=c");
        assert!(body.get("force").is_none());
    }

    #[test]
    fn shown_urls_carry_no_query_or_credentials() {
        assert_eq!(
            public_url("https://u:pw@deploy.example/a/b?token=t0k#frag"),
            "https://deploy.example/a/b"
        );
        assert_eq!(public_url("not a url"), "(invalid URL)");
    }

    #[test]
    fn header_injection_and_dot_segments_are_refused() {
        let ctx = json!({"change": {"service": "..", "version": "v1\r\nX-Admin: yes", "summary": "s"},
            "incident": {"id": 7}, "actor": "a"});
        let header_only = RollbackHook {
            url: "https://deploy.example/rollback".into(),
            body: None,
            ..hook()
        };
        let e = render_hook("checkout", &header_only, &ctx).unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");
        let e = render_hook("checkout", &hook(), &ctx).unwrap_err();
        assert!(e.to_string().contains("dot segment"), "{e}");
    }
}
