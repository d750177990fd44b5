use super::*;
use crate::domain::change::{ChangeKind, ChangeStatus};
use crate::domain::{IncidentType, NewIncident, Severity, Status};
use chrono::TimeZone;
use serde_json::json;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + Duration::minutes(min)
}

fn change(id: i64, min: i64) -> Change {
    Change {
        id,
        source: "native".into(),
        external_id: None,
        kind: ChangeKind::Deploy,
        service: "checkout".into(),
        services: vec!["checkout".into()],
        environment: None,
        summary: format!("change {id}"),
        author: None,
        version: Some("v2".into()),
        links: vec![],
        status: ChangeStatus::Done,
        rollback_of: None,
        rollback_plan: None,
        started_at: Some(t(min)),
        committed_at: None,
        ended_at: None,
        created_at: t(min),
        updated_at: t(min),
    }
}

fn ev(id: i64, kind: EventKind, min: i64, data: serde_json::Value) -> TimelineEvent {
    TimelineEvent {
        id,
        incident_id: 1,
        kind,
        at: t(min),
        recorded_at: t(min),
        actor: None,
        text: Some(format!("event {id}")),
        data,
    }
}

#[test]
fn the_chain_has_every_change_alert_span_milestone_page_and_update() {
    let mut inc = Incident::open(
        NewIncident {
            title: "Checkout down".into(),
            severity: Severity::P1,
            kind: IncidentType::Outage,
            service: Some("checkout".into()),
            status: Status::Detected,
            declared_by: None,
            detected_at: t(0),
        },
        t(0),
    );
    inc.id = 1;
    inc.transition(Status::Declared, t(2)).unwrap();
    inc.transition(Status::Mitigating, t(6)).unwrap();
    inc.transition(Status::Resolved, t(20)).unwrap();
    let fire = |id, fp: &str, name: &str, min| {
        ev(
            id,
            EventKind::AlertFiring,
            min,
            json!({"alertname": name, "fingerprint": fp,
            "starts_at": t(min).to_rfc3339()}),
        )
    };
    let events = [
        fire(1, "a", "Errors", 0),
        fire(2, "b", "Latency", 1),
        fire(3, "a", "Errors", 3),
        ev(4, EventKind::PageSent, 2, json!({"user": "bob"})),
        ev(5, EventKind::StatusUpdate, 7, json!({})),
        ev(
            6,
            EventKind::AlertResolved,
            15,
            json!({"alertname": "Errors", "fingerprint": "a",
            "ends_at": t(15).to_rfc3339()}),
        ),
    ];
    let chain = build(
        &inc,
        &events,
        &[(change(9, -5), true), (change(8, -30), false)],
        t(60),
    );
    assert_eq!(
        chain.changes.iter().map(|c| c.id).collect::<Vec<_>>(),
        [8, 9]
    );
    assert!(chain.changes[1].confirmed);
    assert_eq!(chain.changes[1].label, "deploy 9 checkout v2");
    let lanes: Vec<(&str, usize)> = chain
        .alerts
        .iter()
        .map(|l| (l.alertname.as_str(), l.spans.len()))
        .collect();
    assert_eq!(
        lanes,
        [("Errors", 1), ("Latency", 1)],
        "a re-fire of a firing alert is one span"
    );
    assert_eq!(chain.alerts[0].spans[0].to, Some(t(15)));
    assert_eq!(chain.alerts[1].spans[0].to, None, "still firing");
    let names: Vec<&str> = chain.milestones.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(
        names,
        [
            "detected",
            "declared",
            "acknowledged",
            "mitigated",
            "resolved"
        ]
    );
    assert_eq!(chain.pages[0].label, "paged bob");
    assert_eq!(chain.updates.len(), 1);
    // A resolved incident's axis ends at the resolve (plus padding), not at `now`.
    assert!(
        chain.from < t(-30) && chain.to > t(20) && chain.to < t(30),
        "{:?}",
        (chain.from, chain.to)
    );
}
