use super::*;
use crate::domain::{IncidentType, NewIncident, Status};
use chrono::TimeZone;
use serde_json::json;

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap() + chrono::Duration::minutes(min)
}

fn incident(id: i64, severity: Severity, min: i64, service: &str) -> Incident {
    let mut inc = Incident::open(
        NewIncident {
            title: format!("incident {id}"),
            severity,
            kind: IncidentType::Outage,
            service: Some(service.into()),
            status: Status::Declared,
            declared_by: Some("alice".into()),
            detected_at: t(min),
        },
        t(min),
    );
    inc.id = id;
    inc
}

fn ev(id: i64, incident_id: i64, kind: EventKind, min: i64, data: Value) -> TimelineEvent {
    TimelineEvent {
        id,
        incident_id,
        kind,
        at: t(min),
        recorded_at: t(min),
        actor: Some("warroom".into()),
        text: Some(format!("{kind} {id}")),
        data,
    }
}

#[test]
fn the_board_orders_by_severity_then_age_and_counts_open_incidents() {
    let mut resolved = incident(4, Severity::P0, 0, "db");
    resolved.transition(Status::Resolved, t(5)).unwrap();
    let incidents = vec![
        incident(1, Severity::P2, 0, "api"),
        incident(2, Severity::P1, 10, "web"),
        incident(3, Severity::P1, 5, "api"),
        resolved,
    ];
    let (open, counts) = board(
        incidents.clone(),
        &BoardFilter::default(),
        None,
        &HashMap::new(),
    );
    assert_eq!(open.iter().map(|i| i.id).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(counts.open, 3);
    assert_eq!(counts.open_by_severity["P1"], 2);
    assert_eq!(counts.open_by_severity["P0"], 0);
    let all = BoardFilter {
        all: true,
        ..BoardFilter::default()
    };
    let (every, counts) = board(incidents.clone(), &all, None, &HashMap::new());
    assert_eq!(every.iter().map(|i| i.id).collect::<Vec<_>>(), [4, 3, 2, 1]);
    assert_eq!(counts.shown, 4);
    let api_p1 = BoardFilter {
        severity: Some(Severity::P1),
        service: Some("api".into()),
        ..BoardFilter::default()
    };
    let (only, _) = board(incidents, &api_p1, None, &HashMap::new());
    assert_eq!(only.iter().map(|i| i.id).collect::<Vec<_>>(), [3]);
}

#[test]
fn mine_means_holding_a_role_or_being_paged() {
    let mut held = incident(1, Severity::P2, 0, "api");
    held.assign_role(Role::Scribe, "bob", t(1));
    let paged_for = incident(2, Severity::P2, 0, "api");
    let other = incident(3, Severity::P2, 0, "api");
    let pages = paged_people(&[ev(9, 2, EventKind::PageSent, 1, json!({"user": "bob"}))]);
    let mine = BoardFilter {
        mine: true,
        ..BoardFilter::default()
    };
    let (shown, _) = board(vec![held, paged_for, other], &mine, Some("bob"), &pages);
    assert_eq!(shown.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2]);
    let (nobody, _) = board(vec![incident(5, Severity::P3, 0, "x")], &mine, None, &pages);
    assert!(nobody.is_empty());
}

#[test]
fn bot_replies_fold_into_the_event_they_answer() {
    let declared = ev(1, 1, EventKind::Declared, 0, json!({}));
    let command = ev(
        2,
        1,
        EventKind::Command,
        1,
        json!({"ok": true, "result": "Incident #1 is now mitigating."}),
    );
    let chat = ev(3, 1, EventKind::ChatMessage, 2, json!({}));
    let pin = ev(4, 1, EventKind::Pinned, 3, json!({"event": 3}));
    let events: Vec<_> = [declared, command, chat, pin]
        .into_iter()
        .map(|e| {
            let at = e.recorded_at;
            (e, at)
        })
        .collect();
    let posts = [
        Post {
            id: 7,
            text: "🚨 Incident #1 declared".into(),
            at: t(0),
            answers: Some(1),
        },
        Post {
            id: 8,
            text: "a later answer".into(),
            at: t(4),
            answers: Some(99),
        },
        Post {
            id: 9,
            text: "a lone post".into(),
            at: t(5),
            answers: None,
        },
    ];
    let pinned = pinned_ids(&events.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    let items = room_items(&events, &posts, &pinned);
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["e1", "e2", "e3", "e4", "p8", "p9"]);
    assert_eq!(items[0].replies, ["🚨 Incident #1 declared"]);
    assert_eq!(items[1].replies, ["Incident #1 is now mitigating."]);
    assert_eq!(items[1].class, ItemClass::Conversation);
    assert!(items[2].pinned);
    assert_eq!(items[0].class, ItemClass::Key);
    assert_eq!(items[4].answers.as_deref(), Some("e99"));
    assert_eq!(items[5].answers, None);
}

#[test]
fn alerts_group_by_name_with_firing_counts_and_pages_keep_their_latest_state() {
    let fire = |id, fp: &str, name: &str| {
        ev(
            id,
            1,
            EventKind::AlertFiring,
            id,
            json!({"alertname": name, "fingerprint": fp, "service": "api"}),
        )
    };
    let events = [
        fire(1, "a", "HighErrors"),
        fire(2, "b", "HighErrors"),
        fire(3, "a", "HighErrors"),
        fire(4, "c", "Latency"),
        ev(
            5,
            1,
            EventKind::AlertResolved,
            5,
            json!({"alertname": "HighErrors", "fingerprint": "a"}),
        ),
        ev(
            6,
            1,
            EventKind::AlertResolved,
            6,
            json!({"alertname": "Latency", "fingerprint": "c"}),
        ),
    ];
    let groups = alert_groups(&events);
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (
            groups[0].alertname.as_str(),
            groups[0].count,
            groups[0].firing,
            groups[0].reports
        ),
        ("HighErrors", 2, 1, 3)
    );
    assert_eq!((groups[1].count, groups[1].firing), (1, 0));
    let pages = pages(&[
        ev(7, 1, EventKind::PageSent, 7, json!({"user": "bob"})),
        ev(8, 1, EventKind::PageAcknowledged, 8, json!({"user": "bob"})),
        ev(9, 1, EventKind::PageSent, 9, json!({"target": "team:db"})),
    ]);
    assert_eq!(pages.len(), 2);
    assert_eq!(
        (pages[0].target.as_str(), pages[0].state.as_str()),
        ("bob", "acknowledged")
    );
    assert_eq!(pages[1].target, "team:db");
}
