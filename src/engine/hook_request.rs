//! Renders a rollback hook's request from its templates, encoding every spliced value for where it goes.
//!
//! The escaping is minijinja auto-escaping by format (a custom formatter), not a pre-encoded context:
//! the URL template escapes each value as a percent-encoded path segment / query value (RFC 3986
//! unreserved characters stay, everything else is `%XX`, and a bare `.` or `..` is refused); the body
//! template escapes each string value as the inside of a JSON string (write `"{{ change.version }}"`)
//! and `| tojson` gives a whole JSON value; header templates splice values as they are, but a rendered
//! header value with a control character (CR, LF, NUL…) is refused. Header values are never stored:
//! the request keeps the template context and names the hook, and the webhook deliverer renders the
//! headers from the configuration when it sends ([`render_headers`]), so credentials (literal or
//! `file:` values, or templates around them) never reach the outbox table.

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

/// The hook request for `service`, rendered from its templates with `ctx`: `{method, url, hook,
/// context, header_names, body}`. Headers are rendered here only to refuse a bad one now; the
/// deliverer renders them again at send time, so their values are never stored.
pub fn render_hook(service: &str, hook: &RollbackHook, ctx: &Value) -> Result<Value, EngineError> {
    let env = environment();
    let render = |name: &str, field: &str, t: &str| {
        env.render_named_str(name, t, ctx)
            .map_err(|e| EngineError::Conflict(format!("rollback hook {field} template: {e}")))
    };
    let url = render(URL, "url", &hook.url)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(EngineError::Conflict(
            "rollback hook url is not http(s)".to_string(),
        ));
    }
    let header_names: Vec<String> = render_headers(hook, ctx)
        .map_err(EngineError::Conflict)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let body = hook
        .body
        .as_deref()
        .map(|b| render(BODY, "body", b))
        .transpose()?;
    if let Some(b) = &body
        && serde_json::from_str::<Value>(b).is_err()
    {
        return Err(EngineError::Conflict(
            "rollback hook body template: the rendered body is not valid JSON".to_string(),
        ));
    }
    let method = hook
        .method
        .clone()
        .unwrap_or_else(|| "POST".into())
        .to_ascii_uppercase();
    Ok(
        json!({"method": method, "url": url, "hook": service, "context": ctx,
        "header_names": header_names, "body": body}),
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
    fn templates_render_and_header_values_stay_out() {
        let ctx = json!({"change": {"service": "checkout", "version": "v2", "summary": "say \"hi\""},
            "incident": {"id": 7}, "actor": "bob"});
        let r = render_hook("checkout", &hook(), &ctx).unwrap();
        assert_eq!(r["url"], "https://deploy.example/rollback/checkout?to=v2");
        assert_eq!(r["method"], "PUT");
        assert_eq!(r["header_names"], json!(["Authorization", "X-Ref"]));
        assert!(!r.to_string().contains("s3cr3t"));
        let headers = render_headers(&hook(), &r["context"]).unwrap();
        assert_eq!(
            headers,
            [
                ("Authorization".to_string(), "Bearer s3cr3t".to_string()),
                ("X-Ref".to_string(), "v2".to_string())
            ]
        );
        assert_eq!(
            r["body"],
            r#"{"by": "bob", "incident": 7, "v": "v2", "why": "say \"hi\""}"#
        );
        let bad = RollbackHook {
            url: "{{ nope }}".into(),
            ..hook()
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
        let r = render_hook("checkout", &hook, &ctx).unwrap();
        assert_eq!(
            r["url"],
            "https://deploy.example/rollback/..%2F..%2Fadmin%2Fwipe%3Fx%3D?to=v1%22%2C%20%22force%22%3A%20true%2C%20%22x%22%3A%20%22"
        );
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["v"], "v1\", \"force\": true, \"x\": \"");
        assert_eq!(body["by"], "a&b=c");
        assert!(body.get("force").is_none());
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
