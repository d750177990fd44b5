//! Prometheus Alertmanager webhook (version 4), as sent by a webhook receiver.
//!
//! A group's top-level `status` stays `firing` while single alerts inside it have resolved: each alert's
//! own `status` is what counts. Firing alerts carry the zero time in `endsAt`. A zero or missing `startsAt`
//! is the receive time (as Alertmanager's own API takes it), and fields warroom does not know are ignored.

use super::{Batch, IngestError, array, check_size, json, labels, object, opt_str, opt_time};
use crate::domain::alert::{Alert, AlertSource, AlertStatus, labels_fingerprint};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Parses an Alertmanager (or Grafana, which shares the shape) webhook body.
///
/// A valid body is read straight into typed structs (no JSON tree); anything the fast reading does not
/// accept is read again field by field, which names the offending field in its error.
pub fn parse(
    body: &[u8],
    source: AlertSource,
    service_label: &str,
    max: usize,
    now: DateTime<Utc>,
) -> Result<Batch, IngestError> {
    if let Some(batch) = fast::parse(body, source, service_label, max, now) {
        return Ok(batch);
    }
    parse_fields(body, source, service_label, max, now)
}

/// The field-by-field reading of [`parse`]: slower, names the field of any refusal.
fn parse_fields(
    body: &[u8],
    source: AlertSource,
    service_label: &str,
    max: usize,
    now: DateTime<Utc>,
) -> Result<Batch, IngestError> {
    let v = json(body)?;
    let top = object(&v, "body")?;
    let version = opt_str(top, "", "version")?;
    if let Some(version) = version.filter(|v| source == AlertSource::Alertmanager && v != "4") {
        return Err(IngestError::new(
            "version",
            format!("webhook version `{version}` is not supported; Alertmanager sends \"4\""),
        ));
    }
    let items = array(top, "", "alerts")?;
    check_size(items.len(), max)?;
    let mut alerts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        alerts.push(alert(
            item,
            &format!("alerts[{i}]"),
            source,
            service_label,
            now,
        )?);
    }
    let truncated = match top.get("truncatedAlerts") {
        None | Some(Value::Null) => 0,
        Some(n) => n
            .as_u64()
            .ok_or_else(|| IngestError::new("truncatedAlerts", "must be a non-negative integer"))?,
    };
    Ok(Batch { alerts, truncated })
}

/// One alert of a webhook (or of Alertmanager's `POST /api/v2/alerts` shape).
pub fn alert(
    item: &Value,
    path: &str,
    source: AlertSource,
    service_label: &str,
    now: DateTime<Utc>,
) -> Result<Alert, IngestError> {
    let o = object(item, path)?;
    let labels = labels(o, path, "labels")?;
    if labels.is_empty() {
        return Err(IngestError::new(
            format!("{path}.labels"),
            "is required and must not be empty",
        ));
    }
    let annotations = labels_or_empty(o, path)?;
    let ends_at = opt_time(o, path, "endsAt")?;
    let status = match opt_str(o, path, "status")? {
        Some(s) => s
            .parse::<AlertStatus>()
            .map_err(|e| IngestError::new(format!("{path}.status"), e.to_string()))?,
        None if ends_at.is_some_and(|e| e <= now) => AlertStatus::Resolved,
        None => AlertStatus::Firing,
    };
    // Like Alertmanager itself: a zero or missing start is the time the alert is received.
    let starts_at = opt_time(o, path, "startsAt")?.unwrap_or(super::ms_precision(now));
    let fingerprint = match opt_str(o, path, "fingerprint")? {
        Some(f) if !f.is_empty() => f,
        _ => labels_fingerprint(&labels),
    };
    let service = labels.get(service_label).cloned();
    Ok(Alert {
        fingerprint,
        source,
        status,
        ends_at: if status == AlertStatus::Resolved {
            ends_at.or(Some(super::ms_precision(now)))
        } else {
            None
        },
        labels,
        annotations,
        starts_at,
        generator_url: opt_str(o, path, "generatorURL")?.filter(|u| !u.is_empty()),
        service,
    })
}

