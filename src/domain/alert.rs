//! The alert: a machine signal with a fingerprint, labels, a status and a time span.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Labels or annotations, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// Whether an alert is firing or has resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// The condition holds.
    Firing,
    /// The condition is over.
    Resolved,
}

impl AlertStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An alert status string that is neither `firing` nor `resolved`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert status `{0}`: expected firing or resolved")]
pub struct UnknownAlertStatus(pub String);

impl FromStr for AlertStatus {
    type Err = UnknownAlertStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "firing" => Ok(AlertStatus::Firing),
            "resolved" => Ok(AlertStatus::Resolved),
            _ => Err(UnknownAlertStatus(s.to_string())),
        }
    }
}

/// Where an alert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// Prometheus Alertmanager webhook.
    Alertmanager,
    /// Grafana unified alerting webhook.
    Grafana,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// warroom's own JSON.
    Native,
}

impl AlertSource {
    /// Every source.
    pub const ALL: [AlertSource; 4] = [
        AlertSource::Alertmanager,
        AlertSource::Grafana,
        AlertSource::Pagerduty,
        AlertSource::Native,
    ];

    /// Whether the sender groups alerts itself before it sends them (Alertmanager's `group_wait`, Grafana's
    /// notification policy), so that warroom does not hold them a second time.
    pub fn groups_itself(self) -> bool {
        matches!(self, AlertSource::Alertmanager | AlertSource::Grafana)
    }

    /// The stored name (also the config key under `alerts.severity`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Alertmanager => "alertmanager",
            AlertSource::Grafana => "grafana",
            AlertSource::Pagerduty => "pagerduty",
            AlertSource::Native => "native",
        }
    }
}

impl fmt::Display for AlertSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source name this build does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown alert source `{0}`: expected alertmanager, grafana, pagerduty or native")]
pub struct UnknownAlertSource(pub String);

impl FromStr for AlertSource {
    type Err = UnknownAlertSource;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AlertSource::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownAlertSource(s.to_string()))
    }
}

/// One alert as a source reported it, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Identity: the source's own fingerprint, PagerDuty's `dedup_key`, or a hash of the labels.
    pub fingerprint: String,
    /// Where it came from.
    pub source: AlertSource,
    /// Firing or resolved.
    pub status: AlertStatus,
    /// Identifying labels.
    pub labels: Labels,
    /// Descriptive annotations (summary, description, runbook_url …).
    pub annotations: Labels,
    /// When the condition started.
    pub starts_at: DateTime<Utc>,
    /// When it ended (resolved alerts), if known.
    pub ends_at: Option<DateTime<Utc>>,
    /// A link back to the source (graph, rule, dashboard).
    pub generator_url: Option<String>,
    /// The service the alert is about, if known.
    pub service: Option<String>,
}

/// The label that names an alert.
pub const ALERTNAME: &str = "alertname";

impl Alert {
    /// The alert's name (`alertname` label, else the fingerprint).
    pub fn alertname(&self) -> &str {
        self.labels
            .get(ALERTNAME)
            .map(String::as_str)
            .unwrap_or(&self.fingerprint)
    }

    /// The one-line summary (`summary` annotation, else `description`), if any.
    pub fn summary(&self) -> Option<&str> {
        self.annotations
            .get("summary")
            .or_else(|| self.annotations.get("description"))
            .map(String::as_str)
    }

    /// The source's own severity word (`severity` label), if any.
    pub fn severity_label(&self) -> Option<&str> {
        self.labels.get("severity").map(String::as_str)
    }

    /// Whether a label says the alert is user-facing (`user_facing="true"`).
    pub fn user_facing(&self) -> bool {
        flag(&self.labels, &["user_facing", "user-facing"])
    }

    /// Whether a label says the alert burns an SLO (`slo_affecting="true"` or `slo="true"`).
    pub fn slo_affecting(&self) -> bool {
        flag(&self.labels, &["slo_affecting", "slo-affecting", "slo"])
    }
}

fn flag(labels: &Labels, names: &[&str]) -> bool {
    names.iter().any(|n| {
        labels
            .get(*n)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"))
    })
}

/// A stable fingerprint of a label set: SHA-256 over the sorted pairs, 16 hex digits like Alertmanager's.
pub fn labels_fingerprint(labels: &Labels) -> String {
    let mut h = Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0xff]);
        h.update(v.as_bytes());
        h.update([0xff]);
    }
    hex::encode(&h.finalize()[..8])
}

/// What is known of an alert before a new report of it arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// Its last status.
    pub status: AlertStatus,
    /// Its last start time.
    pub starts_at: DateTime<Utc>,
}

