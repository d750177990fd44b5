//! Grafana unified-alerting webhook (`version: "1"`): Alertmanager's shape plus Grafana's links and values.

use super::{Batch, IngestError, alertmanager, array, check_size, json, object, opt_str};
use crate::domain::alert::AlertSource;
use chrono::{DateTime, Utc};

/// Parses a Grafana webhook body; dashboard/panel links and the evaluated values become annotations.
pub fn parse(
    body: &[u8],
    service_label: &str,
    max: usize,
    now: DateTime<Utc>,
) -> Result<Batch, IngestError> {
    let v = json(body)?;
    let top = object(&v, "body")?;
    let items = array(top, "", "alerts")?;
    check_size(items.len(), max)?;
    let mut alerts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("alerts[{i}]");
        let mut alert = alertmanager::alert(item, &path, AlertSource::Grafana, service_label, now)?;
        let o = object(item, &path)?;
        for (field, annotation) in [
            ("dashboardURL", "dashboard_url"),
            ("panelURL", "panel_url"),
            ("silenceURL", "silence_url"),
            ("valueString", "value"),
        ] {
            if let Some(s) = opt_str(o, &path, field)?.filter(|s| !s.is_empty()) {
                alert.annotations.entry(annotation.into()).or_insert(s);
            }
        }
        alerts.push(alert);
    }
    let truncated = top
        .get("truncatedAlerts")
        .and_then(|n| n.as_u64())
        .unwrap_or(0);
    Ok(Batch { alerts, truncated })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::AlertStatus;

    #[test]
    fn a_grafana_webhook_parses_with_links_and_values() {
        let body = include_bytes!("../../tests/fixtures/grafana/firing-and-resolved.json");
        let now = "2026-11-22T00:00:00Z".parse().unwrap();
        let b = parse(body, "service", 100, now).unwrap();
        assert_eq!(b.alerts.len(), 2);
        let a = &b.alerts[0];
        assert_eq!(a.source, AlertSource::Grafana);
        assert_eq!(a.fingerprint, "c6eadffa33fcdf37");
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.service.as_deref(), Some("search"));
        assert_eq!(a.starts_at.to_rfc3339(), "2026-11-21T07:51:03.157+00:00");
        assert!(a.annotations["dashboard_url"].contains("/d/a1b2c3"));
        assert!(a.annotations["value"].contains("B"));
        assert_eq!(b.alerts[1].status, AlertStatus::Resolved);
        assert_eq!(
            b.alerts[1].ends_at.unwrap().to_rfc3339(),
            "2026-11-21T07:55:03+00:00"
        );
        let err = parse(br#"{"alerts": "x"}"#, "service", 100, now).unwrap_err();
        assert_eq!(err.field, "alerts");
    }
}
