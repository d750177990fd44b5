//! The causal chain of an incident on one time axis: changes, alert firing spans per alert name,
//! the incident's milestones, pages and status updates. Pure: built from what the store read.

use super::change::Change;
use super::{EventKind, Incident, TimelineEvent};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A change on the axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeMark {
    /// The change id.
    pub id: i64,
    /// `deploy 42 checkout v2.14`: what the chart labels it.
    pub label: String,
    /// When it started (or was recorded).
    pub at: DateTime<Utc>,
    /// Whether it was confirmed as the cause.
    pub confirmed: bool,
}

/// One alert firing from `from` until `to` (`None`: still firing at the chart's end).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// When it started firing.
    pub from: DateTime<Utc>,
    /// When it resolved.
    pub to: Option<DateTime<Utc>>,
}

/// The firing spans of one alert name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertLane {
    /// The alert name.
    pub alertname: String,
    /// Its spans, one per alert (fingerprint and start).
    pub spans: Vec<Span>,
}

/// A point on the axis: a milestone, a page or a status update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// What it is (`declared`, `paged alice`, the update's text …).
    pub label: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Everything the chart draws, with its time range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CausalChain {
    /// The incident.
    pub incident_id: i64,
    /// Left end of the axis.
    pub from: DateTime<Utc>,
    /// Right end of the axis.
    pub to: DateTime<Utc>,
    /// The linked changes, by time.
    pub changes: Vec<ChangeMark>,
    /// Alert lanes, by first firing.
    pub alerts: Vec<AlertLane>,
    /// Detected, declared, acknowledged, mitigated, resolved (those reached).
    pub milestones: Vec<Point>,
    /// Pages sent, acknowledged or escalated.
    pub pages: Vec<Point>,
    /// Status updates.
    pub updates: Vec<Point>,
}

fn time_of(data: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = data.get(key)?.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn alert_lanes(events: &[TimelineEvent]) -> Vec<AlertLane> {
    // (alertname) → fingerprint → spans, in first-firing order.
    let mut order: Vec<String> = Vec::new();
    let mut lanes: BTreeMap<String, Vec<(String, Span)>> = BTreeMap::new();
    for e in events {
        let name = e.data.get("alertname").and_then(Value::as_str);
        let fp = e.data.get("fingerprint").and_then(Value::as_str);
        match (e.kind, name, fp) {
            (EventKind::AlertFiring, Some(name), Some(fp)) => {
                let from = time_of(&e.data, "starts_at").unwrap_or(e.at);
                let lane = lanes.entry(name.to_string()).or_insert_with(|| {
                    order.push(name.to_string());
                    Vec::new()
                });
                let open = lane.iter().any(|(f, s)| f == fp && s.to.is_none());
                if !open {
                    lane.push((fp.to_string(), Span { from, to: None }));
                }
            }
            (EventKind::AlertResolved, Some(name), Some(fp)) => {
                let at = time_of(&e.data, "ends_at").unwrap_or(e.at);
                if let Some(lane) = lanes.get_mut(name)
                    && let Some((_, s)) = lane.iter_mut().find(|(f, s)| f == fp && s.to.is_none())
                {
                    s.to = Some(at.max(s.from));
                }
            }
            (EventKind::AlertsResolved, _, _) => {
                for (_, s) in lanes.values_mut().flatten() {
                    if s.to.is_none() {
                        s.to = Some(e.at.max(s.from));
                    }
                }
            }
            _ => {}
        }
    }
    order
        .into_iter()
        .map(|alertname| {
            let spans = lanes.remove(&alertname).unwrap_or_default();
            AlertLane {
                alertname,
                spans: spans.into_iter().map(|(_, s)| s).collect(),
            }
        })
        .collect()
}

fn milestones(incident: &Incident) -> Vec<Point> {
    [
        ("detected", Some(incident.detected_at)),
        ("declared", incident.declared_at),
        ("acknowledged", incident.acknowledged_at),
        ("mitigated", incident.mitigated_at),
        ("resolved", incident.resolved_at),
    ]
    .into_iter()
    .filter_map(|(label, at)| {
        at.map(|at| Point {
            label: label.into(),
            at,
        })
    })
    .collect()
}

fn page_label(e: &TimelineEvent) -> String {
    let who = e
        .data
        .get("user")
        .or_else(|| e.data.get("target"))
        .and_then(Value::as_str)
        .unwrap_or("someone");
    match e.kind {
        EventKind::PageAcknowledged => format!("{who} acknowledged"),
        EventKind::PageEscalated => format!("page to {who} escalated"),
        _ => format!("paged {who}"),
    }
}

/// The chain of `incident` from its timeline `events` (oldest first) and its linked `changes`
/// (with whether each is confirmed); an open incident's axis ends at `now`.
pub fn build(
    incident: &Incident,
    events: &[TimelineEvent],
    changes: &[(Change, bool)],
    now: DateTime<Utc>,
) -> CausalChain {
    let mut changes: Vec<ChangeMark> = changes
        .iter()
        .map(|(c, confirmed)| ChangeMark {
            id: c.id,
            label: format!(
                "{} {} {}{}",
                c.kind,
                c.id,
                c.service,
                c.version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default()
            ),
            at: c.started_at.unwrap_or(c.created_at),
            confirmed: *confirmed,
        })
        .collect();
    changes.sort_by_key(|c| (c.at, c.id));
    let points = |pick: fn(&TimelineEvent) -> Option<String>| -> Vec<Point> {
        events
            .iter()
            .filter_map(|e| pick(e).map(|label| Point { label, at: e.at }))
            .collect()
    };
    let pages = points(|e| {
        matches!(
            e.kind,
            EventKind::PageSent | EventKind::PageAcknowledged | EventKind::PageEscalated
        )
        .then(|| page_label(e))
    });
    let updates =
        points(|e| (e.kind == EventKind::StatusUpdate).then(|| e.text.clone().unwrap_or_default()));
    let alerts = alert_lanes(events);
    let milestones = milestones(incident);
    let end = incident
        .resolved_at
        .or(incident.cancelled_at)
        .filter(|_| !incident.status.is_open())
        .unwrap_or(now);
    let times = changes
        .iter()
        .map(|c| c.at)
        .chain(
            alerts
                .iter()
                .flat_map(|l| l.spans.iter())
                .flat_map(|s| [Some(s.from), s.to])
                .flatten(),
        )
        .chain(
            milestones
                .iter()
                .chain(&pages)
                .chain(&updates)
                .map(|p| p.at),
        )
        .chain([end]);
    let (lo, hi) = times.fold((end, end), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let pad = ((hi - lo) / 20).max(Duration::minutes(1));
    CausalChain {
        incident_id: incident.id,
        from: lo - pad,
        to: hi + pad,
        changes,
        alerts,
        milestones,
        pages,
        updates,
    }
}

#[cfg(test)]
#[path = "causal_chain_tests.rs"]
mod tests;