/// What a new report of an alert means, given what was known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A fingerprint never seen.
    New,
    /// The same status and start time again: a duplicate (counted, nothing changes).
    Duplicate,
    /// An older report arriving late (a retry after a newer one): ignored.
    Stale,
    /// A firing alert resolved.
    Resolved,
    /// A resolved alert fires again with a new start: a flap.
    Refired,
    /// Same status, new start time (a new occurrence whose resolve was never seen).
    Restarted,
}

impl Change {
    /// Whether the report changes the stored alert.
    pub fn is_write(self) -> bool {
        !matches!(self, Change::Duplicate | Change::Stale)
    }
}

/// Classifies a report against what was known; the natural key is (fingerprint, starts_at).
pub fn classify(known: Option<&Known>, incoming: &Alert) -> Change {
    let Some(k) = known else {
        return Change::New;
    };
    if k.status == AlertStatus::Firing && incoming.status == AlertStatus::Resolved {
        // A resolve counts unless it ended before the current occurrence began. Times are compared at
        // whole seconds: Alertmanager may report a resolved alert's times without the fraction.
        let ended = incoming.ends_at.unwrap_or(incoming.starts_at).timestamp();
        return if ended < k.starts_at.timestamp() {
            Change::Stale
        } else {
            Change::Resolved
        };
    }
    if incoming.starts_at < k.starts_at {
        return Change::Stale;
    }
    if k.status == AlertStatus::Firing
        && incoming.status == AlertStatus::Firing
        && incoming.source == AlertSource::Pagerduty
    {
        // PagerDuty de-duplicates triggers by dedup_key while the alert is open.
        return Change::Duplicate;
    }
    let same_start = incoming.starts_at == k.starts_at;
    match (k.status, incoming.status) {
        (AlertStatus::Firing, AlertStatus::Resolved) => Change::Resolved,
        (AlertStatus::Resolved, AlertStatus::Firing) if same_start => Change::Stale,
        (AlertStatus::Resolved, AlertStatus::Firing) => Change::Refired,
        _ if same_start => Change::Duplicate,
        _ => Change::Restarted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn alert(status: AlertStatus, start: i64) -> Alert {
        Alert {
            fingerprint: "f".into(),
            source: AlertSource::Native,
            status,
            labels: Labels::from([("alertname".into(), "X".into())]),
            annotations: Labels::new(),
            starts_at: Utc.timestamp_opt(start, 0).unwrap(),
            ends_at: None,
            generator_url: None,
            service: None,
        }
    }

    fn known(status: AlertStatus, start: i64) -> Known {
        Known {
            status,
            starts_at: Utc.timestamp_opt(start, 0).unwrap(),
        }
    }

    #[test]
    fn reports_are_classified_by_status_and_start() {
        use AlertStatus::*;
        assert_eq!(classify(None, &alert(Firing, 10)), Change::New);
        let f = known(Firing, 10);
        assert_eq!(classify(Some(&f), &alert(Firing, 10)), Change::Duplicate);
        assert_eq!(classify(Some(&f), &alert(Resolved, 10)), Change::Resolved);
        let mut old_resolve = alert(Resolved, 1);
        old_resolve.ends_at = Some(Utc.timestamp_opt(5, 0).unwrap());
        assert_eq!(classify(Some(&f), &old_resolve), Change::Stale);
        old_resolve.ends_at = Some(Utc.timestamp_opt(10, 0).unwrap());
        assert_eq!(classify(Some(&f), &old_resolve), Change::Resolved);
        assert_eq!(classify(Some(&f), &alert(Firing, 5)), Change::Stale);
        assert_eq!(classify(Some(&f), &alert(Firing, 20)), Change::Restarted);
        let r = known(Resolved, 10);
        assert_eq!(classify(Some(&r), &alert(Firing, 10)), Change::Stale);
        assert_eq!(classify(Some(&r), &alert(Firing, 20)), Change::Refired);
        assert_eq!(classify(Some(&r), &alert(Resolved, 10)), Change::Duplicate);
    }

    #[test]
    fn label_fingerprints_are_stable_and_order_free() {
        let a: Labels = [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut b = Labels::new();
        b.insert("b".into(), "2".into());
        b.insert("a".into(), "1".into());
        assert_eq!(labels_fingerprint(&a), labels_fingerprint(&b));
        assert_eq!(labels_fingerprint(&a).len(), 16);
        b.insert("c".into(), "3".into());
        assert_ne!(labels_fingerprint(&a), labels_fingerprint(&b));
    }

    #[test]
    fn flags_come_from_labels() {
        let mut a = alert(AlertStatus::Firing, 1);
        assert!(!a.user_facing());
        a.labels.insert("user_facing".into(), "true".into());
        a.labels.insert("slo".into(), "yes".into());
        assert!(a.user_facing() && a.slo_affecting());
        assert_eq!(a.alertname(), "X");
    }
}