/// The typed fast path of [`parse`]: `None` whenever the field-by-field reading could answer differently.
mod fast {
    use super::super::{Batch, ms_precision, time_str};
    use crate::domain::alert::{Alert, AlertSource, AlertStatus, Labels, labels_fingerprint};
    use chrono::{DateTime, Utc};
    use serde::Deserialize;
    use serde::de::IgnoredAny;
    use std::borrow::Cow;
    use std::collections::HashMap;

    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow, default)]
        version: Option<Cow<'a, str>>,
        #[serde(borrow)]
        alerts: Vec<Item<'a>>,
        #[serde(default, rename = "truncatedAlerts")]
        truncated: Option<u64>,
    }

    #[derive(Deserialize)]
    struct Item<'a> {
        #[serde(borrow, default)]
        status: Option<Cow<'a, str>>,
        #[serde(default)]
        labels: Option<Labels>,
        #[serde(default)]
        annotations: Option<Labels>,
        #[serde(borrow, default, rename = "startsAt")]
        starts_at: Option<Cow<'a, str>>,
        #[serde(borrow, default, rename = "endsAt")]
        ends_at: Option<Cow<'a, str>>,
        #[serde(borrow, default, rename = "generatorURL")]
        generator_url: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        fingerprint: Option<Cow<'a, str>>,
        /// Other fields; flattening also makes an item read only from a JSON object, never an array.
        #[serde(flatten)]
        _rest: HashMap<String, IgnoredAny>,
    }

    pub(super) fn parse(
        body: &[u8],
        source: AlertSource,
        service_label: &str,
        max: usize,
        now: DateTime<Utc>,
    ) -> Option<Batch> {
        // The top level must be an object (a struct would also read from an array).
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return None;
        }
        let b: Body<'_> = serde_json::from_slice(body).ok()?;
        if source == AlertSource::Alertmanager && b.version.as_deref().is_some_and(|v| v != "4") {
            return None;
        }
        if b.alerts.len() > max {
            return None;
        }
        let alerts = b
            .alerts
            .into_iter()
            .map(|item| alert(item, source, service_label, now))
            .collect::<Option<Vec<_>>>()?;
        Some(Batch {
            alerts,
            truncated: b.truncated.unwrap_or(0),
        })
    }

    fn alert(
        item: Item<'_>,
        source: AlertSource,
        service_label: &str,
        now: DateTime<Utc>,
    ) -> Option<Alert> {
        let labels = item.labels.unwrap_or_default();
        if labels.is_empty() {
            return None;
        }
        let annotations = item.annotations.unwrap_or_default();
        let ends_at = match item.ends_at.as_deref() {
            Some(s) => time_str(s).ok()?,
            None => None,
        };
        let status = match item.status.as_deref() {
            Some(s) => s.parse::<AlertStatus>().ok()?,
            None if ends_at.is_some_and(|e| e <= now) => AlertStatus::Resolved,
            None => AlertStatus::Firing,
        };
        let starts_at = match item.starts_at.as_deref() {
            Some(s) => time_str(s).ok()?,
            None => None,
        }
        .unwrap_or(ms_precision(now));
        let fingerprint = match item.fingerprint {
            Some(f) if !f.is_empty() => f.into_owned(),
            _ => labels_fingerprint(&labels),
        };
        let service = labels.get(service_label).cloned();
        Some(Alert {
            fingerprint,
            source,
            status,
            ends_at: if status == AlertStatus::Resolved {
                ends_at.or(Some(ms_precision(now)))
            } else {
                None
            },
            labels,
            annotations,
            starts_at,
            generator_url: item
                .generator_url
                .filter(|u| !u.is_empty())
                .map(Cow::into_owned),
            service,
        })
    }
}

