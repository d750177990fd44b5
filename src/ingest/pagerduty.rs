//! PagerDuty Events API v2 (`POST /v2/enqueue`): trigger, acknowledge and resolve by `dedup_key`.

use super::{IngestError, field, json, ms_precision, object, opt_str, opt_time};
use crate::domain::alert::{Alert, AlertSource, AlertStatus, Labels};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// What the event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open (or re-trigger) the alert.
    Trigger,
    /// Somebody is on it.
    Acknowledge,
    /// It is over.
    Resolve,
}

/// One parsed event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The integration key, mapped to a service by `ingest.pagerduty.routing_keys`.
    pub routing_key: String,
    /// What to do.
    pub action: Action,
    /// The alert's identity (generated for a trigger without one).
    pub dedup_key: String,
    /// The alert (trigger and resolve).
    pub alert: Option<Alert>,
}

const SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];

/// Parses an event; `service` is the routing key's service, `new_key` makes a dedup key when absent.
pub fn parse(
    body: &[u8],
    service_for: impl Fn(&str) -> Option<String>,
    new_key: impl FnOnce() -> String,
    now: DateTime<Utc>,
) -> Result<Event, IngestError> {
    let v = json(body)?;
    let o = object(&v, "body")?;
    let routing_key = opt_str(o, "", "routing_key")?
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| IngestError::new("routing_key", "is missing or blank"))?;
    let action = match opt_str(o, "", "event_action")?.as_deref() {
        Some("trigger") => Action::Trigger,
        Some("acknowledge") => Action::Acknowledge,
        Some("resolve") => Action::Resolve,
        Some(other) => {
            return Err(IngestError::new(
                "event_action",
                format!("`{other}` is not one of trigger, acknowledge, resolve"),
            ));
        }
        None => return Err(IngestError::new("event_action", "is missing")),
    };
    let dedup_key = match opt_str(o, "", "dedup_key")?.filter(|k| !k.is_empty()) {
        Some(k) if k.len() > 255 => {
            return Err(IngestError::new(
                "dedup_key",
                "is longer than 255 characters",
            ));
        }
        Some(k) => k,
        None if action == Action::Trigger => new_key(),
        None => {
            return Err(IngestError::new(
                "dedup_key",
                "is required for acknowledge and resolve",
            ));
        }
    };
    let service = service_for(&routing_key);
    let alert = match action {
        Action::Acknowledge => None,
        Action::Resolve => {
            let mut labels = Labels::new();
            labels.insert("alertname".into(), "pagerduty".into());
            Some(Alert {
                fingerprint: dedup_key.clone(),
                source: AlertSource::Pagerduty,
                status: AlertStatus::Resolved,
                labels,
                annotations: Labels::new(),
                starts_at: ms_precision(now),
                ends_at: Some(ms_precision(now)),
                generator_url: None,
                service,
            })
        }
        Action::Trigger => Some(trigger(o, dedup_key.clone(), service, now)?),
    };
    Ok(Event {
        routing_key,
        action,
        dedup_key,
        alert,
    })
}

