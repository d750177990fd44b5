//! Inbound wire formats, one file per format: parse and validate into domain values, nothing else.
//!
//! Alert parsers read a JSON value field by field so that a refusal names the field (`alerts[2].startsAt`).

pub mod alertmanager;
pub mod argocd;
pub mod argocd_catalog;
pub mod changes;
pub mod github;
pub mod grafana;
pub mod native;
pub mod pagerduty;
pub mod pagerduty_change;

use crate::domain::alert::{Alert, Labels};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// A body that is not a valid event of its format; `field` names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct IngestError {
    /// The field path (`alerts[0].labels`), or `body`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl IngestError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> IngestError {
        IngestError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Alerts parsed from one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The alerts, in request order.
    pub alerts: Vec<Alert>,
    /// Alerts the sender left out (Alertmanager's `truncatedAlerts`).
    pub truncated: u64,
}

/// Parses the body as a JSON value.
pub fn json(body: &[u8]) -> Result<Value, IngestError> {
    serde_json::from_slice(body)
        .map_err(|e| IngestError::new("body", format!("malformed JSON: {e}")))
}

/// The object at `path`.
pub fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, IngestError> {
    v.as_object()
        .ok_or_else(|| IngestError::new(path, "must be a JSON object"))
}

/// A required field of an object.
pub fn field<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<&'a Value, IngestError> {
    match o.get(name) {
        Some(Value::Null) | None => Err(IngestError::new(join(path, name), "is required")),
        Some(v) => Ok(v),
    }
}

/// An optional string field (null and absent are `None`).
pub fn opt_str(
    o: &Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<String>, IngestError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(IngestError::new(join(path, name), "must be a string")),
    }
}

/// A required, non-blank string field.
pub fn req_str(o: &Map<String, Value>, path: &str, name: &str) -> Result<String, IngestError> {
    match opt_str(o, path, name)? {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(IngestError::new(
            join(path, name),
            "is required and must not be blank",
        )),
    }
}

/// A string → string map (labels, annotations); absent is empty. Non-string values are refused.
pub fn labels(o: &Map<String, Value>, path: &str, name: &str) -> Result<Labels, IngestError> {
    let p = join(path, name);
    match o.get(name) {
        None | Some(Value::Null) => Ok(Labels::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(IngestError::new(format!("{p}.{k}"), "must be a string")),
            })
            .collect(),
        Some(_) => Err(IngestError::new(p, "must be an object of strings")),
    }
}

/// An RFC 3339 time, truncated to milliseconds (the stored precision); the zero time `0001-01-01…` is `None`.
pub fn opt_time(
    o: &Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<DateTime<Utc>>, IngestError> {
    let Some(s) = opt_str(o, path, name)? else {
        return Ok(None);
    };
    time_str(&s).map_err(|e| {
        IngestError::new(
            join(path, name),
            format!("`{s}` is not an RFC 3339 time: {e}"),
        )
    })
}

/// [`opt_time`] of a string: empty or the zero time is `None`, otherwise RFC 3339 truncated to ms.
pub fn time_str(s: &str) -> Result<Option<DateTime<Utc>>, chrono::ParseError> {
    if s.is_empty() || s.starts_with("0001-01-01") {
        return Ok(None);
    }
    let t = DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))?;
    Ok(DateTime::from_timestamp_millis(t.timestamp_millis()))
}

/// The elements of an array field.
pub fn array<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<&'a Vec<Value>, IngestError> {
    field(o, path, name)?
        .as_array()
        .ok_or_else(|| IngestError::new(join(path, name), "must be an array"))
}

/// `path.name`, or `name` at the top.
pub fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A time truncated to milliseconds.
pub fn ms_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Refuses a batch above `max` alerts.
pub fn check_size(n: usize, max: usize) -> Result<(), IngestError> {
    if n > max {
        return Err(IngestError::new(
            "alerts",
            format!("{n} alerts in one request; at most {max} are accepted"),
        ));
    }
    Ok(())
}
