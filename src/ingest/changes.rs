//! warroom's native change JSON (`POST /hooks/changes`, `POST /api/v1/changes`, `warroom change record`).
//!
//! ```json
//! {"kind": "deploy", "services": ["checkout"], "environment": "production", "summary": "Deploy v2.3.1",
//!  "author": "alice", "version": "v2.3.1", "links": [{"href": "https://ci/run/1", "text": "pipeline"}],
//!  "status": "executing", "started_at": "2026-11-20T13:54:00Z", "ended_at": null, "id": "ci-run-1",
//!  "committed_at": "2026-11-20T13:30:00Z",
//!  "rollback": {"of": "chg-12", "plan": "helm rollback checkout 41"}}
//! ```
//! `service` (one name) may stand for `services`; `id` is the reporter's own id: a second report with the
//! same `id` moves that change on (e.g. `"status": "done"`).

use crate::domain::change::{Link, NewChange, parse_ref};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A field that is missing or wrong; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field, as a JSON path (`deployment.environment`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A field error.
pub fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Parses a JSON body, or names what is wrong with it.
pub fn json(body: &[u8]) -> Result<Value, FieldError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| bad("body", format!("malformed JSON: {e}")))?;
    if !v.is_object() {
        return Err(bad("body", "expected a JSON object"));
    }
    Ok(v)
}

/// An optional string field (`null` = absent); other types are refused.
pub fn opt_str(v: &Value, path: &str) -> Result<Option<String>, FieldError> {
    match v.pointer(&pointer(path)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(bad(path, "must be a string")),
    }
}

/// A required string field.
pub fn req_str(v: &Value, path: &str) -> Result<String, FieldError> {
    opt_str(v, path)?.ok_or_else(|| bad(path, "is required"))
}

/// An optional RFC 3339 time.
pub fn opt_time(v: &Value, path: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    opt_str(v, path)?
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad(path, format!("`{s}` is not an RFC 3339 time")))
        })
        .transpose()
}

fn pointer(path: &str) -> String {
    format!("/{}", path.replace('.', "/"))
}

/// Parses `links`: a list of `{"href", "text"?}` (or plain URL strings).
pub fn links(v: &Value, path: &str) -> Result<Vec<Link>, FieldError> {
    let Some(list) = v.pointer(&pointer(path)).filter(|l| !l.is_null()) else {
        return Ok(Vec::new());
    };
    let list = list.as_array().ok_or_else(|| bad(path, "must be a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, l)| {
            let field = format!("{path}[{i}]");
            let (href, text) = match l {
                Value::String(s) => (s.clone(), None),
                Value::Object(o) => (
                    o.get("href")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    o.get("text").and_then(Value::as_str).map(str::to_string),
                ),
                _ => return Err(bad(&field, "must be a URL or {\"href\", \"text\"}")),
            };
            if !(href.starts_with("http://") || href.starts_with("https://")) {
                return Err(bad(&format!("{field}.href"), "must be an http(s) URL"));
            }
            Ok(Link { href, text })
        })
        .collect()
}

/// Parses the native change JSON.
pub fn parse(body: &[u8], source: &str) -> Result<NewChange, FieldError> {
    let v = json(body)?;
    let kind = opt_str(&v, "kind")?
        .map(|k| {
            k.parse()
                .map_err(|e: crate::domain::change::UnknownKind| bad("kind", e.to_string()))
        })
        .transpose()?;
    let services = match (v.get("services"), opt_str(&v, "service")?) {
        (Some(Value::Array(list)), _) => list
            .iter()
            .enumerate()
            .map(|(i, s)| match s.as_str().map(str::trim) {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(bad(&format!("services[{i}]"), "must be a service name")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        (Some(Value::Null) | None, Some(one)) => vec![one],
        (Some(Value::Null) | None, None) => return Err(bad("services", "is required")),
        (Some(_), _) => return Err(bad("services", "must be a list of service names")),
    };
    if services.is_empty() {
        return Err(bad("services", "must name at least one service"));
    }
    let status = opt_str(&v, "status")?
        .map(|s| {
            s.parse()
                .map_err(|e: crate::domain::change::UnknownChangeStatus| {
                    bad("status", e.to_string())
                })
        })
        .transpose()?;
    let rollback_of = match v.pointer("/rollback/of") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("rollback.of", "must be a change id"))?,
        ),
        Some(Value::String(s)) => Some(parse_ref(s).ok_or_else(|| {
            bad(
                "rollback.of",
                format!("`{s}` is not a change id like chg-42"),
            )
        })?),
        Some(_) => return Err(bad("rollback.of", "must be a change id")),
    };
    Ok(NewChange {
        source: source.to_string(),
        external_id: opt_str(&v, "id")?,
        kind,
        services,
        environment: opt_str(&v, "environment")?,
        summary: req_str(&v, "summary")?,
        author: opt_str(&v, "author")?,
        version: opt_str(&v, "version")?,
        links: links(&v, "links")?,
        status,
        started_at: opt_time(&v, "started_at")?,
        committed_at: opt_time(&v, "committed_at")?,
        ended_at: opt_time(&v, "ended_at")?,
        rollback_of,
        rollback_plan: opt_str(&v, "rollback.plan")?,
        delivery: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{ChangeKind, ChangeStatus};

    #[test]
    fn a_full_report_parses() {
        let body = br#"{"kind": "deploy", "services": ["checkout", "cart"], "environment": "production",
            "summary": "Deploy v2.3.1", "author": "alice", "version": "v2.3.1",
            "links": [{"href": "https://ci.example/run/1", "text": "pipeline"}, "https://github.com/o/r/pull/9"],
            "status": "executing", "started_at": "2026-11-20T13:54:00Z", "id": "run-1",
            "rollback": {"of": "chg-12", "plan": "helm rollback checkout 41"}}"#;
        let c = parse(body, "native").unwrap();
        assert_eq!(c.kind, Some(ChangeKind::Deploy));
        assert_eq!(c.services, ["checkout", "cart"]);
        assert_eq!(c.status, Some(ChangeStatus::Executing));
        assert_eq!(c.links.len(), 2);
        assert_eq!(c.rollback_of, Some(12));
        assert_eq!(c.external_id.as_deref(), Some("run-1"));
        assert_eq!(
            c.started_at.unwrap().to_rfc3339(),
            "2026-11-20T13:54:00+00:00"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases: [(&[u8], &str); 9] = [
            (b"{", "body"),
            (b"[]", "body"),
            (br#"{"summary": "x"}"#, "services"),
            (br#"{"service": "a"}"#, "summary"),
            (
                br#"{"service": "a", "summary": "x", "kind": "party"}"#,
                "kind",
            ),
            (br#"{"services": ["a", ""], "summary": "x"}"#, "services[1]"),
            (
                br#"{"service": "a", "summary": "x", "started_at": "yesterday"}"#,
                "started_at",
            ),
            (
                br#"{"service": "a", "summary": "x", "links": [{"href": "ftp://x"}]}"#,
                "links[0].href",
            ),
            (
                br#"{"service": "a", "summary": "x", "status": "shipped"}"#,
                "status",
            ),
        ];
        for (body, field) in cases {
            let err = parse(body, "native").unwrap_err();
            assert_eq!(err.field, field, "{}", String::from_utf8_lossy(body));
        }
    }
}
