//! PagerDuty Change Events API v2 (`POST /hooks/pagerduty/v2/change/enqueue`).
//!
//! `{"routing_key", "payload": {"summary", "timestamp"?, "source"?, "custom_details"?}, "links"?}`.
//! The routing key names the service (`ingest.pagerduty.routing_keys`). warroom reads from
//! `custom_details` (all optional): `kind`/`change_type`, `service`, `environment`, `version`, `author`.

use super::changes::{FieldError, bad, json, links, opt_str, req_str};
use crate::domain::change::{ChangeStatus, NewChange, UnknownKind};
use chrono::{DateTime, Utc};

/// A parsed change event: its routing key (for the caller to map and authenticate) and the change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// The routing key it was sent with.
    pub routing_key: String,
    /// The change (`services` empty unless `custom_details.service` named one).
    pub change: NewChange,
}

/// PagerDuty's timestamps: RFC 3339, or ISO 8601 with a `+0000` offset.
fn timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a change event.
pub fn parse(body: &[u8]) -> Result<ChangeEvent, FieldError> {
    let v = json(body)?;
    let routing_key = req_str(&v, "routing_key")?;
    if !v.get("payload").is_some_and(|p| p.is_object()) {
        return Err(bad("payload", "is required and must be an object"));
    }
    let summary = req_str(&v, "payload.summary")?;
    if summary.chars().count() > 1024 {
        return Err(bad(
            "payload.summary",
            "at most 1024 characters are allowed",
        ));
    }
    let at = match opt_str(&v, "payload.timestamp")? {
        Some(s) => Some(timestamp(&s).ok_or_else(|| {
            bad(
                "payload.timestamp",
                format!("`{s}` is not an ISO 8601 time"),
            )
        })?),
        None => None,
    };
    let detail = |k: &str| opt_str(&v, &format!("payload.custom_details.{k}"));
    let kind = detail("kind")?
        .or(detail("change_type")?)
        .map(|k| {
            k.parse()
                .map_err(|e: UnknownKind| bad("payload.custom_details.kind", e.to_string()))
        })
        .transpose()?;
    let change = NewChange {
        source: "pagerduty".into(),
        kind,
        services: detail("service")?.into_iter().collect(),
        environment: detail("environment")?,
        summary,
        author: detail("author")?.or(detail("user")?),
        version: detail("version")?,
        links: links(&v, "links")?,
        status: Some(ChangeStatus::Done),
        started_at: at,
        ended_at: at,
        ..NewChange::default()
    };
    Ok(ChangeEvent {
        routing_key,
        change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from PagerDuty's Change Events documentation.
    const EXAMPLE: &str = r#"{
      "routing_key": "R015CNCGLUE3PEXNNGVJBXGZ0QTKCTKO",
      "payload": {
        "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
        "timestamp": "2020-07-17T08:42:58.315+0000",
        "source": "prod-build-agent-i-0b148d1040d565540",
        "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"}
      },
      "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}]
    }"#;

    #[test]
    fn the_documented_example_parses() {
        let e = parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(e.routing_key, "R015CNCGLUE3PEXNNGVJBXGZ0QTKCTKO");
        assert_eq!(
            e.change.summary,
            "Build Success: Increase snapshot create timeout to 30 seconds"
        );
        assert_eq!(
            e.change.started_at.unwrap().to_rfc3339(),
            "2020-07-17T08:42:58.315+00:00"
        );
        assert_eq!(
            e.change.links[0].text.as_deref(),
            Some("View more details in Acme!")
        );
        assert_eq!(e.change.status, Some(ChangeStatus::Done));
    }

    #[test]
    fn errors_name_the_field() {
        for (body, field) in [
            (r#"{"payload": {"summary": "x"}}"#, "routing_key"),
            (r#"{"routing_key": "k"}"#, "payload"),
            (r#"{"routing_key": "k", "payload": {}}"#, "payload.summary"),
            (
                r#"{"routing_key": "k", "payload": {"summary": "x", "timestamp": "noon"}}"#,
                "payload.timestamp",
            ),
        ] {
            assert_eq!(parse(body.as_bytes()).unwrap_err().field, field, "{body}");
        }
    }
}
