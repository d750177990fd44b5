use super::*;
use crate::domain::{Catalog, Incident, IncidentType, NewIncident, TimelineEvent};
use chrono::TimeZone;
use serde_json::Value;
use serde_json::json;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
}

fn incident() -> Incident {
    let mut inc = Incident::open(
        NewIncident {
            title: "API down".into(),
            severity: Severity::P2,
            kind: IncidentType::Outage,
            service: Some("api".into()),
            status: Status::Declared,
            declared_by: Some("alice".into()),
            detected_at: t(0),
        },
        t(0),
    );
    inc.id = 3;
    inc.transition(Status::Resolved, t(60)).unwrap();
    inc
}

fn ev(
    id: i64,
    kind: EventKind,
    min: i64,
    actor: Option<&str>,
    text: &str,
    data: Value,
) -> TimelineEvent {
    TimelineEvent {
        id,
        incident_id: 3,
        kind,
        at: t(min),
        recorded_at: t(min),
        actor: actor.map(String::from),
        text: Some(text.into()),
        data,
    }
}

fn build(events: &[TimelineEvent], settings: Settings) -> Postmortem {
    let inc = incident();
    let mut b = Builder::new(&inc, settings);
    for e in events {
        b.push(e);
    }
    assert_eq!(
        b.last_event_id(),
        events.iter().map(|e| e.id).max().unwrap_or(0)
    );
    b.finish(&[], &Catalog::default(), "resolve", t(61))
}

#[test]
fn silences_between_declare_and_resolve_become_questions_and_alerts_do_not_break_them() {
    let events = vec![
        ev(
            1,
            EventKind::Declared,
            0,
            Some("alice"),
            "declared",
            json!({"severity": "P2"}),
        ),
        ev(
            2,
            EventKind::ChatMessage,
            5,
            Some("bob"),
            "looking",
            json!({"platform": "web"}),
        ),
        ev(
            3,
            EventKind::AlertFiring,
            20,
            Some("am"),
            "x",
            json!({"fingerprint": "f", "alertname": "A", "source": "am"}),
        ),
        ev(
            4,
            EventKind::ChatMessage,
            30,
            Some("bob"),
            "found it",
            json!({"platform": "web"}),
        ),
        ev(
            5,
            EventKind::StatusChanged,
            60,
            Some("alice"),
            "resolved",
            json!({"from": "declared", "to": "resolved"}),
        ),
    ];
    let pm = build(&events, Settings::default());
    let gaps: Vec<&str> = pm
        .questions
        .iter()
        .filter(|q| q.kind == "silent_gap")
        .map(|q| q.text.as_str())
        .collect();
    assert_eq!(
        gaps,
        [
            "Nothing was recorded for 25m between 12:05 and 12:30: what was happening, and did stakeholders know?",
            "Nothing was recorded for 30m between 12:30 and 13:00: what was happening, and did stakeholders know?"
        ]
    );
    assert_eq!(pm.participants[0].name, "bob");
    assert_eq!(pm.participants[0].messages, 2);
    assert_eq!(pm.metrics.mttr.as_ref().unwrap().seconds, 3600);
}

#[test]
fn pins_show_the_pinned_message_and_refires_are_listed_once() {
    let alert = json!({"fingerprint": "f1", "alertname": "Down", "source": "am", "starts_at": t(1).to_rfc3339()});
    let events = vec![
        ev(
            1,
            EventKind::ChatMessage,
            1,
            Some("bob"),
            "db is full",
            json!({"platform": "slack", "message_id": "171.2"}),
        ),
        ev(2, EventKind::AlertFiring, 1, Some("am"), "x", alert.clone()),
        ev(3, EventKind::AlertFiring, 2, Some("am"), "x", alert),
        ev(
            4,
            EventKind::Pinned,
            3,
            Some("alice"),
            "📌",
            json!({"platform": "slack", "message_id": "171.2"}),
        ),
        ev(
            5,
            EventKind::Pinned,
            4,
            Some("alice"),
            "📌",
            json!({"platform": "web", "event": 1}),
        ),
    ];
    let pm = build(&events, Settings::default());
    let lines: Vec<&str> = pm.timeline.iter().map(|k| k.text.as_str()).collect();
    assert_eq!(
        lines,
        [
            "Alert Down fired (am)",
            "📌 pinned: db is full",
            "📌 pinned: db is full"
        ]
    );
    assert_eq!(pm.alerts.len(), 1);
    assert_eq!(pm.detection.method, "alert");
}

#[test]
fn the_key_event_list_is_capped_and_counts_the_rest() {
    let events: Vec<TimelineEvent> = (1..=10)
        .map(|i| ev(i, EventKind::Note, i, Some("alice"), "n", json!({})))
        .collect();
    let pm = build(
        &events,
        Settings {
            max_key_events: 4,
            ..Settings::default()
        },
    );
    assert_eq!(pm.timeline.len(), 4);
    assert_eq!(pm.timeline_omitted, 6);
    assert_eq!(pm.events_total, 10);
}

#[test]
fn a_human_declare_without_alerts_is_detected_by_a_person() {
    let pm = build(
        &[ev(
            1,
            EventKind::Declared,
            0,
            Some("alice"),
            "declared",
            json!({"severity": "P2"}),
        )],
        Settings::default(),
    );
    assert_eq!(pm.detection.method, "human");
    assert_eq!(pm.detection.source, "alice");
    assert_eq!(
        pm.summary,
        "P2 outage on api: API down. Declared at 12:00 by alice. Resolved at 13:00 after 1h 00m of impact."
    );
    let unfilled = pm
        .questions
        .iter()
        .filter(|q| q.kind == "role_unfilled")
        .count();
    assert_eq!(unfilled, 4);
}