fn trigger(
    o: &serde_json::Map<String, Value>,
    dedup_key: String,
    service: Option<String>,
    now: DateTime<Utc>,
) -> Result<Alert, IngestError> {
    let p = object(field(o, "", "payload")?, "payload")?;
    let summary = opt_str(p, "payload", "summary")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| IngestError::new("payload.summary", "is missing or blank"))?;
    let summary: String = summary.chars().take(1024).collect();
    let source = opt_str(p, "payload", "source")?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| IngestError::new("payload.source", "is missing or blank"))?;
    let severity = opt_str(p, "payload", "severity")?
        .ok_or_else(|| IngestError::new("payload.severity", "is missing"))?;
    if !SEVERITIES.contains(&severity.as_str()) {
        return Err(IngestError::new(
            "payload.severity",
            format!("`{severity}` is not one of critical, error, warning, info"),
        ));
    }
    let starts_at = opt_time(p, "payload", "timestamp")?.unwrap_or(ms_precision(now));
    let mut labels = Labels::new();
    let component = opt_str(p, "payload", "component")?;
    let group = opt_str(p, "payload", "group")?;
    let class = opt_str(p, "payload", "class")?;
    let alertname = class
        .clone()
        .or_else(|| component.clone())
        .unwrap_or_else(|| "pagerduty".into());
    labels.insert("alertname".into(), alertname);
    labels.insert("severity".into(), severity);
    labels.insert("source".into(), source);
    for (k, val) in [("component", component), ("group", group), ("class", class)] {
        if let Some(val) = val {
            labels.insert(k.into(), val);
        }
    }
    if let Some(s) = &service {
        labels.insert("service".into(), s.clone());
    }
    let mut annotations = Labels::new();
    annotations.insert("summary".into(), summary);
    if let Some(d) = p.get("custom_details").filter(|d| !d.is_null()) {
        annotations.insert("custom_details".into(), d.to_string());
    }
    for (name, required) in [("links", "href"), ("images", "src")] {
        match o.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let io = object(item, &format!("{name}[{i}]"))?;
                    if opt_str(io, &format!("{name}[{i}]"), required)?.is_none() {
                        return Err(IngestError::new(
                            format!("{name}[{i}].{required}"),
                            "is missing",
                        ));
                    }
                }
                annotations.insert(name.into(), Value::Array(items.clone()).to_string());
            }
            Some(_) => return Err(IngestError::new(name, "must be an array")),
        }
    }
    let generator_url = opt_str(o, "", "client_url")?;
    Ok(Alert {
        fingerprint: dedup_key,
        source: AlertSource::Pagerduty,
        status: AlertStatus::Firing,
        labels,
        annotations,
        starts_at,
        ends_at: None,
        generator_url,
        service,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-22T00:00:00Z".parse().unwrap()
    }

    fn svc(k: &str) -> Option<String> {
        (k == "R0UT1NGKEY0000000000000000000000").then(|| "checkout".to_string())
    }

    #[test]
    fn a_documented_trigger_parses() {
        let body = br#"{
          "payload": {
            "summary": "DISK at 99% on machine prod-datapipe03.example.com",
            "timestamp": "2026-11-21T22:12:02.000+0000",
            "severity": "critical",
            "source": "prod-datapipe03.example.com",
            "component": "mysql",
            "group": "prod-datapipe",
            "class": "disk",
            "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}
          },
          "routing_key": "R0UT1NGKEY0000000000000000000000",
          "dedup_key": "samplekeyhere",
          "images": [{"src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
                      "href": "https://example.com/", "alt": "Example text"}],
          "links": [{"href": "https://example.com/", "text": "Link text"}],
          "event_action": "trigger",
          "client": "Sample Monitoring Service",
          "client_url": "https://monitoring.example.com"
        }"#;
        let e = parse(body, svc, || unreachable!(), now()).unwrap();
        assert_eq!(e.action, Action::Trigger);
        let a = e.alert.unwrap();
        assert_eq!(a.starts_at.to_rfc3339(), "2026-11-21T22:12:02+00:00");
        assert_eq!(a.fingerprint, "samplekeyhere");
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.labels["alertname"], "disk");
        assert_eq!(a.labels["severity"], "critical");
        assert!(a.annotations["custom_details"].contains("free space"));
        assert!(a.annotations["links"].contains("Link text"));
    }

    #[test]
    fn keys_are_generated_and_errors_name_fields() {
        let e = parse(
            br#"{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"}}"#,
            svc,
            || "generated".into(),
            now(),
        )
        .unwrap();
        assert_eq!(e.dedup_key, "generated");
        let field = |b: &str| {
            parse(b.as_bytes(), svc, || "g".into(), now())
                .unwrap_err()
                .field
        };
        assert_eq!(field(r#"{"event_action":"trigger"}"#), "routing_key");
        assert_eq!(
            field(r#"{"routing_key":"k","event_action":"boom"}"#),
            "event_action"
        );
        assert_eq!(
            field(r#"{"routing_key":"k","event_action":"resolve"}"#),
            "dedup_key"
        );
        assert_eq!(
            field(r#"{"routing_key":"k","event_action":"trigger"}"#),
            "payload"
        );
        assert_eq!(
            field(
                r#"{"routing_key":"k","event_action":"trigger","payload":{"source":"h","severity":"info"}}"#
            ),
            "payload.summary"
        );
        assert_eq!(
            field(
                r#"{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"bad"}}"#
            ),
            "payload.severity"
        );
        let ack = parse(
            br#"{"routing_key":"k","event_action":"acknowledge","dedup_key":"d"}"#,
            svc,
            || "g".into(),
            now(),
        )
        .unwrap();
        assert_eq!(ack.action, Action::Acknowledge);
        assert!(ack.alert.is_none());
    }
}