fn labels_or_empty(
    o: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<crate::domain::alert::Labels, IngestError> {
    labels(o, path, "annotations")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/alertmanager/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
    }

    fn now() -> DateTime<Utc> {
        "2026-11-22T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_group_with_one_resolved_alert_keeps_per_alert_status() {
        let body = fixture("one-resolved-one-firing.json");
        let b = parse(&body, AlertSource::Alertmanager, "service", 100, now()).unwrap();
        assert_eq!(b.alerts.len(), 2);
        assert_eq!(b.alerts[0].status, AlertStatus::Resolved);
        assert_eq!(b.alerts[0].fingerprint, "36e0de20c64356f3");
        assert!(b.alerts[0].ends_at.is_some());
        assert_eq!(b.alerts[1].status, AlertStatus::Firing);
        assert_eq!(b.alerts[1].ends_at, None, "the zero endsAt means none");
        assert_eq!(b.alerts[1].service.as_deref(), Some("checkout"));
        assert_eq!(
            b.alerts[1].starts_at.to_rfc3339(),
            "2026-11-21T23:37:28.511+00:00",
            "nanoseconds are truncated to the stored precision"
        );
        assert_eq!(b.truncated, 0);
    }

    #[test]
    fn every_fixture_parses() {
        for name in [
            "firing-group-of-two.json",
            "firing-single-warning.json",
            "one-resolved-one-firing.json",
        ] {
            let body = fixture(name);
            let b = parse(&body, AlertSource::Alertmanager, "service", 100, now()).unwrap();
            assert!(!b.alerts.is_empty(), "{name}");
        }
    }

    #[test]
    fn the_typed_reading_agrees_with_the_field_by_field_one() {
        for name in [
            "firing-group-of-two.json",
            "firing-single-warning.json",
            "one-resolved-one-firing.json",
        ] {
            let body = fixture(name);
            let args = (AlertSource::Alertmanager, "service", 100, now());
            let typed = fast::parse(&body, args.0, args.1, args.2, args.3);
            assert!(typed.is_some(), "{name}: the fast path reads a valid body");
            assert_eq!(
                typed,
                parse_fields(&body, args.0, args.1, args.2, args.3).ok(),
                "{name}"
            );
        }
        // An item given as an array is not an object, whichever reading sees it first.
        let body = br#"{"alerts":[["firing",{"a":"b"},{},"2026-01-01T00:00:00Z"]]}"#;
        assert!(fast::parse(body, AlertSource::Alertmanager, "service", 100, now()).is_none());
        let err = parse(body, AlertSource::Alertmanager, "service", 100, now()).unwrap_err();
        assert_eq!(err.field, "alerts[0]");
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let err = |body: &str| {
            parse(
                body.as_bytes(),
                AlertSource::Alertmanager,
                "service",
                100,
                now(),
            )
            .unwrap_err()
        };
        assert_eq!(err("{").field, "body");
        assert_eq!(err("{\"version\":\"4\"}").field, "alerts");
        assert_eq!(
            err(r#"{"alerts":[{"labels":{"a":"b"},"startsAt":"yesterday"}]}"#).field,
            "alerts[0].startsAt"
        );
        assert_eq!(
            err(r#"{"alerts":[{"labels":{"a":1},"startsAt":"2026-01-01T00:00:00Z"}]}"#).field,
            "alerts[0].labels.a"
        );
        assert_eq!(
            err(r#"{"alerts":[{"labels":{},"startsAt":"2026-01-01T00:00:00Z"}]}"#).field,
            "alerts[0].labels"
        );
        assert_eq!(
            err(r#"{"alerts":[{"status":"weird","labels":{"a":"b"},"startsAt":"2026-01-01T00:00:00Z"}]}"#)
                .field,
            "alerts[0].status"
        );
        let many = format!(
            "{{\"alerts\":[{}]}}",
            [r#"{"labels":{"a":"b"},"startsAt":"2026-01-01T00:00:00Z"}"#; 3].join(",")
        );
        assert!(
            parse(
                many.as_bytes(),
                AlertSource::Alertmanager,
                "service",
                2,
                now()
            )
            .is_err()
        );
    }
}
