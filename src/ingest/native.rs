//! warroom's own alert JSON (`POST /hooks/alerts`), documented in the README:
//! `{"alerts": [{"name", "status"?, "service"?, "severity"?, "summary"?, "description"?, "labels"?,
//! "annotations"?, "starts_at"?, "ends_at"?, "fingerprint"?, "url"?}]}`.

use super::{
    Batch, IngestError, array, check_size, json, labels, ms_precision, object, opt_str, opt_time,
    req_str,
};
use crate::domain::alert::{ALERTNAME, Alert, AlertSource, AlertStatus, labels_fingerprint};
use chrono::{DateTime, Utc};

/// Parses a native body.
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
        let o = object(item, &path)?;
        let name = req_str(o, &path, "name")?;
        let mut labels = labels(o, &path, "labels")?;
        labels.insert(ALERTNAME.into(), name);
        let service = match opt_str(o, &path, "service")? {
            Some(s) => {
                labels.insert(service_label.into(), s.clone());
                Some(s)
            }
            None => labels.get(service_label).cloned(),
        };
        if let Some(sev) = opt_str(o, &path, "severity")? {
            labels.insert("severity".into(), sev);
        }
        let mut annotations = super::labels(o, &path, "annotations")?;
        for k in ["summary", "description"] {
            if let Some(s) = opt_str(o, &path, k)? {
                annotations.insert(k.into(), s);
            }
        }
        let ends_at = opt_time(o, &path, "ends_at")?;
        let status = match opt_str(o, &path, "status")? {
            Some(s) => s
                .parse::<AlertStatus>()
                .map_err(|e| IngestError::new(format!("{path}.status"), e.to_string()))?,
            None => AlertStatus::Firing,
        };
        let fingerprint = opt_str(o, &path, "fingerprint")?
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| labels_fingerprint(&labels));
        alerts.push(Alert {
            fingerprint,
            source: AlertSource::Native,
            status,
            starts_at: opt_time(o, &path, "starts_at")?.unwrap_or(ms_precision(now)),
            ends_at: (status == AlertStatus::Resolved)
                .then(|| ends_at.unwrap_or(ms_precision(now))),
            generator_url: opt_str(o, &path, "url")?,
            labels,
            annotations,
            service,
        });
    }
    Ok(Batch {
        alerts,
        truncated: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let body = br#"{"alerts": [{"name": "CheckoutErrors", "service": "checkout", "severity": "critical",
            "summary": "5xx above 5%", "labels": {"region": "eu-west-1"},
            "starts_at": "2026-11-21T23:00:00Z", "url": "https://grafana.example.com/d/x"},
            {"name": "QueueLag", "status": "resolved", "fingerprint": "queue-lag-1"}]}"#;
        let now = "2026-11-22T00:00:00Z".parse().unwrap();
        let b = parse(body, "service", 10, now).unwrap();
        let a = &b.alerts[0];
        assert_eq!(a.labels["alertname"], "CheckoutErrors");
        assert_eq!(a.labels["service"], "checkout");
        assert_eq!(a.service.as_deref(), Some("checkout"));
        assert_eq!(a.summary(), Some("5xx above 5%"));
        assert_eq!(a.fingerprint.len(), 16);
        assert_eq!(b.alerts[1].fingerprint, "queue-lag-1");
        assert_eq!(b.alerts[1].status, AlertStatus::Resolved);
        assert_eq!(b.alerts[1].ends_at, Some(now));
        let err = parse(br#"{"alerts": [{"severity": "x"}]}"#, "service", 10, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "alerts[0].name: is required and must not be blank"
        );
    }
}
